import { Readable } from 'node:stream';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { ConfigurationError, parseEndpoint } from '../../src/index.js';
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
