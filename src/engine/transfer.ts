import { setMaxListeners } from 'node:events';
import { createHash } from 'node:crypto';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  ListPartsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { MultipartCheckpoint, CompletedPart } from './checkpoint.js';
import { errorCode, isNotFound, isPreconditionFailed, isTransient } from './errors.js';
import { noteUploadLeftOpen, ReplicationFailure, SourceChangedError, s3Call } from './failures.js';
import { partRange } from './limits.js';
import { PLAIN_MD5, bodyMd5FromEtag, headerBytesForWire, objectStateFromHead, unquoteEtag, writeParameters, writeEtagIsMd5, headersDigest, type ObjectState, type ReplicaOrigin } from './metadata.js';
import { forEachBodyChunk } from './runtime-memory.js';
import type { TransferBudget } from './transfer-budget.js';
import type { TransferProgress } from './types.js';

/** The source object pinned to the state its HEAD returned: every read gets exactly that state. */
export interface PinnedSource {
  client: S3Client;
  bucket: string;
  key: string;
  state: ObjectState;
  /**
   * Read by `VersionId` (the caller asked for that version; needs s3:GetObjectVersion).
   * Otherwise reads carry `If-Match` on the ETag, which needs only s3:GetObject and still
   * fails as soon as the object is replaced.
   */
  byVersion?: boolean;
  /**
   * The state came from a listing or an event (ETag and size only), not from a HEAD: the reads'
   * headers are the first seen, so there is nothing to compare them with.
   */
  hinted?: boolean;
}

export interface Destination {
  client: S3Client;
  bucket: string;
  key: string;
}

export interface TransferContext {
  budget: TransferBudget;
  /** Parts this object may have in flight at once. */
  concurrency: number;
  signal: AbortSignal;
  onProgress?: (bytes: number) => void;
  onCheckpoint?: (checkpoint: MultipartCheckpoint) => void | Promise<void>;
  shouldPause?: (progress: TransferProgress) => boolean;
  /** Pauses at once, cutting off the parts in flight (see ReplicateOptions.pauseSignal). */
  pauseSignal?: AbortSignal;
  /** Recorded in the replica's markers. */
  origin?: ReplicaOrigin;
}

export interface WrittenObject {
  method: 'single-put' | 'multipart';
  parts: number;
  partSize?: number;
  /** The ETag the target should report: MD5 of the body, or MD5 of the part MD5s plus `-N`. */
  expectedEtag: string;
  /** The target's reply already proved the content (a single PUT whose ETag is our MD5). */
  etagVerified: boolean;
  resumedParts: number;
  /** Bytes of those parts, sent by that earlier run and not by this one. */
  resumedBytes: number;
  /** The multipart upload that was completed (aborted again should the replica not be there). */
  uploadId?: string;
  /** The ETag the target named when it completed the upload, when it named one. */
  completedEtag?: string;
}

/** Times a body cut off mid-stream is read again before the copy fails (the SDK retries only up to the headers). */
const BODY_READ_ATTEMPTS = 3;

/**
 * How a read gets its MD5: `hash` the bytes as they arrive, or take it from the source's ETag
 * when a whole object is read and the ETag is its MD5 (`etag-if-md5`), which saves hashing every
 * byte; the target still checks the body against it.
 */
type Digest = 'hash' | 'etag-if-md5';

/**
 * Reads bytes [start, end] of the pinned source (the whole object without a range) into
 * `buffer`, which has exactly the expected length. A changed or deleted source is a
 * SourceChangedError; a body cut off mid-stream is read again, pinned to the same state.
 */
async function readSource(
  source: PinnedSource,
  range: { start: number; end: number } | undefined,
  buffer: Buffer,
  signal: AbortSignal,
  digest: Digest = 'hash',
): Promise<SourceRead> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await readSourceOnce(source, range, buffer, signal, digest);
    } catch (error) {
      const cutOff = error instanceof ReplicationFailure && error.reason === 'unavailable' && error.message.startsWith('reading the source body');
      if (!cutOff || attempt >= BODY_READ_ATTEMPTS || signal.aborted) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100 * 2 ** attempt));
    }
  }
}

