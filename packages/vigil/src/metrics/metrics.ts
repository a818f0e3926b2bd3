/**
 * Vigil's Prometheus metrics: what every check's last probe and current state look like, in
 * blackbox_exporter's names where it has one (`probe_*`) and `vigil_*` for Vigil's own.
 */
import { setImmediate as nextMacrotask } from 'node:timers/promises';
import { collectDefaultMetrics, Histogram, Registry } from 'prom-client';
import type {
  CheckPlan,
  CheckState,
  EvalState,
  Outcome,
  PhaseTimings,
  ProbeResult,
  Transition,
} from '../types.js';
import { escapeLabelValue, familyHeader, formatLabels, formatValue } from './exposition.js';

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

/** Values of `vigil_check_state`'s `state` label, in this order. */
export const CHECK_STATES: readonly CheckState[] = ['unknown', 'healthy', 'pending', 'degraded', 'unhealthy'];

/**
 * States whose `vigil_transitions_total` series exist (at 0) as soon as a check is seen, so that
 * `increase(vigil_transitions_total{to="unhealthy"}[5m]) > 0` also fires for a check's first outage.
 * The evaluator never transitions to `unknown`; that series appears only if it ever does.
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

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Also export prom-client's process and Node.js metrics (`process_*`, `nodejs_*`). Default true. */
  defaultMetrics?: boolean;
  /** Buckets of `vigil_scheduler_lag_seconds`. Default {@link DEFAULT_LAG_BUCKETS_SECONDS}. */
  lagBucketsSeconds?: readonly number[];
}

/**
 * Vigil's metrics registry. One per hub; the hub feeds it, `/metrics` renders it.
 *
 * Series per (check, region), labelled `target`, `check` (the kind), `region`, `model`:
 *
 * | metric | type | meaning |
 * | --- | --- | --- |
 * | `probe_success` | gauge | last probe passed: 1 for `pass` and `degraded` (a degraded probe passed), 0 for `fail` |
 * | `probe_duration_seconds` | gauge | last probe's total duration |
 * | `probe_http_duration_seconds{phase}` | gauge | last probe's main HTTP exchange, per phase: `resolve`, `connect`, `tls`, `processing`, `transfer` |
 * | `probe_http_status_code` | gauge | last probe's HTTP status; 0 when no response arrived |
 * | `vigil_check_state{state}` | gauge | 1 for the current state, 0 for the others (kube-state-metrics' enum pattern) |
 * | `vigil_check_flapping` | gauge | 1 while the check flaps |
 * | `vigil_check_consecutive_failures` | gauge | the evaluator's failure streak |
 * | `vigil_probes_total{outcome}` | counter | probes by outcome `pass` / `degraded` / `fail` |
 * | `vigil_probe_errors_total{code}` | counter | probes that got no usable answer, by `ProbeErrorCode` (`TIMEOUT`, `CONNECTION_REFUSED`, …) |
 * | `vigil_transitions_total{to}` | counter | state transitions by the state entered |
 *
 * And without per-check labels (cardinality): `vigil_scheduler_lag_seconds` (histogram).
 *
 * Total and per-phase durations are two metrics because one metric name has one label set: the total
 * keeps blackbox_exporter's `probe_duration_seconds`, the phases its `probe_http_duration_seconds`.
 * The `probe_*` gauges appear with a check's first result, the state gauges with its first state, the
 * counters (at 0, except error codes, which appear when first seen) with whichever comes first.
 *
 * Why these families are not prom-client metrics: a prom-client `set()`/`inc()`, even on a cached
 * `.labels()` child (only a bound function), validates and hashes the label object and allocates a
 * sample, ~1.3 µs each, ~20 µs per probe across these families; and prom-client formats every label of
 * every series at each scrape (~150 ms, in one event-loop turn, for 1,000 checks × 3 regions). A stalled
 * event loop inflates the phase timings of probes in flight, so Vigil keeps these values as plain
 * numbers per (check, region) (~0.3 µs per probe, allocation-free after a series' first sample), builds
 * each series' label string once, and writes its families itself, yielding to the event loop between
 * families. prom-client keeps the process metrics and the lag histogram, and {@link Metrics.registry}
 * stays open to other components. `bench`: `metrics.bench.ts`.
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
  /** Records one probe's result: the `probe_*` gauges and the probe and error counters. */
  observeResult(plan: CheckPlan, result: ProbeResult): void;
  /**
   * Records the evaluator's state after a result: `vigil_check_state`, `vigil_check_flapping`,
   * `vigil_check_consecutive_failures`. If no result was observed for the (check, region) yet — a
   * state resumed from the store after a restart — the `probe_*` gauges are filled from
   * `state.lastResult`, without counting it as a probe.
   */
  observeState(plan: CheckPlan, state: EvalState): void;
  /** Counts a transition in `vigil_transitions_total{to}`. The state gauges follow {@link observeState}. */
  observeTransition(transition: Transition, plan: CheckPlan): void;
  /** Records how late a probe started, in milliseconds (negative counts as 0), in `vigil_scheduler_lag_seconds`. */
  observeLag(lagMs: number): void;
  /** Drops every series of the check (all regions), e.g. when a config reload removes it. */
  removeCheck(plan: CheckPlan): void;
  /**
   * Every metric in the Prometheus text exposition format 0.0.4: the registry's, then the per-check
   * families. Yields to the event loop between families, so a probe finishing meanwhile may show in
   * later families only (as with any exporter whose scrape is not atomic).
   */
  render(): Promise<string>;
}

