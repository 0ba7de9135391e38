import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRICS_NAMESPACE, SERVICE_NAME } from '../../src/lambda/observability.js';
import { functionEnvironment, type ReplicatorConfig } from '../config.js';
import { replicatorPolicyStatements } from './replicator-permissions.js';
import { fitDescription } from './description.js';

/** The repository root: the function's entry and lock file live there. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const FUNCTION_ENTRY = join(REPO_ROOT, 'src', 'lambda', 'index.ts');

/** The newest Node.js runtime aws-cdk-lib knows (nodejs20.x is deprecated). */
export const RUNTIME = lambda.Runtime.NODEJS_24_X;

/** Batch settings of the SQS event source. */
export const BATCH_SIZE = 10;
export const MAX_BATCHING_WINDOW = Duration.seconds(1);

export interface ReplicatorFunctionProps {
  config: ReplicatorConfig;
  queue: sqs.IQueue;
  secretId: string;
  secretArnForPolicy: string;
}

/**
 * The replication function (src/lambda/index.ts), its role, its log group and the SQS event
 * source that feeds it.
 */
export class ReplicatorFunction extends Construct {
  readonly function: NodejsFunction;
  readonly role: iam.Role;
  readonly logGroup: logs.LogGroup;
  readonly eventSourceMapping: lambda.EventSourceMapping;

  constructor(scope: Construct, id: string, props: ReplicatorFunctionProps) {
    super(scope, id);
    const { config, queue } = props;

    this.logGroup = new logs.LogGroup(this, 'LogGroup', {
      retention: config.logRetentionDays as logs.RetentionDays,
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // Our own role, not the one Function creates: that one carries the AWS managed
    // AWSLambdaBasicExecutionRole (logs:CreateLogGroup/CreateLogStream/PutLogEvents on "*").
    // This one may write to its own log group only.
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'lyve-replicator function: read the source buckets and the Lyve Cloud secret, consume its queue, write its logs',
      inlinePolicies: {
        Replicator: new iam.PolicyDocument({
          statements: replicatorPolicyStatements(this, {
            sourceBuckets: config.sourceBuckets,
            secretArnForPolicy: props.secretArnForPolicy,
            queueArn: queue.queueArn,
            logGroupArn: this.logGroup.logGroupArn,
            replicateTags: config.replicateTags,
            versioned: config.versioned,
            sourceKmsKeyArns: config.sourceKmsKeyArns,
          }),
        }),
      },
    });

    this.function = new NodejsFunction(this, 'Function', {
      description: fitDescription('lyve-replicator: copies ', config.sourceBuckets, ` to Lyve Cloud bucket ${config.targetBucket}`, 256),
      entry: FUNCTION_ENTRY,
      handler: 'handler',
      projectRoot: REPO_ROOT,
      depsLockFilePath: join(REPO_ROOT, 'package-lock.json'),
      runtime: RUNTIME,
      architecture: lambda.Architecture.ARM_64,
      // Memory, default 1024 MB. The copy holds part size × concurrency in buffers (16 MiB × 16 =
      // 256 MiB by default) on top of a fixed ~125 MiB on Node.js 24 (the runtime with the SDK
      // loaded, and the HTTP client's read buffers): peak RSS measured 381 MiB at 16 × 16.
      // 1024 MB is not for the buffers but for the network and CPU: Lambda allocates both in
      // proportion to memory (a full vCPU at 1769 MB), and MD5 of every byte plus TLS both ways
      // are CPU-bound. config.ts refuses a memory below what the buffers need.
      memorySize: config.memoryMiB,
      // Timeout, default 5 minutes. Copies run at ~150–170 MiB/s (measured on a 2-core machine),
      // so one 5-minute invocation moves tens of GiB; anything larger pauses 10 s before the
      // deadline and continues through the queue (CONTINUATION_QUEUE_URL), so a longer timeout
      // buys nothing but a longer visibility timeout (6 × this) before a crashed batch is retried.
      timeout: Duration.seconds(config.timeoutSeconds),
      role: this.role,
      logGroup: this.logGroup,
      ...(config.reservedConcurrency !== undefined && { reservedConcurrentExecutions: config.reservedConcurrency }),
      // A copy larger than one invocation continues through a message the function sends to the
      // queue it is fed from: Lambda → SQS → Lambda. Lambda's recursive loop detection stops such
      // a chain after ~16 hops, and a 1 TiB object needs more (at ~40 GiB per 5-minute
      // invocation; 5 TiB, S3's maximum, ~120). The chain is intended and bounded: every hop
      // makes progress, and a source that changes starts the copy over at most 3 times.
      recursiveLoop: lambda.RecursiveLoop.ALLOW,
      environment: functionEnvironment(config, {
        queueUrl: queue.queueUrl,
        secretId: props.secretId,
        serviceName: SERVICE_NAME,
        metricsNamespace: METRICS_NAMESPACE,
      }),
      bundling: {
        // Local esbuild (a devDependency), never Docker. The same build as `npm run bundle:lambda`.
        forceDockerBundling: false,
        format: OutputFormat.ESM, // → index.mjs
        target: 'node24',
        platform: 'node',
        mainFields: ['module', 'main'],
        minify: true,
        sourceMap: true,
        sourcesContent: false,
        // Some bundled CommonJS dependencies call require(); ESM output has none.
        banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
        // Bundle the AWS SDK too instead of using the runtime's copy: the function then runs the
        // SDK version the tests ran (its checksum defaults matter for S3-compatible targets).
        externalModules: [],
      },
    });

    // The SQS event source, declared directly rather than with SqsEventSource, whose grant adds
    // sqs:ChangeMessageVisibility and sqs:GetQueueUrl, which the poller does not need.
    this.eventSourceMapping = new lambda.EventSourceMapping(this, 'QueueEventSource', {
      target: this.function,
      eventSourceArn: queue.queueArn,
      batchSize: BATCH_SIZE,
      // Lag matters more than batch fullness: wait at most 1 s for a batch to fill.
      maxBatchingWindow: MAX_BATCHING_WINDOW,
      // Only the failed messages of a batch return to the queue (Powertools batch processing).
      reportBatchItemFailures: true,
      // With reserved concurrency, cap the pollers at it: otherwise the poller invokes beyond it,
      // the invocations are throttled, and each throttle counts as a receive towards the
      // dead-letter queue's maxReceiveCount.
      ...(config.reservedConcurrency !== undefined && { maxConcurrency: Math.min(config.reservedConcurrency, 1000) }),
    });
    // Lambda checks the role's SQS permissions when the mapping is created.
    this.eventSourceMapping.node.addDependency(this.role);
  }
}
