/**
 * The CLI as users run it: the built binary as a subprocess, against Ceph RGW (source and
 * target users) and the embedded server.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CopyObjectCommand, DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { beforeAll, describe, expect, it, inject } from 'vitest';
import { setTimeout as sleep } from 'node:timers/promises';
import { cli } from '../support/cli.js';
import { startFaultProxy } from '../support/fault-proxy.js';
import { MiB, createBucket, listKeys, md5Hex, openUploads, putMultipartObject, putObject, randomBody, readBack, rgwClients, uniqueBucket } from '../support/s3.js';

const rgw = inject('rgw');
const { source, target } = rgwClients();
const endpoints = () => ['--source-endpoint', rgw.endpoint];

describe('sync and verify against RGW', () => {
  const src = uniqueBucket('cli-src');
  const dst = uniqueBucket('cli-dst');
  const files: Record<string, Buffer> = {
    'a.txt': Buffer.from('alpha'),
    'dir/b.bin': randomBody(100_000),
    'dir/sub/c with space.bin': randomBody(10),
    'emoji 😀/d+e.bin': randomBody(0),
    'logs/skip.log': randomBody(50),
  };
  beforeAll(async () => {
    await createBucket(source, src);
    await createBucket(target, dst);
    for (const [key, body] of Object.entries(files)) await putObject(source, src, key, body, { ContentType: 'application/x-cli', Metadata: { k: key.length.toString() } });
    await putMultipartObject(source, src, 'big/multipart.bin', 12 * MiB + 5, 5 * MiB);
  });

  it('--dry-run writes nothing and says what it would copy', async () => {
    const run = await cli(['sync', `s3://${src}`, `s3://${dst}`, '--dry-run', '--json', ...endpoints()]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.counts['would-copy']).toBe(6);
    const verify = await cli(['verify', `s3://${src}`, `s3://${dst}`, ...endpoints()]);
    expect(verify.stderr).toContain('6 missing');
  });

  it('copies everything exactly, then skips everything on the second run', async () => {
    const first = await cli(['sync', `s3://${src}`, `s3://${dst}`, '--part-size', '5', ...endpoints()]);
    expect(first.stderr).toContain('6 replicated, 0 identical');
    expect(first.code).toBe(0);
    for (const [key, body] of Object.entries(files)) {
      const replica = await readBack(target, dst, key);
      expect(replica.md5).toBe(md5Hex(body));
      expect(replica.head.ContentType).toBe('application/x-cli');
    }
    const second = await cli(['sync', `s3://${src}`, `s3://${dst}`, '--json', ...endpoints()]);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report).toMatchObject({ command: 'sync', complete: true, counts: { replicated: 0, identical: 6, failed: 0 } });
    const verify = await cli(['verify', `s3://${src}`, `s3://${dst}`, '--deep', ...endpoints()]);
    expect(verify.code).toBe(0);
    expect(verify.stderr).toContain('identical: 6 source objects, 6 target objects');
  });

  it('verify names a tampered object and exits 1; sync repairs it', async () => {
    await target.send(new PutObjectCommand({ Bucket: dst, Key: 'dir/b.bin', Body: randomBody(100_000) }));
    const verify = await cli(['verify', `s3://${src}`, `s3://${dst}`, '--json', ...endpoints()]);
    expect(verify.code).toBe(1);
    const report = JSON.parse(verify.stdout);
    expect(report).toMatchObject({ identical: false, counts: { mismatched: 1, missing: 0, extra: 0 } });
    expect(report.problems[0]).toMatchObject({ key: 'dir/b.bin', problem: 'mismatched' });
    const repair = await cli(['sync', `s3://${src}`, `s3://${dst}`, ...endpoints()]);
    expect(repair.stderr).toContain('1 replicated, 5 identical');
    expect((await cli(['verify', `s3://${src}`, `s3://${dst}`, '--deep', ...endpoints()])).code).toBe(0);
  });

  it('--delete removes extras only when asked, within the filters', async () => {
    await putObject(target, dst, 'extra.txt', Buffer.from('not on the source'));
    await putObject(target, dst, 'logs/extra.log', Buffer.from('excluded'));
    const without = await cli(['sync', `s3://${src}`, `s3://${dst}`, ...endpoints()]);
    expect(without.code).toBe(0);
    expect((await cli(['verify', `s3://${src}`, `s3://${dst}`, ...endpoints()])).stdout).toContain('extra      extra.txt');
    const withDelete = await cli(['sync', `s3://${src}`, `s3://${dst}`, '--delete', '--exclude', 'logs/**', ...endpoints()]);
    expect(withDelete.stderr).toContain('1 deleted');
    expect(withDelete.stderr).toContain('deleted      target extra.txt');
    const verify = await cli(['verify', `s3://${src}`, `s3://${dst}`, '--json', ...endpoints()]);
    expect(JSON.parse(verify.stdout).problems).toEqual([{ key: 'logs/extra.log', problem: 'extra' }]);
  });

  it('applies --include and prefixes on both sides', async () => {
    const run = await cli(['sync', `s3://${src}/dir/`, `s3://${dst}/copy/`, '--include', '**/*.bin', '--json', ...endpoints()]);
    expect(run.code).toBe(0);
    const report = JSON.parse(run.stdout);
    expect(report.objects.map((o: { targetKey: string }) => o.targetKey).sort()).toEqual(['copy/b.bin', 'copy/sub/c with space.bin']);
  });
});

