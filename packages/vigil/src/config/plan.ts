import { resolveActionPolicy } from '../actions/index.js';
import {
  METRICS_PRESETS,
  type MetricsPreset,
  type MetricsPresetName,
  ruleKey,
} from '../assertions/metrics.js';
import { adaptiveFactors } from '../canary/latency.js';
import { DEFAULT_MAX_CASES_PER_RUN } from '../canary/rotation.js';
import { parseDuration } from '../diagnostics/duration.js';
import { ConfigError } from '../errors.js';
import { getProtocol, type ProtocolPlugin } from '../protocols/index.js';
import {
  type CanaryPlan,
  CHECK_KINDS,
  type CheckKind,
  type CheckPlan,
  type ExpectConfig,
  type MetricRule,
  type MetricsPlan,
  type TargetConfig,
} from '../types.js';
import { resolveBudget } from './budget.js';
import { parseQuorum } from './regions.js';
import { failoverAtMsOf, trafficCheckId } from './routers.js';
import type { CheckSpec, ExpectSpec, TargetSpec, VigilConfig } from './schema.js';

/**
 * Resolves a validated config into the checks to run: one {@link CheckPlan} per configured check, targets
 * in file order and each target's checks in the order liveness, readiness, integrity, canary, metrics.
 *
 * Every value is resolved: timing keys from the check, else its target, else `defaults` (durations in
 * milliseconds; `fastInterval: false` → `fastIntervalMs: null`; liveness always has successThreshold 1,
 * as in Kubernetes); `id` is `<target>/<kind>`; the target's `labels` and `headers` default to `{}`;
 * `expect.latency` becomes `{degradedMs, failedMs}`; the target's `budget` is resolved with its defaults
 * (`resolveBudget`); a check's `request` is copied, then its protocol's plan hook (`planCheck` of its
 * plugin) adds what that protocol defaults, such as a request or a method.
 *
 * @example buildPlan(config).map((plan) => plan.id) // ['credit-scorer/liveness', 'credit-scorer/readiness']
 * @param config from {@link loadConfig} or {@link parseConfig}, whose files are already resolved
 * @throws ConfigError `VIGIL_ERR_CONFIG_INVALID` if an `expect.schema` is still a file name, i.e. the config
 *   came from `configSchema.parse` rather than the loader (which reads schema files); ConfigError
 *   `VIGIL_ERR_PROTOCOL_UNKNOWN` for a target whose protocol is not registered (a config built by hand)
 */
export function buildPlan(config: VigilConfig): CheckPlan[] {
  const plans: CheckPlan[] = [];
  for (const [index, spec] of config.targets.entries()) {
    const protocol = getProtocol(spec.protocol);
    const target = toTargetConfig(spec, protocol);
    for (const kind of CHECK_KINDS) {
      const check: CheckSpec | undefined = spec.checks[kind];
      if (check === undefined) continue;
      const plan = toCheckPlan(config, spec, target, protocol, kind, check);
      // Recovery actions: the check's own block, else its target's (scope: whose block it is).
      if (check.actions !== undefined)
        plan.actions = resolveActionPolicy(
          check.actions,
          plan.id,
          `targets[${index}].checks.${kind}.actions`,
          target.labels,
        );
      else if (spec.actions !== undefined)
        plan.actions = resolveActionPolicy(
          spec.actions,
          spec.name,
          `targets[${index}].actions`,
          target.labels,
        );
      plans.push(plan);
    }
  }
  return plans;
}

/**
 * The traffic checks of a validated config: one per router and upstream (its primary and each
 * secondary), id `<target>/traffic:<router>` ({@link trafficCheckId}), kind `traffic`. Never probed:
 * the router feeds them (`Hub.ingest`) with results of source `traffic`, one per `traffic.interval`
 * while the upstream has traffic or is ejected. Thresholds from the router's `traffic` block;
 * `expect.latency` shows the policy's `failoverAt` (degraded) and `deadline` (failed); no fast
 * interval, initial delay or startup grace (nothing to schedule).
 *
 * @example buildTrafficPlan(config).map((p) => p.id) // ['credit-a/traffic:credit', 'credit-b/traffic:credit']
 */
export function buildTrafficPlan(config: VigilConfig): CheckPlan[] {
  const targets = new Map(config.targets.map((spec) => [spec.name, spec]));
  const plans: CheckPlan[] = [];
  for (const router of config.routers ?? []) {
    const deadlineMs = parseDuration(router.policy.deadline);
    const failoverAtMs = failoverAtMsOf(router.policy);
    for (const name of [router.primary, ...router.secondaries]) {
      const spec = targets.get(name);
      if (spec === undefined) continue;
      plans.push({
        id: trafficCheckId(name, router.name),
        target: toTargetConfig(spec, getProtocol(spec.protocol)),
        kind: 'traffic',
        intervalMs: parseDuration(router.traffic.interval),
        timeoutMs: deadlineMs,
        failureThreshold: router.traffic.failureThreshold,
        successThreshold: router.traffic.successThreshold,
        fastIntervalMs: null,
        initialDelayMs: 0,
        startupGraceMs: 0,
        expect: { latency: { degradedMs: failoverAtMs, failedMs: deadlineMs } },
        // Placed in another region than the hub's: the check is that region's (one region, never
        // judged across regions: hub/regions.ts isMultiRegion).
        ...(router.region !== undefined && router.region !== config.region && { regions: [router.region] }),
      });
    }
  }
  return plans;
}

