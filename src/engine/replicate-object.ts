import { setMaxListeners } from 'node:events';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { allInOrder } from './errors.js';
import { ReplicationFailure, SourceChangedError, classifyS3Error, s3Call, uploadLeftOpen } from './failures.js';
import { headObject as head } from './head-object.js';
import { DEFAULT_CONCURRENCY, DEFAULT_PART_SIZE, LYVE_CLOUD_LIMITS, planTransfer, type TargetLimits } from './limits.js';
import { fromOtherBucket, headersDigest, isReplicaOf, markersFit, recordedSource, unquoteEtag, type ObjectState } from './metadata.js';
import { readSourceTags, writeTargetTags, type TagSet } from './tags.js';
import { TransferBudget } from './transfer-budget.js';
import {
  abortUpload,
  putBody,
  putMultipart,
  putSingle,
  withWholeObject,
  type Destination,
  type PinnedSource,
  type TransferContext,
  type WrittenObject,
} from './transfer.js';
import type {
  ReplicateOptions,
  ReplicationResult,
  SourceObject,
  TagsOutcome,
  TargetObject,
} from './types.js';

/** What an ETag can be: visible ASCII without quotes (an HTTP entity tag's characters). */
const ETAG_TEXT = /^[\x21\x23-\x7e]+$/;

const DEFAULT_MAX_RESTARTS = 3;

/** How many parts an ETag says the object was written in (1 for a plain MD5). */
function partCount(etag: string): number {
  return Number(/-(\d+)$/.exec(etag)?.[1] ?? 1);
}

function sameState(a: ObjectState, b: ObjectState): boolean {
  return (
    a.etag === b.etag &&
    a.versionId === b.versionId &&
    a.size === b.size &&
    a.lastModified?.getTime() === b.lastModified?.getTime() &&
    headersDigest(a) === headersDigest(b)
  );
}

/** What is wrong with the part size or concurrency asked for, if anything. */
function optionProblem(partSize: number, concurrency: number, limits: TargetLimits): string | undefined {
  if (!(partSize >= limits.minPartSize && partSize <= limits.maxPartSize)) {
    return `part size ${partSize} bytes is outside the target's limits (${limits.minPartSize}–${limits.maxPartSize} bytes)`;
  }
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) return `concurrency ${concurrency} is not a whole number of at least 1`;
  return undefined;
}

function validateKey(key: string, side: string, limits: TargetLimits): void {
  if (key.length === 0) throw new ReplicationFailure('invalid-request', `${side} key is empty`, false);
  const bytes = Buffer.byteLength(key, 'utf8');
  if (bytes > limits.maxKeyBytes) {
    throw new ReplicationFailure(
      'invalid-request',
      `${side} key is ${bytes} bytes of UTF-8; S3 keys are at most ${limits.maxKeyBytes} bytes`,
      false,
    );
  }
  if (key.includes('\u0000')) {
    throw new ReplicationFailure('invalid-request', `${side} key contains a NUL character (U+0000), which S3 requests and listings cannot carry`, false);
  }
  if (key.isWellFormed && !key.isWellFormed()) {
    throw new ReplicationFailure('invalid-request', `${side} key is not valid UTF-8 (lone surrogate)`, false);
  }
}

/**
 * Makes the target key an exact copy of the source key as it is now: same bytes, headers, user
 * metadata and (optionally) tags; or deletes it when the source is gone and deletes are on.
 *
 * The source is read, never trusted from an event: HEAD pins a version (VersionId, else the ETag
 * as If-Match on every read), a change mid-copy starts over, and after writing the source is
 * read again so that a slower worker never leaves an older version behind. Expected conditions
 * come back as results; this function does not throw.
 */
