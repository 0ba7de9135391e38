/**
 * The tools compared by bench/run.ts, each run as its own process on one dataset, copying into a
 * fresh, empty target bucket: lyve-replicator (the CLI's `sync`, and the Lambda handler code
 * path), rclone (default and tuned flags), the original Seagate sample's method, and the raw
 * GET / PUT limits of the server.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { s3Record } from '../../test/support/lambda.js';
import { cliEnvironment, type Gateway } from './gateway.js';
import { assertSucceeded, runMeasured, type Measured } from './measure.js';
import type { SeededObject } from './seed.js';

export type DatasetName = 'large' | 'medium' | 'small';

export interface Dataset {
  name: DatasetName;
  bucket: string;
  objects: SeededObject[];
  bytes: number;
}

export const TOOLS = ['raw-get', 'raw-put', 'sync', 'lambda', 'rclone-default', 'rclone-tuned', 'sample'] as const;
export type ToolName = (typeof TOOLS)[number];

export const TOOL_LABELS: Record<ToolName, string> = {
  'raw-get': 'raw GET (limit)',
  'raw-put': 'raw PUT (limit)',
  sync: 'lyve-replicator sync',
  lambda: 'lyve-replicator Lambda path',
  'rclone-default': 'rclone (default flags)',
  'rclone-tuned': 'rclone (tuned flags)',
  sample: 'original sample (boto3)',
};

/** Tools that write to the target bucket (and so get a fresh one, and a check of its contents). */
export const WRITES_TARGET: Record<ToolName, boolean> = {
  'raw-get': false,
  'raw-put': true,
  sync: true,
  lambda: true,
  'rclone-default': true,
  'rclone-tuned': true,
  sample: true,
};

/** Concurrency and part size of the raw limits: the sync CLI's defaults (16 requests, 16 MiB). */
export const RAW_CONCURRENCY = 16;
export const RAW_PART_SIZE = 16 * 1024 * 1024;
/** Lambda path: records per invocation, invocations in flight. */
export const LAMBDA_BATCH = 10;
export const LAMBDA_PARALLEL = 4;

export const RCLONE_TUNED_FLAGS = ['--transfers', '16', '--checkers', '16', '--s3-upload-concurrency', '8', '--s3-chunk-size', '16M', '--s3-upload-cutoff', '16M'];

export interface ToolContext {
  rgw: Gateway;
  root: string;
  dataset: Dataset;
  /** Fresh, empty bucket of the target user (for tools that write). */
  targetBucket: string;
  /** Write a V8 CPU profile of the sync process here. */
  cpuProfileDir?: string;
  log: (line: string) => void;
}

export interface ToolRun {
  /** Seconds the measured work took (see `timing`). */
  seconds: number;
  timing: 'process wall time' | 'inside the process';
  wallSeconds: number;
  peakRssBytes: number;
  cpuSeconds: number;
  tempDiskBytes: number;
  detail: Record<string, unknown>;
}

/** The environment every tool starts from: ours without AWS settings that would interfere. */
function baseEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (/^(AWS_|RGW_|LC_|RCLONE_)/.test(name)) delete env[name];
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  env.NODE_NO_WARNINGS = '1';
  return env;
}

async function scratch(prefix: string): Promise<string> {
  return mkdtemp(path.join(tmpdir(), `lyve-bench-${prefix}-`));
}

function fromMeasured(m: Measured, detail: Record<string, unknown> = {}): ToolRun {
  return {
    seconds: m.seconds,
    timing: 'process wall time',
    wallSeconds: m.seconds,
    peakRssBytes: m.peakRssBytes,
    cpuSeconds: m.cpuSeconds,
    tempDiskBytes: 0,
    detail,
  };
}

