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
  type Send,
  type SendResult,
  send,
  unexpectedStatus,
  wrongShape,
} from './common.js';
import { isRecord } from './normalise.js';
import { defineProtocol, missingRequest } from './plugin.js';

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

function completionRequest(plan: CheckPlan, model: string): { path: string; body: Record<string, unknown> } {
  const request = plan.request ?? DEFAULT_PROMPT;
  const fields: Record<string, unknown> =
    typeof request === 'string' ? { prompt: request } : isRecord(request) ? request : {};
  const body = { model, max_tokens: DEFAULT_MAX_TOKENS, ...fields, stream: false };
  return { path: 'messages' in fields ? '/v1/chat/completions' : '/v1/completions', body };
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
    const { path, body } = completionRequest(plan, modelOf(ctx, 'integrity'));
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
  request: { schema: openaiRequestSchema },
});
