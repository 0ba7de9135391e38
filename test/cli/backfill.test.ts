/**
 * `backfill --batch-operations`: the CSV manifest is generated against the real embedded S3
 * server (never mocked); S3 Control, which cannot run here, is checked at the SDK boundary
 * with aws-sdk-client-mock (the CreateJob request exactly as it would be sent). The command is
 * driven through commander in-process (the CLI as a subprocess is tested elsewhere).
 */
import { readFileSync } from 'node:fs';
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { CreateJobCommand, S3ControlClient, type CreateJobCommandInput } from '@aws-sdk/client-s3-control';
import { mockClient } from 'aws-sdk-client-mock';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  backfillPolicies,
  buildCreateJobInput,
  createBackfillJob,
  encodeManifestKey,
  uploadStream,
  writeCsvManifest,
  type BackfillJobOptions,
  type PolicyDocument,
} from '../../src/backfill/index.js';
import { registerBackfill } from '../../src/cli/commands/backfill.js';
import { UsageError } from '../../src/cli/errors.js';
import { createSourceClient } from '../../src/clients/s3-clients.js';
import { ConfigurationError } from '../../src/clients/s3-clients.js';
import { ReplicationFailure } from '../../src/engine/failures.js';
import { parseBatchOperationsEvent } from '../../src/lambda/events/batch-operations.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../support/embedded-s3.js';

const MiB = 1024 * 1024;
const SRC = 'backfill-src';
const OPS = 'backfill-ops';
const ACCOUNT = '123456789012';
const FUNCTION_ARN = `arn:aws:lambda:us-east-1:${ACCOUNT}:function:lyve-replicator`;
const ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/lyve-replicator-backfill`;

/** Keys that break naive CSV writers or URL encoders, plus the Lambda's form decoding (`+`). */
const AWKWARD_KEYS = [
  'awkward/plain.txt',
  'awkward/with space.txt',
  'awkward/plus+sign',
  'awkward/percent%20literal',
  'awkward/100%',
  'awkward/emoji 😀.bin',
  'awkward/comma,in,key',
  'awkward/quote"in"key',
  'awkward/both ,"mixed"',
  "awkward/apos'(paren)*!~",
  'awkward/q?h#a&e=;',
  'awkward/a//b',
  'awkward/trailing ',
  'awkward/folder/',
  'awkward/ünïcödé/日本語',
];

let server: EmbeddedS3;
let s3: S3Client;
const control = mockClient(S3ControlClient);

beforeAll(async () => {
  server = await startEmbeddedS3({ buckets: [SRC, OPS, 'backfill-empty'] });
  s3 = createSourceClient({ endpoint: server.endpoint, credentials: server.credentials });
  for (const key of AWKWARD_KEYS) await put(SRC, key, key.endsWith('/') ? '' : `body of ${key}`);
  for (let i = 0; i < 7; i++) await put(SRC, `paged/object-${i}.txt`, `page ${i}`);
  for (const key of ['photos/2024/a.jpg', 'photos/2024/b.png', 'photos/2024/raw/c.cr2', 'photos/2023/d.jpg']) await put(SRC, key, key);
});
afterAll(async () => {
  s3?.destroy();
  await server?.stop();
});
beforeEach(() => {
  control.reset();
  control.on(CreateJobCommand).resolves({ JobId: '3f6c1a2b-9d8e-4f70-a1b2-c3d4e5f60718' });
});
afterEach(() => {
  vi.unstubAllEnvs();
});

async function put(bucket: string, key: string, body: string | Buffer): Promise<string> {
  const data = Buffer.from(body);
  const result = await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: data, ContentLength: data.length }));
  return result.ETag!.replaceAll('"', '');
}

async function read(bucket: string, key: string): Promise<{ text: string; etag: string; contentType?: string }> {
  const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  return {
    text: await object.Body!.transformToString('utf8'),
    etag: object.ETag!.replaceAll('"', ''),
    ...(object.ContentType && { contentType: object.ContentType }),
  };
}

async function exists(bucket: string, key: string): Promise<boolean> {
  try {
    await s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  } catch {
    return false;
  }
}

/**
 * A strict reader for the manifest: no header, `\n` line ends, exactly two fields per line,
 * no quoting at all (encoding must have removed every `,` `"` and line break from keys).
 */
function parseManifest(text: string): Array<{ bucket: string; encodedKey: string; key: string }> {
  if (text === '') return [];
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      const match = /^([^,"\r\n]+),([^,"\r\n]+)$/.exec(line);
      expect(match, `manifest line ${JSON.stringify(line)}`).not.toBeNull();
      const encodedKey = match![2]!;
      // Only unreserved characters, '/' and %XX escapes: nothing a URL or form decoder changes.
      expect(encodedKey).toMatch(/^(?:[A-Za-z0-9._~/-]|%[0-9A-F]{2})+$/);
      return { bucket: match![1]!, encodedKey, key: decodeURIComponent(encodedKey) };
    });
}

