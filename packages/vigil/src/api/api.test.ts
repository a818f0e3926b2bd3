import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CheckStatus } from '../hub/types.js';
import { createMetrics } from '../metrics/index.js';
import { failedResult, probeResult, T0 } from '../store/fixtures/data.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { Transition } from '../types.js';
import { createApi, requireToken } from './index.js';
import { createTestHub, type TestHub } from './test-hub.js';

function status(overrides: Partial<CheckStatus> = {}): CheckStatus {
  return {
    checkId: 'credit-scorer/integrity',
    target: 'credit-scorer',
    check: 'integrity',
    region: 'eu-west',
    state: 'healthy',
    since: T0,
    flapping: false,
    consecutiveFailures: 0,
    model: 'credit-scorer',
    labels: { team: 'risk' },
    lastResult: null,
    ...overrides,
  };
}

const CHECKS: CheckStatus[] = [
  status({ state: 'unhealthy', consecutiveFailures: 3 }),
  status({ region: 'us-east' }),
  status({ checkId: 'credit-scorer/liveness', check: 'liveness' }),
  status({
    checkId: 'fraud/readiness',
    target: 'fraud',
    check: 'readiness',
    region: 'us-east',
    state: 'degraded',
    labels: { team: 'fraud', url: 'http://x:1' },
  }),
];

function transition(overrides: Partial<Transition> = {}): Transition {
  return {
    checkId: 'credit-scorer/integrity',
    region: 'eu-west',
    from: 'pending',
    to: 'unhealthy',
    at: T0,
    reason: '3 consecutive failures',
    results: [failedResult()],
    ...overrides,
  };
}

let store: Store;
let hub: TestHub;
let app: FastifyInstance;

beforeEach(async () => {
  store = await openStore(':memory:');
  hub = createTestHub(store, CHECKS);
  app = await createApi({ hub });
});

afterEach(async () => {
  await app.close();
  await store.close();
});

async function get(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await app.inject({ method: 'GET', url });
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  return { status: response.statusCode, body: response.json() };
}

const ids = (body: Record<string, unknown>) =>
  (body.checks as CheckStatus[]).map((c) => `${c.checkId}@${c.region}`);

describe('GET /api/v1/status', () => {
  it.each([
    [
      '',
      [
        'credit-scorer/integrity@eu-west',
        'credit-scorer/integrity@us-east',
        'credit-scorer/liveness@eu-west',
        'fraud/readiness@us-east',
      ],
    ],
    ['?target=fraud', ['fraud/readiness@us-east']],
    ['?state=unhealthy&state=degraded', ['credit-scorer/integrity@eu-west', 'fraud/readiness@us-east']],
    ['?region=us-east&target=credit-scorer', ['credit-scorer/integrity@us-east']],
    ['?label=team:fraud', ['fraud/readiness@us-east']],
    ['?label=url:http://x:1', ['fraud/readiness@us-east']],
    ['?label=team:risk&label=url:http://x:1', []],
    ['?label=team:risk&state=healthy&region=eu-west', ['credit-scorer/liveness@eu-west']],
  ])('filters %j', async (query, expected) => {
    const { status: code, body } = await get(`/api/v1/status${query}`);
    expect(code).toBe(200);
    expect(ids(body)).toEqual(expected);
  });

  it.each([
    [
      '?state=broken',
      'invalid query parameter "state": expected one of unknown, healthy, pending, degraded, unhealthy, stale, got "broken"',
    ],
    ['?label=team', 'invalid query parameter "label": expected key:value, got "team"'],
    ['?taget=fraud', 'unknown query parameter "taget"'],
    ['?label=team:risk&label=bad', 'invalid query parameter "label": expected key:value, got "bad"'],
    ['?view=tiles', 'invalid query parameter "view": expected one of full, summary, got "tiles"'],
  ])('rejects %j with a 400 naming the parameter', async (query, error) => {
    expect(await get(`/api/v1/status${query}`)).toEqual({ status: 400, body: { error } });
  });

  it("leaves out each check's last result with view=summary, filters and recent durations as before", async () => {
    hub.setStatus([status({ lastResult: failedResult(), modelVersion: '3' }), CHECKS[3] as CheckStatus]);
    hub.setViews({ durations: { 'credit-scorer/integrity': [12.5, 13.1] } });
    const full = await get('/api/v1/status');
    expect((full.body.checks as CheckStatus[])[0]?.lastResult).toEqual(failedResult());
    const { status: code, body } = await get('/api/v1/status?view=summary&recent=true&target=credit-scorer');
    expect(code).toBe(200);
    const { lastResult: _, ...rest } = status({ modelVersion: '3' });
    expect(body.checks).toEqual([{ ...rest, recentMs: [12.5, 13.1] }]);
    // The hub's own status objects are left as they were.
    expect(hub.status()[0]?.lastResult).toEqual(failedResult());
  });
});

