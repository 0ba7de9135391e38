import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import type {
  AwsCredentialIdentity,
  AwsCredentialIdentityProvider,
  DeserializeHandler,
  DeserializeHandlerArguments,
  FinalizeHandler,
  FinalizeHandlerArguments,
  HandlerExecutionContext,
  InitializeHandler,
  InitializeHandlerArguments,
  MetadataBearer,
} from '@smithy/types';
import { recoverCompletedUpload, reclaimStrayUploads } from '../cleanup/uploads.js';
import { errorCode, httpStatus, isNotFound, isTransient, isUnreachable } from '../engine/errors.js';
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
  /**
   * `adaptive` (default) also slows the whole client down after a throttling reply (a client-side
   * rate limiter); `standard` only backs off the request that was throttled.
   */
  retryMode?: 'standard' | 'adaptive';
  /** Milliseconds to establish a connection (default 5,000). */
  connectionTimeout?: number;
  /** Milliseconds a socket may stay idle mid-request before it is dropped and retried (default 60,000). */
  socketTimeout?: number;
  /** Counts requests, retries and the faults that caused them (shared by several clients if wanted). */
  stats?: RequestStats;
  /**
   * Where the endpoint came from, for messages (e.g. `--target-endpoint`, `LC_ENDPOINT_URL`): an
   * unresolvable host is reported as "… could not be resolved: check the URL in <endpointSource>".
   */
  endpointSource?: string;
}

/** What a {@link RequestStats} has counted so far. */
export interface RequestStatsSnapshot {
  /** S3 operations sent (each counted once however often it was attempted). */
  requests: number;
  /** HTTP attempts, first tries and retries. */
  attempts: number;
  /** Attempts after the first of an operation. */
  retries: number;
  /** Attempts answered with throttling: 503 (SlowDown), 429, or a throttling error code. */
  throttled: number;
  /** Attempts answered with another 5xx (InternalError, …). */
  serverErrors: number;
  /** Attempts that failed in the network: connection reset, refused, timed out, DNS. */
  networkErrors: number;
  /** Of those, socket or connection timeouts. */
  timeouts: number;
  /** Operations that still failed with a fault after their last attempt. */
  exhausted: number;
  /** Milliseconds the SDK waited between attempts, summed over operations. */
  retryDelayMs: number;
  /** Multipart uploads a lost CreateMultipartUpload reply left behind, found and aborted. */
  straysAborted: number;
  /** CompleteMultipartUpload retries whose first attempt had completed the upload. */
  completesRecovered: number;
}

const THROTTLING_CODES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'ThrottledException',
  'RequestThrottled',
  'RequestLimitExceeded',
  'TooManyRequestsException',
  'RequestThrottledException',
  'BandwidthLimitExceeded',
]);

const NETWORK_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

type Fault = 'throttled' | 'server' | 'network' | 'timeout';

/** What kind of fault an attempt's error is, or undefined for a client error (404, 403, …). */
function faultOf(error: unknown): Fault | undefined {
  const status = httpStatus(error);
  const code = errorCode(error);
  if (status === 429 || status === 503 || THROTTLING_CODES.has(code)) return 'throttled';
  if (status !== undefined && status >= 500) return 'server';
  // The SDK's HTTP handler renames ECONNRESET/EPIPE errors TimeoutError; their code tells them apart.
  const node = (error as { code?: unknown } | null)?.code;
  if (typeof node === 'string' && NETWORK_CODES.has(node)) return node === 'ETIMEDOUT' ? 'timeout' : 'network';
  if (code === 'TimeoutError' || code === 'RequestTimeout') return 'timeout';
  return undefined;
}

/**
 * Counts what the clients it is given to send: operations, attempts, retries, and the faults
 * that made them retry (throttling separately). One instance may serve several clients.
 */
export class RequestStats {
  private counts: RequestStatsSnapshot = {
    requests: 0,
    attempts: 0,
    retries: 0,
    throttled: 0,
    serverErrors: 0,
    networkErrors: 0,
    timeouts: 0,
    exhausted: 0,
    retryDelayMs: 0,
    straysAborted: 0,
    completesRecovered: 0,
  };

  snapshot(): RequestStatsSnapshot {
    return { ...this.counts };
  }

