import { Match } from 'aws-cdk-lib/assertions';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { describe, expect, it } from 'vitest';
import { SECRET_TEMPLATE } from '../../infra/constructs/target-secret.js';
import { RUNTIME } from '../../infra/constructs/replicator-function.js';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../src/lambda/observability.js';
import { synth } from './support.js';

const ref = (id: string) => ({ Ref: id });

/** Logical id of a construct's default resource, as the template has it. */
function idOf(stack: import('../../infra/replication-stack.js').ReplicationStack, resource: { node: { defaultChild?: unknown } } | unknown): string {
  const child = (resource as { node: { defaultChild?: unknown } }).node.defaultChild ?? resource;
  return stack.getLogicalId(child as import('aws-cdk-lib').CfnElement);
}

describe('ReplicationStack, default context (one bucket, existing secret by name, S3 notifications)', () => {
  const { stack, template } = synth();
  const queueId = idOf(stack, stack.queues.queue);
  const dlqId = idOf(stack, stack.queues.deadLetterQueue);
  const functionId = idOf(stack, stack.replicator.function);
  const logGroupId = idOf(stack, stack.replicator.logGroup);
  const roleId = idOf(stack, stack.replicator.role);

  it('uses the newest Node.js runtime aws-cdk-lib offers', () => {
    const newest = Object.keys(lambda.Runtime)
      .map((name) => /^NODEJS_(\d+)_X$/.exec(name))
      .filter((match) => match !== null)
      .map((match) => Number(match[1]))
      .sort((a, b) => b - a)[0];
    expect(RUNTIME.name).toBe(`nodejs${newest}.x`);
    expect(RUNTIME.name).not.toBe('nodejs20.x');
  });

  it('defines the function: runtime, arm64, memory, timeout, log group, environment', () => {
    template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Runtime: RUNTIME.name,
      Architectures: ['arm64'],
      MemorySize: 1024,
      Timeout: 300,
      RecursiveLoop: 'Allow',
      Role: { 'Fn::GetAtt': [roleId, 'Arn'] },
      LoggingConfig: { LogGroup: ref(logGroupId) },
      ReservedConcurrentExecutions: Match.absent(),
      Environment: {
        Variables: {
          TARGET_BUCKET: 'lyve-target',
          TARGET_SECRET_ID: 'lyve-cloud/replicator',
          TARGET_REGION: 'us-east-1',
          SOURCE_BUCKETS: 'source-a',
          REPLICATE_DELETES: 'false',
          REPLICATE_TAGS: 'false',
          CONTINUATION_QUEUE_URL: ref(queueId),
          POWERTOOLS_SERVICE_NAME: SERVICE_NAME,
          POWERTOOLS_METRICS_NAMESPACE: 'LyveReplicator',
          NODE_OPTIONS: '--enable-source-maps',
        },
      },
    });
    expect(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } })).toHaveProperty([functionId]);
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 30 });
  });

  it('puts an encrypted, TLS-only queue with long polling, 1 MiB messages and a 14-day dead-letter queue in front of it', () => {
    template.hasResourceProperties('AWS::SQS::Queue', {
      VisibilityTimeout: 6 * 300,
      MaximumMessageSize: 1024 * 1024,
      ReceiveMessageWaitTimeSeconds: 20,
      // Shorter than the dead-letter queue's: a moved message keeps its first enqueue time.
      MessageRetentionPeriod: 7 * 24 * 3600,
      SqsManagedSseEnabled: true,
      RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [dlqId, 'Arn'] }, maxReceiveCount: 5 },
    });
    template.hasResourceProperties('AWS::SQS::Queue', {
      MessageRetentionPeriod: 14 * 24 * 3600,
      MaximumMessageSize: 1024 * 1024,
      SqsManagedSseEnabled: true,
      RedrivePolicy: Match.absent(),
    });
    for (const id of [queueId, dlqId]) {
      template.hasResourceProperties('AWS::SQS::QueuePolicy', {
        Queues: [ref(id)],
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Action: 'sqs:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } }, Principal: { AWS: '*' } }),
          ]),
        },
      });
    }
  });

  it('feeds the function from the queue: batches of 10, 1 s window, partial batch failures', () => {
    template.resourceCountIs('AWS::Lambda::EventSourceMapping', 1);
    template.hasResource('AWS::Lambda::EventSourceMapping', {
      Properties: {
        EventSourceArn: { 'Fn::GetAtt': [queueId, 'Arn'] },
        FunctionName: ref(functionId),
        BatchSize: 10,
        MaximumBatchingWindowInSeconds: 1,
        FunctionResponseTypes: ['ReportBatchItemFailures'],
        ScalingConfig: Match.absent(),
      },
      // Lambda checks the role's permissions when it creates the mapping.
      DependsOn: Match.arrayWith([roleId]),
    });
  });

  it('sends ObjectCreated notifications of the imported bucket to the queue (merged, not replacing others)', () => {
    template.resourceCountIs('Custom::S3BucketNotifications', 1);
    const queuePolicies = Object.keys(template.findResources('AWS::SQS::QueuePolicy', { Properties: { Queues: [ref(queueId)] } }));
    expect(queuePolicies).toHaveLength(1);
    const queuePolicyId = queuePolicies[0]!;
    template.hasResource('Custom::S3BucketNotifications', {
      Properties: {
        BucketName: 'source-a',
        Managed: false,
        NotificationConfiguration: {
          QueueConfigurations: [
            { Events: ['s3:ObjectCreated:*'], QueueArn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
            { Events: ['s3:ObjectRestore:Completed'], QueueArn: { 'Fn::GetAtt': [queueId, 'Arn'] } },
          ],
        },
      },
      // S3 sends a test event when the notification is written: the queue must accept it by then.
      DependsOn: Match.arrayWith([queuePolicyId]),
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(queueId)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 's3.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: { ArnLike: { 'aws:SourceArn': { 'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':s3:::source-a']] } } },
          }),
          // Bucket names are global: only this account's buckets may send.
          Match.objectLike({
            Sid: 'OnlyThisAccountsBuckets',
            Effect: 'Deny',
            Principal: { Service: 's3.amazonaws.com' },
            Action: 'sqs:SendMessage',
            Condition: { StringNotEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } },
          }),
        ]),
      },
    });
    template.resourceCountIs('AWS::Events::Rule', 0);
  });

  it('creates no secret, SNS topic or bucket', () => {
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    template.resourceCountIs('AWS::SNS::Topic', 0);
    template.resourceCountIs('AWS::S3::Bucket', 0);
  });

  it('alarms on a non-empty dead-letter queue, ReplicationLag p99, the error rate and a stuck queue', () => {
    template.resourceCountIs('AWS::CloudWatch::Alarm', 4);
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 3600,
      EvaluationPeriods: 3,
      Metrics: [Match.objectLike({ MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'AWS/SQS', MetricName: 'ApproximateAgeOfOldestMessage' }) }) })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      Threshold: 1,
      Metrics: [Match.objectLike({ MetricStat: Match.objectLike({ Metric: { Namespace: 'AWS/SQS', MetricName: 'ApproximateNumberOfMessagesVisible', Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [dlqId, 'QueueName'] } }] } }) })],
      AlarmActions: Match.absent(),
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 900_000,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: [Match.objectLike({ MetricStat: Match.objectLike({ Stat: 'p99', Metric: { Namespace: METRICS_NAMESPACE, MetricName: METRIC.lag, Dimensions: [{ Name: 'service', Value: SERVICE_NAME }] } }) })],
    });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Threshold: 5,
      ComparisonOperator: 'GreaterThanThreshold',
      Metrics: Match.arrayWith([
        Match.objectLike({ Expression: 'IF(invocations > 0, 100 * errors / invocations, 0)', ReturnData: true }),
        Match.objectLike({ Id: 'errors', MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'AWS/Lambda', MetricName: 'Errors' }) }), ReturnData: false }),
        Match.objectLike({ Id: 'invocations', MetricStat: Match.objectLike({ Metric: Match.objectLike({ Namespace: 'AWS/Lambda', MetricName: 'Invocations' }) }), ReturnData: false }),
      ]),
    });
  });

  it('has a dashboard with the replicator metrics (dimension service) and the queue and Lambda metrics', () => {
    const dashboards = Object.values(template.findResources('AWS::CloudWatch::Dashboard'));
    expect(dashboards).toHaveLength(1);
    const body = JSON.stringify(stack.resolve(dashboards[0]!.Properties.DashboardBody));
    for (const name of [METRIC.replicated, METRIC.bytes, METRIC.failed, METRIC.lag]) {
      expect(body).toContain(`"${METRICS_NAMESPACE}\\",\\"${name}\\",\\"service\\",\\"${SERVICE_NAME}\\"`);
    }
    expect(body).toMatch(/"stat\\":\\"p50\\"/);
    expect(body).toMatch(/"stat\\":\\"p99\\"/);
    for (const metric of ['ApproximateNumberOfMessagesVisible', 'ApproximateAgeOfOldestMessage', 'Errors', 'Throttles', 'Duration']) expect(body).toContain(metric);
  });

  it('outputs what the README commands need', () => {
    for (const output of ['FunctionName', 'FunctionArn', 'QueueArn', 'QueueUrl', 'DeadLetterQueueArn', 'DeadLetterQueueUrl', 'DashboardName', 'SecretId', 'LogGroupName']) {
      template.hasOutput(output, {});
    }
  });
});

