/**
 * The playground's output. On a terminal: one line per object as it completes, under a counters
 * line that is redrawn in place. Otherwise (a pipe, a CI log): the same object lines, plain.
 */
import type { TaskOutcome } from '../lambda/replicate-task.js';
import type { QueueDepth } from './queues.js';
import type { Counters } from './tally.js';

export interface Status {
  counters: Counters;
  queue?: QueueDepth;
  deadLetters?: number;
}

const COLORS = { green: 32, yellow: 33, red: 31, dim: 2 } as const;

export class LiveView {
  private statusLine = '';
  private timer: NodeJS.Timeout | undefined;
  private read: (() => Promise<Status>) | undefined;
  private closed = false;

  constructor(
    private readonly out: NodeJS.WriteStream = process.stdout,
    readonly tty: boolean = Boolean(out.isTTY) && process.env.TERM !== 'dumb',
  ) {
    // A reader that went away (`| head`) ends the output, not the run.
    out.on('error', () => (this.closed = true));
  }

  /** Prints a line (above the counters line on a terminal). */
  line(text = ''): void {
    if (!this.tty) {
      this.write(`${text}\n`);
      return;
    }
    this.write(`\r\x1b[2K${text}\n${this.statusLine}`);
    if (this.read) void this.draw(); // the counters may have changed with this line
  }

  /** One object's outcome. */
  outcome(outcome: TaskOutcome): void {
    this.line(formatOutcome(outcome, (code, text) => this.paint(code, text)));
  }

  /** On a terminal, keeps a counters line from `read` under the output, redrawn every `intervalMs`. */
  startStatus(read: () => Promise<Status>, intervalMs = 250): void {
    if (!this.tty || this.timer) return;
    this.read = read;
    this.timer = setInterval(() => void this.draw(), intervalMs);
    void this.draw();
  }

  private async draw(): Promise<void> {
    const status = await this.read?.().catch(() => undefined);
    if (!status || !this.timer) return;
    const line = this.paint('dim', formatStatus(status));
    if (line === this.statusLine) return;
    this.statusLine = line;
    this.write(`\r\x1b[2K${line}`);
  }

  /** Stops redrawing and leaves the cursor on a fresh line. */
  stopStatus(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    this.read = undefined;
    this.statusLine = '';
    this.write('\r\x1b[2K');
  }

  paint(color: keyof typeof COLORS, text: string): string {
    return this.tty ? `\x1b[${COLORS[color]}m${text}\x1b[0m` : text;
  }

  private write(text: string): void {
    if (!this.closed) this.out.write(text);
  }
}

type Paint = (color: keyof typeof COLORS, text: string) => string;

/** status, key, size, duration, lag (event → replica) */
export function formatOutcome(outcome: TaskOutcome, paint: Paint = (_, text) => text): string {
  const r = outcome.result;
  const key = displayKey(outcome.task.key).padEnd(32);
  const eventTime = outcome.task.eventTime;
  const lag = eventTime ? `lag ${formatMs(Date.now() - eventTime.getTime())}` : '';
  const took = (ms: number) => `in ${formatMs(ms)}`.padEnd(10);
  switch (r.status) {
    case 'replicated': {
      const parts = r.method === 'multipart' ? `  (${r.parts} parts)` : '';
      return `${paint('green', 'replicated')}  ${key} ${formatBytes(r.bytes).padStart(10)}  ${took(r.durationMs)} ${lag}${parts}`;
    }
    case 'deleted':
      return `${paint('yellow', 'deleted   ')}  ${key} ${''.padStart(10)}  ${took(r.durationMs)} ${lag}`;
    case 'skipped':
    case 'ignored':
      return `${paint('dim', r.status.padEnd(10))}  ${key} ${r.reason}`;
    case 'paused':
      return outcome.continued
        ? `${paint('yellow', 'continued ')}  ${key} ${formatBytes(r.bytesDone)} done, continuing in the next invocation`
        : `${paint('red', 'failed    ')}  ${key} paused with nowhere to continue`;
    case 'failed':
      return `${paint('red', 'failed    ')}  ${key} ${r.reason}: ${r.message} (the message returns to the queue)`;
  }
}

export function formatStatus({ counters: c, queue, deadLetters }: Status): string {
  const parts = [
    `replicated ${c.replicated}`,
    `skipped ${c.skipped + c.ignored}`,
    `deleted ${c.deleted}`,
    `failed ${c.failed}`,
    formatBytes(c.bytes),
  ];
  if (queue) parts.push(`queue ${queue.visible} waiting, ${queue.inFlight} in flight`);
  if (deadLetters) parts.push(`dead letters ${deadLetters}`);
  return parts.join(' · ');
}

/** A key as typed: quoted when it has leading/trailing spaces or control characters. */
function displayKey(key: string): string {
  return /^\s|\s$|[\u0000-\u001f\u007f]/.test(key) ? JSON.stringify(key) : key;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(1)} ${units[unit]}`;
}

export function formatMs(ms: number): string {
  return ms < 1000 ? `${Math.max(0, Math.round(ms))} ms` : `${(ms / 1000).toFixed(1)} s`;
}
