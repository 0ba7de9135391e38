/**
 * The network-fault scenario shared by the in-suite test (network.test.ts, reduced) and the
 * heavy suite (heavy/network.faults.ts, `npm run test:faults`): a source bucket of mixed sizes
 * is synced through the fault proxy, rerun until complete, and then every object is checked by
 * reading source and target directly from RGW (not through the proxy).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { S3Client } from '@aws-sdk/client-s3';
import { expect, inject } from 'vitest';
import { createSourceClient, createTargetClient, RequestStats, type RequestStatsSnapshot } from '../../src/clients/s3-clients.js';
import { CheckpointStore } from '../../src/sync/checkpoint-store.js';
import { syncBuckets, type SyncReport } from '../../src/sync/sync-buckets.js';
import { mixedRates, seededRandom, startFaultProxy, type FaultKind } from '../support/fault-proxy.js';
import { MiB, createBucket, openUploads, putMultipartObject, putObject, randomBody, readBack, rgwClients, uniqueBucket } from '../support/s3.js';

export interface Corpus {
  bucket: string;
  keys: string[];
  bytes: number;
}

/**
 * `count` objects: about 10 % empty, 60 % small (1 B–64 KiB), 25 % around 1 MiB, and `multipart`
 * objects of 12–20 MiB (written to the source as 5 MiB parts; the sync copies them in 5 MiB parts).
 */
export async function seedCorpus(source: S3Client, count: number, multipart: number, seed: number): Promise<Corpus> {
  const bucket = await createBucket(source, uniqueBucket('faults-src'));
  const random = seededRandom(seed * 7919 + count);
  const specs: { key: string; size: number; multipart: boolean }[] = [];
  const plain = count - multipart;
  for (let i = 0; i < plain; i++) {
    const bucketOf = i % 20;
    const size =
      bucketOf < 2 ? 0 : bucketOf < 14 ? 1 + Math.floor(random() * 64 * 1024) : MiB + Math.floor((random() - 0.5) * 256 * 1024);
    specs.push({ key: `mixed/${String(i).padStart(4, '0')}-${size}.bin`, size, multipart: false });
  }
  for (let i = 0; i < multipart; i++) {
    const size = 12 * MiB + Math.floor(random() * 8 * MiB) + i;
    specs.push({ key: `large/${String(i).padStart(2, '0')}-${size}.bin`, size, multipart: true });
  }
  // Seeded in parallel (8 at a time), straight to RGW.
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < specs.length) {
        const spec = specs[next++]!;
        if (spec.multipart) await putMultipartObject(source, bucket, spec.key, spec.size, 5 * MiB, { ContentType: 'application/x-large' });
        else await putObject(source, bucket, spec.key, randomBody(spec.size), { ContentType: 'application/x-mixed', Metadata: { n: String(spec.size) } });
      }
    }),
  );
  return { bucket, keys: specs.map((s) => s.key).sort(), bytes: specs.reduce((sum, s) => sum + s.size, 0) };
}

export interface ScenarioResult {
  objects: number;
  bytes: number;
  runs: number;
  failedFirstRun: number;
  injected: Record<FaultKind, number>;
  requests: RequestStatsSnapshot;
  objectRetries: number;
  maxAttempt: number;
  seconds: number;
  reports: SyncReport[];
}

/** Reads every key from both sides directly and checks bodies, sizes and Content-Type. */
export async function verifyExact(source: S3Client, target: S3Client, sourceBucket: string, targetBucket: string, keys: string[]): Promise<void> {
  let next = 0;
  const mismatches: string[] = [];
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < keys.length) {
        const key = keys[next++]!;
        const [a, b] = await Promise.all([readBack(source, sourceBucket, key), readBack(target, targetBucket, key)]);
        if (a.md5 !== b.md5 || a.size !== b.size || a.head.ContentType !== b.head.ContentType) {
          mismatches.push(`${key}: source ${a.size} B ${a.md5} ${a.head.ContentType}, target ${b.size} B ${b.md5} ${b.head.ContentType}`);
        }
      }
    }),
  );
  expect(mismatches).toEqual([]);
}

/**
 * Syncs `corpus` into a fresh target bucket with both clients behind the fault proxy, reruns
 * until the report is complete (at most `maxRuns`), and checks the result exactly.
 */
