import { setMaxListeners } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import type { RequestStats, RequestStatsSnapshot } from '../clients/s3-clients.js';
import { isMultipartCheckpoint, type MultipartCheckpoint } from '../engine/checkpoint.js';
import { compareObject, recordsListedSource } from '../engine/compare-object.js';
import { writtenWellAfter } from '../engine/metadata.js';
import { errorMessage } from '../engine/errors.js';
import { DEFAULT_PART_SIZE } from '../engine/limits.js';
import { listObjects, type ListedObject } from '../engine/list-objects.js';
import { replicateObject } from '../engine/replicate-object.js';
import { TransferBudget } from '../engine/transfer-budget.js';
import { abortUpload } from '../engine/transfer.js';
import type { ReplicationResult, TagsOutcome } from '../engine/types.js';
import type { CheckpointStore } from './checkpoint-store.js';

export interface BucketLocation {
  client: S3Client;
  bucket: string;
  /** Key prefix; keys below it map to the same relative keys below the other side's prefix. */
  prefix: string;
}

export interface SyncOptions {
  source: BucketLocation;
  target: BucketLocation;
  /** Applied to keys relative to the source prefix. */
  filter?: (relativeKey: string) => boolean;
  dryRun?: boolean;
  /** Remove target objects whose source is gone (only keys the filter selects). */
  delete?: boolean;
  copyTags?: boolean;
  /** Objects and parts in flight. */
  concurrency?: number;
  partSize?: number;
  checkpoints?: CheckpointStore;
  /** Aborting it cancels: uploads in progress are aborted. */
  signal?: AbortSignal;
  /** Aborting it pauses: no new object starts; multipart copies stop after their parts in flight, checkpointed. */
  pause?: AbortSignal;
  /** Once listing is done: the objects and bytes that will be transferred or checked. */
  /** `identical`: objects the listings show identical, each confirmed by one HEAD of its replica. */
  onPlan?: (plan: { objects: number; bytes: number; identical: number }) => void;
  onObject?: (item: SyncItem) => void;
  onBytes?: (bytes: number) => void;
  /**
   * Times an object is tried when its copy fails for a reason worth retrying (network, 5xx,
   * throttling that outlasted the SDK's own retries, a body cut mid-stream). Default 3.
   */
  objectAttempts?: number;
  /** Milliseconds before an object's next try, times the try number (default 500). */
  objectRetryDelayMs?: number;
  /** The stats given to the clients' factories: the report then says what was retried. */
  requestStats?: RequestStats;
}

export type SyncStatus = 'replicated' | 'identical' | 'deleted' | 'failed' | 'paused' | 'would-copy' | 'would-delete' | 'source-missing';

export interface SyncItem {
  key: string;
  targetKey: string;
  status: SyncStatus;
  bytes?: number;
  /** Why it failed (with what to fix), or what differs. */
  message?: string;
  reason?: string;
  /** Parts reused from an interrupted earlier run, and their bytes (not sent by this run). */
  resumedParts?: number;
  resumedBytes?: number;
  /** Tries this object took, when more than one. */
  attempts?: number;
  /** With tag copying: what happened to the target's tags. */
  tags?: TagsOutcome;
}

export interface SyncReport {
  items: SyncItem[];
  counts: Record<SyncStatus, number>;
  /** Bytes this run put on the target, paused copies' parts included (parts an earlier run sent are not counted again). */
  bytes: number;
  seconds: number;
  /** True when every object is replicated or already identical (and, with delete, every extra removed). */
  complete: boolean;
  /** Requests the SDK retried (from `requestStats`; 0 without it). */
  retries: number;
  /** Of the attempts, those the servers throttled (503 SlowDown, 429). */
  throttled: number;
  /** Objects tried again after a retryable failure. */
  objectRetries: number;
  /** Everything `requestStats` counted during this run. */
  requests?: RequestStatsSnapshot;
}

function emptyCounts(): Record<SyncStatus, number> {
  return { replicated: 0, identical: 0, deleted: 0, failed: 0, paused: 0, 'would-copy': 0, 'would-delete': 0, 'source-missing': 0 };
}

/**
 * Same size and ETag, written after the source last changed: the bytes are there. Whether the
 * headers are is for the replica's markers to say (`recordsListedSource`). Written within the
 * same listed time as the source (listings may round to the second) it is left to the engine,
 * which compares the headers too: a metadata-only change keeps the ETag.
 */
