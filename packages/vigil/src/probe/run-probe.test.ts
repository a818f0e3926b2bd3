/**
 * runProbe never rejects for what an endpoint answers: hostile bodies fail their own probe with a
 * code, and an exception while judging is an INTERNAL failure, not a lost result.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpFake, type HttpFake } from '../protocols/fakes/http.js';
import { makeClient, makePlan, makeTarget } from '../protocols/fakes/testing.js';
import type { HttpClient } from '../types.js';
import { runProbe } from './run-probe.js';

let fake: HttpFake;
let client: HttpClient;
beforeAll(async () => {
  fake = await createHttpFake();
  client = makeClient();
});
afterAll(async () => {
  await client.close();
  await fake.close();
});

const nested = (depth: number) => `${'{"x":'.repeat(depth)}1${'}'.repeat(depth)}`;

describe('runProbe on hostile answers', () => {
  it.each([
    [49, 'the depth at which a descendant JSONPath used to throw'],
    [100_000, 'a body that used to overflow the stack'],
  ])('answers a body nested %i levels (%s) with a result, not an exception', async (depth) => {
    fake.state.routes = { 'GET /': { status: 200, text: nested(depth), contentType: 'application/json' } };
    const plan = makePlan('integrity', makeTarget('http', fake.url), { extract: { x: '$..x' } });
    const result = await runProbe(plan, { client });
    expect(result.checkId).toBe(plan.id);
    if (depth > 64) expect(result.error?.code).toBe('TOO_DEEP');
    if (result.outcome === 'fail') expect(result.error?.code).toMatch(/^[A-Z_]+$/);
  });

  it('turns an exception while judging into a failed result with code INTERNAL', async () => {
    fake.state.routes = { 'GET /': { status: 200, json: { ok: true } } };
    const plan = makePlan('liveness', makeTarget('http', fake.url));
    const result = await runProbe(plan, {
      client,
      onExchange: () => {
        throw new Error('a reader of the exchange broke');
      },
    });
    expect(result).toMatchObject({
      checkId: plan.id,
      outcome: 'fail',
      error: { code: 'INTERNAL', message: 'internal error while probing: a reader of the exchange broke' },
    });
    expect(result.failures[0]?.assertion).toBe('internal');
  });
});

describe('runProbe on plans it cannot run', () => {
  it('rejects a canary plan with a code, before any request', async () => {
    const requests = fake.requests.length;
    const plan = makePlan('canary', makeTarget('http', fake.url));
    await expect(runProbe(plan, { client })).rejects.toMatchObject({
      code: 'VIGIL_ERR_PROBE_NOT_PROBEABLE',
      message:
        'runProbe: http-target/canary: canary checks run through a canary runner (createCanaryRunner), not runProbe',
    });
    expect(fake.requests.length).toBe(requests);
  });

  it('fails a plan whose protocol is not registered, naming it', async () => {
    const target = { ...makeTarget('http', fake.url), protocol: 'gopher' };
    const result = await runProbe(makePlan('liveness', target), { client });
    expect(result).toMatchObject({ outcome: 'fail', error: { code: 'INTERNAL' } });
    expect(result.error?.message).toContain('unknown protocol "gopher": expected one of oip-v2');
  });
});
