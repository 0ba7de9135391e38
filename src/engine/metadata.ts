import { createHash } from 'node:crypto';
import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';
import { LYVE_CLOUD_LIMITS } from './limits.js';

/**
 * User metadata keys the engine writes on every replica (as `x-amz-meta-lyve-replicator-*`),
 * recording which source state it was copied from so later runs can skip unchanged objects
 * with one HEAD.
 */
export const REPLICA_METADATA_PREFIX = 'lyve-replicator-';
export const REPLICA_METADATA = {
  sourceEtag: `${REPLICA_METADATA_PREFIX}source-etag`,
  sourceVersionId: `${REPLICA_METADATA_PREFIX}source-version-id`,
  sourceLastModified: `${REPLICA_METADATA_PREFIX}source-last-modified`,
  /** A digest of the source's copied headers and user metadata (see `headersDigest`). */
  sourceHeaders: `${REPLICA_METADATA_PREFIX}source-headers`,
  sourceBucket: `${REPLICA_METADATA_PREFIX}source-bucket`,
  /**
   * The MD5 of the body written, only when the source's ETag looks like an MD5 but is not the
   * body's (some S3-compatible servers): a replica's ETag is then compared with this instead.
   */
  bodyMd5: `${REPLICA_METADATA_PREFIX}body-md5`,
} as const;

/**
 * Markers in the order they are given up when the source's own metadata leaves too little room
 * under the target's limit: the least needed first, the source ETag last.
 */
const MARKERS_BY_NEED = [
  REPLICA_METADATA.sourceHeaders,
  REPLICA_METADATA.sourceLastModified,
  REPLICA_METADATA.sourceBucket,
  REPLICA_METADATA.bodyMd5,
  REPLICA_METADATA.sourceVersionId,
  REPLICA_METADATA.sourceEtag,
] as const;

const MARKERS: ReadonlySet<string> = new Set(Object.values(REPLICA_METADATA));

/**
 * How far apart a write on the source and one on the target must be for their times to tell
 * which came first: times have whole seconds, and two servers' clocks differ. Within it, a
 * replica's time proves nothing about the source changes it has seen.
 */
export const CLOCK_SKEW_ALLOWANCE_MS = 60_000;

/** The target was written clearly after the source last changed, whatever the clocks' skew. */
export function writtenWellAfter(target: { lastModified?: Date }, source: { lastModified?: Date }): boolean {
  return target.lastModified !== undefined && source.lastModified !== undefined && target.lastModified.getTime() >= source.lastModified.getTime() + CLOCK_SKEW_ALLOWANCE_MS;
}

/** The object headers that are copied exactly; everything else (storage class, SSE, ...) is not. */
export interface ObjectHeaders {
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  /** The raw `Expires` header, copied byte for byte even when it is not a valid date. */
  expires?: string;
  /** `x-amz-website-redirect-location`: where a static website serves a redirect for this key. */
  websiteRedirectLocation?: string;
  /** User metadata (`x-amz-meta-*`), keys lower-case as S3 returns them. */
  metadata: Record<string, string>;
}

/** What HEAD said about an object. */
export interface ObjectState {
  etag: string;
  versionId?: string;
  size: number;
  lastModified?: Date;
  headers: ObjectHeaders;
  /** The ETag is the body's MD5 as S3 documents it (one-request upload, no SSE-KMS or SSE-C). */
  etagIsMd5?: boolean;
}

export function unquoteEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^(W\/)?"|"$/g, '');
}

/** The fields HEAD and GET both return. */
type ObjectResponse = Pick<
  HeadObjectCommandOutput,
  | 'ETag'
  | 'ContentLength'
  | 'VersionId'
  | 'LastModified'
  | 'Metadata'
  | 'ContentType'
  | 'CacheControl'
  | 'ContentDisposition'
  | 'ContentEncoding'
  | 'ContentLanguage'
  | 'Expires'
  | 'WebsiteRedirectLocation'
  | 'ExpiresString'
  | 'ServerSideEncryption'
  | 'SSECustomerAlgorithm'
>;

/** An ETag with the form of an MD5: 32 lower-case hex digits (no `-N` multipart suffix). */
export const PLAIN_MD5 = /^[0-9a-f]{32}$/;

