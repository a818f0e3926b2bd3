import { afterEach, describe, expect, it } from 'vitest';
import type { CheckPlan, ProbeResult } from '../types.js';
import { createScheduler, type Scheduler, type SchedulerOptions } from './scheduler.js';
import { spreadOffsetMs } from './spread.js';

function plan(id: string, overrides: Partial<CheckPlan> = {}): CheckPlan {
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
    },
    kind: 'liveness',
    intervalMs: 40,
    timeoutMs: 1000,
    failureThreshold: 3,
    successThreshold: 1,
    fastIntervalMs: null,
    initialDelayMs: 0,
    expect: {},
    ...overrides,
  };
}

function resultOf(p: CheckPlan): ProbeResult {
  return {
    checkId: p.id,
    target: p.target.name,
    check: p.kind,
    region: 'local',
    startedAt: Date.now(),
    durationMs: 0,
    phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 },
    outcome: 'pass',
    failures: [],
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await sleep(5);
  }
}

/** A probe that resolves after `ms` (never, for Infinity), recording starts, concurrency and dues. */
function recorder(durationMs: (p: CheckPlan) => number = () => 0) {
  const dues = new Map<string, number[]>();
  const starts: Array<{ id: string; at: number }> = [];
  const results: Array<{ id: string; plan: CheckPlan }> = [];
  const perTarget = new Map<string, number>();
  const maxPerTarget = new Map<string, number>();
  let inFlight = 0;
  let maxInFlight = 0;
  const options = {
    // Exact due times: these tests check the grid's arithmetic; coalescing has its own tests.
    coalesceMs: 0,
    probe: (p: CheckPlan) => {
      starts.push({ id: p.id, at: Date.now() });
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      const name = p.target.name;
      const n = (perTarget.get(name) ?? 0) + 1;
      perTarget.set(name, n);
      maxPerTarget.set(name, Math.max(maxPerTarget.get(name) ?? 0, n));
      const ms = durationMs(p);
      return new Promise<ProbeResult>((resolve) => {
        if (ms === Number.POSITIVE_INFINITY) return;
        setTimeout(() => {
          inFlight--;
          perTarget.set(name, (perTarget.get(name) ?? 1) - 1);
          resolve(resultOf(p));
        }, ms);
      });
    },
    onResult: (p: CheckPlan) => {
      results.push({ id: p.id, plan: p });
      return false;
    },
    onLag: (p: CheckPlan, _lagMs: number, dueAt: number) => {
      const list = dues.get(p.id) ?? [];
      list.push(dueAt);
      dues.set(p.id, list);
    },
  } satisfies Partial<SchedulerOptions>;
  return {
    options,
    dues: (id: string) => dues.get(id) ?? [],
    starts,
    results,
    count: (id: string) => starts.filter((s) => s.id === id).length,
    maxInFlight: () => maxInFlight,
    maxPerTarget: (name: string) => maxPerTarget.get(name) ?? 0,
  };
}

const diffs = (xs: number[]) => xs.slice(1).map((x, i) => x - (xs[i] as number));
/** `x` is a whole multiple of `m`, up to float rounding. */
const isMultiple = (x: number, m: number) => Math.abs(x / m - Math.round(x / m)) < 1e-6;

let scheduler: Scheduler | undefined;
afterEach(async () => {
  await scheduler?.stop();
  scheduler = undefined;
});