async function readSourceOnce(
  source: PinnedSource,
  range: { start: number; end: number } | undefined,
  buffer: Buffer,
  signal: AbortSignal,
  digest: Digest,
): Promise<SourceRead> {
  const { state } = source;
  const length = buffer.length;
  const response = await s3Call(
    'source',
    source.bucket,
    's3:GetObject',
    () =>
      source.client.send(
        new GetObjectCommand({
          Bucket: source.bucket,
          Key: source.key,
          ...(source.byVersion && state.versionId ? { VersionId: state.versionId } : { IfMatch: `"${state.etag}"` }),
          ...(range && { Range: `bytes=${range.start}-${range.end}` }),
        }),
        { abortSignal: signal },
      ),
    (error) => isPreconditionFailed(error) || isNotFound(error),
  ).catch((error: unknown) => {
    if (isPreconditionFailed(error) || isNotFound(error)) {
      throw new SourceChangedError(`source s3://${source.bucket}/${source.key} changed while it was being copied`);
    }
    throw error;
  });
  const body = response.Body as (AsyncIterable<Uint8Array> & { destroy?: () => void }) | undefined;
  if (response.ContentLength !== undefined && response.ContentLength !== length) {
    body?.destroy?.();
    if (range && !response.ContentRange) {
      // HTTP lets a server ignore Range and send the whole body: parts cannot be read from it.
      throw new ReplicationFailure(
        'source-rejected',
        `the source server ignored a Range request (it sent ${response.ContentLength} bytes, not the ${length} asked for), so objects above the part size cannot be read in parts from it: raise the part size above the object size to copy it whole`,
        false,
      );
    }
    if (range) {
      throw new ReplicationFailure(
        'integrity',
        `source s3://${source.bucket}/${source.key} answered a ${length}-byte range with ${response.ContentLength} bytes (${response.ContentRange})`,
        true,
      );
    }
    // Same ETag but another size: the caller's idea of the object was wrong; look again.
    throw new SourceChangedError(`source s3://${source.bucket}/${source.key} is ${response.ContentLength} bytes, not ${length}`);
  }
  // Every read must see the object the HEAD saw: the whole size (a ranged reply names it), and the
  // same headers, which a metadata-only change alters without touching the ETag that If-Match pins.
  const total = range ? /\/(\d+)\s*$/.exec(response.ContentRange ?? '')?.[1] : undefined;
  if (total !== undefined && Number(total) !== state.size) {
    body?.destroy?.();
    throw new SourceChangedError(`source s3://${source.bucket}/${source.key} is ${total} bytes, not the ${state.size} it was seen with`);
  }
  const readState = objectStateFromHead(response);
  if (!source.hinted && headersDigest(readState) !== headersDigest(state)) {
    body?.destroy?.();
    throw new SourceChangedError(`the headers or metadata of source s3://${source.bucket}/${source.key} changed while it was being copied`);
  }
  // The GET's own headers decide: a hint-pinned state knows only the ETag, not the encryption.
  const etagIsBodyMd5 = bodyMd5FromEtag(response) === state.etag;
  const knownMd5 = digest === 'etag-if-md5' && !range && etagIsBodyMd5 ? state.etag : undefined;
  // Otherwise hashed as it arrives, so hashing interleaves with network reads instead of blocking after.
  const hash = knownMd5 ? undefined : createHash('md5');
  let offset = 0;
  try {
    if (body) {
      await forEachBodyChunk(body, (chunk) => {
        if (offset + chunk.length > length) {
          throw new ReplicationFailure('integrity', `source returned more than the ${length} bytes requested`, true);
        }
        buffer.set(chunk, offset);
        hash?.update(chunk);
        offset += chunk.length;
      });
    }
  } catch (error) {
    body?.destroy?.();
    if (signal.aborted) throw new ReplicationFailure('aborted', 'replication was cancelled', false, undefined, { cause: error });
    throw error instanceof ReplicationFailure ? error : new ReplicationFailure('unavailable', `reading the source body failed: ${String((error as Error).message ?? error)}`, true, undefined, { cause: error });
  }
  if (offset !== length) {
    throw new ReplicationFailure('integrity', `source returned ${offset} bytes where ${length} were expected`, true);
  }
  return {
    body: buffer,
    md5: hash ? hash.digest() : Buffer.from(knownMd5!, 'hex'),
    md5FromEtag: !hash,
    etagIsBodyMd5,
    state: readState,
  };
}

