import { describe, expect, it } from 'vitest';
import { ContextError, readReplicatorConfig } from '../../infra/config.js';

const BASE = { sourceBuckets: 'source-a', targetBucket: 'lyve-target', targetRegion: 'us-east-1', secretName: 'lyve-cloud/replicator' };

function read(context: Record<string, unknown>) {
  return readReplicatorConfig((key) => context[key], Object.keys(context));
}

function problems(context: Record<string, unknown>): string[] {
  try {
    read(context);
  } catch (error) {
    expect(error).toBeInstanceOf(ContextError);
    return [...(error as ContextError).problems];
  }
  throw new Error('expected a ContextError');
}

describe('infra context', () => {
  it('defaults everything optional', () => {
    expect(read(BASE)).toEqual({
      stackName: 'LyveReplicator',
      sourceBuckets: ['source-a'],
      targetBucket: 'lyve-target',
      targetRegion: 'us-east-1',
      secret: { kind: 'existing', name: 'lyve-cloud/replicator' },
      replicateDeletes: false,
      replicateTags: false,
      versioned: false,
      sourceKmsKeyArns: [],
      eventPath: 's3-notifications',
      memoryMiB: 1024,
      timeoutSeconds: 300,
      logRetentionDays: 30,
      lagAlarmSeconds: 900,
    });
  });

  it('reads every key, from strings as the command line passes them', () => {
    const config = read({
      ...BASE,
      sourceBuckets: ' source-a, source-b ,source-a',
      secretName: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lyve-AbCdEf',
      targetPrefix: 'from-aws/',
      includeKeys: 'photos/**,docs/*.{pdf,txt}',
      excludeKeys: '**/*.tmp',
      replicateDeletes: 'true',
      replicateTags: 'YES',
      versioned: '1',
      sourceKmsKeyArns: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab',
      eventPath: 'eventbridge',
      alarmEmail: 'ops@example.com',
      reservedConcurrency: '20',
      memoryMiB: '2048',
      timeoutSeconds: '600',
      partSizeMiB: '32',
      concurrency: '4',
      logRetentionDays: '90',
      lagAlarmSeconds: '300',
      stackName: 'LyveReplicatorProd',
    });
    expect(config).toMatchObject({
      stackName: 'LyveReplicatorProd',
      sourceBuckets: ['source-a', 'source-b'],
      secret: { kind: 'existing', arn: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lyve-AbCdEf' },
      targetPrefix: 'from-aws/',
      includeKeys: 'photos/**,docs/*.{pdf,txt}',
      excludeKeys: '**/*.tmp',
      replicateDeletes: true,
      replicateTags: true,
      versioned: true,
      sourceKmsKeyArns: ['arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab'],
      eventPath: 'eventbridge',
      alarmEmail: 'ops@example.com',
      reservedConcurrency: 20,
      memoryMiB: 2048,
      timeoutSeconds: 600,
      partSizeMiB: 32,
      concurrency: 4,
      logRetentionDays: 90,
      lagAlarmSeconds: 300,
    });
  });

  it('accepts cdk.json types: booleans, numbers, arrays', () => {
    const config = read({ ...BASE, sourceBuckets: ['source-a', 'source-b'], replicateDeletes: true, memoryMiB: 1536 });
    expect(config).toMatchObject({ sourceBuckets: ['source-a', 'source-b'], replicateDeletes: true, memoryMiB: 1536 });
  });

  it('createSecret needs no secretName, and uses it as the new name when given', () => {
    const { secretName: _, ...noSecret } = BASE;
    expect(read({ ...noSecret, createSecret: 'true' }).secret).toEqual({ kind: 'create' });
    expect(read({ ...noSecret, createSecret: 'true', secretName: 'lyve/new' }).secret).toEqual({ kind: 'create', name: 'lyve/new' });
  });

  it('names every missing required key, all in one error', () => {
    const found = problems({});
    expect(found).toHaveLength(4);
    expect(found[0]).toMatch(/^sourceBuckets is missing: pass -c sourceBuckets=/);
    expect(found[1]).toMatch(/^targetBucket is missing/);
    expect(found[2]).toMatch(/^targetRegion is missing/);
    expect(found[3]).toMatch(/^secretName is missing: .*createSecret=true/);
    try {
      read({});
    } catch (error) {
      expect((error as Error).message).toMatch(/^Invalid CDK context \(4 problems\):\n- sourceBuckets is missing/);
      expect((error as Error).message).toContain('Example: npx cdk deploy -c sourceBuckets=');
    }
  });

  it.each([
    [{ sourceBuckets: 's3://source-a' }, /^sourceBuckets has invalid bucket names "s3:\/\/source-a"/],
    [{ targetBucket: 'Lyve_Target' }, /^targetBucket "Lyve_Target" is not a valid bucket name/],
    [{ targetBucket: 'source-a' }, /^targetBucket "source-a" is also in sourceBuckets/],
    [{ targetRegion: 'US East' }, /^targetRegion "US East" is not a region name/],
    [{ targetPrefix: '/from-aws' }, /^targetPrefix "\/from-aws" starts with "\/"/],
    [{ secretName: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lyve' }, /^secretName ".*" is not a complete secret ARN/],
    [{ secretName: '{"lc_access_key":"x"}' }, /^secretName .* is not a secret name/],
    [{ replicateDeletes: 'maybe' }, /^replicateDeletes "maybe" is not a boolean/],
    [{ eventPath: 'sns' }, /^eventPath "sns" is not one of: s3-notifications \(default\), eventbridge/],
    [{ alarmEmail: 'ops' }, /^alarmEmail "ops" is not an email address/],
    [{ reservedConcurrency: '1' }, /^reservedConcurrency "1" must be a whole number from 2 to 10000/],
    [{ memoryMiB: '1024MB' }, /^memoryMiB "1024MB" must be a whole number from 128 to 10240/],
    [{ memoryMiB: '256' }, /^memoryMiB 256 is below the 464 MiB the function can use at peak .*part size 16 MiB × concurrency 16/],
    [{ memoryMiB: '1024', partSizeMiB: '64', concurrency: '16' }, /^memoryMiB 1024 is below the 1255 MiB/],
    [{ timeoutSeconds: '901' }, /^timeoutSeconds "901" must be a whole number from 60 to 900/],
    [{ partSizeMiB: '4' }, /^partSizeMiB "4" must be a whole number from 5 to 4096/],
    [{ logRetentionDays: '31' }, /^logRetentionDays 31 is not a retention CloudWatch Logs offers: use one of 1, 3, 5/],
    [{ lagAlarmSeconds: '0' }, /^lagAlarmSeconds "0" must be a whole number/],
    [{ sourceKmsKeyArns: 'alias/aws/s3' }, /^sourceKmsKeyArns has values that are not KMS key ARNs/],
    [{ stackName: '1-stack' }, /^stackName "1-stack" is not a valid stack name/],
  ])('rejects %j', (override, message) => {
    const found = problems({ ...BASE, ...override });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(message);
  });

  it('rejects a glob the function could not compile, and an environment over 4 KB', () => {
    const found = problems({ ...BASE, includeKeys: 'a'.repeat(70_000) });
    expect(found).toEqual([
      expect.stringMatching(/^includeKeys has a glob that cannot be compiled \(.*65536.*\): fix or remove it$/),
      expect.stringMatching(/^the function's environment would be ~70\d\d\d bytes, over Lambda's 4096: shorten includeKeys/),
    ]);
    const buckets = Array.from({ length: 200 }, (_, i) => `source-bucket-number-${i}`).join(',');
    expect(problems({ ...BASE, sourceBuckets: buckets, eventPath: 'eventbridge' })).toEqual([
      expect.stringMatching(/^the function's environment would be ~\d+ bytes, over Lambda's 4096: .*split sourceBuckets/),
    ]);
    expect(() => read({ ...BASE, sourceBuckets: Array.from({ length: 40 }, (_, i) => `source-bucket-number-${i}`).join(','), eventPath: 'eventbridge' })).not.toThrow();
  });

  it('limits S3 notifications to 18 source buckets (SQS allows 20 policy statements), not EventBridge', () => {
    const names = (n: number) => Array.from({ length: n }, (_, i) => `src-${i}`).join(',');
    expect(() => read({ ...BASE, sourceBuckets: names(18) })).not.toThrow();
    expect(problems({ ...BASE, sourceBuckets: names(19) })).toEqual([
      expect.stringMatching(/^sourceBuckets lists 19 buckets: .* at most 18; pass -c eventPath=eventbridge/),
    ]);
    expect(() => read({ ...BASE, sourceBuckets: names(19), eventPath: 'eventbridge' })).not.toThrow();
  });

  it('rejects a misspelt key instead of ignoring it, with a hint', () => {
    expect(problems({ ...BASE, deletes: 'true' })).toEqual([expect.stringMatching(/^context key "deletes" is not one this app reads: did you mean replicateDeletes\?/)]);
    expect(problems({ ...BASE, sourceBucket: 'x' })).toEqual([expect.stringMatching(/did you mean sourceBuckets\?/)]);
    // Feature flags, toolkit keys and lookups are not ours to judge.
    expect(() => read({ ...BASE, '@aws-cdk/core:checkSecretUsage': true, 'aws:cdk:bundling-stacks': [], 'acknowledged-issue-numbers': [1] })).not.toThrow();
  });
});
