/**
 * Plain HTTP: any endpoint, no protocol semantics.
 *
 * Every check (liveness, readiness, integrity, metadata) sends `plan.request`, an
 * {@link HttpCheckRequest} (default `GET /`). The status is judged by the check's `expect.status`
 * (default 2xx; 200–399 for liveness), not here: the verdict is positive whenever a response arrived
 * and its body could be read. A body that claims or looks like JSON (content-type `…json…`, or starting
 * with `{` or `[`) is parsed, and fails with INVALID_JSON / NON_FINITE_NUMBER when it does not parse;
 * any other body is kept as text. Outputs come only from `plan.extract`.
 */
import { z } from 'zod';
import { GOT } from '../diagnostics/messages.js';
import { headerMap } from '../schema/blocks.js';
import {
  type AdapterAnswer,
  type AdapterContext,
  CHECK_KINDS,
  type CheckPlan,
  type ProtocolAdapter,
} from '../types.js';
import { type AdapterMethods, defineAdapter, jsonOf, looksLikeJson, pass, send } from './common.js';
import { isRecord } from './normalise.js';
import { defineProtocol } from './plugin.js';

/** A plain HTTP request (protocol `http`, any check); the output of `httpRequestSchema`. */
export interface HttpCheckRequest {
  method?: string;
  /** Path (and query) relative to the target URL. */
  path?: string;
  headers?: Record<string, string>;
  /** A string is sent as is; anything else as JSON. */
  body?: unknown;
}

function requestOf(plan: CheckPlan): HttpCheckRequest {
  return isRecord(plan.request) ? (plan.request as HttpCheckRequest) : {};
}

async function check(ctx: AdapterContext, plan: CheckPlan): Promise<AdapterAnswer> {
  const request = requestOf(plan);
  const sent = await send(ctx, {
    path: request.path ?? '/',
    method: (request.method ?? 'GET').toUpperCase(),
    ...(request.headers === undefined ? {} : { headers: request.headers }),
    ...(request.body === undefined ? {} : { body: request.body }),
  });
  if (!sent.ok) return sent.answer;
  const { reply } = sent;
  // A body that claims or looks like JSON must parse; anything else (an empty body included) is text.
  if (reply.text.trim() !== '' && looksLikeJson(reply.text, reply.response.headers['content-type'])) {
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
  }
  return pass(reply);
}

const methods: AdapterMethods = { liveness: check, readiness: check, integrity: check, metadata: check };

/** The plain HTTP adapter. */
export const httpAdapter: ProtocolAdapter = defineAdapter('http', methods);

// ---------------------------------------------------------------------------------------------
// Config: the request any check may send, and the plugin

/** A plain HTTP request for protocol `http`. */
export const httpRequestSchema = z
  .strictObject({
    method: z
      .string()
      .regex(/^[A-Za-z]+$/, { error: `expected an HTTP method like "GET", got ${GOT}` })
      .transform((method) => method.toUpperCase())
      .optional()
      .describe('HTTP method; default GET.'),
    path: z
      .string()
      .startsWith('/', { error: `expected a path starting with "/", like "/health", got ${GOT}` })
      .optional()
      .describe('Path and query relative to the target URL; default "/".'),
    headers: headerMap().optional().describe('Extra request headers.'),
    body: z.unknown().optional().describe('Request body: a string is sent as is, anything else as JSON.'),
  })
  .meta({ id: 'HttpRequest', description: 'Request for protocol http; default GET /.' });

/** What a plain HTTP check sends when its config gives no request, or fills in what it leaves out. */
export const HTTP_REQUEST_DEFAULTS = { method: 'GET', path: '/' } as const;

/**
 * The plain HTTP protocol plugin: no model needed; every check may send its own request (default
 * `GET /`); a target that omits `checks` runs liveness only.
 */
export const httpProtocol = defineProtocol({
  name: 'http',
  adapter: httpAdapter,
  model: 'optional',
  defaultChecks: ['liveness'],
  request: { schema: httpRequestSchema.optional(), kinds: CHECK_KINDS.filter((kind) => kind !== 'metrics') },
  planCheck: (check) => ({
    request: { ...HTTP_REQUEST_DEFAULTS, ...(check.request as HttpCheckRequest | undefined) },
  }),
});
