/**
 * The Lambda's configuration, read from environment variables once at cold start
 * (`const config = loadLambdaConfig()` at module scope). Every problem is collected and reported
 * together in one {@link LambdaConfigurationError}, one line per problem. Empty values count as
 * unset; values are trimmed. Names from Seagate's sample Lambda keep working beside the new ones.
 *
 * | Variable                 | Meaning                                                                 | Default     |
 * | ------------------------ | ----------------------------------------------------------------------- | ----------- |
 * | `TARGET_BUCKET`          | Target bucket (3–63 chars: lowercase letters, digits, `.`, `-`)         | required    |
 * | `TARGET_SECRET_ID`       | Name or ARN of the Secrets Manager secret holding `lc_access_key`, `lc_secret_key`, `lc_endpoint_url`. Sample name: `SECRET_KEY` | required unless the `LC_*` stand-ins are set |
 * | `LC_ACCESS_KEY`, `LC_SECRET_KEY`, `LC_ENDPOINT_URL` | Local runs only: the credentials and endpoint directly, instead of a secret. All three or none; not together with a secret | —  |
 * | `TARGET_REGION`          | Target region. Sample name: `REGION`                                    | `us-east-1` |
 * | `TARGET_PREFIX`          | Prepended to every target key (e.g. `from-aws/`); `{bucket}` in it stands for the source bucket (`{bucket}/` keeps several buckets apart); no leading `/` | none |
 * | `INCLUDE_KEYS`           | Comma-separated globs; only matching keys are copied                    | all keys    |
 * | `EXCLUDE_KEYS`           | Comma-separated globs; matching keys are never copied                   | none        |
 * | `SOURCE_BUCKETS`         | Comma-separated source buckets accepted; events from others fail (see `assertSourceBucketAllowed`) | any bucket |
 * | `REPLICATE_DELETES`      | Delete on the target when the source object is deleted                 | `false`     |
 * | `REPLICATE_TAGS`         | Copy object tags                                                        | `false`     |
 * | `PART_SIZE_MIB`          | Multipart part size in MiB, whole number 5–4096                         | `16`        |
 * | `CONCURRENCY`            | Requests in flight per invocation, whole number 1–64                   | `16`        |
 * | `CONTINUATION_QUEUE_URL` | SQS queue URL for continuing large copies; https (http only to loopback) | none       |
 * | `ALLOW_INSECURE_HTTP`    | Let the target endpoint use plain http to a non-loopback host           | `false`     |
 * | `LOG_LEVEL`              | Powertools Logger's own; not read here                                  | —           |
 *
 * Booleans accept `true`/`false`, `1`/`0`, `yes`/`no`, in any case. Globs: see key-filter.ts.
 */
import { ConfigurationError, isLoopbackHost, parseEndpoint } from '../clients/s3-clients.js';
import { DEFAULT_PART_SIZE, LYVE_CLOUD_LIMITS, MiB } from '../engine/limits.js';
import { createKeyFilter, parsePatternList } from '../filters/key-filter.js';
import { checkEndpoint } from './target-secret.js';

/**
 * Requests in flight per invocation (parts of one object, or several small objects of a batch).
 * Higher than the engine's default 8: a Lambda function reaches its target across the internet,
 * where each connection carries only so much (window / round trip), so parts in flight are what
 * makes a large copy fast; 16 × 16 MiB parts fit the default 1024 MB with room to spare.
 */
export const FUNCTION_DEFAULT_CONCURRENCY = 16;

export type CredentialsSource =
  | { kind: 'secret'; secretId: string }
  | { kind: 'environment'; accessKeyId: string; secretAccessKey: string; endpoint: string };

export interface LambdaConfig {
  targetBucket: string;
  targetRegion: string;
  /** '' when unset. */
  targetPrefix: string;
  credentialsSource: CredentialsSource;
  /** True for keys to replicate (INCLUDE_KEYS / EXCLUDE_KEYS). */
  keyFilter: (key: string) => boolean;
  /** Accepted source buckets; undefined accepts any. */
  sourceBuckets?: Set<string>;
  replicateDeletes: boolean;
  replicateTags: boolean;
  /** Bytes. */
  partSize: number;
  concurrency: number;
  continuationQueueUrl?: string;
  allowInsecureHttp: boolean;
}

/** A ConfigurationError listing every problem found, one per line, also available as `problems`. */
export class LambdaConfigurationError extends ConfigurationError {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid Lambda configuration (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((problem) => `- ${problem}`).join('\n'),
    );
    this.name = 'LambdaConfigurationError';
  }
}

const DEFAULT_REGION = 'us-east-1';
const BUCKET_NAME = /^[a-z0-9.-]{3,63}$/;
const BUCKET_RULE = '3–63 characters: lowercase letters, digits, dots and hyphens (the bare name, no s3:// or path)';
/** Source buckets may be legacy us-east-1 names (uppercase, underscores, up to 255 chars). */
const SOURCE_BUCKET_NAME = /^[A-Za-z0-9._-]{3,255}$/;
const STAND_INS = ['LC_ACCESS_KEY', 'LC_SECRET_KEY', 'LC_ENDPOINT_URL'] as const;

