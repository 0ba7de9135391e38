/**
 * The whole pipeline on loopback: a source S3 server whose bucket notifications feed an SQS
 * queue, a pump that invokes the real Lambda handler with each batch, and a target S3 server
 * standing in for Lyve Cloud.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import { createSourceClient, createTargetClient } from '../clients/s3-clients.js';
import { errorMessage } from '../engine/errors.js';
import { createPlaygroundHandler } from './lambda.js';
import type { LiveView, Status } from './live-view.js';
import { BucketNotifications } from './notifications.js';
import { Pump } from './pump.js';
import { createQueues, queueDepth, sendMessage, VISIBILITY_TIMEOUT_S, type Queues } from './queues.js';
import { CREDENTIALS, startServer, type Server } from './servers.js';
import { Tally } from './tally.js';

export const BUCKETS = { source: 'source', target: 'target' } as const;

/** Each invocation's time budget: Lambda's maximum, so the playground's copies never pause. */
const INVOCATION_TIMEOUT_MS = 15 * 60_000;

export interface PlaygroundOptions {
  sourcePort: number;
  targetPort: number;
  view: LiveView;
}

export interface Playground {
  source: Server;
  target: Server;
  /** Clients signed with the playground's keys. */
  sourceClient: S3Client;
  targetClient: S3Client;
  queues: Queues;
  notifier: BucketNotifications;
  tally: Tally;
  status(): Promise<Status>;
  /** True when no notification, queued message or invocation is pending. */
  idle(): Promise<boolean>;
  /** Stops polling, waits for the work in flight, closes both servers. Safe to call more than once. */
  stop(): Promise<void>;
}

export async function startPlayground({ sourcePort, targetPort, view }: PlaygroundOptions): Promise<Playground> {
  const warn = (what: string) => (error: unknown) => view.line(view.paint('yellow', `warning: ${what}: ${errorMessage(error)}`));
  // The queue is created once the server listens; notifications are sent only after that.
  let queues: Queues | undefined;
  const notifier = new BucketNotifications({
    bucket: BUCKETS.source,
    send: async (body) => {
      if (queues) await sendMessage(queues.sqs, queues.events, body);
    },
    onError: warn('sending an S3 event notification'),
  });
  const source = await startServer('source', sourcePort, [BUCKETS.source], (app) => notifier.attach(app));
  const target = await startServer('target', targetPort, [BUCKETS.target]).catch(async (error: unknown) => {
    await source.stop();
    throw error;
  });

  queues = await createQueues(source.endpoint).catch(async (error: unknown) => {
    await Promise.all([source.stop(), target.stop()]);
    throw error;
  });
  const tally = new Tally();
  const handler = createPlaygroundHandler({
    sourceEndpoint: source.endpoint,
    targetEndpoint: target.endpoint,
    sourceBucket: BUCKETS.source,
    targetBucket: BUCKETS.target,
    continuationQueueUrl: queues.continuations,
    sqs: queues.sqs,
    onOutcome: (outcome) => {
      tally.record(outcome);
      view.outcome(outcome);
    },
  });
  const pumps = [queues.events, queues.continuations].map(
    (queueUrl) =>
      new Pump({
        sqs: queues.sqs,
        queueUrl,
        handler,
        visibilityTimeoutS: VISIBILITY_TIMEOUT_S,
        invocationTimeoutMs: INVOCATION_TIMEOUT_MS,
        onError: warn('polling the queue'),
      }),
  );
  for (const pump of pumps) pump.start();

  const sourceClient = createSourceClient({ endpoint: source.endpoint, credentials: CREDENTIALS.source });
  const targetClient = createTargetClient({ endpoint: target.endpoint, credentials: CREDENTIALS.target });

  let stopped: Promise<void> | undefined;
  const stop = async (): Promise<void> => {
    await Promise.all(pumps.map((pump) => pump.stop()));
    await notifier.idle();
    for (const client of [sourceClient, targetClient, queues.sqs]) client.destroy();
    await Promise.all([source.stop(), target.stop()]);
  };

  return {
    source,
    target,
    sourceClient,
    targetClient,
    queues,
    notifier,
    tally,
    async status() {
      const [queue, deadLetters] = await Promise.all([
        queueDepth(queues.sqs, queues.events),
        queueDepth(queues.sqs, queues.deadLetter),
      ]);
      return { counters: tally.counters, queue, deadLetters: deadLetters.visible + deadLetters.inFlight };
    },
    async idle() {
      if (notifier.pending > 0 || pumps.some((pump) => pump.handling)) return false;
      const depths = await Promise.all([queueDepth(queues.sqs, queues.events), queueDepth(queues.sqs, queues.continuations)]);
      return depths.every((d) => d.visible === 0 && d.inFlight === 0);
    },
    stop: () => (stopped ??= stop()),
  };
}
