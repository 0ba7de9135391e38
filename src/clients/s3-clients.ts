import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';
import { DEFAULT_CONCURRENCY } from '../engine/limits.js';

/** A configuration problem, with a message that names what to fix. */
export class ConfigurationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigurationError';
  }
}

/** Loopback hosts: localhost and its subdomains (RFC 6761), 127.0.0.0/8, ::1. */
const LOOPBACK = /^((?:[a-z0-9-]+\.)*localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.test(hostname);
}

/**
 * Checks an endpoint URL: it must have an http(s) scheme and a host; plain http is refused for
 * anything but loopback unless `allowInsecureHttp` is set, so keys and data never cross a
 * network in clear by accident.
 */
export function parseEndpoint(endpoint: string, options: { name?: string; allowInsecureHttp?: boolean } = {}): URL {
  const name = options.name ?? 'endpoint';
  const trimmed = endpoint.trim();
  if (!trimmed) throw new ConfigurationError(`${name} is empty: set it to the service URL, e.g. https://s3.us-east-1.lyvecloud.seagate.com`);
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(trimmed)) {
    throw new ConfigurationError(`${name} "${trimmed}" has no scheme: write it as https://${trimmed}`);
  }
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new ConfigurationError(`${name} "${trimmed}" is not a valid URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new ConfigurationError(`${name} "${trimmed}" must use https:// (or http:// for a local server)`);
  }
  if (url.username || url.password) {
    throw new ConfigurationError(`${name} must not contain credentials; pass the keys separately`);
  }
  if (url.protocol === 'http:' && !isLoopbackHost(url.hostname) && !options.allowInsecureHttp) {
    throw new ConfigurationError(
      `${name} "${url.origin}" uses plain http to a non-loopback host: use https://, or allow insecure http explicitly`,
    );
  }
  return url;
}

export interface S3ClientOptions {
  /** Service URL; for AWS leave it out and the SDK's own resolution (incl. AWS_ENDPOINT_URL_S3) applies. */
  endpoint?: string;
  region?: string;
  credentials?: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  /** Requests this client will have in flight at once; sizes the connection pool. */
  concurrency?: number;
  /** Path-style addressing (bucket in the path). Default: true for custom endpoints. */
  forcePathStyle?: boolean;
  allowInsecureHttp?: boolean;
  /** Total attempts per request, including the first (default 5). */
  maxAttempts?: number;
  /** Milliseconds to establish a connection (default 5,000). */
  connectionTimeout?: number;
  /** Milliseconds a socket may stay idle mid-request before it is dropped and retried (default 60,000). */
  socketTimeout?: number;
}

function requestHandler(concurrency: number, options: S3ClientOptions): NodeHttpHandler {
  // Keep-alive pool sized to the work: one socket per request in flight plus a few for HEADs.
  const agentOptions = { keepAlive: true, maxSockets: concurrency + 4, maxFreeSockets: concurrency + 4 };
  return new NodeHttpHandler({
    httpAgent: new HttpAgent(agentOptions),
    httpsAgent: new HttpsAgent(agentOptions),
    connectionTimeout: options.connectionTimeout ?? 5_000,
    socketTimeout: options.socketTimeout ?? 60_000,
  });
}

/**
 * A client for an S3-compatible target such as Lyve Cloud: path-style, checksums only when an
 * operation requires them (third-party servers reject or mis-store the SDK's default
 * aws-chunked CRC32 uploads; integrity comes from Content-MD5 instead), adaptive retries,
 * timeouts and a keep-alive pool sized to the concurrency.
 */
export function createTargetClient(options: S3ClientOptions & { endpoint: string }): S3Client {
  const endpoint = parseEndpoint(options.endpoint, {
    name: 'target endpoint',
    ...(options.allowInsecureHttp !== undefined && { allowInsecureHttp: options.allowInsecureHttp }),
  });
  return new S3Client(compatibleConfig(endpoint.toString().replace(/\/$/, ''), options));
}

function compatibleConfig(endpoint: string, options: S3ClientOptions): S3ClientConfig {
  return {
    endpoint,
    region: options.region ?? 'us-east-1',
    forcePathStyle: options.forcePathStyle ?? true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 5,
    requestHandler: requestHandler(options.concurrency ?? DEFAULT_CONCURRENCY, options),
    ...(options.credentials && { credentials: options.credentials }),
  };
}

/**
 * A client for the source. On AWS it uses the standard credential chain and endpoint
 * resolution (profiles, env, roles, AWS_ENDPOINT_URL_S3); with an explicit endpoint (an
 * S3-compatible source, or tests) it is configured like the target client.
 */
export function createSourceClient(options: S3ClientOptions = {}): S3Client {
  if (options.endpoint) {
    const endpoint = parseEndpoint(options.endpoint, {
      name: 'source endpoint',
      ...(options.allowInsecureHttp !== undefined && { allowInsecureHttp: options.allowInsecureHttp }),
    });
    return new S3Client(compatibleConfig(endpoint.toString().replace(/\/$/, ''), options));
  }
  return new S3Client({
    retryMode: 'adaptive',
    maxAttempts: options.maxAttempts ?? 5,
    requestHandler: requestHandler(options.concurrency ?? DEFAULT_CONCURRENCY, options),
    ...(options.region && { region: options.region }),
    ...(options.credentials && { credentials: options.credentials }),
    ...(options.forcePathStyle !== undefined && { forcePathStyle: options.forcePathStyle }),
  });
}
