/** Small readers for untrusted JSON: each either returns a well-typed value or throws MalformedEventError naming the field. */
import { MalformedEventError } from './types.js';

export type JsonObject = Record<string, unknown>;

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object at `field`, required. */
export function objectField(parent: JsonObject, field: string, where: string): JsonObject {
  const value = parent[field];
  if (!isJsonObject(value)) throw new MalformedEventError(`${where}.${field} must be an object`);
  return value;
}

/** A non-empty string at `field`, required. */
export function stringField(parent: JsonObject, field: string, where: string): string {
  const value = parent[field];
  if (typeof value !== 'string' || value === '') {
    throw new MalformedEventError(`${where}.${field} must be a non-empty string`);
  }
  return value;
}

/** A string at `field`, or undefined when absent or null. */
export function optionalString(parent: JsonObject, field: string, where: string): string | undefined {
  const value = parent[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new MalformedEventError(`${where}.${field} must be a string`);
  return value;
}

/** A byte count (number or numeric string), or undefined when absent or null. */
export function optionalSize(parent: JsonObject, field: string, where: string): number | undefined {
  const value = parent[field];
  if (value === undefined || value === null) return undefined;
  const size = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : value;
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0) {
    throw new MalformedEventError(`${where}.${field} must be a non-negative integer`);
  }
  return size;
}

/** An ISO-8601 time, or undefined when absent. */
export function optionalTime(parent: JsonObject, field: string, where: string): Date | undefined {
  const text = optionalString(parent, field, where);
  if (text === undefined) return undefined;
  const time = new Date(text);
  if (Number.isNaN(time.getTime())) throw new MalformedEventError(`${where}.${field} is not a valid time: ${JSON.stringify(text)}`);
  return time;
}

/** The ETag without surrounding quotes (events normally carry it bare; be lenient). */
export function unquoteETag(eTag: string | undefined): string | undefined {
  return eTag === undefined ? undefined : eTag.replace(/^"(.*)"$/, '$1');
}

/**
 * Decodes a key the way S3 encodes it in events: `application/x-www-form-urlencoded`, so
 * '+' is a space and '%2B' a plus sign. Throws MalformedEventError for invalid escapes or
 * byte sequences that are not UTF-8.
 */
export function decodeFormEncodedKey(encoded: string, where: string): string {
  try {
    return decodeURIComponent(encoded.replaceAll('+', ' '));
  } catch {
    throw new MalformedEventError(`${where} is not a valid URL-encoded UTF-8 key: ${JSON.stringify(encoded)}`);
  }
}

/** The names of an object's first keys, for error messages about unrecognised shapes. */
export function describeShape(value: unknown): string {
  if (Array.isArray(value)) return 'an array';
  if (!isJsonObject(value)) return value === null ? 'null' : `a ${typeof value}`;
  const keys = Object.keys(value);
  const shown = keys.slice(0, 8).join(', ');
  return keys.length === 0 ? 'an empty object' : `an object with keys [${shown}${keys.length > 8 ? ', ...' : ''}]`;
}

/** A copy without the properties whose value is undefined, so optional fields are absent rather than undefined. */
export function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
