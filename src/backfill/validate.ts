/**
 * Checks for the names and ARNs a backfill job is built from. Every check throws a
 * ConfigurationError whose message names the value (`what`: a flag such as `--role-arn`, or an
 * option name) and shows the expected shape, so the caller never gets a bare AWS 400 later.
 *
 * Shapes follow the S3 Control API model (CreateJob: IAMRoleArn `arn:[^:]+:iam::\d{12}:role/.*`,
 * FunctionArnString, NonEmptyMaxLength64/256String, JobPriority 0–2147483647) and the S3 bucket
 * naming rules. Lambda ARNs must be complete (region and account): the policies and the job
 * region are derived from them.
 */
import { ConfigurationError } from '../clients/s3-clients.js';

export { ConfigurationError };

/** Parts of `arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME[:QUALIFIER]`. */
export interface LambdaFunctionArn {
  arn: string;
  partition: string;
  region: string;
  accountId: string;
  name: string;
  qualifier?: string;
}

/** Parts of `arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME`. */
export interface IamRoleArn {
  arn: string;
  partition: string;
  accountId: string;
  name: string;
}

const FUNCTION_ARN =
  /^arn:(aws[a-zA-Z-]*):lambda:([a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d):(\d{12}):function:([a-zA-Z0-9_-]{1,140})(?::(\$LATEST|[a-zA-Z0-9_-]{1,128}))?$/;
const ROLE_ARN = /^arn:(aws[a-zA-Z-]*):iam::(\d{12}):role\/((?:[\u0021-\u007e]+\/)*)([\w+=,.@-]{1,64})$/;

export function parseFunctionArn(value: string, what = 'function ARN'): LambdaFunctionArn {
  const match = FUNCTION_ARN.exec(value.trim());
  if (!match) {
    throw new ConfigurationError(
      `${what} ${JSON.stringify(value)} is not a Lambda function ARN: write it as ` +
        'arn:aws:lambda:REGION:ACCOUNT_ID:function:NAME (optionally ending in :ALIAS or :VERSION)',
    );
  }
  const [, partition, region, accountId, name, qualifier] = match;
  return {
    arn: value.trim(),
    partition: partition!,
    region: region!,
    accountId: accountId!,
    name: name!,
    ...(qualifier !== undefined && { qualifier }),
  };
}

export function parseRoleArn(value: string, what = 'role ARN'): IamRoleArn {
  const trimmed = value.trim();
  const match = trimmed.length <= 2048 ? ROLE_ARN.exec(trimmed) : null;
  if (!match) {
    throw new ConfigurationError(
      `${what} ${JSON.stringify(value)} is not an IAM role ARN: write it as arn:aws:iam::ACCOUNT_ID:role/NAME ` +
        '(the role S3 Batch Operations assumes to run the job)',
    );
  }
  return { arn: trimmed, partition: match[1]!, accountId: match[2]!, name: match[4]! };
}

export function checkAccountId(value: string, what = 'account ID'): string {
  if (!/^\d{12}$/.test(value.trim())) {
    throw new ConfigurationError(`${what} ${JSON.stringify(value)} is not an AWS account ID: it is 12 digits, e.g. 123456789012`);
  }
  return value.trim();
}

const BUCKET = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Buckets created in us-east-1 before March 2018 may use capitals and underscores, up to 255 characters. */
const LEGACY_BUCKET = /^[A-Za-z0-9][A-Za-z0-9._-]{1,253}[A-Za-z0-9]$/;

/**
 * A general purpose bucket name: 3–63 characters of a-z 0-9 . -, starting and ending with a
 * letter or digit, no `..`, not an IP address. Legacy us-east-1 names are accepted too.
 */
export function checkBucketName(value: string, what = 'bucket'): string {
  const ok = (BUCKET.test(value) || LEGACY_BUCKET.test(value)) && !value.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(value);
  if (!ok) {
    const hint = value.startsWith('arn:') || value.startsWith('s3://') ? ' (give the bare bucket name)' : '';
    throw new ConfigurationError(
      `${what} ${JSON.stringify(value)} is not a valid S3 bucket name${hint}: 3–63 characters of a-z, 0-9, '.' and '-', ` +
        'starting and ending with a letter or digit',
    );
  }
  return value;
}

/** An object key: 1–1,024 bytes of UTF-8. */
export function checkObjectKey(value: string, what = 'object key'): string {
  const bytes = Buffer.byteLength(value);
  if (bytes === 0 || bytes > 1024) {
    throw new ConfigurationError(`${what} ${bytes === 0 ? 'is empty' : `is ${bytes} bytes long`}: an S3 object key is 1–1,024 bytes`);
  }
  return value;
}

export const MAX_PRIORITY = 2_147_483_647;

export function checkPriority(value: number, what = 'priority'): number {
  if (!Number.isInteger(value) || value < 0 || value > MAX_PRIORITY) {
    throw new ConfigurationError(`${what} ${JSON.stringify(value)} must be a whole number from 0 to ${MAX_PRIORITY} (higher runs first)`);
  }
  return value;
}

/** `arn:PARTITION:s3:::bucket` */
export function bucketArn(partition: string, bucket: string): string {
  return `arn:${partition}:s3:::${bucket}`;
}

/** `arn:PARTITION:s3:::bucket/key` (the key as is: ARNs are not URL-encoded). */
export function objectArn(partition: string, bucket: string, key: string): string {
  return `arn:${partition}:s3:::${bucket}/${key}`;
}

/** S3 returns ETags in quotes (`"abc"`); CreateJob examples pass the bare value. */
export function bareEtag(etag: string): string {
  return etag.trim().replace(/^W\//, '').replace(/^"(.*)"$/, '$1');
}
