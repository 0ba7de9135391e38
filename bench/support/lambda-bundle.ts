/**
 * The Lambda bundle (npm run bundle:lambda → dist-lambda/index.mjs): size, gzip size, and cold
 * init time — a fresh node process importing the bundle (which reads and validates the
 * configuration and builds its clients at module scope) with a minimal valid environment.
 */
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface BundleReport {
  file: string;
  bytes: number;
  gzipBytes: number;
  runs: number;
  /** Median, spawn → handler ready (process start + import + configure). */
  coldInitMs: number;
  /** Median, the dynamic import of the bundle alone, measured inside the process. */
  importMs: number;
  /** Median, spawn → first line of the script (node's own start-up). */
  processStartMs: number;
  samples: { totalMs: number; importMs: number }[];
}

const MINIMAL_ENV = {
  TARGET_BUCKET: 'target-bucket',
  LC_ACCESS_KEY: 'a',
  LC_SECRET_KEY: 's',
  LC_ENDPOINT_URL: 'https://s3.example.com',
};

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function coldStart(bundle: string): Promise<{ totalMs: number; importMs: number }> {
  const script = [
    'const t0 = performance.now();',
    `const m = await import(${JSON.stringify(pathToFileURL(bundle).href)});`,
    'const t1 = performance.now();',
    "if (typeof m.handler !== 'function') throw new Error('no handler export');",
    'process.stdout.write(JSON.stringify({ ready: performance.timeOrigin + t1, importMs: t1 - t0 }));',
  ].join('\n');
  return new Promise((resolve, reject) => {
    const spawnedAt = performance.timeOrigin + performance.now();
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...MINIMAL_ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`importing the bundle failed (${code}): ${err}`));
      const { ready, importMs } = JSON.parse(out) as { ready: number; importMs: number };
      resolve({ totalMs: ready - spawnedAt, importMs });
    });
  });
}

export async function measureBundle(root: string, runs = 5): Promise<BundleReport> {
  const built = spawnSync('npm', ['run', '--silent', 'bundle:lambda'], { cwd: root, encoding: 'utf8' });
  if (built.status !== 0) throw new Error(`npm run bundle:lambda failed: ${built.stderr}`);
  const file = path.join(root, 'dist-lambda', 'index.mjs');
  const body = readFileSync(file);
  await coldStart(file); // warm the page cache: every measured run reads the file from memory
  const samples: { totalMs: number; importMs: number }[] = [];
  for (let i = 0; i < runs; i++) samples.push(await coldStart(file));
  const round = (ms: number) => Number(ms.toFixed(1));
  return {
    file: path.relative(root, file),
    bytes: body.length,
    gzipBytes: gzipSync(body, { level: 9 }).length,
    runs,
    coldInitMs: round(median(samples.map((s) => s.totalMs))),
    importMs: round(median(samples.map((s) => s.importMs))),
    processStartMs: round(median(samples.map((s) => s.totalMs - s.importMs))),
    samples: samples.map((s) => ({ totalMs: round(s.totalMs), importMs: round(s.importMs) })),
  };
}
