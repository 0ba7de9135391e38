import { describe, expect, it } from 'vitest';
import { REPLICA_METADATA, bodyMd5FromEtag, headerBytesForWire, headerFromWire, headersDigest, isReplicaOf, metadataBytes, objectStateFromHead, replicaMetadata, userMetadata, type ObjectState } from '../../src/engine/metadata.js';

const MD5 = '0123456789abcdef0123456789abcdef';

describe('the body MD5 known from an ETag', () => {
  it.each([
    ['a single-part object in clear', { ETag: `"${MD5}"` }, MD5],
    ['an SSE-S3 object', { ETag: `"${MD5}"`, ServerSideEncryption: 'AES256' as const }, MD5],
    ['a multipart object', { ETag: `"${MD5}-3"` }, undefined],
    ['an SSE-KMS object', { ETag: `"${MD5}"`, ServerSideEncryption: 'aws:kms' as const }, undefined],
    ['a DSSE-KMS object', { ETag: `"${MD5}"`, ServerSideEncryption: 'aws:kms:dsse' as const }, undefined],
    ['an SSE-C object', { ETag: `"${MD5}"`, SSECustomerAlgorithm: 'AES256' }, undefined],
    ['an ETag that is not hex', { ETag: '"not-an-md5-at-all-not-an-md5-at"' }, undefined],
    ['an upper-case ETag', { ETag: `"${MD5.toUpperCase()}"` }, undefined],
  ])('%s', (_name, head, expected) => {
    expect(bodyMd5FromEtag({ ContentLength: 1, ...head })).toBe(expected);
  });
});

describe('header values as bytes on the wire', () => {
  const latin1Of = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

  it.each(['café ☕ naïve', 'the source’s own', 'a\u00a0b', 'ascii only', '=?UTF-8?B?Y2Fmw6k=?='])('raw UTF-8 %j read back is the text, and goes out as the same bytes', (text) => {
    expect(headerFromWire(latin1Of(text))).toBe(text);
    expect(headerBytesForWire(text)).toBe(latin1Of(text));
  });

  it('leaves bytes that are not UTF-8 as they were read', () => {
    expect(headerFromWire('caf\u00e9')).toBe('caf\u00e9'); // Latin-1 é alone is no UTF-8
  });
});

describe('replica markers', () => {
  it('replaces only our markers; other keys with our prefix are the source’s own', () => {
    const state = objectStateFromHead({
      ETag: '"abc"',
      ContentLength: 1,
      Metadata: { 'lyve-replicator-source-etag': 'upstream', 'lyve-replicator-note': 'mine', other: 'x' },
    });
    expect(replicaMetadata(state)).toEqual({
      'lyve-replicator-source-etag': 'abc',
      'lyve-replicator-source-headers': headersDigest(state),
      'lyve-replicator-note': 'mine',
      other: 'x',
    });
    expect(userMetadata(state)).toEqual({ 'lyve-replicator-note': 'mine', other: 'x' });
  });

  it('records the source bucket, version and time, and gives up markers (ETag last) to stay under the target limit', () => {
    const head = { ETag: '"0123456789abcdef0123456789abcdef"', ContentLength: 1, VersionId: 'v'.repeat(32), LastModified: new Date(0) };
    const all = replicaMetadata(objectStateFromHead({ ...head, Metadata: { a: 'b' } }), { sourceBucket: 'bucket-a', maxMetadataBytes: 2048 });
    expect(Object.keys(all).sort()).toEqual(['a', ...Object.values(REPLICA_METADATA).filter((k) => k !== REPLICA_METADATA.bodyMd5)].sort());
    for (const own of [1800, 1900, 1990, 2040]) {
      const state = objectStateFromHead({ ...head, Metadata: { big: 'x'.repeat(own - 3) } });
      const metadata = replicaMetadata(state, { sourceBucket: 'bucket-a', maxMetadataBytes: 2048 });
      expect(metadataBytes(metadata), `${own} bytes of the source's own`).toBeLessThanOrEqual(2048);
      expect(userMetadata({ ...state, headers: { metadata } })).toEqual(state.headers.metadata);
    }
    const tight = replicaMetadata(objectStateFromHead({ ...head, Metadata: { big: 'x'.repeat(1960) } }), { maxMetadataBytes: 2048 });
    expect(Object.keys(tight).sort()).toEqual(['big', REPLICA_METADATA.sourceEtag]);
  });

  it('digests every copied header and the user metadata, not the markers', () => {
    const base = objectStateFromHead({ ETag: '"abc"', ContentLength: 1, ContentType: 'text/plain', Metadata: { k: 'v' } });
    const digest = headersDigest(base);
    expect(digest).toMatch(/^[\w-]{16}$/);
    expect(headersDigest({ ...base, headers: { ...base.headers, metadata: { k: 'v', [REPLICA_METADATA.sourceEtag]: 'x' } } })).toBe(digest);
    expect(headersDigest({ ...base, headers: { ...base.headers, contentType: 'text/html' } })).not.toBe(digest);
    expect(headersDigest({ ...base, headers: { ...base.headers, metadata: { k: 'w' } } })).not.toBe(digest);
    expect(headersDigest({ ...base, headers: { ...base.headers, websiteRedirectLocation: '/x' } })).not.toBe(digest);
  });
});

