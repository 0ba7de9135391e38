import type { S3Client } from '@aws-sdk/client-s3';
import type { MultipartCheckpoint } from './checkpoint.js';
import type { TransferBudget } from './transfer-budget.js';
import type { TargetLimits } from './limits.js';

/** Where an object is read from. */
export interface SourceObject {
  client: S3Client;
  bucket: string;
  key: string;
  /**
   * Copy exactly this version. Without it the engine copies the source's current state and
   * pins every read to the version (or ETag) that its first HEAD saw.
   */
  versionId?: string;
}

/** Where an object is written to. */
export interface TargetObject {
  client: S3Client;
  bucket: string;
  key: string;
}

export interface TransferProgress {
  /** Bytes of the object already on the target (completed parts). */
  bytesDone: number;
  /** Bytes still to transfer. */
  bytesLeft: number;
  partsDone: number;
  partsLeft: number;
}

export interface ReplicateOptions {
  /** Preferred multipart part size in bytes (default 16 MiB); raised when needed to stay ≤ 10,000 parts. */
  partSize?: number;
  /** Objects larger than this go multipart (default: the part size). */
  multipartThreshold?: number;
  /** Parallel part transfers for this object when no shared budget is given (default 8). */
  concurrency?: number;
  /**
   * A budget shared by many concurrent replications (the CLI and Lambda use one), bounding
   * requests in flight and bytes buffered across all of them.
   */
  budget?: TransferBudget;
  /** Copy object tags (default false). */
  copyTags?: boolean;
  /**
   * Delete the target key when the source key does not exist now (default false). Which replica
   * goes: with `true`, any but one that records another source bucket (that bucket's events
   * decide about it); with `'recorded'`, only one that records this source bucket, for several
   * source buckets sharing the target's keys, where a replica that records no bucket (a copy
   * another tool made, or ours when the source's own metadata left no room for the marker) may
   * be another bucket's; with `'any'`, whatever is there (sync --delete mirroring a prefix).
   * A source `versionId` that does not exist never deletes: the key may have other versions.
   */
  deleteWhenSourceMissing?: boolean | 'recorded' | 'any';
  /** Limits of the target service (default: Lyve Cloud's). */
  limits?: Partial<TargetLimits>;
  /** How often to start over when the source changes while it is being copied (default 3). */
  maxRestarts?: number;
  /** Continue the multipart upload described by this checkpoint when it still matches the source. */
  resume?: MultipartCheckpoint;
  /** Called after each completed part with the state needed to resume later. */
  onCheckpoint?: (checkpoint: MultipartCheckpoint) => void | Promise<void>;
  /**
   * Asked before each new part starts. Returning true stops the transfer cleanly (parts in
   * flight finish) and the result is `paused` with a checkpoint to resume from.
   */
  shouldPause?: (progress: TransferProgress) => boolean;
  /**
   * Pauses at once when it aborts (a deadline): parts in flight are cut off, to be sent again on
   * resume, and the result is `paused` with a checkpoint of the parts already on the target.
   * Before any part of this run is done it waits for one (every run moves forward).
   */
  pauseSignal?: AbortSignal;
  /** Called with the byte count of every part or single PUT once it is on the target. */
  onProgress?: (bytes: number) => void;
  /** Cancels the replication; the multipart upload is aborted. */
  signal?: AbortSignal;
  /**
   * What a listing or an event said about the source. A small object is then read with one
   * conditional GET (If-Match on this ETag) instead of HEAD + GET; if the source changed since,
   * the engine falls back to reading its current state.
   */
  sourceHint?: { etag: string; size: number };
  /** The caller has just seen that the target key does not exist (a listing): skip its HEAD. */
  targetKnownMissing?: boolean;
  /**
   * After writing, read the source again and start over if it changed (default true). This is
   * what makes concurrent and reordered events converge; a one-off copy of a listing may skip it
   * for single PUTs (copies in parts are always checked: they last long enough to see a change).
   */
  recheckSource?: boolean;
}

export type SkipReason =
  /** The target already holds this content (size + recorded source ETag). */
  | 'identical'
  /**
   * The source key does not exist (and deletes are off, the target has nothing to delete, or
   * what it holds records another source bucket: that bucket's replica is not ours to delete).
   */
  | 'source-missing';

export type FailureReason =
  | 'invalid-request'
  | 'source-access-denied'
  | 'source-bucket-missing'
  | 'target-access-denied'
  | 'target-credentials'
  | 'target-bucket-missing'
  | 'source-rejected'
  | 'target-rejected'
  | 'too-large'
  | 'source-changing'
  | 'integrity'
  | 'unavailable'
  | 'aborted'
  | 'internal';

export type TagsOutcome =
  | 'not-requested'
  | 'none'
  | 'copied'
  | 'unchanged'
  /** The target does not implement object tagging; the object itself was replicated. */
  | 'unsupported-by-target';

interface ResultBase {
  source: { bucket: string; key: string; versionId?: string };
  target: { bucket: string; key: string };
  durationMs: number;
}

export interface ReplicatedResult extends ResultBase {
  status: 'replicated';
  method: 'single-put' | 'multipart';
  bytes: number;
  parts: number;
  partSize?: number;
  sourceEtag: string;
  sourceVersionId?: string;
  targetEtag?: string;
  tags: TagsOutcome;
  /** Times the copy started over because the source changed under it. */
  restarts: number;
  /** Parts reused from an earlier, interrupted run. */
  resumedParts: number;
  /** Bytes of those parts: `bytes` − this is what this run sent. */
  resumedBytes: number;
}

export interface SkippedResult extends ResultBase {
  status: 'skipped';
  reason: SkipReason;
  sourceEtag?: string;
  tags?: TagsOutcome;
}

export interface DeletedResult extends ResultBase {
  status: 'deleted';
}

export interface PausedResult extends ResultBase {
  status: 'paused';
  checkpoint: MultipartCheckpoint;
  bytesDone: number;
  bytesLeft: number;
}

export interface FailedResult extends ResultBase {
  status: 'failed';
  reason: FailureReason;
  /** What went wrong and what to do about it, fit for a log line or a terminal. */
  message: string;
  /** True when trying again later may succeed (throttling, network, 5xx). */
  retryable: boolean;
  /** The S3 error code when there was one. */
  errorCode?: string;
  /**
   * A multipart upload of the target key that this copy started and could not abort (the abort
   * failed too, e.g. with credentials the target had just rejected): abort it when you can;
   * `cleanup` or a lifecycle rule reclaims it otherwise.
   */
  uploadLeftOpen?: string;
}

export type ReplicationResult =
  | ReplicatedResult
  | SkippedResult
  | DeletedResult
  | PausedResult
  | FailedResult;
