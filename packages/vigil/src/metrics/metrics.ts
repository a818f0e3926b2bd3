/**
 * Vigil's Prometheus metrics: what every check's last probe and current state look like, in
 * blackbox_exporter's names where it has one (`probe_*`) and `vigil_*` for Vigil's own. Which series
 * a check exports, and the budget they must fit, is `packages/vigil/METRICS.md` ("the metrics budget").
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type {
  CheckPlan,
  CheckState,
  EvalState,
  Outcome,
  PhaseTimings,
  ProbeResult,
  StreamTimings,
  Transition,
} from '../types.js';
import {
  EXPOSITION_CONTENT_TYPES,
  type ExpositionFormat,
  escapeLabelValue,
  familyHeader,
  formatLabels,
  formatValue,
  registryTextToOpenMetrics,
} from './exposition.js';

/**
 * Values of `probe_http_duration_seconds`'s `phase` label, with the {@link PhaseTimings} field each
 * comes from. blackbox_exporter's own values, so its dashboards and queries work unchanged: `resolve`
 * (not `dns`) is name resolution.
 */
export const PHASES: ReadonlyArray<readonly [phase: string, field: keyof PhaseTimings]> = [
  ['resolve', 'dnsMs'],
  ['connect', 'connectMs'],
  ['tls', 'tlsMs'],
  ['processing', 'processingMs'],
  ['transfer', 'transferMs'],
];

/** The states a check can be in, in the order the API and dashboard list them. */
export const CHECK_STATES: readonly CheckState[] = [
  'unknown',
  'healthy',
  'pending',
  'degraded',
  'unhealthy',
  'stale',
];

/** Labels of every per-check series, in this order: the check's identity (a check runs in each region). */
export const CHECK_LABELS = ['target', 'check', 'region'] as const;

/**
 * Which series a hub exports: `default`, what an operator needs of every check (bounded by the
 * budget in METRICS.md), or `detail`, everything (about 4× the series; for a few hundred checks, or to
 * diagnose). `vigil run --metrics-detail` selects `detail`.
 */
export type MetricsLevel = 'default' | 'detail';

/** One metric family as METRICS.md documents it. */
export interface MetricFamilyInfo {
  readonly name: string;
  readonly type: 'gauge' | 'counter' | 'histogram';
  readonly help: string;
  /** Label names, in the order they are written. */
  readonly labels: readonly string[];
  /** The lowest level that exports it. */
  readonly level: MetricsLevel;
}

/**
 * States whose `vigil_transitions_total` series exist (at 0) as soon as a check is seen, so that
 * `increase(vigil_transitions_total{to="unhealthy"}[5m]) > 0` also fires for a check's first outage.
 * The evaluator never transitions to `unknown`; that series, and one of any other state, appears only
 * once counted.
 */
const INITIAL_TRANSITION_STATES: readonly CheckState[] = ['healthy', 'pending', 'degraded', 'unhealthy'];

/**
 * Default buckets of `vigil_scheduler_lag_seconds`, in seconds: 1 ms to 10 s. A healthy scheduler
 * starts probes within a few ms of their due time; seconds mean an overloaded event loop.
 */
export const DEFAULT_LAG_BUCKETS_SECONDS: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/**
 * prom-client's default metrics that break Prometheus naming (gauges ending in `_total`, which
 * `promtool check metrics` rejects). Dropped: their label-split twins (`nodejs_active_handles{type}`,
 * `nodejs_active_requests{type}`, `nodejs_active_resources{type}`) carry the same numbers; sum them.
 */
const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/**
 * Default {@link MetricsOptions.renderSliceMs}: 5 ms. A render of 10,000 checks takes a few hundred
 * ms of CPU at the detail level; in 5 ms slices it adds at most about 5 ms to the start of a probe due
 * meanwhile, well inside the scheduler's lag budget, for one extra event-loop turn per slice.
 */
export const DEFAULT_RENDER_SLICE_MS = 5;

/**
 * Characters per chunk of {@link Metrics.renderChunks}: 64 Ki, so that a scrape of 20,000 checks
 * (~9 MiB at the default level) is about 150 socket writes, and a chunk in memory stays small.
 */
const CHUNK_CHARS = 64 * 1024;

/** Series written between two looks at the clock while rendering. */
const SERIES_PER_CLOCK_CHECK = 64;

/** One entry of the config labels allowlist: a target label (`from`) and the series label it becomes (`to`). */
export interface ConfigLabel {
  readonly from: string;
  readonly to: string;
}

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Also export prom-client's process and Node.js metrics (`process_*`, `nodejs_*`). Default true. */
  defaultMetrics?: boolean;
  /**
   * Which per-check series to export (METRICS.md). Default `'default'`; `'detail'` adds the phase
   * timings, HTTP status, failed/degraded/error counters and transition counts of every check.
   */
  level?: MetricsLevel;
  /**
   * Config labels (`metrics.labels`): target labels copied onto every per-check series, `from` the
   * target's label name `to` the series' (validated by the config schema: Prometheus label names, none
   * of Vigil's own). They add bytes, not series: a target's labels are constant. Default none.
   */
  labels?: readonly ConfigLabel[];
  /** Buckets of `vigil_scheduler_lag_seconds`. Default {@link DEFAULT_LAG_BUCKETS_SECONDS}. */
  lagBucketsSeconds?: readonly number[];
  /**
   * Longest a render may hold the event loop before it yields, in ms (checked every
   * 64 series, within a family too). Default {@link DEFAULT_RENDER_SLICE_MS}.
   */
  renderSliceMs?: number;
}

