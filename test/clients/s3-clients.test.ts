import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it, inject, vi } from 'vitest';
import { ConfigurationError, createSourceClient, parseEndpoint } from '../../src/index.js';
import { createBucket, md5Hex, randomBody, readBack, rgwClients, uniqueBucket } from '../support/s3.js';

describe('target client checksums against a real server', () => {
  const { target } = rgwClients();
  const bucket = uniqueBucket('checksums');
  const body = randomBody(256 * 1024 + 3);
  beforeAll(async () => {
    await createBucket(target, bucket);
  });

  it("SDK defaults: a stream body is sent aws-chunked and the server refuses or mis-stores it", async () => {
    const rgw = inject('rgw');
    const defaults = new S3Client({ endpoint: rgw.endpoint, region: 'us-east-1', forcePathStyle: true, credentials: rgw.target });
    const put = defaults.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'defaults.bin', Body: Readable.from([body]), ContentLength: body.length }),
    );
    const outcome = await put.then(
      async () => ((await readBack(target, bucket, 'defaults.bin')).md5 === md5Hex(body) ? 'intact' : 'corrupted'),
      (error: { $metadata?: { httpStatusCode?: number } }) => `refused ${error.$metadata?.httpStatusCode}`,
    );
    expect(outcome).not.toBe('intact');
    expect(['corrupted', 'refused 411', 'refused 400']).toContain(outcome);
  });

  it('our target client sends the same stream body intact', async () => {
    await target.send(
      new PutObjectCommand({ Bucket: bucket, Key: 'ours.bin', Body: Readable.from([body]), ContentLength: body.length }),
    );
    const replica = await readBack(target, bucket, 'ours.bin');
    expect(replica.md5).toBe(md5Hex(body));
    expect(replica.size).toBe(body.length);
  });

  it('sends Content-MD5, and the server rejects a body that does not match it', async () => {
    const wrong = md5Hex(Buffer.from('something else'));
    await expect(
      target.send(
        new PutObjectCommand({
          Bucket: bucket,
          Key: 'bad-digest.bin',
          Body: body,
          ContentLength: body.length,
          ContentMD5: Buffer.from(wrong, 'hex').toString('base64'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'BadDigest' });
  });
});

describe('parseEndpoint', () => {
  it('accepts https and loopback http', () => {
    expect(parseEndpoint('https://s3.us-east-1.lyvecloud.seagate.com').host).toBe('s3.us-east-1.lyvecloud.seagate.com');
    expect(parseEndpoint('http://127.0.0.1:9000').port).toBe('9000');
    expect(parseEndpoint('http://localhost:9000').hostname).toBe('localhost');
  });

  it.each([
    ['', /is empty/],
    ['s3.example.com', /has no scheme: write it as https:\/\/s3\.example\.com/],
    ['ftp://s3.example.com', /must use https:\/\//],
    ['http://s3.example.com', /plain http to a non-loopback host/],
    ['https://user:pw@s3.example.com', /must not contain credentials/],
  ])('refuses %j', (endpoint, message) => {
    expect(() => parseEndpoint(endpoint, { name: 'target endpoint' })).toThrow(ConfigurationError);
    expect(() => parseEndpoint(endpoint, { name: 'target endpoint' })).toThrow(message);
  });

  it('allows plain http to another host only when asked', () => {
    expect(parseEndpoint('http://s3.internal:80', { allowInsecureHttp: true }).protocol).toBe('http:');
  });
});

describe('a source endpoint from the environment', () => {
  it('is checked under its variable\'s name, addressed path-style outside AWS, in the region the AWS chain names', async () => {
    expect(() => createSourceClient({}, { AWS_ENDPOINT_URL_S3: 'minio.local:9000' })).toThrow(/^AWS_ENDPOINT_URL_S3 "minio.local:9000" has no scheme/);
    expect(() => createSourceClient({}, { AWS_ENDPOINT_URL: 'http://minio.example.com' })).toThrow(/^AWS_ENDPOINT_URL "http:\/\/minio.example.com" uses plain http/);
    expect(createSourceClient({}, { AWS_ENDPOINT_URL_S3: 'minio.local', AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: 'true' })).toBeDefined();

    // The profile's region, as the SDK would use it without an endpoint (AWS_REGION unset).
    const home = mkdtempSync(path.join(tmpdir(), 'aws-config-'));
    writeFileSync(path.join(home, 'config'), '[profile minio]\nregion = eu-central-1\n');
    vi.stubEnv('AWS_REGION', undefined);
    vi.stubEnv('AWS_CONFIG_FILE', path.join(home, 'config'));
    vi.stubEnv('AWS_PROFILE', 'minio');
    try {
      const client = createSourceClient({}, { AWS_ENDPOINT_URL_S3: 'http://localhost:9000' });
      expect(await client.config.region()).toBe('eu-central-1');
      expect(client.config.forcePathStyle).toBe(true);
      const aws = createSourceClient({}, { AWS_ENDPOINT_URL_S3: 'https://s3.dualstack.us-west-2.amazonaws.com' });
      expect(aws.config.forcePathStyle).toBe(false);
      // No region anywhere: us-east-1, as for --source-endpoint.
      vi.stubEnv('AWS_PROFILE', 'no-such-profile');
      expect(await createSourceClient({}, { AWS_ENDPOINT_URL_S3: 'http://localhost:9000' }).config.region()).toBe('us-east-1');
    } finally {
      vi.unstubAllEnvs();
    }
  });
});
