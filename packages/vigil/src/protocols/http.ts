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
import type {
  AdapterAnswer,
  AdapterContext,
  CheckPlan,
  HttpCheckRequest,
  ProtocolAdapter,
} from '../types.js';
import { type AdapterMethods, defineAdapter, jsonOf, looksLikeJson, pass, send } from './common.js';
import { isRecord } from './normalise.js';

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