describe('replicas that lack the headers', () => {
  const src = uniqueBucket('cli-hdr-src');
  const dst = uniqueBucket('cli-hdr-dst');
  const headers = { ContentType: 'application/json', CacheControl: 'max-age=60', Metadata: { owner: 'ops' } };
  beforeAll(async () => {
    await createBucket(source, src);
    await createBucket(target, dst);
  });

  it('sync repairs copies another tool made without headers (same bytes), and verify names them first', async () => {
    const body = Buffer.from('{"same":"bytes"}');
    await putObject(source, src, 'plain/a.json', body, headers);
    await putObject(source, src, 'plain/b.json', body, headers);
    await putObject(source, src, 'plain/c.json', body, headers);
    // What the original sample leaves: the bytes, without Content-Type or metadata.
    for (const key of ['plain/a.json', 'plain/b.json']) await putObject(target, dst, key, body);
    // A tool that keeps Content-Type and metadata but drops the other headers.
    await putObject(target, dst, 'plain/c.json', body, { ContentType: headers.ContentType, Metadata: headers.Metadata });
    const before = await cli(['verify', `s3://${src}/plain/`, `s3://${dst}/plain/`, '--json', ...endpoints()]);
    expect(before.code).toBe(1);
    expect(JSON.parse(before.stdout).counts.mismatched).toBe(3);
    const repair = await cli(['sync', `s3://${src}/plain/`, `s3://${dst}/plain/`, ...endpoints()]);
    expect(repair.stderr).toContain('3 replicated, 0 identical');
    for (const key of ['plain/a.json', 'plain/c.json']) {
      expect((await readBack(target, dst, key)).head).toMatchObject({ ContentType: 'application/json', CacheControl: 'max-age=60' });
    }
    expect((await cli(['sync', `s3://${src}/plain/`, `s3://${dst}/plain/`, ...endpoints()])).stderr).toContain('0 replicated, 3 identical');
    expect((await cli(['verify', `s3://${src}/plain/`, `s3://${dst}/plain/`, '--deep', ...endpoints()])).code).toBe(0);
  });

  it('sync copies a metadata-only change made while a copy in parts was being completed', async () => {
    await putMultipartObject(source, src, 'quick/parts.bin', 11 * MiB, 5 * MiB, { ContentType: 'old/type', Metadata: { v: '1' } });
    let replaced = false;
    // The first CompleteMultipartUpload waits for a metadata-only change on the source (same ETag).
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      beforeForward: async (r) => {
        if (replaced || r.method !== 'POST' || !/(^|&)uploadId=/.test(r.query)) return;
        replaced = true;
        await source.send(
          new CopyObjectCommand({ Bucket: src, Key: 'quick/parts.bin', CopySource: `${src}/quick/parts.bin`, MetadataDirective: 'REPLACE', ContentType: 'new/type', Metadata: { v: '2' } }),
        );
      },
    });
    try {
      const run = await cli(['sync', `s3://${src}/quick/parts.bin`, `s3://${dst}/quick/parts.bin`, '--part-size', '5', '--target-endpoint', proxy.endpoint, ...endpoints()]);
      expect(run.code).toBe(0);
      expect(replaced).toBe(true);
      expect((await readBack(target, dst, 'quick/parts.bin')).head).toMatchObject({ ContentType: 'new/type', Metadata: expect.objectContaining({ v: '2' }) });
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('sync copies a metadata-only change made right after the last sync', async () => {
    await putObject(source, src, 'quick/c.txt', Buffer.from('unchanged bytes'), { ContentType: 'text/plain', Metadata: { v: '1' } });
    expect((await cli(['sync', `s3://${src}/quick/`, `s3://${dst}/quick/`, ...endpoints()])).code).toBe(0);
    await source.send(
      new CopyObjectCommand({ Bucket: src, Key: 'quick/c.txt', CopySource: `${src}/quick/c.txt`, MetadataDirective: 'REPLACE', ContentType: 'text/csv', Metadata: { v: '2' } }),
    );
    // Plain verify sees it too: a replica written so soon after its source's change is not
    // taken as current from the listings and its markers alone (the change keeps the ETag, and
    // may keep the second).
    expect((await cli(['verify', `s3://${src}/quick/`, `s3://${dst}/quick/`, ...endpoints()])).code).toBe(1);
    expect((await cli(['sync', `s3://${src}/quick/`, `s3://${dst}/quick/`, ...endpoints()])).stderr).toContain('1 replicated');
    const verify = await cli(['verify', `s3://${src}/quick/`, `s3://${dst}/quick/`, '--deep', ...endpoints()]);
    expect(verify.code).toBe(0);
  });
});

describe('folders, tags and awkward keys', () => {
  const src = uniqueBucket('cli-edge-src');
  const dst = uniqueBucket('cli-edge-dst');
  beforeAll(async () => {
    await createBucket(source, src);
    await createBucket(target, dst);
    await putObject(source, src, 'photos/', Buffer.alloc(0)); // the console's folder marker
    await putObject(source, src, 'photos/a.jpg', randomBody(100), { Tagging: 'team=a' });
    await putObject(source, src, 'photos/line\nbreak.jpg', randomBody(10));
    await putObject(source, src, 'photos/../up.jpg', randomBody(10));
  });

  it('maps a source folder onto a bucket root without its marker; --include ** spans line breaks and dot segments; keys print escaped', async () => {
    const run = await cli(['sync', `s3://${src}/photos/`, `s3://${dst}`, '--include', '**', ...endpoints()]);
    expect(run.code).toBe(0);
    expect(run.stderr).toContain('3 replicated');
    expect(run.stderr).toContain('"photos/line\\u000abreak.jpg"');
    const verify = await cli(['verify', `s3://${src}/photos/`, `s3://${dst}`, '--include', '**', ...endpoints()]);
    expect(verify.code).toBe(0);
    expect(verify.stderr).toContain('identical: 3 source objects, 3 target objects');
  });

  it('--copy-tags brings the tags of an already identical object, and later tag changes', async () => {
    const { GetObjectTaggingCommand, PutObjectTaggingCommand } = await import('@aws-sdk/client-s3');
    const tags = async () => (await target.send(new GetObjectTaggingCommand({ Bucket: dst, Key: 'a.jpg' }))).TagSet;
    await cli(['sync', `s3://${src}/photos/`, `s3://${dst}`, ...endpoints()]);
    expect(await tags()).toEqual([]);
    const run = await cli(['sync', `s3://${src}/photos/`, `s3://${dst}`, '--copy-tags', '--json', ...endpoints()]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout).counts).toMatchObject({ replicated: 0, failed: 0 });
    expect(await tags()).toEqual([{ Key: 'team', Value: 'a' }]);
    await source.send(new PutObjectTaggingCommand({ Bucket: src, Key: 'photos/a.jpg', Tagging: { TagSet: [{ Key: 'team', Value: 'b' }] } }));
    // A dry run and verify --tags see the difference; the sync that fixes it says so.
    const dry = await cli(['sync', `s3://${src}/photos/`, `s3://${dst}`, '--copy-tags', '--dry-run', '--json', ...endpoints()]);
    expect(JSON.parse(dry.stdout).counts['would-copy']).toBe(1);
    const verify = await cli(['verify', `s3://${src}/photos/`, `s3://${dst}`, '--tags', ...endpoints()]);
    expect(verify.stdout).toMatch(/mismatched a\.jpg: .*tags differ/); // RGW also moves the modification time on a tag change
    expect(verify.code).toBe(1);
    const fix = await cli(['sync', `s3://${src}/photos/`, `s3://${dst}`, '--copy-tags', ...endpoints()]);
    expect(fix.stderr).toMatch(/(tags copied|replicated) +photos\/a\.jpg/);
    expect(await tags()).toEqual([{ Key: 'team', Value: 'b' }]);
    expect((await cli(['verify', `s3://${src}/photos/`, `s3://${dst}`, '--tags', ...endpoints()])).code).toBe(0);
  });

  it.each([
    [`s3://SRC/photos/`, `s3://DST/photos`, 'the source prefix "photos/" is a folder but the target prefix "photos" does not end with "/"', 's3://DST/photos/'],
    [`s3://SRC`, `s3://DST/backup`, 'the source is a whole bucket but the target prefix "backup" does not end with "/"', 's3://DST/backup/'],
    [`s3://SRC/data`, `s3://DST`, 'the source prefix "data" does not end with "/" but the target is a whole bucket', 's3://SRC/data/'],
  ])('refuses %s → %s: the prefixes disagree on the trailing "/"', async (from, to, message, fix) => {
    const named = (text: string) => text.replace('SRC', src).replace('DST', dst);
    for (const command of ['sync', 'verify']) {
      const run = await cli([command, named(from), named(to), '--delete', ...endpoints()].filter((a) => command === 'sync' || a !== '--delete'));
      expect(run.stderr).toContain(message);
      expect(run.stderr).toContain(`write ${named(fix)} to use`);
      expect(run.code).toBe(2);
    }
  });
});

