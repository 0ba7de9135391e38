import { lookup } from 'node:dns/promises';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { ConfigurationError, configuredEndpoint, createSourceClient, createTargetClient, type RequestStats } from '../clients/s3-clients.js';
import { isCredentialError, isUnreachable, isWebPage } from '../engine/errors.js';
import { ReplicationFailure } from '../engine/failures.js';
import { NOT_A_LISTING } from '../engine/list-objects.js';
import { SecretUnavailableError, secretLabel, TargetSecret } from '../lambda/target-secret.js';
import { UsageError } from './errors.js';
import { formatS3Location, type S3Location } from './s3-location.js';

/**
 * Credentials from a named profile (~/.aws/config and ~/.aws/credentials). The provider package
 * is loaded when a profile is first used: it is ~4 MiB resident, which every run would pay.
 */
export function profileCredentials(profile: string): AwsCredentialIdentityProvider {
  let provider: Promise<AwsCredentialIdentityProvider> | undefined;
  return async (properties) => {
    provider ??= import('@aws-sdk/credential-providers').then(({ fromIni }) => fromIni({ profile }));
    return (await provider)(properties);
  };
}

/** The connection flags shared by sync, verify and cleanup. */
export interface ConnectionOptions {
  sourceEndpoint?: string;
  sourceProfile?: string;
  sourceRegion?: string;
  targetEndpoint?: string;
  targetProfile?: string;
  targetRegion?: string;
  targetSecretId?: string;
  allowInsecureHttp?: boolean;
  concurrency: number;
}

export const CONNECTION_HELP = `
Source: the standard AWS chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, roles,
AWS_ENDPOINT_URL_S3), or --source-endpoint / --source-profile.
Target: endpoint from --target-endpoint or LC_ENDPOINT_URL; keys from LC_ACCESS_KEY and
LC_SECRET_KEY, --target-profile (a profile in ~/.aws/credentials), or --target-secret-id (the
Secrets Manager secret the Lambda uses: lc_access_key, lc_secret_key, lc_endpoint_url).`;

export function sourceClient(options: ConnectionOptions, stats?: RequestStats): S3Client {
  try {
    return createSourceClient({
      concurrency: options.concurrency,
      ...(stats && { stats }),
      ...(options.sourceEndpoint && { endpoint: options.sourceEndpoint, endpointSource: '--source-endpoint' }),
      ...(options.sourceRegion && { region: options.sourceRegion }),
      ...(options.sourceProfile && { credentials: profileCredentials(options.sourceProfile) }),
      ...(options.allowInsecureHttp !== undefined && { allowInsecureHttp: options.allowInsecureHttp }),
    });
  } catch (error) {
    throw asUsage(error, '--source-endpoint');
  }
}

/**
 * The target client from flags and environment, checking that exactly one source of keys is
 * given and naming the flag or variable to fix otherwise.
 */
export async function targetClient(
  options: ConnectionOptions,
  env: NodeJS.ProcessEnv = process.env,
  stats?: RequestStats,
): Promise<S3Client> {
  let endpoint = options.targetEndpoint ?? env.LC_ENDPOINT_URL?.trim();
  let endpointSource = options.targetEndpoint ? '--target-endpoint' : 'LC_ENDPOINT_URL';
  let credentials: { accessKeyId: string; secretAccessKey: string } | AwsCredentialIdentityProvider | undefined;
  const envKeys = env.LC_ACCESS_KEY?.trim() && env.LC_SECRET_KEY?.trim();
  if (options.targetSecretId) {
    const secret = await new TargetSecret({
      secretId: options.targetSecretId,
      secretIdSource: '--target-secret-id',
      readBy: 'command',
      ...(options.allowInsecureHttp !== undefined && { allowInsecureHttp: options.allowInsecureHttp }),
    })
      .get()
      .catch((error: unknown) => {
        throw asUsage(error, '--target-secret-id');
      });
    credentials = { accessKeyId: secret.accessKeyId, secretAccessKey: secret.secretAccessKey };
    endpoint = options.targetEndpoint ?? secret.endpoint;
    if (!options.targetEndpoint) endpointSource = `lc_endpoint_url in secret ${secretLabel(options.targetSecretId, '--target-secret-id')}`;
  } else if (options.targetProfile) {
    credentials = profileCredentials(options.targetProfile);
  } else if (envKeys) {
    credentials = { accessKeyId: env.LC_ACCESS_KEY!.trim(), secretAccessKey: env.LC_SECRET_KEY!.trim() };
  } else if (env.LC_ACCESS_KEY?.trim() || env.LC_SECRET_KEY?.trim()) {
    throw new UsageError(
      `${env.LC_ACCESS_KEY?.trim() ? 'LC_SECRET_KEY' : 'LC_ACCESS_KEY'} is not set: the target keys LC_ACCESS_KEY and LC_SECRET_KEY go together`,
    );
  } else {
    throw new UsageError(
      'no target credentials: set LC_ACCESS_KEY and LC_SECRET_KEY, or pass --target-profile or --target-secret-id',
    );
  }
  if (!endpoint) {
    throw new UsageError('no target endpoint: pass --target-endpoint or set LC_ENDPOINT_URL (e.g. https://s3.us-east-1.lyvecloud.seagate.com)');
  }
  try {
    return createTargetClient({
      endpoint,
      credentials,
      concurrency: options.concurrency,
      endpointSource,
      ...(stats && { stats }),
      ...(options.targetRegion && { region: options.targetRegion }),
      ...(options.allowInsecureHttp !== undefined && { allowInsecureHttp: options.allowInsecureHttp }),
    });
  } catch (error) {
    throw asUsage(error, options.targetEndpoint ? '--target-endpoint' : 'LC_ENDPOINT_URL');
  }
}

