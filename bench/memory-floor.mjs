// The least memory any copy through Node.js and the AWS SDK can take: uploads `--parts` parts of
// `--part-size-mib` MiB with `--concurrency` requests in flight from that many preallocated
// buffers (no source reads at all, so no read garbage; the target client the engine uses, in the
// CLI's low-memory settings), and prints this process's peak RSS against 64 MiB + part size × concurrency.
//
//   npm run build && node bench/memory-floor.mjs [--part-size-mib 16] [--concurrency 8] [--parts 64]
//
// Needs RGW_ENDPOINT, RGW_TARGET_ACCESS_KEY_ID and RGW_TARGET_SECRET_ACCESS_KEY (scripts/rgw.ts
// prints them). The multipart upload is aborted at the end.
import { readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { enableLowMemoryRuntime } from '../dist/engine/runtime-memory.js';

// As the CLI does (src/cli/main.ts): low-memory settings first, then the SDK.
enableLowMemoryRuntime();
const { AbortMultipartUploadCommand, CreateBucketCommand, CreateMultipartUploadCommand, UploadPartCommand } = await import('@aws-sdk/client-s3');
const { createTargetClient } = await import('../dist/index.js');

const { values } = parseArgs({
  options: {
    'part-size-mib': { type: 'string', default: '16' },
    concurrency: { type: 'string', default: '8' },
    parts: { type: 'string', default: '64' },
  },
});
const partSize = Number(values['part-size-mib']) * 1048576;
const concurrency = Number(values.concurrency);
const parts = Number(values.parts);
const env = process.env;
if (!env.RGW_ENDPOINT) throw new Error('set RGW_ENDPOINT and the RGW_TARGET_* keys printed by scripts/rgw.ts');

const client = createTargetClient({
  endpoint: env.RGW_ENDPOINT,
  credentials: { accessKeyId: env.RGW_TARGET_ACCESS_KEY_ID, secretAccessKey: env.RGW_TARGET_SECRET_ACCESS_KEY },
  concurrency,
});
const Bucket = 'memory-floor';
const Key = 'parts';
await client.send(new CreateBucketCommand({ Bucket })).catch(() => {});
const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket, Key }));

const buffers = Array.from({ length: concurrency }, (_, i) => Buffer.alloc(partSize, i + 1));
let next = 1;
const started = performance.now();
await Promise.all(
  buffers.map(async (buffer) => {
    while (next <= parts) {
      const PartNumber = next++;
      buffer[0] = PartNumber & 0xff; // stands for a read into the reused buffer
      const ContentMD5 = createHash('md5').update(buffer).digest('base64');
      await client.send(new UploadPartCommand({ Bucket, Key, UploadId, PartNumber, Body: buffer, ContentLength: partSize, ContentMD5 }));
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
await client.send(new AbortMultipartUploadCommand({ Bucket, Key, UploadId }));

const peakRssMiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]) / 1024;
const boundMiB = 64 + (partSize * concurrency) / 1048576;
const report = { node: process.version, partSizeMiB: partSize / 1048576, concurrency, parts, seconds: +seconds.toFixed(2), peakRssMiB: Math.round(peakRssMiB), boundMiB, withinBound: peakRssMiB <= boundMiB };
process.stdout.write(`${JSON.stringify(report)}\n`);
