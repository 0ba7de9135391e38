import { Aws, Stack } from 'aws-cdk-lib';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { EventPath } from '../config.js';
import { fitDescription } from './description.js';

export interface SourceEventsProps {
  sourceBuckets: readonly string[];
  queue: sqs.IQueue;
  /** Where EventBridge puts events it could not deliver to the queue within its retries. */
  deadLetterQueue: sqs.IQueue;
  eventPath: EventPath;
  replicateDeletes: boolean;
  replicateTags: boolean;
}

/** EventBridge detail types the rule matches (S3's "Amazon S3 Event Notifications" for EventBridge). */
export function eventBridgeDetailTypes(options: { replicateDeletes: boolean; replicateTags: boolean }): string[] {
  return [
    'Object Created',
    // An object created straight into an archive class can be read only once restored.
    'Object Restore Completed',
    ...(options.replicateDeletes ? ['Object Deleted'] : []),
    ...(options.replicateTags ? ['Object Tags Added', 'Object Tags Deleted'] : []),
  ];
}

/**
 * Routes the source buckets' object events into the queue, one of two ways:
 *
 * - `s3-notifications` (default): an S3 event notification per bucket and event type, straight
 *   to the queue. The buckets are imported (they exist and are not managed by this stack), so
 *   CDK writes the notifications with its BucketNotificationsHandler custom resource, which
 *   merges them into the bucket's existing configuration ("unmanaged") and on stack deletion
 *   removes only its own. S3 refuses overlapping notifications: a bucket that already sends
 *   ObjectCreated events for the same keys elsewhere must use `eventbridge`.
 * - `eventbridge`: the buckets' EventBridge delivery is switched on (the same custom resource;
 *   it is left on when the stack is deleted, since other rules may depend on it), and one rule on
 *   the default bus matches their events and sends them to the queue. Events from several rules
 *   and consumers can coexist this way.
 *
 * No key filter at this level: S3 filters are one prefix/suffix per notification and may not
 * overlap, which cannot express INCLUDE_KEYS / EXCLUDE_KEYS globs; the function filters, and an
 * excluded key costs one message and no S3 request.
 */
export class SourceEvents extends Construct {
  readonly buckets: s3.IBucket[];
  /** The EventBridge rules (`eventbridge`): as many as keep each pattern within EventBridge's size. */
  readonly rules: events.Rule[] = [];
  /** The role of CDK's BucketNotificationsHandler, which writes the buckets' notification settings. */
  readonly notificationsHandlerRole: iam.Role;

  constructor(scope: Construct, id: string, props: SourceEventsProps) {
    super(scope, id);
    // CDK adds s3:PutBucketNotification on each bucket; the logs are the handler's own.
    this.notificationsHandlerRole = new NotificationsHandlerRole(this, 'NotificationsHandlerRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: 'lyve-replicator: writes the source buckets\' event notification settings at deploy time',
    });
    const handlerLogs = `arn:${Aws.PARTITION}:logs:${Aws.REGION}:${Aws.ACCOUNT_ID}:log-group:/aws/lambda/*-BucketNotificationsHandler*`;
    this.notificationsHandlerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogGroup'], resources: [handlerLogs] }),
    );
    this.notificationsHandlerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['logs:CreateLogStream', 'logs:PutLogEvents'], resources: [`${handlerLogs}:log-stream:*`] }),
    );
    this.buckets = props.sourceBuckets.map((name) =>
      s3.Bucket.fromBucketAttributes(this, `Bucket-${name}`, { bucketName: name, notificationsHandlerRole: this.notificationsHandlerRole }),
    );

    if (props.eventPath === 's3-notifications') {
      const destination = new s3n.SqsDestination(props.queue);
      const types = [
        s3.EventType.OBJECT_CREATED,
        s3.EventType.OBJECT_RESTORE_COMPLETED,
        // Lifecycle expirations are their own event types, not ObjectRemoved.
        ...(props.replicateDeletes ? [s3.EventType.OBJECT_REMOVED, s3.EventType.LIFECYCLE_EXPIRATION] : []),
        ...(props.replicateTags ? [s3.EventType.OBJECT_TAGGING] : []),
      ];
      for (const bucket of this.buckets) {
        for (const type of types) bucket.addEventNotification(type, destination);
      }
      // Bucket names are global: a bucket of ours deleted and re-created by another account
      // must not be able to feed this queue. (One statement for all buckets.)
      props.queue.addToResourcePolicy(
        new iam.PolicyStatement({
          sid: 'OnlyThisAccountsBuckets',
          effect: iam.Effect.DENY,
          principals: [new iam.ServicePrincipal('s3.amazonaws.com')],
          actions: ['sqs:SendMessage'],
          resources: [props.queue.queueArn],
          conditions: { StringNotEquals: { 'aws:SourceAccount': Stack.of(this).account } },
        }),
      );
      return;
    }

    for (const bucket of this.buckets) bucket.enableEventBridgeNotification();
    bucketGroups(props.sourceBuckets, (names) => eventPattern(props, names)).forEach((names, index) => {
      this.rules.push(
        new events.Rule(this, index === 0 ? 'ObjectEvents' : `ObjectEvents${index + 1}`, {
          description: fitDescription('lyve-replicator: object events of ', names, '', 512),
          eventPattern: eventPattern(props, names),
          // EventBridge retries a failed delivery for up to 24 hours (its default retry policy), then
          // puts the event in the dead-letter queue, whose alarm fires; a redrive replays it.
          targets: [new targets.SqsQueue(props.queue, { deadLetterQueue: props.deadLetterQueue })],
        }),
      );
    });
  }
}

/**
 * The role for CDK's BucketNotificationsHandler. CDK attaches AWSLambdaBasicExecutionRole to
 * whatever role the handler has (logs on every resource); this one takes no managed policy; its
 * statements, all in the template, name the handler's own logs and the buckets.
 */
class NotificationsHandlerRole extends iam.Role {
  override addManagedPolicy(_policy: iam.IManagedPolicy): void {}
}

/** EventBridge's default quota on an event pattern's size, in characters. */
export const MAX_EVENT_PATTERN_CHARS = 2048;

function eventPattern(options: { replicateDeletes: boolean; replicateTags: boolean }, bucketNames: readonly string[]): events.EventPattern {
  return { source: ['aws.s3'], detailType: eventBridgeDetailTypes(options), detail: { bucket: { name: [...bucketNames] } } };
}

/**
 * The buckets in groups whose rule patterns stay within EventBridge's size quota, in order
 * (one group, and so one rule, for all but long lists).
 */
export function bucketGroups(names: readonly string[], pattern: (names: readonly string[]) => events.EventPattern): string[][] {
  // The pattern as CloudFormation sends it: camelCase keys become EventBridge's own (detail-type).
  const size = (group: readonly string[]) => JSON.stringify(pattern(group)).replace('"detailType"', '"detail-type"').length;
  const groups: string[][] = [];
  let group: string[] = [];
  for (const name of names) {
    if (group.length > 0 && size([...group, name]) > MAX_EVENT_PATTERN_CHARS) {
      groups.push(group);
      group = [];
    }
    group.push(name);
  }
  if (group.length > 0) groups.push(group);
  return groups;
}