async function runSync(ctx: ToolContext): Promise<ToolRun> {
  const { rgw, dataset, targetBucket } = ctx;
  const nodeFlags = ctx.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${ctx.cpuProfileDir}`] : [];
  const m = assertSucceeded(
    'lyve-replicator sync',
    await runMeasured(
      process.execPath,
      [...nodeFlags, path.join(ctx.root, 'dist/cli/main.js'), 'sync', `s3://${dataset.bucket}`, `s3://${targetBucket}`, '--json', '--source-endpoint', rgw.endpoint],
      {
        env: {
          ...baseEnv(),
          ...cliEnvironment(rgw),
        },
      },
    ),
  );
  const report = JSON.parse(m.stdout) as { counts: Record<string, number>; bytes: number; seconds: number; requests?: unknown };
  if (report.counts.replicated !== dataset.objects.length) throw new Error(`sync replicated ${JSON.stringify(report.counts)}`);
  return fromMeasured(m, { counts: report.counts, reportedSeconds: report.seconds, ...(report.requests !== undefined && { requests: report.requests }) });
}

async function runLambda(ctx: ToolContext): Promise<ToolRun> {
  const { rgw, dataset } = ctx;
  const dir = await scratch('lambda');
  try {
    const records = dataset.objects.map((o) => s3Record({ bucket: dataset.bucket, key: o.key, eTag: o.eTag, size: o.size }));
    const batches: unknown[][] = [];
    for (let i = 0; i < records.length; i += LAMBDA_BATCH) batches.push(records.slice(i, i + LAMBDA_BATCH));
    const input = path.join(dir, 'input.json');
    const resultFile = path.join(dir, 'result.json');
    writeFileSync(
      input,
      JSON.stringify({ endpoint: rgw.endpoint, source: rgw.source, target: rgw.target, targetBucket: ctx.targetBucket, batches, parallel: LAMBDA_PARALLEL, resultFile }),
    );
    const m = assertSucceeded(
      'Lambda worker',
      // stdout carries the handler's log lines (one JSON line per object), as on Lambda: discarded.
      await runMeasured(process.execPath, [path.join(ctx.root, 'bench/lambda-worker.mjs'), input], { env: baseEnv(), captureStdout: false }),
    );
    const result = JSON.parse(readFileSync(resultFile, 'utf8')) as {
      seconds: number;
      counts: Record<string, number>;
      failures: string[];
      vmHwmBytes: number;
      invocations: number;
      concurrency: number;
      partSize: number;
    };
    if (result.counts.replicated !== dataset.objects.length) {
      throw new Error(`Lambda path replicated ${JSON.stringify(result.counts)}: ${result.failures.join('; ')}`);
    }
    return {
      seconds: result.seconds,
      timing: 'inside the process',
      wallSeconds: m.seconds,
      peakRssBytes: Math.max(m.peakRssBytes, result.vmHwmBytes),
      cpuSeconds: m.cpuSeconds,
      tempDiskBytes: 0,
      detail: {
        counts: result.counts,
        invocations: result.invocations,
        recordsPerInvocation: LAMBDA_BATCH,
        parallelInvocations: LAMBDA_PARALLEL,
        concurrency: result.concurrency,
        partSize: result.partSize,
      },
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function rcloneRemote(name: string, endpoint: string, creds: { accessKeyId: string; secretAccessKey: string }): string {
  return [
    `[${name}]`,
    'type = s3',
    'provider = Other',
    `access_key_id = ${creds.accessKeyId}`,
    `secret_access_key = ${creds.secretAccessKey}`,
    `endpoint = ${endpoint}`,
    'region = us-east-1',
    'force_path_style = true',
    '',
  ].join('\n');
}

async function runRclone(ctx: ToolContext, tuned: boolean): Promise<ToolRun> {
  const { rgw, dataset } = ctx;
  const dir = await scratch('rclone');
  try {
    const conf = path.join(dir, 'rclone.conf');
    writeFileSync(conf, rcloneRemote('src', rgw.endpoint, rgw.source) + rcloneRemote('dst', rgw.endpoint, rgw.target), { mode: 0o600 });
    const args = ['copy', `src:${dataset.bucket}`, `dst:${ctx.targetBucket}`, '--config', conf, '--fast-list', ...(tuned ? RCLONE_TUNED_FLAGS : [])];
    // rclone 1.60 fails on every S3 remote while AWS_CA_BUNDLE is set: baseEnv() drops it.
    const m = assertSucceeded(`rclone ${args.join(' ')}`, await runMeasured('rclone', args, { env: baseEnv() }));
    return fromMeasured(m, { args: ['rclone', ...args.filter((a) => a !== conf && a !== '--config')] });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Bytes allocated on disk by the files under `dir` (what `du` counts), and their apparent size. */
function diskUsage(dir: string): { allocated: number; apparent: number; files: number } {
  let allocated = 0;
  let apparent = 0;
  let files = 0;
  for (const name of readdirSync(dir)) {
    const s = statSync(path.join(dir, name));
    allocated += s.blocks * 512;
    apparent += s.size;
    files++;
  }
  return { allocated, apparent, files };
}

async function runSample(ctx: ToolContext): Promise<ToolRun> {
  const { rgw, dataset } = ctx;
  const dir = await scratch('sample');
  const temp = path.join(dir, 'tmp');
  try {
    mkdirSync(temp);
    // One invocation per object, each with one S3 event record (the sample reads only Records[0]).
    const events = dataset.objects.map((o) => ({ Records: [s3Record({ bucket: dataset.bucket, key: o.key, eTag: o.eTag, size: o.size })] }));
    const eventsFile = path.join(dir, 'events.json');
    writeFileSync(eventsFile, JSON.stringify(events));
    const m = assertSucceeded(
      'original sample',
      await runMeasured('/usr/bin/python3', [path.join(ctx.root, 'bench/original-sample.py'), eventsFile, temp], {
        env: {
          ...baseEnv(),
          AWS_ACCESS_KEY_ID: rgw.source.accessKeyId,
          AWS_SECRET_ACCESS_KEY: rgw.source.secretAccessKey,
          AWS_DEFAULT_REGION: 'us-east-1',
          SOURCE_ENDPOINT_URL: rgw.endpoint,
          TARGET_BUCKET: ctx.targetBucket,
          REGION: 'us-east-1',
          LC_ACCESS_KEY: rgw.target.accessKeyId,
          LC_SECRET_KEY: rgw.target.secretAccessKey,
          LC_ENDPOINT_URL: rgw.endpoint,
        },
      }),
    );
    const usage = diskUsage(temp); // what the sample leaves behind: it never deletes its downloads
    const result = JSON.parse(m.stdout.trim().split('\n').pop() ?? '{}') as { copied?: number };
    if (result.copied !== dataset.objects.length) throw new Error(`the sample copied ${JSON.stringify(result)}`);
    return { ...fromMeasured(m, { ...result, tempFiles: usage.files, tempApparentBytes: usage.apparent }), tempDiskBytes: usage.allocated };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function runRaw(ctx: ToolContext, mode: 'get' | 'put'): Promise<ToolRun> {
  const { rgw, dataset } = ctx;
  const dir = await scratch('raw');
  try {
    const input = path.join(dir, 'input.json');
    writeFileSync(
      input,
      JSON.stringify({
        mode,
        endpoint: rgw.endpoint,
        credentials: mode === 'get' ? rgw.source : rgw.target,
        bucket: mode === 'get' ? dataset.bucket : ctx.targetBucket,
        objects: dataset.objects.map(({ key, size }) => ({ key, size })),
        concurrency: RAW_CONCURRENCY,
        partSize: RAW_PART_SIZE,
      }),
    );
    const m = assertSucceeded(
      `raw ${mode}`,
      await runMeasured(process.execPath, ['--import', 'tsx', path.join(ctx.root, 'bench/raw-limits.ts'), input], { env: baseEnv() }),
    );
    const out = JSON.parse(m.stdout.trim().split('\n').pop()!) as { seconds: number; requests: number; bytes: number };
    if (out.bytes !== dataset.bytes) throw new Error(`raw ${mode} moved ${out.bytes} bytes, expected ${dataset.bytes}`);
    return { ...fromMeasured(m, { requests: out.requests, concurrency: RAW_CONCURRENCY, partSize: RAW_PART_SIZE }), seconds: out.seconds, timing: 'inside the process' };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export function runTool(tool: ToolName, ctx: ToolContext): Promise<ToolRun> {
  switch (tool) {
    case 'sync':
      return runSync(ctx);
    case 'lambda':
      return runLambda(ctx);
    case 'rclone-default':
      return runRclone(ctx, false);
    case 'rclone-tuned':
      return runRclone(ctx, true);
    case 'sample':
      return runSample(ctx);
    case 'raw-get':
      return runRaw(ctx, 'get');
    case 'raw-put':
      return runRaw(ctx, 'put');
  }
}