/** Parts recorded in the checkpoint files of a state directory (0 while none is readable yet). */
function completedParts(stateDir: string): number {
  let parts = 0;
  for (const file of readdirSync(stateDir).filter((f) => f.endsWith('.json'))) {
    try {
      parts += (JSON.parse(readFileSync(path.join(stateDir, file), 'utf8')) as { parts?: unknown[] }).parts?.length ?? 0;
    } catch {
      // being written
    }
  }
  return parts;
}

describe('verify after the source is written again unchanged', () => {
  it('an exact replica of an earlier, identical write is identical to verify, with or without --deep', async () => {
    const src = await createBucket(source, uniqueBucket('cli-same-src'));
    const dst = await createBucket(target, uniqueBucket('cli-same-dst'));
    const put = () => putObject(source, src, 'a.txt', Buffer.from('hello'), { ContentType: 'text/plain', Metadata: { k: 'v' } });
    await put();
    expect((await cli(['sync', `s3://${src}`, `s3://${dst}`, ...endpoints()])).code).toBe(0);
    await sleep(1_100); // another second: another modification time
    await put(); // as `aws s3 cp` run again
    for (const deep of [[], ['--deep']]) {
      const run = await cli(['verify', `s3://${src}`, `s3://${dst}`, ...deep, ...endpoints()]);
      expect(run.stderr).toMatch(/^identical: 1 source object/);
      expect(run.code).toBe(0);
    }
    // A copy still refreshes the markers to the source's current write, and a dry run says so.
    const dry = await cli(['sync', `s3://${src}`, `s3://${dst}`, '--dry-run', '--json', ...endpoints()]);
    expect(JSON.parse(dry.stdout).counts['would-copy']).toBe(1);
    // A real change still shows.
    await putObject(source, src, 'a.txt', Buffer.from('hello'), { ContentType: 'text/html', Metadata: { k: 'v' } });
    const changed = await cli(['verify', `s3://${src}`, `s3://${dst}`, ...endpoints()]);
    expect(changed.stdout).toMatch(/^mismatched a\.txt/);
    expect(changed.code).toBe(1);
  });
});

