/**
 * Errors from AWS calls made by a backfill, as the engine's typed ReplicationFailure: the CLI
 * prints those as one line and picks the exit code from `retryable` (throttling, 5xx, network:
 * try again; access denied, missing bucket, bad request: fix the setup).
 */
import { classifyS3Error, ReplicationFailure } from '../engine/failures.js';

export { ReplicationFailure };

/** `context: <what S3 said and what to fix>`, e.g. "listing s3://b/ failed: source bucket "b" does not exist …". */
export function s3Failure(context: string, error: unknown, bucket: string, action: string): ReplicationFailure {
  const failure = classifyS3Error(error, 'source', bucket, action);
  return new ReplicationFailure(failure.reason, `${context}: ${failure.message}`, failure.retryable, failure.errorCode, { cause: error });
}

/** A failure of an S3 Control call (no bucket involved), with the caller's message. */
export function controlFailure(message: string, error: unknown): ReplicationFailure {
  const failure = classifyS3Error(error, 'source', '', 's3:CreateJob');
  const reason = failure.reason === 'source-bucket-missing' ? 'source-rejected' : failure.reason;
  return new ReplicationFailure(reason, message, failure.retryable, failure.errorCode, { cause: error });
}
