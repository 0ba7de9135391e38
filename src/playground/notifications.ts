/**
 * Bucket notifications for the playground's source server. fauxqs has none, so a Fastify
 * onResponse hook watches the S3 requests that succeeded and turns each object write or delete
 * into the S3 event notification AWS would send to the queue.
 */
import type { FauxqsApp } from './servers.js';
import { s3EventMessage, type S3EventName, type S3EventSpec } from './s3-events.js';

/** The parts of a Fastify request the hook reads. */
export interface ObservedRequest {
  method: string;
  params: unknown;
  query: unknown;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
}

export interface ObjectEvent {
  eventName: S3EventName;
  bucket: string;
  key: string;
}

/**
 * The events a successful S3 request produces, as S3 names them:
 * PUT object → Put (not UploadPart: ?partNumber&uploadId), PUT with x-amz-copy-source → Copy,
 * POST ?uploadId → CompleteMultipartUpload, DELETE object → Delete (not AbortMultipartUpload),
 * POST ?delete → one Delete per key (DeleteObjects).
 */
export function objectEvents(request: ObservedRequest, statusCode: number): ObjectEvent[] {
  if (statusCode < 200 || statusCode > 299) return [];
  const params = request.params as { bucket?: string; '*'?: string };
  const query = (request.query ?? {}) as Record<string, unknown>;
  const bucket = params.bucket;
  const key = params['*'] ?? '';
  if (!bucket) return [];
  const event = (eventName: S3EventName, k = key): ObjectEvent => ({ eventName, bucket, key: k });

  switch (request.method) {
    case 'PUT':
      if (!key || 'uploadId' in query || 'partNumber' in query) return [];
      return [event(request.headers['x-amz-copy-source'] ? 'ObjectCreated:Copy' : 'ObjectCreated:Put')];
    case 'POST':
      if (key && 'uploadId' in query) return [event('ObjectCreated:CompleteMultipartUpload')];
      if ('delete' in query) return deletedKeys(request.body).map((k) => event('ObjectRemoved:Delete', k));
      return [];
    case 'DELETE':
      return key && !('uploadId' in query) ? [event('ObjectRemoved:Delete')] : [];
    default:
      return [];
  }
}

/** The keys of a DeleteObjects request body (<Delete><Object><Key>…</Key></Object>…). */
function deletedKeys(body: unknown): string[] {
  const xml = Buffer.isBuffer(body) ? body.toString('utf8') : typeof body === 'string' ? body : '';
  return [...xml.matchAll(/<Key>([\s\S]*?)<\/Key>/g)].map((m) => unescapeXml(m[1] ?? ''));
}

function unescapeXml(text: string): string {
  const named: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (whole, entity: string) => {
    if (entity.startsWith('#x') || entity.startsWith('#X')) return String.fromCodePoint(parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(parseInt(entity.slice(1), 10));
    return named[entity.toLowerCase()] ?? whole;
  });
}

export interface NotificationOptions {
  /** The bucket whose events are sent (S3 notifications are configured per bucket). */
  bucket: string;
  /** Delivers one notification message (SendMessage to the queue). */
  send: (body: string) => Promise<void>;
  onError: (error: unknown) => void;
}

/**
 * Sends an S3 event notification for each object created or deleted in the bucket of the server
 * it is attached to. Notifications go out one at a time, in the order the requests completed.
 */
export class BucketNotifications {
  private chain: Promise<void> = Promise.resolve();
  private pendingCount = 0;

  constructor(private readonly options: NotificationOptions) {}

  /** Adds the onResponse hook to `app`; Fastify takes hooks only before the server listens. */
  attach(app: FauxqsApp): void {
    app.addHook('onResponse', async (request, reply) => {
      const events = objectEvents(request, reply.statusCode).filter((e) => e.bucket === this.options.bucket);
      const eventTime = new Date();
      for (const event of events) {
        this.pendingCount++;
        this.chain = this.chain
          .then(() => this.notify(app, event, eventTime))
          .catch(this.options.onError)
          .finally(() => this.pendingCount--);
      }
    });
  }

  /** Notifications for answered requests not sent yet. */
  get pending(): number {
    return this.pendingCount;
  }

  /** Resolves once every notification for the requests answered so far has been sent. */
  idle(): Promise<void> {
    return this.chain;
  }

  private async notify(app: FauxqsApp, event: ObjectEvent, eventTime: Date): Promise<void> {
    const spec: S3EventSpec = { ...event, eventTime };
    if (event.eventName.startsWith('ObjectCreated:')) Object.assign(spec, await describeObject(app, event.bucket, event.key));
    await this.options.send(s3EventMessage(spec));
  }
}

/** Size and ETag for a created-object event, read in-process (the object may be gone already). */
async function describeObject(app: FauxqsApp, bucket: string, key: string): Promise<{ size?: number; eTag?: string }> {
  const path = `/${encodeURIComponent(bucket)}/${key.split('/').map(encodeURIComponent).join('/')}`;
  const res = await app.inject({ method: 'HEAD', url: path });
  if (res.statusCode !== 200) return {};
  const size = Number(res.headers['content-length']);
  const eTag = String(res.headers.etag ?? '').replace(/"/g, '');
  return { ...(Number.isFinite(size) && { size }), ...(eTag && { eTag }) };
}
