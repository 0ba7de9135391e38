/**
 * The normalized output of the event parsers: whatever shape the Lambda received (S3
 * notification, SNS envelope, EventBridge event, Batch Operations task), a replication task.
 */

/** What the handler should do to the target: copy the object, delete the key, or sync its tags. */
export type TaskAction = 'replicate' | 'delete' | 'tags';

export interface ReplicationTask {
  action: TaskAction;
  bucket: string;
  /** Fully decoded UTF-8 key (the URL encoding of the event is already undone). */
  key: string;
  /**
   * Version the event is about. For delete-marker events this is the id of the new delete
   * marker, not of an object version.
   */
  versionId?: string;
  /** ETag without quotes. */
  eTag?: string;
  size?: number;
  /** Per-key ordering token of S3 notifications and EventBridge events (hex string). */
  sequencer?: string;
  eventTime?: Date;
  /** As the source named it, without the `s3:` prefix: 'ObjectCreated:Put', 'Object Created', 'BatchOperations'. */
  eventName: string;
  /** True when the delete created a delete marker (the object still has older versions on the source). */
  deleteMarker?: boolean;
  origin: 's3' | 'sns' | 'eventbridge' | 'batch-operations';
  /**
   * The key is one of two readings of an ambiguously encoded key (EventBridge's form-decoded
   * reading): it may name no object at all. Such a task copies what exists, deletes only a
   * replica that records this source bucket, and is ignored when the source has no such key.
   */
  alternativeKey?: true;
}

/** The event, or one record of it, does not have the documented shape. */
export class MalformedEventError extends Error {
  override name = 'MalformedEventError';
}

/**
 * What became of one record of an event: a task, a deliberately ignored event type (with the
 * reason), or an error that affects this record only.
 */
export interface RecordOutcome {
  index: number;
  task?: ReplicationTask;
  ignored?: string;
  /** The bucket and key an ignored record is about, when it names them. */
  bucket?: string;
  key?: string;
  error?: MalformedEventError;
}
