import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { METRIC, METRICS_NAMESPACE, SERVICE_NAME } from '../../src/lambda/observability.js';

export interface MonitoringProps {
  function: lambda.IFunction;
  queue: sqs.IQueue;
  deadLetterQueue: sqs.IQueue;
  /** ReplicationLag p99 alarm threshold. */
  lagAlarmSeconds: number;
  alarmEmail?: string;
}

/** Alarm threshold of the age of the oldest queued message, in seconds. */
export const BACKLOG_ALARM_SECONDS = 3600;

/** Alarm threshold of the error rate (Lambda Errors / Invocations), in percent. */
export const ERROR_RATE_THRESHOLD_PERCENT = 5;

/**
 * The dashboard and the alarms. The function's own metrics come from Powertools Metrics as EMF
 * log lines: namespace LyveReplicator, one dimension `service` = lyve-replicator (set in
 * src/lambda/observability.ts; the names are imported from there so they cannot drift).
 */
export class Monitoring extends Construct {
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: { deadLetterQueue: cloudwatch.Alarm; replicationLag: cloudwatch.Alarm; errorRate: cloudwatch.Alarm; backlog: cloudwatch.Alarm };
  readonly topic?: sns.Topic;

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const fn = props.function;
    const period = Duration.minutes(5);
    const replicator = (metricName: string, statistic: string, label: string) =>
      new cloudwatch.Metric({ namespace: METRICS_NAMESPACE, metricName, dimensionsMap: { service: SERVICE_NAME }, statistic, period, label });

    const lagP50 = replicator(METRIC.lag, 'p50', 'lag p50 (ms)');
    const lagP99 = replicator(METRIC.lag, 'p99', 'lag p99 (ms)');
    const dlqVisible = props.deadLetterQueue.metricApproximateNumberOfMessagesVisible({ statistic: 'Maximum', period: Duration.minutes(1), label: 'messages in the dead-letter queue' });
    const oldestMessage = props.queue.metricApproximateAgeOfOldestMessage({ statistic: 'Maximum', period, label: 'oldest message (s)' });
    const errors = fn.metricErrors({ statistic: 'Sum', period, label: 'errors' });
    const invocations = fn.metricInvocations({ statistic: 'Sum', period, label: 'invocations' });
    const throttles = fn.metricThrottles({ statistic: 'Sum', period, label: 'throttles' });

    const dlqAlarm = new cloudwatch.Alarm(this, 'DeadLetterQueueNotEmpty', {
      alarmDescription:
        'Messages reached the dead-letter queue: objects failed 5 times. Read the function log for "object failed" lines, fix the cause, then redrive (aws sqs start-message-move-task --source-arn <DLQ ARN>).',
      metric: dlqVisible,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const lagAlarm = new cloudwatch.Alarm(this, 'ReplicationLagHigh', {
      alarmDescription: `ReplicationLag p99 (event time → replica complete) above ${props.lagAlarmSeconds} s in 2 of 3 five-minute periods: the copy is falling behind (throttling, a slow target, or a large backlog).`,
      metric: lagP99,
      threshold: props.lagAlarmSeconds * 1000,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    const errorRate = new cloudwatch.MathExpression({
      expression: 'IF(invocations > 0, 100 * errors / invocations, 0)',
      usingMetrics: { errors, invocations },
      period,
      label: 'error rate (%)',
    });
    const errorRateAlarm = new cloudwatch.Alarm(this, 'ErrorRateHigh', {
      alarmDescription: `Lambda error rate (Errors / Invocations) above ${ERROR_RATE_THRESHOLD_PERCENT} % in 2 of 3 five-minute periods: the function is failing whole invocations (configuration, secret, crashes). Failed objects in a batch do not count here; see ObjectsFailed.`,
      metric: errorRate,
      threshold: ERROR_RATE_THRESHOLD_PERCENT,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      datapointsToAlarm: 2,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    // Nothing is being consumed: the poller is stopped (mapping disabled, no concurrency left) or
    // every batch fails. The lag alarm cannot see this, as no object completes.
    const backlogAlarm = new cloudwatch.Alarm(this, 'QueueBacklogStuck', {
      alarmDescription: `The oldest message in the queue is over ${BACKLOG_ALARM_SECONDS / 60} minutes old in 3 five-minute periods: events are not being consumed. Check the function's event source mapping (enabled?), its throttles and reserved concurrency, and the log.`,
      metric: oldestMessage,
      threshold: BACKLOG_ALARM_SECONDS,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.alarms = { deadLetterQueue: dlqAlarm, replicationLag: lagAlarm, errorRate: errorRateAlarm, backlog: backlogAlarm };

    if (props.alarmEmail !== undefined) {
      this.topic = new sns.Topic(this, 'AlarmTopic', { displayName: 'lyve-replicator alarms', enforceSSL: true });
      this.topic.addSubscription(new subscriptions.EmailSubscription(props.alarmEmail));
      // A topic policy (here the TLS rule) replaces SNS's default one, which is what let CloudWatch
      // publish: allow these alarms explicitly, or they change state and nobody hears of it.
      this.topic.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'AllowAlarmsToPublish',
          actions: ['sns:Publish'],
          principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
          resources: [this.topic.topicArn],
          conditions: {
            ArnLike: { 'aws:SourceArn': Object.values(this.alarms).map((alarm) => alarm.alarmArn) },
            StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          },
        }),
      );
      const action = new actions.SnsAction(this.topic);
      for (const alarm of Object.values(this.alarms)) {
        alarm.addAlarmAction(action);
        alarm.addOkAction(action);
      }
    }

    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: Stack.of(this).stackName,
      defaultInterval: Duration.hours(3),
    });
    this.dashboard.addWidgets(
      new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms: Object.values(this.alarms), width: 24, height: 3 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Objects',
        left: [
          replicator(METRIC.replicated, 'Sum', 'replicated'),
          replicator(METRIC.failed, 'Sum', 'failed'),
          replicator(METRIC.skipped, 'Sum', 'skipped'),
          replicator(METRIC.deleted, 'Sum', 'deleted'),
          replicator(METRIC.continued, 'Sum', 'continued in a later invocation'),
        ],
        width: 8,
      }),
      new cloudwatch.GraphWidget({ title: 'Bytes replicated', left: [replicator(METRIC.bytes, 'Sum', 'bytes')], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Replication lag (event → replica, ms)',
        left: [lagP50, lagP99],
        leftAnnotations: [{ value: props.lagAlarmSeconds * 1000, label: 'alarm', color: cloudwatch.Color.RED }],
        width: 8,
      }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({ title: 'Dead-letter queue: messages visible', left: [dlqVisible], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Queue: age of oldest message (s)', left: [oldestMessage], width: 8 }),
      new cloudwatch.GraphWidget({ title: 'Lambda: errors and throttles', left: [errors, throttles], right: [errorRate], width: 8 }),
    );
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'Lambda: duration (ms)',
        left: [
          fn.metricDuration({ statistic: 'p50', period, label: 'p50' }),
          fn.metricDuration({ statistic: 'p99', period, label: 'p99' }),
          fn.metricDuration({ statistic: 'Maximum', period, label: 'max' }),
        ],
        width: 12,
      }),
      new cloudwatch.GraphWidget({
        title: 'Per object: copy duration (ms)',
        left: [replicator(METRIC.duration, 'p50', 'p50'), replicator(METRIC.duration, 'p99', 'p99')],
        width: 12,
      }),
    );
  }
}
