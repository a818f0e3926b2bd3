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

export type { CommandActionConfig, commandConfigSchema } from './actions/command.js';
export type { HaproxyActionConfig, haproxyConfigSchema } from './actions/haproxy.js';
export {
  ACTION_KIND_NAMES,
  ACTION_KINDS,
  actionsSchema,
  createAction,
  resolveActionPolicy,
} from './actions/index.js';
export type { KubernetesActionConfig, kubernetesConfigSchema } from './actions/kubernetes.js';
export type { ActionLog, ActionRunnerView } from './actions/runner.js';
// Defaults and errors the API documentation links to.
export {
  ACTIONS_EXHAUSTED_ALERT,
  type ActionRunner,
  type ActionRunnerOptions,
  createActionRunner,
  DEFAULT_ACTION_LEASE_MS,
} from './actions/runner.js';
export type {
  Action,
  ActionContext,
  ActionOutcome,
  ActionPlugin,
  ActionTransition,
} from './actions/types.js';
export type { WebhookActionConfig, webhookActionConfigSchema } from './actions/webhook.js';
export { type Agent, type AgentOptions, type AgentStats, createAgent } from './agent/agent.js';
export type { RegionVerdict } from './alerting/alerts.js';
export type { BackoffOptions, DispatcherLog, DispatcherOptions } from './alerting/dispatcher.js';
export {
  createNotifier,
  createNotifiers,
  NOTIFIER_TYPES,
  type NotifierConfig,
  notifierConfigSchema,
} from './alerting/notifiers/index.js';
export type { TimeInterval } from './alerting/time-intervals.js';
export type {
  Alert,
  DeliveryResult,
  NotificationGroup,
  Notifier,
  NotifierContext,
  NotifierPlugin,
  Severity,
} from './alerting/types.js';
export { type ApiOptions, createApi, requireToken } from './api/index.js';
export type { OverviewColumns, OverviewTarget, StatusOverview } from './api/overview.js';
export type { AgentRouteOptions } from './api/routes/agents.js';
export type { ExpectInput, ExpectVerdict } from './assertions/evaluate.js';
export { evaluateExpect } from './assertions/index.js';
export type { MetricReading, MetricsVerdict } from './assertions/metrics.js';
// Named by the exported API above (its parameters, results and fields): exported so the API reference
// (`npm run docs`) documents them and callers can name them.
export type { BuildBaselineInput, baselineSchema } from './canary/baseline.js';
export { BASELINE_FORMAT_VERSION } from './canary/baseline.js';
export type {
  CanaryCompareOptions,
  CanaryFailure,
  CanaryFailureLevel,
  CanaryTolerance,
  DriftStatistic,
  OutputRule,
  TextMode,
  ValueComparison,
} from './canary/compare.js';
export { DEFAULT_CANARY_COMPARE } from './canary/compare.js';
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
export type { ThresholdSource } from './canary/latency.js';
export type { CaseObservation, OutputKind } from './canary/outputs.js';
export type { RotationWindow } from './canary/rotation.js';
export { DEFAULT_MAX_CASES_PER_RUN } from './canary/rotation.js';
export type { PsiBand } from './canary/statistics.js';
export {
  DEFAULT_MODEL_TIME_SHARE,
  DEFAULT_PROBE_BUDGET,
  DEFAULT_PROBES_PER_SECOND,
  resolveBudget,
} from './config/budget.js';
export { buildPlan, type LoadResult, loadConfig, parseConfig } from './config/index.js';
export type { FailedConfig, LoadedConfig, LoadOptions, ParseOptions } from './config/load.js';
export { DEFAULT_MAX_CONFIG_BYTES } from './config/load.js';
export type { Shard } from './config/regions.js';
export type { CheckSpec, CheckSpecInput, canaryShape, checkShape, metricsShape } from './config/schema.js';
export { defineConfig } from './config/typescript.js';
export type { RunOptions } from './daemon/hub.js';
export { DEFAULT_PORT, type RunningHub, runHub } from './daemon/hub.js';
export { createLogger, LOG_FORMATS, LOG_LEVELS, type LoggerOptions } from './daemon/logger.js';
export type { RouteOptions, RunningRouters } from './daemon/route.js';
export { runRouters } from './daemon/route.js';
export type { ConfigPath } from './diagnostics/paths.js';
export { ConfigError, UsageError, VigilError } from './errors.js';
export type { HubActions, HubAgents, HubAlerting, HubCluster } from './hub/hub.js';
export {
  createHub,
  DEFAULT_MIRROR_INTERVAL_MS,
  type Hub,
  type HubOptions,
  TAKEOVER_FIRST_PROBE_WITHIN_MS,
  UPDATE_PIECE,
  UPDATE_TURN_MS,
} from './hub/hub.js';
export type { AgentReport, AgentStatus } from './hub/regions.js';
export type {
  AlertStatus,
  CanaryView,
  CheckDeferral,
  CheckInfo,
  CheckStatus,
  DeferralEvent,
  ExchangeView,
  HubEvent,
  HubView,
  RemoteBatch,
  RemoteIngest,
} from './hub/types.js';
export { RECENT_DURATIONS } from './hub/types.js';
export type { ExpositionFormat } from './metrics/exposition.js';
export { createMetrics, type Metrics, type MetricsLevel } from './metrics/index.js';
export type { ConfigLabel, MetricFamilyInfo, MetricsOptions } from './metrics/metrics.js';
export { DEFAULT_LAG_BUCKETS_SECONDS, DEFAULT_RENDER_SLICE_MS, METRIC_FAMILIES } from './metrics/metrics.js';
export type {
  CanaryRunnerOptions,
  CanaryStateSnapshot,
  CanaryStateStore,
  CaseAnswer,
  DriftPoint,
  FoundBaseline,
} from './probe/canary.js';
export {
  type CanaryBaselines,
  type CanaryRunner,
  type CanaryRunReport,
  createCanaryRunner,
  sendCases,
} from './probe/canary.js';
export { fileBaselines, importPlanBaselines, storeBaselines } from './probe/canary-baselines.js';
export type { MetricsCapturedExchange, MetricsProbeDeps } from './probe/metrics-check.js';
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
export type { CapturedExchange, ProbeableKind } from './probe/run-probe.js';
export { isProbeable, type ProbeDeps, runProbe } from './probe/run-probe.js';
export type { ProbeDeadline } from './protocols/context.js';
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
export type { CheckOptions, PlanAdditions, ProtocolDefinition } from './protocols/plugin.js';
export type { FallbackPlan, PolicyPlan, TrafficPlan, UpstreamPlan } from './router/config.js';
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
export type { FailedRouterConfig, LoadedRouterConfig } from './router/load.js';
export type { AttemptOutcome, RouterMetrics, ServedBy } from './router/metrics.js';
export type { UpstreamHealth } from './router/policy.js';
export type { Router, RouterDeps, RouterStatus } from './router/proxy.js';
export { CLOSE_GRACE_MS } from './router/proxy.js';
export type { TrafficReporterOptions } from './router/traffic.js';
export { DEFAULT_COALESCE_MS, type DeferralReason } from './scheduler/index.js';
export type { UrlForm } from './schema/url.js';
export { StoreError } from './store/errors.js';
export { openStore } from './store/index.js';
export { DEFAULT_SQLITE_PATH } from './store/sqlite.js';
export type {
  ActionClaim,
  ActionRun,
  ActionRunFinish,
  ActionRunInput,
  ActionRunQuery,
  ActionRunStatus,
  AgentRecord,
  AppliedMigration,
  BaselineInput,
  BaselineQuery,
  BaselineStatus,
  CanaryStateRecord,
  ClaimOptions,
  ClusterLeases,
  ClusterTickInput,
  ClusterTickResult,
  EnqueueOutcome,
  FailureUpdate,
  IncidentQuery,
  MigrateOptions,
  Notification,
  NotificationInput,
  NotificationQuery,
  NotificationStatus,
  OneOffWindow,
  OneOffWindowInput,
  OneOffWindowQuery,
  OpenIncidentInput,
  OpenStoreOptions,
  PostgresStoreOptions,
  PruneOptions,
  PruneReport,
  ResultIngest,
  ResultQuery,
  Rollup,
  RollupQuery,
  Silence,
  SilenceInput,
  SilenceMatcher,
  SilenceQuery,
  SqliteStoreOptions,
  StateQuery,
  Store,
  StoredBaseline,
  TransitionQuery,
  TransitionWatch,
} from './store/types.js';
export {
  DEFAULT_NOTIFICATION_RETENTION_MS,
  DEFAULT_RAW_RETENTION_MS,
  DEFAULT_ROLLUP_RETENTION_MS,
  DEFAULT_SILENCE_RETENTION_MS,
} from './store/types.js';
export type * from './types.js';
export { CHECK_KINDS } from './types.js';
export { VERSION } from './version.js';
export type {
  GrpcCallRecord,
  GrpcClient,
  GrpcClientOptions,
  GrpcExchange,
  GrpcMethod,
  GrpcRequest,
  GrpcStatus,
} from './wire/grpc.js';
export { createGrpcClient } from './wire/grpc.js';
export type { HttpClientOptions } from './wire/http.js';
export { createHttpClient } from './wire/http.js';
export type { JsonParseResult } from './wire/json.js';
export { parseJson } from './wire/json.js';
