import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { allInOrder, errorMessage } from './errors.js';
import { ReplicationFailure, s3Call } from './failures.js';
import { headObject } from './head-object.js';
import { forEachBodyChunk } from './runtime-memory.js';
import type { ListedObject } from './list-objects.js';
import { readTags, sameTags } from './tags.js';
import { fromOtherBucket, headersDigest, isReplicaOf, recordedSource, userMetadata, writtenWellAfter, type ObjectState } from './metadata.js';

export type Comparison =
  | { state: 'identical' }
  | { state: 'missing-source' }
  | { state: 'missing-target' }
  | { state: 'different'; differences: string[] };

const NOT_A_REPLICA = 'not a replica of the current source (the source state it records, or its ETag, differs)';

const HEADERS = ['contentType', 'cacheControl', 'contentDisposition', 'contentEncoding', 'contentLanguage', 'expires', 'websiteRedirectLocation'] as const;

/** Times a body cut off mid-stream is read again (the SDK retries only up to the headers). */
const BODY_READ_ATTEMPTS = 3;

async function bodyMd5(client: S3Client, side: 'source' | 'target', bucket: string, key: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const response = await s3Call(side, bucket, 's3:GetObject', () => client.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    const hash = createHash('md5');
    try {
      await forEachBodyChunk(response.Body as AsyncIterable<Uint8Array>, (chunk) => hash.update(chunk));
      return hash.digest('hex');
    } catch (error) {
      if (attempt >= BODY_READ_ATTEMPTS) {
        throw new ReplicationFailure('unavailable', `reading the ${side} body of ${key} failed ${attempt} times: ${errorMessage(error)}`, true, undefined, { cause: error });
      }
    }
  }
}

/** What differs between two states, header by header (the replica markers aside). */
function headerDifferences(source: ObjectState, target: ObjectState): string[] {
  const differences: string[] = [];
  for (const header of HEADERS) {
    if (source.headers[header] !== target.headers[header]) differences.push(`${header} differs`);
  }
  const a = userMetadata(source);
  const b = userMetadata(target);
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const key of keys) if (a[key] !== b[key]) differences.push(`x-amz-meta-${key} differs`);
  return differences;
}

/**
 * Compares a source object with its replica without writing anything: with HEADs (size and the
 * recorded source ETag, else the ETag), and with `deep` also the full bodies' MD5 and every
 * copied header.
 */
export async function compareObject(
  source: { client: S3Client; bucket: string; key: string },
  target: { client: S3Client; bucket: string; key: string },
  options: {
    deep?: boolean;
    tags?: boolean;
    signal?: AbortSignal;
    /**
     * A replica of an earlier, identical write of the source (same bytes and headers, another
     * time or version) is identical: for `verify`. Without it (a dry run), the replica must
     * record the source's current state, as a copy decides.
     */
    contentOnly?: boolean;
  } = {},
): Promise<Comparison> {
  const signal = options.signal ?? new AbortController().signal;
  const [a, b] = await allInOrder([
    headObject(source.client, 'source', source.bucket, source.key, undefined, signal),
    headObject(target.client, 'target', target.bucket, target.key, undefined, signal),
  ]);
  if (!a) return { state: 'missing-source' };
  if (!b) return { state: 'missing-target' };
  const differences: string[] = [];
  const notReplica = a.size === b.size && !isReplicaOf(b, a, { sourceBucket: source.bucket, sameContentSuffices: options.contentOnly ?? false });
  if (a.size !== b.size) differences.push(`size ${b.size}, source ${a.size}`);
  if (options.tags) {
    const [ta, tb] = await allInOrder([readTags('source', source.client, source.bucket, source.key), readTags('target', target.client, target.bucket, target.key)]);
    if (tb === 'unsupported') differences.push('the target does not support tags');
    else if (ta !== 'unsupported' && !sameTags(ta, tb)) differences.push('tags differ');
  }
  if (options.deep) {
    const headers = headerDifferences(a, b);
    // A failed read ends the other at once (no waiting out a whole body to pick which to report).
    const [ma, mb] = await Promise.all([
      bodyMd5(source.client, 'source', source.bucket, source.key),
      bodyMd5(target.client, 'target', target.bucket, target.key),
    ]);
    // Same body and every header: exact, whatever the ETags or markers say (another tool's copy).
    if (notReplica && (headers.length > 0 || ma !== mb)) differences.push(NOT_A_REPLICA);
    differences.push(...headers);
    if (ma !== mb) differences.push(`body MD5 ${mb}, source ${ma}`);
  } else if (notReplica) {
    differences.push(NOT_A_REPLICA);
  }
  return differences.length > 0 ? { state: 'different', differences } : { state: 'identical' };
}

/**
 * Whether the replica under `target` records exactly the listed source object: our markers name
 * its ETag, its modification time (to the second: listings and HEADs differ below that) and no
 * other source bucket. One HEAD on the target, none on the source. A replica written by another
 * tool has no markers, so it is never taken as proven here: its headers need comparing.
 */
export async function recordsListedSource(
  target: { client: S3Client; bucket: string; key: string },
  listed: ListedObject,
  sourceBucket: string,
  signal: AbortSignal = new AbortController().signal,
): Promise<boolean> {
  const replica = await headObject(target.client, 'target', target.bucket, target.key, undefined, signal);
  const recorded = replica && recordedSource(replica);
  // Without its headers digest the replica's own headers need comparing (the engine does).
  if (!replica || !recorded?.lastModified || !recorded.headers || !listed.lastModified || replica.size !== listed.size) return false;
  const second = (ms: number) => Math.floor(ms / 1000);
  return (
    recorded.etag === listed.etag &&
    second(Date.parse(recorded.lastModified)) === second(listed.lastModified.getTime()) &&
    // The replica still has the headers it was written with (not changed since, markers kept).
    headersDigest(replica) === recorded.headers &&
    // Copied within the clocks' allowance of the source's last change: a metadata-only change
    // made in that same second keeps the ETag and the time, and only the source's headers tell.
    writtenWellAfter(replica, listed) &&
    !fromOtherBucket(replica, sourceBucket)
  );
}
