import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Readable, finished } from 'node:stream';

/**
 * What a process that owns its runtime does so that a copy stays close to part size ×
 * concurrency in memory. A library user's process is left as it is.
 *
 * Two things grow a Node.js process beyond the part buffers during a large copy:
 *
 * - Read garbage ({@link enableReadGarbageCollection}: the CLI and the Lambda function). Node's
 *   HTTP client hands every socket read to JavaScript as a fresh buffer (up to 64 KiB), which the
 *   copy moves into a part buffer and drops. V8 frees those buffers only when it collects the
 *   young generation, which it does on its own after ~32 MiB of them, or, for those that lived
 *   through two collections, when external memory has grown by 64 MiB: ~60 MiB (Node.js 20) to
 *   ~110 MiB (Node.js 24) of dead read buffers on top of the part buffers. Collecting the young
 *   generation every 256 KiB read keeps that to ~1 MiB; with little alive in it a collection
 *   takes ~0.05 ms. Bodies are read in flowing mode ({@link forEachBodyChunk}) so that no second
 *   copy of them is made.
 * - The optimising compilers ({@link enableLowMemoryRuntime}: the CLI). TurboFan and Maglev
 *   compile the hottest functions of the AWS SDK as it loads and as it runs; their code, feedback
 *   and compilation zones cost ~25 MiB of resident memory at the peak of a large copy, and ~80
 *   MiB over a sync of many small objects. The bytes of a copy are moved by native code (sockets,
 *   MD5, buffer copies), so a large copy is as fast without them; the per-request work of small
 *   objects runs on the baseline compiler instead, at a cost in CPU (BENCHMARKS.md). The
 *   Lambda function keeps them: Lambda bills that CPU, and on its Node.js 24 runtime the
 *   process is larger than 64 MiB before its first request anyway. These flags must be set
 *   before the SDK is loaded (then imported dynamically) to save the most.
 */
const COLLECT_EVERY_BYTES = 256 * 1024;

/** V8 settings of a low-memory process; V8 11.3 (Node.js 20) and later know them all. */
export const LOW_MEMORY_V8_FLAGS = ['--no-opt', '--no-maglev', '--optimize-for-size'] as const;

/**
 * V8 settings for a young generation collected every 256 KiB read: so small a collection costs
 * less on one thread than split across several (less CPU on 2 cores, measured), and the read
 * buffers it finds dead are freed at once rather than by a background task later.
 */
export const READ_GARBAGE_V8_FLAGS = ['--no-parallel-scavenge', '--no-concurrent-array-buffer-sweeping'] as const;

type Collect = (options: { type: 'minor' }) => void;

let collect: Collect | undefined = typeof globalThis.gc === 'function' ? (globalThis.gc as unknown as Collect) : undefined;
let bytesSinceCollect = 0;

/** Counts body bytes read from a source (or target); collects the young generation every 256 KiB. */
export function noteBodyBytesRead(bytes: number): void {
  if (!collect) return;
  bytesSinceCollect += bytes;
  if (bytesSinceCollect < COLLECT_EVERY_BYTES) return;
  bytesSinceCollect = 0;
  collect({ type: 'minor' });
}

/**
 * Hands each chunk of a response body to `onChunk` as it arrives, and counts it as read (above).
 * A Node.js stream is read in flowing mode: its async iterator would join the chunks buffered
 * between two reads into one more buffer, a second copy of the body for the collector (~6 MiB
 * more at the peak of a large copy). A throw from `onChunk` destroys the stream and rejects.
 */
export async function forEachBodyChunk(body: AsyncIterable<Uint8Array>, onChunk: (chunk: Uint8Array) => void): Promise<void> {
  if (!(body instanceof Readable)) {
    for await (const chunk of body) {
      onChunk(chunk);
      noteBodyBytesRead(chunk.length);
    }
    return;
  }
  await new Promise<void>((resolve, reject) => {
    let failed = false;
    body.on('data', (chunk: Uint8Array) => {
      if (failed) return;
      try {
        onChunk(chunk);
      } catch (error) {
        failed = true;
        reject(error);
        body.destroy();
        return;
      }
      noteBodyBytesRead(chunk.length);
    });
    finished(body, (error) => (error ? reject(error) : resolve()));
  });
}

/**
 * Lets this process collect read garbage as it goes (see above) without `--expose-gc`: V8's
 * `gc` is fetched from a fresh context created while the flag is briefly on (as Jest does for
 * `--logHeapUsage`); the global scope is not changed. Returns whether collection is on.
 */
export function enableReadGarbageCollection(): boolean {
  if (collect) return true;
  try {
    for (const flag of READ_GARBAGE_V8_FLAGS) setFlagsFromString(flag);
    setFlagsFromString('--expose-gc');
    const gc: unknown = runInNewContext('gc');
    if (typeof gc === 'function') collect = gc as Collect;
  } catch {
    // A runtime that refuses the flag keeps V8's own schedule: more memory, same result.
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
  return collect !== undefined;
}

/**
 * Puts this process in its low-memory settings (see above): V8's optimising compilers off and a
 * small heap favoured, read garbage collected as it goes. Returns whether read garbage collection
 * is on.
 */
export function enableLowMemoryRuntime(): boolean {
  for (const flag of LOW_MEMORY_V8_FLAGS) setFlagsFromString(flag);
  return enableReadGarbageCollection();
}