/** The keys the deployed Lambda would see for these manifest rows (Batch Operations passes s3Key as written). */
function keysSeenByLambda(rows: Array<{ bucket: string; encodedKey: string }>): string[] {
  const parsed = parseBatchOperationsEvent({
    invocationSchemaVersion: '2.0',
    invocationId: 'inv',
    job: { id: 'job', userArguments: {} },
    tasks: rows.map((row, i) => ({ taskId: `t${i}`, s3Bucket: row.bucket, s3Key: row.encodedKey, s3VersionId: null })),
  });
  return parsed.tasks.map((task) => {
    expect(task.error).toBeUndefined();
    return task.task!.key;
  });
}

const sorted = (keys: string[]) => [...keys].sort();

describe('CSV manifest on the embedded S3 server', () => {
  it('encodes keys as Batch Operations requires: percent-encoded UTF-8, "/" kept', () => {
    expect(encodeManifestKey('a b+c%/d,"é')).toBe('a%20b%2Bc%25/d%2C%22%C3%A9');
    expect(encodeManifestKey("x!'()*~y")).toBe('x%21%27%28%29%2A~y');
    expect(encodeManifestKey('photos/jpgs/objectkey4')).toBe('photos/jpgs/objectkey4');
    expect(encodeManifestKey('line\nbreak\r')).toBe('line%0Abreak%0D');
  });

  it('lists awkward keys into a manifest that parses back to exactly those keys, for CSV and for the Lambda', async () => {
    const result = await writeCsvManifest({ source: s3, bucket: SRC, prefix: 'awkward/', manifestBucket: OPS, manifestKey: 'manifests/awkward.csv' });
    expect(result).toMatchObject({ objects: AWKWARD_KEYS.length, bucket: OPS, key: 'manifests/awkward.csv' });

    const manifest = await read(OPS, 'manifests/awkward.csv');
    expect(result.etag).toBe(manifest.etag);
    expect(result.etag).not.toContain('"');
    expect(result.bytes).toBe(Buffer.byteLength(manifest.text));
    expect(manifest.contentType).toMatch(/^text\/csv/);

    const rows = parseManifest(manifest.text);
    expect(rows.every((row) => row.bucket === SRC)).toBe(true);
    expect(sorted(rows.map((row) => row.key))).toEqual(sorted(AWKWARD_KEYS));
    // The Lambda form-decodes s3Key ('+' is a space): the manifest must survive that too.
    expect(sorted(keysSeenByLambda(rows))).toEqual(sorted(AWKWARD_KEYS));
    expect(manifest.text).toContain(`${SRC},awkward/plus%2Bsign\n`);
    expect(manifest.text).toContain(`${SRC},awkward/percent%2520literal\n`);
    expect(manifest.text).toContain(`${SRC},awkward/quote%22in%22key\n`);
    expect(manifest.text).toContain(`${SRC},awkward/comma%2Cin%2Ckey\n`);
  });

  it('follows ListObjectsV2 pagination and applies the filter', async () => {
    const paged = await writeCsvManifest({ source: s3, bucket: SRC, prefix: 'paged/', pageSize: 2, manifestBucket: OPS, manifestKey: 'manifests/paged.csv' });
    expect(paged.objects).toBe(7);
    const keys = parseManifest((await read(OPS, 'manifests/paged.csv')).text).map((row) => row.key);
    expect(sorted(keys)).toEqual(Array.from({ length: 7 }, (_, i) => `paged/object-${i}.txt`));

    const filtered = await writeCsvManifest({
      source: s3,
      bucket: SRC,
      prefix: 'photos/',
      filter: (key) => /\.(jpg|png)$/.test(key),
      manifestBucket: OPS,
      manifestKey: 'manifests/photos.csv',
    });
    expect(filtered.objects).toBe(3);
    expect(sorted(parseManifest((await read(OPS, 'manifests/photos.csv')).text).map((row) => row.key))).toEqual([
      'photos/2023/d.jpg',
      'photos/2024/a.jpg',
      'photos/2024/b.png',
    ]);
  });

  it('writes an empty manifest for an empty listing', async () => {
    const empty = await writeCsvManifest({ source: s3, bucket: 'backfill-empty', manifestBucket: OPS, manifestKey: 'manifests/empty.csv' });
    expect(empty).toMatchObject({ objects: 0, bytes: 0 });
    expect((await read(OPS, 'manifests/empty.csv')).text).toBe('');
  });

  it('streams a large manifest as a multipart upload of ≥ 5 MiB parts (all but the last)', async () => {
    const line = `${SRC},${'k'.repeat(1000)}\n`;
    const lines = Math.ceil((12 * MiB) / line.length);
    async function* chunks() {
      for (let i = 0; i < lines; i += 100) yield line.repeat(Math.min(100, lines - i));
    }
    const result = await uploadStream(s3, { bucket: OPS, key: 'manifests/large.csv', partSize: 5 * MiB }, chunks());
    expect(result.parts).toBe(3);
    expect(result.bytes).toBe(lines * line.length);
    expect(result.etag).toMatch(/^[0-9a-f]{32}-3$/);
    const back = await read(OPS, 'manifests/large.csv');
    expect(back.etag).toBe(result.etag);
    expect(back.text.length).toBe(lines * line.length);
    expect(back.text.startsWith(line) && back.text.endsWith(line)).toBe(true);
  });

  it('aborts the upload and leaves no manifest when the listing fails midway', async () => {
    async function* failing() {
      yield 'x'.repeat(6 * MiB);
      throw new Error('listing broke');
    }
    await expect(uploadStream(s3, { bucket: OPS, key: 'manifests/broken.csv', partSize: 5 * MiB }, failing())).rejects.toThrow(
      /^listing broke$/,
    );
    expect(await exists(OPS, 'manifests/broken.csv')).toBe(false);
  });

  it('names the bucket when listing fails', async () => {
    await expect(
      writeCsvManifest({ source: s3, bucket: 'backfill-missing', manifestBucket: OPS, manifestKey: 'manifests/missing.csv' }),
    ).rejects.toThrow(
      'listing s3://backfill-missing/ failed: source bucket "backfill-missing" does not exist (NoSuchBucket): create it or correct the source bucket name',
    );
  });
});

