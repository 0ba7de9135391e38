/**
 * Bad input, each with the exact message users see: the CLI's stderr and exit code, the Lambda
 * handler's error or batch response, createHandler's cold-start error. The last test scans all
 * that output (and the Powertools log lines, captured from stdout/stderr) for secret values.
 */
import { CreateBucketCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, ResourceNotFoundException, SecretsManagerClient, SecretsManagerServiceException } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createHandler, type HandlerDependencies } from '../../src/lambda/handler.js';
import { lambdaContext, s3Event, s3Record, sqsEvent } from '../support/lambda.js';
import { putObject, rgwClients, uniqueBucket } from '../support/s3.js';
import { cli, transcript } from '../support/cli.js';

const rgw = inject('rgw');
const { source, target } = rgwClients();
const src = uniqueBucket('bad-src');
const dst = uniqueBucket('bad-dst');
/** Secret values used below: none may appear in any output. */
const WRONG_SECRET = 'wrong-secret-0123456789abcdefghijklmnopq';
const MOCK_ACCESS = 'AKLYVEMOCKACCESS0042';
const MOCK_SECRET = 'mOcK/sEcReT+value=0123456789abcdefghijk';
/** A secret key pasted where the secret's name belongs (the sample calls that variable SECRET_KEY). */
const PASTED_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const LONG = `long/${'x'.repeat(1000)}`; // 1,005 bytes: fine on the source, too long under a 30-byte target prefix

beforeAll(async () => {
  await source.send(new CreateBucketCommand({ Bucket: src }));
  await target.send(new CreateBucketCommand({ Bucket: dst }));
  await putObject(source, src, 'ok.txt', Buffer.from('fine'));
  await source.send(new PutObjectCommand({ Bucket: src, Key: LONG, Body: 'long key' }));
});

const sync = (extra: string[], env: Record<string, string> = {}) =>
  cli(['sync', `s3://${src}`, ...extra, '--source-endpoint', rgw.endpoint], env);

describe('the CLI', () => {
  it.each<[string, string[], Record<string, string>, string, number]>([
    ['no target', [], {}, "lyve-replicator: missing required argument 'target' (see lyve-replicator --help)\n", 2],
    ['empty target bucket', ['s3://'], {}, 'lyve-replicator: target "s3://" is not an S3 location: write it as s3://BUCKET or s3://BUCKET/PREFIX\n', 2],
    [
      'endpoint without scheme',
      [`s3://${dst}`, '--target-endpoint', 'lyve.example.com'],
      {},
      'lyve-replicator: --target-endpoint "lyve.example.com" has no scheme: write it as https://lyve.example.com\n',
      2,
    ],
    [
      'LC_ENDPOINT_URL without scheme',
      [`s3://${dst}`],
      { LC_ENDPOINT_URL: 's3.us-east-1.lyvecloud.seagate.com' },
      'lyve-replicator: LC_ENDPOINT_URL "s3.us-east-1.lyvecloud.seagate.com" has no scheme: write it as https://s3.us-east-1.lyvecloud.seagate.com\n',
      2,
    ],
    [
      'unknown host',
      [`s3://${dst}`, '--target-endpoint', 'https://no-such-host.invalid'],
      {},
      'lyve-replicator: target endpoint host "no-such-host.invalid" could not be resolved (DNS ENOTFOUND): check the URL in --target-endpoint (https://no-such-host.invalid)\n',
      2,
    ],
    [
      'unknown host in LC_ENDPOINT_URL',
      [`s3://${dst}`],
      { LC_ENDPOINT_URL: 'https://no-such-host.invalid' },
      'lyve-replicator: target endpoint host "no-such-host.invalid" could not be resolved (DNS ENOTFOUND): check the URL in LC_ENDPOINT_URL (https://no-such-host.invalid)\n',
      2,
    ],
    [
      'plain http to a non-loopback host',
      [`s3://${dst}`, '--target-endpoint', 'http://lyve.example.com'],
      {},
      'lyve-replicator: --target-endpoint "http://lyve.example.com" uses plain http to a non-loopback host: use https://, or pass --allow-insecure-http to allow it\n',
      2,
    ],
    [
      'wrong secret key (403)',
      [`s3://${dst}`],
      { LC_SECRET_KEY: WRONG_SECRET },
      'lyve-replicator: the target rejected the credentials (SignatureDoesNotMatch): check the target access key and secret key (from LC_ACCESS_KEY and LC_SECRET_KEY)\n',
      2,
    ],
    [
      'unknown access key (403)',
      [`s3://${dst}`],
      { LC_ACCESS_KEY: 'NOSUCHACCESSKEY00000' },
      'lyve-replicator: the target rejected the credentials (InvalidAccessKeyId): check the target access key and secret key (from LC_ACCESS_KEY and LC_SECRET_KEY)\n',
      2,
    ],
    [
      'wrong source keys',
      [`s3://${dst}`],
      { AWS_SECRET_ACCESS_KEY: WRONG_SECRET },
      'lyve-replicator: the source rejected the credentials (SignatureDoesNotMatch): check the source keys (from the AWS credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, role))\n',
      2,
    ],
    [
      'target bucket missing (404)',
      ['s3://no-such-target-bucket'],
      {},
      'lyve-replicator: target bucket "no-such-target-bucket" does not exist (NoSuchBucket): create it or correct the target bucket name\n',
      2,
    ],
  ])('%s', async (_name, args, env, message, code) => {
    const run = await sync(args, env);
    expect(run.stderr).toBe(message);
    expect(run.stdout).toBe('');
    expect(run.code).toBe(code);
  });

  it('a key longer than 1,024 bytes on the target fails that object only, saying why', async () => {
    const prefix = `${'p'.repeat(29)}/`;
    const run = await cli(['sync', `s3://${src}/long/`, `s3://${dst}/${prefix}`, '--source-endpoint', rgw.endpoint]);
    expect(run.stderr).toContain(`failed       ${LONG}: target key is 1030 bytes of UTF-8; S3 keys are at most 1024 bytes\n`);
    expect(run.stderr).toMatch(/0 replicated, 0 identical, 0 deleted, 1 failed/);
    expect(run.code).toBe(1);
  });
});

