/**
 * S3 event notifications (`{ "Records": [...] }`, eventVersion 2.x), as delivered to Lambda
 * directly, to SQS, or inside an SNS envelope.
 *
 * Keys are URL-encoded as `application/x-www-form-urlencoded` ("red flower.jpg" arrives as
 * "red+flower.jpg"): https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html
 *
 * Event names (without the `s3:` prefix) and what they become; event types from
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-how-to-event-types-and-destinations.html
 *
 * | eventName                                   | action    | why                                                    |
 * | ------------------------------------------- | --------- | ------------------------------------------------------ |
 * | ObjectCreated:* (Put, Post, Copy,           | replicate | new object or new version                              |
 * |   CompleteMultipartUpload)                  |           |                                                        |
 * | ObjectRemoved:Delete                        | delete    | object or version permanently deleted                  |
 * | ObjectRemoved:DeleteMarkerCreated           | delete    | current version hidden by a delete marker              |
 * | LifecycleExpiration:Delete                  | delete    | lifecycle rule deleted it (the source no longer has it) |
 * | LifecycleExpiration:DeleteMarkerCreated     | delete    | lifecycle rule hid it behind a delete marker           |
 * | ObjectTagging:Put, ObjectTagging:Delete     | tags      | tag set changed, content did not                       |
 * | ObjectRestore:Completed                     | replicate | an archived object (Glacier, Deep Archive) can be read now; its create event could not copy it |
 * | ObjectRestore:Post, ObjectRestore:Delete    | ignored   | restore started / temporary copy expired; content unchanged |
 * | ObjectAcl:Put                               | ignored   | ACLs are not replicated                                |
 * | LifecycleTransition                         | ignored   | storage class changed, content did not                 |
 * | IntelligentTiering                          | ignored   | access tier changed, content did not                   |
 * | Replication:*                               | ignored   | about S3's own replication, not this object's content  |
 * | ReducedRedundancyLostObject                 | ignored   | nothing readable to copy                               |
 * | anything else                               | ignored   | event type unknown to this version                     |
 */
import {
  decodeFormEncodedKey,
  describeShape,
  isJsonObject,
  objectField,
  optionalSize,
  optionalString,
  optionalTime,
  stringField,
  unquoteETag,
  withoutUndefined,
} from './fields.js';
import { MalformedEventError, type RecordOutcome, type ReplicationTask, type TaskAction } from './types.js';

export type S3EventClassification = { action: TaskAction; deleteMarker?: true } | { ignored: string };

const IGNORED_PREFIXES: ReadonlyArray<readonly [string, string]> = [
  ['ObjectRestore:', 'a restore starting or its temporary copy expiring does not change the object'],
  ['ObjectAcl:', 'ACLs are not replicated'],
  ['LifecycleTransition', 'storage-class transitions do not change the object'],
  ['IntelligentTiering', 'access-tier changes do not change the object'],
  ['Replication:', 'S3 replication status events are not about object content'],
  ['ReducedRedundancyLostObject', 'a lost RRS object cannot be copied'],
];

/** Maps an event name (with or without the `s3:` prefix) to an action, or to the reason it is ignored. */
export function classifyS3EventName(eventName: string): S3EventClassification {
  const name = eventName.replace(/^s3:/, '');
  // An object created straight into an archive class cannot be read until restored: its create
  // event fails (restore first), and the restore's completion is when it can be copied.
  if (name.startsWith('ObjectCreated:') || name === 'ObjectRestore:Completed') return { action: 'replicate' };
  if (name === 'ObjectRemoved:Delete' || name === 'LifecycleExpiration:Delete') return { action: 'delete' };
  if (name === 'ObjectRemoved:DeleteMarkerCreated' || name === 'LifecycleExpiration:DeleteMarkerCreated') {
    return { action: 'delete', deleteMarker: true };
  }
  if (name.startsWith('ObjectTagging:')) return { action: 'tags' };
  const known = IGNORED_PREFIXES.find(([prefix]) => name.startsWith(prefix));
  return { ignored: `${name}: ${known ? known[1] : 'event type not handled'}` };
}

