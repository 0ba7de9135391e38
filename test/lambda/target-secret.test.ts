import {
  DecryptionFailure,
  GetSecretValueCommand,
  InternalServiceError,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from '../../src/clients/s3-clients.js';
import { TargetSecret, parseTargetSecret } from '../../src/lambda/target-secret.js';

// Secrets Manager cannot run here: mock the one client instance handed to the provider (not the
// class), so a call through any other client would escape the mock and fail.
const SECRET_ID = 'lyve/replicator';
const ACCESS = 'AKLYVEACCESS0001';
const SECRET = 'sEcReT/Value+With=Chars0123456789abcdef';
const ENDPOINT = 'https://s3.us-west-1.lyvecloud.seagate.com';
const CREDENTIALS = { accessKeyId: ACCESS, secretAccessKey: SECRET, endpoint: ENDPOINT };
const secretJson = (fields: Record<string, unknown>) => JSON.stringify(fields);
const GOOD = secretJson({ lc_access_key: ACCESS, lc_secret_key: SECRET, lc_endpoint_url: ENDPOINT });
const SHAPE = '{"lc_access_key": "...", "lc_secret_key": "...", "lc_endpoint_url": "https://..."}';

const mockInstance = (instance: SecretsManagerClient) => mockClient(instance);
let client: SecretsManagerClient;
let mock: ReturnType<typeof mockInstance>;

beforeEach(() => {
  client = new SecretsManagerClient({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  mock = mockInstance(client);
});

afterEach(() => {
  mock.restore();
  vi.useRealTimers();
});

const calls = () => mock.commandCalls(GetSecretValueCommand).length;
const secretWith = (SecretString: string, options: { allowInsecureHttp?: boolean } = {}) => {
  mock.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({ SecretString });
  return new TargetSecret({ secretId: SECRET_ID, client, ...options });
};

/** The error `get()` fails with. */
async function failure(secret: TargetSecret): Promise<Error> {
  const error = await secret.get().then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(Error);
  return error as Error;
}

describe('TargetSecret: reading and caching', () => {
  it('reads the sample-format secret through the injected client', async () => {
    const secret = secretWith(GOOD);
    await expect(secret.get()).resolves.toEqual(CREDENTIALS);
    expect(mock.commandCalls(GetSecretValueCommand, { SecretId: SECRET_ID })).toHaveLength(1);
  });

  it('trims values and drops the endpoint\'s trailing slash', async () => {
    const secret = secretWith(secretJson({ lc_access_key: ` ${ACCESS}\n`, lc_secret_key: `${SECRET}\n`, lc_endpoint_url: `${ENDPOINT}/ ` }));
    await expect(secret.get()).resolves.toEqual(CREDENTIALS);
  });

  it('ignores extra fields', async () => {
    const secret = secretWith(secretJson({ lc_access_key: ACCESS, lc_secret_key: SECRET, lc_endpoint_url: ENDPOINT, note: 'x' }));
    await expect(secret.get()).resolves.toEqual(CREDENTIALS);
  });

  it('caches: several gets make one call', async () => {
    const secret = secretWith(GOOD);
    for (let i = 0; i < 5; i++) await expect(secret.get()).resolves.toEqual(CREDENTIALS);
    await Promise.all([secret.get(), secret.get()]);
    expect(calls()).toBe(1);
  });

  it('reads again after maxAge (300 s by default)', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    const secret = secretWith(GOOD);
    await secret.get();
    vi.setSystemTime(new Date('2030-01-01T00:04:59Z'));
    await secret.get();
    expect(calls()).toBe(1);
    vi.setSystemTime(new Date('2030-01-01T00:05:01Z'));
    await secret.get();
    expect(calls()).toBe(2);
  });

  it('honours maxAgeSeconds', async () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T00:00:00Z'));
    mock.on(GetSecretValueCommand).resolves({ SecretString: GOOD });
    const secret = new TargetSecret({ secretId: SECRET_ID, client, maxAgeSeconds: 10 });
    await secret.get();
    vi.setSystemTime(new Date('2030-01-01T00:00:11Z'));
    await secret.get();
    expect(calls()).toBe(2);
  });

  it('refresh() bypasses the cache and later gets use the new value', async () => {
    const secret = secretWith(GOOD);
    await secret.get();
    const rotated = { lc_access_key: 'AKLYVEACCESS0002', lc_secret_key: 'rotatedSecretValue0123456789', lc_endpoint_url: ENDPOINT };
    mock.on(GetSecretValueCommand, { SecretId: SECRET_ID }).resolves({ SecretString: secretJson(rotated) });
    await expect(secret.get()).resolves.toEqual(CREDENTIALS); // still cached
    const expected = { accessKeyId: rotated.lc_access_key, secretAccessKey: rotated.lc_secret_key, endpoint: ENDPOINT };
    await expect(secret.refresh()).resolves.toEqual(expected);
    expect(calls()).toBe(2);
    await expect(secret.get()).resolves.toEqual(expected);
    expect(calls()).toBe(2);
  });

  it('concurrent refresh() calls share one read', async () => {
    const secret = secretWith(GOOD);
    await Promise.all([secret.refresh(), secret.refresh(), secret.refresh()]);
    expect(calls()).toBe(1);
    await secret.refresh();
    expect(calls()).toBe(2);
  });

  it('does not cache failures', async () => {
    mock.on(GetSecretValueCommand).rejectsOnce(new InternalServiceError({ message: 'try again', $metadata: {} })).resolves({ SecretString: GOOD });
    const secret = new TargetSecret({ secretId: SECRET_ID, client });
    await expect(secret.get()).rejects.toThrow('Could not read secret "lyve/replicator": InternalServiceError: try again');
    await expect(secret.get()).resolves.toEqual(CREDENTIALS);
  });
});

describe('TargetSecret: errors', () => {
  it('secret not found', async () => {
    mock.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
    const error = await failure(new TargetSecret({ secretId: SECRET_ID, client }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(
      'Secret "lyve/replicator" was not found: create it in Secrets Manager (in this function\'s region, or give its full ARN), or fix TARGET_SECRET_ID / SECRET_KEY',
    );
    expect(error.cause).toBeInstanceOf(ResourceNotFoundException);
  });

  it('read by a command, the messages name its flag and its identity, not the function\'s', async () => {
    mock.on(GetSecretValueCommand).rejects(new ResourceNotFoundException({ message: "Secrets Manager can't find the specified secret.", $metadata: {} }));
    const options = { secretId: SECRET_ID, client, secretIdSource: '--target-secret-id', readBy: 'command' as const };
    expect((await failure(new TargetSecret(options))).message).toBe(
      'Secret "lyve/replicator" was not found: create it in Secrets Manager (in AWS_REGION\'s region, or give its full ARN), or fix --target-secret-id',
    );
    mock.on(GetSecretValueCommand).rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }));
    expect((await failure(new TargetSecret(options))).message).toMatch(/^Access to secret "lyve\/replicator" was denied: grant the AWS identity running this command secretsmanager:GetSecretValue/);
  });

  it('no region to read it in', async () => {
    mock.on(GetSecretValueCommand).rejects(new Error('Region is missing'));
    const error = await failure(new TargetSecret({ secretId: SECRET_ID, client }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe('Secret "lyve/replicator" cannot be read: no AWS region is set; set AWS_REGION to the secret\'s region, or give the secret\'s full ARN in TARGET_SECRET_ID / SECRET_KEY');
  });

  it('access denied', async () => {
    const denied = Object.assign(new Error('User: arn:aws:sts::1:assumed-role/fn is not authorized to perform: secretsmanager:GetSecretValue'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 400 },
    });
    mock.on(GetSecretValueCommand).rejects(denied);
    const error = await failure(new TargetSecret({ secretId: SECRET_ID, client }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(
      "Access to secret \"lyve/replicator\" was denied: grant this function's role secretsmanager:GetSecretValue on it (and kms:Decrypt on its key if it uses a customer managed KMS key)",
    );
  });

  it('KMS decryption failure', async () => {
    mock.on(GetSecretValueCommand).rejects(new DecryptionFailure({ message: 'Access to KMS is not allowed', $metadata: {} }));
    const error = await failure(new TargetSecret({ secretId: SECRET_ID, client }));
    expect(error.message).toBe('Secret "lyve/replicator" could not be decrypted: grant this function\'s role kms:Decrypt on the secret\'s KMS key');
  });

  it('other failures are plain errors naming the secret, keeping the SDK error as cause', async () => {
    const throttled = new InternalServiceError({ message: 'service unavailable', $metadata: {} });
    mock.on(GetSecretValueCommand).rejects(throttled);
    const error = await failure(new TargetSecret({ secretId: SECRET_ID, client }));
    expect(error).not.toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe('Could not read secret "lyve/replicator": InternalServiceError: service unavailable');
    expect(error.cause).toBe(throttled);
  });

  it('binary secret', async () => {
    mock.on(GetSecretValueCommand).resolves({ SecretBinary: new TextEncoder().encode(GOOD) });
    const error = await failure(new TargetSecret({ secretId: SECRET_ID, client }));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(`Secret "lyve/replicator" holds binary data (SecretBinary): store the credentials as text (SecretString) JSON: ${SHAPE}`);
  });

  it('no value at all', async () => {
    mock.on(GetSecretValueCommand).resolves({});
    expect((await failure(new TargetSecret({ secretId: SECRET_ID, client }))).message).toBe(`Secret "lyve/replicator" has no value: store ${SHAPE} in it`);
  });

  it('not JSON', async () => {
    const error = await failure(secretWith(`lc_access_key=${ACCESS} lc_secret_key=${SECRET}`));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(`Secret "lyve/replicator" is not valid JSON: store it as ${SHAPE}`);
  });

  it.each([
    ['[1,2]', 'an array'],
    ['null', 'null'],
    ['"just a string"', 'a string'],
    ['42', 'a number'],
    ['true', 'a boolean'],
  ])('JSON but not an object: %s', async (text, kind) => {
    expect((await failure(secretWith(text))).message).toBe(`Secret "lyve/replicator" is JSON ${kind}, not an object: store it as ${SHAPE}`);
  });

  it('names every missing or empty field in one message', async () => {
    const message = (fields: Record<string, unknown>) => failure(secretWith(secretJson(fields))).then((error) => error.message);
    await expect(message({})).resolves.toBe(
      "Secret \"lyve/replicator\" lacks lc_access_key, lc_secret_key, lc_endpoint_url: add them to the secret's JSON as non-empty strings (names are case-sensitive)",
    );
    await expect(message({ lc_access_key: ACCESS, lc_secret_key: '  ', lc_endpoint_url: 42 })).resolves.toBe(
      "Secret \"lyve/replicator\" lacks lc_secret_key, lc_endpoint_url: add them to the secret's JSON as non-empty strings (names are case-sensitive)",
    );
    await expect(message({ LC_ACCESS_KEY: ACCESS, lc_secret_key: SECRET, lc_endpoint_url: ENDPOINT })).resolves.toBe(
      "Secret \"lyve/replicator\" lacks lc_access_key: add it to the secret's JSON as non-empty strings (names are case-sensitive)",
    );
  });

  it.each([
    ['s3.us-west-1.lyvecloud.seagate.com', 'lc_endpoint_url in secret "lyve/replicator" "s3.us-west-1.lyvecloud.seagate.com" has no scheme: write it as https://s3.us-west-1.lyvecloud.seagate.com'],
    ['ftp://lyve.example.com', 'lc_endpoint_url in secret "lyve/replicator" "ftp://lyve.example.com" must use https:// (or http:// for a local server)'],
    ['http://lyve.example.com', 'lc_endpoint_url in secret "lyve/replicator" "http://lyve.example.com" uses plain http to a non-loopback host: use https://, or set ALLOW_INSECURE_HTTP=true to allow it'],
    [`https://${ACCESS}:x@lyve.example.com`, 'lc_endpoint_url in secret "lyve/replicator" must not contain credentials; pass the keys separately'],
    [SECRET, 'lc_endpoint_url in secret "lyve/replicator" "***" has no scheme: write it as https://***'],
  ])('invalid endpoint %s', async (endpoint, expected) => {
    const error = await failure(secretWith(secretJson({ lc_access_key: ACCESS, lc_secret_key: SECRET, lc_endpoint_url: endpoint })));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error.message).toBe(expected);
  });

  it('plain http is accepted with allowInsecureHttp, and on loopback', async () => {
    const lan = secretWith(secretJson({ lc_access_key: ACCESS, lc_secret_key: SECRET, lc_endpoint_url: 'http://minio.lan:9000' }), { allowInsecureHttp: true });
    await expect(lan.get()).resolves.toMatchObject({ endpoint: 'http://minio.lan:9000' });
    expect(parseTargetSecret('s', secretJson({ lc_access_key: ACCESS, lc_secret_key: SECRET, lc_endpoint_url: 'http://localhost:7480' }))).toEqual({
      accessKeyId: ACCESS,
      secretAccessKey: SECRET,
      endpoint: 'http://localhost:7480',
    });
  });

  it('never puts a secret value in a message', async () => {
    const texts = [
      `{"lc_access_key": "${ACCESS}", "lc_secret_key": "${SECRET}"`, // truncated JSON: JSON.parse would quote it
      `${SECRET}`,
      secretJson({ lc_access_key: ACCESS, lc_secret_key: SECRET }),
      secretJson({ lc_access_key: ACCESS, lc_secret_key: SECRET, lc_endpoint_url: SECRET }),
      secretJson({ lc_access_key: ACCESS, lc_secret_key: ENDPOINT, lc_endpoint_url: SECRET }), // fields swapped
      secretJson({ lc_access_key: ACCESS, lc_secret_key: SECRET, lc_endpoint_url: `${SECRET}.example.com` }),
      secretJson({ lc_access_key: ACCESS, lc_secret_key: SECRET, lc_endpoint_url: `http://${ACCESS}.example.com` }),
      secretJson({ lc_access_key: ACCESS, lc_secret_key: SECRET, lc_endpoint_url: `https://${ACCESS}:${SECRET}@lyve.example.com` }),
      secretJson({ lc_access_key: '', lc_secret_key: SECRET, lc_endpoint_url: ENDPOINT }),
      JSON.stringify([ACCESS, SECRET]),
    ];
    for (const text of texts) {
      mock.reset();
      const error = await failure(secretWith(text));
      expect(error).toBeInstanceOf(ConfigurationError);
      expect(error.message).not.toContain(SECRET);
      expect(error.message).not.toContain(ACCESS);
      expect(error.message).toContain('lyve/replicator');
    }
  });
});
