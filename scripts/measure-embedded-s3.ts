/**
 * Measures what the embedded (npm, in-process) S3 emulators really do with the
 * requests lyve-replicator sends, so that the choice of test/playground server
 * and the workarounds it needs rest on evidence rather than on READMEs.
 *
 *   npx tsx scripts/measure-embedded-s3.ts                   # both servers
 *   npx tsx scripts/measure-embedded-s3.ts --only fauxqs     # one server
 *   npx tsx scripts/measure-embedded-s3.ts --json            # machine-readable
 *
 * To measure another fauxqs build (e.g. 2.x, which needs Node >= 22.5), install
 * it in a scratch directory outside the repo and point at it:
 *
 *   mkdir /tmp/fauxqs2 && cd /tmp/fauxqs2 && echo '{"type":"module"}' > package.json
 *   npm pack fauxqs@2.4.1 && npx -y node@22 "$(which npm)" install ./fauxqs-2.4.1.tgz
 *   npx -y node@22 <repo>/node_modules/tsx/dist/cli.mjs <repo>/scripts/measure-embedded-s3.ts \
 *     --only fauxqs --fauxqs-module /tmp/fauxqs2/node_modules/fauxqs
 *
 * s3rver needs `NODE_OPTIONS=--openssl-legacy-provider` for ListObjectsV2
 * continuation tokens on Node >= 17; run once with and once without it to see.
 *
 * Every server is started in-process, bound to 127.0.0.1 on a random port, and
 * probed with the SDK configured exactly as in production (path style,
 * us-east-1, checksums only WHEN_REQUIRED) unless a probe says otherwise.
 * Probes never throw: each one yields a row PASS / FAIL / INFO with details.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { EventEmitter } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectTaggingCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  ListPartsCommand,
  PutBucketNotificationConfigurationCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  PutObjectTaggingCommand,
  S3Client,
  UploadPartCommand,
  type GetObjectCommandInput,
  type GetObjectCommandOutput,
  type HeadObjectCommandOutput,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import {
  ChangeMessageVisibilityCommand,
  CreateQueueCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { NodeHttpHandler } from '@smithy/node-http-handler';

// ---------------------------------------------------------------------------
// Servers under test
// ---------------------------------------------------------------------------

interface RunningServer {
  /** e.g. "fauxqs 1.9.2" */
  label: string;
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Object created/deleted notifications the server exposes in-process, as "<kind> <key>". */
  events?: { read(): string[]; clear(): void };
  /** True when the server also emulates SQS on the same endpoint. */
  sqs: boolean;
  stop(): Promise<void>;
}

type S3rverInstance = EventEmitter & {
  run(): Promise<AddressInfo>;
  close(): Promise<void>;
  httpServer?: { closeAllConnections?: () => void };
};
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
interface S3rverEvent {
  Records: Array<{ eventName: string; s3: { object: { key: string } } }>;
}

const require = createRequire(import.meta.url);

async function startS3rver(): Promise<RunningServer> {
  const S3rver = require('s3rver') as S3rverConstructor;
  const { version } = require('s3rver/package.json') as { version: string };
  // s3rver has no in-memory store: it always writes to a directory.
  const directory = await mkdtemp(join(tmpdir(), 's3rver-'));
  const instance = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    resetOnClose: true,
  });
  const log: string[] = [];
  instance.on('event', (event: S3rverEvent) => {
    for (const record of event.Records) log.push(`${record.eventName} ${record.s3.object.key}`);
  });
  const { port } = await instance.run();
  return {
    label: `s3rver ${version}`,
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    events: { read: () => [...log], clear: () => void log.splice(0) },
    sqs: false,
    async stop() {
      instance.httpServer?.closeAllConnections?.();
      await instance.close();
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** The slice of fauxqs's (1.x and 2.x) public and internal API this script touches. */
interface FauxqsApp {
  listen(options: { host: string; port: number }): Promise<string>;
  close(): Promise<void>;
}
interface FauxqsModule {
  buildApp(options: { logger: boolean; stores?: FauxqsStores }): FauxqsApp;
}
interface FauxqsStores {
  sqsStore: unknown;
  snsStore: unknown;
  s3Store: unknown;
}
interface FauxqsSpy {
  getAllMessages(): Array<{ service: string; status: string; key?: string }>;
  clear(): void;
}

/**
 * fauxqs's startFauxqs() always binds 0.0.0.0, so we use its exported
 * buildApp() (a Fastify instance) and listen on loopback ourselves. The message
 * spy is only wired up by startFauxqs(); to observe it on loopback we build the
 * stores the same way startFauxqs() does, from fauxqs's dist files.
 */
async function startFauxqs(moduleDir: string | undefined): Promise<RunningServer> {
  const dir = moduleDir ?? dirname(dirname(fileURLToPath(import.meta.resolve('fauxqs'))));
  const load = async <T>(file: string): Promise<T> =>
    (await import(pathToFileURL(join(dir, 'dist', file)).href)) as T;
  const { version } = JSON.parse(await readFile(join(dir, 'package.json'), 'utf8')) as { version: string };

  const { buildApp } = await load<FauxqsModule>('app.js');
  const { S3Store } = await load<{ S3Store: new () => { spy?: FauxqsSpy } }>('s3/s3Store.js');
  const { SqsStore } = await load<{ SqsStore: new () => { spy?: FauxqsSpy } }>('sqs/sqsStore.js');
  const { SnsStore } = await load<{ SnsStore: new () => { spy?: FauxqsSpy } }>('sns/snsStore.js');
  const { MessageSpy } = await load<{ MessageSpy: new (p: { bufferSize: number }) => FauxqsSpy }>('spy.js');

  const spy = new MessageSpy({ bufferSize: 10_000 });
  const stores = { s3Store: new S3Store(), sqsStore: new SqsStore(), snsStore: new SnsStore() };
  for (const store of Object.values(stores)) store.spy = spy;

  const app = buildApp({ logger: false, stores });
  const endpoint = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    label: `fauxqs ${version}`,
    endpoint,
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    events: {
      read: () =>
        spy
          .getAllMessages()
          .filter((m) => m.service === 's3' && m.status !== 'downloaded')
          .map((m) => `${m.status} ${m.key ?? ''}`),
      clear: () => spy.clear(),
    },
    sqs: true,
    stop: () => app.close(),
  };
}

// ---------------------------------------------------------------------------
// Probe plumbing
// ---------------------------------------------------------------------------

type Status = 'PASS' | 'FAIL' | 'INFO';
interface Row {
  probe: string;
  status: Status;
  detail: string;
}
type Outcome = [Status, string];

interface Ctx {
  server: RunningServer;
  /** Production-like client: checksums only when required. */
  s3: S3Client;
  /** SDK defaults: CRC32 on every upload, aws-chunked stream bodies. */
  s3Default: S3Client;
  sqs: SQSClient;
  /** Shared scratch bucket; probes that list use their own bucket. */
  bucket: string;
}

const PROBE_TIMEOUT_MS = 180_000;
const MiB = 1024 * 1024;

/**
 * Errors a server failed to handle (s3rver, for one, emits unhandled stream
 * errors that would kill the process). Collected so the run can go on; the
 * probe during which they happen is marked FAIL.
 */
const uncaught: string[] = [];
process.on('uncaughtException', (error) => {
  const code = (error as { code?: string }).code;
  uncaught.push(`${error.name}${code ? ` ${code}` : ''}: ${error.message.slice(0, 60)}`);
});

async function runProbe(name: string, fn: () => Promise<Outcome>): Promise<Row> {
  const row = await runProbeGuarded(name, fn);
  if (uncaught.length === 0) return row;
  const crashes = uncaught.splice(0);
  return { probe: name, status: 'FAIL', detail: `${row.detail}; UNCAUGHT in server (would crash the test process) ×${crashes.length}: ${crashes[0]}` };
}

async function runProbeGuarded(name: string, fn: () => Promise<Outcome>): Promise<Row> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<Outcome>((resolve) => {
    timer = setTimeout(() => resolve(['FAIL', `timed out after ${PROBE_TIMEOUT_MS / 1000}s`]), PROBE_TIMEOUT_MS);
  });
  try {
    const [status, detail] = await Promise.race([fn(), timeout]);
    return { probe: name, status, detail };
  } catch (error) {
    return { probe: name, status: 'FAIL', detail: `threw ${describeError(error)}` };
  } finally {
    clearTimeout(timer);
  }
}

