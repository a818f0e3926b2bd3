/**
 * What every protocol adapter shares: sending one request and reading its answer, turning it into an
 * {@link AdapterAnswer} whose reason says what was seen, and {@link defineAdapter} (which applies
 * `plan.extract`). Normalising predictions into named outputs lives in ./normalise.ts.
 */
import { VigilError } from '../errors.js';
import type {
  AdapterAnswer,
  AdapterContext,
  CheckKind,
  CheckPlan,
  HttpExchange,
  HttpResponse,
  ProbeDocument,
  ProbeErrorCode,
  ProtocolAdapter,
  ProtocolErrorCode,
} from '../types.js';
import { type JsonParseResult, parseJson } from '../wire/json.js';
import { joinUrl } from './context.js';
import { applyExtract } from './extract.js';
import { isRecord } from './normalise.js';

/** A parsed JSON body, or why it could not be parsed. */
export type JsonReading = JsonParseResult;

/** A response that arrived, read: the label used in reasons, the body as text and as JSON. */
export interface Reply {
  exchange: HttpExchange;
  response: HttpResponse;
  status: number;
  /** `GET /v2/health/ready`: how reasons name the request. */
  label: string;
  text: string;
  json: JsonReading;
  /** `{status, headers, body}` with no outputs yet; body is the JSON value, else the text. */
  document: ProbeDocument;
}

/** Either a reply, or the failed answer of a transport error. */
export type SendResult = { ok: true; reply: Reply } | { ok: false; answer: AdapterAnswer };

/** One request as an adapter describes it (see {@link AdapterContext.fetch}). */
export type Send = Parameters<AdapterContext['fetch']>[0];

/** Reads a body as strict JSON ({@link parseJson}: bare NaN / Infinity are NON_FINITE_NUMBER; empty is INVALID_JSON). */
export function readJson(text: string): JsonReading {
  return parseJson(text);
}

/** True for a body that claims or looks like JSON: its parse errors are reported, not papered over. */
export function looksLikeJson(text: string, contentType: string | undefined): boolean {
  if (contentType?.toLowerCase().includes('json')) return true;
  const first = text.trimStart()[0];
  return first === '{' || first === '[';
}

/** Builds the probe document of a response: `{status, headers, body, outputs: {}}`. */
function documentOf(response: HttpResponse, text: string, json: JsonReading): ProbeDocument {
  return {
    status: response.status,
    headers: response.headers,
    body: json.ok ? json.value : text,
    outputs: {},
  };
}

/**
 * Sends one request. A transport error (no response) becomes a failed answer carrying the exchange's
 * code, its reason prefixed with the request (`GET /health: connection refused by 127.0.0.1:8000`).
 */
export async function send(ctx: AdapterContext, request: Send): Promise<SendResult> {
  const exchange = await ctx.fetch(request);
  // Requests to another base (TorchServe's management API) name it; the target's own are path-only.
  const where = request.baseUrl === undefined ? request.path : joinUrl(request.baseUrl, request.path);
  const label = `${request.method ?? 'GET'} ${where}`;
  if (exchange.error || !exchange.response) {
    const error = exchange.error ?? { code: 'NETWORK' as const, message: 'no response' };
    return {
      ok: false,
      answer: { exchange, verdict: { ok: false, code: error.code, reason: `${label}: ${error.message}` } },
    };
  }
  const { response } = exchange;
  const text = response.body.toString('utf8');
  const json = readJson(text);
  return {
    ok: true,
    reply: {
      exchange,
      response,
      status: response.status,
      label,
      text,
      json,
      document: documentOf(response, text, json),
    },
  };
}

/** True for a 2xx status. */
export function isSuccess(status: number): boolean {
  return status >= 200 && status < 300;
}

/** A passing answer for a reply, with extra fields (outputs go into the reply's document). */
export function pass(
  reply: Reply,
  extra: Partial<Omit<AdapterAnswer, 'exchange' | 'verdict'>> = {},
): AdapterAnswer {
  return { exchange: reply.exchange, verdict: { ok: true }, document: reply.document, ...extra };
}

/** A failing answer for a reply. */
export function fail(reply: Reply, reason: string, code?: ProbeErrorCode | ProtocolErrorCode): AdapterAnswer {
  const verdict: AdapterAnswer['verdict'] =
    code === undefined ? { ok: false, reason } : { ok: false, reason, code };
  return { exchange: reply.exchange, verdict, document: reply.document };
}

/** Shortens a text for a reason: one line, at most `max` characters. */
export function snippet(text: string, max = 200): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > max ? `${line.slice(0, max)}…` : line;
}

/** The error message a server put in its body: `{"error": "…"}`, `{"error": {"message"}}`, `{"message"}`. */
export function errorMessageOf(reply: Reply): string | undefined {
  if (reply.json.ok) {
    const body = reply.json.value;
    if (isRecord(body)) {
      if (typeof body.error === 'string') return body.error;
      if (isRecord(body.error) && typeof body.error.message === 'string') return body.error.message;
      if (typeof body.message === 'string') return body.message;
    }
    return snippet(reply.text);
  }
  return reply.text.trim() === '' ? undefined : snippet(reply.text);
}

