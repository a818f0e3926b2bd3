/**
 * Latency profiles and adaptive latency thresholds: thresholds that follow the model version, from
 * its baseline's latency profile or from its own recent healthy probes, so that a new, inherently
 * slower version does not page while a version much slower than its own normal still does.
 */
import { VigilError } from '../errors.js';
import { quantile, spreadOf } from './statistics.js';

/** Request durations of a known-good version, after warm-up, in ms. */
export interface LatencyProfile {
  /** How many durations it summarises. */
  count: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  meanMs: number;
  maxMs: number;
}

/**
 * The profile of a list of durations in ms (quantiles by linear interpolation, type 7); undefined for
 * an empty list.
 */
export function latencyProfile(durationsMs: readonly number[]): LatencyProfile | undefined {
  if (durationsMs.length === 0) return undefined;
  const spread = spreadOf(durationsMs);
  return {
    count: durationsMs.length,
    p50Ms: quantile(durationsMs, 0.5),
    p95Ms: quantile(durationsMs, 0.95),
    p99Ms: quantile(durationsMs, 0.99),
    meanMs: spread.mean,
    maxMs: spread.max,
  };
}

/** How adaptive thresholds are derived (`latency: {adaptive: {quantile, factor, floor}}` in a check). */
export interface AdaptiveLatencyOptions {
  /**
   * The quantile of the version's latency the thresholds scale. From a baseline: 0.5, 0.95 or 0.99
   * (what a profile records); from probe history: any in (0, 1]. Default 0.99.
   */
  quantile?: number;
  /**
   * Multipliers of that quantile: `degraded` at `degraded × q`, failed at `failed × q`. Default
   * {@link DEFAULT_ADAPTIVE_LATENCY}: 1.5 and 2. A single number sets `failed`, with `degraded` halfway
   * between 1 and it.
   */
  factor?: number | { degraded?: number; failed?: number };
  /**
   * Lower bound of the quantile in ms, default 20: for a model that answers in 2 ms, scheduling and
   * network jitter would otherwise cross 1.5 × p99 on every busy second.
   */
  floorMs?: number;
  /** Fewest durations, after warm-up, that probe history needs before it gives thresholds. Default 20. */
  minSamples?: number;
  /** Leading durations of a version's history to skip as its warm-up (JIT, caches, lazy loading). Default 5. */
  warmup?: number;
}

/**
 * Defaults of {@link AdaptiveLatencyOptions}. With them, a version whose latencies are all 40% above
 * its predecessor's stays under `degraded` even against the predecessor's own profile (1.4 × p50 <
 * 1.5 × p99), and a version three times slower than its own baseline crosses `failed` (3 × p50 ≥
 * 2 × p99 whenever its p99 is at most 1.5 × its p50, as for a model that answers steadily).
 */
export const DEFAULT_ADAPTIVE_LATENCY = {
  quantile: 0.99,
  factor: { degraded: 1.5, failed: 2 },
  floorMs: 20,
  minSamples: 20,
  warmup: 5,
} as const;

/** Where the thresholds come from. */
export type LatencyBasis =
  /** A baseline of the version now served. */
  | { kind: 'baseline'; profile: LatencyProfile }
  /** The durations of the version's last healthy probes, oldest first, from its first probe on. */
  | { kind: 'history'; durationsMs: readonly number[] };

/** Which source set one threshold. */
export type ThresholdSource = 'config' | 'baseline' | 'history' | 'none';

/** The thresholds a latency assertion applies, and where each came from. */
export interface EffectiveLatencyThresholds {
  /** At or over: degraded. Absent: no degraded threshold. */
  degradedMs?: number;
  /** At or over: fail. Absent: no failed threshold. */
  failedMs?: number;
  source: { degradedMs: ThresholdSource; failedMs: ThresholdSource };
  /** The version's latency quantile the adaptive values scale (after the floor), when they were derived. */
  basisMs?: number;
  /** Durations behind `basisMs`. */
  samples?: number;
}

const BASELINE_QUANTILES: ReadonlyMap<number, keyof LatencyProfile> = new Map([
  [0.5, 'p50Ms'],
  [0.95, 'p95Ms'],
  [0.99, 'p99Ms'],
]);

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_ERR_CANARY_OPTIONS', message);
}

/**
 * The two multipliers of {@link AdaptiveLatencyOptions.factor}: given ones, a single number as
 * `failed` with `degraded` halfway between 1 and it, defaults {@link DEFAULT_ADAPTIVE_LATENCY}.
 *
 * @throws VigilError `VIGIL_ERR_CANARY_OPTIONS` unless `1 < degraded ≤ failed`, both finite
 */
export function adaptiveFactors(option: AdaptiveLatencyOptions['factor']): {
  degraded: number;
  failed: number;
} {
  const defaults = DEFAULT_ADAPTIVE_LATENCY.factor;
  const { degraded, failed } =
    typeof option === 'number'
      ? { degraded: (1 + option) / 2, failed: option }
      : { degraded: option?.degraded ?? defaults.degraded, failed: option?.failed ?? defaults.failed };
  if (!(Number.isFinite(degraded) && degraded > 1 && Number.isFinite(failed) && failed >= degraded)) {
    throw invalid(
      `adaptive latency factors must be finite with 1 < degraded ≤ failed, got degraded ${degraded}, failed ${failed}`,
    );
  }
  return { degraded, failed };
}

