/**
 * `lyve-replicator backfill s3://bucket[/prefix] --batch-operations …`: copies the objects that
 * already exist by creating an S3 Batch Operations job that invokes the deployed replication
 * Lambda once per object — for buckets too large to copy from one machine (`sync` does that).
 *
 * The manifest is either generated here (ListObjectsV2 → CSV, streamed to S3) or an existing
 * S3 Inventory report (its manifest.json). The logic lives in src/backfill/; this file turns
 * flags into calls and prints the result.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import type { Command } from 'commander';
import {
  backfillPolicies,
  buildCreateJobInput,
  checkAccountId,
  checkBucketName,
  countManifestObjects,
  createBackfillJob,
  DEFAULT_PRIORITY,
  inventoryRoot,
  normalizeReportPrefix,
  parseFunctionArn,
  parseRoleArn,
  writeCsvManifest,
  type BackfillJobOptions,
  type BackfillManifest,
} from '../../backfill/index.js';
import { s3Failure } from '../../backfill/errors.js';
import { ConfigurationError } from '../../clients/s3-clients.js';
import { createKeyFilter } from '../../filters/key-filter.js';
import { regionName } from './common.js';
import { profileCredentials, sourceClient } from '../connections.js';
import { UsageError } from '../errors.js';
import { parseS3Location, type S3Location } from '../s3-location.js';

interface BackfillCommandOptions {
  batchOperations?: boolean;
  functionArn?: string;
  roleArn?: string;
  manifest?: string;
  inventoryManifest?: string;
  report?: string;
  include?: string[];
  exclude?: string[];
  accountId?: string;
  region?: string;
  priority?: string;
  description?: string;
  schemaVersion: string;
  confirmationRequired: boolean;
  clientRequestToken?: string;
  printPolicies?: boolean;
  dryRun?: boolean;
  json?: boolean;
  sourceEndpoint?: string;
  sourceProfile?: string;
  sourceRegion?: string;
  profile?: string;
}

/** What the flags resolve to once checked. */
interface BackfillPlan {
  source: S3Location;
  filter: ((key: string) => boolean) | undefined;
  functionArn: string;
  roleArn: string;
  accountId: string;
  region: string;
  partition: string;
  manifest: { kind: 'csv'; location: S3Location } | { kind: 'inventory'; location: S3Location };
  report: S3Location;
  priority: number;
  description: string;
  confirm: boolean;
  schemaVersion: '1.0' | '2.0';
  warnings: string[];
}

const HELP = `
Creates an S3 Batch Operations job that invokes the replication Lambda (--function-arn) once per
object, so every existing object is copied by the same code as new ones — for buckets too large
to copy from one machine with "lyve-replicator sync".

The manifest is either generated here by listing the source (--manifest s3://BUCKET/KEY.csv; for
very large buckets this listing is the slow part) or an existing S3 Inventory report in CSV format
(--inventory-manifest s3://BUCKET/…/manifest.json). The job runs in the function's region (or
--region) under the account of --role-arn (or --account-id). By default it waits for your
confirmation; the commands to start and watch it are printed.

Run with --print-policies first: it prints the job role's trust and permissions policies and the
policy whoever runs this command needs.

Example:
  lyve-replicator backfill s3://photos/2024/ --batch-operations \\
    --function-arn arn:aws:lambda:us-east-1:123456789012:function:lyve-replicator \\
    --role-arn arn:aws:iam::123456789012:role/lyve-replicator-backfill \\
    --manifest s3://ops-bucket/backfill/photos-2024.csv --report s3://ops-bucket/backfill/reports

Running the same command again over an unchanged listing sends the same ClientRequestToken (it is
derived from the request, manifest ETag included), so S3 does not start a second identical job;
pass --client-request-token to deliberately create another one.
`;

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