export function loadLambdaConfig(env: NodeJS.ProcessEnv = process.env): LambdaConfig {
  const problems: string[] = [];
  const read = (name: string): string | undefined => env[name]?.trim() || undefined;

  /** A variable with a sample-era alias: either may be set, both only if they agree. */
  const readAliased = (name: string, alias: string): string | undefined => {
    const value = read(name);
    const aliased = read(alias);
    if (value !== undefined && aliased !== undefined && value !== aliased) {
      // No values quoted: the sample's SECRET_KEY is easily mistaken for a place for the key itself.
      problems.push(`${name} and ${alias} are both set, to different values: ${alias} is the sample Lambda's name for ${name}; set only ${name}`);
    }
    return value ?? aliased;
  };

  const readBoolean = (name: string, fallback: boolean): boolean => {
    const value = read(name);
    if (value === undefined) return fallback;
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    problems.push(`${name} "${value}" is not a boolean: use true or false (1/0 and yes/no also work); default ${fallback}`);
    return fallback;
  };

  const readInteger = (name: string, min: number, max: number, fallback: number, unit = ''): number => {
    const value = read(name);
    if (value === undefined) return fallback;
    const number = /^\d+$/.test(value) ? Number(value) : NaN;
    if (number >= min && number <= max) return number;
    problems.push(`${name} "${value}" must be a whole number from ${min} to ${max}${unit}; default ${fallback}`);
    return fallback;
  };

  const allowInsecureHttp = readBoolean('ALLOW_INSECURE_HTTP', false);

  const targetBucket = read('TARGET_BUCKET') ?? '';
  if (!targetBucket) {
    problems.push('TARGET_BUCKET is not set: set it to the name of the target bucket to copy objects into');
  } else if (!BUCKET_NAME.test(targetBucket)) {
    problems.push(`TARGET_BUCKET "${targetBucket}" is not a valid bucket name: use ${BUCKET_RULE}`);
  }

  const credentialsSource = readCredentialsSource();

  const targetRegion = readAliased('TARGET_REGION', 'REGION') ?? DEFAULT_REGION;

  const targetPrefix = read('TARGET_PREFIX') ?? '';
  if (targetPrefix.startsWith('/')) {
    problems.push(`TARGET_PREFIX "${targetPrefix}" starts with "/": remove it (keys have no leading slash; e.g. from-aws/)`);
  }
  const placeholder = [...targetPrefix.matchAll(/\$?\{[^}]*\}/g)].map((m) => m[0]).find((p) => p !== '{bucket}');
  if (placeholder) {
    problems.push(`TARGET_PREFIX "${targetPrefix}" contains ${placeholder}: the only placeholder is {bucket} (the source bucket), written exactly so`);
  }

  const keyFilter = readKeyFilter();

  let sourceBuckets: Set<string> | undefined;
  const sourceList = parsePatternList(read('SOURCE_BUCKETS'));
  const invalidSources = sourceList.filter((name) => !SOURCE_BUCKET_NAME.test(name));
  if (invalidSources.length > 0) {
    const names = invalidSources.map((name) => `"${name}"`).join(', ');
    problems.push(`SOURCE_BUCKETS has invalid bucket names ${names}: list bare bucket names (letters, digits, dots, hyphens, underscores; no s3:// or path) separated by commas`);
  }
  if (sourceList.length > 0) sourceBuckets = new Set(sourceList);

  const replicateDeletes = readBoolean('REPLICATE_DELETES', false);
  const replicateTags = readBoolean('REPLICATE_TAGS', false);
  const partSize =
    readInteger('PART_SIZE_MIB', LYVE_CLOUD_LIMITS.minPartSize / MiB, LYVE_CLOUD_LIMITS.maxPartSize / MiB, DEFAULT_PART_SIZE / MiB, ' (MiB)') * MiB;
  const concurrency = readInteger('CONCURRENCY', 1, 64, FUNCTION_DEFAULT_CONCURRENCY);
  const continuationQueueUrl = readQueueUrl();

  if (problems.length > 0) throw new LambdaConfigurationError(problems);
  return {
    targetBucket,
    targetRegion,
    targetPrefix,
    credentialsSource,
    keyFilter,
    ...(sourceBuckets && { sourceBuckets }),
    replicateDeletes,
    replicateTags,
    partSize,
    concurrency,
    ...(continuationQueueUrl && { continuationQueueUrl }),
    allowInsecureHttp,
  };

  function readCredentialsSource(): CredentialsSource {
    const secretId = readAliased('TARGET_SECRET_ID', 'SECRET_KEY');
    const setStandIns = STAND_INS.filter((name) => read(name) !== undefined);
    const secretName = read('TARGET_SECRET_ID') !== undefined ? 'TARGET_SECRET_ID' : 'SECRET_KEY';
    if (secretId !== undefined) {
      if (setStandIns.length > 0) {
        problems.push(`${secretName} and ${setStandIns.join(', ')} are both set, which is ambiguous: keep ${secretName} (the secret) and unset ${setStandIns.join(', ')} (local stand-ins), or the reverse`);
      } else if (!/^[\w/+=.@:-]{1,2048}$/.test(secretId)) {
        problems.push(`${secretName} is not a secret name or ARN (it has characters other than letters, digits and /_+=.@-): set it to the secret's name or ARN, not to a key`);
      }
      return { kind: 'secret', secretId };
    }
    if (setStandIns.length === 0) {
      problems.push(
        "TARGET_SECRET_ID is not set: set it to the name or ARN of the Secrets Manager secret holding lc_access_key, lc_secret_key and lc_endpoint_url (the sample Lambda's SECRET_KEY also works); for local runs only, set LC_ACCESS_KEY, LC_SECRET_KEY and LC_ENDPOINT_URL instead",
      );
      return { kind: 'secret', secretId: '' };
    }
    const missing = STAND_INS.filter((name) => read(name) === undefined);
    if (missing.length > 0) {
      problems.push(`${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not set, but ${setStandIns.join(', ')} ${setStandIns.length === 1 ? 'is' : 'are'}: the local stand-ins LC_ACCESS_KEY, LC_SECRET_KEY and LC_ENDPOINT_URL go together; set all three, or none and TARGET_SECRET_ID`);
    }
    const accessKeyId = read('LC_ACCESS_KEY') ?? '';
    const secretAccessKey = read('LC_SECRET_KEY') ?? '';
    let endpoint = read('LC_ENDPOINT_URL') ?? '';
    if (endpoint) {
      try {
        endpoint = checkEndpoint(endpoint, { name: 'LC_ENDPOINT_URL', allowInsecureHttp, secrets: [accessKeyId, secretAccessKey] });
      } catch (error) {
        problems.push(error instanceof Error ? error.message : String(error));
      }
    }
    return { kind: 'environment', accessKeyId, secretAccessKey, endpoint };
  }

  function readKeyFilter(): (key: string) => boolean {
    const filters = (['INCLUDE_KEYS', 'EXCLUDE_KEYS'] as const).map((name) => {
      const patterns = parsePatternList(read(name));
      try {
        return createKeyFilter(name === 'INCLUDE_KEYS' ? { include: patterns } : { exclude: patterns });
      } catch (error) {
        problems.push(`${name} has a pattern picomatch rejects (${error instanceof Error ? error.message : String(error)}): fix or remove it`);
        return () => true;
      }
    });
    return (key) => filters.every((filter) => filter(key));
  }

  function readQueueUrl(): string | undefined {
    const value = read('CONTINUATION_QUEUE_URL');
    if (value === undefined) return undefined;
    const example = 'e.g. https://sqs.us-east-1.amazonaws.com/123456789012/replicator-continuation';
    if (value.startsWith('arn:')) {
      problems.push(`CONTINUATION_QUEUE_URL "${value}" is a queue ARN: set the queue's URL instead, ${example}`);
      return undefined;
    }
    let url: URL;
    try {
      url = parseEndpoint(value, { name: 'CONTINUATION_QUEUE_URL', allowInsecureHttp: true });
    } catch (error) {
      problems.push(`${error instanceof Error ? error.message : String(error)} (${example})`);
      return undefined;
    }
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      problems.push(`CONTINUATION_QUEUE_URL "${value}" uses plain http: use https:// (http:// only for a local queue on localhost)`);
    } else if (url.pathname.length <= 1) {
      problems.push(`CONTINUATION_QUEUE_URL "${value}" has no queue path: set the full queue URL, ${example}`);
    }
    return value;
  }
}

/**
 * Throws when `bucket` is not among SOURCE_BUCKETS (if that is set): the function was wired to a
 * bucket it was not configured for.
 */
export function assertSourceBucketAllowed(config: Pick<LambdaConfig, 'sourceBuckets'>, bucket: string): void {
  if (config.sourceBuckets && !config.sourceBuckets.has(bucket)) {
    throw new ConfigurationError(
      `Event from source bucket "${bucket}", which is not in SOURCE_BUCKETS (${[...config.sourceBuckets].join(', ')}): add it to SOURCE_BUCKETS, or remove the bucket's event notification for this function`,
    );
  }
}

/** The target key of a source object: TARGET_PREFIX, with `{bucket}` the source bucket, then the key. */
export function targetKeyFor(config: Pick<LambdaConfig, 'targetPrefix'>, bucket: string, key: string): string {
  return `${config.targetPrefix.replaceAll('{bucket}', bucket)}${key}`;
}
