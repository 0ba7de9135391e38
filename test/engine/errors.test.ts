import { describe, expect, it } from 'vitest';
import { allInOrder, isDamagedReply, isTransient, isWebPage } from '../../src/engine/errors.js';
import { classifyS3Error } from '../../src/engine/failures.js';

/** The error the SDK throws for a reply body it cannot parse as S3's XML. */
function unparsable(status: number, body: string): Error {
  const error = new Error('Unknown error parsing XML.\n  Deserialization error: to see the raw response, inspect the hidden field {error}.$response on this object.');
  return Object.assign(error, { $metadata: { httpStatusCode: status }, $responseBodyText: body });
}

describe('replies that are not S3 replies', () => {
  const page = '<html><body><h1>Title</h1><hr></body></html>';

  it.each([200, 403, 404])('an HTML page with HTTP %i is a web server answering: not retried', (status) => {
    const error = unparsable(status, page);
    expect(isWebPage(error)).toBe(true);
    expect(isDamagedReply(error)).toBe(false);
    expect(isTransient(error)).toBe(false);
  });

  it.each([408, 429, 502, 503])('an HTML page with HTTP %i is a proxy’s passing trouble: retried', (status) => {
    const error = unparsable(status, page);
    expect(isWebPage(error)).toBe(false);
    expect(isDamagedReply(error)).toBe(true);
    expect(isTransient(error)).toBe(true);
  });

  it('a listing cut mid-XML is damaged, not a web page', () => {
    const error = unparsable(200, '<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Na');
    expect(isWebPage(error)).toBe(false);
    expect(isDamagedReply(error)).toBe(true);
  });
});

describe('allInOrder', () => {
  const later = <T>(ms: number, outcome: () => T) => new Promise<void>((resolve) => setTimeout(resolve, ms)).then(outcome);

  it('resolves to every value, in order', async () => {
    await expect(allInOrder([later(20, () => 'a'), 'b', later(5, () => 3)])).resolves.toEqual(['a', 'b', 3]);
  });

  it('throws the first failure in argument order, not the first in time', async () => {
    const first = later(30, () => {
      throw new Error('source refused');
    });
    const second = later(0, () => {
      throw new Error('target bucket missing');
    });
    await expect(allInOrder([first, second])).rejects.toThrow('source refused');
    await expect(allInOrder([Promise.resolve(1), second])).rejects.toThrow('target bucket missing');
  });
});

describe('a reply of HTTP 413', () => {
  const tooLarge = () => Object.assign(new Error('Request Entity Too Large'), { name: 'EntityTooLarge', $metadata: { httpStatusCode: 413 } });

  it('to a write with a body is permanent and names the part size', () => {
    const failure = classifyS3Error(tooLarge(), 'target', 'b', 's3:PutObject');
    expect(failure).toMatchObject({ reason: 'target-rejected', retryable: false });
    expect(failure.message).toMatch(/use a smaller part size/);
  });

  it('to anything else says nothing of part sizes', () => {
    for (const action of ['s3:ListBucket', 's3:GetObject']) expect(classifyS3Error(tooLarge(), 'target', 'b', action).message).not.toMatch(/part size/);
  });
});
