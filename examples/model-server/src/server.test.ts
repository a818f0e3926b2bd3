import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createModelServer, type ModelServer } from './server.js';

const TOKEN = 'test-token';
const CREDIT = {
  inputs: [
    { name: 'features', shape: [1, 8], datatype: 'FP32', data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] },
  ],
};
const TITLE = {
  inputs: [
    { name: 'title', shape: [1], datatype: 'BYTES', data: ['wireless bluetooth headphones with mic'] },
  ],
};

interface OipTensor {
  name: string;
  shape: number[];
  datatype: string;
  data: unknown[];
}
interface Body {
  outputs?: OipTensor[];
  error?: string;
  [key: string]: unknown;
}

let server: ModelServer;
let url: string;

async function call(path: string, init: RequestInit & { json?: unknown } = {}) {
  const { json, ...rest } = init;
  const res = await fetch(`${url}${path}`, {
    ...rest,
    ...(json === undefined
      ? {}
      : {
          method: rest.method ?? 'POST',
          body: JSON.stringify(json),
          headers: { 'content-type': 'application/json' },
        }),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, text, body: (body ?? {}) as Body };
}

async function setFault(mode: string, params: unknown = {}) {
  const res = await fetch(`${url}/admin/faults/${mode}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function waitReady() {
  for (let i = 0; i < 200; i++) {
    if ((await call('/v2/health/ready')).status === 200) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('server never became ready');
}

function output(body: Body, name: string): OipTensor {
  const o = body.outputs?.find((t) => t.name === name);
  expect(o, `output ${name}`).toBeDefined();
  return o as OipTensor;
}

beforeAll(async () => {
  server = await createModelServer({ faults: { enabled: true, token: TOKEN }, warmupInferences: 1 });
  url = await server.listen();
  await waitReady();
});
afterAll(async () => {
  await server?.close();
});
beforeEach(() => {
  server.faults.clear();
});

describe('Open Inference Protocol routes', () => {
  it('answers live and ready with KServe bodies', async () => {
    expect(await call('/v2/health/live')).toMatchObject({ status: 200, body: { live: true } });
    expect(await call('/v2/health/ready')).toMatchObject({ status: 200, body: { ready: true } });
    expect(await call('/v2/models/credit-scorer/ready')).toMatchObject({
      status: 200,
      body: { name: 'credit-scorer', ready: true },
    });
    expect((await call('/v2/models/credit-scorer/versions/1/ready')).status).toBe(200);
  });

  it('predicts a default probability and a label for credit-scorer (nested data accepted)', async () => {
    const nested = { inputs: [{ ...CREDIT.inputs[0], data: [CREDIT.inputs[0]?.data] }] };
    for (const req of [CREDIT, nested]) {
      const { status, body } = await call('/v2/models/credit-scorer/infer', { json: req });
      expect(status).toBe(200);
      expect(body.model_name).toBe('credit-scorer');
      const p = output(body, 'probability');
      expect(p.shape).toEqual([1, 1]);
      expect(p.data[0]).toBeGreaterThanOrEqual(0);
      expect(p.data[0]).toBeLessThanOrEqual(1);
      expect(['default', 'repay']).toContain(output(body, 'label').data[0]);
    }
  });

  it('categorizes a product title', async () => {
    const { status, body } = await call('/v2/models/product-categorizer/versions/1/infer', { json: TITLE });
    expect(status).toBe(200);
    expect(output(body, 'category').data[0]).toBe('Electronics');
  });

  it('returns only the requested outputs and echoes the id', async () => {
    const { body } = await call('/v2/models/credit-scorer/infer', {
      json: { ...CREDIT, id: 'req-7', outputs: [{ name: 'label' }] },
    });
    expect(body.id).toBe('req-7');
    expect(body.outputs?.map((o) => o.name)).toEqual(['label']);
  });

  it.each([
    ['an unknown model', '/v2/models/nope/infer', CREDIT, 404, 'model "nope" not found'],
    ['an unknown version', '/v2/models/credit-scorer/versions/9/infer', CREDIT, 404, 'has no version "9"'],
    [
      'a body without inputs',
      '/v2/models/credit-scorer/infer',
      { id: 'x' },
      400,
      'inputs: expected an array',
    ],
    [
      'data that does not fill the shape',
      '/v2/models/credit-scorer/infer',
      { inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', data: [1, 2] }] },
      400,
      'inputs[0].data: shape [1, 8] needs 8 values, got 2',
    ],
    [
      'a string in FP32 data',
      '/v2/models/credit-scorer/infer',
      { inputs: [{ name: 'features', shape: [1, 1], datatype: 'FP32', data: ['a'] }] },
      400,
      'inputs[0].data[0]: expected a number for FP32, got "a"',
    ],
    [
      'an unknown output',
      '/v2/models/credit-scorer/infer',
      { ...CREDIT, outputs: [{ name: 'nope' }] },
      400,
      'unknown output "nope" requested',
    ],
  ])('rejects %s with %i and an error body', async (_what, path, json, status, message) => {
    const res = await call(path, { json });
    expect(res.status).toBe(status);
    expect(res.body.error).toContain(message);
  });

  it('answers invalid JSON with 400 and an error body', async () => {
    const res = await call('/v2/models/credit-scorer/infer', {
      method: 'POST',
      body: '{"inputs": [',
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    expect(typeof res.body.error).toBe('string');
  });

  it('answers a body over the limit with 413', async () => {
    const res = await call('/v2/models/credit-scorer/infer', {
      method: 'POST',
      body: `{"inputs": "${'x'.repeat(1024 * 1024 + 10)}"}`,
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(413);
  });

  it('exposes vigil-ml-serve health endpoints beside the OIP ones', async () => {
    expect((await call('/livez')).status).toBe(200);
    expect((await call('/readyz')).status).toBe(200);
    expect((await call('/startupz')).status).toBe(200);
    const model = await call('/healthz/model');
    expect(model.status).toBe(200);
    expect(model.body.status).toBe('ok');
  });
});

describe('admin API', () => {
  it('requires the bearer token', async () => {
    const none = await fetch(`${url}/admin/faults`);
    expect(none.status).toBe(401);
    const wrong = await fetch(`${url}/admin/faults`, { headers: { authorization: 'Bearer nope' } });
    expect(wrong.status).toBe(401);
  });

  it('rejects an unknown fault and bad parameters with the field named', async () => {
    const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' };
    const unknown = await fetch(`${url}/admin/faults/meltdown`, { method: 'PUT', headers, body: '{}' });
    expect(unknown.status).toBe(404);
    const bad = await fetch(`${url}/admin/faults/latency`, {
      method: 'PUT',
      headers,
      body: '{"ms": "slow"}',
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: string }).error).toMatch(/^fault "latency": ms: /);
  });

  it('lists and clears faults', async () => {
    await setFault('latency', { ms: 1 });
    const listed = await fetch(`${url}/admin/faults`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(await listed.json()).toEqual({ faults: { latency: { ms: 1, jitterMs: 0, scope: 'infer' } } });
    const cleared = await fetch(`${url}/admin/faults/latency`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(await cleared.json()).toEqual({ faults: {} });
  });
});

describe('fault modes, seen through real HTTP requests', () => {
  it('latency: inference answers after the injected delay; health stays fast (scope infer)', async () => {
    await setFault('latency', { ms: 300 });
    let t = performance.now();
    expect((await call('/v2/models/credit-scorer/infer', { json: CREDIT })).status).toBe(200);
    expect(performance.now() - t).toBeGreaterThanOrEqual(290);
    t = performance.now();
    expect((await call('/v2/health/live')).status).toBe(200);
    expect(performance.now() - t).toBeLessThan(290);
  });

  it('latency with scope all also slows health routes', async () => {
    await setFault('latency', { ms: 300, scope: 'all' });
    const t = performance.now();
    expect((await call('/v2/health/live')).status).toBe(200);
    expect(performance.now() - t).toBeGreaterThanOrEqual(290);
  });

  it('errors: every inference fails with the configured 5xx', async () => {
    await setFault('errors', { status: 503 });
    const res = await call('/v2/models/credit-scorer/infer', { json: CREDIT });
    expect(res.status).toBe(503);
    expect(res.body.error).toBe('injected fault: HTTP 503');
    expect((await call('/v2/health/ready')).status).toBe(200);
  });

  it('errors with rate 0.25 fails exactly one request in four', async () => {
    await setFault('errors', { rate: 0.25 });
    const statuses: number[] = [];
    for (let i = 0; i < 12; i++)
      statuses.push((await call('/v2/models/credit-scorer/infer', { json: CREDIT })).status);
    expect(statuses.filter((s) => s === 500)).toHaveLength(3);
    expect(statuses.filter((s) => s === 200)).toHaveLength(9);
  });

  it('hang: the request is accepted and never answered', async () => {
    await setFault('hang');
    await expect(
      fetch(`${url}/v2/models/credit-scorer/infer`, {
        method: 'POST',
        body: JSON.stringify(CREDIT),
        headers: { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(400),
      }),
    ).rejects.toThrow(/timeout|aborted/i);
    expect((await call('/v2/health/live')).status).toBe(200);
  });

  it('empty: outputs come back with no data', async () => {
    await setFault('empty');
    const { status, body } = await call('/v2/models/credit-scorer/infer', { json: CREDIT });
    expect(status).toBe(200);
    expect(output(body, 'probability')).toMatchObject({ shape: [0, 1], data: [] });
  });

  it('unknown: every label is "Unknown"', async () => {
    await setFault('unknown');
    const credit = await call('/v2/models/credit-scorer/infer', { json: CREDIT });
    expect(output(credit.body, 'label').data).toEqual(['Unknown']);
    const product = await call('/v2/models/product-categorizer/infer', { json: TITLE });
    expect(output(product.body, 'category').data).toEqual(['Unknown']);
  });

  it('zero-features: the model sees zeros, so the answer no longer depends on the input', async () => {
    const before = await call('/v2/models/product-categorizer/infer', { json: TITLE });
    expect(output(before.body, 'category').data).toEqual(['Electronics']);
    await setFault('zero-features');
    const a = await call('/v2/models/credit-scorer/infer', { json: CREDIT });
    const other = { inputs: [{ ...CREDIT.inputs[0], data: [0.9, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9] }] };
    const b = await call('/v2/models/credit-scorer/infer', { json: other });
    expect(output(a.body, 'probability').data).toEqual(output(b.body, 'probability').data);
    const after = await call('/v2/models/product-categorizer/infer', { json: TITLE });
    expect(output(after.body, 'category').data).toEqual(['Unknown']);
  });

  it('nan: FP32 outputs are bare NaN tokens that strict JSON rejects', async () => {
    await setFault('nan', { model: 'credit-scorer' });
    const res = await call('/v2/models/credit-scorer/infer', { json: CREDIT });
    expect(res.status).toBe(200);
    expect(res.text).toMatch(/"data":\[NaN\]/);
    expect(() => JSON.parse(res.text)).toThrow(SyntaxError);
    const other = await call('/v2/models/product-categorizer/infer', { json: TITLE });
    expect(other.body.outputs).toBeDefined();
  });

  it('out-of-range: probabilities leave [0, 1]', async () => {
    await setFault('out-of-range');
    const { body } = await call('/v2/models/credit-scorer/infer', { json: CREDIT });
    const p = output(body, 'probability').data[0] as number;
    expect(p).toBeGreaterThan(1);
  });

  it('wrong-schema: the answer has no outputs', async () => {
    await setFault('wrong-schema');
    const { status, body } = await call('/v2/models/credit-scorer/infer', { json: CREDIT });
    expect(status).toBe(200);
    expect(body.outputs).toBeUndefined();
    expect(Array.isArray(body.predictions)).toBe(true);
  });

  it('drift: predictions shift but stay in range', async () => {
    const before = output(
      (await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body,
      'probability',
    );
    await setFault('drift', { seed: 3 });
    const after = output(
      (await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body,
      'probability',
    );
    const p = after.data[0] as number;
    expect(p).not.toBe(before.data[0]);
    expect(p).toBeGreaterThanOrEqual(0);
    expect(p).toBeLessThanOrEqual(1);
  });

  it('drift with sigma: graded weight noise; scale and sigma together are refused', async () => {
    const base = output((await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body, 'probability');
    const shifts: number[] = [];
    for (const sigma of [0.01, 0.1]) {
      await setFault('drift', { sigma, model: 'credit-scorer' });
      const p = output((await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body, 'probability');
      shifts.push(Math.abs((p.data[0] as number) - (base.data[0] as number)));
    }
    expect(shifts[0]).toBeGreaterThan(0);
    expect(shifts[1]).toBeGreaterThan(shifts[0] as number);
    const both = await fetch(`${url}/admin/faults/drift`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sigma: 0.1, scale: 2 }),
    });
    expect(both.status).toBe(400);
    expect(await both.json()).toEqual({ error: 'fault "drift": give scale or sigma, not both' });
  });

  it('scaled-features: numeric features are multiplied before inference; factor 1 changes nothing', async () => {
    const before = (await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body;
    await setFault('scaled-features', { factor: 1 });
    expect((await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body).toEqual(before);
    await setFault('scaled-features', { factor: 3 });
    const scaled = (await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body;
    const tripled = { inputs: [{ ...CREDIT.inputs[0], data: CREDIT.inputs[0]?.data.map((v) => v * 3) }] };
    server.faults.clear();
    expect(scaled).toEqual((await call('/v2/models/credit-scorer/infer', { json: tripled })).body);
    expect(output(scaled, 'probability').data).not.toEqual(output(before, 'probability').data);
  });

  it('scaled-features leaves text inputs alone', async () => {
    const before = (await call('/v2/models/product-categorizer/infer', { json: TITLE })).body;
    await setFault('scaled-features', { factor: 10 });
    expect((await call('/v2/models/product-categorizer/infer', { json: TITLE })).body).toEqual(before);
  });

  it('swapped-labels: every label becomes the next one of the model, scores unchanged', async () => {
    const credit = (await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body;
    const title = (await call('/v2/models/product-categorizer/infer', { json: TITLE })).body;
    await setFault('swapped-labels');
    const swappedCredit = (await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body;
    const swappedTitle = (await call('/v2/models/product-categorizer/infer', { json: TITLE })).body;
    const other = { repay: 'default', default: 'repay' } as Record<string, string>;
    expect(output(swappedCredit, 'label').data).toEqual(
      output(credit, 'label').data.map((l) => other[l as string]),
    );
    expect(output(swappedCredit, 'probability')).toEqual(output(credit, 'probability'));
    const labels = server.models.get('product-categorizer')?.labels as readonly string[];
    const next = (l: unknown) => labels[(labels.indexOf(l as string) + 1) % labels.length];
    expect(output(swappedTitle, 'category').data).toEqual(['Clothing']);
    expect(output(swappedTitle, 'category').data).toEqual(output(title, 'category').data.map(next));
    expect(output(swappedTitle, 'top_categories').data).toEqual(
      output(title, 'top_categories').data.map(next),
    );
    expect(output(swappedTitle, 'top_scores')).toEqual(output(title, 'top_scores'));
  });

  it('version-bump: a new reported version and slower inference, the same answers', async () => {
    const before = (await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body;
    await setFault('version-bump', { version: '2', ms: 120, model: 'credit-scorer' });
    const started = performance.now();
    const after = await call('/v2/models/credit-scorer/versions/2/infer', { json: CREDIT });
    // A lower bound only: the added delay is a sleep of at least 120 ms.
    expect(performance.now() - started).toBeGreaterThanOrEqual(120);
    expect(after.status).toBe(200);
    expect(after.body).toEqual({ ...before, model_version: '2' });
    expect((await call('/v2/models/credit-scorer')).body.versions).toEqual(['2']);
    expect((await call('/v2/models/credit-scorer/versions/1/infer', { json: CREDIT })).status).toBe(404);
    expect((await call('/v2/models/credit-scorer/versions/2/ready')).status).toBe(200);
    expect((await call('/v2/models/product-categorizer')).body.versions).toEqual(['1']);
  });

  it('output-noise: numbers move by about rel, differently per answer; labels stay', async () => {
    type Out = { name: string; data: Array<number | string> };
    const outputs = async () =>
      (await call('/v2/models/credit-scorer/infer', { json: CREDIT })).body.outputs as Out[];
    const value = (os: Out[], name: string) => os.find((o) => o.name === name)?.data[0];
    const clean = await outputs();
    await setFault('output-noise', { rel: 0.01, seed: 7, model: 'credit-scorer' });
    const [a, b] = [await outputs(), await outputs()];
    const p0 = value(clean, 'probability') as number;
    for (const noisy of [a, b]) {
      const p = value(noisy, 'probability') as number;
      expect(Math.abs(p / p0 - 1)).toBeLessThan(0.1); // 10 σ
      expect(value(noisy, 'label')).toBe(value(clean, 'label'));
    }
    expect(value(a, 'probability')).not.toBe(value(b, 'probability'));
  });

  it('not-ready: readiness and inference answer 503 while liveness stays 200', async () => {
    await setFault('not-ready', { model: 'product-categorizer' });
    expect((await call('/v2/health/live')).status).toBe(200);
    const ready = await call('/v2/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error).toContain('product-categorizer');
    expect((await call('/v2/models/product-categorizer/ready')).status).toBe(503);
    expect((await call('/v2/models/credit-scorer/ready')).status).toBe(200);
    expect((await call('/readyz')).status).toBe(503);
    expect((await call('/v2/models/product-categorizer/infer', { json: TITLE })).status).toBe(503);
  });
});
