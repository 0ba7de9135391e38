import { AbortMultipartUploadCommand, CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, PutBucketVersioningCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { spawnSync } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { S3Client } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createSourceClient, createTargetClient, replicateObject, REPLICA_METADATA, TransferBudget, type MultipartCheckpoint, type ReplicationResult } from '../../src/index.js';
import { headerBytesForWire, headerFromWire, isReplicaOf, metadataBytes, objectStateFromHead, replicaMetadata } from '../../src/engine/metadata.js';
import { recordsListedSource } from '../../src/engine/compare-object.js';
import { putBody, withWholeObject } from '../../src/engine/transfer.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import {
  MiB,
  createBucket,
  md5Hex,
  openUploads,
  putMultipartObject,
  putObject,
  randomBody,
  readBack,
  readTags,
  rgwClients,
  uniqueBucket,
} from '../support/s3.js';

const { source, target } = rgwClients();
const src = uniqueBucket('engine-src');
const dst = uniqueBucket('engine-dst');
// Small parts keep the threshold cases fast; the 1 GiB case uses the defaults.
const PART = 5 * MiB;
const small = { partSize: PART, multipartThreshold: PART, concurrency: 4 };

beforeAll(async () => {
  await createBucket(source, src);
  await createBucket(target, dst);
});

function replicate(key: string, options: Parameters<typeof replicateObject>[2] = small, targetKey = key) {
  return replicateObject({ client: source, bucket: src, key }, { client: target, bucket: dst, key: targetKey }, options);
}

function expectStatus<S extends ReplicationResult['status']>(
  result: ReplicationResult,
  status: S,
): Extract<ReplicationResult, { status: S }> {
  if (result.status !== status) throw new Error(`expected ${status}, got ${JSON.stringify(result)}`);
  return result as Extract<ReplicationResult, { status: S }>;
}

/** Asserts the replica's body and every copied header equal the source's. */
async function expectExactReplica(key: string, targetKey = key, expect_: { markers?: boolean } = {}): Promise<void> {
  const [a, b] = await Promise.all([readBack(source, src, key), readBack(target, dst, targetKey)]);
  expect(b.size).toBe(a.size);
  expect(b.md5).toBe(a.md5);
  for (const header of ['ContentType', 'CacheControl', 'ContentDisposition', 'ContentEncoding', 'ContentLanguage', 'ExpiresString', 'WebsiteRedirectLocation'] as const) {
    expect(b.head[header], header).toEqual(a.head[header]);
  }
  const userMetadata = Object.fromEntries(
    Object.entries(b.head.Metadata ?? {}).filter(([k]) => !(Object.values(REPLICA_METADATA) as string[]).includes(k)),
  );
  expect(userMetadata).toEqual(a.head.Metadata ?? {});
  // Markers are left out only when the source's own metadata fills the 2 KB limit.
  expect(b.head.Metadata?.[REPLICA_METADATA.sourceEtag]).toBe(expect_.markers === false ? undefined : a.head.ETag!.replaceAll('"', ''));
  expect(await openUploads(target, dst)).toEqual([]);
}

describe('sizes around every threshold', () => {
  const sizes = [0, 1, PART - 1, PART, PART + 1, 2 * PART, 2 * PART + 1, 3 * PART - 1];
  it.each(sizes)('%i bytes', async (size) => {
    const key = `sizes/${size}.bin`;
    await putObject(source, src, key, randomBody(size), { ContentType: 'application/x-test' });
    const result = expectStatus(await replicate(key), 'replicated');
    expect(result.bytes).toBe(size);
    expect(result.method).toBe(size > PART ? 'multipart' : 'single-put');
    expect(result.parts).toBe(size > PART ? Math.ceil(size / PART) : 1);
    await expectExactReplica(key);
  });
});

