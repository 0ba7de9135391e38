/**
 * The Lambda handler end to end: every event shape through the real handler against Ceph RGW
 * (source and target users), reading the target back. Only Secrets Manager is mocked, at the
 * SDK boundary.
 */
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { Logger } from '@aws-lambda-powertools/logger';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeAll, describe, expect, it, inject, vi } from 'vitest';
import { createHandler, type HandlerDependencies } from '../../src/lambda/handler.js';
import { createMetrics } from '../../src/lambda/observability.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { createBucket, md5Hex, openUploads, putObject, randomBody, readBack, readTags, rgwClients, uniqueBucket } from '../support/s3.js';
import { eventBridgeEvent, lambdaContext, s3Event, snsEnvelope, sqsEvent } from '../support/lambda.js';

const rgw = inject('rgw');
const { source, target } = rgwClients();
const src = uniqueBucket('lambda-src');
const dst = uniqueBucket('lambda-dst');

beforeAll(async () => {
  await createBucket(source, src);
  await createBucket(target, dst);
});

function env(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    TARGET_BUCKET: dst,
    LC_ACCESS_KEY: rgw.target.accessKeyId,
    LC_SECRET_KEY: rgw.target.secretAccessKey,
    LC_ENDPOINT_URL: rgw.endpoint,
    ...extra,
  };
}

function handlerWith(extra: Record<string, string> = {}, deps: HandlerDependencies = {}) {
  return createHandler({ env: env(extra), source, ...deps });
}

async function exists(key: string): Promise<boolean> {
  return target.send(new HeadObjectCommand({ Bucket: dst, Key: key })).then(
    () => true,
    () => false,
  );
}

/** Captures what the handler prints (Powertools logs and EMF metrics are JSON lines on stdout). */
function captureStdout(): { lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return true;
  });
  afterEach(() => spy.mockRestore());
  const text = () => chunks.join('');
  return {
    text,
    lines: () =>
      text()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
  };
}

describe('S3 event notifications invoked directly', () => {
  it('replicates every record, decoding form-encoded keys, with headers intact', async () => {
    const keys = ['direct/one.txt', 'direct/with space+plus.txt', 'direct/ü 😀 %25.bin'];
    const bodies = keys.map(() => randomBody(5000));
    for (const [i, key] of keys.entries()) {
      await putObject(source, src, key, bodies[i]!, { ContentType: 'text/x-test', Metadata: { n: String(i) } });
    }
    const result = await handlerWith()(s3Event(...keys.map((key) => ({ bucket: src, key }))), lambdaContext());
    expect(result).toEqual({ failures: 0 });
    for (const [i, key] of keys.entries()) {
      const replica = await readBack(target, dst, key);
      expect(replica.md5).toBe(md5Hex(bodies[i]!));
      expect(replica.head.ContentType).toBe('text/x-test');
      expect(replica.head.Metadata).toMatchObject({ n: String(i) });
    }
  });

  it('acknowledges s3:TestEvent', async () => {
    const event = { Service: 'Amazon S3', Event: 's3:TestEvent', Time: new Date().toISOString(), Bucket: src, RequestId: 'X', HostId: 'Y' };
    await expect(handlerWith()(event, lambdaContext())).resolves.toEqual({ acknowledged: 's3:TestEvent' });
  });

  it('fails the invocation, naming the object, when a record fails', async () => {
    await expect(
      handlerWith({ SOURCE_BUCKETS: 'some-other-bucket' })(s3Event({ bucket: src, key: 'direct/one.txt' }), lambdaContext()),
    ).rejects.toThrow(/direct\/one\.txt.*not in SOURCE_BUCKETS/);
  });

  it('rejects an unknown event with a clear message', async () => {
    await expect(handlerWith()({ hello: 'world' }, lambdaContext())).rejects.toThrow(/unrecognised event: expected SQS, S3, SNS/);
  });
});

