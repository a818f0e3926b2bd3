/**
 * OpenAI-compatible LLM servers: vLLM, Hugging Face TGI (Messages API), and any server with the same
 * routes.
 *
 * - liveness: `GET /health`; 200 = healthy. vLLM answers 503 only when its engine died; TGI answers 503
 *   `{"error":"unhealthy","error_type":"healthcheck"}`. While weights load, vLLM and TGI have **no HTTP
 *   listener**: the probe sees CONNECTION_REFUSED, not 503, and the reason says so.
 * - readiness: `/health` healthy, then TGI's `GET /info` (asked once per target; a server without it is
 *   not asked again): TGI serves one model and ignores the request's `model`, so it is ready whatever
 *   the name (a differing name is a note), and its `model_sha` is the model version. Otherwise
 *   `GET /v1/models` lists `target.model` among `data[].id`.
 * - integrity: `POST /v1/chat/completions` when `plan.request` has `messages`, else `POST /v1/completions`
 *   (a string request is a prompt; no request is {@link DEFAULT_PROMPT}). `model` (from the target) and
 *   `max_tokens` ({@link DEFAULT_MAX_TOKENS}) are filled in unless the request sets them; `stream` is
 *   forced off. Outputs: `text` (each choice's `message.content` or `text`; an empty string stays visible
 *   to `notEmpty`), `finish_reason`, `reasoning` (each choice's `reasoning_content`, when a reasoning
 *   parser returns one) and `completion_tokens` when `usage` reports it. An empty answer whose
 *   `max_tokens` went on reasoning (`content: null`, `finish_reason: "length"`) fails and says so.
 * - metadata: `GET /v1/models`.
 *
 * vLLM reports no model version; TGI's is `/info`'s `model_sha` (readiness and metadata).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import { exactlyOne } from '../schema/blocks.js';
import type { AdapterAnswer, AdapterContext, CheckPlan, ProtocolAdapter } from '../types.js';
import {
  defineAdapter,
  describeAnswer,
  fail,
  isSuccess,
  jsonOf,
  modelOf,
  pass,
  type Reply,
  readJson,
  type Send,
  type SendResult,
  send,
  snippet,
  unexpectedStatus,
  wrongShape,
} from './common.js';
import { isRecord } from './normalise.js';
import { defineProtocol, missingRequest } from './plugin.js';
import {
  assertsStream,
  STREAM_ERROR_CODES,
  STREAM_INCOMPLETE,
  STREAM_STALLED,
  StreamMeter,
  stallBoundsOf,
} from './stream.js';

/**
 * eventsource-parser's published build, loaded by file path. Its `exports` put a `source` condition
 * (its TypeScript sources, with `./x.ts` imports) before `import`/`require`, and this workspace runs
 * with `--conditions=source` for its own packages (tests, `tsx`), under which the package's sources
 * do not load ("does not provide an export named 'createParser'"). The CommonJS build through its
 * exported `package.json` is the same code under every condition.
 */
const { createParser } = (() => {
  const require = createRequire(import.meta.url);
  const root = dirname(require.resolve('eventsource-parser/package.json'));
  return require(join(root, 'dist', 'index.cjs')) as typeof import('eventsource-parser');
})();

/**
 * A choice's reasoning text: vLLM's reasoning parsers put it in `message.reasoning_content` (newer
 * releases also in `message.reasoning`), apart from `content`. Null when there is none.
 */
function reasoningOf(choice: Record<string, unknown>): string | null {
  const message = isRecord(choice.message) ? choice.message : undefined;
  const value = message?.reasoning_content ?? message?.reasoning;
  return typeof value === 'string' ? value : null;
}

/** Prompt sent by integrity checks that set no request. */
export const DEFAULT_PROMPT = 'Reply with the single word OK.';
/** `max_tokens` unless the request sets it: a smoke inference, not a workload. */
export const DEFAULT_MAX_TOKENS = 16;

const LOADING_HINT =
  'vLLM and TGI open no HTTP listener until the weights are loaded (and every shard is ready), so a loading server refuses connections instead of answering 503';

