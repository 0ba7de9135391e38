#!/usr/bin/env node
/**
 * The `lyve-replicator` binary. The CLI owns its process: it is put in its low-memory settings
 * first (unless LYVE_REPLICATOR_LOW_MEMORY=0), and the program (with the AWS SDK) is loaded
 * after, so that the SDK's code is compiled under them, which is what saves the most (see
 * engine/runtime-memory.ts).
 */
import { enableLowMemoryRuntime, enableReadGarbageCollection } from '../engine/runtime-memory.js';
import { EXIT } from './errors.js';
import { lowMemoryFromEnvironment } from './runtime-settings.js';

try {
  if (lowMemoryFromEnvironment()) enableLowMemoryRuntime();
  else enableReadGarbageCollection();
} catch (error) {
  process.stderr.write(`lyve-replicator: ${(error as Error).message}\n`);
  process.exit(EXIT.usage);
}
await import('./program.js');