/**
 * Vigil's metrics registry. One per hub; the hub feeds it, `/metrics` renders it.
 *
 * The per-check families, their labels and levels are the table in METRICS.md (kept in agreement with
 * the exposition by `metrics-budget.test.ts`), also as {@link METRIC_FAMILIES}. In short: every check
 * exports, per region, `probe_success`, `probe_duration_seconds`, `vigil_check_state{state}` (only the
 * current state's series, value 1), `vigil_check_consecutive_failures`, `vigil_probes_total`,
 * `vigil_check_flapping` (1) while it flaps, and `vigil_check_deferred` (1) while its probes are put
 * off by the probe budget or held for readiness; the target's constant label `model` is on one
 * `vigil_target_info` per target instead of on every series (Prometheus' "info metric" pattern);
 * the `detail` level adds the per-phase HTTP timings, the HTTP status, counters by outcome and error
 * code, and transition counts. Without per-check labels: `vigil_scheduler_lag_seconds` (histogram).
 *
 * The `probe_*` gauges appear with a check's first result, the state gauges with its first state, the
 * counters (at 0, except error codes and transitions to states outside the usual four, which appear
 * when first counted) with whichever comes first.
 *
 * Why these families are not prom-client metrics: a prom-client `set()`/`inc()`, even on a cached
 * `.labels()` child (only a bound function), validates and hashes the label object and allocates a
 * sample, ~1.3 µs each, ~20 µs per probe across these families; and prom-client formats every label of
 * every series at each scrape (~150 ms, in one event-loop turn, for 1,000 checks × 3 regions). A stalled
 * event loop inflates the phase timings of probes in flight, so Vigil keeps these values as plain
 * numbers per (check, region) (~0.3 µs per probe, allocation-free after a series' first sample), builds
 * each series' label string once, and writes its families itself, in chunks, yielding to the event loop
 * every `renderSliceMs` (within a family too). prom-client keeps the process metrics and the lag
 * histogram, and {@link Metrics.registry} stays open to other components. `bench`: `metrics.bench.ts`.
 */
export interface Metrics {
  /**
   * The prom-client registry (not the global one) holding the process metrics and the lag histogram;
   * other components may register metrics on it and {@link render} includes them. The per-check
   * families are not in it (see above).
   */
  readonly registry: Registry;
  /** Content type of {@link render}'s output: `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  /** Content type of each format {@link render} writes (OpenMetrics: `application/openmetrics-text; version=1.0.0; charset=utf-8`). */
  readonly contentTypes: Readonly<Record<ExpositionFormat, string>>;
  /** Records one probe's result: the `probe_*` gauges and the probe counters. */
  observeResult(plan: CheckPlan, result: ProbeResult): void;
  /**
   * Records the evaluator's state after a result: `vigil_check_state`, `vigil_check_flapping`,
   * `vigil_check_consecutive_failures`. If no result was observed for the (check, region) yet — a
   * state resumed from the store after a restart — the `probe_*` gauges are filled from
   * `state.lastResult`, without counting it as a probe.
   */
  observeState(plan: CheckPlan, state: EvalState): void;
  /**
   * Records whether the scheduler puts the check's probes off now (`vigil_check_deferred`: present,
   * valued 1, while deferred by the probe budget or held for readiness).
   */
  observeDeferral(plan: CheckPlan, region: string, deferred: boolean): void;
  /** Counts a transition in `vigil_transitions_total{to}` (detail). The state gauges follow {@link observeState}. */
  observeTransition(transition: Transition, plan: CheckPlan): void;
  /** Records how late a probe started, in milliseconds (negative counts as 0), in `vigil_scheduler_lag_seconds`. */
  observeLag(lagMs: number): void;
  /**
   * Counts a recovery action run's verdict in `vigil_action_runs_total{action,result}` (hub-wide, a
   * prom-client counter): `result` is `succeeded`, `failed`, `refused`, `skipped`, `dry-run` or `unknown`.
   */
  observeActionRun(action: string, result: string): void;
  /**
   * Records the latency thresholds in effect for a check with adaptive thresholds
   * (`vigil_check_latency_threshold_seconds{level}`, every region's series); undefined removes them.
   */
  observeLatencyThresholds(
    plan: CheckPlan,
    thresholds: { degradedMs?: number; failedMs?: number } | undefined,
  ): void;
  /** Drops every series of the check (all regions), e.g. when a config reload removes it. */
  removeCheck(plan: CheckPlan): void;
  /**
   * Every metric in the Prometheus text exposition format 0.0.4 (default) or in OpenMetrics 1.0
   * (`'openmetrics'`, what Prometheus asks for first; the same samples, ended by `# EOF`): the
   * registry's, then the per-check families. Yields to the event loop every `renderSliceMs`, so a probe finishing meanwhile may show
   * in later series only (as with any exporter whose scrape is not atomic). The whole text at once:
   * prefer {@link renderChunks} to send it.
   */
  render(format?: ExpositionFormat): Promise<string>;
  /**
   * The text of {@link render} in chunks of about 64 Ki characters, written as they are asked for:
   * a consumer that streams them (`Readable.from(metrics.renderChunks())`) never holds the whole
   * scrape in memory. Yields to the event loop every `renderSliceMs`.
   *
   * @example
   * ```ts
   * import { Readable } from 'node:stream';
   * reply.type(metrics.contentType).send(Readable.from(metrics.renderChunks()));
   * ```
   */
  renderChunks(format?: ExpositionFormat): AsyncIterable<string>;
}

