import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpClient } from '../types.js';
import { createOllamaFake, type OllamaFake } from './fakes/ollama.js';
import { makeClient, makePlan, makeTarget, runAdapter } from './fakes/testing.js';
import { canonicalModelName, DEFAULT_NUM_PREDICT, ollamaAdapter } from './ollama.js';

const DIGEST = 'a6990ed6be412c6a217614b0ec8e9cd6800a743d5dd7e1d7fbe9df09e61d5615';
let fake: OllamaFake;
let client: HttpClient;
const target = (model = 'llama3.2:1b') => makeTarget('ollama', fake.url, { model });
const run = (call: 'liveness' | 'readiness' | 'integrity' | 'metadata', request?: unknown, model?: string) =>
  runAdapter(
    client,
    ollamaAdapter,
    call,
    makePlan(
      call === 'metadata' ? 'liveness' : call,
      target(model),
      request === undefined ? {} : { request },
    ),
  );

beforeAll(async () => {
  fake = await createOllamaFake();
  client = makeClient();
});
afterAll(async () => {
  await client.close();
  await fake.close();
});
beforeEach(() => {
  Object.assign(fake.state, {
    onDisk: [{ name: 'llama3.2:1b', digest: DIGEST }],
    loaded: [],
    text: 'OK then',
    streamError: undefined,
    hang: false,
    nan: false,
    thinking: undefined,
    refuseThink: undefined,
  });
});

describe('ollama', () => {
  it('liveness: GET / answers 200 "Ollama is running"', async () => {
    expect((await run('liveness')).verdict).toEqual({ ok: true });
  });

  it('readiness: on disk but not loaded is ready-but-cold: passes with loaded false and a note', async () => {
    const answer = await run('readiness');
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs.loaded).toEqual([false]);
    expect(answer.document?.body).toMatchObject({
      loaded: false,
      note: expect.stringContaining('cold start'),
    });
    expect(answer.modelVersion).toBe(DIGEST.slice(0, 12));
  });

  it('readiness: loaded in memory (/api/ps) reports loaded true', async () => {
    fake.state.loaded = ['llama3.2:1b'];
    const answer = await run('readiness');
    expect(answer.document?.outputs.loaded).toEqual([true]);
  });

  it('readiness: a model not on disk (/api/tags) is not ready, listing what is there', async () => {
    const answer = await run('readiness', undefined, 'mistral');
    expect(answer.verdict).toEqual({
      ok: false,
      reason: 'Ollama model "mistral" is not on disk (pull it first): GET /api/tags lists "llama3.2:1b"',
    });
  });

  it('readiness: a name without a tag means :latest, as in Ollama', async () => {
    fake.state.onDisk = [{ name: 'mistral:latest', digest: DIGEST }];
    expect((await run('readiness', undefined, 'mistral')).verdict).toEqual({ ok: true });
    expect(canonicalModelName('library/mistral')).toBe('library/mistral:latest');
    expect(canonicalModelName('host:5000/ns/m:q4')).toBe('host:5000/ns/m:q4');
  });

  it('integrity: POST /api/generate with stream false by default; response becomes outputs.text', async () => {
    const answer = await run('integrity', { prompt: 'Say OK' });
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs).toEqual({ text: ['OK then'], done_reason: ['stop'], eval_count: [2] });
    const sent = JSON.parse(fake.requests.at(-1)?.body ?? '');
    expect(sent).toEqual({
      model: 'llama3.2:1b',
      stream: false,
      think: false,
      prompt: 'Say OK',
      options: { num_predict: DEFAULT_NUM_PREDICT },
    });
  });

  it('integrity: stream true reads the NDJSON stream and joins the text', async () => {
    const answer = await run('integrity', { prompt: 'Say OK', stream: true });
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs.text).toEqual(['OK then']);
    expect(answer.document?.body).toMatchObject({ text: 'OK then', last: { done: true } });
    expect(answer.stream).toMatchObject({ tokens: expect.any(Number), ttftMs: expect.any(Number) });
  });

  it('integrity: a mid-stream {"error"} line fails although the status is 200 (PROTOCOLS.md)', async () => {
    fake.state.streamError = { afterChunks: 1, message: 'llama runner process has terminated' };
    const answer = await run('integrity', { prompt: 'Say OK', stream: true });
    expect(answer.document?.status).toBe(200);
    expect(answer.verdict).toEqual({
      ok: false,
      reason:
        'Ollama POST /api/generate: streamed an error after 1 chunk(s) although the status was 200: llama runner process has terminated',
    });
  });

  it('integrity: {messages} goes to /api/chat; message.content becomes outputs.text', async () => {
    const answer = await run('integrity', { messages: [{ role: 'user', content: 'hi' }] });
    expect(fake.requests.at(-1)?.path).toBe('/api/chat');
    expect(answer.document?.outputs.text).toEqual(['OK then']);
  });

  it('integrity: the first request loads the model (Ollama loads on demand)', async () => {
    await run('integrity', { prompt: 'x' });
    expect((await run('readiness')).document?.outputs.loaded).toEqual([true]);
  });

  it("integrity: a model not pulled is UNEXPECTED_STATUS with Ollama's message", async () => {
    const answer = await run('integrity', { prompt: 'x' }, 'mistral');
    expect(answer.verdict).toMatchObject({
      ok: false,
      code: 'UNEXPECTED_STATUS',
      reason: expect.stringContaining('model "mistral" not found, try pulling it first'),
    });
  });

  it('metadata: server version and the model entry from /api/tags', async () => {
    const answer = await run('metadata');
    expect(answer.document?.body).toMatchObject({
      server: { version: '0.5.7' },
      model: { name: 'llama3.2:1b' },
    });
    expect(answer.modelVersion).toBe(DIGEST.slice(0, 12));
  });
});