/**
 * The latency thresholds of a check for the model version now served: hand-written values win where
 * given; each missing one is derived from `basis` as `factor × max(q, floorMs)`, with `q` the chosen
 * quantile of the version's baseline profile or of its recent healthy probe durations (after
 * `warmup`, and only once there are `minSamples`). Without a basis (no baseline, too little history)
 * a threshold not written by hand is absent, and the source says `none`.
 *
 * Recompute when the version changes: a new version starts from its own baseline, or from no history.
 *
 * @param basis the version's baseline profile or probe history, or undefined
 * @param options see {@link AdaptiveLatencyOptions}; defaults {@link DEFAULT_ADAPTIVE_LATENCY}
 * @param handWritten thresholds given in the config (ms); each one given replaces its adaptive value
 * @throws VigilError `VIGIL_ERR_CANARY_OPTIONS` for a quantile outside (0, 1] (or not 0.5 / 0.95 / 0.99
 *   with a baseline), factors not `1 < degraded ≤ failed`, or a negative floor, warm-up or sample count
 * @example
 * adaptiveLatencyThresholds({kind: 'baseline', profile: {count: 200, p50Ms: 100, p95Ms: 110, p99Ms: 120, meanMs: 101, maxMs: 130}})
 * // {degradedMs: 180, failedMs: 240, basisMs: 120, samples: 200, source: {degradedMs: 'baseline', failedMs: 'baseline'}}
 */
export function adaptiveLatencyThresholds(
  basis: LatencyBasis | undefined,
  options: AdaptiveLatencyOptions = {},
  handWritten: { degradedMs?: number; failedMs?: number } = {},
): EffectiveLatencyThresholds {
  const q = options.quantile ?? DEFAULT_ADAPTIVE_LATENCY.quantile;
  const floorMs = options.floorMs ?? DEFAULT_ADAPTIVE_LATENCY.floorMs;
  const minSamples = options.minSamples ?? DEFAULT_ADAPTIVE_LATENCY.minSamples;
  const warmup = options.warmup ?? DEFAULT_ADAPTIVE_LATENCY.warmup;
  if (!(q > 0 && q <= 1)) throw invalid(`adaptive latency quantile must be in (0, 1], got ${q}`);
  if (!(Number.isFinite(floorMs) && floorMs >= 0))
    throw invalid(`adaptive latency floor must be ≥ 0 ms, got ${floorMs}`);
  if (!(Number.isSafeInteger(minSamples) && minSamples >= 1)) {
    throw invalid(`adaptive latency minSamples must be an integer ≥ 1, got ${minSamples}`);
  }
  if (!(Number.isSafeInteger(warmup) && warmup >= 0)) {
    throw invalid(`adaptive latency warmup must be an integer ≥ 0, got ${warmup}`);
  }
  const factor = adaptiveFactors(options.factor);

  let quantileMs: number | undefined;
  let samples: number | undefined;
  let from: ThresholdSource = 'none';
  if (basis?.kind === 'baseline') {
    const key = BASELINE_QUANTILES.get(q);
    if (key === undefined) {
      throw invalid(`a baseline's latency profile has p50, p95 and p99; quantile ${q} needs probe history`);
    }
    quantileMs = basis.profile[key];
    samples = basis.profile.count;
    from = 'baseline';
  } else if (basis?.kind === 'history') {
    const usable = basis.durationsMs.slice(warmup).filter((d) => Number.isFinite(d) && d >= 0);
    if (usable.length >= minSamples) {
      quantileMs = quantile(usable, q);
      samples = usable.length;
      from = 'history';
    }
  }

  const result: EffectiveLatencyThresholds = {
    source: { degradedMs: 'none', failedMs: 'none' },
  };
  if (quantileMs !== undefined) {
    const basisMs = Math.max(quantileMs, floorMs);
    result.basisMs = basisMs;
    if (samples !== undefined) result.samples = samples;
    result.degradedMs = factor.degraded * basisMs;
    result.failedMs = factor.failed * basisMs;
    result.source = { degradedMs: from, failedMs: from };
  }
  if (handWritten.degradedMs !== undefined) {
    result.degradedMs = handWritten.degradedMs;
    result.source.degradedMs = 'config';
  }
  if (handWritten.failedMs !== undefined) {
    result.failedMs = handWritten.failedMs;
    result.source.failedMs = 'config';
  }
  return result;
}

/**
 * What a duration is under thresholds: `fail` at or over `failedMs`, else `degraded` at or over
 * `degradedMs`, else `pass` (the latency assertion's rule, Checkly's degradedResponseTime).
 */
export function classifyLatency(
  durationMs: number,
  thresholds: Pick<EffectiveLatencyThresholds, 'degradedMs' | 'failedMs'>,
): 'pass' | 'degraded' | 'fail' {
  if (thresholds.failedMs !== undefined && durationMs >= thresholds.failedMs) return 'fail';
  if (thresholds.degradedMs !== undefined && durationMs >= thresholds.degradedMs) return 'degraded';
  return 'pass';
}