export async function replicateObject(
  source: SourceObject,
  target: TargetObject,
  options: ReplicateOptions = {},
): Promise<ReplicationResult> {
  const started = performance.now();
  const base = () => ({
    source: { bucket: source.bucket, key: source.key, ...(source.versionId && { versionId: source.versionId }) },
    target: { bucket: target.bucket, key: target.key },
    durationMs: Math.round(performance.now() - started),
  });
  const limits: TargetLimits = { ...LYVE_CLOUD_LIMITS, ...options.limits };
  const partSize = options.partSize ?? DEFAULT_PART_SIZE;
  const concurrency = options.budget?.maxRequests ?? options.concurrency ?? DEFAULT_CONCURRENCY;
  const badOption = optionProblem(partSize, concurrency, limits);
  if (badOption) return { ...base(), status: 'failed', reason: 'invalid-request', message: badOption, retryable: false };
  const budget = options.budget ?? new TransferBudget({ maxRequests: concurrency, maxBytes: partSize * concurrency });
  const signal = options.signal ?? new AbortController().signal;
  /** What replicas record of their source, and what they are compared with. */
  const replicaContext = { sourceBucket: source.bucket, ...(limits.maxMetadataBytes !== undefined && { maxMetadataBytes: limits.maxMetadataBytes }) };
  // Every request in flight listens on the signal; many parallel parts are expected, not a leak.
  setMaxListeners(0, signal);
  const ctx: TransferContext = {
    budget,
    concurrency,
    signal,
    ...(options.onProgress && { onProgress: options.onProgress }),
    ...(options.onCheckpoint && { onCheckpoint: options.onCheckpoint }),
    ...(options.shouldPause && { shouldPause: options.shouldPause }),
    ...(options.pauseSignal && { pauseSignal: options.pauseSignal }),
    origin: replicaContext,
  };
  const maxRestarts = options.maxRestarts ?? DEFAULT_MAX_RESTARTS;
  const dest: Destination = { client: target.client, bucket: target.bucket, key: target.key };
  let resume = options.resume;
  let restarts = 0;

  const pinnedTo = (state: ObjectState): PinnedSource => ({
    client: source.client,
    bucket: source.bucket,
    key: source.key,
    state,
    byVersion: source.versionId !== undefined,
  });
  const sourceTags = (state: ObjectState): Promise<TagSet | undefined> =>
    options.copyTags ? readSourceTags(pinnedTo(state)) : Promise.resolve(undefined);

  /** The target already is a replica of `current`: bring its tags along if asked, and say so. */
  const skipIdentical = async (current: ObjectState): Promise<ReplicationResult> => {
    const tags = await sourceTags(current);
    const tagsOutcome: TagsOutcome = tags ? await writeTargetTags(dest, tags, false) : 'not-requested';
    return { ...base(), status: 'skipped', reason: 'identical', sourceEtag: current.etag, tags: tagsOutcome };
  };

  /**
   * After a write: verify the replica (a HEAD, unless the PUT's reply already proved it) while
   * reading the source again; a source that changed meanwhile means starting over.
   */
  const finish = async (current: ObjectState, written: WrittenObject): Promise<ReplicationResult> => {
    // A copy in parts lasts long enough for the source to change under it (a metadata-only change
    // keeps the ETag its reads are pinned to): it is always checked, at one HEAD per object.
    const recheck = !source.versionId && (options.recheckSource !== false || written.method === 'multipart');
    const [replica, now] = await allInOrder([
      written.etagVerified ? undefined : head(target.client, 'target', target.bucket, target.key, undefined, signal),
      recheck ? head(source.client, 'source', source.bucket, source.key, undefined, signal) : current,
    ]);
    if (!written.etagVerified) {
      const recordedEtag = replica && recordedSource(replica)?.etag;
      // Without markers only when the source's own metadata left them no room.
      const ours = replica !== undefined && (recordedEtag === current.etag || (recordedEtag === undefined && !markersFit(current, limits.maxMetadataBytes)));
      if (!replica || !ours) {
        // Another writer replaced the key between our write and this read, or the target
        // acknowledged a write it does not hold: make sure no upload stays open, and start over.
        if (written.uploadId) await abortUpload(dest, written.uploadId).catch(() => undefined);
        throw new SourceChangedError(
          replica ? 'the target holds another object under the key after the copy (another writer?)' : 'the target does not hold the object it acknowledged writing',
          'target',
        );
      }
      const problems: string[] = [];
      if (replica.size !== current.size) problems.push(`size ${replica.size}, expected ${current.size}`);
      if (written.expectedEtag && /^[0-9a-f]{32}(-\d+)?$/.test(replica.etag) && replica.etag !== written.expectedEtag) {
        // Another copy of this same source state, written in parts of another size (a sync beside
        // the Lambda, say) after ours, is a replica too, not a damaged write of ours: unless the
        // target, completing ours, named an ETag other than its parts make (RGW names none).
        const replacedSince =
          partCount(replica.etag) !== partCount(written.expectedEtag) || written.completedEtag === undefined || written.completedEtag === written.expectedEtag;
        if (!(replacedSince && isReplicaOf(replica, current, replicaContext))) problems.push(`ETag ${replica.etag}, expected ${written.expectedEtag}`);
      }
      if (problems.length > 0) {
        // A replica that fails verification carries our markers: delete it, or a later run would skip it.
        await target.client.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key })).catch(() => undefined);
        throw new ReplicationFailure('integrity', `replica does not match what was sent: ${problems.join('; ')}`, true);
      }
    }
    if (!now || !sameState(now, current)) throw new SourceChangedError('source changed after the copy');

    const tags = await sourceTags(current);
    const tagsOutcome: TagsOutcome = tags ? await writeTargetTags(dest, tags, true) : 'not-requested';
    const targetEtag = replica?.etag || written.expectedEtag;
    return {
      ...base(),
      status: 'replicated',
      method: written.method,
      bytes: current.size,
      parts: written.parts,
      ...(written.partSize !== undefined && { partSize: written.partSize }),
      sourceEtag: current.etag,
      ...(current.versionId && { sourceVersionId: current.versionId }),
      ...(targetEtag && { targetEtag }),
      tags: tagsOutcome,
      restarts,
      resumedParts: written.resumedParts,
      resumedBytes: written.resumedBytes,
    };
  };

  try {
    validateKey(source.key, 'source', limits);
    validateKey(target.key, 'target', limits);
    // Objects up to the threshold go in one PUT. Not raised for sources whose MD5 is known (no
    // hashing): across a WAN the budget holds half as many 32 MiB bodies in flight as 16 MiB parts
    // (BENCHMARKS.md: 32 MiB objects at 64 MB/s whole, 116 MB/s in parts, 16 MiB/s per connection).
    const threshold = Math.min(options.multipartThreshold ?? partSize, limits.maxSinglePutSize);
    let targetBeforeCopy: Promise<ObjectState | undefined> | undefined;
    for (;;) {
      try {
        // Fast path: the caller knows the source's ETag and it is small, so one conditional GET
        // gives both its state and its body. Only on the first attempt: a restart reads afresh.
        // A hint that cannot be an ETag (an event's, say) is not used: the source is read instead.
        const hint = options.sourceHint;
        if (hint && ETAG_TEXT.test(unquoteEtag(hint.etag)) && Number.isSafeInteger(hint.size) && hint.size >= 0 && restarts === 0 && !resume && !source.versionId && hint.size <= threshold) {
          const hinted: PinnedSource = {
            client: source.client,
            bucket: source.bucket,
            key: source.key,
            state: { etag: unquoteEtag(hint.etag), size: hint.size, headers: { metadata: {} } },
            hinted: true,
          };
          const existingPromise = options.targetKnownMissing
            ? Promise.resolve(undefined)
            : head(target.client, 'target', target.bucket, target.key, undefined, signal);
          existingPromise.catch(() => undefined);
          // Nothing was written if the fast path falls back: the slow path reuses this HEAD.
          targetBeforeCopy = existingPromise;
          const fast = await withWholeObject(hinted, ctx, async (read) => {
            const existing = await existingPromise;
            if (existing && isReplicaOf(existing, read.state, replicaContext)) return { current: read.state, existing };
            return { current: read.state, written: await putBody(read, dest, ctx) };
          }).catch((error: unknown) => {
            if (error instanceof SourceChangedError) return undefined; // changed since the hint: the slow path below
            throw error;
          });
          if (fast) {
            if ('written' in fast && fast.written) return await finish(fast.current, fast.written);
            return await skipIdentical(fast.current);
          }
        }

        const [current, existing] = await allInOrder([
          head(source.client, 'source', source.bucket, source.key, source.versionId, signal),
          targetBeforeCopy ??
            (options.targetKnownMissing && restarts === 0
              ? undefined
              : head(target.client, 'target', target.bucket, target.key, undefined, signal)),
        ]);
        targetBeforeCopy = undefined;

        if (!current) {
          // A continued upload of an object that is gone now will never be completed.
          if (resume) await abortUpload(dest, resume.uploadId).catch(() => undefined);
          resume = undefined;
          const mode = options.deleteWhenSourceMissing;
          // A version that is gone says nothing of the key, which may have others: only a key that
          // does not exist deletes its replica.
          const deletable =
            !source.versionId &&
            existing !== undefined &&
            (mode === 'any' || (mode === 'recorded' ? recordedSource(existing)?.bucket === source.bucket : mode === true && !fromOtherBucket(existing, source.bucket)));
          if (!deletable) {
            return { ...base(), status: 'skipped', reason: 'source-missing' };
          }
          await s3Call('target', target.bucket, 's3:DeleteObject', () =>
            target.client.send(new DeleteObjectCommand({ Bucket: target.bucket, Key: target.key }), { abortSignal: signal }),
          );
          // A key re-created while we deleted must not stay deleted: look again.
          if (await head(source.client, 'source', source.bucket, source.key, source.versionId, signal)) {
            throw new SourceChangedError('source re-created while its replica was deleted');
          }
          return { ...base(), status: 'deleted' };
        }

        if (existing && isReplicaOf(existing, current, replicaContext)) {
          // A continued upload whose object is already complete (e.g. a redelivered continuation).
          if (resume) await abortUpload(dest, resume.uploadId).catch(() => undefined);
          return await skipIdentical(current);
        }

        let plan;
        try {
          plan = planTransfer(current.size, partSize, threshold, limits);
        } catch (error) {
          if (resume) await abortUpload(dest, resume.uploadId).catch(() => undefined);
          throw new ReplicationFailure('too-large', (error as Error).message, false);
        }
        if (resume && plan.method === 'single-put') {
          // The object now goes in one PUT (it shrank, or the part size grew): the paused upload goes.
          await abortUpload(dest, resume.uploadId).catch(() => undefined);
          resume = undefined;
        }
        const pinned = pinnedTo(current);
        const written =
          plan.method === 'single-put'
            ? { paused: false as const, ...(await putSingle(pinned, dest, ctx)) }
            : await putMultipart(pinned, dest, plan, ctx, resume);
        resume = undefined;
        if (written.paused) {
          return { ...base(), status: 'paused', checkpoint: written.checkpoint, bytesDone: written.bytesDone, bytesLeft: written.bytesLeft };
        }
        return await finish(current, written);
      } catch (error) {
        if (!(error instanceof SourceChangedError)) throw error;
        if (restarts >= maxRestarts) {
          if (error.side === 'target') {
            throw new ReplicationFailure(
              'target-rejected',
              `the copy did not hold on the target (${restarts + 1} attempts): ${error.message}`,
              true,
            );
          }
          throw new ReplicationFailure(
            'source-changing',
            `source kept changing while it was copied (${restarts + 1} attempts; last: ${error.message}); the next event or run will copy its final state`,
            true,
          );
        }
        restarts += 1;
        resume = undefined;
      }
    }
  } catch (error) {
    const failure = error instanceof ReplicationFailure ? error : classifyS3Error(error, 'target', target.bucket, 'replication');
    return {
      ...base(),
      status: 'failed',
      reason: failure.reason,
      message: failure.message,
      retryable: failure.retryable,
      ...(failure.errorCode && { errorCode: failure.errorCode }),
      ...(uploadLeftOpen(error) && { uploadLeftOpen: uploadLeftOpen(error) }),
    };
  }
}
