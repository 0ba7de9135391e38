import type { Command } from 'commander';
import { compareObject, recordsListedSource } from '../../engine/compare-object.js';
import { listObjects, type ListedObject } from '../../engine/list-objects.js';
import { writtenWellAfter } from '../../engine/metadata.js';
import { assertNoOverlap, explainConnectionFailure, sourceClient, targetClient } from '../connections.js';
import { allInOrder, errorMessage } from '../../engine/errors.js';
import { EXIT } from '../errors.js';
import { displayKey, formatS3Location, parseS3Pair } from '../s3-location.js';
import { addCommonOptions, keyFilter, type CommonOptions } from './common.js';

interface VerifyOptions extends CommonOptions {
  deep?: boolean;
  tags?: boolean;
}

interface Problem {
  key: string;
  /** `unchecked`: it could not be read to compare (the details say why). */
  problem: 'missing' | 'extra' | 'mismatched' | 'unchecked';
  details?: string[];
}

async function listAll(list: AsyncGenerator<ListedObject>, prefix: string, filter: (key: string) => boolean): Promise<Map<string, ListedObject>> {
  const map = new Map<string, ListedObject>();
  for await (const object of list) {
    const relative = object.key.slice(prefix.length);
    if (filter(relative)) map.set(relative, object);
  }
  return map;
}

/** The same listing, its first page already read (so a refusal surfaces here). */
async function withFirstPageRead(list: AsyncGenerator<ListedObject>): Promise<AsyncGenerator<ListedObject>> {
  const first = await list.next();
  return (async function* () {
    if (first.done) return;
    yield first.value;
    yield* list;
  })();
}

export function registerVerify(program: Command): void {
  addCommonOptions(
    program
      .command('verify')
      .description('report objects missing from, extra on, or different on the target; exit 0 only when identical')
      .argument('<source>', 's3://BUCKET[/PREFIX] on the source')
      .argument('<target>', 's3://BUCKET[/PREFIX] on the target')
      .option('--deep', 'also compare every body (MD5 of a full read) and every copied header')
      .option('--tags', 'also compare object tags (for replicas synced with --copy-tags)'),
  ).action(async (sourceArg: string, targetArg: string, options: VerifyOptions) => {
    const { source, target } = parseS3Pair(sourceArg, targetArg);
    const [src, dst] = [sourceClient(options), await targetClient(options)];
    await assertNoOverlap(source, target, options, dst);
    const filter = keyFilter(options);
    const started = performance.now();
    // Both first pages before anything else: when both sides are misconfigured, the source's
    // error is the one reported, on every run, without waiting out a whole listing.
    const [sourceList, targetList] = await allInOrder([
      withFirstPageRead(listObjects(src, 'source', source.bucket, source.prefix)),
      withFirstPageRead(listObjects(dst, 'target', target.bucket, target.prefix)),
    ]).catch((error: unknown) => {
      throw explainConnectionFailure(error, options);
    });
    const [a, b] = await Promise.all([
      // The source folder's own marker ("photos/") maps to nothing at a target bucket's root.
      listAll(sourceList, source.prefix, (key) => filter(key) && target.prefix + key !== ''),
      listAll(targetList, target.prefix, filter),
    ]).catch((error: unknown) => {
      throw explainConnectionFailure(error, options);
    });

    const common = [...a.keys()].filter((key) => b.has(key));
    const problems: Problem[] = [
      ...[...a.keys()].filter((key) => !b.has(key)).map((key): Problem => ({ key, problem: 'missing' })),
      ...[...b.keys()].filter((key) => !a.has(key)).map((key): Problem => ({ key, problem: 'extra' })),
    ];

    let next = 0;
    await Promise.all(
      Array.from({ length: Math.max(1, Math.min(options.concurrency, common.length)) }, async () => {
        while (next < common.length) {
          const relative = common[next++]!;
          const s = a.get(relative)!;
          const t = b.get(relative)!;
          // Same size and ETag in the listings prove the bytes; the replica's markers naming that
          // source state prove it was copied with its headers (one HEAD). The rest is compared in full.
          if (!options.deep && !options.tags && s.size === t.size && s.etag === t.etag && writtenWellAfter(t, s)) {
            const replica = { client: dst, bucket: target.bucket, key: t.key };
            if (await recordsListedSource(replica, s, source.bucket).catch(() => false)) continue;
          }
          let comparison: Awaited<ReturnType<typeof compareObject>>;
          try {
            comparison = await compareObject(
              { client: src, bucket: source.bucket, key: s.key },
              { client: dst, bucket: target.bucket, key: t.key },
              // The same bytes and headers as an earlier write of the source: exact all the same.
              { deep: options.deep ?? false, tags: options.tags ?? false, contentOnly: true },
            );
          } catch (error) {
            // One object that cannot be read is a finding about that object, not the end of the run.
            problems.push({ key: relative, problem: 'unchecked', details: [errorMessage(error)] });
            continue;
          }
          if (comparison.state === 'different') problems.push({ key: relative, problem: 'mismatched', details: comparison.differences });
          else if (comparison.state === 'missing-target') problems.push({ key: relative, problem: 'missing' });
        }
      }),
    );
    problems.sort((x, y) => (x.key < y.key ? -1 : x.key > y.key ? 1 : 0));
    const counts = {
      source: a.size,
      target: b.size,
      missing: problems.filter((p) => p.problem === 'missing').length,
      extra: problems.filter((p) => p.problem === 'extra').length,
      mismatched: problems.filter((p) => p.problem === 'mismatched').length,
      unchecked: problems.filter((p) => p.problem === 'unchecked').length,
    };
    const identical = problems.length === 0;
    if (options.json) {
      process.stdout.write(
        `${JSON.stringify({ command: 'verify', source: formatS3Location(source), target: formatS3Location(target), deep: options.deep ?? false, identical, counts, seconds: Number(((performance.now() - started) / 1000).toFixed(3)), problems }, null, 2)}\n`,
      );
    } else {
      for (const p of problems) process.stdout.write(`${p.problem.padEnd(10)} ${displayKey(p.key)}${p.details ? `: ${p.details.join('; ')}` : ''}\n`);
      process.stderr.write(
        `${identical ? 'identical' : 'DIFFERENT'}: ${objects(counts.source, 'source')}, ${objects(counts.target, 'target')}, ${counts.missing} missing, ${counts.extra} extra, ${counts.mismatched} mismatched${counts.unchecked ? `, ${counts.unchecked} unchecked` : ''}${options.deep ? ' (deep)' : ''}\n`,
      );
    }
    process.exitCode = identical ? EXIT.ok : EXIT.failures;
  });
}

const objects = (count: number, side: string) => `${count} ${side} object${count === 1 ? '' : 's'}`;
