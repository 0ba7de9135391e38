import { describe, expect, it } from 'vitest';
import { ConfigurationError } from '../../src/clients/s3-clients.js';
import { MiB } from '../../src/engine/limits.js';
import {
  assertSourceBucketAllowed,
  LambdaConfigurationError,
  loadLambdaConfig,
  type LambdaConfig,
} from '../../src/lambda/config.js';

const BASE = { TARGET_BUCKET: 'my-bucket', TARGET_SECRET_ID: 'lyve/replicator' };
const ACCESS = 'AKLYVEACCESS0001';
const SECRET = 'sEcReT/Value+With=Chars0123456789abcdef';
const STAND_INS = { LC_ACCESS_KEY: ACCESS, LC_SECRET_KEY: SECRET, LC_ENDPOINT_URL: 'https://s3.us-west-1.lyvecloud.seagate.com' };

const load = (env: NodeJS.ProcessEnv): LambdaConfig => loadLambdaConfig(env);
const withBase = (env: NodeJS.ProcessEnv): LambdaConfig => load({ ...BASE, ...env });

/** The problems a configuration is rejected with. */
function problems(env: NodeJS.ProcessEnv): readonly string[] {
  try {
    loadLambdaConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(LambdaConfigurationError);
    expect(error).toBeInstanceOf(ConfigurationError);
    return (error as LambdaConfigurationError).problems;
  }
  throw new Error('expected a configuration error');
}

describe('loadLambdaConfig: defaults', () => {
  it('needs only TARGET_BUCKET and a secret', () => {
    const config = load(BASE);
    expect(config).toEqual({
      targetBucket: 'my-bucket',
      targetRegion: 'us-east-1',
      targetPrefix: '',
      credentialsSource: { kind: 'secret', secretId: 'lyve/replicator' },
      keyFilter: expect.any(Function),
      replicateDeletes: false,
      replicateTags: false,
      partSize: 16 * MiB,
      concurrency: 16,
      allowInsecureHttp: false,
    });
    expect(config.sourceBuckets).toBeUndefined();
    expect(config.continuationQueueUrl).toBeUndefined();
    expect(config.keyFilter('any/key')).toBe(true);
  });

  it('treats empty and blank values as unset, and trims values', () => {
    const config = load({
      TARGET_BUCKET: ' my-bucket ',
      TARGET_SECRET_ID: ' lyve/replicator\n',
      TARGET_REGION: '',
      REGION: '  ',
      TARGET_PREFIX: '',
      REPLICATE_DELETES: '',
      PART_SIZE_MIB: ' ',
      CONCURRENCY: '',
      SOURCE_BUCKETS: ' , ',
      CONTINUATION_QUEUE_URL: '',
      LC_ACCESS_KEY: '',
    });
    expect(config.targetBucket).toBe('my-bucket');
    expect(config.credentialsSource).toEqual({ kind: 'secret', secretId: 'lyve/replicator' });
    expect(config.targetRegion).toBe('us-east-1');
    expect(config.partSize).toBe(16 * MiB);
    expect(config.concurrency).toBe(16);
    expect(config.sourceBuckets).toBeUndefined();
    expect(config.continuationQueueUrl).toBeUndefined();
  });

  it('reads process.env by default', () => {
    const saved = { ...process.env };
    try {
      Object.assign(process.env, { TARGET_BUCKET: 'from-process-env', TARGET_SECRET_ID: 's' });
      expect(loadLambdaConfig().targetBucket).toBe('from-process-env');
    } finally {
      for (const key of ['TARGET_BUCKET', 'TARGET_SECRET_ID']) {
        if (saved[key] === undefined) delete process.env[key];
        else process.env[key] = saved[key];
      }
    }
  });
});

