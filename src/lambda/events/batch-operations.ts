/**
 * S3 Batch Operations "Invoke AWS Lambda function" requests and responses, invocation schema
 * 1.0 (tasks carry `s3BucketArn`) and 2.0 (tasks carry `s3Bucket`; `job.userArguments`).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-invoke-lambda.html
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_control_LambdaInvokeOperation.html
 *
 * `s3Key` is URL-encoded ("keys from S3 Batch Operations are URL encoded", batch-ops-invoke-lambda)
 * and the documentation makes no difference between the schema versions, so both are
 * form-URL decoded like notification keys (as Powertools for Python does for both versions).
 */
import { Buffer } from 'node:buffer';
import {
  decodeFormEncodedKey,
  describeShape,
  isJsonObject,
  type JsonObject,
  optionalString,
  stringField,
  withoutUndefined,
} from './fields.js';
import { MalformedEventError, type ReplicationTask } from './types.js';

export type BatchResultCode = 'Succeeded' | 'TemporaryFailure' | 'PermanentFailure';

/** A Batch Operations invocation as documented (not modelled for 2.0 by @types/aws-lambda). */
export interface BatchOperationsEvent {
  invocationSchemaVersion: '1.0' | '2.0';
  invocationId: string;
  job: { id: string; userArguments?: Record<string, string> };
  tasks: Array<BatchOperationsTaskV1 | BatchOperationsTaskV2>;
}

export interface BatchOperationsTaskV1 {
  taskId: string;
  s3Key: string;
  s3VersionId: string | null;
  s3BucketArn: string;
}

export interface BatchOperationsTaskV2 {
  taskId: string;
  s3Key: string;
  s3VersionId: string | null;
  s3Bucket: string;
}

export interface ParsedBatchOperationsEvent {
  invocationId: string;
  invocationSchemaVersion: string;
  /** `job.userArguments` (schema 2.0); empty for 1.0. */
  userArguments: Record<string, string>;
  /** One entry per task, in order; a malformed task has an `error` and must be reported as failed. */
  tasks: Array<{ taskId: string; task?: ReplicationTask; error?: MalformedEventError }>;
}

export interface BatchOperationsTaskResult {
  taskId: string;
  resultCode: BatchResultCode;
  resultString: string;
}

/** What the Lambda must return to Batch Operations. */
export interface BatchOperationsResponse {
  invocationSchemaVersion: string;
  treatMissingKeysAs: BatchResultCode;
  invocationId: string;
  results: BatchOperationsTaskResult[];
}

/** Longest resultString sent back, in UTF-8 bytes (Batch Operations truncates long ones in its report). */
export const MAX_RESULT_STRING_BYTES = 1024;

const SCHEMA_VERSIONS = ['1.0', '2.0'];

export function isBatchOperationsEvent(value: unknown): value is JsonObject {
  return (
    isJsonObject(value) &&
    typeof value.invocationSchemaVersion === 'string' &&
    typeof value.invocationId === 'string' &&
    Array.isArray(value.tasks)
  );
}

/**
 * Parses a Batch Operations invocation. Throws MalformedEventError when the invocation as a
 * whole cannot be answered (no invocationId, unknown schema version, a task without taskId);
 * other problems are reported per task.
 */
export function parseBatchOperationsEvent(event: unknown): ParsedBatchOperationsEvent {
  if (!isBatchOperationsEvent(event)) {
    throw new MalformedEventError(
      `expected an S3 Batch Operations invocation (invocationSchemaVersion, invocationId, job, tasks), got ${describeShape(event)}`,
    );
  }
  const invocationSchemaVersion = stringField(event, 'invocationSchemaVersion', 'event');
  if (!SCHEMA_VERSIONS.includes(invocationSchemaVersion)) {
    throw new MalformedEventError(`invocationSchemaVersion ${JSON.stringify(invocationSchemaVersion)} is not supported (expected 1.0 or 2.0)`);
  }
  const tasks = event.tasks as unknown[];
  return {
    invocationId: stringField(event, 'invocationId', 'event'),
    invocationSchemaVersion,
    userArguments: readUserArguments(event.job),
    tasks: tasks.map((raw, index) => {
      const where = `tasks[${index}]`;
      if (!isJsonObject(raw)) throw new MalformedEventError(`${where} must be an object, got ${describeShape(raw)}`);
      const taskId = stringField(raw, 'taskId', where);
      try {
        return { taskId, task: readTask(raw, where, invocationSchemaVersion) };
      } catch (error) {
        if (error instanceof MalformedEventError) return { taskId, error };
        throw error;
      }
    }),
  };
}

/**
 * The response for a parsed invocation. Tasks without a result are treated by Batch
 * Operations as `treatMissingKeysAs`. Result strings are cut to MAX_RESULT_STRING_BYTES.
 * Throws if a result names a task that is not in the invocation.
 */
export function batchOperationsResponse(
  parsed: ParsedBatchOperationsEvent,
  results: BatchOperationsTaskResult[],
  treatMissingKeysAs: BatchResultCode,
): BatchOperationsResponse {
  const taskIds = new Set(parsed.tasks.map((task) => task.taskId));
  for (const result of results) {
    if (!taskIds.has(result.taskId)) throw new Error(`result for unknown Batch Operations task ${JSON.stringify(result.taskId)}`);
  }
  return {
    invocationSchemaVersion: parsed.invocationSchemaVersion,
    treatMissingKeysAs,
    invocationId: parsed.invocationId,
    results: results.map(({ taskId, resultCode, resultString }) => ({
      taskId,
      resultCode,
      resultString: truncateUtf8(resultString, MAX_RESULT_STRING_BYTES),
    })),
  };
}

function readUserArguments(job: unknown): Record<string, string> {
  if (!isJsonObject(job)) throw new MalformedEventError('job must be an object');
  const args = job.userArguments;
  if (args === undefined || args === null) return {};
  if (!isJsonObject(args) || !Object.values(args).every((value) => typeof value === 'string')) {
    throw new MalformedEventError('job.userArguments must map strings to strings');
  }
  return args as Record<string, string>;
}

function readTask(raw: JsonObject, where: string, schemaVersion: string): ReplicationTask {
  const bucket = schemaVersion === '1.0' ? bucketFromArn(stringField(raw, 's3BucketArn', where), where) : stringField(raw, 's3Bucket', where);
  return withoutUndefined<ReplicationTask>({
    action: 'replicate',
    bucket,
    key: decodeFormEncodedKey(stringField(raw, 's3Key', where), `${where}.s3Key`),
    versionId: optionalString(raw, 's3VersionId', where),
    eventName: 'BatchOperations',
    origin: 'batch-operations',
  });
}

/** `arn:aws:s3:::bucket` → `bucket` (bucket names contain no ':'). */
function bucketFromArn(arn: string, where: string): string {
  const bucket = arn.startsWith('arn:') ? arn.slice(arn.lastIndexOf(':') + 1) : '';
  if (bucket === '') throw new MalformedEventError(`${where}.s3BucketArn is not an S3 bucket ARN: ${JSON.stringify(arn)}`);
  return bucket;
}

/** At most `maxBytes` of UTF-8, cut at a character boundary and marked with '…'. */
function truncateUtf8(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const ellipsis = '…';
  const budget = maxBytes - Buffer.byteLength(ellipsis);
  let out = '';
  let bytes = 0;
  for (const char of text) {
    const size = Buffer.byteLength(char);
    if (bytes + size > budget) break;
    out += char;
    bytes += size;
  }
  return out + ellipsis;
}
