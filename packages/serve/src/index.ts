export {
  VIGIL_SERVE_ERROR_CODES,
  VigilServeConfigError,
  VigilServeError,
  type VigilServeErrorCode,
} from './errors.js';
export {
  createEventLoopMonitor,
  type EventLoopMonitor,
  type EventLoopMonitorOptions,
} from './event-loop-monitor.js';
export {
  createExpressMiddleware,
  type ExpressHealthMiddleware,
} from './express.js';
export {
  createFastifyPlugin,
  type FastifyHealthPlugin,
  type FastifyHealthPluginOptions,
  type FastifyInstanceLike,
  type FastifyReplyLike,
} from './fastify.js';
export {
  type CheckOptions,
  type CheckResult,
  createHealth,
  type Health,
  type HealthAnswer,
  type HealthBody,
  type HealthRoute,
  type HealthStatus,
  type ShutdownOutcome,
  type WarmupReport,
} from './health.js';
export { createHonoMiddleware, type HonoContextLike, type HonoHealthMiddleware } from './hono.js';
export { type ClosableHttpServer, type CloseHttpServerOptions, closeHttpServer } from './http-close.js';
export { createNodeHandler, type NodeHealthHandler } from './node-http.js';
export {
  type CheckContext,
  type DependencyCheck,
  type DependencyOptions,
  HEALTH_DEFAULTS,
  type HealthCheckName,
  type HealthOptions,
  type HealthPaths,
  type SelfTestOptions,
  type ShutdownOptions,
} from './options.js';