function toTargetConfig(spec: TargetSpec, protocol: ProtocolPlugin): TargetConfig {
  const options = Object.keys(protocol.targetOptions).flatMap((key) => {
    const value = (spec as Record<string, unknown>)[key];
    return value === undefined ? [] : [[key, value] as const];
  });
  return {
    name: spec.name,
    url: spec.url,
    protocol: spec.protocol,
    ...(spec.model !== undefined && { model: spec.model }),
    ...(spec.version !== undefined && { version: spec.version }),
    ...Object.fromEntries(options),
    labels: spec.labels ?? {},
    headers: spec.headers ?? {},
    ...(spec.auth !== undefined && { auth: spec.auth }),
    ...(spec.tls !== undefined && { tls: spec.tls }),
    ...(spec.proxyUrl !== undefined && { proxyUrl: spec.proxyUrl }),
    maxBodyBytes: spec.maxBodyBytes,
    maxRedirects: spec.maxRedirects,
    budget: resolveBudget(spec.budget),
  };
}

function toCheckPlan(
  config: VigilConfig,
  spec: TargetSpec,
  target: TargetConfig,
  protocol: ProtocolPlugin,
  kind: CheckKind,
  check: CheckSpec,
): CheckPlan {
  const { defaults } = config;
  const id = `${spec.name}/${kind}`;
  const fastInterval = check.fastInterval ?? spec.fastInterval ?? defaults.fastInterval;
  const plan: CheckPlan = {
    id,
    target,
    kind,
    intervalMs: parseDuration(check.interval ?? spec.interval ?? defaults.interval),
    timeoutMs: parseDuration(check.timeout ?? spec.timeout ?? defaults.timeout),
    failureThreshold: check.failureThreshold ?? spec.failureThreshold ?? defaults.failureThreshold,
    // Kubernetes: successThreshold must be 1 for liveness; inherited values do not apply to it.
    successThreshold:
      kind === 'liveness'
        ? 1
        : (check.successThreshold ?? spec.successThreshold ?? defaults.successThreshold),
    fastIntervalMs: fastInterval === false ? null : parseDuration(fastInterval),
    initialDelayMs: parseDuration(check.initialDelay ?? spec.initialDelay ?? defaults.initialDelay),
    startupGraceMs: parseDuration(check.startupGrace ?? spec.startupGrace ?? defaults.startupGrace),
    expect: toExpectConfig(check.expect, id),
  };
  if ('latencyHistogram' in check && check.latencyHistogram === true) plan.latencyHistogram = true;
  // A metrics check reads the server's exposition whatever its protocol: no request, no plan hook.
  if (kind === 'metrics') {
    plan.metrics = toMetricsPlan(check);
    return plan;
  }
  if ('request' in check) plan.request = check.request;
  if (protocol.planCheck !== undefined) Object.assign(plan, protocol.planCheck(check, kind));
  if (check.extract !== undefined) plan.extract = check.extract;
  if (kind === 'canary') plan.canary = toCanaryPlan(check, id);
  // Regions only when configured: absent, the hub's own region runs the check.
  const regions = check.regions ?? spec.regions;
  if (regions !== undefined) plan.regions = [...new Set(regions)];
  const quorum = check.quorum ?? spec.quorum;
  if (quorum !== undefined) plan.quorum = parseQuorum(quorum) ?? { kind: 'majority' };
  const scheduling = check.scheduling ?? spec.scheduling;
  if (scheduling !== undefined) plan.scheduling = scheduling;
  return plan;
}

/**
 * A metrics check's plan: its preset's rules (METRICS_PRESETS, in the preset's order), each replaced by
 * the check's rule of the same metric and labels, then the check's other rules in file order; `path` the
 * check's, else the preset's, else `/metrics`; `baseUrl` the check's `url`.
 */
