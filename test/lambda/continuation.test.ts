/**
 * No size limit: a 1 GiB copy under a time budget far shorter than the copy needs continues
 * across invocations through a real queue (the embedded fauxqs SQS), ending with one exact
 * object and no open multipart upload (Ceph RGW for the data).
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it, inject } from 'vitest';
import { createSourceClient } from '../../src/clients/s3-clients.js';
import { createHandler } from '../../src/lambda/handler.js';
import { TimeBudget } from '../../src/lambda/time-budget.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../support/embedded-s3.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { lambdaContext, s3Event, sqsEvent } from '../support/lambda.js';
import { MiB, createBucket, openUploads, putMultipartObject, readBack, rgwClients, uniqueBucket } from '../support/s3.js';

const rgw = inject('rgw');
const { source, target } = rgwClients();
const src = uniqueBucket('cont-src');
const dst = uniqueBucket('cont-dst');
let queueServer: EmbeddedS3;
let sqs: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  await createBucket(source, src);
  await createBucket(target, dst);
  queueServer = await startEmbeddedS3();
  sqs = new SQSClient({ endpoint: queueServer.endpoint, region: 'us-east-1', credentials: queueServer.credentials });
  const created = await sqs.send(new CreateQueueCommand({ QueueName: 'continuations' }));
  // fauxqs names queues http://sqs.<region>.localhost:PORT/...; requests go to the endpoint.
  queueUrl = created.QueueUrl!;
});
afterAll(async () => {
  sqs?.destroy();
  await queueServer?.stop();
});

/** Invokes the handler with `first`, then with each continuation queued, until none is left. */
async function runUntilDone(handler: ReturnType<typeof createHandler>, first: unknown, budgetMs: number, maxInvocations: number): Promise<number> {
  let invocations = 1;
  expect(await handler(first, lambdaContext(budgetMs))).toEqual({ failures: 0 });
  for (;;) {
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    if (!Messages?.length) return invocations;
    expect(Messages).toHaveLength(1);
    const message = Messages[0]!;
    invocations += 1;
    expect(await handler(sqsEvent([message.Body!]), lambdaContext(budgetMs))).toEqual({ batchItemFailures: [] });
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: message.ReceiptHandle! }));
    expect(invocations).toBeLessThanOrEqual(maxInvocations);
  }
}

/** Runs `use` with a source client whose ranged GETs go at `bytesPerSecond` once `slowFrom()` says so. */
async function withSlowSource(bytesPerSecond: number, slowFrom: () => boolean, use: (client: S3Client) => Promise<void>): Promise<void> {
  const proxy = await startFaultProxy({ upstream: rgw.endpoint, slowBytesPerSecond: bytesPerSecond, script: (r) => (r.method === 'GET' && r.headers.range && slowFrom() ? 'slow' : 'none') });
  const client = createSourceClient({ endpoint: proxy.endpoint, credentials: rgw.source, concurrency: 1 });
  try {
    await use(client);
  } finally {
    client.destroy();
    await proxy.close();
  }
}

function handlerEnv(partSizeMib: number, concurrency: number): NodeJS.ProcessEnv {
  return {
    TARGET_BUCKET: dst,
    LC_ACCESS_KEY: rgw.target.accessKeyId,
    LC_SECRET_KEY: rgw.target.secretAccessKey,
    LC_ENDPOINT_URL: rgw.endpoint,
    CONTINUATION_QUEUE_URL: queueUrl,
    PART_SIZE_MIB: String(partSizeMib),
    CONCURRENCY: String(concurrency),
  };
}

function handlerFor(partSizeMib: number, concurrency: number, reserveMs?: number) {
  return createHandler({
    env: handlerEnv(partSizeMib, concurrency),
    source,
    sqs,
    ...(reserveMs !== undefined && { reserveMs }),
  });
}