describe('GET /api/v1/status/overview', () => {
  const overviewChecks = () => [
    status({ lastResult: failedResult(), modelVersion: '3', state: 'unhealthy', consecutiveFailures: 3 }),
    status({ region: 'us-east', lastKnown: { state: 'healthy', since: T0 - 5 }, state: 'stale' }),
    status({ checkId: 'credit-scorer/liveness', check: 'liveness', flapping: true }),
    status({
      checkId: 'fraud-readiness-custom',
      target: 'fraud',
      check: 'readiness',
      region: 'us-east',
      state: 'degraded',
      model: undefined,
      labels: { team: 'fraud' },
      deferred: { reason: 'not-ready', message: 'held', since: T0, until: T0 + 10 },
    }),
  ];

  it('says each target once and the checks as columns, with what every other route says of them', async () => {
    const checks = overviewChecks();
    hub.setStatus(checks);
    hub.setViews({ durations: { 'credit-scorer/integrity': [12.5, 13.1] } });
    const response = await app.inject({ method: 'GET', url: '/api/v1/status/overview' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(response.headers['content-encoding']).toBeUndefined();
    const body = response.json();
    expect(body).toEqual({
      eventId: 0,
      targets: [
        { name: 'credit-scorer', model: 'credit-scorer', labels: { team: 'risk' } },
        { name: 'fraud', labels: { team: 'fraud' } },
      ],
      checks: {
        target: [0, 0, 0, 1],
        checkId: [null, null, null, 'fraud-readiness-custom'],
        check: ['integrity', 'integrity', 'liveness', 'readiness'],
        region: ['eu-west', 'us-east', 'eu-west', 'us-east'],
        state: ['unhealthy', 'stale', 'healthy', 'degraded'],
        since: [T0, T0, T0, T0],
        lastKnown: [null, { state: 'healthy', since: T0 - 5 }, null, null],
        flapping: [false, false, true, false],
        consecutiveFailures: [3, 0, 0, 0],
        modelVersion: ['3', null, null, null],
        deferred: [null, null, null, checks[3]?.deferred],
        recentMs: [[12.5, 13.1], [12.5, 13.1], [], []],
      },
    });
    // Row by row, the columns say what /api/v1/status?view=summary says, less verdicts (none here).
    const summary = (await get('/api/v1/status?view=summary')).body.checks as Record<string, unknown>[];
    const rows = body.checks.target.map((t: number, i: number) => {
      const target = body.targets[t];
      const row: Record<string, unknown> = {
        checkId: body.checks.checkId[i] ?? `${target.name}/${body.checks.check[i]}`,
        target: target.name,
        labels: target.labels,
      };
      if (target.model !== undefined) row.model = target.model;
      for (const column of ['check', 'region', 'state', 'since', 'flapping', 'consecutiveFailures']) {
        row[column] = body.checks[column][i];
      }
      for (const column of ['lastKnown', 'modelVersion', 'deferred']) {
        if (body.checks[column][i] !== null) row[column] = body.checks[column][i];
      }
      return row;
    });
    expect(rows).toEqual(summary);
  });

  it('keeps a target whose checks disagree on model or labels apart, one entry per variant', async () => {
    hub.setStatus([
      status(),
      status({ check: 'liveness', checkId: 'credit-scorer/liveness', labels: { team: 'risk' } }),
      status({ check: 'readiness', checkId: 'credit-scorer/readiness', labels: { team: 'ops' } }),
      status({ check: 'canary', checkId: 'credit-scorer/canary', model: 'other' }),
    ]);
    const { body } = await get('/api/v1/status/overview');
    expect(body.targets).toEqual([
      { name: 'credit-scorer', model: 'credit-scorer', labels: { team: 'risk' } },
      { name: 'credit-scorer', model: 'credit-scorer', labels: { team: 'ops' } },
      { name: 'credit-scorer', model: 'other', labels: { team: 'risk' } },
    ]);
    expect((body.checks as { target: number[] }).target).toEqual([0, 0, 1, 2]);
  });

  it.each([
    ['gzip, deflate, br', true],
    ['br;q=1.0, gzip;q=0.5', true],
    ['*', true],
    ['gzip;q=0', false],
    ['identity', false],
    ['br', false],
  ])('answers Accept-Encoding %j gzip-compressed: %s', async (acceptEncoding, zipped) => {
    hub.setStatus(overviewChecks());
    const plain = await app.inject({ method: 'GET', url: '/api/v1/status/overview' });
    const response = await app.inject({
      method: 'GET',
      url: '/api/v1/status/overview',
      headers: { 'accept-encoding': acceptEncoding },
    });
    expect(response.statusCode).toBe(200);
    expect(response.headers.vary).toBe('accept-encoding');
    expect(response.headers['content-encoding']).toBe(zipped ? 'gzip' : undefined);
    const text = zipped ? gunzipSync(response.rawPayload).toString('utf8') : response.body;
    expect(JSON.parse(text)).toEqual(plain.json());
  });

  it('rejects query parameters with a 400 (the overview filters in the page)', async () => {
    expect(await get('/api/v1/status/overview?target=fraud')).toEqual({
      status: 400,
      body: { error: 'unknown query parameter "target"' },
    });
  });
});

describe('GET results of a check', () => {
  beforeEach(async () => {
    await store.appendResults([
      ...Array.from({ length: 5 }, (_, i) => probeResult({ startedAt: T0 + i * 1000 })),
      failedResult({ startedAt: T0 + 500, region: 'us-east' }),
      probeResult({ checkId: 'credit-scorer/liveness', check: 'liveness' }),
    ]);
  });

  const startedAt = (body: Record<string, unknown>) =>
    (body.results as Array<{ startedAt: number; region: string }>).map((r) => (r.startedAt - T0) / 1000);

  it.each([
    ['', [0, 0.5, 1, 2, 3, 4]],
    ['?region=eu-west', [0, 1, 2, 3, 4]],
    ['?limit=2', [3, 4]],
    [`?since=${T0 + 1000}&until=${T0 + 3000}`, [1, 2]],
    ['?since=2025-01-01T12:00:01Z&until=2025-01-01T13:00:03%2B01:00', [1, 2]],
    ['?since=2025-01-02', []],
  ])('answers %j oldest first from the store', async (query, expected) => {
    const { status: code, body } = await get(`/api/v1/checks/credit-scorer%2Fintegrity/results${query}`);
    expect(code).toBe(200);
    expect(startedAt(body)).toEqual(expected);
  });

  it('answers the same on /targets/:target/checks/:check/results', async () => {
    const byId = await get('/api/v1/checks/credit-scorer%2Fintegrity/results?limit=3');
    expect(await get('/api/v1/targets/credit-scorer/checks/integrity/results?limit=3')).toEqual(byId);
    expect((byId.body.results as unknown[]).length).toBe(3);
  });

  it('returns the newest 100 results by default', async () => {
    await store.appendResults(
      Array.from({ length: 150 }, (_, i) => probeResult({ checkId: 'fraud/readiness', startedAt: T0 + i })),
    );
    const { body } = await get('/api/v1/checks/fraud%2Freadiness/results');
    const results = body.results as Array<{ startedAt: number }>;
    expect(results).toHaveLength(100);
    expect(results[0]?.startedAt).toBe(T0 + 50);
  });

  it('accepts check ids longer than the default router parameter cap of 100 characters', async () => {
    const checkId = `${'a'.repeat(150)}/liveness`;
    hub.setStatus([status({ checkId, target: 'a'.repeat(150), check: 'liveness' })]);
    await store.appendResults([probeResult({ checkId })]);
    const { status: code, body } = await get(`/api/v1/checks/${encodeURIComponent(checkId)}/results`);
    expect(code).toBe(200);
    expect(body.results).toHaveLength(1);
  });

  it('answers 404 for a check the hub does not know', async () => {
    expect(await get('/api/v1/checks/credit-scorer%2Fcanary/results')).toEqual({
      status: 404,
      body: { error: 'unknown check "credit-scorer/canary"' },
    });
    expect((await get('/api/v1/targets/nope/checks/liveness/results')).status).toBe(404);
  });

  const TIME =
    'milliseconds since the epoch, or an ISO 8601 date-time with offset (2025-01-01T12:00:00Z) or date';
  it.each([
    ['limit=0', 'invalid query parameter "limit": expected an integer from 1 to 10000, got "0"'],
    ['limit=10001', 'invalid query parameter "limit": expected an integer from 1 to 10000, got "10001"'],
    ['limit=ten', 'invalid query parameter "limit": expected an integer from 1 to 10000, got "ten"'],
    ['limit=1.5', 'invalid query parameter "limit": expected an integer from 1 to 10000, got "1.5"'],
    ['since=yesterday', `invalid query parameter "since": expected ${TIME}, got "yesterday"`],
    [
      'until=2025-13-01T00:00:00Z',
      `invalid query parameter "until": expected ${TIME}, got "2025-13-01T00:00:00Z"`,
    ],
    [
      'until=2025-01-01T00:00:00',
      `invalid query parameter "until": expected ${TIME}, got "2025-01-01T00:00:00"`,
    ],
    ['since=-5', `invalid query parameter "since": expected ${TIME}, got "-5"`],
    [
      'since=2025-01-01T23:59:60Z',
      `invalid query parameter "since": expected ${TIME}, got "2025-01-01T23:59:60Z"`,
    ],
    ['check=x', 'unknown query parameter "check"'],
  ])('rejects ?%s with a 400 naming the parameter', async (query, error) => {
    expect(await get(`/api/v1/checks/credit-scorer%2Fintegrity/results?${query}`)).toEqual({
      status: 400,
      body: { error },
    });
  });
});

describe('GET incidents and transitions', () => {
  beforeEach(async () => {
    const a = await store.openIncident({
      checkId: 'credit-scorer/integrity',
      region: 'eu-west',
      openedAt: T0,
      reason: 'a',
    });
    await store.closeIncident(a.id, T0 + 10);
    await store.openIncident({
      checkId: 'credit-scorer/integrity',
      region: 'eu-west',
      openedAt: T0 + 20,
      reason: 'b',
    });
    await store.openIncident({
      checkId: 'fraud/readiness',
      region: 'us-east',
      openedAt: T0 + 30,
      reason: 'c',
    });
    await store.appendTransition(transition({ to: 'pending', from: 'healthy', at: T0 }));
    await store.appendTransition(transition({ at: T0 + 1000 }));
    await store.appendTransition(transition({ checkId: 'fraud/readiness', at: T0 + 2000 }));
  });

  const reasons = (body: Record<string, unknown>) =>
    (body.incidents as Array<{ reason: string }>).map((i) => i.reason);

  it.each([
    ['', ['c', 'b', 'a']],
    ['?open=true', ['c', 'b']],
    ['?open=false', ['a']],
    ['?checkId=credit-scorer%2Fintegrity&limit=1', ['b']],
  ])('lists incidents %j newest first', async (query, expected) => {
    const { status: code, body } = await get(`/api/v1/incidents${query}`);
    expect(code).toBe(200);
    expect(reasons(body)).toEqual(expected);
  });

  it('rejects open=maybe', async () => {
    expect(await get('/api/v1/incidents?open=maybe')).toEqual({
      status: 400,
      body: { error: 'invalid query parameter "open": expected true or false, got "maybe"' },
    });
  });

  it.each([
    ['', [2000, 1000, 0]],
    ['?checkId=credit-scorer/integrity', [1000, 0]],
    [`?since=${T0 + 1000}`, [2000, 1000]],
    ['?limit=1', [2000]],
  ])('lists transitions %j newest first, with the results that caused them', async (query, expected) => {
    const { status: code, body } = await get(`/api/v1/transitions${query}`);
    expect(code).toBe(200);
    const transitions = body.transitions as Transition[];
    expect(transitions.map((t) => t.at - T0)).toEqual(expected);
    expect(transitions[0]?.results[0]?.failures[0]?.actual).toBe(1.73);
  });
});

describe('operational endpoints', () => {
  it('answers /livez and follows hub.isReady() on /readyz', async () => {
    expect(await get('/livez')).toEqual({ status: 200, body: { status: 'ok' } });
    expect(await get('/readyz')).toEqual({ status: 200, body: { status: 'ready' } });
    hub.setReady(false);
    expect(await get('/readyz')).toEqual({ status: 503, body: { error: 'not ready' } });
    expect((await get('/livez')).status).toBe(200);
  });

  it('serves /metrics in the Prometheus text format, or 404 without metrics', async () => {
    expect(await get('/metrics')).toEqual({ status: 404, body: { error: 'metrics are not enabled' } });
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeLag(5);
    const withMetrics = await createApi({ hub, metrics });
    const response = await withMetrics.inject({ method: 'GET', url: '/metrics' });
    await withMetrics.close();
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    expect(response.body).toContain('vigil_scheduler_lag_seconds_count 1\n');
  });

  it('answers unknown routes with a JSON 404', async () => {
    expect(await get('/api/v1/nope?x=1')).toEqual({
      status: 404,
      body: { error: 'no route GET /api/v1/nope' },
    });
  });

  it('answers a store failure with a 500 that carries no stack or internals', async () => {
    await store.close();
    const response = await app.inject({ method: 'GET', url: '/api/v1/incidents' });
    expect(response.statusCode).toBe(500);
    expect(response.body).toBe('{"error":"internal server error"}');
  });
});

describe('validation errors of a body (for the mutating routes to come)', () => {
  it.each([
    [{ matchers: [{ label: 'team' }], endsAt: 1 }, 'missing body field "matchers[0].value"'],
    [{ matchers: [], endsAt: 1, extra: true }, 'unknown body field "extra"'],
    [{ matchers: [], endsAt: 'soon' }, 'invalid body field "endsAt": must be integer, got "soon"'],
    [{ endsAt: 1 }, 'missing body field "matchers"'],
  ])('describes %j', async (payload, error) => {
    const withBody = await createApi({ hub });
    withBody.post(
      '/api/v1/test-only',
      {
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['matchers', 'endsAt'],
            properties: {
              matchers: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['label', 'value'],
                  properties: { label: { type: 'string' }, value: { type: 'string' } },
                },
              },
              endsAt: { type: 'integer' },
            },
          },
        },
      },
      async () => ({ done: true }),
    );
    const response = await withBody.inject({ method: 'POST', url: '/api/v1/test-only', payload });
    await withBody.close();
    expect(response.statusCode).toBe(400);
    expect(response.json()).toEqual({ error });
  });
});

