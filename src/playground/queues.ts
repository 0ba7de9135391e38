/**
 * The playground's SQS queues on the source server, set up as on AWS: S3 events go to
 * `replication-events`; messages that fail 3 receives move to its dead-letter queue; large
 * copies continue through `replication-continuations`.
 */
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import { CREDENTIALS, REGION } from './servers.js';

export const QUEUE_NAMES = {
  events: 'replication-events',
  continuations: 'replication-continuations',
  deadLetter: 'replication-events-dlq',
} as const;

/** Seconds a received message stays hidden; a failed one comes back after this. */
export const VISIBILITY_TIMEOUT_S = 5;
export const MAX_RECEIVE_COUNT = 3;

export interface Queues {
  sqs: SQSClient;
  /** URLs as fauxqs returns them (http://sqs.us-east-1.localhost:PORT/000000000000/NAME); requests go to the endpoint. */
  events: string;
  continuations: string;
  deadLetter: string;
}

export interface QueueDepth {
  /** Waiting to be received. */
  visible: number;
  /** Received, not yet deleted. */
  inFlight: number;
}

export async function createQueues(endpoint: string): Promise<Queues> {
  const sqs = new SQSClient({ endpoint, region: REGION, credentials: CREDENTIALS.source });
  const create = async (name: string, attributes: Record<string, string>): Promise<string> => {
    const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!QueueUrl) throw new Error(`CreateQueue ${name} returned no URL`);
    return QueueUrl;
  };
  const deadLetter = await create(QUEUE_NAMES.deadLetter, {});
  const { Attributes } = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: deadLetter, AttributeNames: ['QueueArn'] }));
  const redrivePolicy = JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: MAX_RECEIVE_COUNT });
  const visibility = { VisibilityTimeout: String(VISIBILITY_TIMEOUT_S) };
  const events = await create(QUEUE_NAMES.events, { ...visibility, RedrivePolicy: redrivePolicy });
  const continuations = await create(QUEUE_NAMES.continuations, { ...visibility, RedrivePolicy: redrivePolicy });
  return { sqs, events, continuations, deadLetter };
}

export async function sendMessage(sqs: SQSClient, queueUrl: string, body: string): Promise<void> {
  await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const { Attributes: a } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible', 'ApproximateNumberOfMessagesDelayed'],
    }),
  );
  return {
    visible: Number(a?.ApproximateNumberOfMessages ?? 0) + Number(a?.ApproximateNumberOfMessagesDelayed ?? 0),
    inFlight: Number(a?.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}