describe('ollama thinking models (PROTOCOLS.md: think defaults to true, thinking comes apart from response)', () => {
  const THOUGHT = Array.from({ length: 40 }, (_, i) => `step${i}`).join(' ');

  it('smoke probes send think: false unless the request sets think, so the answer is not spent on thinking', async () => {
    fake.state.thinking = THOUGHT;
    const answer = await run('integrity');
    expect(JSON.parse(fake.requests.at(-1)?.body ?? '{}')).toMatchObject({ think: false });
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs.text).toEqual(['OK then']);
    expect(answer.document?.outputs.thinking).toBeUndefined();
  });

  it.each([
    { name: 'generate', request: { prompt: 'hi', think: true } },
    { name: 'chat', request: { messages: [{ role: 'user', content: 'hi' }], think: true } },
    { name: 'generate, streamed', request: { prompt: 'hi', think: true, stream: true } },
  ])(
    '$name: think: true with a budget spent on thinking says so instead of "empty", and exposes thinking',
    async ({ request }) => {
      fake.state.thinking = THOUGHT;
      const answer = await run('integrity', request);
      expect(JSON.parse(fake.requests.at(-1)?.body ?? '{}').think).toBe(true);
      expect(answer.verdict).toMatchObject({
        ok: false,
        reason: expect.stringContaining(
          `the answer is empty because the token budget (num_predict) was spent on thinking`,
        ),
      });
      expect(answer.document?.outputs.text).toEqual(['']);
      expect(String(answer.document?.outputs.thinking?.[0])).toMatch(/^step0 step1/);
      expect(answer.document?.outputs.done_reason).toEqual(['length']);
    },
  );

  it('think: true with room to answer passes, with thinking as an output', async () => {
    fake.state.thinking = 'a short thought';
    const answer = await run('integrity', { prompt: 'hi', think: true });
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs).toMatchObject({ text: ['OK then'], thinking: ['a short thought'] });
  });

  it('a server that refuses think for a model without the capability (400 "does not support thinking") is asked again without it', async () => {
    fake.state.refuseThink = true;
    const before = fake.requests.length;
    const answer = await run('integrity');
    expect(answer.verdict).toEqual({ ok: true });
    const bodies = fake.requests.slice(before).map((r) => JSON.parse(r.body));
    expect(bodies.map((b) => 'think' in b)).toEqual([true, false]);
  });
});