function asUsage(error: unknown, name: string): Error {
  if (error instanceof SecretUnavailableError) {
    // Worded for the Lambda, which retries; here the user runs the command again.
    const reason = error.message.replace(' (will retry)', '');
    return new ReplicationFailure(
      'unavailable',
      `${reason} (${name}): check the network, and that AWS_REGION is the secret's region (or give its full ARN); then try again`,
      true,
      undefined,
      { cause: error },
    );
  }
  if (error instanceof ConfigurationError) {
    return new UsageError(
      error.message
        .replace(/^(target|source) endpoint/, name)
        .replace('allow insecure http explicitly', 'pass --allow-insecure-http to allow it'),
    );
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Where the target keys came from, for a message that says which to fix. */
function targetKeysSource(options: ConnectionOptions): string {
  if (options.targetSecretId) return `secret "${options.targetSecretId}" (--target-secret-id)`;
  if (options.targetProfile) return `profile "${options.targetProfile}" (--target-profile)`;
  return 'LC_ACCESS_KEY and LC_SECRET_KEY';
}

/**
 * A failure of a whole run (listing, connecting), reworded to name the flag or variable to fix:
 * an unresolvable endpoint host and rejected keys are configuration errors (exit 2).
 */
export function explainConnectionFailure(error: unknown, options: ConnectionOptions): unknown {
  const unloadable = credentialsProviderError(error);
  if (unloadable) {
    const profile = /profile: \[([^\]]*)\]/.exec(unloadable.message)?.[1];
    const flag = profile === undefined ? undefined : profile === options.targetProfile ? '--target-profile' : profile === options.sourceProfile ? '--source-profile' : undefined;
    const where = flag ? `profile "${profile}" (${flag})` : profile ? `profile "${profile}"` : 'the AWS credential chain';
    return new UsageError(`could not load credentials from ${where}: ${unloadable.message.split('\n')[0]}; check the profile name and ~/.aws/credentials`);
  }
  if (!(error instanceof ReplicationFailure)) return error;
  const cause = error.cause as { code?: unknown; message?: unknown } | undefined;
  // A host named in an endpoint URL that does not resolve is a typo to fix; AWS S3's own host not
  // resolving is the network's doing (exit 1, try again).
  if (typeof cause?.message === 'string' && cause.message.includes('check the URL')) {
    // A server that refuses or cannot be reached may only be down: exit 1, the URL named all the same.
    if (isUnreachable(cause)) {
      return new ReplicationFailure('unavailable', cause.message, true, String(cause.code), { cause: error });
    }
    return new UsageError(cause.message);
  }
  // The SDK's words for an AWS_REGION (or profile region) that is unset, empty or malformed.
  const region = typeof cause?.message === 'string' ? /^Region is missing|^Region not accepted: region="([^"]*)"/.exec(cause.message) : null;
  if (region) {
    return new UsageError(
      region[1]
        ? `the source region "${region[1]}" (from AWS_REGION or the AWS profile) is not a region name: write it as the service names it, e.g. us-east-1, or pass --source-region`
        : 'no AWS region for the source: set AWS_REGION (or a region in the AWS profile), or pass --source-region',
    );
  }
  if (isWebPage(cause) || (error.errorCode === NOT_A_LISTING && !error.retryable)) {
    const from = error.message.startsWith('the source')
      ? options.sourceEndpoint ? '--source-endpoint' : 'AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL'
      : options.targetEndpoint ? '--target-endpoint' : options.targetSecretId ? `lc_endpoint_url in secret "${options.targetSecretId}"` : 'LC_ENDPOINT_URL';
    return new UsageError(`${error.message} (${from})`);
  }
  if (error.reason === 'target-credentials') {
    return new ReplicationFailure(error.reason, `${error.message} (from ${targetKeysSource(options)})`, false, error.errorCode, { cause: error });
  }
  if (error.reason === 'source-access-denied' && isCredentialError(error.cause)) {
    const from = options.sourceProfile ? `profile "${options.sourceProfile}" (--source-profile)` : 'the AWS credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, role)';
    return new ReplicationFailure(
      'source-access-denied',
      `the source rejected the credentials (${error.errorCode}): check the source keys (from ${from})`,
      false,
      error.errorCode,
      { cause: error },
    );
  }
  return error;
}