describe('createScheduler: due-time grid', () => {
  it('runs each check on its grid (due = previous due + interval), not interval after the probe ends', async () => {
    const rec = recorder(() => 15);
    scheduler = createScheduler({ plans: [plan('a/liveness', { intervalMs: 40 })], ...rec.options });
    scheduler.start();
    await waitFor(() => rec.count('a/liveness') >= 6);
    const gaps = diffs(rec.dues('a/liveness'));
    // Sleeping after a 15 ms probe would give gaps of ~55 ms; the grid gives multiples of 40.
    expect(gaps.every((g) => g > 0 && isMultiple(g, 40))).toBe(true);
  });

  it('skips slots a probe overran instead of running them in a burst', async () => {
    const rec = recorder(() => 70);
    scheduler = createScheduler({ plans: [plan('a/liveness', { intervalMs: 30 })], ...rec.options });
    scheduler.start();
    await waitFor(() => rec.count('a/liveness') >= 4);
    const gaps = diffs(rec.dues('a/liveness'));
    // A 70 ms probe due at d ends after d + 70: the next slot is d + 90 or later, on the grid.
    expect(gaps.every((g) => g >= 90 && isMultiple(g, 30))).toBe(true);
    const startGaps = diffs(rec.starts.map((s) => s.at));
    expect(Math.min(...startGaps)).toBeGreaterThanOrEqual(65);
    expect(scheduler.stats().skippedSlots).toBeGreaterThanOrEqual(2 * gaps.length);
  });

  it('places the first probe at start + initialDelayMs + the spread offset of the check id', async () => {
    const rec = recorder();
    let frozen: number | null = 1_000;
    const base = performance.now();
    const now = () => frozen ?? 1_000 + performance.now() - base;
    const plans = Array.from({ length: 20 }, (_, i) =>
      plan(`m${i}/liveness`, { intervalMs: 150, initialDelayMs: 30 }),
    );
    scheduler = createScheduler({ plans, ...rec.options, now });
    scheduler.start();
    frozen = null;
    await waitFor(() => plans.every((p) => rec.count(p.id) >= 1));
    for (const p of plans) expect(rec.dues(p.id)[0]).toBe(1_000 + 30 + spreadOffsetMs(p.id, 150));
    expect(new Set(plans.map((p) => rec.dues(p.id)[0])).size).toBeGreaterThan(10);
  });
});

describe('createScheduler: coalescing', () => {
  it('rounds each due time up to a multiple of coalesceMs, never before its exact slot', async () => {
    const rec = recorder();
    let frozen: number | null = 1_003;
    const base = performance.now();
    const now = () => frozen ?? 1_003 + performance.now() - base;
    const plans = Array.from({ length: 10 }, (_, i) => plan(`m${i}/liveness`, { intervalMs: 70 }));
    scheduler = createScheduler({ plans, ...rec.options, coalesceMs: 25, now });
    scheduler.start();
    frozen = null;
    await waitFor(() => plans.every((p) => rec.count(p.id) >= 3));
    for (const p of plans) {
      const dues = rec.dues(p.id);
      const exactFirst = 1_003 + spreadOffsetMs(p.id, 70);
      expect(dues[0]).toBe(Math.ceil(exactFirst / 25) * 25);
      // Each due is the check's exact grid slot (first + k × 70) rounded up: within 25 ms after it.
      for (const due of dues) {
        expect(isMultiple(due, 25)).toBe(true);
        const k = Math.round((due - exactFirst) / 70);
        expect(due - (exactFirst + k * 70)).toBeGreaterThanOrEqual(0);
        expect(due - (exactFirst + k * 70)).toBeLessThan(25);
      }
    }
  });

  it('starts the probes due in one window together, in one timer callback', async () => {
    const starts: Array<{ id: string; due: number; at: number }> = [];
    const plans = Array.from({ length: 40 }, (_, i) => plan(`m${i}/liveness`, { intervalMs: 1_000 }));
    const options = (coalesceMs: number) => ({
      plans,
      coalesceMs,
      probe: async (p: CheckPlan) => resultOf(p),
      onResult: () => false,
      onLag: (p: CheckPlan, _lag: number, due: number) => {
        starts.push({ id: p.id, due, at: performance.now() });
      },
    });
    scheduler = createScheduler(options(250));
    scheduler.start();
    await waitFor(() => starts.length >= 40);
    await scheduler.stop();
    // 40 spread offsets in a 1 s interval fall into at most 4–5 windows of 250 ms…
    const windows = new Set(starts.slice(0, 40).map((s) => s.due));
    expect(windows.size).toBeLessThanOrEqual(5);
    // …and the probes of one window start in one callback: the same instant on the loop's clock.
    for (const due of windows) {
      const at = starts.filter((s) => s.due === due).map((s) => s.at);
      expect(Math.max(...at) - Math.min(...at)).toBeLessThan(5);
    }
    // Without coalescing the same checks start at ~40 distinct due times.
    starts.length = 0;
    scheduler = createScheduler(options(0));
    scheduler.start();
    await waitFor(() => starts.length >= 40);
    expect(new Set(starts.slice(0, 40).map((s) => s.due)).size).toBeGreaterThan(30);
  });
});

