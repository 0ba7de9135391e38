import type { S3Client } from '@aws-sdk/client-s3';
import type { MultipartCheckpoint } from '../engine/checkpoint.js';
import { errorMessage } from '../engine/errors.js';
import { replicateObject } from '../engine/replicate-object.js';
import { abortUpload } from '../engine/transfer.js';
import type { TransferBudget } from '../engine/transfer-budget.js';
import type { ReplicateOptions, ReplicationResult } from '../engine/types.js';
import { assertSourceBucketAllowed, targetKeyFor, type LambdaConfig } from './config.js';
import type { Continuation } from './continuation.js';
import type { ReplicationTask } from './events/types.js';
import type { TargetConnection } from './target-connection.js';
import type { TaskLogger } from './observability.js';
import { TimeBudget } from './time-budget.js';

/** A task the configuration says to leave alone. */
export interface IgnoredResult {
  status: 'ignored';
  /** `no-such-key`: the task's key was the other reading of an ambiguous key, and names no source object. */
  reason: 'filtered' | 'deletes-disabled' | 'tags-disabled' | 'no-such-key';
}

export type TaskResult = ReplicationResult | IgnoredResult;

export interface TaskOutcome {
  task: ReplicationTask;
  targetKey: string;
  result: TaskResult;
  /** A paused copy whose continuation message was queued. */
  continued: boolean;
  invocations: number;
}

export interface TaskRuntime {
  config: LambdaConfig;
  source: S3Client;
  target: TargetConnection;
  budget: TransferBudget;
  /** Milliseconds left in this invocation (the Lambda context's getRemainingTimeInMillis). */
  remainingMs: () => number;
  /** Kept free at the end of the invocation: copies pause before eating into it. */
  reserveMs: number;
  /** Time the invocation had when it began. */
  invocationMs: number;
  /** Queues a continuation; undefined when no CONTINUATION_QUEUE_URL is set. */
  continueLater?: (continuation: Continuation) => Promise<void>;
  /** The logger for this object's lines (it carries the request id and the object key). */
  logger: TaskLogger;
}

/** Whether the event source should consider the task done (not retry it). */
export function succeeded(outcome: TaskOutcome): boolean {
  const status = outcome.result.status;
  return status === 'paused' ? outcome.continued : status !== 'failed';
}

/** Aborts a multipart upload, as far as the target lets us (cleanup or a lifecycle rule gets the rest). */
async function abortUploadWith(client: S3Client, bucket: string, key: string, uploadId: string): Promise<void> {
  await abortUpload({ client, bucket, key }, uploadId).catch(() => undefined);
}

/**
 * Which replica a delete event removes. With `{bucket}/` in the target prefix a target key can
 * only be this bucket's (bucket names have no `/`; `{bucket}-` would not keep `a` + `b-x` apart
 * from `a-b` + `x`): whatever is there. With several SOURCE_BUCKETS sharing the target's keys,
 * only one that records this bucket: a replica that records none (another tool's copy, or ours
 * without room for the marker) may be another bucket's, and is left to `sync --delete`.
 * Otherwise (one source bucket, or SOURCE_BUCKETS unset) any but one that records another bucket.
 */
function deletePolicy(config: LambdaConfig): true | 'recorded' | 'any' {
  if (config.targetPrefix.includes('{bucket}/')) return 'any';
  return (config.sourceBuckets?.size ?? 1) > 1 ? 'recorded' : true;
}

/**
 * Runs one task: applies the configuration (source allow-list, key filters, deletes and tags
 * on/off, target prefix), then makes the target key match the source with the engine. The
 * engine re-reads the source, so every action converges to the source's current state: a
 * create event for a since-deleted object deletes the replica (when deletes are on), and a
 * delete event for a re-created object copies it.
 */
