import { describe, expect, it } from 'vitest';
import {
  adaptiveLatencyThresholds,
  classifyLatency,
  DEFAULT_ADAPTIVE_LATENCY,
  type EffectiveLatencyThresholds,
  type LatencyBasis,
  latencyProfile,
} from './latency.js';

/**
 * Request durations of a model that answers in `typicalMs` to `typicalMs · 1.1` (steady, as a model
 * server on its own hardware is): an irregular but deterministic spread.
 */
const durations = (typicalMs: number, n = 200) =>
  Array.from({ length: n }, (_, i) => typicalMs * (1 + 0.1 * ((i * 0.618034) % 1)));

const V1_MS = 100;
const v1 = durations(V1_MS);
const v2Slower40 = durations(V1_MS * 1.4);
const baselineOf = (values: number[]): LatencyBasis => ({
  kind: 'baseline',
  profile: latencyProfile(values) as NonNullable<ReturnType<typeof latencyProfile>>,
});
/** Outcomes of `probes` under `thresholds`, counted. */
const outcomes = (probes: number[], thresholds: EffectiveLatencyThresholds) => {
  const counts = { pass: 0, degraded: 0, fail: 0 };
  for (const ms of probes) counts[classifyLatency(ms, thresholds)]++;
  return counts;
};

describe('latencyProfile', () => {
  it('summarises durations with type-7 quantiles', () => {
    expect(latencyProfile([10, 20, 30, 40, 50])).toEqual({
      count: 5,
      p50Ms: 30,
      p95Ms: 48,
      p99Ms: 49.6,
      meanMs: 30,
      maxMs: 50,
    });
    expect(latencyProfile([])).toBeUndefined();
  });
});

describe('adaptive latency thresholds: the version-change case', () => {
  // A new version 40% slower than the old must not page; a version 3x slower than its own normal must.
  it.each([
    {
      name: 'v2, 40% slower, against its own baseline: every probe passes',
      basis: baselineOf(v2Slower40),
      probes: durations(V1_MS * 1.4, 100),
      expected: { pass: 100, degraded: 0, fail: 0 },
    },
    {
      name: 'v2, 40% slower, even against v1 baseline (before its own exists): every probe passes',
      basis: baselineOf(v1),
      probes: durations(V1_MS * 1.4, 100),
      expected: { pass: 100, degraded: 0, fail: 0 },
    },
    {
      name: 'v2 three times slower than its own baseline: every probe fails',
      basis: baselineOf(v2Slower40),
      probes: durations(V1_MS * 1.4 * 3, 100),
      expected: { pass: 0, degraded: 0, fail: 100 },
    },
    {
      name: 'v2, 40% slower, against its own probe history after warm-up: every probe passes',
      basis: { kind: 'history', durationsMs: [900, 700, 500, 400, 300, ...durations(V1_MS * 1.4, 60)] },
      probes: durations(V1_MS * 1.4, 100),
      expected: { pass: 100, degraded: 0, fail: 0 },
    },
    {
      name: 'v2 three times slower than its own probe history: every probe fails',
      basis: { kind: 'history', durationsMs: [900, 700, 500, 400, 300, ...durations(V1_MS * 1.4, 60)] },
      probes: durations(V1_MS * 1.4 * 3, 100),
      expected: { pass: 0, degraded: 0, fail: 100 },
    },
  ] as Array<{ name: string; basis: LatencyBasis; probes: number[]; expected: Record<string, number> }>)(
    '$name',
    ({ basis, probes, expected }) => {
      expect(outcomes(probes, adaptiveLatencyThresholds(basis))).toEqual(expected);
    },
  );

  it('is what hand-written thresholds tuned for v1 get wrong: they page for v2, 40% slower', () => {
    const handWritten = { degradedMs: 120, failedMs: 135 };
    const thresholds = adaptiveLatencyThresholds(baselineOf(v2Slower40), {}, handWritten);
    expect(thresholds.source).toEqual({ degradedMs: 'config', failedMs: 'config' });
    expect(outcomes(durations(V1_MS * 1.4, 100), thresholds).fail).toBe(100);
  });
});

