import type { TransferProgress } from '../engine/types.js';

/**
 * Decides when a copy must stop so that the invocation ends cleanly: before each new part, the
 * time left must cover the parts already in flight (about one part duration, as they run in
 * parallel), completing the upload, and a safety reserve for checkpointing and replying.
 * When the whole invocation had less than the reserve (a timeout shorter than it), the first part
 * starts anyway, so a copy always progresses; when earlier work used the time up, the copy waits
 * for the next invocation, which starts with the full timeout.
 */
export class TimeBudget {
  /** When this invocation saw its first part start, and how many parts were done then. */
  private start: { at: number; partsDone: number } | undefined;

  constructor(
    private readonly remainingMs: () => number,
    /** Kept free at the end of the invocation for checkpointing, messages and the reply. */
    private readonly reserveMs: number,
    private readonly concurrency: number,
    /** What the invocation had when it began: below the reserve, the timeout itself is too short. */
    private readonly invocationMs: number = Number.POSITIVE_INFINITY,
  ) {}

  /**
   * The engine's `pauseSignal`: aborts when half the reserve is left, cutting off parts that are
   * still in flight (a link that slowed down after `shouldPause` let them start), so the copy
   * still checkpoints and continues instead of being killed with the invocation. The engine
   * lets a run's first part finish all the same (every invocation moves forward); and with a
   * timeout below the reserve there is no deadline at all. `clear` when the copy is over.
   */
  deadline(): { signal: AbortSignal; clear: () => void } | undefined {
    if (this.invocationMs < this.reserveMs) return undefined;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(0, this.remainingMs() - this.reserveMs / 2));
    timer.unref?.();
    return { signal: controller.signal, clear: () => clearTimeout(timer) };
  }

  /** The engine's `shouldPause` hook. */
  readonly shouldPause = (progress: TransferProgress): boolean => {
    const now = Date.now();
    // With a timeout shorter than the reserve, pausing before any part would hand the same work
    // on forever: every invocation moves at least one part forward.
    if (!this.start) {
      this.start = { at: now, partsDone: progress.partsDone };
      if (this.invocationMs < this.reserveMs) return false;
    }
    const parts = progress.partsDone - this.start.partsDone;
    // Average time for one part: parts complete `concurrency` at a time.
    const perPart = parts > 0 ? ((now - this.start.at) * Math.min(this.concurrency, parts)) / parts : 0;
    return this.remainingMs() < this.reserveMs + 2 * perPart;
  };
}
