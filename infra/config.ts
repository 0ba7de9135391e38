/**
 * The deployment's settings, read from CDK context (`-c key=value` on the command line, or the
 * "context" of cdk.json / cdk.context.json) and validated before any resource is defined. Every
 * problem is collected and reported together, each naming the context key and the fix, so
 * `cdk synth` / `cdk deploy` fails once with the whole list instead of deploying something that
 * would fail at its first event.
 *
 * Values from the command line are always strings; cdk.json may also hold booleans, numbers and
 * string arrays, which are accepted too.
 */
import { loadLambdaConfig, LambdaConfigurationError } from '../src/lambda/config.js';
import { createKeyFilter, parsePatternList } from '../src/filters/key-filter.js';

export type EventPath = 's3-notifications' | 'eventbridge';

export type SecretSource =
  /** An existing secret: a name (same account and region as the stack) or a complete ARN. */
  | { kind: 'existing'; name: string }
  | { kind: 'existing'; arn: string }
  /** A new secret holding the empty JSON template, for the user to fill in after deploying. */
  | { kind: 'create'; name?: string };

export interface ReplicatorConfig {
  stackName: string;
  sourceBuckets: string[];
  targetBucket: string;
  targetRegion: string;
  targetPrefix?: string;
  secret: SecretSource;
  /** Comma-separated globs, passed to the function as is (INCLUDE_KEYS / EXCLUDE_KEYS). */
  includeKeys?: string;
  excludeKeys?: string;
  replicateDeletes: boolean;
  replicateTags: boolean;
  /** Source buckets have (or had) versioning on: the function reads pinned versions. */
  versioned: boolean;
  /** KMS keys the source objects are encrypted with (SSE-KMS), for kms:Decrypt. */
  sourceKmsKeyArns: string[];
  eventPath: EventPath;
  alarmEmail?: string;
  reservedConcurrency?: number;
  memoryMiB: number;
  timeoutSeconds: number;
  partSizeMiB?: number;
  concurrency?: number;
  logRetentionDays: number;
  lagAlarmSeconds: number;
}

/**
 * Source buckets the s3-notifications path can serve: SQS policies hold at most 20 statements,
 * one per bucket plus the TLS rule and the same-account rule.
 */
export const MAX_NOTIFICATION_BUCKETS = 18;

/** Every context key the app reads, with the one-line help shown in error messages. */
export const CONTEXT_KEYS = {
  sourceBuckets: 'source bucket name(s), comma-separated (existing buckets in the stack\'s region)',
  targetBucket: 'Lyve Cloud bucket to copy into',
  targetRegion: 'Lyve Cloud region, e.g. us-east-1',
  targetPrefix: 'prefix added to every target key (optional); {bucket} in it is the source bucket, e.g. {bucket}/',
  secretName: 'existing Secrets Manager secret name or ARN with lc_access_key, lc_secret_key, lc_endpoint_url',
  createSecret: 'true to create an empty secret to fill in after deploying',
  includeKeys: 'comma-separated globs of keys to copy (optional)',
  excludeKeys: 'comma-separated globs of keys never copied (optional)',
  replicateDeletes: 'true to delete replicas of deleted source objects (default false)',
  replicateTags: 'true to copy object tags and follow tag changes (default false)',
  versioned: 'true to also grant reading explicit object versions (default false; versioned buckets work without it)',
  sourceKmsKeyArns: 'comma-separated KMS key ARNs of SSE-KMS source objects (optional)',
  eventPath: 's3-notifications (default) or eventbridge',
  alarmEmail: 'email address subscribed to the alarms (optional)',
  reservedConcurrency: 'reserved concurrency of the function (optional)',
  memoryMiB: 'function memory in MiB (default 1024)',
  timeoutSeconds: 'function timeout in seconds (default 300)',
  partSizeMiB: 'multipart part size in MiB, 5-4096 (default 16)',
  concurrency: 'parts in flight, 1-64 (default 16)',
  logRetentionDays: 'log retention in days (default 30)',
  lagAlarmSeconds: 'ReplicationLag p99 alarm threshold in seconds (default 900)',
  stackName: 'CloudFormation stack name (default LyveReplicator)',
} as const;

export type ContextKey = keyof typeof CONTEXT_KEYS;

/** Context keys without a namespace that the CDK toolkit itself may put in the context. */
const TOOLKIT_CONTEXT_KEYS = new Set(['acknowledged-issue-numbers']);

