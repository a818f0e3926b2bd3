import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpClient } from '../types.js';
import { startFakeServer } from './fakes/server.js';
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
    tokens: undefined,
  });
});

describe('torchserve per-model readiness on a two-model server, one model broken (issue 15; /ping from util/ApiUtils.java at 17aa5e39: isModelHealthy lines 383–398, getWorkerStatus lines 359–381)', () => {
  it.each([
    { pingStyle: 'current' as const, ping: 'answered 500 with status "Unhealthy"' },
    { pingStyle: 'older' as const, ping: 'answered 200 with status "Partial Healthy"' },
  ])(
    '$pingStyle /ping: the healthy model is ready and live, the server-wide state is one note',
    async ({ pingStyle, ping }) => {
      fake.state.pingStyle = pingStyle;
      fake.state.models.broken = { version: '2.0', minWorkers: 1, workers: [] };
      const ready = await run('readiness');
      expect(ready.verdict).toEqual({ ok: true });
      expect(ready.modelVersion).toBe('1.0');
      expect(ready.notes).toHaveLength(1);
      expect(ready.notes?.[0]).toContain(`server-wide health: TorchServe GET /ping ${ping}`);
      const live = await run('liveness');
      expect(live.verdict).toEqual({ ok: true });
      const broken = await run('readiness', { model: 'broken' });
      expect(broken.verdict).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/^TorchServe model "broken" version "2.0" has no READY worker/),
      });
    },
  );

  it('a model serving below its minWorkers is ready, with a note', async () => {
    fake.state.models.resnet = { version: '1.0', minWorkers: 2, workers: ['READY'] };
    const ready = await run('readiness');
    expect(ready.verdict).toEqual({ ok: true });
    expect(ready.notes?.[0]).toBe(
      'TorchServe model "resnet" serves with 1 READY worker(s), below its minWorkers 2',
    );
  });
});

describe('torchserve', () => {
  it('TorchServe current: 200 {"status":"Healthy"} is live', async () => {
    expect((await run('liveness')).verdict).toEqual({ ok: true });
  });

  it('TorchServe current: 500 {"status":"Unhealthy"} is live, with the server-wide condition as a note (issue 15; util/ApiUtils.java at 17aa5e39 isModelHealthy: false when any default version has fewer healthy workers than minWorkers, lines 388–396)', async () => {
    fake.state.models.resnet = { version: '1.0', minWorkers: 2, workers: ['READY'] };
    const answer = await run('liveness');
    // The process answered: /ping is server-wide, failing it would restart a healthy server.
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.notes).toEqual([
      'server-wide health: TorchServe GET /ping answered 500 with status "Unhealthy" (it says so when any model has fewer healthy workers than its minWorkers)',
    ]);
  });

  it.each(['Partial Healthy', 'Unhealthy'] as const)(
    'TorchServe older: 200 with "%s" body is read: live, with the condition as a note (PROTOCOLS.md: the body must be read, not just the code)',
    async (status) => {
      Object.assign(fake.state, { pingStyle: 'older', health: status });
      const answer = await run('liveness');
      expect(answer.verdict).toEqual({ ok: true });
      expect(answer.notes?.[0]).toContain(`TorchServe GET /ping answered 200 with status "${status}"`);
      expect(answer.document?.status).toBe(200);
    },
  );

  it('liveness: an answer that is not TorchServe\'s (a proxy\'s 502 without {"status"}) fails', async () => {
    const answer = await runAdapter(
      client,
      torchserveAdapter,
      'liveness',
      makePlan('liveness', makeTarget('torchserve', fake.managementUrl, { model: 'resnet' })),
    );
    expect(answer.verdict).toMatchObject({
      ok: false,
      reason: expect.stringContaining('GET /ping answered 404'),
    });
  });

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
    // ModelVersionNotFoundException from wlm/ModelManager.java getModel (called at util/ApiUtils.java
    // line 86, 17aa5e39), answered 404 at http/HttpRequestHandler.java lines 46–51 (6cd98e1b); not
    // "Model not found" (ApiUtils.java lines 87–88, an unknown model).
    expect(missing.verdict).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /^TorchServe model "resnet" has no version "2.0": .* answered 404: Model version: 2.0 does not exist for model: resnet$/,
      ),
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

