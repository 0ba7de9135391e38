/**
 * Everything needed to continue a multipart upload in another process or invocation. It is
 * plain JSON so the CLI can keep it in a file and the Lambda in a queue message.
 */
export interface MultipartCheckpoint {
  version: 1;
  /** The source as it was copied: `headers` is the digest of its copied headers and metadata. */
  source: { bucket: string; key: string; etag: string; versionId?: string; size: number; lastModified?: string; headers?: string };
  target: { bucket: string; key: string };
  uploadId: string;
  partSize: number;
  partCount: number;
  /** Completed parts, with the ETag the target returned and the MD5 we sent. */
  parts: CompletedPart[];
}

export interface CompletedPart {
  partNumber: number;
  etag: string;
  size: number;
}

/** Checks that a value read from a file or a message is a usable checkpoint. */
export function isMultipartCheckpoint(value: unknown): value is MultipartCheckpoint {
  if (typeof value !== 'object' || value === null) return false;
  const cp = value as Partial<MultipartCheckpoint>;
  return (
    cp.version === 1 &&
    typeof cp.uploadId === 'string' &&
    typeof cp.partSize === 'number' &&
    typeof cp.partCount === 'number' &&
    Array.isArray(cp.parts) &&
    typeof cp.source?.bucket === 'string' &&
    typeof cp.source.key === 'string' &&
    typeof cp.source.etag === 'string' &&
    typeof cp.source.size === 'number' &&
    typeof cp.target?.bucket === 'string' &&
    typeof cp.target.key === 'string'
  );
}