describe('SQS, SNS and EventBridge', () => {
  it('reports only the bad message in batchItemFailures', async () => {
    await putObject(source, src, 'sqs/a.bin', randomBody(100));
    await putObject(source, src, 'sqs/b.bin', randomBody(200));
    const event = sqsEvent([
      JSON.stringify(s3Event({ bucket: src, key: 'sqs/a.bin' })),
      'this is not json',
      JSON.stringify(snsEnvelope(JSON.stringify(s3Event({ bucket: src, key: 'sqs/b.bin' })))),
      JSON.stringify(snsEnvelope(JSON.stringify({ Service: 'Amazon S3', Event: 's3:TestEvent' }))),
    ]);
    const response = await handlerWith()(event, lambdaContext());
    expect(response).toEqual({ batchItemFailures: [{ itemIdentifier: 'message-1' }] });
    expect(await exists('sqs/a.bin')).toBe(true);
    expect(await exists('sqs/b.bin')).toBe(true);
  });

  it('handles SNS records invoking the function directly', async () => {
    await putObject(source, src, 'sns/direct.bin', randomBody(300));
    const event = {
      Records: [
        {
          EventSource: 'aws:sns',
          EventVersion: '1.0',
          EventSubscriptionArn: 'arn:aws:sns:us-east-1:123456789012:s3-events:EXAMPLE',
          Sns: snsEnvelope(JSON.stringify(s3Event({ bucket: src, key: 'sns/direct.bin' }))),
        },
      ],
    };
    await expect(handlerWith()(event, lambdaContext())).resolves.toEqual({ failures: 0 });
    expect(await exists('sns/direct.bin')).toBe(true);
  });

  it('replicates on EventBridge Object Created and deletes on Object Deleted (deletes on)', async () => {
    const key = 'eventbridge/object.bin';
    await putObject(source, src, key, randomBody(400));
    const handler = handlerWith({ REPLICATE_DELETES: 'true' });
    await handler(eventBridgeEvent('Object Created', src, key), lambdaContext());
    expect(await exists(key)).toBe(true);
    await source.send(new DeleteObjectCommand({ Bucket: src, Key: key }));
    await handler(eventBridgeEvent('Object Deleted', src, key), lambdaContext());
    expect(await exists(key)).toBe(false);
  });
});

describe('EventBridge keys read two ways (raw and form-decoded)', () => {
  it('the reading that names no object neither deletes another object nor counts', async () => {
    // The target has an object of its own whose name is the decoded reading of the event's key.
    await putObject(target, dst, 'eb-keys/a b.jpg', Buffer.from('not a replica'));
    await putObject(source, src, 'eb-keys/a+b.jpg', randomBody(10));
    const outcomes: string[] = [];
    const out = captureStdout();
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const metrics = createMetrics();
    vi.unstubAllEnvs();
    const handler = handlerWith(
      { REPLICATE_DELETES: 'true' },
      { metrics, onOutcome: (o) => outcomes.push(`${o.task.key}: ${o.result.status} ${'reason' in o.result ? o.result.reason : ''}`.trim()) },
    );
    await expect(handler(eventBridgeEvent('Object Created', src, 'eb-keys/a+b.jpg'), lambdaContext())).resolves.toEqual({ failures: 0 });
    expect(outcomes.sort()).toEqual(['eb-keys/a b.jpg: ignored no-such-key', 'eb-keys/a+b.jpg: replicated']);
    expect(await exists('eb-keys/a+b.jpg')).toBe(true);
    expect(await exists('eb-keys/a b.jpg')).toBe(true);
    const emf = out.lines().find((line) => '_aws' in line)!;
    expect(emf.ObjectsReplicated).toBe(1);
    expect(emf.ObjectsSkipped).toBeUndefined();

    outcomes.length = 0;
    await source.send(new DeleteObjectCommand({ Bucket: src, Key: 'eb-keys/a+b.jpg' }));
    await expect(handler(eventBridgeEvent('Object Deleted', src, 'eb-keys/a+b.jpg'), lambdaContext())).resolves.toEqual({ failures: 0 });
    expect(outcomes.sort()).toEqual(['eb-keys/a b.jpg: ignored no-such-key', 'eb-keys/a+b.jpg: deleted']);
    expect(await exists('eb-keys/a b.jpg')).toBe(true);
  });

  it('a decoded reading that is a stale replica of this bucket goes, as any stale replica does', async () => {
    await putObject(source, src, 'eb-keys/c d.bin', randomBody(10));
    await putObject(source, src, 'eb-keys/c+d.bin', randomBody(10));
    const handler = handlerWith({ REPLICATE_DELETES: 'true' });
    await handler(s3Event({ bucket: src, key: 'eb-keys/c d.bin' }), lambdaContext());
    await source.send(new DeleteObjectCommand({ Bucket: src, Key: 'eb-keys/c d.bin' }));
    await expect(handler(eventBridgeEvent('Object Created', src, 'eb-keys/c+d.bin'), lambdaContext())).resolves.toEqual({ failures: 0 });
    expect(await exists('eb-keys/c+d.bin')).toBe(true);
    expect(await exists('eb-keys/c d.bin')).toBe(false);
  });

  it('a key holding a literal %00 replicates without a failed reading', async () => {
    const key = 'eb-keys/x%00y';
    await putObject(source, src, key, randomBody(10));
    await expect(handlerWith()(eventBridgeEvent('Object Created', src, key), lambdaContext())).resolves.toEqual({ failures: 0 });
    expect(await exists(key)).toBe(true);
  });
});

