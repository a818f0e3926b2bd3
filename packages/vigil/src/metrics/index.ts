/**
 * Vigil's Prometheus metrics: {@link createMetrics} builds the registry the hub feeds and `/metrics`
 * renders; METRICS.md is the table of what each check exports and the budget it must fit.
 */

export { EXPOSITION_CONTENT_TYPES, type ExpositionFormat } from './exposition.js';
export {
  CHECK_LABELS,
  CHECK_STATES,
  type ConfigLabel,
  createMetrics,
  DEFAULT_LAG_BUCKETS_SECONDS,
  METRIC_FAMILIES,
  type MetricFamilyInfo,
  type Metrics,
  type MetricsLevel,
  type MetricsOptions,
  PHASES,
} from './metrics.js';
