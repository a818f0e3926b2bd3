import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpClient } from '../types.js';
import { createOpenAiFake, type OpenAiFake, TGI_MODEL_SHA } from './fakes/openai.js';
import { makeClient, makePlan, makeTarget, runAdapter } from './fakes/testing.js';
import { DEFAULT_MAX_TOKENS, openaiAdapter } from './openai.js';

const MODEL = 'facebook/opt-125m';
let fake: OpenAiFake;
let client: HttpClient;
const target = (overrides = {}) => makeTarget('openai', fake.url, { model: MODEL, ...overrides });
const run = (call: 'liveness' | 'readiness' | 'integrity' | 'metadata', request?: unknown, overrides = {}) =>
  runAdapter(
    client,
    openaiAdapter,
    call,
    makePlan(
      call === 'metadata' ? 'liveness' : call,
      target(overrides),
      request === undefined ? {} : { request },
    ),
  );

beforeAll(async () => {
  fake = await createOpenAiFake();
  client = makeClient();
});
afterAll(async () => {
  await client.close();
  await fake.close();
});
beforeEach(async () => {
  await fake.listen();
  Object.assign(fake.state, {
    flavor: 'vllm',
    healthy: true,
    models: [MODEL],
    text: 'OK',
    finishReason: 'stop',
    apiKey: undefined,
    hang: false,
    nan: false,
  });
});

describe('openai', () => {
  it('vLLM: GET /health 200 with an empty body is healthy', async () => {
    expect((await run('liveness')).verdict).toEqual({ ok: true });
  });

  it('vLLM: 503 when the engine died is unhealthy', async () => {
    fake.state.healthy = false;
    expect((await run('liveness')).verdict).toEqual({
      ok: false,
      reason: 'server unhealthy: GET /health answered 503 with an empty body',
    });
  });

  it('TGI: 503 {"error":"unhealthy","error_type":"healthcheck"} is unhealthy, quoting the error', async () => {
    Object.assign(fake.state, { flavor: 'tgi', healthy: false });
    expect((await run('liveness')).verdict).toEqual({
      ok: false,
      reason: 'server unhealthy: GET /health answered 503: unhealthy',
    });
  });

  it('vLLM/TGI loading: no listener means CONNECTION_REFUSED, and the reason says why (PROTOCOLS.md: not 503)', async () => {
    await fake.stop();
    for (const call of ['liveness', 'readiness', 'integrity'] as const) {
      const answer = await run(call);
      expect(answer.verdict).toMatchObject({ ok: false, code: 'CONNECTION_REFUSED' });
      if (answer.verdict.ok) continue;
      expect(answer.verdict.reason).toContain('open no HTTP listener until the weights are loaded');
    }
    await fake.listen();
    expect((await run('readiness')).verdict).toEqual({ ok: true });
  });

  it('readiness: /health and GET /v1/models listing the model pass', async () => {
    expect((await run('readiness')).verdict).toEqual({ ok: true });
    // Between them, the first probe of a target asks TGI's /info (404 on vLLM; see the TGI cases).
    expect(fake.requests.slice(-3).map((r) => r.path)).toEqual(['/health', '/info', '/v1/models']);
  });

  it('readiness: a model missing from /v1/models is not ready, listing what is served', async () => {
    fake.state.models = ['meta-llama/Llama-3.1-8B'];
    expect((await run('readiness')).verdict).toEqual({
      ok: false,
      reason: 'model "facebook/opt-125m" is not served: GET /v1/models lists "meta-llama/Llama-3.1-8B"',
    });
  });

  it('readiness: --api-key guards /v1/models but not /health; target auth is sent as a bearer token', async () => {
    fake.state.apiKey = 'sk-test';
    expect((await run('liveness')).verdict).toEqual({ ok: true });
    expect((await run('readiness')).verdict).toMatchObject({ ok: false, code: 'UNEXPECTED_STATUS' });
    expect((await run('readiness', undefined, { auth: { bearer: 'sk-test' } })).verdict).toEqual({
      ok: true,
    });
  });

  it('integrity: {prompt} goes to /v1/completions with the model injected and a small max_tokens', async () => {
    const answer = await run('integrity', { prompt: 'Say hi' });
    expect(answer.verdict).toEqual({ ok: true });
    const sent = fake.requests.at(-1);
    expect(sent?.path).toBe('/v1/completions');
    expect(JSON.parse(sent?.body ?? '')).toEqual({
      model: MODEL,
      max_tokens: DEFAULT_MAX_TOKENS,
      prompt: 'Say hi',
      stream: false,
    });
    expect(answer.document?.outputs).toEqual({
      text: ['OK'],
      finish_reason: ['stop'],
      completion_tokens: [1],
    });
  });

  it('integrity: {messages} goes to /v1/chat/completions; message.content becomes outputs.text', async () => {
    fake.state.text = 'Hello there';
    const answer = await run('integrity', { messages: [{ role: 'user', content: 'hi' }], max_tokens: 4 });
    expect(fake.requests.at(-1)?.path).toBe('/v1/chat/completions');
    expect(JSON.parse(fake.requests.at(-1)?.body ?? '').max_tokens).toBe(4);
    expect(answer.document?.outputs.text).toEqual(['Hello there']);
  });

  it('integrity: empty generated text passes the protocol and is visible to assertions as ""', async () => {
    fake.state.text = '';
    const answer = await run('integrity', { prompt: 'x' });
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs.text).toEqual(['']);
  });

  it('integrity: an unknown model is UNEXPECTED_STATUS with the server message', async () => {
    const answer = await run('integrity', { prompt: 'x' }, { model: 'gpt-nope' });
    expect(answer.verdict).toMatchObject({
      ok: false,
      code: 'UNEXPECTED_STATUS',
      reason: 'POST /v1/completions answered 404: The model `gpt-nope` does not exist.',
    });
  });

  it('integrity: no request sends the default smoke prompt', async () => {
    await run('integrity');
    expect(JSON.parse(fake.requests.at(-1)?.body ?? '').prompt).toEqual(expect.any(String));
  });

  it('metadata: GET /v1/models', async () => {
    const answer = await run('metadata');
    expect(answer.document?.body).toMatchObject({ object: 'list', data: [{ id: MODEL }] });
  });
});