/** `send`, with the loading hint added to a refused connection. */
async function sendLlm(ctx: AdapterContext, request: Send): Promise<SendResult> {
  const sent = await send(ctx, request);
  if (!sent.ok && !sent.answer.verdict.ok && sent.answer.verdict.code === 'CONNECTION_REFUSED') {
    sent.answer.verdict.reason = `${sent.answer.verdict.reason} (${LOADING_HINT})`;
  }
  return sent;
}

async function health(ctx: AdapterContext): Promise<AdapterAnswer> {
  const sent = await sendLlm(ctx, { path: '/health' });
  if (!sent.ok) return sent.answer;
  const { reply } = sent;
  return reply.status === 200
    ? pass(reply)
    : fail(reply, `server unhealthy: ${reply.label} ${describeAnswer(reply)}`);
}

/** `max_tokens` of the default probe (no request): one token, vLLM's "health_generate" (vllm #24207). */
export const DEFAULT_PROBE_MAX_TOKENS = 1;

/** The request an integrity check sends, and whether it streams. */
interface CompletionRequest {
  path: string;
  body: Record<string, unknown>;
  stream: boolean;
  /** The check set no request: the one-token default probe. */
  isDefault: boolean;
  /** `stream_options: {include_usage: true}` was added by Vigil (not the check's request). */
  usageAdded: boolean;
}

/**
 * The request of an integrity check. No request: the default probe, a streamed one-token completion of
 * {@link DEFAULT_PROMPT}. A request streams when it says `stream: true` or when the check asserts on
 * stream timings (`ttft`, `maxTokenGap`, `minTokensPerSecond`); a streamed request asks for the
 * server's token count (`stream_options.include_usage`) unless it sets `stream_options` or the server
 * refused it before.
 */
function completionRequest(plan: CheckPlan, model: string, askUsage: boolean): CompletionRequest {
  const isDefault = plan.request === undefined;
  const request = plan.request ?? DEFAULT_PROMPT;
  const fields: Record<string, unknown> =
    typeof request === 'string' ? { prompt: request } : isRecord(request) ? request : {};
  const stream = isDefault || fields.stream === true || assertsStream(plan);
  const maxTokens = isDefault ? DEFAULT_PROBE_MAX_TOKENS : DEFAULT_MAX_TOKENS;
  const body: Record<string, unknown> = { model, max_tokens: maxTokens, ...fields, stream };
  const usageAdded = stream && askUsage && !('stream_options' in fields);
  if (usageAdded) body.stream_options = { include_usage: true };
  return {
    path: 'messages' in fields ? '/v1/chat/completions' : '/v1/completions',
    body,
    stream,
    isDefault,
    usageAdded,
  };
}

// Targets whose server refused `stream_options` (older OpenAI-compatible servers): not sent again.
const noStreamOptions = new WeakSet<object>();

/** A 400 that names `stream_options`: the server does not know the field. */
function refusesStreamOptions(answer: AdapterAnswer): boolean {
  const response = answer.exchange.response;
  return response?.status === 400 && /stream_options/i.test(response.body.toString('utf8'));
}

/** One choice of a stream, assembled from its chunks. */
interface StreamedChoice {
  text: string;
  reasoning: string;
  finishReason: unknown;
}

/**
 * Sends a streamed completion and reads its server-sent events as they arrive (`eventsource-parser`):
 * each chunk's `choices[].delta.content` (chat) or `choices[].text` (completions), and
 * `delta.reasoning_content` / `delta.reasoning`, is appended to its choice (by `index`) and timed as a
 * token; `finish_reason` ends a choice; `usage.completion_tokens` (the last chunk, with
 * `include_usage`) is the token count, else the token chunks are counted; `data: [DONE]` ends the
 * stream. An event that is not JSON, or carries `error`, fails the probe at once.
 */
