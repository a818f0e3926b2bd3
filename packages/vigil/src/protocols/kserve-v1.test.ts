import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpClient } from '../types.js';
import { createKserveV1Fake, type KserveV1Fake } from './fakes/kserve-v1.js';
import { makeClient, makePlan, makeTarget, runAdapter } from './fakes/testing.js';
import { kserveV1Adapter } from './kserve-v1.js';

let fake: KserveV1Fake;
let client: HttpClient;
const target = (model = 'iris') => makeTarget('kserve-v1', fake.url, { model });
const integrity = (request: unknown = { instances: [[6.8, 2.8, 4.8, 1.4]] }) =>
  runAdapter(client, kserveV1Adapter, 'integrity', makePlan('integrity', target(), { request }));

beforeAll(async () => {
  fake = await createKserveV1Fake();
  client = makeClient();
});
afterAll(async () => {
  await client.close();
  await fake.close();
});
beforeEach(() => {
  Object.assign(fake.state, {
    models: { iris: { ready: true } },
    predictions: [1, 0],
    hang: false,
    nan: false,
  });
  fake.requests.length = 0;
});

describe('kserve-v1', () => {
  it('liveness: GET / (KServe\'s liveness route, {"status":"alive"}) answers 200', async () => {
    const answer = await runAdapter(client, kserveV1Adapter, 'liveness', makePlan('liveness', target()));
    expect(answer.verdict).toEqual({ ok: true });
    expect(fake.requests.map((r) => r.path)).toEqual(['/']);
    expect(answer.document?.body).toEqual({ status: 'alive' });
  });

  it('readiness: GET /v1/models/{m} → {"name","ready":true} is ready', async () => {
    const answer = await runAdapter(client, kserveV1Adapter, 'readiness', makePlan('readiness', target()));
    expect(answer.verdict).toEqual({ ok: true });
  });

  it('readiness: 503 is not ready (PROTOCOLS.md: 503 when not ready) and quotes the error', async () => {
    fake.state.models.iris = { ready: false };
    const answer = await runAdapter(client, kserveV1Adapter, 'readiness', makePlan('readiness', target()));
    expect(answer.verdict).toEqual({
      ok: false,
      reason: 'model "iris" not ready: GET /v1/models/iris answered 503: Model with name iris is not ready.',
    });
  });

  it('readiness: 404 is an unknown model (PROTOCOLS.md: 404 unknown)', async () => {
    const answer = await runAdapter(
      client,
      kserveV1Adapter,
      'readiness',
      makePlan('readiness', target('nope')),
    );
    expect(answer.verdict).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^model "nope" unknown: .*404/),
    });
  });

  it('integrity: predictions of numbers become outputs.predictions', async () => {
    const answer = await integrity();
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs).toEqual({ predictions: [1, 0] });
    expect(answer.document?.shapes).toEqual({ predictions: [2] });
    expect(JSON.parse(fake.requests.at(-1)?.body ?? '')).toEqual({ instances: [[6.8, 2.8, 4.8, 1.4]] });
  });

  it('integrity: nested predictions are flattened row-major, with their shape', async () => {
    fake.state.predictions = [
      [0.1, 0.9],
      [0.8, 0.2],
    ];
    const answer = await integrity();
    expect(answer.document?.outputs.predictions).toEqual([0.1, 0.9, 0.8, 0.2]);
    expect(answer.document?.shapes?.predictions).toEqual([2, 2]);
  });

  it('integrity: predictions of objects become one output per key', async () => {
    fake.state.predictions = [
      { label: 'setosa', score: 0.9 },
      { label: 'virginica', score: 0.6 },
    ];
    const answer = await integrity();
    expect(answer.document?.outputs).toEqual({ label: ['setosa', 'virginica'], score: [0.9, 0.6] });
  });

  it('integrity: an answer without "predictions" is a PROTOCOL failure naming the field', async () => {
    fake.state.predictions = undefined;
    const answer = await integrity();
    expect(answer.verdict).toMatchObject({
      ok: false,
      code: 'PROTOCOL',
      reason: expect.stringContaining('"predictions"'),
    });
  });

  it('integrity: a model that is not ready answers 503: UNEXPECTED_STATUS with its message', async () => {
    fake.state.models.iris = { ready: false };
    const answer = await integrity();
    expect(answer.verdict).toMatchObject({
      ok: false,
      code: 'UNEXPECTED_STATUS',
      reason: expect.stringContaining('503'),
    });
  });

  it('metadata: GET /v1/models/{m}, or the model list without a model', async () => {
    const one = await runAdapter(client, kserveV1Adapter, 'metadata', makePlan('liveness', target()));
    expect(one.document?.body).toEqual({ name: 'iris', ready: true });
    const all = await runAdapter(
      client,
      kserveV1Adapter,
      'metadata',
      makePlan('liveness', makeTarget('kserve-v1', fake.url)),
    );
    expect(all.document?.body).toEqual({ models: ['iris'] });
  });
});
