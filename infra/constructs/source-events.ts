import { Stack } from 'aws-cdk-lib';
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
  readonly rule?: events.Rule;

  constructor(scope: Construct, id: string, props: SourceEventsProps) {
    super(scope, id);
    this.buckets = props.sourceBuckets.map((name) => s3.Bucket.fromBucketName(this, `Bucket-${name}`, name));

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
    this.rule = new events.Rule(this, 'ObjectEvents', {
      description: fitDescription('lyve-replicator: object events of ', props.sourceBuckets, '', 512),
      eventPattern: {
        source: ['aws.s3'],
        detailType: eventBridgeDetailTypes(props),
        detail: { bucket: { name: [...props.sourceBuckets] } },
      },
      // EventBridge retries a failed delivery for up to 24 hours (its default retry policy), then
      // puts the event in the dead-letter queue, whose alarm fires; a redrive replays it.
      targets: [new targets.SqsQueue(props.queue, { deadLetterQueue: props.deadLetterQueue })],
    });
  }
}
