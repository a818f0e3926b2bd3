import { describe, expect, it } from 'vitest';
import {
  jensenShannonDistance,
  ksTwoSample,
  PSI_EMPTY_SHARE,
  populationStabilityIndex,
  predictionFactor,
  psiBand,
  quantile,
  spreadOf,
} from './statistics.js';

/** A deterministic, irregular sample: the fractional parts of i·step, scaled. */
const frac = (n: number, step: number, scale = 1) =>
  Array.from({ length: n }, (_, i) => ((i * step) % 1) * scale);
const evenly = (n: number) => Array.from({ length: n }, (_, i) => i / (n - 1));

describe('ksTwoSample', () => {
  // Reference values from SciPy 1.17 (scipy.stats.ks_2samp, method="exact"; the asymptotic row from
  // scipy.stats.kstwobign.sf(D·√(mn/(m+n))), the limit R's ks.test uses when exact = FALSE).
  it.each([
    [
      'small samples',
      [0.1, 0.4, 0.7, 0.2, 0.9, 0.35],
      [0.5, 0.8, 0.95, 0.6, 0.45, 0.85, 0.99],
      0.6666666666666666,
      0.0909090909090909,
      'exact',
    ],
    [
      'a shift by 0.3 of 16 values',
      evenly(16),
      evenly(16).map((v) => v + 0.3),
      0.3125,
      0.42629346134549484,
      'exact',
    ],
    [
      '50 against 60 values',
      frac(50, 0.37),
      frac(60, 0.61, 1.2),
      0.18333333333333332,
      0.28184558786080144,
      'exact',
    ],
    [
      '120 against 100 values',
      frac(120, 0.37),
      frac(100, 0.61, 1.2),
      0.17333333333333334,
      0.07543512643244146,
      'asymptotic',
    ],
  ] as const)('matches SciPy for %s', (_, x, y, d, p, method) => {
    const result = ksTwoSample(x, y);
    expect(result.method).toBe(method);
    expect(result.d).toBeCloseTo(d, 12);
    expect(result.pValue).toBeCloseTo(p, 10);
  });

  it('gives D = 0 and p = 1 for the same sample, and a tiny p for disjoint ones', () => {
    expect(ksTwoSample(evenly(16), evenly(16))).toEqual({ d: 0, pValue: 1, method: 'exact' });
    const disjoint = ksTwoSample(
      evenly(16),
      evenly(16).map((v) => v + 2),
    );
    expect(disjoint.d).toBe(1);
    // 2 / C(32, 16): only the two extreme orderings are that far apart.
    expect(disjoint.pValue).toBeCloseTo(2 / 601080390, 15);
  });

  it('refuses an empty sample', () => {
    expect(() => ksTwoSample([], [1])).toThrow(RangeError);
  });
});

describe('jensenShannonDistance', () => {
  const counts = (entries: Record<string, number>) => new Map(Object.entries(entries));

  it.each([
    // SciPy: scipy.spatial.distance.jensenshannon([5, 3, 0], [2, 2, 4]) (natural logarithm).
    ['two different distributions', { a: 5, b: 3 }, { a: 2, b: 2, c: 4 }, 0.4702000527578688],
    ['the same shares at different totals', { a: 1, b: 3 }, { a: 4, b: 12 }, 0],
    ['disjoint categories (the maximum, √ln 2)', { a: 3 }, { b: 5 }, Math.sqrt(Math.LN2)],
    ['one flip in 16', { repay: 8, default: 8 }, { repay: 9, default: 7 }, 0.04429546348102702],
  ])('of %s', (_, p, q, expected) => {
    expect(jensenShannonDistance(counts(p), counts(q))).toBeCloseTo(expected, 7);
  });
});

describe('populationStabilityIndex', () => {
  it('is 0 for the same values and grows with the shift', () => {
    const base = evenly(40);
    expect(populationStabilityIndex(base, base)).toEqual({ psi: 0, bins: 8 });
    const small = populationStabilityIndex(
      base,
      base.map((v) => v + 0.02),
    );
    const large = populationStabilityIndex(
      base,
      base.map((v) => v + 0.3),
    );
    expect(small?.psi).toBeLessThan(0.1);
    expect(large?.psi).toBeGreaterThan(0.25);
  });

  it('does not move when every value moves by less than half the gap to its neighbour', () => {
    const base = evenly(20);
    expect(
      populationStabilityIndex(
        base,
        base.map((v, i) => v + (i % 2 ? 1 : -1) * 0.02),
      )?.psi,
    ).toBe(0);
  });

  it('computes Σ (c − b) · ln(c / b) over the bins, an empty bin counting as 1e-4', () => {
    // 10 values in 2 bins of 5 (edge 0.5 between 0.4 and 0.6); all current values in the upper bin.
    const base = [0, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7, 0.8, 0.9, 1];
    const expected =
      (PSI_EMPTY_SHARE - 0.5) * Math.log(PSI_EMPTY_SHARE / 0.5) + (1 - 0.5) * Math.log(1 / 0.5);
    expect(populationStabilityIndex(base, [0.7, 0.8, 0.9])).toEqual({ psi: expected, bins: 2 });
  });

  it('gives no value for fewer than 10 baseline values or a constant baseline', () => {
    expect(populationStabilityIndex(evenly(9), evenly(9))).toBeUndefined();
    expect(populationStabilityIndex(new Array(20).fill(0.5), evenly(20))).toBeUndefined();
    expect(populationStabilityIndex(evenly(20), [])).toBeUndefined();
  });

  it.each([
    [0, 'stable'],
    [0.099, 'stable'],
    [0.1, 'moderate'],
    [0.249, 'moderate'],
    [0.25, 'significant'],
  ] as const)('puts %s in the %s band', (psi, band) => {
    expect(psiBand(psi)).toBe(band);
  });
});

describe('predictionFactor', () => {
  // SciPy: scipy.stats.t.ppf(1 − α/(2m), n − 1) · √(1 + 1/n).
  it.each([
    [5, 0.05, 1, 2.7764451051977934 * Math.sqrt(1.2)],
    [5, 0.01, 64, 13.879125684948173 * Math.sqrt(1.2)],
    [30, 0.01, 1, 2.756385903670605 * Math.sqrt(1 + 1 / 30)],
  ])('is t · √(1 + 1/n) for %i repeats, α %s, %i comparisons', (n, alpha, m, expected) => {
    expect(predictionFactor(n, alpha, m)).toBeCloseTo(expected, 6);
  });

  it('is undefined below two repeats', () => {
    expect(predictionFactor(1, 0.01, 1)).toBeUndefined();
  });
});

describe('spreadOf and quantile', () => {
  it('keeps the mean within [min, max] and uses the sample standard deviation', () => {
    expect(spreadOf([0.1, 0.1, 0.1])).toEqual({ min: 0.1, max: 0.1, mean: 0.1, std: 0 });
    expect(spreadOf([1, 2, 3, 4])).toEqual({ min: 1, max: 4, mean: 2.5, std: Math.sqrt(5 / 3) });
    expect(spreadOf([7])).toEqual({ min: 7, max: 7, mean: 7, std: 0 });
  });

  it('interpolates quantiles linearly (type 7)', () => {
    expect(quantile([4, 1, 3, 2], 0.5)).toBe(2.5);
    expect(
      quantile(
        evenly(101).map((v) => v * 100),
        0.99,
      ),
    ).toBeCloseTo(99, 10);
  });
});
