/**
 * The statistics a canary uses: descriptive ones and quantiles (simple-statistics), Student's t
 * quantile (jStat), and the drift statistics that no maintained JavaScript library offers, each
 * written from its published formula: the Population Stability Index, the two-sample
 * Kolmogorov–Smirnov test, and the Jensen–Shannon distance.
 */
import jStat from 'jstat';
import { max, mean, min, quantileSorted, sampleStandardDeviation } from 'simple-statistics';

/** min, max, mean and sample standard deviation (n − 1; 0 for one value) of finite numbers. */
export interface Spread {
  min: number;
  max: number;
  mean: number;
  std: number;
}

/**
 * The {@link Spread} of a non-empty list of finite numbers. The mean is kept within [min, max] (the
 * mean of three 0.1s is 0.10000000000000002 in binary floating point), and equal values have std 0.
 */
export function spreadOf(values: readonly number[]): Spread {
  const list = values as number[];
  const lo = min(list);
  const hi = max(list);
  return {
    min: lo,
    max: hi,
    mean: Math.min(hi, Math.max(lo, mean(list))),
    // Equal values have no spread, whatever rounding in the mean says.
    std: list.length > 1 && lo !== hi ? sampleStandardDeviation(list) : 0,
  };
}

/**
 * The `p` quantile of a non-empty list, by linear interpolation between order statistics (Hyndman
 * and Fan's type 7, the default of R and NumPy; simple-statistics' `quantileSorted`).
 */
export function quantile(values: readonly number[], p: number): number {
  return quantileSorted(
    [...values].sort((a, b) => a - b),
    p,
  );
}

/**
 * Half-width factor of a two-sided prediction interval for one new observation from a normal
 * sample of `n` repeats, with family-wise false-alarm rate `alpha` over `comparisons` such intervals
 * (Bonferroni): `t(1 − alpha / (2·comparisons), n − 1) · √(1 + 1/n)`, the interval
 * `mean ± factor · s` (Hahn and Meeker, *Statistical Intervals*, 1991, §4.3; NIST/SEMATECH
 * e-Handbook of Statistical Methods, §7.2.2). Undefined for fewer than two repeats (no spread).
 *
 * @example predictionFactor(5, 0.01, 64) // ≈ 15.2: five repeats tell little about the spread
 */
export function predictionFactor(n: number, alpha: number, comparisons: number): number | undefined {
  if (n < 2) return undefined;
  const p = 1 - alpha / (2 * Math.max(1, comparisons));
  return jStat.studentt.inv(p, n - 1) * Math.sqrt(1 + 1 / n);
}

// ---------------------------------------------------------------------------------------------
// Population Stability Index

/** PSI bands of credit-risk practice (Siddiqi, *Credit Risk Scorecards*, 2006; also Evidently's and NannyML's). */
export const PSI_BANDS = {
  /** Below: no significant change. */
  moderate: 0.1,
  /** At or over: a significant shift. Between the two: a moderate change worth a look. */
  significant: 0.25,
} as const;

/** Which `PSI_BANDS` band a PSI value falls in. */
export type PsiBand = 'stable' | 'moderate' | 'significant';

/** The band of a PSI value. */
export function psiBand(psi: number): PsiBand {
  if (psi >= PSI_BANDS.significant) return 'significant';
  return psi >= PSI_BANDS.moderate ? 'moderate' : 'stable';
}

/** Stand-in for an empty bin's share, so that its log term stays finite (Evidently's value). */
export const PSI_EMPTY_SHARE = 1e-4;

/** A PSI value and the bins it was computed over. */
export interface PsiResult {
  psi: number;
  bins: number;
}

/**
 * Population Stability Index of `current` against `baseline`:
 * `PSI = Σ_bins (c_i − b_i) · ln(c_i / b_i)`, with `b_i`, `c_i` each sample's share in bin `i` and an
 * empty bin's share taken as {@link PSI_EMPTY_SHARE} (Yurdakul, *Statistical Properties of Population
 * Stability Index*, 2018; Siddiqi 2006).
 *
 * Bins are quantile bins of the baseline (deciles when it is large enough), with each edge halfway
 * between two neighbouring baseline values so that no baseline value sits on an edge (a model's own
 * tiny noise then does not move values across one). Small samples get fewer bins, at least 5 baseline
 * values each on average (`bins = min(10, floor(n / 5))`), since PSI over near-empty bins is noise.
 *
 * @returns undefined when the baseline has fewer than 10 values or fewer than 2 distinct ones (no bins)
 * @example populationStabilityIndex(base, base.map((x) => x + 0.3)) // {psi: 3.1, bins: 3}
 */
