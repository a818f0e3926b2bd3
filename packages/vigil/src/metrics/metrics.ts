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

/**
 * Default {@link MetricsOptions.renderSliceMs}: 5 ms. A render of 10,000 checks takes a few hundred
 * ms of CPU; in 5 ms slices it adds at most about 5 ms to the start of a probe due meanwhile, well
 * inside the scheduler's lag budget, for one extra event-loop turn per slice.
 */
export const DEFAULT_RENDER_SLICE_MS = 5;

/**
 * Characters per chunk of {@link Metrics.renderChunks}: 64 Ki, so that a scrape of 10,000 checks
 * (~23 MiB) is a few hundred socket writes, and a chunk in memory stays small.
 */
const CHUNK_CHARS = 64 * 1024;

/** Series written between two looks at the clock while rendering. */
const SERIES_PER_CLOCK_CHECK = 64;

/** Options of {@link createMetrics}. */
export interface MetricsOptions {
  /** Also export prom-client's process and Node.js metrics (`process_*`, `nodejs_*`). Default true. */
  defaultMetrics?: boolean;
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
 * Series per (check, region), labelled `target`, `check` (the kind), `region`, `model`:
 *
 * | metric | type | meaning |
 * | --- | --- | --- |
 * | `probe_success` | gauge | last probe passed: 1 for `pass` and `degraded` (a degraded probe passed), 0 for `fail` |
 * | `probe_duration_seconds` | gauge | last probe's total duration (to the microsecond, as are the phases) |
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
 * each series' label string once, and writes its families itself, in chunks, yielding to the event loop
 * every `renderSliceMs` (within a family too: one family of 10,000 checks is ~50 ms of CPU). prom-client
 * keeps the process metrics and the lag histogram, and {@link Metrics.registry} stays open to other
 * components. `bench`: `metrics.bench.ts`.
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
   * families. Yields to the event loop every `renderSliceMs`, so a probe finishing meanwhile may show
   * in later series only (as with any exporter whose scrape is not atomic). The whole text at once:
   * prefer {@link renderChunks} to send it (at 10,000 checks it is ~23 MiB).
   */
  render(): Promise<string>;
  /**
   * The text of {@link render} in chunks of about 64 Ki characters, written as they are asked for:
   * a consumer that streams them (`Readable.from(metrics.renderChunks())`) never holds the whole
   * scrape in memory. Yields to the event loop every `renderSliceMs`.
   *
   * @example
   * ```ts
   * reply.type(metrics.contentType).send(Readable.from(metrics.renderChunks()));
   * ```
   */
  renderChunks(): AsyncIterable<string>;
}

/** `,name="value"`, the value escaped. */
const extraLabel = (name: string, value: string): string => `,${name}="${escapeLabelValue(value)}"`;

/** Outcomes in the order of `vigil_probes_total`'s series. */
const OUTCOMES: readonly Outcome[] = ['pass', 'degraded', 'fail'];

/** States in the order of `vigil_transitions_total`'s series; `unknown` shows only once counted. */
const TRANSITION_STATES: readonly CheckState[] = [...INITIAL_TRANSITION_STATES, 'unknown'];

// Where each value of a (check, region) sits in CheckSeries.values: one slot per series, families
// in a row, their series in the order of the label values above.
const SUCCESS = 0;
const DURATION = 1;
const PHASE = 2;
const HTTP_STATUS = PHASE + PHASES.length;
const STATE = HTTP_STATUS + 1;
const FLAPPING = STATE + CHECK_STATES.length;
const CONSECUTIVE_FAILURES = FLAPPING + 1;
const PROBES = CONSECUTIVE_FAILURES + 1;
const TRANSITIONS = PROBES + OUTCOMES.length;
const SLOTS = TRANSITIONS + TRANSITION_STATES.length;

const indexOf = <T extends string>(values: readonly T[]): Readonly<Record<string, number>> =>
  Object.fromEntries(values.map((v, i) => [v, i]));
const STATE_INDEX = indexOf(CHECK_STATES);
const OUTCOME_INDEX = indexOf(OUTCOMES);
const TRANSITION_INDEX = indexOf(TRANSITION_STATES);