describe('adaptiveLatencyThresholds', () => {
  const profile = { count: 200, p50Ms: 100, p95Ms: 110, p99Ms: 120, meanMs: 101, maxMs: 130 };

  it('scales the chosen quantile of a baseline by the factors', () => {
    expect(adaptiveLatencyThresholds({ kind: 'baseline', profile })).toEqual({
      degradedMs: 180,
      failedMs: 240,
      basisMs: 120,
      samples: 200,
      source: { degradedMs: 'baseline', failedMs: 'baseline' },
    });
    expect(
      adaptiveLatencyThresholds(
        { kind: 'baseline', profile },
        { quantile: 0.5, factor: { degraded: 2, failed: 4 } },
      ),
    ).toMatchObject({
      degradedMs: 200,
      failedMs: 400,
    });
  });

  it('puts degraded halfway between 1 and a single factor', () => {
    expect(adaptiveLatencyThresholds({ kind: 'baseline', profile }, { factor: 3 })).toMatchObject({
      degradedMs: 240,
      failedMs: 360,
    });
  });

  it('never scales less than the floor, so a 2 ms model is not degraded by jitter', () => {
    const fast = { ...profile, p50Ms: 1, p95Ms: 1.5, p99Ms: 2, maxMs: 3 };
    expect(adaptiveLatencyThresholds({ kind: 'baseline', profile: fast })).toMatchObject({
      basisMs: DEFAULT_ADAPTIVE_LATENCY.floorMs,
      degradedMs: 30,
      failedMs: 40,
    });
  });

  it('lets a hand-written value win, each on its own', () => {
    expect(adaptiveLatencyThresholds({ kind: 'baseline', profile }, {}, { failedMs: 500 })).toMatchObject({
      degradedMs: 180,
      failedMs: 500,
      source: { degradedMs: 'baseline', failedMs: 'config' },
    });
  });

  it('skips the warm-up of a history and needs minSamples after it', () => {
    const history = [5000, 4000, 3000, 2000, 1000, ...new Array(19).fill(100)];
    expect(adaptiveLatencyThresholds({ kind: 'history', durationsMs: history })).toEqual({
      source: { degradedMs: 'none', failedMs: 'none' },
    });
    const enough = [...history, 100];
    expect(adaptiveLatencyThresholds({ kind: 'history', durationsMs: enough })).toMatchObject({
      basisMs: 100,
      samples: 20,
      degradedMs: 150,
      failedMs: 200,
      source: { degradedMs: 'history', failedMs: 'history' },
    });
  });

  it('gives no thresholds without a basis, unless written by hand', () => {
    expect(adaptiveLatencyThresholds(undefined)).toEqual({
      source: { degradedMs: 'none', failedMs: 'none' },
    });
    expect(adaptiveLatencyThresholds(undefined, {}, { degradedMs: 150 })).toEqual({
      degradedMs: 150,
      source: { degradedMs: 'config', failedMs: 'none' },
    });
  });

  it.each([
    [
      { kind: 'baseline', profile },
      { quantile: 0.9 },
      "a baseline's latency profile has p50, p95 and p99; quantile 0.9 needs probe history",
    ],
    [undefined, { quantile: 0 }, 'adaptive latency quantile must be in (0, 1], got 0'],
    [
      undefined,
      { factor: { degraded: 0.9 } },
      'adaptive latency factors must be finite with 1 < degraded ≤ failed, got degraded 0.9, failed 2',
    ],
    [
      undefined,
      { factor: { degraded: 3, failed: 2 } },
      'adaptive latency factors must be finite with 1 < degraded ≤ failed, got degraded 3, failed 2',
    ],
    [undefined, { floorMs: -1 }, 'adaptive latency floor must be ≥ 0 ms, got -1'],
    [undefined, { minSamples: 0 }, 'adaptive latency minSamples must be an integer ≥ 1, got 0'],
    [undefined, { warmup: 1.5 }, 'adaptive latency warmup must be an integer ≥ 0, got 1.5'],
  ] as const)('refuses %j with %j', (basis, options, message) => {
    expect(() => adaptiveLatencyThresholds(basis as LatencyBasis | undefined, options)).toThrow(
      expect.objectContaining({ code: 'VIGIL_ERR_CANARY_OPTIONS', message }),
    );
  });
});

describe('classifyLatency', () => {
  it.each([
    [99, 'pass'],
    [100, 'degraded'],
    [199, 'degraded'],
    [200, 'fail'],
  ] as const)('%i ms against degraded 100 / failed 200 is %s', (ms, outcome) => {
    expect(classifyLatency(ms, { degradedMs: 100, failedMs: 200 })).toBe(outcome);
  });
});