export function populationStabilityIndex(
  baseline: readonly number[],
  current: readonly number[],
): PsiResult | undefined {
  const sorted = [...baseline].sort((a, b) => a - b);
  const n = sorted.length;
  const wanted = Math.min(10, Math.floor(n / 5));
  if (wanted < 2 || current.length === 0) return undefined;
  const edges: number[] = [];
  for (let k = 1; k < wanted; k++) {
    const i = Math.round((k * n) / wanted);
    const lower = sorted[i - 1] as number;
    const upper = sorted[i] as number;
    if (lower === upper) continue;
    const edge = lower + (upper - lower) / 2;
    if (edges.at(-1) !== edge) edges.push(edge);
  }
  if (edges.length === 0) return undefined;
  const share = (values: readonly number[]): number[] => {
    const counts = new Array<number>(edges.length + 1).fill(0);
    for (const v of values) {
      let bin = 0;
      while (bin < edges.length && v > (edges[bin] as number)) bin++;
      counts[bin] = (counts[bin] as number) + 1;
    }
    return counts.map((c) => (c === 0 ? PSI_EMPTY_SHARE : c / values.length));
  };
  const b = share(sorted);
  const c = share(current);
  let psi = 0;
  for (let i = 0; i < b.length; i++) {
    const bi = b[i] as number;
    const ci = c[i] as number;
    psi += (ci - bi) * Math.log(ci / bi);
  }
  return { psi, bins: b.length };
}

// ---------------------------------------------------------------------------------------------
// Two-sample Kolmogorov–Smirnov

/** The two-sample KS statistic and its two-sided p-value. */
export interface KsResult {
  /** `D = sup_x |F_x(x) − F_y(x)|`, the largest gap between the two empirical CDFs. */
  d: number;
  pValue: number;
  /** `exact` for `m·n` below {@link KS_EXACT_LIMIT}, else `asymptotic`. */
  method: 'exact' | 'asymptotic';
}

/** Below this `m·n` the p-value is exact (R's `ks.test` and SciPy's `ks_2samp` use the same limit). */
export const KS_EXACT_LIMIT = 10_000;

/**
 * Two-sample, two-sided Kolmogorov–Smirnov test (Smirnov 1939): is it plausible that `x` and `y`
 * come from one distribution?
 *
 * The p-value `P(D ≥ d)` under that hypothesis is exact for `m·n <` {@link KS_EXACT_LIMIT}: one minus
 * the share of the `C(m+n, m)` monotone lattice paths from (0, 0) to (m, n) that stay within
 * `|i/m − j/n| < d` (Hodges, *The significance probability of the Smirnov two-sample test*, 1958; the
 * method of R's `psmirnov`), counted row by row with each row scaled by the binomial coefficient so no
 * count overflows. Larger samples use Kolmogorov's limit distribution
 * `Q(λ) = 2 Σ_{k≥1} (−1)^{k−1} e^{−2k²λ²}` at `λ = d·√(mn/(m+n))` (Kolmogorov 1933; Smirnov 1948).
 * Ties make the exact p-value conservative (too large), as in R before 4.3.
 *
 * @throws RangeError when either sample is empty (a bug: callers test sizes first)
 * @example ksTwoSample([0.1, 0.4, 0.7, 0.2, 0.9, 0.35], [0.5, 0.8, 0.95, 0.6, 0.45, 0.85, 0.99])
 * // {d: 0.667, pValue: 0.0909, method: 'exact'} (SciPy's ks_2samp gives the same)
 */
