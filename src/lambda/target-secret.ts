import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { ConfigurationError, parseEndpoint } from '../clients/s3-clients.js';
import { isTransient } from '../engine/errors.js';

/** What the target client needs; `endpoint` is normalised (no trailing `/`). */
export interface TargetCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  endpoint: string;
}

export interface TargetSecretOptions {
  /** Name or ARN of the secret (TARGET_SECRET_ID, or the sample's SECRET_KEY). */
  secretId: string;
  /** Where the id came from, for messages that cannot quote it (default: the Lambda's variables). */
  secretIdSource?: string;
  /** Who reads the secret, for messages that say whose permissions to fix (default: the function). */
  readBy?: 'function' | 'command';
  /** Lets lc_endpoint_url use plain http to a non-loopback host (ALLOW_INSECURE_HTTP). */
  allowInsecureHttp?: boolean;
  /** How long a read is reused before Secrets Manager is asked again. Default 300. */
  maxAgeSeconds?: number;
  /** For tests or custom client settings: the Secrets Manager client the provider uses. */
  client?: SecretsManagerClient;
  /** Or a ready-made provider (its cache is then shared with whoever else uses it). */
  provider?: SecretsProvider;
}

export const DEFAULT_SECRET_MAX_AGE_SECONDS = 300;

const FIELDS = ['lc_access_key', 'lc_secret_key', 'lc_endpoint_url'] as const;
const EXPECTED_SHAPE = '{"lc_access_key": "...", "lc_secret_key": "...", "lc_endpoint_url": "https://..."}';

/**
 * The Lyve Cloud credentials kept in a Secrets Manager secret (the same JSON as Seagate's sample
 * Lambda). Reads go through Powertools' SecretsProvider, which caches them for `maxAgeSeconds`;
 * `refresh()` bypasses the cache, for use once after the target rejects the keys (rotation).
 * Every failure is a ConfigurationError naming the secret and the fix, never a secret value.
 */
export class TargetSecret {
  readonly secretId: string;
  private readonly provider: SecretsProvider;
  private readonly maxAge: number;
  private readonly allowInsecureHttp: boolean;
  private refreshing: Promise<TargetCredentials> | undefined;

  /** How messages name the secret: its id, or a description of it if the id looks like a key. */
  readonly label: string;
  private readonly wording: SecretWording;

  constructor(options: TargetSecretOptions) {
    this.secretId = options.secretId;
    this.label = secretLabel(options.secretId, options.secretIdSource);
    this.wording = {
      label: this.label,
      idSource: options.secretIdSource ?? 'TARGET_SECRET_ID / SECRET_KEY',
      reader: options.readBy === 'command' ? 'the AWS identity running this command' : "this function's role",
      region: options.readBy === 'command' ? "AWS_REGION's region" : "this function's region",
    };
    this.maxAge = options.maxAgeSeconds ?? DEFAULT_SECRET_MAX_AGE_SECONDS;
    this.allowInsecureHttp = options.allowInsecureHttp ?? false;
    // A secret named by its ARN is read in the ARN's region, whatever region the reader is in.
    const arnRegion = /^arn:[^:]+:secretsmanager:([a-z0-9-]+):/.exec(options.secretId)?.[1];
    this.provider =
      options.provider ??
      new SecretsProvider(options.client ? { awsSdkV3Client: options.client } : arnRegion ? { clientConfig: { region: arnRegion } } : {});
  }

  /** The credentials, from the cache while it is fresh. */
  get(): Promise<TargetCredentials> {
    return this.load(false);
  }

