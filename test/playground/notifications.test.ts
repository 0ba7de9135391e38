/**
 * The playground's bucket notifications: every object write and delete on the source server
 * becomes an S3 event the Lambda's own parser reads back to the right key and event name.
 */
import {
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  PutObjectCommand,
  UploadPartCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createSourceClient } from '../../src/clients/s3-clients.js';
import { parseS3NotificationRecords } from '../../src/lambda/events/index.js';
import { BucketNotifications } from '../../src/playground/notifications.js';
import { startServer, type Server } from '../../src/playground/servers.js';

let server: Server;
let client: S3Client;
let notifications: BucketNotifications;
const bodies: string[] = [];

beforeAll(async () => {
  notifications = new BucketNotifications({
    bucket: 'watched',
    send: async (body) => void bodies.push(body),
    onError: (error) => bodies.push(`send failed: ${String(error)}`),
  });
  server = await startServer('test', 0, ['watched', 'other'], (app) => notifications.attach(app));
  client = createSourceClient({ endpoint: server.endpoint, credentials: { accessKeyId: 'k', secretAccessKey: 's' } });
});

afterAll(async () => {
  client?.destroy();
  await server?.stop();
});

it('turns Put, Copy, CompleteMultipartUpload, DeleteObject and DeleteObjects into S3 events', async () => {
  const awkward = 'sp ace+plus%25 🌞 x&y<z>.txt';
  await client.send(new PutObjectCommand({ Bucket: 'watched', Key: awkward, Body: 'hello' }));
  await client.send(new PutObjectCommand({ Bucket: 'other', Key: 'ignored.txt', Body: 'not watched' }));
  await client.send(new CopyObjectCommand({ Bucket: 'watched', Key: 'a//copy', CopySource: `watched/${encodeURIComponent(awkward)}` }));
  const { UploadId } = await client.send(new CreateMultipartUploadCommand({ Bucket: 'watched', Key: 'multi' }));
  const { ETag } = await client.send(new UploadPartCommand({ Bucket: 'watched', Key: 'multi', UploadId, PartNumber: 1, Body: 'one part' }));
  await client.send(
    new CompleteMultipartUploadCommand({ Bucket: 'watched', Key: 'multi', UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } }),
  );
  await client.send(new DeleteObjectCommand({ Bucket: 'watched', Key: 'multi' }));
  await client.send(new DeleteObjectsCommand({ Bucket: 'watched', Delete: { Objects: [{ Key: awkward }, { Key: 'a//copy' }] } }));
  await notifications.idle();

  const tasks = bodies.flatMap((body) => parseS3NotificationRecords(JSON.parse(body)).map((record) => record.task));
  expect(tasks.map((t) => [t?.eventName, t?.action, t?.key, t?.size])).toEqual([
    ['ObjectCreated:Put', 'replicate', awkward, 5],
    ['ObjectCreated:Copy', 'replicate', 'a//copy', 5],
    ['ObjectCreated:CompleteMultipartUpload', 'replicate', 'multi', 8],
    ['ObjectRemoved:Delete', 'delete', 'multi', undefined],
    ['ObjectRemoved:Delete', 'delete', awkward, undefined],
    ['ObjectRemoved:Delete', 'delete', 'a//copy', undefined],
  ]);
  const sequencers = tasks.map((t) => t?.sequencer ?? '');
  expect([...sequencers].sort()).toEqual(sequencers);
  expect(tasks.every((t) => t?.bucket === 'watched' && t.eventTime instanceof Date)).toBe(true);
  expect(tasks[0]?.eTag).toBe('5d41402abc4b2a76b9719d911017c592'); // MD5 of "hello"
});
