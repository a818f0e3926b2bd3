/**
 * Streaming LLM probes against real streaming HTTP: the example model server's OpenAI-compatible API
 * (a character-level model streamed as server-sent events, with its stall, hang and no-finish faults),
 * and hostile servers started here (a token every second for ever, a stream that never ends, 100 MB).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createModelServer, type ModelServer, parseFault } from '@vigil/example-model-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeClient, makePlan, makeTarget } from '../protocols/fakes/testing.js';
import type { CheckPlan, ExpectConfig, HttpClient } from '../types.js';
import { runProbe } from './run-probe.js';

let server: ModelServer;
let url: string;
let client: HttpClient;
beforeAll(async () => {
  server = await createModelServer({
    models: ['credit-scorer'],
    warmupInferences: 0,
    faults: { enabled: true, token: 'test' },
    llm: { tokenIntervalMs: 5 },
  });
  url = await server.listen();
  client = makeClient();
});
afterAll(async () => {
  await client.close();
  await server.close();
});
afterEach(() => server.faults.clear());

function llmPlan(base: string, expect: ExpectConfig = {}, request?: unknown, timeoutMs = 3_000): CheckPlan {
  const target = makeTarget('openai', base, { model: 'char-lm' });
  return makePlan('integrity', target, {
    expect,
    timeoutMs,
    ...(request !== undefined && { request }),
  });
}

describe('openai streaming integrity against the example server', () => {
  it('the default probe is a streamed one-token generation, counted by the server (usage)', async () => {
    const result = await runProbe(llmPlan(url), { client });
    expect(result.outcome).toBe('pass');
    expect(result.stream).toMatchObject({ tokens: 1, tokenSource: 'usage', tokensPerSecond: null });
    expect(result.stream?.ttftMs).toBeGreaterThan(0);
    expect(result.stream?.ttftMs).toBeLessThanOrEqual(result.stream?.totalMs ?? 0);
  });

  it('a longer stream: TTFT, the largest gap, tokens per second, the assembled text and finish_reason', async () => {
    const plan = llmPlan(
      url,
      { outputs: { text: { notEmpty: true } } },
      {
        prompt: 'The probe',
        max_tokens: 12,
        stream: true,
      },
    );
    let captured = '';
    const result = await runProbe(plan, {
      client,
      onExchange: (c) => {
        captured = c.exchange.response?.body.toString('utf8') ?? '';
      },
    });
    expect(result.outcome).toBe('pass');
    const stream = result.stream;
    expect(stream?.tokenSource).toBe('usage');
    expect(stream?.tokens).toBeGreaterThanOrEqual(2);
    // 5 ms between tokens on the server: the largest gap is at least that.
    expect(stream?.maxTokenGapMs).toBeGreaterThanOrEqual(4);
    expect(stream?.tokensPerSecond).toBeGreaterThan(0);
    expect(captured).toContain('data: [DONE]');
  });

  it('without include_usage the tokens are counted from the chunks', async () => {
    const plan = llmPlan(
      url,
      {},
      {
        prompt: 'The probe',
        max_tokens: 6,
        stream: true,
        stream_options: { include_usage: false },
      },
    );
    const result = await runProbe(plan, { client });
    expect(result.outcome).toBe('pass');
    expect(result.stream?.tokenSource).toBe('chunks');
    expect(result.stream?.tokens).toBeGreaterThanOrEqual(1);
  });

  it('chat completions stream too (delta.content)', async () => {
    const plan = llmPlan(
      url,
      { ttft: { failedMs: 2_000 } },
      { messages: [{ role: 'user', content: 'A model' }], max_tokens: 5 },
    );
    const result = await runProbe(plan, { client });
    expect(result.outcome).toBe('pass');
    expect(result.stream?.tokens).toBeGreaterThanOrEqual(1);
  });

  it('ttft over its degraded bound degrades; over its failed bound fails', async () => {
    server.faults.set('latency', parseFault('latency', { ms: 150 }));
    const degraded = await runProbe(llmPlan(url, { ttft: { degradedMs: 100, failedMs: 2_000 } }), { client });
    expect(degraded.outcome).toBe('degraded');
    expect(degraded.failures[0]?.assertion).toBe('ttft');
    const failed = await runProbe(llmPlan(url, { ttft: { failedMs: 100 } }), { client });
    expect(failed.outcome).toBe('fail');
    expect(failed.error?.code).toBe('STREAM_STALLED');
    expect(failed.error?.message).toContain('no first token within 100 ms');
  });

  it('a stall mid-stream past maxTokenGap.failed is STREAM_STALLED, ended at the bound, not at the timeout', async () => {
    server.faults.set('stall', parseFault('stall', { afterTokens: 3, ms: 0 }));
    const plan = llmPlan(
      url,
      { maxTokenGap: { failedMs: 300 } },
      { prompt: 'The probe', max_tokens: 12, stream: true },
      10_000,
    );
    const result = await runProbe(plan, { client });
    expect(result.outcome).toBe('fail');
    expect(result.error?.code).toBe('STREAM_STALLED');
    // Ended by the 300 ms bound's timer, which Node may fire up to ~1 ms early against performance.now().
    expect(result.stream?.maxTokenGapMs).toBeGreaterThanOrEqual(298);
    expect(result.durationMs).toBeLessThan(10_000);
  });

  it('a pause mid-stream shows as the largest gap and degrades', async () => {
    server.faults.set('stall', parseFault('stall', { afterTokens: 2, ms: 200 }));
    const plan = llmPlan(
      url,
      { maxTokenGap: { degradedMs: 150, failedMs: 5_000 } },
      { prompt: 'The probe', max_tokens: 6, stream: true },
    );
    const result = await runProbe(plan, { client });
    expect(result.outcome).toBe('degraded');
    expect(result.stream?.maxTokenGapMs).toBeGreaterThanOrEqual(200);
  });

  it('a stream that ends without a finish_reason fails with STREAM_INCOMPLETE', async () => {
    server.faults.set('no-finish', parseFault('no-finish', {}));
    const result = await runProbe(llmPlan(url), { client });
    expect(result.outcome).toBe('fail');
    expect(result.error?.code).toBe('STREAM_INCOMPLETE');
    expect(result.error?.message).toContain('without a finish_reason');
  });

  it('a hung engine behind a green /health fails the default probe', async () => {
    server.faults.set('hang', parseFault('hang', {}));
    const health = await runProbe(makePlan('liveness', makeTarget('openai', url, { model: 'char-lm' })), {
      client,
    });
    expect(health.outcome).toBe('pass');
    const result = await runProbe(llmPlan(url, {}, undefined, 500), { client });
    expect(result.outcome).toBe('fail');
    expect(result.error?.code).toBe('TIMEOUT');
  });

  it('minTokensPerSecond of a one-token probe is not measured, and says so', async () => {
    const result = await runProbe(llmPlan(url, { minTokensPerSecond: { failed: 1 } }), { client });
    expect(result.outcome).toBe('fail');
    expect(result.failures[0]?.message).toContain('a rate needs two or more');
  });

  it('minTokensPerSecond below its failed bound fails', async () => {
    const plan = llmPlan(
      url,
      { minTokensPerSecond: { failed: 1_000_000 } },
      { prompt: 'x', max_tokens: 5, stream: true },
    );
    const result = await runProbe(plan, { client });
    expect(result.outcome).toBe('fail');
    expect(result.failures[0]?.assertion).toBe('minTokensPerSecond');
  });
});

// ---------------------------------------------------------------------------------------------
// Hostile and unusual streams, from a server of our own

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;
let hostile: http.Server;
let hostileUrl: string;
let handler: Handler = (_req, res) => res.end();
let written = 0;
beforeAll(async () => {
  hostile = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => hostile.listen(0, '127.0.0.1', resolve));
  hostileUrl = `http://127.0.0.1:${(hostile.address() as AddressInfo).port}`;
});
afterAll(async () => {
  hostile.closeAllConnections();
  await new Promise((resolve) => hostile.close(resolve));
});

const sse = (value: unknown): string => `data: ${JSON.stringify(value)}\n\n`;
const token = (text: string, finish: string | null = null) =>
  sse({ choices: [{ index: 0, text, finish_reason: finish }] });

/** Writes `chunk()` every `everyMs` until the client goes away; counts the bytes written. */
function forever(chunk: () => string, everyMs: number): Handler {
  return (req, res) => {
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const timer = setInterval(() => {
      const data = chunk();
      written += data.length;
      res.write(data);
    }, everyMs);
    req.socket.on('close', () => clearInterval(timer));
  };
}

