/**
 * Child process of bench/run.ts: the raw limits of the server, with the clients the replicator
 * uses (createSourceClient / createTargetClient, so checksum and signing settings match).
 *
 *   node --import tsx bench/raw-limits.ts INPUT.json     (prints one JSON line)
 *
 * - `get`: GET-only from the source, body discarded: objects up to the part size with one GET,
 *   larger ones as ranged GETs of the part size; `concurrency` requests in flight.
 * - `put`: PUT-only to the target, body from memory (one random block, its MD5 computed once):
 *   objects up to the part size with one PutObject, larger ones as multipart uploads of the part
 *   size; `concurrency` requests in flight. Signed like the replicator's uploads:
 *   UNSIGNED-PAYLOAD with a signed Content-MD5.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { createSourceClient, createTargetClient } from '../src/index.js';

export interface RawInput {
  mode: 'get' | 'put';
  endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  bucket: string;
  objects: { key: string; size: number }[];
  concurrency: number;
  partSize: number;
}

export interface RawOutput {
  seconds: number;
  requests: number;
  bytes: number;
}

type Item = () => Promise<void>;

async function pool(items: Item[], concurrency: number): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await items[next++]!();
    }),
  );
}

function unsignedPayload<C extends { middlewareStack: { add: Function } }>(command: C): C {
  command.middlewareStack.add(
    (next: (args: { request: { headers: Record<string, string> } }) => unknown) =>
      (args: { request: { headers: Record<string, string> } }) => {
        args.request.headers['x-amz-content-sha256'] = 'UNSIGNED-PAYLOAD';
        return next(args);
      },
    { step: 'build', name: 'benchUnsignedPayload' },
  );
  return command;
}

function getItems(client: S3Client, input: RawInput, counter: { bytes: number }): Item[] {
  const items: Item[] = [];
  const read = async (key: string, range?: string) => {
    const { Body } = await client.send(new GetObjectCommand({ Bucket: input.bucket, Key: key, ...(range && { Range: range }) }));
    for await (const chunk of Body as AsyncIterable<Uint8Array>) counter.bytes += chunk.length;
  };
  for (const { key, size } of input.objects) {
    if (size <= input.partSize) items.push(() => read(key));
    else for (let start = 0; start < size; start += input.partSize) {
      const end = Math.min(size, start + input.partSize) - 1;
      items.push(() => read(key, `bytes=${start}-${end}`));
    }
  }
  return items;
}

function putItems(client: S3Client, input: RawInput, counter: { bytes: number }): Item[] {
  const block = randomBytes(input.partSize);
  const md5s = new Map<number, string>();
  const body = (length: number) => {
    if (!md5s.has(length)) md5s.set(length, createHash('md5').update(block.subarray(0, length)).digest('base64'));
    return { Body: block.subarray(0, length), ContentLength: length, ContentMD5: md5s.get(length)! };
  };
  const { bucket } = input;
  const items: Item[] = [];
  for (const { key, size } of input.objects) {
    if (size <= input.partSize) {
      items.push(async () => {
        await client.send(unsignedPayload(new PutObjectCommand({ Bucket: bucket, Key: key, ...body(size) })));
        counter.bytes += size;
      });
      continue;
    }
    // Multipart: the upload is created by whichever part starts first, completed by the last.
    const count = Math.ceil(size / input.partSize);
    let upload: Promise<string> | undefined;
    const etags: string[] = new Array(count);
    let done = 0;
    for (let n = 1; n <= count; n++) {
      items.push(async () => {
        upload ??= client.send(new CreateMultipartUploadCommand({ Bucket: bucket, Key: key })).then((r) => r.UploadId!);
        const UploadId = await upload;
        const length = Math.min(input.partSize, size - (n - 1) * input.partSize);
        const { ETag } = await client.send(
          unsignedPayload(new UploadPartCommand({ Bucket: bucket, Key: key, UploadId, PartNumber: n, ...body(length) })),
        );
        etags[n - 1] = ETag!;
        counter.bytes += length;
        if (++done === count) {
          await client.send(
            new CompleteMultipartUploadCommand({
              Bucket: bucket,
              Key: key,
              UploadId,
              MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) },
            }),
          );
        }
      });
    }
  }
  return items;
}

export async function rawLimit(input: RawInput): Promise<RawOutput> {
  const options = { endpoint: input.endpoint, credentials: input.credentials, concurrency: input.concurrency };
  const client = input.mode === 'get' ? createSourceClient(options) : createTargetClient(options);
  const counter = { bytes: 0 };
  const items = input.mode === 'get' ? getItems(client, input, counter) : putItems(client, input, counter);
  const started = performance.now();
  await pool(items, input.concurrency);
  const seconds = (performance.now() - started) / 1000;
  client.destroy();
  return { seconds, requests: items.length, bytes: counter.bytes };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const input = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as RawInput;
  process.stdout.write(`${JSON.stringify(await rawLimit(input))}\n`);
}
