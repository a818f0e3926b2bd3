import { createModelServer, type ModelServer, parseFault } from '@vigil/example-model-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient, HttpRequest } from '../types.js';
import { startFakeServer } from './fakes/server.js';
import { makeClient, makePlan, makeTarget, runAdapter } from './fakes/testing.js';
import { createOipV2Adapter, oipV2Adapter } from './oip-v2.js';

const SMOKE = {
  inputs: [
    { name: 'features', shape: [1, 8], datatype: 'FP32', data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] },
  ],
};

let server: ModelServer;
let url: string;
let client: HttpClient;

async function waitReady(base: string): Promise<void> {
  for (let i = 0; i < 400; i++) {
    if ((await fetch(`${base}/v2/health/ready`)).status === 200) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('example model server did not become ready');
}

/** A client that records the URLs it was asked for. */
function countingClient(inner: HttpClient): HttpClient & { urls: string[] } {
  const urls: string[] = [];
  return {
    urls,
    request: (req: HttpRequest) => {
      urls.push(`${req.method ?? 'GET'} ${new URL(req.url).pathname}`);
      return inner.request(req);
    },
    close: () => inner.close(),
  };
}

const target = (overrides = {}) => makeTarget('oip-v2', url, { model: 'credit-scorer', ...overrides });

beforeAll(async () => {
  server = await createModelServer({ warmupInferences: 1, faults: { enabled: true, token: 'test' } });
  url = await server.listen();
  await waitReady(url);
  client = makeClient();
});
afterAll(async () => {
  await client?.close();
  await server?.close();
});
afterEach(() => server.faults.clear());

describe('oip-v2 against the example model server', () => {
  it('liveness: GET /v2/health/live answers 200 (PROTOCOLS.md: health is carried by the status code)', async () => {
    const answer = await runAdapter(client, oipV2Adapter, 'liveness', makePlan('liveness', target()));
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.status).toBe(200);
    expect(answer.document?.body).toEqual({ live: true });
  });

  it('readiness: server ready and model ready both 200 pass', async () => {
    const counting = countingClient(client);
    const answer = await runAdapter(counting, oipV2Adapter, 'readiness', makePlan('readiness', target()));
    expect(answer.verdict).toEqual({ ok: true });
    // The model's route decides; the server's is asked after it, for a note (issue 15).
    expect(counting.urls).toEqual(['GET /v2/models/credit-scorer/ready', 'GET /v2/health/ready']);
    expect(answer.notes).toBeUndefined();
  });

  it('readiness: the not-ready fault (KServe 503 with {"error"}) is not ready, and the reason quotes the error', async () => {
    server.faults.set('not-ready', parseFault('not-ready', {}));
    const answer = await runAdapter(client, oipV2Adapter, 'readiness', makePlan('readiness', target()));
    expect(answer.verdict.ok).toBe(false);
    if (answer.verdict.ok) return;
    expect(answer.verdict.code).toBeUndefined();
    expect(answer.verdict.reason).toMatch(
      /^model "credit-scorer" not ready: GET \/v2\/models\/credit-scorer\/ready answered 503: .*not ready/,
    );
    expect(answer.document?.status).toBe(503);
  });

  it('readiness: an unknown model (404 on /v2/models/{m}/ready) is named as unknown', async () => {
    const answer = await runAdapter(
      client,
      oipV2Adapter,
      'readiness',
      makePlan('readiness', target({ model: 'nope' })),
    );
    expect(answer.verdict).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^model "nope" unknown: .* answered 404/),
    });
  });

  it('readiness: a version-ful target asks /v2/models/{m}/versions/{v}/ready (spec paths are version-ful)', async () => {
    const ok = await runAdapter(
      client,
      oipV2Adapter,
      'readiness',
      makePlan('readiness', target({ version: '1' })),
    );
    expect(ok.verdict).toEqual({ ok: true });
    const missing = await runAdapter(
      client,
      oipV2Adapter,
      'readiness',
      makePlan('readiness', target({ version: '9' })),
    );
    expect(missing.verdict).toMatchObject({
      ok: false,
      reason: expect.stringContaining('/versions/9/ready answered 404'),
    });
  });

  it('readiness: while weights load (loadingMs), liveness passes and readiness is not ready', async () => {
    const loading = await createModelServer({
      models: ['credit-scorer'],
      loadingMs: 60_000,
      warmupInferences: 0,
    });
    try {
      const base = await loading.listen();
      const t = makeTarget('oip-v2', base, { model: 'credit-scorer' });
      const live = await runAdapter(client, oipV2Adapter, 'liveness', makePlan('liveness', t));
      expect(live.verdict).toEqual({ ok: true });
      const ready = await runAdapter(client, oipV2Adapter, 'readiness', makePlan('readiness', t));
      expect(ready.verdict).toMatchObject({
        ok: false,
        reason: expect.stringContaining('model "credit-scorer" not ready'),
      });
    } finally {
      await loading.close();
    }
  });

  it('integrity: outputs are {name → flat data} with shapes, model_version and declared outputs', async () => {
    const answer = await runAdapter(
      client,
      oipV2Adapter,
      'integrity',
      makePlan('integrity', target(), { request: SMOKE }),
    );
    expect(answer.verdict).toEqual({ ok: true });
    const doc = answer.document;
    expect(doc?.outputs.probability).toHaveLength(1);
    expect(typeof doc?.outputs.probability?.[0]).toBe('number');
    expect(doc?.outputs.label).toEqual([expect.stringMatching(/^(default|repay)$/)]);
    expect(doc?.shapes).toEqual({ probability: [1, 1], label: [1, 1] });
    expect(answer.modelVersion).toBe('1');
    expect(doc?.modelVersion).toBe('1');
    expect(answer.declaredOutputs).toEqual(['probability', 'label']);
  });

  it('integrity: metadata is cached per target, so the next integrity check costs one request', async () => {
    const counting = countingClient(client);
    const plan = makePlan('integrity', target(), { request: SMOKE });
    const adapter = createOipV2Adapter();
    await runAdapter(counting, adapter, 'integrity', plan);
    await runAdapter(counting, adapter, 'integrity', plan);
    expect(counting.urls).toEqual([
      'GET /v2/models/credit-scorer',
      'POST /v2/models/credit-scorer/infer',
      'POST /v2/models/credit-scorer/infer',
    ]);
  });

  it('integrity: metadataTtlMs 0 fetches the metadata every time', async () => {
    const counting = countingClient(client);
    const plan = makePlan('integrity', target(), { request: SMOKE });
    const adapter = createOipV2Adapter({ metadataTtlMs: 0 });
    await runAdapter(counting, adapter, 'integrity', plan);
    await runAdapter(counting, adapter, 'integrity', plan);
    expect(counting.urls.filter((u) => u === 'GET /v2/models/credit-scorer')).toHaveLength(2);
  });

  it('integrity: a request narrowing "outputs" narrows the declared outputs too', async () => {
    const request = { ...SMOKE, outputs: [{ name: 'probability' }] };
    const answer = await runAdapter(
      client,
      oipV2Adapter,
      'integrity',
      makePlan('integrity', target(), { request }),
    );
    expect(answer.declaredOutputs).toEqual(['probability']);
    expect(Object.keys(answer.document?.outputs ?? {})).toEqual(['probability']);
  });

  it('integrity: bare NaN tokens (nan fault) fail with NON_FINITE_NUMBER instead of crashing', async () => {
    server.faults.set('nan', parseFault('nan', {}));
    const answer = await runAdapter(
      client,
      oipV2Adapter,
      'integrity',
      makePlan('integrity', target(), { request: SMOKE }),
    );
    expect(answer.verdict).toMatchObject({
      ok: false,
      code: 'NON_FINITE_NUMBER',
      reason: expect.stringContaining('NaN'),
    });
    expect(answer.document?.status).toBe(200);
    expect(typeof answer.document?.body).toBe('string');
  });

  it('integrity: wrong-schema (no "outputs") is a PROTOCOL failure naming the missing field and the keys seen', async () => {
    server.faults.set('wrong-schema', parseFault('wrong-schema', {}));
    const answer = await runAdapter(
      client,
      oipV2Adapter,
      'integrity',
      makePlan('integrity', target(), { request: SMOKE }),
    );
    expect(answer.verdict).toMatchObject({ ok: false, code: 'PROTOCOL' });
    if (answer.verdict.ok) return;
    expect(answer.verdict.reason).toContain(
      'no "outputs" array (keys: model_name, model_version, predictions)',
    );
  });

  it('integrity: empty outputs pass the protocol and stay visible to assertions as [] with shape [0, 1]', async () => {
    server.faults.set('empty', parseFault('empty', {}));
    const answer = await runAdapter(
      client,
      oipV2Adapter,
      'integrity',
      makePlan('integrity', target(), { request: SMOKE }),
    );
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs.probability).toEqual([]);
    expect(answer.document?.shapes?.probability).toEqual([0, 1]);
  });

  it('integrity: a hung inference times out within the probe timeout while liveness still passes', async () => {
    server.faults.set('hang', parseFault('hang', {}));
    const plan = makePlan('integrity', target(), { request: SMOKE, timeoutMs: 300 });
    const started = performance.now();
    const answer = await runAdapter(client, oipV2Adapter, 'integrity', plan);
    // A hang is unbounded; 5 s is a wide margin over the 300 ms for a loaded CI machine.
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(answer.verdict).toMatchObject({ ok: false, code: 'TIMEOUT' });
    const live = await runAdapter(client, oipV2Adapter, 'liveness', makePlan('liveness', target()));
    expect(live.verdict).toEqual({ ok: true });
  });

  it('integrity: a 500 answer is UNEXPECTED_STATUS quoting the server error (PROTOCOLS.md: errors are {"error"})', async () => {
    server.faults.set('errors', parseFault('errors', {}));
    const answer = await runAdapter(
      client,
      oipV2Adapter,
      'integrity',
      makePlan('integrity', target(), { request: SMOKE }),
    );
    expect(answer.verdict).toMatchObject({
      ok: false,
      code: 'UNEXPECTED_STATUS',
      reason: 'POST /v2/models/credit-scorer/infer answered 500: injected fault: HTTP 500',
    });
  });

  it('metadata: server and model metadata, with the single version reported', async () => {
    const answer = await runAdapter(client, oipV2Adapter, 'metadata', makePlan('liveness', target()));
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.body).toMatchObject({
      server: { name: 'vigil-example-model-server' },
      model: { name: 'credit-scorer', versions: ['1'] },
    });
    expect(answer.modelVersion).toBe('1');
  });
});