/**
 * The body's MD5 from the ETag, when S3 documents it to be one: objects uploaded in one request,
 * in clear or with SSE-S3. Not for multipart uploads (`…-N`), SSE-KMS (`aws:kms`,
 * `aws:kms:dsse`) or SSE-C. A server that breaks this rule is caught by the target, which
 * refuses a body whose MD5 differs from the Content-MD5 sent (BadDigest).
 */
export function bodyMd5FromEtag(head: ObjectResponse): string | undefined {
  const etag = unquoteEtag(head.ETag);
  if (!PLAIN_MD5.test(etag)) return undefined;
  if (head.SSECustomerAlgorithm) return undefined;
  const sse = head.ServerSideEncryption;
  if (sse !== undefined && sse !== 'AES256') return undefined;
  return etag;
}

/**
 * Whether the ETag a write returned is the MD5 of what was written: not when the target encrypts
 * with SSE-KMS (a bucket default on AWS) or SSE-C. Content-MD5 still had the server check the
 * bytes; only the comparison of ETags is left out.
 */
export function writeEtagIsMd5(response: { ServerSideEncryption?: string | undefined; SSECustomerAlgorithm?: string | undefined }): boolean {
  if (response.SSECustomerAlgorithm) return false;
  return response.ServerSideEncryption === undefined || response.ServerSideEncryption === 'AES256';
}

/**
 * A header value as the server meant it. Node reads header bytes as Latin-1, so a value a server
 * sent as raw UTF-8 (RGW, MinIO and others store non-ASCII metadata as given) arrives as one
 * character per byte; when those bytes are valid UTF-8 this gives back the text. ASCII values,
 * and AWS's RFC 2047-encoded ones, are unchanged. `headerBytesForWire` is the inverse.
 */
export function headerFromWire(value: string): string {
  if (!/[\x80-\xff]/.test(value) || /[^\x00-\xff]/.test(value)) return value;
  const bytes = Buffer.from(value, 'latin1');
  const text = bytes.toString('utf8');
  return Buffer.from(text, 'utf8').equals(bytes) ? text : value;
}

/**
 * A header value as Node must be given it to send its UTF-8 bytes: one character per byte. The
 * request is signed over the text (the signer hashes UTF-8), so this applies after signing.
 */
export function headerBytesForWire(value: string): string {
  return /[^\x00-\x7f]/.test(value) ? Buffer.from(value, 'utf8').toString('latin1') : value;
}

export function objectStateFromHead(head: ObjectResponse): ObjectState {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(head.Metadata ?? {})) metadata[key] = headerFromWire(value);
  const state: ObjectState = {
    etag: unquoteEtag(head.ETag),
    size: head.ContentLength ?? 0,
    headers: { metadata },
  };
  if (bodyMd5FromEtag(head) !== undefined) state.etagIsMd5 = true;
  if (head.VersionId && head.VersionId !== 'null') state.versionId = head.VersionId;
  if (head.LastModified) state.lastModified = head.LastModified;
  const h = state.headers;
  if (head.ContentType !== undefined) h.contentType = headerFromWire(head.ContentType);
  if (head.CacheControl !== undefined) h.cacheControl = headerFromWire(head.CacheControl);
  if (head.ContentDisposition !== undefined) h.contentDisposition = headerFromWire(head.ContentDisposition);
  if (head.ContentEncoding !== undefined) h.contentEncoding = headerFromWire(head.ContentEncoding);
  if (head.ContentLanguage !== undefined) h.contentLanguage = headerFromWire(head.ContentLanguage);
  const expires = head.ExpiresString ?? head.Expires?.toUTCString();
  if (expires !== undefined) h.expires = headerFromWire(expires);
  if (head.WebsiteRedirectLocation !== undefined) h.websiteRedirectLocation = headerFromWire(head.WebsiteRedirectLocation);
  return state;
}

/** Where a replica comes from, and how much user metadata the target accepts. */
export interface ReplicaOrigin {
  sourceBucket?: string;
  /** The target's limit on user metadata (UTF-8 bytes of keys and values); none when absent. */
  maxMetadataBytes?: number;
  /** The MD5 of the body written, when the source's MD5-like ETag is not it. */
  bodyMd5?: string;
}

