/**
 * The benchmark: lyve-replicator against rclone, the original Seagate sample's method and the
 * server's raw limits, in one run on one machine, against a local Ceph RGW (separate source and
 * target users). See BENCHMARKS.md for the latest results and what each figure means.
 *
 *   npm run bench                 # full: large 1 × 2 GiB, medium 64 × 32 MiB, small 5,000 × 4 KiB,
 *                                 #       a 5 GiB object, the Lambda bundle, lag over 500 events
 *   npm run bench -- --quick      # reduced, under 3 minutes
 *
 * Options: --datasets large,medium,small  --tools sync,lambda,rclone-default,rclone-tuned,sample,raw-get,raw-put
 *          --skip large-copy,bundle,lag   --profile (V8 CPU profile of every sync run, summarized)
 *          --no-save (print only)          --write-md (also update BENCHMARKS.md after a --quick run)
 *          --link MIBPS,RTTMS (every tool reaches RGW through a WAN-like link: each connection
 *                 capped at MIBPS MiB/s per direction, RTTMS ms round trip; results go to
 *                 bench/results/<date>-link.json and BENCHMARKS.md's link section)
 * Needs: Debian packages ceph-mon ceph-osd radosgw rclone python3-boto3.
 * Set RGW_ENDPOINT and the RGW_* keys printed by scripts/rgw.ts (and RGW_CONF for Ceph CPU
 * figures) to reuse a running gateway.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { createSourceClient, createTargetClient, GiB, KiB, MiB } from '../src/index.js';
import { createBucket, deleteBucket, listAll } from './support/buckets.js';
import { formatProfile, summarizeProfile } from './support/cpu-profile.js';
import { gateway } from './support/gateway.js';
import { measureLag } from './support/lag.js';
import { measureBundle } from './support/lambda-bundle.js';
import { startLinkProxy } from './support/link-proxy.js';
import { copyLargeObject } from './support/large-copy.js';
import { describeMachine, loadAverage } from './support/machine.js';
import { computeRatios, computeTargets, consoleReport, writeBenchmarksMd, type Results, type RunResult } from './support/report.js';
import { seedLargeObject, seedObjects } from './support/seed.js';
import { runTool, TOOL_LABELS, TOOLS, WRITES_TARGET, type Dataset, type DatasetName, type ToolName } from './support/tools.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    datasets: { type: 'string', default: 'large,medium,small' },
    tools: { type: 'string', default: TOOLS.join(',') },
    skip: { type: 'string', default: '' },
    profile: { type: 'boolean', default: false },
    'no-save': { type: 'boolean', default: false },
    'write-md': { type: 'boolean', default: false },
    'sample-max-objects': { type: 'string' },
    link: { type: 'string' },
  },
});

const quick = values.quick!;

/** `--link 16,20`: 16 MiB/s per connection each way, 20 ms round trip. */
function parseLink(text: string): { bytesPerSecond: number; rttMs: number } {
  const [rate, rtt] = text.split(',').map(Number);
  if (!(rate! > 0) || !(rtt! >= 0)) throw new Error(`--link ${text}: expected MIBPS,RTTMS, e.g. --link 16,20`);
  return { bytesPerSecond: rate! * MiB, rttMs: rtt! };
}

function hostPort(endpoint: string): { host: string; port: number } {
  const url = new URL(endpoint);
  return { host: url.hostname, port: Number(url.port) };
}
// The SDK warns on every run that its 2027 releases need Node 22; the project supports Node 20 today.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const SPEC = {
  large: { count: 1, size: quick ? 256 * MiB : 2 * GiB },
  medium: { count: quick ? 8 : 64, size: 32 * MiB },
  small: { count: quick ? 500 : 5000, size: 4 * KiB },
} as const;
const LARGE_COPY = { size: quick ? 1 * GiB : 5 * GiB, partSize: 16 * MiB, concurrency: 8 };
const LAG = { events: quick ? 100 : 500, ratePerSecond: 50, objectSize: 4 * KiB };
/**
 * The original sample copies one object per invocation, creating its two boto3 clients each
 * time (~0.2 s of CPU per object here): its rate does not depend on how many objects there are,
 * so it is measured on at most this many objects of a dataset (0: all).
 */
const SAMPLE_MAX_OBJECTS = Number(values['sample-max-objects'] ?? (quick ? 50 : 1000));

const root = path.resolve(new URL('..', import.meta.url).pathname);
const datasets = values.datasets!.split(',').filter(Boolean) as DatasetName[];
const tools = values.tools!.split(',').filter(Boolean) as ToolName[];
const skip = new Set(values.skip!.split(',').filter(Boolean));
for (const d of datasets) if (!(d in SPEC)) throw new Error(`unknown dataset ${d}`);
for (const t of tools) if (!TOOLS.includes(t)) throw new Error(`unknown tool ${t} (one of ${TOOLS.join(', ')})`);

