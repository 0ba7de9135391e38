import { describe, expect, it } from 'vitest';
import { bodyMd5FromEtag } from '../../src/engine/metadata.js';

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