export function ksTwoSample(x: readonly number[], y: readonly number[]): KsResult {
  if (x.length === 0 || y.length === 0) throw new RangeError('ksTwoSample needs two non-empty samples');
  const a = [...x].sort((p, q) => p - q);
  const b = [...y].sort((p, q) => p - q);
  const m = a.length;
  const n = b.length;
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < m && j < n) {
    const v = Math.min(a[i] as number, b[j] as number);
    while (i < m && (a[i] as number) <= v) i++;
    while (j < n && (b[j] as number) <= v) j++;
    d = Math.max(d, Math.abs(i / m - j / n));
  }
  if (d === 0) return { d, pValue: 1, method: m * n < KS_EXACT_LIMIT ? 'exact' : 'asymptotic' };
  if (m * n < KS_EXACT_LIMIT) return { d, pValue: clamp01(1 - smirnovInside(d, m, n)), method: 'exact' };
  return { d, pValue: clamp01(kolmogorovQ(d * Math.sqrt((m * n) / (m + n)))), method: 'asymptotic' };
}

const clamp01 = (p: number) => Math.min(1, Math.max(0, p));

/**
 * `P(D < d)` for samples of sizes m and n: the share of lattice paths from (0, 0) to (m, n) whose
 * every point (i, j) has `|i/m − j/n| < d`. Paths to (i, j) are the paths to (i − 1, j) plus those to
 * (i, j − 1); `u[j]` holds that count for the current row i scaled by `i!·n!/(i + n)!`, so stepping to
 * row i multiplies the row above by `i / (i + n)` and `u[n]` ends as paths / C(m + n, m).
 */
function smirnovInside(d: number, m: number, n: number): number {
  // D only takes values k/lcm(m, n); compare against a point just below d on that grid, so that
  // floating-point error in i/m − j/n never counts a path at exactly d as inside.
  const q = (0.5 + Math.floor(d * m * n - 1e-7)) / (m * n);
  const u = new Array<number>(n + 1);
  for (let c = 0; c <= n; c++) u[c] = c / n > q ? 0 : 1;
  for (let r = 1; r <= m; r++) {
    const w = r / (r + n);
    u[0] = r / m > q ? 0 : w * (u[0] as number);
    for (let c = 1; c <= n; c++) {
      u[c] = Math.abs(r / m - c / n) > q ? 0 : w * (u[c] as number) + (u[c - 1] as number);
    }
  }
  return u[n] as number;
}

/** Kolmogorov's limiting survival function `Q(λ) = 2 Σ (−1)^{k−1} e^{−2k²λ²}`; 1 for tiny λ. */
function kolmogorovQ(lambda: number): number {
  if (lambda < 0.2) return 1; // the series converges slowly there and Q is 1 to 15 digits anyway
  let sum = 0;
  for (let k = 1; k <= 100; k++) {
    const term = Math.exp(-2 * k * k * lambda * lambda);
    sum += (k % 2 === 1 ? 1 : -1) * term;
    if (term < 1e-16) break;
  }
  return 2 * sum;
}

// ---------------------------------------------------------------------------------------------
// Jensen–Shannon distance

/**
 * Jensen–Shannon distance between two categorical samples given as counts per category:
 * `sqrt(JSD(P, Q))` with `JSD = ½ KL(P ‖ M) + ½ KL(Q ‖ M)`, `M = ½ (P + Q)`, natural logarithm (Lin,
 * *Divergence measures based on the Shannon entropy*, 1991). The same value as SciPy's
 * `scipy.spatial.distance.jensenshannon` at its default base e, which Evidently's drift test uses with
 * the bound 0.1; it lies in [0, √ln 2 ≈ 0.833].
 *
 * @example jensenShannonDistance(new Map([['a', 5], ['b', 3]]), new Map([['a', 2], ['b', 2], ['c', 4]])) // 0.470
 */
export function jensenShannonDistance(
  p: ReadonlyMap<string, number>,
  q: ReadonlyMap<string, number>,
): number {
  const total = (counts: ReadonlyMap<string, number>) => [...counts.values()].reduce((s, c) => s + c, 0);
  const tp = total(p);
  const tq = total(q);
  if (tp === 0 || tq === 0) return tp === tq ? 0 : Math.sqrt(Math.LN2);
  let jsd = 0;
  for (const key of new Set([...p.keys(), ...q.keys()])) {
    const pi = (p.get(key) ?? 0) / tp;
    const qi = (q.get(key) ?? 0) / tq;
    const mi = (pi + qi) / 2;
    if (pi > 0) jsd += 0.5 * pi * Math.log(pi / mi);
    if (qi > 0) jsd += 0.5 * qi * Math.log(qi / mi);
  }
  return Math.sqrt(Math.max(0, jsd));
}
