/** Buffers below this size are cheap to allocate and are not pooled. */
const POOLED_MIN_BYTES = 1024 * 1024;

/**
 * Bounds what many concurrent transfers may hold at once: a number of requests in flight and a
 * number of bytes buffered. Each part (or small object) holds one slot and a buffer of its size
 * while it is transferred, so memory stays ≤ maxBytes whatever the sizes and counts of objects.
 * A single request larger than maxBytes is still admitted, alone.
 *
 * Part buffers are reused rather than left to the garbage collector: a 16 MiB buffer freed per
 * part would otherwise linger until the next full GC and push the resident size well past the
 * budget during a long copy.
 */
export class TransferBudget {
  readonly maxRequests: number;
  readonly maxBytes: number;
  private requests = 0;
  private bytes = 0;
  private readonly waiting: Array<{ bytes: number; grant: () => void; reject: (reason: unknown) => void; signal: AbortSignal | undefined }> = [];
  /** Reusable buffers not in use, and the capacity of all pooled buffers (free and in use). */
  private readonly free: Buffer[] = [];
  private pooledBytes = 0;

  constructor(options: { maxRequests: number; maxBytes: number }) {
    if (!(options.maxRequests >= 1)) throw new RangeError('maxRequests must be at least 1');
    if (!(options.maxBytes >= 1)) throw new RangeError('maxBytes must be at least 1');
    this.maxRequests = Math.floor(options.maxRequests);
    this.maxBytes = options.maxBytes;
  }

  get inFlight(): { requests: number; bytes: number } {
    return { requests: this.requests, bytes: this.bytes };
  }

  /**
   * Runs `task` once a slot and `bytes` of the budget are free, with a buffer of exactly `bytes`
   * bytes (uninitialised) that is the task's until it settles; then releases all of it. Aborting
   * `signal` while it waits leaves the queue at once, rejecting with the signal's reason.
   */
  async run<T>(bytes: number, task: (buffer: Buffer) => Promise<T>, signal?: AbortSignal): Promise<T> {
    await this.acquire(bytes, signal);
    const backing = this.takeBuffer(bytes);
    try {
      return await task(backing.subarray(0, bytes));
    } finally {
      this.returnBuffer(backing);
      this.release(bytes);
    }
  }

  private takeBuffer(bytes: number): Buffer {
    if (bytes < POOLED_MIN_BYTES) return Buffer.allocUnsafeSlow(bytes);
    // The smallest free buffer that fits; else make room for a new one by dropping free ones.
    let best = -1;
    for (let i = 0; i < this.free.length; i++) {
      const capacity = this.free[i]!.length;
      if (capacity >= bytes && (best < 0 || capacity < this.free[best]!.length)) best = i;
    }
    if (best >= 0) return this.free.splice(best, 1)[0]!;
    while (this.free.length > 0 && this.pooledBytes + bytes > this.maxBytes) {
      this.pooledBytes -= this.free.pop()!.length;
    }
    this.pooledBytes += bytes;
    return Buffer.allocUnsafeSlow(bytes);
  }

  private returnBuffer(buffer: Buffer): void {
    if (buffer.length < POOLED_MIN_BYTES) return;
    if (this.pooledBytes > this.maxBytes) {
      this.pooledBytes -= buffer.length;
      return;
    }
    this.free.push(buffer);
  }

  private fits(bytes: number): boolean {
    return this.requests < this.maxRequests && (this.bytes === 0 || this.bytes + bytes <= this.maxBytes);
  }

  private acquire(bytes: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(abortReason(signal));
    // FIFO: a large request is not starved by a stream of small ones.
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const at = this.waiting.indexOf(waiter);
        if (at < 0) return;
        this.waiting.splice(at, 1);
        reject(abortReason(signal!));
        this.grantWaiting(); // it may have held back smaller ones behind it
      };
      const waiter = {
        bytes,
        signal,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (reason: unknown) => {
          signal?.removeEventListener('abort', onAbort);
          reject(reason);
        },
      };
      this.waiting.push(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  private take(bytes: number): void {
    this.requests += 1;
    this.bytes += bytes;
  }

  private release(bytes: number): void {
    this.requests -= 1;
    this.bytes -= bytes;
    this.grantWaiting();
  }

  private grantWaiting(): void {
    while (this.waiting.length > 0) {
      const next = this.waiting[0]!;
      // Aborted, its own listener not yet run (one signal shared by several waiters): never granted.
      if (next.signal?.aborted) {
        this.waiting.shift();
        next.reject(abortReason(next.signal));
        continue;
      }
      if (!this.fits(next.bytes)) return;
      this.waiting.shift();
      this.take(next.bytes);
      next.grant();
    }
  }
}

function abortReason(signal: AbortSignal): unknown {
  return signal.reason ?? Object.assign(new Error('The operation was aborted'), { name: 'AbortError' });
}