/** "BadDigest/400" style summary of an SDK (or any) error. */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
  if (error.message.includes('Deserialization error')) return `HTTP ${status} with a body that is not the expected XML`;
  const code = (error as { Code?: string }).Code ?? error.name;
  const message = code === 'Error' || code === 'TypeError' ? `: ${error.message.slice(0, 80)}` : '';
  return `${code}${status === undefined ? '' : `/${status}`}${message}`;
}

/** Runs `fn`; returns "ok" or the error summary. */
async function attempt(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return 'ok';
  } catch (error) {
    return describeError(error);
  }
}

const md5 = (data: Buffer): Buffer => createHash('md5').update(data).digest();
const md5Hex = (data: Buffer): string => md5(data).toString('hex');
const md5Base64 = (data: Buffer): string => md5(data).toString('base64');

/** The body as a plain (non-replayable) stream, like the replicator's GET → PUT pipe. */
function streamOf(data: Buffer, chunkSize = 64 * 1024): Readable {
  return Readable.from(
    (function* () {
      for (let offset = 0; offset < data.length; offset += chunkSize) yield data.subarray(offset, offset + chunkSize);
    })(),
  );
}

async function readAll(body: unknown): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) chunks.push(Buffer.from(chunk));
  return Buffer.concat(chunks);
}

async function getBytes(s3: S3Client, Bucket: string, Key: string, extra: Partial<GetObjectCommandInput> = {}): Promise<Buffer> {
  const res = await s3.send(new GetObjectCommand({ Bucket, Key, ...extra }));
  return readAll(res.Body);
}

async function putStream(s3: S3Client, Bucket: string, Key: string, data: Buffer): Promise<string | undefined> {
  const res = await s3.send(
    new PutObjectCommand({
      Bucket,
      Key,
      Body: streamOf(data),
      ContentLength: data.length,
      ContentMD5: md5Base64(data),
    }),
  );
  return res.ETag;
}

async function uploadPart(s3: S3Client, Bucket: string, Key: string, UploadId: string, PartNumber: number, data: Buffer) {
  const res = await s3.send(
    new UploadPartCommand({
      Bucket,
      Key,
      UploadId,
      PartNumber,
      Body: streamOf(data),
      ContentLength: data.length,
      ContentMD5: md5Base64(data),
    }),
  );
  return { PartNumber, ETag: res.ETag };
}

/** S3's multipart ETag: md5 of the concatenated binary part md5s, "-", part count. */
function multipartEtag(parts: Buffer[]): string {
  return `"${md5Hex(Buffer.concat(parts.map(md5)))}-${parts.length}"`;
}

/** S3 lists keys in UTF-8 byte order. */
const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));

async function createBucket(ctx: Ctx, name: string): Promise<string> {
  await ctx.s3.send(new CreateBucketCommand({ Bucket: name }));
  return name;
}

async function listAllKeys(s3: S3Client, Bucket: string, MaxKeys: number): Promise<{ keys: string[]; pages: number }> {
  const keys: string[] = [];
  let ContinuationToken: string | undefined;
  let pages = 0;
  do {
    const res = await s3.send(new ListObjectsV2Command({ Bucket, MaxKeys, ContinuationToken }));
    keys.push(...(res.Contents ?? []).map((o) => o.Key ?? '<no Key>'));
    ContinuationToken = res.IsTruncated ? res.NextContinuationToken : undefined;
    if (res.IsTruncated && !ContinuationToken) throw new Error('IsTruncated without NextContinuationToken');
    if (++pages > 500) throw new Error('more than 500 pages: pagination loops');
  } while (ContinuationToken);
  return { keys, pages };
}

const ms = (start: number): number => Math.round(performance.now() - start);
const rate = (bytes: number, millis: number): string => `${((bytes / MiB) * 1000) / Math.max(millis, 1)}`.slice(0, 5);
const show = (key: string): string => JSON.stringify(key.length > 40 ? `${key.slice(0, 12)}…(${Buffer.byteLength(key)} bytes)` : key);

// ---------------------------------------------------------------------------
// S3 probes
// ---------------------------------------------------------------------------

async function probeStreamPut(ctx: Ctx): Promise<Outcome> {
  const data = randomBytes(256 * 1024 + 17);
  const etag = await putStream(ctx.s3, ctx.bucket, 'stream/put', data);
  const back = await getBytes(ctx.s3, ctx.bucket, 'stream/put');
  const etagOk = etag === `"${md5Hex(data)}"`;
  const bodyOk = back.equals(data);
  return [etagOk && bodyOk ? 'PASS' : 'FAIL', `ETag ${etagOk ? '= md5' : `${etag} ≠ md5`}; body ${bodyOk ? 'identical' : `differs (${back.length} vs ${data.length} bytes)`}`];
}

async function probeBadMd5(ctx: Ctx): Promise<Outcome> {
  const data = randomBytes(4096);
  const wrong = md5Base64(Buffer.from('something else'));
  const put = await attempt(() =>
    ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: 'badmd5/put', Body: streamOf(data), ContentLength: data.length, ContentMD5: wrong })),
  );
  const stored = await attempt(() => ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: 'badmd5/put' })));

  const { UploadId } = await ctx.s3.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: 'badmd5/mpu' }));
  const part = await attempt(() =>
    ctx.s3.send(
      new UploadPartCommand({ Bucket: ctx.bucket, Key: 'badmd5/mpu', UploadId, PartNumber: 1, Body: streamOf(data), ContentLength: data.length, ContentMD5: wrong }),
    ),
  );
  await attempt(() => ctx.s3.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: 'badmd5/mpu', UploadId })));

  const rejected = (r: string) => r.startsWith('BadDigest/400');
  const pass = rejected(put) && rejected(part) && stored !== 'ok';
  return [pass ? 'PASS' : 'FAIL', `PutObject → ${put} (object ${stored === 'ok' ? 'STORED' : 'not stored'}); UploadPart → ${part}`];
}

