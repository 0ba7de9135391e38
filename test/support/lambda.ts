import type { Context } from 'aws-lambda';
import { encodeNotificationKey } from '../../src/playground/s3-events.js';

export { encodeNotificationKey };

export interface S3EventSpec {
  bucket: string;
  key: string;
  eventName?: string;
  eTag?: string;
  size?: number;
  sequencer?: string;
  versionId?: string;
  eventTime?: Date;
}

/** One S3 event notification record, as AWS documents it. */
export function s3Record(spec: S3EventSpec): Record<string, unknown> {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: (spec.eventTime ?? new Date()).toISOString(),
    eventName: spec.eventName ?? 'ObjectCreated:Put',
    userIdentity: { principalId: 'AWS:EXAMPLE' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'EXAMPLE', 'x-amz-id-2': 'EXAMPLE' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'lyve-replicator',
      bucket: { name: spec.bucket, ownerIdentity: { principalId: 'EXAMPLE' }, arn: `arn:aws:s3:::${spec.bucket}` },
      object: {
        key: encodeNotificationKey(spec.key),
        ...(spec.size !== undefined && { size: spec.size }),
        ...(spec.eTag && { eTag: spec.eTag }),
        ...(spec.versionId && { versionId: spec.versionId }),
        sequencer: spec.sequencer ?? Date.now().toString(16).toUpperCase().padStart(16, '0'),
      },
    },
  };
}

export function s3Event(...specs: S3EventSpec[]): { Records: Record<string, unknown>[] } {
  return { Records: specs.map(s3Record) };
}

export function sqsEvent(bodies: string[]): { Records: Record<string, unknown>[] } {
  return {
    Records: bodies.map((body, i) => ({
      messageId: `message-${i}`,
      receiptHandle: `handle-${i}`,
      body,
      attributes: {
        ApproximateReceiveCount: '1',
        SentTimestamp: String(Date.now()),
        SenderId: 'EXAMPLE',
        ApproximateFirstReceiveTimestamp: String(Date.now()),
      },
      messageAttributes: {},
      md5OfBody: 'unused',
      eventSource: 'aws:sqs',
      eventSourceARN: 'arn:aws:sqs:us-east-1:123456789012:lyve-replicator',
      awsRegion: 'us-east-1',
    })),
  };
}

/** An SNS notification envelope around `message`, as delivered to SQS without raw delivery. */
export function snsEnvelope(message: string): Record<string, unknown> {
  return {
    Type: 'Notification',
    MessageId: 'EXAMPLE',
    TopicArn: 'arn:aws:sns:us-east-1:123456789012:s3-events',
    Subject: 'Amazon S3 Notification',
    Message: message,
    Timestamp: new Date().toISOString(),
    SignatureVersion: '1',
    Signature: 'EXAMPLE',
    SigningCertURL: 'https://sns.us-east-1.amazonaws.com/EXAMPLE.pem',
    UnsubscribeURL: 'https://sns.us-east-1.amazonaws.com/EXAMPLE',
  };
}

export function eventBridgeEvent(detailType: 'Object Created' | 'Object Deleted', bucket: string, key: string): Record<string, unknown> {
  return {
    version: '0',
    id: 'EXAMPLE',
    'detail-type': detailType,
    source: 'aws.s3',
    account: '123456789012',
    time: new Date().toISOString(),
    region: 'us-east-1',
    resources: [`arn:aws:s3:::${bucket}`],
    detail: {
      version: '0',
      bucket: { name: bucket },
      object: { key, sequencer: Date.now().toString(16).toUpperCase() },
      'request-id': 'EXAMPLE',
      requester: '123456789012',
      reason: detailType === 'Object Created' ? 'PutObject' : 'DeleteObject',
      ...(detailType === 'Object Deleted' && { 'deletion-type': 'Permanently Deleted' }),
    },
  };
}

/** A Lambda context whose remaining time counts down from `budgetMs`. */
export function lambdaContext(budgetMs = 900_000): Context {
  const deadline = Date.now() + budgetMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'lyve-replicator',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:lyve-replicator',
    memoryLimitInMB: '1024',
    awsRequestId: `request-${Math.random().toString(16).slice(2, 10)}`,
    logGroupName: '/aws/lambda/lyve-replicator',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
