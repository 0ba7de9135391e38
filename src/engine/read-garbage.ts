import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Keeps the garbage of source reads small. Node's HTTP client hands every socket read to
 * JavaScript as a fresh buffer (up to 64 KiB), which the copy moves into a part buffer and drops.
 * V8 frees those buffers only when it collects the young generation, which it does on its own
 * after ~32 MiB of them, or, for those that lived through two collections, when external memory
 * has grown by 64 MiB: ~60 MiB (Node.js 20) to ~110 MiB (Node.js 24) of dead read buffers on top
 * of the part buffers during a large copy. Collecting the young generation every few MiB read
 * keeps that to a few MiB; with little alive in it a collection takes ~0.05 ms.
 *
 * It needs V8's `gc` function: present when Node runs with `--expose-gc`, otherwise obtained by
 * {@link enableReadGarbageCollection}, which processes that own their runtime (the CLI, the
 * Lambda function) call. A library user's process is left as it is.
 */
const COLLECT_EVERY_BYTES = 4 * 1024 * 1024;

type Collect = (options: { type: 'minor' }) => void;

let collect: Collect | undefined = typeof globalThis.gc === 'function' ? (globalThis.gc as unknown as Collect) : undefined;
let bytesSinceCollect = 0;

/** Counts body bytes read from a source (or target); collects the young generation every few MiB. */
export function noteBodyBytesRead(bytes: number): void {
  if (!collect) return;
  bytesSinceCollect += bytes;
  if (bytesSinceCollect < COLLECT_EVERY_BYTES) return;
  bytesSinceCollect = 0;
  collect({ type: 'minor' });
}

/**
 * Lets this process collect read garbage as it goes (see above) without `--expose-gc`: V8's
 * `gc` is fetched from a fresh context created while the flag is briefly on (as Jest does for
 * `--logHeapUsage`); the global scope is not changed. Returns whether collection is on.
 */
export function enableReadGarbageCollection(): boolean {
  if (collect) return true;
  try {
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
