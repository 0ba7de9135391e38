/**
 * Open multipart uploads on the target: listing them, telling ours from others', and the two
 * repairs that make multipart calls safe to retry (see s3-clients.ts).
 *
 * "Ours" means started with the same credentials. Servers do not agree on how they say who
 * started an upload: AWS names the initiator in ListMultipartUploads; Ceph RGW echoes the
 * caller there for every upload but lets only the initiator list an upload's parts; MinIO
 * reports one fixed owner. So an upload is ours when (1) the listing's initiator, if any, equals
 * the initiator the server reports for an upload these credentials just started (a probe), and
 * (2) these credentials may list its parts, and ListParts does not name another initiator.
 */
import { createHash, randomUUID } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CreateMultipartUploadCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListPartsCommand,
  type CompleteMultipartUploadCommandInput,
  type CompleteMultipartUploadCommandOutput,
  type S3Client,
} from '@aws-sdk/client-s3';
import { errorCode, httpStatus, isNotFound } from '../engine/errors.js';

export interface OpenUpload {
  key: string;
  uploadId: string;
  initiated?: Date;
  /** The initiator's ID as the listing reports it (not reliable on every server; see above). */
  initiator?: string;
}

export interface ListUploadsOptions {
  signal?: AbortSignal;
  /** Called with the server's clock (its `Date` header) after each page. */
  onServerTime?: (date: Date) => void;
}

/** Every open multipart upload under `prefix` (all of them when undefined), page by page. */
export async function* listUploads(
  client: S3Client,
  bucket: string,
  prefix: string | undefined,
  options: ListUploadsOptions = {},
): AsyncGenerator<OpenUpload> {
  let keyMarker: string | undefined;
  let uploadIdMarker: string | undefined;
  for (;;) {
    const command = new ListMultipartUploadsCommand({
      Bucket: bucket,
      ...(prefix && { Prefix: prefix }),
      ...(keyMarker && { KeyMarker: keyMarker }),
      ...(uploadIdMarker && { UploadIdMarker: uploadIdMarker }),
    });
    const onServerTime = options.onServerTime;
    if (onServerTime) {
      command.middlewareStack.add(
        (next) => async (args) => {
          const result = await next(args);
          const date = (result.response as { headers?: Record<string, string> }).headers?.date;
          if (date && !Number.isNaN(Date.parse(date))) onServerTime(new Date(date));
          return result;
        },
        { step: 'deserialize', name: 'lyveReplicatorServerTime' },
      );
    }
    const page = await client.send(command, options.signal ? { abortSignal: options.signal } : {});
    for (const upload of page.Uploads ?? []) {
      if (!upload.Key || !upload.UploadId) continue;
      yield {
        key: upload.Key,
        uploadId: upload.UploadId,
        ...(upload.Initiated && { initiated: upload.Initiated }),
        ...(upload.Initiator?.ID && { initiator: upload.Initiator.ID }),
      };
    }
    if (!page.IsTruncated) return;
    if (page.NextKeyMarker === keyMarker && page.NextUploadIdMarker === uploadIdMarker) return; // a server that does not advance
    keyMarker = page.NextKeyMarker;
    uploadIdMarker = page.NextUploadIdMarker;
    if (!keyMarker && !uploadIdMarker) return;
  }
}

/**
 * The initiator ID the server reports for uploads these credentials start: starts an empty
 * upload under `prefix`, reads it back from the listing, and aborts it. Undefined when the
 * server names no initiator.
 */
export async function credentialsInitiator(client: S3Client, bucket: string, prefix: string): Promise<string | undefined> {
  const key = `${prefix}.lyve-replicator-identity-probe-${randomUUID()}`;
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key }));
  try {
    for await (const upload of listUploads(client, bucket, key)) {
      if (upload.uploadId === UploadId) return upload.initiator;
    }
    return undefined;
  } finally {
    await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId })).catch(() => undefined);
  }
}

export type Ownership = { state: 'ours' } | { state: 'not-ours'; reason: string } | { state: 'gone' };

