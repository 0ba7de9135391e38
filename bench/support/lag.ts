/**
 * Replication lag through the local pipeline: objects are written to the source at a steady rate
 * and each lag is measured from the PUT's completion (the writer's response) to the handler
 * reporting the replica complete (createHandler's `onOutcome`).
 *
 * Uses the playground (dist/playground: fauxqs source with S3 event notifications → SQS → a pump
 * invoking the real handler → fauxqs target) when it is built; otherwise an equivalent made
 * here: two embedded fauxqs servers, a fauxqs SQS queue the writer sends each object's S3 event
 * to once its PUT completes (as S3 would), and a poller invoking the handler with batches of up
 * to 10 messages.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { Writable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, DeleteMessageBatchCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { createSourceClient } from '../../src/index.js';
import { createHandler } from '../../src/lambda/handler.js';
import type { TaskOutcome } from '../../src/lambda/replicate-task.js';
import { startEmbeddedS3 } from '../../test/support/embedded-s3.js';
import { lambdaContext, s3Event, sqsEvent } from '../../test/support/lambda.js';

export interface LagOptions {
  events: number;
  ratePerSecond: number;
  objectSize: number;
  log?: (line: string) => void;
}

export interface LagReport {
  pipeline: string;
  events: number;
  ratePerSecond: number;
  objectSize: number;
  replicated: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
}

interface Pipeline {
  name: string;
  /** Writes one object to the source; resolves when the PUT has completed. */
  put(key: string, body: Buffer): Promise<void>;
  stop(): Promise<void>;
}

type OutcomeListener = (outcome: TaskOutcome) => void;

/** The playground's pipeline, loaded from dist/ at run time (it is optional and still evolving). */
async function playgroundPipeline(onOutcome: OutcomeListener): Promise<Pipeline | undefined> {
  const dir = new URL('../../dist/playground/', import.meta.url);
  const files = ['playground.js', 'live-view.js'].map((f) => new URL(f, dir));
  if (!files.every((f) => existsSync(f))) return undefined;
  const [pgModule, viewModule] = (await Promise.all(files.map((f) => import(pathToFileURL(f.pathname).href)))) as [
    Record<string, unknown>,
    Record<string, unknown>,
  ];
  const startPlayground = pgModule.startPlayground as ((o: object) => Promise<Record<string, unknown>>) | undefined;
  const LiveView = viewModule.LiveView as (new (out: Writable, tty: boolean) => Record<string, unknown>) | undefined;
  const buckets = pgModule.BUCKETS as { source?: string } | undefined;
  if (typeof startPlayground !== 'function' || typeof LiveView !== 'function' || !buckets?.source) return undefined;
  const view = new LiveView(new Writable({ write: (_chunk, _encoding, done) => done() }), false);
  view.outcome = onOutcome; // the playground calls view.outcome(outcome) from the handler's onOutcome
  const pg = await startPlayground({ sourcePort: 0, targetPort: 0, view });
  const client = pg.sourceClient as S3Client;
  const bucket = buckets.source;
  return {
    name: 'playground (dist/playground: fauxqs S3 notifications → SQS → pump → handler → fauxqs)',
    put: async (key, body) => void (await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))),
    stop: () => (pg.stop as () => Promise<void>)(),
  };
}

function quietMetrics(): Metrics {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  try {
    return new Metrics({ namespace: 'LyveReplicatorBench', serviceName: 'lyve-replicator' });
  } finally {
    if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  }
}

