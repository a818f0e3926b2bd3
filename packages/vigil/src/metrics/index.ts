/**
 * Vigil's Prometheus metrics: {@link createMetrics} builds the registry the hub feeds and `/metrics` renders.
 */
export {
  CHECK_STATES,
  createMetrics,
  DEFAULT_LAG_BUCKETS_SECONDS,
  type Metrics,
  type MetricsOptions,
  PHASES,
} from './metrics.js';