/** `,name="value"`, the value escaped. */
const extraLabel = (name: string, value: string): string => `,${name}="${escapeLabelValue(value)}"`;

/** `,name="…"` by value, for label values from a small open set (states, error codes), built once each. */
function extraCache(name: string): (value: string) => string {
  const cache = new Map<string, string>();
  return (value) => {
    let extra = cache.get(value);
    if (extra === undefined) {
      extra = extraLabel(name, value);
      cache.set(value, extra);
    }
    return extra;
  };
}
const stateExtra = extraCache('state');
const codeExtra = extraCache('code');
const toExtra = extraCache('to');

// Where each value of a (check, region) sits in CheckSeries.values: one slot per series, families
// in a row, their series in the order of the label values above.
const SUCCESS = 0;
const DURATION = 1;
const PHASE = 2;
const HTTP_STATUS = PHASE + PHASES.length;
const CONSECUTIVE_FAILURES = HTTP_STATUS + 1;
const PROBES = CONSECUTIVE_FAILURES + 1;
const FAILED = PROBES + 1;
const DEGRADED = FAILED + 1;
const TRANSITIONS = DEGRADED + 1;
const SLOTS = TRANSITIONS + INITIAL_TRANSITION_STATES.length;

const TRANSITION_INDEX: Readonly<Record<string, number>> = Object.fromEntries(
  INITIAL_TRANSITION_STATES.map((s, i) => [s, i]),
);

// The labels series add to their (check, region)'s, formatted once for every check.
const NO_EXTRA: readonly string[] = [''];
const PHASE_EXTRAS = PHASES.map(([phase]) => extraLabel('phase', phase));
const INITIAL_TRANSITION_EXTRAS = INITIAL_TRANSITION_STATES.map(toExtra);
const STREAM_TTFT = extraLabel('phase', 'ttft');
const LEVEL_DEGRADED = extraLabel('level', 'degraded');
const LEVEL_FAILED = extraLabel('level', 'failed');
const CANARY_CONDITION_EXTRAS = {
  drift: extraLabel('condition', 'drift'),
  corrupt: extraLabel('condition', 'corrupt'),
  no_baseline: extraLabel('condition', 'no_baseline'),
} as const;
const STREAM_GAP = extraLabel('phase', 'max_token_gap');
const STREAM_TOTAL = extraLabel('phase', 'total');
const LE_INF = extraLabel('le', '+Inf');

/**
 * The series of one (check, region): its label string and every value, as doubles in one array
 * (slots above) rather than an object per series: ~0.2 kB per check instead of ~3 kB, which at
 * 10,000 checks is ~30 MB less to keep and to trace at every full GC.
 */
class CheckSeries {
  readonly region: string;
  /** The (check, region)'s labels, formatted once: `target="…",check="…",region="…"`. */
  readonly labels: string;
  hasResult = false;
  hasState = false;
  readonly values: number[] = Array.from({ length: SLOTS }, () => 0);
  /** The current state (`vigil_check_state`'s one series). */
  state: CheckState = 'unknown';
  flapping = false;
  /** Put off by the probe budget or held for readiness (`vigil_check_deferred`). */
  deferred = false;
  /** Counts by error code, from the first error on. */
  errors: Map<string, number> | undefined;
  /** Transitions to states outside {@link INITIAL_TRANSITION_STATES}, from the first on. */
  otherTransitions: Map<string, number> | undefined;
  /** The last result's stream timings (streamed LLM probes only). */
  stream: StreamTimings | undefined;
  /** Adaptive latency thresholds in effect, in ms (adaptive checks only; absent level: none yet). */
  latencyThresholds: { degradedMs?: number; failedMs?: number } | undefined;
  /** What the last canary run found (canary checks only): `vigil_canary_condition`. */
  canaryCondition: CanaryCondition | undefined;
  /** The opt-in latency histogram (`latencyHistogram: true`): see {@link histogramBoundsMs}. */
  histogram: LatencyHistogram | undefined;

