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
      const answer = side === 'source' && !versionId ? await errorOfOneByteGet(client, bucket, key, signal) : undefined;
      if (isBucketMissing(answer)) throw classifyS3Error(answer, side, bucket, 's3:GetObject');
      return undefined;
    }
    // Nor does a 403 say whether the keys are wrong or a permission is missing: the GET's code does.
    if (httpStatus(error) === 403) {
      const answer = await errorOfOneByteGet(client, bucket, key, signal);
      throw classifyS3Error(httpStatus(answer) === 403 ? answer : error, side, bucket, 's3:GetObject');
    }
    // A missing explicit version reads as 400 on some servers.
    if (versionId && httpStatus(error) === 400) {
      return undefined;
    }
    throw classifyS3Error(error, side, bucket, 's3:GetObject');
  }
}

/**
 * The error a one-byte GET of the object answers, with the S3 error code a HEAD cannot carry;
 * undefined when the GET succeeds.
 */
async function errorOfOneByteGet(client: S3Client, bucket: string, key: string, signal: AbortSignal): Promise<unknown> {
  try {
    const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key, Range: 'bytes=0-0' }), { abortSignal: signal });
    (response.Body as { destroy?: () => void } | undefined)?.destroy?.();
    return undefined;
  } catch (error) {
    return error;
  }
}