async function probeDefaultChecksums(ctx: Ctx): Promise<Outcome> {
  const data = randomBytes(200 * 1024 + 3);
  const notes: string[] = [];
  let ok = true;

  const put = await attempt(() =>
    ctx.s3Default.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: 'crc/put', Body: streamOf(data), ContentLength: data.length })),
  );
  if (put === 'ok') {
    const back = await getBytes(ctx.s3, ctx.bucket, 'crc/put');
    if (back.equals(data)) notes.push('PutObject stored intact');
    else {
      ok = false;
      notes.push(`PutObject CORRUPTED (stored ${back.length} bytes, sent ${data.length})`);
    }
    const viaDefault = await attempt(() => getBytes(ctx.s3Default, ctx.bucket, 'crc/put'));
    notes.push(`GET with default validation → ${viaDefault}`);
  } else {
    ok = false;
    notes.push(`PutObject rejected: ${put}`);
  }

  const part = await attempt(async () => {
    const { UploadId } = await ctx.s3Default.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: 'crc/mpu' }));
    const res = await ctx.s3Default.send(
      new UploadPartCommand({ Bucket: ctx.bucket, Key: 'crc/mpu', UploadId, PartNumber: 1, Body: streamOf(data), ContentLength: data.length }),
    );
    await ctx.s3Default.send(
      new CompleteMultipartUploadCommand({
        Bucket: ctx.bucket,
        Key: 'crc/mpu',
        UploadId,
        MultipartUpload: { Parts: [{ PartNumber: 1, ETag: res.ETag }] },
      }),
    );
  });
  if (part === 'ok') {
    const back = await getBytes(ctx.s3, ctx.bucket, 'crc/mpu');
    if (back.equals(data)) notes.push('UploadPart stored intact');
    else {
      ok = false;
      notes.push(`UploadPart CORRUPTED (stored ${back.length} bytes, sent ${data.length})`);
    }
  } else {
    ok = false;
    notes.push(`multipart rejected: ${part}`);
  }
  return [ok ? 'PASS' : 'FAIL', notes.join('; ')];
}

async function probeHeaders(ctx: Ctx): Promise<Outcome> {
  const data = Buffer.from('headers probe body');
  const expected = {
    ContentType: 'text/plain; charset=utf-8',
    CacheControl: 'max-age=60, public',
    ContentDisposition: 'attachment; filename="a b.txt"',
    ContentEncoding: 'gzip',
    ContentLanguage: 'de-DE',
    ExpiresString: 'Tue, 01 Jan 2030 00:00:00 GMT',
  } as const;
  const metadata = { 'mixed-case': 'Value, with spaces; a=b / c', plain: 'x' };
  await ctx.s3.send(
    new PutObjectCommand({
      Bucket: ctx.bucket,
      Key: 'headers/obj',
      Body: streamOf(data),
      ContentLength: data.length,
      ContentMD5: md5Base64(data),
      ContentType: expected.ContentType,
      CacheControl: expected.CacheControl,
      ContentDisposition: expected.ContentDisposition,
      ContentEncoding: expected.ContentEncoding,
      ContentLanguage: expected.ContentLanguage,
      Expires: new Date(expected.ExpiresString),
      Metadata: { 'Mixed-Case': metadata['mixed-case'], plain: metadata.plain },
    }),
  );

  const compare = (res: HeadObjectCommandOutput | GetObjectCommandOutput): string[] => {
    const bad: string[] = [];
    for (const [field, want] of Object.entries(expected)) {
      const got = res[field as keyof typeof expected];
      if (got !== want) bad.push(`${field}=${JSON.stringify(got)}`);
    }
    if (JSON.stringify(res.Metadata) !== JSON.stringify(metadata)) bad.push(`Metadata=${JSON.stringify(res.Metadata)}`);
    if (res.ContentLength !== data.length) bad.push(`ContentLength=${String(res.ContentLength)}`);
    if (res.ETag !== `"${md5Hex(data)}"`) bad.push(`ETag=${String(res.ETag)}`);
    if (!(res.LastModified instanceof Date)) bad.push('no LastModified');
    return bad;
  };
  const head = compare(await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: 'headers/obj' })));
  const getRes = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: 'headers/obj' }));
  await readAll(getRes.Body);
  const get = compare(getRes);
  const pass = head.length === 0 && get.length === 0;
  return [pass ? 'PASS' : 'FAIL', pass ? 'all 6 headers + metadata + ETag/Length/LastModified exact on HEAD and GET' : `HEAD wrong: ${head.join(', ') || 'none'} | GET wrong: ${get.join(', ') || 'none'}`];
}

async function probeNonAsciiMetadata(ctx: Ctx): Promise<Outcome> {
  const results: string[] = [];
  for (const value of ['héllo wörld', 'emoji 😀']) {
    const put = await attempt(() =>
      ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: 'meta/nonascii', Body: 'x', Metadata: { note: value } })),
    );
    if (put !== 'ok') {
      results.push(`${JSON.stringify(value)}: PUT → ${put}`);
      continue;
    }
    const head = await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key: 'meta/nonascii' }));
    const got = head.Metadata?.['note'];
    results.push(`${JSON.stringify(value)}: ${got === value ? 'round-trips' : `comes back as ${JSON.stringify(got)}`}`);
  }
  return ['INFO', results.join('; ')];
}

async function probeConditionalGet(ctx: Ctx): Promise<Outcome> {
  const data = randomBytes(1000);
  const etag = (await putStream(ctx.s3, ctx.bucket, 'cond/get', data)) ?? '';
  const right = await attempt(() => ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: 'cond/get', IfMatch: etag })));
  const wrong = await attempt(() =>
    ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: 'cond/get', IfMatch: '"00000000000000000000000000000000"' })),
  );
  const ranged = await attempt(() =>
    ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: 'cond/get', IfMatch: '"00000000000000000000000000000000"', Range: 'bytes=0-9' })),
  );
  const noneMatch = await attempt(() => ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: 'cond/get', IfNoneMatch: etag })));
  const pass = right === 'ok' && wrong.endsWith('/412') && ranged.endsWith('/412');
  return [pass ? 'PASS' : 'FAIL', `If-Match right → ${right}; wrong → ${wrong}; wrong+Range → ${ranged}; If-None-Match same → ${noneMatch}`];
}

