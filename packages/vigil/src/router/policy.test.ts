import { describe, expect, it } from 'vitest';
import type { PolicyPlan, UpstreamPlan } from './config.js';
import { createRoutePolicy, type PolicyDecision } from './policy.js';

const PLANS: UpstreamPlan[] = [
  { name: 'a', url: 'http://a', role: 'primary' },
  { name: 'b', url: 'http://b', role: 'secondary' },
  { name: 'c', url: 'http://c', role: 'secondary' },
];

const POLICY: PolicyPlan = {
  deadlineMs: 200,
  failoverAtMs: 180,
  windowMs: 1000,
  hedgeAfterMs: undefined,
  hedgeMaxShare: 0.1,
  idempotent: true,
  bodyCapBytes: 1024,
  consecutive5xx: 5,
  baseEjectionMs: 30_000,
  maxEjectedShare: 0.5,
  returnSteps: [0.1, 0.5, 1],
  healthyForMs: 1000,
};

function setup(policy: Partial<PolicyPlan> = {}, hasFallback = true) {
  const decisions: PolicyDecision[] = [];
  const p = createRoutePolicy(
    PLANS,
    { ...POLICY, ...policy },
    { hasFallback, decide: (d) => decisions.push(d) },
  );
  const names = (now: number, tried = 0, random = 0.5) => p.pick(now, tried, random)?.plan.name;
  const [a, b, c] = p.upstreams as [typeof p.primary, typeof p.primary, typeof p.primary];
  return { p, decisions, names, a, b, c };
}

