/**
 * The example server's LLM side: an OpenAI-compatible API over the character-level model
 * (`char-lm.ts`) — `GET /health`, `GET /v1/models`, `POST /v1/completions` and
 * `POST /v1/chat/completions`, streamed as server-sent events with `stream: true` (one token per
 * event, `stream_options.include_usage` honoured, `data: [DONE]` last), as vLLM does — and the
 * server's own Prometheus metrics at `GET /metrics`, under vLLM's names so that Vigil's `vllm` metrics
 * preset reads them. Faults: `stall`, `no-finish`, `queue-depth` (and the route faults `hang`,
 * `latency`, `errors`, which reach these routes as inference).
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Counter, Gauge, Registry } from 'prom-client';
import { type CharLm, loadCharLm } from './char-lm.js';
import type { FaultState } from './faults.js';

/** Options of the LLM routes. */
export interface LlmOptions {
  /** Time between two streamed tokens, in ms. Default 2. */
  tokenIntervalMs?: number;
  /** `max_tokens` when a request sets none. Default 16 (vLLM's own default is the context's rest). */
  defaultMaxTokens?: number;
}

/** How many requests fill the simulated KV cache (`vllm:kv_cache_usage_perc` = running / this). */
const KV_CACHE_SLOTS = 8;

/** The metrics the LLM routes keep, in vLLM's names (vllm/v1/metrics/loggers.py). */
function createLlmMetrics(model: string, faults: FaultState) {
  const registry = new Registry();
  const labels = { model_name: model };
  let running = 0;
  new Gauge({
    name: 'vllm:num_requests_running',
    help: 'Number of requests in model execution batches.',
    labelNames: ['model_name'],
    registers: [registry],
    collect() {
      this.set(labels, running);
    },
  });
  new Gauge({
    name: 'vllm:num_requests_waiting',
    help: 'Number of requests waiting to be processed.',
    labelNames: ['model_name'],
    registers: [registry],
    collect() {
      this.set(labels, faults.get('queue-depth')?.waiting ?? 0);
    },
  });
  new Gauge({
    name: 'vllm:kv_cache_usage_perc',
    help: 'KV-cache usage. 1 means 100 percent usage.',
    labelNames: ['model_name'],
    registers: [registry],
    collect() {
      this.set(labels, Math.min(1, running / KV_CACHE_SLOTS));
    },
  });
  const success = new Counter({
    name: 'vllm:request_success_total',
    help: 'Count of successfully processed requests.',
    labelNames: ['model_name', 'finished_reason'],
    registers: [registry],
  });
  const generated = new Counter({
    name: 'vllm:generation_tokens_total',
    help: 'Number of generation tokens processed.',
    labelNames: ['model_name'],
    registers: [registry],
  });
  const prompted = new Counter({
    name: 'vllm:prompt_tokens_total',
    help: 'Number of prefill tokens processed.',
    labelNames: ['model_name'],
    registers: [registry],
  });
  for (const reason of ['stop', 'length', 'abort']) success.inc({ ...labels, finished_reason: reason }, 0);
  generated.inc(labels, 0);
  prompted.inc(labels, 0);
  return {
    registry,
    started(promptTokens: number) {
      running++;
      prompted.inc(labels, promptTokens);
    },
    token() {
      generated.inc(labels);
    },
    ended(reason: 'stop' | 'length' | 'abort') {
      running--;
      success.inc({ ...labels, finished_reason: reason });
    },
  };
}

interface CompletionBody {
  model?: unknown;
  prompt?: unknown;
  messages?: unknown;
  max_tokens?: unknown;
  stream?: unknown;
  stream_options?: { include_usage?: unknown };
  seed?: unknown;
}

/** The prompt of a completions or chat request: the prompt, or the messages' contents joined. */
function promptOf(body: CompletionBody): string | undefined {
  if (typeof body.prompt === 'string') return body.prompt;
  if (Array.isArray(body.messages)) {
    return body.messages
      .map((m) => (typeof m === 'object' && m !== null && typeof m.content === 'string' ? m.content : ''))
      .join('\n');
  }
  return undefined;
}