describe('objects larger than one invocation', () => {
  it('copies 1 GiB over several short invocations, resuming from checkpoints', async () => {
    const key = 'continued/1GiB.bin';
    const md5 = await putMultipartObject(source, src, key, 1024 * MiB, 64 * MiB);
    // Each invocation has 2.5 s: far less than the whole copy takes on this machine.
    const budgetMs = 2_500;
    // However slow the machine, every invocation moves at least one of the 64 parts.
    const invocations = await runUntilDone(handlerFor(16, 4, 500), s3Event({ bucket: src, key }), budgetMs, 65);
    console.log(`1 GiB continuation test: ${invocations} invocations of ${budgetMs} ms`);
    expect(invocations).toBeGreaterThanOrEqual(3);
    const replica = await readBack(target, dst, key);
    expect(replica.size).toBe(1024 * MiB);
    expect(replica.md5).toBe(md5);
    expect(await openUploads(target, dst)).toEqual([]);
  }, 300_000);

  it('a part still in flight when the time is nearly up is cut off: the copy pauses and continues, never killed with the invocation', async () => {
    const key = 'continued/slowed-down.bin';
    const md5 = await putMultipartObject(source, src, key, 30 * MiB, 5 * MiB);
    // Two parts at full speed, then the source slows to 10 s a part: started in time, it cannot end in time.
    let gets = 0;
    const context = lambdaContext(8_000);
    await withSlowSource(MiB / 2, () => ++gets >= 3, async (slowSource) => {
      const handler = createHandler({ env: handlerEnv(5, 1), source: slowSource, sqs, reserveMs: 4_000 });
      expect(await handler(sqsEvent([JSON.stringify(s3Event({ bucket: src, key }))]), context)).toEqual({ batchItemFailures: [] });
      // Returned with time to spare (half the reserve), the parts done checkpointed in a continuation.
      expect(context.getRemainingTimeInMillis()).toBeGreaterThan(0);
    });
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect(Messages).toHaveLength(1);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: Messages![0]!.ReceiptHandle! }));
    expect(await handlerFor(5, 1)(sqsEvent([Messages![0]!.Body!]), lambdaContext(60_000))).toEqual({ batchItemFailures: [] });
    expect((await readBack(target, dst, key)).md5).toBe(md5);
    expect(await openUploads(target, dst)).toEqual([]);
  }, 60_000);

  it('moves a part per invocation even when each part outlasts the deadline (one part, then a pause)', async () => {
    const key = 'continued/every-part-slow.bin';
    const md5 = await putMultipartObject(source, src, key, 10 * MiB, 5 * MiB);
    // ~2.5 s a part against 3.5 s invocations, whose deadline (half the 2 s reserve left) comes first.
    await withSlowSource(2 * MiB, () => true, async (slowSource) => {
      const handler = createHandler({ env: handlerEnv(5, 1), source: slowSource, sqs, reserveMs: 2_000 });
      expect(await runUntilDone(handler, s3Event({ bucket: src, key }), 3_500, 3)).toBe(2);
    });
    expect((await readBack(target, dst, key)).md5).toBe(md5);
    expect(await openUploads(target, dst)).toEqual([]);
  }, 60_000);

  it('moves at least one part per invocation when the timeout is shorter than the reserve', async () => {
    const key = 'continued/short-timeout.bin';
    const md5 = await putMultipartObject(source, src, key, 12 * MiB, 5 * MiB);
    // 3 s left against the default 10 s reserve: one part per invocation, never a standstill.
    const invocations = await runUntilDone(handlerFor(5, 1), s3Event({ bucket: src, key }), 3_000, 3);
    expect(invocations).toBe(3);
    expect((await readBack(target, dst, key)).md5).toBe(md5);
    expect(await openUploads(target, dst)).toEqual([]);
  });

  it.each([
    ['now excludes the key', { EXCLUDE_KEYS: 'continued/redeployed/**' }, { batchItemFailures: [] }],
    ['no longer takes the bucket', { SOURCE_BUCKETS: 'some-other-bucket' }, undefined],
  ])('a continuation reaching a function that %s aborts its upload', async (_name, env, reply) => {
    const key = `continued/redeployed/${Object.keys(env)[0]}.bin`;
    await putMultipartObject(source, src, key, 12 * MiB, 5 * MiB);
    // One part, then the invocation's time is up: the copy is queued to continue.
    expect(await handlerFor(5, 1)(s3Event({ bucket: src, key }), lambdaContext(3_000))).toEqual({ failures: 0 });
    expect(await openUploads(target, dst)).toEqual([key]);
    const { Messages } = await sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
    expect(Messages).toHaveLength(1);
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: Messages![0]!.ReceiptHandle! }));
    // Redeployed with another configuration, the function gets the continuation.
    const redeployed = createHandler({
      env: { TARGET_BUCKET: dst, LC_ACCESS_KEY: rgw.target.accessKeyId, LC_SECRET_KEY: rgw.target.secretAccessKey, LC_ENDPOINT_URL: rgw.endpoint, ...env },
      source,
      sqs,
    });
    const handled = redeployed(sqsEvent([Messages![0]!.Body!]), lambdaContext());
    if (reply) await expect(handled).resolves.toEqual(reply);
    else await expect(handled).rejects.toThrow(); // every message of the batch failed: retried, then dead-lettered
    expect(await openUploads(target, dst)).toEqual([]);
  });
});

describe('TimeBudget', () => {
  const progress = { bytesDone: 0, bytesLeft: 100, partsDone: 0, partsLeft: 4 };
  it('starts one part when the whole invocation had less than the reserve, and no more', () => {
    const budget = new TimeBudget(() => 3_000, 10_000, 4, 3_000);
    expect(budget.shouldPause(progress)).toBe(false);
    expect(budget.shouldPause({ ...progress, partsDone: 1 })).toBe(true);
  });

  it('waits for the next invocation when earlier work in this one used the time up', () => {
    const budget = new TimeBudget(() => 3_000, 10_000, 4, 60_000);
    expect(budget.shouldPause(progress)).toBe(true);
  });
});