const started = performance.now();
const log = (line: string) => process.stderr.write(`[${((performance.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`);
const date = new Date().toISOString();
const stamp = date.replace(/[:.]/g, '-');
const resultsDir = path.join(root, 'bench', 'results');
const loadBefore = loadAverage();
// The 1-minute load average through the run (our own tool and Ceph add about 2 to it).
const loadSamples: number[] = [];
const loadTimer = setInterval(() => loadSamples.push(loadAverage()[0]!), 10_000);
loadTimer.unref();
log(`load average ${loadBefore.join(' ')} · ${quick ? 'quick' : 'full'} run`);
const machine = describeMachine();

const rgw = await gateway();
log(`RGW at ${rgw.endpoint}`);
const linkSpec = values.link ? parseLink(values.link) : undefined;
const link = linkSpec && (await startLinkProxy({ upstream: hostPort(rgw.endpoint), ...linkSpec }));
if (link && linkSpec) {
  log(`tools reach RGW through a WAN-like link at ${link.endpoint}: ${linkSpec.bytesPerSecond / MiB} MiB/s per connection each way, ${linkSpec.rttMs} ms round trip`);
}
/** The gateway as the tools see it: through the link when there is one. */
const toolGateway = link ? { ...rgw, endpoint: link.endpoint } : rgw;
const source = createSourceClient({ endpoint: rgw.endpoint, credentials: rgw.source, concurrency: 32 });
const target = createTargetClient({ endpoint: rgw.endpoint, credentials: rgw.target, concurrency: 16 });
const runs: RunResult[] = [];
const profiles: NonNullable<Results['profiles']> = [];
const results: Partial<Results> = {};
const runId = Date.now().toString(36);