function toMetricsPlan(check: CheckSpec): MetricsPlan {
  const preset: MetricsPreset | undefined =
    check.preset === undefined ? undefined : METRICS_PRESETS[check.preset as MetricsPresetName];
  const own: MetricRule[] = (check.rules ?? []).map((rule) => ({
    metric: rule.metric,
    ...(rule.labels !== undefined && { labels: { ...rule.labels } }),
    kind: rule.kind,
    ...(rule.aggregate !== undefined && { aggregate: rule.aggregate }),
    ...(rule.degraded !== undefined && { degraded: rule.degraded }),
    ...(rule.failed !== undefined && { failed: rule.failed }),
    ...(rule.description !== undefined && { description: rule.description }),
  }));
  const byKey = new Map(own.map((rule) => [ruleKey(rule), rule]));
  const rules: MetricRule[] = [];
  for (const rule of preset?.rules ?? []) {
    const replaced = byKey.get(ruleKey(rule));
    if (replaced === undefined) rules.push({ ...rule });
    else {
      rules.push(replaced);
      byKey.delete(ruleKey(rule));
    }
  }
  rules.push(...own.filter((rule) => byKey.has(ruleKey(rule))));
  return {
    ...(check.preset !== undefined && { preset: check.preset }),
    path: check.path ?? preset?.path ?? '/metrics',
    ...(check.url !== undefined && { baseUrl: check.url }),
    rules,
  };
}

function toExpectConfig(spec: ExpectSpec | undefined, id: string): ExpectConfig {
  if (spec === undefined) return {};
  const expect: ExpectConfig = {};
  if (spec.status !== undefined) expect.status = spec.status;
  if (spec.latency !== undefined) {
    const { degraded, failed, adaptive } = spec.latency;
    expect.latency = {
      ...(degraded !== undefined && degraded !== 'auto' && { degradedMs: parseDuration(degraded) }),
      ...(failed !== undefined && failed !== 'auto' && { failedMs: parseDuration(failed) }),
    };
    // `auto` levels or an `adaptive` block: the levels not written as durations follow the version.
    if (degraded === 'auto' || failed === 'auto' || adaptive !== undefined) {
      const f = adaptive?.factor;
      expect.latency.adaptive = {
        ...(adaptive?.quantile !== undefined && { quantile: adaptive.quantile }),
        ...(f !== undefined && {
          factor: adaptiveFactors(f),
        }),
        ...(adaptive?.floor !== undefined && { floorMs: parseDuration(adaptive.floor) }),
        ...(adaptive?.minSamples !== undefined && { minSamples: adaptive.minSamples }),
        ...(adaptive?.warmup !== undefined && { warmup: adaptive.warmup }),
      };
    }
  }
  for (const key of ['ttft', 'maxTokenGap'] as const) {
    const bounds = spec[key];
    if (bounds === undefined) continue;
    expect[key] = {
      ...(bounds.degraded !== undefined && { degradedMs: parseDuration(bounds.degraded) }),
      ...(bounds.failed !== undefined && { failedMs: parseDuration(bounds.failed) }),
    };
  }
  if (spec.minTokensPerSecond !== undefined) expect.minTokensPerSecond = spec.minTokensPerSecond;
  if (spec.outputs !== undefined) expect.outputs = spec.outputs;
  if (spec.assertions !== undefined) expect.assertions = spec.assertions;
  if (typeof spec.schema === 'string') {
    throw new ConfigError(
      'VIGIL_ERR_CONFIG_INVALID',
      `${id}: expect.schema is still the file name ${JSON.stringify(spec.schema)}; load the config with loadConfig() or parseConfig(), which read schema files`,
    );
  }
  if (spec.schema !== undefined) expect.schema = spec.schema;
  if (spec.body !== undefined) expect.body = spec.body;
  return expect;
}

/**
 * A canary's plan: its golden set (the loader has read a `cases` file into the list; `request` alone is
 * the one case `request`), rotation size, baseline file and comparison options as given.
 */
function toCanaryPlan(check: CheckSpec, id: string): CanaryPlan {
  if (typeof check.cases === 'string') {
    throw new ConfigError(
      'VIGIL_ERR_CONFIG_INVALID',
      `${id}: cases is still the file name ${JSON.stringify(check.cases)}; load the config with loadConfig() or parseConfig(), which read case files`,
    );
  }
  const cases =
    check.cases ?? (check.request === undefined ? [] : [{ id: 'request', request: check.request }]);
  const canary: CanaryPlan = {
    cases: cases.map((c) => ({ id: c.id, request: c.request })),
    maxCasesPerRun: check.maxCasesPerRun ?? DEFAULT_MAX_CASES_PER_RUN,
  };
  if (check.baseline !== undefined) canary.baseline = check.baseline;
  if (check.tolerance !== undefined) canary.tolerance = { ...check.tolerance };
  if (check.autoBaseline === true) canary.autoBaseline = {};
  else if (typeof check.autoBaseline === 'object') canary.autoBaseline = { ...check.autoBaseline };
  if (check.text !== undefined) canary.text = { ...check.text };
  if (check.minOverlap !== undefined) canary.minOverlap = check.minOverlap;
  if (check.outputs !== undefined)
    canary.outputs = Object.fromEntries(
      Object.entries(check.outputs).map(([name, rule]) => [name, { ...rule }]),
    );
  if (check.maxLabelFlipShare !== undefined) canary.maxLabelFlipShare = check.maxLabelFlipShare;
  if (check.outcomes !== undefined) canary.outcomes = { ...check.outcomes };
  return canary;
}
