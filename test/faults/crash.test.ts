/**
 * Crashes: `sync` killed with SIGKILL in the middle of a large object, and Lambda invocations
 * that die after checkpointing. Reruns end exact, and nothing is left open on the target; the
 * one case that does leave an upload (a Lambda that dies before it could queue its
 * continuation) is reclaimed by `cleanup`.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { CreateQueueCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { replicateObject } from '../../src/engine/replicate-object.js';
import { createHandler } from '../../src/lambda/handler.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../support/embedded-s3.js';
import { lambdaContext, s3Event, sqsEvent } from '../support/lambda.js';
import { MiB, createBucket, openUploads, putMultipartObject, putObject, randomBody, readBack, rgwClients, uniqueBucket } from '../support/s3.js';
import { cli } from '../support/cli.js';

const rgw = inject('rgw');
const { source, target } = rgwClients();

/** Checkpoint files (a SIGKILL during a write may also leave a `*.tmp` beside them). */
const checkpoints = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.json')) : []);

/** Parts recorded in the single checkpoint in `dir`, or -1 when there is none yet. */
function partsCheckpointed(dir: string): number {
  const [file] = checkpoints(dir);
  if (!file) return -1;
  try {
    return (JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as { parts: unknown[] }).parts.length;
  } catch {
    return -1;
  }
}

describe('sync killed with SIGKILL mid-object', () => {
  it('resumes from the checkpoint on the rerun: exact, no upload left open, no checkpoint left', async () => {
    const src = await createBucket(source, uniqueBucket('crash-src'));
    const dst = await createBucket(target, uniqueBucket('crash-dst'));
    const md5 = await putMultipartObject(source, src, 'large.bin', 80 * MiB + 3, 16 * MiB);
    const stateDir = mkdtempSync(path.join(tmpdir(), 'lyve-crash-'));
    const args = ['sync', `s3://${src}`, `s3://${dst}`, '--part-size', '5', '--concurrency', '2', '--state-dir', stateDir, '--source-endpoint', rgw.endpoint];
    let killed = false;
    const first = await cli(args, {}, (kill) => {
      if (!killed && partsCheckpointed(stateDir) >= 2) {
        killed = true;
        kill('SIGKILL'); // no handler runs: parts in flight are lost mid-request
      }
    });
    expect(first.signal).toBe('SIGKILL');
    expect(checkpoints(stateDir)).toHaveLength(1);
    expect(await openUploads(target, dst)).toEqual(['large.bin']);

    const second = await cli([...args, '--json']);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report.counts).toMatchObject({ replicated: 1, failed: 0 });
    expect(report.objects[0].resumedParts).toBeGreaterThanOrEqual(2);
    expect((await readBack(target, dst, 'large.bin')).md5).toBe(md5);
    expect(await openUploads(target, dst)).toEqual([]);
    expect(checkpoints(stateDir)).toEqual([]);
  }, 120_000);

  it('starts over cleanly when the source changed before the rerun, aborting the killed upload', async () => {
    const src = await createBucket(source, uniqueBucket('crash2-src'));
    const dst = await createBucket(target, uniqueBucket('crash2-dst'));
    await putMultipartObject(source, src, 'large.bin', 60 * MiB, 16 * MiB);
    const stateDir = mkdtempSync(path.join(tmpdir(), 'lyve-crash-'));
    const args = ['sync', `s3://${src}`, `s3://${dst}`, '--part-size', '5', '--concurrency', '2', '--state-dir', stateDir, '--source-endpoint', rgw.endpoint];
    let killed = false;
    const first = await cli(args, {}, (kill) => {
      if (!killed && partsCheckpointed(stateDir) >= 1) {
        killed = true;
        kill('SIGKILL');
      }
    });
    expect(first.signal).toBe('SIGKILL');
    const changed = await putMultipartObject(source, src, 'large.bin', 30 * MiB + 1, 16 * MiB); // overwritten meanwhile

    const second = await cli([...args, '--json']);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report.counts).toMatchObject({ replicated: 1, failed: 0 });
    expect(report.objects[0].resumedParts).toBeUndefined();
    const replica = await readBack(target, dst, 'large.bin');
    expect(replica.md5).toBe(changed);
    expect(replica.size).toBe(30 * MiB + 1);
    expect(await openUploads(target, dst)).toEqual([]);
    expect(checkpoints(stateDir)).toEqual([]);
  }, 120_000);

  it('aborts the killed upload when the source was deleted before the rerun', async () => {
    const src = await createBucket(source, uniqueBucket('crash3-src'));
    const dst = await createBucket(target, uniqueBucket('crash3-dst'));
    await putMultipartObject(source, src, 'large.bin', 40 * MiB, 16 * MiB);
    await putObject(source, src, 'small.bin', randomBody(10));
    const stateDir = mkdtempSync(path.join(tmpdir(), 'lyve-crash-'));
    const args = ['sync', `s3://${src}`, `s3://${dst}`, '--part-size', '5', '--concurrency', '2', '--state-dir', stateDir, '--source-endpoint', rgw.endpoint];
    let killed = false;
    const first = await cli(args, {}, (kill) => {
      if (!killed && partsCheckpointed(stateDir) >= 1) {
        killed = true;
        kill('SIGKILL');
      }
    });
    expect(first.signal).toBe('SIGKILL');
    expect(await openUploads(target, dst)).toEqual(['large.bin']);
    await source.send(new DeleteObjectCommand({ Bucket: src, Key: 'large.bin' }));

    // The rerun no longer lists large.bin, but finds its checkpoint and aborts that upload.
    const second = await cli([...args, '--json']);
    expect(second.code).toBe(0);
    expect(JSON.parse(second.stdout).complete).toBe(true);
    expect(await openUploads(target, dst)).toEqual([]);
    expect(checkpoints(stateDir)).toEqual([]);
  }, 120_000);
});

