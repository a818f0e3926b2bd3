/**
 * The router's traffic as results for the hub: per router and upstream, every `traffic.interval`
 * (250 ms by default), the attempts of that interval summed up as one {@link ProbeResult} of source
 * `traffic`, for the check `<target>/traffic:<router>` (`config/plan.ts` `buildTrafficPlan`). The
 * hub evaluates it like a probe's result, with the router's own thresholds, so a hard failure under
 * traffic reaches the hub's state (and its alerts) in two intervals, not in probe intervals.
 *
 * A report's outcome:
 * - `fail` when at least `errorShare` of its attempts were upstream failures (5xx, timeouts, resets,
 *   refused; never a client's 4xx, so bad requests page nobody), or when the router has the upstream
 *   ejected (outlier detection): an ejected upstream gets no traffic, and the ejection is the
 *   router's verdict; it is reported every interval while it lasts;
 * - `degraded` when the p95 of its attempts reached the policy's `failoverAt`;
 * - else `pass`. An interval without attempts (and no ejection) reports nothing: no traffic is no
 *   evidence.
 *
 * The hot path ({@link TrafficReporter.observe}) appends a number to an array; the work is done once
 * per interval.
 */
import { trafficCheckId } from '../config/routers.js';
import type { AssertionFailure, ProbeResult } from '../types.js';
import type { Router, TrafficObservation } from './proxy.js';

/** Options of {@link createTrafficReporter}. */
export interface TrafficReporterOptions {
  /** The region results are reported from (the hub's). */
  region: string;
  /** Receives each report (in `vigil run`: `hub.ingest`). */
  emit: (result: ProbeResult) => void;
  /** Clock, ms since epoch. Default `Date.now`. */
  now?: () => number;
}

/** Sums up one router's traffic; see the module comment. */
export interface TrafficReporter {
  /** One attempt's outcome (the router's `onObservation`). */
  observe(observation: TrafficObservation): void;
  /** Reports every upstream's interval now and starts the next one (the timer calls it). */
  flush(): void;
  /** Stops the timer (what is pending is dropped). */
  close(): void;
}

interface Window {
  startedAt: number;
  attempts: number;
  failures: number;
  latencies: number[];
  lastFailure: TrafficObservation | undefined;
}

/**
 * Reports `router`'s traffic every `router.plan.traffic.intervalMs` (re-read at each report, so a
 * reload that changes it takes effect).
 *
 * @example
 * const reporter = createTrafficReporter(router, { region: 'local', emit: (r) => hub.ingest(r) });
 * // createRouter(plan, { ..., onObservation: (o) => reporter.observe(o) })
 */
export function createTrafficReporter(router: Router, options: TrafficReporterOptions): TrafficReporter {
  const now = options.now ?? Date.now;
  const windows = new Map<string, Window>();
  let intervalMs = router.plan.traffic.intervalMs;
  let timer: NodeJS.Timeout | undefined;

  const windowOf = (target: string, at: number): Window => {
    let w = windows.get(target);
    if (w === undefined) {
      w = { startedAt: at, attempts: 0, failures: 0, latencies: [], lastFailure: undefined };
      windows.set(target, w);
    }
    return w;
  };

  const flush = () => {
    const at = now();
    const plan = router.plan;
    const { errorShare } = plan.traffic;
    const status = router.status();
    for (const upstream of plan.upstreams) {
      const w = windows.get(upstream.name);
      const state = status.upstreams.find((u) => u.name === upstream.name);
      const ejected = state?.ejected === true;
      if ((w === undefined || w.attempts === 0) && !ejected) continue;
      options.emit(
        report(plan.name, upstream.name, w, ejected, state?.failuresInARow ?? 0, at, {
          errorShare,
          failoverAtMs: plan.policy.failoverAtMs,
          region: options.region,
          intervalMs,
        }),
      );
    }
    windows.clear();
    const next = plan.traffic.intervalMs;
    if (next !== intervalMs) {
      intervalMs = next;
      start();
    }
  };

  const start = () => {
    clearInterval(timer);
    timer = setInterval(flush, intervalMs);
    timer.unref();
  };
  start();

  return {
    observe(o) {
      const w = windowOf(o.target, o.startedAt);
      w.attempts++;
      w.latencies.push(o.durationMs);
      if (o.outcome === 'fail') {
        w.failures++;
        w.lastFailure = o;
      }
    },
    flush,
    close() {
      clearInterval(timer);
      windows.clear();
    },
  };
}

/** One upstream's interval as a ProbeResult; exported for tests. */
export function report(
  router: string,
  target: string,
  w: Window | undefined,
  ejected: boolean,
  failuresInARow: number,
  at: number,
  settings: { errorShare: number; failoverAtMs: number; region: string; intervalMs: number },
): ProbeResult {
  const attempts = w?.attempts ?? 0;
  const failuresCount = w?.failures ?? 0;
  const p95 = w === undefined || w.latencies.length === 0 ? 0 : quantile(w.latencies, 0.95);
  const failures: AssertionFailure[] = [];
  const share = attempts === 0 ? 0 : failuresCount / attempts;
  const last = w?.lastFailure;
  const lastText =
    last === undefined
      ? ''
      : `; last: ${last.httpStatus !== undefined ? `HTTP ${last.httpStatus}` : (last.error?.code ?? 'failure')}`;
  if (ejected) {
    failures.push({
      assertion: 'outlier',
      expected: 'in service',
      actual: 'ejected',
      message: `ejected by router ${router} after upstream failures in a row${lastText}`,
    });
  }
  if (attempts > 0 && share >= settings.errorShare) {
    failures.push({
      assertion: 'traffic',
      operator: 'lt',
      expected: `< ${pct(settings.errorShare)} upstream failures`,
      actual: pct(share),
      message: `${failuresCount} of ${attempts} requests through router ${router} were upstream failures (${pct(share)} ≥ ${pct(settings.errorShare)})${lastText}`,
    });
  }
  const slow = failures.length === 0 && attempts > 0 && p95 >= settings.failoverAtMs;
  if (slow) {
    failures.push({
      assertion: 'latency',
      selector: 'p95',
      operator: 'lt',
      expected: settings.failoverAtMs,
      actual: Math.round(p95),
      message: `p95 ${Math.round(p95)} ms over ${requests(attempts)} through router ${router} ≥ failoverAt ${settings.failoverAtMs} ms`,
    });
  }
  const result: ProbeResult = {
    checkId: trafficCheckId(target, router),
    target,
    check: 'traffic',
    region: settings.region,
    startedAt: w?.startedAt ?? at - settings.intervalMs,
    durationMs: p95,
    phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: p95, transferMs: 0 },
    outcome: slow ? 'degraded' : failures.length > 0 ? 'fail' : 'pass',
    failures,
    source: 'traffic',
    notes: [
      `${requests(attempts)} in ${settings.intervalMs} ms, ${failuresCount} upstream failure${failuresCount === 1 ? '' : 's'}${failuresInARow > 0 ? ` (${failuresInARow} in a row now)` : ''}, p95 ${Math.round(p95)} ms`,
    ],
  };
  if (last?.httpStatus !== undefined && failures.length > 0 && !slow) result.httpStatus = last.httpStatus;
  if (last?.error !== undefined && failures.length > 0 && !slow) result.error = last.error;
  return result;
}

/** Nearest-rank quantile of `values` (sorted in place). */
function quantile(values: number[], q: number): number {
  values.sort((a, b) => a - b);
  return values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))] as number;
}

const requests = (n: number) => `${n} request${n === 1 ? '' : 's'}`;

function pct(share: number): string {
  return `${Math.round(share * 1000) / 10}%`;
}