/**
 * Read in pytorch/serve `frontend/server/src/main/java/org/pytorch/serve/` (the commit after each file):
 * `util/TokenAuthorization.java` (ead7b680): key file at `user.dir/key_file.json` line 49, its layout
 * lines 160–182, keys of 6 random bytes in URL-safe Base64 lines 128–132, expiry checked lines 108–111;
 * `http/TokenAuthorizationHandler.java` (ead7b680): `checkTokenAuthorization` lines 67–79 throws
 * `InvalidKeyException` "Token Authorization failed. …" (lines 71, 76), the `/token` route "Token
 * Authentication failed. …" (line 54), as the older plugin handler (0690e016) at line 99;
 * `InvalidKeyException extends ModelException` (frontend/archive `…/archive/model/InvalidKeyException.java`
 * a3412c44, line 3); `http/HttpRequestHandler.java` (6cd98e1b) answers a `ModelException` 400 at lines
 * 52–54; `util/NettyUtils.java` (1de522a5) `sendError` lines 101–106 writes `{code, type, message}`
 * (`http/ErrorResponse.java` 86596503, lines 17–19). Also `docs/token_authorization_api.md`.
 */
describe('torchserve as it ships: token authorisation with a management key of its own', () => {
  const keys = { inference: 'inf-key-1', management: 'mgmt-key-1' };
  const inferenceAuth = { auth: { bearer: keys.inference } };

  it('readiness sends managementAuth.bearer to the management API and the target auth to /ping', async () => {
    fake.state.tokens = { ...keys };
    const answer = await run('readiness', { ...inferenceAuth, managementAuth: { bearer: keys.management } });
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.notes).toBeUndefined();
    expect(fake.management.requests.at(-1)?.headers.authorization).toBe('Bearer mgmt-key-1');
    expect(fake.requests.at(-1)?.headers.authorization).toBe('Bearer inf-key-1');
  });

  it('without managementAuth, the refusal (400 InvalidKeyException: TokenAuthorizationHandler.java:71/76, a ModelException → 400 at HttpRequestHandler.java:52–54) says the management API takes its own key', async () => {
    fake.state.tokens = { ...keys };
    const answer = await run('readiness', inferenceAuth);
    expect(answer.verdict).toMatchObject({
      ok: false,
      reason: expect.stringContaining(
        'answered 400: Token Authorization failed. Token either incorrect, expired, or not provided correctly: token authorisation is on (the default since TorchServe 0.11) and the management API takes its own key',
      ),
    });
  });

  it('the older wording "Token Authentication failed" (the plugin\'s TokenAuthorizationHandler.java:99 at 0690e016; the /token route, line 54 at ead7b680) is the same refusal', async () => {
    // As TorchServe writes it: an InvalidKeyException, pretty-printed by GSON.
    const older = await startFakeServer(() => ({
      status: 400,
      text: `${JSON.stringify(
        {
          code: 400,
          type: 'InvalidKeyException',
          message: 'Token Authentication failed. Token either incorrect, expired, or not provided correctly',
        },
        null,
        2,
      )}\n`,
      contentType: 'application/json',
    }));
    try {
      const answer = await run('readiness', { ...inferenceAuth, managementUrl: older.url });
      expect(answer.verdict).toMatchObject({
        ok: false,
        reason: expect.stringContaining('token authorisation is on (the default since TorchServe 0.11)'),
      });
    } finally {
      await older.close();
    }
  });

  it("managementAuth.keyFile reads key_file.json's management key, and re-reads it when the keys are regenerated (TokenAuthorization.java:160–182)", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'vigil-ts-keys-'));
    try {
      const file = join(dir, 'key_file.json');
      // As TorchServe writes it: GSON pretty-printed, management, inference, then API.
      const write = (k: typeof keys) =>
        writeFile(
          file,
          JSON.stringify(
            {
              management: { key: k.management, 'expiration time': '2026-12-02T04:00:00.123456Z' },
              inference: { key: k.inference, 'expiration time': '2026-12-02T04:00:00.123456Z' },
              API: { key: 'QUJDREVG' },
            },
            null,
            2,
          ),
        );
      fake.state.tokens = { ...keys };
      await write(keys);
      const overrides = { ...inferenceAuth, managementAuth: { keyFile: file } };
      expect((await run('readiness', overrides)).verdict).toEqual({ ok: true });
      // Keys expire and are regenerated: TorchServe rewrites the file in place with a key of the same
      // length (6 bytes in Base64), so the size stays and the mtime may too (the kernel's tick).
      const next = { inference: keys.inference, management: 'mgmt-key-2' };
      fake.state.tokens = next;
      await write(next);
      expect((await run('readiness', overrides)).verdict).toEqual({ ok: true });
      expect(fake.management.requests.at(-1)?.headers.authorization).toBe('Bearer mgmt-key-2');
      const missing = await run('readiness', {
        ...inferenceAuth,
        managementAuth: { keyFile: join(dir, 'nope') },
      });
      expect(missing.verdict).toMatchObject({
        ok: false,
        reason: expect.stringContaining(`cannot read TorchServe key file ${join(dir, 'nope')}`),
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('liveness: /ping refused for want of the inference key is still the process answering, with a note', async () => {
    fake.state.tokens = { ...keys };
    const answer = await run('liveness');
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.notes?.[0]).toContain('token authorisation is on');
  });

  it('a refused management connection to a non-loopback host says TorchServe binds management to 127.0.0.1', async () => {
    const closed = await startFakeServer(() => undefined);
    const port = closed.port;
    await closed.close();
    // 0.0.0.0 reaches this machine (so the test stays local) but is not a loopback name.
    const remote = await run('readiness', { managementUrl: `http://0.0.0.0:${port}` });
    expect(remote.verdict).toMatchObject({
      ok: false,
      code: 'CONNECTION_REFUSED',
      reason: expect.stringContaining('TorchServe binds its management API to 127.0.0.1'),
    });
    const local = await run('readiness', { managementUrl: `http://127.0.0.1:${port}` });
    expect(local.verdict.ok || local.verdict.reason.includes('binds its management')).toBe(false);
  });
});