/** `answered 503: model "m" is not ready` / `answered 400 with an empty body`. */
export function describeAnswer(reply: Reply): string {
  const message = errorMessageOf(reply);
  return message === undefined
    ? `answered ${reply.status} with an empty body`
    : `answered ${reply.status}: ${message}`;
}

/** The failed answer for a non-2xx status where the protocol requires success (inference, metadata). */
export function unexpectedStatus(reply: Reply, server = ''): AdapterAnswer {
  const who = server === '' ? reply.label : `${server} ${reply.label}`;
  return fail(reply, `${who} ${describeAnswer(reply)}`, 'UNEXPECTED_STATUS');
}

/**
 * The JSON value of a reply, or the failed answer: `NON_FINITE_NUMBER` for bare NaN / Infinity tokens,
 * `INVALID_JSON` otherwise (an empty body included).
 */
export function jsonOf(reply: Reply): { ok: true; value: unknown } | { ok: false; answer: AdapterAnswer } {
  if (reply.json.ok) return reply.json;
  return {
    ok: false,
    answer: fail(
      reply,
      reply.json.code === 'TOO_DEEP'
        ? `${reply.label} answered ${reply.status} with a body too deep to read: ${reply.json.message}`
        : `${reply.label} answered ${reply.status} with a body that is not valid JSON: ${reply.json.message}`,
      reply.json.code,
    ),
  };
}

/** The failed answer for a body of the wrong shape, naming what was missing and what was there. */
export function wrongShape(reply: Reply, what: string): AdapterAnswer {
  return fail(reply, `${reply.label}: ${what}; got ${snippet(reply.text)}`, 'PROTOCOL');
}

/** `encodeURIComponent` for model names and versions in paths. */
export const enc = encodeURIComponent;

/**
 * The target's model name; throws when it is missing. The config loader requires a model for every
 * protocol but `http`, so a missing one is a bug, not a probe outcome.
 *
 * @throws VigilError `VIGIL_ERR_PROTOCOL_MODEL_REQUIRED`.
 */
export function modelOf(ctx: AdapterContext, kind: CheckKind | 'metadata'): string {
  const { model } = ctx.target;
  if (model === undefined || model === '') {
    throw new VigilError(
      'VIGIL_ERR_PROTOCOL_MODEL_REQUIRED',
      `target "${ctx.target.name}": protocol ${ctx.target.protocol} needs a model name for ${kind} checks`,
    );
  }
  return model;
}

/**
 * The integrity smoke payload, `plan.request`; throws when it is missing (the config loader requires
 * one for integrity checks of protocols that have no default payload, so a missing one is a bug).
 *
 * @throws VigilError `VIGIL_ERR_PROTOCOL_REQUEST_REQUIRED`.
 */
export function requestOf(ctx: AdapterContext, plan: CheckPlan): unknown {
  if (plan.request === undefined) {
    throw new VigilError(
      'VIGIL_ERR_PROTOCOL_REQUEST_REQUIRED',
      `target "${ctx.target.name}": protocol ${ctx.target.protocol} needs a request (smoke payload) for ${plan.kind} checks`,
    );
  }
  return plan.request;
}

/** The adapter methods, as {@link defineAdapter} takes them. */
export type AdapterMethods = Omit<ProtocolAdapter, 'name'>;

/**
 * Defines an adapter: every check method is wrapped so that, whenever the answer has a document,
 * `plan.extract` adds its named outputs (an extracted name replaces a normalised output of the same
 * name) and `modelVersion` is the same on the answer and its document.
 *
 * @example
 * import type { AdapterContext } from 'vigil-ml';
 * const ping = async (ctx: AdapterContext) => {
 *   const sent = await send(ctx, { path: '/ping' });
 *   return sent.ok ? pass(sent.reply) : sent.answer;
 * };
 * export const pingAdapter = defineAdapter('ping', { liveness: ping, readiness: ping, integrity: ping, metadata: ping });
 */
export function defineAdapter<N extends string>(
  name: N,
  methods: AdapterMethods,
): ProtocolAdapter & { readonly name: N } {
  const wrap =
    (method: AdapterMethods[keyof AdapterMethods]) =>
    async (ctx: AdapterContext, plan: CheckPlan): Promise<AdapterAnswer> =>
      finish(await method(ctx, plan), plan);
  return {
    name,
    liveness: wrap(methods.liveness),
    readiness: wrap(methods.readiness),
    integrity: wrap(methods.integrity),
    metadata: wrap(methods.metadata),
  };
}

function finish(answer: AdapterAnswer, plan: CheckPlan): AdapterAnswer {
  const { document } = answer;
  if (!document) return answer;
  const modelVersion = answer.modelVersion ?? document.modelVersion;
  if (modelVersion !== undefined) {
    answer.modelVersion = modelVersion;
    document.modelVersion = modelVersion;
  }
  if (plan.extract) applyExtract(document, plan.extract);
  return answer;
}