/** Whether at least the source-ETag marker fits beside the source's own metadata. */
export function markersFit(source: ObjectState, maxMetadataBytes: number | undefined): boolean {
  if (maxMetadataBytes === undefined) return true;
  const own = metadataBytes(userMetadata(source));
  return own + Buffer.byteLength(REPLICA_METADATA.sourceEtag) + Buffer.byteLength(source.etag) <= maxMetadataBytes;
}

/** User metadata size as S3 counts it: the UTF-8 bytes of every key and value. */
export function metadataBytes(metadata: Record<string, string>): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(metadata)) bytes += Buffer.byteLength(key) + Buffer.byteLength(value);
  return bytes;
}

/**
 * A short digest of what a replica must copy exactly: the headers and the user metadata (our
 * markers aside). Recorded on a replica, it names the source's headers when listings alone are
 * compared, and catches a metadata-only change made within the second of the previous write,
 * which keeps both the ETag and the modification time.
 */
export function headersDigest(state: ObjectState): string {
  const h = state.headers;
  const canonical = JSON.stringify([
    h.contentType ?? null,
    h.cacheControl ?? null,
    h.contentDisposition ?? null,
    h.contentEncoding ?? null,
    h.contentLanguage ?? null,
    h.expires ?? null,
    h.websiteRedirectLocation ?? null,
    Object.entries(userMetadata(state)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
  ]);
  return createHash('md5').update(canonical).digest('base64url').slice(0, 16);
}

/**
 * User metadata of a replica of `source`: the source's own, plus the replica markers. Markers
 * that would take the total over the target's limit are left out, least needed first: a source
 * whose own metadata fills the limit is still copied, checked later by ETag and headers instead.
 */
export function replicaMetadata(source: ObjectState, origin: ReplicaOrigin = {}): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(source.headers.metadata)) {
    // A source that is itself a replica carries markers of its own source: ours replace them.
    // Other keys, even with our prefix, are the source's own and copied.
    if (!MARKERS.has(key)) metadata[key] = value;
  }
  const markers: Record<string, string> = { [REPLICA_METADATA.sourceEtag]: source.etag };
  if (source.versionId) markers[REPLICA_METADATA.sourceVersionId] = source.versionId;
  if (source.lastModified) markers[REPLICA_METADATA.sourceLastModified] = source.lastModified.toISOString();
  if (origin.sourceBucket) markers[REPLICA_METADATA.sourceBucket] = origin.sourceBucket;
  if (origin.bodyMd5) markers[REPLICA_METADATA.bodyMd5] = origin.bodyMd5;
  markers[REPLICA_METADATA.sourceHeaders] = headersDigest(source);
  if (origin.maxMetadataBytes !== undefined) {
    const room = origin.maxMetadataBytes - metadataBytes(metadata);
    for (const key of MARKERS_BY_NEED) {
      if (metadataBytes(markers) <= room) break;
      delete markers[key];
    }
  }
  return { ...metadata, ...markers };
}

/** PutObject / CreateMultipartUpload parameters carrying the source's headers and the markers. */
export function writeParameters(source: ObjectState, origin: ReplicaOrigin = {}): {
  ContentType?: string;
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  ContentLanguage?: string;
  WebsiteRedirectLocation?: string;
  Metadata: Record<string, string>;
} {
  const h = source.headers;
  return {
    ...(h.contentType !== undefined && { ContentType: h.contentType }),
    ...(h.cacheControl !== undefined && { CacheControl: h.cacheControl }),
    ...(h.contentDisposition !== undefined && { ContentDisposition: h.contentDisposition }),
    ...(h.contentEncoding !== undefined && { ContentEncoding: h.contentEncoding }),
    ...(h.contentLanguage !== undefined && { ContentLanguage: h.contentLanguage }),
    ...(h.websiteRedirectLocation !== undefined && { WebsiteRedirectLocation: h.websiteRedirectLocation }),
    Metadata: replicaMetadata(source, origin),
  };
}

/** The source state a replica says it was copied from, when it carries our markers. */
export interface RecordedSource {
  etag: string;
  versionId?: string;
  lastModified?: string;
  headers?: string;
  bucket?: string;
  bodyMd5?: string;
}