async function seed(name: DatasetName): Promise<Dataset> {
  const { count, size } = SPEC[name];
  const bucket = `src-${name}-${runId}`;
  await createBucket(source, bucket);
  const t0 = performance.now();
  let objects;
  if (name === 'large') {
    const key = 'large/large.bin';
    await seedLargeObject(source, bucket, key, size);
    const head = await source.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    objects = [{ key, size, eTag: (head.ETag ?? '').replace(/"/g, '') }];
  } else {
    objects = await seedObjects(source, bucket, `${name}/`, count, size, name === 'medium' ? 8 : 32);
  }
  const bytes = count * size;
  log(`seeded ${name}: ${count} × ${size / (size >= MiB ? MiB : KiB)} ${size >= MiB ? 'MiB' : 'KiB'} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return { name, bucket, objects, bytes };
}

/** Checks the target holds exactly the dataset's keys and sizes. */
async function verifyTarget(dataset: Dataset, bucket: string): Promise<string> {
  const listed = new Map((await listAll(target, bucket)).map((o) => [o.key, o.size]));
  const missing = dataset.objects.filter((o) => listed.get(o.key) !== o.size).length;
  if (missing > 0 || listed.size !== dataset.objects.length) {
    throw new Error(`target ${bucket}: ${listed.size} objects, ${missing} of ${dataset.objects.length} missing or of the wrong size`);
  }
  return `${listed.size} objects, sizes match`;
}

function daemonCpu(): Record<string, number> {
  return rgw.daemonCpuSeconds();
}

async function measure(full: Dataset, tool: ToolName): Promise<void> {
  const dataset =
    tool === 'sample' && SAMPLE_MAX_OBJECTS > 0 && full.objects.length > SAMPLE_MAX_OBJECTS
      ? { ...full, objects: full.objects.slice(0, SAMPLE_MAX_OBJECTS), bytes: full.objects.slice(0, SAMPLE_MAX_OBJECTS).reduce((n, o) => n + o.size, 0) }
      : full;
  const targetBucket = `dst-${dataset.name}-${tool}-${runId}`;
  if (WRITES_TARGET[tool]) await createBucket(target, targetBucket);
  const profileDir = values.profile && tool === 'sync' ? path.join(resultsDir, 'profiles', stamp, dataset.name) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  log(`${dataset.name}: ${TOOL_LABELS[tool]}${dataset !== full ? ` (first ${dataset.objects.length} objects)` : ''} ...`);
  const cpuBefore = daemonCpu();
  const requestsBefore = rgw.requestCounters();
  try {
    const run = await runTool(tool, { rgw: toolGateway, root, dataset, targetBucket, ...(profileDir && { cpuProfileDir: profileDir }), log });
    const cpuAfter = daemonCpu();
    const requestsAfter = rgw.requestCounters();
    const verified = WRITES_TARGET[tool] ? await verifyTarget(dataset, targetBucket) : 'reads only';
    const result: RunResult = {
      dataset: dataset.name,
      tool,
      objects: dataset.objects.length,
      bytes: dataset.bytes,
      seconds: run.seconds,
      timing: run.timing,
      wallSeconds: Number(run.wallSeconds.toFixed(3)),
      MBps: dataset.bytes / 1e6 / run.seconds,
      objectsPerSecond: dataset.objects.length / run.seconds,
      peakRssMiB: run.peakRssBytes / MiB,
      cpuSeconds: run.cpuSeconds,
      daemonCpuSeconds: Object.fromEntries(
        Object.entries(cpuAfter).map(([name, s]) => [name, Number((s - (cpuBefore[name] ?? 0)).toFixed(2))]),
      ),
      tempDiskBytes: run.tempDiskBytes,
      rgwRequests: Object.fromEntries(Object.entries(requestsAfter).map(([k, v]) => [k, v - (requestsBefore[k] ?? 0)])),
      verified,
      profiled: profileDir !== undefined,
      detail: {
        ...run.detail,
        ...(dataset !== full && { measuredOn: `the first ${dataset.objects.length} of ${full.objects.length} objects (see SAMPLE_MAX_OBJECTS)` }),
      },
    };
    runs.push(result);
    const rate = dataset.name === 'small' ? `${result.objectsPerSecond.toFixed(0)} objects/s` : `${result.MBps.toFixed(0)} MB/s`;
    log(`  ${run.seconds.toFixed(1)} s, ${rate}, peak RSS ${result.peakRssMiB.toFixed(0)} MiB, ${verified}`);
    if (profileDir) {
      for (const file of readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'))) {
        const summary = summarizeProfile(path.join(profileDir, file));
        profiles.push({ dataset: dataset.name, file: path.relative(root, path.join(profileDir, file)), summary });
        log(`  CPU profile ${file}:\n${formatProfile(summary)}`);
      }
    }
  } finally {
    if (WRITES_TARGET[tool]) {
      await deleteBucket(target, targetBucket).catch((e: unknown) => log(`  cleanup of ${targetBucket} failed: ${String(e)}`));
      await rgw.collectGarbage();
    }
  }
}

try {
  for (const name of datasets) {
    const dataset = await seed(name);
    try {
      for (const tool of tools) await measure(dataset, tool);
    } finally {
      await deleteBucket(source, dataset.bucket).catch(() => {});
      await rgw.collectGarbage();
    }
  }
  if (!skip.has('large-copy')) {
    log(`large object: ${LARGE_COPY.size / GiB} GiB, ${LARGE_COPY.partSize / MiB} MiB × ${LARGE_COPY.concurrency} ...`);
    // The quick run skips reading the replica back for its MD5 (the tests check bodies).
    results.largeCopy = await copyLargeObject(rgw, { ...LARGE_COPY, verify: !quick, log: (l) => log(`  ${l}`) });
    log(`  peak RSS ${results.largeCopy.peakRssMiB} MiB (bound ${results.largeCopy.rssBoundMiB} MiB), ${results.largeCopy.throughputMiBps} MiB/s`);
    await rgw.collectGarbage();
  }
} finally {
  source.destroy();
  target.destroy();
  await link?.close();
  await rgw.stop();
}

if (!skip.has('bundle')) {
  log('Lambda bundle: size and cold init ...');
  results.bundle = await measureBundle(root);
}
if (!skip.has('lag')) {
  results.lag = await measureLag({ ...LAG, log });
}

const ratios = computeRatios(runs);
const final: Results = {
  date,
  mode: quick ? 'quick' : 'full',
  durationSeconds: Math.round((performance.now() - started) / 1000),
  machine,
  load: {
    before: loadBefore,
    after: loadAverage(),
    duringMax: Math.max(...loadSamples, 0),
    duringMean: Number((loadSamples.reduce((a, b) => a + b, 0) / Math.max(1, loadSamples.length)).toFixed(2)),
  },
  datasets: datasets.map((name) => ({ name, objects: SPEC[name].count, objectSize: SPEC[name].size, bytes: SPEC[name].count * SPEC[name].size })),
  runs,
  ratios,
  targets: computeTargets(runs, ratios, results.largeCopy),
  ...results,
  ...(profiles.length > 0 && { profiles }),
  ...(linkSpec && { link: { perConnectionMiBps: linkSpec.bytesPerSecond / MiB, rttMs: linkSpec.rttMs } }),
  command: `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, ''),
};

process.stdout.write(`\n${consoleReport(final)}\n`);
log(`load average ${final.load.after.join(' ')}`);
if (!values['no-save']) {
  const { writeFileSync } = await import('node:fs');
  mkdirSync(resultsDir, { recursive: true });
  const jsonFile = path.join(resultsDir, `${stamp}${quick ? '-quick' : ''}${link ? '-link' : ''}.json`);
  writeFileSync(jsonFile, `${JSON.stringify(final, null, 2)}\n`);
  log(`saved ${path.relative(root, jsonFile)}`);
  if (!quick || values['write-md']) {
    writeBenchmarksMd(path.join(root, 'BENCHMARKS.md'), final, path.relative(root, jsonFile));
    log('updated BENCHMARKS.md');
  }
}