  /** Re-reads the secret from Secrets Manager; concurrent calls share one read. */
  refresh(): Promise<TargetCredentials> {
    this.refreshing ??= this.load(true).finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async load(forceFetch: boolean): Promise<TargetCredentials> {
    let value: string | Uint8Array | undefined;
    try {
      value = await this.provider.get(this.secretId, { maxAge: this.maxAge, forceFetch });
    } catch (error) {
      throw readError(this.wording, error);
    }
    if (value instanceof Uint8Array) {
      throw new ConfigurationError(
        `Secret ${this.label} holds binary data (SecretBinary): store the credentials as text (SecretString) JSON: ${EXPECTED_SHAPE}`,
      );
    }
    if (!value) {
      throw new ConfigurationError(`Secret ${this.label} has no value: store ${EXPECTED_SHAPE} in it`);
    }
    return parseTargetSecret(this.secretId, value, this.allowInsecureHttp, this.label);
  }
}

/**
 * How messages name a secret: `"<id>"`, unless the id looks like an access or secret key (the
 * sample's SECRET_KEY variable invites pasting the key itself), which is then never quoted.
 */
export function secretLabel(secretId: string, namedBy = 'TARGET_SECRET_ID / SECRET_KEY'): string {
  if (secretId.startsWith('arn:')) return `"${secretId}"`;
  const keyLike = secretId.length >= 16 && /^[A-Za-z0-9+/=]+$/.test(secretId) && /\d/.test(secretId) && /[A-Z]/.test(secretId);
  return keyLike
    ? `named by ${namedBy} (${secretId.length} characters, not shown: it looks like a key, not a secret name)`
    : `"${secretId}"`;
}

/**
 * A secret that could not be read for a reason that may pass (throttling, a Secrets Manager
 * 5xx, the network): worth retrying, unlike a ConfigurationError.
 */
export class SecretUnavailableError extends Error {
  constructor(message: string, options: { cause: unknown }) {
    super(message, options);
    this.name = 'SecretUnavailableError';
  }
}

/** How messages about a secret name it, the setting to fix, whose permissions and which region. */
interface SecretWording {
  label: string;
  idSource: string;
  reader: string;
  region: string;
}

/** Turns a failed read into a message naming the fix; the SDK error stays as `cause`. */
function readError(wording: SecretWording, error: unknown): Error {
  const { label, idSource, reader, region } = wording;
  // Powertools wraps the SDK's error in a GetParameterError whose cause is the original.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
  const name = cause instanceof Error ? cause.name : 'Error';
  const message = cause instanceof Error ? cause.message : String(cause);
  if (message === 'Region is missing') {
    return withCause(`Secret ${label} cannot be read: no AWS region is set; set AWS_REGION to the secret's region, or give the secret's full ARN in ${idSource}`, cause);
  }
  switch (name) {
    case 'ResourceNotFoundException':
      return withCause(
        `Secret ${label} was not found: create it in Secrets Manager (in ${region}, or give its full ARN), or fix ${idSource}`,
        cause,
      );
    case 'AccessDeniedException':
      return withCause(
        `Access to secret ${label} was denied: grant ${reader} secretsmanager:GetSecretValue on it (and kms:Decrypt on its key if it uses a customer managed KMS key)`,
        cause,
      );
    case 'DecryptionFailure':
      return withCause(
        `Secret ${label} could not be decrypted: grant ${reader} kms:Decrypt on the secret's KMS key`,
        cause,
      );
    default:
      if (isTransient(cause)) return new SecretUnavailableError(`Could not read secret ${label} (will retry): ${name}: ${message}`, { cause });
      return new Error(`Could not read secret ${label}: ${name}: ${message}`, { cause });
  }
}

function withCause(message: string, cause: unknown): ConfigurationError {
  return Object.assign(new ConfigurationError(message), { cause });
}

/** Parses and checks the secret's JSON text. Exported for tests and local tooling. */
export function parseTargetSecret(secretId: string, text: string, allowInsecureHttp = false, label = secretLabel(secretId)): TargetCredentials {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's own message quotes the text, i.e. the secret: never pass it on.
    throw new ConfigurationError(`Secret ${label} is not valid JSON: store it as ${EXPECTED_SHAPE}`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    const kind = parsed === null ? 'null' : Array.isArray(parsed) ? 'an array' : `a ${typeof parsed}`;
    throw new ConfigurationError(`Secret ${label} is JSON ${kind}, not an object: store it as ${EXPECTED_SHAPE}`);
  }
  // Surrounding whitespace (a pasted newline) is never part of a key or URL.
  const record = parsed as Record<string, unknown>;
  const field = (name: string): string => {
    const value = record[name];
    return typeof value === 'string' ? value.trim() : '';
  };
  const missing = FIELDS.filter((name) => !field(name));
  if (missing.length > 0) {
    throw new ConfigurationError(
      `Secret ${label} lacks ${missing.join(', ')}: add ${missing.length === 1 ? 'it' : 'them'} to the secret's JSON as non-empty strings (names are case-sensitive)`,
    );
  }
  const accessKeyId = field('lc_access_key');
  const secretAccessKey = field('lc_secret_key');
  const endpoint = checkEndpoint(field('lc_endpoint_url'), {
    name: `lc_endpoint_url in secret ${label}`,
    allowInsecureHttp,
    secrets: [accessKeyId, secretAccessKey],
  });
  return { accessKeyId, secretAccessKey, endpoint };
}

/**
 * Validates a target endpoint with parseEndpoint and returns it without a trailing `/`. Errors
 * name ALLOW_INSECURE_HTTP as the way to allow plain http, and never quote `secrets`, nor a value
 * with no dot that is not localhost: the endpoint field may hold a misplaced key (fields swapped).
 */
export function checkEndpoint(
  value: string,
  options: { name: string; allowInsecureHttp: boolean; secrets: readonly string[] },
): string {
  try {
    return parseEndpoint(value, options).href.replace(/\/$/, '');
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const keyLike = !/\.|localhost/i.test(value) ? [value.trim()] : [];
    throw new ConfigurationError(
      redactSecrets(message, [...options.secrets, ...keyLike]).replace('allow insecure http explicitly', 'set ALLOW_INSECURE_HTTP=true to allow it'),
    );
  }
}

/**
 * Masks secret values in a message, for errors that quote a value which might be a misplaced
 * key (e.g. the secret key pasted as the endpoint). Values under 4 characters are left alone:
 * masking them would garble the message, and they are not real keys.
 */
export function redactSecrets(message: string, secrets: readonly string[]): string {
  return secrets.filter((secret) => secret.length >= 4).reduce((text, secret) => text.split(secret).join('***'), message);
}