describe('ReplicationStack, other contexts', () => {
  it('two buckets with deletes and tags: ObjectCreated, ObjectRemoved, LifecycleExpiration and ObjectTagging from each', () => {
    const { stack, template } = synth({ sourceBuckets: 'source-a,source-b', replicateDeletes: 'true', replicateTags: 'true' });
    const queueArn = { 'Fn::GetAtt': [idOf(stack, stack.queues.queue), 'Arn'] };
    template.resourceCountIs('Custom::S3BucketNotifications', 2);
    for (const bucket of ['source-a', 'source-b']) {
      template.hasResourceProperties('Custom::S3BucketNotifications', {
        BucketName: bucket,
        NotificationConfiguration: {
          QueueConfigurations: [
            { Events: ['s3:ObjectCreated:*'], QueueArn: queueArn },
            { Events: ['s3:ObjectRestore:Completed'], QueueArn: queueArn },
            { Events: ['s3:ObjectRemoved:*'], QueueArn: queueArn },
            { Events: ['s3:LifecycleExpiration:*'], QueueArn: queueArn },
            { Events: ['s3:ObjectTagging:*'], QueueArn: queueArn },
          ],
        },
      });
    }
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: { Variables: Match.objectLike({ SOURCE_BUCKETS: 'source-a,source-b', REPLICATE_DELETES: 'true', REPLICATE_TAGS: 'true' }) },
    });
  });

  it('names a few buckets in the function description, and counts many within Lambda’s 256 characters', () => {
    const many = Array.from({ length: 8 }, (_, i) => `acme-prod-data-lake-bucket-number-${i}`).join(',');
    const { template } = synth({ sourceBuckets: many, eventPath: 'eventbridge' });
    const [fn] = Object.values(template.findResources('AWS::Lambda::Function', { Properties: { Handler: 'index.handler' } }));
    const description = fn!.Properties.Description as string;
    expect(description.length).toBeLessThanOrEqual(256);
    expect(description).toMatch(/^lyve-replicator: copies 8 buckets \(acme-prod-data-lake-bucket-number-0, .*…\) to Lyve Cloud bucket /);
    const [rule] = Object.values(template.findResources('AWS::Events::Rule'));
    expect((rule!.Properties.Description as string).length).toBeLessThanOrEqual(512);
  });

  it('deletes off, tags on: no ObjectRemoved notification', () => {
    const { template } = synth({ replicateTags: 'true' });
    const [notifications] = Object.values(template.findResources('Custom::S3BucketNotifications'));
    const events = (notifications!.Properties.NotificationConfiguration.QueueConfigurations as Array<{ Events: string[] }>).flatMap((c) => c.Events);
    expect(events).toEqual(['s3:ObjectCreated:*', 's3:ObjectRestore:Completed', 's3:ObjectTagging:*']);
  });

  it('eventbridge: turns on EventBridge delivery and routes Object Created/Deleted of the buckets to the queue', () => {
    const { stack, template } = synth({ sourceBuckets: 'source-a,source-b', eventPath: 'eventbridge', replicateDeletes: 'true' });
    const queueId = idOf(stack, stack.queues.queue);
    template.resourceCountIs('AWS::Events::Rule', 1);
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: { source: ['aws.s3'], 'detail-type': ['Object Created', 'Object Restore Completed', 'Object Deleted'], detail: { bucket: { name: ['source-a', 'source-b'] } } },
      State: 'ENABLED',
      // Undeliverable events go to the dead-letter queue (and its alarm), not nowhere.
      Targets: [Match.objectLike({ Arn: { 'Fn::GetAtt': [queueId, 'Arn'] }, DeadLetterConfig: { Arn: { 'Fn::GetAtt': [idOf(stack, stack.queues.deadLetterQueue), 'Arn'] } } })],
    });
    template.hasResourceProperties('AWS::SQS::QueuePolicy', {
      Queues: [ref(queueId)],
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Effect: 'Allow',
            Principal: { Service: 'events.amazonaws.com' },
            Action: Match.arrayWith(['sqs:SendMessage']),
            Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [idOf(stack, stack.sourceEvents.rules[0]!), 'Arn'] } } },
          }),
        ]),
      },
    });
    template.resourceCountIs('Custom::S3BucketNotifications', 2);
    for (const bucket of ['source-a', 'source-b']) {
      template.hasResourceProperties('Custom::S3BucketNotifications', { BucketName: bucket, Managed: false, NotificationConfiguration: { EventBridgeConfiguration: {} } });
    }
  });

  it('eventbridge with many long bucket names: as many rules as keep each pattern within EventBridge\'s 2,048 characters', () => {
    const names = Array.from({ length: 40 }, (_, i) => `acme-prod-data-lake-bucket-number-${String(i).padStart(2, '0')}-${'x'.repeat(24)}`);
    const { stack, template } = synth({ sourceBuckets: names.join(','), eventPath: 'eventbridge', replicateDeletes: 'true', replicateTags: 'true' });
    const rules = Object.values(template.findResources('AWS::Events::Rule')) as Array<{ Properties: { EventPattern: { detail: { bucket: { name: string[] } } } } }>;
    expect(rules.length).toBeGreaterThan(1);
    for (const rule of rules) expect(JSON.stringify(rule.Properties.EventPattern).length).toBeLessThanOrEqual(2048);
    expect(rules.flatMap((rule) => rule.Properties.EventPattern.detail.bucket.name)).toEqual(names);
    // The queue takes events from each rule, and from no other.
    const policy = Object.values(template.findResources('AWS::SQS::QueuePolicy')).find((p) => JSON.stringify(p).includes('events.amazonaws.com'))!;
    const sources = JSON.stringify(policy).match(/"aws:SourceArn":\{"Fn::GetAtt":\["([^"]+)"/g)!.map((m) => /\["([^"]+)"/.exec(m)![1]);
    expect(new Set(sources)).toEqual(new Set(stack.sourceEvents.rules.map((rule) => idOf(stack, rule))));
  });

  it('eventbridge with tags, without deletes: Object Created and Object Tags Added/Deleted', () => {
    const { template } = synth({ eventPath: 'eventbridge', replicateTags: 'true' });
    template.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: Match.objectLike({ 'detail-type': ['Object Created', 'Object Restore Completed', 'Object Tags Added', 'Object Tags Deleted'] }),
    });
  });

  it('createSecret: a retained secret holding the empty template, read by ARN', () => {
    const { stack, template } = synth({ secretName: undefined, createSecret: 'true' });
    template.resourceCountIs('AWS::SecretsManager::Secret', 1);
    const secretId = idOf(stack, stack.node.findChild('TargetSecret').node.findChild('Secret'));
    template.hasResource('AWS::SecretsManager::Secret', {
      Properties: { SecretString: JSON.stringify(SECRET_TEMPLATE), GenerateSecretString: Match.absent() },
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
    });
    expect(JSON.parse(JSON.stringify(SECRET_TEMPLATE))).toEqual({ lc_access_key: '', lc_secret_key: '', lc_endpoint_url: '' });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ TARGET_SECRET_ID: ref(secretId) }) } });
    template.hasOutput('SecretId', { Value: ref(secretId) });
  });

  it('an existing secret given by ARN is passed and granted as that ARN', () => {
    const arn = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:lyve-AbCdEf';
    const { template } = synth({ secretName: arn });
    template.hasResourceProperties('AWS::Lambda::Function', { Environment: { Variables: Match.objectLike({ TARGET_SECRET_ID: arn }) } });
    template.hasResourceProperties('AWS::IAM::Role', {
      Policies: [{ PolicyDocument: { Statement: Match.arrayWith([Match.objectLike({ Sid: 'ReadTargetSecret', Action: 'secretsmanager:GetSecretValue', Resource: arn })]) } }],
    });
  });

  it('alarmEmail: an SNS topic with the email subscription, on every alarm (ALARM and OK)', () => {
    const { stack, template } = synth({ alarmEmail: 'ops@example.com' });
    const topicId = idOf(stack, stack.monitoring.topic);
    template.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'ops@example.com', TopicArn: ref(topicId) });
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm'));
    expect(alarms).toHaveLength(4);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([ref(topicId)]);
      expect(alarm.Properties.OKActions).toEqual([ref(topicId)]);
    }
    // The TLS-only topic policy replaces SNS's default one: CloudWatch must be allowed by name.
    template.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'AllowAlarmsToPublish', Effect: 'Allow', Action: 'sns:Publish', Principal: { Service: 'cloudwatch.amazonaws.com' } }),
        ]),
      },
    });
    template.hasOutput('AlarmTopicArn', {});
  });

  it('overrides: memory, timeout (and so the visibility timeout), reserved concurrency (and the poller cap), sizes, filters, retention, lag threshold', () => {
    const { template } = synth({
      memoryMiB: '2048',
      timeoutSeconds: '900',
      reservedConcurrency: '20',
      partSizeMiB: '32',
      concurrency: '16',
      includeKeys: 'photos/**,docs/*.{pdf,txt}',
      excludeKeys: '**/*.tmp',
      targetPrefix: 'from-aws/',
      logRetentionDays: '90',
      lagAlarmSeconds: '300',
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      MemorySize: 2048,
      Timeout: 900,
      ReservedConcurrentExecutions: 20,
      Environment: {
        Variables: Match.objectLike({ PART_SIZE_MIB: '32', CONCURRENCY: '16', INCLUDE_KEYS: 'photos/**,docs/*.{pdf,txt}', EXCLUDE_KEYS: '**/*.tmp', TARGET_PREFIX: 'from-aws/' }),
      },
    });
    template.hasResourceProperties('AWS::SQS::Queue', { VisibilityTimeout: 6 * 900 });
    template.hasResourceProperties('AWS::Lambda::EventSourceMapping', { ScalingConfig: { MaximumConcurrency: 20 } });
    template.hasResourceProperties('AWS::Logs::LogGroup', { RetentionInDays: 90 });
    template.hasResourceProperties('AWS::CloudWatch::Alarm', { Threshold: 300_000 });
  });

  it('stackName names the stack and the dashboard', () => {
    const { stack, template } = synth({ stackName: 'LyveReplicatorProd' });
    expect(stack.stackName).toBe('LyveReplicatorProd');
    template.hasResourceProperties('AWS::CloudWatch::Dashboard', { DashboardName: 'LyveReplicatorProd' });
  });

  it('an invalid context fails the synth naming the key', () => {
    expect(() => synth({ targetBucket: undefined, eventPath: 'sns' })).toThrow(/targetBucket is missing[\s\S]*eventPath "sns" is not one of/);
  });
});
