import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { enableReadGarbageCollection, noteBodyBytesRead } from '../../src/engine/read-garbage.js';

/** Young-generation collections that run while `action` does. */
async function minorCollectionsDuring(action: () => void): Promise<number> {
  const entries: PerformanceEntry[] = [];
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  observer.observe({ entryTypes: ['gc'] });
  action();
  // GC entries are delivered asynchronously.
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return entries.filter((entry) => (entry as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR).length;
}

describe('read garbage collection', () => {
  it('is enabled without --expose-gc and leaves the global scope alone', () => {
    expect(enableReadGarbageCollection()).toBe(true);
    expect(enableReadGarbageCollection()).toBe(true);
    expect((globalThis as { gc?: unknown }).gc).toBeUndefined();
  });

  it('collects the young generation once every 4 MiB read, not per chunk', async () => {
    enableReadGarbageCollection();
    // Whatever an earlier read left counted is flushed first.
    noteBodyBytesRead(4 * 1024 * 1024);
    const fewChunks = await minorCollectionsDuring(() => {
      for (let i = 0; i < 10; i++) noteBodyBytesRead(64 * 1024);
    });
    const manyChunks = await minorCollectionsDuring(() => {
      for (let i = 0; i < 4 * 16 * 3; i++) noteBodyBytesRead(64 * 1024);
    });
    expect(manyChunks).toBeGreaterThanOrEqual(3);
    // V8 may scavenge on its own schedule too, but not once per 64 KiB chunk.
    expect(fewChunks).toBeLessThanOrEqual(1);
    expect(manyChunks).toBeLessThan(4 * 16 * 3);
  });
});
