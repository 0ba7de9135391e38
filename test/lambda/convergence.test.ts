/**
 * Convergence: duplicated, reordered and concurrent events for one key leave the target equal
 * to the source's current state (Ceph RGW; the handler re-reads the source for every event).
 */
import { DeleteObjectCommand, HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { REPLICA_METADATA, objectStateFromHead, replicaMetadata } from '../../src/engine/metadata.js';
import { createHandler } from '../../src/lambda/handler.js';
import { createBucket, md5Hex, putObject, randomBody, readBack, rgwClients, uniqueBucket } from '../support/s3.js';
import { lambdaContext, s3Event, type S3EventSpec } from '../support/lambda.js';

const rgw = inject('rgw');
const { source, target } = rgwClients();
const src = uniqueBucket('conv-src');
const dst = uniqueBucket('conv-dst');
const handler = (env: Record<string, string> = {}) =>
  createHandler({
    env: {
      TARGET_BUCKET: dst,
      LC_ACCESS_KEY: rgw.target.accessKeyId,
      LC_SECRET_KEY: rgw.target.secretAccessKey,
      LC_ENDPOINT_URL: rgw.endpoint,
      REPLICATE_DELETES: 'true',
      PART_SIZE_MIB: '5',
      ...env,
    },
    source,
  });

beforeAll(async () => {
  await createBucket(source, src);
  await createBucket(target, dst);
});

async function targetMd5(key: string): Promise<string | undefined> {
  try {
    await target.send(new HeadObjectCommand({ Bucket: dst, Key: key }));
  } catch {
    return undefined;
  }
  return (await readBack(target, dst, key)).md5;
}

/** Every order of a list (n ≤ 5). */
function permutations<T>(items: T[]): T[][] {
  if (items.length <= 1) return [items];
  return items.flatMap((item, i) => permutations([...items.slice(0, i), ...items.slice(i + 1)]).map((rest) => [item, ...rest]));
}

/** Creates v1, v2, deletes, creates v3 on the source, returning the four events that S3 would send. */
async function history(key: string): Promise<{ events: S3EventSpec[]; final: Buffer }> {
  const events: S3EventSpec[] = [];
  let sequence = 0;
  const seq = () => (++sequence).toString(16).padStart(16, '0');
  // Create events carry the ETag and size of the version they announce, as S3's do.
  const create = async (body: Buffer) => {
    const { ETag } = await source.send(new PutObjectCommand({ Bucket: src, Key: key, Body: body }));
    events.push({ bucket: src, key, eventName: 'ObjectCreated:Put', sequencer: seq(), eTag: ETag!.replaceAll('"', ''), size: body.length });
  };
  for (const size of [100, 6 * 1024 * 1024 + 1]) await create(randomBody(size));
  await source.send(new DeleteObjectCommand({ Bucket: src, Key: key }));
  events.push({ bucket: src, key, eventName: 'ObjectRemoved:Delete', sequencer: seq() });
  const final = randomBody(300);
  await create(final);
  return { events, final };
}

describe('events for one key in any order', () => {
  it('converges to v3 for every order of create v1, create v2, delete, create v3', async () => {
    const key = 'converge/every-order.bin';
    const { events, final } = await history(key);
    const h = handler();
    for (const order of permutations(events)) {
      await target.send(new DeleteObjectCommand({ Bucket: dst, Key: key }));
      for (const event of order) await h(s3Event(event), lambdaContext());
      expect(await targetMd5(key)).toBe(md5Hex(final));
    }
  });

  it('converges with duplicates and a batch holding them all at once', async () => {
    const key = 'converge/duplicates.bin';
    const { events, final } = await history(key);
    const h = handler();
    await h(s3Event(...events, ...events.slice().reverse(), events[2]!), lambdaContext());
    expect(await targetMd5(key)).toBe(md5Hex(final));
  });

  it('deletes the replica when the final state is deleted, whatever the order', async () => {
    const key = 'converge/deleted-last.bin';
    const { events } = await history(key);
    await source.send(new DeleteObjectCommand({ Bucket: src, Key: key }));
    const h = handler();
    for (const order of [events, events.slice().reverse()]) {
      await putObject(target, dst, key, Buffer.from('stale replica'));
      for (const event of order) await h(s3Event(event), lambdaContext());
      expect(await targetMd5(key)).toBeUndefined();
    }
  });
});

describe('concurrent handlers on one key', () => {
  it('leave the source state that was current when the last event was handled', async () => {
    const key = 'converge/concurrent.bin';
    const [a, b] = [handler(), handler()];
    let last: Buffer = randomBody(1);
    // Two handlers race while the source keeps changing; every write is followed by its event.
    const writer = (async () => {
      for (let i = 0; i < 6; i++) {
        last = randomBody(i % 2 === 0 ? 7 * 1024 * 1024 + i : 1000 + i);
        await putObject(source, src, key, last);
        const event = s3Event({ bucket: src, key });
        await Promise.all([a(event, lambdaContext()), b(event, lambdaContext())]);
      }
    })();
    const racer = (async () => {
      for (let i = 0; i < 6; i++) await a(s3Event({ bucket: src, key }), lambdaContext()).catch(() => undefined);
    })();
    await Promise.all([writer, racer]);
    // At-least-once delivery: the last write's event always arrives after it, even if late.
    await b(s3Event({ bucket: src, key }), lambdaContext());
    expect(await targetMd5(key)).toBe(md5Hex(last));
  });
});

describe('several source buckets into one target bucket', () => {
  const other = uniqueBucket('conv-src2');
  const twoBuckets = (prefix?: string) => handler({ SOURCE_BUCKETS: `${src},${other}`, ...(prefix && { TARGET_PREFIX: prefix }) });

  it('keep apart under TARGET_PREFIX={bucket}/, and a delete in one never removes the other’s replica', async () => {
    await createBucket(source, other);
    const key = 'shared/k.txt';
    await putObject(source, src, key, Buffer.from('from the first bucket'));
    await putObject(source, other, key, Buffer.from('from the second bucket'));

    const apart = twoBuckets('{bucket}/');
    for (const bucket of [src, other]) await apart(s3Event({ bucket, key }), lambdaContext());
    expect(await targetMd5(`${src}/${key}`)).toBe(md5Hex(Buffer.from('from the first bucket')));
    expect(await targetMd5(`${other}/${key}`)).toBe(md5Hex(Buffer.from('from the second bucket')));

    // One shared namespace: the last create wins the key, and a delete in the other bucket leaves it.
    const merged = twoBuckets();
    await merged(s3Event({ bucket: other, key }), lambdaContext());
    await source.send(new DeleteObjectCommand({ Bucket: src, Key: key }));
    await merged(s3Event({ bucket: src, key, eventName: 'ObjectRemoved:Delete' }), lambdaContext());
    expect(await targetMd5(key)).toBe(md5Hex(Buffer.from('from the second bucket')));
  });

  it('a delete in one bucket leaves a replica whose bucket marker had no room (its bucket is unknown)', async () => {
    const key = 'shared/full-metadata.txt';
    const body = Buffer.from('the second bucket, metadata near the 2 KB limit');
    // Own metadata just large enough that the source-bucket marker is given up, the ETag kept.
    const state = (size: number) => objectStateFromHead({ ETag: `"${md5Hex(body)}"`, ContentLength: body.length, Metadata: { big: 'x'.repeat(size) } });
    let size = 1800;
    while (REPLICA_METADATA.sourceBucket in replicaMetadata(state(size), { sourceBucket: other, maxMetadataBytes: 2048 })) size++;
    expect(replicaMetadata(state(size), { sourceBucket: other, maxMetadataBytes: 2048 })).toHaveProperty([REPLICA_METADATA.sourceEtag]);
    await putObject(source, other, key, body, { Metadata: { big: 'x'.repeat(size) } });

    const merged = twoBuckets();
    await merged(s3Event({ bucket: other, key }), lambdaContext());
    const replica = await target.send(new HeadObjectCommand({ Bucket: dst, Key: key }));
    expect(replica.Metadata).not.toHaveProperty([REPLICA_METADATA.sourceBucket]);
    await merged(s3Event({ bucket: src, key, eventName: 'ObjectRemoved:Delete' }), lambdaContext());
    expect(await targetMd5(key)).toBe(md5Hex(body));
    // Under a shared namespace its origin is unknown, so even its own bucket's delete leaves it
    // (for sync --delete, which mirrors) ...
    await source.send(new DeleteObjectCommand({ Bucket: other, Key: key }));
    await merged(s3Event({ bucket: other, key, eventName: 'ObjectRemoved:Delete' }), lambdaContext());
    expect(await targetMd5(key)).toBe(md5Hex(body));
    // ... while a function with that one source bucket deletes it.
    await handler({ SOURCE_BUCKETS: other })(s3Event({ bucket: other, key, eventName: 'ObjectRemoved:Delete' }), lambdaContext());
    expect(await targetMd5(key)).toBeUndefined();
    // With {bucket} in the target prefix a key can only be its own bucket's: the delete goes through.
    const apart = twoBuckets('{bucket}/');
    await putObject(source, other, key, body, { Metadata: { big: 'x'.repeat(size) } });
    await apart(s3Event({ bucket: other, key }), lambdaContext());
    expect(await targetMd5(`${other}/${key}`)).toBe(md5Hex(body));
    await source.send(new DeleteObjectCommand({ Bucket: other, Key: key }));
    await apart(s3Event({ bucket: other, key, eventName: 'ObjectRemoved:Delete' }), lambdaContext());
    expect(await targetMd5(`${other}/${key}`)).toBeUndefined();
  });
});

describe('a target prefix with {bucket} not followed by /', () => {
  it('cannot tell bucket a + key b-x from bucket a-b + key x: a delete leaves the other bucket’s replica', async () => {
    const a = uniqueBucket('conv-pre');
    const ab = `${a}-b`;
    for (const bucket of [a, ab]) await createBucket(source, bucket);
    await putObject(source, ab, 'x', Buffer.from('bucket a-b, key x'));
    const h = handler({ SOURCE_BUCKETS: `${a},${ab}`, TARGET_PREFIX: '{bucket}-' });
    await h(s3Event({ bucket: ab, key: 'x' }), lambdaContext());
    expect(await targetMd5(`${ab}-x`)).toBe(md5Hex(Buffer.from('bucket a-b, key x')));
    // Bucket a never had b-x; its delete event must not remove a-b's x, which maps to the same key.
    await h(s3Event({ bucket: a, key: 'b-x', eventName: 'ObjectRemoved:Delete' }), lambdaContext());
    expect(await targetMd5(`${ab}-x`)).toBe(md5Hex(Buffer.from('bucket a-b, key x')));
  });
});

describe('events that misdescribe the object', () => {
  it.each([['a control character', 'bad\netag'], ['an emoji', '😀'], ['a quote inside', 'ab"cd']])(
    'an eTag with %s is not used: the object is read from the source and copied',
    async (_name, eTag) => {
      const key = `bad-etag/${_name.replaceAll(' ', '-')}`;
      const body = Buffer.from('announced with an ETag no server would send');
      await putObject(source, src, key, body);
      const outcomes: string[] = [];
      const run = createHandler({
        env: { TARGET_BUCKET: dst, LC_ACCESS_KEY: rgw.target.accessKeyId, LC_SECRET_KEY: rgw.target.secretAccessKey, LC_ENDPOINT_URL: rgw.endpoint },
        source,
        onOutcome: (outcome) => outcomes.push(outcome.result.status),
      });
      await run(s3Event({ bucket: src, key, eTag, size: body.length }), lambdaContext());
      expect(outcomes).toEqual(['replicated']);
      expect(await targetMd5(key)).toBe(md5Hex(body));
    },
  );
});