async function probeRanges(ctx: Ctx): Promise<Outcome> {
  const data = randomBytes(1000);
  await putStream(ctx.s3, ctx.bucket, 'range/obj', data);
  const cases: Array<{ range: string; start: number; end: number; core: boolean }> = [
    { range: 'bytes=0-99', start: 0, end: 99, core: true },
    { range: 'bytes=100-199', start: 100, end: 199, core: true },
    { range: 'bytes=990-', start: 990, end: 999, core: true },
    { range: 'bytes=-100', start: 900, end: 999, core: true },
    { range: 'bytes=950-2000', start: 950, end: 999, core: true },
    { range: 'bytes=-2000', start: 0, end: 999, core: false }, // S3: suffix longer than object = whole object
  ];
  const bad: string[] = [];
  let coreOk = true;
  for (const c of cases) {
    const res = await attempt(async () => {
      const r = await ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: 'range/obj', Range: c.range }));
      const body = await readAll(r.Body);
      const wantRange = `bytes ${c.start}-${c.end}/1000`;
      if (!body.equals(data.subarray(c.start, c.end + 1))) throw new Error(`wrong bytes (${body.length} bytes)`);
      if (r.ContentRange !== wantRange) throw new Error(`Content-Range ${String(r.ContentRange)}`);
    });
    if (res !== 'ok') {
      bad.push(`${c.range} → ${res}`);
      if (c.core) coreOk = false;
    }
  }
  return [coreOk ? 'PASS' : 'FAIL', bad.length === 0 ? `${cases.length}/${cases.length} ranges exact (incl. bytes=-100, bytes=-2000)` : bad.join('; ')];
}

async function probeMultipart(ctx: Ctx): Promise<Outcome> {
  const Key = 'mpu/obj';
  const parts = [randomBytes(5 * MiB), randomBytes(100 * 1024 + 1)];
  const { UploadId } = await ctx.s3.send(
    new CreateMultipartUploadCommand({
      Bucket: ctx.bucket,
      Key,
      ContentType: 'application/x-test',
      CacheControl: 'no-cache',
      ContentDisposition: 'inline',
      Metadata: { color: 'blue' },
    }),
  );
  if (!UploadId) return ['FAIL', 'no UploadId'];
  const uploaded = [];
  for (const [i, part] of parts.entries()) uploaded.push(await uploadPart(ctx.s3, ctx.bucket, Key, UploadId, i + 1, part));
  const partEtagsOk = uploaded.every((u, i) => u.ETag === `"${md5Hex(parts[i] as Buffer)}"`);
  const done = await ctx.s3.send(
    new CompleteMultipartUploadCommand({ Bucket: ctx.bucket, Key, UploadId, MultipartUpload: { Parts: uploaded } }),
  );
  const want = multipartEtag(parts);
  const head = await ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key }));
  const body = await getBytes(ctx.s3, ctx.bucket, Key);

  const notes: string[] = [];
  if (!partEtagsOk) notes.push(`part ETags not md5: ${uploaded.map((u) => u.ETag).join(',')}`);
  notes.push(done.ETag === want ? 'ETag md5-of-md5s-2 ✓' : `ETag ${done.ETag} (S3 would say ${want})`);
  if (head.ETag !== done.ETag) notes.push(`HEAD ETag ${head.ETag} ≠ Complete ETag`);
  if (!body.equals(Buffer.concat(parts))) notes.push('BODY DIFFERS');
  const lost: string[] = [];
  if (head.ContentType !== 'application/x-test') lost.push(`ContentType=${head.ContentType}`);
  if (head.CacheControl !== 'no-cache') lost.push(`CacheControl=${head.CacheControl}`);
  if (head.ContentDisposition !== 'inline') lost.push(`ContentDisposition=${head.ContentDisposition}`);
  if (head.Metadata?.['color'] !== 'blue') lost.push(`Metadata=${JSON.stringify(head.Metadata)}`);
  notes.push(lost.length === 0 ? 'metadata/headers kept' : `lost: ${lost.join(', ')}`);
  const pass = partEtagsOk && done.ETag === want && head.ETag === want && body.equals(Buffer.concat(parts)) && lost.length === 0;
  return [pass ? 'PASS' : 'FAIL', notes.join('; ')];
}

async function probeMinPartSize(ctx: Ctx): Promise<Outcome> {
  const Key = 'mpu/small';
  const { UploadId } = await ctx.s3.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key }));
  const parts = [await uploadPart(ctx.s3, ctx.bucket, Key, UploadId!, 1, randomBytes(1024)), await uploadPart(ctx.s3, ctx.bucket, Key, UploadId!, 2, randomBytes(1024))];
  const result = await attempt(() =>
    ctx.s3.send(new CompleteMultipartUploadCommand({ Bucket: ctx.bucket, Key, UploadId, MultipartUpload: { Parts: parts } })),
  );
  return [result.startsWith('EntityTooSmall/400') ? 'PASS' : 'FAIL', `Complete with two 1 KiB parts → ${result}`];
}

async function probeAbort(ctx: Ctx): Promise<Outcome> {
  const Key = 'mpu/abort';
  const { UploadId } = await ctx.s3.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key }));
  const part = await uploadPart(ctx.s3, ctx.bucket, Key, UploadId!, 1, randomBytes(1024));
  const abort = await attempt(() => ctx.s3.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key, UploadId })));
  const after = await attempt(() => uploadPart(ctx.s3, ctx.bucket, Key, UploadId!, 2, randomBytes(1024)));
  const complete = await attempt(() =>
    ctx.s3.send(new CompleteMultipartUploadCommand({ Bucket: ctx.bucket, Key, UploadId, MultipartUpload: { Parts: [part] } })),
  );
  const pass = abort === 'ok' && after.startsWith('NoSuchUpload/404') && complete.startsWith('NoSuchUpload/404');
  return [pass ? 'PASS' : 'FAIL', `Abort → ${abort}; UploadPart after → ${after}; Complete after → ${complete}`];
}

async function probeListParts(ctx: Ctx): Promise<Outcome> {
  const Key = 'mpu/listparts';
  // Create the object first: a server that mis-routes ListParts to GetObject then shows it.
  await ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key, Body: 'existing object' }));
  const { UploadId } = await ctx.s3.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key }));
  const data = [randomBytes(5 * MiB), randomBytes(2048)];
  const uploaded = [await uploadPart(ctx.s3, ctx.bucket, Key, UploadId!, 1, data[0]!), await uploadPart(ctx.s3, ctx.bucket, Key, UploadId!, 2, data[1]!)];
  let detail: string;
  let pass = false;
  try {
    const res = await ctx.s3.send(new ListPartsCommand({ Bucket: ctx.bucket, Key, UploadId }));
    const got = (res.Parts ?? []).map((p) => `${p.PartNumber}:${p.Size}:${p.ETag}`);
    const want = uploaded.map((u, i) => `${u.PartNumber}:${data[i]!.length}:${u.ETag}`);
    pass = JSON.stringify(got) === JSON.stringify(want);
    detail = pass ? 'both parts listed with size and ETag' : `SILENTLY WRONG: got [${got.join(' ')}] want [${want.join(' ')}]`;
  } catch (error) {
    detail = `ListParts → ${describeError(error)}`;
  }
  await attempt(() => ctx.s3.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key, UploadId })));
  return [pass ? 'PASS' : 'FAIL', detail];
}

