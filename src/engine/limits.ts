export const KiB = 1024;
export const MiB = 1024 * KiB;
export const GiB = 1024 * MiB;
export const TiB = 1024 * GiB;

/** What the target service accepts. Defaults are Lyve Cloud's (S3 API guide, 2025), which match AWS S3's. */
export interface TargetLimits {
  maxSinglePutSize: number;
  minPartSize: number;
  maxPartSize: number;
  maxParts: number;
  maxObjectSize: number;
  maxKeyBytes: number;
  /** User metadata, UTF-8 bytes of keys and values (the replica markers are trimmed to fit). */
  maxMetadataBytes?: number;
}

export const LYVE_CLOUD_LIMITS: TargetLimits = {
  maxSinglePutSize: 5 * GiB,
  minPartSize: 5 * MiB,
  maxPartSize: 4 * GiB,
  maxParts: 10_000,
  maxObjectSize: 5 * TiB,
  maxKeyBytes: 1024,
  maxMetadataBytes: 2048,
};

export const DEFAULT_PART_SIZE = 16 * MiB;
export const DEFAULT_CONCURRENCY = 8;

export type TransferPlan =
  | { method: 'single-put'; size: number }
  | { method: 'multipart'; size: number; partSize: number; partCount: number };

/**
 * Chooses single PUT or multipart for an object of `size` bytes. The part size is the preferred
 * one, raised (in whole MiB) until the object fits in `maxParts` parts, and kept within the
 * target's part size limits.
 */
export function planTransfer(
  size: number,
  preferredPartSize: number,
  multipartThreshold: number,
  limits: TargetLimits,
): TransferPlan {
  if (size > limits.maxObjectSize) {
    throw new RangeError(
      `object is ${size} bytes; the target accepts at most ${limits.maxObjectSize} bytes per object`,
    );
  }
  // An empty object is one PUT whatever the threshold: a multipart upload needs at least one part.
  if (size === 0 || size <= Math.min(multipartThreshold, limits.maxSinglePutSize)) {
    return { method: 'single-put', size };
  }
  const needed = Math.ceil(size / limits.maxParts);
  let partSize = Math.max(preferredPartSize, needed, limits.minPartSize);
  partSize = Math.ceil(partSize / MiB) * MiB;
  partSize = Math.min(partSize, limits.maxPartSize);
  const partCount = Math.ceil(size / partSize);
  if (partCount > limits.maxParts) {
    throw new RangeError(
      `object is ${size} bytes; it does not fit in ${limits.maxParts} parts of at most ${limits.maxPartSize} bytes`,
    );
  }
  return { method: 'multipart', size, partSize, partCount };
}

/** The byte range [start, end] (inclusive) of part `partNumber` (1-based). */
export function partRange(partNumber: number, partSize: number, size: number): { start: number; end: number } {
  const start = (partNumber - 1) * partSize;
  const end = Math.min(start + partSize, size) - 1;
  return { start, end };
}