describe('whether a target already is a replica', () => {
  const OTHER_MD5 = 'fedcba9876543210fedcba9876543210';
  const source = objectStateFromHead({
    ETag: `"${MD5}"`,
    ContentLength: 11,
    LastModified: new Date('2026-01-01T00:00:00Z'),
    ContentType: 'application/javascript',
    ContentEncoding: 'gzip',
    CacheControl: 'max-age=60',
    ContentDisposition: 'inline',
    Metadata: { owner: 'web' },
  });
  const written = new Date('2026-01-01T00:00:00.400Z'); // HEAD times have whole seconds: same second
  const replica = (of: ObjectState, metadata: Record<string, string>, etag = MD5): ObjectState =>
    objectStateFromHead({
      ETag: `"${etag}"`,
      ContentLength: of.size,
      LastModified: written,
      ContentType: of.headers.contentType,
      ContentEncoding: of.headers.contentEncoding,
      CacheControl: of.headers.cacheControl,
      ContentDisposition: of.headers.contentDisposition,
      Metadata: metadata,
    });

  it('a copy another tool made is one only with every copied header, not just its type and metadata', () => {
    const copy = replica(source, { owner: 'web' });
    expect(isReplicaOf(copy, source)).toBe(true);
    for (const lost of ['contentEncoding', 'cacheControl', 'contentDisposition'] as const) {
      const headers = { ...copy.headers };
      delete headers[lost];
      expect(isReplicaOf({ ...copy, headers }, source), lost).toBe(false);
    }
  });

  it('a replica whose headers were changed on the target, its markers kept, is not one', () => {
    const markers = replicaMetadata(source, { sourceBucket: 'bucket-a' });
    const copy = replica(source, markers);
    expect(isReplicaOf(copy, source)).toBe(true);
    expect(isReplicaOf({ ...copy, headers: { ...copy.headers, cacheControl: 'no-store' } }, source)).toBe(false);
    expect(isReplicaOf({ ...copy, headers: { ...copy.headers, metadata: { ...markers, owner: 'someone else' } } }, source)).toBe(false);
  });

  it('a replica whose headers digest was left out for room is compared by its own headers', () => {
    const markers = replicaMetadata(source, { sourceBucket: 'bucket-a' });
    delete markers[REPLICA_METADATA.sourceHeaders];
    delete markers[REPLICA_METADATA.sourceLastModified];
    const copy = replica(source, markers);
    expect(isReplicaOf(copy, source)).toBe(true);
    // A metadata-only change on the source (CopyObject REPLACE) keeps its ETag, not its headers.
    const changed = { ...source, headers: { ...source.headers, contentType: 'text/plain' } };
    expect(isReplicaOf(copy, changed)).toBe(false);
    const remetadata = { ...source, headers: { ...source.headers, metadata: { owner: 'www' } } };
    expect(isReplicaOf(copy, remetadata)).toBe(false);
  });

  it('a replica without markers (no room at all) is one with the same ETag, or written clearly after the source changed', () => {
    const full = { ...source, headers: { ...source.headers, metadata: { big: 'x'.repeat(2040) } } };
    const own = { big: 'x'.repeat(2040) };
    expect(isReplicaOf(replica(full, own), full)).toBe(true);
    // Another ETag written within the clocks' allowance (here the same second) may be an older body.
    expect(isReplicaOf(replica(full, own, OTHER_MD5), full)).toBe(false);
    expect(isReplicaOf(replica(full, own, `${OTHER_MD5}-2`), full)).toBe(false);
    const seconds = (n: number) => new Date(source.lastModified!.getTime() + n * 1000);
    expect(isReplicaOf({ ...replica(full, own, `${OTHER_MD5}-2`), lastModified: seconds(30) }, full)).toBe(false);
    // Written more than a minute after the source last changed, it has its latest state, even when
    // the ETags differ (parts of another size; a source ETag that only looks like an MD5).
    expect(isReplicaOf({ ...replica(full, own, `${OTHER_MD5}-2`), lastModified: seconds(61) }, full)).toBe(true);
    expect(isReplicaOf({ ...replica(full, own, OTHER_MD5), lastModified: seconds(61) }, full)).toBe(true);
    // Whatever the time, the headers must match.
    expect(isReplicaOf({ ...replica(full, { big: 'y'.repeat(2040) }), lastModified: seconds(61) }, full)).toBe(false);
  });
});
