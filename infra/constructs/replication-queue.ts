import { Duration } from 'aws-cdk-lib';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';

export interface ReplicationQueueProps {
  /** The consuming function's timeout: the visibility timeout is derived from it. */
  functionTimeout: Duration;
  /** Receives before a message goes to the dead-letter queue. Default 5. */
  maxReceiveCount?: number;
}

/**
 * The queue between the bucket events and the function, and its dead-letter queue. The same
 * queue carries the function's continuation messages (copies too large for one invocation).
 *
 * Encryption is SSE-SQS (SQS-managed keys), not KMS: S3 event notifications and EventBridge can
 * only deliver to a KMS-encrypted queue through a customer managed key with a key policy for
 * them, and SSE-SQS needs no kms:* permission in the function's role either.
 */
/**
 * SQS's largest message (1 MiB). A continuation carries the checkpoint of a paused copy, ~80
 * bytes per part done: up to ~780 KB at 10,000 parts, over the old 256 KiB default.
 */
const MAX_MESSAGE_BYTES = 1024 * 1024;

export class ReplicationQueue extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly maxReceiveCount: number;

  constructor(scope: Construct, id: string, props: ReplicationQueueProps) {
    super(scope, id);
    this.maxReceiveCount = props.maxReceiveCount ?? 5;

    this.deadLetterQueue = new sqs.Queue(this, 'DeadLetterQueue', {
      retentionPeriod: Duration.days(14),
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
    });

    this.queue = new sqs.Queue(this, 'Queue', {
      // AWS's guidance for an SQS event source: at least 6 × the function timeout, so a message
      // is not received again while a batch holding it is still being retried by the poller.
      visibilityTimeout: Duration.seconds(props.functionTimeout.toSeconds() * 6),
      // Long polling: fewer, cheaper empty receives.
      receiveMessageWaitTime: Duration.seconds(20),
      // Shorter than the dead-letter queue's: a message moved there keeps its first enqueue time,
      // so it still has a week there at least (AWS's advice); a redrive gives it a new one.
      retentionPeriod: Duration.days(7),
      maxMessageSizeBytes: MAX_MESSAGE_BYTES,
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: this.maxReceiveCount },
    });
  }
}