// The labels series add to their (check, region)'s, formatted once for every check.
const NO_EXTRA: readonly string[] = [''];
const PHASE_EXTRAS = PHASES.map(([phase]) => extraLabel('phase', phase));
const STATE_EXTRAS = CHECK_STATES.map((state) => extraLabel('state', state));
const OUTCOME_EXTRAS = OUTCOMES.map((outcome) => extraLabel('outcome', outcome));
const TRANSITION_EXTRAS = TRANSITION_STATES.map((to) => extraLabel('to', to));
/** `,code="…"` by error code, shared by every check (the codes are a small fixed set). */
const CODE_EXTRAS = new Map<string, string>();

function codeExtra(code: string): string {
  let extra = CODE_EXTRAS.get(code);
  if (extra === undefined) {
    extra = extraLabel('code', code);
    CODE_EXTRAS.set(code, extra);
  }
  return extra;
}

/**
 * The series of one (check, region): its label string and every value, as doubles in one array
 * (slots above) rather than an object per series: ~0.3 kB per check instead of ~3 kB, which at
 * 10,000 checks is ~30 MB less to keep and to trace at every full GC.
 */
class CheckSeries {
  readonly region: string;
  /** The (check, region)'s labels, formatted once: `target="…",check="…",region="…",model="…"`. */
  readonly labels: string;
  hasResult = false;
  hasState = false;
  readonly values: number[] = Array.from({ length: SLOTS }, () => 0);
  /** Index in {@link CHECK_STATES} of the state whose sample is 1. */
  stateIndex = 0;
  /** Counts by error code, from the first error on. */
  errors: Map<string, number> | undefined;

  constructor(plan: CheckPlan, region: string) {
    this.region = region;
    this.labels = formatLabels({
      target: plan.target.name,
      check: plan.kind,
      region,
      model: plan.target.model ?? '',
    });
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
  }

  setState(state: EvalState): void {
    const v = this.values;
    this.hasState = true;
    const index = STATE_INDEX[state.state] ?? 0;
    v[STATE + this.stateIndex] = 0;
    v[STATE + index] = 1;
    this.stateIndex = index;
    v[FLAPPING] = state.flapping ? 1 : 0;
    v[CONSECUTIVE_FAILURES] = state.consecutiveFailures;
  }

  countProbe(outcome: Outcome): void {
    (this.values[PROBES + (OUTCOME_INDEX[outcome] ?? 0)] as number)++;
  }

  countError(code: string): void {
    this.errors ??= new Map();
    this.errors.set(code, (this.errors.get(code) ?? 0) + 1);
  }

  countTransition(to: CheckState): void {
    const index = TRANSITION_INDEX[to];
    if (index !== undefined) (this.values[TRANSITIONS + index] as number)++;
  }
}

/**
 * Milliseconds as seconds rounded to the microsecond: the timers' real resolution, and 8 characters
 * (`0.001235`) where the raw quotient prints up to 21 (`0.0012345677999999999`) in every scrape.
 */
function msToSeconds(ms: number): number {
  return Math.round(ms * 1000) / 1e6;
}

/**
 * The series of one check: its plan (whose identity tells a reload apart) and one {@link CheckSeries}
 * per region, in a plain array: a check has a handful of regions, and a Map per check cost ~450 bytes
 * of the hub's heap each (10,000 checks: 4.5 MB; BENCHMARKS.md, "V8 heap flags").
 */
interface CheckEntry {
  plan: CheckPlan;
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

/** One per-check metric family: which of a series' samples it shows. */
interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'gauge' | 'counter';
  write(series: CheckSeries, out: ChunkWriter): void;
}

/** A family of the last result's values, from slot `first` on, one per extra label. */
function resultFamily(name: string, help: string, first: number, extras = NO_EXTRA): Family {
  return { name, help, type: 'gauge', write: (s, out) => s.hasResult && out.slots(s.values, first, extras) };
}

