/**
 * Query-string schemas shared by the routes, and what a failed validation tells the client.
 *
 * Query schemas reject unknown parameters (a typo like `?limt=5` is an error, not silently ignored),
 * as Vigil's config does with unknown keys.
 */
import type { FastifyError, FastifyRequest } from 'fastify';
import { CHECK_STATES } from '../metrics/metrics.js';

/** Default `limit` of list routes. */
export const DEFAULT_LIMIT = 100;
/** Largest `limit` a list route accepts. */
export const MAX_LIMIT = 10_000;

/** `since` / `until`: milliseconds since the Unix epoch, or an ISO 8601 (RFC 3339) date or date-time with offset. */
export const timeSchema = {
  type: 'string',
  anyOf: [{ pattern: '^[0-9]{1,16}$' }, { format: 'date-time' }, { format: 'date' }],
} as const;

/** `limit`: 1 to {@link MAX_LIMIT}, default {@link DEFAULT_LIMIT}. */
export const limitSchema = {
  type: 'integer',
  minimum: 1,
  maximum: MAX_LIMIT,
  default: DEFAULT_LIMIT,
} as const;

/** A string parameter that may be repeated (`?state=unhealthy&state=degraded`); always an array after validation. */
export function repeatable(items: Record<string, unknown>): Record<string, unknown> {
  return { type: 'array', items: { type: 'string', ...items } };
}

/** Any `state` value. */
export const stateSchema = { enum: CHECK_STATES } as const;

const TIME =
  'milliseconds since the epoch, or an ISO 8601 date-time with offset (2025-01-01T12:00:00Z) or date';
/** What each query parameter expects, for 400 messages; others fall back to ajv's message. */
const EXPECTED: Readonly<Record<string, string>> = {
  since: TIME,
  until: TIME,
  limit: `an integer from 1 to ${MAX_LIMIT}`,
  open: 'true or false',
  state: `one of ${CHECK_STATES.join(', ')}`,
  label: 'key:value',
  results: '1, true, 0 or false',
};

/**
 * Turns a validated `since` / `until` into milliseconds since the epoch. Date-only values are UTC
 * midnight (as `Date.parse` reads them).
 *
 * @throws an error with `statusCode` 400 for what the schema lets through but `Date.parse` cannot
 *   read (a leap second, `23:59:60Z`).
 */
export function parseTime(name: 'since' | 'until', value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^[0-9]+$/.test(value) ? Number(value) : Date.parse(value);
  if (Number.isNaN(ms)) {
    const error = new Error(
      `invalid query parameter "${name}": expected ${EXPECTED[name]}, got ${JSON.stringify(value)}`,
    );
    throw Object.assign(error, { statusCode: 400 });
  }
  return ms;
}

const WHERE: Readonly<Record<string, string>> = {
  querystring: 'query parameter',
  params: 'path parameter',
  body: 'body field',
  headers: 'header',
};

/** The value at an ajv instance path (`/label/0`) in `data`. */
function valueAt(data: unknown, path: string): unknown {
  let value = data;
  for (const key of path.split('/').slice(1)) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[key] : undefined;
  }
  return value;
}

/**
 * What the client sent for a query parameter, as sent (before ajv coerced `"0"` to `0`): the string,
 * the `index`th of a repeated one, or all of them.
 */
function rawQueryValue(url: string, name: string, index: string | undefined): unknown {
  const values = new URL(url, 'http://localhost').searchParams.getAll(name);
  if (index !== undefined && /^[0-9]+$/.test(index)) return values[Number(index)];
  return values.length === 1 ? values[0] : values;
}

/** An ajv instance path as people write it: `/matchers/0/label` → `matchers[0].label`. */
function dotted(path: string): string {
  return path
    .split('/')
    .slice(1)
    .map((key, i) => (/^[0-9]+$/.test(key) ? `[${key}]` : i === 0 ? key : `.${key}`))
    .join('');
}

/**
 * One line naming the parameter, what it expects and what it got, from Fastify's validation error:
 * `invalid query parameter "limit": expected an integer from 1 to 10000, got "0"`,
 * `unknown query parameter "limt"`, `missing body field "matchers"`.
 */
export function describeValidationError(error: FastifyError, request: FastifyRequest): string {
  const context = error.validationContext ?? 'querystring';
  const where = WHERE[context] ?? context;
  const first = error.validation?.[0];
  if (first === undefined) return error.message;
  const parent = dotted(first.instancePath);
  const child = (key: string) => (parent === '' ? key : `${parent}.${key}`);
  const { additionalProperty, missingProperty } = first.params;
  if (first.keyword === 'additionalProperties' && typeof additionalProperty === 'string') {
    return `unknown ${where} "${child(additionalProperty)}"`;
  }
  if (first.keyword === 'required' && typeof missingProperty === 'string') {
    return `missing ${where} "${child(missingProperty)}"`;
  }
  if (context === 'querystring') {
    // A query parameter's name is the path's first key; `/label/1` is the second `label`.
    const [, name = '', index] = first.instancePath.split('/');
    const got = rawQueryValue(request.raw.url ?? request.url, name, index);
    const allowed = first.keyword === 'enum' ? first.params.allowedValues : undefined;
    const expected =
      EXPECTED[name] ?? (Array.isArray(allowed) ? `one of ${allowed.join(', ')}` : first.message);
    return `invalid ${where} "${name}": expected ${expected}, got ${JSON.stringify(got)}`;
  }
  const got = valueAt(context === 'params' ? request.params : request.body, first.instancePath);
  const name = parent === '' ? context : parent;
  return `invalid ${where} "${name}": ${first.message ?? 'invalid'}, got ${JSON.stringify(got)}`;
}
