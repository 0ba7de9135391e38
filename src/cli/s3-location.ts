import { UsageError } from './errors.js';

/** A bucket and an optional key prefix, from `s3://bucket[/prefix]`. */
export interface S3Location {
  bucket: string;
  prefix: string;
}

export function parseS3Location(value: string, what: string): S3Location {
  const match = /^s3:\/\/([^/]+)(?:\/(.*))?$/.exec(value);
  if (!match) {
    throw new UsageError(`${what} "${value}" is not an S3 location: write it as s3://BUCKET or s3://BUCKET/PREFIX`);
  }
  return { bucket: match[1]!, prefix: match[2] ?? '' };
}

/**
 * The source and target of a command that maps keys from one to the other (target key = target
 * prefix + key relative to the source prefix). Both prefixes must be folders (empty or ending
 * in "/") or both raw key prefixes: a mix joins keys into names nobody meant ("data/" onto
 * "data" gives "dataphoto.jpg"), and with --delete would delete neighbours ("data-archive/…").
 */
export function parseS3Pair(sourceArg: string, targetArg: string): { source: S3Location; target: S3Location } {
  const source = parseS3Location(sourceArg, 'source');
  const target = parseS3Location(targetArg, 'target');
  const folder = (prefix: string) => prefix === '' || prefix.endsWith('/');
  if (folder(source.prefix) !== folder(target.prefix)) {
    const describe = (what: string, location: S3Location) =>
      location.prefix === '' ? `the ${what} is a whole bucket` : `the ${what} prefix "${location.prefix}" ${folder(location.prefix) ? 'is a folder' : 'does not end with "/"'}`;
    const [raw, other] = folder(source.prefix) ? ['target', target] : ['source', source];
    const bothNamed = source.prefix !== '' && target.prefix !== '';
    throw new UsageError(
      `${describe('source', source)} but ${describe('target', target)}, so keys would be joined into other names: ` +
        `write s3://${other.bucket}/${other.prefix}/ to use the ${raw} as a folder` +
        (bothNamed ? ', or give both sides without the trailing "/" to map a raw key prefix' : ''),
    );
  }
  return { source, target };
}

export function formatS3Location(location: S3Location): string {
  return `s3://${location.bucket}/${location.prefix}`;
}

/** Characters that would forge a line or drive a terminal: C0 and C1 controls, DEL, U+2028/9. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

/**
 * A key as a line of output shows it: as is, or quoted with `\uXXXX` escapes when it holds
 * control characters (a line break would forge a line, an escape sequence drive the terminal).
 */
export function displayKey(key: string): string {
  if (!CONTROL.test(key)) return key;
  const escaped = key
    .replace(/["\\]/g, '\\$&')
    .replace(new RegExp(CONTROL.source, 'g'), (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `"${escaped}"`;
}