describe('openai: vLLM reasoning models (PROTOCOLS.md: --reasoning-parser puts the text in reasoning_content)', () => {
  const chat = { messages: [{ role: 'user', content: 'hi' }] };
  afterEach(() => {
    fake.state.reasoning = undefined;
  });

  it('an answer cut off by max_tokens while reasoning (content null) says so instead of "empty", with the reasoning as an output', async () => {
    fake.state.reasoning = Array.from({ length: 40 }, (_, i) => `r${i}`).join(' ');
    const answer = await runAdapter(
      client,
      openaiAdapter,
      'integrity',
      makePlan('integrity', target(), { request: chat }),
    );
    expect(answer.verdict).toMatchObject({
      ok: false,
      reason: expect.stringContaining("choice 0's answer is empty because max_tokens was spent on reasoning"),
    });
    expect(answer.document?.outputs.text).toEqual(['']);
    expect(answer.document?.outputs.finish_reason).toEqual(['length']);
    expect(String(answer.document?.outputs.reasoning?.[0])).toMatch(/^r0 r1/);
  });

  it('with room to answer, reasoning is an output beside text', async () => {
    fake.state.reasoning = 'short';
    const answer = await runAdapter(
      client,
      openaiAdapter,
      'integrity',
      makePlan('integrity', target(), { request: chat }),
    );
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs).toMatchObject({ reasoning: ['short'] });
  });
});

describe('openai: TGI (huggingface/text-generation-inference router/src/server.rs)', () => {
  afterEach(() => {
    Object.assign(fake.state, { flavor: 'vllm', models: [MODEL] });
  });

  it.each([
    { name: 'the same model id', model: MODEL, note: undefined },
    {
      name: 'another name (TGI ignores the request model)',
      model: 'tgi',
      note: `TGI serves one model ("${MODEL}") and ignores the request's model name, so "tgi" is answered by it`,
    },
  ])('readiness with $name is ready, and /info model_sha is the model version', async ({ model, note }) => {
    fake.state.flavor = 'tgi';
    const answer = await runAdapter(
      client,
      openaiAdapter,
      'readiness',
      makePlan('readiness', target({ model })),
    );
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.modelVersion).toBe(TGI_MODEL_SHA);
    expect(answer.notes).toEqual(note === undefined ? undefined : [note]);
    const meta = await runAdapter(client, openaiAdapter, 'metadata', makePlan('liveness', target({ model })));
    expect(meta.modelVersion).toBe(TGI_MODEL_SHA);
  });

  it('vLLM: /info is asked once per target (404), then readiness reads /v1/models only', async () => {
    const t = target();
    const before = fake.requests.length;
    await runAdapter(client, openaiAdapter, 'readiness', makePlan('readiness', t));
    await runAdapter(client, openaiAdapter, 'readiness', makePlan('readiness', t));
    expect(fake.requests.slice(before).map((r) => r.path)).toEqual([
      '/health',
      '/info',
      '/v1/models',
      '/health',
      '/v1/models',
    ]);
  });
});
