/**
 * The full network-fault scenario (`npm run test:faults`): 200 objects of mixed sizes (0 B,
 * small, ~1 MiB, ten multipart objects of 12–20 MiB) synced through the fault proxy at 10, 15
 * and 20 % faults, with several seeds, each into a fresh target bucket; every object is then
 * read back from both sides directly.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { rgwClients } from '../../support/s3.js';
import { describeResult, runNetworkScenario, seedCorpus, type Corpus } from '../scenario.js';

const OBJECTS = Number(process.env.FAULT_OBJECTS ?? 200);
const RUNS: { seed: number; rate: number }[] = (process.env.FAULT_SEEDS ?? '1,2,3,4')
  .split(',')
  .map((s, i) => ({ seed: Number(s), rate: [0.1, 0.15, 0.2][i % 3]! }));

let corpus: Corpus;
beforeAll(async () => {
  corpus = await seedCorpus(rgwClients().source, OBJECTS, 10, 42);
}, 300_000);

describe(`network faults: ${OBJECTS} objects`, () => {
  it.each(RUNS)('seed $seed at $rate fault rate: every object exact, retries bounded and reported, no upload left open', async ({ seed, rate }) => {
    const result = await runNetworkScenario({ corpus, seed, rate, concurrency: 16, maxRuns: 4 });
    console.log(describeResult('network faults (full)', seed, rate, result));
    expect(result.objects).toBe(OBJECTS);
  }, 600_000);
});
