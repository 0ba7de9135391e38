/**
 * The CSV manifest an S3 Batch Operations job reads: one `bucket,key` line per object, generated
 * by listing the source and streamed to S3 as a multipart upload, so memory stays at two parts
 * whatever the bucket size.
 *
 * Format (S3BatchOperations_CSV_20180820 with Fields [Bucket, Key]): no header; "Each row in the
 * file must include the bucket name, object key, and optionally, the object version. Object keys
 * must be URL-encoded" (S3 User Guide, "Specifying a manifest";
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/batch-ops-create-job.html). The Lambda
 * receives the key as `s3Key` and form-decodes it (src/lambda/events/batch-operations.ts), so
 * every character that form decoding would change is percent-encoded: `+` as %2B, `%` as %25,
 * space as %20. Encoding also removes every `,`, `"` and line break from the key, so no CSV
 * quoting is ever needed. `/` stays literal, as in the documentation's examples.
 */
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type CompletedPart,
  type S3Client,
} from '@aws-sdk/client-s3';
import { listObjects } from '../engine/list-objects.js';
import { s3Failure } from './errors.js';
import { bareEtag, checkBucketName, checkObjectKey } from './validate.js';

const MiB = 1024 * 1024;
/** S3's smallest part (every part but the last). */
export const MIN_PART_SIZE = 5 * MiB;
/** Default part size: well above the minimum, below the embedded test server's 11 MiB request limit. */
export const DEFAULT_MANIFEST_PART_SIZE = 8 * MiB;
const MAX_PARTS = 10_000;
/** The part size doubles every this many parts, up to 8× the first, so ~500 GB of manifest fits in 10,000 parts. */
const PARTS_PER_SIZE_STEP = 1_000;
const MAX_SIZE_GROWTH = 8;

/**
 * A key as Batch Operations expects it in a CSV manifest: percent-encoded UTF-8 with only
 * RFC 3986 unreserved characters (A–Z a–z 0–9 - . _ ~) and `/` left as they are.
 */
export function encodeManifestKey(key: string): string {
  let encoded: string;
  try {
    encoded = encodeURIComponent(key);
  } catch {
    throw new Error(`object key ${JSON.stringify(key)} is not valid Unicode and cannot be written to a manifest`);
  }
  return encoded.replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`).replaceAll('%2F', '/');
}

/** One manifest line, `bucket,encoded-key\n`. */
export function manifestLine(bucket: string, key: string): string {
  return `${bucket},${encodeManifestKey(key)}\n`;
}

export interface ListSourceOptions {
  source: S3Client;
  bucket: string;
  prefix?: string;
  /** Keys to keep; default all. */
  filter?: (key: string) => boolean;
  /** MaxKeys per ListObjectsV2 request (default 1,000, S3's maximum). */
  pageSize?: number;
  signal?: AbortSignal;
}

/** Every key under the prefix that passes the filter, page by page (the engine's listing). */
export async function* listSourceKeys(options: ListSourceOptions): AsyncGenerator<string> {
  const { source, bucket, prefix = '', filter, pageSize, signal } = options;
  try {
    for await (const object of listObjects(source, 'source', bucket, prefix, {
      ...(signal && { signal }),
      ...(pageSize !== undefined && { pageSize }),
    })) {
      if (!filter || filter(object.key)) yield object.key;
    }
  } catch (error) {
    throw s3Failure(`listing s3://${bucket}/${prefix} failed`, error, bucket, 's3:ListBucket');
  }
}

export interface StreamUploadResult {
  /** The object's ETag, without quotes. */
  etag: string;
  bytes: number;
  /** 0 for a single PUT. */
  parts: number;
}

/**
 * Writes the chunks to bucket/key without holding more than two parts in memory: one part
 * uploading while the next fills. Content that never reaches one part is sent as a single PUT;
 * otherwise a multipart upload with parts of at least `partSize` (≥ 5 MiB) except the last,
 * each sent with its Content-MD5. On any failure the multipart upload is aborted, so no parts
 * are left behind.
 */
