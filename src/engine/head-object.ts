import { GetObjectCommand, HeadObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { httpStatus, isBucketMissing, isNotFound } from './errors.js';
import { classifyS3Error } from './failures.js';
import { objectStateFromHead, type ObjectState } from './metadata.js';

/**
 * HEAD one object: its state, or undefined when it does not exist. Other errors become
 * ReplicationFailures naming the side and the fix.
 */
export async function headObject(
  client: S3Client,
  side: 'source' | 'target',
  bucket: string,
  key: string,
  versionId: string | undefined,
  signal: AbortSignal,
): Promise<ObjectState | undefined> {
  try {
    const response = await client.send(
      new HeadObjectCommand({ Bucket: bucket, Key: key, ...(versionId && { VersionId: versionId }) }),
      { abortSignal: signal },
    );
    return objectStateFromHead(response);
  } catch (error) {
    // HEAD has no body, so a missing bucket also reads as 404. On the target the write that
    // follows gets NoSuchBucket and reports it; on the source a missing object may lead to
    // deleting its replica, so a one-byte GET makes sure it is the object that is missing.
    if (isNotFound(error)) {
      const bucketError = side === 'source' && !versionId ? await missingBucketError(client, bucket, key, signal) : undefined;
      if (bucketError) throw classifyS3Error(bucketError, side, bucket, 's3:GetObject');
      return undefined;
    }
    // A missing explicit version reads as 400 on some servers.
    if (httpStatus(error) === 403) throw classifyS3Error(await explainForbidden(client, bucket, key, error), side, bucket, 's3:GetObject');
    if (versionId && httpStatus(error) === 400) {
      return undefined;
    }
    throw classifyS3Error(error, side, bucket, 's3:GetObject');
  }
}

/** After a 404 HEAD: the GET's NoSuchBucket error when it is the bucket that is missing. */
async function missingBucketError(client: S3Client, bucket: string, key: string, signal: AbortSignal): Promise<unknown> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-0' }), { abortSignal: signal });
    (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
    return undefined;
  } catch (error) {
    return isBucketMissing(error) ? error : undefined;
  }
}

/**
 * A HEAD has no body, so a 403 does not say whether the keys are wrong or a permission is
 * missing. A one-byte GET of the same object returns the S3 error code that tells them apart.
 */
async function explainForbidden(client: S3Client, bucket: string, key: string, headError: unknown): Promise<unknown> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-0' }));
    (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
    return headError;
  } catch (error) {
    return httpStatus(error) === 403 ? error : headError;
  }
}

