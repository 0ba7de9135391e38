import { access, constants, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { RequestStats } from '../../clients/s3-clients.js';
import { CheckpointStore } from '../../sync/checkpoint-store.js';
import { syncBuckets, type SyncReport } from '../../sync/sync-buckets.js';
import { assertNoOverlap, explainConnectionFailure, sourceClient, targetClient } from '../connections.js';
import { EXIT, UsageError } from '../errors.js';
import { formatBytes, plainProgress, terminalProgress } from '../progress.js';
import { formatS3Location, parseS3Pair } from '../s3-location.js';
import { addCommonOptions, defaultStateDirectory, keyFilter, partSizeBytes, type CommonOptions } from './common.js';

interface SyncCommandOptions extends CommonOptions {
  dryRun?: boolean;
  delete?: boolean;
  partSize: number;
  copyTags?: boolean;
  stateDir: string;
}

export function registerSync(program: Command): void {
  addCommonOptions(
    program
      .command('sync')
      .description('copy what is missing or changed from an S3 prefix to the target, verified, resumable')
      .argument('<source>', 's3://BUCKET[/PREFIX] on the source (AWS)')
      .argument('<target>', 's3://BUCKET[/PREFIX] on the target (Lyve Cloud)')
      .option('--dry-run', 'show what would be copied or deleted; write nothing')
      .option('--delete', 'remove target objects whose source no longer exists (within the filters)')
      .addOption(new Option('--part-size <MiB>', 'multipart part size in MiB (5-4096)').argParser(partSizeBytes).default(16 * 1024 * 1024, '16'))
      .option('--copy-tags', 'copy object tags too')
      .option('--state-dir <dir>', 'where checkpoints of interrupted large copies are kept', defaultStateDirectory()),
  ).action(async (sourceArg: string, targetArg: string, options: SyncCommandOptions) => {
    const { source, target } = parseS3Pair(sourceArg, targetArg);
    // One count for both sides: the report says how many requests were retried and throttled.
    const stats = new RequestStats();
    const [src, dst] = [sourceClient(options, stats), await targetClient(options, process.env, stats)];
    await assertNoOverlap(source, target, options, dst);
    if (!options.dryRun) await assertWritableDirectory(options.stateDir);

    // First Ctrl-C pauses (large copies keep their checkpoints; rerun to resume); a second cancels.
    const pause = new AbortController();
    const cancel = new AbortController();
    const onSignal = () => {
      if (!pause.signal.aborted) {
        pause.abort();
        process.stderr.write('\ninterrupted: finishing parts in flight and saving checkpoints (Ctrl-C again to abort)\n');
      } else cancel.abort();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    const view =
      !options.json && process.stderr.isTTY ? terminalProgress(process.stderr) : plainProgress((t) => process.stderr.write(t), options.json);
    let report: SyncReport;
    try {
      report = await syncBuckets({
        source: { client: src, ...source },
        target: { client: dst, ...target },
        filter: keyFilter(options),
        dryRun: options.dryRun ?? false,
        delete: options.delete ?? false,
        copyTags: options.copyTags ?? false,
        concurrency: options.concurrency,
        partSize: options.partSize,
        checkpoints: new CheckpointStore(options.stateDir),
        signal: cancel.signal,
        pause: pause.signal,
        onPlan: ({ objects, bytes, identical }) => view.plan(objects, bytes, identical),
        onBytes: (bytes) => view.bytes(bytes),
        onObject: (item) => view.item(item),
        requestStats: stats,
      });
    } catch (error) {
      throw explainConnectionFailure(error, options);
    } finally {
      view.stop();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }

    const c = report.counts;
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ command: 'sync', source: formatS3Location(source), target: formatS3Location(target), dryRun: options.dryRun ?? false, complete: report.complete, counts: c, bytes: report.bytes, retries: report.retries, throttled: report.throttled, objectRetries: report.objectRetries, requests: report.requests, seconds: Number(report.seconds.toFixed(3)), objects: report.items }, null, 2)}\n`,
      );
    } else {
      const rate = report.seconds > 0 ? `${formatBytes(report.bytes / report.seconds)}/s` : '';
      process.stderr.write(
        `${options.dryRun ? 'dry run: ' : ''}${c.replicated} replicated, ${c.identical} identical, ${c.deleted} deleted, ${c.failed} failed` +
          `${c['source-missing'] ? `, ${c['source-missing']} gone from the source since listed` : ''}${c.paused ? `, ${c.paused} paused` : ''}${options.dryRun ? `, ${c['would-copy']} to copy, ${c['would-delete']} to delete` : ''}` +
          ` — ${formatBytes(report.bytes)} in ${report.seconds.toFixed(1)} s ${rate}` +
          `${report.retries || report.objectRetries ? `; ${report.retries} requests retried (${report.throttled} throttled)` : ''}` +
          `${report.objectRetries ? `, ${report.objectRetries} objects retried` : ''}\n`,
      );
    }
    if (pause.signal.aborted) process.exitCode = EXIT.interrupted;
    else process.exitCode = report.complete ? EXIT.ok : EXIT.failures;
  });
}

/** Checkpoints must be writable before the first large copy needs one, not when it fails. */
async function assertWritableDirectory(dir: string): Promise<void> {
  try {
    await makeDirectory(path.resolve(dir));
    if (!(await stat(dir)).isDirectory()) throw Object.assign(new Error('not a directory'), { code: 'ENOTDIR' });
    await access(dir, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    throw new UsageError(`--state-dir "${dir}" cannot hold checkpoints (${code}): pass a writable directory`);
  }
}

/**
 * `mkdir -p`, one level at a time: Node's own recursive mkdir never settles where a directory
 * cannot be made although its parent exists (e.g. under /proc).
 */
async function makeDirectory(dir: string): Promise<void> {
  const made = await mkdir(dir).then(
    () => true,
    (error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST') return true;
      if (error.code === 'ENOENT' && path.dirname(dir) !== dir) return false;
      throw error;
    },
  );
  if (made) return;
  await makeDirectory(path.dirname(dir));
  await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
}