describe('createScheduler: concurrency', () => {
  it('runs one probe per target at a time by default, letting due probes wait (their lag grows)', async () => {
    const rec = recorder(() => 30);
    const lags: number[] = [];
    const plans = ['a/liveness', 'a/readiness', 'a/integrity'].map((id) => plan(id, { intervalMs: 20 }));
    scheduler = createScheduler({
      plans,
      ...rec.options,
      onLag: (p, lagMs, dueAt) => {
        lags.push(lagMs);
        rec.options.onLag(p, lagMs, dueAt);
      },
    });
    scheduler.start();
    await waitFor(() => rec.starts.length >= 9);
    expect(rec.maxPerTarget('a')).toBe(1);
    expect(plans.every((p) => rec.count(p.id) >= 2)).toBe(true);
    // Three checks each due every 20 ms sharing one 30 ms slot: some wait at least one probe.
    expect(Math.max(...lags)).toBeGreaterThanOrEqual(20);
  });

  it('allows perTargetConcurrency probes of one target at once', async () => {
    const rec = recorder(() => 40);
    const plans = ['a/liveness', 'a/readiness', 'a/integrity'].map((id) => plan(id, { intervalMs: 20 }));
    scheduler = createScheduler({ plans, ...rec.options, perTargetConcurrency: 2 });
    scheduler.start();
    await waitFor(() => rec.starts.length >= 8);
    expect(rec.maxPerTarget('a')).toBe(2);
  });

  it('keeps other targets on schedule while one target hangs', async () => {
    const rec = recorder((p) => (p.target.name === 'stuck' ? Number.POSITIVE_INFINITY : 1));
    const plans = [
      plan('stuck/liveness', { intervalMs: 20 }),
      plan('stuck/readiness', { intervalMs: 20 }),
      plan('ok/liveness', { intervalMs: 20 }),
      plan('ok2/liveness', { intervalMs: 20 }),
    ];
    scheduler = createScheduler({ plans, ...rec.options, stopTimeoutMs: 50 });
    scheduler.start();
    await waitFor(() => rec.count('ok/liveness') >= 8 && rec.count('ok2/liveness') >= 8);
    expect(rec.count('stuck/liveness') + rec.count('stuck/readiness')).toBe(1);
    const stats = scheduler.stats();
    // The hanging probe holds its target's slot (an `ok` probe may be in flight too); the other
    // check of the stuck target waits for it, and nothing else waits.
    expect(stats.inFlight).toBeGreaterThanOrEqual(1);
    expect(stats.waiting).toBe(1);
    for (const id of ['ok/liveness', 'ok2/liveness']) {
      expect(diffs(rec.dues(id)).every((g) => isMultiple(g, 20))).toBe(true);
    }
    // stop() is bounded even though one probe never settles.
    await scheduler.stop();
  });

  it('never has more than maxConcurrency probes in flight, and serves every target', async () => {
    const rec = recorder(() => 15);
    const plans = Array.from({ length: 6 }, (_, i) => plan(`t${i}/liveness`, { intervalMs: 20 }));
    scheduler = createScheduler({ plans, ...rec.options, maxConcurrency: 2 });
    scheduler.start();
    await waitFor(() => plans.every((p) => rec.count(p.id) >= 3));
    expect(rec.maxInFlight()).toBe(2);
  });
});

