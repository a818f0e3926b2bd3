/**
 * Ollama (default port 11434).
 *
 * - liveness: `GET /` → 200 `Ollama is running`.
 * - readiness: `GET /api/tags` lists the model (on disk); `GET /api/ps` then says whether it is loaded in
 *   memory. **On disk but not loaded is ready**: Ollama loads a model on its first request and unloads
 *   it after `keep_alive` (5 min by default) of idleness, so "not loaded" is the normal state of an idle
 *   server — failing or degrading on it would flap with traffic. The answer says so instead: the
 *   document's body is `{tags, ps, loaded, note}` and `outputs.loaded` is `[true]`, `[false]`, or
 *   `[null]` when `/api/ps` could not be read, so a check that needs a warm model can assert
 *   `outputs.loaded: {eq: true}`. Names without a tag mean `:latest`, as in Ollama.
 * - integrity: `POST /api/generate` (or `POST /api/chat` when the request has `messages`) with
 *   `{model, stream: false, options: {num_predict: 16}, ...request}` (a string request is a prompt; no
 *   request is {@link DEFAULT_PROMPT}), and `think: false` unless the request sets `think` (thinking models
 *   think by default, and 16 tokens can all go on thinking). Outputs: `text`, `thinking` (when the model
 *   thought), `done_reason`, `eval_count` when reported; an empty answer whose budget went on thinking
 *   fails and says so. With
 *   `stream: true` the NDJSON stream is read line by line: the text is the concatenation, and a
 *   mid-stream `{"error": …}` line fails the probe although the status stays 200.
 * - metadata: `GET /api/version` (best effort) and the model's `GET /api/tags` entry.
 *
 * The model version is the digest's first 12 hex digits, as `ollama list` shows it.
 */
import { z } from 'zod';
import { GOT } from '../diagnostics/messages.js';
import { requiredOr } from '../schema/blocks.js';
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
  send,
  snippet,
  unexpectedStatus,
  wrongShape,
} from './common.js';
import { isRecord } from './normalise.js';
import { defineProtocol, missingRequest } from './plugin.js';
import {
  assertsStream,
  createLineSplitter,
  STREAM_ERROR_CODES,
  STREAM_INCOMPLETE,
  STREAM_STALLED,
  StreamMeter,
  stallBoundsOf,
} from './stream.js';

/** Prompt sent by integrity checks that set no request. */
export const DEFAULT_PROMPT = 'Reply with the single word OK.';
/** `options.num_predict` unless the request sets it: a smoke inference, not a workload. */
export const DEFAULT_NUM_PREDICT = 16;

const RUNNING = 'Ollama is running';

/** `llama3` → `llama3:latest`; a name with a tag is kept. */
export function canonicalModelName(name: string): string {
  const lastSegment = name.slice(name.lastIndexOf('/') + 1);
  return lastSegment.includes(':') ? name : `${name}:latest`;
}

type ModelEntry = Record<string, unknown>;

/** `models[]` of /api/tags or /api/ps; undefined when the body has no such list. */
function modelsOf(body: unknown): ModelEntry[] | undefined {
  if (!isRecord(body) || !Array.isArray(body.models)) return undefined;
  return body.models.filter(isRecord);
}

function entryName(entry: ModelEntry): string | undefined {
  const name = typeof entry.name === 'string' ? entry.name : entry.model;
  return typeof name === 'string' ? name : undefined;
}

function findModel(entries: ModelEntry[], model: string): ModelEntry | undefined {
  const wanted = canonicalModelName(model);
  return entries.find((e) => {
    const name = entryName(e);
    return name !== undefined && canonicalModelName(name) === wanted;
  });
}

function versionOf(entry: ModelEntry | undefined): string | undefined {
  const digest = entry?.digest;
  if (typeof digest !== 'string' || digest === '') return undefined;
  return digest.replace(/^sha256:/, '').slice(0, 12);
}

/** `options.num_predict` of the default probe (no request): one token (see openai.ts). */
export const DEFAULT_PROBE_NUM_PREDICT = 1;