async function streamCompletion(
  ctx: AdapterContext,
  plan: CheckPlan,
  request: CompletionRequest,
): Promise<AdapterAnswer> {
  const meter = new StreamMeter(stallBoundsOf(plan));
  const choices = new Map<number, StreamedChoice>();
  let usageTokens: number | undefined;
  let usage: unknown;
  let events = 0;
  let done = false;
  let broken: { reason: string; code?: Uppercase<string> } | undefined;
  const choiceAt = (index: number): StreamedChoice => {
    let choice = choices.get(index);
    if (choice === undefined) {
      choice = { text: '', reasoning: '', finishReason: null };
      choices.set(index, choice);
    }
    return choice;
  };
  const parser = createParser({
    onEvent(event) {
      if (broken !== undefined || done) return;
      if (event.data.trim() === '[DONE]') {
        done = true;
        return;
      }
      events++;
      const json = readJson(event.data);
      if (!json.ok) {
        broken = { reason: `event ${events} is not valid JSON: ${json.message}`, code: json.code };
        return;
      }
      const value = json.value;
      if (!isRecord(value)) {
        broken = { reason: `event ${events} is not an object: ${snippet(event.data)}`, code: 'PROTOCOL' };
        return;
      }
      if (value.error !== undefined || value.object === 'error') {
        const error = value.error ?? value.message;
        const message = isRecord(error) && typeof error.message === 'string' ? error.message : String(error);
        broken = { reason: `the stream carried an error after ${events - 1} event(s): ${snippet(message)}` };
        return;
      }
      if (isRecord(value.usage)) {
        usage = value.usage;
        if (typeof value.usage.completion_tokens === 'number') usageTokens = value.usage.completion_tokens;
      }
      if (!Array.isArray(value.choices)) return;
      let carried = false;
      for (const raw of value.choices) {
        if (!isRecord(raw)) continue;
        const choice = choiceAt(typeof raw.index === 'number' ? raw.index : 0);
        const delta = isRecord(raw.delta) ? raw.delta : undefined;
        const text = delta === undefined ? raw.text : delta.content;
        const reasoning = delta?.reasoning_content ?? delta?.reasoning;
        if (typeof text === 'string' && text !== '') {
          choice.text += text;
          carried = true;
        }
        if (typeof reasoning === 'string' && reasoning !== '') {
          choice.reasoning += reasoning;
          carried = true;
        }
        if (raw.finish_reason !== undefined && raw.finish_reason !== null)
          choice.finishReason = raw.finish_reason;
      }
      if (carried) meter.token();
    },
  });
  const decoder = new TextDecoder();
  const sent = await sendLlm(ctx, {
    path: request.path,
    method: 'POST',
    body: request.body,
    signal: meter.signal,
    onBody: (chunk) => parser.feed(decoder.decode(chunk, { stream: true })),
  });
  const stream = meter.finish(usageTokens);
  const withStream = (answer: AdapterAnswer): AdapterAnswer => ({ ...answer, stream });
  if (meter.stalled !== undefined) {
    const answer = sent.ok ? pass(sent.reply) : sent.answer;
    return withStream({
      ...answer,
      verdict: {
        ok: false,
        code: STREAM_STALLED,
        reason: `POST ${request.path}: the stream stalled: ${meter.stalled}; ${stream.tokens} token(s) in ${Math.round(stream.totalMs)} ms`,
      },
    });
  }
  if (broken !== undefined) {
    const answer = sent.ok ? pass(sent.reply) : sent.answer;
    const verdict: AdapterAnswer['verdict'] = { ok: false, reason: `POST ${request.path}: ${broken.reason}` };
    if (broken.code !== undefined) verdict.code = broken.code;
    return withStream({ ...answer, verdict });
  }
  if (!sent.ok) return withStream(sent.answer);
  const { reply } = sent;
  if (!isSuccess(reply.status)) return withStream(unexpectedStatus(reply));
  if (events === 0 && reply.json.ok)
    return withStream(
      wrongShape(reply, 'asked for a stream (stream: true), the server answered one JSON document'),
    );
  const ordered = [...choices.entries()].sort(([a], [b]) => a - b).map(([, c]) => c);
  const text = ordered.map((c) => c.text);
  const reasoning = ordered.map((c) => (c.reasoning === '' ? null : c.reasoning));
  const finishReason = ordered.map((c) => c.finishReason);
  const outputs: Record<string, unknown[]> = { text, finish_reason: finishReason };
  if (reasoning.some((r) => r !== null)) outputs.reasoning = reasoning;
  if (usageTokens !== undefined) outputs.completion_tokens = [usageTokens];
  reply.document.body = {
    choices: ordered.map((c, i) => ({
      index: i,
      text: c.text,
      reasoning: reasoning[i],
      finish_reason: c.finishReason,
    })),
    ...(usage !== undefined && { usage }),
    events,
    done,
  };
  reply.document.outputs = outputs;
  if (ordered.length === 0 || meter.chunks === 0) {
    return withStream(
      fail(
        reply,
        `${reply.label}: the stream carried no token (${events} event(s)${done ? ', then [DONE]' : ''}): the engine generated nothing`,
        'PROTOCOL',
      ),
    );
  }
  const unfinished = finishReason.indexOf(null);
  if (unfinished !== -1) {
    return withStream(
      fail(
        reply,
        `${reply.label}: the stream ended without a finish_reason for choice ${unfinished} after ${events} event(s)${done ? ' and [DONE]' : ' (no [DONE] either)'}: the generation was cut off`,
        STREAM_INCOMPLETE,
      ),
    );
  }
  const spent = text.findIndex(
    (t, i) => t === '' && typeof reasoning[i] === 'string' && finishReason[i] === 'length',
  );
  if (spent !== -1 && !request.isDefault) {
    return withStream(
      fail(
        reply,
        `${reply.label}: choice ${spent}'s answer is empty because max_tokens was spent on reasoning (${String(reasoning[spent]).length} characters of reasoning); raise max_tokens, or turn thinking off for this request if the model allows it`,
      ),
    );
  }
  const notes =
    spent !== -1
      ? [
          "the one-token probe's token was a reasoning token: the engine generates (the answer itself is not judged)",
        ]
      : [];
  return withStream(pass(reply, notes.length > 0 ? { notes } : {}));
}

