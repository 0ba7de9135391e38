import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { BatchProcessor, EventType, processPartialResponse } from '@aws-lambda-powertools/batch';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import { ConfigurationError, createSourceClient } from '../clients/s3-clients.js';
import { TransferBudget } from '../engine/transfer-budget.js';
import { errorMessage } from '../engine/errors.js';
import { loadLambdaConfig, targetKeyFor, type LambdaConfig } from './config.js';
import { parseContinuation, sendContinuation, type Continuation } from './continuation.js';
import {
  batchOperationsResponse,
  describeEvent,
  parseBatchOperationsEvent,
  parseEventBridgeEvent,
  parseMessageBody,
  parseS3NotificationRecords,
  unwrapSns,
  type BatchOperationsResponse,
  type BatchOperationsTaskResult,
  type RecordOutcome,
  type ReplicationTask,
} from './events/index.js';
import { MalformedEventError } from './events/types.js';
import { createLogger, createMetrics, reportOutcome, taskLogger } from './observability.js';
import { replicateTask, succeeded, type TaskOutcome, type TaskRuntime } from './replicate-task.js';
import { TargetConnection } from './target-connection.js';
import { SecretUnavailableError, TargetSecret } from './target-secret.js';

export interface HandlerDependencies {
  /** Environment to read the configuration from (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Source S3 client (default: the standard AWS chain, honouring AWS_ENDPOINT_URL_S3). */
  source?: S3Client;
  /** Secrets Manager client for the target secret. */
  secretsManager?: SecretsManagerClient;
  /** SQS client for continuation messages. */
  sqs?: SQSClient;
  logger?: Logger;
  metrics?: Metrics;
  /** Milliseconds kept free at the end of each invocation (default 10,000). */
  reserveMs?: number;
  /** Called with every object's outcome after it is logged (the local playground's live view). */
  onOutcome?: (outcome: TaskOutcome) => void;
}

export type LambdaHandler = (event: unknown, context: Context) => Promise<unknown>;

/** The invocation failed for some records; the message lists them (event sources retry it). */
export class ReplicationFailedError extends Error {
  override name = 'ReplicationFailedError';
}

/**
 * Builds the Lambda handler. Configuration is read and validated here, once per container
 * (cold start); a bad configuration throws one error listing every problem. Clients, the
 * secret and the transfer budget live as long as the container.
 */