describe('route policy', () => {
  it('sends everything to the primary while it is fine, then to the secondaries in order when tried', () => {
    const { names } = setup();
    expect(names(0)).toBe('a');
    expect(names(0, 0b001)).toBe('b');
    expect(names(0, 0b011)).toBe('c');
    expect(names(0, 0b111)).toBeUndefined();
  });

  it("fails over when the primary's p95 reaches failoverAt, and clears its window", () => {
    const { p, names, a, decisions } = setup();
    for (let i = 0; i < 20; i++) p.onSuccess(a, 100 + i, i < 18 ? 50 : 190);
    p.tick(200); // p95 of 20 samples is the 19th (nearest rank): 190 ms
    expect(decisions.map((d) => d.kind)).toEqual(['demote']);
    expect(decisions[0]?.reason).toBe('p95 190 ms over 1 s ≥ failoverAt 180 ms');
    expect(p.status(200).primaryShare).toBe(0);
    expect(names(200, 0, 0)).toBe('b');
    expect(a.latency.size(200)).toBe(0);
  });

  it('has failed over from the demoted primary and from an upstream it may not use, not from the others', () => {
    const { p, a, b, c } = setup();
    expect([a, b, c].map((u) => p.failedOver(u, 0))).toEqual([false, false, false]);
    for (let i = 0; i < 20; i++) p.onSuccess(a, 100, 190);
    p.tick(200);
    p.setDrained('c', true, 200);
    expect([a, b, c].map((u) => p.failedOver(u, 200))).toEqual([true, false, true]);
    // Back at its first return step (10% of traffic): no longer failed over from.
    p.tick(1300);
    p.tick(2400);
    expect(p.status(2400).primaryShare).toBe(0.1);
    expect(p.failedOver(a, 2400)).toBe(false);
  });

  it('returns gradually: healthyFor × failovers before the first step, then one step per healthyFor', () => {
    const { p, a, decisions } = setup();
    for (let i = 0; i < 20; i++) p.onFailure(a, 0, 190, 'HTTP 500'); // ejects (5 in a row) and demotes
    expect(decisions.map((d) => d.kind)).toEqual(['eject', 'demote']);
    p.tick(30_000); // ejection over
    expect(decisions.at(-1)).toMatchObject({ kind: 'return', upstream: 'a' });
    p.tick(30_500);
    expect(p.status(30_500).primaryShare).toBe(0);
    p.tick(31_000); // good for 1 s (healthyFor × 1 failover)
    expect(p.status(31_000).primaryShare).toBe(0.1);
    // At 10%, the primary gets the draws below 0.1.
    expect(p.pick(31_000, 0, 0.05)?.plan.name).toBe('a');
    expect(p.pick(31_000, 0, 0.5)?.plan.name).toBe('b');
    // Each step that gave it traffic is left on evidence: answers there, none slow.
    p.onSuccess(a, 31_500, 40);
    p.tick(32_000);
    expect(p.status(32_000).primaryShare).toBe(0.5);
    p.onSuccess(a, 32_500, 40);
    p.tick(33_000);
    expect(p.status(33_000).primaryShare).toBe(1);
    expect(decisions.filter((d) => d.kind === 'step').map((d) => d.share)).toEqual([0.1, 0.5, 1]);
  });

  it('stays at a return step without an answer there, or after a slow one, until it is good for healthyFor', () => {
    const { p, a } = setup({ consecutive5xx: 1000 });
    p.setHubState('a', 'degraded', 0);
    p.setHubState('a', 'healthy', 10);
    p.tick(20);
    p.tick(1020);
    expect(p.status(1020).primaryShare).toBe(0.1);
    // No request reached it at 10%: no evidence, no next step.
    p.tick(2020);
    expect(p.status(2020).primaryShare).toBe(0.1);
    // One slow answer (too few for a p95 that would demote): it must be good for 1 s afresh.
    p.onSuccess(a, 2100, 250);
    p.tick(3020);
    expect(p.status(3020).primaryShare).toBe(0.1);
    p.onSuccess(a, 3100, 40);
    p.tick(3500);
    expect(p.status(3500).primaryShare).toBe(0.1); // good only since 3020
    p.tick(4020);
    expect(p.status(4020).primaryShare).toBe(0.5);
  });

  it('a relapse during the return demotes again, and the next return waits longer', () => {
    const { p, a, decisions } = setup({ consecutive5xx: 1000 });
    p.setHubState('a', 'degraded', 0);
    p.setHubState('a', 'healthy', 10);
    p.tick(20);
    p.tick(1020);
    expect(p.status(1020).primaryShare).toBe(0.1);
    // Slow again at 10%.
    for (let i = 0; i < 20; i++) p.onSuccess(a, 1100, 250);
    p.tick(1100);
    expect(p.status(1100).primaryShare).toBe(0);
    p.tick(1200);
    p.tick(2200);
    expect(p.status(2200).primaryShare).toBe(0); // 2 failovers: waits 2 s
    p.tick(3200);
    expect(p.status(3200).primaryShare).toBe(0.1);
    expect(decisions.filter((d) => d.kind === 'demote').map((d) => d.reason)).toEqual([
      'the hub judges it degraded',
      'p95 250 ms over 1 s ≥ failoverAt 180 ms',
    ]);
  });

  it('drains an unhealthy or drained upstream, and restores it', () => {
    const { p, names } = setup();
    p.setHubState('a', 'unhealthy', 0);
    expect(names(0)).toBe('b');
    p.setDrained('b', true, 0);
    expect(names(0)).toBe('c');
    expect(p.setDrained('nope', true, 0)).toBe(false);
    p.setDrained('b', false, 0);
    expect(names(0)).toBe('b');
  });

  it('prefers a healthy secondary over a degraded one, and a fast one over a slow one', () => {
    const { p, names, b, c } = setup();
    p.setHubState('a', 'unhealthy', 0);
    p.setHubState('b', 'degraded', 0);
    p.tick(0);
    expect(names(0)).toBe('c');
    p.setHubState('b', 'healthy', 0);
    for (let i = 0; i < 20; i++) {
      p.onSuccess(b, 10, 60);
      p.onSuccess(c, 10, 5);
    }
    p.tick(10);
    expect(names(10)).toBe('c');
  });

  it('caps the share of ejected upstreams, but one may always be ejected', () => {
    const { p, a, b, c, decisions } = setup({ consecutive5xx: 1, maxEjectedShare: 0.1 });
    p.onFailure(a, 0, 1, 'HTTP 500');
    p.onFailure(b, 0, 1, 'HTTP 500');
    p.onFailure(c, 0, 1, 'HTTP 500');
    expect(decisions.filter((d) => d.kind === 'eject').map((d) => d.upstream)).toEqual(['a']);
  });

  it('uses a demoted primary when no secondary can take the request; panics only without a fallback', () => {
    const withFallback = setup({ consecutive5xx: 1, maxEjectedShare: 1 });
    withFallback.p.setHubState('a', 'degraded', 0);
    withFallback.p.setHubState('b', 'unhealthy', 0);
    withFallback.p.setDrained('c', true, 0);
    expect(withFallback.names(0)).toBe('a');
    withFallback.p.onFailure(withFallback.a, 0, 1, 'HTTP 500');
    expect(withFallback.names(0)).toBeUndefined();
    const panic = setup({ consecutive5xx: 1, maxEjectedShare: 1 }, false);
    panic.p.setHubState('b', 'unhealthy', 0);
    panic.p.setDrained('c', true, 0);
    panic.p.onFailure(panic.a, 0, 1, 'HTTP 500');
    expect(panic.names(0)).toBe('a');
    expect(panic.names(0, 0b001)).toBe('b');
    expect(panic.names(0, 0b011)).toBeUndefined();
  });

  it('keeps what it learnt of unchanged upstreams across a reload', () => {
    const { p } = setup();
    p.setDrained('b', true, 0);
    const next = createRoutePolicy(PLANS, POLICY, { hasFallback: true, decide: () => {}, previous: p });
    expect(next.status(0).upstreams.map((u) => u.drained)).toEqual([false, true, false]);
  });
});