describe('content and headers', () => {
  it('keeps the website redirect location', async () => {
    const key = 'headers/redirect.html';
    await putObject(source, src, key, Buffer.from('moved'), { WebsiteRedirectLocation: '/new/place.html' });
    expectStatus(await replicate(key), 'replicated');
    await expectExactReplica(key);
    expect((await target.send(new HeadObjectCommand({ Bucket: dst, Key: key }))).WebsiteRedirectLocation).toBe('/new/place.html');
  });

  it('keeps every content header, raw Expires and user metadata exactly', async () => {
    const key = 'headers/all.txt';
    await putObject(source, src, key, Buffer.from('hello headers'), {
      ContentType: 'text/plain; charset=utf-8',
      CacheControl: 'max-age=60, must-revalidate',
      ContentDisposition: 'attachment; filename="a b.txt"',
      ContentEncoding: 'identity',
      ContentLanguage: 'de-CH',
      Expires: new Date('2031-10-21T07:28:00Z'),
      Metadata: { alpha: 'one', 'with-space': 'a  b c', empty: '', digits: '0123' },
    });
    expectStatus(await replicate(key), 'replicated');
    const { head } = await readBack(target, dst, key);
    expect(head.ContentType).toBe('text/plain; charset=utf-8');
    expect(head.ContentDisposition).toBe('attachment; filename="a b.txt"');
    expect(head.ExpiresString).toBe('Tue, 21 Oct 2031 07:28:00 GMT');
    expect(head.Metadata).toMatchObject({ alpha: 'one', 'with-space': 'a  b c', digits: '0123' });
    await expectExactReplica(key);
  });

  it('keeps headers on multipart objects and copies a source that was itself multipart-uploaded', async () => {
    const key = 'headers/multipart-source.bin';
    const md5 = await putMultipartObject(source, src, key, 12 * MiB + 3, 6 * MiB, {
      ContentType: 'video/mp4',
      Metadata: { origin: 'camera-7' },
    });
    const result = expectStatus(await replicate(key), 'replicated');
    expect(result.method).toBe('multipart');
    expect(result.sourceEtag).toMatch(/-3$/);
    const replica = await readBack(target, dst, key);
    expect(replica.md5).toBe(md5);
    // The target's ETag is the MD5 of our part MD5s: checked by the engine, checked here again.
    expect(result.targetEtag).toBe(replica.head.ETag!.replaceAll('"', ''));
    expect(result.targetEtag).toMatch(/^[0-9a-f]{32}-3$/);
    await expectExactReplica(key);
  });

  /** A PUT whose headers go as other tools send them: raw UTF-8, or an empty Content-Type. */
  async function putWithRawHeaders(key: string, body: Buffer, extra: { Metadata?: Record<string, string>; ContentDisposition?: string; emptyContentType?: boolean; emptyExpires?: boolean }) {
    const command = new PutObjectCommand({ Bucket: src, Key: key, Body: body, Metadata: extra.Metadata });
    command.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers: Record<string, string> };
        if (extra.emptyContentType) request.headers['content-type'] = '';
        if (extra.emptyExpires) request.headers.expires = '';
        delete request.headers.Expect; // sent ahead for 100-continue, Node writes headers as UTF-8
        return next(args);
      },
      { step: 'build', priority: 'low' },
    );
    command.middlewareStack.add(
      (next) => (args) => {
        const request = args.request as { headers: Record<string, string> };
        // After signing: RGW refuses a signed non-ASCII Content-Disposition.
        if (extra.ContentDisposition) request.headers['content-disposition'] = extra.ContentDisposition;
        for (const [name, value] of Object.entries(request.headers)) request.headers[name] = headerBytesForWire(value);
        return next(args);
      },
      { step: 'deserialize' },
    );
    await source.send(command);
  }

  it.each([
    ['one PUT', 3 * MiB],
    ['multipart', PART + 1],
  ])('keeps non-ASCII header values stored as raw UTF-8, and metadata named like ours (%s)', async (_name, size) => {
    const key = `headers/utf8-${size}.bin`;
    // RGW 16 itself re-encodes a non-ASCII Content-Disposition given to CreateMultipartUpload.
    const disposition = size < PART ? 'attachment; filename="résumé.pdf"' : undefined;
    await putWithRawHeaders(key, randomBody(size), {
      Metadata: { note: 'café ☕ naïve', 'lyve-replicator-note': 'the source’s own' },
      ...(disposition && { ContentDisposition: disposition }),
    });
    expectStatus(await replicate(key), 'replicated');
    const { head } = await readBack(target, dst, key);
    expect(headerFromWire(head.Metadata!.note!)).toBe('café ☕ naïve');
    expect(headerFromWire(head.Metadata!['lyve-replicator-note']!)).toBe('the source’s own');
    if (disposition) expect(headerFromWire(head.ContentDisposition!)).toBe(disposition);
    await expectExactReplica(key);
    expect(expectStatus(await replicate(key), 'skipped').reason).toBe('identical');
  });

  it.each([
    ['one PUT', 1000],
    ['multipart', PART + 1],
  ])('keeps an empty Content-Type empty (%s)', async (_name, size) => {
    const key = `headers/empty-type-${size}.bin`;
    await putWithRawHeaders(key, randomBody(size), { emptyContentType: true });
    const { head: original } = await readBack(source, src, key);
    expectStatus(await replicate(key), 'replicated');
    const { head } = await readBack(target, dst, key);
    expect(head.ContentType ?? '').toBe(original.ContentType ?? '');
    await expectExactReplica(key);
  });

  it.each([
    ['one PUT', 1000],
    ['multipart', PART + 1],
  ])('copies a source stored with an empty Expires (which the SDK alone cannot read) (%s)', async (_name, size) => {
    const key = `headers/empty-expires-${size}.bin`;
    await putWithRawHeaders(key, randomBody(size), { emptyExpires: true });
    const { head: original } = await readBack(source, src, key);
    expect(original.ExpiresString).toBe('');
    expectStatus(await replicate(key), 'replicated');
    await expectExactReplica(key);
    expect(expectStatus(await replicate(key), 'skipped').reason).toBe('identical');
  });

  it('never copies the storage class or encryption settings', async () => {
    const key = 'headers/storage-class.bin';
    await putObject(source, src, key, randomBody(1000), { StorageClass: 'STANDARD' });
    expectStatus(await replicate(key), 'replicated');
    const { head } = await readBack(target, dst, key);
    expect(head.ServerSideEncryption).toBeUndefined();
  });

  it('copies tags when asked, and updates them when only the tags changed', async () => {
    const key = 'tags/tagged.bin';
    await putObject(source, src, key, randomBody(2048), { Tagging: 'team=data&class=gold%20star' });
    const first = expectStatus(await replicate(key, { ...small, copyTags: true }), 'replicated');
    expect(first.tags).toBe('copied');
    expect(await readTags(target, dst, key)).toEqual({ team: 'data', class: 'gold star' });

    const { PutObjectTaggingCommand } = await import('@aws-sdk/client-s3');
    await source.send(
      new PutObjectTaggingCommand({ Bucket: src, Key: key, Tagging: { TagSet: [{ Key: 'team', Value: 'ops' }] } }),
    );
    // S3 keeps the object as it was (skipped, tags copied); RGW also bumps its modification time
    // (copied again). Either way the replica's tags follow.
    const second = await replicate(key, { ...small, copyTags: true });
    expect(second).toMatchObject({ tags: 'copied' });
    expect(await readTags(target, dst, key)).toEqual({ team: 'ops' });

    const third = expectStatus(await replicate(key, { ...small, copyTags: true }), 'skipped');
    expect(third.tags).toBe('unchanged');
  });

  it('writes no tags unless asked', async () => {
    const key = 'tags/not-asked.bin';
    await putObject(source, src, key, randomBody(10), { Tagging: 'a=b' });
    expect(expectStatus(await replicate(key), 'replicated').tags).toBe('not-requested');
    expect(await readTags(target, dst, key)).toEqual({});
  });
});

describe('awkward keys', () => {
  const keys = [
    'folder/',
    'with space.txt',
    'plus+sign.txt',
    'percent%20literal.txt',
    'question?mark.txt',
    'hash#tag.txt',
    'amp&er=sand.txt',
    'emoji-😀-🚀.txt',
    'double//slash.txt',
    'trailing space ',
    'ünïcödé/日本語/файл.txt',
    '~tilde!(parens)*star\'quote',
    `long/${'k'.repeat(1024 - 'long/'.length)}`,
    `long-utf8/${'é'.repeat((1024 - 'long-utf8/'.length) / 2)}`,
  ];
  it.each(keys)('replicates %j', async (key) => {
    expect(Buffer.byteLength(key)).toBeLessThanOrEqual(1024);
    const body = key.endsWith('/') ? Buffer.alloc(0) : randomBody(1234);
    await putObject(source, src, key, body);
    expectStatus(await replicate(key), 'replicated');
    await expectExactReplica(key);
    expectStatus(await replicate(key), 'skipped');
  });

  it('replicates an awkward key as multipart, to a different target key', async () => {
    const key = 'multi part/+?#&=😀 ';
    const md5 = await putMultipartObject(source, src, key, 11 * MiB, 5 * MiB);
    expectStatus(await replicate(key, small, `prefix/${key}`), 'replicated');
    expect((await readBack(target, dst, `prefix/${key}`)).md5).toBe(md5);
  });

  it('refuses a key over 1,024 bytes with a clear reason', async () => {
    const result = expectStatus(await replicate('x'.repeat(1025)), 'failed');
    expect(result.reason).toBe('invalid-request');
    expect(result.message).toContain('1025 bytes');
    expect(result.retryable).toBe(false);
  });
});

