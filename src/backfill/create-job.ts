/**
 * Creates the S3 Batch Operations job that invokes the replication Lambda once per object of a
 * manifest (S3 Control CreateJob, operation LambdaInvoke).
 *
 * API facts relied on (S3 Control API reference and model, s3control-2018-08-20):
 * - LambdaInvoke: FunctionArn, InvocationSchemaVersion ("1.0" is the default; "2.0" is required
 *   for UserArguments: at most 10 entries, keys 1–64 characters, values up to 1,024).
 * - Manifest.Spec.Format S3BatchOperations_CSV_20180820 with Fields, or
 *   S3InventoryReport_CSV_20161130 pointing at the inventory's manifest.json; Manifest.Location
 *   needs the object's ARN and its ETag.
 * - Report: bucket ARN, Format Report_CSV_20180820, ReportScope AllTasks | FailedTasksOnly; S3
 *   writes it under `<prefix>/job-<job-id>/`.
 * - ClientRequestToken: 1–64 characters, an idempotency token. Description 1–256 characters.
 *   Priority 0–2,147,483,647. RoleArn `arn:[^:]+:iam::\d{12}:role/.*`.
 */
import { createHash } from 'node:crypto';
import type { CreateJobCommandInput, S3ControlClient } from '@aws-sdk/client-s3-control';
import { controlFailure } from './errors.js';
import {
  bareEtag,
  bucketArn,
  checkAccountId,
  checkBucketName,
  checkObjectKey,
  checkPriority,
  ConfigurationError,
  objectArn,
  parseFunctionArn,
  parseRoleArn,
} from './validate.js';

export type BackfillManifest =
  | { kind: 'csv'; bucket: string; key: string; etag: string }
  | { kind: 'inventory'; manifestJsonBucket: string; manifestJsonKey: string; etag: string };

export interface BackfillJobOptions {
  accountId: string;
  functionArn: string;
  roleArn: string;
  manifest: BackfillManifest;
  /** Where S3 writes the completion report (all tasks, CSV). */
  report: { bucket: string; prefix: string };
  /** Default 10. */
  priority?: number;
  /** Default "lyve-replicator backfill". */
  description?: string;
  /** Wait for `update-job-status --requested-job-status Ready` before running. Default true. */
  confirm?: boolean;
  schemaVersion: '1.0' | '2.0';
  /** Passed to the function as job.userArguments; schema 2.0 only. */
  userArguments?: Record<string, string>;
  /**
   * Default: derived from every other field (see `clientRequestToken`), so re-running the same
   * command with the same manifest returns the job already created instead of a second one.
   */
  clientRequestToken?: string;
}

export interface BackfillJob {
  jobId: string;
  input: CreateJobCommandInput;
}

export const DEFAULT_PRIORITY = 10;
export const CSV_MANIFEST_FORMAT = 'S3BatchOperations_CSV_20180820';
export const INVENTORY_MANIFEST_FORMAT = 'S3InventoryReport_CSV_20161130';

