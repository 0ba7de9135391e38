/**
 * Independent check that the target is an exact copy of the source: lists both buckets and, for
 * every key, reads both bodies in full and compares size, MD5, Content-Type and user metadata.
 */
import { createHash } from 'node:crypto';
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { allInOrder } from '../engine/errors.js';
import { listObjects } from '../engine/list-objects.js';

export interface BucketRef {
  client: S3Client;
  bucket: string;
}

export interface ObjectCheck {
  key: string;
  size?: number;
  md5?: string;
  contentType?: string;
  /** User metadata entries (the replicator's own markers left out). */
  metadataCount?: number;
  /** Empty when the replica is exact. */
  problems: string[];
}

/** User metadata the replicator adds to every replica (see README, "What is copied"). */
const REPLICA_MARKER = /^lyve-replicator-/;

export async function listKeys({ client, bucket }: BucketRef, side: 'source' | 'target'): Promise<string[]> {
  const keys: string[] = [];
  for await (const object of listObjects(client, side, bucket, '')) keys.push(object.key);
  return keys.sort();
}

interface Fingerprint {
  size: number;
  md5: string;
  contentType: string | undefined;
  metadata: Record<string, string>;
}

async function fingerprint({ client, bucket }: BucketRef, key: string): Promise<Fingerprint> {
  const res = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  const body = (await res.Body?.transformToByteArray()) ?? new Uint8Array();
  const metadata = Object.fromEntries(Object.entries(res.Metadata ?? {}).filter(([name]) => !REPLICA_MARKER.test(name)));
  return { size: body.length, md5: createHash('md5').update(body).digest('hex'), contentType: res.ContentType, metadata };
}

/** Compares every key of both buckets; a key on one side only is a problem too. */
export async function compareBuckets(source: BucketRef, target: BucketRef): Promise<ObjectCheck[]> {
  const [sourceKeys, targetKeys] = await allInOrder([listKeys(source, 'source'), listKeys(target, 'target')]);
  const inTarget = new Set(targetKeys);
  const checks: ObjectCheck[] = [];
  for (const key of sourceKeys) {
    if (!inTarget.has(key)) {
      checks.push({ key, problems: ['missing on the target'] });
      continue;
    }
    const [s, t] = await allInOrder([fingerprint(source, key), fingerprint(target, key)]);
    const problems: string[] = [];
    if (s.size !== t.size) problems.push(`size ${t.size}, source ${s.size}`);
    if (s.md5 !== t.md5) problems.push(`MD5 ${t.md5}, source ${s.md5}`);
    if (s.contentType !== t.contentType) problems.push(`Content-Type ${t.contentType}, source ${s.contentType}`);
    if (JSON.stringify(sorted(s.metadata)) !== JSON.stringify(sorted(t.metadata))) {
      problems.push(`metadata ${JSON.stringify(t.metadata)}, source ${JSON.stringify(s.metadata)}`);
    }
    checks.push({ key, size: s.size, md5: s.md5, contentType: s.contentType, metadataCount: Object.keys(s.metadata).length, problems });
  }
  const inSource = new Set(sourceKeys);
  for (const key of targetKeys) if (!inSource.has(key)) checks.push({ key, problems: ['on the target only (not in the source)'] });
  return checks;
}

function sorted(record: Record<string, string>): [string, string][] {
  return Object.entries(record).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}