describe('skips, deletes and missing objects', () => {
  it('skips an object the target already holds, and copies it again once it changes', async () => {
    const key = 'skip/object.bin';
    await putObject(source, src, key, randomBody(3000));
    expectStatus(await replicate(key), 'replicated');
    expect(expectStatus(await replicate(key), 'skipped').reason).toBe('identical');
    await putObject(source, src, key, randomBody(3000));
    expectStatus(await replicate(key), 'replicated');
    await expectExactReplica(key);
  });

  it('reports a missing source as skipped, and deletes the replica only when asked', async () => {
    const key = 'missing/object.bin';
    await putObject(source, src, key, randomBody(10));
    expectStatus(await replicate(key), 'replicated');
    await source.send(new DeleteObjectCommand({ Bucket: src, Key: key }));
    expect(expectStatus(await replicate(key), 'skipped').reason).toBe('source-missing');
    await readBack(target, dst, key); // still there
    expectStatus(await replicate(key, { ...small, deleteWhenSourceMissing: true }), 'deleted');
    await expect(target.send(new HeadObjectCommand({ Bucket: dst, Key: key }))).rejects.toMatchObject({
      $metadata: { httpStatusCode: 404 },
    });
    expect(expectStatus(await replicate(key, { ...small, deleteWhenSourceMissing: true }), 'skipped').reason).toBe(
      'source-missing',
    );
  });

  it('copies a metadata-only change made right after the copy (same ETag, same second)', async () => {
    const key = 'skip/metadata-only.txt';
    await putObject(source, src, key, Buffer.from('same bytes'), { ContentType: 'text/plain', Metadata: { v: '1' } });
    expectStatus(await replicate(key), 'replicated');
    await source.send(
      new CopyObjectCommand({
        Bucket: src,
        Key: key,
        CopySource: `${src}/${key}`,
        MetadataDirective: 'REPLACE',
        ContentType: 'application/json',
        CacheControl: 'no-store',
        Metadata: { v: '2' },
      }),
    );
    expectStatus(await replicate(key), 'replicated');
    await expectExactReplica(key);
    expect(expectStatus(await replicate(key), 'skipped').reason).toBe('identical');
  });

  it('copies again a replica whose body was changed on the target with its markers kept', async () => {
    const key = 'skip/tampered-body.bin';
    const body = randomBody(4000);
    await putObject(source, src, key, body);
    expectStatus(await replicate(key), 'replicated');
    const replica = await target.send(new HeadObjectCommand({ Bucket: dst, Key: key }));
    const tampered = Buffer.from(body);
    tampered[100] = tampered[100]! ^ 0xff;
    await putObject(target, dst, key, tampered, { Metadata: replica.Metadata, ContentType: replica.ContentType });
    expectStatus(await replicate(key), 'replicated');
    await expectExactReplica(key);
  });

  it('copies again a replica whose headers were changed on the target with its markers kept', async () => {
    const key = 'skip/tampered-headers.bin';
    await putObject(source, src, key, randomBody(PART + 1000), { CacheControl: 'max-age=60', Metadata: { owner: 'web' } });
    expectStatus(await replicate(key), 'replicated');
    const replica = await target.send(new HeadObjectCommand({ Bucket: dst, Key: key }));
    // As `aws s3 cp s3://t/k s3://t/k --metadata-directive REPLACE --cache-control no-store` with the metadata kept.
    await target.send(
      new CopyObjectCommand({
        Bucket: dst,
        Key: key,
        CopySource: `${dst}/${key}`,
        MetadataDirective: 'REPLACE',
        ContentType: replica.ContentType,
        CacheControl: 'no-store',
        Metadata: replica.Metadata,
      }),
    );
    expectStatus(await replicate(key), 'replicated');
    await expectExactReplica(key);
  });

  it('a listed source is recorded by a replica only while the replica keeps the headers it was written with', async () => {
    const key = 'skip/listed-then-tampered.bin';
    const body = randomBody(1000);
    // A replica written well after its source last changed (two minutes, beyond the clocks' allowance).
    const sourceState = objectStateFromHead({ ETag: `"${md5Hex(body)}"`, ContentLength: body.length, LastModified: new Date(Date.now() - 120_000), CacheControl: 'max-age=60', ContentType: 'text/plain' });
    const metadata = replicaMetadata(sourceState, { sourceBucket: src });
    await putObject(target, dst, key, body, { CacheControl: 'max-age=60', ContentType: 'text/plain', Metadata: metadata });
    const listed = { key, size: body.length, etag: sourceState.etag, lastModified: sourceState.lastModified! };
    const replica = { client: target, bucket: dst, key };
    expect(await recordsListedSource(replica, listed, src)).toBe(true);
    await target.send(
      new CopyObjectCommand({ Bucket: dst, Key: key, CopySource: `${dst}/${key}`, MetadataDirective: 'REPLACE', ContentType: 'text/plain', CacheControl: 'no-store', Metadata: metadata }),
    );
    expect(await recordsListedSource(replica, listed, src)).toBe(false);
  });

  it('copies an object in parts whose own metadata leaves no room for any marker, and copies it again while its time cannot tell', async () => {
    const key = 'skip/full-metadata-multipart.bin';
    await putObject(source, src, key, randomBody(PART + 1000), { Metadata: { m: 'x'.repeat(1995) } });
    expectStatus(await replicate(key), 'replicated');
    await expectExactReplica(key, key, { markers: false });
    // Its ETag (parts) cannot match the source's (one PUT), and written within a minute of the
    // source's write it may be of an older body written in the same second: copied again. (Written
    // a minute later it is current: test/engine/metadata.test.ts.)
    expectStatus(await replicate(key), 'replicated');
    await expectExactReplica(key, key, { markers: false });
  });

  it('keeps the user metadata whole when it leaves no room for every marker under 2 KB', async () => {
    const key = 'skip/full-metadata.bin';
    const metadata = { a: 'x'.repeat(1000), b: 'y'.repeat(950) };
    await putObject(source, src, key, randomBody(100), { Metadata: metadata });
    expectStatus(await replicate(key), 'replicated');
    await expectExactReplica(key);
    const replica = await target.send(new HeadObjectCommand({ Bucket: dst, Key: key }));
    expect(metadataBytes(replica.Metadata ?? {})).toBeLessThanOrEqual(2048);
    expect(expectStatus(await replicate(key), 'skipped').reason).toBe('identical');
  });

  it('never deletes a replica that records another source bucket', async () => {
    const other = uniqueBucket('engine-src2');
    await createBucket(source, other);
    const key = 'shared/k.txt';
    await putObject(source, other, key, Buffer.from('from the other bucket'));
    expectStatus(await replicateObject({ client: source, bucket: other, key }, { client: target, bucket: dst, key }, small), 'replicated');
    const result = await replicate(key, { ...small, deleteWhenSourceMissing: true });
    expect(expectStatus(result, 'skipped').reason).toBe('source-missing');
    expect((await readBack(target, dst, key)).size).toBe(21);
    // sync --delete mirrors a prefix: there it goes.
    expectStatus(await replicate(key, { ...small, deleteWhenSourceMissing: 'any' }), 'deleted');
  });

  it('refuses a key with a NUL character by name', async () => {
    const result = expectStatus(await replicate('nul/a\u0000b'), 'failed');
    expect(result).toMatchObject({ reason: 'invalid-request', retryable: false });
    expect(result.message).toContain('source key contains a NUL character');
  });

  it('reports bad part size and concurrency options as failed results', async () => {
    for (const options of [{ partSize: 0 }, { partSize: Number.NaN }, { concurrency: 0 }, { concurrency: 1.5 }]) {
      const result = expectStatus(await replicate('skip/any', options), 'failed');
      expect(result.reason).toBe('invalid-request');
      expect(result.retryable).toBe(false);
    }
  });
});

