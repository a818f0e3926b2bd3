/**
 * Reading a model server's own Prometheus exposition (`GET /metrics`) and judging it: the engine of
 * the `metrics` check. The text is parsed by `parse-prometheus-text-format` (prom2json's output shape,
 * its sample parser ported from the Prometheus Python client; chosen over hand-written parsing, and over
 * `@prometheus-io/*`, which parse PromQL, not the exposition). Series are selected by name and exact
 * labels; a rule asserts on a gauge's value, or on a counter's per-second rate between this probe and
 * the previous one (Prometheus's `rate` over the probe interval: a counter that went down was reset, and
 * its increase is then its current value, as `rate()` counts it). A metric that is not in the
 * exposition is its own failure (`METRIC_MISSING`: the server changed version or is not that server),
 * never a silent pass. The body is read within the target's body cap like every other answer.
 *
 * Presets, per server family, name the metrics and default bounds of each server's own docs (see
 * {@link METRICS_PRESETS}, and PROTOCOLS-level docs in packages/vigil/METRICS-PRESETS.md).
 */
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { createAdapterContext } from '../protocols/index.js';
import type { AssertionFailure, CheckKind, HttpClient, ProbeResult, TargetConfig } from '../types.js';

/** One assertion over the exposition. Bounds are upper bounds: at or over → degraded / failed. */
export interface MetricRule {
  /** Metric name as exposed, e.g. `vllm:num_requests_waiting`; `<histogram>_count` / `_sum` select a histogram's or summary's count or sum. */
  metric: string;
  /** Exact label values the series must carry; other labels are free. */
  labels?: Record<string, string>;
  /** `gauge`: the value now; `rate`: per-second increase since the previous probe (counters). */
  kind: 'gauge' | 'rate';
  /** How matching series combine: `sum` (default for rates) or `max` (default for gauges). */
  aggregate?: 'sum' | 'max';
  degraded?: number;
  failed?: number;
  /** Why the rule exists, for people (shown in failures). */
  description?: string;
}

/** A server family's rules, and where their names come from. */
export interface MetricsPreset {
  /** Where the server exposes its metrics, relative to the target URL (or on its metrics port). */
  path: string;
  rules: MetricRule[];
  /** The docs or source each metric name was checked against. */
  sources: string[];
}

/**
 * Presets per server family. Names checked against each server's own docs (sources listed per preset);
 * bounds are starting points, to be tuned per deployment.
 */
export const METRICS_PRESETS = {
  /** vLLM (V1 engine): docs/design/metrics.md; vllm/v1/metrics/loggers.py. */
  vllm: {
    path: '/metrics',
    rules: [
      {
        metric: 'vllm:num_requests_waiting',
        kind: 'gauge',
        degraded: 10,
        failed: 100,
        description: 'requests queued, not yet scheduled',
      },
      {
        metric: 'vllm:kv_cache_usage_perc',
        kind: 'gauge',
        degraded: 0.9,
        failed: 0.99,
        description: 'KV-cache blocks in use (1 = 100 %)',
      },
    ],
    sources: [
      'https://docs.vllm.ai/en/latest/design/metrics.html (vllm:num_requests_waiting, vllm:kv_cache_usage_perc; V0 named the latter vllm:gpu_cache_usage_perc)',
    ],
  },
  /** Hugging Face TGI: docs/source/reference/metrics.md. */
  tgi: {
    path: '/metrics',
    rules: [
      {
        metric: 'tgi_queue_size',
        kind: 'gauge',
        degraded: 10,
        failed: 100,
        description: 'requests waiting in the queue',
      },
      {
        metric: 'tgi_request_failure',
        kind: 'rate',
        degraded: 0.01,
        failed: 0.1,
        description: 'failed requests per second',
      },
    ],
    sources: [
      'https://huggingface.co/docs/text-generation-inference/reference/metrics (tgi_queue_size, tgi_request_failure)',
    ],
  },
  /** NVIDIA Triton: docs/user_guide/metrics.md (port 8002 by default). */
  triton: {
    path: '/metrics',
    rules: [
      {
        metric: 'nv_inference_pending_request_count',
        kind: 'gauge',
        degraded: 10,
        failed: 100,
        description: 'requests received and not yet executed',
      },
      {
        metric: 'nv_inference_request_failure',
        kind: 'rate',
        degraded: 0.01,
        failed: 0.1,
        description: 'failed inference requests per second',
      },
      {
        metric: 'nv_inference_queue_duration_us',
        kind: 'rate',
        degraded: 100_000,
        failed: 1_000_000,
        description: 'µs spent queued per second (cumulative counter)',
      },
    ],
    sources: [
      'https://github.com/triton-inference-server/server/blob/main/docs/user_guide/metrics.md (nv_inference_pending_request_count, nv_inference_request_failure, nv_inference_queue_duration_us)',
    ],
  },
  /** TorchServe, metrics_mode=prometheus, metrics API on port 8082: docs/metrics.md. */
  torchserve: {
    path: '/metrics',
    rules: [
      {
        metric: 'Requests5XX',
        kind: 'rate',
        degraded: 0.01,
        failed: 0.1,
        description: 'server errors per second',
      },
      {
        metric: 'ts_queue_latency_microseconds',
        kind: 'rate',
        degraded: 100_000,
        failed: 1_000_000,
        description: 'µs spent queued per second (cumulative counter)',
      },
    ],
    sources: [
      'https://pytorch.org/serve/metrics.html and https://pytorch.org/serve/metrics_api.html (Requests5XX, ts_queue_latency_microseconds)',
    ],
  },
  /** KServe's Python model server: request_predict_seconds (histogram), python/kserve/kserve/metrics.py. */
  kserve: {
    path: '/metrics',
    rules: [
      {
        metric: 'request_predict_seconds_count',
        kind: 'rate',
        description: 'predictions per second (present = the model server exports; no bound)',
      },
    ],
    sources: [
      'https://kserve.github.io/website/latest/modelserving/observability/prometheus_metrics/ (request_preprocess_seconds, request_predict_seconds, request_postprocess_seconds, request_explain_seconds)',
    ],
  },
} as const satisfies Record<string, MetricsPreset>;