async function probeListUploads(ctx: Ctx): Promise<Outcome> {
  const bucket = await createBucket(ctx, 'probe-uploads');
  const { UploadId } = await ctx.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'in/progress' }));
  await ctx.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'plain/object', Body: 'x' }));
  let detail: string;
  let pass = false;
  try {
    const res = await ctx.s3.send(new ListMultipartUploadsCommand({ Bucket: bucket }));
    const ids = (res.Uploads ?? []).map((u) => `${u.Key}:${u.UploadId}`);
    pass = ids.length === 1 && ids[0] === `in/progress:${UploadId}`;
    detail = pass ? 'in-progress upload listed' : `SILENTLY WRONG: Uploads=[${ids.join(', ')}] (expected in/progress:${UploadId})`;
  } catch (error) {
    detail = `ListMultipartUploads → ${describeError(error)}`;
  }
  return [pass ? 'PASS' : 'FAIL', detail];
}

async function probeConditionalPut(ctx: Ctx): Promise<Outcome> {
  await ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: 'cond/put', Body: 'original' }));
  const result = await attempt(() =>
    ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: 'cond/put', Body: 'overwrite', IfNoneMatch: '*' })),
  );
  const body = (await getBytes(ctx.s3, ctx.bucket, 'cond/put')).toString();
  const pass = result.endsWith('/412') && body === 'original';
  return [pass ? 'PASS' : 'FAIL', `If-None-Match:* on existing key → ${result}; object now ${JSON.stringify(body)}`];
}

async function probeTagging(ctx: Ctx): Promise<Outcome> {
  const Key = 'tags/obj';
  const notes: string[] = [];
  await ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key, Body: 'tagged body', Tagging: 'a=1&b=two' }));
  const tagsOf = async () =>
    (await ctx.s3.send(new GetObjectTaggingCommand({ Bucket: ctx.bucket, Key }))).TagSet?.map((t) => `${t.Key}=${t.Value}`).join('&');
  const bodyOf = async () => (await getBytes(ctx.s3, ctx.bucket, Key)).toString();

  let initial = '';
  notes.push(`x-amz-tagging on PUT → GetObjectTagging ${await attempt(async () => (initial = (await tagsOf()) ?? ''))} [${initial}]`);
  notes.push(`PutObjectTagging → ${await attempt(() => ctx.s3.send(new PutObjectTaggingCommand({ Bucket: ctx.bucket, Key, Tagging: { TagSet: [{ Key: 'c', Value: '3' }] } })))}`);
  let after = '';
  notes.push(`GetObjectTagging → ${await attempt(async () => (after = (await tagsOf()) ?? ''))} [${after}]`);
  const bodyAfterPut = await attempt(bodyOf).then((r) => (r === 'ok' ? bodyOf() : r));
  if (bodyAfterPut !== 'tagged body') notes.push(`OBJECT BODY AFTER PutObjectTagging = ${JSON.stringify(bodyAfterPut.slice(0, 60))}`);
  notes.push(`DeleteObjectTagging → ${await attempt(() => ctx.s3.send(new DeleteObjectTaggingCommand({ Bucket: ctx.bucket, Key })))}`);
  const exists = await attempt(() => ctx.s3.send(new HeadObjectCommand({ Bucket: ctx.bucket, Key })));
  if (exists !== 'ok') notes.push(`OBJECT GONE after DeleteObjectTagging (HEAD → ${exists})`);
  const pass = initial === 'a=1&b=two' && after === 'c=3' && bodyAfterPut === 'tagged body' && exists === 'ok';
  return [pass ? 'PASS' : 'FAIL', notes.join('; ')];
}

async function probeVersioning(ctx: Ctx): Promise<Outcome> {
  const notes: string[] = [];
  const bogus = await attempt(() =>
    ctx.s3.send(new GetObjectCommand({ Bucket: ctx.bucket, Key: 'cond/put', VersionId: 'no-such-version-id' })),
  );
  notes.push(`GET with bogus VersionId → ${bogus === 'ok' ? 'IGNORED (current object returned)' : bogus}`);
  const bucket = await createBucket(ctx, 'probe-versioned');
  const enable = await attempt(() =>
    ctx.s3.send(new PutBucketVersioningCommand({ Bucket: bucket, VersioningConfiguration: { Status: 'Enabled' } })),
  );
  notes.push(`PutBucketVersioning → ${enable}`);
  const v1 = await ctx.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v', Body: 'one' }));
  const v2 = await ctx.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'v', Body: 'two' }));
  notes.push(`VersionIds: ${v1.VersionId ?? 'none'} / ${v2.VersionId ?? 'none'}`);
  let old = '';
  if (v1.VersionId) {
    notes.push(`GET v1 → ${await attempt(async () => (old = (await getBytes(ctx.s3, bucket, 'v', { VersionId: v1.VersionId })).toString()))} ${JSON.stringify(old)}`);
  }
  const pass = enable === 'ok' && !!v1.VersionId && v1.VersionId !== v2.VersionId && old === 'one' && bogus !== 'ok';
  return [pass ? 'PASS' : 'FAIL', notes.join('; ')];
}

/** Keys the replicator must carry byte-exactly. Body of each object = its key. */
const AWKWARD_KEYS = [
  'plain',
  'with space',
  'plus+sign',
  'percent%20literal',
  'question?mark',
  'hash#tag',
  'amp&er',
  'eq=ual',
  'emoji-😀',
  'u-ｆ', // U+FF46: UTF-16 order puts it after the emoji below, UTF-8 (S3) order before
  'u-😀',
  'a//b',
  'trailing space ',
  'dir/',
  'prefix',
  'prefix/child',
  'prefix-x',
  'Upper',
  'lower',
  'tilde~',
  'under_score',
  `long/${'k'.repeat(1019)}`, // 1024 bytes
];

