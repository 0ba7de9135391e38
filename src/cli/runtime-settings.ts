/**
 * Whether the CLI runs in its low-memory settings (engine/runtime-memory.ts), from
 * `LYVE_REPLICATOR_LOW_MEMORY`: on unless it is `0` (or `false`, `off`, `no`). Off keeps V8's
 * optimising compilers: less CPU per small object, more memory. Throws on any other value.
 */
export function lowMemoryFromEnvironment(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env['LYVE_REPLICATOR_LOW_MEMORY']?.trim().toLowerCase();
  if (value === undefined || value === '' || ['1', 'true', 'on', 'yes'].includes(value)) return true;
  if (['0', 'false', 'off', 'no'].includes(value)) return false;
  throw new Error(`LYVE_REPLICATOR_LOW_MEMORY must be 1 or 0, not "${env['LYVE_REPLICATOR_LOW_MEMORY']}"`);
}