/**
 * One series' value, with the labels it adds to its (check, region)'s (`,phase="connect"`), preformatted.
 */
interface Sample {
  readonly extra: string;
  value: number;
}

/** `,name="value"`, the value escaped. */
const extraLabel = (name: string, value: string): string => `,${name}="${escapeLabelValue(value)}"`;

/** The series of one (check, region). */
class CheckSeries {
  /** The (check, region)'s labels, formatted once: `target="…",check="…",region="…",model="…"`. */
  readonly labels: string;
  hasResult = false;
  hasState = false;
  readonly success: Sample = { extra: '', value: 0 };
  readonly duration: Sample = { extra: '', value: 0 };
  readonly phases: Sample[] = PHASES.map(([phase]) => ({ extra: extraLabel('phase', phase), value: 0 }));
  readonly httpStatus: Sample = { extra: '', value: 0 };
  readonly states: Sample[] = CHECK_STATES.map((state) => ({ extra: extraLabel('state', state), value: 0 }));
  /** Index in {@link CHECK_STATES} of the state whose sample is 1. */
  stateIndex = 0;
  readonly flapping: Sample = { extra: '', value: 0 };
  readonly consecutiveFailures: Sample = { extra: '', value: 0 };
  readonly probes: Readonly<Record<Outcome, Sample>> = {
    pass: { extra: extraLabel('outcome', 'pass'), value: 0 },
    degraded: { extra: extraLabel('outcome', 'degraded'), value: 0 },
    fail: { extra: extraLabel('outcome', 'fail'), value: 0 },
  };
  /** By error code, created when first seen. */
  readonly errors = new Map<string, Sample>();
  /** By state entered. */
  readonly transitions = new Map<string, Sample>(
    INITIAL_TRANSITION_STATES.map((to) => [to, { extra: extraLabel('to', to), value: 0 }]),
  );

  constructor(plan: CheckPlan, region: string) {
    this.labels = formatLabels({
      target: plan.target.name,
      check: plan.kind,
      region,
      model: plan.target.model ?? '',
    });
  }

  setLastResult(result: ProbeResult): void {
    this.hasResult = true;
    this.success.value = result.outcome === 'fail' ? 0 : 1;
    this.duration.value = result.durationMs / 1000;
    for (let i = 0; i < PHASES.length; i++) {
      (this.phases[i] as Sample).value = result.phases[(PHASES[i] as (typeof PHASES)[number])[1]] / 1000;
    }
    this.httpStatus.value = result.httpStatus ?? 0;
  }

  setState(state: EvalState): void {
    this.hasState = true;
    const index = STATE_INDEX[state.state] ?? 0;
    (this.states[this.stateIndex] as Sample).value = 0;
    (this.states[index] as Sample).value = 1;
    this.stateIndex = index;
    this.flapping.value = state.flapping ? 1 : 0;
    this.consecutiveFailures.value = state.consecutiveFailures;
  }

  countError(code: string): void {
    countIn(this.errors, 'code', code);
  }

  countTransition(to: string): void {
    countIn(this.transitions, 'to', to);
  }
}

function countIn(samples: Map<string, Sample>, label: string, value: string): void {
  const sample = samples.get(value);
  if (sample !== undefined) sample.value++;
  else samples.set(value, { extra: extraLabel(label, value), value: 1 });
}

/** The series of one check: its plan (whose identity tells a reload apart) and one {@link CheckSeries} per region. */
interface CheckEntry {
  plan: CheckPlan;
  readonly regions: Map<string, CheckSeries>;
}

/** One per-check metric family: which of a series' samples it shows. */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  select(series: CheckSeries, out: Sample[]): void;
}

const STATE_INDEX: Readonly<Record<string, number>> = Object.fromEntries(CHECK_STATES.map((s, i) => [s, i]));

