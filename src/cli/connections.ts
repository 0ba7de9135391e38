import type { S3Client } from '@aws-sdk/client-s3';
import { fromIni } from '@aws-sdk/credential-providers';
import type { AwsCredentialIdentityProvider } from '@smithy/types';
import { ConfigurationError, createSourceClient, createTargetClient } from '../clients/s3-clients.js';
import { TargetSecret } from '../lambda/target-secret.js';
import { UsageError } from './errors.js';

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

export function sourceClient(options: ConnectionOptions): S3Client {
  try {
    return createSourceClient({
      concurrency: options.concurrency,
      ...(options.sourceEndpoint && { endpoint: options.sourceEndpoint }),
      ...(options.sourceRegion && { region: options.sourceRegion }),
      ...(options.sourceProfile && { credentials: fromIni({ profile: options.sourceProfile }) }),
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
export async function targetClient(options: ConnectionOptions, env: NodeJS.ProcessEnv = process.env): Promise<S3Client> {
  let endpoint = options.targetEndpoint ?? env.LC_ENDPOINT_URL?.trim();
  let credentials: { accessKeyId: string; secretAccessKey: string } | AwsCredentialIdentityProvider | undefined;
  const envKeys = env.LC_ACCESS_KEY?.trim() && env.LC_SECRET_KEY?.trim();
  if (options.targetSecretId) {
    const secret = await new TargetSecret({
      secretId: options.targetSecretId,
      ...(options.allowInsecureHttp !== undefined && { allowInsecureHttp: options.allowInsecureHttp }),
    })
      .get()
      .catch((error: unknown) => {
        throw asUsage(error, '--target-secret-id');
      });
    credentials = { accessKeyId: secret.accessKeyId, secretAccessKey: secret.secretAccessKey };
    endpoint = options.targetEndpoint ?? secret.endpoint;
  } else if (options.targetProfile) {
    credentials = fromIni({ profile: options.targetProfile });
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
      ...(options.targetRegion && { region: options.targetRegion }),
      ...(options.allowInsecureHttp !== undefined && { allowInsecureHttp: options.allowInsecureHttp }),
    });
  } catch (error) {
    throw asUsage(error, options.targetEndpoint ? '--target-endpoint' : 'LC_ENDPOINT_URL');
  }
}

function asUsage(error: unknown, name: string): Error {
  if (error instanceof ConfigurationError) {
    return new UsageError(error.message.replace(/^(target|source) endpoint/, name));
  }
  return error instanceof Error ? error : new Error(String(error));
}
