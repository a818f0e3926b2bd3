/**
 * Two LLM behaviours over real loopback HTTP: an OpenAI-compatible server that refuses
 * `stream_options: {include_usage: true}` with a 400 is asked again without it (then never again for that
 * target), and an `ollama` target with no `checks:` runs its defaults from a config file — liveness,
 * readiness and the streamed one-token generation that catches "Ollama is running" while `/api/generate`
 * hangs (ollama #1378).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/load.js';
import { createOllamaFake, type OllamaFake } from '../protocols/fakes/ollama.js';
import { makeClient, makePlan, makeTarget } from '../protocols/fakes/testing.js';
import { DEFAULT_PROBE_NUM_PREDICT, DEFAULT_PROMPT as OLLAMA_PROMPT } from '../protocols/ollama.js';
import type { CheckPlan, HttpClient } from '../types.js';
import { runProbe } from './run-probe.js';

let client: HttpClient;
beforeAll(() => {
  client = makeClient();
});
afterAll(() => client.close());

describe('an OpenAI-compatible server that refuses stream_options', () => {
  /** Bodies of the completion requests the server got, parsed. */
  const seen: Array<Record<string, unknown>> = [];
  /** What a request with stream_options gets: a 400 naming the field (older servers), or another 400. */
  let refusal = '{"object":"error","message":"stream_options: Extra inputs are not permitted","code":400}';
  let server: http.Server;
  let url: string;
  const sse = (data: unknown) => `data: ${JSON.stringify(data)}\n\n`;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        const parsed = JSON.parse(body) as Record<string, unknown>;
        seen.push(parsed);
        if ('stream_options' in parsed) {
          res.writeHead(400, { 'content-type': 'application/json' }).end(refusal);
          return;
        }
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        const chunk = (text: string, finish: string | null) =>
          sse({ object: 'text_completion', choices: [{ index: 0, text, finish_reason: finish }] });
        res.end(`${chunk('O', null)}${chunk('K', 'length')}data: [DONE]\n\n`);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));
  beforeEach(() => {
    seen.length = 0;
  });

  /** A fresh target each time: the refusal is remembered per target object. */
  const plan = (request?: unknown): CheckPlan =>
    makePlan('integrity', makeTarget('openai', url, { model: 'm' }), {
      timeoutMs: 3_000,
      ...(request !== undefined && { request }),
    });

  it('the default probe is asked again without it, counts the chunks, and the target is not asked again', async () => {
    const p = plan();
    const first = await runProbe(p, { client });
    expect(first.outcome, JSON.stringify(first.failures)).toBe('pass');
    expect(first.stream).toMatchObject({ tokens: 2, tokenSource: 'chunks' });
    expect(seen.map((body) => body.stream_options)).toEqual([{ include_usage: true }, undefined]);
    expect(seen[1]).toMatchObject({ model: 'm', stream: true, max_tokens: 1 });

    seen.length = 0;
    const second = await runProbe(p, { client });
    expect(second.outcome).toBe('pass');
    expect(seen).toHaveLength(1);
    expect('stream_options' in (seen[0] ?? {})).toBe(false);
  });

  it('a 400 that is not about stream_options is not retried: it fails as the server said', async () => {
    refusal = '{"object":"error","message":"max_tokens is too large","code":400}';
    try {
      const result = await runProbe(plan(), { client });
      expect(result.outcome).toBe('fail');
      expect(result.error?.code).toBe('UNEXPECTED_STATUS');
      expect(seen).toHaveLength(1);
    } finally {
      refusal = '{"object":"error","message":"stream_options: Extra inputs are not permitted","code":400}';
    }
  });

  it("a check's own stream_options is the check's: sent as written, not retried without it", async () => {
    const result = await runProbe(
      plan({ prompt: 'Say OK', stream: true, stream_options: { include_usage: true } }),
      { client },
    );
    expect(result.outcome).toBe('fail');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.stream_options).toEqual({ include_usage: true });
  });
});

describe('an ollama target without checks runs its default probes', () => {
  let fake: OllamaFake;
  let dir: string;
  let plans: CheckPlan[];

  beforeAll(async () => {
    fake = await createOllamaFake();
    dir = mkdtempSync(join(tmpdir(), 'vigil-ollama-defaults-'));
    const file = join(dir, 'vigil.yaml');
    writeFileSync(
      file,
      `targets:\n  - { name: local-llm, url: "${fake.url}", protocol: ollama, model: "llama3.2:1b" }\n`,
    );
    const loaded = await loadConfig(file);
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    plans = loaded.plan;
  });
  afterAll(async () => {
    await fake.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('liveness, readiness and a streamed one-token generation; all pass on a healthy server', async () => {
    expect(plans.map((p) => p.id)).toEqual([
      'local-llm/liveness',
      'local-llm/readiness',
      'local-llm/integrity',
    ]);
    expect(plans[2]?.request).toBeUndefined();
    const results = [];
    for (const p of plans) results.push(await runProbe(p, { client }));
    expect(results.map((r) => r.outcome)).toEqual(['pass', 'pass', 'pass']);
    const generate = fake.requests.filter((r) => r.path === '/api/generate').at(-1);
    expect(JSON.parse(generate?.body ?? '{}')).toMatchObject({
      model: 'llama3.2:1b',
      prompt: OLLAMA_PROMPT,
      stream: true,
      think: false,
      options: { num_predict: DEFAULT_PROBE_NUM_PREDICT },
    });
    expect(results[2]?.stream?.tokens).toBeGreaterThanOrEqual(1);
    expect(results[2]?.stream?.ttftMs).not.toBeNull();
  });

  it('"Ollama is running" while /api/generate hangs: liveness passes, the default integrity fails at its timeout', async () => {
    fake.state.hangGeneration = true;
    try {
      const [liveness, , integrity] = plans as [CheckPlan, CheckPlan, CheckPlan];
      expect((await runProbe(liveness, { client })).outcome).toBe('pass');
      const hung = await runProbe({ ...integrity, timeoutMs: 500 }, { client });
      expect(hung.outcome).toBe('fail');
      expect(hung.error?.code).toBe('TIMEOUT');
    } finally {
      fake.state.hangGeneration = false;
    }
  });
});