describe('requireToken', () => {
  async function appWith(token: string | undefined): Promise<FastifyInstance> {
    const guarded = await createApi({ hub, token });
    guarded.post('/api/v1/test-only', { onRequest: requireToken(token) }, async () => ({ done: true }));
    return guarded;
  }

  it.each([
    [undefined, 401],
    ['Bearer s3cret', 200],
    ['bearer   s3cret', 200],
    ['Bearer s3creT', 401],
    ['Bearer s3cret-and-more', 401],
    ['Bearer ', 401],
    ['Basic czNjcmV0', 401],
    ['s3cret', 401],
  ])('with Authorization %j answers %i', async (authorization, expected) => {
    const guarded = await appWith('s3cret');
    const response = await guarded.inject({
      method: 'POST',
      url: '/api/v1/test-only',
      headers: authorization === undefined ? {} : { authorization },
    });
    await guarded.close();
    expect(response.statusCode).toBe(expected);
    if (expected === 401) {
      expect(response.json()).toEqual({ error: 'missing or invalid bearer token' });
      expect(response.headers['www-authenticate']).toBe('Bearer realm="vigil"');
    } else {
      expect(response.json()).toEqual({ done: true });
    }
  });

  it.each([undefined, ''])(
    'answers 403 when the token is %j (not configured), whatever is presented',
    async (token) => {
      const guarded = await appWith(token);
      const response = await guarded.inject({
        method: 'POST',
        url: '/api/v1/test-only',
        headers: { authorization: 'Bearer ' },
      });
      await guarded.close();
      expect(response.statusCode).toBe(403);
      expect(response.json()).toEqual({ error: 'the API token is not configured' });
    },
  );
});
