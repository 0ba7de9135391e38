/**
 * Copies one large object between two buckets of a local Ceph RGW (separate users) with the
 * engine, and prints throughput and the replicator's peak RSS against the memory bound
 * 64 MiB + part size × concurrency.
 *
 *   npx tsx bench/copy-large-object.ts [--size-gib 5] [--part-size-mib 16] [--concurrency 8] [--no-verify]
 *
 * Set RGW_ENDPOINT (and the RGW_* keys printed by scripts/rgw.ts) to reuse a running gateway.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { CreateBucketCommand, DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createSourceClient, createTargetClient, MiB, GiB, type ReplicationResult } from '../src/index.js';
import { gateway } from './support/gateway.js';
import { seedLargeObject } from './support/seed.js';

const { values } = parseArgs({
  options: {
    'size-gib': { type: 'string', default: '5' },
    'part-size-mib': { type: 'string', default: '16' },
    concurrency: { type: 'string', default: '8' },
    'no-verify': { type: 'boolean', default: false },
  },
});
const size = Math.round(Number(values['size-gib']) * GiB);
const partSize = Number(values['part-size-mib']) * MiB;
const concurrency = Number(values.concurrency);
const log = (line: string) => process.stderr.write(`${line}\n`);

async function bodyMd5(client: S3Client, bucket: string, key: string): Promise<string> {
  const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('md5');
  for await (const chunk of Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

function runWorker(
  input: object,
): Promise<{ result: ReplicationResult; seconds: number; maxRssBytes: number; memoryPeaksMiB: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL('./copy-object-worker.mjs', import.meta.url).pathname], {
      env: { ...process.env, LYVE_BENCH_INPUT: JSON.stringify(input), NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`worker exited with ${code}`))));
  });
}

const rgw = await gateway();
try {
  const source = createSourceClient({ endpoint: rgw.endpoint, credentials: rgw.source });
  const target = createTargetClient({ endpoint: rgw.endpoint, credentials: rgw.target });
  const stamp = Date.now().toString(36);
  const [srcBucket, dstBucket, key] = [`bench-src-${stamp}`, `bench-dst-${stamp}`, 'large.bin'];
  await source.send(new CreateBucketCommand({ Bucket: srcBucket }));
  await target.send(new CreateBucketCommand({ Bucket: dstBucket }));
  log(`seeding ${(size / GiB).toFixed(2)} GiB ...`);
  const md5 = await seedLargeObject(source, srcBucket, key, size);

  log(`copying with part size ${partSize / MiB} MiB × concurrency ${concurrency} ...`);
  const { result, seconds, maxRssBytes, memoryPeaksMiB } = await runWorker({
    endpoint: rgw.endpoint,
    source: { ...rgw.source, bucket: srcBucket, key },
    target: { ...rgw.target, bucket: dstBucket, key },
    partSize,
    concurrency,
  });
  if (result.status !== 'replicated') throw new Error(`copy did not succeed: ${JSON.stringify(result)}`);
  const boundBytes = 64 * MiB + result.partSize! * concurrency;
  let verified = 'not checked';
  if (!values['no-verify']) verified = (await bodyMd5(target, dstBucket, key)) === md5 ? 'body MD5 matches' : 'BODY MD5 DIFFERS';
  const report = {
    bytes: size,
    parts: result.parts,
    partSizeMiB: result.partSize! / MiB,
    concurrency,
    seconds: Number(seconds.toFixed(2)),
    throughputMiBps: Number((size / MiB / seconds).toFixed(1)),
    peakRssMiB: Number((maxRssBytes / MiB).toFixed(1)),
    memoryPeaksMiB,
    rssBoundMiB: boundBytes / MiB,
    withinBound: maxRssBytes <= boundBytes,
    verified,
  };
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  await source.send(new DeleteObjectCommand({ Bucket: srcBucket, Key: key }));
  await target.send(new DeleteObjectCommand({ Bucket: dstBucket, Key: key }));
  await source.send(new DeleteBucketCommand({ Bucket: srcBucket }));
  await target.send(new DeleteBucketCommand({ Bucket: dstBucket }));
  if (!report.withinBound || verified === 'BODY MD5 DIFFERS') process.exitCode = 1;
} finally {
  await rgw.stop();
}