describe('an interrupted sync', () => {
  it('pauses on Ctrl-C with a checkpoint, and the rerun resumes and finishes exactly', async () => {
    const src = await createBucket(source, uniqueBucket('cli-int-src'));
    const dst = await createBucket(target, uniqueBucket('cli-int-dst'));
    const md5 = await putMultipartObject(source, src, 'large.bin', 200 * MiB, 20 * MiB);
    const stateDir = mkdtempSync(path.join(tmpdir(), 'lyve-state-'));
    const args = ['sync', `s3://${src}`, `s3://${dst}`, '--part-size', '5', '--concurrency', '2', '--state-dir', stateDir, ...endpoints()];
    let interrupted = false;
    const first = await cli([...args, '--json'], {}, (kill) => {
      if (interrupted || completedParts(stateDir) === 0) return;
      interrupted = true;
      kill('SIGINT'); // as soon as the checkpoint records a completed part
    });
    expect(first.code).toBe(130);
    expect(first.stderr).toContain('interrupted: finishing parts in flight and saving checkpoints');
    // What the paused copy sent counts in this run's bytes.
    const paused = JSON.parse(first.stdout);
    expect(paused.objects[0]).toMatchObject({ status: 'paused' });
    expect(paused.bytes).toBe(paused.objects[0].bytes);
    expect(paused.bytes).toBeGreaterThan(0);
    expect(readdirSync(stateDir).length).toBe(1);
    expect(await openUploads(target, dst)).toEqual(['large.bin']);
    const second = await cli([...args, '--json']);
    expect(second.code).toBe(0);
    const report = JSON.parse(second.stdout);
    expect(report.counts).toMatchObject({ replicated: 1, failed: 0 });
    expect(report.objects[0].resumedParts).toBeGreaterThan(0);
    // The summary counts what this run sent, not the parts the first run had sent.
    expect(report.objects[0].resumedBytes).toBe(report.objects[0].resumedParts * 5 * MiB);
    expect(report.bytes).toBe(200 * MiB - report.objects[0].resumedBytes);
    expect((await readBack(target, dst, 'large.bin')).md5).toBe(md5);
    expect(await openUploads(target, dst)).toEqual([]);
    expect(existsSync(stateDir) ? readdirSync(stateDir) : []).toEqual([]);
  }, 120_000);

  it('an object deleted from the source after the listing gets its own line and count', async () => {
    const src = await createBucket(source, uniqueBucket('cli-gone-src'));
    const dst = await createBucket(target, uniqueBucket('cli-gone-dst'));
    await putObject(source, src, 'gone.txt', Buffer.from('deleted mid-run'));
    await putObject(source, src, 'kept.txt', Buffer.from('still here'));
    // The object goes just before the sync first reads it.
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      beforeForward: async (r) => {
        if (r.key === 'gone.txt' && r.method !== 'DELETE') await source.send(new DeleteObjectCommand({ Bucket: src, Key: 'gone.txt' }));
      },
    });
    try {
      const run = await cli(['sync', `s3://${src}`, `s3://${dst}`, '--source-endpoint', proxy.endpoint]);
      expect(run.code).toBe(0);
      expect(run.stderr).toMatch(/^source-missing gone\.txt/m);
      expect(run.stderr).toContain('1 replicated, 0 identical, 0 deleted, 0 failed, 1 gone from the source since listed');
      expect(await listKeys(target, dst)).toEqual(['kept.txt']);
    } finally {
      await proxy.close();
    }
  }, 60_000);

  it('Ctrl-C while listing stops before anything is planned or copied, once or twice: exit 130', async () => {
    const src = await createBucket(source, uniqueBucket('cli-list-int-src'));
    const dst = await createBucket(target, uniqueBucket('cli-list-int-dst'));
    await putObject(source, src, 'a.txt', Buffer.from('a'));
    // Every source listing page takes 1.5 s to arrive; Ctrl-C comes while the first is awaited.
    let listingSince: number | undefined;
    const proxy = await startFaultProxy({
      upstream: rgw.endpoint,
      beforeForward: (r) => {
        if (r.method !== 'GET' || r.key !== '') return undefined;
        listingSince ??= Date.now();
        return sleep(1_500);
      },
    });
    try {
      const args = ['sync', `s3://${src}`, `s3://${dst}`, '--delete', '--source-endpoint', proxy.endpoint];
      for (const signals of [1, 2]) {
        listingSince = undefined;
        let sent = 0;
        const run = await cli(signals === 1 ? [...args, '--json'] : args, {}, (kill) => {
          if (listingSince !== undefined && sent < signals && Date.now() - listingSince > 100 + 200 * sent) {
            sent += 1;
            kill('SIGINT');
          }
        });
        expect(run.code, `${signals} Ctrl-C`).toBe(130);
        expect(run.stderr).not.toMatch(/\n\s+at /);
        if (signals === 2) expect(run.stderr).toContain('lyve-replicator: interrupted; rerun to continue');
        else expect(JSON.parse(run.stdout)).toMatchObject({ complete: false, counts: { replicated: 0, deleted: 0 }, objects: [] });
        expect(await listKeys(target, dst)).toEqual([]);
      }
    } finally {
      await proxy.close();
    }
  }, 60_000);
});