export function registerBackfill(program: Command): void {
  program
    .command('backfill')
    .description('copy existing objects with an S3 Batch Operations job that runs the deployed Lambda')
    .argument('<source>', 's3://BUCKET[/PREFIX] on the source (AWS)')
    .option('--batch-operations', 'run the backfill as an S3 Batch Operations job (required: the only backfill mode)')
    .option('--function-arn <arn>', 'ARN of the deployed replication Lambda (optionally :ALIAS)')
    .option('--role-arn <arn>', 'IAM role S3 Batch Operations assumes to run the job')
    .option('--manifest <s3-url>', 'where to write the generated CSV manifest, s3://BUCKET/KEY')
    .option('--inventory-manifest <s3-url>', 'use an S3 Inventory (CSV) instead: s3://BUCKET/…/manifest.json')
    .option('--report <s3-url>', 'where S3 writes the completion report, s3://BUCKET[/PREFIX]')
    .option('--include <glob>', 'only keys matching this glob, relative to the source prefix (repeatable; ** spans /)', collect)
    .option('--exclude <glob>', 'skip keys matching this glob (repeatable)', collect)
    .option('--account-id <id>', 'account that owns the job (default: the account of --role-arn)')
    .option('--region <region>', 'region of the job (default: the region of --function-arn)', regionName('--region'))
    .option('--priority <n>', `job priority, 0-2147483647, higher first (default ${DEFAULT_PRIORITY})`)
    .option('--description <text>', 'job description (default: "lyve-replicator backfill s3://…")')
    .option('--schema-version <version>', 'Lambda invocation schema, 1.0 or 2.0 (the handler reads both)', '2.0')
    .option('--no-confirmation-required', 'start the job as soon as it is ready instead of waiting for confirmation')
    .option('--client-request-token <token>', 'idempotency token for CreateJob (default: derived from the request)')
    .option('--print-policies', 'print the IAM policies for the job role and for whoever runs this, then exit')
    .option('--dry-run', 'list and show the CreateJob request; write no manifest and create no job')
    .option('--json', 'print a machine-readable result on stdout')
    .option('--source-endpoint <url>', 'S3-compatible source endpoint (default: AWS, or AWS_ENDPOINT_URL_S3)')
    .option('--source-profile <name>', 'AWS profile for reading the source and writing the manifest')
    .option('--source-region <region>', 'region of the source bucket (default: the job region)', regionName('--source-region'))
    .option('--profile <name>', 'AWS profile for S3 Control (CreateJob) and, unless --source-profile, for S3')
    .addHelpText('after', HELP)
    .action(async (sourceArg: string, options: BackfillCommandOptions, command: Command) => {
      await runBackfill(sourceArg, options, output(command));
    });
}

interface Output {
  out(text: string): void;
  err(text: string): void;
}

/** stdout/stderr as configured on the root program (tests capture them with configureOutput). */
function output(command: Command): Output {
  let root = command;
  while (root.parent) root = root.parent;
  const config = root.configureOutput();
  return {
    out: (text) => (config.writeOut ? config.writeOut(text) : process.stdout.write(text)),
    err: (text) => (config.writeErr ? config.writeErr(text) : process.stderr.write(text)),
  };
}