/** Lambda's limit on the total size of a function's environment variables. */
export const MAX_ENVIRONMENT_BYTES = 4096;
export const DEFAULT_MEMORY_MIB = 1024;
export const DEFAULT_TIMEOUT_SECONDS = 300;
export const DEFAULT_LOG_RETENTION_DAYS = 30;
export const DEFAULT_LAG_ALARM_SECONDS = 900;
export const DEFAULT_STACK_NAME = 'LyveReplicator';
/** Must match src/engine/limits.ts (DEFAULT_PART_SIZE) and src/lambda/config.ts (FUNCTION_DEFAULT_CONCURRENCY). */
const ENGINE_DEFAULT_PART_SIZE_MIB = 16;
const FUNCTION_DEFAULT_CONCURRENCY = 16;
/**
 * Fixed part of the function's peak memory (README "Known limits"): on Node.js 24, the
 * function's runtime, a copy peaks at part size × concurrency + 120–125 MiB whatever the object
 * size (Node.js 20: + 90 MiB); the rest is room for the Lambda runtime's own client.
 */
export const FIXED_MEMORY_MIB = 200;

/** CloudWatch Logs' allowed retention periods, in days. */
export const LOG_RETENTION_DAYS = [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653] as const;

export class ContextError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid CDK context (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n` +
        problems.map((problem) => `- ${problem}`).join('\n') +
        '\nExample: npx cdk deploy -c sourceBuckets=my-bucket -c targetBucket=my-lyve-bucket -c targetRegion=us-east-1 -c secretName=lyve-cloud/replicator',
    );
    this.name = 'ContextError';
  }
}

/** Source bucket names as S3 accepts them (legacy us-east-1 names included), as the Lambda does. */
const SOURCE_BUCKET_NAME = /^[A-Za-z0-9._-]{3,255}$/;
const TARGET_BUCKET_NAME = /^[a-z0-9.-]{3,63}$/;
const REGION = /^[a-z]{2}(-[a-z0-9]+)+-\d+$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const SECRET_ARN = /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

/**
 * Reads and validates the context. `get` returns the raw context value of a key (undefined when
 * unset); `keys` lists every key present, to catch misspelt ones such as `-c deletes=true`, which
 * would otherwise be ignored silently.
 */
export function readReplicatorConfig(get: (key: string) => unknown, keys: readonly string[] = []): ReplicatorConfig {
  const problems: string[] = [];

  const unknown = keys.filter((key) => !(key in CONTEXT_KEYS) && !key.includes(':') && !key.startsWith('@') && !TOOLKIT_CONTEXT_KEYS.has(key));
  for (const key of unknown) {
    const hint = closestKey(key);
    problems.push(`context key "${key}" is not one this app reads${hint ? `: did you mean ${hint}?` : ''} (keys: ${Object.keys(CONTEXT_KEYS).join(', ')})`);
  }

  const readString = (key: ContextKey): string | undefined => {
    const value = get(key);
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return value.map(String).join(',').trim() || undefined;
    if (typeof value === 'object') {
      problems.push(`${key} must be a string (${CONTEXT_KEYS[key]}), not an object`);
      return undefined;
    }
    return String(value).trim() || undefined;
  };

  const readList = (key: ContextKey): string[] => {
    const value = get(key);
    const items = Array.isArray(value) ? value.map((item) => String(item).trim()) : (readString(key) ?? '').split(',').map((item) => item.trim());
    return [...new Set(items.filter((item) => item.length > 0))];
  };

  const readBoolean = (key: ContextKey, fallback: boolean): boolean => {
    const value = readString(key);
    if (value === undefined) return fallback;
    if (/^(true|1|yes)$/i.test(value)) return true;
    if (/^(false|0|no)$/i.test(value)) return false;
    problems.push(`${key} "${value}" is not a boolean: use true or false (${CONTEXT_KEYS[key]})`);
    return fallback;
  };

  const readInteger = (key: ContextKey, min: number, max: number): number | undefined => {
    const value = readString(key);
    if (value === undefined) return undefined;
    const number = /^\d+$/.test(value) ? Number(value) : NaN;
    if (number >= min && number <= max) return number;
    problems.push(`${key} "${value}" must be a whole number from ${min} to ${max} (${CONTEXT_KEYS[key]})`);
    return undefined;
  };

  const stackName = readString('stackName') ?? DEFAULT_STACK_NAME;
  if (!/^[A-Za-z][A-Za-z0-9-]{0,127}$/.test(stackName)) {
    problems.push(`stackName "${stackName}" is not a valid stack name: start with a letter; letters, digits and hyphens only, at most 128 characters`);
  }

  const sourceBuckets = readList('sourceBuckets');
  if (sourceBuckets.length === 0) {
    problems.push(`sourceBuckets is missing: pass -c sourceBuckets=bucket-a,bucket-b (${CONTEXT_KEYS.sourceBuckets})`);
  }
  const badSources = sourceBuckets.filter((name) => !SOURCE_BUCKET_NAME.test(name));
  if (badSources.length > 0) {
    problems.push(
      `sourceBuckets has invalid bucket names ${badSources.map((name) => `"${name}"`).join(', ')}: list bare bucket names separated by commas (no s3://, ARN or path)`,
    );
  }

  const targetBucket = readString('targetBucket') ?? '';
  if (!targetBucket) {
    problems.push(`targetBucket is missing: pass -c targetBucket=NAME (${CONTEXT_KEYS.targetBucket})`);
  } else if (!TARGET_BUCKET_NAME.test(targetBucket)) {
    problems.push(`targetBucket "${targetBucket}" is not a valid bucket name: 3-63 lowercase letters, digits, dots and hyphens (the bare name, no s3:// or path)`);
  } else if (sourceBuckets.includes(targetBucket)) {
    // Not impossible (another account), but far more often a mistake that would loop.
    problems.push(`targetBucket "${targetBucket}" is also in sourceBuckets: the target is the Lyve Cloud bucket, the sources are the AWS buckets`);
  }

  const targetRegion = readString('targetRegion') ?? '';
  if (!targetRegion) {
    problems.push(`targetRegion is missing: pass -c targetRegion=REGION (${CONTEXT_KEYS.targetRegion}; the region in your Lyve Cloud endpoint URL)`);
  } else if (!REGION.test(targetRegion)) {
    problems.push(`targetRegion "${targetRegion}" is not a region name such as us-east-1 or eu-west-1`);
  }

  const targetPrefix = readString('targetPrefix');
  if (targetPrefix?.startsWith('/')) {
    problems.push(`targetPrefix "${targetPrefix}" starts with "/": remove it (keys have no leading slash; e.g. from-aws/)`);
  }

  const secret = readSecret();

  const includeKeys = readPatterns('includeKeys');
  const excludeKeys = readPatterns('excludeKeys');

  const replicateDeletes = readBoolean('replicateDeletes', false);
  const replicateTags = readBoolean('replicateTags', false);
  const versioned = readBoolean('versioned', false);

  const sourceKmsKeyArns = readList('sourceKmsKeyArns');
  const badKeys = sourceKmsKeyArns.filter((arn) => !KMS_KEY_ARN.test(arn));
  if (badKeys.length > 0) {
    problems.push(
      `sourceKmsKeyArns has values that are not KMS key ARNs (${badKeys.map((arn) => `"${arn}"`).join(', ')}): use arn:aws:kms:REGION:ACCOUNT:key/KEY-ID (aliases cannot be granted)`,
    );
  }

  const eventPathValue = readString('eventPath') ?? 's3-notifications';
  let eventPath: EventPath = 's3-notifications';
  if (eventPathValue === 's3-notifications' || eventPathValue === 'eventbridge') eventPath = eventPathValue;
  else problems.push(`eventPath "${eventPathValue}" is not one of: s3-notifications (default), eventbridge`);
  if (eventPath === 's3-notifications' && sourceBuckets.length > MAX_NOTIFICATION_BUCKETS) {
    problems.push(
      `sourceBuckets lists ${sourceBuckets.length} buckets: S3 notifications need one queue policy statement per bucket and SQS allows 20 (two are the TLS and same-account rules), so at most ${MAX_NOTIFICATION_BUCKETS}; pass -c eventPath=eventbridge (rules for any number of buckets) or split them across stacks`,
    );
  }

  const alarmEmail = readString('alarmEmail');
  if (alarmEmail !== undefined && !EMAIL.test(alarmEmail)) {
    problems.push(`alarmEmail "${alarmEmail}" is not an email address`);
  }

  // Lambda's account limit is 1000 by default; 1 would starve the continuation chain behind a
  // single large object, and the SQS event source needs at least 2 concurrent pollers.
  const reservedConcurrency = readInteger('reservedConcurrency', 2, 10_000);
  const memoryMiB = readInteger('memoryMiB', 128, 10_240) ?? DEFAULT_MEMORY_MIB;
  // At least 60 s: the function stops starting parts 10 s before its deadline, and a 16 MiB part
  // can take seconds on a slow link.
  const timeoutSeconds = readInteger('timeoutSeconds', 60, 900) ?? DEFAULT_TIMEOUT_SECONDS;
  const partSizeMiB = readInteger('partSizeMiB', 5, 4096);
  const concurrency = readInteger('concurrency', 1, 64);

  const buffersMiB = (partSizeMiB ?? ENGINE_DEFAULT_PART_SIZE_MIB) * (concurrency ?? FUNCTION_DEFAULT_CONCURRENCY);
  const neededMiB = Math.ceil(FIXED_MEMORY_MIB + buffersMiB * 1.03);
  if (memoryMiB < neededMiB) {
    problems.push(
      `memoryMiB ${memoryMiB} is below the ${neededMiB} MiB the function can use at peak (${FIXED_MEMORY_MIB} MiB fixed + part size ${partSizeMiB ?? ENGINE_DEFAULT_PART_SIZE_MIB} MiB × concurrency ${concurrency ?? FUNCTION_DEFAULT_CONCURRENCY} + 3 %): raise memoryMiB, or lower partSizeMiB / concurrency`,
    );
  }

  const logRetentionValue = readInteger('logRetentionDays', 1, 3653) ?? DEFAULT_LOG_RETENTION_DAYS;
  let logRetentionDays = DEFAULT_LOG_RETENTION_DAYS;
  if ((LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionValue)) logRetentionDays = logRetentionValue;
  else problems.push(`logRetentionDays ${logRetentionValue} is not a retention CloudWatch Logs offers: use one of ${LOG_RETENTION_DAYS.join(', ')}`);

  const lagAlarmSeconds = readInteger('lagAlarmSeconds', 1, 7 * 24 * 3600) ?? DEFAULT_LAG_ALARM_SECONDS;

  const config: ReplicatorConfig = {
    stackName,
    sourceBuckets,
    targetBucket,
    targetRegion,
    ...(targetPrefix !== undefined && { targetPrefix }),
    secret,
    ...(includeKeys !== undefined && { includeKeys }),
    ...(excludeKeys !== undefined && { excludeKeys }),
    replicateDeletes,
    replicateTags,
    versioned,
    sourceKmsKeyArns,
    eventPath,
    ...(alarmEmail !== undefined && { alarmEmail }),
    ...(reservedConcurrency !== undefined && { reservedConcurrency }),
    memoryMiB,
    timeoutSeconds,
    ...(partSizeMiB !== undefined && { partSizeMiB }),
    ...(concurrency !== undefined && { concurrency }),
    logRetentionDays,
    lagAlarmSeconds,
  };

  // Lambda caps a function's environment at 4 KB in all (keys and values): long key filters or
  // many source buckets must fail here, not at deploy time. Stand-ins of realistic length for
  // the values known only at deploy time.
  const standIns = {
    queueUrl: 'https://sqs.ap-southeast-2.amazonaws.com/123456789012/LyveReplicator-QueuesQueueD811C857-AbCdEfGhIjKl',
    secretId: config.secret.kind === 'existing' ? ('arn' in config.secret ? config.secret.arn : config.secret.name) : `arn:aws:secretsmanager:ap-southeast-2:123456789012:secret:${config.secret.name ?? 'QueuesSecret0123456789AB-AbCdEfGhIjKl'}-AbCdEf`,
    serviceName: 'lyve-replicator',
    metricsNamespace: 'LyveReplicator',
  };
  const environmentBytes = Object.entries(functionEnvironment(config, standIns)).reduce((sum, [key, value]) => sum + Buffer.byteLength(key) + Buffer.byteLength(value), 0);
  if (environmentBytes > MAX_ENVIRONMENT_BYTES) {
    problems.push(
      `the function's environment would be ~${environmentBytes} bytes, over Lambda's ${MAX_ENVIRONMENT_BYTES}: shorten includeKeys / excludeKeys (${(config.includeKeys ?? '').length + (config.excludeKeys ?? '').length} characters) or split sourceBuckets (${config.sourceBuckets.join(',').length} characters) across stacks (-c stackName=...)`,
    );
  }

  // Belt and braces: the function validates its environment at cold start; run the same check
  // now (with the stand-ins) so a value it would reject fails the synth.
  if (problems.length === 0) {
    try {
      loadLambdaConfig(functionEnvironment(config, standIns));
    } catch (error) {
      const details = error instanceof LambdaConfigurationError ? error.problems : [error instanceof Error ? error.message : String(error)];
      problems.push(...details.map((detail) => `the function would reject its configuration: ${detail}`));
    }
  }

  if (problems.length > 0) throw new ContextError(problems);
  return config;

  function readSecret(): SecretSource {
    const secretName = readString('secretName');
    const create = readBoolean('createSecret', false);
    if (create) {
      if (secretName !== undefined && !SECRET_NAME.test(secretName)) {
        problems.push(`secretName "${secretName}" (the name for the new secret, with createSecret=true) may only use letters, digits and /_+=.@-`);
      }
      return secretName === undefined ? { kind: 'create' } : { kind: 'create', name: secretName };
    }
    if (secretName === undefined) {
      problems.push(
        'secretName is missing: pass -c secretName=NAME_OR_ARN of the Secrets Manager secret holding {"lc_access_key","lc_secret_key","lc_endpoint_url"}, or -c createSecret=true to create an empty one to fill in',
      );
      return { kind: 'existing', name: '' };
    }
    if (secretName.startsWith('arn:')) {
      if (!SECRET_ARN.test(secretName)) {
        problems.push(
          `secretName "${secretName}" is not a complete secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME-ABCDEF, with the 6-character suffix Secrets Manager adds): pass the complete ARN, or just the secret's name`,
        );
      }
      return { kind: 'existing', arn: secretName };
    }
    if (!SECRET_NAME.test(secretName)) {
      problems.push(`secretName "${secretName}" is not a secret name: letters, digits and /_+=.@- only, at most 512 characters (the name, not the secret's value)`);
    }
    return { kind: 'existing', name: secretName };
  }

  function readPatterns(key: 'includeKeys' | 'excludeKeys'): string | undefined {
    const value = readString(key);
    if (value === undefined) return undefined;
    const patterns = parsePatternList(value);
    try {
      createKeyFilter(key === 'includeKeys' ? { include: patterns } : { exclude: patterns });
    } catch (error) {
      problems.push(`${key} has a glob that cannot be compiled (${error instanceof Error ? error.message : String(error)}): fix or remove it`);
    }
    return patterns.length > 0 ? value : undefined;
  }
}

