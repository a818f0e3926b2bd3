/**
 * The vocabulary and judgement of the `metrics` check: a model server's own Prometheus exposition
 * (`GET /metrics`), parsed by `parse-prometheus-text-format` (prom2json's output shape, its sample parser
 * ported from the Prometheus Python client; chosen over hand-written parsing, and over `@prometheus-io/*`,
 * which parse PromQL, not the exposition). Series are selected by name and exact labels; a rule asserts on
 * a gauge's value, or on a counter's per-second rate between this probe and the previous one (Prometheus's
 * `rate` over the probe interval: a counter that went down was reset, and its increase is then its current
 * value, as `rate()` counts it). A metric that is not in the exposition is its own failure
 * (`METRIC_MISSING`: the server changed version or is not that server), never a silent pass.
 *
 * Presets, per server family, name the metrics and default bounds of each server's own docs (see
 * {@link METRICS_PRESETS}, and packages/vigil/METRICS-PRESETS.md). The config schema of a rule
 * ({@link metricRuleSchema}) lives here too, so that `vigil validate` and the judge share one vocabulary.
 * Pure, no I/O: the probe that reads the exposition is `probe/metrics-check.ts`.
 */
import parsePrometheusTextFormat, { type PromFamily } from 'parse-prometheus-text-format';
import { z } from 'zod';
import { GOT } from '../diagnostics/messages.js';
import { editDistance } from '../diagnostics/suggest.js';
import { requiredOr, whenValid } from '../schema/blocks.js';
import type { AssertionFailure, MetricRule, SignalReading } from '../types.js';

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

/** The readings as a result carries them ({@link SignalReading}): selector, kind, value, thresholds. */
export function signalReadings(readings: readonly MetricReading[]): SignalReading[] {
  return readings.map(({ rule, value }) => {
    const reading: SignalReading = { name: label(rule), kind: rule.kind, value };
    if (rule.degraded !== undefined) reading.degraded = rule.degraded;
    if (rule.failed !== undefined) reading.failed = rule.failed;
    return reading;
  });
}

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

// ---------------------------------------------------------------------------------------------
// The config's vocabulary: a rule as written in `checks.metrics.rules`, checked by `vigil validate`.

/** A Prometheus metric name (the exposition format's): letters, digits, `_` and `:`, not starting with a digit. */
export const METRIC_NAME_PATTERN = /^[A-Za-z_:][A-Za-z0-9_:]*$/;
/** A Prometheus label name: letters, digits and `_`, not starting with a digit; `__` is reserved. */
export const METRIC_LABEL_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** The names of every preset's metrics, and names servers used before (for "did you mean"). */
const KNOWN_METRICS: ReadonlySet<string> = new Set([
  ...Object.values(METRICS_PRESETS as Record<string, MetricsPreset>).flatMap((preset) =>
    preset.rules.map((rule) => rule.metric),
  ),
  // vLLM V0's name of the KV-cache gauge (V1: vllm:kv_cache_usage_perc; docs/design/metrics.md).
  'vllm:gpu_cache_usage_perc',
  // Real neighbours of the presets' names, one or two edits away: not typos.
  'vllm:num_requests_running',
  'vllm:num_requests_swapped',
  'Requests2XX',
  'Requests4XX',
  'nv_inference_request_success',
]);

/**
 * A metric name one or two edits from a preset's (a typo of one): the name meant, else undefined. A
 * known name (the presets', and real neighbours such as `Requests4XX`) is not a typo; neither is any
 * name further away (servers export many metrics the presets do not name).
 */
export function misspeltMetric(name: string): string | undefined {
  if (KNOWN_METRICS.has(name) || name.length < 8) return undefined;
  let best: string | undefined;
  let distance = 3;
  for (const known of KNOWN_METRICS) {
    const d = editDistance(name, known);
    if (d < distance) [best, distance] = [known, d];
  }
  return best;
}