describe('createScheduler: fast confirmation', () => {
  /**
   * One check whose result callback answers "confirming" for the results listed in `answers` (by
   * delivery order; later ones: not confirming). `events` records each delivery with its answer.
   */
  function confirmingRun(
    fastIntervalMs: number | null,
    probeMs = 0,
    intervalMs = 200,
    answers: readonly boolean[] = [true, true],
  ) {
    const rec = recorder(() => probeMs);
    const events: string[] = [];
    scheduler = createScheduler({
      plans: [plan('a/integrity', { intervalMs, fastIntervalMs })],
      ...rec.options,
      onResult: (p) => {
        rec.options.onResult(p);
        const confirming = answers[rec.results.length - 1] ?? false;
        events.push(`result → ${confirming}`);
        return confirming;
      },
    });
    scheduler.start();
    return { rec, events };
  }

  it('re-probes at fastIntervalMs while confirming, then returns to the regular grid', async () => {
    const { rec, events } = confirmingRun(20);
    await waitFor(() => rec.count('a/integrity') >= 4);
    const dues = rec.dues('a/integrity');
    const [d0 = 0, d1 = 0, d2 = 0, d3 = 0] = dues;
    expect(d1 - d0).toBeGreaterThanOrEqual(20);
    expect(d1 - d0).toBeLessThan(200);
    expect(d2 - d1).toBeGreaterThanOrEqual(20);
    expect(d2 - d1).toBeLessThan(200);
    expect(isMultiple(d3 - d0, 200)).toBe(true);
    expect(d3).toBeGreaterThan(d2);
    // One callback per result (three delivered by the 4th start), its answer deciding the due
    // time of the probe after it.
    expect(events.slice(0, 3)).toEqual(['result → true', 'result → true', 'result → false']);
  });

  it("takes each result's answer for the next probe only", async () => {
    // confirming, not, confirming, not: fast, grid, fast, grid.
    const { rec, events } = confirmingRun(20, 0, 200, [true, false, true, false]);
    await waitFor(() => rec.count('a/integrity') >= 5);
    const [d0 = 0, d1 = 0, d2 = 0, d3 = 0, d4 = 0] = rec.dues('a/integrity');
    expect(d1 - d0).toBeGreaterThanOrEqual(20);
    expect(d1 - d0).toBeLessThan(200);
    expect(isMultiple(d2 - d0, 200)).toBe(true);
    expect(d3 - d2).toBeGreaterThanOrEqual(20);
    expect(d3 - d2).toBeLessThan(200);
    expect(isMultiple(d4 - d0, 200)).toBe(true);
    expect(d4).toBeGreaterThan(d3);
    expect(events.slice(0, 4)).toEqual([
      'result → true',
      'result → false',
      'result → true',
      'result → false',
    ]);
  });

  it('keeps a check whose result callback throws on its grid and reports the error', async () => {
    const errors: unknown[] = [];
    const rec = recorder();
    scheduler = createScheduler({
      plans: [plan('a/integrity', { intervalMs: 60, fastIntervalMs: 10 })],
      ...rec.options,
      onResult: () => {
        throw new Error('callback bug');
      },
      onError: (_p, error) => errors.push(error),
    });
    scheduler.start();
    await waitFor(() => rec.count('a/integrity') >= 3);
    expect(diffs(rec.dues('a/integrity')).every((g) => isMultiple(g, 60))).toBe(true);
    expect(errors[0]).toMatchObject({ message: 'callback bug' });
  });

  it('counts fastIntervalMs from the start of the failed probe, not its end (HAProxy fastinter)', async () => {
    // Probes take 100 ms; counted from their end the re-probe would be due 100 + 120 ms after the
    // failed one's due time, counted from their start 120 ms after it.
    const { rec } = confirmingRun(120, 100, 1000);
    await waitFor(() => rec.count('a/integrity') >= 3);
    const [d0 = 0, d1 = 0, d2 = 0] = rec.dues('a/integrity');
    expect(d1 - d0).toBeGreaterThanOrEqual(115);
    expect(d1 - d0).toBeLessThan(190);
    expect(d2 - d1).toBeLessThan(190);
  });

  it('re-probes at once when the failed probe took longer than fastIntervalMs', async () => {
    // 150 ms probes, 100 ms fastInterval: due when the probe ends (≈150 ms), not 100 ms after that.
    const { rec } = confirmingRun(100, 150, 1000);
    await waitFor(() => rec.count('a/integrity') >= 2);
    const [d0 = 0, d1 = 0] = rec.dues('a/integrity');
    // Node timers may fire up to a millisecond early against this clock: a small margin below.
    expect(d1 - d0).toBeGreaterThanOrEqual(145);
    expect(d1 - d0).toBeLessThan(220);
  });

  it('stays on the grid when fastIntervalMs is null', async () => {
    const { rec } = confirmingRun(null);
    await waitFor(() => rec.count('a/integrity') >= 2);
    const [d0 = 0, d1 = 0] = rec.dues('a/integrity');
    expect(d1 - d0).toBeCloseTo(200, 6);
  });
});