export async function runNetworkScenario(options: {
  corpus: Corpus;
  seed: number;
  rate: number;
  maxRuns?: number;
  concurrency?: number;
}): Promise<ScenarioResult> {
  const rgw = inject('rgw');
  const direct = rgwClients();
  const { corpus } = options;
  const targetBucket = await createBucket(direct.target, uniqueBucket('faults-dst'));
  const proxy = await startFaultProxy({ upstream: rgw.endpoint, seed: options.seed, rates: mixedRates(options.rate), stallMs: 3_000 });
  const stats = new RequestStats();
  const concurrency = options.concurrency ?? 8;
  // Short socket timeout so stalls cost seconds, not a minute; 5 attempts per request.
  const clientOptions = { endpoint: proxy.endpoint, concurrency, socketTimeout: 2_000, connectionTimeout: 2_000, maxAttempts: 5, stats };
  const source = createSourceClient({ ...clientOptions, credentials: rgw.source });
  const target = createTargetClient({ ...clientOptions, credentials: rgw.target });
  const stateDir = mkdtempSync(path.join(tmpdir(), 'lyve-faults-'));
  const started = performance.now();
  const reports: SyncReport[] = [];
  try {
    for (let run = 1; run <= (options.maxRuns ?? 3); run++) {
      const report = await syncBuckets({
        source: { client: source, bucket: corpus.bucket, prefix: '' },
        target: { client: target, bucket: targetBucket, prefix: '' },
        concurrency,
        partSize: 5 * MiB,
        checkpoints: new CheckpointStore(stateDir),
        requestStats: stats,
        objectRetryDelayMs: 200,
      });
      reports.push(report);
      // Nothing silently lost: every source object is in the report, as done or as failed.
      const listed = report.items.map((item) => item.key).sort();
      expect(listed).toEqual(corpus.keys);
      for (const item of report.items) {
        expect(['replicated', 'identical', 'failed']).toContain(item.status);
        if (item.status === 'failed') {
          expect(item.message, `${item.key} failed without saying why`).toBeTruthy();
          expect(item.reason).toBeTruthy();
        }
      }
      expect(report.complete).toBe(report.counts.failed === 0);
      if (report.complete) break;
    }
    const last = reports.at(-1)!;
    expect(last.complete, `still failing after ${reports.length} runs: ${JSON.stringify(last.items.filter((i) => i.status === 'failed'))}`).toBe(true);
    const seconds = (performance.now() - started) / 1000;

    await verifyExact(direct.source, direct.target, corpus.bucket, targetBucket, corpus.keys);
    expect(await openUploads(direct.target, targetBucket)).toEqual([]);
    expect(readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);

    const requests = stats.snapshot();
    // Bounded: no request was tried more than maxAttempts times.
    expect(proxy.maxAttempt()).toBeLessThanOrEqual(5);
    // Reported: retries and throttles are in the sync reports, and match what the proxy did.
    const totalRetries = reports.reduce((sum, r) => sum + r.retries, 0);
    const totalThrottled = reports.reduce((sum, r) => sum + r.throttled, 0);
    expect(totalRetries).toBe(requests.retries);
    expect(totalThrottled).toBe(requests.throttled);
    expect(requests.throttled).toBeGreaterThan(0);
    expect(requests.throttled).toBeLessThanOrEqual(proxy.injected.slowdown);
    expect(requests.serverErrors).toBeLessThanOrEqual(proxy.injected.internal);
    expect(requests.retries).toBeGreaterThanOrEqual(requests.throttled + requests.serverErrors - requests.exhausted);
    return {
      objects: corpus.keys.length,
      bytes: corpus.bytes,
      runs: reports.length,
      failedFirstRun: reports[0]!.counts.failed,
      injected: { ...proxy.injected },
      requests,
      objectRetries: reports.reduce((sum, r) => sum + r.objectRetries, 0),
      maxAttempt: proxy.maxAttempt(),
      seconds,
      reports,
    };
  } finally {
    source.destroy();
    target.destroy();
    await proxy.close();
    rmSync(stateDir, { recursive: true, force: true });
  }
}

export function describeResult(label: string, seed: number, rate: number, r: ScenarioResult): string {
  const faults = Object.entries(r.injected)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');
  return (
    `${label}: seed ${seed}, fault rate ${(rate * 100).toFixed(0)} %: ${r.objects} objects (${(r.bytes / MiB).toFixed(1)} MiB) exact in ${r.runs} run(s) ` +
    `(${r.failedFirstRun} failed on the first), ${r.seconds.toFixed(1)} s; injected ${faults}; ` +
    `${r.requests.requests} requests, ${r.requests.retries} retried (${r.requests.throttled} throttled, ${r.requests.serverErrors} 5xx, ` +
    `${r.requests.networkErrors} network of which ${r.requests.timeouts} timeouts), ${r.requests.exhausted} exhausted, ` +
    `${r.objectRetries} objects retried, ${r.requests.straysAborted} stray uploads aborted, max attempt ${r.maxAttempt}; 0 uploads left open` +
    r.reports[0]!.items
      .filter((i) => i.status === 'failed')
      .map((i) => `\n  failed on the first run: ${i.key}: ${i.reason}: ${i.message}`)
      .join('')
  );
}