export async function replicateTask(
  task: ReplicationTask,
  runtime: TaskRuntime,
  resume?: { checkpoint: MultipartCheckpoint; invocations: number },
): Promise<TaskOutcome> {
  const { config } = runtime;
  const targetKey = targetKeyFor(config, task.bucket, task.key);
  const invocations = (resume?.invocations ?? 0) + 1;
  const outcome = (result: TaskResult, continued = false): TaskOutcome => ({ task, targetKey, result, continued, invocations });

  // A continuation that will not be carried on (the configuration changed since it was queued)
  // takes its upload with it.
  const dropContinuation = async () => {
    if (!resume) return;
    const { target, uploadId } = resume.checkpoint;
    await abortUploadWith(await runtime.target.client(), target.bucket, target.key, uploadId);
  };
  try {
    assertSourceBucketAllowed(config, task.bucket);
  } catch (error) {
    await dropContinuation();
    throw error;
  }
  const ignored = !config.keyFilter(task.key)
    ? 'filtered'
    : task.action === 'delete' && !config.replicateDeletes
      ? 'deletes-disabled'
      : task.action === 'tags' && !config.replicateTags
        ? 'tags-disabled'
        : undefined;
  if (ignored) {
    await dropContinuation();
    return outcome({ status: 'ignored', reason: ignored });
  }

  const time = new TimeBudget(runtime.remainingMs, runtime.reserveMs, config.concurrency, runtime.invocationMs);
  // Parts still in flight when the time is nearly up are cut off, and the copy pauses.
  const deadline = time.deadline();
  /** The engine's copy, within the invocation's time, and what its result then asks for. */
  const copy = async (): Promise<TaskOutcome> => {
    const options: ReplicateOptions = {
      shouldPause: time.shouldPause,
      ...(deadline && { pauseSignal: deadline.signal }),
      budget: runtime.budget,
      partSize: config.partSize,
      copyTags: config.replicateTags,
      // A key that is only one reading of what the event named may be another object's name.
      deleteWhenSourceMissing: config.replicateDeletes && (task.alternativeKey ? 'recorded' : deletePolicy(config)),
      // A create event names the object's ETag and size: small objects are then read with one
      // conditional GET. The engine still re-reads the source after writing, so stale events converge.
      ...(task.action === 'replicate' && task.eTag && task.size !== undefined && { sourceHint: { etag: task.eTag, size: task.size } }),
      ...(resume && { resume: resume.checkpoint }),
    };
    const run = async (client: S3Client) =>
      replicateObject({ client: runtime.source, bucket: task.bucket, key: task.key }, { client, bucket: config.targetBucket, key: targetKey }, options);

    let result = await run(await runtime.target.client());
    if (result.status === 'failed' && result.reason === 'target-credentials' && runtime.target.canRefresh) {
      // The keys may have been rotated: read the secret again, once, before failing the object.
      runtime.logger.warn('target rejected the credentials; re-reading the secret once', { reason: result.reason });
      const leftOpen = result.uploadLeftOpen;
      const client = await runtime.target.refresh();
      // An upload started before the keys were revoked could not be aborted with them: now it can.
      if (leftOpen) await abortUploadWith(client, config.targetBucket, targetKey, leftOpen);
      result = await run(client);
    }

    if (task.alternativeKey && result.status === 'skipped' && result.reason === 'source-missing') {
      return outcome({ status: 'ignored', reason: 'no-such-key' });
    }
    if (result.status !== 'paused') return outcome(result);
    let problem = `object needs more time than this invocation had left (${result.bytesLeft} bytes to go): set CONTINUATION_QUEUE_URL so large copies continue in the next invocation, or raise the function timeout`;
    if (runtime.continueLater) {
      try {
        await runtime.continueLater({ task, checkpoint: result.checkpoint, invocations });
        return outcome(result, true);
      } catch (error) {
        problem = `could not queue the continuation of this copy to CONTINUATION_QUEUE_URL (${errorMessage(error)}): check the queue URL and sqs:SendMessage; the event will be retried`;
      }
    }
    // Nowhere to continue: abort the upload rather than leave paid-for parts behind.
    await abortUploadWith(await runtime.target.client(), config.targetBucket, targetKey, result.checkpoint.uploadId);
    return outcome({ ...result, status: 'failed', reason: 'unavailable', retryable: true, message: problem });
  };
  try {
    return await copy();
  } finally {
    deadline?.clear();
  }
}
