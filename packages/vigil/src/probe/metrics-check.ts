/**
 * The `metrics` check's probe: reads a model server's own Prometheus exposition (`GET /metrics`, or the
 * check's `path` on its `url`) within the target's headers, auth, TLS and body cap, and judges it with
 * a {@link MetricsJudge} (`assertions/metrics.ts`: presets, rules, parsing, rates). A hub keeps one judge
 * per check ({@link createMetricsRunner}) so that counter rates span two probes.
 */
import { METRIC_MISSING, MetricsJudge, signalReadings } from '../assertions/metrics.js';
import { createAdapterContext } from '../protocols/index.js';
import type {
  CheckKind,
  CheckPlan,
  HttpClient,
  HttpExchange,
  HttpRequest,
  MetricsPlan,
  ProbeResult,
  TargetConfig,
} from '../types.js';

/** A probe's main exchange as it happened (run-probe's `CapturedExchange`; not imported: run-probe imports this file). */
export interface MetricsCapturedExchange {
  startedAt: number;
  request: HttpRequest;
  exchange: HttpExchange;
}

/** What a metrics probe runs with (a subset of run-probe's `ProbeDeps`). */
export interface MetricsProbeDeps {
  client: HttpClient;
  region?: string;
  onExchange?: (captured: MetricsCapturedExchange) => void;
}

export {
  METRIC_MISSING,
  METRICS_PRESETS,
  type MetricReading,
  MetricsJudge,
  type MetricsPreset,
  type MetricsPresetName,
  type MetricsVerdict,
} from '../assertions/metrics.js';
export type { MetricRule } from '../types.js';

/** What {@link probeMetrics} reads and how. */
export interface MetricsProbeSpec {
  /** `<target>/metrics`. */
  checkId: string;
  /** The kind the result reports as: `metrics` for a config's check. */
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
  onExchange?: (captured: MetricsCapturedExchange) => void,
): Promise<ProbeResult> {
  const startedAt = Date.now();
  const t0 = performance.now();
  let sent: [HttpRequest, HttpExchange] | undefined;
  const capturing: HttpClient =
    onExchange === undefined
      ? client
      : {
          request: async (request) => {
            const exchange = await client.request(request);
            sent = [request, exchange];
            return exchange;
          },
          close: () => client.close(),
        };
  const ctx = createAdapterContext(capturing, spec.target, { timeoutMs: spec.timeoutMs, startedAt: t0 });
  const exchange = await ctx.fetch({
    path: spec.path ?? '/metrics',
    ...(spec.baseUrl !== undefined && { baseUrl: spec.baseUrl }),
  });
  if (onExchange !== undefined && sent !== undefined)
    onExchange({ startedAt, request: sent[0], exchange: sent[1] });
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
  if (verdict.readings.length > 0) result.readings = signalReadings(verdict.readings);
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

/** A metrics check's plan: kind `metrics`, with its {@link MetricsPlan}. */
export type MetricsCheckPlan = CheckPlan & { kind: 'metrics'; metrics: MetricsPlan };

/** Whether `plan` is a metrics check with its rules (a config's `checks.metrics`). */
export function isMetricsPlan(plan: CheckPlan): plan is MetricsCheckPlan {
  return plan.kind === 'metrics' && plan.metrics !== undefined;
}

/** Runs metrics checks, keeping each check's judge (its counters' previous totals) between probes. */
export interface MetricsRunner {
  /** One probe of `plan` with its check's judge (a new one when its rules changed). Never rejects for the server's answers. */
  run(plan: MetricsCheckPlan, deps: MetricsProbeDeps): Promise<ProbeResult>;
  /** Forgets a removed check's judge. */
  forget(checkId: string): void;
}

/** The probe spec of a metrics plan. */
export function metricsSpecOf(plan: MetricsCheckPlan): MetricsProbeSpec {
  return {
    checkId: plan.id,
    check: 'metrics',
    target: plan.target,
    path: plan.metrics.path,
    ...(plan.metrics.baseUrl !== undefined && { baseUrl: plan.metrics.baseUrl }),
    timeoutMs: plan.timeoutMs,
  };
}

/**
 * A runner for a hub: one {@link MetricsJudge} per check id, replaced when the check's rules change (a
 * reload that changed them starts its rates over: one probe with a note instead of a rate).
 *
 * @example
 * const runner = createMetricsRunner();
 * if (isMetricsPlan(plan)) console.log((await runner.run(plan, { client })).outcome);
 */
export function createMetricsRunner(): MetricsRunner {
  const judges = new Map<string, { rules: MetricsPlan['rules']; key: string; judge: MetricsJudge }>();
  const judgeOf = (plan: MetricsCheckPlan): MetricsJudge => {
    const held = judges.get(plan.id);
    // The same rules object (an unchanged plan) skips the comparison of their text.
    if (held !== undefined && held.rules === plan.metrics.rules) return held.judge;
    const key = JSON.stringify(plan.metrics.rules);
    if (held !== undefined && held.key === key) {
      held.rules = plan.metrics.rules;
      return held.judge;
    }
    const judge = new MetricsJudge(plan.metrics.rules);
    judges.set(plan.id, { rules: plan.metrics.rules, key, judge });
    return judge;
  };
  return {
    run: (plan, deps) =>
      probeMetrics(deps.client, metricsSpecOf(plan), judgeOf(plan), deps.region ?? 'local', deps.onExchange),
    forget: (checkId) => {
      judges.delete(checkId);
    },
  };
}