/**
 * A client (source, or target) through a proxy in front of RGW that lets `alter` change the
 * headers of each reply (`index` counts requests), e.g. a HEAD that reports the wrong size once.
 */
async function headerAlteringSource(
  alter: (request: { method: string; url: string; index: number }, headers: Record<string, string | string[] | undefined>) => void,
  side: 'source' | 'target' = 'source',
): Promise<{ client: S3Client; close: () => Promise<void> }> {
  const upstream = new URL(rgwClients().endpoint);
  let index = 0;
  const server = createServer((req, res) => {
    const request = { method: req.method ?? 'GET', url: req.url ?? '/', index: index++ };
    const forward = httpRequest({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
      const headers = { ...answer.headers };
      alter(request, headers);
      res.writeHead(answer.statusCode ?? 502, headers);
      answer.pipe(res);
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = side === 'source' ? createSourceClient({ endpoint, credentials: inject('rgw').source }) : createTargetClient({ endpoint, credentials: inject('rgw').target });
  return { client, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('a target that encrypts with SSE-KMS (its ETags are not MD5s)', () => {
  it('copies and skips without comparing ETags with MD5s, single PUT and multipart alike', async () => {
    const keys = { 'kms/small.bin': randomBody(3000), 'kms/large.bin': randomBody(2 * PART + 9) };
    for (const [key, body] of Object.entries(keys)) await putObject(source, src, key, body);
    // What AWS answers for a bucket whose default encryption is SSE-KMS.
    const proxy = await headerAlteringSource((request, headers) => {
      if (!request.url.includes('/kms/')) return;
      headers['x-amz-server-side-encryption'] = 'aws:kms';
      // ETags that are no MD5s: of single PUTs and of the objects HEAD reports (the parts keep
      // theirs, which Complete must be given back).
      const part = /[?&]uploadId=/.test(request.url);
      if ((request.method === 'PUT' && !part) || request.method === 'HEAD') {
        if (headers.etag) headers.etag = `"${randomBody(16).toString('hex')}"`;
      }
    }, 'target');
    try {
      for (const key of Object.keys(keys)) {
        const copy = () => replicateObject({ client: source, bucket: src, key }, { client: proxy.client, bucket: dst, key }, small);
        expectStatus(await copy(), 'replicated');
        await expectExactReplica(key);
        expect(expectStatus(await copy(), 'skipped').reason).toBe('identical');
      }
    } finally {
      await proxy.close();
    }
  });
});

describe('replies that misdescribe the source', () => {
  /** Copies `key` through a source proxy whose replies `alter` changes, without re-reading the source after: one restart, exact. */
  async function copiesExactlyAfterOneRestart(key: string, alter: Parameters<typeof headerAlteringSource>[0]): Promise<void> {
    const proxy = await headerAlteringSource(alter);
    try {
      const result = await replicateObject({ client: proxy.client, bucket: src, key }, { client: target, bucket: dst, key }, { ...small, recheckSource: false });
      expect(expectStatus(result, 'replicated').restarts).toBe(1);
      await expectExactReplica(key);
    } finally {
      await proxy.close();
    }
  }

  it('a HEAD reporting a short size once: the ranged reads name the real size, and the copy starts over', async () => {
    const key = 'misdescribed/short-head.bin';
    await putMultipartObject(source, src, key, 3 * PART + 7, 2 * PART);
    let lied = false;
    await copiesExactlyAfterOneRestart(key, (request, headers) => {
      if (request.method === 'HEAD' && request.url.includes('short-head') && !lied) {
        lied = true;
        headers['content-length'] = String(3 * PART + 6);
      }
    });
  });

  it('a part read without the metadata once: the copy starts over instead of writing it stripped', async () => {
    const key = 'misdescribed/stripped-get.bin';
    await putObject(source, src, key, randomBody(2 * PART + 3), { ContentType: 'application/x-kept', Metadata: { owner: 'ops' } });
    let stripped = false;
    await copiesExactlyAfterOneRestart(key, (request, headers) => {
      if (request.method === 'GET' && request.url.includes('stripped-get') && !stripped) {
        stripped = true;
        for (const name of Object.keys(headers)) if (name.startsWith('x-amz-meta-')) delete headers[name];
        headers['content-type'] = 'binary/octet-stream';
      }
    });
  });

  it('an upload aborted by someone else mid-copy is started over, not reported as a refusal', async () => {
    const key = 'misdescribed/aborted-upload.bin';
    await putMultipartObject(source, src, key, 4 * PART, PART);
    let aborted = false;
    const result = await replicate(key, {
      ...small,
      concurrency: 1,
      onCheckpoint: async (checkpoint) => {
        if (aborted || checkpoint.parts.length !== 1) return;
        aborted = true;
        await target.send(new AbortMultipartUploadCommand({ Bucket: dst, Key: key, UploadId: checkpoint.uploadId }));
      },
    });
    expect(expectStatus(result, 'replicated').restarts).toBe(1);
    await expectExactReplica(key);
  });
});

describe('consistency while the source changes', () => {
  it('a copy whose replica is replaced, before its check, by another copy of the same source in as many parts of another size succeeds', async () => {
    const key = 'consistency/same-count-other-layout.bin';
    const body = randomBody(14 * MiB); // 5+5+4 MiB and 6+6+2 MiB: three parts either way
    await putObject(source, src, key, body);
    const gated = createTargetClient({ endpoint: inject('rgw').endpoint, credentials: inject('rgw').target });
    let other: ReplicationResult | undefined;
    gated.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (context.commandName === 'CompleteMultipartUploadCommand' && !other) {
          // Right after ours completes, the other copy writes and completes in its turn.
          other = await replicate(key, { partSize: 6 * MiB, concurrency: 2, targetKnownMissing: true });
        }
        return result;
      },
      { step: 'initialize', name: 'otherCopyAfterComplete' },
    );
    const ours = await replicateObject({ client: source, bucket: src, key }, { client: gated, bucket: dst, key }, { partSize: 5 * MiB, concurrency: 2 });
    expect(expectStatus(other!, 'replicated').parts).toBe(3);
    expect(expectStatus(ours, 'replicated').parts).toBe(3);
    expect((await readBack(target, dst, key)).md5).toBe(md5Hex(body));
    await expectExactReplica(key);
  });

  it('two copies of one unchanged object in parts of different sizes both succeed, and the key keeps a replica', async () => {
    for (let i = 0; i < 4; i++) {
      const key = `consistency/two-layouts-${i}.bin`;
      const body = randomBody(3 * PART + 7);
      await putObject(source, src, key, body);
      const results = await Promise.all([
        replicate(key, { partSize: PART, concurrency: 2 }),
        replicate(key, { partSize: 6 * MiB, concurrency: 2 }),
        replicate(key, { partSize: 16 * MiB }), // one PUT
      ]);
      // (One that finds another's replica complete before it writes skips it as identical.)
      for (const result of results) expect(['replicated', 'skipped'], JSON.stringify(result)).toContain(result.status);
      expect((await readBack(target, dst, key)).md5).toBe(md5Hex(body));
      await expectExactReplica(key);
    }
  });

  it('restarts when the source is overwritten mid-copy and never stitches two versions', async () => {
    const key = 'changing/overwritten.bin';
    await putMultipartObject(source, src, key, 4 * PART, PART);
    const replacement = randomBody(3 * PART + 7);
    let overwritten = false;
    const result = await replicate(key, {
      ...small,
      concurrency: 1,
      onProgress: () => {
        if (overwritten) return;
        overwritten = true;
        // Overwrite after the first part landed; the next ranged GET must fail its If-Match.
        void putObject(source, src, key, replacement);
      },
    });
    const replicated = expectStatus(result, 'replicated');
    expect(replicated.restarts).toBeGreaterThanOrEqual(1);
    expect((await readBack(target, dst, key)).md5).toBe(md5Hex(replacement));
    await expectExactReplica(key);
  });

  it('reports a source deleted mid-copy as skipped and leaves no upload behind', async () => {
    const key = 'changing/deleted.bin';
    await putMultipartObject(source, src, key, 3 * PART, PART);
    let deleted = false;
    const result = await replicate(key, {
      ...small,
      concurrency: 1,
      onProgress: () => {
        if (deleted) return;
        deleted = true;
        void source.send(new DeleteObjectCommand({ Bucket: src, Key: key }));
      },
    });
    expect(expectStatus(result, 'skipped').reason).toBe('source-missing');
    expect(await openUploads(target, dst)).toEqual([]);
  });

  it('pins the version on a versioned source and converges to the newest version', async () => {
    const versioned = await createBucket(source, uniqueBucket('engine-ver'));
    await source.send(
      new PutBucketVersioningCommand({ Bucket: versioned, VersioningConfiguration: { Status: 'Enabled' } }),
    );
    const key = 'versioned.bin';
    await putMultipartObject(source, versioned, key, 3 * PART, PART);
    const v2 = randomBody(2 * PART + 1);
    let written = false;
    const result = await replicateObject(
      { client: source, bucket: versioned, key },
      { client: target, bucket: dst, key: 'versioned.bin' },
      {
        ...small,
        concurrency: 1,
        onProgress: () => {
          if (written) return;
          written = true;
          void putObject(source, versioned, key, v2);
        },
      },
    );
    const replicated = expectStatus(result, 'replicated');
    expect(replicated.sourceVersionId).toBeTruthy();
    const replica = await readBack(target, dst, 'versioned.bin');
    expect(replica.md5).toBe(md5Hex(v2));
    expect(replica.head.Metadata?.[REPLICA_METADATA.sourceVersionId]).toBe(replicated.sourceVersionId);

    // A version that no longer exists never deletes the replica of a key that still does.
    const { VersionId: old } = await source.send(new PutObjectCommand({ Bucket: versioned, Key: key, Body: randomBody(10) }));
    await putObject(source, versioned, key, randomBody(20));
    await source.send(new DeleteObjectCommand({ Bucket: versioned, Key: key, VersionId: old }));
    const gone = await replicateObject({ client: source, bucket: versioned, key, versionId: old! }, { client: target, bucket: dst, key: 'versioned.bin' }, { ...small, deleteWhenSourceMissing: 'any' });
    expect(expectStatus(gone, 'skipped').reason).toBe('source-missing');
    await target.send(new HeadObjectCommand({ Bucket: dst, Key: 'versioned.bin' }));
  });
});

describe('source hints from listings and events', () => {
  it('copies a small object from its hint, and falls back to the current state when the hint is stale', async () => {
    const key = 'hints/object.bin';
    const v1 = randomBody(777);
    await putObject(source, src, key, v1, { ContentType: 'text/x-v1', Metadata: { v: '1' } });
    const hint = { etag: md5Hex(v1), size: v1.length };
    const first = expectStatus(await replicate(key, { ...small, sourceHint: hint, targetKnownMissing: true }), 'replicated');
    expect(first.sourceEtag).toBe(md5Hex(v1));
    await expectExactReplica(key);

    const v2 = randomBody(999);
    await putObject(source, src, key, v2, { ContentType: 'text/x-v2' });
    // The stale hint (v1) fails its If-Match: the engine reads what the source is now.
    expectStatus(await replicate(key, { ...small, sourceHint: hint }), 'replicated');
    expect((await readBack(target, dst, key)).md5).toBe(md5Hex(v2));
    await expectExactReplica(key);
    expect(expectStatus(await replicate(key, { ...small, sourceHint: { etag: md5Hex(v2), size: v2.length } }), 'skipped').reason).toBe('identical');
  });
});

describe('sources whose ETag is their MD5', () => {
  it('sends the ETag of a single-part source as Content-MD5, from a HEAD or from a hint', async () => {
    const key = 'known-md5/object.bin';
    const body = randomBody(PART - 7);
    await putObject(source, src, key, body, { ContentType: 'application/x-known' });
    const result = expectStatus(await replicate(key), 'replicated');
    expect(result).toMatchObject({ method: 'single-put', parts: 1, sourceEtag: md5Hex(body), targetEtag: md5Hex(body) });
    await expectExactReplica(key);

    await target.send(new DeleteObjectCommand({ Bucket: dst, Key: key }));
    const hinted = expectStatus(await replicate(key, { ...small, sourceHint: { etag: md5Hex(body), size: body.length } }), 'replicated');
    expect(hinted).toMatchObject({ method: 'single-put', targetEtag: md5Hex(body) });
    await expectExactReplica(key);
  });

  it('falls back to hashing what it read when the target refuses the ETag as the body MD5', async () => {
    const key = 'known-md5/bad-digest.bin';
    const body = randomBody(2 * MiB + 3);
    await putObject(source, src, key, body);
    const head = await source.send(new HeadObjectCommand({ Bucket: src, Key: key }));
    const pinned = { client: source, bucket: src, key, state: objectStateFromHead(head) };
    const dest = { client: target, bucket: dst, key };
    const ctx = { budget: new TransferBudget({ maxRequests: 2, maxBytes: 8 * MiB }), concurrency: 2, signal: new AbortController().signal };
    const reads: boolean[] = [];
    const written = await withWholeObject(pinned, ctx, async (read) => {
      reads.push(read.md5FromEtag);
      // The first attempt sends what an ETag that is not an MD5 (an unannounced encryption) would.
      return putBody(reads.length === 1 ? { ...read, md5: Buffer.alloc(16, 7) } : read, dest, ctx);
    });
    expect(reads).toEqual([true, false]);
    expect(written).toMatchObject({ method: 'single-put', expectedEtag: md5Hex(body), etagVerified: true });
    expect((await readBack(target, dst, key)).md5).toBe(md5Hex(body));
  });

  it('a source whose ETag looks like an MD5 but is not the body’s: the replica records the body MD5 and is skipped next time', async () => {
    const key = 'known-md5/not-md5-etag.bin';
    const body = randomBody(3000);
    await putObject(source, src, key, body);
    const state = objectStateFromHead(await source.send(new HeadObjectCommand({ Bucket: src, Key: key })));
    // As such a server reports it: 32 hex digits, no encryption, not the MD5 of the body.
    const claimed = { ...state, etag: 'f'.repeat(32) };
    const ctx = { budget: new TransferBudget({ maxRequests: 2, maxBytes: 8 * MiB }), concurrency: 2, signal: new AbortController().signal };
    const read = { body, md5: Buffer.from(md5Hex(body), 'hex'), md5FromEtag: false, etagIsBodyMd5: false, state: claimed };
    await putBody(read, { client: target, bucket: dst, key }, ctx);
    const replica = objectStateFromHead(await target.send(new HeadObjectCommand({ Bucket: dst, Key: key })));
    expect(replica.headers.metadata[REPLICA_METADATA.bodyMd5]).toBe(md5Hex(body));
    expect(isReplicaOf(replica, claimed)).toBe(true);
    const { [REPLICA_METADATA.bodyMd5]: _, ...withoutBodyMd5 } = replica.headers.metadata;
    expect(isReplicaOf({ ...replica, headers: { ...replica.headers, metadata: withoutBodyMd5 } }, claimed)).toBe(false);
  });

  describe('bytes damaged on the way from the source', () => {
    /** A proxy in front of RGW that flips one byte in the bodies of the first `damaged` GETs (`onGet` sees each GET first). */
    async function damagingProxy(damaged: number, onGet?: (n: number) => Promise<void>): Promise<{ client: S3Client; close: () => Promise<void> }> {
      const upstream = new URL(rgwClients().endpoint);
      let gets = 0;
      const server = createServer(async (req, res) => {
        const n = req.method === 'GET' ? ++gets : 0;
        if (n) await onGet?.(n);
        const damage = n > 0 && n <= damaged;
        const forward = httpRequest(
          { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers },
          (answer) => {
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            let first = damage;
            answer.on('data', (chunk: Buffer) => {
              if (first && chunk.length > 0) {
                chunk[0] = chunk[0]! ^ 0xff;
                first = false;
              }
              res.write(chunk);
            });
            answer.on('end', () => res.end());
          },
        );
        req.pipe(forward);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      const client = createSourceClient({ endpoint: `http://127.0.0.1:${port}`, credentials: inject('rgw').source });
      return { client, close: () => new Promise((resolve) => server.close(() => resolve())) };
    }

    it('a pause raised while parts are read again after a mismatch with the ETag fails the copy, completing nothing', async () => {
      const key = 'damaged/paused-reread.bin';
      await putObject(source, src, key, randomBody(3 * PART + 11)); // one PUT: its ETag is its MD5
      const pause = new AbortController();
      // GETs 1–4 read the parts (the first damaged); GET 5 is the first read again: the deadline comes then.
      const proxy = await damagingProxy(1, async (n) => {
        if (n === 5) {
          pause.abort();
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      });
      try {
        const failed = expectStatus(await replicateObject({ client: proxy.client, bucket: src, key }, { client: target, bucket: dst, key }, { ...small, pauseSignal: pause.signal }), 'failed');
        expect(failed).toMatchObject({ reason: 'integrity', retryable: true });
      } finally {
        await proxy.close();
      }
      expect(await openUploads(target, dst)).toEqual([]);
      await expect(readBack(target, dst, key)).rejects.toThrow();
    });

    it('a damaged read is refused by the target (the ETag went as Content-MD5) and read again', async () => {
      const key = 'damaged/once.bin';
      const body = randomBody(3000);
      await putObject(source, src, key, body);
      const proxy = await damagingProxy(1);
      try {
        expectStatus(await replicateObject({ client: proxy.client, bucket: src, key }, { client: target, bucket: dst, key }, small), 'replicated');
      } finally {
        await proxy.close();
      }
      expect((await readBack(target, dst, key)).md5).toBe(md5Hex(body));
    });

    it('a damaged part of an object whose ETag is its MD5 fails the copy before it completes; the next try is exact', async () => {
      const key = 'damaged/parts.bin';
      const body = randomBody(3 * PART + 11);
      await putObject(source, src, key, body); // one PUT: its ETag is its MD5
      const proxy = await damagingProxy(1);
      try {
        const first = await replicateObject({ client: proxy.client, bucket: src, key }, { client: target, bucket: dst, key }, small);
        expect(expectStatus(first, 'failed')).toMatchObject({ reason: 'integrity', retryable: true });
        expect(first.status === 'failed' && first.message).toMatch(/parts? [0-9, ]+ read differently a second time/);
        await expect(target.send(new HeadObjectCommand({ Bucket: dst, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
        expect(await openUploads(target, dst)).toEqual([]);
        expectStatus(await replicateObject({ client: proxy.client, bucket: src, key }, { client: target, bucket: dst, key }, small), 'replicated');
      } finally {
        await proxy.close();
      }
      await expectExactReplica(key);
    });

    it('reads that keep disagreeing fail the copy and write nothing', async () => {
      const key = 'damaged/twice.bin';
      await putObject(source, src, key, randomBody(3000));
      const proxy = await damagingProxy(2);
      let result: ReplicationResult;
      try {
        result = await replicateObject({ client: proxy.client, bucket: src, key }, { client: target, bucket: dst, key }, small);
      } finally {
        await proxy.close();
      }
      expect(expectStatus(result, 'failed')).toMatchObject({ reason: 'integrity', retryable: true });
      expect(result.status === 'failed' && result.message).toContain('returned different bytes on each read');
      await expect(target.send(new HeadObjectCommand({ Bucket: dst, Key: key }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
    });
  });
});

describe('multipart uploads are never left behind', () => {
  it('pauses with a checkpoint and resumes, reusing the parts already uploaded', async () => {
    const key = 'resume/object.bin';
    const md5 = await putMultipartObject(source, src, key, 5 * PART + 11, 2 * PART);
    let started = 0;
    const paused = expectStatus(
      await replicate(key, { ...small, concurrency: 1, shouldPause: () => started++ >= 2 }),
      'paused',
    );
    expect(paused.checkpoint.parts.map((p) => p.partNumber)).toEqual([1, 2]);
    expect(paused.bytesDone).toBe(2 * PART);
    expect(await openUploads(target, dst)).toEqual([key]);
    // The checkpoint survives a trip through JSON (a file or a queue message).
    const checkpoint = JSON.parse(JSON.stringify(paused.checkpoint));
    const resumed = expectStatus(await replicate(key, { ...small, resume: checkpoint }), 'replicated');
    expect(resumed.resumedParts).toBe(2);
    expect(resumed.parts).toBe(6);
    expect((await readBack(target, dst, key)).md5).toBe(md5);
    expect(await openUploads(target, dst)).toEqual([]);
  });

  /** Resumes from `checkpoint` (through JSON, as a file or message carries it): replicated, exact, no upload left open. */
  async function expectExactResume(key: string, checkpoint: MultipartCheckpoint, md5: string) {
    const resumed = expectStatus(await replicate(key, { ...small, resume: JSON.parse(JSON.stringify(checkpoint)) }), 'replicated');
    expect((await readBack(target, dst, key)).md5).toBe(md5);
    expect(await openUploads(target, dst)).toEqual([]);
    return resumed;
  }

  it.each([
    ['just after the first part is on the target', 1],
    ['just after the last part is on the target', 2],
  ])('a pauseSignal raised %s (parts waiting on the in-order MD5 cut off) pauses, and the resume is exact', async (_name, afterParts) => {
    const key = `resume/pause-signal-${afterParts}.bin`;
    const body = randomBody(2 * PART); // one PUT: its ETag is its MD5, checked in order as parts arrive
    await putObject(source, src, key, body);
    const pause = new AbortController();
    const result = await replicate(key, {
      ...small,
      concurrency: 2,
      pauseSignal: pause.signal,
      onCheckpoint: async (checkpoint) => {
        if (checkpoint.parts.length === afterParts) {
          pause.abort();
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      },
    });
    const paused = expectStatus(result, 'paused');
    expect(paused.checkpoint.parts.length).toBeGreaterThanOrEqual(afterParts);
    expect((await expectExactResume(key, paused.checkpoint, md5Hex(body))).parts).toBe(2);
  });

  it('a pauseSignal raised before any part is done: parts still waiting for a shared budget do not start after the first', async () => {
    const key = 'resume/pause-signal-queued.bin';
    const md5 = await putMultipartObject(source, src, key, 3 * PART, PART);
    const budget = new TransferBudget({ maxRequests: 2, maxBytes: 4 * PART });
    let release!: () => void;
    const holder = budget.run(1, () => new Promise<void>((resolve) => (release = resolve)));
    const pause = new AbortController();
    pause.abort();
    const result = await replicate(key, {
      ...small,
      concurrency: 2,
      budget,
      pauseSignal: pause.signal,
      onCheckpoint: (checkpoint) => {
        if (checkpoint.parts.length === 1) setTimeout(release, 0); // the other transfer ends after our first part
      },
    });
    await holder;
    const paused = expectStatus(result, 'paused');
    expect(paused.checkpoint.parts.map((p) => p.partNumber)).toEqual([1]);
    await expectExactResume(key, paused.checkpoint, md5);
  });

  it('a pauseSignal raised before any part is done lets one part finish first: every run moves forward', async () => {
    const key = 'resume/pause-signal-early.bin';
    const md5 = await putMultipartObject(source, src, key, 3 * PART, PART);
    const pause = new AbortController();
    pause.abort();
    const paused = expectStatus(await replicate(key, { ...small, concurrency: 1, pauseSignal: pause.signal }), 'paused');
    expect(paused.checkpoint.parts.map((p) => p.partNumber)).toEqual([1]);
    await expectExactResume(key, paused.checkpoint, md5);
  });

  it('starts over when the source changed since the checkpoint, aborting the old upload', async () => {
    const key = 'resume/changed.bin';
    await putMultipartObject(source, src, key, 3 * PART, PART);
    let started = 0;
    const paused = expectStatus(
      await replicate(key, { ...small, concurrency: 1, shouldPause: () => started++ >= 1 }),
      'paused',
    );
    const v2 = randomBody(2 * PART + 5);
    await putObject(source, src, key, v2);
    const result = expectStatus(await replicate(key, { ...small, resume: paused.checkpoint }), 'replicated');
    expect(result.resumedParts).toBe(0);
    expect((await readBack(target, dst, key)).md5).toBe(md5Hex(v2));
    expect(await openUploads(target, dst)).toEqual([]);
  });

  it('aborts the checkpoint’s upload when the source is gone by the time it resumes', async () => {
    const key = 'resume/deleted.bin';
    await putMultipartObject(source, src, key, 3 * PART, PART);
    let started = 0;
    const paused = expectStatus(await replicate(key, { ...small, concurrency: 1, shouldPause: () => started++ >= 1 }), 'paused');
    expect(await openUploads(target, dst)).toEqual([key]);
    await source.send(new DeleteObjectCommand({ Bucket: src, Key: key }));
    expect(expectStatus(await replicate(key, { ...small, resume: paused.checkpoint }), 'skipped').reason).toBe('source-missing');
    expect(await openUploads(target, dst)).toEqual([]);
  });

  it('starts over when only the headers changed since the checkpoint (same ETag), with the new headers', async () => {
    const key = 'resume/headers-changed.bin';
    await putMultipartObject(source, src, key, 3 * PART, PART);
    await source.send(new CopyObjectCommand({ Bucket: src, Key: key, CopySource: `${src}/${key}`, MetadataDirective: 'REPLACE', ContentType: 'old/type', Metadata: { m: 'old' } }));
    let started = 0;
    const paused = expectStatus(await replicate(key, { ...small, concurrency: 1, shouldPause: () => started++ >= 1 }), 'paused');
    // A second later (times have whole seconds), a metadata-only change: the ETag stays.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await source.send(new CopyObjectCommand({ Bucket: src, Key: key, CopySource: `${src}/${key}`, MetadataDirective: 'REPLACE', ContentType: 'new/type', Metadata: { m: 'new' } }));
    const result = expectStatus(await replicate(key, { ...small, resume: paused.checkpoint }), 'replicated');
    expect(result.resumedParts).toBe(0);
    expect((await readBack(target, dst, key)).head).toMatchObject({ ContentType: 'new/type', Metadata: expect.objectContaining({ m: 'new' }) });
    expect(await openUploads(target, dst)).toEqual([]);
  });

  it('aborts the checkpoint’s upload when the object now goes in one PUT (larger part size, or it shrank)', async () => {
    for (const change of ['part size', 'shrank'] as const) {
      const key = `resume/now-single-put-${change.replace(' ', '-')}.bin`;
      await putMultipartObject(source, src, key, 3 * PART, PART);
      let started = 0;
      const paused = expectStatus(await replicate(key, { ...small, concurrency: 1, shouldPause: () => started++ >= 1 }), 'paused');
      if (change === 'shrank') await putObject(source, src, key, randomBody(1000));
      const options = change === 'part size' ? { partSize: 4 * PART, multipartThreshold: 4 * PART } : small;
      expect(expectStatus(await replicate(key, { ...options, resume: paused.checkpoint }), 'replicated').method).toBe('single-put');
      await expectExactReplica(key);
      expect(await openUploads(target, dst), change).toEqual([]);
    }
  });

  it('reports a cancel that lands while a body is being read as aborted, not as a passing fault', async () => {
    const key = 'abort/mid-read.bin';
    await putMultipartObject(source, src, key, 3 * PART, PART);
    const controller = new AbortController();
    // Bodies trickle in at 1 MiB/s; the cancel comes while the first part is half read.
    const proxy = await startFaultProxy({ upstream: inject('rgw').endpoint, slowBytesPerSecond: MiB, script: (r) => (r.method === 'GET' && r.key === key ? 'slow' : 'none') });
    const slow = createSourceClient({ endpoint: proxy.endpoint, credentials: inject('rgw').source });
    setTimeout(() => controller.abort(), 1_000);
    let result: ReplicationResult;
    try {
      result = await replicateObject({ client: slow, bucket: src, key }, { client: target, bucket: dst, key }, { ...small, concurrency: 1, signal: controller.signal });
    } finally {
      slow.destroy();
      await proxy.close();
    }
    expect(expectStatus(result, 'failed')).toMatchObject({ reason: 'aborted', retryable: false });
    expect(await openUploads(target, dst)).toEqual([]);
  });

  it('aborts the upload when cancelled', async () => {
    const key = 'abort/cancelled.bin';
    await putMultipartObject(source, src, key, 4 * PART, PART);
    const controller = new AbortController();
    const result = await replicate(key, { ...small, concurrency: 1, signal: controller.signal, onProgress: () => controller.abort() });
    expect(expectStatus(result, 'failed').reason).toBe('aborted');
    expect(await openUploads(target, dst)).toEqual([]);
  });

  it.each([
    ['one PUT', 1000],
    ['in parts', 2 * PART + 1],
  ])('a copy cancelled while it waits for a shared budget returns at once (%s)', async (_name, size) => {
    const key = `abort/queued-${size}.bin`;
    await putObject(source, src, key, randomBody(size));
    const budget = new TransferBudget({ maxRequests: 1, maxBytes: PART });
    let release!: () => void;
    const holder = budget.run(1, () => new Promise<void>((resolve) => (release = resolve)));
    const controller = new AbortController();
    const copy = replicate(key, { ...small, budget, signal: controller.signal });
    setTimeout(() => controller.abort(), 200);
    // Returned while the other transfer still holds the whole budget.
    expect(expectStatus(await copy, 'failed').reason).toBe('aborted');
    release();
    await holder;
    expect(budget.inFlight).toEqual({ requests: 0, bytes: 0 });
    expect(await openUploads(target, dst)).toEqual([]);
  });
});

describe('clear errors', () => {
  it('names a missing target bucket', async () => {
    await putObject(source, src, 'errors/a.bin', randomBody(10));
    const result = await replicateObject(
      { client: source, bucket: src, key: 'errors/a.bin' },
      { client: target, bucket: 'no-such-bucket-here', key: 'errors/a.bin' },
    );
    const failed = expectStatus(result, 'failed');
    expect(failed.reason).toBe('target-bucket-missing');
    expect(failed.message).toContain('"no-such-bucket-here" does not exist');
    expect(failed.retryable).toBe(false);
  });

  it('names wrong target credentials, without printing them', async () => {
    const { createTargetClient } = await import('../../src/index.js');
    const { inject } = await import('vitest');
    const secret = 'wrong-secret-key-0123456789abcdefghijklmn';
    const bad = createTargetClient({
      endpoint: inject('rgw').endpoint,
      credentials: { accessKeyId: 'AKIAWRONGWRONGWRONG0', secretAccessKey: secret },
      maxAttempts: 1,
    });
    await putObject(source, src, 'errors/b.bin', randomBody(10));
    const failed = expectStatus(
      await replicateObject({ client: source, bucket: src, key: 'errors/b.bin' }, { client: bad, bucket: dst, key: 'errors/b.bin' }),
      'failed',
    );
    expect(failed.reason).toBe('target-credentials');
    expect(failed.message).toMatch(/InvalidAccessKeyId|SignatureDoesNotMatch/);
    expect(failed.message).toContain('check the target access key and secret key');
    expect(JSON.stringify(failed)).not.toContain(secret);
  });

  it('a target that refuses a write before its body has arrived fails the object, and never the process', async () => {
    // The server answers 403 and closes while the body is still going out: EPIPE on a socket whose
    // request is over. Run where an unhandled 'error' event would end the process.
    await putObject(source, src, 'errors/refused-early.bin', randomBody(12 * MiB));
    const rgw = inject('rgw');
    const script = `
      import { createSourceClient, createTargetClient, replicateObject } from ${JSON.stringify(path.resolve('dist/index.js'))};
      const [endpoint, sourceKey, sourceSecret, targetKey] = process.argv.slice(1);
      const source = createSourceClient({ endpoint, credentials: { accessKeyId: sourceKey, secretAccessKey: sourceSecret } });
      const target = createTargetClient({ endpoint, credentials: { accessKeyId: targetKey, secretAccessKey: 'wrong-secret-key-0123456789abcdefghijklmn' }, maxAttempts: 1 });
      for (let i = 0; i < 8; i++) {
        const result = await replicateObject({ client: source, bucket: ${JSON.stringify(src)}, key: 'errors/refused-early.bin' }, { client: target, bucket: ${JSON.stringify(dst)}, key: 'errors/refused-early-' + i }, { partSize: 16 * 1024 * 1024, targetKnownMissing: true });
        console.log(result.status, result.reason);
        await new Promise((resolve) => setTimeout(resolve, 200));
      }`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script, rgw.endpoint, rgw.source.accessKeyId, rgw.source.secretAccessKey, rgw.target.accessKeyId], { encoding: 'utf8', timeout: 60_000 });
    expect(child.stderr).not.toContain('EPIPE');
    expect(child.status).toBe(0);
    // The refusal, or (when the write breaks before the reply is read) the broken connection.
    const lines = child.stdout.trim().split('\n');
    expect(lines).toHaveLength(8);
    for (const line of lines) expect(['failed target-credentials', 'failed unavailable']).toContain(line);
  }, 90_000);

  it('names a missing source bucket, and never deletes a replica because of it', async () => {
    await putObject(source, src, 'errors/kept.bin', randomBody(10));
    expectStatus(await replicate('errors/kept.bin'), 'replicated');
    const failed = expectStatus(
      await replicateObject(
        { client: source, bucket: 'no-such-source-bucket', key: 'errors/kept.bin' },
        { client: target, bucket: dst, key: 'errors/kept.bin' },
        { deleteWhenSourceMissing: true },
      ),
      'failed',
    );
    expect(failed.reason).toBe('source-bucket-missing');
    expect(failed.message).toContain('source bucket "no-such-source-bucket" does not exist');
    await readBack(target, dst, 'errors/kept.bin'); // still there
  });

  it('names a source the source credentials may not read', async () => {
    const failed = expectStatus(
      await replicateObject({ client: target, bucket: src, key: 'errors/a.bin' }, { client: target, bucket: dst, key: 'x' }),
      'failed',
    );
    expect(failed.reason).toBe('source-access-denied');
    expect(failed.message).toContain(`bucket "${src}"`);
  });
});

describe('a large object', () => {
  it('copies 1 GiB through parallel multipart with the default part size', async () => {
    const key = 'large/1GiB.bin';
    const md5 = await putMultipartObject(source, src, key, 1024 * MiB, 64 * MiB);
    const result = expectStatus(await replicate(key, { concurrency: 8 }), 'replicated');
    expect(result).toMatchObject({ method: 'multipart', parts: 64, partSize: 16 * MiB, bytes: 1024 * MiB });
    const replica = await readBack(target, dst, key);
    expect(replica.md5).toBe(md5);
    expect(await openUploads(target, dst)).toEqual([]);
  }, 300_000);
});