describe('loadLambdaConfig: TARGET_BUCKET', () => {
  it('is required', () => {
    expect(problems({ TARGET_SECRET_ID: 's' })).toEqual([
      'TARGET_BUCKET is not set: set it to the name of the target bucket to copy objects into',
    ]);
  });

  it.each(['abc', 'a'.repeat(63), 'my.bucket-1', '123'])('accepts %s', (name) => {
    expect(withBase({ TARGET_BUCKET: name }).targetBucket).toBe(name);
  });

  it.each(['ab', 'a'.repeat(64), 'My-Bucket', 'my_bucket', 's3://my-bucket', 'my-bucket/path', 'my bucket'])('rejects %s', (name) => {
    expect(problems({ ...BASE, TARGET_BUCKET: name })).toEqual([
      `TARGET_BUCKET "${name}" is not a valid bucket name: use 3–63 characters: lowercase letters, digits, dots and hyphens (the bare name, no s3:// or path)`,
    ]);
  });
});

describe('loadLambdaConfig: credentials', () => {
  it('takes the secret from TARGET_SECRET_ID, or the sample name SECRET_KEY', () => {
    expect(load({ TARGET_BUCKET: 'b-1', TARGET_SECRET_ID: 'new-name' }).credentialsSource).toEqual({ kind: 'secret', secretId: 'new-name' });
    expect(load({ TARGET_BUCKET: 'b-1', SECRET_KEY: 'sample-name' }).credentialsSource).toEqual({ kind: 'secret', secretId: 'sample-name' });
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lyve/creds-AbCdEf';
    expect(load({ TARGET_BUCKET: 'b-1', TARGET_SECRET_ID: arn }).credentialsSource).toEqual({ kind: 'secret', secretId: arn });
  });

  it('accepts both names when they agree, and refuses them when they differ, without quoting them', () => {
    expect(withBase({ SECRET_KEY: 'lyve/replicator' }).credentialsSource).toEqual({ kind: 'secret', secretId: 'lyve/replicator' });
    expect(problems({ ...BASE, SECRET_KEY: 'other-secret' })).toEqual([
      "TARGET_SECRET_ID and SECRET_KEY are both set, to different values: SECRET_KEY is the sample Lambda's name for TARGET_SECRET_ID; set only TARGET_SECRET_ID",
    ]);
  });

  it('refuses a secret id that is not a name or ARN, without quoting it', () => {
    const message = problems({ TARGET_BUCKET: 'b-1', SECRET_KEY: 'my secret key value' });
    expect(message).toEqual([
      "SECRET_KEY is not a secret name or ARN (it has characters other than letters, digits and /_+=.@-): set it to the secret's name or ARN, not to a key",
    ]);
  });

  it('is required, naming both ways to provide it', () => {
    expect(problems({ TARGET_BUCKET: 'b-1' })).toEqual([
      "TARGET_SECRET_ID is not set: set it to the name or ARN of the Secrets Manager secret holding lc_access_key, lc_secret_key and lc_endpoint_url (the sample Lambda's SECRET_KEY also works); for local runs only, set LC_ACCESS_KEY, LC_SECRET_KEY and LC_ENDPOINT_URL instead",
    ]);
  });

  it('uses the LC_* stand-ins when all three are set and no secret is', () => {
    expect(load({ TARGET_BUCKET: 'b-1', ...STAND_INS, LC_ENDPOINT_URL: 'https://s3.us-west-1.lyvecloud.seagate.com/' }).credentialsSource).toEqual({
      kind: 'environment',
      accessKeyId: ACCESS,
      secretAccessKey: SECRET,
      endpoint: 'https://s3.us-west-1.lyvecloud.seagate.com',
    });
  });

  it('needs all three stand-ins, naming the missing ones', () => {
    expect(problems({ TARGET_BUCKET: 'b-1', LC_ACCESS_KEY: ACCESS })).toEqual([
      'LC_SECRET_KEY, LC_ENDPOINT_URL are not set, but LC_ACCESS_KEY is: the local stand-ins LC_ACCESS_KEY, LC_SECRET_KEY and LC_ENDPOINT_URL go together; set all three, or none and TARGET_SECRET_ID',
    ]);
    expect(problems({ TARGET_BUCKET: 'b-1', LC_ACCESS_KEY: ACCESS, LC_SECRET_KEY: SECRET })).toEqual([
      'LC_ENDPOINT_URL is not set, but LC_ACCESS_KEY, LC_SECRET_KEY are: the local stand-ins LC_ACCESS_KEY, LC_SECRET_KEY and LC_ENDPOINT_URL go together; set all three, or none and TARGET_SECRET_ID',
    ]);
  });

  it('refuses a secret together with stand-ins as ambiguous, naming both', () => {
    expect(problems({ ...BASE, ...STAND_INS })).toEqual([
      'TARGET_SECRET_ID and LC_ACCESS_KEY, LC_SECRET_KEY, LC_ENDPOINT_URL are both set, which is ambiguous: keep TARGET_SECRET_ID (the secret) and unset LC_ACCESS_KEY, LC_SECRET_KEY, LC_ENDPOINT_URL (local stand-ins), or the reverse',
    ]);
    expect(problems({ TARGET_BUCKET: 'b-1', SECRET_KEY: 's', LC_ENDPOINT_URL: 'https://x.example' })).toEqual([
      'SECRET_KEY and LC_ENDPOINT_URL are both set, which is ambiguous: keep SECRET_KEY (the secret) and unset LC_ENDPOINT_URL (local stand-ins), or the reverse',
    ]);
  });

  it('validates LC_ENDPOINT_URL with parseEndpoint', () => {
    const env = { TARGET_BUCKET: 'b-1', ...STAND_INS };
    expect(problems({ ...env, LC_ENDPOINT_URL: 's3.lyve.example.com' })).toEqual([
      'LC_ENDPOINT_URL "s3.lyve.example.com" has no scheme: write it as https://s3.lyve.example.com',
    ]);
    expect(problems({ ...env, LC_ENDPOINT_URL: 'ftp://s3.lyve.example.com' })).toEqual([
      'LC_ENDPOINT_URL "ftp://s3.lyve.example.com" must use https:// (or http:// for a local server)',
    ]);
    expect(problems({ ...env, LC_ENDPOINT_URL: 'http://s3.lyve.example.com' })).toEqual([
      'LC_ENDPOINT_URL "http://s3.lyve.example.com" uses plain http to a non-loopback host: use https://, or set ALLOW_INSECURE_HTTP=true to allow it',
    ]);
  });

  it('lets ALLOW_INSECURE_HTTP permit plain http; loopback needs no permission', () => {
    const env = { TARGET_BUCKET: 'b-1', ...STAND_INS };
    const insecure = load({ ...env, LC_ENDPOINT_URL: 'http://minio.lan:9000', ALLOW_INSECURE_HTTP: 'yes' });
    expect(insecure.allowInsecureHttp).toBe(true);
    expect(insecure.credentialsSource).toMatchObject({ endpoint: 'http://minio.lan:9000' });
    expect(load({ ...env, LC_ENDPOINT_URL: 'http://127.0.0.1:9000' }).credentialsSource).toMatchObject({ endpoint: 'http://127.0.0.1:9000' });
  });

  it('never quotes a key, even one pasted into LC_ENDPOINT_URL', () => {
    const swapped = problems({ TARGET_BUCKET: 'b-1', LC_ACCESS_KEY: ACCESS, LC_SECRET_KEY: 'https://s3.example.com', LC_ENDPOINT_URL: SECRET });
    const same = problems({ TARGET_BUCKET: 'b-1', ...STAND_INS, LC_ENDPOINT_URL: `${SECRET}.example.com` });
    for (const message of [...swapped, ...same]) {
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain(ACCESS);
      expect(message).toMatch(/^LC_ENDPOINT_URL /);
    }
    expect(swapped).toEqual(['LC_ENDPOINT_URL "***" has no scheme: write it as https://***']);
  });
});