  /** @param extra the config labels (`metrics.labels`) this check's target has, in allowlist order */
  constructor(plan: CheckPlan, region: string, extra: Readonly<Record<string, string>>) {
    this.region = region;
    this.labels = formatLabels({ target: plan.target.name, check: plan.kind, region, ...extra });
  }

  /** Counts one probe's duration in the histogram, (re)built when the plan's bounds changed or it was turned off. */
  observeLatency(plan: CheckPlan, durationMs: number): void {
    if (plan.latencyHistogram !== true) {
      this.histogram = undefined;
      return;
    }
    const bounds = histogramBoundsMs(plan);
    let h = this.histogram;
    if (h === undefined || h.boundsMs.join() !== bounds.join()) {
      h = {
        boundsMs: bounds,
        extras: bounds.map((b) => extraLabel('le', String(msToSeconds(b)))),
        counts: bounds.map(() => 0),
        sumSeconds: 0,
        count: 0,
      };
      this.histogram = h;
    }
    for (let i = 0; i < bounds.length; i++)
      if (durationMs <= (bounds[i] as number)) (h.counts[i] as number)++;
    h.sumSeconds += durationMs / 1000;
    h.count++;
  }

  setLastResult(result: ProbeResult): void {
    const v = this.values;
    this.hasResult = true;
    v[SUCCESS] = result.outcome === 'fail' ? 0 : 1;
    v[DURATION] = msToSeconds(result.durationMs);
    for (let i = 0; i < PHASES.length; i++) {
      v[PHASE + i] = msToSeconds(result.phases[(PHASES[i] as (typeof PHASES)[number])[1]]);
    }
    v[HTTP_STATUS] = result.httpStatus ?? 0;
    this.stream = result.stream;
  }

  setState(state: EvalState): void {
    this.hasState = true;
    this.state = state.state;
    this.flapping = state.flapping;
    this.values[CONSECUTIVE_FAILURES] = state.consecutiveFailures;
  }

  countProbe(outcome: Outcome): void {
    const v = this.values;
    (v[PROBES] as number)++;
    if (outcome === 'fail') (v[FAILED] as number)++;
    else if (outcome === 'degraded') (v[DEGRADED] as number)++;
  }

  countError(code: string): void {
    this.errors ??= new Map();
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  countTransition(to: CheckState): void {
    const index = TRANSITION_INDEX[to];
    if (index !== undefined) {
      (this.values[TRANSITIONS + index] as number)++;
      return;
    }
    this.otherTransitions ??= new Map();
    this.otherTransitions.set(to, (this.otherTransitions.get(to) ?? 0) + 1);
  }
}

/** A check's latency histogram: cumulative counts per upper bound (`le`), the sum and the count. */
interface LatencyHistogram {
  readonly boundsMs: readonly number[];
  /** `,le="…"` per bound, formatted once. */
  readonly extras: readonly string[];
  readonly counts: number[];
  sumSeconds: number;
  count: number;
}

/**
 * Upper bounds of a check's `vigil_probe_latency_seconds`, in ms: its fixed latency thresholds
 * (`expect.latency.degraded`, `failed`; adaptive `auto` levels move, so they are not bounds) and its
 * timeout, ascending, without repeats — at most 3, so with `+Inf`, `_sum` and `_count` at most 6
 * series. Buckets at the check's own boundaries answer the SLO question exactly (the share of probes
 * under the degraded threshold: `rate(…_bucket{le="<degraded>"}[1h]) / rate(…_count[1h])`), which
 * generic buckets would only approximate.
 */
export function histogramBoundsMs(plan: CheckPlan): number[] {
  const latency = plan.expect.latency;
  const bounds = [latency?.degradedMs, latency?.failedMs, plan.timeoutMs].filter(
    (b): b is number => b !== undefined && Number.isFinite(b) && b > 0,
  );
  return [...new Set(bounds)].sort((a, b) => a - b);
}

/**
 * Milliseconds as seconds rounded to the microsecond: the timers' real resolution, and 8 characters
 * (`0.001235`) where the raw quotient prints up to 21 (`0.0012345677999999999`) in every scrape.
 */
function msToSeconds(ms: number): number {
  return Math.round(ms * 1000) / 1e6;
}

/** `vigil_target_info`'s labels for a plan's target. */
function targetInfoLabels(plan: CheckPlan): string {
  return formatLabels({ target: plan.target.name, model: plan.target.model ?? '' });
}

/**
 * The series of one check: its plan (whose identity tells a reload apart), its target's info labels,
 * and one {@link CheckSeries} per region, in a plain array: a check has a handful of regions, and a
 * Map per check cost ~450 bytes of the hub's heap each (10,000 checks: 4.5 MB; BENCHMARKS.md, "V8
 * heap flags").
 */
interface CheckEntry {
  plan: CheckPlan;
  /** {@link targetInfoLabels} of `plan`, rebuilt when a reload hands in another plan. */
  targetInfo: string;
  readonly regions: CheckSeries[];
}

/** Collects sample lines into chunks for {@link Metrics.renderChunks}. */
class ChunkWriter {
  /** The chunk being written. */
  text = '';
  /** `name{labels` of the series being written. */
  prefix = '';