function generateRequest(
  plan: CheckPlan,
  model: string,
  sendThink: boolean,
): {
  path: string;
  body: Record<string, unknown>;
  isStream: boolean;
  thinkAdded: boolean;
  isDefault: boolean;
} {
  const isDefault = plan.request === undefined;
  const request = plan.request ?? DEFAULT_PROMPT;
  const fields: Record<string, unknown> =
    typeof request === 'string' ? { prompt: request } : isRecord(request) ? request : {};
  const numPredict = isDefault ? DEFAULT_PROBE_NUM_PREDICT : DEFAULT_NUM_PREDICT;
  const options = { num_predict: numPredict, ...(isRecord(fields.options) ? fields.options : {}) };
  // `think` defaults to true for thinking models (ollama/ollama api/types.go, `Think`), and a smoke
  // probe's 16-token budget can then be all thinking with an empty `response`: off unless asked.
  const thinkAdded = sendThink && !('think' in fields);
  // The default probe streams, and so does a check that asserts on stream timings.
  const stream = isDefault || assertsStream(plan) ? true : fields.stream === true;
  const body = { model, ...(thinkAdded && { think: false }), ...fields, stream, options };
  return {
    path: 'messages' in fields ? '/api/chat' : '/api/generate',
    body,
    isStream: stream,
    thinkAdded,
    isDefault,
  };
}

/** The generated text of one answer object (generate: `response`; chat: `message.content`). */
function textOf(value: Record<string, unknown>): string | undefined {
  if (typeof value.response === 'string') return value.response;
  if (isRecord(value.message) && typeof value.message.content === 'string') return value.message.content;
  return undefined;
}

/** The thinking text of one answer object (generate: `thinking`; chat: `message.thinking`). */
function thinkingOf(value: Record<string, unknown>): string | undefined {
  if (typeof value.thinking === 'string') return value.thinking;
  if (isRecord(value.message) && typeof value.message.thinking === 'string') return value.message.thinking;
  return undefined;
}

/**
 * Sets the outputs (`text`, `thinking` when the model thought, `done_reason`, `eval_count`); fails when
 * the answer is empty because the token budget went on thinking, saying so rather than "empty".
 */
function setGenerated(
  reply: Reply,
  text: string,
  thinking: string,
  last: Record<string, unknown>,
): AdapterAnswer {
  const outputs: Record<string, unknown[]> = { text: [text] };
  if (thinking !== '') outputs.thinking = [thinking];
  if (last.done_reason !== undefined) outputs.done_reason = [last.done_reason];
  if (typeof last.eval_count === 'number') outputs.eval_count = [last.eval_count];
  reply.document.outputs = outputs;
  if (text === '' && thinking !== '' && last.done_reason === 'length') {
    return fail(
      reply,
      `Ollama ${reply.label}: the answer is empty because the token budget (num_predict) was spent on thinking (${thinking.length} characters in "thinking"); raise options.num_predict or set think: false`,
    );
  }
  return pass(reply);
}

/** Ollama's refusal of `think` for a model without the thinking capability. */
function refusesThink(reply: Reply): boolean {
  return reply.status === 400 && /does not support thinking/i.test(reply.text);
}

/**
 * Sends a streamed generate/chat request and reads its NDJSON lines as they arrive: each line is JSON;
 * a line with text (`response`, `message.content`) or thinking (`thinking`, `message.thinking`) is
 * timed as a token; an `error` line fails at once although the status stays 200; the last line must
 * say `done: true` (else `STREAM_INCOMPLETE`); its `eval_count` is the token count when present, else
 * the token lines are counted.
 */
