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
const GLOB_OPTIONS: picomatch.PicomatchOptions = {
  dot: true,
  strictSlashes: true,
  windows: false,
  // `*` and `**` match any character of a key, line breaks included.
  flags: 's',
};

/**
 * picomatch treats `.` and `..` segments as path navigation (no `*` or `**` matches them), but in
 * S3 they are names like any other: they are swapped, in keys and patterns alike, for characters
 * no glob treats specially.
 */
function ordinaryDotSegments(text: string): string {
  if (!text.includes('.')) return text;
  return text
    .split('/')
    .map((segment) => (segment === '.' ? '\uE000' : segment === '..' ? '\uE001' : segment))
    .join('/');
}

/** A predicate that passes a key when it matches any include (or there are none) and no exclude. */
export function createKeyFilter({ include = [], exclude = [] }: KeyFilterOptions = {}): (key: string) => boolean {
  const matcher = (patterns: string[]) => picomatch(patterns.map(ordinaryDotSegments), GLOB_OPTIONS);
  const included = include.length > 0 ? matcher(include) : () => true;
  const excluded = exclude.length > 0 ? matcher(exclude) : () => false;
  return (key) => {
    const name = ordinaryDotSegments(key);
    return included(name) && !excluded(name);
  };
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
