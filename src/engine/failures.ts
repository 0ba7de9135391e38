import {
  errorCode,
  errorMessage,
  httpStatus,
  isAbort,
  isAccessDenied,
  isBucketMissing,
  isCredentialError,
  isDamagedReply,
  isTransient,
  isWebPage,
} from './errors.js';
import type { FailureReason } from './types.js';

/** A failure the engine reports as a `failed` result; thrown internally, never out of the engine. */
export class ReplicationFailure extends Error {
  constructor(
    readonly reason: FailureReason,
    message: string,
    readonly retryable: boolean,
    readonly errorCode?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ReplicationFailure';
  }
}

/**
 * The source changed (or vanished) while it was being copied: start over from a fresh HEAD.
 * `side: 'target'` when it is the target that did not hold what was just written (another
 * writer, or a server that acknowledged a write it did not keep).
 */
export class SourceChangedError extends Error {
  constructor(
    message: string,
    readonly side: 'source' | 'target' = 'source',
  ) {
    super(message);
    this.name = 'SourceChangedError';
  }
}

export type Side = 'source' | 'target';

/** An error in one line: its code, HTTP status and message; a reply that is no S3 reply said so. */
function describe(error: unknown): string {
  const code = errorCode(error);
  const status = httpStatus(error);
  // The SDK's message for an unparsable body spans lines and points at its own internals.
  const message = errorMessage(error).split('\n')[0]!.trim();
  if (isDamagedReply(error)) {
    const why = message.replace(/^@aws-sdk /, '').replace(/\.$/, '');
    return `${status ? `HTTP ${status}` : 'a reply'} with a body that is not S3's, e.g. a proxy's error page or a cut body: ${why}`;
  }
  const detail = message && message !== code && message !== 'UnknownError' ? `: ${message}` : '';
  // A reply without an error body (every HEAD's) has no code: the SDK names it Unknown or by status.
  if (status && (code === 'Unknown' || code === 'UnknownError' || code === String(status))) return `HTTP ${status}${detail}`;
  return `${code}${status ? ` (HTTP ${status})` : ''}${detail}`;
}

/**
 * Turns an error from an S3 call into a failure that names the side, the bucket and what to fix.
 * `action` is the S3 permission the call needed, e.g. `s3:GetObject`.
 */
export function classifyS3Error(error: unknown, side: Side, bucket: string, action: string): ReplicationFailure {
  if (error instanceof ReplicationFailure) return error;
  const code = errorCode(error);
  const what = describe(error);
  if (isAbort(error)) {
    return new ReplicationFailure('aborted', 'replication was cancelled', false, code, { cause: error });
  }
  if (action === 's3:PutObject' && (httpStatus(error) === 413 || code === 'EntityTooLarge')) {
    // A body (object or part) over what the server takes: the same request fails every time.
    return new ReplicationFailure(
      side === 'source' ? 'source-rejected' : 'target-rejected',
      `${side} refused ${action} on bucket "${bucket}" as too large (${what}): use a smaller part size (--part-size, PART_SIZE_MIB, partSize)`,
      false,
      code,
      { cause: error },
    );
  }
  if (isBucketMissing(error)) {
    return new ReplicationFailure(
      side === 'source' ? 'source-bucket-missing' : 'target-bucket-missing',
      `${side} bucket "${bucket}" does not exist (${code}): create it or correct the ${side} bucket name`,
      false,
      code,
      { cause: error },
    );
  }
  if (side === 'source' && code === 'InvalidObjectState') {
    return new ReplicationFailure(
      'source-rejected',
      `source object in bucket "${bucket}" is archived (Glacier / Deep Archive storage class): restore it, then replicate again`,
      false,
      code,
      { cause: error },
    );
  }
  if (side === 'target' && isCredentialError(error)) {
    return new ReplicationFailure(
      'target-credentials',
      `the target rejected the credentials (${code}): check the target access key and secret key`,
      false,
      code,
      { cause: error },
    );
  }
  if (isAccessDenied(error)) {
    return new ReplicationFailure(
      side === 'source' ? 'source-access-denied' : 'target-access-denied',
      `${side} denied ${action} on bucket "${bucket}" (${what}): grant ${action} to the ${side} credentials`,
      false,
      code,
      { cause: error },
    );
  }
  if (isWebPage(error)) {
    return new ReplicationFailure(
      side === 'source' ? 'source-rejected' : 'target-rejected',
      `the ${side} endpoint answered ${action} with a web page (HTTP ${httpStatus(error) ?? '?'}), not an S3 reply: check that the ${side} endpoint is the S3 service's URL`,
      false,
      code,
      { cause: error },
    );
  }
  if (isTransient(error)) {
    return new ReplicationFailure('unavailable', `${side} is unavailable for ${action} (${what}); try again later`, true, code, {
      cause: error,
    });
  }
  const status = httpStatus(error);
  if (status !== undefined && status >= 400 && status < 500) {
    return new ReplicationFailure(
      side === 'source' ? 'source-rejected' : 'target-rejected',
      `${side} rejected ${action} on bucket "${bucket}" (${what})`,
      false,
      code,
      { cause: error },
    );
  }
  return new ReplicationFailure('internal', `${action} on ${side} bucket "${bucket}" failed (${what})`, false, code, {
    cause: error,
  });
}

/** Runs one S3 call, turning its errors into ReplicationFailures, except those `keep` wants to see. */
export async function s3Call<T>(
  side: Side,
  bucket: string,
  action: string,
  call: () => Promise<T>,
  keep: (error: unknown) => boolean = () => false,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (keep(error) || error instanceof SourceChangedError) throw error;
    throw classifyS3Error(error, side, bucket, action);
  }
}

/**
 * Records on an error that the multipart upload `uploadId` it interrupted could not be aborted
 * (the abort failed too, e.g. with the same rejected credentials), so that whoever handles the
 * failure can abort it later.
 */
export function noteUploadLeftOpen(error: unknown, uploadId: string): void {
  if (typeof error === 'object' && error !== null) Object.defineProperty(error, 'uploadLeftOpen', { value: uploadId, configurable: true });
}

/** The upload an error left open (see noteUploadLeftOpen), if any. */
export function uploadLeftOpen(error: unknown): string | undefined {
  const value = (error as { uploadLeftOpen?: unknown } | null)?.uploadLeftOpen;
  return typeof value === 'string' ? value : undefined;
}