  sample(extra: string, value: number): void {
    this.text += `${this.prefix}${extra}} ${formatValue(value)}\n`;
  }

  /** One sample per extra label, valued from `values[first]` on. */
  slots(values: readonly number[], first: number, extras: readonly string[]): void {
    for (let i = 0; i < extras.length; i++) this.sample(extras[i] as string, values[first + i] as number);
  }
}

/** One per-check metric family: its documentation and which of a series' samples it shows. */
interface Family extends MetricFamilyInfo {
  write(series: CheckSeries, out: ChunkWriter): void;
}

const withCheckLabels = (...extra: string[]): readonly string[] => [...CHECK_LABELS, ...extra];

/** A gauge of the last result's values, from slot `first` on, one per extra label. */
function resultFamily(
  level: MetricsLevel,
  name: string,
  help: string,
  first: number,
  extraName?: string,
  extras = NO_EXTRA,
): Family {
  return {
    name,
    help,
    type: 'gauge',
    level,
    labels: extraName === undefined ? withCheckLabels() : withCheckLabels(extraName),
    write: (s, out) => s.hasResult && out.slots(s.values, first, extras),
  };
}

/** A counter of one slot, present from the check's first sample on. */
function counterFamily(level: MetricsLevel, name: string, help: string, slot: number): Family {
  return {
    name,
    help,
    type: 'counter',
    level,
    labels: withCheckLabels(),
    write: (s, out) => out.sample('', s.values[slot] as number),
  };
}

/**
 * The per-check families, in the order they are written: the default level first. Changing this
 * list means changing METRICS.md's table (a test holds them together) and, for the default level,
 * fitting its budget.
 */
const FAMILIES: readonly Family[] = [
  resultFamily(
    'default',
    'probe_success',
    'Whether the last probe passed (1 for pass and degraded, 0 for fail).',
    SUCCESS,
  ),
  resultFamily('default', 'probe_duration_seconds', 'Total duration of the last probe in seconds.', DURATION),
  {
    name: 'vigil_check_state',
    help: 'Current state of the check: one series, for the state it is in, valued 1.',
    type: 'gauge',
    level: 'default',
    labels: withCheckLabels('state'),
    write: (s, out) => s.hasState && out.sample(stateExtra(s.state), 1),
  },
  {
    name: 'vigil_check_consecutive_failures',
    help: 'Consecutive failed probes of the check.',
    type: 'gauge',
    level: 'default',
    labels: withCheckLabels(),
    write: (s, out) => s.hasState && out.sample('', s.values[CONSECUTIVE_FAILURES] as number),
  },
  {
    name: 'vigil_check_flapping',
    help: 'Present, valued 1, while the check is flapping; absent otherwise.',
    type: 'gauge',
    level: 'default',
    labels: withCheckLabels(),
    write: (s, out) => s.hasState && s.flapping && out.sample('', 1),
  },
  {
    name: 'vigil_check_deferred',
    help: "Present, valued 1, while the check's probes are put off by its target's probe budget or held for readiness; absent otherwise.",
    type: 'gauge',
    level: 'default',
    labels: withCheckLabels(),
    write: (s, out) => s.deferred && out.sample('', 1),
  },
  {
    name: 'vigil_check_latency_threshold_seconds',
    help: 'The latency thresholds in effect for checks with adaptive (auto) latency thresholds, by level (degraded, failed), in seconds; absent for other checks and for a level with no basis yet.',
    type: 'gauge',
    level: 'default',
    labels: withCheckLabels('level'),
    write: (s, out) => {
      const t = s.latencyThresholds;
      if (t === undefined) return;
      if (t.degradedMs !== undefined) out.sample(LEVEL_DEGRADED, msToSeconds(t.degradedMs));
      if (t.failedMs !== undefined) out.sample(LEVEL_FAILED, msToSeconds(t.failedMs));
    },
  },
  {
    name: 'vigil_canary_condition',
    help: 'Present, valued 1, while the last canary run found drift beyond tolerance (drift), corrupt answers (corrupt) or no baseline for the served model version (no_baseline); absent otherwise and for other checks.',
    type: 'gauge',
    level: 'default',
    labels: withCheckLabels('condition'),
    write: (s, out) =>
      s.canaryCondition !== undefined && out.sample(CANARY_CONDITION_EXTRAS[s.canaryCondition], 1),
  },
  counterFamily('default', 'vigil_probes_total', 'Probes run, whatever their outcome.', PROBES),
  {
    name: 'vigil_probe_latency_seconds',
    help: "Probe durations in seconds, with buckets at the check's latency thresholds and timeout; only for checks with latencyHistogram: true.",
    type: 'histogram',
    level: 'default',
    labels: withCheckLabels('le'),
    write: (s, out) => {
      const h = s.histogram;
      if (h === undefined) return;
      const base = out.prefix.slice('vigil_probe_latency_seconds'.length);
      out.prefix = `vigil_probe_latency_seconds_bucket${base}`;
      for (let i = 0; i < h.extras.length; i++) out.sample(h.extras[i] as string, h.counts[i] as number);
      out.sample(LE_INF, h.count);
      out.prefix = `vigil_probe_latency_seconds_sum${base}`;
      out.sample('', Math.round(h.sumSeconds * 1e6) / 1e6);
      out.prefix = `vigil_probe_latency_seconds_count${base}`;
      out.sample('', h.count);
    },
  },
  {
    name: 'vigil_stream_duration_seconds',
    help: "The last streamed answer's time to first token (ttft), largest gap between tokens (max_token_gap) and whole stream (total), in seconds; only for checks whose answers stream.",
    type: 'gauge',
    level: 'detail',
    labels: withCheckLabels('phase'),
    write: (s, out) => {
      const stream = s.stream;
      if (!s.hasResult || stream === undefined) return;
      if (stream.ttftMs !== null) out.sample(STREAM_TTFT, msToSeconds(stream.ttftMs));
      out.sample(STREAM_GAP, msToSeconds(stream.maxTokenGapMs));
      out.sample(STREAM_TOTAL, msToSeconds(stream.totalMs));
    },
  },
  {
    name: 'vigil_stream_tokens_per_second',
    help: "The last streamed answer's decode speed, (tokens − 1) / (last token − first token); absent with fewer than two tokens.",
    type: 'gauge',
    level: 'detail',
    labels: withCheckLabels(),
    write: (s, out) => {
      const rate = s.stream?.tokensPerSecond;
      if (s.hasResult && rate !== undefined && rate !== null) out.sample('', Math.round(rate * 1000) / 1000);
    },
  },
  {
    name: 'vigil_stream_tokens',
    help: "Tokens in the last streamed answer: the server's count (usage, eval_count) when reported, else the token chunks.",
    type: 'gauge',
    level: 'detail',
    labels: withCheckLabels(),
    write: (s, out) => {
      if (s.hasResult && s.stream !== undefined) out.sample('', s.stream.tokens);
    },
  },
  resultFamily(
    'detail',
    'probe_http_duration_seconds',
    "Duration of each phase of the last probe's main HTTP exchange in seconds.",
    PHASE,
    'phase',
    PHASE_EXTRAS,
  ),
  resultFamily(
    'detail',
    'probe_http_status_code',
    'HTTP status of the last probe; 0 when no response arrived.',
    HTTP_STATUS,
  ),
  counterFamily('detail', 'vigil_probes_failed_total', 'Probes whose outcome was fail.', FAILED),
  counterFamily(
    'detail',
    'vigil_probes_degraded_total',
    'Probes whose outcome was degraded (passed, but slow or drifting).',
    DEGRADED,
  ),
  {
    name: 'vigil_probe_errors_total',
    help: 'Probes that got no usable answer, by error code.',
    type: 'counter',
    level: 'detail',
    labels: withCheckLabels('code'),
    write: (s, out) => {
      if (s.errors !== undefined) for (const [code, count] of s.errors) out.sample(codeExtra(code), count);
    },
  },
  {
    name: 'vigil_transitions_total',
    help: 'State transitions, by the state entered.',
    type: 'counter',
    level: 'detail',
    labels: withCheckLabels('to'),
    write: (s, out) => {
      out.slots(s.values, TRANSITIONS, INITIAL_TRANSITION_EXTRAS);
      if (s.otherTransitions !== undefined)
        for (const [to, count] of s.otherTransitions) out.sample(toExtra(to), count);
    },
  },
];

/** The one family written per target rather than per (check, region). */
const TARGET_INFO: MetricFamilyInfo = {
  name: 'vigil_target_info',
  help: "A target's constant labels (its model), valued 1; join on target.",
  type: 'gauge',
  level: 'default',
  labels: ['target', 'model'],
};

/**
 * A check's failureThreshold, written only where it differs from the hub's usual one
 * ({@link FAILURE_THRESHOLD_DEFAULT}): one rule per condition then covers every check, file and
 * discovered alike (`deploy/kustomize/base/prometheus-rule.yaml`), at no series per check for a fleet
 * on one threshold. Per check, not per region: thresholds do not vary by region.
 */
const FAILURE_THRESHOLD: MetricFamilyInfo = {
  name: 'vigil_check_failure_threshold',
  help: "The check's failureThreshold, where it differs from vigil_failure_threshold_default; absent otherwise.",
  type: 'gauge',
  level: 'default',
  labels: ['target', 'check'],
};

/**
 * Hub-wide: the failureThreshold most of the hub's checks have (the most common one; of equals, the
 * lowest), so that `vigil_check_failure_threshold` is written only for the others.
 */
const FAILURE_THRESHOLD_DEFAULT = {
  name: 'vigil_failure_threshold_default',
  help: "The failureThreshold of every check that has no vigil_check_failure_threshold series (the hub's most common one).",
  type: 'gauge',
} as const;

/**
 * Every family a check makes Vigil export, per-check ones in the order written and then
 * `vigil_target_info` and `vigil_check_failure_threshold`: what METRICS.md documents.
 */
export const METRIC_FAMILIES: readonly MetricFamilyInfo[] = [
  ...FAMILIES.map(({ write: _, ...info }) => info),
  TARGET_INFO,
  FAILURE_THRESHOLD,
];

/** The most common failureThreshold of `entries` (of equals, the lowest); 3 (Kubernetes') when none. */
function usualFailureThreshold(entries: Iterable<CheckEntry>): number {
  const counts = new Map<number, number>();
  for (const entry of entries) {
    const t = entry.plan.failureThreshold;
    counts.set(t, (counts.get(t) ?? 0) + 1);
  }
  let best = 3;
  let bestCount = 0;
  for (const [t, n] of counts)
    if (n > bestCount || (n === bestCount && t < best)) {
      best = t;
      bestCount = n;
    }
  return best;
}

/**
 * The config labels (`metrics.labels`) a plan's target has, as series labels, in allowlist order; a
 * label the target lacks is left out (Prometheus reads an absent label and an empty one alike).
 */
function configLabelsOf(plan: CheckPlan, allow: readonly ConfigLabel[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const { from, to } of allow) {
    const value = plan.target.labels[from];
    if (value !== undefined) out[to] = value;
  }
  return out;
}

function sameLabels(a: CheckPlan, b: CheckPlan, allow: readonly ConfigLabel[]): boolean {
  return (
    a.target.name === b.target.name &&
    a.kind === b.kind &&
    allow.every(({ from }) => a.target.labels[from] === b.target.labels[from])
  );
}

/** What a canary run found, as `vigil_canary_condition{condition}` says it. */
export type CanaryCondition = 'drift' | 'corrupt' | 'no_baseline';

/**
 * The condition of a canary run's result, the worst one when several: `no_baseline` when the served
 * version had no baseline (failure operator `baseline`), else `corrupt` when any failure is of level
 * `corrupt`, else `drift` when any is of level `drift` (`canary/compare.ts` `CanaryFailure.level`; the
 * runner lists corrupt failures first, so the cap on listed failures keeps them). Undefined for a run
 * that passed or got no answer to compare (that is the check's failure, not the model's).
 */
export function canaryCondition(result: ProbeResult): CanaryCondition | undefined {
  let found: CanaryCondition | undefined;
  for (const f of result.failures) {
    if (f.operator === 'baseline') return 'no_baseline';
    const level = (f as { level?: unknown }).level;
    if (level === 'corrupt') found = 'corrupt';
    else if (level === 'drift' && found === undefined) found = 'drift';
  }
  return found;
}

/**
 * Creates Vigil's metrics with a prom-client registry of their own (never prom-client's global one),
 * holding prom-client's process metrics unless `options.defaultMetrics` is false.
 *
 * @example
 * ```ts
 * const metrics = createMetrics({ level: 'default' });
 * metrics.observeResult(plan, result);
 * metrics.observeState(plan, evalState);
 * reply.type(metrics.contentType).send(await metrics.render());
 * ```
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const checks = new Map<string, CheckEntry>();
  const sliceMs = options.renderSliceMs ?? DEFAULT_RENDER_SLICE_MS;
  const level = options.level ?? 'default';
  const allow = options.labels ?? [];
  const families = level === 'detail' ? FAMILIES : FAMILIES.filter((f) => f.level === 'default');

  if (options.defaultMetrics ?? true) {
    collectDefaultMetrics({ register: registry });
    for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  const lag = new Histogram({
    name: 'vigil_scheduler_lag_seconds',
    help: 'How late probes started after their due time, in seconds.',
    buckets: [...(options.lagBucketsSeconds ?? DEFAULT_LAG_BUCKETS_SECONDS)],
    registers: [registry],
  });

  const actionRuns = new Counter({
    name: 'vigil_action_runs_total',
    help: 'Recovery action runs by action name and result (succeeded, failed, refused, skipped, dry-run, unknown).',
    labelNames: ['action', 'result'],
    registers: [registry],
  });

  /** The series of (plan, region), created on first use; a reloaded plan with other labels starts afresh. */
  const seriesOf = (plan: CheckPlan, region: string): CheckSeries => {
    let entry = checks.get(plan.id);
    if (entry === undefined || (entry.plan !== plan && !sameLabels(entry.plan, plan, allow))) {
      entry = { plan, targetInfo: targetInfoLabels(plan), regions: [] };
      checks.set(plan.id, entry);
    } else if (entry.plan !== plan) {
      // A reload: same series, but the target's model may have changed.
      entry.plan = plan;
      entry.targetInfo = targetInfoLabels(plan);
    }
    for (const series of entry.regions) if (series.region === region) return series;
    const series = new CheckSeries(plan, region, configLabelsOf(plan, allow));
    entry.regions.push(series);
    return series;
  };