/** Registers the LLM routes and `/metrics` on `app`. */
export function registerLlmRoutes(
  app: FastifyInstance,
  faults: FaultState,
  options: LlmOptions = {},
): { model: CharLm; registry: Registry } {
  const model = loadCharLm();
  const metrics = createLlmMetrics(model.name, faults);
  const interval = options.tokenIntervalMs ?? 2;
  const defaultMaxTokens = options.defaultMaxTokens ?? 16;
  const openStreams = new Set<() => void>();
  app.addHook('onClose', async () => {
    for (const end of openStreams) end();
  });

  app.get('/health', async () => ({}));
  app.get('/v1/models', async () => ({
    object: 'list',
    data: [{ id: model.name, object: 'model', owned_by: 'vigil-example', max_model_len: 2048 }],
  }));
  app.get('/metrics', async (_req, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  const complete = (chat: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const body = (req.body ?? {}) as CompletionBody;
    if (body.model !== model.name) {
      return reply.code(404).send({
        object: 'error',
        message: `The model \`${String(body.model)}\` does not exist.`,
        type: 'NotFoundError',
        code: 404,
      });
    }
    const prompt = promptOf(body);
    if (prompt === undefined) {
      return reply
        .code(400)
        .send({ object: 'error', message: chat ? 'messages is required' : 'prompt is required', code: 400 });
    }
    const maxTokens =
      typeof body.max_tokens === 'number' ? Math.max(1, Math.floor(body.max_tokens)) : defaultMaxTokens;
    const seed = typeof body.seed === 'number' ? body.seed : 0;
    const id = `cmpl-${Date.now().toString(36)}`;
    const created = Math.floor(Date.now() / 1000);
    const object = chat ? 'chat.completion' : 'text_completion';
    const promptTokens = prompt.length;
    metrics.started(promptTokens);

    if (body.stream !== true) {
      const tokens: string[] = [];
      const generator = model.generate(prompt, maxTokens, seed);
      let step = generator.next();
      while (!step.done) {
        tokens.push(step.value);
        metrics.token();
        step = generator.next();
      }
      const reason = step.value;
      metrics.ended(reason);
      const text = tokens.join('');
      const choice = chat
        ? { index: 0, message: { role: 'assistant', content: text }, finish_reason: reason }
        : { index: 0, text, finish_reason: reason };
      return {
        id,
        object,
        created,
        model: model.name,
        choices: [choice],
        usage: {
          prompt_tokens: promptTokens,
          completion_tokens: tokens.length,
          total_tokens: promptTokens + tokens.length,
        },
      };
    }

    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    const chunkObject = chat ? 'chat.completion.chunk' : 'text_completion';
    const event = (choices: unknown[], extra: Record<string, unknown> = {}): string =>
      `data: ${JSON.stringify({ id, object: chunkObject, created, model: model.name, choices, ...extra })}\n\n`;
    const piece = (text: string, finish: string | null): unknown =>
      chat
        ? { index: 0, delta: finish === null ? { content: text } : {}, finish_reason: finish }
        : { index: 0, text, finish_reason: finish };
    const includeUsage = body.stream_options?.include_usage === true;
    const stall = faults.get('stall');
    let stallAt = stall?.afterTokens ?? -1;
    const noFinish = faults.get('no-finish') !== undefined;
    const generator = model.generate(prompt, maxTokens, seed);
    let sent = 0;
    let timer: NodeJS.Timeout | undefined;
    let finished = false;
    const end = (reason: 'stop' | 'length' | 'abort'): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      openStreams.delete(endAbort);
      metrics.ended(reason);
    };
    const endAbort = (): void => {
      end('abort');
      res.destroy();
    };
    openStreams.add(endAbort);
    res.on('close', () => end('abort'));
    if (chat)
      res.write(event([{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null }]));
    const step = (): void => {
      if (finished) return;
      if (stall !== undefined && sent === stallAt) {
        if (stall.ms === 0) return; // hung mid-stream: the connection stays open, nothing more comes
        stallAt = -1; // once per request
        timer = setTimeout(next, stall.ms);
        return;
      }
      next();
    };
    const next = (): void => {
      if (finished) return;
      const item = generator.next();
      if (!item.done) {
        sent++;
        metrics.token();
        res.write(event([piece(item.value, null)]));
        timer = setTimeout(step, interval);
        return;
      }
      if (noFinish) {
        end(item.value);
        res.end();
        return;
      }
      res.write(event([piece('', item.value)]));
      if (includeUsage) {
        res.write(
          event([], {
            usage: {
              prompt_tokens: promptTokens,
              completion_tokens: sent,
              total_tokens: promptTokens + sent,
            },
          }),
        );
      }
      res.write('data: [DONE]\n\n');
      end(item.value);
      res.end();
    };
    step();
  };
  app.post('/v1/completions', complete(false));
  app.post('/v1/chat/completions', complete(true));
  return { model, registry: metrics.registry };
}