const csvJob = (extra: Partial<BackfillJobOptions> = {}): BackfillJobOptions => ({
  accountId: ACCOUNT,
  functionArn: FUNCTION_ARN,
  roleArn: ROLE_ARN,
  manifest: { kind: 'csv', bucket: OPS, key: 'manifests/awkward.csv', etag: '"0123456789abcdef0123456789abcdef"' },
  report: { bucket: OPS, prefix: 'reports/' },
  schemaVersion: '2.0',
  ...extra,
});

describe('CreateJob (S3 Control at the SDK boundary)', () => {
  it('sends a LambdaInvoke job over the CSV manifest with a report of all tasks', async () => {
    const job = await createBackfillJob({
      ...csvJob({ userArguments: { origin: 'backfill' }, priority: 42, description: 'backfill photos' }),
      control: new S3ControlClient({ region: 'us-east-1' }),
    });
    expect(job.jobId).toBe('3f6c1a2b-9d8e-4f70-a1b2-c3d4e5f60718');
    const calls = control.commandCalls(CreateJobCommand);
    expect(calls).toHaveLength(1);
    const sent = calls[0]!.args[0].input;
    expect(sent).toEqual({
      AccountId: ACCOUNT,
      ConfirmationRequired: true,
      Operation: {
        LambdaInvoke: { FunctionArn: FUNCTION_ARN, InvocationSchemaVersion: '2.0', UserArguments: { origin: 'backfill' } },
      },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: `arn:aws:s3:::${OPS}/manifests/awkward.csv`, ETag: '0123456789abcdef0123456789abcdef' },
      },
      Report: {
        Bucket: `arn:aws:s3:::${OPS}`,
        Format: 'Report_CSV_20180820',
        Enabled: true,
        Prefix: 'reports',
        ReportScope: 'AllTasks',
      },
      Priority: 42,
      RoleArn: ROLE_ARN,
      Description: 'backfill photos',
      ClientRequestToken: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(job.input).toEqual(sent);
  });

  it('derives the idempotency token from the request: same inputs, same token; a new manifest ETag, a new token', () => {
    const a = buildCreateJobInput(csvJob()).ClientRequestToken;
    expect(buildCreateJobInput(csvJob()).ClientRequestToken).toBe(a);
    const otherEtag = buildCreateJobInput(csvJob({ manifest: { kind: 'csv', bucket: OPS, key: 'manifests/awkward.csv', etag: 'ffff' } }));
    expect(otherEtag.ClientRequestToken).not.toBe(a);
    expect(buildCreateJobInput(csvJob({ priority: 11 })).ClientRequestToken).not.toBe(a);
    expect(buildCreateJobInput(csvJob({ clientRequestToken: 'run-2' })).ClientRequestToken).toBe('run-2');
  });

  it('points an inventory job at manifest.json with the inventory format and no Fields; schema 1.0 has no UserArguments', () => {
    const input = buildCreateJobInput(
      csvJob({
        schemaVersion: '1.0',
        confirm: false,
        manifest: { kind: 'inventory', manifestJsonBucket: OPS, manifestJsonKey: 'inv/src/daily/2025-01-01T01-00Z/manifest.json', etag: 'abc' },
      }),
    );
    expect(input.Manifest).toEqual({
      Spec: { Format: 'S3InventoryReport_CSV_20161130' },
      Location: { ObjectArn: `arn:aws:s3:::${OPS}/inv/src/daily/2025-01-01T01-00Z/manifest.json`, ETag: 'abc' },
    });
    expect(input.Operation).toEqual({ LambdaInvoke: { FunctionArn: FUNCTION_ARN, InvocationSchemaVersion: '1.0' } });
    expect(input.ConfirmationRequired).toBe(false);
    expect(input.Priority).toBe(10);
  });

  it('uses the partition of the function ARN in the S3 ARNs', () => {
    const input = buildCreateJobInput(
      csvJob({ functionArn: `arn:aws-us-gov:lambda:us-gov-west-1:${ACCOUNT}:function:r:live`, roleArn: `arn:aws-us-gov:iam::${ACCOUNT}:role/r` }),
    );
    expect(input.Report?.Bucket).toBe(`arn:aws-us-gov:s3:::${OPS}`);
    expect(input.Manifest?.Location?.ObjectArn).toMatch(/^arn:aws-us-gov:s3:::/);
    expect(input.Operation?.LambdaInvoke?.FunctionArn).toBe(`arn:aws-us-gov:lambda:us-gov-west-1:${ACCOUNT}:function:r:live`);
  });

  it('reports every invalid input in one clear error and sends nothing', async () => {
    const attempt = createBackfillJob({
      ...csvJob({
        accountId: '1234',
        functionArn: 'lyve-replicator',
        roleArn: `arn:aws:iam::${ACCOUNT}:user/alice`,
        manifest: { kind: 'csv', bucket: 'Bad_Bucket!', key: '', etag: '' },
        report: { bucket: 's3://reports', prefix: '' },
        priority: -1,
        schemaVersion: '1.0',
        userArguments: { a: 'b' },
      }),
      control: new S3ControlClient({ region: 'us-east-1' }),
    });
    await expect(attempt).rejects.toBeInstanceOf(ConfigurationError);
    const message = await attempt.catch((error: Error) => error.message);
    expect(message).toContain('accountId "1234" is not an AWS account ID: it is 12 digits');
    expect(message).toContain('functionArn "lyve-replicator" is not a Lambda function ARN: write it as arn:aws:lambda:REGION:ACCOUNT_ID:function:NAME');
    expect(message).toContain(`roleArn "arn:aws:iam::${ACCOUNT}:user/alice" is not an IAM role ARN`);
    expect(message).toContain('priority -1 must be a whole number from 0 to 2147483647');
    expect(message).toContain('userArguments need schemaVersion "2.0"');
    expect(message).toContain('manifest etag is empty');
    expect(message).toContain('manifest bucket "Bad_Bucket!" is not a valid S3 bucket name');
    expect(message).toContain('manifest key is empty');
    expect(message).toContain('report bucket "s3://reports" is not a valid S3 bucket name (give the bare bucket name)');
    expect(control.commandCalls(CreateJobCommand)).toHaveLength(0);
  });

  it('rejects a non-manifest.json inventory key, too many user arguments and a long description', () => {
    expect(() =>
      buildCreateJobInput(csvJob({ manifest: { kind: 'inventory', manifestJsonBucket: OPS, manifestJsonKey: 'inv/data/x.csv.gz', etag: 'e' } })),
    ).toThrow("inventory manifest key \"inv/data/x.csv.gz\" must be the inventory's manifest.json");
    const eleven = Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, 'v']));
    expect(() => buildCreateJobInput(csvJob({ userArguments: eleven }))).toThrow('userArguments has 11 entries; at most 10 are allowed');
    expect(() => buildCreateJobInput(csvJob({ description: 'd'.repeat(257) }))).toThrow('description must be 1–256 characters (it is 257)');
  });

  it('explains an access-denied answer (fix the setup) and marks throttling retryable', async () => {
    control.on(CreateJobCommand).rejects(Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }));
    const denied = await createBackfillJob({ ...csvJob(), control: new S3ControlClient({ region: 'us-east-1' }) }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(ReplicationFailure);
    expect(denied).toMatchObject({ retryable: false });
    expect((denied as Error).message).toBe(
      `CreateJob in account ${ACCOUNT} failed: AccessDenied: Access Denied (the caller needs s3:CreateJob and iam:PassRole on ${ROLE_ARN}; run with --print-policies to see both policies)`,
    );

    control.on(CreateJobCommand).rejects(Object.assign(new Error('Please slow down'), { name: 'TooManyRequestsException', $metadata: { httpStatusCode: 429 } }));
    const throttled = await createBackfillJob({ ...csvJob(), control: new S3ControlClient({ region: 'us-east-1', maxAttempts: 1 }) }).catch((e: unknown) => e);
    expect(throttled).toMatchObject({ retryable: true });
  });
});

