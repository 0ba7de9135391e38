import type { HeadObjectCommandOutput } from '@aws-sdk/client-s3';

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
} as const;

const MARKERS: ReadonlySet<string> = new Set(Object.values(REPLICA_METADATA));

/** The object headers that are copied exactly; everything else (storage class, SSE, ...) is not. */
export interface ObjectHeaders {
  contentType?: string;
  cacheControl?: string;
  contentDisposition?: string;
  contentEncoding?: string;
  contentLanguage?: string;
  /** The raw `Expires` header, copied byte for byte even when it is not a valid date. */
  expires?: string;
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
  return state;
}

/** User metadata of a replica of `source`: the source's own, plus the replica markers. */
export function replicaMetadata(source: ObjectState): Record<string, string> {
  const metadata: Record<string, string> = {};
  for (const [key, value] of Object.entries(source.headers.metadata)) {
    // A source that is itself a replica carries markers of its own source: ours replace them.
    // Other keys, even with our prefix, are the source's own and copied.
    if (!MARKERS.has(key)) metadata[key] = value;
  }
  metadata[REPLICA_METADATA.sourceEtag] = source.etag;
  if (source.versionId) metadata[REPLICA_METADATA.sourceVersionId] = source.versionId;
  if (source.lastModified) metadata[REPLICA_METADATA.sourceLastModified] = source.lastModified.toISOString();
  return metadata;
}

/** PutObject / CreateMultipartUpload parameters carrying the source's headers and the markers. */
export function writeParameters(source: ObjectState): {
  ContentType?: string;
  CacheControl?: string;
  ContentDisposition?: string;
  ContentEncoding?: string;
  ContentLanguage?: string;
  Metadata: Record<string, string>;
} {
  const h = source.headers;
  return {
    ...(h.contentType !== undefined && { ContentType: h.contentType }),
    ...(h.cacheControl !== undefined && { CacheControl: h.cacheControl }),
    ...(h.contentDisposition !== undefined && { ContentDisposition: h.contentDisposition }),
    ...(h.contentEncoding !== undefined && { ContentEncoding: h.contentEncoding }),
    ...(h.contentLanguage !== undefined && { ContentLanguage: h.contentLanguage }),
    Metadata: replicaMetadata(source),
  };
}

/** The source state a replica says it was copied from, when it carries our markers. */
export function recordedSource(
  replica: ObjectState,
): { etag: string; versionId?: string; lastModified?: string } | undefined {
  const m = replica.headers.metadata;
  const etag = m[REPLICA_METADATA.sourceEtag];
  if (!etag) return undefined;
  const recorded: { etag: string; versionId?: string; lastModified?: string } = { etag };
  const versionId = m[REPLICA_METADATA.sourceVersionId];
  if (versionId) recorded.versionId = versionId;
  const lastModified = m[REPLICA_METADATA.sourceLastModified];
  if (lastModified) recorded.lastModified = lastModified;
  return recorded;
}

/** User metadata without our markers: what must equal the source's for an exact copy. */
export function userMetadata(state: ObjectState): Record<string, string> {
  return Object.fromEntries(
    Object.entries(state.headers.metadata).filter(([key]) => !MARKERS.has(key)),
  );
}

function sameRecord(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * Whether `target` already is an exact replica of `source`. With our markers: same size and the
 * recorded source ETag, version and modification time match (a metadata-only change on S3 keeps
 * the ETag but not the time). Without markers (copied by another tool): same size and ETag, and
 * the same content type and user metadata.
 */
export function isReplicaOf(target: ObjectState, source: ObjectState): boolean {
  if (target.size !== source.size) return false;
  const recorded = recordedSource(target);
  if (recorded) {
    return (
      recorded.etag === source.etag &&
      (recorded.versionId ?? undefined) === source.versionId &&
      (recorded.lastModified === undefined ||
        source.lastModified === undefined ||
        recorded.lastModified === source.lastModified.toISOString())
    );
  }
  return (
    target.etag === source.etag &&
    target.headers.contentType === source.headers.contentType &&
    sameRecord(userMetadata(target), userMetadata(source))
  );
}