// Targets whose server has no TGI `/info` (vLLM and others): asked once, then skipped.
const notTgi = new WeakSet<object>();

/**
 * TGI's `GET /info` (`{model_id, model_sha, …}`), or undefined when the server is not TGI. Its
 * `model_sha` is the model's revision: the version TGI reports.
 */
async function tgiInfo(
  ctx: AdapterContext,
): Promise<{ reply: Reply; modelId: string; modelSha?: string } | undefined> {
  if (notTgi.has(ctx.target)) return undefined;
  const sent = await send(ctx, { path: '/info' });
  const body = sent.ok && sent.reply.status === 200 && sent.reply.json.ok ? sent.reply.json.value : undefined;
  if (!sent.ok || !isRecord(body) || typeof body.model_id !== 'string') {
    // A transport failure says nothing about the flavour: ask again next time.
    if (sent.ok) notTgi.add(ctx.target);
    return undefined;
  }
  return {
    reply: sent.reply,
    modelId: body.model_id,
    ...(typeof body.model_sha === 'string' && body.model_sha !== '' && { modelSha: body.model_sha }),
  };
}

/** The OpenAI-compatible adapter. */
export const openaiAdapter: ProtocolAdapter = defineAdapter('openai', {
  liveness: health,

  async readiness(ctx) {
    const model = modelOf(ctx, 'readiness');
    const healthy = await health(ctx);
    if (!healthy.verdict.ok) return healthy;
    const tgi = await tgiInfo(ctx);
    if (tgi !== undefined) {
      // TGI serves one model, its --model-id, and ignores the request's `model`: a name that differs is
      // not a reason to be unready (router/src/server.rs, the OpenAI routes take any model name).
      const notes =
        tgi.modelId === model
          ? []
          : [
              `TGI serves one model ("${tgi.modelId}") and ignores the request's model name, so "${model}" is answered by it`,
            ];
      return pass(tgi.reply, {
        ...(tgi.modelSha !== undefined && { modelVersion: tgi.modelSha }),
        ...(notes.length > 0 && { notes }),
      });
    }
    const sent = await sendLlm(ctx, { path: '/v1/models' });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply);
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const data = isRecord(json.value) && Array.isArray(json.value.data) ? json.value.data : undefined;
    if (!data) return wrongShape(reply, 'expected a "data" array of models');
    const ids = data.flatMap((m) => (isRecord(m) && typeof m.id === 'string' ? [m.id] : []));
    if (ids.includes(model)) return pass(reply);
    const listed = ids.length === 0 ? 'no models' : ids.map((id) => `"${id}"`).join(', ');
    return fail(reply, `model "${model}" is not served: ${reply.label} lists ${listed}`);
  },

  async integrity(ctx, plan) {
    const model = modelOf(ctx, 'integrity');
    let request = completionRequest(plan, model, !noStreamOptions.has(ctx.target));
    if (request.stream) {
      const answer = await streamCompletion(ctx, plan, request);
      if (!request.usageAdded || !refusesStreamOptions(answer)) return answer;
      noStreamOptions.add(ctx.target);
      request = completionRequest(plan, model, false);
      return streamCompletion(ctx, plan, request);
    }
    const { path, body } = request;
    const sent = await sendLlm(ctx, { path, method: 'POST', body });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply);
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const value = json.value;
    if (!isRecord(value) || !Array.isArray(value.choices))
      return wrongShape(reply, 'the completion has no "choices" array');
    const text: unknown[] = [];
    const finishReason: unknown[] = [];
    const reasoning: unknown[] = [];
    for (const choice of value.choices) {
      if (!isRecord(choice)) return wrongShape(reply, 'a choice is not an object');
      const content = isRecord(choice.message) ? choice.message.content : choice.text;
      text.push(content ?? '');
      finishReason.push(choice.finish_reason ?? null);
      reasoning.push(reasoningOf(choice));
    }
    const outputs: Record<string, unknown[]> = { text, finish_reason: finishReason };
    if (reasoning.some((r) => r !== null)) outputs.reasoning = reasoning;
    if (isRecord(value.usage) && typeof value.usage.completion_tokens === 'number')
      outputs.completion_tokens = [value.usage.completion_tokens];
    reply.document.outputs = outputs;
    const spent = text.findIndex(
      (t, i) =>
        t === '' && typeof reasoning[i] === 'string' && reasoning[i] !== '' && finishReason[i] === 'length',
    );
    if (spent !== -1) {
      return fail(
        reply,
        `${reply.label}: choice ${spent}'s answer is empty because max_tokens was spent on reasoning (${String(reasoning[spent]).length} characters in "reasoning_content"); raise max_tokens, or turn thinking off for this request if the model allows it`,
      );
    }
    return pass(reply);
  },

  async metadata(ctx) {
    const tgi = await tgiInfo(ctx);
    const sent = await sendLlm(ctx, { path: '/v1/models' });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply);
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    return pass(reply, tgi?.modelSha === undefined ? {} : { modelVersion: tgi.modelSha });
  },
});

