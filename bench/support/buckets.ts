import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';

export interface Listed {
  key: string;
  size: number;
  eTag: string;
}

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
}

export async function listAll(client: S3Client, bucket: string): Promise<Listed[]> {
  const out: Listed[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token }));
    for (const o of page.Contents ?? []) out.push({ key: o.Key!, size: o.Size ?? 0, eTag: (o.ETag ?? '').replace(/"/g, '') });
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return out;
}

/** Deletes every object (DeleteObjects, else one by one) and the bucket. */
export async function deleteBucket(client: S3Client, bucket: string): Promise<void> {
  const keys = (await listAll(client, bucket)).map((o) => o.key);
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    try {
      const res = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
      if ((res.Errors ?? []).length > 0) throw new Error('some deletes failed');
    } catch {
      let next = 0;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (next < batch.length) await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: batch[next++] }));
        }),
      );
    }
  }
  await client.send(new DeleteBucketCommand({ Bucket: bucket }));
}
