/**
 * A router's policy: which upstream takes the next request, and when the primary is demoted and
 * given traffic back. It holds each upstream's signals (hub state, drain, outlier ejection, latency
 * window) and decides from them; the data path (`proxy.ts`) asks {@link RoutePolicy.pick} per
 * attempt and reports every outcome back. Time is injected (`now`, ms), so it is tested as tables.
 */
import type { PolicyPlan, UpstreamPlan } from './config.js';
import { HedgeBudget, LatencyWindow, OutlierDetector } from './signals.js';

/** An upstream's state as the hub judges it (from its checks), or `unknown` before it has said. */
export type UpstreamHealth = 'unknown' | 'healthy' | 'degraded' | 'unhealthy';

/** A decision worth logging, with its reason: the policy's output to logs and metrics. */
export interface PolicyDecision {
  kind: 'eject' | 'return' | 'demote' | 'step' | 'drain' | 'restore' | 'hub-state';
  upstream: string;
  /** For people: why, with the numbers, e.g. `p95 212 ms over 10 s ≥ failoverAt 180 ms`. */
  reason: string;
  /** `step`: the primary's share of traffic now. */
  share?: number;
  /** `eject`: how long, in ms. */
  ejectionMs?: number;
}

/** One upstream's runtime state (never config: the plan is kept apart). */
export interface UpstreamRuntime {
  readonly plan: UpstreamPlan;
  hub: UpstreamHealth;
  /** Drained by an operator (admin API): takes no traffic until restored. */
  drained: boolean;
  readonly latency: LatencyWindow;
  readonly outlier: OutlierDetector;
  /** The window's p95 at the last tick reached `failoverAt`. */
  slow: boolean;
  /** The window's p95 at the last tick, in ms (undefined: too few samples). */
  p95Ms: number | undefined;
  /** Requests in flight to it now. */
  inFlight: number;
}

/** What the admin API and tests read of a policy. */
export interface PolicyStatus {
  /** The share of new traffic the primary gets now: 1 normally, 0 when demoted, a step on its way back. */
  primaryShare: number;
  /** Why the primary is demoted (`undefined` when it is not). */
  demotedBecause: string | undefined;
  /** Hedge tokens available. */
  hedgeTokens: number;
  upstreams: Array<{
    name: string;
    role: 'primary' | 'secondary';
    hub: UpstreamHealth;
    drained: boolean;
    ejected: boolean;
    /** ms since epoch; 0 when not ejected. */
    ejectedUntil: number;
    failuresInARow: number;
    slow: boolean;
    p95Ms: number | null;
    ewmaMs: number | null;
    inFlight: number;
  }>;
}

/** The policy of one router; see the module comment. */
export interface RoutePolicy {
  readonly upstreams: readonly UpstreamRuntime[];
  readonly primary: UpstreamRuntime;
  /**
   * The upstream for the next attempt, skipping `tried` (a bit per index in {@link upstreams});
   * `undefined` when none may take it. `random` in [0, 1) draws the primary's share.
   */
  pick(now: number, tried: number, random: number): UpstreamRuntime | undefined;
  /** An answer that is not an upstream failure (any status below 500), after `latencyMs`. */
  onSuccess(upstream: UpstreamRuntime, now: number, latencyMs: number): void;
  /** An upstream failure (5xx, timeout, reset, refused) after `latencyMs`. */
  onFailure(upstream: UpstreamRuntime, now: number, latencyMs: number, what: string): void;
  /** An attempt cut by the router (hedge loser, client gone) after `elapsedMs`: a latency lower bound. */
  onCancelled(upstream: UpstreamRuntime, now: number, elapsedMs: number): void;
  /** Re-reads the signals: latency p95, ejections that ended, the primary's demotion and return. */
  tick(now: number): void;
  /**
   * Whether the router has moved traffic off `upstream` at `now`: the primary while demoted (share
   * 0), or any upstream it may not use (drained, unhealthy by the hub, ejected). A request still
   * waiting on one is hedged whatever the hedge budget (`proxy.ts`).
   */
  failedOver(upstream: UpstreamRuntime, now: number): boolean;
  /** The hub's judgement of a target (all its checks): unhealthy drains it, degraded demotes it. */
  setHubState(target: string, state: UpstreamHealth, now: number): boolean;
  /** An operator drains (`true`) or restores (`false`) an upstream; false when the name is unknown. */
  setDrained(target: string, drained: boolean, now: number): boolean;
  /** A request arrived: the hedge budget grows by `hedgeMaxShare`. */
  readonly hedges: HedgeBudget;
  status(now: number): PolicyStatus;
}