/** A body read from the source, its MD5, and the object's state as the GET reported it. */
export interface SourceRead {
  body: Buffer;
  md5: Buffer;
  /** The MD5 is the source's ETag, not a hash of `body`: only the target's check proves the bytes. */
  md5FromEtag: boolean;
  /** The source's ETag is the MD5 of the whole object, as S3 documents (whatever range was read). */
  etagIsBodyMd5: boolean;
  /** Headers and metadata of the object (for a ranged read, `size` is the range's). */
  state: ObjectState;
}

/** The ETag S3 gives a multipart object: MD5 of the concatenated binary part MD5s, then `-N`. */
export function multipartEtag(partEtags: string[]): string {
  const hash = createHash('md5');
  for (const etag of partEtags) hash.update(Buffer.from(etag, 'hex'));
  return `${hash.digest('hex')}-${partEtags.length}`;
}

/**
 * Adds a header exactly as given: `Expires` as the source sent it (the SDK would re-format it
 * as a date), or the payload hash (see `unsignedPayload`).
 */
function withRawHeader<C extends { middlewareStack: { add: Function } }>(command: C, name: string, value: string | undefined): C {
  if (value === undefined) return command;
  command.middlewareStack.add(
    (next: (args: { request: { headers: Record<string, string> } }) => unknown) =>
      (args: { request: { headers: Record<string, string> } }) => {
        args.request.headers[name] = value;
        return next(args);
      },
    { step: 'build', name: `lyveReplicatorRawHeader-${name}` },
  );
  return command;
}

/** Standard headers that SigV4 lets a request leave unsigned (Content-Type must be signed). */
const UNSIGNABLE_WHEN_NON_ASCII = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];
const NON_ASCII = /[^\x00-\x7f]/;

/**
 * The source's headers on a write, exactly: `Expires` as sent, an empty Content-Type kept empty
 * (the SDK would send application/octet-stream), and non-ASCII values (raw UTF-8, which RGW,
 * MinIO and others store as given) sent as the same UTF-8 bytes. Node sends a header one byte
 * per character while the signer hashes its text as UTF-8, so such values are re-encoded after
 * signing, on the wire only. Servers disagree on how to sign non-ASCII standard headers (RGW
 * refuses every form), so those go unsigned, as SigV4 allows for them; `x-amz-meta-*` must be
 * signed, and are. The names of the headers sent with non-ASCII values land in `nonAscii`.
 */
function withSourceHeaders<C extends { middlewareStack: { add: Function } }>(command: C, state: ObjectState, nonAscii: string[]): C {
  type Args = { request: { headers: Record<string, string> } };
  withRawHeader(command, 'expires', state.headers.expires);
  if (state.headers.contentType === '') withRawHeader(command, 'content-type', '');
  const unsigned: Record<string, string> = {};
  command.middlewareStack.add(
    (next: (args: Args) => unknown) => (args: Args) => {
      const headers = args.request.headers;
      nonAscii.splice(0, nonAscii.length, ...Object.keys(headers).filter((name) => NON_ASCII.test(headers[name]!)));
      if (nonAscii.length === 0) return next(args);
      for (const name of Object.keys(headers)) {
        if (UNSIGNABLE_WHEN_NON_ASCII.includes(name.toLowerCase()) && NON_ASCII.test(headers[name]!)) {
          unsigned[name] = headers[name]!;
          delete headers[name];
        }
        // Node writes a request's headers one byte per character only when they go out with a
        // Buffer body (or none); sent ahead for 100-continue they go as UTF-8, encoding twice.
        if (name.toLowerCase() === 'expect') delete headers[name];
      }
      return next(args);
    },
    // Last of the build step, after the raw headers above; signing comes later (finalizeRequest).
    { step: 'build', priority: 'low', name: 'lyveReplicatorUnsignedHeaders' },
  );
  command.middlewareStack.add(
    (next: (args: Args) => unknown) => (args: Args) => {
      const headers = args.request.headers;
      Object.assign(headers, unsigned);
      for (const [name, value] of Object.entries(headers)) headers[name] = headerBytesForWire(value);
      return next(args);
    },
    // The deserialize step runs after finalizeRequest, where the request is signed.
    { step: 'deserialize', name: 'lyveReplicatorHeaderBytes' },
  );
  return command;
}

