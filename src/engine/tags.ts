import {
  DeleteObjectTaggingCommand,
  GetObjectTaggingCommand,
  PutObjectTaggingCommand,
  type S3Client,
  type Tag,
} from '@aws-sdk/client-s3';
import { isNotImplemented } from './errors.js';
import { s3Call } from './failures.js';
import type { Destination, PinnedSource } from './transfer.js';
import type { TagsOutcome } from './types.js';

export type TagSet = Array<{ Key: string; Value: string }>;

function normalize(tags: Tag[] | undefined): TagSet {
  return (tags ?? [])
    .map((t) => ({ Key: t.Key ?? '', Value: t.Value ?? '' }))
    .sort((a, b) => (a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0));
}

export function sameTags(a: TagSet, b: TagSet): boolean {
  return a.length === b.length && a.every((t, i) => t.Key === b[i]!.Key && t.Value === b[i]!.Value);
}

/** An object's tags, sorted by key; `unsupported` when the server has no tagging. */
export async function readTags(side: 'source' | 'target', client: S3Client, bucket: string, key: string): Promise<TagSet | 'unsupported'> {
  try {
    const response = await s3Call(side, bucket, 's3:GetObjectTagging', () => client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key })));
    return normalize(response.TagSet);
  } catch (error) {
    if (isNotImplemented(error) || isNotImplemented((error as Error).cause)) return 'unsupported';
    throw error;
  }
}

export async function readSourceTags(source: PinnedSource): Promise<TagSet> {
  const response = await s3Call('source', source.bucket, 's3:GetObjectTagging', () =>
    source.client.send(
      new GetObjectTaggingCommand({
        Bucket: source.bucket,
        Key: source.key,
        ...(source.byVersion && source.state.versionId && { VersionId: source.state.versionId }),
      }),
    ),
  );
  return normalize(response.TagSet);
}

/**
 * Makes the target's tags equal `tags`. `fresh` says the object was just written (so it has no
 * tags and nothing needs reading). A target without tagging support is reported, not fatal.
 */
export async function writeTargetTags(target: Destination, tags: TagSet, fresh: boolean): Promise<TagsOutcome> {
  try {
    if (fresh && tags.length === 0) return 'none';
    if (!fresh) {
      const current = await s3Call(
        'target',
        target.bucket,
        's3:GetObjectTagging',
        () => target.client.send(new GetObjectTaggingCommand({ Bucket: target.bucket, Key: target.key })),
        isNotImplemented,
      );
      if (sameTags(normalize(current.TagSet), tags)) return 'unchanged';
    }
    await s3Call(
      'target',
      target.bucket,
      's3:PutObjectTagging',
      () =>
        tags.length === 0
          ? target.client.send(new DeleteObjectTaggingCommand({ Bucket: target.bucket, Key: target.key }))
          : target.client.send(
              new PutObjectTaggingCommand({ Bucket: target.bucket, Key: target.key, Tagging: { TagSet: tags } }),
            ),
      isNotImplemented,
    );
    return 'copied';
  } catch (error) {
    if (isNotImplemented(error)) return 'unsupported-by-target';
    throw error;
  }
}
