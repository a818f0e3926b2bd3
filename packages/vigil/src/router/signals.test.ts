import { describe, expect, it } from 'vitest';
import {
  HEDGE_BURST,
  HedgeBudget,
  LatencyWindow,
  MAX_EJECTION_MS,
  MIN_WINDOW_SAMPLES,
  OutlierDetector,
} from './signals.js';

describe('LatencyWindow', () => {
  it('gives no p95 below the minimum sample count, then the nearest-rank p95', () => {
    const w = new LatencyWindow(10_000);
    for (let i = 1; i < MIN_WINDOW_SAMPLES; i++) w.record(i, i);
    expect(w.quantile(100, 0.95)).toBeUndefined();
    const v = new LatencyWindow(10_000);
    for (let i = 1; i <= 100; i++) v.record(1000 + i, i);
    expect(v.quantile(1100, 0.95)).toBe(95);
    expect(v.quantile(1100, 0.5)).toBe(50);
  });

  it('forgets samples older than the window', () => {
    const w = new LatencyWindow(1000);
    for (let i = 0; i < 20; i++) w.record(0, 500);
    for (let i = 0; i < 20; i++) w.record(1500, 20);
    expect(w.size(2000)).toBe(20);
    expect(w.quantile(2000, 0.95)).toBe(20);
    expect(w.quantile(3000, 0.95)).toBeUndefined();
  });

  it('keeps the most recent samples when over capacity', () => {
    const w = new LatencyWindow(60_000, 16);
    for (let i = 0; i < 16; i++) w.record(i, 1000);
    for (let i = 0; i < 16; i++) w.record(100 + i, 10);
    expect(w.quantile(200, 0.95)).toBe(10);
  });

  it('moves the EWMA towards new latencies by elapsed time, and clears', () => {
    const w = new LatencyWindow(4000);
    w.record(0, 10);
    expect(w.ewma()).toBe(10);
    w.record(1000, 110); // one time constant: 1 − e⁻¹ of the way
    expect(w.ewma()).toBeCloseTo(10 + 100 * (1 - Math.exp(-1)), 6);
    w.clear();
    expect(w.ewma()).toBeUndefined();
    expect(w.size(1000)).toBe(0);
  });
});

describe('OutlierDetector', () => {
  const always = () => true;

  it('ejects after 5 consecutive failures for baseEjection, and a success restarts the count', () => {
    const o = new OutlierDetector({ consecutive5xx: 5, baseEjectionMs: 30_000 });
    for (let i = 0; i < 4; i++) expect(o.onFailure(i, always)).toBeUndefined();
    o.onSuccess();
    for (let i = 0; i < 4; i++) expect(o.onFailure(10 + i, always)).toBeUndefined();
    expect(o.onFailure(20, always)).toBe(30_000);
    expect(o.isEjected(20 + 29_999)).toBe(true);
    expect(o.isEjected(20 + 30_000)).toBe(false);
  });

  it('ejects for base × n when ejected again soon, up to 300 s, and the multiplier decays while it serves', () => {
    const o = new OutlierDetector({ consecutive5xx: 1, baseEjectionMs: 100_000 });
    expect(o.onFailure(0, always)).toBe(100_000);
    o.isEjected(100_000);
    expect(o.onFailure(100_001, always)).toBe(200_000);
    o.isEjected(300_001);
    expect(o.onFailure(300_002, always)).toBe(MAX_EJECTION_MS);
    o.isEjected(600_002);
    // Served 2 × baseEjection without an ejection: the multiplier drops from 3 to 1, so the next is ×2.
    expect(o.onFailure(800_002, always)).toBe(200_000);
  });

  it('stays in service when the cap says no, and keeps counting', () => {
    const o = new OutlierDetector({ consecutive5xx: 2, baseEjectionMs: 1000 });
    o.onFailure(0, () => false);
    expect(o.onFailure(1, () => false)).toBeUndefined();
    expect(o.isEjected(2)).toBe(false);
    expect(o.failuresInARow).toBe(2);
    expect(o.onFailure(3, always)).toBe(1000);
  });
});

describe('HedgeBudget', () => {
  it('never allows more hedges than share × requests', () => {
    const b = new HedgeBudget(0.1);
    let hedges = 0;
    for (let requests = 1; requests <= 1000; requests++) {
      b.onRequest();
      if (b.take()) hedges++;
      expect(hedges).toBeLessThanOrEqual(0.1 * requests + 1e-9);
    }
    expect(hedges).toBe(100);
  });

  it('saves at most a burst of tokens, and 0 disables hedging', () => {
    const b = new HedgeBudget(0.5);
    for (let i = 0; i < 1000; i++) b.onRequest();
    expect(b.available).toBe(HEDGE_BURST);
    const none = new HedgeBudget(0);
    for (let i = 0; i < 1000; i++) none.onRequest();
    expect(none.take()).toBe(false);
  });
});
