import { parseDuration } from '../diagnostics/duration.js';
import { ConfigError } from '../errors.js';
import {
  CHECK_KINDS,
  type CheckKind,
  type CheckPlan,
  type ExpectConfig,
  type HttpCheckRequest,
  type TargetConfig,
} from '../types.js';
import type { ExpectSpec, TargetSpec, VigilConfig } from './schema.js';

type CheckSpec = NonNullable<TargetSpec['checks'][CheckKind]>;

/** The request a plain HTTP check sends when its config gives none, or fills in what it leaves out. */
const HTTP_REQUEST_DEFAULTS = { method: 'GET', path: '/' } as const;

/**
 * Resolves a validated config into the checks to run: one {@link CheckPlan} per configured check, targets
 * in file order and each target's checks in the order liveness, readiness, integrity, canary.
 *
 * Every value is resolved: timing keys from the check, else its target, else `defaults` (durations in
 * milliseconds; `fastInterval: false` → `fastIntervalMs: null`; liveness always has successThreshold 1,
 * as in Kubernetes); `id` is `<target>/<kind>`; the target's `labels` and `headers` default to `{}`;
 * `expect.latency` becomes `{degradedMs, failedMs}`; protocol `http` checks get a request with method
 * `GET` and path `/` unless given; tfserving integrity gets `method: 'predict'` unless given.
 *
 * @example buildPlan(config).map((plan) => plan.id) // ['credit-scorer/liveness', 'credit-scorer/readiness']
 * @param config from {@link loadConfig} or {@link parseConfig}, whose files are already resolved
 * @throws ConfigError `VIGIL_ERR_CONFIG_INVALID` if an `expect.schema` is still a file name, i.e. the config
 *   came from `configSchema.parse` rather than the loader (which reads schema files)
 */
export function buildPlan(config: VigilConfig): CheckPlan[] {
  const plans: CheckPlan[] = [];
  for (const spec of config.targets) {
    const target = toTargetConfig(spec);
    for (const kind of CHECK_KINDS) {
      const check: CheckSpec | undefined = spec.checks[kind];
      if (check === undefined) continue;
      plans.push(toCheckPlan(config, spec, target, kind, check));
    }
  }
  return plans;
}

function toTargetConfig(spec: TargetSpec): TargetConfig {
  return {
    name: spec.name,
    url: spec.url,
    protocol: spec.protocol,
    ...(spec.model !== undefined && { model: spec.model }),
    ...(spec.version !== undefined && { version: spec.version }),
    ...('managementUrl' in spec && spec.managementUrl !== undefined && { managementUrl: spec.managementUrl }),
    labels: spec.labels ?? {},
    headers: spec.headers ?? {},
    ...(spec.auth !== undefined && { auth: spec.auth }),
    ...(spec.tls !== undefined && { tls: spec.tls }),
    maxBodyBytes: spec.maxBodyBytes,
    maxRedirects: spec.maxRedirects,
  };
}

function toCheckPlan(
  config: VigilConfig,
  spec: TargetSpec,
  target: TargetConfig,
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
  if (spec.protocol === 'http') {
    const given = 'request' in check ? (check.request as HttpCheckRequest | undefined) : undefined;
    plan.request = { ...HTTP_REQUEST_DEFAULTS, ...given };
  } else if ('request' in check) {
    plan.request = check.request;
  }
  if (spec.protocol === 'tfserving' && kind === 'integrity') {
    plan.method = 'method' in check && check.method !== undefined ? check.method : 'predict';
  }
  if (check.extract !== undefined) plan.extract = check.extract;
  if ('baseline' in check) plan.canary = { baseline: check.baseline, tolerance: check.tolerance };
  return plan;
}

function toExpectConfig(spec: ExpectSpec | undefined, id: string): ExpectConfig {
  if (spec === undefined) return {};
  const expect: ExpectConfig = {};
  if (spec.status !== undefined) expect.status = spec.status;
  if (spec.latency !== undefined) {
    const { degraded, failed } = spec.latency;
    expect.latency = {
      ...(degraded !== undefined && { degradedMs: parseDuration(degraded) }),
      ...(failed !== undefined && { failedMs: parseDuration(failed) }),
    };
  }
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
