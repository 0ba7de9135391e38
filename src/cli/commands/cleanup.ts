import type { Command } from 'commander';
import { cleanupUploads, parseAge, type CleanupItem } from '../../cleanup/cleanup-uploads.js';
import { explainConnectionFailure, targetClient, type ConnectionOptions } from '../connections.js';
import { EXIT, UsageError } from '../errors.js';
import { displayKey, formatS3Location, parseS3Location } from '../s3-location.js';
import { addTargetOptions } from './common.js';

interface CleanupCommandOptions extends Omit<ConnectionOptions, 'concurrency'> {
  olderThan: number;
  dryRun?: boolean;
  json?: boolean;
}

function age(value: string): number {
  const ms = parseAge(value);
  if (ms === undefined) throw new UsageError(`--older-than "${value}" is not an age: write a number and a unit, e.g. 24h, 90m, 7d or 0s`);
  return ms;
}

function formatAge(seconds: number | undefined): string {
  if (seconds === undefined) return 'age unknown';
  if (seconds < 120) return `${seconds} s old`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min old`;
  if (seconds < 172_800) return `${Math.round(seconds / 3600)} h old`;
  return `${Math.round(seconds / 86_400)} d old`;
}

const HELP = `
Aborts multipart uploads under s3://TARGET[/PREFIX] that were started with the same target
credentials (the ones sync and the Lambda use) more than --older-than ago: the parts a crashed
copy leaves behind, which are billed until aborted. Uploads started by other credentials, and
younger ones, are kept and listed. The credentials' identity is learnt by starting and aborting
one empty upload. Without a PREFIX the whole bucket is listed; a target that requires a key
prefix for ListMultipartUploads (older Lyve Cloud deployments) is listed per top-level prefix.
A lifecycle rule (AbortIncompleteMultipartUpload) does the same job on the server, when the
target supports one.

Target: endpoint from --target-endpoint or LC_ENDPOINT_URL; keys from LC_ACCESS_KEY and
LC_SECRET_KEY, --target-profile, or --target-secret-id.`;

export function registerCleanup(program: Command): void {
  addTargetOptions(
    program
      .command('cleanup')
    .description('abort stale multipart uploads this tool (these credentials) started on the target')
    .argument('<target>', 's3://BUCKET[/PREFIX] on the target')
    .requiredOption('--older-than <age>', 'only uploads started at least this long ago, e.g. 24h, 90m, 7d, 0s', age)
    .option('--dry-run', 'list what would be aborted; abort nothing')
    .option('--json', 'print a machine-readable report on stdout'),
  )
    .addHelpText('after', HELP)
    .action(async (targetArg: string, options: CleanupCommandOptions) => {
      const target = parseS3Location(targetArg, 'target');
      const connection: ConnectionOptions = { ...options, concurrency: 4 };
      const client = await targetClient(connection);
      const line = (item: CleanupItem): string => {
        const why = item.reason ? `: ${item.reason}` : '';
        return `${item.action.padEnd(12)} ${displayKey(item.key)} (upload ${item.uploadId.slice(0, 16)}…, ${formatAge(item.ageSeconds)})${why}\n`;
      };
      const report = await cleanupUploads({
        client,
        bucket: target.bucket,
        prefix: target.prefix,
        olderThanMs: options.olderThan,
        dryRun: options.dryRun ?? false,
        onItem: (item) => {
          if (!options.json || item.action === 'failed') process.stderr.write(line(item));
        },
      }).catch((error: unknown) => {
        throw explainConnectionFailure(error, connection);
      });

      if (report.note) process.stderr.write(`note: ${report.note}\n`);
      const c = report.counts;
      if (options.json) {
        process.stdout.write(`${JSON.stringify({ command: 'cleanup', target: formatS3Location(target), ...report }, null, 2)}\n`);
      } else {
        process.stderr.write(
          `${report.dryRun ? `dry run: ${c['would-abort']} to abort` : `${c.aborted} aborted`}, ${c['not-ours']} kept (other credentials), ` +
            `${c.younger} kept (younger than --older-than), ${c.failed} failed\n`,
        );
      }
      process.exitCode = report.complete ? EXIT.ok : EXIT.failures;
    });
}
