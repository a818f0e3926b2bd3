/**
 * The probe budget: the accounting of one target (pure, explicit times) and the scheduler deferring
 * and holding probes by it (real timers; the hub-level proof against the example model server, with
 * requests counted at the server, is `hub/budget.test.ts`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckKind, CheckPlan, ProbeBudget, ProbeResult } from '../types.js';
import { BUDGET_BURST_MS, type DeferralReason, TargetBudget } from './budget.js';
import { createScheduler, type Scheduler } from './scheduler.js';

const T0 = 1_000_000;

describe('TargetBudget', () => {
  const budget = (b: Partial<ProbeBudget> = {}) =>
    new TargetBudget({ probesPerSecond: 5, modelTimeShare: 0.05, ...b }, T0);

  it('lets a probe start, then makes expensive ones wait until the model time they took is paid back', () => {
    const b = budget();
    expect(b.wait(true, T0)).toBe(0);
    b.started(true, T0);
    b.settled(2_000, T0 + 2_000);
    // 2 s of model time against a bucket of 50 ms (1 s at 5 %), paid back at 0.05 ms per ms.
    expect(b.wait(true, T0 + 2_000)).toBeCloseTo((2_000 - 0.05 * BUDGET_BURST_MS) / 0.05, 6);
    expect(b.reason).toBe('model-time');
    expect(b.wait(true, T0 + 2_000 + 39_000)).toBe(0);
  });

  it('never defers cheap probes for model time: not for a slow expensive probe, nor for their own latency', () => {
    const b = budget();
    b.started(true, T0);
    b.settled(10_000, T0 + 10_000);
    expect(b.wait(true, T0 + 10_000)).toBeGreaterThan(0);
    expect(b.wait(false, T0 + 10_000)).toBe(0);
    // A hanging health route: every cheap probe lasts its 2 s timeout.
    for (let t = T0 + 10_000; t < T0 + 20_000; t += 2_000) {
      expect(b.wait(false, t)).toBe(0);
      b.started(false, t);
      b.settled(2_000, t + 2_000);
    }
    // …which the expensive ones pay for.
    expect(b.wait(true, T0 + 20_000)).toBeGreaterThan(100_000);
  });

  it('defers cheap probes only when they alone exceed the budget, and expensive ones first', () => {
    const b = budget({ probesPerSecond: 2 });
    // Two cheap probes at once use the burst of 2; the third waits half a second.
    for (let i = 0; i < 2; i++) {
      expect(b.wait(false, T0)).toBe(0);
      b.started(false, T0);
    }
    expect(b.wait(false, T0)).toBeCloseTo(500, 6);
    expect(b.reason).toBe('probe-rate');
    // An expensive probe sees the cheap ones' use too.
    expect(b.wait(true, T0)).toBeCloseTo(500, 6);
  });

  it('keeps the probes a second and the model time within the budget plus one burst over a long run', () => {
    const b = budget({ probesPerSecond: 3, modelTimeShare: 0.1 });
    // A greedy prober: an expensive probe of 300 ms whenever allowed, for 10 minutes.
    let t = T0;
    let probes = 0;
    let used = 0;
    while (t < T0 + 600_000) {
      const wait = b.wait(true, t);
      if (wait > 0) {
        t += wait;
        continue;
      }
      b.started(true, t);
      t += 300;
      b.settled(300, t);
      probes++;
      used += 300;
    }
    expect(used).toBeLessThanOrEqual(0.1 * 600_000 + 0.1 * BUDGET_BURST_MS + 300);
    expect(used).toBeGreaterThan(0.1 * 600_000 * 0.95);
    expect(probes).toBeLessThanOrEqual(3 * 600 + 3);
  });
});

// ---------------------------------------------------------------------------------------------
// The scheduler

function plan(id: string, kind: CheckKind, intervalMs: number, budget?: ProbeBudget): CheckPlan {
  const target = id.split('/')[0] ?? id;
  return {
    id,
    target: {
      name: target,
      url: `http://127.0.0.1:1/${target}`,
      protocol: 'http',
      labels: {},
      headers: {},
      maxBodyBytes: 1 << 20,
      maxRedirects: 5,
      ...(budget !== undefined && { budget }),
    },
    kind,
    intervalMs,
    timeoutMs: 1000,
    failureThreshold: 3,
    successThreshold: 1,
    fastIntervalMs: null,
    initialDelayMs: 0,
    expect: {},
  };
}

/** Probes that take `durationMs(plan)` and say so in their result; records starts and deferrals. */
function recorder(durationMs: (p: CheckPlan) => number) {
  const starts: Array<{ id: string; at: number }> = [];
  const deferrals: Array<{ id: string; reason: DeferralReason; until: number; at: number }> = [];
  const listeners = new Set<() => void>();
  const changed = () => {
    for (const l of listeners) l();
  };
  return {
    starts,
    deferrals,
    count: (id: string) => starts.filter((s) => s.id === id).length,
    /** Resolves when `condition` holds after a start or a deferral (no polling sleeps). */
    until(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (!condition()) return;
          listeners.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error('condition not met in time'));
        }, timeoutMs);
        listeners.add(check);
        check();
      });
    },
    options: {
      coalesceMs: 0,
      probe: (p: CheckPlan) => {
        const startedAt = Date.now();
        starts.push({ id: p.id, at: startedAt });
        changed();
        const ms = durationMs(p);
        return new Promise<ProbeResult>((resolve) =>
          setTimeout(
            () =>
              resolve({
                checkId: p.id,
                target: p.target.name,
                check: p.kind,
                region: 'local',
                startedAt,
                durationMs: ms,
                phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: ms, transferMs: 0 },
                outcome: 'pass',
                failures: [],
              }),
            ms,
          ),
        );
      },
      onResult: () => false,
      onDeferred: (p: CheckPlan, reason: DeferralReason, until: number) => {
        deferrals.push({ id: p.id, reason, until, at: Date.now() });
        changed();
      },
    },
  };
}