describe('loadLambdaConfig: TARGET_REGION', () => {
  it('defaults to us-east-1, and reads the new name or the sample name REGION', () => {
    expect(withBase({}).targetRegion).toBe('us-east-1');
    expect(withBase({ TARGET_REGION: 'eu-west-1' }).targetRegion).toBe('eu-west-1');
    expect(withBase({ REGION: 'ap-southeast-1' }).targetRegion).toBe('ap-southeast-1');
    expect(withBase({ TARGET_REGION: 'eu-west-1', REGION: 'eu-west-1' }).targetRegion).toBe('eu-west-1');
  });

  it('refuses two different values', () => {
    expect(problems({ ...BASE, TARGET_REGION: 'eu-west-1', REGION: 'us-west-1' })).toEqual([
      "TARGET_REGION and REGION are both set, to different values: REGION is the sample Lambda's name for TARGET_REGION; set only TARGET_REGION",
    ]);
  });
});

describe('loadLambdaConfig: TARGET_PREFIX', () => {
  it('is kept as is', () => {
    expect(withBase({ TARGET_PREFIX: 'from-aws/' }).targetPrefix).toBe('from-aws/');
    expect(withBase({ TARGET_PREFIX: 'backup-' }).targetPrefix).toBe('backup-');
  });

  it('takes {bucket} for the source bucket, and names any other placeholder as a typo', () => {
    expect(withBase({ TARGET_PREFIX: '{bucket}/' }).targetPrefix).toBe('{bucket}/');
    for (const typo of ['{Bucket}/', '${bucket}/', 'x/{key}/']) {
      expect(problems({ ...BASE, TARGET_PREFIX: typo })).toEqual([expect.stringMatching(/contains .*: the only placeholder is \{bucket\}/)]);
    }
  });

  it('must not start with /', () => {
    expect(problems({ ...BASE, TARGET_PREFIX: '/from-aws/' })).toEqual([
      'TARGET_PREFIX "/from-aws/" starts with "/": remove it (keys have no leading slash; e.g. from-aws/)',
    ]);
  });
});

