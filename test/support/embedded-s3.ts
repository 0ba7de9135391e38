/**
 * In-process S3 server for fast tests and the local playground, backed by
 * fauxqs (which also emulates SQS and SNS on the same endpoint).
 *
 * Why fauxqs and what it gets wrong: see scripts/measure-embedded-s3.ts, which
 * probes every S3 call the replicator makes. In short, code under test that
 * talks to this server must not rely on: Content-MD5 verification, tagging
 * (PutObjectTagging overwrites the object, DeleteObjectTagging deletes it),
 * ListParts / ListMultipartUploads, versioning, conditional PUT, bucket
 * notifications, Cache-Control/Content-Disposition/Content-Encoding/
 * Content-Language/Expires, request bodies > 11 MiB, or ListObjectsV2 byte
 * order / pagination for keys outside [a-z0-9./-].
 */
import { buildApp } from 'fauxqs';

export interface EmbeddedS3 {
  /** e.g. "http://127.0.0.1:41234"; use with forcePathStyle: true. */
  endpoint: string;
  /** fauxqs accepts any credentials; these are what clients should sign with. */
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Closes the server and its open connections. Safe to call more than once. */
  stop(): Promise<void>;
}

/**
 * Starts an in-memory S3 (+ SQS/SNS) server on 127.0.0.1 with a random free
 * port. Each call gets a fresh, empty server, so parallel test files don't
 * share state.
 */
export async function startEmbeddedS3(options: { buckets?: string[] } = {}): Promise<EmbeddedS3> {
  // fauxqs's startFauxqs() always listens on 0.0.0.0; buildApp() is the same
  // Fastify application without the listen call, so we bind loopback ourselves.
  const app = buildApp({ logger: false });
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => (stopped ??= app.close());

  try {
    const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
    for (const bucket of options.buckets ?? []) {
      // Fastify's inject() calls the CreateBucket route in-process: no signing, no socket.
      const res = await app.inject({ method: 'PUT', url: `/${encodeURIComponent(bucket)}` });
      if (res.statusCode !== 200) {
        throw new Error(`embedded S3: creating bucket ${bucket} failed: HTTP ${res.statusCode} ${res.body}`);
      }
    }
    return { endpoint, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