  /** Records one attempt (inside the SDK's retry loop). */
  attempt(retry: boolean, error?: unknown): void {
    this.counts.attempts += 1;
    if (retry) this.counts.retries += 1;
    if (error === undefined) return;
    switch (faultOf(error)) {
      case 'throttled':
        this.counts.throttled += 1;
        break;
      case 'server':
        this.counts.serverErrors += 1;
        break;
      case 'timeout':
        this.counts.timeouts += 1;
        this.counts.networkErrors += 1;
        break;
      case 'network':
        this.counts.networkErrors += 1;
        break;
    }
  }

  /** Records one operation after its last attempt. */
  operation(metadata: { totalRetryDelay?: number } | undefined, error?: unknown): void {
    this.counts.requests += 1;
    this.counts.retryDelayMs += metadata?.totalRetryDelay ?? 0;
    if (error !== undefined && faultOf(error) !== undefined) this.counts.exhausted += 1;
  }

  strayAborted(count = 1): void {
    this.counts.straysAborted += count;
  }

  completeRecovered(): void {
    this.counts.completesRecovered += 1;
  }
}

/** Counts every attempt: placed right after the SDK's retry middleware, so it runs once per try. */
function attemptStatsMiddleware(stats: RequestStats) {
  return <Output extends MetadataBearer>(next: FinalizeHandler<any, Output>) =>
    async (args: FinalizeHandlerArguments<any>) => {
      const headers = (args.request as { headers?: Record<string, string> } | undefined)?.headers;
      const attempt = Number(/attempt=(\d+)/.exec(headers?.['amz-sdk-request'] ?? '')?.[1] ?? '1');
      try {
        const result = await next(args);
        stats.attempt(attempt > 1);
        return result;
      } catch (error) {
        stats.attempt(attempt > 1, error);
        throw error;
      }
    };
}

/** Counts operations, and gives an unresolvable endpoint host a message that says so. */
function operationMiddleware(options: { stats?: RequestStats; endpoint: URL | undefined; label: string; endpointSource?: string }) {
  return <Output extends MetadataBearer>(next: InitializeHandler<any, Output>) =>
    async (args: InitializeHandlerArguments<any>) => {
      try {
        const result = await next(args);
        options.stats?.operation(result.output.$metadata);
        return result;
      } catch (error) {
        options.stats?.operation((error as MetadataBearer | undefined)?.$metadata, error);
        throw explainDns(error, options);
      }
    };
}

/**
 * `getaddrinfo ENOTFOUND host` becomes a message naming the endpoint and where it was set; so
 * do an https:// endpoint whose server does not speak TLS (a plain http port) and an endpoint
 * that refuses connections or cannot be reached.
 */
function explainDns(error: unknown, options: { endpoint: URL | undefined; label: string; endpointSource?: string }): unknown {
  const code = (error as { code?: unknown } | null)?.code;
  if (error instanceof Error && options.endpoint?.protocol === 'https:' && (code === 'ERR_SSL_WRONG_VERSION_NUMBER' || /wrong version number|packet length too long|unknown protocol/i.test(error.message))) {
    const where = options.endpointSource ? ` in ${options.endpointSource}` : '';
    const plain = `http://${options.endpoint.host}`;
    error.message = `${options.label} ${options.endpoint.origin} does not answer TLS (https): check the URL${where}; if that server speaks plain http, write ${plain}`;
    return error;
  }
  if (error instanceof Error && options.endpoint && isUnreachable(error)) {
    const where = options.endpointSource ? ` in ${options.endpointSource}` : '';
    const what = code === 'ECONNREFUSED' ? 'refused the connection' : 'cannot be reached';
    error.message = `${options.label} ${options.endpoint.origin} ${what} (${code}): check the URL${where}, and that the server is up`;
    return error;
  }
  if (!(error instanceof Error) || (code !== 'ENOTFOUND' && code !== 'EAI_AGAIN')) return error;
  const host = (error as { hostname?: string }).hostname ?? options.endpoint?.hostname ?? 'the endpoint host';
  const where = options.endpointSource ? ` in ${options.endpointSource}` : '';
  error.message =
    code === 'ENOTFOUND' && options.endpoint
      ? `${options.label} host "${host}" could not be resolved (DNS ENOTFOUND): check the URL${where} (${options.endpoint.origin})`
      : code === 'ENOTFOUND'
        ? // No endpoint was given: this is AWS S3's own host, which exists; the network or DNS does not work.
          `${options.label} host "${host}" (AWS S3) could not be resolved (DNS ENOTFOUND): check the network and DNS, then try again`
        : `${options.label} host "${host}" could not be resolved right now (DNS EAI_AGAIN): check the network and DNS, then try again`;
  return error;
}

