import type { Health } from './health.js';
import type { HealthCheckName } from './options.js';
import { errorMessage } from './settle.js';

/** Headers of every health answer: JSON, and never cached by a proxy between the prober and the server. */
export const RESPONSE_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-type': 'application/json; charset=utf-8',
  'cache-control': 'no-store',
});

/** A request this library answers: which check, with or without details. */
export interface HealthRequest {
  check: HealthCheckName;
  verbose: boolean;
}

/** A serialised answer, ready to write. */
export interface SerializedAnswer {
  statusCode: number;
  json: string;
}

/**
 * Returns a matcher from a request's method and URL (path plus optional query) to the health request it
 * is, or undefined when the request is not ours. Runs for every request a server gets, so the miss path
 * is one string search and one map lookup.
 */
export function createRequestMatcher(
  health: Health,
): (method: string | undefined, url: string | undefined) => HealthRequest | undefined {
  const checks = new Map(health.routes.map(({ path, check }) => [path, check]));
  return (method, url = '/') => {
    if (method !== 'GET' && method !== 'HEAD') return undefined;
    const queryAt = url.indexOf('?');
    const check = checks.get(queryAt === -1 ? url : url.slice(0, queryAt));
    if (check === undefined) return undefined;
    return { check, verbose: isVerboseUrl(url) };
  };
}

/**
 * Whether a URL (path plus optional query) asks for details: `?verbose`, `?verbose=1` and
 * `?verbose=true` do; `?verbose=0` and `?verbose=false` do not.
 */
export function isVerboseUrl(url: string): boolean {
  const queryAt = url.indexOf('?');
  if (queryAt === -1) return false;
  const value = new URLSearchParams(url.slice(queryAt + 1)).get('verbose');
  return value !== null && value !== '0' && value !== 'false';
}

/**
 * Runs the check and serialises the answer. Never rejects: a bug surfaces as a 500 carrying the message
 * (not the stack), so an adapter cannot leave a request hanging.
 */
export async function answerRequest(
  health: Health,
  { check, verbose }: HealthRequest,
): Promise<SerializedAnswer> {
  try {
    const { statusCode, body } = await health.check(check, { verbose });
    return { statusCode, json: JSON.stringify(body) };
  } catch (error) {
    return {
      statusCode: 500,
      json: JSON.stringify({ status: 'error', checks: {}, error: errorMessage(error) }),
    };
  }
}
