/**
 * Vigil: automated health checks for ML model endpoints.
 *
 * The probe engine as a library: load a config into CheckPlans, run probes, judge them.
 *
 * @example
 * import { createHttpClient, loadConfig, runProbe } from 'vigil-ml';
 * const loaded = await loadConfig('vigil.yaml');
 * if (loaded.ok) {
 *   const client = createHttpClient();
 *   for (const plan of loaded.plan) console.log(await runProbe(plan, { client }));
 *   await client.close();
 * }
 */

export {
  ACTION_KIND_NAMES,
  ACTION_KINDS,
  actionsSchema,
  createAction,
  resolveActionPolicy,
} from './actions/index.js';
export {
  ACTIONS_EXHAUSTED_ALERT,
  type ActionRunner,
  type ActionRunnerOptions,
  createActionRunner,
} from './actions/runner.js';
export type {
  Action,
  ActionContext,
  ActionOutcome,
  ActionPlugin,
  ActionTransition,
} from './actions/types.js';
export { type Agent, type AgentOptions, type AgentStats, createAgent } from './agent/agent.js';
export {
  createNotifier,
  createNotifiers,
  NOTIFIER_TYPES,
  type NotifierConfig,
  notifierConfigSchema,
} from './alerting/notifiers/index.js';
export type { Notifier, NotifierPlugin } from './alerting/types.js';
export { type ApiOptions, createApi, requireToken } from './api/index.js';
export { evaluateExpect } from './assertions/index.js';
export {
  type Baseline,
  buildBaseline,
  type CanaryVerdict,
  compareCanary,
  parseBaseline,
  type RecordedAnswer,
  readBaselineFile,
  rotationWindow,
  serialiseBaseline,
} from './canary/index.js';
export { DEFAULT_PROBE_BUDGET, resolveBudget } from './config/budget.js';
export { buildPlan, type LoadResult, loadConfig, parseConfig } from './config/index.js';
export { defineConfig } from './config/typescript.js';
export { DEFAULT_PORT, type RunningHub, runHub } from './daemon/hub.js';
export { createLogger, LOG_FORMATS, LOG_LEVELS, type LoggerOptions } from './daemon/logger.js';
export { runRouters } from './daemon/route.js';
export { ConfigError, UsageError, VigilError } from './errors.js';
export { createHub, type Hub, type HubOptions } from './hub/hub.js';
export type { CheckDeferral, CheckStatus, DeferralEvent, HubEvent, HubView } from './hub/types.js';
export { createMetrics, type Metrics, type MetricsLevel } from './metrics/index.js';
export {
  type CanaryBaselines,
  type CanaryRunner,
  type CanaryRunReport,
  createCanaryRunner,
  sendCases,
} from './probe/canary.js';
export { fileBaselines, importPlanBaselines, storeBaselines } from './probe/canary-baselines.js';
export {
  createMetricsRunner,
  isMetricsPlan,
  METRIC_MISSING,
  METRICS_PRESETS,
  type MetricRule,
  type MetricsCheckPlan,
  MetricsJudge,
  type MetricsPreset,
  type MetricsPresetName,
  type MetricsProbeSpec,
  type MetricsRunner,
  probeMetrics,
} from './probe/metrics-check.js';
export { isProbeable, type ProbeDeps, runProbe } from './probe/run-probe.js';
export {
  ADAPTERS,
  createAdapterContext,
  defineProtocol,
  getAdapter,
  getProtocol,
  type HttpCheckRequest,
  PROTOCOL_NAMES,
  PROTOCOLS,
  type ProtocolName,
  type ProtocolPlugin,
} from './protocols/index.js';
export {
  createRouter,
  createRouterMetrics,
  createTrafficReporter,
  DEFAULT_ADMIN_PORT,
  type FallbackFunction,
  type FallbackRequest,
  type FallbackResponse,
  loadRouterConfig,
  type RouterPlan,
  resolveRouters,
  type TrafficObservation,
  type TrafficReporter,
} from './router/index.js';
export { DEFAULT_COALESCE_MS, type DeferralReason } from './scheduler/index.js';
export { openStore } from './store/index.js';
export type { BaselineStatus, Store, StoredBaseline } from './store/types.js';
export type * from './types.js';
export { CHECK_KINDS } from './types.js';
export { VERSION } from './version.js';
export { createGrpcClient } from './wire/grpc.js';
export { createHttpClient } from './wire/http.js';
export { parseJson } from './wire/json.js';