  /** The exposition in chunks; see {@link Metrics.renderChunks}. */
  async function* renderChunks(format: ExpositionFormat = 'prometheus'): AsyncGenerator<string> {
    const om = format === 'openmetrics';
    // Prometheus' format puts a blank line between families; OpenMetrics allows none.
    const gap = om ? '' : '\n';
    const header = (f: { name: string; help: string; type: 'gauge' | 'counter' | 'histogram' }) =>
      gap + familyHeader(f.name, f.help, f.type, format);
    const own = await registry.metrics();
    yield om ? registryTextToOpenMetrics(own) : own;
    const out = new ChunkWriter();
    let sliceStart = performance.now();
    let written = 0;
    /** Counts a series; true when the slice is used up (looked at every SERIES_PER_CLOCK_CHECK series). */
    const sliceUsed = () =>
      ++written % SERIES_PER_CLOCK_CHECK === 0 && performance.now() - sliceStart >= sliceMs;
    for (const family of families) {
      out.text += header(family);
      // A Map iterator survives the yields: a check added meanwhile shows, a removed one does not.
      for (const entry of checks.values()) {
        for (const series of entry.regions) {
          out.prefix = `${family.name}{${series.labels}`;
          family.write(series, out);
          if (out.text.length >= CHUNK_CHARS) {
            yield out.text;
            out.text = '';
          }
          if (sliceUsed()) {
            await nextMacrotask();
            sliceStart = performance.now();
          }
        }
      }
    }
    out.text += header(TARGET_INFO);
    const seen = new Set<string>();
    for (const entry of checks.values()) {
      if (seen.has(entry.plan.target.name)) continue;
      seen.add(entry.plan.target.name);
      out.prefix = `${TARGET_INFO.name}{${entry.targetInfo}`;
      out.sample('', 1);
      if (out.text.length >= CHUNK_CHARS) {
        yield out.text;
        out.text = '';
      }
      if (sliceUsed()) {
        await nextMacrotask();
        sliceStart = performance.now();
      }
    }
    const usual = usualFailureThreshold(checks.values());
    out.text += header(FAILURE_THRESHOLD_DEFAULT);
    out.text += `${FAILURE_THRESHOLD_DEFAULT.name} ${usual}\n`;
    out.text += header(FAILURE_THRESHOLD);
    for (const entry of checks.values()) {
      if (entry.plan.failureThreshold === usual) continue;
      out.prefix = `${FAILURE_THRESHOLD.name}{${formatLabels({ target: entry.plan.target.name, check: entry.plan.kind })}`;
      out.sample('', entry.plan.failureThreshold);
      if (out.text.length >= CHUNK_CHARS) {
        yield out.text;
        out.text = '';
      }
    }
    if (om) out.text += '# EOF\n';
    if (out.text !== '') yield out.text;
  }

