/**
 * S3 events delivered through Amazon EventBridge (`source: "aws.s3"`), invoking the Lambda
 * directly or forwarded to SQS. Structure: https://docs.aws.amazon.com/AmazonS3/latest/userguide/ev-events.html
 *
 * | detail-type                                  | action    |
 * | -------------------------------------------- | --------- |
 * | Object Created                               | replicate |
 * | Object Deleted (deletion-type "Permanently   | delete    |
 * |   Deleted" or "Delete Marker Created")       |           |
 * | Object Tags Added, Object Tags Deleted       | tags      |
 * | Object Restore Completed                     | replicate |
 * | Object Restore Initiated/Expired,            | ignored   |
 * |   Object Storage Class Changed, Object Access|           |
 * |   Tier Changed, Object ACL Updated, others   |           |
 *
 * Key encoding: the EventBridge message-structure page does not say whether `detail.object.key`
 * is URL-encoded, and AWS's own code disagrees (Powertools for Python form-decodes it; observed
 * events carry keys such as `raw/2023-08-08T14:03:40.zip` with `:` unencoded, which a
 * notification would encode). So by default (`keyEncoding: 'either'`) a key whose raw and
 * form-decoded readings differ (it holds `+` or `%`) becomes a task for each reading: the
 * engine reads the source, so the reading that names no object does nothing. The decoded
 * reading is marked `alternativeKey`: it deletes only a replica that records this bucket (never
 * another object that happens to have that name) and is ignored, not skipped, when the source
 * has no such key. `'raw'` or `'form-urlencoded'` take one reading.
 */
import {
  decodeFormEncodedKey,
  describeShape,
  isJsonObject,
  type JsonObject,
  objectField,
  optionalSize,
  optionalString,
  optionalTime,
  stringField,
  unquoteETag,
  withoutUndefined,
} from './fields.js';
import { MalformedEventError, type RecordOutcome, type ReplicationTask, type TaskAction } from './types.js';

export interface EventBridgeParseOptions {
  /** How `detail.object.key` is encoded (default 'either': both readings, see above). */
  keyEncoding?: 'form-urlencoded' | 'raw' | 'either';
}

const ACTIONS: Readonly<Record<string, TaskAction>> = {
  'Object Created': 'replicate',
  'Object Deleted': 'delete',
  'Object Tags Added': 'tags',
  'Object Tags Deleted': 'tags',
  'Object Restore Completed': 'replicate',
};

/** Any EventBridge event envelope (any source). */
export function isEventBridgeEvent(value: unknown): value is JsonObject {
  return isJsonObject(value) && typeof value['detail-type'] === 'string' && typeof value.source === 'string' && 'detail' in value;
}

/** An EventBridge event emitted by S3. */
export function isS3EventBridgeEvent(value: unknown): boolean {
  return isEventBridgeEvent(value) && value.source === 'aws.s3';
}

/**
 * The task of an S3 EventBridge event (its first key reading); undefined for detail types that
 * need no replication. Throws MalformedEventError when the event is not an S3 EventBridge event
 * or lacks a field.
 */
export function taskFromEventBridge(event: unknown, options: EventBridgeParseOptions = {}): ReplicationTask | undefined {
  const outcome = parseOrThrow(event, options);
  return 'tasks' in outcome ? outcome.tasks[0] : undefined;
}

/** Like taskFromEventBridge, as record outcomes (one per key reading) that never throw for bad input. */
export function parseEventBridgeEvent(event: unknown, options: EventBridgeParseOptions = {}): RecordOutcome[] {
  try {
    const outcome = parseOrThrow(event, options);
    if ('ignored' in outcome) return [{ index: 0, ...outcome }];
    return outcome.tasks.map((task, index) => ({ index, task }));
  } catch (error) {
    if (error instanceof MalformedEventError) return [{ index: 0, error }];
    throw error;
  }
}

/** The keys `detail.object.key` may stand for, raw first. */
function keyReadings(rawKey: string, encoding: EventBridgeParseOptions['keyEncoding'] = 'either'): string[] {
  if (encoding === 'raw') return [rawKey];
  if (encoding === 'form-urlencoded') return [decodeFormEncodedKey(rawKey, 'detail.object.key')];
  let decoded: string;
  try {
    decoded = decodeFormEncodedKey(rawKey, 'detail.object.key');
  } catch {
    return [rawKey]; // not valid form encoding: it can only be the key itself
  }
  // A reading with a NUL character cannot name an S3 object: %00 was part of the key.
  return decoded === rawKey || decoded.includes('\0') ? [rawKey] : [rawKey, decoded];
}

function parseOrThrow(event: unknown, options: EventBridgeParseOptions): { tasks: ReplicationTask[] } | { ignored: string; bucket?: string; key?: string } {
  if (!isEventBridgeEvent(event)) {
    throw new MalformedEventError(`expected an EventBridge event (source, detail-type, detail), got ${describeShape(event)}`);
  }
  if (event.source !== 'aws.s3') {
    throw new MalformedEventError(`EventBridge event source is ${JSON.stringify(event.source)}, expected "aws.s3"`);
  }
  const detailType = stringField(event, 'detail-type', 'event');
  const action = ACTIONS[detailType];
  if (!action) {
    const detail = isJsonObject(event.detail) ? event.detail : {};
    const bucket = isJsonObject(detail.bucket) && typeof detail.bucket.name === 'string' ? detail.bucket.name : undefined;
    const key = isJsonObject(detail.object) && typeof detail.object.key === 'string' ? detail.object.key : undefined;
    return withoutUndefined({ ignored: `${detailType}: EventBridge detail type not handled`, bucket, key });
  }

  const detail = objectField(event, 'detail', 'event');
  const bucket = stringField(objectField(detail, 'bucket', 'detail'), 'name', 'detail.bucket');
  const object = objectField(detail, 'object', 'detail');
  const rawKey = stringField(object, 'key', 'detail.object');
  const common = {
    action,
    bucket,
    versionId: optionalString(object, 'version-id', 'detail.object'),
    eTag: unquoteETag(optionalString(object, 'etag', 'detail.object')),
    size: optionalSize(object, 'size', 'detail.object'),
    sequencer: optionalString(object, 'sequencer', 'detail.object'),
    eventTime: optionalTime(event, 'time', 'event'),
    eventName: detailType,
    deleteMarker: action === 'delete' && detail['deletion-type'] === 'Delete Marker Created' ? true : undefined,
    origin: 'eventbridge' as const,
  };
  return {
    tasks: keyReadings(rawKey, options.keyEncoding).map((key, reading) =>
      withoutUndefined<ReplicationTask>({ ...common, key, alternativeKey: reading > 0 ? true : undefined }),
    ),
  };
}
