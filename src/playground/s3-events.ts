/**
 * S3 event notifications in the shape AWS documents
 * (https://docs.aws.amazon.com/AmazonS3/latest/userguide/notification-content-structure.html),
 * for the events the playground's source bucket emits.
 */

export type S3EventName = 'ObjectCreated:Put' | 'ObjectCreated:CompleteMultipartUpload' | 'ObjectCreated:Copy' | 'ObjectRemoved:Delete';

export interface S3EventSpec {
  eventName: S3EventName;
  bucket: string;
  /** The decoded key; encoded here as S3 does. */
  key: string;
  eventTime: Date;
  size?: number;
  eTag?: string;
}

/** Notification keys are form-URL-encoded: spaces as '+', everything else percent-encoded. */
export function encodeNotificationKey(key: string): string {
  return encodeURIComponent(key).replace(/%20/g, '+');
}

let lastSequencer = 0n;

/**
 * S3's per-key ordering token: a hex string that grows with every event for a key. Here it is
 * microseconds since the epoch, strictly increasing across all keys.
 */
export function nextSequencer(now = Date.now()): string {
  const micros = BigInt(now) * 1000n;
  lastSequencer = micros > lastSequencer ? micros : lastSequencer + 1n;
  return lastSequencer.toString(16).toUpperCase().padStart(16, '0');
}

/** One notification record. */
export function s3EventRecord(spec: S3EventSpec): Record<string, unknown> {
  return {
    eventVersion: '2.1',
    eventSource: 'aws:s3',
    awsRegion: 'us-east-1',
    eventTime: spec.eventTime.toISOString(),
    eventName: spec.eventName,
    userIdentity: { principalId: 'AWS:PLAYGROUND' },
    requestParameters: { sourceIPAddress: '127.0.0.1' },
    responseElements: { 'x-amz-request-id': 'PLAYGROUND', 'x-amz-id-2': 'playground' },
    s3: {
      s3SchemaVersion: '1.0',
      configurationId: 'lyve-replicator-playground',
      bucket: { name: spec.bucket, ownerIdentity: { principalId: 'PLAYGROUND' }, arn: `arn:aws:s3:::${spec.bucket}` },
      object: {
        key: encodeNotificationKey(spec.key),
        ...(spec.size !== undefined && { size: spec.size }),
        ...(spec.eTag && { eTag: spec.eTag }),
        sequencer: nextSequencer(spec.eventTime.getTime()),
      },
    },
  };
}

/** The message body S3 sends to an SQS queue: one record per message. */
export function s3EventMessage(spec: S3EventSpec): string {
  return JSON.stringify({ Records: [s3EventRecord(spec)] });
}
