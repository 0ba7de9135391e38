/**
 * Classifying AWS SDK errors. Every S3 call in the engine goes through these helpers so that
 * "what went wrong" is decided in one place, and so expected conditions (missing objects,
 * changed sources, unsupported features) become typed results instead of exceptions.
 */

interface SdkErrorShape {
  name?: string;
  Code?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
}

function shape(error: unknown): SdkErrorShape {
  return typeof error === 'object' && error !== null ? (error as SdkErrorShape) : {};
}

/** The S3 error code (`NoSuchKey`, `AccessDenied`, ...) or the JS error name. */
export function errorCode(error: unknown): string {
  const e = shape(error);
  return e.Code ?? e.name ?? e.code ?? 'Error';
}

export function httpStatus(error: unknown): number | undefined {
  return shape(error).$metadata?.httpStatusCode;
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

export function isNotFound(error: unknown): boolean {
  const code = errorCode(error);
  return (
    httpStatus(error) === 404 ||
    code === 'NoSuchKey' ||
    code === 'NotFound' ||
    code === 'NoSuchVersion'
  );
}

export function isBucketMissing(error: unknown): boolean {
  return errorCode(error) === 'NoSuchBucket';
}

export function isPreconditionFailed(error: unknown): boolean {
  return httpStatus(error) === 412 || errorCode(error) === 'PreconditionFailed';
}

/** The server does not implement the operation (405/501), e.g. tagging on a minimal S3 server. */
export function isNotImplemented(error: unknown): boolean {
  const status = httpStatus(error);
  const code = errorCode(error);
  return status === 501 || status === 405 || code === 'NotImplemented' || code === 'MethodNotAllowed';
}

const CREDENTIAL_CODES = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
  'AuthorizationHeaderMalformed',
]);

/** The server rejected the credentials themselves (as opposed to a missing permission). */
export function isCredentialError(error: unknown): boolean {
  return CREDENTIAL_CODES.has(errorCode(error));
}

export function isAccessDenied(error: unknown): boolean {
  return httpStatus(error) === 403 || errorCode(error) === 'AccessDenied' || isCredentialError(error);
}

export function isAbort(error: unknown): boolean {
  const code = errorCode(error);
  return code === 'AbortError' || code === 'RequestAbortedError';
}

const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'TimeoutError',
  'RequestTimeout',
]);

/** Nothing listens at the address, or it cannot be reached: a server that is down, or a wrong URL. */
export function isUnreachable(error: unknown): boolean {
  const code = shape(error).code;
  return code === 'ECONNREFUSED' || code === 'EHOSTUNREACH' || code === 'ENETUNREACH';
}

export function isNetworkError(error: unknown): boolean {
  const e = shape(error);
  return NETWORK_CODES.has(e.code ?? '') || NETWORK_CODES.has(errorCode(error));
}

/** Worth retrying later: throttling, server errors and network faults, not bad input. */
export function isTransient(error: unknown): boolean {
  const status = httpStatus(error);
  if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
  const code = errorCode(error);
  if (code === 'SlowDown' || code === 'Throttling' || code === 'ThrottlingException') return true;
  return isNetworkError(error) || shape(error).$retryable !== undefined || isDamagedReply(error);
}

/**
 * A reply the SDK could not parse (a body cut or garbled on the way, e.g. a listing's XML): the
 * SDK does not retry these, but asking again usually works.
 */
export function isDamagedReply(error: unknown): boolean {
  return error instanceof Error && /Deserialization error/.test(error.message) && !isWebPage(error);
}

/**
 * A web page where an S3 reply was expected, answered without a passing error: the endpoint is
 * a web server, not S3. (A 5xx, 408 or 429 page is a proxy's passing trouble: a damaged reply.)
 */
export function isWebPage(error: unknown): boolean {
  if (!(error instanceof Error) || !/Deserialization error/.test(error.message)) return false;
  const status = httpStatus(error);
  const passing = status !== undefined && (status >= 500 || status === 408 || status === 429);
  const body = (error as { $responseBodyText?: unknown }).$responseBodyText;
  return !passing && typeof body === 'string' && /^\s*(<!doctype html|<html[\s>])/i.test(body);
}

/**
 * `Promise.all` that waits for every promise and, when some fail, throws the first failure in
 * argument order rather than in time: the same misconfiguration (say, a source that refuses us
 * and a target bucket that is missing) is then reported the same way on every run.
 */
export async function allInOrder<T extends readonly unknown[] | []>(values: T): Promise<{ -readonly [P in keyof T]: Awaited<T[P]> }> {
  const settled = await Promise.allSettled(values);
  for (const outcome of settled) if (outcome.status === 'rejected') throw outcome.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as { -readonly [P in keyof T]: Awaited<T[P]> };
}