async function probeKeys(ctx: Ctx): Promise<Outcome> {
  const bucket = await createBucket(ctx, 'probe-keys');
  const failures: string[] = [];
  const note = (op: string, key: string, what: string) => failures.push(`${op} ${show(key)} → ${what}`);

  for (const key of AWKWARD_KEYS) {
    const put = await attempt(() => putStream(ctx.s3, bucket, key, Buffer.from(key)));
    if (put !== 'ok') note('PUT', key, put);
  }
  for (const key of AWKWARD_KEYS) {
    const get = await attempt(async () => {
      const body = (await getBytes(ctx.s3, bucket, key)).toString();
      if (body !== key) throw new Error(`got object ${show(body)}`);
    });
    if (get !== 'ok') note('GET', key, get);
    const head = await attempt(() => ctx.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    if (head !== 'ok') note('HEAD', key, head);
  }

  const expected = [...AWKWARD_KEYS].sort(byteOrder);
  let listing = 'ok';
  try {
    const { keys, pages } = await listAllKeys(ctx.s3, bucket, 2);
    const missing = expected.filter((k) => !keys.includes(k));
    const extra = keys.filter((k) => !expected.includes(k));
    const dupes = keys.length - new Set(keys).size;
    if (missing.length) failures.push(`LIST missing ${missing.map(show).join(' ')}`);
    if (extra.length) failures.push(`LIST extra ${extra.map(show).join(' ')}`);
    if (dupes) failures.push(`LIST ${dupes} duplicates`);
    const listedInByteOrder = [...keys].sort(byteOrder);
    const i = keys.findIndex((k, n) => k !== listedInByteOrder[n]);
    if (i >= 0) failures.push(`LIST not in byte order (#${i} is ${show(keys[i] ?? '')}, S3 order has ${show(listedInByteOrder[i] ?? '')})`);
    listing = `${keys.length} keys in ${pages} pages`;
  } catch (error) {
    failures.push(`LIST (MaxKeys=2) → ${describeError(error)}`);
  }

  for (const key of AWKWARD_KEYS) {
    const del = await attempt(() => ctx.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })));
    if (del !== 'ok') note('DELETE', key, del);
    const gone = await attempt(() => ctx.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: key })));
    if (gone !== 'NotFound/404') note('HEAD after DELETE', key, gone);
  }
  const missingDelete = await attempt(() => ctx.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: 'never/existed' })));
  if (missingDelete !== 'ok') failures.push(`DELETE of absent key → ${missingDelete} (S3: 204)`);
  const leftovers = await attempt(async () => {
    const { keys } = await listAllKeys(ctx.s3, bucket, 1000);
    if (keys.length) throw new Error(`${keys.length} keys still listed after DELETE: ${keys.map(show).join(' ')}`);
  });
  if (leftovers !== 'ok') failures.push(leftovers);

  return failures.length === 0
    ? ['PASS', `${AWKWARD_KEYS.length} keys: PUT/GET/HEAD/DELETE exact; ListObjectsV2 MaxKeys=2 → ${listing}, byte order`]
    : ['FAIL', failures.join('; ')];
}

async function probeCopyKeys(ctx: Ctx): Promise<Outcome> {
  const bucket = await createBucket(ctx, 'probe-copy');
  const failures: string[] = [];
  for (const [i, key] of AWKWARD_KEYS.entries()) {
    const put = await attempt(() => putStream(ctx.s3, bucket, key, Buffer.from(key)));
    if (put !== 'ok') {
      failures.push(`${show(key)} → source PUT failed (${put})`);
      continue;
    }
    const copy = await attempt(async () => {
      await ctx.s3.send(new CopyObjectCommand({ Bucket: bucket, Key: `copy-${i}`, CopySource: `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}` }));
      const body = (await getBytes(ctx.s3, bucket, `copy-${i}`)).toString();
      if (body !== key) throw new Error(`copied ${show(body)}`);
    });
    if (copy !== 'ok') failures.push(`${show(key)} → ${copy}`);
  }
  return failures.length === 0 ? ['PASS', `CopyObject works for all ${AWKWARD_KEYS.length} keys`] : ['FAIL', failures.join('; ')];
}

async function probeEvents(ctx: Ctx): Promise<Outcome> {
  const events = ctx.server.events;
  if (!events) return ['FAIL', 'no in-process event hook'];
  events.clear();
  await ctx.s3.send(new PutObjectCommand({ Bucket: ctx.bucket, Key: 'ev/put', Body: 'x' }));
  const { UploadId } = await ctx.s3.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: 'ev/mpu' }));
  const part = await uploadPart(ctx.s3, ctx.bucket, 'ev/mpu', UploadId!, 1, randomBytes(10));
  await ctx.s3.send(new CompleteMultipartUploadCommand({ Bucket: ctx.bucket, Key: 'ev/mpu', UploadId, MultipartUpload: { Parts: [part] } }));
  await attempt(() => ctx.s3.send(new CopyObjectCommand({ Bucket: ctx.bucket, Key: 'ev/copy', CopySource: `${ctx.bucket}/ev/put` })));
  await ctx.s3.send(new DeleteObjectCommand({ Bucket: ctx.bucket, Key: 'ev/put' }));
  await new Promise((r) => setTimeout(r, 50));
  const seen = events.read();
  const has = (key: string, kind: RegExp) => seen.some((e) => e.endsWith(` ${key}`) && kind.test(e));
  const created = /^(uploaded|ObjectCreated)/;
  const missing = [
    has('ev/put', created) ? '' : 'put',
    has('ev/mpu', created) ? '' : 'multipart complete',
    has('ev/copy', /^(copied|uploaded|ObjectCreated)/) ? '' : 'copy',
    has('ev/put', /^(deleted|ObjectRemoved)/) ? '' : 'delete',
  ].filter(Boolean);
  return [missing.length === 0 ? 'PASS' : 'FAIL', `${missing.length ? `missing: ${missing.join(', ')}; ` : ''}saw [${seen.join(' | ')}]`];
}

async function probeBucketNotifications(ctx: Ctx): Promise<Outcome> {
  const bucket = await createBucket(ctx, 'probe-notify');
  let queueArn = 'arn:aws:sqs:us-east-1:000000000000:notify';
  let queueUrl: string | undefined;
  if (ctx.server.sqs) {
    queueUrl = (await ctx.sqs.send(new CreateQueueCommand({ QueueName: 'notify' }))).QueueUrl;
    const attrs = await ctx.sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }));
    queueArn = attrs.Attributes?.QueueArn ?? queueArn;
  }
  const put = await attempt(() =>
    ctx.s3.send(
      new PutBucketNotificationConfigurationCommand({
        Bucket: bucket,
        NotificationConfiguration: { QueueConfigurations: [{ QueueArn: queueArn, Events: ['s3:ObjectCreated:*'] }] },
      }),
    ),
  );
  let delivered = 'no queue to check';
  if (queueUrl) {
    await ctx.s3.send(new PutObjectCommand({ Bucket: bucket, Key: 'n', Body: 'x' }));
    const res = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl: queueUrl, WaitTimeSeconds: 1 }));
    delivered = `${res.Messages?.length ?? 0} messages delivered to SQS`;
  }
  const pass = delivered.startsWith('1 ');
  return [pass ? 'PASS' : 'FAIL', `PutBucketNotificationConfiguration → ${put === 'ok' ? 'accepted' : put}; ${delivered}`];
}

async function probeSpeedBig(ctx: Ctx): Promise<Outcome> {
  const bucket = await createBucket(ctx, 'probe-speed');
  const data = randomBytes(64 * MiB);
  let start = performance.now();
  const put = await attempt(() => putStream(ctx.s3, bucket, 'big', data));
  const putMs = ms(start);
  if (put !== 'ok') return ['FAIL', `64 MiB single PutObject → ${put} after ${putMs} ms`];
  start = performance.now();
  const res = await ctx.s3.send(new GetObjectCommand({ Bucket: bucket, Key: 'big' }));
  const hash = createHash('md5');
  let size = 0;
  for await (const chunk of res.Body as AsyncIterable<Uint8Array>) {
    hash.update(chunk);
    size += chunk.length;
  }
  const getMs = ms(start);
  const intact = size === data.length && hash.digest('hex') === md5Hex(data);
  return [
    intact ? 'PASS' : 'FAIL',
    `PUT ${putMs} ms (${rate(data.length, putMs)} MiB/s), GET ${getMs} ms (${rate(data.length, getMs)} MiB/s)${intact ? '' : ', BODY DIFFERS'}`,
  ];
}