/** Whether an upload was started with these credentials (see the top of this file). */
export async function ownership(client: S3Client, bucket: string, upload: OpenUpload, identity: string | undefined): Promise<Ownership> {
  if (identity && upload.initiator && upload.initiator !== identity) {
    return { state: 'not-ours', reason: `started by ${upload.initiator}` };
  }
  try {
    const parts = await client.send(new ListPartsCommand({ Bucket: bucket, Key: upload.key, UploadId: upload.uploadId, MaxParts: 1 }));
    const by = parts.Initiator?.ID;
    if (identity && by && by !== identity) return { state: 'not-ours', reason: `started by ${by}` };
    return { state: 'ours' };
  } catch (error) {
    if (errorCode(error) === 'NoSuchUpload' || isNotFound(error)) return { state: 'gone' };
    if (httpStatus(error) === 403) {
      return { state: 'not-ours', reason: 'started with other credentials (these may not list its parts)' };
    }
    throw error;
  }
}

/**
 * After a CreateMultipartUpload that needed retries, or failed for good: attempts whose reply
 * was lost may each have started an upload nobody will use. Aborts the uploads of the same key,
 * started by the same credentials, between the call's first attempt (`elapsedMs` ago) and the
 * upload it returned (`keptUploadId`, which stays) — or, when it returned none, the server's
 * present time (its Date header). Returns how many it aborted.
 */
export async function reclaimStrayUploads(client: S3Client, bucket: string, key: string, elapsedMs: number, keptUploadId?: string): Promise<number> {
  let serverNow: Date | undefined;
  const uploads: OpenUpload[] = [];
  for await (const upload of listUploads(client, bucket, key, { onServerTime: (date) => (serverNow = date) })) {
    if (upload.key === key) uploads.push(upload);
  }
  const kept = keptUploadId === undefined ? undefined : uploads.find((upload) => upload.uploadId === keptUploadId);
  // Server clock on both ends; the slack covers coarse (whole-second) times.
  const anchor = keptUploadId === undefined ? serverNow?.getTime() : kept?.initiated?.getTime();
  if (anchor === undefined) return 0;
  const latest = kept ? anchor : anchor + 2_000;
  const earliest = anchor - elapsedMs - 2_000;
  let aborted = 0;
  for (const upload of uploads) {
    const at = upload.initiated?.getTime();
    if (upload.uploadId === keptUploadId || at === undefined || at < earliest || at > latest) continue;
    try {
      if ((await ownership(client, bucket, upload, kept?.initiator)).state !== 'ours') continue;
      await client.send(new AbortMultipartUploadCommand({ Bucket: bucket, Key: key, UploadId: upload.uploadId }));
      aborted += 1;
    } catch (error) {
      // Gone already: an earlier attempt of this abort worked and its reply was lost.
      if (errorCode(error) === 'NoSuchUpload' || isNotFound(error)) aborted += 1;
      // Any other failure: this one stays for `cleanup`, the others still go.
    }
  }
  return aborted;
}

/** The ETag S3 gives the object these parts make: MD5 of the binary part MD5s, then `-N`. */
function multipartEtag(etags: string[]): string | undefined {
  if (etags.length === 0 || !etags.every((etag) => /^[0-9a-f]{32}$/.test(etag))) return undefined;
  const hash = createHash('md5');
  for (const etag of etags) hash.update(Buffer.from(etag, 'hex'));
  return `${hash.digest('hex')}-${etags.length}`;
}

/**
 * After a CompleteMultipartUpload retry answered NoSuchUpload: when the object now carries the
 * ETag its parts make, an earlier attempt completed it; returns the output that attempt lost.
 */
export async function recoverCompletedUpload(
  client: S3Client,
  input: CompleteMultipartUploadCommandInput,
): Promise<CompleteMultipartUploadCommandOutput | undefined> {
  const expected = multipartEtag((input.MultipartUpload?.Parts ?? []).map((part) => (part.ETag ?? '').replaceAll('"', '')));
  if (!expected || !input.Bucket || !input.Key) return undefined;
  const head = await client.send(new HeadObjectCommand({ Bucket: input.Bucket, Key: input.Key }));
  if ((head.ETag ?? '').replaceAll('"', '') !== expected) return undefined;
  return {
    $metadata: head.$metadata,
    Bucket: input.Bucket,
    Key: input.Key,
    ETag: head.ETag,
    ...(head.VersionId && { VersionId: head.VersionId }),
  };
}
