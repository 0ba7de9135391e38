/**
 * `npm run test:faults`: the whole fault suite, heavy scenarios included (test/faults/**),
 * against the same RGW global setup as `npm test`. Tests run one file at a time so the
 * scenarios' timings are not distorted by each other.
 *
 *   npm run test:faults                                   # 200 objects × seeds 1,2,3,4
 *   FAULT_SEEDS=7,8 FAULT_OBJECTS=500 npm run test:faults # other seeds / sizes
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import base from '../../vitest.config.js';

// Spread, not mergeConfig: that would append to the base `include` instead of replacing it.
export default defineConfig({
  ...base,
  root: fileURLToPath(new URL('../..', import.meta.url)),
  test: {
    ...base.test,
    include: ['test/faults/**/*.test.ts', 'test/faults/**/*.faults.ts'],
    fileParallelism: false,
    testTimeout: 600_000,
  },
});