describe('deletes and tags', () => {
  it('ignores deletes unless REPLICATE_DELETES is on, and never deletes a re-created key', async () => {
    const key = 'deletes/recreated.bin';
    await putObject(source, src, key, randomBody(10));
    await handlerWith()(s3Event({ bucket: src, key }), lambdaContext());
    await source.send(new DeleteObjectCommand({ Bucket: src, Key: key }));
    await handlerWith()(s3Event({ bucket: src, key, eventName: 'ObjectRemoved:Delete' }), lambdaContext());
    expect(await exists(key)).toBe(true);

    const v2 = randomBody(20);
    await putObject(source, src, key, v2); // re-created before the delete event is handled
    await handlerWith({ REPLICATE_DELETES: 'yes' })(s3Event({ bucket: src, key, eventName: 'ObjectRemoved:Delete' }), lambdaContext());
    expect((await readBack(target, dst, key)).md5).toBe(md5Hex(v2));
  });

  it('updates tags on ObjectTagging events when tag replication is on', async () => {
    const key = 'tags/object.bin';
    await putObject(source, src, key, randomBody(10), { Tagging: 'a=1' });
    const handler = handlerWith({ REPLICATE_TAGS: 'true' });
    await handler(s3Event({ bucket: src, key }), lambdaContext());
    expect(await readTags(target, dst, key)).toEqual({ a: '1' });
    const { PutObjectTaggingCommand } = await import('@aws-sdk/client-s3');
    await source.send(new PutObjectTaggingCommand({ Bucket: src, Key: key, Tagging: { TagSet: [{ Key: 'b', Value: '2' }] } }));
    await handler(s3Event({ bucket: src, key, eventName: 'ObjectTagging:Put' }), lambdaContext());
    expect(await readTags(target, dst, key)).toEqual({ b: '2' });
  });
});

describe('S3 Batch Operations', () => {
  it.each(['1.0', '2.0'])('answers every task of schema %s', async (version) => {
    await putObject(source, src, `batch/${version}/a b.bin`, randomBody(100));
    const task = (taskId: string, key: string) => ({
      taskId,
      s3Key: encodeURIComponent(key),
      s3VersionId: null,
      ...(version === '1.0' ? { s3BucketArn: `arn:aws:s3:::${src}` } : { s3Bucket: src }),
    });
    const event = {
      invocationSchemaVersion: version,
      invocationId: 'invocation-1',
      job: { id: 'job-1', ...(version === '2.0' && { userArguments: {} }) },
      tasks: [task('t1', `batch/${version}/a b.bin`), task('t2', `batch/${version}/missing.bin`)],
    };
    const response = (await handlerWith()(event, lambdaContext())) as { results: { taskId: string; resultCode: string; resultString: string }[] };
    expect(response).toMatchObject({ invocationSchemaVersion: version, invocationId: 'invocation-1', treatMissingKeysAs: 'PermanentFailure' });
    expect(response.results).toEqual([
      { taskId: 't1', resultCode: 'Succeeded', resultString: 'replicated 100 bytes' },
      { taskId: 't2', resultCode: 'Succeeded', resultString: 'skipped: source-missing' },
    ]);
    expect(await exists(`batch/${version}/a b.bin`)).toBe(true);
  });

  it('reports a wrong target as a permanent failure per task', async () => {
    await putObject(source, src, 'batch/x.bin', randomBody(10));
    const event = {
      invocationSchemaVersion: '2.0',
      invocationId: 'invocation-2',
      job: { id: 'job-2', userArguments: {} },
      tasks: [{ taskId: 't1', s3Key: 'batch/x.bin', s3VersionId: null, s3Bucket: src }],
    };
    const response = (await handlerWith({ TARGET_BUCKET: 'no-such-target-bucket' })(event, lambdaContext())) as {
      results: { resultCode: string; resultString: string }[];
    };
    expect(response.results[0]).toMatchObject({ resultCode: 'PermanentFailure' });
    expect(response.results[0]!.resultString).toContain('"no-such-target-bucket" does not exist');
  });
});

