/**
 * Races the other tests leave to chance, made deterministic by holding one request in the fault
 * proxy while the source changes:
 * - a delete event never removes a key re-created while the replica was being deleted;
 * - sync: a source deleted mid-copy is reported skipped (source-missing); one overwritten
 *   mid-copy is copied as its new version, never as a mix of two.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, inject, it } from 'vitest';
import { createSourceClient } from '../../src/clients/s3-clients.js';
import { createHandler } from '../../src/lambda/handler.js';
import { CheckpointStore } from '../../src/sync/checkpoint-store.js';
import { syncBuckets } from '../../src/sync/sync-buckets.js';
import { startFaultProxy, type ProxiedRequest } from '../support/fault-proxy.js';
import { lambdaContext, s3Event } from '../support/lambda.js';
import { MiB, createBucket, md5Hex, openUploads, putMultipartObject, putObject, randomBody, readBack, rgwClients, uniqueBucket } from '../support/s3.js';

const rgw = inject('rgw');
const { source, target } = rgwClients();

/** A gate for one request: `arrived` resolves when the proxy holds it, `release()` lets it go. */
function gate() {
  let arrive!: () => void;
  let release!: () => void;
  const arrived = new Promise<void>((resolve) => (arrive = resolve));
  const open = new Promise<void>((resolve) => (release = resolve));
  let used = false;
  return {
    arrived,
    release,
    /** Holds the first request `matches` accepts until released. */
    hold: async (matches: boolean) => {
      if (!matches || used) return;
      used = true;
      arrive();
      await open;
    },
  };
}

describe('a delete event racing a re-create', () => {
  it('never leaves the re-created key deleted: the engine looks at the source again after deleting', async () => {
    const src = await createBucket(source, uniqueBucket('race-src'));
    const dst = await createBucket(target, uniqueBucket('race-dst'));
    const key = 'race/recreated.bin';
    const deleting = gate();
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      beforeForward: (r) => deleting.hold(r.method === 'DELETE' && r.key === key),
    });
    try {
      const handler = createHandler({
        env: {
          TARGET_BUCKET: dst,
          LC_ACCESS_KEY: rgw.target.accessKeyId,
          LC_SECRET_KEY: rgw.target.secretAccessKey,
          LC_ENDPOINT_URL: proxy.endpoint, // the target goes through the proxy, which holds the DELETE
          REPLICATE_DELETES: 'true',
        },
        source,
      });
      await putObject(source, src, key, randomBody(1000));
      await handler(s3Event({ bucket: src, key }), lambdaContext());
      await source.send(new DeleteObjectCommand({ Bucket: src, Key: key }));

      const run = handler(s3Event({ bucket: src, key, eventName: 'ObjectRemoved:Delete' }), lambdaContext());
      await deleting.arrived; // the replica is being deleted…
      const v2 = randomBody(2000);
      await putObject(source, src, key, v2); // …while the key is re-created
      deleting.release();
      await expect(run).resolves.toEqual({ failures: 0 });
      expect((await readBack(target, dst, key)).md5).toBe(md5Hex(v2));
    } finally {
      await proxy.close();
    }
  });
});

describe('sync while the source changes', () => {
  it('reports a source deleted mid-copy as source-missing and copies an overwritten one as its new version', async () => {
    const src = await createBucket(source, uniqueBucket('change-src'));
    const dst = await createBucket(target, uniqueBucket('change-dst'));
    await putObject(source, src, 'changing/overwritten.bin', randomBody(10_000));
    await putObject(source, src, 'changing/deleted.bin', randomBody(10_000));
    await putMultipartObject(source, src, 'changing/large.bin', 12 * MiB, 5 * MiB);
    await putObject(source, src, 'steady.bin', randomBody(500));

    const gates = { overwritten: gate(), deleted: gate(), large: gate() };
    const isGet = (r: ProxiedRequest, key: string) => r.method === 'GET' && r.key === key;
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      beforeForward: async (r) => {
        await gates.overwritten.hold(isGet(r, 'changing/overwritten.bin'));
        await gates.deleted.hold(isGet(r, 'changing/deleted.bin'));
        // The second part of the large object: the first part has been read from the old version.
        await gates.large.hold(isGet(r, 'changing/large.bin') && String(r.headers.range ?? '').startsWith(`bytes=${5 * MiB}-`));
      },
    });
    const proxied = createSourceClient({ endpoint: proxy.endpoint, credentials: rgw.source });
    const stateDir = mkdtempSync(path.join(tmpdir(), 'lyve-change-'));
    try {
      const sync = syncBuckets({
        source: { client: proxied, bucket: src, prefix: '' },
        target: { client: target, bucket: dst, prefix: '' },
        concurrency: 4,
        partSize: 5 * MiB,
        checkpoints: new CheckpointStore(stateDir),
      });
      await Promise.all(Object.values(gates).map((g) => g.arrived));
      const v2 = randomBody(20_000);
      await putObject(source, src, 'changing/overwritten.bin', v2);
      await source.send(new DeleteObjectCommand({ Bucket: src, Key: 'changing/deleted.bin' }));
      const large2 = await putMultipartObject(source, src, 'changing/large.bin', 11 * MiB + 3, 5 * MiB);
      for (const g of Object.values(gates)) g.release();

      const report = await sync;
      const status = Object.fromEntries(report.items.map((i) => [i.key, i.status]));
      expect(status).toEqual({
        'changing/overwritten.bin': 'replicated',
        'changing/deleted.bin': 'source-missing',
        'changing/large.bin': 'replicated',
        'steady.bin': 'replicated',
      });
      expect(report.complete).toBe(true);
      expect((await readBack(target, dst, 'changing/overwritten.bin')).md5).toBe(md5Hex(v2));
      const large = await readBack(target, dst, 'changing/large.bin');
      expect(large.md5).toBe(large2);
      expect(large.size).toBe(11 * MiB + 3);
      await expect(target.send(new HeadObjectCommand({ Bucket: dst, Key: 'changing/deleted.bin' }))).rejects.toMatchObject({ $metadata: { httpStatusCode: 404 } });
      expect(await openUploads(target, dst)).toEqual([]);
    } finally {
      proxied.destroy();
      await proxy.close();
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 60_000);
});