async function runBackfill(sourceArg: string, options: BackfillCommandOptions, io: Output): Promise<void> {
  if (!options.batchOperations) {
    throw new UsageError(
      'backfill needs --batch-operations, its only mode for now: an S3 Batch Operations job invokes the deployed Lambda once per ' +
        `object. To copy the existing objects from this machine instead, run: lyve-replicator sync ${sourceArg} s3://TARGET-BUCKET[/PREFIX]`,
    );
  }
  const plan = resolvePlan(sourceArg, options);
  for (const warning of plan.warnings) io.err(`warning: ${warning}\n`);

  if (options.printPolicies) {
    printPolicies(plan, options, io);
    return;
  }

  const profile = options.profile;
  const s3 = sourceClient({
    concurrency: 4,
    ...(options.sourceEndpoint && { sourceEndpoint: options.sourceEndpoint }),
    sourceRegion: options.sourceRegion ?? plan.region,
    ...((options.sourceProfile ?? profile) && { sourceProfile: options.sourceProfile ?? profile }),
  });
  // Loaded when a job is created, not by every CLI run (see createBackfillJob).
  const { S3ControlClient } = await import('@aws-sdk/client-s3-control');
  const control = new S3ControlClient({
    region: plan.region,
    retryMode: 'adaptive',
    maxAttempts: 5,
    ...(profile && { credentials: profileCredentials(profile) }),
  });

  try {
    // 1. The manifest: generated (or, in a dry run, counted) or read from the inventory.
    let manifest: BackfillManifest;
    let objects: number | null;
    const m = plan.manifest.location;
    if (plan.manifest.kind === 'csv') {
      if (options.dryRun) {
        if (!options.json) io.err(`Listing s3://${plan.source.bucket}/${plan.source.prefix} (dry run: nothing is written)…\n`);
        objects = await countManifestObjects(listOptions(plan, s3));
        manifest = { kind: 'csv', bucket: m.bucket, key: m.prefix, etag: 'ETAG-OF-THE-WRITTEN-MANIFEST' };
      } else {
        if (!options.json) io.err(`Listing s3://${plan.source.bucket}/${plan.source.prefix} into the manifest s3://${m.bucket}/${m.prefix}…\n`);
        const written = await writeCsvManifest({
          ...listOptions(plan, s3),
          manifestBucket: m.bucket,
          manifestKey: m.prefix,
          onProgress: options.json ? undefined : (n) => io.err(`  ${n.toLocaleString('en-US')} objects listed…\n`),
        });
        objects = written.objects;
        manifest = { kind: 'csv', bucket: written.bucket, key: written.key, etag: written.etag };
        if (!options.json) io.err(`Manifest s3://${m.bucket}/${m.prefix}: ${objects.toLocaleString('en-US')} objects, ETag ${written.etag}\n`);
      }
    } else {
      const inventory = await readInventoryManifest(s3, m, plan.source.bucket, io, options.json ?? false);
      objects = null;
      manifest = { kind: 'inventory', manifestJsonBucket: m.bucket, manifestJsonKey: m.prefix, etag: inventory.etag };
    }

    const jobOptions: BackfillJobOptions = {
      accountId: plan.accountId,
      functionArn: plan.functionArn,
      roleArn: plan.roleArn,
      manifest,
      report: { bucket: plan.report.bucket, prefix: plan.report.prefix },
      priority: plan.priority,
      description: plan.description,
      confirm: plan.confirm,
      schemaVersion: plan.schemaVersion,
      ...(options.clientRequestToken !== undefined && { clientRequestToken: options.clientRequestToken }),
    };
    const reportUrl = `s3://${plan.report.bucket}/${plan.report.prefix ? `${plan.report.prefix}/` : ''}job-JOB_ID/`;

    // 2. Dry run: show the request.
    if (options.dryRun) {
      const input = buildCreateJobInput(jobOptions);
      // The token is derived from the manifest's ETag, unknown until the manifest is written.
      if (plan.manifest.kind === 'csv' && options.clientRequestToken === undefined) {
        input.ClientRequestToken = 'DERIVED-FROM-THE-WRITTEN-MANIFEST';
      }
      if (options.json) {
        io.out(`${JSON.stringify({ command: 'backfill', dryRun: true, objects, manifest, createJobInput: input }, null, 2)}\n`);
      } else {
        io.out(
          `Dry run: no manifest written, no job created.\n` +
            (objects !== null ? `The manifest would list ${objects.toLocaleString('en-US')} objects.\n` : '') +
            (plan.manifest.kind === 'csv' ? 'Its ETag (and so the ClientRequestToken) is known once it is written.\n' : '') +
            `CreateJob request (region ${plan.region}):\n${JSON.stringify(input, null, 2)}\n`,
        );
      }
      return;
    }

    // 3. Nothing to do.
    if (objects === 0) {
      if (options.json) {
        io.out(`${JSON.stringify({ command: 'backfill', jobId: null, objects: 0, manifest }, null, 2)}\n`);
      } else {
        io.out(`No objects under s3://${plan.source.bucket}/${plan.source.prefix} pass the filters: no job created.\n`);
      }
      return;
    }

    // 4. The job.
    const job = await createBackfillJob({ ...jobOptions, control });
    const base = `aws s3control --region ${plan.region}`;
    const commands = {
      describe: `${base} describe-job --account-id ${plan.accountId} --job-id ${job.jobId}`,
      ...(plan.confirm && {
        confirm: `${base} update-job-status --account-id ${plan.accountId} --job-id ${job.jobId} --requested-job-status Ready`,
      }),
      cancel: `${base} update-job-status --account-id ${plan.accountId} --job-id ${job.jobId} --requested-job-status Cancelled`,
    };
    if (options.json) {
      io.out(
        `${JSON.stringify(
          {
            command: 'backfill',
            jobId: job.jobId,
            accountId: plan.accountId,
            region: plan.region,
            objects,
            manifest,
            report: reportUrl.replace('JOB_ID', job.jobId),
            confirmationRequired: plan.confirm,
            commands,
            createJobInput: job.input,
          },
          null,
          2,
        )}\n`,
      );
      return;
    }
    io.out(
      `Created S3 Batch Operations job ${job.jobId} (account ${plan.accountId}, region ${plan.region}).\n` +
        `It invokes ${plan.functionArn} once per object` +
        (objects !== null ? ` (${objects.toLocaleString('en-US')} objects)` : '') +
        `, invocation schema ${plan.schemaVersion}.\n` +
        `Completion report: ${reportUrl.replace('JOB_ID', job.jobId)}\n` +
        (plan.confirm
          ? `The job waits for your confirmation. Start it with:\n  ${commands.confirm}\n`
          : 'The job starts as soon as S3 has read the manifest.\n') +
        `Watch it with:\n  ${commands.describe}\n` +
        `or in the S3 console under Batch Operations (region ${plan.region}). Cancel it with:\n  ${commands.cancel}\n`,
    );
  } catch (error) {
    if (error instanceof ConfigurationError) throw new UsageError(error.message);
    throw error;
  } finally {
    s3.destroy();
    control.destroy();
  }
}