// ---------------------------------------------------------------------------------------------
// Config: the completion request an integrity or canary check sends, and the plugin

/** OpenAI-compatible completions (prompt) or chat completions (messages), with any other options. */
export const openaiRequestSchema = z
  .looseObject(
    {
      prompt: z.string().optional().describe('Completions prompt (POST /v1/completions).'),
      messages: z
        .array(z.looseObject({ role: z.string(), content: z.unknown() }))
        .min(1)
        .optional()
        .describe('Chat messages (POST /v1/chat/completions).'),
    },
    { error: missingRequest('{prompt: "2+2=", max_tokens: 1}') },
  )
  .superRefine((value, ctx) => exactlyOne(value, ['prompt', 'messages'], ctx))
  .describe(
    'OpenAI request body without model (taken from the target): {prompt} or {messages}, plus options.',
  );

/** The OpenAI-compatible protocol plugin: a model (its id) is required; checks send a completion request. */
export const openaiProtocol = defineProtocol({
  name: 'openai',
  adapter: openaiAdapter,
  model: 'required',
  modelNoun: 'model id',
  // Optional: no request is the streamed one-token default probe.
  request: { schema: openaiRequestSchema.optional() },
  errorCodes: STREAM_ERROR_CODES,
  // The one-token generation catches an engine dead behind a green /health (vllm #39863), by default.
  defaultChecks: ['liveness', 'readiness', 'integrity'],
  quickLookRequest: { prompt: DEFAULT_PROMPT, max_tokens: DEFAULT_MAX_TOKENS, stream: true },
});
