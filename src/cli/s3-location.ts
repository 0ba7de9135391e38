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

export function formatS3Location(location: S3Location): string {
  return `s3://${location.bucket}/${location.prefix}`;
}
