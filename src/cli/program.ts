/** The `lyve-replicator` command line: its commands, and how a run's outcome becomes an exit code. */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigurationError } from '../clients/s3-clients.js';
import { ReplicationFailure } from '../engine/failures.js';
import { errorMessage } from '../engine/errors.js';
import { registerBackfill } from './commands/backfill.js';
import { registerCleanup } from './commands/cleanup.js';
import { registerSync } from './commands/sync.js';
import { registerVerify } from './commands/verify.js';
import { EXIT, UsageError } from './errors.js';

// The SDK warns on every run that its 2027 releases need Node 22; the CLI supports Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

// Output piped into `head` and the like: a closed pipe ends the command quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
}

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('lyve-replicator')
  .description('Keep an S3-compatible bucket (Seagate Lyve Cloud first) an exact copy of AWS S3 buckets.')
  .version(version)
  .exitOverride()
  // Commander's own usage errors read like the rest: one line naming the program, and where help is.
  .configureOutput({
    outputError: (text, write) => write(`${text.replace(/^error: /, 'lyve-replicator: ').trimEnd()} (see lyve-replicator --help)\n`),
  })
  .addHelpText(
    'after',
    '\nExit codes: 0 done (every object replicated or identical), 1 some objects failed or differ,\n2 bad usage or configuration, 130 interrupted (rerun to resume).',
  );
registerSync(program);
registerVerify(program);
registerBackfill(program);
registerCleanup(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander printed the message already; help and version are not errors.
    process.exitCode = error.exitCode === 0 ? EXIT.ok : EXIT.usage;
  } else if (error instanceof UsageError || error instanceof ConfigurationError) {
    process.stderr.write(`lyve-replicator: ${error.message}\n`);
    process.exitCode = EXIT.usage;
  } else if (error instanceof ReplicationFailure && error.reason === 'aborted') {
    // Ctrl-C twice (or SIGTERM twice) before the run could stop on its own, e.g. while listing.
    process.stderr.write('lyve-replicator: interrupted; rerun to continue\n');
    process.exitCode = EXIT.interrupted;
  } else if (error instanceof ReplicationFailure) {
    // Listing or connecting failed for the whole run (wrong keys, missing bucket, unreachable host).
    process.stderr.write(`lyve-replicator: ${error.message}\n`);
    process.exitCode = error.retryable ? EXIT.failures : EXIT.usage;
  } else {
    process.stderr.write(`lyve-replicator: unexpected error: ${errorMessage(error)}\n`);
    process.exitCode = EXIT.failures;
  }
}
