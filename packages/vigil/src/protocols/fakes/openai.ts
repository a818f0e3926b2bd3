/**
 * A fake OpenAI-compatible LLM server in the manner of vLLM or Hugging Face TGI, from PROTOCOLS.md:
 * `GET /health` (vLLM: 200 empty, 503 when the engine died; TGI: 200, or 503
 * `{"error":"unhealthy","error_type":"healthcheck"}`), `GET /v1/models`, `POST /v1/completions`,
 * `POST /v1/chat/completions`. While "loading" there is **no listener** (call {@link FakeServer.stop}
 * and {@link FakeServer.listen}), as vLLM and TGI open their port only once the weights are loaded.
 * With `apiKey` set, `/v1/*` needs `Authorization: Bearer <key>` and `/health` does not (vLLM `--api-key`).
 */
import {
  type FakeReply,
  type FakeServer,
  jsonBody,
  nanified,
  startFakeServer,
  withNonFinite,
} from './server.js';

/** Switchable state of the OpenAI-compatible fake. */
export interface OpenAiFakeState {
  flavor: 'vllm' | 'tgi';
  /** false: the engine died (vLLM) / the health check failed (TGI): `/health` answers 503. */
  healthy: boolean;
  /** Model ids served. */
  models: string[];
  /** Generated text of every choice. */
  text: string;
  finishReason: string;
  apiKey?: string;
  hang: boolean;
  /** Completions carry bare NaN tokens (in `logprobs`). */
  nan: boolean;
  /**
   * vLLM with `--reasoning-parser`: the chat answer's thinking, returned in `message.reasoning_content`
   * apart from `content`; each word a token of `max_tokens`, so a budget spent on it leaves `content: null`
   * and `finish_reason: "length"` (vllm `vllm/entrypoints/openai/serving_chat.py`).
   */
  reasoning?: string;
}

/** A running OpenAI-compatible fake. */
export interface OpenAiFake extends FakeServer {
  readonly state: OpenAiFakeState;
}

/** The `model_sha` the TGI flavour reports in `/info`. */
export const TGI_MODEL_SHA = '8c2b7b7e3c0a4f1e9d7d6c5b4a39281706f5e4d3';

/**
 * Starts the fake as vLLM serving `facebook/opt-125m`, answering "OK".
 *
 * @example
 * const fake = await createOpenAiFake({ flavor: 'tgi' });
 * fake.state.healthy = false; // GET /health → 503 {"error":"unhealthy","error_type":"healthcheck"}
 */
export async function createOpenAiFake(initial: Partial<OpenAiFakeState> = {}): Promise<OpenAiFake> {
  const state: OpenAiFakeState = {
    flavor: 'vllm',
    healthy: true,
    models: ['facebook/opt-125m'],
    text: 'OK',
    finishReason: 'stop',
    hang: false,
    nan: false,
    ...initial,
  };
  let created = 1_700_000_000;

  const error = (status: number, message: string, type: string): FakeReply =>
    state.flavor === 'vllm'
      ? { status, json: { object: 'error', message, type, param: null, code: status } }
      : { status, json: { error: message, error_type: type } };

  const server = await startFakeServer((req) => {
    if (state.hang) return { hang: true };
    if (req.method === 'GET' && req.path === '/health') {
      if (state.healthy) return { status: 200, text: '' };
      return state.flavor === 'tgi'
        ? { status: 503, json: { error: 'unhealthy', error_type: 'healthcheck' } }
        : { status: 503, text: '' };
    }
    // TGI's /info (router/src/server.rs, `get_model_info`): the one model it serves and its revision.
    if (req.method === 'GET' && req.path === '/info' && state.flavor === 'tgi') {
      return {
        status: 200,
        json: {
          model_id: state.models[0],
          model_sha: TGI_MODEL_SHA,
          model_pipeline_tag: 'text-generation',
          max_concurrent_requests: 128,
          router: 'text-generation-router',
          version: '3.3.4',
        },
      };
    }
    if (!req.path.startsWith('/v1/')) return undefined;
    if (state.apiKey !== undefined && req.headers.authorization !== `Bearer ${state.apiKey}`)
      return { status: 401, json: { error: 'Unauthorized' } };
    if (req.method === 'GET' && req.path === '/v1/models') {
      return {
        status: 200,
        json: {
          object: 'list',
          data: state.models.map((id) => ({
            id,
            object: 'model',
            created,
            owned_by: state.flavor,
            root: id,
            parent: null,
          })),
        },
      };
    }
    const isChat = req.path === '/v1/chat/completions';
    if (req.method === 'POST' && (isChat || req.path === '/v1/completions')) {
      const body = jsonBody(req) as Record<string, unknown> | undefined;
      if (!body || typeof body !== 'object') return error(400, 'invalid JSON body', 'BadRequestError');
      // TGI serves its one --model-id and ignores the request's model.
      if (state.flavor === 'vllm' && !state.models.includes(String(body.model)))
        return error(404, `The model \`${String(body.model)}\` does not exist.`, 'NotFoundError');
      if (isChat && !Array.isArray(body.messages))
        return error(400, '"messages" is required', 'BadRequestError');
      if (!isChat && body.prompt === undefined) return error(400, '"prompt" is required', 'BadRequestError');
      const budget = typeof body.max_tokens === 'number' ? body.max_tokens : Number.POSITIVE_INFINITY;
      const reasoningWords = isChat && state.reasoning !== undefined ? state.reasoning.split(' ') : [];
      const spent = reasoningWords.length >= budget;
      const choice = isChat
        ? {
            index: 0,
            message: {
              role: 'assistant',
              content: spent ? null : state.text,
              ...(state.reasoning !== undefined && {
                reasoning_content: reasoningWords.slice(0, budget).join(' '),
              }),
            },
            logprobs: null,
            finish_reason: spent ? 'length' : state.finishReason,
          }
        : { index: 0, text: state.text, logprobs: null, finish_reason: state.finishReason };
      const tokens = state.text === '' ? 0 : state.text.split(/\s+/).length;
      const answer = {
        id: `cmpl-${created++}`,
        object: isChat ? 'chat.completion' : 'text_completion',
        created,
        model: body.model,
        choices: [choice],
        usage: { prompt_tokens: 5, completion_tokens: tokens, total_tokens: 5 + tokens },
      };
      if (state.nan) {
        const poisoned = { ...answer, choices: [{ ...choice, logprobs: { token_logprobs: nanified([0]) } }] };
        return { status: 200, text: withNonFinite(poisoned), contentType: 'application/json' };
      }
      return { status: 200, json: answer };
    }
    return undefined;
  });
  return Object.assign(server, { state });
}
