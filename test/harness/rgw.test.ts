import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  S3ServiceException,
} from '@aws-sdk/client-s3';
import { afterAll, describe, expect, inject, it } from 'vitest';
import type { S3Credentials } from '../support/rgw.js';

const rgw = inject('rgw');

function client(credentials: S3Credentials): S3Client {
  return new S3Client({
    endpoint: rgw.endpoint,
    region: 'us-east-1',
    forcePathStyle: true,
    credentials,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

async function expectAccessDenied(promise: Promise<unknown>): Promise<void> {
  const err: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(S3ServiceException);
  const s3err = err as S3ServiceException;
  expect(s3err.$metadata.httpStatusCode).toBe(403);
  expect(s3err.name).toBe('AccessDenied');
}

describe('rgw test harness', () => {
  const source = client(rgw.source);
  const target = client(rgw.target);
  const bucket = `harness-${randomBytes(4).toString('hex')}`;
  const key = 'dir/hello.txt';
  const body = `hello from ${bucket}`;

  afterAll(async () => {
    await source.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })).catch(() => {});
    await source.send(new DeleteBucketCommand({ Bucket: bucket })).catch(() => {});
    source.destroy();
    target.destroy();
  });

  it('provides two users with distinct keys', () => {
    expect(rgw.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(rgw.source.accessKeyId).not.toBe(rgw.target.accessKeyId);
  });

  it('lets the source user create a bucket and put/get an object', async () => {
    await source.send(new CreateBucketCommand({ Bucket: bucket }));
    await source.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: 'text/plain' }));
    const got = await source.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    expect(await got.Body?.transformToString()).toBe(body);
    expect(got.ContentLength).toBe(Buffer.byteLength(body));
    expect(got.ContentType).toBe('text/plain');
  });

  it("denies the target user access to the source user's bucket", async () => {
    await expectAccessDenied(target.send(new GetObjectCommand({ Bucket: bucket, Key: key })));
    await expectAccessDenied(target.send(new ListObjectsV2Command({ Bucket: bucket })));
  });
});