async function readStream(
  ctx: AdapterContext,
  plan: CheckPlan,
  path: string,
  body: Record<string, unknown>,
  isDefault: boolean,
): Promise<AdapterAnswer> {
  const meter = new StreamMeter(stallBoundsOf(plan));
  const lines = createLineSplitter();
  let count = 0;
  let text = '';
  let thinking = '';
  let last: Record<string, unknown> | undefined;
  let broken: { reason: string; code?: Uppercase<string> } | undefined;
  const readLine = (line: string): void => {
    if (broken !== undefined || line.trim() === '') return;
    count++;
    const json = readJson(line);
    if (!json.ok) {
      broken = { reason: `stream line ${count} is not valid JSON: ${json.message}`, code: json.code };
    } else if (!isRecord(json.value)) {
      broken = { reason: `stream line ${count} is not an object: ${snippet(line)}`, code: 'PROTOCOL' };
    } else if (json.value.error !== undefined) {
      const error = json.value.error;
      const message = typeof error === 'string' ? error : snippet(JSON.stringify(error));
      broken = {
        reason: `streamed an error after ${count - 1} chunk(s) although the status was 200: ${message}`,
      };
    } else {
      const piece = textOf(json.value) ?? '';
      const thought = thinkingOf(json.value) ?? '';
      text += piece;
      thinking += thought;
      last = json.value;
      if (piece !== '' || thought !== '') meter.token();
      return;
    }
    // Not aborted: the server ends its stream after an error, and the probe's timeout and body cap
    // bound one that does not; the answer keeps its status and what was read.
  };
  const sent = await send(ctx, {
    path,
    method: 'POST',
    body,
    signal: meter.signal,
    onBody: (chunk) => {
      for (const line of lines.push(chunk)) readLine(line);
    },
  });
  if (sent.ok && isSuccess(sent.reply.status)) for (const line of lines.end()) readLine(line);
  const done = last?.done === true;
  const evalCount = done && typeof last?.eval_count === 'number' ? last.eval_count : undefined;
  const stream = meter.finish(evalCount);
  const withStream = (answer: AdapterAnswer): AdapterAnswer => ({ ...answer, stream });
  if (meter.stalled !== undefined || broken !== undefined) {
    const answer = sent.ok ? pass(sent.reply) : sent.answer;
    const verdict: AdapterAnswer['verdict'] =
      meter.stalled !== undefined
        ? {
            ok: false,
            code: STREAM_STALLED,
            reason: `Ollama POST ${path}: the stream stalled: ${meter.stalled}; ${stream.tokens} token(s) in ${Math.round(stream.totalMs)} ms`,
          }
        : { ok: false, reason: `Ollama POST ${path}: ${broken?.reason}` };
    if (broken?.code !== undefined && verdict.ok === false) verdict.code = broken.code;
    return withStream({ ...answer, verdict });
  }
  if (!sent.ok) return withStream(sent.answer);
  const { reply } = sent;
  if (!isSuccess(reply.status)) return withStream(unexpectedStatus(reply, 'Ollama'));
  reply.document.body = { text, ...(thinking !== '' && { thinking }), lines: count, last: last ?? null };
  if (!done || last === undefined) {
    reply.document.outputs = { text: [text] };
    return withStream(
      fail(
        reply,
        `Ollama ${reply.label}: the stream ended after ${count} line(s) without a "done": true line: the generation was cut off`,
        STREAM_INCOMPLETE,
      ),
    );
  }
  if (meter.chunks === 0) {
    reply.document.outputs = { text: [text] };
    return withStream(
      fail(
        reply,
        `Ollama ${reply.label}: the stream carried no token (${count} line(s)): the model generated nothing`,
        'PROTOCOL',
      ),
    );
  }
  if (isDefault && text === '' && thinking !== '') {
    // The one-token probe's token went on thinking: the model generates; the answer is not judged.
    const answer = setGenerated(reply, text, '', last);
    reply.document.outputs.thinking = [thinking];
    return withStream({
      ...answer,
      notes: [
        "the one-token probe's token was a thinking token: the model generates (the answer itself is not judged)",
      ],
    });
  }
  return withStream(setGenerated(reply, text, thinking, last));
}

// Targets whose server refused `think: false` (a model without the thinking capability, on releases that
// refuse the field outright): later probes leave it out.
const noThink = new WeakSet<object>();