describe('hostile streams fail their own probe within its timeout, with bounded memory', () => {
  it('a token every second for ever: TIMEOUT at the probe timeout', async () => {
    handler = forever(() => token('a'), 400);
    const result = await runProbe(llmPlan(hostileUrl, {}, { prompt: 'x', stream: true }, 1_000), { client });
    expect(result.outcome).toBe('fail');
    expect(result.error?.code).toBe('TIMEOUT');
    expect(result.stream?.tokens).toBeGreaterThanOrEqual(1);
  });

  it('the same with a maxTokenGap bound: STREAM_STALLED at the bound', async () => {
    handler = forever(() => token('a'), 400);
    const plan = llmPlan(
      hostileUrl,
      { maxTokenGap: { failedMs: 200 } },
      { prompt: 'x', stream: true },
      5_000,
    );
    const result = await runProbe(plan, { client });
    expect(result.error?.code).toBe('STREAM_STALLED');
  });

  it('a stream that never ends (keep-alive comments, no token): TIMEOUT, and no token counted', async () => {
    handler = forever(() => ': keep-alive\n\n', 5);
    const result = await runProbe(llmPlan(hostileUrl, {}, undefined, 600), { client });
    expect(result.error?.code).toBe('TIMEOUT');
    expect(result.stream).toMatchObject({ tokens: 0, ttftMs: null });
  });

  it('a 100 MB stream stops at the body cap (BODY_TOO_LARGE) long before 100 MB is read', async () => {
    written = 0;
    const big = token('x'.repeat(64 * 1024));
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let closed = false;
      req.socket.on('close', () => {
        closed = true;
      });
      const pump = (): void => {
        while (!closed && written < 100 * 1024 * 1024) {
          written += big.length;
          if (!res.write(big)) {
            res.once('drain', pump);
            return;
          }
        }
        if (!closed) res.end();
      };
      pump();
    };
    const before = process.memoryUsage().heapUsed;
    const result = await runProbe(llmPlan(hostileUrl, {}, { prompt: 'x', stream: true }, 10_000), { client });
    expect(result.error?.code).toBe('BODY_TOO_LARGE');
    expect(written).toBeLessThan(100 * 1024 * 1024);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('a stream whose events carry no text ends as a failure: the engine generated nothing', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${token('', 'stop')}data: [DONE]\n\n`);
    };
    const result = await runProbe(llmPlan(hostileUrl), { client });
    expect(result.outcome).toBe('fail');
    expect(result.failures[0]?.message).toContain('carried no token');
  });

  it('reasoning tokens count for TTFT; the one-token probe whose token was reasoning passes with a note', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse({ choices: [{ index: 0, delta: { reasoning_content: 'Hmm' }, finish_reason: null }] }));
      setTimeout(() => {
        res.end(`${sse({ choices: [{ index: 0, delta: {}, finish_reason: 'length' }] })}data: [DONE]\n\n`);
      }, 50);
    };
    const result = await runProbe(llmPlan(hostileUrl), { client });
    expect(result.outcome).toBe('pass');
    expect(result.stream?.ttftMs).toBeLessThan(result.stream?.totalMs ?? 0);
    expect(result.notes?.[0]).toContain('reasoning token');
  });

  it('an error event mid-stream fails with the server message', async () => {
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.end(`${token('a')}${sse({ object: 'error', message: 'engine dead', code: 500 })}`);
    };
    const result = await runProbe(llmPlan(hostileUrl), { client });
    expect(result.outcome).toBe('fail');
    expect(result.error?.message ?? result.failures[0]?.message).toContain('engine dead');
  });

  it('ollama: NDJSON, thinking counts for TTFT, a stall after it is STREAM_STALLED', async () => {
    handler = (req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.write(`${JSON.stringify({ model: 'm', thinking: 'Let me', response: '', done: false })}\n`);
      const timer = setTimeout(() => res.end(), 5_000);
      req.socket.on('close', () => clearTimeout(timer));
    };
    const target = makeTarget('ollama', hostileUrl, { model: 'm' });
    const plan = makePlan('integrity', target, {
      expect: { maxTokenGap: { failedMs: 200 } },
      timeoutMs: 3_000,
    });
    const result = await runProbe(plan, { client });
    expect(result.error?.code).toBe('STREAM_STALLED');
    expect(result.stream?.ttftMs).not.toBeNull();
  });

  it('ollama: a stream without a done line is STREAM_INCOMPLETE; eval_count is the token count', async () => {
    const target = makeTarget('ollama', hostileUrl, { model: 'm' });
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(
        `${JSON.stringify({ response: 'O', done: false })}\n${JSON.stringify({ response: 'K', done: false })}\n`,
      );
    };
    const cut = await runProbe(makePlan('integrity', target), { client });
    expect(cut.error?.code).toBe('STREAM_INCOMPLETE');
    handler = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/x-ndjson' });
      res.end(
        `${JSON.stringify({ response: 'O', done: false })}\n${JSON.stringify({ response: '', done: true, done_reason: 'length', eval_count: 1 })}\n`,
      );
    };
    const ok = await runProbe(makePlan('integrity', target), { client });
    expect(ok.outcome).toBe('pass');
    expect(ok.stream).toMatchObject({ tokens: 1, tokenSource: 'usage' });
  });
});
