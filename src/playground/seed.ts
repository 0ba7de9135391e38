/**
 * Sample objects written to the source bucket through its S3 API, so each one raises an event
 * and flows through the pipeline like a user's upload would.
 */
import { randomBytes } from 'node:crypto';
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { MiB } from '../engine/limits.js';

/** Upload part size for the large sample: fauxqs rejects request bodies over 11 MiB. */
const UPLOAD_PART_SIZE = 8 * MiB;

export const SAMPLE_KEYS = {
  text: 'docs/readme.txt',
  copy: 'docs/readme (copy).txt',
  json: 'data/config.json',
  awkward: 'photos/summer holiday 🌞.txt',
  large: 'big/random-20MiB.bin',
} as const;

/** Writes the samples (each waits for the previous one) and returns their keys. */
export async function seedSamples(client: S3Client, bucket: string): Promise<string[]> {
  const put = (Key: string, Body: string | Buffer, ContentType: string, Metadata?: Record<string, string>) =>
    client.send(new PutObjectCommand({ Bucket: bucket, Key, Body, ContentType, ...(Metadata && { Metadata }) }));

  await put(SAMPLE_KEYS.text, 'Hello from the lyve-replicator playground.\n', 'text/plain; charset=utf-8', {
    author: 'playground',
    purpose: 'shows that Content-Type and user metadata are copied',
  });
  await put(SAMPLE_KEYS.json, JSON.stringify({ replicate: true, target: 'Lyve Cloud' }, null, 2), 'application/json');
  await put(SAMPLE_KEYS.awkward, 'A key with spaces and an emoji.\n', 'text/plain', { camera: 'none' });
  await client.send(
    new CopyObjectCommand({ Bucket: bucket, Key: SAMPLE_KEYS.copy, CopySource: `${bucket}/${encodeURIComponent(SAMPLE_KEYS.text)}` }),
  );
  await uploadMultipart(client, bucket, SAMPLE_KEYS.large, randomBytes(20 * MiB), 'application/octet-stream', { origin: 'random' });
  return Object.values(SAMPLE_KEYS);
}

async function uploadMultipart(
  client: S3Client,
  bucket: string,
  key: string,
  body: Buffer,
  contentType: string,
  metadata: Record<string, string>,
): Promise<void> {
  const { UploadId } = await client.send(
    new CreateMultipartUploadCommand({ Bucket: bucket, Key: key, ContentType: contentType, Metadata: metadata }),
  );
  const parts = [];
  for (let offset = 0, number = 1; offset < body.length; offset += UPLOAD_PART_SIZE, number++) {
    const { ETag } = await client.send(
      new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: number, Body: body.subarray(offset, offset + UPLOAD_PART_SIZE) }),
    );
    parts.push({ PartNumber: number, ETag });
  }
  await client.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId, MultipartUpload: { Parts: parts } }));
}