describe('createScheduler: the probe budget', () => {
  let scheduler: Scheduler | undefined;
  afterEach(async () => {
    await scheduler?.stop();
    scheduler = undefined;
  });

  it('defers an expensive check over the model-time budget to a later slot of its grid, never the cheap one', async () => {
    const budget = { probesPerSecond: 100, modelTimeShare: 0.1 };
    // Integrity takes 60 ms every 20 ms: 300 % of the model's time against a budget of 10 %.
    const rec = recorder((p) => (p.kind === 'integrity' ? 60 : 1));
    const integrity = plan('m/integrity', 'integrity', 20, budget);
    const liveness = plan('m/liveness', 'liveness', 20, budget);
    scheduler = createScheduler({ plans: [integrity, liveness], ...rec.options });
    scheduler.start();
    await rec.until(() => rec.count('m/integrity') >= 5);
    const started = rec.starts.filter((s) => s.id === 'm/integrity');
    // After the burst (the first probes spend the bucket's 100 ms of credit), each 60 ms probe is
    // paid back at 10 % of the time (less liveness's share): one every 600 ms at most.
    const gaps = started.slice(3).map((s, i) => s.at - (started[i + 2] as { at: number }).at);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(500);
    const deferred = rec.deferrals.filter((d) => d.id === 'm/integrity');
    expect(deferred.length).toBeGreaterThan(0);
    expect(new Set(deferred.map((d) => d.reason))).toEqual(new Set(['model-time']));
    // Every deferral points at a later slot of the check's grid (20 ms apart).
    const base = (deferred[0] as { until: number }).until;
    for (const d of deferred) {
      expect(d.until).toBeGreaterThanOrEqual(d.at - 1);
      expect(Math.abs(((d.until - base) / 20) % 1)).toBeLessThan(1e-6);
    }
    // Liveness kept running at its own cadence, never deferred.
    expect(rec.deferrals.some((d) => d.id === 'm/liveness')).toBe(false);
    expect(rec.count('m/liveness')).toBeGreaterThan(rec.count('m/integrity') * 5);
    expect(scheduler.stats().deferred).toBe(deferred.length);
  });

  it('defers nothing for a plan without a budget', async () => {
    const rec = recorder(() => 30);
    scheduler = createScheduler({ plans: [plan('m/integrity', 'integrity', 20)], ...rec.options });
    scheduler.start();
    await rec.until(() => rec.count('m/integrity') >= 5);
    expect(rec.deferrals).toEqual([]);
  });

  it('holds expensive checks while the target is not ready and starts them as soon as it is', async () => {
    const rec = recorder(() => 1);
    const plans = [
      plan('m/integrity', 'integrity', 200),
      plan('m/liveness', 'liveness', 20),
      plan('other/integrity', 'integrity', 200),
    ];
    scheduler = createScheduler({ plans, ...rec.options });
    scheduler.setReady('m', false);
    scheduler.start();
    await rec.until(() => rec.deferrals.filter((d) => d.id === 'm/integrity').length >= 2);
    expect(rec.count('m/integrity')).toBe(0);
    expect(rec.deferrals.every((d) => d.id === 'm/integrity' && d.reason === 'not-ready')).toBe(true);
    // The other target's integrity and m's liveness are not held.
    await rec.until(() => rec.count('other/integrity') >= 1 && rec.count('m/liveness') >= 5);
    const released = Date.now();
    const next = (rec.deferrals.at(-1) as { until: number }).until;
    scheduler.setReady('m', true);
    await rec.until(() => rec.count('m/integrity') >= 1);
    const start = rec.starts.find((s) => s.id === 'm/integrity') as { at: number };
    // At once, not at the slot it had been moved to.
    expect(start.at).toBeLessThan(Math.max(next, released + 1));
    // Then on its grid again: the next one at that slot.
    await rec.until(() => rec.count('m/integrity') >= 2);
  });
});