/**
 * Makes the two multipart calls that are not idempotent safe to retry. A CreateMultipartUpload
 * whose reply was lost (reset, timeout) has started an upload nobody knows: when the call needed
 * retries, or failed for a passing reason, the uploads it left are found and aborted. A CompleteMultipartUpload whose reply was
 * lost may have completed the upload, so its retry gets NoSuchUpload: when the object now has the
 * ETag those parts make, the upload did complete and the call succeeds.
 */
function retrySafetyMiddleware(client: S3Client, stats: RequestStats | undefined) {
  return <Output extends MetadataBearer>(next: InitializeHandler<any, Output>, context: HandlerExecutionContext) =>
    async (args: InitializeHandlerArguments<any>) => {
      if (context.commandName === 'CreateMultipartUploadCommand') {
        const started = Date.now();
        const input = args.input as { Bucket: string; Key: string };
        const reclaim = async (kept?: string) => {
          const aborted = await reclaimStrayUploads(client, input.Bucket, input.Key, Date.now() - started, kept).catch(() => 0);
          if (aborted > 0) stats?.strayAborted(aborted);
        };
        let result: Awaited<ReturnType<typeof next>>;
        try {
          result = await next(args);
        } catch (error) {
          // A reply lost on the way (timeout, reset, 5xx) may hide an upload the server started.
          if (isTransient(error)) await reclaim();
          throw error;
        }
        const output = result.output as Output & { UploadId?: string };
        if ((output.$metadata.attempts ?? 1) > 1 && output.UploadId) await reclaim(output.UploadId);
        return result;
      }
      if (context.commandName === 'CompleteMultipartUploadCommand') {
        try {
          return await next(args);
        } catch (error) {
          const attempts = (error as MetadataBearer | undefined)?.$metadata?.attempts ?? 1;
          if (attempts <= 1 || !(errorCode(error) === 'NoSuchUpload' || isNotFound(error))) throw error;
          const recovered = await recoverCompletedUpload(client, args.input as Parameters<typeof recoverCompletedUpload>[1]).catch(() => undefined);
          if (!recovered) throw error;
          stats?.completeRecovered();
          return { response: {}, output: recovered as unknown as Output };
        }
      }
      return next(args);
    };
}

/**
 * An object stored with an empty `Expires` (S3-compatible servers keep it as sent) makes the
 * SDK fail to parse every HEAD and GET of it (the SDK's own guard skips an empty value). The
 * empty value becomes `ExpiresString`, as any other value the SDK cannot parse as a date does.
 */
function emptyExpiresMiddleware() {
  return <Output extends object>(next: DeserializeHandler<any, Output>) =>
    async (args: DeserializeHandlerArguments<any>) => {
      const result = await next(args);
      const headers = (result.response as { headers?: Record<string, string | undefined> } | undefined)?.headers;
      if (headers?.expires !== undefined && headers.expires.trim() === '') {
        headers.expiresstring = headers.expires;
        delete headers.expires;
      }
      return result;
    };
}

function instrument(client: S3Client, options: S3ClientOptions, label: string, endpoint: URL | undefined, writes: boolean): S3Client {
  const stack = client.middlewareStack;
  stack.addRelativeTo(emptyExpiresMiddleware(), { relation: 'after', toMiddleware: 'deserializerMiddleware', name: 'lyveReplicatorEmptyExpires', override: true });
  if (options.stats) {
    stack.addRelativeTo(attemptStatsMiddleware(options.stats), {
      relation: 'after',
      toMiddleware: 'retryMiddleware',
      name: 'lyveReplicatorAttemptStats',
      override: true,
    });
  }
  stack.add(
    operationMiddleware({
      ...(options.stats && { stats: options.stats }),
      endpoint,
      label,
      ...(options.endpointSource && { endpointSource: options.endpointSource }),
    }),
    { step: 'initialize', priority: 'high', name: 'lyveReplicatorOperation', override: true },
  );
  if (writes) stack.add(retrySafetyMiddleware(client, options.stats), { step: 'initialize', name: 'lyveReplicatorRetrySafety', override: true });
  return client;
}

/**
 * A socket error with no request left to report it to (a server that answered a write early,
 * say a 403 before the body, and closed while the body was still going out: EPIPE) would be an
 * unhandled 'error' event, which ends the process. The request in flight, if any, gets the
 * error through its own listener; this one only keeps a finished request's socket from crashing.
 */
function ignoreOrphanSocketError(): void {}

