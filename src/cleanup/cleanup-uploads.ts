import { AbortMultipartUploadCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { errorCode, httpStatus, isBucketMissing, isCredentialError, isNotFound, isTransient } from '../engine/errors.js';
import { classifyS3Error, s3Call } from '../engine/failures.js';
import { credentialsInitiator, listUploads, ownership, type OpenUpload } from './uploads.js';

export interface CleanupOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix; '' for the whole bucket. */
  prefix: string;
  /** Uploads started less than this long ago are kept. */
  olderThanMs: number;
  /** Report what would be aborted; abort nothing. */
  dryRun?: boolean;
  signal?: AbortSignal;
  onItem?: (item: CleanupItem) => void;
}

export type CleanupAction = 'aborted' | 'would-abort' | 'younger' | 'not-ours' | 'gone' | 'failed';

export interface CleanupItem {
  key: string;
  uploadId: string;
  /** ISO time the server says the upload started. */
  initiated?: string;
  ageSeconds?: number;
  action: CleanupAction;
  /** Why it was kept, or why aborting it failed. */
  reason?: string;
}

export interface CleanupReport {
  bucket: string;
  prefix: string;
  olderThanSeconds: number;
  dryRun: boolean;
  /** The initiator ID the server reports for these credentials, when it reports one. */
  initiator?: string;
  /**
   * `prefix`: one listing under the given prefix; `bucket`: one listing of the whole bucket;
   * `top-level-prefixes`: the target refused a listing without a prefix, so each top-level
   * prefix holding objects was listed instead.
   */
  scope: 'prefix' | 'bucket' | 'top-level-prefixes';
  /** What the scope may have missed. */
  note?: string;
  items: CleanupItem[];
  counts: Record<CleanupAction, number>;
  /** No abort failed. */
  complete: boolean;
}

/** A listing error that means "give me a prefix" rather than "you cannot list here". */
function refusesListingWithoutPrefix(error: unknown): boolean {
  const status = httpStatus(error);
  return (
    status !== undefined &&
    status >= 400 &&
    status < 500 &&
    !isBucketMissing(error) &&
    !isCredentialError(error) &&
    !isTransient(error)
  );
}

/** Top-level "directories" that hold objects: ListObjectsV2 with Delimiter '/'. */
async function topLevelPrefixes(client: S3Client, bucket: string, signal?: AbortSignal): Promise<string[]> {
  const prefixes: string[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, Delimiter: '/', ...(token && { ContinuationToken: token }) }),
      signal ? { abortSignal: signal } : {},
    );
    for (const p of page.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return prefixes;
}

/**
 * Aborts the multipart uploads under `s3://bucket/prefix` that were started with these
 * credentials more than `olderThanMs` ago: what a crashed copy leaves behind (parts are billed
 * until aborted). Uploads of other credentials and younger ones are kept and reported.
 *
 * Without a prefix the whole bucket is listed; a target that refuses that (older Lyve Cloud
 * deployments want a key prefix for ListMultipartUploads) is listed per top-level prefix instead.
 */
export async function cleanupUploads(options: CleanupOptions): Promise<CleanupReport> {
  const { client, bucket, prefix, signal } = options;
  const dryRun = options.dryRun ?? false;
  let serverNow: Date | undefined;
  const listOptions = { ...(signal && { signal }), onServerTime: (date: Date) => (serverNow = date) };

  const initiator = await s3Call('target', bucket, 's3:PutObject', () => credentialsInitiator(client, bucket, prefix));

  const uploads = new Map<string, OpenUpload>();
  const collect = async (under: string | undefined) => {
    for await (const upload of listUploads(client, bucket, under, listOptions)) uploads.set(upload.uploadId, upload);
  };
  let scope: CleanupReport['scope'] = prefix ? 'prefix' : 'bucket';
  let note: string | undefined;
  try {
    await collect(prefix || undefined);
  } catch (error) {
    if (prefix || !refusesListingWithoutPrefix(error)) throw classifyS3Error(error, 'target', bucket, 's3:ListBucketMultipartUploads');
    scope = 'top-level-prefixes';
    const prefixes = await s3Call('target', bucket, 's3:ListBucket', () => topLevelPrefixes(client, bucket, signal));
    for (const under of prefixes) await s3Call('target', bucket, 's3:ListBucketMultipartUploads', () => collect(under));
    note =
      `the target refused to list uploads without a key prefix (${errorCode(error)}), so the ${prefixes.length} top-level prefixes holding objects were listed instead; ` +
      `uploads of top-level keys or under prefixes with no objects were not seen: run cleanup with s3://${bucket}/PREFIX for those`;
  }

  // Ages by the server's clock when it gave one (its Date header has whole seconds: round up).
  const now = serverNow ? serverNow.getTime() + 999 : Date.now();
  const items: CleanupItem[] = [];
  const report = (item: CleanupItem) => {
    items.push(item);
    options.onItem?.(item);
  };
  const sorted = [...uploads.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const upload of sorted) {
    if (signal?.aborted) break;
    const base = {
      key: upload.key,
      uploadId: upload.uploadId,
      ...(upload.initiated && {
        initiated: upload.initiated.toISOString(),
        ageSeconds: Math.max(0, Math.round((now - upload.initiated.getTime()) / 1000)),
      }),
    };
    if (upload.initiated && now - upload.initiated.getTime() < options.olderThanMs) {
      report({ ...base, action: 'younger' });
      continue;
    }
    let owner;
    try {
      owner = await ownership(client, bucket, upload, initiator);
    } catch (error) {
      report({ ...base, action: 'failed', reason: classifyS3Error(error, 'target', bucket, 's3:ListMultipartUploadParts').message });
      continue;
    }
    if (owner.state === 'gone') report({ ...base, action: 'gone' });
    else if (owner.state === 'not-ours') report({ ...base, action: 'not-ours', reason: owner.reason });
    else if (dryRun) report({ ...base, action: 'would-abort' });
    else {
      try {
        await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId }), signal ? { abortSignal: signal } : {});
        report({ ...base, action: 'aborted' });
      } catch (error) {
        if (isNotFound(error) || errorCode(error) === 'NoSuchUpload') report({ ...base, action: 'gone' });
        else report({ ...base, action: 'failed', reason: classifyS3Error(error, 'target', bucket, 's3:AbortMultipartUpload').message });
      }
    }
  }

  const counts: Record<CleanupAction, number> = { aborted: 0, 'would-abort': 0, younger: 0, 'not-ours': 0, gone: 0, failed: 0 };
  for (const item of items) counts[item.action] += 1;
  return {
    bucket,
    prefix,
    olderThanSeconds: options.olderThanMs / 1000,
    dryRun,
    ...(initiator && { initiator }),
    scope,
    ...(note && { note }),
    items,
    counts,
    complete: counts.failed === 0,
  };
}

/** `24h`, `90m`, `7d`, `30s`, `0s`, `2w` → milliseconds. */
export function parseAge(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(s|m|h|d|w)$/.exec(value.trim());
  if (!match) return undefined;
  const unit = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 }[match[2] as 's' | 'm' | 'h' | 'd' | 'w'];
  return Number(match[1]) * unit;
}