export function recordedSource(replica: ObjectState): RecordedSource | undefined {
  const m = replica.headers.metadata;
  const etag = m[REPLICA_METADATA.sourceEtag];
  if (!etag) return undefined;
  const recorded: RecordedSource = { etag };
  const versionId = m[REPLICA_METADATA.sourceVersionId];
  if (versionId) recorded.versionId = versionId;
  const lastModified = m[REPLICA_METADATA.sourceLastModified];
  if (lastModified) recorded.lastModified = lastModified;
  const headers = m[REPLICA_METADATA.sourceHeaders];
  if (headers) recorded.headers = headers;
  const bucket = m[REPLICA_METADATA.sourceBucket];
  if (bucket) recorded.bucket = bucket;
  const bodyMd5 = m[REPLICA_METADATA.bodyMd5];
  if (bodyMd5) recorded.bodyMd5 = bodyMd5;
  return recorded;
}

/** The replica records a source bucket other than `sourceBucket`: another bucket's copy. */
export function fromOtherBucket(replica: ObjectState, sourceBucket: string | undefined): boolean {
  const recorded = recordedSource(replica)?.bucket;
  return recorded !== undefined && sourceBucket !== undefined && recorded !== sourceBucket;
}

/** User metadata without our markers: what must equal the source's for an exact copy. */
export function userMetadata(state: ObjectState): Record<string, string> {
  return Object.fromEntries(
    Object.entries(state.headers.metadata).filter(([key]) => !MARKERS.has(key)),
  );
}

/**
 * Whether `target` already is an exact replica of `source`. With our markers: same size, the
 * recorded source ETag, version, modification time and bucket match, and the replica's own
 * headers and user metadata are the source's (a metadata-only change keeps the ETag, and within a
 * second the time too; a replica's headers changed on the target keep its markers). Without markers because
 * the source's metadata left no room: same size and headers, written since. Otherwise (copied by
 * another tool): same size and ETag, and the same copied headers and user metadata.
 */
export function isReplicaOf(
  target: ObjectState,
  source: ObjectState,
  context: {
    sourceBucket?: string;
    maxMetadataBytes?: number;
    /**
     * Content and headers only: a replica of an earlier write of the same bytes and headers (the
     * source uploaded again unchanged, or a new version of it) counts, whatever version and time
     * it records. For verifying; copying keeps the markers naming the source's current state.
     */
    sameContentSuffices?: boolean;
  } = {},
): boolean {
  const { sourceBucket, maxMetadataBytes = LYVE_CLOUD_LIMITS.maxMetadataBytes, sameContentSuffices = false } = context;
  if (target.size !== source.size) return false;
  const recorded = recordedSource(target);
  if (recorded) {
    return (
      recorded.etag === source.etag &&
      (sameContentSuffices ||
        ((recorded.versionId ?? undefined) === source.versionId &&
          (recorded.lastModified === undefined ||
            source.lastModified === undefined ||
            recorded.lastModified === source.lastModified.toISOString()))) &&
      // The replica's own headers are the source's (changed on the target, markers kept, they are not).
      headersDigest(target) === headersDigest(source) &&
      !fromOtherBucket(target, sourceBucket) &&
      // Written in one PUT from a source whose ETag is its MD5, a replica has that ETag: another
      // plain MD5 is another body (changed on the target, markers kept).
      !(source.etagIsMd5 && target.etagIsMd5 && target.etag !== source.etag && target.etag !== recorded.bodyMd5)
    );
  }
  if (!markersFit(source, maxMetadataBytes)) {
    // Written without markers, as the source's own metadata left no room: the same headers, and
    // the same ETag (the same body) or, when the ETags cannot be compared (parts of another size,
    // a source ETag that only looks like an MD5), written clearly after the source last changed.
    // Within the clocks' allowance the copy is made again: it cannot be told from an older one.
    return headersDigest(target) === headersDigest(source) && (target.etag === source.etag || writtenWellAfter(target, source));
  }
  // A copy another tool made: the same ETag and every copied header and metadata value.
  return target.etag === source.etag && headersDigest(target) === headersDigest(source);
}
