/**
 * The failover router (`vigil route`): a reverse proxy per model service that drains, ejects
 * (outlier detection), fails over on latency, hedges and falls back before the client's deadline.
 *
 * ```ts
 * const loaded = await loadRouterConfig('vigil.yaml');
 * if (loaded.ok) {
 *   const metrics = createRouterMetrics();
 *   for (const plan of loaded.routers) {
 *     const router = await createRouter(plan, { metrics, log: console.log, onObservation: (o) => reporter.observe(o) });
 *     const reporter = createTrafficReporter(router, { region: 'local', emit: (r) => hub.ingest(r) });
 *     await router.listen();
 *     followLocalHub(hub, (target, state) => router.setUpstreamState(target, state), () => [plan.region]);
 *   }
 * }
 * ```
 *
 * @module
 */
export { createRouterAdmin, DEFAULT_ADMIN_PORT, type RouterAdminOptions } from './admin.js';
export {
  checkRouterTargets,
  type FallbackPlan,
  OUTLIER_DEFAULTS,
  POLICY_DEFAULTS,
  type PolicyPlan,
  parseListen,
  type RouterPlan,
  type RouterSpec,
  type RoutersInput,
  resolveRouters,
  routerSchema,
  routersSchema,
  TRAFFIC_DEFAULTS,
  type TrafficPlan,
  trafficCheckId,
  type UpstreamPlan,
} from './config.js';
export {
  type FallbackFunction,
  type FallbackRequest,
  type FallbackResponse,
  loadFallback,
} from './fallback.js';
export {
  followHub,
  followLocalHub,
  type HubFeed,
  type HubFeedOptions,
  isTrafficCheck,
  targetHealth,
} from './hub-feed.js';
export { type LoadedRouterConfig, loadRouterConfig, routerPlans, validateRouters } from './load.js';
export { createRouterMetrics, type RouterMetrics, type ServedBy } from './metrics.js';
export type { PolicyDecision, PolicyStatus, UpstreamHealth } from './policy.js';
export {
  CLOSE_GRACE_MS,
  createRouter,
  type Router,
  type RouterDeps,
  type RouterStatus,
  SERVED_BY_HEADER,
  type TrafficObservation,
} from './proxy.js';
export { createTrafficReporter, type TrafficReporter, type TrafficReporterOptions } from './traffic.js';
