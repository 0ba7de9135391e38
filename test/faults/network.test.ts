/**
 * Network faults against real RGW through the fault proxy (test/support/fault-proxy.ts).
 *
 * In `npm test`: a reduced random scenario (40 objects, two multipart, 15 % faults, one seed) and
 * a scripted one that puts each kind of fault on the call where it hurts most (a lost
 * CreateMultipartUpload reply, a lost CompleteMultipartUpload reply, a part body cut mid-way, …).
 * The full 200 objects × several seeds run with `npm run test:faults`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { createSourceClient, createTargetClient, RequestStats } from '../../src/clients/s3-clients.js';
import { CheckpointStore } from '../../src/sync/checkpoint-store.js';
import { syncBuckets } from '../../src/sync/sync-buckets.js';
import { replicateObject } from '../../src/engine/replicate-object.js';
import { listObjects } from '../../src/engine/list-objects.js';
import { FAULT_KINDS, startFaultProxy, type FaultKind, type ProxiedRequest } from '../support/fault-proxy.js';
import { MiB, createBucket, md5Hex, openUploads, putMultipartObject, putObject, randomBody, readBack, rgwClients, uniqueBucket } from '../support/s3.js';
import { cli } from '../support/cli.js';
import { describeResult, runNetworkScenario, seedCorpus, verifyExact } from './scenario.js';

const rgw = inject('rgw');

/** Source and target clients straight to RGW, and a fresh bucket on each side named after `name`. */
async function bucketPair(name: string) {
  const direct = rgwClients();
  const src = await createBucket(direct.source, uniqueBucket(`${name}-src`));
  const dst = await createBucket(direct.target, uniqueBucket(`${name}-dst`));
  return { direct, src, dst };
}

