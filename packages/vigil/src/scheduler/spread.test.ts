import { describe, expect, it } from 'vitest';
import { hashCheckId, spreadOffsetMs } from './spread.js';

describe('spreadOffsetMs', () => {
  it('spreads 1,000 checks at 10 s evenly: no 100 ms bucket holds more than 3× the mean', () => {
    const intervalMs = 10_000;
    const buckets = new Array<number>(100).fill(0);
    const kinds = ['liveness', 'readiness', 'integrity', 'canary'];
    for (let i = 0; i < 1000; i++) {
      const offset = spreadOffsetMs(`model-${Math.floor(i / 4)}/${kinds[i % 4]}`, intervalMs);
      expect(offset).toBeGreaterThanOrEqual(0);
      expect(offset).toBeLessThan(intervalMs);
      const b = Math.floor(offset / 100);
      buckets[b] = (buckets[b] ?? 0) + 1;
    }
    // Mean 10 per bucket.
    expect(Math.max(...buckets)).toBeLessThanOrEqual(30);
    expect(buckets.filter((n) => n === 0).length).toBeLessThan(5);
  });

  it('is deterministic, whole milliseconds, and 0 for sub-millisecond intervals', () => {
    expect(spreadOffsetMs('a/liveness', 10_000)).toBe(spreadOffsetMs('a/liveness', 10_000));
    expect(Number.isInteger(spreadOffsetMs('a/liveness', 10_000.5))).toBe(true);
    expect(spreadOffsetMs('a/liveness', 0.5)).toBe(0);
    expect(hashCheckId('a/liveness')).not.toBe(hashCheckId('b/liveness'));
    expect(hashCheckId('')).toBe(hashCheckId(''));
  });
});