  return {
    registry,
    contentType: EXPOSITION_CONTENT_TYPES.prometheus,
    contentTypes: EXPOSITION_CONTENT_TYPES,
    observeResult(plan, result) {
      const series = seriesOf(plan, result.region);
      series.setLastResult(result);
      if (plan.kind === 'canary') series.canaryCondition = canaryCondition(result);
      series.countProbe(result.outcome);
      if (plan.latencyHistogram === true || series.histogram !== undefined) {
        series.observeLatency(plan, result.durationMs);
      }
      if (result.error !== undefined) series.countError(result.error.code);
    },
    observeState(plan, state) {
      const series = seriesOf(plan, state.region);
      if (!series.hasResult && state.lastResult !== null) series.setLastResult(state.lastResult);
      series.setState(state);
    },
    observeDeferral(plan, region, deferred) {
      seriesOf(plan, region).deferred = deferred;
    },
    observeTransition(transition, plan) {
      seriesOf(plan, transition.region).countTransition(transition.to);
    },
    observeActionRun(action, result) {
      actionRuns.inc({ action, result });
    },
    observeLag(lagMs) {
      lag.observe(lagMs > 0 ? lagMs / 1000 : 0);
    },
    observeLatencyThresholds(plan, thresholds) {
      const entry = checks.get(plan.id);
      const kept =
        thresholds === undefined
          ? undefined
          : { degradedMs: thresholds.degradedMs, failedMs: thresholds.failedMs };
      for (const series of entry?.regions ?? []) series.latencyThresholds = kept;
    },
    removeCheck(plan) {
      checks.delete(plan.id);
    },
    async render(format) {
      const parts: string[] = [];
      for await (const chunk of renderChunks(format)) parts.push(chunk);
      return parts.join('');
    },
    renderChunks,
  };
}
