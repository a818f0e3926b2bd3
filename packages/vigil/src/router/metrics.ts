/**
 * The router's Prometheus metrics (`vigil_router_*`), in its own prom-client registry: per router and
 * upstream, the requests by outcome and by who served them, latency histograms, ejections, hedges
 * and fallbacks. Label children are looked up once per (router, upstream) and kept, so a request
 * costs a few increments, not label-map lookups.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/** Who answered a client: an upstream by its role, the fallback, or the router itself (502/504). */
export type ServedBy = 'primary' | 'secondary' | 'fallback' | 'router';

/** How one attempt at an upstream ended. */
export type AttemptOutcome =
  | 'success'
  | 'client_error'
  | 'server_error'
  | 'timeout'
  | 'reset'
  | 'refused'
  | 'error'
  | 'cancelled';

/**
 * Buckets of the latency histograms, in seconds: 1 ms to 10 s, dense around 100–250 ms where
 * real-time model deadlines sit.
 */
export const ROUTER_LATENCY_BUCKETS = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.18, 0.2, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** The metrics of every router in a process. */
export interface RouterMetrics {
  readonly registry: Registry;
  /**
   * Creates a router's series at 0 (ejections, failovers, hedges, fallbacks), so that
   * `increase(...[5m]) > 0` also fires on the first one.
   */
  init(router: string, upstreams: readonly string[]): void;
  /** A client's request was answered (or not): by whom, with what status class. */
  request(router: string, servedBy: ServedBy, status: number, seconds: number): void;
  /** One attempt at an upstream ended. */
  attempt(router: string, upstream: string, outcome: AttemptOutcome, seconds: number): void;
  ejection(router: string, upstream: string): void;
  hedge(router: string, upstream: string): void;
  fallback(router: string, reason: 'deadline' | 'unavailable'): void;
  /** A request no upstream answered by the deadline (whoever answered it then: fallback or a 504). */
  deadlineMiss(router: string): void;
  failover(router: string, upstream: string): void;
  /** The primary's share of new traffic (1 normally, 0 demoted, a return step between). */
  primaryShare(router: string, upstream: string, share: number): void;
  /** Whether an upstream takes traffic (0 drained, ejected or unhealthy; 1 available). */
  available(router: string, upstream: string, available: boolean): void;
  /** Text exposition of the registry. */
  render(): Promise<string>;
  readonly contentType: string;
}

const STATUS_CLASSES = ['1xx', '2xx', '3xx', '4xx', '5xx'];

/** prom-client's default metrics that break Prometheus naming (as the hub's metrics/metrics.ts drops them). */
const MISNAMED_DEFAULT_METRICS = [
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
  'nodejs_active_resources_total',
];