async function probeSpeedMultipart(ctx: Ctx): Promise<Outcome> {
  const bucket = await createBucket(ctx, 'probe-speed-mpu');
  const parts = Array.from({ length: 8 }, () => randomBytes(8 * MiB));
  const start = performance.now();
  const { UploadId } = await ctx.s3.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: 'big-mpu' }));
  const uploaded = await Promise.all(parts.map((p, i) => uploadPart(ctx.s3, bucket, 'big-mpu', UploadId!, i + 1, p)));
  const done = await ctx.s3.send(new CompleteMultipartUploadCommand({ Bucket: bucket, Key: 'big-mpu', UploadId, MultipartUpload: { Parts: uploaded } }));
  const putMs = ms(start);
  const intact = (await getBytes(ctx.s3, bucket, 'big-mpu')).equals(Buffer.concat(parts));
  return [intact ? 'INFO' : 'FAIL', `8 × 8 MiB parts, all in flight: ${putMs} ms (${rate(64 * MiB, putMs)} MiB/s), ETag ${done.ETag}${intact ? '' : ', BODY DIFFERS'}`];
}

async function probeBodyLimit(ctx: Ctx): Promise<Outcome> {
  const accepted: string[] = [];
  const rejected: string[] = [];
  for (const size of [8, 11, 12, 16, 32]) {
    const data = Buffer.alloc(size * MiB, size);
    const put = await attempt(() => putStream(ctx.s3, ctx.bucket, `limit/${size}`, data));
    if (put === 'ok') accepted.push(`${size}`);
    else rejected.push(`${size} (${put.replace(/ with a body.*/, '')})`);
  }
  const { UploadId } = await ctx.s3.send(new CreateMultipartUploadCommand({ Bucket: ctx.bucket, Key: 'limit/mpu' }));
  const part = await attempt(() => uploadPart(ctx.s3, ctx.bucket, 'limit/mpu', UploadId!, 1, Buffer.alloc(16 * MiB)));
  await attempt(() => ctx.s3.send(new AbortMultipartUploadCommand({ Bucket: ctx.bucket, Key: 'limit/mpu', UploadId })));
  return [
    rejected.length === 0 && part === 'ok' ? 'PASS' : 'FAIL',
    `PutObject MiB accepted [${accepted.join(', ')}] rejected [${rejected.join(', ')}]; 16 MiB UploadPart → ${part}`,
  ];
}

async function probeSpeedSmall(ctx: Ctx): Promise<Outcome> {
  const bucket = await createBucket(ctx, 'probe-small');
  const count = 500;
  const concurrency = 16;
  const data = randomBytes(4096);
  let next = 0;
  const errors: string[] = [];
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        const key = `small/${String(next++).padStart(4, '0')}`;
        const r = await attempt(() => putStream(ctx.s3, bucket, key, data));
        if (r !== 'ok') errors.push(r);
      }
    }),
  );
  const putMs = ms(start);
  const listed = await attempt(async () => {
    const { keys } = await listAllKeys(ctx.s3, bucket, 1000);
    if (keys.length !== count) throw new Error(`listed ${keys.length}`);
  });
  const pass = errors.length === 0 && listed === 'ok';
  return [
    pass ? 'PASS' : 'FAIL',
    `${count} PUTs (${concurrency} in flight): ${putMs} ms = ${Math.round((count * 1000) / putMs)} PUT/s${errors.length ? `, ${errors.length} errors e.g. ${errors[0]}` : ''}${listed === 'ok' ? '' : `; list: ${listed}`}`,
  ];
}

// ---------------------------------------------------------------------------
// SQS probes (servers that emulate SQS)
// ---------------------------------------------------------------------------

async function probeSqsBasic(ctx: Ctx): Promise<Outcome> {
  const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: 'basic' }));
  await ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'hello', MessageAttributes: { kind: { DataType: 'String', StringValue: 'greeting' } } }));
  const got = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ['All'] }));
  const msg = got.Messages?.[0];
  if (!msg || msg.Body !== 'hello') return ['FAIL', `received ${JSON.stringify(got.Messages)}`];
  await ctx.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: msg.ReceiptHandle }));
  const empty = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
  const attrOk = msg.MessageAttributes?.['kind']?.StringValue === 'greeting';
  const pass = attrOk && !empty.Messages?.length;
  return [pass ? 'PASS' : 'FAIL', `create/send/receive/delete ok; attributes ${attrOk ? 'kept' : 'lost'}; after delete ${empty.Messages?.length ?? 0} left; QueueUrl ${QueueUrl}`];
}

async function probeSqsVisibility(ctx: Ctx): Promise<Outcome> {
  const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: 'visibility', Attributes: { VisibilityTimeout: '1' } }));
  await ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'm' }));
  const first = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
  const hidden = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
  await new Promise((r) => setTimeout(r, 1300));
  const again = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, MessageSystemAttributeNames: ['ApproximateReceiveCount'] }));
  const count = again.Messages?.[0]?.Attributes?.ApproximateReceiveCount;
  // ChangeMessageVisibility extends the lease: the message must stay hidden past the queue default.
  await ctx.sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl, ReceiptHandle: again.Messages?.[0]?.ReceiptHandle, VisibilityTimeout: 3 }));
  await new Promise((r) => setTimeout(r, 1300));
  const extended = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
  const pass = first.Messages?.length === 1 && !hidden.Messages?.length && again.Messages?.length === 1 && count === '2' && !extended.Messages?.length;
  return [
    pass ? 'PASS' : 'FAIL',
    `hidden while in flight: ${!hidden.Messages?.length}; reappears after 1 s: ${again.Messages?.length === 1} (ReceiveCount ${count}); ChangeMessageVisibility(3 s) holds: ${!extended.Messages?.length}`,
  ];
}

async function probeSqsDlq(ctx: Ctx): Promise<Outcome> {
  const dlq = await ctx.sqs.send(new CreateQueueCommand({ QueueName: 'dead' }));
  const dlqArn = (await ctx.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ['QueueArn'] }))).Attributes?.QueueArn;
  const { QueueUrl } = await ctx.sqs.send(
    new CreateQueueCommand({
      QueueName: 'redriven',
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: '2' }) },
    }),
  );
  await ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'poison' }));
  const receipts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const r = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, VisibilityTimeout: 0 }));
    receipts.push(r.Messages?.length ?? 0);
  }
  const dead = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq.QueueUrl, WaitTimeSeconds: 1 }));
  const pass = receipts.join(',') === '1,1,0' && dead.Messages?.[0]?.Body === 'poison';
  return [pass ? 'PASS' : 'FAIL', `receives on source [${receipts.join(',')}] with maxReceiveCount 2; DLQ has ${dead.Messages?.length ?? 0}`];
}