/** Checks every flag and reports all problems in one error. */
function resolvePlan(sourceArg: string, options: BackfillCommandOptions): BackfillPlan {
  const problems: string[] = [];
  const warnings: string[] = [];
  const attempt = <T>(fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (error) {
      if (error instanceof UsageError || error instanceof ConfigurationError) {
        problems.push(error.message);
        return undefined;
      }
      throw error;
    }
  };

  const source = attempt(() => parseS3Location(sourceArg, 'source'));
  if (source) attempt(() => checkBucketName(source.bucket, 'source bucket'));

  const missing = [
    !options.functionArn && '--function-arn',
    !options.roleArn && '--role-arn',
    !options.report && '--report',
    !options.manifest && !options.inventoryManifest && '--manifest (or --inventory-manifest)',
  ].filter((flag): flag is string => typeof flag === 'string');
  if (missing.length > 0) problems.push(`missing ${missing.join(', ')}`);
  if (options.manifest && options.inventoryManifest) problems.push('give either --manifest or --inventory-manifest, not both');

  const fn = options.functionArn ? attempt(() => parseFunctionArn(options.functionArn!, '--function-arn')) : undefined;
  const role = options.roleArn ? attempt(() => parseRoleArn(options.roleArn!, '--role-arn')) : undefined;

  let manifest: BackfillPlan['manifest'] | undefined;
  if (options.manifest && !options.inventoryManifest) {
    const location = attempt(() => parseS3Location(options.manifest!, '--manifest'));
    if (location) {
      attempt(() => checkBucketName(location.bucket, '--manifest bucket'));
      if (!location.prefix || location.prefix.endsWith('/')) {
        problems.push(`--manifest "${options.manifest}" needs an object key, e.g. s3://${location.bucket}/backfill/manifest.csv`);
      } else manifest = { kind: 'csv', location };
    }
  } else if (options.inventoryManifest && !options.manifest) {
    const location = attempt(() => parseS3Location(options.inventoryManifest!, '--inventory-manifest'));
    if (location) {
      attempt(() => checkBucketName(location.bucket, '--inventory-manifest bucket'));
      if (!/(^|\/)manifest\.json$/.test(location.prefix)) {
        problems.push(
          `--inventory-manifest "${options.inventoryManifest}" must point at the inventory's manifest.json ` +
            '(s3://DESTINATION-BUCKET/PREFIX/SOURCE-BUCKET/CONFIG-ID/YYYY-MM-DDTHH-MMZ/manifest.json)',
        );
      } else manifest = { kind: 'inventory', location };
    }
    if (source?.prefix || options.include?.length || options.exclude?.length) {
      problems.push(
        'an S3 Inventory manifest is used as it is: the job visits every object it lists, so a source prefix, --include and ' +
          '--exclude cannot apply. Use --manifest to generate a filtered manifest instead (or filter in the inventory configuration)',
      );
    }
  }

  const report = options.report ? attempt(() => parseS3Location(options.report!, '--report')) : undefined;
  if (report) attempt(() => checkBucketName(report.bucket, '--report bucket'));
  if (options.clientRequestToken !== undefined && !/^[\x20-\x7e]{1,64}$/.test(options.clientRequestToken)) {
    problems.push('--client-request-token must be 1-64 printable ASCII characters');
  }
  // The Lambda's bucket notifications would replicate the manifest and the reports too.
  if (source && manifest?.kind === 'csv' && manifest.location.bucket === source.bucket) {
    warnings.push(`the manifest is written into the source bucket ${source.bucket}: the replication Lambda will copy it to the target too, unless EXCLUDE_KEYS excludes it`);
  }
  if (source && report && report.bucket === source.bucket) {
    warnings.push(`the completion report goes into the source bucket ${source.bucket}: the replication Lambda will copy it to the target too, unless EXCLUDE_KEYS excludes it`);
  }

  let accountId = role?.accountId;
  if (options.accountId !== undefined) {
    accountId = attempt(() => checkAccountId(options.accountId!, '--account-id'));
    if (accountId && role && accountId !== role.accountId) {
      warnings.push(
        `--account-id ${accountId} differs from the account of --role-arn (${role.accountId}); IAM passes roles only within their own account, so CreateJob will probably be refused`,
      );
    }
  }

  let priority = DEFAULT_PRIORITY;
  if (options.priority !== undefined) {
    const n = Number(options.priority);
    if (!/^\d+$/.test(options.priority) || n > 2_147_483_647) {
      problems.push(`--priority "${options.priority}" must be a whole number from 0 to 2147483647 (higher runs first)`);
    } else priority = n;
  }
  if (options.schemaVersion !== '1.0' && options.schemaVersion !== '2.0') {
    problems.push(`--schema-version "${options.schemaVersion}" must be 1.0 or 2.0`);
  }
  const description = options.description ?? (source ? truncate(`lyve-replicator backfill s3://${source.bucket}/${source.prefix}`, 256) : '');
  if (options.description !== undefined && (description.length < 1 || description.length > 256)) {
    problems.push(`--description must be 1-256 characters (it is ${description.length})`);
  }

  let filter: ((key: string) => boolean) | undefined;
  if (options.include?.length || options.exclude?.length) {
    try {
      const matches = createKeyFilter({ include: options.include ?? [], exclude: options.exclude ?? [] });
      const prefixLength = source?.prefix.length ?? 0;
      filter = (key) => matches(key.slice(prefixLength));
    } catch (error) {
      problems.push(`invalid --include/--exclude glob: ${(error as Error).message}`);
    }
  }

  if (problems.length > 0 || !source || !fn || !role || !manifest || !report || !accountId) {
    throw new UsageError(problems.length === 1 ? problems[0]! : `backfill:\n  - ${problems.join('\n  - ')}`);
  }
  return {
    source,
    filter,
    functionArn: fn.arn,
    roleArn: role.arn,
    accountId,
    region: options.region ?? fn.region,
    partition: fn.partition,
    manifest,
    report: { bucket: report.bucket, prefix: normalizeReportPrefix(report.prefix) },
    priority,
    description,
    confirm: options.confirmationRequired,
    schemaVersion: options.schemaVersion as '1.0' | '2.0',
    warnings,
  };
}

