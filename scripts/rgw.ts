/**
 * Starts a throwaway Ceph RADOS Gateway (see test/support/rgw.ts), creates the
 * S3 users `source` and `target`, prints one JSON line to stdout:
 *
 *   {"endpoint":"http://127.0.0.1:PORT","source":{...},"target":{...}}
 *
 * and runs until SIGINT/SIGTERM, then stops the daemons and removes its data.
 * Progress goes to stderr, together with `export RGW_...=` lines that make
 * `npx vitest` reuse this gateway instead of starting its own.
 *
 * Usage: npx tsx scripts/rgw.ts [--dir DIR]
 */
import { startRgw, type RgwServer } from '../test/support/rgw.js';

function parseArgs(argv: string[]): { dir?: string } {
  const out: { dir?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dir' && argv[i + 1] !== undefined) out.dir = argv[++i];
    else if (arg === '-h' || arg === '--help') {
      process.stderr.write('usage: npx tsx scripts/rgw.ts [--dir DIR]\n');
      process.exit(0);
    } else throw new Error(`unknown argument: ${arg}`);
  }
  return out;
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const log = (line: string) => process.stderr.write(`rgw: ${line}\n`);
  let rgw: RgwServer | undefined;
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping`);
    // Still starting: exit right away; the harness' 'exit' hook kills the daemons and removes the temp dir.
    if (rgw === undefined) process.exit(130);
    rgw.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`rgw: stop failed: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));

  const t0 = performance.now();
  rgw = await startRgw({ ...args, log });
  // Keep the event loop alive until a signal arrives.
  setInterval(() => {}, 1 << 30);

  const source = await rgw.createUser('source');
  const target = await rgw.createUser('target');
  log(`up at ${rgw.endpoint} in ${((performance.now() - t0) / 1000).toFixed(1)} s (dir ${rgw.dir})`);
  process.stderr.write(
    [
      `export RGW_ENDPOINT=${rgw.endpoint}`,
      `export RGW_SOURCE_ACCESS_KEY_ID=${source.accessKeyId}`,
      `export RGW_SOURCE_SECRET_ACCESS_KEY=${source.secretAccessKey}`,
      `export RGW_TARGET_ACCESS_KEY_ID=${target.accessKeyId}`,
      `export RGW_TARGET_SECRET_ACCESS_KEY=${target.secretAccessKey}`,
    ].join('\n') + '\n',
  );
  process.stdout.write(JSON.stringify({ endpoint: rgw.endpoint, source, target }) + '\n');
}

main().catch((err: unknown) => {
  process.stderr.write(`rgw: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