export async function uploadStream(
  client: S3Client,
  target: { bucket: string; key: string; contentType?: string; partSize?: number },
  chunks: AsyncIterable<string | Uint8Array>,
): Promise<StreamUploadResult> {
  const basePartSize = target.partSize ?? DEFAULT_MANIFEST_PART_SIZE;
  if (!Number.isInteger(basePartSize) || basePartSize < MIN_PART_SIZE) {
    throw new Error(`part size ${basePartSize} is below S3's minimum of ${MIN_PART_SIZE} bytes`);
  }
  const where = `s3://${target.bucket}/${target.key}`;
  const contentType = target.contentType ?? 'text/csv';
  const partSizeFor = (partNumber: number) =>
    basePartSize * Math.min(MAX_SIZE_GROWTH, 2 ** Math.floor((partNumber - 1) / PARTS_PER_SIZE_STEP));

  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let total = 0;
  let uploadId: string | undefined;
  const completed: CompletedPart[] = [];
  let inFlight: Promise<void> | undefined;
  /** S3 failures say which object they were writing; failures of `chunks` (the listing) pass through as they are. */
  const s3 = <T>(call: () => Promise<T>): Promise<T> =>
    call().catch((error: unknown) => Promise.reject(s3Failure(`writing ${where} failed`, error, target.bucket, 's3:PutObject')));

  const startPart = async (body: Buffer): Promise<void> => {
    // Wait for the previous part first: at most one part uploads while the next one fills.
    await inFlight;
    if (uploadId === undefined) {
      const created = await s3(() =>
        client.send(new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ContentType: contentType })),
      );
      if (!created.UploadId) throw new Error(`writing ${where} failed: CreateMultipartUpload returned no upload ID`);
      uploadId = created.UploadId;
    }
    const partNumber = completed.length + 1;
    if (partNumber > MAX_PARTS) {
      throw new Error(`writing ${where} failed: it would need more than ${MAX_PARTS} parts; use an S3 Inventory report for a listing this large`);
    }
    completed.push({ PartNumber: partNumber });
    const id = uploadId;
    inFlight = s3(() =>
      client.send(
        new UploadPartCommand({
          Bucket: target.bucket,
          Key: target.key,
          UploadId: id,
          PartNumber: partNumber,
          Body: body,
          ContentLength: body.length,
          ContentMD5: md5Base64(body),
        }),
      ),
    ).then((result) => {
      if (!result.ETag) throw new Error(`writing ${where} failed: part ${partNumber} returned no ETag`);
      completed[partNumber - 1] = { PartNumber: partNumber, ETag: result.ETag };
    });
    // Attach a handler now so a failure while the next part fills is not an unhandled rejection;
    // it is rethrown by the next `await inFlight`.
    inFlight.catch(() => undefined);
  };

  try {
    for await (const chunk of chunks) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : Buffer.from(chunk);
      pending.push(buffer);
      pendingBytes += buffer.length;
      total += buffer.length;
      if (pendingBytes >= partSizeFor(completed.length + 1)) {
        const body = Buffer.concat(pending, pendingBytes);
        pending = [];
        pendingBytes = 0;
        await startPart(body);
      }
    }
    const rest = Buffer.concat(pending, pendingBytes);
    pending = [];

    if (uploadId === undefined) {
      const put = await s3(() =>
        client.send(
          new PutObjectCommand({
            Bucket: target.bucket,
            Key: target.key,
            Body: rest,
            ContentLength: rest.length,
            ContentMD5: md5Base64(rest),
            ContentType: contentType,
          }),
        ),
      );
      return { etag: await s3(() => etagOf(client, target, put.ETag)), bytes: total, parts: 0 };
    }

    if (rest.length > 0) await startPart(rest);
    await inFlight;
    const id = uploadId;
    const done = await s3(() =>
      client.send(
        new CompleteMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: id, MultipartUpload: { Parts: completed } }),
      ),
    );
    return { etag: await s3(() => etagOf(client, target, done.ETag)), bytes: total, parts: completed.length };
  } catch (error) {
    if (uploadId !== undefined) {
      await inFlight?.catch(() => undefined);
      await client
        .send(new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }))
        .catch(() => undefined);
    }
    throw error;
  }
}

/** Lists `source` s3://bucket/prefix (see ListSourceOptions) into the manifest at manifestBucket/manifestKey. */
export interface WriteCsvManifestOptions extends ListSourceOptions {
  manifestBucket: string;
  manifestKey: string;
  /** Client for the manifest bucket; default the source client. */
  manifestClient?: S3Client;
  /** First part size for the multipart upload (default 8 MiB, at least 5 MiB). */
  partSize?: number;
  /** Called with the running object count, every `progressEvery` objects (default 100,000). */
  onProgress?: (objects: number) => void;
  progressEvery?: number;
}

export interface CsvManifest {
  /** Objects (lines) in the manifest. */
  objects: number;
  /** The manifest object's ETag, without quotes, as CreateJob's Manifest.Location wants it. */
  etag: string;
  bucket: string;
  key: string;
  bytes: number;
}

/**
 * Lists s3://bucket/prefix and writes the keys that pass `filter` as a Batch Operations CSV
 * manifest to manifestBucket/manifestKey. An empty listing writes an empty manifest (objects 0).
 */
export async function writeCsvManifest(options: WriteCsvManifestOptions): Promise<CsvManifest> {
  checkBucketName(options.bucket, 'source bucket');
  checkBucketName(options.manifestBucket, 'manifest bucket');
  checkObjectKey(options.manifestKey, 'manifest key');
  let objects = 0;
  const every = options.progressEvery ?? 100_000;
  async function* lines(): AsyncGenerator<string> {
    // Lines are batched into ~64 KiB strings: one Buffer per line would cost more than the line.
    let batch = '';
    for await (const key of listSourceKeys(options)) {
      batch += manifestLine(options.bucket, key);
      objects++;
      if (options.onProgress && objects % every === 0) options.onProgress(objects);
      if (batch.length >= 64 * 1024) {
        yield batch;
        batch = '';
      }
    }
    if (batch) yield batch;
  }
  const upload = await uploadStream(
    options.manifestClient ?? options.source,
    {
      bucket: options.manifestBucket,
      key: options.manifestKey,
      contentType: 'text/csv; charset=utf-8',
      ...(options.partSize !== undefined && { partSize: options.partSize }),
    },
    lines(),
  );
  return { objects, etag: upload.etag, bucket: options.manifestBucket, key: options.manifestKey, bytes: upload.bytes };
}

/** Counts what writeCsvManifest would write, without writing anything (for --dry-run). */
export async function countManifestObjects(options: ListSourceOptions): Promise<number> {
  let objects = 0;
  for await (const _key of listSourceKeys(options)) objects++;
  return objects;
}

function md5Base64(body: Uint8Array): string {
  return createHash('md5').update(body).digest('base64');
}

async function etagOf(client: S3Client, target: { bucket: string; key: string }, etag: string | undefined): Promise<string> {
  if (etag) return bareEtag(etag);
  // Every S3 returns one; read it back rather than guess if a server does not.
  const head = await client.send(new HeadObjectCommand({ Bucket: target.bucket, Key: target.key }));
  if (!head.ETag) throw new Error(`s3://${target.bucket}/${target.key} has no ETag; CreateJob needs it`);
  return bareEtag(head.ETag);
}