/** The SDK's "no credentials from this provider" error, wherever it sits in the cause chain. */
function credentialsProviderError(error: unknown): Error | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    if (e.name === 'CredentialsProviderError') return e;
  }
  return undefined;
}

/** Whether two host names resolve to a common address (false when either does not resolve). */
async function sharesAddress(a: string, b: string): Promise<boolean> {
  const addresses = async (host: string) => new Set((await lookup(host.replace(/^\[|\]$/g, ''), { all: true })).map((entry) => entry.address));
  try {
    const [x, y] = await Promise.all([addresses(a), addresses(b)]);
    return [...x].some((address) => y.has(address));
  } catch {
    return false;
  }
}

/** scheme://host:port of an endpoint, lower-case, default ports made explicit. */
function endpointOrigin(endpoint: { protocol: string; hostname: string; port?: number | undefined }): string {
  const protocol = endpoint.protocol.replace(/:$/, '').toLowerCase();
  const port = endpoint.port ?? (protocol === 'http' ? 80 : 443);
  return `${protocol}://${endpoint.hostname.toLowerCase()}:${port}`;
}

/**
 * Refuses a source and target that are one bucket on one endpoint with one prefix inside the
 * other: the target would hold the source's own objects, so sync would copy its copies again on
 * every run, and --delete would remove source objects as "extra". (rclone refuses the same.)
 */
export async function assertNoOverlap(
  source: S3Location,
  target: S3Location,
  options: ConnectionOptions,
  targetClient: S3Client,
  env: NodeJS.ProcessEnv = process.env,
): Promise<void> {
  if (source.bucket !== target.bucket) return;
  if (!source.prefix.startsWith(target.prefix) && !target.prefix.startsWith(source.prefix)) return;
  const targetEndpoint = await targetClient.config.endpoint?.();
  if (!targetEndpoint) return;
  const sourceUrl = options.sourceEndpoint ?? configuredEndpoint(env)?.url;
  let same: boolean;
  if (sourceUrl) {
    try {
      const url = new URL(sourceUrl);
      const sourceEndpoint = { protocol: url.protocol, hostname: url.hostname, port: url.port ? Number(url.port) : undefined };
      same =
        endpointOrigin(sourceEndpoint) === endpointOrigin(targetEndpoint) ||
        // Two names of one server (localhost and 127.0.0.1): same scheme and port, a shared address.
        (endpointOrigin({ ...sourceEndpoint, hostname: '' }) === endpointOrigin({ ...targetEndpoint, hostname: '' }) &&
          (await sharesAddress(sourceEndpoint.hostname, targetEndpoint.hostname)));
    } catch {
      return; // an invalid source endpoint is reported when it is used
    }
  } else {
    // The source is AWS S3, whose bucket names are global: the same name there is the same bucket.
    same = /(^|\.)amazonaws\.com(\.cn)?$/i.test(targetEndpoint.hostname);
  }
  if (!same) return;
  throw new UsageError(
    `source ${formatS3Location(source)} and target ${formatS3Location(target)} overlap (one bucket on one endpoint, one prefix inside the other): ` +
      'the target would hold the source objects themselves, so a sync would copy its own copies and --delete would remove source objects; ' +
      'choose a target prefix outside the source prefix (e.g. s3://BUCKET/backup/ for a source s3://BUCKET/data/), or another bucket',
  );
}
