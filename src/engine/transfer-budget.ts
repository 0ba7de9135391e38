/**
 * Bounds what many concurrent transfers may hold at once: a number of requests in flight and a
 * number of bytes buffered. Each part (or small object) holds one slot and its size in bytes
 * while its buffer exists, so memory stays ≤ maxBytes whatever the sizes and counts of objects.
 * A single request larger than maxBytes is still admitted, alone.
 */
export class TransferBudget {
  readonly maxRequests: number;
  readonly maxBytes: number;
  private requests = 0;
  private bytes = 0;
  private readonly waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(options: { maxRequests: number; maxBytes: number }) {
    if (!(options.maxRequests >= 1)) throw new RangeError('maxRequests must be at least 1');
    if (!(options.maxBytes >= 1)) throw new RangeError('maxBytes must be at least 1');
    this.maxRequests = Math.floor(options.maxRequests);
    this.maxBytes = options.maxBytes;
  }

  get inFlight(): { requests: number; bytes: number } {
    return { requests: this.requests, bytes: this.bytes };
  }

  /** Runs `task` once a slot and `bytes` of the budget are free, then releases them. */
  async run<T>(bytes: number, task: () => Promise<T>): Promise<T> {
    await this.acquire(bytes);
    try {
      return await task();
    } finally {
      this.release(bytes);
    }
  }

  private fits(bytes: number): boolean {
    return this.requests < this.maxRequests && (this.bytes === 0 || this.bytes + bytes <= this.maxBytes);
  }

  private acquire(bytes: number): Promise<void> {
    // FIFO: a large request is not starved by a stream of small ones.
    if (this.waiting.length === 0 && this.fits(bytes)) {
      this.take(bytes);
      return Promise.resolve();
    }
    return new Promise((resolve) => this.waiting.push({ bytes, grant: resolve }));
  }

  private take(bytes: number): void {
    this.requests += 1;
    this.bytes += bytes;
  }

  private release(bytes: number): void {
    this.requests -= 1;
    this.bytes -= bytes;
    while (this.waiting.length > 0 && this.fits(this.waiting[0]!.bytes)) {
      const next = this.waiting.shift()!;
      this.take(next.bytes);
      next.grant();
    }
  }
}