/** `agent` (http or https), with every socket it opens kept from crashing the process (above). */
function guardSockets<A extends HttpAgent>(agent: A): A {
  const createConnection = agent.createConnection.bind(agent);
  agent.createConnection = (...args: Parameters<HttpAgent['createConnection']>) => {
    const socket = createConnection(...args);
    socket?.on('error', ignoreOrphanSocketError);
    return socket;
  };
  return agent;
}

function requestHandler(concurrency: number, options: S3ClientOptions): NodeHttpHandler {
  // Keep-alive pool sized to the work: one socket per request in flight plus a few for HEADs.
  // (Our own agents: the SDK would otherwise open a new connection for every upload part.)
  const agentOptions = { keepAlive: true, maxSockets: concurrency + 4, maxFreeSockets: concurrency + 4 };
  return new NodeHttpHandler({
    httpAgent: guardSockets(new HttpAgent(agentOptions)),
    httpsAgent: guardSockets(new HttpsAgent(agentOptions)),
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
  return instrument(new S3Client(compatibleConfig(endpoint.toString().replace(/\/$/, ''), options)), options, 'target endpoint', endpoint, true);
}

/**
 * The region the SDK's own chain names (AWS_REGION, the profile), else `fallback`: an
 * S3-compatible server mostly ignores it, but one configured with a region checks signatures.
 */
function regionFromChain(fallback: string): () => Promise<string> {
  const chain = new S3Client({}).config.region;
  return async () => (await chain().catch(() => undefined))?.trim() || fallback;
}

/** Without an explicit region: with `regionFromChain`, the SDK chain's or us-east-1; else us-east-1. */
function compatibleConfig(endpoint: string, options: S3ClientOptions, { regionFromChain: fromChain = false } = {}): S3ClientConfig {
  return {
    endpoint,
    region: options.region ?? (fromChain ? regionFromChain('us-east-1') : 'us-east-1'),
    forcePathStyle: options.forcePathStyle ?? true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    retryMode: options.retryMode ?? 'adaptive',
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
export function createSourceClient(options: S3ClientOptions = {}, env: NodeJS.ProcessEnv = process.env): S3Client {
  const insecure = options.allowInsecureHttp !== undefined && { allowInsecureHttp: options.allowInsecureHttp };
  if (options.endpoint) {
    const endpoint = parseEndpoint(options.endpoint, { name: 'source endpoint', ...insecure });
    return instrument(new S3Client(compatibleConfig(endpoint.toString().replace(/\/$/, ''), options)), options, 'source endpoint', endpoint, false);
  }
  // An endpoint from the environment gets the same checks, named by its variable.
  const configured = configuredEndpoint(env);
  const endpoint = configured && parseEndpoint(configured.url, { name: configured.name, ...insecure });
  const named = configured ? { ...options, endpointSource: options.endpointSource ?? configured.name } : options;
  if (endpoint && !isAwsHost(endpoint.hostname)) {
    // An S3-compatible source: addressed like the target (path-style), in the region the SDK's
    // chain names (AWS_REGION, the profile), as any source without an endpoint of its own.
    return instrument(new S3Client(compatibleConfig(endpoint.toString().replace(/\/$/, ''), named, { regionFromChain: true })), named, 'source endpoint', endpoint, false);
  }
  const client = new S3Client({
    retryMode: options.retryMode ?? 'adaptive',
    maxAttempts: options.maxAttempts ?? 5,
    requestHandler: requestHandler(options.concurrency ?? DEFAULT_CONCURRENCY, options),
    ...(options.region && { region: options.region }),
    ...(options.credentials && { credentials: options.credentials }),
    ...(options.forcePathStyle !== undefined && { forcePathStyle: options.forcePathStyle }),
  });
  return instrument(client, named, 'source endpoint', endpoint, false);
}

/** The S3 endpoint the AWS SDK takes from the environment, and the variable that set it. */
export function configuredEndpoint(env: NodeJS.ProcessEnv): { url: string; name: string } | undefined {
  if (env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS?.trim().toLowerCase() === 'true') return undefined;
  for (const name of ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL']) {
    const url = env[name]?.trim();
    if (url) return { url, name };
  }
  return undefined;
}

/** AWS's own S3 hosts (regional, FIPS, dual-stack, VPC endpoints), which the SDK addresses itself. */
function isAwsHost(hostname: string): boolean {
  return /(^|\.)amazonaws\.com(\.cn)?$/i.test(hostname);
}