describe('oip-v2 against Triton / MLServer health semantics', () => {
  it('Triton/MLServer: 400 with an empty body is not ready (triton src/http_server.cc HandleServerHealth; MLServer at ab7066cb mlserver/rest/endpoints.py Endpoints.ready lines 33–35, an empty body with to_status_code 400 for false (mlserver/rest/utils.py), and at 38a6c1c6 mlserver/handlers/dataplane.py DataPlane.ready lines 52–54: all models ready; 503 on KServe)', async () => {
    const triton = await startFakeServer((req) =>
      req.path === '/v2/health/ready' ? { status: 400, text: '' } : { status: 200, text: '' },
    );
    try {
      // A target without a model is the server: its route decides.
      const server = makeTarget('oip-v2', triton.url);
      const answer = await runAdapter(client, oipV2Adapter, 'readiness', makePlan('readiness', server));
      expect(answer.verdict).toEqual({
        ok: false,
        reason: 'server not ready: GET /v2/health/ready answered 400 with an empty body',
      });
      // A model's target: its own route (200 here) decides; the server's 400 is a note (issue 15).
      const t = makeTarget('oip-v2', triton.url, { model: 'densenet' });
      const modelAnswer = await runAdapter(client, oipV2Adapter, 'readiness', makePlan('readiness', t));
      expect(modelAnswer.verdict).toEqual({ ok: true });
      expect(modelAnswer.notes?.[0]).toMatch(/^server-wide readiness: GET \/v2\/health\/ready answered 400/);
      const live = await runAdapter(client, oipV2Adapter, 'liveness', makePlan('liveness', t));
      expect(live.verdict).toEqual({ ok: true });
    } finally {
      await triton.close();
    }
  });
});