/** The known key closest to a misspelt one (case-insensitive, edit distance ≤ 3). */
function closestKey(key: string): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of Object.keys(CONTEXT_KEYS)) {
    const distance = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (distance <= 3 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  // Common short forms that are far from the full key.
  const aliases: Record<string, ContextKey> = { deletes: 'replicateDeletes', tags: 'replicateTags', memory: 'memoryMiB', timeout: 'timeoutSeconds', secret: 'secretName', email: 'alarmEmail' };
  return best?.key ?? aliases[key.toLowerCase()];
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/**
 * The function's environment for a configuration. `queueUrl` and `secretId` are what the stack
 * knows only at deploy time (tokens in the stack, stand-ins for validation).
 */
export function functionEnvironment(config: ReplicatorConfig, deployed: { queueUrl: string; secretId: string; serviceName?: string; metricsNamespace?: string }): Record<string, string> {
  return {
    TARGET_BUCKET: config.targetBucket,
    TARGET_SECRET_ID: deployed.secretId,
    TARGET_REGION: config.targetRegion,
    ...(config.targetPrefix !== undefined && { TARGET_PREFIX: config.targetPrefix }),
    SOURCE_BUCKETS: config.sourceBuckets.join(','),
    ...(config.includeKeys !== undefined && { INCLUDE_KEYS: config.includeKeys }),
    ...(config.excludeKeys !== undefined && { EXCLUDE_KEYS: config.excludeKeys }),
    REPLICATE_DELETES: String(config.replicateDeletes),
    REPLICATE_TAGS: String(config.replicateTags),
    ...(config.partSizeMiB !== undefined && { PART_SIZE_MIB: String(config.partSizeMiB) }),
    ...(config.concurrency !== undefined && { CONCURRENCY: String(config.concurrency) }),
    CONTINUATION_QUEUE_URL: deployed.queueUrl,
    ...(deployed.serviceName !== undefined && { POWERTOOLS_SERVICE_NAME: deployed.serviceName }),
    ...(deployed.metricsNamespace !== undefined && { POWERTOOLS_METRICS_NAMESPACE: deployed.metricsNamespace }),
    NODE_OPTIONS: '--enable-source-maps',
  };
}
