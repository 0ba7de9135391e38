/**
 * One large object copied by the engine between two RGW buckets (separate users), in a child
 * process that runs only the engine (bench/copy-object-worker.mjs), with its peak RSS against
 * the memory bound 64 MiB + part size × concurrency.
 */
import { createHash } from 'node:crypto';
import { DeleteBucketCommand, DeleteObjectCommand, GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createSourceClient, createTargetClient, GiB, MiB, type ReplicationResult } from '../../src/index.js';
import { createBucket } from './buckets.js';
import type { Gateway } from './gateway.js';
import { assertSucceeded, runMeasured } from './measure.js';
import { seedLargeObject } from './seed.js';

export interface LargeCopyOptions {
  size: number;
  partSize: number;
  concurrency: number;
  verify: boolean;
  /**
   * The process settings the worker runs in: 'cli' (the default: low-memory, as the CLI runs) or
   * 'lambda' (read garbage collection only, as the Lambda function runs).
   */
  settings?: 'cli' | 'lambda';
  log?: (line: string) => void;
}

export interface LargeCopyReport {
  bytes: number;
  parts: number;
  partSizeMiB: number;
  concurrency: number;
  settings: 'cli' | 'lambda';
  node: string;
  seconds: number;
  throughputMiBps: number;
  /** CPU seconds (user + system) of the replicator's process for the whole run. */
  cpuSeconds: number;
  /** VmHWM of the worker, read by the worker itself as it finishes. */
  peakRssMiB: number;
  /** The part of the peak that is not part buffers: peak − part size × concurrency. */
  fixedOverheadMiB: number;
  /** 64 MiB + part size × concurrency. */
  rssBoundMiB: number;
  withinBound: boolean;
  memoryPeaksMiB: Record<string, number>;
  verified: string;
}

async function bodyMd5(client: S3Client, bucket: string, key: string): Promise<string> {
  const { Body } = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const hash = createHash('md5');
  for await (const chunk of Body as AsyncIterable<Uint8Array>) hash.update(chunk);
  return hash.digest('hex');
}

export async function copyLargeObject(rgw: Gateway, options: LargeCopyOptions): Promise<LargeCopyReport> {
  const log = options.log ?? (() => {});
  const { size, partSize, concurrency } = options;
  const source = createSourceClient({ endpoint: rgw.endpoint, credentials: rgw.source });
  const target = createTargetClient({ endpoint: rgw.endpoint, credentials: rgw.target });
  const stamp = Date.now().toString(36);
  const [srcBucket, dstBucket, key] = [`bench-src-${stamp}`, `bench-dst-${stamp}`, 'large.bin'];
  await createBucket(source, srcBucket);
  await createBucket(target, dstBucket);
  try {
    log(`seeding ${(size / GiB).toFixed(2)} GiB ...`);
    const md5 = await seedLargeObject(source, srcBucket, key, size);
    log(`copying with part size ${partSize / MiB} MiB × concurrency ${concurrency} ...`);
    const input = {
      endpoint: rgw.endpoint,
      source: { ...rgw.source, bucket: srcBucket, key },
      target: { ...rgw.target, bucket: dstBucket, key },
      partSize,
      concurrency,
      settings: options.settings ?? 'cli',
    };
    const measured = assertSucceeded(
      'copy-object-worker',
      await runMeasured(process.execPath, [new URL('../copy-object-worker.mjs', import.meta.url).pathname], {
        env: { ...process.env, LYVE_BENCH_INPUT: JSON.stringify(input), NODE_NO_WARNINGS: '1' },
      }),
    );
    const { result, seconds, maxRssBytes, memoryPeaksMiB } = JSON.parse(measured.stdout) as {
      result: ReplicationResult;
      seconds: number;
      maxRssBytes: number;
      memoryPeaksMiB: Record<string, number>;
    };
    if (result.status !== 'replicated') throw new Error(`copy did not succeed: ${JSON.stringify(result)}`);
    const peak = Math.max(maxRssBytes, measured.peakRssBytes);
    const buffers = result.partSize! * concurrency;
    const boundBytes = 64 * MiB + buffers;
    let verified = 'not checked';
    if (options.verify) {
      log('verifying the replica body MD5 ...');
      verified = (await bodyMd5(target, dstBucket, key)) === md5 ? 'body MD5 matches' : 'BODY MD5 DIFFERS';
    }
    return {
      bytes: size,
      parts: result.parts,
      partSizeMiB: result.partSize! / MiB,
      concurrency,
      settings: input.settings,
      node: process.version,
      seconds: Number(seconds.toFixed(2)),
      throughputMiBps: Number((size / MiB / seconds).toFixed(1)),
      cpuSeconds: Number(measured.cpuSeconds.toFixed(2)),
      peakRssMiB: Number((peak / MiB).toFixed(1)),
      fixedOverheadMiB: Number(((peak - buffers) / MiB).toFixed(1)),
      rssBoundMiB: boundBytes / MiB,
      withinBound: peak <= boundBytes,
      memoryPeaksMiB,
      verified,
    };
  } finally {
    await source.send(new DeleteObjectCommand({ Bucket: srcBucket, Key: key })).catch(() => {});
    await target.send(new DeleteObjectCommand({ Bucket: dstBucket, Key: key })).catch(() => {});
    await source.send(new DeleteBucketCommand({ Bucket: srcBucket })).catch(() => {});
    await target.send(new DeleteBucketCommand({ Bucket: dstBucket })).catch(() => {});
    source.destroy();
    target.destroy();
  }
}