describe('createScheduler: lag', () => {
  it('measures the lag of every probe and summarises it in stats()', async () => {
    const rec = recorder(() => 2);
    const lags: number[] = [];
    const plans = Array.from({ length: 5 }, (_, i) => plan(`t${i}/liveness`, { intervalMs: 15 }));
    scheduler = createScheduler({ plans, ...rec.options, onLag: (_p, lagMs) => lags.push(lagMs) });
    scheduler.start();
    await waitFor(() => lags.length >= 30);
    const { lag, started } = scheduler.stats();
    expect(lag.count).toBe(started);
    expect(lags).toHaveLength(started);
    expect(lags.every((l) => l >= 0)).toBe(true);
    expect(lag.p50Ms).toBeLessThanOrEqual(lag.p99Ms);
    expect(lag.p99Ms).toBeLessThanOrEqual(lag.maxMs);
    expect(lag.maxMs).toBe(Math.max(...lags));
  });
});

describe('createScheduler: update', () => {
  it('keeps the schedule of a deep-equal plan and hands out the new plan object', async () => {
    const rec = recorder();
    const original = plan('a/liveness', { intervalMs: 30 });
    scheduler = createScheduler({ plans: [original], ...rec.options });
    scheduler.start();
    await waitFor(() => rec.count('a/liveness') >= 2);
    const copy = structuredClone(original);
    scheduler.update([copy]);
    const before = rec.results.length;
    await waitFor(() => rec.count('a/liveness') >= 5);
    const dues = rec.dues('a/liveness');
    expect(diffs(dues).every((g) => isMultiple(g, 30))).toBe(true);
    expect(rec.results.slice(before).every((r) => r.plan === copy)).toBe(true);
  });

  it('stops a removed check and drops the result of its probe in flight', async () => {
    const rec = recorder(() => 60);
    scheduler = createScheduler({ plans: [plan('a/liveness', { intervalMs: 20 })], ...rec.options });
    scheduler.start();
    await waitFor(() => rec.count('a/liveness') === 1);
    scheduler.update([]);
    // The probe in flight settles (60 ms) and its result is dropped.
    await waitFor(() => scheduler?.stats().droppedResults === 1);
    expect(rec.count('a/liveness')).toBe(1);
    expect(rec.results).toEqual([]);
    expect(scheduler.stats()).toMatchObject({ checks: 0, droppedResults: 1, inFlight: 0 });
  });

  it('schedules a new check with spread and re-spreads a changed one on its new interval', async () => {
    const rec = recorder();
    scheduler = createScheduler({ plans: [plan('a/liveness', { intervalMs: 25 })], ...rec.options });
    scheduler.start();
    await waitFor(() => rec.count('a/liveness') >= 2);
    const changed = plan('a/liveness', { intervalMs: 45 });
    const before = rec.dues('a/liveness').length;
    scheduler.update([changed, plan('b/liveness', { intervalMs: 25 })]);
    await waitFor(() => rec.count('b/liveness') >= 2 && rec.dues('a/liveness').length >= before + 3);
    const after = rec.dues('a/liveness').slice(before);
    expect(diffs(after).every((g) => isMultiple(g, 45))).toBe(true);
    expect(scheduler.stats().checks).toBe(2);
  });

  it('accepts an update from inside onResult and keeps one slot per target', async () => {
    const rec = recorder(() => 15);
    const [x, y, z] = ['a/liveness', 'a/readiness', 'a/integrity'].map((id) => plan(id, { intervalMs: 20 }));
    let updated = false;
    scheduler = createScheduler({
      plans: [x as CheckPlan, y as CheckPlan],
      ...rec.options,
      onResult: (p) => {
        rec.options.onResult(p);
        if (p.id === 'a/liveness' && !updated) {
          updated = true;
          scheduler?.update([y as CheckPlan, z as CheckPlan]);
        }
        return false;
      },
    });
    scheduler.start();
    await waitFor(() => updated && rec.count('a/integrity') >= 3 && rec.count('a/readiness') >= 3);
    expect(rec.maxPerTarget('a')).toBe(1);
    expect(rec.count('a/liveness')).toBe(1);
    expect(scheduler.stats()).toMatchObject({ checks: 2, targets: 1 });
    // The target's slot is counted once per check: removing one more check (with nothing in
    // flight) keeps it for the last.
    await scheduler.stop();
    scheduler.update([z as CheckPlan]);
    expect(scheduler.stats()).toMatchObject({ checks: 1, targets: 1 });
  });

  it('rejects duplicate ids and bad intervals, keeping the old plans', () => {
    const rec = recorder();
    scheduler = createScheduler({ plans: [plan('a/liveness')], ...rec.options });
    expect(() => scheduler?.update([plan('x/liveness'), plan('x/liveness', { intervalMs: 0 })])).toThrow(
      expect.objectContaining({
        code: 'VIGIL_ERR_SCHEDULER_INVALID_PLAN',
        message: expect.stringMatching(
          /duplicate check id "x\/liveness".*intervalMs must be a positive number/,
        ),
      }),
    );
    expect(scheduler.stats().checks).toBe(1);
  });
});