function unchanged(source: ListedObject, target: ListedObject | undefined): boolean {
  return (
    target !== undefined &&
    target.size === source.size &&
    target.etag === source.etag &&
    source.lastModified !== undefined &&
    target.lastModified !== undefined &&
    target.lastModified.getTime() > source.lastModified.getTime()
  );
}

/** The difference of two snapshots: what was counted during this run. */
function since(before: RequestStatsSnapshot, after: RequestStatsSnapshot): RequestStatsSnapshot {
  const out = { ...after };
  for (const name of Object.keys(out) as (keyof RequestStatsSnapshot)[]) out[name] = after[name] - before[name];
  return out;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
  });

function itemFromResult(key: string, targetKey: string, result: ReplicationResult): SyncItem {
  switch (result.status) {
    case 'replicated':
      return {
        key,
        targetKey,
        status: 'replicated',
        bytes: result.bytes,
        ...(result.resumedParts > 0 && { resumedParts: result.resumedParts, resumedBytes: result.resumedBytes }),
        ...(result.tags !== 'not-requested' && { tags: result.tags }),
      };
    case 'skipped':
      return {
        key,
        targetKey,
        status: result.reason === 'identical' ? 'identical' : 'source-missing',
        reason: result.reason,
        ...(result.tags && result.tags !== 'not-requested' && { tags: result.tags }),
      };
    case 'deleted':
      return { key, targetKey, status: 'deleted' };
    case 'paused':
      return { key, targetKey, status: 'paused', bytes: result.bytesDone };
    case 'failed':
      return { key, targetKey, status: 'failed', reason: result.reason, message: result.message };
  }
}

/** Every readable checkpoint in the store's directory. */
async function storedCheckpoints(store: CheckpointStore): Promise<MultipartCheckpoint[]> {
  const files = await readdir(store.directory).catch(() => [] as string[]);
  const found: MultipartCheckpoint[] = [];
  for (const file of files.filter((f) => f.endsWith('.json'))) {
    try {
      const value: unknown = JSON.parse(await readFile(path.join(store.directory, file), 'utf8'));
      if (isMultipartCheckpoint(value)) found.push(value);
    } catch {
      // being written by another run, or not ours: leave it
    }
  }
  return found;
}

/** Runs `work` over `items` with at most `limit` at once, stopping early when `stop()` says so. */
async function pool<T>(items: T[], limit: number, stop: () => boolean, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
      while (next < items.length && !stop()) await work(items[next++]!);
    }),
  );
}

/**
 * Makes the target prefix a replica of the source prefix: lists both, skips what is already
 * identical (same listing and a replica whose markers record it: one HEAD; else the engine's
 * HEADs, which compare the headers), replicates the
 * rest through one shared transfer budget, and with `delete` removes what the source no longer
 * has. Rerunning after an interruption redoes only what is not done.
 */
