import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { GetObjectCommand, HeadBucketCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedS3, type EmbeddedS3 } from '../support/embedded-s3.js';

const md5 = (data: Buffer) => createHash('md5').update(data);

function clientFor(server: EmbeddedS3): S3Client {
  return new S3Client({
    endpoint: server.endpoint,
    credentials: server.credentials,
    region: 'us-east-1',
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

describe('embedded S3 (fauxqs)', () => {
  let server: EmbeddedS3;
  let s3: S3Client;

  beforeAll(async () => {
    server = await startEmbeddedS3({ buckets: ['source'] });
    s3 = clientFor(server);
  });

  afterAll(async () => {
    s3?.destroy();
    await server?.stop();
  });

  it('listens on loopback and creates the requested buckets', async () => {
    expect(server.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await expect(s3.send(new HeadBucketCommand({ Bucket: 'source' }))).resolves.toBeDefined();
  });

  it('stores a stream body sent with Content-Length and Content-MD5 byte-exactly', async () => {
    const data = randomBytes(3 * 1024 * 1024 + 7);
    const key = 'dir/with space+plus 😀.bin';
    const chunks = Array.from({ length: Math.ceil(data.length / 65536) }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536));

    const put = await s3.send(
      new PutObjectCommand({
        Bucket: 'source',
        Key: key,
        Body: Readable.from(chunks),
        ContentLength: data.length,
        ContentMD5: md5(data).digest('base64'),
      }),
    );
    expect(put.ETag).toBe(`"${md5(data).digest('hex')}"`);

    const get = await s3.send(new GetObjectCommand({ Bucket: 'source', Key: key }));
    expect(get.ContentLength).toBe(data.length);
    const hash = createHash('md5');
    for await (const chunk of get.Body as AsyncIterable<Uint8Array>) hash.update(chunk);
    expect(hash.digest('hex')).toBe(md5(data).digest('hex'));
  });

  it('stop() closes the server', async () => {
    const other = await startEmbeddedS3();
    await other.stop();
    await other.stop(); // idempotent
    await expect(fetch(`${other.endpoint}/health`)).rejects.toThrow();
  });
});