describe('the Lambda handler', () => {
  const output: string[] = [];
  const secretsManager = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const mock = mockClient(secretsManager);
  const logger = new Logger({ serviceName: 'lyve-replicator', logLevel: 'DEBUG' });
  beforeAll(() => {
    // Powertools writes its JSON lines to stdout (and stderr); keep every byte for the scan.
    for (const stream of [process.stdout, process.stderr]) {
      vi.spyOn(stream, 'write').mockImplementation((chunk: string | Uint8Array) => {
        output.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
        return true;
      });
    }
  });
  afterAll(() => {
    vi.restoreAllMocks();
    transcript.push(...output);
  });

  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
    TARGET_BUCKET: dst,
    LC_ACCESS_KEY: rgw.target.accessKeyId,
    LC_SECRET_KEY: rgw.target.secretAccessKey,
    LC_ENDPOINT_URL: rgw.endpoint,
    ...extra,
  });
  const handler = (extra: Record<string, string> = {}, deps: HandlerDependencies = {}) => createHandler({ env: env(extra), source, logger, ...deps });
  /** The error a handler call fails with, as the Lambda service reports it. */
  const failure = async (call: Promise<unknown>): Promise<string> => {
    const error = await call.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    transcript.push(error!.message);
    return error!.message;
  };
  const coldStart = (values: NodeJS.ProcessEnv): string => {
    try {
      createHandler({ env: values, source, logger });
    } catch (error) {
      transcript.push((error as Error).message);
      return (error as Error).message;
    }
    throw new Error('createHandler accepted the configuration');
  };

  it.each([
    ['missing', {}],
    ['empty', { TARGET_BUCKET: '' }],
  ])('%s TARGET_BUCKET fails at cold start', (_name, extra) => {
    const { TARGET_BUCKET: _, ...rest } = env();
    expect(coldStart({ ...rest, ...extra })).toBe(
      'Invalid Lambda configuration (1 problem):\n- TARGET_BUCKET is not set: set it to the name of the target bucket to copy objects into',
    );
  });

  it('LC_ENDPOINT_URL without scheme, or plain http to another host, fails at cold start', () => {
    expect(coldStart(env({ LC_ENDPOINT_URL: 's3.us-east-1.lyvecloud.seagate.com' }))).toBe(
      'Invalid Lambda configuration (1 problem):\n- LC_ENDPOINT_URL "s3.us-east-1.lyvecloud.seagate.com" has no scheme: write it as https://s3.us-east-1.lyvecloud.seagate.com',
    );
    expect(coldStart(env({ LC_ENDPOINT_URL: 'http://lyve.example.com' }))).toBe(
      'Invalid Lambda configuration (1 problem):\n- LC_ENDPOINT_URL "http://lyve.example.com" uses plain http to a non-loopback host: use https://, or set ALLOW_INSECURE_HTTP=true to allow it',
    );
  });

  describe('the target secret', () => {
    const SECRET_ID = 'lyve/replicator';
    const withSecret = () => handler({ LC_ACCESS_KEY: '', LC_SECRET_KEY: '', LC_ENDPOINT_URL: '', TARGET_SECRET_ID: SECRET_ID }, { secretsManager });
    const event = () => s3Event({ bucket: src, key: 'ok.txt' });

    it('not found', async () => {
      mock.reset();
      mock.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
      expect(await failure(withSecret()(event(), lambdaContext()))).toBe(
        '1 object(s) failed: ok.txt: invalid-request: Secret "lyve/replicator" was not found: create it in Secrets Manager (in this function\'s region, or give its full ARN), or fix TARGET_SECRET_ID / SECRET_KEY',
      );
    });

    it('not JSON', async () => {
      mock.reset();
      mock.on(GetSecretValueCommand).resolves({ SecretString: `lc_access_key=${MOCK_ACCESS}\nlc_secret_key=${MOCK_SECRET}` });
      expect(await failure(withSecret()(event(), lambdaContext()))).toBe(
        '1 object(s) failed: ok.txt: invalid-request: Secret "lyve/replicator" is not valid JSON: store it as {"lc_access_key": "...", "lc_secret_key": "...", "lc_endpoint_url": "https://..."}',
      );
    });

    it('missing a field', async () => {
      mock.reset();
      mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ lc_access_key: MOCK_ACCESS, lc_secret_key: MOCK_SECRET }) });
      expect(await failure(withSecret()(event(), lambdaContext()))).toBe(
        '1 object(s) failed: ok.txt: invalid-request: Secret "lyve/replicator" lacks lc_endpoint_url: add it to the secret\'s JSON as non-empty strings (names are case-sensitive)',
      );
    });

    it('with the secret key pasted as the endpoint', async () => {
      mock.reset();
      mock.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify({ lc_access_key: MOCK_ACCESS, lc_secret_key: MOCK_SECRET, lc_endpoint_url: MOCK_SECRET }) });
      expect(await failure(withSecret()(event(), lambdaContext()))).toBe(
        '1 object(s) failed: ok.txt: invalid-request: lc_endpoint_url in secret "lyve/replicator" "***" has no scheme: write it as https://***',
      );
    });
    it('throttled: the object fails as retryable, and Batch Operations retries the task', async () => {
      mock.reset();
      mock.on(GetSecretValueCommand).rejects(
        new SecretsManagerServiceException({ name: 'ThrottlingException', message: 'Rate exceeded', $fault: 'client', $metadata: { httpStatusCode: 400 } }),
      );
      expect(await failure(withSecret()(event(), lambdaContext()))).toBe(
        '1 object(s) failed: ok.txt: unavailable: Could not read secret "lyve/replicator" (will retry): ThrottlingException: Rate exceeded',
      );
      const reply = await withSecret()(
        {
          invocationSchemaVersion: '2.0',
          invocationId: 'inv-1',
          job: { id: 'job-1', userArguments: {} },
          tasks: [{ taskId: 't1', s3Bucket: src, s3Key: 'ok.txt', s3VersionId: null }],
        },
        lambdaContext(),
      );
      expect(reply).toMatchObject({ results: [{ taskId: 't1', resultCode: 'TemporaryFailure' }] });
    });

    it('a key pasted in place of the secret name is never quoted', async () => {
      mock.reset();
      mock.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
      const pasted = handler({ LC_ACCESS_KEY: '', LC_SECRET_KEY: '', LC_ENDPOINT_URL: '', SECRET_KEY: PASTED_KEY }, { secretsManager });
      expect(await failure(pasted(event(), lambdaContext()))).toBe(
        "1 object(s) failed: ok.txt: invalid-request: Secret named by TARGET_SECRET_ID / SECRET_KEY (40 characters, not shown: it looks like a key, not a secret name) was not found: create it in Secrets Manager (in this function's region, or give its full ARN), or fix TARGET_SECRET_ID / SECRET_KEY",
      );
      const reply = await pasted(
        { invocationSchemaVersion: '1.0', invocationId: 'inv-2', job: { id: 'job-2' }, tasks: [{ taskId: 't1', s3BucketArn: `arn:aws:s3:::${src}`, s3Key: 'ok.txt' }] },
        lambdaContext(),
      );
      transcript.push(JSON.stringify(reply));
      expect(reply).toMatchObject({ results: [{ taskId: 't1', resultCode: 'PermanentFailure' }] });
    });
  });

  it('unknown endpoint host', async () => {
    expect(await failure(handler({ LC_ENDPOINT_URL: 'https://no-such-host.invalid' })(s3Event({ bucket: src, key: 'ok.txt' }), lambdaContext()))).toBe(
      '1 object(s) failed: ok.txt: unavailable: target is unavailable for s3:GetObject (Error: target endpoint host "no-such-host.invalid" could not be resolved (DNS ENOTFOUND): check the URL in LC_ENDPOINT_URL (https://no-such-host.invalid)); try again later',
    );
  });

  it('wrong keys (403)', async () => {
    expect(await failure(handler({ LC_SECRET_KEY: WRONG_SECRET })(s3Event({ bucket: src, key: 'ok.txt' }), lambdaContext()))).toBe(
      '1 object(s) failed: ok.txt: target-credentials: the target rejected the credentials (SignatureDoesNotMatch): check the target access key and secret key',
    );
  });

  it('target bucket missing (404)', async () => {
    expect(await failure(handler({ TARGET_BUCKET: 'no-such-target-bucket' })(s3Event({ bucket: src, key: 'ok.txt' }), lambdaContext()))).toBe(
      '1 object(s) failed: ok.txt: target-bucket-missing: target bucket "no-such-target-bucket" does not exist (NoSuchBucket): create it or correct the target bucket name',
    );
  });

  it('malformed events', async () => {
    expect(await failure(handler()({ hello: 'world' }, lambdaContext()))).toBe(
      'unrecognised event: expected SQS, S3, SNS, EventBridge (aws.s3) or S3 Batch Operations; check what invokes this function',
    );
    const record = s3Record({ bucket: src, key: 'ok.txt' }) as { s3: { object: Record<string, unknown> } };
    delete record.s3.object.key;
    expect(await failure(handler()({ Records: [record] }, lambdaContext()))).toBe('1 object(s) failed: S3 event record 0: Records[0].s3.object.key must be a non-empty string');
    const response = await handler()(sqsEvent(['this is not json', JSON.stringify(s3Event({ bucket: src, key: 'ok.txt' }))]), lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-0' }] });
    const logged = output.join('').split('\n').filter((l) => l.includes('"malformed event"')).map((l) => JSON.parse(l) as { error: string });
    expect(logged.at(-1)!.error).toBe(
      'message body is not JSON (expected an S3 event notification ({"Records": [...]}), an s3:TestEvent, an SNS Notification wrapping one, an EventBridge event from aws.s3, or a lyveReplicatorContinuation message): "this is not json"',
    );
  });

  it('a malformed record fails alone; the good records of the event are replicated', async () => {
    await source.send(new PutObjectCommand({ Bucket: src, Key: 'mixed/good.txt', Body: 'good' }));
    const bad = s3Record({ bucket: src, key: 'mixed/other.txt' });
    delete bad.eventSource;
    expect(await failure(handler()({ Records: [s3Record({ bucket: src, key: 'mixed/good.txt' }), bad, null] }, lambdaContext()))).toBe(
      '2 object(s) failed: S3 event record 1: Records[1].eventSource must be a non-empty string; S3 event record 2: Records[2] must be an object, got null',
    );
    expect((await target.send(new GetObjectCommand({ Bucket: dst, Key: 'mixed/good.txt' }))).ContentLength).toBe(4);
    expect(await handler()({ Records: [] }, lambdaContext())).toEqual({ failures: 0 });
  });

  it('an event from a source bucket that does not exist', async () => {
    expect(await failure(handler({ REPLICATE_DELETES: 'true' })(s3Event({ bucket: 'no-such-source-bucket', key: 'ok.txt' }), lambdaContext()))).toBe(
      '1 object(s) failed: ok.txt: source-bucket-missing: source bucket "no-such-source-bucket" does not exist (NoSuchBucket): create it or correct the source bucket name',
    );
  });

  it('an event from a bucket that is not a configured source', async () => {
    expect(await failure(handler({ SOURCE_BUCKETS: 'the-real-source,another' })(s3Event({ bucket: src, key: 'ok.txt' }), lambdaContext()))).toBe(
      `1 object(s) failed: ok.txt: invalid-request: Event from source bucket "${src}", which is not in SOURCE_BUCKETS (the-real-source, another): add it to SOURCE_BUCKETS, or remove the bucket's event notification for this function`,
    );
  });

  it('a key longer than 1,024 bytes', async () => {
    const key = 'k'.repeat(1025);
    expect(await failure(handler()(s3Event({ bucket: src, key }), lambdaContext()))).toBe(
      `1 object(s) failed: ${key}: invalid-request: source key is 1025 bytes of UTF-8; S3 keys are at most 1024 bytes`,
    );
  });
});

describe('no secret in any output', () => {
  it('no secret value appears in what the scenarios above printed, logged or returned', () => {
    const text = transcript.join('\n');
    expect(text.length).toBeGreaterThan(2000); // the scenarios did print
    expect(text).toContain('"level":"ERROR"'); // Powertools lines are in the scan
    for (const secret of [rgw.target.secretAccessKey, rgw.source.secretAccessKey, WRONG_SECRET, MOCK_SECRET, MOCK_ACCESS, PASTED_KEY]) {
      expect(text.includes(secret), `a secret value (${secret.slice(0, 4)}…) appears in the output`).toBe(false);
    }
  });
});