/**
 * A write refused for its signature while it carried non-ASCII header values (`nonAscii`, as
 * recorded by withSourceHeaders) is far more likely refused for those values than for the keys
 * (which sign every other request): say so.
 */
function explainSignatureRefusal(error: unknown, nonAscii: readonly string[]): unknown {
  if (!(error instanceof ReplicationFailure) || error.errorCode !== 'SignatureDoesNotMatch' || nonAscii.length === 0) return error;
  return new ReplicationFailure(
    'target-rejected',
    `the target refused the signature of a write carrying non-ASCII header values (${nonAscii.join(', ')}), as some S3 servers do for raw UTF-8 headers: store those values RFC 2047-encoded or in ASCII on the source`,
    false,
    error.errorCode,
    { cause: error },
  );
}

/**
 * Body uploads are signed with `UNSIGNED-PAYLOAD` instead of a SHA-256 of the body: the signed
 * Content-MD5 header already binds the body to the request and the server verifies it, and
 * hashing every byte twice would cost a core at a few hundred MB/s.
 */
function unsignedPayload<C extends { middlewareStack: { add: Function } }>(command: C): C {
  return withRawHeader(command, 'x-amz-content-sha256', 'UNSIGNED-PAYLOAD');
}

function isNoSuchUpload(error: unknown): boolean {
  return errorCode(error) === 'NoSuchUpload';
}

/** The upload was aborted under us (by `cleanup`, a lifecycle rule, another copy): start over. */
function uploadVanished(error: unknown): never {
  if (!isNoSuchUpload(error)) throw error;
  throw new SourceChangedError('the multipart upload was aborted by someone else while it was being written', 'target');
}

function isBadDigest(error: unknown): boolean {
  const code = error instanceof ReplicationFailure ? error.errorCode : errorCode(error);
  return code === 'BadDigest' || code === 'InvalidDigest';
}

/**
 * Reads the whole pinned source into a buffer from the budget and hands it to `use`, which
 * owns the buffer until it settles (it must not keep it). The MD5 comes from the source's ETag
 * when that is the body's MD5. If the target then refuses the body as not matching it
 * (BadDigest: bytes damaged on the way, or an ETag that only looked like an MD5), the object is
 * read again and hashed. A hash equal to the ETag means the damage was on the way: `use` runs
 * again. A different one is trusted only once a third read gives the same bytes (a server whose
 * ETags are not MD5s); reads that disagree fail the copy rather than write damaged bytes.
 */
export function withWholeObject<T>(source: PinnedSource, ctx: TransferContext, use: (read: SourceRead) => Promise<T>): Promise<T> {
  return ctx.budget.run(source.state.size, async (buffer) => {
    const read = await readSource(source, undefined, buffer, ctx.signal, 'etag-if-md5');
    try {
      return await use(read);
    } catch (error) {
      if (!read.md5FromEtag || !isBadDigest(error)) throw error;
      const again = await readSource(source, undefined, buffer, ctx.signal, 'hash');
      if (again.md5.toString('hex') !== read.md5.toString('hex')) {
        const third = await readSource(source, undefined, buffer, ctx.signal, 'hash');
        if (!third.md5.equals(again.md5)) {
          throw new ReplicationFailure(
            'integrity',
            `source s3://${source.bucket}/${source.key} returned different bytes on each read (MD5 ${again.md5.toString('hex')}, then ${third.md5.toString('hex')}, ETag ${read.md5.toString('hex')}); nothing was written`,
            true,
          );
        }
        return use(third);
      }
      return use(again);
    }
  }, ctx.signal);
}

/**
 * Writes a body read from the source with one PUT carrying Content-MD5 and the source's
 * headers. The returned ETag is compared with the MD5 sent: when it is a plain MD5 and equal,
 * the target provably stored exactly these bytes.
 */