/** Creates the router metrics; `defaultMetrics` (process_*, nodejs_*) default true. */
export function createRouterMetrics(options: { defaultMetrics?: boolean } = {}): RouterMetrics {
  const registry = new Registry();
  if (options.defaultMetrics !== false) {
    collectDefaultMetrics({ register: registry });
    // Gauges named like counters (`promtool check metrics` rejects them); their `{type}` twins stay.
    for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
  }
  const requests = new Counter({
    name: 'vigil_router_requests_total',
    help: 'Requests answered by a router, by who served them (primary, secondary, fallback, router) and status class.',
    labelNames: ['router', 'served_by', 'code'],
    registers: [registry],
  });
  const duration = new Histogram({
    name: 'vigil_router_request_duration_seconds',
    help: "Time from a request's arrival to its response headers, by who served it.",
    labelNames: ['router', 'served_by'],
    buckets: ROUTER_LATENCY_BUCKETS,
    registers: [registry],
  });
  const attempts = new Counter({
    name: 'vigil_router_upstream_attempts_total',
    help: 'Attempts at an upstream by outcome (success, client_error, server_error, timeout, reset, refused, error, cancelled).',
    labelNames: ['router', 'upstream', 'outcome'],
    registers: [registry],
  });
  const attemptDuration = new Histogram({
    name: 'vigil_router_upstream_duration_seconds',
    help: "Time from an attempt's start to the upstream's response headers (or its failure).",
    labelNames: ['router', 'upstream'],
    buckets: ROUTER_LATENCY_BUCKETS,
    registers: [registry],
  });
  const ejections = new Counter({
    name: 'vigil_router_ejections_total',
    help: 'Outlier ejections of an upstream (consecutive upstream failures).',
    labelNames: ['router', 'upstream'],
    registers: [registry],
  });
  const hedges = new Counter({
    name: 'vigil_router_hedges_total',
    help: 'Hedged copies of a request sent to an upstream.',
    labelNames: ['router', 'upstream'],
    registers: [registry],
  });
  const fallbacks = new Counter({
    name: 'vigil_router_fallbacks_total',
    help: 'Answers given by the fallback, by reason (deadline: nothing answered in time; unavailable: no upstream could take it).',
    labelNames: ['router', 'reason'],
    registers: [registry],
  });
  const deadlineMisses = new Counter({
    name: 'vigil_router_deadline_misses_total',
    help: "Requests no upstream answered by the route's deadline (then answered by the fallback, else a 504 of the router's own).",
    labelNames: ['router'],
    registers: [registry],
  });
  const failovers = new Counter({
    name: 'vigil_router_failovers_total',
    help: 'Times the primary was demoted (its traffic moved to secondaries).',
    labelNames: ['router', 'upstream'],
    registers: [registry],
  });
  const share = new Gauge({
    name: 'vigil_router_primary_share',
    help: 'The share of new traffic the primary gets: 1 normally, 0 demoted, a return step between.',
    labelNames: ['router', 'upstream'],
    registers: [registry],
  });
  const availability = new Gauge({
    name: 'vigil_router_upstream_available',
    help: 'Whether an upstream takes traffic: 0 drained, ejected or unhealthy by the hub; 1 available.',
    labelNames: ['router', 'upstream'],
    registers: [registry],
  });

  // Children by key, created on first use and kept: prom-client's labels() hashes its arguments.
  const cache = new Map<string, { inc(n?: number): void; observe?(v: number): void }>();
  const child = <T>(key: string, make: () => T): T => {
    let found = cache.get(key) as T | undefined;
    if (found === undefined) {
      found = make();
      cache.set(key, found as never);
    }
    return found;
  };
  const statusClass = (status: number) => STATUS_CLASSES[Math.floor(status / 100) - 1] ?? 'other';

  return {
    registry,
    contentType: registry.contentType,
    init(router, upstreams) {
      for (const upstream of upstreams) {
        ejections.labels(router, upstream).inc(0);
        failovers.labels(router, upstream).inc(0);
        hedges.labels(router, upstream).inc(0);
      }
      for (const reason of ['deadline', 'unavailable']) fallbacks.labels(router, reason).inc(0);
      deadlineMisses.labels(router).inc(0);
    },
    request(router, servedBy, status, seconds) {
      const code = statusClass(status);
      child(`r\0${router}\0${servedBy}\0${code}`, () => requests.labels(router, servedBy, code)).inc();
      child(`d\0${router}\0${servedBy}`, () => duration.labels(router, servedBy)).observe(seconds);
    },
    attempt(router, upstream, outcome, seconds) {
      child(`a\0${router}\0${upstream}\0${outcome}`, () => attempts.labels(router, upstream, outcome)).inc();
      child(`ad\0${router}\0${upstream}`, () => attemptDuration.labels(router, upstream)).observe(seconds);
    },
    ejection(router, upstream) {
      ejections.labels(router, upstream).inc();
    },
    hedge(router, upstream) {
      child(`h\0${router}\0${upstream}`, () => hedges.labels(router, upstream)).inc();
    },
    fallback(router, reason) {
      child(`f\0${router}\0${reason}`, () => fallbacks.labels(router, reason)).inc();
    },
    deadlineMiss(router) {
      child(`m\0${router}`, () => deadlineMisses.labels(router)).inc();
    },
    failover(router, upstream) {
      failovers.labels(router, upstream).inc();
    },
    primaryShare(router, upstream, value) {
      share.labels(router, upstream).set(value);
    },
    available(router, upstream, value) {
      availability.labels(router, upstream).set(value ? 1 : 0);
    },
    render: () => registry.metrics(),
  };
}
