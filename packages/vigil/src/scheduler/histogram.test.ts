import { describe, expect, it } from 'vitest';
import { LagHistogram } from './histogram.js';

describe('LagHistogram', () => {
  it('reports percentiles within one bucket (~9 %) above the true value, and the exact max', () => {
    const h = new LagHistogram();
    for (let v = 1; v <= 1000; v++) h.record(v);
    const s = h.snapshot();
    expect(s.count).toBe(1000);
    expect(s.meanMs).toBeCloseTo(500.5, 6);
    expect(s.maxMs).toBe(1000);
    for (const [p, exact] of [
      [s.p50Ms, 500],
      [s.p90Ms, 900],
      [s.p99Ms, 990],
    ] as const) {
      expect(p).toBeGreaterThanOrEqual(exact);
      expect(p).toBeLessThanOrEqual(exact * 1.0905);
    }
  });

  it('reports zeros when empty and 0 for lags at or below zero', () => {
    const h = new LagHistogram();
    expect(h.snapshot()).toEqual({ count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 });
    h.record(0);
    h.record(-3);
    expect(h.snapshot()).toMatchObject({ count: 2, p99Ms: 0, maxMs: 0 });
  });

  it('puts huge lags in the last bucket without losing the max', () => {
    const h = new LagHistogram();
    h.record(1e9);
    expect(h.snapshot()).toMatchObject({ count: 1, maxMs: 1e9, p50Ms: 1e9 });
    h.reset();
    expect(h.snapshot().count).toBe(0);
  });
});
