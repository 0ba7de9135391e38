/**
 * The Lambda entry point (`lyve-replicator/lambda`): the handler, configured from the
 * environment once per container. See README "Lambda" for the variables and event sources.
 */
import { enableReadGarbageCollection } from '../engine/runtime-memory.js';
import { createHandler } from './handler.js';

// The function owns its runtime: free source read buffers as it goes (see engine/runtime-memory.ts).
enableReadGarbageCollection();

export const handler = createHandler();