export function createHandler(deps: HandlerDependencies = {}): LambdaHandler {
  const config: LambdaConfig = loadLambdaConfig(deps.env ?? process.env);
  const logger = deps.logger ?? createLogger();
  const metrics = deps.metrics ?? createMetrics();
  const source = deps.source ?? createSourceClient({ concurrency: config.concurrency, allowInsecureHttp: config.allowInsecureHttp });
  const secret =
    config.credentialsSource.kind === 'secret'
      ? new TargetSecret({
          secretId: config.credentialsSource.secretId,
          allowInsecureHttp: config.allowInsecureHttp,
          ...(deps.secretsManager && { client: deps.secretsManager }),
        })
      : undefined;
  const target = new TargetConnection(config, secret);
  const budget = new TransferBudget({ maxRequests: config.concurrency, maxBytes: config.partSize * config.concurrency });
  const queueUrl = config.continuationQueueUrl;
  const sqs = queueUrl ? (deps.sqs ?? new SQSClient({})) : undefined;
  const reserveMs = deps.reserveMs ?? 10_000;

  return async (event: unknown, context: Context) => {
    logger.addContext(context);
    const invocationMs = context.getRemainingTimeInMillis();
    if (invocationMs < 2 * reserveMs) {
      logger.warn(
        `the function timeout leaves under ${(2 * reserveMs) / 1000} s per invocation, ${reserveMs / 1000} s of which are kept in reserve: large objects advance a few parts per invocation (one, below the reserve); raise the timeout (the CDK app uses 60 s or more)`,
      );
    }
    const runtime = (task: ReplicationTask): TaskRuntime => ({
      config,
      source,
      target,
      budget,
      remainingMs: () => context.getRemainingTimeInMillis(),
      reserveMs,
      invocationMs,
      logger: taskLogger(logger, { bucket: task.bucket, objectKey: task.key }),
      ...(sqs && queueUrl && { continueLater: (c: Continuation) => sendContinuation(sqs, queueUrl, c) }),
    });

    /** Runs one task and reports it; configuration and unexpected errors become failed outcomes. */
    const run = async (task: ReplicationTask, resume?: Continuation): Promise<TaskOutcome> => {
      const r = runtime(task);
      const targetKey = targetKeyFor(config, task.bucket, task.key);
      let outcome: TaskOutcome;
      try {
        outcome = await replicateTask(task, r, resume && { checkpoint: resume.checkpoint, invocations: resume.invocations });
      } catch (error) {
        // A configuration problem stays until someone fixes it; anything else (the secret
        // unreadable for a moment, an unexpected error) is worth another attempt.
        const permanent = error instanceof ConfigurationError || error instanceof MalformedEventError;
        outcome = {
          task,
          targetKey,
          continued: false,
          invocations: 1,
          result: {
            status: 'failed',
            reason: permanent ? 'invalid-request' : error instanceof SecretUnavailableError ? 'unavailable' : 'internal',
            message: errorMessage(error),
            retryable: !permanent,
            source: { bucket: task.bucket, key: task.key },
            target: { bucket: config.targetBucket, key: targetKey },
            durationMs: 0,
          },
        };
      }
      reportOutcome(outcome, r.logger, metrics);
      deps.onOutcome?.(outcome);
      return outcome;
    };

    /** Runs the tasks of several records in parallel; returns the failures, one line each. */
    const runRecords = async (records: RecordOutcome[], where: string): Promise<string[]> => {
      const failures: string[] = [];
      await Promise.all(
        records.map(async (record) => {
          if (record.error) {
            logger.error('malformed event record', { where, record: record.index, error: record.error.message });
            failures.push(`${where} record ${record.index}: ${record.error.message}`);
          } else if (record.ignored) {
            logger.info('event ignored', {
              where,
              record: record.index,
              reason: record.ignored,
              ...(record.bucket !== undefined && { bucket: record.bucket }),
              ...(record.key !== undefined && { objectKey: record.key }),
            });
          } else if (record.task) {
            const outcome = await run(record.task);
            if (!succeeded(outcome)) failures.push(`${record.task.key}: ${describeFailure(outcome)}`);
          }
        }),
      );
      return failures;
    };

    /** One SQS message: an S3 event (maybe in SNS or EventBridge form) or a continuation. */
    const handleMessage = async (body: string, where: string): Promise<void> => {
      const parsed = parseMessageBody(body);
      let failures: string[] = [];
      switch (parsed.kind) {
        case 'test-event':
          logger.info('s3:TestEvent acknowledged', { where });
          return;
        case 'malformed':
          logger.error('malformed event', { where, error: parsed.error.message });
          throw parsed.error;
        case 'continuation': {
          let continuation: ReturnType<typeof parseContinuation>;
          try {
            continuation = parseContinuation(parsed.value);
          } catch (error) {
            logger.error('malformed event', { where, error: errorMessage(error) });
            throw error;
          }
          const outcome = await run(continuation.task, continuation);
          if (!succeeded(outcome)) failures = [`${continuation.task.key}: ${describeFailure(outcome)}`];
          break;
        }
        case 'tasks':
          failures = await runRecords(parsed.records, where);
          break;
      }
      if (failures.length > 0) throw new ReplicationFailedError(failures.join('; '));
    };

    try {
      const kind = describeEvent(event);
      switch (kind) {
        case 'sqs': {
          const processor = new BatchProcessor(EventType.SQS);
          return await processPartialResponse(
            event as SQSEvent,
            (record: SQSRecord) => handleMessage(record.body, `message ${record.messageId}`),
            processor,
            { context },
          ) satisfies SQSBatchResponse;
        }
        case 's3':
          return await throwOnFailures(await runRecords(parseS3NotificationRecords(event, 's3'), 'S3 event'));
        case 's3-test-event':
          logger.info('s3:TestEvent acknowledged');
          return { acknowledged: 's3:TestEvent' };
        case 'sns': {
          const records = (event as { Records: unknown[] }).Records;
          const failures: string[] = [];
          for (const [index, record] of records.entries()) {
            const message = unwrapSns(record);
            if (message === undefined) {
              logger.error('malformed event record', { where: `SNS record ${index}`, error: 'not an SNS notification' });
              failures.push(`SNS record ${index}: not an SNS notification`);
            } else await handleMessage(message, `SNS record ${index}`).catch((e: unknown) => failures.push(errorMessage(e)));
          }
          return await throwOnFailures(failures);
        }
        case 'eventbridge':
          return await throwOnFailures(await runRecords(parseEventBridgeEvent(event), 'EventBridge event'));
        case 'continuation': {
          await handleMessage(JSON.stringify(event), 'continuation');
          return { continued: true };
        }
        case 'batch-operations':
          return await handleBatchOperations(event, run, logger);
        default: {
          const error = new MalformedEventError(
            'unrecognised event: expected SQS, S3, SNS, EventBridge (aws.s3) or S3 Batch Operations; check what invokes this function',
          );
          logger.error('malformed event', { error: error.message });
          throw error;
        }
      }
    } finally {
      metrics.publishStoredMetrics();
    }
  };
}

function describeFailure(outcome: TaskOutcome): string {
  const r = outcome.result;
  if (r.status === 'failed') return `${r.reason}: ${r.message}`;
  return r.status;
}

async function throwOnFailures(failures: string[]): Promise<{ failures: 0 }> {
  if (failures.length > 0) throw new ReplicationFailedError(`${failures.length} object(s) failed: ${failures.join('; ')}`);
  return { failures: 0 };
}

/** S3 Batch Operations: one result per task, retryable failures as TemporaryFailure. */
async function handleBatchOperations(
  event: unknown,
  run: (task: ReplicationTask) => Promise<TaskOutcome>,
  logger: Logger,
): Promise<BatchOperationsResponse> {
  let parsed: ReturnType<typeof parseBatchOperationsEvent>;
  try {
    parsed = parseBatchOperationsEvent(event);
  } catch (error) {
    logger.error('malformed event', { where: 'S3 Batch Operations', error: errorMessage(error) });
    throw error;
  }
  const results: BatchOperationsTaskResult[] = await Promise.all(
    parsed.tasks.map(async ({ taskId, task, error }): Promise<BatchOperationsTaskResult> => {
      if (!task) return { taskId, resultCode: 'PermanentFailure', resultString: error?.message ?? 'malformed task' };
      const outcome = await run(task);
      const r = outcome.result;
      if (succeeded(outcome)) {
        const detail =
          r.status === 'replicated'
            ? `replicated ${r.bytes} bytes`
            : r.status === 'skipped' || r.status === 'ignored'
              ? `skipped: ${r.reason}`
              : outcome.continued
                ? 'continuing in a later invocation'
                : r.status;
        return { taskId, resultCode: 'Succeeded', resultString: detail };
      }
      const retryable = r.status === 'failed' ? r.retryable : true;
      return { taskId, resultCode: retryable ? 'TemporaryFailure' : 'PermanentFailure', resultString: describeFailure(outcome) };
    }),
  );
  return batchOperationsResponse(parsed, results, 'PermanentFailure');
}
