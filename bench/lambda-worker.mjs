// Child process of bench/run.ts: drives the replicator through the Lambda handler code path
// (createHandler from the built dist/, plain node: no TypeScript loader in the measured process),
// the way a container would run it, with the local stand-ins for the target secret and an
// injected source client. Feeds S3 event notification batches, `parallel` invocations at a time,
// and writes one JSON result to the file named by the input.
//
//   node bench/lambda-worker.mjs INPUT.json
//
// INPUT: { endpoint, source: {accessKeyId, secretAccessKey}, target: {...}, targetBucket,
//          batches: S3 event records[][], parallel, resultFile }
import { readFileSync, writeFileSync } from 'node:fs';
import { createSourceClient, enableReadGarbageCollection } from '../dist/index.js';
import { createHandler } from '../dist/lambda/handler.js';
import { loadLambdaConfig } from '../dist/lambda/config.js';

// As the function's entry point does (src/lambda/index.ts).
enableReadGarbageCollection();

const input = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const env = {
  TARGET_BUCKET: input.targetBucket,
  LC_ACCESS_KEY: input.target.accessKeyId,
  LC_SECRET_KEY: input.target.secretAccessKey,
  LC_ENDPOINT_URL: input.endpoint,
};
const config = loadLambdaConfig(env);
const counts = {};
const failures = [];
let bytes = 0;
const handler = createHandler({
  env,
  // As the handler would build it from the standard chain, but pointed at the local source.
  source: createSourceClient({ endpoint: input.endpoint, credentials: input.source, concurrency: config.concurrency }),
  onOutcome: (outcome) => {
    const status = outcome.result.status;
    counts[status] = (counts[status] ?? 0) + 1;
    if (status === 'replicated') bytes += outcome.result.bytes;
    if (status === 'failed' && failures.length < 10) failures.push(`${outcome.task.key}: ${outcome.result.reason}: ${outcome.result.message}`);
  },
});

let invocation = 0;
function context(budgetMs = 900_000) {
  const deadline = Date.now() + budgetMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'lyve-replicator',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:lyve-replicator',
    memoryLimitInMB: '1024',
    awsRequestId: `bench-${++invocation}`,
    logGroupName: '/aws/lambda/lyve-replicator',
    logStreamName: 'bench',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

const batches = input.batches;
let next = 0;
let invocationErrors = 0;
const started = performance.now();
await Promise.all(
  Array.from({ length: Math.min(input.parallel, batches.length) }, async () => {
    while (next < batches.length) {
      const records = batches[next++];
      try {
        await handler({ Records: records }, context());
      } catch {
        invocationErrors++;
      }
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
const vmHwmKiB = Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1]);
writeFileSync(
  input.resultFile,
  JSON.stringify({
    seconds,
    invocations: batches.length,
    invocationErrors,
    counts,
    bytes,
    failures,
    concurrency: config.concurrency,
    partSize: config.partSize,
    vmHwmBytes: vmHwmKiB * 1024,
  }),
);