export async function putBody(read: SourceRead, target: Destination, ctx: TransferContext): Promise<WrittenObject> {
  const size = read.body.length;
  // A source ETag that looks like an MD5 but is not the body's: record the body's, so that later
  // runs do not take this replica's (true) ETag for a body changed on the target.
  const md5Hex = read.md5.toString('hex');
  const origin = !read.md5FromEtag && PLAIN_MD5.test(read.state.etag) && md5Hex !== read.state.etag ? { ...ctx.origin, bodyMd5: md5Hex } : ctx.origin;
  const nonAscii: string[] = [];
  const command = withSourceHeaders(
    unsignedPayload(
      new PutObjectCommand({
        Bucket: target.bucket,
        Key: target.key,
        Body: read.body,
        ContentLength: size,
        ContentMD5: read.md5.toString('base64'),
        ...writeParameters(read.state, origin),
      }),
    ),
    read.state,
    nonAscii,
  );
  const response = await s3Call('target', target.bucket, 's3:PutObject', () => target.client.send(command, { abortSignal: ctx.signal })).catch(
    (error: unknown) => {
      throw explainSignatureRefusal(error, nonAscii);
    },
  );
  const expectedEtag = read.md5.toString('hex');
  const returned = unquoteEtag(response.ETag);
  const comparable = writeEtagIsMd5(response);
  if (comparable && PLAIN_MD5.test(returned) && returned !== expectedEtag) {
    throw new ReplicationFailure('integrity', `target stored ETag ${returned}, expected MD5 ${expectedEtag}`, true);
  }
  ctx.onProgress?.(size);
  return comparable
    ? { method: 'single-put', parts: 1, expectedEtag, etagVerified: returned === expectedEtag, resumedParts: 0, resumedBytes: 0 }
    : { method: 'single-put', parts: 1, expectedEtag: '', etagVerified: false, resumedParts: 0, resumedBytes: 0 };
}

/** Copies an object with one GET and one PUT carrying Content-MD5. */
export function putSingle(source: PinnedSource, target: Destination, ctx: TransferContext): Promise<WrittenObject> {
  return withWholeObject(source, ctx, (read) => putBody(read, target, ctx));
}

export interface MultipartPlan {
  partSize: number;
  partCount: number;
}

export async function abortUpload(target: Destination, uploadId: string): Promise<void> {
  try {
    await target.client.send(
      new AbortMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, UploadId: uploadId }),
    );
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
}

/**
 * The parts of `checkpoint` that the target still holds, with the same ETag and size; undefined
 * when they cannot be verified.
 */
async function verifiedParts(target: Destination, checkpoint: MultipartCheckpoint): Promise<CompletedPart[] | undefined> {
  const listed = new Map<number, { etag: string; size: number }>();
  let marker: string | undefined;
  try {
    do {
      const page = await target.client.send(
        new ListPartsCommand({
          Bucket: target.bucket,
          Key: target.key,
          UploadId: checkpoint.uploadId,
          ...(marker && { PartNumberMarker: marker }),
        }),
      );
      for (const part of page.Parts ?? []) {
        if (part.PartNumber) listed.set(part.PartNumber, { etag: unquoteEtag(part.ETag), size: part.Size ?? -1 });
      }
      marker = page.IsTruncated ? page.NextPartNumberMarker : undefined;
    } while (marker);
  } catch (error) {
    // Gone (NoSuchUpload), or a server that cannot list parts: the parts cannot be verified,
    // so the upload is not trusted and the copy starts over. Only transient errors propagate.
    if (isTransient(error)) throw error;
    return undefined;
  }
  return checkpoint.parts.filter((part) => {
    const found = listed.get(part.partNumber);
    return found !== undefined && found.etag === part.etag && found.size === part.size;
  });
}

function sameSource(checkpoint: MultipartCheckpoint, source: PinnedSource, target: Destination, plan: MultipartPlan): boolean {
  const s = source.state;
  const recorded = checkpoint.source;
  return (
    recorded.bucket === source.bucket &&
    recorded.key === source.key &&
    recorded.etag === s.etag &&
    recorded.versionId === s.versionId &&
    recorded.size === s.size &&
    // A metadata-only change keeps the ETag: the upload's headers (set when it was created) and
    // its markers would be the old ones.
    (recorded.lastModified === undefined || s.lastModified === undefined || recorded.lastModified === s.lastModified.toISOString()) &&
    (recorded.headers === undefined || recorded.headers === headersDigest(s)) &&
    checkpoint.target.bucket === target.bucket &&
    checkpoint.target.key === target.key &&
    checkpoint.partSize === plan.partSize &&
    checkpoint.partCount === plan.partCount
  );
}

