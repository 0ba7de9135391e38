/**
 * The engine against the embedded S3 server (fauxqs) used by the playground: two separate
 * servers for source and target. fauxqs lacks ListParts, tagging and most content headers
 * (see test/support/embedded-s3.ts), so this covers what the playground relies on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSourceClient, createTargetClient, replicateObject, type ReplicationResult } from '../../src/index.js';
import { startEmbeddedS3, type EmbeddedS3 } from '../support/embedded-s3.js';
import { MiB, md5Hex, putMultipartObject, putObject, randomBody, readBack } from '../support/s3.js';

let sourceServer: EmbeddedS3;
let targetServer: EmbeddedS3;
let source: ReturnType<typeof createSourceClient>;
let target: ReturnType<typeof createTargetClient>;
const options = { partSize: 5 * MiB, multipartThreshold: 5 * MiB, concurrency: 4 };

beforeAll(async () => {
  sourceServer = await startEmbeddedS3({ buckets: ['src'] });
  targetServer = await startEmbeddedS3({ buckets: ['dst'] });
  source = createSourceClient({ endpoint: sourceServer.endpoint, credentials: sourceServer.credentials });
  target = createTargetClient({ endpoint: targetServer.endpoint, credentials: targetServer.credentials });
});
afterAll(async () => {
  await Promise.all([sourceServer?.stop(), targetServer?.stop()]);
});

const replicate = (key: string, extra: Parameters<typeof replicateObject>[2] = {}) =>
  replicateObject({ client: source, bucket: 'src', key }, { client: target, bucket: 'dst', key }, { ...options, ...extra });

function status(result: ReplicationResult): string {
  return result.status === 'failed' ? `failed: ${result.message}` : result.status;
}

describe('engine on the embedded server', () => {
  it.each([0, 1, 5 * MiB - 1, 5 * MiB, 5 * MiB + 1, 11 * MiB])('copies %i bytes exactly', async (size) => {
    const key = `sizes/${size}`;
    const body = randomBody(size);
    await putObject(source, 'src', key, body, { ContentType: 'application/x-size', Metadata: { size: String(size) } });
    expect(status(await replicate(key))).toBe('replicated');
    const replica = await readBack(target, 'dst', key);
    expect(replica.md5).toBe(md5Hex(body));
    expect(replica.head.ContentType).toBe('application/x-size');
    expect(replica.head.Metadata).toMatchObject({ size: String(size) });
    expect(status(await replicate(key))).toBe('skipped');
  });

  it.each(['with space', 'plus+sign', 'q?h#a&e=', 'emoji 😀', 'a//b', 'trailing ', 'folder/'])(
    'copies the awkward key %j',
    async (key) => {
      const body = key.endsWith('/') ? Buffer.alloc(0) : randomBody(100);
      await putObject(source, 'src', key, body);
      expect(status(await replicate(key))).toBe('replicated');
      expect((await readBack(target, 'dst', key)).md5).toBe(md5Hex(body));
    },
  );

  it('a request over the server\'s size limit (11 MiB here) fails for good, naming the part size', async () => {
    const key = 'sizes/over-the-request-limit';
    await putMultipartObject(source, 'src', key, 12 * MiB, 5 * MiB);
    const result = await replicate(key, { partSize: 16 * MiB, multipartThreshold: 16 * MiB });
    expect(result).toMatchObject({ status: 'failed', reason: 'target-rejected', retryable: false });
    expect(status(result)).toMatch(/as too large \(HTTP 413.*\): use a smaller part size/);
    expect(status(await replicate(key))).toBe('replicated'); // 5 MiB parts
  });

  it('starts over when a checkpoint cannot be verified (no ListParts) and still ends exact', async () => {
    const key = 'resume/no-list-parts';
    const md5 = await putMultipartObject(source, 'src', key, 3 * 5 * MiB + 9, 5 * MiB);
    let started = 0;
    const paused = await replicate(key, { concurrency: 1, shouldPause: () => started++ >= 1 });
    if (paused.status !== 'paused') throw new Error(status(paused));
    const resumed = await replicate(key, { resume: paused.checkpoint });
    expect(resumed).toMatchObject({ status: 'replicated', resumedParts: 0 });
    expect((await readBack(target, 'dst', key)).md5).toBe(md5);
  });
});
