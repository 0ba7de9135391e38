import type { TransferProgress } from '../engine/types.js';

/**
 * Decides when a copy must stop so that the invocation ends cleanly: before each new part, the
 * time left must cover the parts already in flight (about one part duration, as they run in
 * parallel), completing the upload, and a safety reserve for checkpointing and replying.
 */
export class TimeBudget {
  private firstPartAt: number | undefined;
  private partsSeen = 0;
  private lastPartsDone: number | undefined;

  constructor(
    private readonly remainingMs: () => number,
    /** Kept free at the end of the invocation for checkpointing, messages and the reply. */
    private readonly reserveMs: number,
    private readonly concurrency: number,
  ) {}

  /** The engine's `shouldPause` hook. */
  readonly shouldPause = (progress: TransferProgress): boolean => {
    const now = Date.now();
    if (this.firstPartAt === undefined) {
      this.firstPartAt = now;
      this.lastPartsDone = progress.partsDone;
    }
    this.partsSeen = progress.partsDone - (this.lastPartsDone ?? 0);
    // Average time for one part: parts complete `concurrency` at a time.
    const elapsed = now - this.firstPartAt;
    const perPart = this.partsSeen > 0 ? (elapsed * Math.min(this.concurrency, this.partsSeen)) / this.partsSeen : 0;
    return this.remainingMs() < this.reserveMs + 2 * perPart;
  };
}
