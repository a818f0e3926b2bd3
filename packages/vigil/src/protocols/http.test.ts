import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { HttpClient } from '../types.js';
import { createHttpFake, type HttpFake } from './fakes/http.js';
import { makeClient, makePlan, makeTarget, runAdapter } from './fakes/testing.js';
import { httpAdapter } from './http.js';

let fake: HttpFake;
let client: HttpClient;
const plan = (kind: 'liveness' | 'integrity', request?: unknown, extract?: Record<string, string>) =>
  makePlan(kind, makeTarget('http', fake.url), {
    ...(request === undefined ? {} : { request }),
    ...(extract === undefined ? {} : { extract }),
  });

beforeAll(async () => {
  fake = await createHttpFake();
  client = makeClient();
});
afterAll(async () => {
  await client.close();
  await fake.close();
});
beforeEach(() => {
  fake.state.routes = { 'GET /': { status: 200, json: { status: 'ok', score: 0.42, labels: ['a', 'b'] } } };
});

describe('http', () => {
  it('defaults to GET / and parses a JSON body', async () => {
    const answer = await runAdapter(client, httpAdapter, 'liveness', plan('liveness'));
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.body).toEqual({ status: 'ok', score: 0.42, labels: ['a', 'b'] });
    expect(answer.document?.outputs).toEqual({});
  });

  it('outputs come from plan.extract (JSONPath over the probe document)', async () => {
    const answer = await runAdapter(
      client,
      httpAdapter,
      'integrity',
      plan('integrity', undefined, {
        probability: '$.body.score',
        label: '$.body.labels[*]',
        missing: '$.body.nope',
      }),
    );
    expect(answer.document?.outputs).toEqual({ probability: [0.42], label: ['a', 'b'], missing: [] });
  });

  it('sends the request method, path, headers and body of plan.request', async () => {
    const answer = await runAdapter(
      client,
      httpAdapter,
      'integrity',
      plan('integrity', { method: 'put', path: '/echo', headers: { 'X-Probe': '1' }, body: { a: 1 } }),
    );
    expect(answer.document?.body).toMatchObject({
      method: 'PUT',
      headers: { 'x-probe': '1', 'content-type': 'application/json' },
      body: '{"a":1}',
    });
  });

  it('a non-JSON body is kept as text', async () => {
    fake.state.routes['GET /'] = { status: 200, text: 'all good' };
    const answer = await runAdapter(client, httpAdapter, 'liveness', plan('liveness'));
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.body).toBe('all good');
  });

  it('the status is left to expect.status: a 503 is a positive protocol verdict with status 503', async () => {
    fake.state.routes['GET /'] = { status: 503, text: 'down' };
    const answer = await runAdapter(client, httpAdapter, 'liveness', plan('liveness'));
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.status).toBe(503);
  });

  it('a JSON body with bare NaN fails with NON_FINITE_NUMBER', async () => {
    fake.state.routes['GET /'] = { status: 200, text: '{"score": NaN}', contentType: 'application/json' };
    const answer = await runAdapter(client, httpAdapter, 'integrity', plan('integrity'));
    expect(answer.verdict).toMatchObject({ ok: false, code: 'NON_FINITE_NUMBER' });
  });

  it('a body that claims JSON but is broken fails with INVALID_JSON', async () => {
    fake.state.routes['GET /'] = { status: 200, text: '{"score": ', contentType: 'application/json' };
    const answer = await runAdapter(client, httpAdapter, 'integrity', plan('integrity'));
    expect(answer.verdict).toMatchObject({ ok: false, code: 'INVALID_JSON' });
  });
});
