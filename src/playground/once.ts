/**
 * `--once`: seed the source, wait for the pipeline to replicate everything, verify the target
 * object by object, then delete one source object and check its replica goes too.
 */
import { DeleteObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { isNotFound } from '../engine/errors.js';
import { formatBytes } from './live-view.js';
import type { LiveView } from './live-view.js';
import { BUCKETS, type Playground } from './playground.js';
import { SAMPLE_KEYS, seedSamples } from './seed.js';
import { compareBuckets } from './verify.js';

export interface OnceProgress {
  /** What the run is doing now, for the timeout message. */
  stage: string;
}

/** Returns true when the target was an exact copy and the delete was replicated. */
export async function runOnce(pg: Playground, view: LiveView, progress: OnceProgress): Promise<boolean> {
  const source = { client: pg.sourceClient, bucket: BUCKETS.source };
  const target = { client: pg.targetClient, bucket: BUCKETS.target };

  progress.stage = 'seeding the source bucket';
  const keys = await seedSamples(pg.sourceClient, BUCKETS.source);
  view.line(`seeded ${keys.length} objects into "${BUCKETS.source}"`);

  progress.stage = `waiting for ${keys.length} objects to be replicated and the queue to drain`;
  await waitUntil(async () => keys.every((key) => isCopied(pg, key)) && (await pg.idle()));

  progress.stage = 'verifying the target';
  view.line('');
  view.line('verify: every key of both buckets, full body MD5, size, Content-Type and user metadata');
  const checks = await compareBuckets(source, target);
  for (const check of checks) {
    const metadata = check.metadataCount ? `, ${check.metadataCount} metadata` : '';
    const detail =
      check.problems.length > 0
        ? check.problems.join('; ')
        : `${formatBytes(check.size ?? 0).padStart(9)}  md5 ${check.md5}  ${check.contentType ?? ''}${metadata}`;
    view.line(`  ${check.problems.length > 0 ? view.paint('red', 'DIFFERENT') : view.paint('green', 'identical')}  ${check.key.padEnd(32)} ${detail}`);
  }
  const identical = checks.filter((check) => check.problems.length === 0).length;
  const exact = identical === checks.length && checks.length === keys.length;
  view.line(`verified: ${identical} of ${checks.length} objects identical${checks.length === keys.length ? '' : ` (expected ${keys.length})`}`);

  const deletedKey = SAMPLE_KEYS.copy;
  progress.stage = `waiting for the replica of "${deletedKey}" to be deleted`;
  await pg.sourceClient.send(new DeleteObjectCommand({ Bucket: BUCKETS.source, Key: deletedKey }));
  await waitUntil(async () => pg.tally.latestFor(deletedKey)?.result.status === 'deleted' && (await pg.idle()));
  const gone = await pg.targetClient
    .send(new HeadObjectCommand({ Bucket: BUCKETS.target, Key: deletedKey }))
    .then(() => false)
    .catch((error: unknown) => (isNotFound(error) ? true : Promise.reject(error)));
  view.line(
    gone
      ? `delete: removed "${deletedKey}" from the source; its replica is gone from the target`
      : view.paint('red', `delete: removed "${deletedKey}" from the source, but the target still has it`),
  );
  return exact && gone;
}

function isCopied(pg: Playground, key: string): boolean {
  const result = pg.tally.latestFor(key)?.result;
  return result?.status === 'replicated' || (result?.status === 'skipped' && result.reason === 'identical');
}

async function waitUntil(condition: () => Promise<boolean>, intervalMs = 100): Promise<void> {
  while (!(await condition())) await new Promise((resolve) => setTimeout(resolve, intervalMs));
}
