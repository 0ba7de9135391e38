/**
 * The Lambda entry point (`lyve-replicator/lambda`): the handler, configured from the
 * environment once per container. See README "Lambda" for the variables and event sources.
 */
import { createHandler } from './handler.js';

export const handler = createHandler();