/** A family of the evaluator's state, from slot `first` on, one per extra label. */
function stateFamily(name: string, help: string, first: number, extras = NO_EXTRA): Family {
  return { name, help, type: 'gauge', write: (s, out) => s.hasState && out.slots(s.values, first, extras) };
}

const FAMILIES: readonly Family[] = [
  resultFamily(
    'probe_success',
    'Whether the last probe passed (1 for pass and degraded, 0 for fail).',
    SUCCESS,
  ),
  resultFamily('probe_duration_seconds', 'Total duration of the last probe in seconds.', DURATION),
  resultFamily(
    'probe_http_duration_seconds',
    "Duration of each phase of the last probe's main HTTP exchange in seconds.",
    PHASE,
    PHASE_EXTRAS,
  ),
  resultFamily(
    'probe_http_status_code',
    'HTTP status of the last probe; 0 when no response arrived.',
    HTTP_STATUS,
  ),
  stateFamily(
    'vigil_check_state',
    'Current state of the check: 1 for the state it is in, 0 for the others.',
    STATE,
    STATE_EXTRAS,
  ),
  stateFamily('vigil_check_flapping', 'Whether the check is flapping (1) or not (0).', FLAPPING),
  stateFamily(
    'vigil_check_consecutive_failures',
    'Consecutive failed probes of the check.',
    CONSECUTIVE_FAILURES,
  ),
  {
    name: 'vigil_probes_total',
    help: 'Probes run, by outcome (pass, degraded, fail).',
    type: 'counter',
    write: (s, out) => out.slots(s.values, PROBES, OUTCOME_EXTRAS),
  },
  {
    name: 'vigil_probe_errors_total',
    help: 'Probes that got no usable answer, by error code.',
    type: 'counter',
    write: (s, out) => {
      if (s.errors !== undefined) for (const [code, count] of s.errors) out.sample(codeExtra(code), count);
    },
  },
  {
    name: 'vigil_transitions_total',
    help: 'State transitions, by the state entered.',
    type: 'counter',
    write: (s, out) => {
      const last = TRANSITION_STATES.length - 1;
      // The states in INITIAL_TRANSITION_STATES always; `unknown` once it was entered.
      const count = (s.values[TRANSITIONS + last] as number) > 0 ? last + 1 : last;
      for (let i = 0; i < count; i++)
        out.sample(TRANSITION_EXTRAS[i] as string, s.values[TRANSITIONS + i] as number);
    },
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
  const sliceMs = options.renderSliceMs ?? DEFAULT_RENDER_SLICE_MS;

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
      entry = { plan, regions: [] };
      checks.set(plan.id, entry);
    } else {
      entry.plan = plan;
    }
    for (const series of entry.regions) if (series.region === region) return series;
    const series = new CheckSeries(plan, region);
    entry.regions.push(series);
    return series;
  };

  /** The exposition in chunks; see {@link Metrics.renderChunks}. */
  async function* renderChunks(): AsyncGenerator<string> {
    yield await registry.metrics();
    const out = new ChunkWriter();
    let sliceStart = performance.now();
    let written = 0;
    for (const family of FAMILIES) {
      out.text += `\n${familyHeader(family.name, family.help, family.type)}`;
      // A Map iterator survives the yields: a check added meanwhile shows, a removed one does not.
      for (const entry of checks.values()) {
        for (const series of entry.regions) {
          out.prefix = `${family.name}{${series.labels}`;
          family.write(series, out);
          if (out.text.length >= CHUNK_CHARS) {
            yield out.text;
            out.text = '';
          }
          if (++written % SERIES_PER_CLOCK_CHECK === 0 && performance.now() - sliceStart >= sliceMs) {
            await nextMacrotask();
            sliceStart = performance.now();
          }
        }
      }
    }
    if (out.text !== '') yield out.text;
  }

  return {
    registry,
    contentType: registry.contentType,
    observeResult(plan, result) {
      const series = seriesOf(plan, result.region);
      series.setLastResult(result);
      series.countProbe(result.outcome);
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
      const parts: string[] = [];
      for await (const chunk of renderChunks()) parts.push(chunk);
      return parts.join('');
    },
    renderChunks,
  };
}
