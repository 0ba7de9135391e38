import { createHash, randomBytes, randomUUID } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  UploadPartCommand,
  type HeadObjectCommandOutput,
  type PutObjectCommandInput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { inject } from 'vitest';
import { createSourceClient, createTargetClient } from '../../src/index.js';

export const MiB = 1024 * 1024;

/** Clients for the RGW started by the global setup: source and target use different users. */
export function rgwClients(concurrency = 8): { source: S3Client; target: S3Client; endpoint: string } {
  const rgw = inject('rgw');
  return {
    endpoint: rgw.endpoint,
    source: createSourceClient({ endpoint: rgw.endpoint, credentials: rgw.source, concurrency }),
    target: createTargetClient({ endpoint: rgw.endpoint, credentials: rgw.target, concurrency }),
  };
}

export function uniqueBucket(prefix: string): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

export async function createBucket(client: S3Client, bucket: string): Promise<string> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Deterministic-enough test data: random bytes, different on every call. */
export function randomBody(size: number): Buffer {
  return randomBytes(size);
}

export function md5Hex(data: Buffer | Uint8Array): string {
  return createHash('md5').update(data).digest('hex');
}

export async function putObject(
  client: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  extra: Partial<PutObjectCommandInput> = {},
): Promise<void> {
  await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ...extra }));
}

/**
 * Uploads `size` bytes as a multipart upload of `partSize` parts, generating each part on the
 * fly (no whole-object buffer). Returns the MD5 of the whole body.
 */
export async function putMultipartObject(
  client: S3Client,
  bucket: string,
  key: string,
  size: number,
  partSize: number,
  extra: { ContentType?: string; Metadata?: Record<string, string> } = {},
): Promise<string> {
  const hash = createHash('md5');
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ...extra }));
  const parts: { PartNumber: number; ETag: string }[] = [];
  const block = randomBytes(Math.min(partSize, size));
  for (let offset = 0, n = 1; offset < size; offset += partSize, n++) {
    const length = Math.min(partSize, size - offset);
    const body = Buffer.from(block.subarray(0, length));
    if (length >= 4) body.writeUInt32BE(n, 0); // every part differs
    hash.update(body);
    const { ETag } = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, Body: body, ContentLength: length }),
    );
    parts.push({ PartNumber: n, ETag: ETag! });
  }
  await client.send(
    new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }),
  );
  return hash.digest('hex');
}

/** Reads an object back: the MD5 and size of its full body, streamed, and its HEAD. */
export async function readBack(
  client: S3Client,
  bucket: string,
  key: string,
): Promise<{ md5: string; size: number; head: HeadObjectCommandOutput }> {
  const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
  const response = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of response.Body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { md5: hash.digest('hex'), size, head };
}

export async function readTags(client: S3Client, bucket: string, key: string): Promise<Record<string, string>> {
  const { TagSet } = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return Object.fromEntries((TagSet ?? []).map((t) => [t.Key!, t.Value!]));
}

/** Multipart uploads still open in a bucket: must be none after any replication. */
export async function openUploads(client: S3Client, bucket: string): Promise<string[]> {
  const { Uploads } = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
  return (Uploads ?? []).map((u) => u.Key!);
}

/** Every key in a bucket (one listing page: for small test buckets). */
export async function listKeys(client: S3Client, bucket: string): Promise<string[]> {
  const { Contents } = await client.send(new ListObjectsV2Command({ Bucket: bucket }));
  return (Contents ?? []).map((o) => o.Key!);
}
