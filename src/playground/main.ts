#!/usr/bin/env node
/**
 * `npm start`: the local playground. Runs the real replication pipeline (S3 event → SQS →
 * Lambda handler → target) between two in-memory S3 servers on 127.0.0.1, seeds a few sample
 * objects, and shows each object as it is replicated. `--once` seeds, verifies and exits: 0 when
 * the target is an exact copy, 1 otherwise.
 */
import { Command, InvalidArgumentError } from 'commander';
import { errorMessage } from '../engine/errors.js';
import { endpointLines, instructions } from './instructions.js';
import { formatStatus, LiveView } from './live-view.js';
import { runOnce, type OnceProgress } from './once.js';
import { BUCKETS, startPlayground, type Playground } from './playground.js';
import { seedSamples } from './seed.js';

// The SDK warns on every run that its 2027 releases need Node 22; the project supports Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const ONCE_TIMEOUT_MS = 60_000;
/** How long stopping may take before the process exits anyway. */
const STOP_TIMEOUT_MS = 10_000;

interface Options {
  once?: boolean;
  portSource: number;
  portTarget: number;
}

function parsePort(value: string): number {
  const port = /^\d+$/.test(value) ? Number(value) : NaN;
  if (!(port >= 0 && port <= 65535)) throw new InvalidArgumentError('a port number from 0 to 65535 (0: random)');
  return port;
}

const program = new Command()
  .name('lyve-replicator-playground')
  .description('Try lyve-replicator locally: the real pipeline between two in-memory S3 servers on 127.0.0.1.')
  .option('--once', 'seed, wait for replication, verify every object, delete one, exit (0 = exact copy)')
  .option('--port-source <port>', 'source S3 + SQS server port (0: random; a busy port falls back to random)', parsePort, 4566)
  .option('--port-target <port>', 'target S3 server port (0: random; a busy port falls back to random)', parsePort, 4567)
  .parse();

const options = program.opts<Options>();
const view = new LiveView();
const started = Date.now();

/** What Ctrl-C (SIGINT) or SIGTERM does; until the servers are up there is nothing to clean up. */
let onSignal = (signal: NodeJS.Signals): void => {
  view.line(`${signal}: stopped before the playground was ready`);
  process.exit(options.once ? 130 : 0);
};
process.on('SIGINT', (signal) => onSignal(signal));
process.on('SIGTERM', (signal) => onSignal(signal));

let stopped: Promise<void> | undefined;

/** Stops the playground (giving up after STOP_TIMEOUT_MS) and prints the summary, once. */
function shutdown(pg: Playground): Promise<void> {
  return (stopped ??= (async () => {
    view.stopStatus();
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, STOP_TIMEOUT_MS).unref());
    await Promise.race([pg.stop(), timeout]);
    view.line(`summary: ${formatStatus({ counters: pg.tally.counters })} · ${((Date.now() - started) / 1000).toFixed(1)} s`);
  })());
}

async function interactive(pg: Playground): Promise<void> {
  for (const line of instructions(pg)) view.line(line);
  view.line('');
  view.startStatus(() => pg.status());

  onSignal = (signal) => {
    if (stopped) process.exit(130); // a second Ctrl-C: don't wait
    view.line(`${signal}: stopping, waiting for the copies in flight…`);
    void shutdown(pg).then(() => process.exit(0));
  };

  try {
    const keys = await seedSamples(pg.sourceClient, BUCKETS.source);
    view.line(`seeded ${keys.length} sample objects into "${BUCKETS.source}"; watch them arrive in "${BUCKETS.target}"`);
    view.line('ready');
  } catch (error) {
    if (!stopped) throw error; // stopped while seeding: not an error
  }
}

async function once(pg: Playground): Promise<number> {
  for (const line of endpointLines(pg)) view.line(line);
  const progress: OnceProgress = { stage: 'starting' };
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${ONCE_TIMEOUT_MS / 1000} s while ${progress.stage}`)),
      ONCE_TIMEOUT_MS - (Date.now() - started),
    );
  });
  onSignal = (signal) => {
    if (stopped) process.exit(130);
    view.line(`${signal}: interrupted while ${progress.stage}`);
    void shutdown(pg).then(() => process.exit(130));
  };
  try {
    const ok = await Promise.race([runOnce(pg, view, progress), timeout]);
    view.line(ok ? 'PASS: the target is an exact copy of the source' : 'FAIL: the target is not an exact copy of the source');
    return ok ? 0 : 1;
  } catch (error) {
    view.line(`FAIL: ${errorMessage(error)}`);
    return 1;
  } finally {
    clearTimeout(timer);
    await shutdown(pg);
  }
}

try {
  const pg = await startPlayground({ sourcePort: options.portSource, targetPort: options.portTarget, view });
  if (options.once) process.exit(await once(pg));
  await interactive(pg);
} catch (error) {
  process.stderr.write(`playground: ${errorMessage(error)}\n`);
  process.exit(1);
}