describe('loadLambdaConfig: INCLUDE_KEYS and EXCLUDE_KEYS', () => {
  it('builds the key filter from comma-separated globs', () => {
    const { keyFilter } = withBase({ INCLUDE_KEYS: 'photos/**, *.{csv,json}', EXCLUDE_KEYS: '**/*.tmp,photos/private/**' });
    const keys = ['photos/a.jpg', 'photos/b.tmp', 'photos/private/c.jpg', 'data.csv', 'x.json', 'dir/data.csv', 'other.txt'];
    expect(keys.filter(keyFilter)).toEqual(['photos/a.jpg', 'data.csv', 'x.json']);
  });

  it('excludes alone keep everything else', () => {
    const { keyFilter } = withBase({ EXCLUDE_KEYS: 'tmp/**' });
    expect(['tmp/a', 'a', 'b/tmp/c'].filter(keyFilter)).toEqual(['a', 'b/tmp/c']);
  });

  it('reports a pattern picomatch refuses', () => {
    expect(problems({ ...BASE, INCLUDE_KEYS: 'a'.repeat(70_000) })).toEqual([
      expect.stringMatching(/^INCLUDE_KEYS has a pattern picomatch rejects \(.*65536.*\): fix or remove it$/),
    ]);
  });
});

describe('loadLambdaConfig: SOURCE_BUCKETS', () => {
  it('is an optional set of bucket names, legacy us-east-1 names included', () => {
    expect(withBase({ SOURCE_BUCKETS: 'photos-prod, logs.prod ,,Legacy_Bucket' }).sourceBuckets).toEqual(
      new Set(['photos-prod', 'logs.prod', 'Legacy_Bucket']),
    );
  });

  it('rejects invalid names, listing them', () => {
    expect(problems({ ...BASE, SOURCE_BUCKETS: 'good-one, bad one, s3://x, ab' })).toEqual([
      'SOURCE_BUCKETS has invalid bucket names "bad one", "s3://x", "ab": list bare bucket names (letters, digits, dots, hyphens, underscores; no s3:// or path) separated by commas',
    ]);
  });

  it('assertSourceBucketAllowed refuses other buckets clearly, and allows any when unset', () => {
    const config = withBase({ SOURCE_BUCKETS: 'photos-prod,logs-prod' });
    expect(() => assertSourceBucketAllowed(config, 'photos-prod')).not.toThrow();
    expect(() => assertSourceBucketAllowed(config, 'other-bucket')).toThrow(
      new ConfigurationError(
        'Event from source bucket "other-bucket", which is not in SOURCE_BUCKETS (photos-prod, logs-prod): add it to SOURCE_BUCKETS, or remove the bucket\'s event notification for this function',
      ),
    );
    expect(() => assertSourceBucketAllowed(withBase({}), 'anything')).not.toThrow();
  });
});