const FAMILIES: readonly Family[] = [
  {
    name: 'probe_success',
    help: 'Whether the last probe passed (1 for pass and degraded, 0 for fail).',
    type: 'gauge',
    select: (s, out) => s.hasResult && out.push(s.success),
  },
  {
    name: 'probe_duration_seconds',
    help: 'Total duration of the last probe in seconds.',
    type: 'gauge',
    select: (s, out) => s.hasResult && out.push(s.duration),
  },
  {
    name: 'probe_http_duration_seconds',
    help: "Duration of each phase of the last probe's main HTTP exchange in seconds.",
    type: 'gauge',
    select: (s, out) => s.hasResult && out.push(...s.phases),
  },
  {
    name: 'probe_http_status_code',
    help: 'HTTP status of the last probe; 0 when no response arrived.',
    type: 'gauge',
    select: (s, out) => s.hasResult && out.push(s.httpStatus),
  },
  {
    name: 'vigil_check_state',
    help: 'Current state of the check: 1 for the state it is in, 0 for the others.',
    type: 'gauge',
    select: (s, out) => s.hasState && out.push(...s.states),
  },
  {
    name: 'vigil_check_flapping',
    help: 'Whether the check is flapping (1) or not (0).',
    type: 'gauge',
    select: (s, out) => s.hasState && out.push(s.flapping),
  },
  {
    name: 'vigil_check_consecutive_failures',
    help: 'Consecutive failed probes of the check.',
    type: 'gauge',
    select: (s, out) => s.hasState && out.push(s.consecutiveFailures),
  },
  {
    name: 'vigil_probes_total',
    help: 'Probes run, by outcome (pass, degraded, fail).',
    type: 'counter',
    select: (s, out) => out.push(s.probes.pass, s.probes.degraded, s.probes.fail),
  },
  {
    name: 'vigil_probe_errors_total',
    help: 'Probes that got no usable answer, by error code.',
    type: 'counter',
    select: (s, out) => out.push(...s.errors.values()),
  },
  {
    name: 'vigil_transitions_total',
    help: 'State transitions, by the state entered.',
    type: 'counter',
    select: (s, out) => out.push(...s.transitions.values()),
  },
];

function sameLabels(a: CheckPlan, b: CheckPlan): boolean {
  return (
    a.target.name === b.target.name && a.kind === b.kind && (a.target.model ?? '') === (b.target.model ?? '')
  );
}

/**
 * Creates Vigil's metrics with a prom-client registry of their own (never prom-client's global one),
 * holding prom-client's process metrics unless `options.defaultMetrics` is false.
 *
 * @example
 * ```ts
 * const metrics = createMetrics();
 * metrics.observeResult(plan, result);
 * metrics.observeState(plan, evalState);
 * reply.type(metrics.contentType).send(await metrics.render());
 * ```
 */
export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  const checks = new Map<string, CheckEntry>();

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

  /** The series of (plan, region), created on first use; a reloaded plan with other labels starts afresh. */
  const seriesOf = (plan: CheckPlan, region: string): CheckSeries => {
    let entry = checks.get(plan.id);
    if (entry === undefined || (entry.plan !== plan && !sameLabels(entry.plan, plan))) {
      entry = { plan, regions: new Map() };
      checks.set(plan.id, entry);
    } else {
      entry.plan = plan;
    }
    let series = entry.regions.get(region);
    if (series === undefined) {
      series = new CheckSeries(plan, region);
      entry.regions.set(region, series);
    }
    return series;
  };

  /** One family's text, flattened here so that the final join is a copy, not a rope walk of every line. */
  const renderFamily = (family: Family): string => {
    const lines = [familyHeader(family.name, family.help, family.type)];
    const samples: Sample[] = [];
    for (const entry of checks.values()) {
      for (const series of entry.regions.values()) {
        samples.length = 0;
        family.select(series, samples);
        for (const sample of samples) {
          lines.push(`${family.name}{${series.labels}${sample.extra}} ${formatValue(sample.value)}\n`);
        }
      }
    }
    return lines.join('');
  };

  return {
    registry,
    contentType: registry.contentType,
    observeResult(plan, result) {
      const series = seriesOf(plan, result.region);
      series.setLastResult(result);
      series.probes[result.outcome].value++;
      if (result.error !== undefined) series.countError(result.error.code);
    },
    observeState(plan, state) {
      const series = seriesOf(plan, state.region);
      if (!series.hasResult && state.lastResult !== null) series.setLastResult(state.lastResult);
      series.setState(state);
    },
    observeTransition(transition, plan) {
      seriesOf(plan, transition.region).countTransition(transition.to);
    },
    observeLag(lagMs) {
      lag.observe(lagMs > 0 ? lagMs / 1000 : 0);
    },
    removeCheck(plan) {
      checks.delete(plan.id);
    },
    async render() {
      const parts = [await registry.metrics()];
      for (const family of FAMILIES) {
        await nextMacrotask();
        parts.push(renderFamily(family));
      }
      return parts.join('\n');
    },
  };
}
