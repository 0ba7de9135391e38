/**
 * `lyve-replicator sync` throughput between two RGW buckets (separate users): one large object
 * and many small ones, each synced into an empty target, then a second, no-op sync.
 *
 *   npm run build && npx tsx bench/sync-throughput.ts [--large-gib 1] [--small-count 2000] [--small-kib 4]
 *
 * `npm run bench` (bench/run.ts) compares the same against rclone, the original sample and the raw limits.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { createSourceClient, createTargetClient, GiB, KiB, MiB } from '../src/index.js';
import { cliEnvironment, gateway, type Gateway } from './support/gateway.js';
import { seedLargeObject, seedObjects } from './support/seed.js';

const { values } = parseArgs({
  options: {
    'large-gib': { type: 'string', default: '1' },
    'small-count': { type: 'string', default: '2000' },
    'small-kib': { type: 'string', default: '4' },
    concurrency: { type: 'string', default: '16' },
  },
});
const log = (line: string) => process.stderr.write(`${line}\n`);

function sync(rgw: Gateway, src: string, dst: string): Promise<{ seconds: number; report: { counts: Record<string, number>; bytes: number } }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn(
      process.execPath,
      [path.resolve('dist/cli/main.js'), 'sync', `s3://${src}`, `s3://${dst}`, '--json', '--concurrency', values.concurrency!, '--source-endpoint', rgw.endpoint],
      {
        env: {
          ...process.env,
          ...cliEnvironment(rgw),
        },
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve({ seconds: (performance.now() - started) / 1000, report: JSON.parse(out) }) : reject(new Error(`sync exited ${code}`)),
    );
  });
}

const rgw = await gateway();
try {
  const source = createSourceClient({ endpoint: rgw.endpoint, credentials: rgw.source, concurrency: 32 });
  const target = createTargetClient({ endpoint: rgw.endpoint, credentials: rgw.target });
  const stamp = Date.now().toString(36);
  const results: Record<string, unknown> = {};

  const largeBytes = Math.round(Number(values['large-gib']) * GiB);
  const [ls, ld] = [`sync-large-src-${stamp}`, `sync-large-dst-${stamp}`];
  await source.send(new CreateBucketCommand({ Bucket: ls }));
  await target.send(new CreateBucketCommand({ Bucket: ld }));
  log(`seeding ${largeBytes / GiB} GiB ...`);
  await seedLargeObject(source, ls, 'large.bin', largeBytes);
  const large = await sync(rgw, ls, ld);
  results.large = { bytes: largeBytes, seconds: +large.seconds.toFixed(2), MiBps: +(largeBytes / MiB / large.seconds).toFixed(1) };

  const count = Number(values['small-count']);
  const size = Number(values['small-kib']) * KiB;
  const [ss, sd] = [`sync-small-src-${stamp}`, `sync-small-dst-${stamp}`];
  await source.send(new CreateBucketCommand({ Bucket: ss }));
  await target.send(new CreateBucketCommand({ Bucket: sd }));
  log(`seeding ${count} × ${size / KiB} KiB ...`);
  await seedObjects(source, ss, 'small/', count, size);
  const small = await sync(rgw, ss, sd);
  const again = await sync(rgw, ss, sd);
  results.small = {
    objects: count,
    seconds: +small.seconds.toFixed(2),
    objectsPerSecond: +(count / small.seconds).toFixed(0),
    noOpResyncSeconds: +again.seconds.toFixed(2),
    replicated: small.report.counts.replicated,
    identicalOnResync: again.report.counts.identical,
  };
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} finally {
  await rgw.stop();
}