function listOptions(plan: BackfillPlan, s3: S3Client) {
  return {
    source: s3,
    bucket: plan.source.bucket,
    prefix: plan.source.prefix,
    ...(plan.filter && { filter: plan.filter }),
  };
}

function printPolicies(plan: BackfillPlan, options: BackfillCommandOptions, io: Output): void {
  const policies = backfillPolicies({
    sourceBuckets: plan.manifest.kind === 'csv' ? [plan.source.bucket] : [],
    manifestBucket: plan.manifest.location.bucket,
    manifestKey: plan.manifest.location.prefix,
    manifestKind: plan.manifest.kind,
    reportBucket: plan.report.bucket,
    reportPrefix: plan.report.prefix,
    functionArn: plan.functionArn,
    roleArn: plan.roleArn,
    region: plan.region,
  });
  if (options.json) {
    io.out(`${JSON.stringify(policies, null, 2)}\n`);
    return;
  }
  io.out(
    `# Trust policy of the job role ${plan.roleArn}\n${JSON.stringify(policies.jobRoleTrustPolicy, null, 2)}\n\n` +
      `# Permissions policy of the job role\n${JSON.stringify(policies.jobRolePolicy, null, 2)}\n\n` +
      `# Policy for whoever runs "lyve-replicator backfill" (s3:CreateJob has no resource type, hence its "*")\n` +
      `${JSON.stringify(policies.operatorPolicy, null, 2)}\n`,
  );
}

