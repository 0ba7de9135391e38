import type { TransferProgress } from '../engine/types.js';

/**
 * Decides when a copy must stop so that the invocation ends cleanly: before each new part, the
 * time left must cover the parts already in flight (about one part duration, as they run in
 * parallel), completing the upload, and a safety reserve for checkpointing and replying.
 * The first part of an invocation always starts, so a copy always progresses.
 */
export class TimeBudget {
  /** When this invocation saw its first part start, and how many parts were done then. */
  private start: { at: number; partsDone: number } | undefined;

  constructor(
    private readonly remainingMs: () => number,
    /** Kept free at the end of the invocation for checkpointing, messages and the reply. */
    private readonly reserveMs: number,
    private readonly concurrency: number,
  ) {}

  /** The engine's `shouldPause` hook. */
  readonly shouldPause = (progress: TransferProgress): boolean => {
    const now = Date.now();
    // Every invocation moves at least one part forward, even with a timeout shorter than the
    // reserve: pausing before any part would hand the same work on forever.
    if (!this.start) {
      this.start = { at: now, partsDone: progress.partsDone };
      return false;
    }
    const parts = progress.partsDone - this.start.partsDone;
    // Average time for one part: parts complete `concurrency` at a time.
    const perPart = parts > 0 ? ((now - this.start.at) * Math.min(this.concurrency, parts)) / parts : 0;
    return this.remainingMs() < this.reserveMs + 2 * perPart;
  };
}