describe('misconfiguration', () => {
  const src = uniqueBucket('cli-bad-src');
  beforeAll(async () => {
    await createBucket(source, src);
  });

  it.each([
    [{ LC_ACCESS_KEY: '' , LC_SECRET_KEY: '' }, [], /no target credentials: set LC_ACCESS_KEY and LC_SECRET_KEY/, 2],
    [{ LC_SECRET_KEY: '' }, [], /LC_SECRET_KEY is not set/, 2],
    [{ LC_ENDPOINT_URL: '' }, [], /no target endpoint: pass --target-endpoint or set LC_ENDPOINT_URL/, 2],
    [{}, ['--target-endpoint', 'lyve.example.com'], /--target-endpoint "lyve.example.com" has no scheme/, 2],
    [{}, ['--target-endpoint', 'http://lyve.example.com'], /plain http to a non-loopback host/, 2],
    [{ LC_SECRET_KEY: 'wrong-secret-0123456789abcdefghijklmnopq' }, [], /target rejected the credentials \((SignatureDoesNotMatch|InvalidAccessKeyId)\)/, 2],
    [{}, ['--concurrency', '0'], /--concurrency "0" must be a whole number/, 2],
    [{ LC_ACCESS_KEY: '', LC_SECRET_KEY: '' }, ['--target-profile', 'no-such-profile'], /could not load credentials from profile "no-such-profile" \(--target-profile\)/, 2],
    [{}, ['--state-dir', '/dev/null/checkpoints'], /--state-dir "\/dev\/null\/checkpoints" cannot hold checkpoints \(ENOTDIR\): pass a writable directory/, 2],
    [{}, ['--target-region', 'us east 1'], /--target-region "us east 1" is not a region name: write it as the service names it, e\.g\. us-east-1/, 2],
    [{}, ['--target-endpoint', rgw.endpoint.replace('http:', 'https:')], /target endpoint https:\/\/127\.0\.0\.1:\d+ does not answer TLS \(https\): check the URL in --target-endpoint; if that server speaks plain http, write http:\/\/127\.0\.0\.1:\d+$/m, 2],
  ])('%j %j', async (env, extra, message, code) => {
    const run = await cli(['sync', `s3://${src}`, 's3://cli-bad-dst', ...endpoints(), ...extra], env);
    expect(run.stderr).toMatch(message);
    expect(run.code).toBe(code);
    expect(run.stderr).not.toContain('wrong-secret-0123456789');
    expect(run.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  it('names an endpoint that is a web server, not S3', async () => {
    let page = '<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><p>It works!</p></body></html>\n';
    let status = 200;
    let delayMs = 0;
    const web = createServer((_req, res) => {
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'text/html' });
        res.end(page);
      }, delayMs);
    });
    await new Promise<void>((resolve) => web.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(web.address() as AddressInfo).port}`;
    try {
      const run = await cli(['sync', `s3://${src}`, 's3://cli-bad-dst', ...endpoints(), '--target-endpoint', url]);
      // Well-formed, this page parses as XML: it is no listing, three times over.
      expect(run.stderr).toBe(
        'lyve-replicator: the target endpoint answered a listing of bucket "cli-bad-dst" 3 times with something that is not an S3 listing: check that the target endpoint is the S3 service\'s URL (--target-endpoint)\n',
      );
      expect(run.code).toBe(2);
      // An HTML page that is not well-formed XML is a parse error, and a web page by its look.
      page = '<html><body><p>Not Found<hr></body></html>';
      status = 404;
      // The target's missing bucket is known first; the source's error is still the one named.
      delayMs = 500;
      const verify = await cli(['verify', `s3://${src}`, 's3://cli-bad-dst', '--source-endpoint', url]);
      expect(verify.stderr).toBe(
        "lyve-replicator: the source endpoint answered s3:ListBucket with a web page (HTTP 404), not an S3 reply: check that the source endpoint is the S3 service's URL (--source-endpoint)\n",
      );
      expect(verify.code).toBe(2);
    } finally {
      web.close();
    }
  });

  it('names a missing target bucket', async () => {
    const run = await cli(['sync', `s3://${src}`, 's3://no-such-target-bucket', ...endpoints()]);
    expect(run.stderr).toContain('target bucket "no-such-target-bucket" does not exist');
    expect(run.code).toBe(2);
  });

  it('names an unreachable endpoint and where it was set (exit 1: the server may only be down)', async () => {
    const run = await cli(['sync', `s3://${src}`, 's3://x-bucket', '--target-endpoint', 'http://127.0.0.1:1', ...endpoints()]);
    expect(run.stderr).toBe('lyve-replicator: target endpoint http://127.0.0.1:1 refused the connection (ECONNREFUSED): check the URL in --target-endpoint, and that the server is up\n');
    expect(run.code).toBe(1);
    const verify = await cli(['verify', `s3://${src}`, 's3://x-bucket'], { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:1' });
    expect(verify.stderr).toBe('lyve-replicator: source endpoint http://127.0.0.1:1 refused the connection (ECONNREFUSED): check the URL in AWS_ENDPOINT_URL_S3, and that the server is up\n');
    expect(verify.code).toBe(1);
  }, 60_000);

  it('a source endpoint from AWS_ENDPOINT_URL_S3 is checked like --source-endpoint, and addressed path-style', async () => {
    const port = new URL(rgw.endpoint).port;
    const noScheme = await cli(['verify', `s3://${src}`, 's3://x-bucket'], { AWS_ENDPOINT_URL_S3: `127.0.0.1:${port}` });
    expect(noScheme.stderr).toBe(`lyve-replicator: AWS_ENDPOINT_URL_S3 "127.0.0.1:${port}" has no scheme: write it as https://127.0.0.1:${port}\n`);
    expect(noScheme.code).toBe(2);
    const insecure = await cli(['verify', `s3://${src}`, 's3://x-bucket'], { AWS_ENDPOINT_URL: 'http://192.0.2.1:9000' });
    expect(insecure.stderr).toMatch(/^lyve-replicator: AWS_ENDPOINT_URL "http:\/\/192\.0\.2\.1:9000" uses plain http to a non-loopback host: use https:\/\/, or pass --allow-insecure-http/);
    expect(insecure.code).toBe(2);
    // localhost: the SDK alone would address bucket.localhost (virtual-hosted), which does not resolve.
    const dst = uniqueBucket('cli-env-dst');
    await createBucket(target, dst);
    const sync = await cli(['sync', `s3://${src}`, `s3://${dst}`], { AWS_ENDPOINT_URL_S3: `http://localhost:${port}` });
    expect(sync.stderr).toMatch(/identical/);
    expect(sync.code).toBe(0);
  });

  it('names the missing source region', async () => {
    const run = await cli(['verify', 's3://some-aws-bucket', 's3://x-bucket'], { AWS_REGION: '', HOME: mkdtempSync(path.join(tmpdir(), 'no-aws-config-')) });
    expect(run.stderr).toBe('lyve-replicator: no AWS region for the source: set AWS_REGION (or a region in the AWS profile), or pass --source-region\n');
    expect(run.code).toBe(2);
    // An S3-compatible source from AWS_ENDPOINT_URL_S3 needs none, as with --source-endpoint: us-east-1.
    const withEndpoint = await cli(['verify', `s3://${src}`, 's3://no-such-target-bucket'], { AWS_REGION: '', AWS_ENDPOINT_URL_S3: rgw.endpoint, HOME: mkdtempSync(path.join(tmpdir(), 'no-aws-config-')) });
    expect(withEndpoint.stderr).toContain('target bucket "no-such-target-bucket" does not exist');
    const malformed = await cli(['verify', 's3://some-aws-bucket', 's3://x-bucket'], { AWS_REGION: 'us east 1' });
    expect(malformed.stderr).toMatch(/^lyve-replicator: the source region "us east 1" \(from AWS_REGION or the AWS profile\) is not a region name/);
    expect(malformed.code).toBe(2);
  });

  it('sync and verify alike: an endpoint host that does not resolve is a configuration error', async () => {
    for (const command of ['sync', 'verify']) {
      const run = await cli([command, `s3://${src}`, 's3://x-bucket', '--target-endpoint', 'https://no-such-host.invalid', ...endpoints()]);
      expect(run.stderr).toContain('could not be resolved (DNS ENOTFOUND): check the URL in --target-endpoint');
      expect(run.stderr).not.toContain('try again later');
      expect(run.code).toBe(2);
    }
  }, 60_000);

  it('refuses a source and target that overlap in one bucket on one endpoint, writing and deleting nothing', async () => {
    await putObject(source, src, 'data/keep.txt', Buffer.from('source object'));
    for (const [from, to] of [
      [`s3://${src}/data/`, `s3://${src}/`],
      [`s3://${src}/`, `s3://${src}/backup/`],
      [`s3://${src}/logs`, `s3://${src}/l`],
    ] as const) {
      for (const command of [['sync', '--delete'], ['verify']]) {
        const run = await cli([command[0]!, from, to, ...command.slice(1), ...endpoints()], { LC_ENDPOINT_URL: rgw.endpoint });
        expect(run.stderr).toContain('overlap (one bucket on one endpoint, one prefix inside the other)');
        expect(run.code).toBe(2);
      }
    }
    // Two names of one server are one endpoint.
    const other = rgw.endpoint.replace('127.0.0.1', 'localhost');
    const named = await cli(['sync', `s3://${src}/data/`, `s3://${src}/`, '--delete', '--source-endpoint', other], { LC_ENDPOINT_URL: rgw.endpoint });
    expect(named.stderr).toContain('overlap');
    expect(named.code).toBe(2);
    // The source endpoint from the environment, as the SDK reads it (an empty variable is unset).
    const fromEnv = await cli(['sync', `s3://${src}/data/`, `s3://${src}/`, '--delete'], { LC_ENDPOINT_URL: rgw.endpoint, AWS_ENDPOINT_URL_S3: '', AWS_ENDPOINT_URL: rgw.endpoint });
    expect(fromEnv.stderr).toContain('overlap');
    expect(fromEnv.code).toBe(2);
    expect((await readBack(source, src, 'data/keep.txt')).size).toBe(13);
    // Side by side in one bucket is fine.
    const beside = await cli(['sync', `s3://${src}/data/`, `s3://${src}/copy/`, '--dry-run', ...endpoints()], { LC_ACCESS_KEY: rgw.source.accessKeyId, LC_SECRET_KEY: rgw.source.secretAccessKey });
    expect(beside.code).toBe(0);
  });

  it('rejects a location that is not s3://', async () => {
    const run = await cli(['sync', src, 's3://x-bucket', ...endpoints()]);
    expect(run.stderr).toContain(`source "${src}" is not an S3 location: write it as s3://BUCKET or s3://BUCKET/PREFIX`);
    expect(run.code).toBe(2);
  });
});

