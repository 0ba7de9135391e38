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
 * | Object Restore Initiated/Completed/Expired,  | ignored   |
 * |   Object Storage Class Changed, Object Access|           |
 * |   Tier Changed, Object ACL Updated, others   |           |
 *
 * Key encoding: the EventBridge message-structure page does not say whether `detail.object.key`
 * is URL-encoded (its samples only use plain keys). AWS's own Powertools for Python decodes it
 * exactly like notification keys (`unquote_plus`), so the default here is form-URL decoding;
 * `keyEncoding: 'raw'` takes the key verbatim should a deployment observe otherwise.
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
  /** How `detail.object.key` is encoded (default 'form-urlencoded', as in S3 notifications). */
  keyEncoding?: 'form-urlencoded' | 'raw';
}

const ACTIONS: Readonly<Record<string, TaskAction>> = {
  'Object Created': 'replicate',
  'Object Deleted': 'delete',
  'Object Tags Added': 'tags',
  'Object Tags Deleted': 'tags',
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
 * The task of an S3 EventBridge event; undefined for detail types that need no replication.
 * Throws MalformedEventError when the event is not an S3 EventBridge event or lacks a field.
 */
export function taskFromEventBridge(event: unknown, options: EventBridgeParseOptions = {}): ReplicationTask | undefined {
  const outcome = parseOrThrow(event, options);
  return 'task' in outcome ? outcome.task : undefined;
}

/** Like taskFromEventBridge, as a record outcome (index 0) that never throws for bad input. */
export function parseEventBridgeEvent(event: unknown, options: EventBridgeParseOptions = {}): RecordOutcome {
  try {
    return { index: 0, ...parseOrThrow(event, options) };
  } catch (error) {
    if (error instanceof MalformedEventError) return { index: 0, error };
    throw error;
  }
}

function parseOrThrow(event: unknown, options: EventBridgeParseOptions): { task: ReplicationTask } | { ignored: string } {
  if (!isEventBridgeEvent(event)) {
    throw new MalformedEventError(`expected an EventBridge event (source, detail-type, detail), got ${describeShape(event)}`);
  }
  if (event.source !== 'aws.s3') {
    throw new MalformedEventError(`EventBridge event source is ${JSON.stringify(event.source)}, expected "aws.s3"`);
  }
  const detailType = stringField(event, 'detail-type', 'event');
  const action = ACTIONS[detailType];
  if (!action) return { ignored: `${detailType}: EventBridge detail type not handled` };

  const detail = objectField(event, 'detail', 'event');
  const bucket = stringField(objectField(detail, 'bucket', 'detail'), 'name', 'detail.bucket');
  const object = objectField(detail, 'object', 'detail');
  const rawKey = stringField(object, 'key', 'detail.object');
  const key = options.keyEncoding === 'raw' ? rawKey : decodeFormEncodedKey(rawKey, 'detail.object.key');
  const task = withoutUndefined<ReplicationTask>({
    action,
    bucket,
    key,
    versionId: optionalString(object, 'version-id', 'detail.object'),
    eTag: unquoteETag(optionalString(object, 'etag', 'detail.object')),
    size: optionalSize(object, 'size', 'detail.object'),
    sequencer: optionalString(object, 'sequencer', 'detail.object'),
    eventTime: optionalTime(event, 'time', 'event'),
    eventName: detailType,
    deleteMarker: action === 'delete' && detail['deletion-type'] === 'Delete Marker Created' ? true : undefined,
    origin: 'eventbridge',
  });
  return { task };
}
