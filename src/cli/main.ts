#!/usr/bin/env node
/**
 * The `lyve-replicator` binary. The CLI owns its process: it is put in its low-memory settings
 * first, and the program (with the AWS SDK) is loaded after, so that the SDK's code is compiled
 * under them, which is what saves the most (see engine/runtime-memory.ts).
 */
import { enableLowMemoryRuntime } from '../engine/runtime-memory.js';

enableLowMemoryRuntime();
await import('./program.js');