/** The message S3 sends once when a notification destination is configured. */
export function isS3TestEvent(value: unknown): boolean {
  return isJsonObject(value) && value.Event === 's3:TestEvent' && value.Service === 'Amazon S3' && !('Records' in value);
}

/**
 * Parses every record of an S3 notification. A record that is malformed gets an `error` and
 * does not affect the others. An s3:TestEvent gives no records. Throws MalformedEventError
 * only when the event as a whole is not a notification.
 */
export function parseS3NotificationRecords(event: unknown, origin: 's3' | 'sns' = 's3'): RecordOutcome[] {
  if (isS3TestEvent(event)) return [];
  if (!isJsonObject(event) || !Array.isArray(event.Records)) {
    throw new MalformedEventError(`expected an S3 event notification ({"Records": [...]}), got ${describeShape(event)}`);
  }
  return event.Records.map((record: unknown, index) => {
    try {
      return { index, ...parseRecord(record, `Records[${index}]`, origin) };
    } catch (error) {
      if (error instanceof MalformedEventError) return { index, error };
      throw error;
    }
  });
}

/** The tasks of an S3 notification; throws MalformedEventError if any record is malformed. */
export function tasksFromS3Notification(event: unknown): ReplicationTask[] {
  const outcomes = parseS3NotificationRecords(event);
  const failed = outcomes.filter((outcome) => outcome.error);
  if (failed[0]?.error) {
    throw new MalformedEventError(
      `${failed.length} of ${outcomes.length} notification records are malformed; first: ${failed[0].error.message}`,
    );
  }
  return outcomes.flatMap((outcome) => (outcome.task ? [outcome.task] : []));
}

function parseRecord(record: unknown, where: string, origin: 's3' | 'sns'): { task: ReplicationTask } | Pick<RecordOutcome, 'ignored' | 'bucket' | 'key'> {
  if (!isJsonObject(record)) throw new MalformedEventError(`${where} must be an object, got ${describeShape(record)}`);
  const eventVersion = stringField(record, 'eventVersion', where);
  if (!/^2(\.|$)/.test(eventVersion)) {
    throw new MalformedEventError(`${where}.eventVersion is ${JSON.stringify(eventVersion)}; only 2.x is understood`);
  }
  const eventSource = stringField(record, 'eventSource', where);
  if (eventSource !== 'aws:s3') throw new MalformedEventError(`${where}.eventSource is ${JSON.stringify(eventSource)}, expected "aws:s3"`);
  const eventName = stringField(record, 'eventName', where).replace(/^s3:/, '');
  const classification = classifyS3EventName(eventName);
  if ('ignored' in classification) {
    // Named in the log line when the record has them; an ignored record needs nothing else.
    try {
      const s3 = objectField(record, 's3', where);
      const bucket = stringField(objectField(s3, 'bucket', `${where}.s3`), 'name', `${where}.s3.bucket`);
      const key = decodeFormEncodedKey(stringField(objectField(s3, 'object', `${where}.s3`), 'key', `${where}.s3.object`), `${where}.s3.object.key`);
      return { ignored: classification.ignored, bucket, key };
    } catch {
      return classification;
    }
  }

  const s3 = objectField(record, 's3', where);
  const bucket = stringField(objectField(s3, 'bucket', `${where}.s3`), 'name', `${where}.s3.bucket`);
  const object = objectField(s3, 'object', `${where}.s3`);
  const at = `${where}.s3.object`;
  const task = withoutUndefined<ReplicationTask>({
    action: classification.action,
    bucket,
    key: decodeFormEncodedKey(stringField(object, 'key', at), `${at}.key`),
    versionId: optionalString(object, 'versionId', at),
    eTag: unquoteETag(optionalString(object, 'eTag', at)),
    size: optionalSize(object, 'size', at),
    sequencer: optionalString(object, 'sequencer', at),
    eventTime: optionalTime(record, 'eventTime', where),
    eventName,
    deleteMarker: classification.deleteMarker,
    origin,
  });
  return { task };
}
