import { spawnSync } from 'node:child_process';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { enableReadGarbageCollection, noteBodyBytesRead } from '../../src/engine/runtime-memory.js';

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

  it('collects the young generation once every 256 KiB read, not per chunk', async () => {
    enableReadGarbageCollection();
    // Whatever an earlier read left counted is flushed first.
    noteBodyBytesRead(256 * 1024);
    const fewChunks = await minorCollectionsDuring(() => {
      for (let i = 0; i < 3; i++) noteBodyBytesRead(64 * 1024);
    });
    const manyChunks = await minorCollectionsDuring(() => {
      for (let i = 0; i < 4 * 3; i++) noteBodyBytesRead(64 * 1024);
    });
    expect(manyChunks).toBeGreaterThanOrEqual(3);
    // V8 may scavenge on its own schedule too, but not once per 64 KiB chunk.
    expect(fewChunks).toBeLessThanOrEqual(1);
    expect(manyChunks).toBeLessThan(4 * 3);
  });
});

describe('low-memory process', () => {
  // In a child process: the flags are process-wide.
  const probe = (lowMemory: boolean) => {
    const script = [
      lowMemory ? `(await import(${JSON.stringify(new URL('../../dist/engine/runtime-memory.js', import.meta.url).href)})).enableLowMemoryRuntime();` : '',
      `const { setFlagsFromString } = await import('node:v8');`,
      `setFlagsFromString('--allow-natives-syntax');`,
      // A hot function: V8 optimises it after a few thousand calls unless its optimisers are off.
      `const status = new Function('f', 'return %GetOptimizationStatus(f)');`,
      `const hot = (a, b) => (a * 31 + b) | 0;`,
      // Concurrent compilation finishes in its own time: look until optimised, for up to 1e7 calls.
      `let x = 0; for (let round = 0; round < 100 && !(status(hot) & ${1 << 4}); round++) for (let i = 0; i < 1e5; i++) x = hot(x, i);`,
      `process.stdout.write(JSON.stringify({ status: status(hot), gc: typeof globalThis.gc, x }));`,
    ].join('\n');
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    return JSON.parse(run.stdout) as { status: number; gc: string };
  };
  // V8's OptimizationStatus bits: 1 << 4 = optimised by TurboFan or Maglev.
  const OPTIMIZED = 1 << 4;

  it('turns V8 optimising compilers off and collects read garbage without a global gc', () => {
    expect(probe(false).status & OPTIMIZED).toBe(OPTIMIZED);
    const lean = probe(true);
    expect(lean.status & OPTIMIZED).toBe(0);
    expect(lean.gc).toBe('undefined');
  });
});