describe('sync and verify against the embedded server', () => {
  it('copies and verifies between two fauxqs servers', async () => {
    const { startEmbeddedS3 } = await import('../support/embedded-s3.js');
    const { createSourceClient } = await import('../../src/index.js');
    const [a, b] = await Promise.all([startEmbeddedS3({ buckets: ['src'] }), startEmbeddedS3({ buckets: ['dst'] })]);
    try {
      const client = createSourceClient({ endpoint: a.endpoint, credentials: a.credentials });
      for (const key of ['one.txt', 'dir/two.bin', 'dir/three.bin']) await putObject(client, 'src', key, randomBody(1000));
      await putMultipartObject(client, 'src', 'dir/multipart.bin', 11 * MiB, 5 * MiB);
      const env = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', LC_ACCESS_KEY: 'test', LC_SECRET_KEY: 'test', LC_ENDPOINT_URL: b.endpoint };
      const args = ['s3://src', 's3://dst', '--source-endpoint', a.endpoint];
      const sync = await cli(['sync', ...args, '--part-size', '5'], env);
      expect(sync.stderr).toContain('4 replicated');
      expect(sync.code).toBe(0);
      const verify = await cli(['verify', ...args, '--deep'], env);
      expect(verify.stderr).toContain('identical: 4 source objects, 4 target objects');
      expect(verify.code).toBe(0);
      expect((await cli(['sync', ...args], env)).stderr).toContain('0 replicated, 4 identical');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});

describe('LYVE_REPLICATOR_LOW_MEMORY', () => {
  it('0 keeps the optimising compilers and copies the same; any value but 1 or 0 is refused with exit 2', async () => {
    const src = uniqueBucket('lowmem-src');
    const dst = uniqueBucket('lowmem-dst');
    await createBucket(source, src);
    await createBucket(target, dst);
    const body = randomBody(11 * MiB);
    await putObject(source, src, 'a.bin', body);
    const run = await cli(['sync', `s3://${src}`, `s3://${dst}`, ...endpoints(), '--part-size', '5'], { LYVE_REPLICATOR_LOW_MEMORY: '0' });
    expect(run.stderr).toContain('1 replicated');
    expect(run.code).toBe(0);
    expect((await readBack(target, dst, 'a.bin')).md5).toBe(md5Hex(body));

    const bad = await cli(['sync', `s3://${src}`, `s3://${dst}`, ...endpoints()], { LYVE_REPLICATOR_LOW_MEMORY: 'maybe' });
    expect(bad.stderr).toBe('lyve-replicator: LYVE_REPLICATOR_LOW_MEMORY must be 1 or 0, not "maybe"\n');
    expect(bad.code).toBe(2);
  });
});