/** The minimal equivalent: embedded source/target, an SQS queue, a poller invoking the handler. */
async function benchPipeline(onOutcome: OutcomeListener): Promise<Pipeline> {
  const [sourceBucket, targetBucket] = ['source', 'target'];
  const source = await startEmbeddedS3({ buckets: [sourceBucket] });
  const target = await startEmbeddedS3({ buckets: [targetBucket] });
  const sourceClient = createSourceClient({ endpoint: source.endpoint, credentials: source.credentials, concurrency: 16 });
  const sqs = new SQSClient({ endpoint: source.endpoint, region: 'us-east-1', credentials: source.credentials });
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: 'replication-events' }));
  const handler = createHandler({
    env: {
      TARGET_BUCKET: targetBucket,
      LC_ACCESS_KEY: target.credentials.accessKeyId,
      LC_SECRET_KEY: target.credentials.secretAccessKey,
      LC_ENDPOINT_URL: target.endpoint,
      PART_SIZE_MIB: '8', // fauxqs rejects bodies over 11 MiB
    },
    source: createSourceClient({ endpoint: source.endpoint, credentials: source.credentials }),
    logger: new Logger({ logLevel: 'WARN', serviceName: 'lyve-replicator' }),
    metrics: quietMetrics(),
    onOutcome,
  });
  let stopping = false;
  const poller = (async () => {
    while (!stopping) {
      const { Messages = [] } = await sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      if (Messages.length === 0) continue;
      await handler(sqsEvent(Messages.map((m) => m.Body ?? '')), lambdaContext()).catch(() => {});
      await sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl, Entries: Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }),
      );
    }
  })();
  return {
    name: 'bench minimal pipeline (fauxqs S3 + SQS, handler polled in batches of 10)',
    put: async (key, body) => {
      const { ETag } = await sourceClient.send(new PutObjectCommand({ Bucket: sourceBucket, Key: key, Body: body }));
      // S3 sends the notification once the write has completed.
      const event = s3Event({ bucket: sourceBucket, key, size: body.length, eTag: (ETag ?? '').replace(/"/g, '') });
      await sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(event) }));
    },
    stop: async () => {
      stopping = true;
      await poller.catch(() => {});
      for (const c of [sourceClient, sqs]) c.destroy();
      await Promise.all([source.stop(), target.stop()]);
    },
  };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function measureLag(options: LagOptions): Promise<LagReport> {
  const log = options.log ?? (() => {});
  const written = new Map<string, number>();
  const replicated = new Map<string, number>();
  let notify: (() => void) | undefined;
  const onOutcome: OutcomeListener = (outcome) => {
    if (outcome.result.status === 'replicated' && !replicated.has(outcome.task.key)) {
      replicated.set(outcome.task.key, performance.now());
      if (replicated.size === options.events) notify?.();
    }
  };
  const pipeline = (await playgroundPipeline(onOutcome).catch((error: unknown) => {
    log(`playground unusable (${String(error)}); using the bench pipeline`);
    return undefined;
  })) ?? (await benchPipeline(onOutcome));
  log(`lag: ${options.events} objects of ${options.objectSize} B at ${options.ratePerSecond}/s through the ${pipeline.name}`);
  const done = new Promise<void>((resolve) => (notify = resolve));
  try {
    const started = performance.now();
    const puts: Promise<void>[] = [];
    for (let i = 0; i < options.events; i++) {
      const due = started + (i * 1000) / options.ratePerSecond;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const key = `lag/${String(i).padStart(6, '0')}.bin`;
      puts.push(pipeline.put(key, randomBytes(options.objectSize)).then(() => void written.set(key, performance.now())));
    }
    await Promise.all(puts);
    // Waits at most a minute for the last replicas; the timer must not outlive the wait.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise((r) => (timer = setTimeout(r, 60_000)))]);
    clearTimeout(timer);
  } finally {
    await pipeline.stop();
  }
  const lags = [...written]
    .filter(([key]) => replicated.has(key))
    .map(([key, at]) => Math.max(0, replicated.get(key)! - at))
    .sort((a, b) => a - b);
  const round = (ms: number) => Number(ms.toFixed(1));
  return {
    pipeline: pipeline.name,
    events: options.events,
    ratePerSecond: options.ratePerSecond,
    objectSize: options.objectSize,
    replicated: lags.length,
    p50Ms: round(percentile(lags, 50)),
    p90Ms: round(percentile(lags, 90)),
    p99Ms: round(percentile(lags, 99)),
    maxMs: round(lags[lags.length - 1] ?? NaN),
    meanMs: round(lags.reduce((a, b) => a + b, 0) / lags.length),
  };
}