describe('loadLambdaConfig: booleans', () => {
  it.each([
    ['true', true],
    ['TRUE', true],
    ['1', true],
    ['Yes', true],
    ['false', false],
    ['False', false],
    ['0', false],
    ['NO', false],
  ])('reads %s as %s', (value, expected) => {
    const config = withBase({ REPLICATE_DELETES: value, REPLICATE_TAGS: value, ALLOW_INSECURE_HTTP: value });
    expect([config.replicateDeletes, config.replicateTags, config.allowInsecureHttp]).toEqual([expected, expected, expected]);
  });

  it('names the variable and value of anything else', () => {
    expect(problems({ ...BASE, REPLICATE_DELETES: 'maybe', REPLICATE_TAGS: 'on', ALLOW_INSECURE_HTTP: 'y' })).toEqual([
      'ALLOW_INSECURE_HTTP "y" is not a boolean: use true or false (1/0 and yes/no also work); default false',
      'REPLICATE_DELETES "maybe" is not a boolean: use true or false (1/0 and yes/no also work); default false',
      'REPLICATE_TAGS "on" is not a boolean: use true or false (1/0 and yes/no also work); default false',
    ]);
  });
});

describe('loadLambdaConfig: PART_SIZE_MIB and CONCURRENCY', () => {
  it('reads whole numbers within the limits', () => {
    expect(withBase({ PART_SIZE_MIB: '5' }).partSize).toBe(5 * MiB);
    expect(withBase({ PART_SIZE_MIB: '4096' }).partSize).toBe(4096 * MiB);
    expect(withBase({ PART_SIZE_MIB: '64' }).partSize).toBe(64 * MiB);
    expect(withBase({ CONCURRENCY: '1' }).concurrency).toBe(1);
    expect(withBase({ CONCURRENCY: '64' }).concurrency).toBe(64);
  });

  it.each(['4', '4097', '16.5', '-8', '1e3', 'sixteen', '0x10'])('rejects PART_SIZE_MIB=%s', (value) => {
    expect(problems({ ...BASE, PART_SIZE_MIB: value })).toEqual([
      `PART_SIZE_MIB "${value}" must be a whole number from 5 to 4096 (MiB); default 16`,
    ]);
  });

  it.each(['0', '65', '2.5', 'many'])('rejects CONCURRENCY=%s', (value) => {
    expect(problems({ ...BASE, CONCURRENCY: value })).toEqual([`CONCURRENCY "${value}" must be a whole number from 1 to 64; default 16`]);
  });
});

describe('loadLambdaConfig: CONTINUATION_QUEUE_URL', () => {
  it('accepts an https queue URL, or http on loopback', () => {
    const url = 'https://sqs.us-east-1.amazonaws.com/123456789012/replicator-continuation';
    expect(withBase({ CONTINUATION_QUEUE_URL: url }).continuationQueueUrl).toBe(url);
    expect(withBase({ CONTINUATION_QUEUE_URL: 'http://localhost:4566/000000000000/q' }).continuationQueueUrl).toBe(
      'http://localhost:4566/000000000000/q',
    );
  });

  const example = 'e.g. https://sqs.us-east-1.amazonaws.com/123456789012/replicator-continuation';
  it.each([
    ['http://sqs.us-east-1.amazonaws.com/1/q', 'CONTINUATION_QUEUE_URL "http://sqs.us-east-1.amazonaws.com/1/q" uses plain http: use https:// (http:// only for a local queue on localhost)'],
    ['arn:aws:sqs:us-east-1:123456789012:q', `CONTINUATION_QUEUE_URL "arn:aws:sqs:us-east-1:123456789012:q" is a queue ARN: set the queue's URL instead, ${example}`],
    ['sqs.us-east-1.amazonaws.com/1/q', `CONTINUATION_QUEUE_URL "sqs.us-east-1.amazonaws.com/1/q" has no scheme: write it as https://sqs.us-east-1.amazonaws.com/1/q (${example})`],
    ['https://sqs.us-east-1.amazonaws.com', `CONTINUATION_QUEUE_URL "https://sqs.us-east-1.amazonaws.com" has no queue path: set the full queue URL, ${example}`],
  ])('rejects %s', (value, message) => {
    expect(problems({ ...BASE, CONTINUATION_QUEUE_URL: value })).toEqual([message]);
  });

  it('is not loosened by ALLOW_INSECURE_HTTP', () => {
    expect(problems({ ...BASE, ALLOW_INSECURE_HTTP: 'true', CONTINUATION_QUEUE_URL: 'http://queue.lan/1/q' })).toHaveLength(1);
  });
});