/**
 * Creates a router's policy over `upstreams` (the primary first). `decide` receives each decision
 * with its reason (logged by the caller, counted in metrics).
 *
 * Rules, in order:
 * - an upstream takes no traffic while drained (admin), unhealthy by the hub, or ejected (outlier);
 *   when nothing else is left and there is no fallback, ejected and hub-unhealthy upstreams are used
 *   anyway (Envoy's panic mode): a likely error beats a certain one;
 * - the primary is demoted (share 0) when it cannot take traffic, when the hub says degraded, or when
 *   its p95 over `window` reaches `failoverAt`; its window is then cleared;
 * - it gets traffic back in `returnSteps`, each step once it has been good for `healthyFor` (the first
 *   step waits `healthyFor × failovers in a row`, at most ×10, so a primary that keeps failing waits
 *   longer each time); from a step that gave it traffic, only once it answered at that step and no
 *   answer there was slow (≥ failoverAt) or failed; a relapse at any step demotes it again;
 * - secondaries are chosen best first: hub healthy before degraded, not slow before slow, then the
 *   lowest latency EWMA, then config order.
 */
export function createRoutePolicy(
  plans: readonly UpstreamPlan[],
  policy: PolicyPlan,
  options: { hasFallback: boolean; decide: (decision: PolicyDecision) => void; previous?: RoutePolicy },
): RoutePolicy {
  const { decide } = options;
  const upstreams: UpstreamRuntime[] = plans.map((plan) => {
    // A reload keeps what was learnt about an upstream whose URL and window did not change.
    const old = options.previous?.upstreams.find(
      (u) => u.plan.name === plan.name && u.plan.url === plan.url && u.latency.windowMs === policy.windowMs,
    );
    return {
      plan,
      hub: old?.hub ?? 'unknown',
      drained: old?.drained ?? false,
      latency: old?.latency ?? new LatencyWindow(policy.windowMs),
      outlier: new OutlierDetector({
        consecutive5xx: policy.consecutive5xx,
        baseEjectionMs: policy.baseEjectionMs,
      }),
      slow: old?.slow ?? false,
      p95Ms: old?.p95Ms,
      inFlight: 0,
    };
  });
  const primary = upstreams[0] as UpstreamRuntime;
  const secondaries = upstreams.slice(1);
  const hedges = new HedgeBudget(policy.hedgeMaxShare);

  let share = 1;
  let step = policy.returnSteps.length - 1;
  let demotedBecause: string | undefined;
  /** Failovers in a row; the first return step waits healthyFor × this. */
  let failovers = 0;
  /** Since when the primary has been good at its current step (0: not good now). */
  let goodSince = 0;
  /**
   * The primary's answers since its current return step began, and whether one of them was slow
   * (at or past failoverAt) or failed. A step that gave it traffic (10%, 25%…) is left for the next
   * only on evidence: at least one answer, none bad. Its p95 needs `MIN_WINDOW_SAMPLES` (signals.ts), which
   * a small share of a quiet route may take long to gather, and no sample is no proof: without this,
   * a primary still slow stepped on to 50% on a starved demo before its p95 could demote it again.
   */
  let stepAnswers = 0;
  let stepBad = false;
  const startStep = () => {
    stepAnswers = 0;
    stepBad = false;
  };
  const observePrimary = (u: UpstreamRuntime, latencyMs: number, failed: boolean) => {
    if (u !== primary || share <= 0 || share >= 1) return;
    stepAnswers++;
    if (failed || latencyMs >= policy.failoverAtMs) stepBad = true;
  };
  /** Secondaries best first, re-sorted every tick. */
  let ranked = secondaries;

  const ejectedCount = (now: number) => upstreams.filter((u) => u.outlier.isEjected(now)).length;
  const mayEject = (now: number) => () => {
    const ejected = ejectedCount(now);
    return ejected === 0 || (ejected + 1) / upstreams.length <= policy.maxEjectedShare;
  };

  const usable = (u: UpstreamRuntime, now: number) =>
    !u.drained && u.hub !== 'unhealthy' && !u.outlier.isEjected(now);

  const unusableReason = (u: UpstreamRuntime, now: number): string | undefined => {
    if (u.drained) return 'drained by an operator';
    if (u.hub === 'unhealthy') return 'the hub judges it unhealthy';
    if (u.outlier.isEjected(now)) return 'ejected after consecutive failures';
    if (u.hub === 'degraded') return 'the hub judges it degraded';
    if (u.slow)
      return `p95 ${Math.round(u.p95Ms ?? 0)} ms over ${policy.windowMs / 1000} s ≥ failoverAt ${policy.failoverAtMs} ms`;
    return undefined;
  };

  const demote = (reason: string) => {
    if (share === 0 && demotedBecause !== undefined) return;
    share = 0;
    step = -1;
    goodSince = 0;
    failovers = Math.min(10, failovers + 1);
    demotedBecause = reason;
    primary.latency.clear();
    primary.slow = false;
    primary.p95Ms = undefined;
    decide({ kind: 'demote', upstream: primary.plan.name, reason, share: 0 });
  };

  const evaluate = (now: number) => {
    for (const u of upstreams) {
      const p95 = u.latency.quantile(now, 0.95);
      u.p95Ms = p95;
      u.slow = p95 !== undefined && p95 >= policy.failoverAtMs;
    }
    const bad = unusableReason(primary, now);
    if (bad !== undefined) {
      if (share > 0 || demotedBecause === undefined) demote(bad);
      goodSince = 0;
      return;
    }
    if (share >= 1) {
      // Fully back for a while: the next failover starts from a short wait again.
      if (failovers > 0 && goodSince > 0 && now - goodSince >= policy.healthyForMs) failovers = 0;
      if (goodSince === 0) goodSince = now;
      return;
    }
    if (goodSince === 0) {
      goodSince = now;
      return;
    }
    const wait = step < 0 ? policy.healthyForMs * Math.max(1, failovers) : policy.healthyForMs;
    if (now - goodSince < wait) return;
    if (share > 0 && (stepAnswers === 0 || stepBad)) {
      // No evidence yet at this step, or a bad answer: it must be good for healthyFor again.
      if (stepBad) goodSince = now;
      startStep();
      return;
    }
    step++;
    startStep();
    share = policy.returnSteps[step] ?? 1;
    goodSince = now;
    if (share >= 1) demotedBecause = undefined;
    decide({
      kind: 'step',
      upstream: primary.plan.name,
      reason:
        share >= 1
          ? 'the primary is back: all traffic'
          : `the primary has been healthy for ${wait / 1000} s: ${Math.round(share * 100)}% of traffic`,
      share,
    });
  };

  const rank = (a: UpstreamRuntime, b: UpstreamRuntime) => {
    const hubA = a.hub === 'degraded' ? 1 : 0;
    const hubB = b.hub === 'degraded' ? 1 : 0;
    if (hubA !== hubB) return hubA - hubB;
    if (a.slow !== b.slow) return a.slow ? 1 : -1;
    const ea = a.latency.ewma() ?? 0;
    const eb = b.latency.ewma() ?? 0;
    // Within 10% (or 2 ms) is a tie: config order then, so traffic does not swing on noise.
    if (Math.abs(ea - eb) > Math.max(2, 0.1 * Math.min(ea, eb))) return ea - eb;
    return upstreams.indexOf(a) - upstreams.indexOf(b);
  };

  const indexOf = new Map(upstreams.map((u, i) => [u, i]));
  const bit = (u: UpstreamRuntime) => 1 << (indexOf.get(u) as number);

  return {
    upstreams,
    primary,
    hedges,
    pick(now, tried, random) {
      if ((tried & 1) === 0 && share > 0 && (share >= 1 || random < share) && usable(primary, now))
        return primary;
      for (const u of ranked) if ((tried & bit(u)) === 0 && usable(u, now)) return u;
      // No secondary: a demoted primary (slow, degraded) is better than none.
      if ((tried & 1) === 0 && usable(primary, now)) return primary;
      if (options.hasFallback) return undefined;
      // Panic mode: nothing is healthy and nothing else will answer.
      for (const u of upstreams) if ((tried & bit(u)) === 0 && !u.drained) return u;
      return undefined;
    },
    onSuccess(u, now, latencyMs) {
      u.outlier.onSuccess();
      u.latency.record(now, latencyMs);
      observePrimary(u, latencyMs, false);
    },
    onFailure(u, now, latencyMs, what) {
      u.latency.record(now, latencyMs);
      observePrimary(u, latencyMs, true);
      const ms = u.outlier.onFailure(now, mayEject(now));
      if (ms !== undefined) {
        decide({
          kind: 'eject',
          upstream: u.plan.name,
          reason: `${policy.consecutive5xx} upstream failures in a row (last: ${what}): ejected for ${ms / 1000} s`,
          ejectionMs: ms,
        });
        if (u === primary) evaluate(now);
      }
    },
    onCancelled(u, now, elapsedMs) {
      u.latency.record(now, elapsedMs);
    },
    failedOver(u, now) {
      return !usable(u, now) || (u === primary && share <= 0);
    },
    tick(now) {
      for (const u of upstreams) {
        const wasEjected = u.outlier.until !== 0;
        if (wasEjected && !u.outlier.isEjected(now)) {
          decide({ kind: 'return', upstream: u.plan.name, reason: 'ejection ended: back in service' });
        }
      }
      evaluate(now);
      ranked = [...secondaries].sort(rank);
    },
    setHubState(target, state, now) {
      let found = false;
      for (const u of upstreams) {
        if (u.plan.name !== target || u.hub === state) continue;
        found = true;
        const before = u.hub;
        u.hub = state;
        decide({ kind: 'hub-state', upstream: target, reason: `the hub's state: ${before} → ${state}` });
      }
      if (found) evaluate(now);
      return found;
    },
    setDrained(target, drained, now) {
      const u = upstreams.find((x) => x.plan.name === target);
      if (u === undefined) return false;
      if (u.drained !== drained) {
        u.drained = drained;
        if (!drained) u.outlier.reset();
        decide({
          kind: drained ? 'drain' : 'restore',
          upstream: target,
          reason: drained ? 'drained by an operator' : 'restored by an operator',
        });
        evaluate(now);
      }
      return true;
    },
    status(now) {
      return {
        primaryShare: share,
        demotedBecause,
        hedgeTokens: hedges.available,
        upstreams: upstreams.map((u) => ({
          name: u.plan.name,
          role: u.plan.role,
          hub: u.hub,
          drained: u.drained,
          ejected: u.outlier.isEjected(now),
          ejectedUntil: u.outlier.until,
          failuresInARow: u.outlier.failuresInARow,
          slow: u.slow,
          p95Ms: u.p95Ms ?? null,
          ewmaMs: u.latency.ewma() ?? null,
          inFlight: u.inFlight,
        })),
      };
    },
  };
}