/**
 * The MD5 of a whole object from its parts, which arrive in any order: each part waits for its
 * predecessor to be hashed (holding its own buffer meanwhile, within the budget), so an object
 * copied in parts can be checked end to end against an ETag that is its MD5.
 */
class InOrderMd5 {
  private readonly hash = createHash('md5');
  private next = 1;
  private readonly waiting = new Map<number, () => void>();
  private abandoned = false;

  /** No check after all (the ETag turned out not to be an MD5): nothing waits any more. */
  abandon(): void {
    this.abandoned = true;
    for (const wake of this.waiting.values()) wake();
    this.waiting.clear();
  }

  get active(): boolean {
    return !this.abandoned;
  }

  async add(partNumber: number, body: Buffer, signal: AbortSignal): Promise<void> {
    if (this.abandoned) return;
    if (partNumber !== this.next) {
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          this.waiting.delete(partNumber);
          reject(new ReplicationFailure('aborted', 'stopped while waiting to hash a part', false));
        };
        if (signal.aborted) return onAbort();
        signal.addEventListener('abort', onAbort, { once: true });
        this.waiting.set(partNumber, () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
    if (this.abandoned) return;
    this.hash.update(body);
    this.next = partNumber + 1;
    const wake = this.waiting.get(this.next);
    this.waiting.delete(this.next);
    wake?.();
  }

  digest(): string {
    return this.hash.digest('hex');
  }
}

/**
 * After an in-order MD5 of the parts differed from the source's MD5 ETag: reads every part
 * again and compares its MD5 with the one uploaded. All equal: the source serves these bytes
 * consistently and its ETag is not their MD5 after all (some servers' encrypted objects). Any
 * different: a read was damaged on the way.
 */
async function partsReadAgainMatch(source: PinnedSource, plan: MultipartPlan, sent: Map<number, string>, ctx: TransferContext, signal: AbortSignal): Promise<number[]> {
  const differing: number[] = [];
  for (let n = 1; n <= plan.partCount; n++) {
    const range = partRange(n, plan.partSize, source.state.size);
    await ctx.budget.run(range.end - range.start + 1, async (buffer) => {
      const again = await readSource(source, range, buffer, signal);
      if (again.md5.toString('hex') !== sent.get(n)) differing.push(n);
    }, signal);
  }
  return differing;
}

export type MultipartOutcome =
  | ({ paused: false } & WrittenObject)
  | { paused: true; checkpoint: MultipartCheckpoint; bytesDone: number; bytesLeft: number };

/**
 * Copies an object as a multipart upload: a pool of workers, each reading one part with a
 * ranged GET into a buffer and uploading it with Content-MD5. Continues `resume` when it still
 * matches the source. On any failure the upload is aborted; on pause it is kept and described
 * by the returned checkpoint.
 */
export async function putMultipart(
  source: PinnedSource,
  target: Destination,
  plan: MultipartPlan,
  ctx: TransferContext,
  resume: MultipartCheckpoint | undefined,
): Promise<MultipartOutcome> {
  const { state } = source;
  const done = new Map<number, CompletedPart>();
  let uploadId: string | undefined;

  if (resume && sameSource(resume, source, target, plan)) {
    const parts = await s3Call('target', target.bucket, 's3:ListMultipartUploadParts', () => verifiedParts(target, resume));
    if (parts) {
      uploadId = resume.uploadId;
      for (const part of parts) done.set(part.partNumber, part);
    }
  }
  if (resume && !uploadId) {
    // The checkpoint is stale (the source changed, or its parts cannot be verified): its upload goes.
    await abortUpload(target, resume.uploadId).catch(() => undefined);
  }
  const resumedParts = done.size;
  const resumedBytes = [...done.values()].reduce((sum, part) => sum + part.size, 0);

  if (!uploadId) {
    const nonAscii: string[] = [];
    const command = withSourceHeaders(
      new CreateMultipartUploadCommand({ Bucket: target.bucket, Key: target.key, ...writeParameters(state, ctx.origin) }),
      state,
      nonAscii,
    );
    const created = await s3Call('target', target.bucket, 's3:PutObject', () =>
      target.client.send(command, { abortSignal: ctx.signal }),
    ).catch((error: unknown) => {
      throw explainSignatureRefusal(error, nonAscii);
    });
    if (!created.UploadId) throw new ReplicationFailure('target-rejected', 'target returned no multipart upload id', true);
    uploadId = created.UploadId;
  }
  const activeUploadId = uploadId;

  const checkpoint = (): MultipartCheckpoint => ({
    version: 1,
    source: {
      bucket: source.bucket,
      key: source.key,
      etag: state.etag,
      size: state.size,
      ...(state.versionId && { versionId: state.versionId }),
      ...(state.lastModified && { lastModified: state.lastModified.toISOString() }),
      headers: headersDigest(state),
    },
    target: { bucket: target.bucket, key: target.key },
    uploadId: activeUploadId,
    partSize: plan.partSize,
    partCount: plan.partCount,
    parts: [...done.values()].sort((a, b) => a.partNumber - b.partNumber),
  });
  if (!resumedParts) await ctx.onCheckpoint?.(checkpoint());

  const pending: number[] = [];
  for (let n = 1; n <= plan.partCount; n++) if (!done.has(n)) pending.push(n);
  let bytesDone = [...done.values()].reduce((sum, p) => sum + p.size, 0);

  // One controller stops every worker's in-flight request on the first failure or on cancel.
  const stop = new AbortController();
  setMaxListeners(0, stop.signal);
  const onCancel = () => stop.abort();
  ctx.signal.addEventListener('abort', onCancel, { once: true });
  let failure: unknown;
  let paused = false;
  // A deadline: the parts in flight are cut off (what they failed with is no failure) and sent again on resume.
  let cutOff = false;
  // Before any part of this run is done, the pause waits for one: every run moves forward.
  let pauseAfterAPart = false;
  const onPauseNow = () => {
    if (done.size === resumedParts) {
      pauseAfterAPart = true;
      return;
    }
    cutOff = paused = true;
    stop.abort();
  };
  if (ctx.pauseSignal?.aborted) onPauseNow();
  else ctx.pauseSignal?.addEventListener('abort', onPauseNow, { once: true });

  // A source whose ETag is its MD5 is checked end to end: the parts, hashed in order, must give
  // it before the upload is completed. Not for a resumed copy, whose earlier parts are not here.
  const whole = resumedParts === 0 && PLAIN_MD5.test(state.etag) ? new InOrderMd5() : undefined;
  const sentMd5 = new Map<number, string>();
  /** The target encrypts with SSE-KMS or SSE-C: its ETags are not MD5s and are not compared. */
  let encryptedEtags = false;

  const uploadPart = async (partNumber: number): Promise<void> => {
    const range = partRange(partNumber, plan.partSize, state.size);
    const size = range.end - range.start + 1;
    await ctx.budget.run(size, async (buffer) => {
      // Paused while it waited for the budget: not started, so not in flight; the resume sends it.
      if (failure !== undefined || stop.signal.aborted || paused) return;
      const read = await readSource(source, range, buffer, stop.signal);
      const { body, md5: digest } = read;
      if (!read.etagIsBodyMd5) whole?.abandon();
      const response = await s3Call('target', target.bucket, 's3:PutObject', () =>
        target.client.send(
          unsignedPayload(new UploadPartCommand({
            Bucket: target.bucket,
            Key: target.key,
            UploadId: activeUploadId,
            PartNumber: partNumber,
            Body: body,
            ContentLength: size,
            ContentMD5: digest.toString('base64'),
          })),
          { abortSignal: stop.signal },
        ),
        isNoSuchUpload,
      ).catch(uploadVanished);
      const sent = digest.toString('hex');
      const etag = unquoteEtag(response.ETag);
      if (!writeEtagIsMd5(response)) encryptedEtags = true;
      else if (PLAIN_MD5.test(etag) && etag !== sent) {
        throw new ReplicationFailure('integrity', `target stored part ${partNumber} with ETag ${etag}, expected MD5 ${sent}`, true);
      }
      done.set(partNumber, { partNumber, etag: etag || sent, size });
      if (pauseAfterAPart) paused = true; // the parts in flight finish; no more start
      sentMd5.set(partNumber, sent);
      bytesDone += size;
      ctx.onProgress?.(size);
      await ctx.onCheckpoint?.(checkpoint());
      await whole?.add(partNumber, body, stop.signal);
    }, stop.signal);
  };

  const worker = async (): Promise<void> => {
    while (failure === undefined && !paused && !stop.signal.aborted) {
      const next = pending[0];
      if (next === undefined) return;
      const progress = { bytesDone, bytesLeft: state.size - bytesDone, partsDone: done.size, partsLeft: plan.partCount - done.size };
      if (ctx.shouldPause?.(progress)) {
        paused = true;
        return;
      }
      pending.shift();
      try {
        await uploadPart(next);
      } catch (error) {
        if (cutOff && !ctx.signal.aborted) return; // not done: the checkpoint leaves it to the resume
        if (failure === undefined) failure = error;
        stop.abort();
      }
    }
  };

  try {
    await Promise.all(Array.from({ length: Math.max(1, Math.min(ctx.concurrency, pending.length)) }, worker));
    if (failure === undefined && ctx.signal.aborted) {
      failure = new ReplicationFailure('aborted', 'replication was cancelled', false);
    }
    if (failure !== undefined) throw failure;
    const pausedHere = (): MultipartOutcome => ({ paused: true, checkpoint: checkpoint(), bytesDone, bytesLeft: state.size - bytesDone });
    // Parts cut off, or never started once paused, are not done (whatever `pending` says); and
    // after a cut-off the in-order MD5 lacks bytes: the resumed run completes the upload.
    if (paused && (cutOff || done.size < plan.partCount)) return pausedHere();
    if (whole?.active) {
      const md5 = whole.digest();
      if (md5 !== state.etag) {
        const differing = await partsReadAgainMatch(source, plan, sentMd5, ctx, stop.signal).catch((error: unknown) => {
          // Cut off before the mismatch could be explained: nothing is completed (a resumed run
          // would not see it), and the copy is tried again from the start.
          if (cutOff && !ctx.signal.aborted) {
            throw new ReplicationFailure(
              'integrity',
              `the parts read from s3://${source.bucket}/${source.key} hash to ${md5}, not its ETag ${state.etag}, and the time ran out before they could be read again; nothing was completed`,
              true,
            );
          }
          throw error;
        });
        if (differing.length > 0) {
          throw new ReplicationFailure(
            'integrity',
            `the parts read from s3://${source.bucket}/${source.key} hash to ${md5}, not its ETag ${state.etag}, and part${differing.length > 1 ? 's' : ''} ${differing.join(', ')} read differently a second time: bytes damaged on the way; nothing was completed`,
            true,
          );
        }
      }
    }
    const parts = [...done.values()].sort((a, b) => a.partNumber - b.partNumber);
    const completed = await s3Call('target', target.bucket, 's3:PutObject', () =>
      target.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: target.bucket,
          Key: target.key,
          UploadId: activeUploadId,
          MultipartUpload: { Parts: parts.map((p) => ({ PartNumber: p.partNumber, ETag: `"${p.etag}"` })) },
        }),
      ),
      isNoSuchUpload,
    ).catch(uploadVanished);
    return {
      paused: false,
      method: 'multipart',
      parts: parts.length,
      partSize: plan.partSize,
      expectedEtag: !encryptedEtags && parts.every((p) => PLAIN_MD5.test(p.etag)) ? multipartEtag(parts.map((p) => p.etag)) : '',
      etagVerified: false,
      resumedParts,
      resumedBytes,
      uploadId: activeUploadId,
      ...(completed?.ETag && { completedEtag: unquoteEtag(completed.ETag) }),
    };
  } catch (error) {
    // Never leave paid-for parts behind: the upload is aborted whatever went wrong, and when even
    // that fails the failure says which upload is left (for a caller with better luck or keys).
    const aborted = await abortUpload(target, activeUploadId).then(
      () => true,
      () => false,
    );
    if (!aborted) noteUploadLeftOpen(error, activeUploadId);
    throw error;
  } finally {
    ctx.signal.removeEventListener('abort', onCancel);
    ctx.pauseSignal?.removeEventListener('abort', onPauseNow);
  }
}
