/**
 * The fallback: who answers when no upstream can by the deadline. A static answer, or a module
 * exporting a function of the request, e.g. a rule-based credit score from the same features the
 * model gets.
 *
 * ```js
 * // heuristic.js
 * export default function score(request) {
 *   const [features] = JSON.parse(request.body).inputs;
 *   const p = features.data[4] > 0.8 ? 0.7 : 0.2;
 *   return { body: { outputs: [{ name: 'probability', shape: [1, 1], datatype: 'FP32', data: [p] }] } };
 * }
 * ```
 */
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../errors.js';
import type { FallbackPlan } from './config.js';

/** What a fallback function receives. */
export interface FallbackRequest {
  method: string;
  /** Path and query, as the client sent them. */
  url: string;
  /** The client's headers (lower-case names). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  /**
   * The request body when the router buffered it (idempotent routes, up to `bodyCapBytes`); else
   * `undefined` (it was streamed to an upstream and is gone).
   */
  body: Buffer | undefined;
  /** Why the fallback answers: the deadline passed, or no upstream could take the request. */
  reason: 'deadline' | 'unavailable';
}

/** What a fallback function returns (or resolves to). */
export interface FallbackResponse {
  /** Default 200. */
  status?: number;
  headers?: Record<string, string>;
  /** A string or bytes as is; anything else as JSON (with `content-type: application/json`). */
  body?: unknown;
}

/** A fallback function, the export of a fallback module. */
export type FallbackFunction = (request: FallbackRequest) => FallbackResponse | Promise<FallbackResponse>;

/** A ready fallback: answers a request with status, headers and body bytes. */
export type Fallback = (
  request: FallbackRequest,
) => Promise<{ status: number; headers: Record<string, string>; body: Buffer }>;

/** How long a fallback function may take before the router gives up on it (a bug in it): 1 s. */
export const FALLBACK_TIMEOUT_MS = 1000;

/**
 * Builds the fallback of a router: imports a module (once) or wraps a static answer.
 *
 * @throws ConfigError `VIGIL_ERR_ROUTER_FALLBACK` when the module cannot be imported or its export is
 *   not a function (said at start-up and on reload, never at request time)
 */
export async function loadFallback(plan: FallbackPlan): Promise<Fallback> {
  if (plan.kind === 'static') {
    const answer = { status: plan.status, headers: plan.headers, body: plan.body };
    return async () => answer;
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(plan.path).href)) as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(
      'VIGIL_ERR_ROUTER_FALLBACK',
      `fallback module ${plan.path} cannot be imported: ${(error as Error).message}`,
      [],
      { cause: error },
    );
  }
  const fn = module[plan.export];
  if (typeof fn !== 'function') {
    throw new ConfigError(
      'VIGIL_ERR_ROUTER_FALLBACK',
      `fallback module ${plan.path} has no function export "${plan.export}" (it has: ${Object.keys(module).join(', ') || 'nothing'})`,
    );
  }
  return async (request) => {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`the fallback did not answer within ${FALLBACK_TIMEOUT_MS} ms`)),
        FALLBACK_TIMEOUT_MS,
      );
    });
    try {
      const answer = await Promise.race([(fn as FallbackFunction)(request), timeout]);
      return toAnswer(answer);
    } finally {
      clearTimeout(timer);
    }
  };
}

function toAnswer(answer: FallbackResponse | undefined): {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
} {
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(answer?.headers ?? {})) headers[k.toLowerCase()] = String(v);
  const body = answer?.body;
  let bytes: Buffer;
  if (body === undefined || body === null) bytes = Buffer.alloc(0);
  else if (typeof body === 'string') bytes = Buffer.from(body);
  else if (Buffer.isBuffer(body) || body instanceof Uint8Array) bytes = Buffer.from(body);
  else {
    bytes = Buffer.from(JSON.stringify(body));
    headers['content-type'] ??= 'application/json';
  }
  const status = answer?.status ?? 200;
  if (!Number.isInteger(status) || status < 200 || status > 599)
    throw new Error(`the fallback returned status ${status}; expected 200–599`);
  return { status, headers, body: bytes };
}