export async function syncBuckets(options: SyncOptions): Promise<SyncReport> {
  const started = performance.now();
  const { source, target } = options;
  const concurrency = options.concurrency ?? 16;
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  const filter = options.filter ?? (() => true);
  const budget = new TransferBudget({ maxRequests: concurrency, maxBytes: partSize * concurrency });
  const signal = options.signal ?? new AbortController().signal;
  // Every request in flight listens on the signal; many at once are expected, not a leak.
  setMaxListeners(0, signal);
  const paused = () => options.pause?.aborted === true;
  const targetKeyOf = (relative: string) => `${target.prefix}${relative}`;
  const statsBefore = options.requestStats?.snapshot();

  /** What this run put on the target: parts and bodies, of paused and cancelled copies too. */
  let sentBytes = 0;
  const existing = new Map<string, ListedObject>();
  // Paused while listing: nothing is planned, copied or deleted (a partial listing must not drive --delete).
  let listingCut = false;
  for await (const object of listObjects(target.client, 'target', target.bucket, target.prefix, { signal })) {
    if (paused()) {
      listingCut = true;
      break;
    }
    existing.set(object.key.slice(target.prefix.length), object);
  }

  const items: SyncItem[] = [];
  const report = (item: SyncItem) => {
    items.push(item);
    options.onObject?.(item);
  };
  const toCopy: ListedObject[] = [];
  /** Identical by the listings; a HEAD of the replica confirms our markers record that source state. */
  const toConfirm: ListedObject[] = [];
  /** Identical by the listings, but their tags must be compared: the engine does, by HEADs. */
  const tagsOnly = new Set<string>();
  const seen = new Set<string>();
  if (!listingCut) for await (const object of listObjects(source.client, 'source', source.bucket, source.prefix, { signal })) {
    if (paused()) {
      listingCut = true;
      break;
    }
    const relative = object.key.slice(source.prefix.length);
    if (!filter(relative)) continue;
    // The marker object of the source folder itself ("photos/" for s3://bucket/photos/) would map
    // to an empty key at the target's bucket root, which needs no marker.
    if (targetKeyOf(relative) === '') continue;
    seen.add(relative);
    const listedIdentical = unchanged(object, existing.get(relative));
    if (listedIdentical && options.copyTags) {
      // Tags change neither ETag nor (on S3) the modification time: only reading them tells.
      tagsOnly.add(object.key);
      toCopy.push(object);
    } else if (listedIdentical) {
      toConfirm.push(object);
    } else {
      toCopy.push(object);
    }
  }
  const extra = options.delete ? [...existing.keys()].filter((relative) => !seen.has(relative) && filter(relative)) : [];
  options.onPlan?.({ objects: toCopy.length + extra.length, bytes: toCopy.reduce((sum, o) => sum + o.size, 0), identical: toConfirm.length });

  let objectRetries = 0;
  const objectAttempts = Math.max(1, options.objectAttempts ?? 3);
  const retryDelay = options.objectRetryDelayMs ?? 500;

  /** One try at one object; a failed multipart copy never leaves its upload open if we can help it. */
  /** Listing-identical objects whose replica does not record them (another tool's copy): copied or checked in full. */
  const unconfirmed = new Set<string>();
  const copyOnce = async (object: ListedObject, relative: string): Promise<{ result: ReplicationResult } | { item: SyncItem }> => {
    const src = { client: source.client, bucket: source.bucket, key: object.key };
    const dst = { client: target.client, bucket: target.bucket, key: targetKeyOf(relative) };
    if (options.dryRun) {
      const comparison = await compareObject(src, dst, { signal, tags: options.copyTags ?? false });
      const status: SyncStatus = comparison.state === 'identical' ? 'identical' : comparison.state === 'missing-source' ? 'source-missing' : 'would-copy';
      options.onBytes?.(object.size);
      return { item: { key: object.key, targetKey: dst.key, status, bytes: object.size } };
    }
    // Only multipart copies have checkpoints: small objects skip the file I/O.
    const checkpoints = object.size > partSize ? options.checkpoints : undefined;
    const resume = await checkpoints?.load(src, dst);
    let last: MultipartCheckpoint | undefined = resume;
    const result = await replicateObject(src, dst, {
      // The listings already said what the source is and whether the target has the key (but a
      // hint would read the body of a small object whose tags are all that may differ).
      // Nor for a listing-identical object another tool copied: two HEADs tell, without its body.
      ...(!tagsOnly.has(object.key) && !unconfirmed.has(object.key) && { sourceHint: { etag: object.etag, size: object.size } }),
      targetKnownMissing: !existing.has(relative),
      // A listing is a snapshot: what changes on the source after it is the next run's (or the Lambda's) work.
      recheckSource: false,
      budget,
      partSize,
      copyTags: options.copyTags ?? false,
      signal,
      shouldPause: paused,
      onProgress: (bytes) => {
        sentBytes += bytes;
        options.onBytes?.(bytes);
      },
      ...(resume && { resume }),
      onCheckpoint: (checkpoint) => {
        last = checkpoint;
        return checkpoints?.save(checkpoint);
      },
    });
    // No upload may stay open unless a checkpoint file still points at it.
    let keepCheckpoint = result.status === 'paused';
    const open: MultipartCheckpoint | undefined = last;
    if (open && result.status !== 'paused' && result.status !== 'replicated') {
      if (result.status === 'failed' && open === resume) {
        // Failed before the resumed upload was touched: keep its checkpoint; the next try resumes it.
        keepCheckpoint = checkpoints !== undefined;
      } else {
        // The engine aborts the upload of a failed copy, but that abort can fail too (the fault may
        // persist), and a skipped object (e.g. deleted at the source) leaves a resumed upload
        // alone: abort it here, and if that fails keep the checkpoint so the next run does.
        keepCheckpoint = await abortUpload(dst, open.uploadId).then(
          () => false,
          () => checkpoints !== undefined,
        );
      }
    }
    if (!keepCheckpoint) await checkpoints?.remove(src, dst);
    // Planned bytes are done; an object confirmed identical by the engine was not in the plan.
    if (result.status === 'skipped' && !unconfirmed.has(object.key)) options.onBytes?.(object.size);
    return { result };
  };

  const confirming = new Set(toConfirm);
  await pool([...toConfirm, ...toCopy], concurrency, () => paused() || signal.aborted, async (object) => {
    const relative = object.key.slice(source.prefix.length);
    const targetKey = targetKeyOf(relative);
    if (confirming.has(object)) {
      const dst = { client: target.client, bucket: target.bucket, key: targetKey };
      // A replica listed as written within the clocks' allowance of its source cannot be confirmed
      // from its markers: the engine compares both sides' HEADs instead (no HEAD spent here first).
      const listedTarget = existing.get(relative);
      const confirmable = listedTarget !== undefined && writtenWellAfter(listedTarget, object);
      if (confirmable && (await recordsListedSource(dst, object, source.bucket, signal).catch(() => false))) {
        return report({ key: object.key, targetKey, status: 'identical', bytes: object.size });
      }
      unconfirmed.add(object.key);
    }
    for (let attempt = 1; ; attempt++) {
      let outcome: Awaited<ReturnType<typeof copyOnce>>;
      try {
        outcome = await copyOnce(object, relative);
      } catch (error) {
        return report({ key: object.key, targetKey, status: 'failed', message: errorMessage(error), ...(attempt > 1 && { attempts: attempt }) });
      }
      if ('item' in outcome) return report(outcome.item);
      const { result } = outcome;
      const again = result.status === 'failed' && result.retryable && attempt < objectAttempts && !signal.aborted && !paused();
      if (!again) return report({ ...itemFromResult(object.key, targetKey, result), ...(attempt > 1 && { attempts: attempt }) });
      objectRetries += 1;
      await sleep(retryDelay * attempt, signal);
    }
  });

  // Checkpoints of this source and target that this run did not copy (the source object is gone,
  // or the listing showed it done) point at uploads nobody will finish: abort and forget them.
  const store = options.checkpoints;
  if (store && !options.dryRun && !paused() && !signal.aborted) {
    const copied = new Set([...toCopy.filter((object) => object.size > partSize).map((object) => object.key), ...unconfirmed]);
    for (const checkpoint of await storedCheckpoints(store)) {
      const { source: s, target: t } = checkpoint;
      if (s.bucket !== source.bucket || t.bucket !== target.bucket || !s.key.startsWith(source.prefix) || copied.has(s.key)) continue;
      const relative = s.key.slice(source.prefix.length);
      if (t.key !== targetKeyOf(relative) || !filter(relative)) continue;
      const dst = { client: target.client, bucket: t.bucket, key: t.key };
      const aborted = await abortUpload(dst, checkpoint.uploadId).then(
        () => true,
        () => false,
      );
      if (aborted) await store.remove({ bucket: s.bucket, key: s.key }, t);
    }
  }

  await pool(extra, concurrency, () => paused() || signal.aborted, async (relative) => {
    const key = `${source.prefix}${relative}`;
    const targetKey = targetKeyOf(relative);
    if (options.dryRun) return report({ key, targetKey, status: 'would-delete' });
    const result = await replicateObject(
      { client: source.client, bucket: source.bucket, key },
      { client: target.client, bucket: target.bucket, key: targetKey },
      { budget, partSize, signal, deleteWhenSourceMissing: 'any' },
    );
    report(itemFromResult(key, targetKey, result));
  });

  const counts = emptyCounts();
  for (const item of items) counts[item.status] += 1;
  const done = counts.replicated + counts.identical + counts.deleted + counts['would-copy'] + counts['would-delete'] + counts['source-missing'];
  const requests = statsBefore && options.requestStats ? since(statsBefore, options.requestStats.snapshot()) : undefined;
  return {
    items,
    counts,
    bytes: sentBytes,
    seconds: (performance.now() - started) / 1000,
    complete: !listingCut && counts.failed === 0 && counts.paused === 0 && done === toCopy.length + toConfirm.length + extra.length,
    retries: requests?.retries ?? 0,
    throttled: requests?.throttled ?? 0,
    objectRetries,
    ...(requests && { requests }),
  };
}