/** A server family with a preset. */
export type MetricsPresetName = keyof typeof METRICS_PRESETS;

/** Error code of a rule whose metric is not in the exposition. */
export const METRIC_MISSING = 'METRIC_MISSING';

/** One rule's reading. */
export interface MetricReading {
  rule: MetricRule;
  /** The value judged; null when missing or, for a rate, on the first probe. */
  value: number | null;
  /** Series that matched. */
  series: number;
}

/** The judgement of one exposition. */
export interface MetricsVerdict {
  failures: AssertionFailure[];
  degraded: AssertionFailure[];
  readings: MetricReading[];
  /** A rule's metric was missing (the first one's message). */
  missing?: string;
  notes: string[];
}

const label = (rule: MetricRule): string => {
  const labels = Object.entries(rule.labels ?? {});
  return labels.length === 0
    ? rule.metric
    : `${rule.metric}{${labels.map(([k, v]) => `${k}="${v}"`).join(',')}}`;
};

/** The values of the series a rule selects (NaN values skipped). */
function select(families: Map<string, PromFamily>, rule: MetricRule): number[] | undefined {
  let family = families.get(rule.metric);
  let field: 'value' | 'count' | 'sum' = 'value';
  if (family === undefined) {
    const suffix = /_(count|sum)$/.exec(rule.metric);
    if (suffix !== null) {
      family = families.get(rule.metric.slice(0, -suffix[0].length));
      if (family?.type === 'HISTOGRAM' || family?.type === 'SUMMARY') field = suffix[1] as 'count' | 'sum';
      else family = undefined;
    }
  }
  if (family === undefined) return undefined;
  const wanted = Object.entries(rule.labels ?? {});
  const values: number[] = [];
  for (const sample of family.metrics) {
    if (!wanted.every(([k, v]) => sample.labels?.[k] === v)) continue;
    const value = Number(sample[field]);
    if (!Number.isNaN(value)) values.push(value);
  }
  return values.length === 0 ? undefined : values;
}

/**
 * Judges expositions one after another: keeps each rate rule's previous total and time. One per check.
 *
 * @example
 * const judge = new MetricsJudge(METRICS_PRESETS.vllm.rules);
 * const verdict = judge.judge('vllm:num_requests_waiting{model_name="m"} 3\n', Date.now());
 */
export class MetricsJudge {
  readonly #rules: readonly MetricRule[];
  readonly #previous = new Map<number, { total: number; atMs: number }>();

  constructor(rules: readonly MetricRule[]) {
    this.#rules = rules;
  }

