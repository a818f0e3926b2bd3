import { describe, expect, it } from 'vitest';
import { initialState } from '../evaluate/index.js';
import type { CheckPlan } from '../types.js';
import { RECENT_DURATIONS } from './types.js';
import { checkStatusOf, RecentDurations } from './views.js';

describe('RecentDurations', () => {
  it('keeps the last RECENT_DURATIONS values, oldest first, rounded to 0.1 ms', () => {
    const ring = new RecentDurations();
    expect(ring.values()).toEqual([]);
    ring.push(1.26);
    ring.push(2);
    expect(ring.values()).toEqual([1.3, 2]);
    for (let i = 0; i < RECENT_DURATIONS + 5; i++) ring.push(i);
    const values = ring.values();
    expect(values).toHaveLength(RECENT_DURATIONS);
    expect(values[0]).toBe(5);
    expect(values.at(-1)).toBe(RECENT_DURATIONS + 4);
  });
});

describe('checkStatusOf', () => {
  const plan = (model?: string): CheckPlan => ({
    id: 'scorer/integrity',
    target: {
      name: 'scorer',
      url: 'http://127.0.0.1:1',
      protocol: 'oip-v2',
      labels: { team: 'risk' },
      headers: {},
      maxBodyBytes: 1 << 20,
      maxRedirects: 0,
      ...(model === undefined ? {} : { model }),
    },
    kind: 'integrity',
    intervalMs: 1000,
    timeoutMs: 1000,
    failureThreshold: 3,
    successThreshold: 1,
    fastIntervalMs: null,
    initialDelayMs: 0,
    expect: {},
  });

  it("shows the state with the plan's names, the model and the last reported model version", () => {
    const state = {
      ...initialState('scorer/integrity', 'eu', 5),
      consecutiveFailures: 2,
      state: 'pending' as const,
    };
    expect(checkStatusOf(plan(), state)).toEqual({
      checkId: 'scorer/integrity',
      target: 'scorer',
      check: 'integrity',
      region: 'eu',
      state: 'pending',
      since: 5,
      flapping: false,
      consecutiveFailures: 2,
      labels: { team: 'risk' },
      lastResult: null,
    });
    const lastResult = {
      checkId: 'scorer/integrity',
      target: 'scorer',
      check: 'integrity' as const,
      region: 'eu',
      startedAt: 6,
      durationMs: 1,
      phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 1, transferMs: 0 },
      outcome: 'pass' as const,
      failures: [],
      modelVersion: '3',
    };
    expect(checkStatusOf(plan('credit-scorer'), { ...state, lastResult })).toMatchObject({
      model: 'credit-scorer',
      modelVersion: '3',
      lastResult,
    });
  });
});
