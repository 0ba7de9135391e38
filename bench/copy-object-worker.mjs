// Child process of bench/copy-large-object.ts: replicates one object with the built engine
// (dist/, plain node: no TypeScript loader in the measured process) and prints one JSON line
// with the result and this process's peak RSS.
import { readFileSync } from 'node:fs';
import { enableLowMemoryRuntime, enableReadGarbageCollection } from '../dist/engine/runtime-memory.js';

const input = JSON.parse(process.env.LYVE_BENCH_INPUT ?? '{}');
// As the CLI does (src/cli/main.ts): low-memory settings first, then the engine and the SDK; or
// as the Lambda function does (src/lambda/index.ts).
if (input.settings === 'lambda') enableReadGarbageCollection();
else enableLowMemoryRuntime();
const { createSourceClient, createTargetClient, replicateObject } = await import('../dist/index.js');

const { endpoint, partSize, concurrency } = input;
const source = createSourceClient({ endpoint, credentials: input.source, concurrency });
const target = createTargetClient({ endpoint, credentials: input.target, concurrency });

// Peaks of each memory component (MiB), sampled, to show where the resident size goes.
const peaks = {};
const timer = setInterval(() => {
  for (const [k, v] of Object.entries(process.memoryUsage())) peaks[k] = Math.max(peaks[k] ?? 0, Math.round(v / 1048576));
}, 20);
const started = performance.now();
const result = await replicateObject(
  { client: source, bucket: input.source.bucket, key: input.source.key },
  { client: target, bucket: input.target.bucket, key: input.target.key },
  { partSize, concurrency },
);
clearInterval(timer);
const seconds = (performance.now() - started) / 1000;
// VmHWM is the peak RSS of this process image. getrusage's maxRSS is not: after fork + exec it
// keeps the parent's resident size at the fork.
const vmHwmKiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
process.stdout.write(`${JSON.stringify({ result, seconds, maxRssBytes: vmHwmKiB * 1024, memoryPeaksMiB: peaks })}\n`);
