import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { isDamagedReply } from './errors.js';
import { ReplicationFailure, s3Call, type Side } from './failures.js';
import { unquoteEtag } from './metadata.js';

export interface ListedObject {
  key: string;
  size: number;
  etag: string;
  lastModified?: Date;
}

/** Times one listing page is asked for when its reply arrives damaged. */
const PAGE_ATTEMPTS = 3;
/** The error code of a reply that is no listing (a ReplicationFailure's `errorCode`). */
export const NOT_A_LISTING = 'NotAListing';

/** Every object under `prefix`, page by page (1,000 keys a request by default), in the server's order. */
export async function* listObjects(
  client: S3Client,
  side: Side,
  bucket: string,
  prefix: string,
  options: { signal?: AbortSignal; pageSize?: number } = {},
): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  const fetchPage = async () => {
    for (let attempt = 1; ; attempt++) {
      try {
        const page = await s3Call(side, bucket, 's3:ListBucket', () =>
          client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              ...(prefix && { Prefix: prefix }),
              ...(options.pageSize !== undefined && { MaxKeys: options.pageSize }),
              ...(token && { ContinuationToken: token }),
            }),
            options.signal ? { abortSignal: options.signal } : {},
          ),
        );
        if (page.Name === undefined && page.KeyCount === undefined && page.IsTruncated === undefined) {
          // Every ListBucketResult names its bucket; an empty or foreign body would end the listing
          // early, silently (and with --delete, wrongly).
          throw new ReplicationFailure(
            'unavailable',
            `listing ${side} bucket "${bucket}" failed: the server's reply is not a listing (empty or malformed body)`,
            true,
            NOT_A_LISTING,
          );
        }
        return page;
      } catch (error) {
        // A page damaged on the way is asked for again (the SDK retries only failed requests).
        const damaged = error instanceof ReplicationFailure && (error.errorCode === NOT_A_LISTING || isDamagedReply(error.cause));
        if (damaged && error.errorCode === NOT_A_LISTING && attempt >= PAGE_ATTEMPTS && token === undefined) {
          // Never a listing, from the first page on: the endpoint is not an S3 service's.
          throw new ReplicationFailure(
            side === 'source' ? 'source-rejected' : 'target-rejected',
            `the ${side} endpoint answered a listing of bucket "${bucket}" ${PAGE_ATTEMPTS} times with something that is not an S3 listing: check that the ${side} endpoint is the S3 service's URL`,
            false,
            NOT_A_LISTING,
          );
        }
        if (!damaged || attempt >= PAGE_ATTEMPTS || options.signal?.aborted) throw error;
        await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
      }
    }
  };
  do {
    const page = await fetchPage();
    for (const item of page.Contents ?? []) {
      if (item.Key === undefined) continue;
      yield {
        key: item.Key,
        size: item.Size ?? 0,
        etag: unquoteEtag(item.ETag),
        ...(item.LastModified && { lastModified: item.LastModified }),
      };
    }
    if (page.IsTruncated && page.NextContinuationToken !== undefined && page.NextContinuationToken === token) {
      throw new ReplicationFailure(
        'internal',
        `listing ${side} bucket "${bucket}" stopped: the server returned the same continuation token twice, so the listing would never end`,
        true,
      );
    }
    if (page.IsTruncated && !page.NextContinuationToken) {
      // Stopping here would silently skip the rest of the bucket.
      throw new ReplicationFailure(
        'internal',
        `listing ${side} bucket "${bucket}" stopped: the server said the listing continues but gave no continuation token`,
        true,
      );
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}
