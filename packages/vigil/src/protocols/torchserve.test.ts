import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpClient } from '../types.js';
import { makeClient, makePlan, makeTarget, runAdapter } from './fakes/testing.js';
import { createTorchServeFake, type TorchServeFake } from './fakes/torchserve.js';
import { managementUrlOf, torchserveAdapter } from './torchserve.js';

let fake: TorchServeFake;
let client: HttpClient;
const target = (overrides = {}) =>
  makeTarget('torchserve', fake.url, { model: 'resnet', managementUrl: fake.managementUrl, ...overrides });
const run = (
  call: 'liveness' | 'readiness' | 'integrity' | 'metadata',
  overrides = {},
  request: unknown = { data: 'kitten' },
) =>
  runAdapter(
    client,
    torchserveAdapter,
    call,
    makePlan(call === 'metadata' ? 'liveness' : call, target(overrides), { request }),
  );

beforeAll(async () => {
  fake = await createTorchServeFake();
  client = makeClient();
});
afterAll(async () => {
  await client.close();
  await fake.close();
});
beforeEach(() => {
  Object.assign(fake.state, {
    pingStyle: 'current',
    health: 'auto',
    models: { resnet: { version: '1.0', minWorkers: 1, workers: ['READY'] } },
    prediction: { tabby: 0.8, tiger_cat: 0.15 },
    hang: false,
    nan: false,
  });
});

describe('torchserve', () => {
  it('TorchServe current: 200 {"status":"Healthy"} is live', async () => {
    expect((await run('liveness')).verdict).toEqual({ ok: true });
  });

  it('TorchServe current: 500 {"status":"Unhealthy"} is not live (fewer READY workers than minWorkers)', async () => {
    fake.state.models.resnet = { version: '1.0', minWorkers: 2, workers: ['READY'] };
    const answer = await run('liveness');
    expect(answer.verdict).toEqual({
      ok: false,
      reason: 'TorchServe GET /ping answered 500 with status "Unhealthy"',
    });
  });

  it.each(['Partial Healthy', 'Unhealthy'] as const)(
    'TorchServe older: 200 with "%s" body is not healthy (PROTOCOLS.md: the body must be read, not just the code)',
    async (status) => {
      Object.assign(fake.state, { pingStyle: 'older', health: status });
      const answer = await run('liveness');
      expect(answer.verdict).toEqual({
        ok: false,
        reason: `TorchServe GET /ping answered 200 with status "${status}"`,
      });
      expect(answer.document?.status).toBe(200);
    },
  );

  it('TorchServe older: 200 with "Healthy" is live', async () => {
    Object.assign(fake.state, { pingStyle: 'older', health: 'Healthy' });
    expect((await run('liveness')).verdict).toEqual({ ok: true });
  });

  it('readiness: healthy ping and a READY worker in the management API pass, with the model version', async () => {
    const answer = await run('readiness');
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.modelVersion).toBe('1.0');
    expect(fake.management.requests.at(-1)?.path).toBe('/models/resnet');
  });

  it('readiness: minWorkers=0 with no worker pings healthy but is not ready (PROTOCOLS.md: predictions fail with 503)', async () => {
    fake.state.models.resnet = { version: '1.0', minWorkers: 0, workers: [] };
    expect((await run('liveness')).verdict).toEqual({ ok: true });
    const answer = await run('readiness');
    expect(answer.verdict).toEqual({
      ok: false,
      reason:
        'TorchServe model "resnet" version "1.0" has no READY worker (minWorkers 0, workers: none): predictions would fail with 503',
    });
    const predicted = await run('integrity');
    expect(predicted.verdict).toMatchObject({
      ok: false,
      code: 'UNEXPECTED_STATUS',
      reason: expect.stringContaining('has no worker to serve inference request'),
    });
  });

  it('readiness: workers that are all UNLOADING are not READY', async () => {
    fake.state.models.resnet = { version: '1.0', minWorkers: 0, workers: ['UNLOADING', 'UNLOADING'] };
    const answer = await run('readiness');
    expect(answer.verdict).toMatchObject({
      ok: false,
      reason: expect.stringContaining('workers: 2 UNLOADING'),
    });
  });

  it('readiness: the version is asked of the management API as /models/{m}/{version}', async () => {
    expect((await run('readiness', { version: '1.0' })).verdict).toEqual({ ok: true });
    expect(fake.management.requests.at(-1)?.path).toBe('/models/resnet/1.0');
    const missing = await run('readiness', { version: '2.0' });
    expect(missing.verdict).toMatchObject({
      ok: false,
      reason: expect.stringContaining('Model not found: resnet'),
    });
  });

  it('integrity: POST /predictions/{m} with the request; an object answer gives one output per key', async () => {
    const answer = await run('integrity');
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs).toEqual({ tabby: [0.8], tiger_cat: [0.15] });
    expect(fake.requests.at(-1)?.path).toBe('/predictions/resnet');
    expect(JSON.parse(fake.requests.at(-1)?.body ?? '')).toEqual({ data: 'kitten' });
  });

  it('integrity: an array answer becomes outputs.predictions; a version goes into the path', async () => {
    fake.state.prediction = [0.1, 0.9];
    const answer = await run('integrity', { version: '1.0' });
    expect(answer.document?.outputs).toEqual({ predictions: [0.1, 0.9] });
    expect(fake.requests.at(-1)?.path).toBe('/predictions/resnet/1.0');
  });

  it('metadata: the management API description of the model', async () => {
    const answer = await run('metadata');
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.body).toMatchObject([{ modelName: 'resnet', modelVersion: '1.0' }]);
    expect(answer.modelVersion).toBe('1.0');
  });

  it('managementUrl defaults to the target origin with port 8081 (PROTOCOLS.md: management 8081)', () => {
    expect(managementUrlOf(makeTarget('torchserve', 'http://ts.internal:8080/'))).toBe(
      'http://ts.internal:8081',
    );
  });
});