  /**
   * Parses `text` and applies every rule. `atMs` is when the exposition was read (a monotonic or
   * wall clock, the same for every call). Throws nothing: an exposition that cannot be parsed is a
   * failure of the first rule's kind `metrics`.
   */
  judge(text: string, atMs: number): MetricsVerdict {
    const verdict: MetricsVerdict = { failures: [], degraded: [], readings: [], notes: [] };
    let parsed: PromFamily[];
    try {
      parsed = parsePrometheusTextFormat(text);
    } catch (err) {
      const message = `the exposition cannot be parsed: ${err instanceof Error ? err.message : String(err)}`;
      verdict.failures.push({
        assertion: 'metrics',
        expected: 'Prometheus text format',
        actual: null,
        message,
      });
      return verdict;
    }
    const families = new Map(parsed.map((f) => [f.name, f]));
    for (const [index, rule] of this.#rules.entries()) {
      const values = select(families, rule);
      const name = label(rule);
      if (values === undefined) {
        const message = `${name} is not in the exposition (${families.size} metric families): renamed in another server version, or not this server`;
        verdict.missing ??= message;
        verdict.failures.push({
          assertion: 'metrics',
          selector: name,
          expected: 'present',
          actual: null,
          message,
        });
        verdict.readings.push({ rule, value: null, series: 0 });
        this.#previous.delete(index);
        continue;
      }
      const aggregate = rule.aggregate ?? (rule.kind === 'rate' ? 'sum' : 'max');
      const now = aggregate === 'sum' ? values.reduce((a, b) => a + b, 0) : Math.max(...values);
      let value: number | null = now;
      if (rule.kind === 'rate') {
        const before = this.#previous.get(index);
        this.#previous.set(index, { total: now, atMs });
        if (before === undefined || atMs <= before.atMs) {
          value = null;
          verdict.notes.push(`${name}: a rate needs two probes; this is the first`);
        } else {
          // A counter that went down was reset (a restart): its increase is its value since then.
          const increase = now >= before.total ? now - before.total : now;
          value = (increase * 1000) / (atMs - before.atMs);
        }
      }
      verdict.readings.push({ rule, value, series: values.length });
      if (value === null) continue;
      const what = rule.kind === 'rate' ? `rate(${name})` : name;
      const shown = Number.isInteger(value) ? String(value) : value.toPrecision(4);
      const why = rule.description === undefined ? '' : ` (${rule.description})`;
      if (rule.failed !== undefined && value >= rule.failed) {
        verdict.failures.push({
          assertion: 'metrics',
          selector: what,
          operator: 'lt',
          expected: { failed: rule.failed },
          actual: value,
          message: `${what} ${shown} ≥ failed threshold ${rule.failed}${why}`,
        });
      } else if (rule.degraded !== undefined && value >= rule.degraded) {
        verdict.degraded.push({
          assertion: 'metrics',
          selector: what,
          operator: 'lt',
          expected: { degraded: rule.degraded },
          actual: value,
          message: `${what} ${shown} ≥ degraded threshold ${rule.degraded}${why}`,
        });
      }
    }
    return verdict;
  }
}

/** What {@link probeMetrics} reads and how. */
export interface MetricsProbeSpec {
  /** `<target>/metrics`. */
  checkId: string;
  /**
   * The kind the result reports as. `metrics` is not yet a check kind of the config file (the result
   * shape needs one of {@link CheckKind}); a caller picks the one the signal stands for, usually
   * `readiness` (saturation: should traffic go there).
   */
  check: CheckKind;
  target: TargetConfig;
  /** Path of the exposition, relative to `baseUrl ?? target.url`. Default `/metrics`. */
  path?: string;
  /** Another base URL (a separate metrics port: Triton 8002, TorchServe 8082). */
  baseUrl?: string;
  timeoutMs: number;
}

/**
 * Reads the exposition once (the target's headers, auth, TLS and body cap apply) and judges it with
 * `judge` (which keeps the previous totals for rates). Outcome: `fail` on a transport error (its code),
 * a non-2xx status (`UNEXPECTED_STATUS`), a missing metric (`METRIC_MISSING`) or a failed bound;
 * `degraded` on a degraded bound; else `pass`. Never throws for anything the server answers.
 */
export async function probeMetrics(
  client: HttpClient,
  spec: MetricsProbeSpec,
  judge: MetricsJudge,
  region = 'local',
): Promise<ProbeResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  const ctx = createAdapterContext(client, spec.target, { timeoutMs: spec.timeoutMs, startedAt: t0 });
  const exchange = await ctx.fetch({
    path: spec.path ?? '/metrics',
    ...(spec.baseUrl !== undefined && { baseUrl: spec.baseUrl }),
  });
  const result: ProbeResult = {
    checkId: spec.checkId,
    target: spec.target.name,
    check: spec.check,
    region,
    startedAt,
    durationMs: performance.now() - t0,
    phases: exchange.phases,
    outcome: 'pass',
    failures: [],
  };
  const fail = (code: Uppercase<string>, message: string): ProbeResult => {
    result.outcome = 'fail';
    result.error = { code, message };
    result.failures = [{ assertion: 'metrics', expected: 'a readable exposition', actual: message, message }];
    return result;
  };
  if (exchange.error || !exchange.response) {
    const error = exchange.error ?? { code: 'NETWORK' as const, message: 'no response' };
    return fail(error.code, `GET ${spec.path ?? '/metrics'}: ${error.message}`);
  }
  const { response } = exchange;
  result.httpStatus = response.status;
  if (response.status < 200 || response.status > 299)
    return fail('UNEXPECTED_STATUS', `GET ${spec.path ?? '/metrics'} answered ${response.status}`);
  const verdict = judge.judge(response.body.toString('utf8'), t0);
  if (verdict.notes.length > 0) result.notes = verdict.notes;
  if (verdict.missing !== undefined) result.error = { code: METRIC_MISSING, message: verdict.missing };
  if (verdict.failures.length > 0) {
    result.outcome = 'fail';
    result.failures = verdict.failures;
  } else if (verdict.degraded.length > 0) {
    result.outcome = 'degraded';
    result.failures = verdict.degraded;
  }
  return result;
}