/** The CreateJob request for these options, validated; nothing is sent. */
export function buildCreateJobInput(options: BackfillJobOptions): CreateJobCommandInput {
  const problems: string[] = [];
  const check = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof ConfigurationError) {
        problems.push(error.message);
        return undefined;
      }
      throw error;
    }
  };

  const accountId = check(() => checkAccountId(options.accountId, 'accountId'));
  const fn = check(() => parseFunctionArn(options.functionArn, 'functionArn'));
  const role = check(() => parseRoleArn(options.roleArn, 'roleArn'));
  const priority = check(() => checkPriority(options.priority ?? DEFAULT_PRIORITY, 'priority'));
  const partition = fn?.partition ?? role?.partition ?? 'aws';

  if (options.schemaVersion !== '1.0' && options.schemaVersion !== '2.0') {
    problems.push(`schemaVersion ${JSON.stringify(options.schemaVersion)} must be "1.0" or "2.0"`);
  }
  const userArguments = options.userArguments;
  if (userArguments !== undefined) {
    const entries = Object.entries(userArguments);
    if (options.schemaVersion !== '2.0') problems.push('userArguments need schemaVersion "2.0" (schema 1.0 has no job.userArguments)');
    if (entries.length > 10) problems.push(`userArguments has ${entries.length} entries; at most 10 are allowed`);
    for (const [key, value] of entries) {
      if (key.length < 1 || key.length > 64) problems.push(`userArguments key ${JSON.stringify(key)} must be 1–64 characters`);
      if (typeof value !== 'string' || value.length > 1024) problems.push(`userArguments value for ${JSON.stringify(key)} must be a string of at most 1,024 characters`);
    }
  }

  const description = options.description ?? 'lyve-replicator backfill';
  if (description.length < 1 || description.length > 256) problems.push(`description must be 1–256 characters (it is ${description.length})`);

  const manifest = options.manifest;
  let location: { ObjectArn: string; ETag: string } | undefined;
  const etag = bareEtag(manifest.etag ?? '');
  if (!etag) problems.push('manifest etag is empty: CreateJob needs the ETag of the manifest object');
  if (manifest.kind === 'csv') {
    const bucket = check(() => checkBucketName(manifest.bucket, 'manifest bucket'));
    const key = check(() => checkObjectKey(manifest.key, 'manifest key'));
    if (bucket !== undefined && key !== undefined) location = { ObjectArn: objectArn(partition, bucket, key), ETag: etag };
  } else if (manifest.kind === 'inventory') {
    const bucket = check(() => checkBucketName(manifest.manifestJsonBucket, 'inventory manifest bucket'));
    const key = check(() => checkObjectKey(manifest.manifestJsonKey, 'inventory manifest key'));
    if (key !== undefined && !/(^|\/)manifest\.json$/.test(key)) {
      problems.push(`inventory manifest key ${JSON.stringify(key)} must be the inventory's manifest.json (…/config-ID/YYYY-MM-DDTHH-MMZ/manifest.json)`);
    } else if (bucket !== undefined && key !== undefined) {
      location = { ObjectArn: objectArn(partition, bucket, key), ETag: etag };
    }
  } else {
    problems.push(`manifest kind ${JSON.stringify((manifest as { kind: unknown }).kind)} must be "csv" or "inventory"`);
  }

  const reportBucket = check(() => checkBucketName(options.report.bucket, 'report bucket'));
  const reportPrefix = normalizeReportPrefix(options.report.prefix);

  if (options.clientRequestToken !== undefined && !/^[\x20-\x7e]{1,64}$/.test(options.clientRequestToken)) {
    problems.push('clientRequestToken must be 1–64 printable ASCII characters');
  }

  if (problems.length > 0 || !accountId || !fn || !role || priority === undefined || !location || !reportBucket) {
    throw new ConfigurationError(
      problems.length === 1 ? problems[0]! : `the backfill job is not valid:\n  - ${problems.join('\n  - ')}`,
    );
  }

  const input: CreateJobCommandInput = {
    AccountId: accountId,
    ConfirmationRequired: options.confirm ?? true,
    Operation: {
      LambdaInvoke: {
        FunctionArn: fn.arn,
        InvocationSchemaVersion: options.schemaVersion,
        ...(userArguments !== undefined && { UserArguments: { ...userArguments } }),
      },
    },
    Manifest: {
      Spec:
        manifest.kind === 'csv'
          ? { Format: CSV_MANIFEST_FORMAT, Fields: ['Bucket', 'Key'] }
          : { Format: INVENTORY_MANIFEST_FORMAT },
      Location: location,
    },
    Report: {
      Bucket: bucketArn(partition, reportBucket),
      Format: 'Report_CSV_20180820',
      Enabled: true,
      ...(reportPrefix && { Prefix: reportPrefix }),
      ReportScope: 'AllTasks',
    },
    Priority: priority,
    RoleArn: role.arn,
    Description: description,
  };
  input.ClientRequestToken = options.clientRequestToken ?? clientRequestToken(input);
  return input;
}

/**
 * The deterministic idempotency token for a CreateJob request: the SHA-256 (hex, 64 characters,
 * the field's maximum) of the request's canonical JSON without the token. The same account,
 * function, role, manifest object and ETag, report, priority and description give the same
 * token, so a repeated or retried command does not start a second job over billions of
 * objects; any change (a regenerated manifest with new contents has a new ETag) gives a new one.
 */
export function clientRequestToken(input: CreateJobCommandInput): string {
  const { ClientRequestToken: _ignored, ...rest } = input;
  void _ignored;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

/** Creates the job and returns its ID (and the request sent). */
export async function createBackfillJob(options: BackfillJobOptions & { control: S3ControlClient }): Promise<BackfillJob> {
  const input = buildCreateJobInput(options);
  let jobId: string | undefined;
  try {
    // Loaded here, not with this module: the S3 Control client is ~2.5 MiB resident, which every
    // CLI run (sync included) would otherwise pay.
    const { CreateJobCommand } = await import('@aws-sdk/client-s3-control');
    jobId = (await options.control.send(new CreateJobCommand(input))).JobId;
  } catch (error) {
    throw createJobError(error, input);
  }
  if (!jobId) throw new Error('CreateJob succeeded but returned no JobId');
  return { jobId, input };
}

/** `p/q/` and `/p/q` → `p/q`: S3 adds `/job-<id>/` itself. */
export function normalizeReportPrefix(prefix: string): string {
  return prefix.replace(/^\/+|\/+$/g, '');
}

function createJobError(error: unknown, input: CreateJobCommandInput): Error {
  const name = error instanceof Error ? error.name : 'Error';
  const message = error instanceof Error ? error.message : String(error);
  let hint = '';
  if (name === 'AccessDenied' || name === 'AccessDeniedException' || /not authorized|access denied/i.test(message)) {
    hint = ` (the caller needs s3:CreateJob and iam:PassRole on ${input.RoleArn}; run with --print-policies to see both policies)`;
  } else if (name === 'IdempotencyException') {
    hint = ' (a job was already created with this client request token but different parameters; pass another token)';
  }
  return controlFailure(`CreateJob in account ${input.AccountId} failed: ${name}: ${message}${hint}`, error);
}

/** JSON with object keys sorted at every level, so equal values always serialize the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}