function allStatements(...docs: PolicyDocument[]) {
  return docs.flatMap((doc) => doc.Statement);
}
const list = (value: string | string[] | undefined) => (value === undefined ? [] : Array.isArray(value) ? value : [value]);

describe('backfill policies', () => {
  const policies = backfillPolicies({
    sourceBuckets: [SRC],
    manifestBucket: OPS,
    manifestKey: 'manifests/photos.csv',
    reportBucket: OPS,
    reportPrefix: 'reports/',
    functionArn: FUNCTION_ARN,
    roleArn: ROLE_ARN,
  });

  it('grants the job role exactly: invoke the function, read the manifest, write the report', () => {
    expect(policies.jobRoleTrustPolicy).toEqual({
      Version: '2012-10-17',
      Statement: [
        { Sid: 'S3BatchOperationsAssumesRole', Effect: 'Allow', Principal: { Service: 'batchoperations.s3.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ],
    });
    expect(policies.jobRolePolicy.Statement).toEqual([
      { Sid: 'InvokeReplicationFunction', Effect: 'Allow', Action: 'lambda:InvokeFunction', Resource: FUNCTION_ARN },
      { Sid: 'ReadManifest', Effect: 'Allow', Action: ['s3:GetObject', 's3:GetObjectVersion'], Resource: `arn:aws:s3:::${OPS}/manifests/photos.csv` },
      { Sid: 'WriteCompletionReport', Effect: 'Allow', Action: 's3:PutObject', Resource: `arn:aws:s3:::${OPS}/reports/job-*` },
      { Sid: 'LocateManifestAndReportBuckets', Effect: 'Allow', Action: 's3:GetBucketLocation', Resource: [`arn:aws:s3:::${OPS}`] },
    ]);
  });

  it('grants the operator listing, the manifest write, CreateJob, PassRole on the one role, and watching jobs', () => {
    expect(policies.operatorPolicy.Statement).toEqual([
      { Sid: 'ListSourceForManifest', Effect: 'Allow', Action: 's3:ListBucket', Resource: [`arn:aws:s3:::${SRC}`] },
      { Sid: 'WriteManifest', Effect: 'Allow', Action: ['s3:PutObject', 's3:AbortMultipartUpload'], Resource: `arn:aws:s3:::${OPS}/manifests/photos.csv` },
      { Sid: 'CreateBatchOperationsJob', Effect: 'Allow', Action: 's3:CreateJob', Resource: '*' },
      { Sid: 'PassJobRole', Effect: 'Allow', Action: 'iam:PassRole', Resource: ROLE_ARN },
      { Sid: 'ConfirmAndWatchJob', Effect: 'Allow', Action: ['s3:DescribeJob', 's3:UpdateJobStatus'], Resource: `arn:aws:s3:us-east-1:${ACCOUNT}:job/*` },
    ]);
  });

  it('never uses a wildcard action, and "*" only as the resource of s3:CreateJob (which has no resource type)', () => {
    for (const statement of allStatements(policies.jobRoleTrustPolicy, policies.jobRolePolicy, policies.operatorPolicy)) {
      for (const action of list(statement.Action)) expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      if (list(statement.Resource).includes('*')) expect(statement.Action).toBe('s3:CreateJob');
    }
  });

  it('scopes an inventory manifest to its configuration folder (manifest.json and data files)', () => {
    const inventory = backfillPolicies({
      sourceBuckets: [],
      manifestKind: 'inventory',
      manifestBucket: OPS,
      manifestKey: 'inventory/backfill-src/daily/2025-01-01T01-00Z/manifest.json',
      reportBucket: 'backfill-reports',
      functionArn: FUNCTION_ARN,
      roleArn: ROLE_ARN,
    });
    expect(inventory.jobRolePolicy.Statement.find((s) => s.Sid === 'ReadManifest')?.Resource).toBe(`arn:aws:s3:::${OPS}/inventory/backfill-src/daily/*`);
    expect(inventory.jobRolePolicy.Statement.find((s) => s.Sid === 'WriteCompletionReport')?.Resource).toBe('arn:aws:s3:::backfill-reports/job-*');
    expect(inventory.operatorPolicy.Statement.map((s) => s.Sid)).toEqual([
      'ReadInventoryManifest',
      'CreateBatchOperationsJob',
      'PassJobRole',
      'ConfirmAndWatchJob',
    ]);
    expect(inventory.operatorPolicy.Statement[0]!.Resource).toBe(`arn:aws:s3:::${OPS}/inventory/backfill-src/daily/2025-01-01T01-00Z/manifest.json`);
  });
});

interface Run {
  out: string;
  err: string;
}

/** Runs `lyve-replicator backfill ARGS` in-process on a fresh program. */
async function backfill(args: string[]): Promise<Run> {
  const run: Run = { out: '', err: '' };
  const program = new Command()
    .name('lyve-replicator')
    .exitOverride()
    .configureOutput({ writeOut: (text) => (run.out += text), writeErr: (text) => (run.err += text) });
  registerBackfill(program);
  await program.parseAsync(['backfill', ...args], { from: 'user' });
  return run;
}

/** The message of the error a run ends with. */
async function failure(args: string[]): Promise<Error> {
  const error = await backfill(args).then(
    () => undefined,
    (e: unknown) => e as Error,
  );
  expect(error, 'the command should have failed').toBeInstanceOf(Error);
  return error!;
}

const jobFlags = (manifest = ['--manifest', `s3://${OPS}/manifests/cli.csv`]) => [
  '--batch-operations',
  '--function-arn',
  FUNCTION_ARN,
  '--role-arn',
  ROLE_ARN,
  ...manifest,
  '--report',
  `s3://${OPS}/reports/backfill/`,
];

describe('backfill command', () => {
  beforeEach(() => {
    // The command builds its own source client from the standard chain plus --source-endpoint.
    vi.stubEnv('AWS_ACCESS_KEY_ID', server.credentials.accessKeyId);
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', server.credentials.secretAccessKey);
    vi.stubEnv('AWS_PROFILE', '');
  });
  const endpoint = () => ['--source-endpoint', server.endpoint];

  it('without --batch-operations, says it is the only mode and points at sync', async () => {
    const error = await failure([`s3://${SRC}/photos/`]);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(/^backfill needs --batch-operations, its only mode for now/);
    expect(error.message).toContain(`run: lyve-replicator sync s3://${SRC}/photos/ s3://TARGET-BUCKET[/PREFIX]`);
  });

  it('lists every missing flag at once', async () => {
    const error = await failure([`s3://${SRC}`, '--batch-operations']);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toBe('missing --function-arn, --role-arn, --report, --manifest (or --inventory-manifest)');
  });

  it('reports every bad flag with what to write instead', async () => {
    const error = await failure([
      'photos',
      '--batch-operations',
      '--function-arn',
      'arn:aws:lambda:us-east-1:123:function:x',
      '--role-arn',
      'lyve-role',
      '--manifest',
      `s3://${OPS}/manifests/`,
      '--report',
      'reports',
      '--priority',
      'high',
      '--schema-version',
      '3.0',
      '--account-id',
      'abc',
    ]);
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message.split('\n')).toEqual([
      'backfill:',
      '  - source "photos" is not an S3 location: write it as s3://BUCKET or s3://BUCKET/PREFIX',
      '  - --function-arn "arn:aws:lambda:us-east-1:123:function:x" is not a Lambda function ARN: write it as arn:aws:lambda:REGION:ACCOUNT_ID:function:NAME (optionally ending in :ALIAS or :VERSION)',
      '  - --role-arn "lyve-role" is not an IAM role ARN: write it as arn:aws:iam::ACCOUNT_ID:role/NAME (the role S3 Batch Operations assumes to run the job)',
      `  - --manifest "s3://${OPS}/manifests/" needs an object key, e.g. s3://${OPS}/backfill/manifest.csv`,
      '  - --report "reports" is not an S3 location: write it as s3://BUCKET or s3://BUCKET/PREFIX',
      '  - --account-id "abc" is not an AWS account ID: it is 12 digits, e.g. 123456789012',
      '  - --priority "high" must be a whole number from 0 to 2147483647 (higher runs first)',
      '  - --schema-version "3.0" must be 1.0 or 2.0',
    ]);
  });

  it('refuses a source prefix or filters with an inventory manifest, and both manifest kinds at once', async () => {
    const inv = ['--inventory-manifest', `s3://${OPS}/inventory/backfill-src/daily/2025-01-01T01-00Z/manifest.json`];
    expect((await failure([`s3://${SRC}/photos/`, ...jobFlags(inv)])).message).toMatch(
      /^an S3 Inventory manifest is used as it is: the job visits every object it lists/,
    );
    expect((await failure([`s3://${SRC}`, ...jobFlags([...inv, '--manifest', `s3://${OPS}/m.csv`])])).message).toBe(
      'give either --manifest or --inventory-manifest, not both',
    );
    expect((await failure([`s3://${SRC}`, ...jobFlags(['--inventory-manifest', `s3://${OPS}/inventory/data/x.csv.gz`])])).message).toMatch(
      /^--inventory-manifest "s3:\/\/backfill-ops\/inventory\/data\/x.csv.gz" must point at the inventory's manifest.json/,
    );
  });

  it('--print-policies --json prints the three policy documents, scoped, without calling AWS', async () => {
    const run = await backfill([`s3://${SRC}/photos/`, ...jobFlags(), '--print-policies', '--json']);
    const policies = JSON.parse(run.out) as Record<string, PolicyDocument>;
    expect(Object.keys(policies)).toEqual(['jobRoleTrustPolicy', 'jobRolePolicy', 'operatorPolicy']);
    for (const doc of Object.values(policies)) {
      expect(doc.Version).toBe('2012-10-17');
      for (const statement of doc.Statement) {
        expect(statement.Effect).toBe('Allow');
        for (const action of list(statement.Action)) expect(action).not.toContain('*');
        for (const resource of list(statement.Resource)) {
          if (resource === '*') expect(statement.Action).toBe('s3:CreateJob');
          else expect(resource).toMatch(/^arn:aws:(s3|lambda|iam):/);
        }
      }
    }
    const resources = JSON.stringify(policies);
    expect(resources).toContain(`"arn:aws:s3:::${OPS}/manifests/cli.csv"`);
    expect(resources).toContain(`"arn:aws:s3:::${OPS}/reports/backfill/job-*"`);
    expect(resources).toContain(`"arn:aws:s3:::${SRC}"`);
    expect(control.calls()).toHaveLength(0);
  });

  it('--print-policies without --json prints each document under a heading', async () => {
    const run = await backfill([`s3://${SRC}`, ...jobFlags(), '--print-policies']);
    const sections = run.out.split(/^# .*$/m).slice(1).map((s) => JSON.parse(s) as PolicyDocument);
    expect(sections).toHaveLength(3);
    expect(run.out).toContain(`# Trust policy of the job role ${ROLE_ARN}`);
    expect(sections[0]!.Statement[0]!.Principal).toEqual({ Service: 'batchoperations.s3.amazonaws.com' });
  });

  it('generates the manifest from the real server and creates the job over it', async () => {
    const run = await backfill([`s3://${SRC}/photos/`, ...jobFlags(), '--include', '2024/**', '--exclude', '**/raw/**', '--json', ...endpoint()]);
    const result = JSON.parse(run.out) as {
      jobId: string;
      objects: number;
      manifest: { etag: string };
      commands: Record<string, string>;
      createJobInput: CreateJobCommandInput;
      report: string;
    };
    expect(result.jobId).toBe('3f6c1a2b-9d8e-4f70-a1b2-c3d4e5f60718');
    expect(result.objects).toBe(2);

    const manifest = await read(OPS, 'manifests/cli.csv');
    expect(sorted(parseManifest(manifest.text).map((row) => row.key))).toEqual(['photos/2024/a.jpg', 'photos/2024/b.png']);
    expect(result.manifest.etag).toBe(manifest.etag);

    const calls = control.commandCalls(CreateJobCommand);
    expect(calls).toHaveLength(1);
    const input = calls[0]!.args[0].input;
    expect(input).toEqual({
      AccountId: ACCOUNT,
      ConfirmationRequired: true,
      Operation: { LambdaInvoke: { FunctionArn: FUNCTION_ARN, InvocationSchemaVersion: '2.0' } },
      Manifest: {
        Spec: { Format: 'S3BatchOperations_CSV_20180820', Fields: ['Bucket', 'Key'] },
        Location: { ObjectArn: `arn:aws:s3:::${OPS}/manifests/cli.csv`, ETag: manifest.etag },
      },
      Report: { Bucket: `arn:aws:s3:::${OPS}`, Format: 'Report_CSV_20180820', Enabled: true, Prefix: 'reports/backfill', ReportScope: 'AllTasks' },
      Priority: 10,
      RoleArn: ROLE_ARN,
      Description: `lyve-replicator backfill s3://${SRC}/photos/`,
      ClientRequestToken: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(result.createJobInput).toEqual(input);
    expect(result.report).toBe(`s3://${OPS}/reports/backfill/job-${result.jobId}/`);
    expect(result.commands).toEqual({
      describe: `aws s3control --region us-east-1 describe-job --account-id ${ACCOUNT} --job-id ${result.jobId}`,
      confirm: `aws s3control --region us-east-1 update-job-status --account-id ${ACCOUNT} --job-id ${result.jobId} --requested-job-status Ready`,
      cancel: `aws s3control --region us-east-1 update-job-status --account-id ${ACCOUNT} --job-id ${result.jobId} --requested-job-status Cancelled`,
    });
    expect(run.err).toBe('');
  });

  it('prints the job and the commands to start and watch it', async () => {
    const run = await backfill([
      `s3://${SRC}/awkward/`,
      ...jobFlags(['--manifest', `s3://${OPS}/manifests/text.csv`]),
      '--priority',
      '0',
      '--region',
      'eu-west-1',
      '--schema-version',
      '1.0',
      '--description',
      'awkward keys',
      ...endpoint(),
    ]);
    const jobId = '3f6c1a2b-9d8e-4f70-a1b2-c3d4e5f60718';
    expect(run.out).toContain(`Created S3 Batch Operations job ${jobId} (account ${ACCOUNT}, region eu-west-1).`);
    expect(run.out).toContain(`It invokes ${FUNCTION_ARN} once per object (${AWKWARD_KEYS.length} objects), invocation schema 1.0.`);
    expect(run.out).toContain(
      `The job waits for your confirmation. Start it with:\n  aws s3control --region eu-west-1 update-job-status --account-id ${ACCOUNT} --job-id ${jobId} --requested-job-status Ready\n`,
    );
    expect(run.out).toContain(`Watch it with:\n  aws s3control --region eu-west-1 describe-job --account-id ${ACCOUNT} --job-id ${jobId}\n`);
    expect(run.err).toContain(`Manifest s3://${OPS}/manifests/text.csv: ${AWKWARD_KEYS.length} objects, ETag `);
    const input = control.commandCalls(CreateJobCommand)[0]!.args[0].input;
    expect(input).toMatchObject({ Priority: 0, Description: 'awkward keys', Operation: { LambdaInvoke: { InvocationSchemaVersion: '1.0' } } });
    expect(sorted(parseManifest((await read(OPS, 'manifests/text.csv')).text).map((r) => r.key))).toEqual(sorted(AWKWARD_KEYS));
  });

  it('--no-confirmation-required starts the job without waiting', async () => {
    const run = await backfill([`s3://${SRC}/paged/`, ...jobFlags(), '--no-confirmation-required', ...endpoint()]);
    expect(control.commandCalls(CreateJobCommand)[0]!.args[0].input.ConfirmationRequired).toBe(false);
    expect(run.out).toContain('The job starts as soon as S3 has read the manifest.');
    expect(run.out).not.toContain('--requested-job-status Ready');
  });

  it('warns when the manifest and report land in the source bucket; --client-request-token replaces the derived token', async () => {
    const run = await backfill([
      `s3://${SRC}/paged/`,
      '--batch-operations',
      '--function-arn',
      FUNCTION_ARN,
      '--role-arn',
      ROLE_ARN,
      '--manifest',
      `s3://${SRC}/ops/manifest.csv`,
      '--report',
      `s3://${SRC}/ops/reports`,
      '--client-request-token',
      'backfill-run-2',
      ...endpoint(),
    ]);
    expect(run.err).toContain(`warning: the manifest is written into the source bucket ${SRC}: the replication Lambda will copy it to the target too`);
    expect(run.err).toContain(`warning: the completion report goes into the source bucket ${SRC}`);
    expect(control.commandCalls(CreateJobCommand)[0]!.args[0].input.ClientRequestToken).toBe('backfill-run-2');
  });

  it('--dry-run counts the objects and shows the request, writing nothing and creating no job', async () => {
    const run = await backfill([`s3://${SRC}/paged/`, ...jobFlags(['--manifest', `s3://${OPS}/manifests/dry.csv`]), '--dry-run', '--json', ...endpoint()]);
    const result = JSON.parse(run.out) as { dryRun: boolean; objects: number; createJobInput: CreateJobCommandInput };
    expect(result).toMatchObject({ dryRun: true, objects: 7 });
    expect(result.createJobInput.Manifest?.Location?.ObjectArn).toBe(`arn:aws:s3:::${OPS}/manifests/dry.csv`);
    expect(result.createJobInput.Operation?.LambdaInvoke?.FunctionArn).toBe(FUNCTION_ARN);
    expect(await exists(OPS, 'manifests/dry.csv')).toBe(false);
    expect(control.calls()).toHaveLength(0);
  });

  it('creates no job when nothing matches', async () => {
    const run = await backfill([`s3://${SRC}/photos/`, ...jobFlags(), '--include', '*.tiff', ...endpoint()]);
    expect(run.out).toBe(`No objects under s3://${SRC}/photos/ pass the filters: no job created.\n`);
    expect(control.calls()).toHaveLength(0);
  });

  describe('with an S3 Inventory manifest', () => {
    const manifestKey = 'inventory/backfill-src/daily/2025-01-01T01-00Z/manifest.json';
    const fixture = readFileSync(new URL('../fixtures/backfill/inventory-manifest.json', import.meta.url), 'utf8');
    const inv = (key = manifestKey) => ['--inventory-manifest', `s3://${OPS}/${key}`];

    it('reads manifest.json for its ETag and creates an inventory job', async () => {
      const etag = await put(OPS, manifestKey, fixture);
      const run = await backfill([`s3://${SRC}`, ...jobFlags(inv()), '--json', ...endpoint()]);
      const input = control.commandCalls(CreateJobCommand)[0]!.args[0].input;
      expect(input.Manifest).toEqual({
        Spec: { Format: 'S3InventoryReport_CSV_20161130' },
        Location: { ObjectArn: `arn:aws:s3:::${OPS}/${manifestKey}`, ETag: etag },
      });
      expect(JSON.parse(run.out)).toMatchObject({ jobId: '3f6c1a2b-9d8e-4f70-a1b2-c3d4e5f60718', objects: null });
    });

    it('refuses an inventory of another bucket, a non-CSV inventory and a missing manifest', async () => {
      await put(OPS, 'inventory/other/daily/2025-01-01T01-00Z/manifest.json', fixture.replace('"backfill-src"', '"other-bucket"'));
      await put(OPS, 'inventory/orc/daily/2025-01-01T01-00Z/manifest.json', fixture.replace('"CSV"', '"ORC"'));
      const other = await failure([`s3://${SRC}`, ...jobFlags(inv('inventory/other/daily/2025-01-01T01-00Z/manifest.json')), ...endpoint()]);
      expect(other).toBeInstanceOf(UsageError);
      expect(other.message).toMatch(/is an inventory of bucket "other-bucket", not of the source backfill-src$/);
      const orc = await failure([`s3://${SRC}`, ...jobFlags(inv('inventory/orc/daily/2025-01-01T01-00Z/manifest.json')), ...endpoint()]);
      expect(orc.message).toMatch(/describes a ORC inventory: S3 Batch Operations reads only CSV inventories$/);
      const missing = await failure([`s3://${SRC}`, ...jobFlags(inv('inventory/none/daily/2025-01-01T01-00Z/manifest.json')), ...endpoint()]);
      expect(missing.message).toBe(`--inventory-manifest s3://${OPS}/inventory/none/daily/2025-01-01T01-00Z/manifest.json does not exist`);
      expect(control.calls()).toHaveLength(0);
    });
  });
});
