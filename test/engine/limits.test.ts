import { describe, expect, it } from 'vitest';
import { GiB, LYVE_CLOUD_LIMITS, MiB, TiB, planTransfer } from '../../src/index.js';
import { partRange } from '../../src/engine/limits.js';

const plan = (size: number, partSize = 16 * MiB, threshold = partSize) =>
  planTransfer(size, partSize, threshold, LYVE_CLOUD_LIMITS);

describe('planTransfer', () => {
  it('uses one PUT up to the threshold and multipart above it', () => {
    expect(plan(0)).toEqual({ method: 'single-put', size: 0 });
    expect(plan(16 * MiB)).toEqual({ method: 'single-put', size: 16 * MiB });
    expect(plan(16 * MiB + 1)).toEqual({ method: 'multipart', size: 16 * MiB + 1, partSize: 16 * MiB, partCount: 2 });
  });

  it('never makes a single PUT larger than 5 GiB, whatever the threshold', () => {
    expect(plan(5 * GiB, 16 * MiB, 10 * GiB).method).toBe('single-put');
    expect(plan(5 * GiB + 1, 16 * MiB, 10 * GiB).method).toBe('multipart');
  });

  it('raises the part size in whole MiB to stay within 10,000 parts', () => {
    const p = plan(1 * TiB);
    expect(p).toMatchObject({ method: 'multipart', partSize: 105 * MiB });
    if (p.method === 'multipart') expect(p.partCount).toBeLessThanOrEqual(10_000);
    const max = plan(5 * TiB);
    if (max.method !== 'multipart') throw new Error('expected multipart');
    expect(max.partCount).toBeLessThanOrEqual(10_000);
    expect(max.partSize).toBeLessThanOrEqual(4 * GiB);
    expect(max.partSize % MiB).toBe(0);
  });

  it('keeps parts at least 5 MiB', () => {
    expect(plan(20 * MiB, 1 * MiB, 1 * MiB)).toMatchObject({ partSize: 5 * MiB, partCount: 4 });
  });

  it('refuses objects larger than the target accepts', () => {
    expect(() => plan(5 * TiB + 1)).toThrow(/at most 5497558138880 bytes/);
  });

  it('covers every byte exactly once', () => {
    const size = 3 * 16 * MiB + 5;
    const ranges = [1, 2, 3, 4].map((n) => partRange(n, 16 * MiB, size));
    expect(ranges[0]).toEqual({ start: 0, end: 16 * MiB - 1 });
    expect(ranges[3]).toEqual({ start: 48 * MiB, end: size - 1 });
    expect(ranges.reduce((sum, r) => sum + r.end - r.start + 1, 0)).toBe(size);
  });
});
