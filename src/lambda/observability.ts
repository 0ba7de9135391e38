import { Logger } from '@aws-lambda-powertools/logger';
import { MetricUnit, Metrics } from '@aws-lambda-powertools/metrics';
import type { TaskOutcome } from './replicate-task.js';

export const SERVICE_NAME = 'lyve-replicator';
export const METRICS_NAMESPACE = 'LyveReplicator';

/** The metric names the dashboard and alarms (CDK) read. */
export const METRIC = {
  replicated: 'ObjectsReplicated',
  skipped: 'ObjectsSkipped',
  deleted: 'ObjectsDeleted',
  failed: 'ObjectsFailed',
  continued: 'ObjectsContinued',
  bytes: 'BytesReplicated',
  duration: 'ReplicationDuration',
  lag: 'ReplicationLag',
} as const;

/** Powertools' own variables win, so two deployments in one account keep their metrics apart. */
export function createLogger(): Logger {
  return new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME });
}

/** The lines one object's task logs, each with that object's keys. */
export interface TaskLogger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
}

/**
 * The invocation's logger with `keys` on every line. Not a Powertools child logger: a child
 * takes the invocation's context afresh and reports every object as a cold start.
 */
export function taskLogger(logger: Logger, keys: Record<string, unknown>): TaskLogger {
  const at = (level: 'info' | 'warn' | 'error') => (message: string, fields: Record<string, unknown> = {}) => logger[level](message, { ...keys, ...fields });
  return { info: at('info'), warn: at('warn'), error: at('error') };
}

export function createMetrics(): Metrics {
  return new Metrics({
    namespace: process.env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE,
    serviceName: process.env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME,
  });
}

/**
 * One summary line and the metrics for one object. Lag is event time → replica complete, the
 * figure users watch to know how far behind the copy is.
 */
export function reportOutcome(outcome: TaskOutcome, logger: TaskLogger, metrics: Metrics): void {
  const { result, task } = outcome;
  const fields: Record<string, unknown> = {
    status: outcome.continued ? 'continued' : result.status,
    action: task.action,
    eventName: task.eventName,
    targetKey: outcome.targetKey,
    durationMs: result.status === 'ignored' ? 0 : result.durationMs,
  };
  switch (result.status) {
    case 'replicated':
      Object.assign(fields, {
        bytes: result.bytes,
        method: result.method,
        parts: result.parts,
        sourceEtag: result.sourceEtag,
        ...(result.sourceVersionId && { sourceVersionId: result.sourceVersionId }),
        tags: result.tags,
        restarts: result.restarts,
        resumedParts: result.resumedParts,
      });
      metrics.addMetric(METRIC.replicated, MetricUnit.Count, 1);
      metrics.addMetric(METRIC.bytes, MetricUnit.Bytes, result.bytes);
      break;
    case 'skipped':
    case 'ignored':
      fields.reason = result.reason;
      // The other reading of an ambiguous key names no object: there is nothing to count.
      if (result.reason !== 'no-such-key') metrics.addMetric(METRIC.skipped, MetricUnit.Count, 1);
      break;
    case 'deleted':
      metrics.addMetric(METRIC.deleted, MetricUnit.Count, 1);
      break;
    case 'paused':
      Object.assign(fields, { bytesDone: result.bytesDone, bytesLeft: result.bytesLeft, invocations: outcome.invocations });
      if (outcome.continued) metrics.addMetric(METRIC.continued, MetricUnit.Count, 1);
      else metrics.addMetric(METRIC.failed, MetricUnit.Count, 1);
      break;
    case 'failed':
      Object.assign(fields, { reason: result.reason, error: result.message, retryable: result.retryable, ...(result.uploadLeftOpen && { uploadLeftOpen: result.uploadLeftOpen }) });
      metrics.addMetric(METRIC.failed, MetricUnit.Count, 1);
      break;
  }
  if (result.status !== 'ignored') metrics.addMetric(METRIC.duration, MetricUnit.Milliseconds, result.durationMs);
  if ((result.status === 'replicated' || result.status === 'deleted' || result.status === 'skipped') && task.eventTime) {
    const lag = Date.now() - task.eventTime.getTime();
    fields.lagMs = lag;
    metrics.addMetric(METRIC.lag, MetricUnit.Milliseconds, Math.max(0, lag));
  }
  if (result.status === 'failed' || (result.status === 'paused' && !outcome.continued)) logger.error('object failed', fields);
  else logger.info(`object ${fields.status}`, fields);
}
