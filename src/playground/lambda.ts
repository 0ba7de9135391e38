/**
 * The real Lambda handler, configured as a deployment would be, but with the local stand-ins
 * for the Lyve Cloud secret and quiet observability (warnings only, no EMF metric lines).
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import type { SQSClient } from '@aws-sdk/client-sqs';
import { createSourceClient } from '../clients/s3-clients.js';
import { createHandler, type LambdaHandler } from '../lambda/handler.js';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../lambda/observability.js';
import type { TaskOutcome } from '../lambda/replicate-task.js';
import { CREDENTIALS } from './servers.js';

export const PART_SIZE_MIB = 8; // fauxqs rejects request bodies over 11 MiB
export const CONCURRENCY = 4;

export interface PlaygroundLambdaOptions {
  sourceEndpoint: string;
  targetEndpoint: string;
  targetBucket: string;
  sourceBucket: string;
  continuationQueueUrl: string;
  sqs: SQSClient;
  onOutcome: (outcome: TaskOutcome) => void;
}

export function createPlaygroundHandler(options: PlaygroundLambdaOptions): LambdaHandler {
  return createHandler({
    env: {
      TARGET_BUCKET: options.targetBucket,
      LC_ACCESS_KEY: CREDENTIALS.target.accessKeyId,
      LC_SECRET_KEY: CREDENTIALS.target.secretAccessKey,
      LC_ENDPOINT_URL: options.targetEndpoint,
      SOURCE_BUCKETS: options.sourceBucket,
      PART_SIZE_MIB: String(PART_SIZE_MIB),
      CONCURRENCY: String(CONCURRENCY),
      REPLICATE_DELETES: 'true',
      // Never REPLICATE_TAGS: fauxqs's PutObjectTagging replaces the object's body.
      CONTINUATION_QUEUE_URL: options.continuationQueueUrl,
    },
    source: createSourceClient({ endpoint: options.sourceEndpoint, credentials: CREDENTIALS.source, concurrency: CONCURRENCY }),
    sqs: options.sqs,
    logger: new Logger({ logLevel: 'WARN', serviceName: SERVICE_NAME }),
    metrics: disabledMetrics(),
    onOutcome: options.onOutcome,
  });
}

/** Metrics reads POWERTOOLS_METRICS_DISABLED when it is constructed. */
function disabledMetrics(): Metrics {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'true';
  try {
    return new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });
  } finally {
    if (saved === undefined) delete process.env.POWERTOOLS_METRICS_DISABLED;
    else process.env.POWERTOOLS_METRICS_DISABLED = saved;
  }
}
