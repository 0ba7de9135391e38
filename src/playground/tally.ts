/** Counts the handler's outcomes and remembers the latest one per key. */
import type { TaskOutcome } from '../lambda/replicate-task.js';

export interface Counters {
  replicated: number;
  skipped: number;
  deleted: number;
  failed: number;
  /** Events the configuration leaves alone (filters, deletes or tags off). */
  ignored: number;
  /** Large copies handed to the continuation queue. */
  continued: number;
  /** Bytes replicated. */
  bytes: number;
}

export class Tally {
  readonly counters: Counters = { replicated: 0, skipped: 0, deleted: 0, failed: 0, ignored: 0, continued: 0, bytes: 0 };
  private readonly latest = new Map<string, TaskOutcome>();

  record(outcome: TaskOutcome): void {
    const { result } = outcome;
    this.latest.set(outcome.task.key, outcome);
    if (result.status === 'paused') {
      if (outcome.continued) this.counters.continued++;
      else this.counters.failed++;
      return;
    }
    this.counters[result.status]++;
    if (result.status === 'replicated') this.counters.bytes += result.bytes;
  }

  /** The latest outcome for a source key. */
  latestFor(key: string): TaskOutcome | undefined {
    return this.latest.get(key);
  }
}