describe('the TorchServe fake computes /ping as TorchServe does (util/ApiUtils.java at 17aa5e39: getWorkerStatus lines 359–381, totals at 365–370; isModelHealthy lines 383–398)', () => {
  it.each([
    {
      what: 'older: one model short, another with spare workers: totals hide it (Healthy)',
      pingStyle: 'older' as const,
      models: {
        a: { version: '1', minWorkers: 2, workers: ['READY'] as const },
        b: { version: '1', minWorkers: 1, workers: ['READY', 'READY'] as const },
      },
      expected: { status: 200, body: 'Healthy' },
    },
    {
      what: 'older: some running, fewer than the total minWorkers (Partial Healthy)',
      pingStyle: 'older' as const,
      models: {
        a: { version: '1', minWorkers: 2, workers: ['READY'] as const },
        b: { version: '1', minWorkers: 1, workers: [] as const },
      },
      expected: { status: 200, body: 'Partial Healthy' },
    },
    {
      what: 'older: none running with some wanted (Unhealthy, still 200)',
      pingStyle: 'older' as const,
      models: { a: { version: '1', minWorkers: 1, workers: ['UNLOADING'] as const } },
      expected: { status: 200, body: 'Unhealthy' },
    },
    {
      what: 'current: a worker restarting within maxRetryTimeoutInSec counts as healthy',
      pingStyle: 'current' as const,
      models: { a: { version: '1', minWorkers: 1, workers: ['RETRYING'] as const } },
      expected: { status: 200, body: 'Healthy' },
    },
    {
      what: 'current: one model below its minWorkers fails the whole server (500)',
      pingStyle: 'current' as const,
      models: {
        a: { version: '1', minWorkers: 2, workers: ['READY'] as const },
        b: { version: '1', minWorkers: 1, workers: ['READY', 'READY'] as const },
      },
      expected: { status: 500, body: 'Unhealthy' },
    },
  ])('$what', async ({ pingStyle, models, expected }) => {
    Object.assign(fake.state, {
      pingStyle,
      models: Object.fromEntries(
        Object.entries(models).map(([k, m]) => [k, { ...m, workers: [...m.workers] }]),
      ),
    });
    const response = await fetch(`${fake.url}/ping`);
    expect({ status: response.status, body: ((await response.json()) as { status: string }).status }).toEqual(
      expected,
    );
  });

  it('the management API shows a restarting worker as UNLOADING: workers are only READY or UNLOADING', async () => {
    fake.state.models.resnet = { version: '1.0', minWorkers: 1, workers: ['READY', 'RETRYING', 'UNLOADING'] };
    const response = await fetch(`${fake.managementUrl}/models/resnet`);
    const [entry] = (await response.json()) as Array<{ workers: Array<{ status: string }> }>;
    expect(entry?.workers.map((w) => w.status)).toEqual(['READY', 'UNLOADING', 'UNLOADING']);
  });
});