describe('createScheduler: stop and errors', () => {
  it('waits for probes in flight and delivers their results, then runs nothing more', async () => {
    const rec = recorder(() => 50);
    scheduler = createScheduler({ plans: [plan('a/liveness', { intervalMs: 20 })], ...rec.options });
    scheduler.start();
    await waitFor(() => rec.count('a/liveness') === 1);
    await scheduler.stop();
    expect(rec.results).toHaveLength(1);
    expect(scheduler.stats().inFlight).toBe(0);
    // A running scheduler of the same interval shows the stopped one's slots going by: four of its
    // probes are the event to wait for.
    const control = recorder(() => 0);
    const running = createScheduler({ plans: [plan('b/liveness', { intervalMs: 20 })], ...control.options });
    running.start();
    try {
      await waitFor(() => control.count('b/liveness') >= 4);
    } finally {
      await running.stop();
    }
    expect(rec.count('a/liveness')).toBe(1);
  });

  it('gives a second stop() the same bounded wait, and can start again', async () => {
    const rec = recorder(() => 40);
    scheduler = createScheduler({ plans: [plan('a/liveness', { intervalMs: 20 })], ...rec.options });
    scheduler.start();
    await waitFor(() => rec.count('a/liveness') === 1);
    const first = scheduler.stop();
    expect(scheduler.stop()).toBe(first);
    await first;
    expect(rec.results).toHaveLength(1);
    scheduler.start();
    await waitFor(() => rec.count('a/liveness') >= 3);
    expect(scheduler.stats().started).toBeGreaterThanOrEqual(2);
  });

  it('reports a rejecting probe to onError and keeps the check scheduled', async () => {
    const failures: Array<{ id: string; error: unknown }> = [];
    let calls = 0;
    scheduler = createScheduler({
      plans: [plan('a/liveness', { intervalMs: 15 })],
      probe: async () => {
        calls++;
        throw new Error('bug');
      },
      onResult: () => false,
      onError: (p, error) => failures.push({ id: p.id, error }),
    });
    scheduler.start();
    await waitFor(() => calls >= 3);
    expect(failures[0]).toMatchObject({
      id: 'a/liveness',
      error: expect.objectContaining({ message: 'bug' }),
    });
    expect(scheduler.stats().errors).toBeGreaterThanOrEqual(2);
  });

  it('rejects non-positive concurrency limits and a negative or non-finite coalesceMs', () => {
    const rec = recorder();
    expect(() => createScheduler({ plans: [], ...rec.options, perTargetConcurrency: 0 })).toThrow(
      expect.objectContaining({ code: 'VIGIL_ERR_SCHEDULER_OPTIONS' }),
    );
    for (const coalesceMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createScheduler({ plans: [], ...rec.options, coalesceMs })).toThrow(
        expect.objectContaining({
          code: 'VIGIL_ERR_SCHEDULER_OPTIONS',
          message: expect.stringContaining('coalesceMs'),
        }),
      );
    }
  });
});
