/**
 * Re-renders a saved benchmark run (bench/results/<date>.json): prints its tables and, with
 * --write-md, rewrites the generated section of BENCHMARKS.md from it. Ratios and targets are
 * recomputed from the runs, so a change to the report's format needs no new measurement.
 *
 *   npx tsx bench/render.ts bench/results/<date>.json [--write-md]
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { computeRatios, computeTargets, consoleReport, writeBenchmarksMd, type Results } from './support/report.js';

const args = process.argv.slice(2);
const file = args.find((a) => !a.startsWith('--'));
if (!file) throw new Error('usage: npx tsx bench/render.ts bench/results/<date>.json [--write-md]');
const root = path.resolve(new URL('..', import.meta.url).pathname);
const results = JSON.parse(readFileSync(file, 'utf8')) as Results;
results.ratios = computeRatios(results.runs);
results.targets = computeTargets(results.runs, results.ratios, results.largeCopy);
process.stdout.write(`${consoleReport(results)}\n`);
if (args.includes('--write-md')) {
  writeBenchmarksMd(path.join(root, 'BENCHMARKS.md'), results, path.relative(root, path.resolve(file)));
  process.stderr.write('updated BENCHMARKS.md\n');
}
