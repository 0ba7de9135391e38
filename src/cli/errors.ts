/**
 * Exit codes of every command (documented in the README):
 * 0 all good; 1 some objects failed or differ; 2 bad usage or configuration; 130 interrupted.
 */
export const EXIT = { ok: 0, failures: 1, usage: 2, interrupted: 130 } as const;

/** A mistake in the command line or environment: printed as one line, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}