describe('the target secret', () => {
  const secretsManager = mockClient(SecretsManagerClient);
  afterEach(() => secretsManager.reset());
  const secret = (accessKey: string, secretKey: string) =>
    JSON.stringify({ lc_access_key: accessKey, lc_secret_key: secretKey, lc_endpoint_url: rgw.endpoint });

  it('is read once and cached across invocations, under the sample variable names', async () => {
    secretsManager.on(GetSecretValueCommand).resolves({ SecretString: secret(rgw.target.accessKeyId, rgw.target.secretAccessKey) });
    await putObject(source, src, 'secret/a.bin', randomBody(10));
    const handler = createHandler({
      env: { TARGET_BUCKET: dst, SECRET_KEY: 'lyve/credentials', REGION: 'us-east-1' },
      source,
      secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
    });
    await handler(s3Event({ bucket: src, key: 'secret/a.bin' }), lambdaContext());
    await handler(s3Event({ bucket: src, key: 'secret/a.bin' }), lambdaContext());
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(1);
    expect(secretsManager.commandCalls(GetSecretValueCommand)[0]!.args[0].input).toMatchObject({ SecretId: 'lyve/credentials' });
  });

  it('is re-read once when the target rejects the keys (rotation), and no key is ever logged', async () => {
    const out = captureStdout();
    const stale = 'stale-secret-value-0123456789abcdefghijk';
    secretsManager
      .on(GetSecretValueCommand)
      .resolvesOnce({ SecretString: secret('STALEKEYSTALEKEY0000', stale) })
      .resolves({ SecretString: secret(rgw.target.accessKeyId, rgw.target.secretAccessKey) });
    await putObject(source, src, 'secret/rotated.bin', randomBody(10));
    const handler = createHandler({
      env: { TARGET_BUCKET: dst, TARGET_SECRET_ID: 'lyve/rotating' },
      source,
      secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
    });
    await expect(handler(s3Event({ bucket: src, key: 'secret/rotated.bin' }), lambdaContext())).resolves.toEqual({ failures: 0 });
    expect(secretsManager.commandCalls(GetSecretValueCommand)).toHaveLength(2);
    expect(await exists('secret/rotated.bin')).toBe(true);
    expect(out.text()).not.toContain(stale);
    expect(out.text()).not.toContain(rgw.target.secretAccessKey);
  });

  it('keys revoked in the middle of a multipart copy: the upload they left is aborted with the new keys', async () => {
    const body = randomBody(12 * 1024 * 1024);
    await putObject(source, src, 'secret/rotated-mid-copy.bin', body);
    // From the third part on the target refuses the keys, until the secret has been read again.
    let revoked = false;
    let parts = 0;
    let reads = 0;
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      intercept: (r) => {
        if (r.method === 'PUT' && /(^|&)partNumber=/.test(r.query) && ++parts === 3) revoked = true;
        return revoked ? { status: 403, code: 'InvalidAccessKeyId', message: 'The AWS Access Key Id you provided does not exist in our records.' } : undefined;
      },
    });
    secretsManager.on(GetSecretValueCommand).callsFake(() => {
      if (++reads === 2) revoked = false;
      return { SecretString: JSON.stringify({ lc_access_key: rgw.target.accessKeyId, lc_secret_key: rgw.target.secretAccessKey, lc_endpoint_url: proxy.endpoint }) };
    });
    try {
      const handler = createHandler({
        env: { TARGET_BUCKET: dst, TARGET_SECRET_ID: 'lyve/rotating-mid-copy', PART_SIZE_MIB: '5', CONCURRENCY: '1' },
        source,
        secretsManager: new SecretsManagerClient({ region: 'us-east-1' }),
      });
      await expect(handler(s3Event({ bucket: src, key: 'secret/rotated-mid-copy.bin' }), lambdaContext())).resolves.toEqual({ failures: 0 });
      expect(reads).toBe(2);
      expect((await readBack(target, dst, 'secret/rotated-mid-copy.bin')).md5).toBe(md5Hex(body));
      expect(await openUploads(target, dst)).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});

describe('observability', () => {
  it('logs one JSON summary line per object with request id and key, and EMF metrics', async () => {
    const out = captureStdout();
    await putObject(source, src, 'observe/a.bin', randomBody(1234));
    const context = lambdaContext();
    const logger = new Logger({ serviceName: 'lyve-replicator', logLevel: 'INFO' });
    vi.stubEnv('POWERTOOLS_METRICS_DISABLED', 'false');
    const metrics = createMetrics();
    vi.unstubAllEnvs();
    await handlerWith({}, { logger, metrics })(s3Event({ bucket: src, key: 'observe/a.bin', eventTime: new Date(Date.now() - 1000) }), context);
    const lines = out.lines();
    const summary = lines.find((l) => l.message === 'object replicated');
    expect(summary).toMatchObject({
      level: 'INFO',
      service: 'lyve-replicator',
      function_request_id: context.awsRequestId,
      objectKey: 'observe/a.bin',
      bucket: src,
      bytes: 1234,
    });
    expect(summary!.lagMs as number).toBeGreaterThanOrEqual(1000);
    const emf = lines.find((l) => '_aws' in l) as Record<string, unknown> | undefined;
    expect(emf).toBeDefined();
    const names = ((emf!._aws as { CloudWatchMetrics: { Metrics: { Name: string }[] }[] }).CloudWatchMetrics[0]!.Metrics).map((m) => m.Name);
    expect(names).toEqual(expect.arrayContaining(['ObjectsReplicated', 'BytesReplicated', 'ReplicationDuration', 'ReplicationLag']));
    expect(emf!.BytesReplicated).toBe(1234);
    expect(out.text()).not.toContain(rgw.target.secretAccessKey);
  });

  it('says cold_start true on the first invocation’s object lines only', async () => {
    const out = captureStdout();
    await putObject(source, src, 'observe/cold.bin', randomBody(10));
    // As Lambda starts a container: on demand, so its first invocation is a cold start.
    vi.stubEnv('AWS_LAMBDA_INITIALIZATION_TYPE', 'on-demand');
    try {
      const logger = new Logger({ serviceName: 'lyve-replicator', logLevel: 'INFO' });
      const handler = handlerWith({}, { logger });
      for (let i = 0; i < 2; i++) await handler(s3Event({ bucket: src, key: 'observe/cold.bin' }), lambdaContext());
    } finally {
      vi.unstubAllEnvs();
    }
    const objectLines = out.lines().filter((l) => l.objectKey === 'observe/cold.bin');
    expect(objectLines.map((l) => l.cold_start)).toEqual([true, false]);
  });

  it('an ignored event names its bucket and key; every malformed event gets its own error line', async () => {
    const out = captureStdout();
    const logger = new Logger({ serviceName: 'lyve-replicator', logLevel: 'INFO' });
    const handler = handlerWith({}, { logger });
    await handler(s3Event({ bucket: src, key: 'observe/acl changed+1', eventName: 'ObjectAcl:Put' }), lambdaContext());
    expect(out.lines().find((l) => l.message === 'event ignored')).toMatchObject({ bucket: src, objectKey: 'observe/acl changed+1', reason: expect.stringContaining('ACLs') });

    const malformed: [string, unknown][] = [
      ['SNS record 0', { Records: [{ EventSource: 'aws:sns', EventVersion: '1.0', Sns: { Type: 'SubscriptionConfirmation', Message: 'confirm' } }] }],
      ['S3 Batch Operations', { invocationSchemaVersion: '3.0', invocationId: 'x', job: { id: 'j' }, tasks: [{ taskId: 't', s3Key: 'k', s3BucketArn: `arn:aws:s3:::${src}` }] }],
    ];
    // Powertools writes ERROR lines to stderr.
    const errors: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
      errors.push(...String(chunk).split('\n').filter((line) => line.startsWith('{')));
      return true;
    });
    try {
      for (const [where, event] of malformed) await expect(handler(event, lambdaContext())).rejects.toThrow();
    } finally {
      spy.mockRestore();
    }
    expect(errors.map((line) => JSON.parse(line) as Record<string, unknown>)).toEqual(
      malformed.map(([where]) => expect.objectContaining({ level: 'ERROR', where, error: expect.any(String) })),
    );
  });
});

describe('configuration', () => {
  it('is validated at cold start, every problem in one error', () => {
    expect(() => createHandler({ env: { PART_SIZE_MIB: '2', REPLICATE_DELETES: 'maybe' }, source })).toThrow(
      /TARGET_BUCKET[\s\S]*PART_SIZE_MIB[\s\S]*REPLICATE_DELETES|TARGET_BUCKET[\s\S]*REPLICATE_DELETES[\s\S]*PART_SIZE_MIB/,
    );
  });
});
