/**
 * The router's traffic as results for the hub: each report's outcome from its attempts (upstream
 * failures only; a client's 4xx passes), an ejection reported while it lasts, slowness as degraded;
 * then a real router in front of a real model server feeding a reporter.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { ProbeResult } from '../types.js';
import type { TrafficObservation } from './proxy.js';
import { infer, startModelServer, startTestRouter, testPlan } from './testing.js';
import { createTrafficReporter, report } from './traffic.js';

const SETTINGS = { errorShare: 0.5, failoverAtMs: 180, region: 'local', intervalMs: 250 };

function window(latencies: number[], failures = 0, last?: Partial<TrafficObservation>) {
  return {
    startedAt: 1000,
    attempts: latencies.length,
    failures,
    latencies: [...latencies],
    lastFailure:
      last === undefined
        ? undefined
        : ({
            router: 'r',
            target: 'a',
            role: 'primary',
            startedAt: 1000,
            durationMs: 1,
            outcome: 'fail',
            hedge: false,
            ...last,
          } as TrafficObservation),
  };
}

describe('a traffic report', () => {
  it.each([
    ['passes with few upstream failures', window([10, 12, 11, 9], 1, { httpStatus: 503 }), false, 'pass', []],
    [
      'fails at errorShare upstream failures, saying the last one',
      window([10, 12, 11, 9], 2, { error: { code: 'CONNECTION_REFUSED', message: 'refused' } }),
      false,
      'fail',
      ['2 of 4 requests through router r were upstream failures (50% ≥ 50%); last: CONNECTION_REFUSED'],
    ],
    [
      'fails while the upstream is ejected, even without traffic',
      undefined,
      true,
      'fail',
      ['ejected by router r after upstream failures in a row'],
    ],
    [
      'is degraded when its p95 reaches failoverAt',
      window([20, 30, 190, 200]),
      false,
      'degraded',
      ['p95 200 ms over 4 requests through router r ≥ failoverAt 180 ms'],
    ],
  ] as const)('%s', (_name, w, ejected, outcome, messages) => {
    const r = report('r', 'a', w, ejected, 0, 2000, SETTINGS);
    expect(r).toMatchObject({ checkId: 'a/traffic:r', check: 'traffic', source: 'traffic', outcome });
    expect(r.failures.map((f) => f.message)).toEqual(messages);
  });
});

describe('createTrafficReporter', () => {
  const closers: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close();
  });

  it("sums up a real router's traffic per upstream; a client's 4xx is no upstream failure", async () => {
    const a = await startModelServer();
    closers.push(() => a.server.close());
    // A generous failoverAt: this machine is shared, and slowness is not what this test is about.
    const t = await startTestRouter(testPlan([a.url], { deadlineMs: 20_000, failoverAtMs: 15_000 }));
    closers.push(() => t.router.close(0));
    const results: ProbeResult[] = [];
    const reporter = createTrafficReporter(t.router, { region: 'eu', emit: (r) => results.push(r) });
    closers.push(() => reporter.close());
    for (let i = 0; i < 3; i++) expect((await infer(t.url)).status).toBe(200);
    // A bad request: the model server answers 400, the upstream did its job.
    const bad = await fetch(`${t.url}/v2/models/credit-scorer/infer`, { method: 'POST', body: '{' });
    expect(bad.status).toBe(400);
    for (const o of t.observations) reporter.observe(o);
    reporter.flush();
    expect(results).toHaveLength(1);
    expect(results[0]).toMatchObject({
      checkId: 'a/traffic:r',
      region: 'eu',
      outcome: 'pass',
      source: 'traffic',
      notes: [expect.stringMatching(/^4 requests in 250 ms, 0 upstream failures, p95 \d+ ms$/)],
    });
    // Nothing since: nothing to report.
    reporter.flush();
    expect(results).toHaveLength(1);
  });
});