describe('loadLambdaConfig: reporting', () => {
  it('lists every problem in one error, one per line, naming each variable', () => {
    const env = {
      TARGET_BUCKET: 'Bad_Bucket',
      TARGET_REGION: 'eu-west-1',
      REGION: 'us-west-1',
      TARGET_PREFIX: '/x',
      SOURCE_BUCKETS: 'arn:aws:s3:::x',
      REPLICATE_DELETES: 'maybe',
      REPLICATE_TAGS: 'perhaps',
      PART_SIZE_MIB: '1',
      CONCURRENCY: '100',
      CONTINUATION_QUEUE_URL: 'ftp://queue',
      ALLOW_INSECURE_HTTP: 'sure',
      LOG_LEVEL: 'NOT-A-LEVEL',
    };
    let error: unknown;
    try {
      loadLambdaConfig(env);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LambdaConfigurationError);
    const { message, problems: listed } = error as LambdaConfigurationError;
    const lines = message.split('\n');
    expect(lines[0]).toBe('Invalid Lambda configuration (11 problems):');
    expect(lines.slice(1)).toEqual(listed.map((problem) => `- ${problem}`));
    const variables = listed.map((problem) => problem.split(/[ "]/)[0]);
    expect(variables).toEqual([
      'ALLOW_INSECURE_HTTP',
      'TARGET_BUCKET',
      'TARGET_SECRET_ID',
      'TARGET_REGION',
      'TARGET_PREFIX',
      'SOURCE_BUCKETS',
      'REPLICATE_DELETES',
      'REPLICATE_TAGS',
      'PART_SIZE_MIB',
      'CONCURRENCY',
      'CONTINUATION_QUEUE_URL',
    ]);
    expect(message).not.toContain('LOG_LEVEL');
  });

  it('says "1 problem" for one', () => {
    expect(() => load({ TARGET_SECRET_ID: 's' })).toThrow(/^Invalid Lambda configuration \(1 problem\):\n- TARGET_BUCKET is not set/);
  });

  it('never includes a secret value in the message', () => {
    const attempts: NodeJS.ProcessEnv[] = [
      { ...STAND_INS, LC_ENDPOINT_URL: undefined },
      { ...STAND_INS, TARGET_SECRET_ID: 'x' },
      { ...STAND_INS, LC_ENDPOINT_URL: 'http://lyve.example.com' },
      { ...STAND_INS, LC_ENDPOINT_URL: SECRET },
      { ...STAND_INS, LC_ENDPOINT_URL: `https://${ACCESS}:${SECRET}@lyve.example.com` },
      { SECRET_KEY: SECRET, TARGET_SECRET_ID: 'lyve/replicator' },
      { SECRET_KEY: `${SECRET} `, ...STAND_INS },
      { SECRET_KEY: 'a key with spaces' },
    ];
    for (const env of attempts) {
      let message = '';
      try {
        loadLambdaConfig({ TARGET_BUCKET: 'Bad', PART_SIZE_MIB: 'x', ...env });
      } catch (error) {
        message = (error as Error).message;
      }
      expect(message).toMatch(/^Invalid Lambda configuration/);
      expect(message).not.toContain(SECRET);
      expect(message).not.toContain(ACCESS);
      expect(message).not.toContain('a key with spaces');
    }
  });
});
