import cliProgress from 'cli-progress';
import type { SyncItem } from '../sync/sync-buckets.js';
import { displayKey } from './s3-location.js';

const MiB = 1024 * 1024;

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  if (bytes < MiB) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * MiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / 1024 / MiB).toFixed(2)} GiB`;
}

function formatSeconds(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** What a command shows while it works: a live bar on a terminal, plain lines otherwise. */
export interface ProgressView {
  /** `objects` to copy or delete (`bytes` to copy), and `checks` the listings showed identical, to confirm. */
  plan(objects: number, bytes: number, checks: number): void;
  bytes(count: number): void;
  item(item: SyncItem): void;
  stop(): void;
}

/** Statuses worth a line of their own (skips are only counted). */
const NOTABLE = new Set(['replicated', 'deleted', 'failed', 'paused', 'would-copy', 'would-delete', 'source-missing']);

function line(item: SyncItem, label: string = item.status): string {
  const size = item.bytes !== undefined ? ` (${formatBytes(item.bytes)})` : '';
  const why = item.message ? `: ${item.message}` : '';
  // A delete acts on the target: name the key removed there (the source key does not exist).
  const key = item.status === 'deleted' || item.status === 'would-delete' ? `target ${displayKey(item.targetKey)}` : displayKey(item.key);
  return `${label.padEnd(12)} ${key}${size}${why}`;
}

/** Plain lines on stderr: one per object that changed or failed. */
export function plainProgress(write: (text: string) => void, quiet = false): ProgressView {
  return {
    plan: (objects, bytes, checks) => {
      if (!quiet) write(`to do: ${objects} object${objects === 1 ? '' : 's'}, ${formatBytes(bytes)}${checks ? `; ${checks} to confirm` : ''}\n`);
    },
    bytes: () => undefined,
    item: (item) => {
      if (!quiet && item.status === 'identical' && item.tags === 'copied') write(`${line(item, 'tags copied')}\n`);
      else if (!quiet && NOTABLE.has(item.status)) write(`${line(item)}\n`);
      else if (item.status === 'failed') write(`${line(item)}\n`);
    },
    stop: () => undefined,
  };
}

/** A live bar (objects, bytes, rate, ETA) on a terminal; failures are printed above it. */
export function terminalProgress(stream: NodeJS.WriteStream): ProgressView {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      // cli-progress owns {eta}; ours is {eta_text}.
      format: '{bar} {percentage}% | {done}/{objects} objects | {transferred} of {size} | {rate} | ETA {eta_text}',
      hideCursor: true,
      etaBuffer: 50,
      fps: 5,
    },
    cliProgress.Presets.shades_classic,
  );
  let objects = 0;
  let done = 0;
  let bytes = 0;
  let total = 0;
  const started = Date.now();
  const payload = () => {
    const perSecond = bytes / Math.max(0.001, (Date.now() - started) / 1000);
    return {
      objects,
      done,
      transferred: formatBytes(bytes),
      size: formatBytes(total),
      rate: `${formatBytes(perSecond)}/s`,
      eta_text: bytes >= total ? '0s' : perSecond > 0 ? formatSeconds((total - bytes) / perSecond) : '--',
    };
  };
  return {
    plan: (o, b, checks) => {
      objects = o + checks;
      total = b;
      bar.start(Math.max(1, b), 0, payload());
    },
    bytes: (count) => {
      bytes += count;
      bar.update(Math.min(bytes, Math.max(1, total)), payload());
    },
    item: (item) => {
      done += 1;
      objects = Math.max(objects, done); // never more done than planned
      if (item.status === 'failed') stream.write(`\r\x1b[K${line(item)}\n`);
      bar.update(Math.min(bytes, Math.max(1, total)), payload());
    },
    stop: () => bar.stop(),
  };
}
