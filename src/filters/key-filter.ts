import picomatch from 'picomatch';

export interface KeyFilterOptions {
  /** Globs a key must match (any one of). Empty or absent: every key is included. */
  include?: string[];
  /** Globs that exclude a key (any one of), even when it matches an include. */
  exclude?: string[];
}

/**
 * How keys are matched: the pattern matches the whole key, `*` stays within one `/`-separated
 * segment and `**` spans them, dot-names are ordinary (`*` matches `.env`), a trailing `/` is
 * significant (`*` does not match the folder marker `a/`; `logs/**` matches `logs/` and everything
 * under it but not an object named `logs`), and `\` is an escape, never a path separator.
 */
const GLOB_OPTIONS: picomatch.PicomatchOptions = { dot: true, strictSlashes: true, windows: false };

/** A predicate that passes a key when it matches any include (or there are none) and no exclude. */
export function createKeyFilter({ include = [], exclude = [] }: KeyFilterOptions = {}): (key: string) => boolean {
  const included = include.length > 0 ? picomatch(include, GLOB_OPTIONS) : () => true;
  const excluded = exclude.length > 0 ? picomatch(exclude, GLOB_OPTIONS) : () => false;
  return (key) => included(key) && !excluded(key);
}

/**
 * Splits a comma-separated list, trimming each entry and dropping empty ones. Commas inside
 * braces stay in their pattern, so `photos/*.{jpg,png}, logs/**` is two patterns, not three.
 */
export function parsePatternList(value: string | undefined): string[] {
  const text = value ?? '';
  const entries: string[] = [];
  let current = '';
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text.charAt(i);
    if (char === '\\') {
      current += char + text.charAt(++i); // an escaped character, e.g. \, or \{, is taken as is
      continue;
    }
    if (char === '{') depth++;
    else if (char === '}' && depth > 0) depth--;
    if (char === ',' && depth === 0) {
      entries.push(current);
      current = '';
    } else {
      current += char;
    }
  }
  entries.push(current);
  return entries.map((entry) => entry.trim()).filter((entry) => entry.length > 0);
}