async function probeSqsFifo(ctx: Ctx): Promise<Outcome> {
  const { QueueUrl } = await ctx.sqs.send(
    new CreateQueueCommand({ QueueName: 'ordered.fifo', Attributes: { FifoQueue: 'true', ContentBasedDeduplication: 'true' } }),
  );
  for (const body of ['1', '2', '2', '3']) await ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body, MessageGroupId: 'g' }));
  const bodies: string[] = [];
  for (let i = 0; i < 4; i++) {
    const r = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl }));
    const m = r.Messages?.[0];
    if (!m) break;
    bodies.push(m.Body ?? '');
    await ctx.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: m.ReceiptHandle }));
  }
  const pass = bodies.join(',') === '1,2,3';
  return [pass ? 'PASS' : 'FAIL', `sent 1,2,2,3 in one group → received ${bodies.join(',')} (dedup + order)`];
}

async function probeSqsLongPoll(ctx: Ctx): Promise<Outcome> {
  const { QueueUrl } = await ctx.sqs.send(new CreateQueueCommand({ QueueName: 'longpoll' }));
  const start = performance.now();
  setTimeout(() => void ctx.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: 'late' })), 300);
  const r = await ctx.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
  const took = ms(start);
  const pass = r.Messages?.[0]?.Body === 'late' && took < 2000;
  return [pass ? 'PASS' : 'FAIL', `WaitTimeSeconds=5, message sent at 300 ms → returned after ${took} ms with ${r.Messages?.length ?? 0} message(s)`];
}

// ---------------------------------------------------------------------------
// Driver
// ---------------------------------------------------------------------------

const S3_PROBES: Array<[string, (ctx: Ctx) => Promise<Outcome>]> = [
  ['PUT stream + Content-Length + Content-MD5', probeStreamPut],
  ['Content-MD5 mismatch → 400 BadDigest', probeBadMd5],
  ['stream body, SDK default checksums (aws-chunked)', probeDefaultChecksums],
  ['metadata + Content-*/Cache-Control/Expires round-trip', probeHeaders],
  ['non-ASCII metadata value', probeNonAsciiMetadata],
  ['GET If-Match (right → 200, wrong → 412)', probeConditionalGet],
  ['ranged GET bytes (incl. bytes=-100)', probeRanges],
  ['multipart: ETag, body, metadata kept', probeMultipart],
  ['multipart: 5 MiB part minimum', probeMinPartSize],
  ['AbortMultipartUpload', probeAbort],
  ['ListParts', probeListParts],
  ['ListMultipartUploads', probeListUploads],
  ['conditional PUT (If-None-Match: *)', probeConditionalPut],
  ['object tagging', probeTagging],
  ['versioning / GET by VersionId', probeVersioning],
  ['awkward keys: PUT/GET/HEAD/LIST(MaxKeys=2)/DELETE', probeKeys],
  ['CopyObject with awkward keys', probeCopyKeys],
  ['in-process object created/deleted hook', probeEvents],
  ['bucket notifications → SQS', probeBucketNotifications],
  ['request body size limit (PUT 8…32 MiB, 16 MiB part)', probeBodyLimit],
  ['speed: 64 MiB single PUT + GET', probeSpeedBig],
  ['speed: 64 MiB multipart PUT', probeSpeedMultipart],
  ['speed: 500 × 4 KiB PUT', probeSpeedSmall],
];

const SQS_PROBES: Array<[string, (ctx: Ctx) => Promise<Outcome>]> = [
  ['SQS create/send/receive/delete', probeSqsBasic],
  ['SQS visibility timeout', probeSqsVisibility],
  ['SQS dead-letter redrive', probeSqsDlq],
  ['SQS FIFO order + dedup', probeSqsFifo],
  ['SQS long polling', probeSqsLongPoll],
];

function clientsFor(server: RunningServer): Pick<Ctx, 's3' | 's3Default' | 'sqs'> {
  const common = () => ({
    endpoint: server.endpoint,
    region: 'us-east-1',
    credentials: server.credentials,
    maxAttempts: 1,
    // A server that drops a request on the floor must not stall the run.
    requestHandler: new NodeHttpHandler({ requestTimeout: 20_000 }),
  });
  const s3Config = (): S3ClientConfig => ({ ...common(), forcePathStyle: true });
  return {
    s3: new S3Client({ ...s3Config(), requestChecksumCalculation: 'WHEN_REQUIRED', responseChecksumValidation: 'WHEN_REQUIRED' }),
    s3Default: new S3Client(s3Config()),
    sqs: new SQSClient(common()),
  };
}

async function measure(start: () => Promise<RunningServer>): Promise<{ label: string; rows: Row[] }> {
  const startedAt = performance.now();
  const server = await start();
  const startupMs = ms(startedAt);
  const clients = clientsFor(server);
  const ctx: Ctx = { server, ...clients, bucket: 'probe' };
  const rows: Row[] = [{ probe: 'start in-process on 127.0.0.1:0', status: 'INFO', detail: `${startupMs} ms → ${server.endpoint}` }];
  try {
    await createBucket(ctx, ctx.bucket);
    const probes = server.sqs ? [...S3_PROBES, ...SQS_PROBES] : S3_PROBES;
    for (const [name, fn] of probes) {
      const row = await runProbe(name, () => fn(ctx));
      rows.push(row);
      process.stderr.write(`  ${server.label}: ${row.status} ${name}\n`);
    }
  } finally {
    for (const client of Object.values(clients)) client.destroy();
    const stopped = await attempt(() => server.stop());
    rows.push({ probe: 'stop()', status: stopped === 'ok' ? 'PASS' : 'FAIL', detail: stopped });
  }
  return { label: server.label, rows };
}

function printTable(label: string, rows: Row[]): void {
  const cell = (s: string) => s.replaceAll('|', '\\|').replaceAll('\n', ' ');
  console.log(`\n### ${label} (node ${process.version}${process.execArgv.length ? ` ${process.execArgv.join(' ')}` : ''}${process.env['NODE_OPTIONS'] ? ` NODE_OPTIONS=${process.env['NODE_OPTIONS']}` : ''})\n`);
  console.log('| Probe | Result | Details |');
  console.log('|---|---|---|');
  for (const row of rows) console.log(`| ${cell(row.probe)} | ${row.status} | ${cell(row.detail)} |`);
}

function parseArgs(argv: string[]): { only: string[]; fauxqsModule: string | undefined; json: boolean } {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    only: (value('--only') ?? 's3rver,fauxqs').split(','),
    fauxqsModule: value('--fauxqs-module'),
    json: argv.includes('--json'),
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const servers: Record<string, () => Promise<RunningServer>> = {
    s3rver: startS3rver,
    fauxqs: () => startFauxqs(args.fauxqsModule),
  };
  const results = [];
  for (const name of args.only) {
    const start = servers[name];
    if (!start) throw new Error(`unknown server ${name}; choose from ${Object.keys(servers).join(', ')}`);
    results.push(await measure(start));
  }
  if (args.json) console.log(JSON.stringify({ node: process.version, results }, null, 2));
  else for (const { label, rows } of results) printTable(label, rows);
}

await main();
// s3rver leaves a logger handle open; don't let it keep the process alive.
process.exit(0);