interface InventoryManifestJson {
  sourceBucket?: unknown;
  fileFormat?: unknown;
  files?: Array<{ key?: unknown }>;
}

/**
 * Reads the inventory's manifest.json for its ETag and checks what CreateJob cannot: that it is
 * an inventory of the source bucket and in CSV (Batch Operations reads only CSV inventories).
 */
async function readInventoryManifest(
  s3: S3Client,
  location: S3Location,
  sourceBucket: string,
  io: Output,
  json: boolean,
): Promise<{ etag: string; files: number }> {
  const where = `s3://${location.bucket}/${location.prefix}`;
  let text: string;
  let etag: string | undefined;
  try {
    const object = await s3.send(new GetObjectCommand({ Bucket: location.bucket, Key: location.prefix }));
    etag = object.ETag;
    text = (await object.Body?.transformToString('utf8')) ?? '';
  } catch (error) {
    const name = error instanceof Error ? error.name : '';
    if (name === 'NoSuchKey' || name === 'NotFound') throw new UsageError(`--inventory-manifest ${where} does not exist`);
    throw s3Failure(`reading the inventory manifest ${where} failed`, error, location.bucket, 's3:GetObject');
  }
  let parsed: InventoryManifestJson;
  try {
    parsed = JSON.parse(text) as InventoryManifestJson;
  } catch {
    throw new UsageError(`--inventory-manifest ${where} is not JSON: is it the inventory's manifest.json?`);
  }
  if (parsed.fileFormat !== 'CSV') {
    throw new UsageError(
      `--inventory-manifest ${where} describes a ${String(parsed.fileFormat ?? 'unknown')} inventory: S3 Batch Operations reads only CSV inventories`,
    );
  }
  if (parsed.sourceBucket !== sourceBucket) {
    throw new UsageError(
      `--inventory-manifest ${where} is an inventory of bucket ${JSON.stringify(parsed.sourceBucket)}, not of the source ${sourceBucket}`,
    );
  }
  if (!etag) throw new Error(`${where} has no ETag; CreateJob needs it`);
  const files = Array.isArray(parsed.files) ? parsed.files : [];
  const root = inventoryRoot(location.prefix);
  const outside = files.filter((file) => typeof file.key === 'string' && !file.key.startsWith(root));
  if (outside.length > 0 && !json) {
    io.err(
      `warning: ${outside.length} inventory data file(s) are outside s3://${location.bucket}/${root}; the job role policy from --print-policies does not cover them\n`,
    );
  }
  if (!json) io.err(`Inventory ${where}: ${files.length} CSV data file(s) of bucket ${sourceBucket}\n`);
  return { etag, files: files.length };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