describe('a Lambda invocation that dies after checkpointing', () => {
  let queueServer: EmbeddedS3;
  let sqs: SQSClient;
  let queueUrl: string;
  beforeAll(async () => {
    queueServer = await startEmbeddedS3();
    sqs = new SQSClient({ endpoint: queueServer.endpoint, region: 'us-east-1', credentials: queueServer.credentials });
    queueUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'crash-continuations' }))).QueueUrl!;
  });
  afterAll(async () => {
    sqs?.destroy();
    await queueServer?.stop();
  });

  const env = (dst: string, extra: Record<string, string> = {}) => ({
    TARGET_BUCKET: dst,
    LC_ACCESS_KEY: rgw.target.accessKeyId,
    LC_SECRET_KEY: rgw.target.secretAccessKey,
    LC_ENDPOINT_URL: rgw.endpoint,
    PART_SIZE_MIB: '5',
    CONCURRENCY: '2',
    ...extra,
  });

  it('after queueing its continuation, with the original message redelivered too: both run, one exact object, no upload open', async () => {
    const src = await createBucket(source, uniqueBucket('lcrash-src'));
    const dst = await createBucket(target, uniqueBucket('lcrash-dst'));
    const key = 'continued/40MiB.bin';
    const md5 = await putMultipartObject(source, src, key, 40 * MiB + 11, 16 * MiB);
    const handler = createHandler({ env: env(dst, { CONTINUATION_QUEUE_URL: queueUrl }), source, sqs, reserveMs: 400 });
    const original = JSON.stringify(s3Event({ bucket: src, key }));

    // Invocation 1 runs out of time: it pauses and queues a continuation (then "dies": SQS will
    // deliver its original message again, as if it had never answered).
    expect(await handler(sqsEvent([original]), lambdaContext(500))).toEqual({ batchItemFailures: [] });
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect(Messages).toHaveLength(1);
    const continuation = Messages![0]!.Body!;
    expect(JSON.parse(continuation)).toHaveProperty('lyveReplicatorContinuation');
    expect(await openUploads(target, dst)).toEqual([key]);

    // The continuation and the redelivered original run at the same time, in two containers.
    const other = createHandler({ env: env(dst, { CONTINUATION_QUEUE_URL: queueUrl }), source, sqs, reserveMs: 400 });
    const [a, b] = await Promise.all([handler(sqsEvent([continuation]), lambdaContext(120_000)), other(sqsEvent([original]), lambdaContext(120_000))]);
    expect(a).toEqual({ batchItemFailures: [] });
    expect(b).toEqual({ batchItemFailures: [] });
    // …and the continuation is delivered once more (at-least-once): nothing to do, nothing left.
    expect(await handler(sqsEvent([continuation]), lambdaContext(120_000))).toEqual({ batchItemFailures: [] });

    expect((await readBack(target, dst, key)).md5).toBe(md5);
    expect(await openUploads(target, dst)).toEqual([]);
    const after = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect(after.Messages ?? []).toEqual([]);
  }, 120_000);

  it('a continuation that cannot be queued aborts its upload; one lost in a crash before queueing is left to `cleanup`, which reclaims it', async () => {
    const src = await createBucket(source, uniqueBucket('lcrash2-src'));
    const dst = await createBucket(target, uniqueBucket('lcrash2-dst'));
    const key = 'lost/40MiB.bin';
    const md5 = await putMultipartObject(source, src, key, 40 * MiB + 5, 16 * MiB);
    // A queue nobody listens on: the invocation checkpoints, cannot queue its continuation, and
    // then aborts its upload and fails the message so that SQS delivers it again.
    const deadQueue = new SQSClient({ endpoint: 'http://127.0.0.1:9', region: 'us-east-1', credentials: queueServer.credentials, maxAttempts: 1 });
    const failing = createHandler({ env: env(dst, { CONTINUATION_QUEUE_URL: 'http://127.0.0.1:9/000000000000/unreachable' }), source, sqs: deadQueue, reserveMs: 400, logger: new Logger({ logLevel: 'SILENT' }) });
    const original = JSON.stringify(s3Event({ bucket: src, key }));
    await expect(failing(sqsEvent([original]), lambdaContext(500))).rejects.toThrow(/All records failed processing/);
    deadQueue.destroy();
    expect(await openUploads(target, dst)).toEqual([]);

    // A crash between checkpointing and queueing (here: the engine paused, then the process
    // "died" with the checkpoint) leaves one upload that no message names.
    let parts = 0;
    const paused = await replicateObject({ client: source, bucket: src, key }, { client: target, bucket: dst, key }, { shouldPause: () => parts++ >= 1 });
    expect(paused.status).toBe('paused');
    expect(await openUploads(target, dst)).toEqual([key]);

    // SQS redelivers the event; a healthy invocation copies the object from scratch.
    const healthy = createHandler({ env: env(dst), source });
    expect(await healthy(sqsEvent([original]), lambdaContext(120_000))).toEqual({ batchItemFailures: [] });
    expect((await readBack(target, dst, key)).md5).toBe(md5);
    // The first invocation's upload is nobody's now: only cleanup (or a lifecycle rule) reclaims it.
    expect(await openUploads(target, dst)).toEqual([key]);

    const run = await cli(['cleanup', `s3://${dst}`, '--older-than', '0s', '--json']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.counts).toMatchObject({ aborted: 1, failed: 0 });
    expect(report.items).toEqual([expect.objectContaining({ key, action: 'aborted' })]);
    expect(await openUploads(target, dst)).toEqual([]);
    expect((await readBack(target, dst, key)).md5).toBe(md5); // the object itself is untouched
  }, 120_000);
});