const bound = (what: string) =>
  z
    .number({ error: requiredOr(`expected a finite number, got ${GOT}`) })
    .optional()
    .describe(`At or over this the probe ${what} (an upper bound).`);

/**
 * One rule of `checks.metrics.rules`: the metric (a Prometheus name), exact labels, `gauge` (default) or
 * `rate`, how several series combine, and upper bounds. Rules across keys: `degraded` below `failed`; a
 * rate's bounds above 0 (a rate is never negative); a `_total` metric (a counter, by the exposition's
 * naming convention) bounded as a gauge is refused (its value only grows: use `rate`).
 */
export const metricRuleSchema = z
  .strictObject(
    {
      metric: z
        .string({ error: requiredOr(`expected a metric name like "vllm:num_requests_waiting", got ${GOT}`) })
        .regex(METRIC_NAME_PATTERN, {
          error: `expected a Prometheus metric name (letters, digits, "_" and ":", not starting with a digit), got ${GOT}`,
        })
        .describe(
          'Metric name as exposed, e.g. "vllm:num_requests_waiting"; "<histogram>_count" / "_sum" select a histogram\'s count or sum.',
        ),
      labels: z
        .record(
          z.string().regex(METRIC_LABEL_PATTERN, {
            error: `expected a Prometheus label name (letters, digits and "_", not starting with a digit), got ${GOT}`,
          }),
          z.string({ error: `expected a label value (a string), got ${GOT}` }),
        )
        .optional()
        .describe('Exact label values the series must carry; other labels are free.'),
      kind: z
        .enum(['gauge', 'rate'], { error: `expected gauge or rate, got ${GOT}` })
        .default('gauge')
        .describe(
          "gauge: the value now (default); rate: a counter's per-second increase since the previous probe.",
        ),
      aggregate: z
        .enum(['sum', 'max'], { error: `expected sum or max, got ${GOT}` })
        .optional()
        .describe('How several matching series combine. Default: max for gauges, sum for rates.'),
      degraded: bound('is degraded'),
      failed: bound('fails'),
      description: z.string().optional().describe('Why the rule exists, for people (shown in failures).'),
    },
    {
      error: requiredOr(
        `expected a rule like {metric: "vllm:num_requests_waiting", failed: 100}, got ${GOT}`,
      ),
    },
  )
  .superRefine((rule, ctx) => {
    if (rule.degraded !== undefined && rule.failed !== undefined && rule.degraded >= rule.failed) {
      ctx.addIssue({
        code: 'custom',
        path: ['degraded'],
        message: `must be below failed (${rule.failed}): bounds are upper bounds, got ${GOT}`,
        input: rule.degraded,
      });
    }
    if (rule.kind === 'rate') {
      for (const key of ['degraded', 'failed'] as const) {
        const value = rule[key];
        if (value !== undefined && value <= 0)
          ctx.addIssue({
            code: 'custom',
            path: [key],
            message: `a rate is never negative: a bound of ${value} or less always fires (use a number above 0), got ${GOT}`,
            input: value,
          });
      }
    } else if (rule.metric.endsWith('_total') && (rule.degraded !== undefined || rule.failed !== undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: ['kind'],
        message: `${rule.metric} is a counter (a _total only grows): bound its rate with kind: rate, not its value`,
      });
    }
    const meant = misspeltMetric(rule.metric);
    if (meant !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['metric'],
        message: `unknown metric ${GOT}; did you mean "${meant}"?`,
        input: rule.metric,
      });
  }, whenValid)
  .meta({
    id: 'MetricRule',
    description: "One assertion over the exposition: a gauge's value or a counter's rate.",
  });

/** The names of the presets, for the config's `preset:`. */
export const METRICS_PRESET_NAMES = Object.keys(METRICS_PRESETS) as MetricsPresetName[];

/** Identity of a rule: its metric and labels (a config rule with the same one replaces a preset's). */
export function ruleKey(rule: Pick<MetricRule, 'metric' | 'labels'>): string {
  const labels = Object.entries(rule.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `${rule.metric}${JSON.stringify(labels)}`;
}