/** The Ollama adapter. */
export const ollamaAdapter: ProtocolAdapter = defineAdapter('ollama', {
  async liveness(ctx) {
    const sent = await send(ctx, { path: '/' });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (reply.status !== 200) return fail(reply, `Ollama not live: ${reply.label} ${describeAnswer(reply)}`);
    return reply.text.includes(RUNNING) ? pass(reply) : wrongShape(reply, `expected "${RUNNING}"`);
  },

  async readiness(ctx) {
    const model = modelOf(ctx, 'readiness');
    const sent = await send(ctx, { path: '/api/tags' });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply, 'Ollama');
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const onDisk = modelsOf(json.value);
    if (!onDisk) return wrongShape(reply, 'expected a "models" array');
    const entry = findModel(onDisk, model);
    if (!entry) {
      const names = onDisk.map(entryName).filter((n) => n !== undefined);
      const listed = names.length === 0 ? 'no models' : names.map((n) => `"${n}"`).join(', ');
      return fail(
        reply,
        `Ollama model "${model}" is not on disk (pull it first): ${reply.label} lists ${listed}`,
      );
    }

    // Loaded or not is reported, not judged (see the module comment).
    const ps = await send(ctx, { path: '/api/ps' });
    const psBody = ps.ok && isSuccess(ps.reply.status) && ps.reply.json.ok ? ps.reply.json.value : undefined;
    const inMemory = modelsOf(psBody);
    const loaded = inMemory === undefined ? null : findModel(inMemory, model) !== undefined;
    const note =
      loaded === null
        ? 'on disk; whether it is loaded is unknown (/api/ps could not be read)'
        : loaded
          ? 'on disk and loaded in memory'
          : 'on disk, not loaded: the first request loads it (a cold start)';
    reply.document.body = { tags: json.value, ps: psBody ?? null, loaded, note };
    reply.document.outputs = { loaded: [loaded] };
    const version = versionOf(entry);
    return pass(reply, version === undefined ? {} : { modelVersion: version });
  },

  async integrity(ctx, plan) {
    const model = modelOf(ctx, 'integrity');
    let { path, body, isStream, thinkAdded, isDefault } = generateRequest(
      plan,
      model,
      !noThink.has(ctx.target),
    );
    if (isStream) {
      const answer = await readStream(ctx, plan, path, body, isDefault);
      const response = answer.exchange.response;
      const refused =
        thinkAdded &&
        response?.status === 400 &&
        /does not support thinking/i.test(response.body.toString('utf8'));
      if (!refused) return answer;
      noThink.add(ctx.target);
      ({ path, body, isDefault } = generateRequest(plan, model, false));
      return readStream(ctx, plan, path, body, isDefault);
    }
    let sent = await send(ctx, { path, method: 'POST', body });
    if (sent.ok && thinkAdded && refusesThink(sent.reply)) {
      noThink.add(ctx.target);
      ({ path, body, isStream, thinkAdded } = generateRequest(plan, model, false));
      sent = await send(ctx, { path, method: 'POST', body });
    }
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply, 'Ollama');
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const value = json.value;
    if (isRecord(value) && value.error !== undefined)
      return fail(
        reply,
        `Ollama ${reply.label} answered ${reply.status} with an error: ${snippet(String(value.error))}`,
      );
    const text = isRecord(value) ? textOf(value) : undefined;
    if (!isRecord(value) || text === undefined)
      return wrongShape(
        reply,
        `the answer has no ${path === '/api/chat' ? '"message.content"' : '"response"'}`,
      );
    return setGenerated(reply, text, thinkingOf(value) ?? '', value);
  },

  async metadata(ctx) {
    const version = await send(ctx, { path: '/api/version' });
    if (!version.ok) return version.answer;
    const server = isSuccess(version.reply.status) && version.reply.json.ok ? version.reply.json.value : null;
    const sent = await send(ctx, { path: '/api/tags' });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply, 'Ollama');
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const models = modelsOf(json.value);
    if (!models) return wrongShape(reply, 'expected a "models" array');
    const { model } = ctx.target;
    if (model === undefined) {
      reply.document.body = { server, models };
      return pass(reply);
    }
    const entry = findModel(models, model);
    if (!entry) return fail(reply, `Ollama model "${model}" is not on disk`);
    reply.document.body = { server, model: entry };
    const modelVersion = versionOf(entry);
    return pass(reply, modelVersion === undefined ? {} : { modelVersion });
  },
});

// ---------------------------------------------------------------------------------------------
// Config: the generate request an integrity or canary check sends, and the plugin

/** Ollama generate request. */
export const ollamaRequestSchema = z
  .looseObject(
    {
      prompt: z
        .string({ error: requiredOr(`expected a string, got ${GOT}`) })
        .describe('Prompt for /api/generate.'),
      stream: z.boolean().optional().describe('false for one JSON answer instead of NDJSON.'),
    },
    { error: missingRequest('{prompt: "2+2=", stream: false}') },
  )
  .describe('Ollama /api/generate body without model (taken from the target): {prompt}, plus options.');

/** The Ollama protocol plugin: a model (its id) is required; checks send a generate request. */
export const ollamaProtocol = defineProtocol({
  name: 'ollama',
  adapter: ollamaAdapter,
  model: 'required',
  modelNoun: 'model id',
  // Optional: no request is the streamed one-token default probe.
  request: { schema: ollamaRequestSchema.optional() },
  errorCodes: STREAM_ERROR_CODES,
  // The one-token generation catches "Ollama is running" while /api/generate hangs (ollama #1378).
  defaultChecks: ['liveness', 'readiness', 'integrity'],
  quickLookRequest: { prompt: DEFAULT_PROMPT, stream: true },
});