describe('network faults', () => {
  it('40 objects at 15 % random faults end byte-exact, with retries bounded and reported, nothing left open', async () => {
    const seed = 20_240_601;
    const rate = 0.15;
    const corpus = await seedCorpus(rgwClients().source, 40, 2, seed);
    const result = await runNetworkScenario({ corpus, seed, rate });
    console.log(describeResult('network faults (in-suite)', seed, rate, result));
    expect(result.objects).toBe(40);
    expect(result.requests.retries).toBeGreaterThan(0);
  }, 180_000);

  it('every kind of fault on the call it hurts most: lost replies of Create/Complete, cut bodies, stalls', async () => {
    const { direct, src, dst } = await bucketPair('scripted');
    await putMultipartObject(direct.source, src, 'large/a.bin', 12 * MiB + 7, 5 * MiB);
    await putObject(direct.source, src, 'small/b.bin', randomBody(3000));
    await putObject(direct.source, src, 'mid/c.bin', randomBody(MiB + 5));

    const seen = new Map<string, number>();
    const first = (name: string) => {
      const n = (seen.get(name) ?? 0) + 1;
      seen.set(name, n);
      return n === 1;
    };
    const isCreate = (r: ProxiedRequest) => r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(r.query);
    const isComplete = (r: ProxiedRequest) => r.method === 'POST' && r.query.includes('uploadId=');
    let completeLost = false;
    const script = (r: ProxiedRequest): FaultKind | 'none' | undefined => {
      if (isCreate(r) && first('create')) return 'stall'; // the server starts an upload whose id never arrives
      if (isComplete(r) && r.attempt === 1 && first('complete')) {
        completeLost = true;
        return 'reset-response'; // the server completes the upload; the reply is lost
      }
      if (r.method === 'PUT' && r.query.includes('partNumber=2') && first('part2')) return 'reset-request';
      if (r.method === 'GET' && r.key === 'large/a.bin' && r.headers.range && first('get-large')) return 'reset-response';
      if (r.method === 'PUT' && r.key === 'small/b.bin' && first('put-small')) return 'slowdown';
      if (r.method === 'HEAD' && first('head')) return 'internal';
      if (r.method === 'GET' && r.key === 'mid/c.bin' && first('get-mid')) return 'slow';
      return 'none';
    };
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      script,
      stallMs: 3_000,
      slowBytesPerSecond: 2 * MiB,
      // AWS may answer a retried Complete of a completed upload with NoSuchUpload; RGW answers 200. Imitate AWS.
      intercept: (r) =>
        isComplete(r) && r.attempt > 1 && completeLost ? { status: 404, code: 'NoSuchUpload', message: 'The specified upload does not exist.' } : undefined,
    });
    const stats = new RequestStats();
    const options = { endpoint: proxy.endpoint, socketTimeout: 2_000, maxAttempts: 5, stats };
    const source = createSourceClient({ ...options, credentials: rgw.source });
    const target = createTargetClient({ ...options, credentials: rgw.target });
    const stateDir = mkdtempSync(path.join(tmpdir(), 'lyve-scripted-'));
    try {
      const report = await syncBuckets({
        source: { client: source, bucket: src, prefix: '' },
        target: { client: target, bucket: dst, prefix: '' },
        concurrency: 4,
        partSize: 5 * MiB,
        checkpoints: new CheckpointStore(stateDir),
        requestStats: stats,
        objectRetryDelayMs: 100,
      });
      expect(report.counts).toMatchObject({ replicated: 3, failed: 0 });
      for (const kind of FAULT_KINDS) expect(proxy.injected[kind], kind).toBeGreaterThanOrEqual(1);
      await verifyExact(direct.source, direct.target, src, dst, ['large/a.bin', 'mid/c.bin', 'small/b.bin']);
      expect(await openUploads(direct.target, dst)).toEqual([]);
      const s = report.requests!;
      console.log(`scripted faults: injected ${JSON.stringify(proxy.injected)}; report ${JSON.stringify({ ...s, objectRetries: report.objectRetries })}`);
      expect(s.straysAborted).toBe(1); // the upload of the stalled CreateMultipartUpload
      expect(s.completesRecovered).toBe(1);
      expect(report.throttled).toBe(1);
      expect(s.serverErrors).toBeGreaterThanOrEqual(1);
      expect(s.timeouts).toBeGreaterThanOrEqual(1);
      // A part body cut mid-way is read again by the engine; at worst sync retries that object once.
      expect(report.objectRetries).toBeLessThanOrEqual(1);
      expect(report.retries).toBeGreaterThanOrEqual(4);
    } finally {
      source.destroy();
      target.destroy();
      await proxy.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 120_000);

  it('the CLI reports what it retried: `retries` and `throttled` in --json and on the summary line', async () => {
    const direct = rgwClients();
    const src = await createBucket(direct.source, uniqueBucket('cli-faults-src'));
    for (const [i, size] of [10, 20_000, MiB + 1].entries()) await putObject(direct.source, src, `f/${i}.bin`, randomBody(size));
    const keys = ['f/0.bin', 'f/1.bin', 'f/2.bin'];
    for (const json of [false, true]) {
      const dst = await createBucket(direct.target, uniqueBucket('cli-faults-dst'));
      const seen = new Set<string>();
      const once = (name: string) => !seen.has(name) && seen.add(name) !== undefined;
      const proxy = await startFaultProxy({
        upstream: rgw.endpoint,
        script: (r) =>
          r.method === 'PUT' && r.key === 'f/0.bin' && once('put')
            ? 'slowdown'
            : r.method === 'PUT' && r.key === 'f/1.bin' && once('put1')
              ? 'internal'
              : r.method === 'PUT' && r.key === 'f/2.bin' && once('put2')
                ? 'reset-request'
                : 'none',
      });
      try {
        const args = ['sync', `s3://${src}`, `s3://${dst}`, '--source-endpoint', proxy.endpoint, '--target-endpoint', proxy.endpoint];
        const run = await cli(json ? [...args, '--json'] : args);
        expect(run.code).toBe(0);
        if (json) {
          const report = JSON.parse(run.stdout);
          expect(report).toMatchObject({ complete: true, counts: { replicated: 3, failed: 0 }, retries: 3, throttled: 1, objectRetries: 0 });
          expect(report.requests).toMatchObject({ retries: 3, throttled: 1, serverErrors: 1, networkErrors: 1, exhausted: 0 });
        } else {
          expect(run.stderr).toMatch(/\n3 replicated, 0 identical, 0 deleted, 0 failed — 1\.0 MiB in \d+\.\d s [^;]*; 3 requests retried \(1 throttled\)\n$/);
        }
        await verifyExact(direct.source, direct.target, src, dst, keys);
      } finally {
        await proxy.close();
      }
    }
  }, 60_000);

  it('an object that still fails after bounded retries is reported failed with the reason, and the rerun completes it', async () => {
    const { direct, src, dst } = await bucketPair('doomed');
    await putObject(direct.source, src, 'doomed/small.bin', randomBody(5000));
    await putMultipartObject(direct.source, src, 'doomed/large.bin', 12 * MiB, 5 * MiB);
    await putObject(direct.source, src, 'fine.bin', randomBody(100));
    // Every body upload of doomed/* gets 500 InternalError, however often it is retried.
    const proxy = await startFaultProxy({ upstream: rgw.endpoint, rates: { internal: 1 }, eligible: (r) => r.method === 'PUT' && r.key.startsWith('doomed/') });
    const stats = new RequestStats();
    const options = { endpoint: proxy.endpoint, maxAttempts: 3, stats };
    const source = createSourceClient({ ...options, credentials: rgw.source });
    const target = createTargetClient({ ...options, credentials: rgw.target });
    const stateDir = mkdtempSync(path.join(tmpdir(), 'lyve-doomed-'));
    const run = () =>
      syncBuckets({
        source: { client: source, bucket: src, prefix: '' },
        target: { client: target, bucket: dst, prefix: '' },
        partSize: 5 * MiB,
        checkpoints: new CheckpointStore(stateDir),
        requestStats: stats,
        objectAttempts: 2,
        objectRetryDelayMs: 50,
      });
    try {
      const first = await run();
      expect(first.complete).toBe(false);
      const byKey = Object.fromEntries(first.items.map((i) => [i.key, i]));
      expect(byKey['fine.bin']).toMatchObject({ status: 'replicated' });
      const message = 'target is unavailable for s3:PutObject (InternalError (HTTP 500): We encountered an internal error. Please try again.); try again later';
      expect(byKey['doomed/small.bin']).toEqual({ key: 'doomed/small.bin', targetKey: 'doomed/small.bin', status: 'failed', reason: 'unavailable', message, attempts: 2 });
      expect(byKey['doomed/large.bin']).toEqual({ key: 'doomed/large.bin', targetKey: 'doomed/large.bin', status: 'failed', reason: 'unavailable', message, attempts: 2 });
      expect(proxy.maxAttempt()).toBe(3); // bounded by maxAttempts
      expect(first.requests!.exhausted).toBe(4); // 2 objects × 2 tries
      expect(first.objectRetries).toBe(2);
      expect(await openUploads(direct.target, dst)).toEqual([]); // the failed multipart upload was aborted

      proxy.setRates({});
      const second = await run();
      expect(second.complete).toBe(true);
      expect(second.counts).toMatchObject({ replicated: 2, identical: 1, failed: 0 });
      await verifyExact(direct.source, direct.target, src, dst, ['doomed/large.bin', 'doomed/small.bin', 'fine.bin']);
      expect(await openUploads(direct.target, dst)).toEqual([]);
    } finally {
      source.destroy();
      target.destroy();
      await proxy.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('servers that answer wrongly', () => {
  it('a CreateMultipartUpload whose reply is lost and whose retries all fail leaves no upload open', async () => {
    const { direct, src, dst } = await bucketPair('lost-create');
    await putObject(direct.source, src, 'big.bin', randomBody(6 * MiB));
    const isCreate = (r: ProxiedRequest) => r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(r.query);
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      stallMs: 3_000,
      // The first attempt starts an upload whose reply never arrives; every retry is refused.
      script: (r) => (isCreate(r) ? (r.attempt === 1 ? 'stall' : 'internal') : 'none'),
    });
    const stats = new RequestStats();
    const target = createTargetClient({ endpoint: proxy.endpoint, credentials: rgw.target, socketTimeout: 1_000, maxAttempts: 3, stats });
    try {
      const result = await replicateObject(
        { client: direct.source, bucket: src, key: 'big.bin' },
        { client: target, bucket: dst, key: 'big.bin' },
        { partSize: 5 * MiB },
      );
      expect(result).toMatchObject({ status: 'failed', retryable: true });
      expect(await openUploads(direct.target, dst)).toEqual([]);
      expect(stats.snapshot().straysAborted).toBe(1);
    } finally {
      target.destroy();
      await proxy.close();
    }
  }, 60_000);

  it('two lost CreateMultipartUpload replies, and the reply to aborting the first stray lost too: no upload left open', async () => {
    const { direct, src, dst } = await bucketPair('lost-abort');
    const body = randomBody(12 * MiB);
    await putObject(direct.source, src, 'big.bin', body);
    let creates = 0;
    let aborts = 0;
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      script: (r) => {
        if (r.method === 'POST' && /(^|&)uploads(=|&|$)/.test(r.query)) return ++creates <= 2 ? 'reset-response' : 'none';
        // The abort works on the server; its reply is lost, and the SDK's retry finds no such upload.
        if (r.method === 'DELETE' && r.query.includes('uploadId=')) return ++aborts === 1 ? 'reset-response' : 'none';
        return 'none';
      },
    });
    const target = createTargetClient({ endpoint: proxy.endpoint, credentials: rgw.target });
    try {
      const result = await replicateObject({ client: direct.source, bucket: src, key: 'big.bin' }, { client: target, bucket: dst, key: 'big.bin' }, { partSize: 5 * MiB });
      expect(result.status).toBe('replicated');
      expect((await readBack(direct.target, dst, 'big.bin')).md5).toBe(md5Hex(body));
      expect(await openUploads(direct.target, dst)).toEqual([]);
    } finally {
      target.destroy();
      await proxy.close();
    }
  }, 60_000);

  it('verify --deep reads a cut body again, and reports an object it still cannot read as unchecked', async () => {
    const { direct, src, dst } = await bucketPair('deep-cut');
    for (const key of ['a.bin', 'b.bin']) {
      const body = randomBody(MiB);
      await putObject(direct.source, src, key, body);
      await putObject(direct.target, dst, key, body);
    }
    let always = false;
    const cuts = new Set<string>();
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      // Full-body GETs of a.bin: the first is cut mid-way (or, later, every one).
      script: (r) => (r.method === 'GET' && r.key === 'a.bin' && !r.headers.range && (always || !cuts.has(r.key)) && cuts.add(r.key) ? 'reset-response' : 'none'),
    });
    try {
      const args = ['verify', `s3://${src}`, `s3://${dst}`, '--deep', '--source-endpoint', proxy.endpoint];
      const once = await cli(args);
      expect(once.stderr).toContain('identical: 2 source objects, 2 target objects');
      expect(once.code).toBe(0);
      always = true;
      const every = await cli(args);
      expect(every.stdout).toMatch(/^unchecked {2}a\.bin: reading the source body of a\.bin failed 3 times/m);
      expect(every.stderr).toContain('0 mismatched, 1 unchecked (deep)');
      expect(every.code).toBe(1);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('a proxy’s HTML error page instead of S3’s reply is reported in one line that says so', async () => {
    const { direct, src, dst } = await bucketPair('html-502');
    await putObject(direct.source, src, 'a.bin', randomBody(1000));
    const page = '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n';
    const proxy = await startFaultProxy({ upstream: rgw.endpoint, intercept: (r) => (r.method === 'PUT' ? { status: 502, html: page } : undefined) });
    try {
      const run = await cli(['sync', `s3://${src}`, `s3://${dst}`, '--source-endpoint', rgw.endpoint, '--target-endpoint', proxy.endpoint]);
      expect(run.code).toBe(1);
      const lines = run.stderr.split('\n').filter((line) => line.includes('a.bin'));
      expect(lines).toEqual([
        "failed       a.bin: target is unavailable for s3:PutObject (HTTP 502 with a body that is not S3's, e.g. a proxy's error page or a cut body: XML parse error: mismatched tags <hr> and </body>); try again later",
      ]);
      expect(run.stdout + run.stderr).not.toContain('$response');
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('a HEAD refused without an error body (HEADs have none) is named by its HTTP status', async () => {
    const { direct, src, dst } = await bucketPair('head-500');
    await putObject(direct.source, src, 'a.bin', randomBody(10));
    const proxy = await startFaultProxy({ upstream: rgw.endpoint, intercept: (r) => (r.method === 'HEAD' ? { status: 500, code: 'InternalError', message: 'x' } : undefined) });
    const target = createTargetClient({ endpoint: proxy.endpoint, credentials: rgw.target, maxAttempts: 1 });
    try {
      const result = await replicateObject({ client: direct.source, bucket: src, key: 'a.bin' }, { client: target, bucket: dst, key: 'a.bin' });
      expect(result).toMatchObject({ status: 'failed', reason: 'unavailable' });
      expect(result.status === 'failed' && result.message).toMatch(/\(HTTP 500\)/);
      expect(result.status === 'failed' && result.message).not.toMatch(/Unknown/);
    } finally {
      target.destroy();
      await proxy.close();
    }
  }, 60_000);

  /** A source bucket holding k0…k4, for listings read two keys a page. */
  async function bucketOfFive(name: string): Promise<string> {
    const direct = rgwClients();
    const src = await createBucket(direct.source, uniqueBucket(name));
    for (let i = 0; i < 5; i++) await putObject(direct.source, src, `k${i}`, randomBody(10));
    return src;
  }
  const isList = (r: ProxiedRequest) => r.method === 'GET' && r.key === '' && /(^|&)list-type=2/.test(r.query);

  it('a listing that ends in an empty page, or repeats its continuation token, fails instead of stopping short or looping', async () => {
    const src = await bucketOfFive('bad-list-src');
    let firstToken: string | undefined;
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      rewrite: (r, body) => {
        if (!isList(r)) return undefined;
        const page2 = /(^|&)continuation-token=/.test(r.query);
        const text = body.toString();
        if (mode === 'empty') return page2 ? Buffer.alloc(0) : undefined;
        // Every page hands out the first page's token again.
        firstToken ??= /<NextContinuationToken>([^<]*)</.exec(text)?.[1];
        return firstToken ? Buffer.from(text.replace(/<NextContinuationToken>[^<]*</, `<NextContinuationToken>${firstToken}<`)) : undefined;
      },
    });
    let mode: 'empty' | 'repeat' = 'empty';
    const source = createSourceClient({ endpoint: proxy.endpoint, credentials: rgw.source, maxAttempts: 1 });
    try {
      const list = async () => {
        const keys: string[] = [];
        for await (const object of listObjects(source, 'source', src, '', { pageSize: 2 })) keys.push(object.key);
        return keys;
      };
      await expect(list()).rejects.toThrow("the server's reply is not a listing (empty or malformed body)");
      mode = 'repeat';
      await expect(list()).rejects.toThrow('the server returned the same continuation token twice');
    } finally {
      source.destroy();
      await proxy.close();
    }
  }, 60_000);

  it('a listing page cut mid-XML, or empty, once is asked for again and the listing completes', async () => {
    const src = await bucketOfFive('cut-list-src');
    let damage: 'cut' | 'empty' = 'cut';
    let damaged = 0;
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      rewrite: (r, body) => {
        if (!isList(r) || !/(^|&)continuation-token=/.test(r.query) || damaged > 0) return undefined;
        damaged += 1;
        return damage === 'cut' ? body.subarray(0, Math.floor(body.length / 2)) : Buffer.alloc(0);
      },
    });
    const source = createSourceClient({ endpoint: proxy.endpoint, credentials: rgw.source, maxAttempts: 1 });
    try {
      for (const kind of ['cut', 'empty'] as const) {
        damage = kind;
        damaged = 0;
        const keys: string[] = [];
        for await (const object of listObjects(source, 'source', src, '', { pageSize: 2 })) keys.push(object.key);
        expect(keys, kind).toEqual(['k0', 'k1', 'k2', 'k3', 'k4']);
        expect(damaged).toBe(1);
      }
    } finally {
      source.destroy();
      await proxy.close();
    }
  }, 60_000);
});
