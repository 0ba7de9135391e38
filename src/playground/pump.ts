/**
 * What Lambda's SQS event source mapping does, on loopback: long-poll a queue for batches of up
 * to 10 messages, invoke the handler with an SQS event, and delete the messages it did not
 * report in batchItemFailures. Failed messages (or all of them, when the handler throws) stay
 * in the queue and come back after the visibility timeout; after 3 receives the queue moves
 * them to its dead-letter queue.
 */
import { randomUUID } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { LambdaHandler } from '../lambda/handler.js';

export interface PumpOptions {
  sqs: SQSClient;
  queueUrl: string;
  handler: LambdaHandler;
  /** The queue's visibility timeout; messages being handled are kept hidden for this long at a time. */
  visibilityTimeoutS: number;
  /** Each invocation's time budget, as a Lambda function timeout (ms). */
  invocationTimeoutMs: number;
  onError: (error: unknown) => void;
}

export class Pump {
  private stopping = false;
  private readonly abort = new AbortController();
  private loop: Promise<void> | undefined;
  private busy = false;
  private readonly arn: string;

  constructor(private readonly options: PumpOptions) {
    const name = new URL(options.queueUrl).pathname.split('/').pop() ?? 'queue';
    this.arn = `arn:aws:sqs:us-east-1:000000000000:${name}`;
  }

  /** True while a batch is being handled. */
  get handling(): boolean {
    return this.busy;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Stops polling and resolves once the batch in flight (if any) is handled and acknowledged. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.abort.abort();
    await this.loop;
  }

  private async run(): Promise<void> {
    const { sqs, queueUrl } = this.options;
    while (!this.stopping) {
      let messages: Message[];
      try {
        const received = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 20,
            MessageSystemAttributeNames: ['All'],
          }),
          { abortSignal: this.abort.signal },
        );
        messages = received.Messages ?? [];
      } catch (error) {
        if (this.stopping) return;
        this.options.onError(error);
        await new Promise((resolve) => setTimeout(resolve, 1000));
        continue;
      }
      if (messages.length > 0) await this.handle(messages);
    }
  }

  /** One invocation; a handler that throws fails the whole batch, as on Lambda. */
  private async handle(messages: Message[]): Promise<void> {
    const { sqs, queueUrl, handler } = this.options;
    this.busy = true;
    const heartbeat = setInterval(() => void this.keepHidden(messages), (this.options.visibilityTimeoutS * 1000) / 2);
    try {
      let failed: Set<string>;
      try {
        const response = (await handler(this.sqsEvent(messages), this.context())) as SQSBatchResponse;
        failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
      } catch {
        failed = new Set(messages.map((m) => m.MessageId ?? ''));
      }
      const done = messages.filter((m) => !failed.has(m.MessageId ?? ''));
      if (done.length > 0) {
        await sqs
          .send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }))
          .catch(this.options.onError);
      }
    } finally {
      clearInterval(heartbeat);
      this.busy = false;
    }
  }

  /**
   * Lambda requires a visibility timeout longer than the function's; the playground keeps a
   * short one (failures come back quickly) and extends it while the handler works instead.
   */
  private async keepHidden(messages: Message[]): Promise<void> {
    const { sqs, queueUrl, visibilityTimeoutS } = this.options;
    await sqs
      .send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: visibilityTimeoutS })),
        }),
      )
      .catch(this.options.onError);
  }

  private sqsEvent(messages: Message[]): SQSEvent {
    return {
      Records: messages.map((m) => ({
        messageId: m.MessageId ?? '',
        receiptHandle: m.ReceiptHandle ?? '',
        body: m.Body ?? '',
        attributes: {
          ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
          SentTimestamp: m.Attributes?.SentTimestamp ?? String(Date.now()),
          SenderId: m.Attributes?.SenderId ?? 'PLAYGROUND',
          ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        },
        messageAttributes: {},
        md5OfBody: m.MD5OfBody ?? '',
        eventSource: 'aws:sqs',
        eventSourceARN: this.arn,
        awsRegion: 'us-east-1',
      })),
    };
  }

  private context(): Context {
    const deadline = Date.now() + this.options.invocationTimeoutMs;
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: 'lyve-replicator-playground',
      functionVersion: '$LATEST',
      invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:lyve-replicator-playground',
      memoryLimitInMB: '1024',
      awsRequestId: randomUUID(),
      logGroupName: '/aws/lambda/lyve-replicator-playground',
      logStreamName: 'playground',
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }
}
