import { CfnOutput, Duration, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ReplicatorConfig } from './config.js';
import { Monitoring } from './constructs/monitoring.js';
import { ReplicationQueue } from './constructs/replication-queue.js';
import { ReplicatorFunction } from './constructs/replicator-function.js';
import { SourceEvents } from './constructs/source-events.js';
import { TargetSecret } from './constructs/target-secret.js';

export interface ReplicationStackProps extends StackProps {
  config: ReplicatorConfig;
}

/**
 * Continuous replication of existing S3 buckets to a Lyve Cloud bucket:
 * bucket events → SQS queue (+ dead-letter queue) → replication Lambda → Lyve Cloud, with a
 * dashboard and alarms. See README.md, "Deploy".
 */
export class ReplicationStack extends Stack {
  readonly secret: TargetSecret;
  readonly queues: ReplicationQueue;
  readonly replicator: ReplicatorFunction;
  readonly sourceEvents: SourceEvents;
  readonly monitoring: Monitoring;

  constructor(scope: Construct, id: string, props: ReplicationStackProps) {
    super(scope, id, {
      description: 'lyve-replicator: continuous replication of S3 buckets to Seagate Lyve Cloud',
      ...props,
    });
    const { config } = props;

    this.secret = new TargetSecret(this, 'TargetSecret', config.secret);
    this.queues = new ReplicationQueue(this, 'Queues', { functionTimeout: Duration.seconds(config.timeoutSeconds) });
    this.replicator = new ReplicatorFunction(this, 'Replicator', {
      config,
      queue: this.queues.queue,
      secretId: this.secret.secretId,
      secretArnForPolicy: this.secret.arnForPolicy,
    });
    this.sourceEvents = new SourceEvents(this, 'SourceEvents', {
      sourceBuckets: config.sourceBuckets,
      queue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      eventPath: config.eventPath,
      replicateDeletes: config.replicateDeletes,
      replicateTags: config.replicateTags,
    });
    this.monitoring = new Monitoring(this, 'Monitoring', {
      function: this.replicator.function,
      queue: this.queues.queue,
      deadLetterQueue: this.queues.deadLetterQueue,
      lagAlarmSeconds: config.lagAlarmSeconds,
      ...(config.alarmEmail !== undefined && { alarmEmail: config.alarmEmail }),
    });

    new CfnOutput(this, 'FunctionName', { value: this.replicator.function.functionName, description: 'replication function' });
    new CfnOutput(this, 'FunctionArn', {
      value: this.replicator.function.functionArn,
      description: 'for lyve-replicator backfill --batch-operations --function-arn',
    });
    new CfnOutput(this, 'LogGroupName', { value: this.replicator.logGroup.logGroupName, description: 'function logs (one line per object)' });
    new CfnOutput(this, 'QueueUrl', { value: this.queues.queue.queueUrl, description: 'event queue (also carries continuations)' });
    new CfnOutput(this, 'QueueArn', { value: this.queues.queue.queueArn, description: 'event queue: the destination of a DLQ redrive' });
    new CfnOutput(this, 'DeadLetterQueueUrl', { value: this.queues.deadLetterQueue.queueUrl, description: 'dead-letter queue' });
    new CfnOutput(this, 'DeadLetterQueueArn', {
      value: this.queues.deadLetterQueue.queueArn,
      description: 'redrive: aws sqs start-message-move-task --source-arn <this>',
    });
    new CfnOutput(this, 'DashboardName', { value: this.monitoring.dashboard.dashboardName, description: 'CloudWatch dashboard' });
    new CfnOutput(this, 'SecretId', {
      value: this.secret.secretId,
      description: this.secret.created
        ? 'created secret: fill in lc_access_key, lc_secret_key, lc_endpoint_url (aws secretsmanager put-secret-value)'
        : 'Lyve Cloud secret the function reads',
    });
    if (this.monitoring.topic) {
      new CfnOutput(this, 'AlarmTopicArn', { value: this.monitoring.topic.topicArn, description: 'alarm notifications (confirm the email subscription)' });
    }
  }
}
