/**
 * `lyve-replicator cleanup`: aborts stale multipart uploads started with the target credentials,
 * keeps younger ones and other users' (RGW, the built CLI). A target that refuses to list uploads
 * without a key prefix (older Lyve Cloud deployments) is imitated by the fault proxy.
 */
import { CreateMultipartUploadCommand, PutBucketAclCommand, UploadPartCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startFaultProxy, type FaultProxy } from '../support/fault-proxy.js';
import { createBucket, openUploads, putObject, rgwClients, uniqueBucket } from '../support/s3.js';
import { cli } from '../support/cli.js';

const rgw = inject('rgw');
const { source, target } = rgwClients();

describe('cleanup', () => {
  const dst = uniqueBucket('cleanup');
  let proxy: FaultProxy;
  beforeAll(async () => {
    await createBucket(target, dst);
    // Another user may write here too: its uploads are not ours to abort.
    await target.send(new PutBucketAclCommand({ Bucket: dst, GrantFullControl: 'id=target', GrantWrite: 'id=source' }));
    await putObject(target, dst, 'a/done.txt', Buffer.from('a completed object')); // "a/" holds objects, "b/" does not
    for (const key of ['a/one.bin', 'b/two.bin', 'top.bin']) {
      const { UploadId } = await target.send(new CreateMultipartUploadCommand({ Bucket: dst, Key: key }));
      await target.send(new UploadPartCommand({ Bucket: dst, Key: key, UploadId, PartNumber: 1, Body: Buffer.alloc(1024, 7) }));
    }
    await source.send(new CreateMultipartUploadCommand({ Bucket: dst, Key: 'a/theirs.bin' }));
    // An older Lyve Cloud: ListMultipartUploads without a key prefix is refused.
    proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      intercept: (r) =>
        r.method === 'GET' && /(^|&)uploads(=|&|$)/.test(r.query) && !/(^|&)prefix=[^&]/.test(r.query)
          ? { status: 400, code: 'InvalidArgument', message: 'A key prefix is required to list multipart uploads.' }
          : undefined,
    });
  });
  afterAll(() => proxy?.close());

  it('keeps uploads younger than --older-than', async () => {
    const run = await cli(['cleanup', `s3://${dst}`, '--older-than', '1h', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report).toMatchObject({ command: 'cleanup', scope: 'bucket', olderThanSeconds: 3600, dryRun: false, complete: true });
    expect(report.counts).toMatchObject({ aborted: 0, younger: 4 });
    expect(await openUploads(target, dst)).toHaveLength(4);
  });

  it('--dry-run lists what it would abort and aborts nothing', async () => {
    const run = await cli(['cleanup', `s3://${dst}`, '--older-than', '0s', '--dry-run', '--json']);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.initiator).toBe('target');
    expect(report.items.map((i: { key: string; action: string }) => `${i.action} ${i.key}`)).toEqual([
      'would-abort a/one.bin',
      'not-ours a/theirs.bin',
      'would-abort b/two.bin',
      'would-abort top.bin',
    ]);
    expect(report.items[1].reason).toBe('started with other credentials (these may not list its parts)');
    expect((await openUploads(target, dst)).sort()).toEqual(['a/one.bin', 'a/theirs.bin', 'b/two.bin', 'top.bin']);
  });

  it('aborts only under the given prefix, and says so', async () => {
    const run = await cli(['cleanup', `s3://${dst}/a/`, '--older-than', '0s']);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^aborted {6}a\/one\.bin \(upload .+, \d+ s old\)\nnot-ours {5}a\/theirs\.bin \(upload .+\): started with other credentials/);
    expect(run.stderr).toContain('1 aborted, 1 kept (other credentials), 0 kept (younger than --older-than), 0 failed\n');
    expect((await openUploads(target, dst)).sort()).toEqual(['a/theirs.bin', 'b/two.bin', 'top.bin']);
  });

  it('on a target that wants a key prefix, lists per top-level prefix and says what it could not see', async () => {
    const run = await cli(['cleanup', `s3://${dst}`, '--older-than', '0s', '--json', '--target-endpoint', proxy.endpoint]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.scope).toBe('top-level-prefixes');
    expect(report.items.map((i: { key: string; action: string }) => `${i.action} ${i.key}`)).toEqual(['not-ours a/theirs.bin']);
    expect(report.note).toBe(
      `the target refused to list uploads without a key prefix (InvalidArgument), so the 1 top-level prefixes holding objects were listed instead; uploads of top-level keys or under prefixes with no objects were not seen: run cleanup with s3://${dst}/PREFIX for those`,
    );
    expect(run.stderr).toBe(`note: ${report.note}\n`);
    // With the prefix, that target lists them.
    const withPrefix = await cli(['cleanup', `s3://${dst}/b/`, '--older-than', '0s', '--json', '--target-endpoint', proxy.endpoint]);
    expect(JSON.parse(withPrefix.stdout).counts).toMatchObject({ aborted: 1 });
  });

  it('aborts every stale upload of ours in the bucket; another user’s upload is untouched', async () => {
    const run = await cli(['cleanup', `s3://${dst}`, '--older-than', '0s', '--json']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).counts).toMatchObject({ aborted: 1, 'not-ours': 1, failed: 0 });
    expect(await openUploads(target, dst)).toEqual(['a/theirs.bin']); // and no identity probe left behind
  });

  it.each([
    [['--older-than', '24'], 'lyve-replicator: --older-than "24" is not an age: write a number and a unit, e.g. 24h, 90m, 7d or 0s\n'],
    [[], "lyve-replicator: required option '--older-than <age>' not specified (see lyve-replicator --help)\n"],
  ])('rejects bad usage %j', async (extra, message) => {
    const run = await cli(['cleanup', `s3://${dst}`, ...extra]);
    expect(run.stderr).toBe(message);
    expect(run.code).toBe(2);
  });

  it('names a missing bucket', async () => {
    const run = await cli(['cleanup', 's3://no-such-cleanup-bucket', '--older-than', '1d']);
    expect(run.stderr).toBe(
      'lyve-replicator: target bucket "no-such-cleanup-bucket" does not exist (NoSuchBucket): create it or correct the target bucket name\n',
    );
    expect(run.code).toBe(2);
  });
});
