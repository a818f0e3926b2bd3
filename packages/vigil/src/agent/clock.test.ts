import { describe, expect, it } from 'vitest';
import { clockOffset } from './clock.js';

describe('clockOffset (NTP, RFC 5905 section 8)', () => {
  it.each([
    // name, t0, t1, t2, t3, offset, delay
    ['same clocks, 20 ms each way', 1000, 1020, 1025, 1045, 0, 40],
    ['agent 1000 ms behind, 20 ms each way', 0, 1020, 1025, 45, 1000, 40],
    ['agent 500 ms ahead, 5 ms each way, hub took 90 ms', 10_500, 10_005, 10_095, 10_600, -500, 10],
    // 30 ms out, 10 ms back: the estimate errs by (30 − 10) / 2 = 10 ms, within ±δ/2 = ±20 ms.
    ['same clocks, asymmetric 30 ms out / 10 ms back', 0, 30, 30, 40, 10, 40],
  ])('%s', (_name, t0, t1, t2, t3, offsetMs, delayMs) => {
    expect(clockOffset({ t0, t1, t2, t3 })).toEqual({ offsetMs, delayMs });
  });

  it('does not count a one-way delay as clock error, as receive minus send would', () => {
    const times = { t0: 0, t1: 250, t2: 250, t3: 500 }; // same clocks, 250 ms each way
    expect(times.t1 - times.t0).toBe(250);
    expect(clockOffset(times).offsetMs).toBe(0);
  });
});
