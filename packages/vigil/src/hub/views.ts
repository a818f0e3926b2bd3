/**
 * What the hub shows its readers: a check's status, its configuration without secrets, recent
 * durations, and alerts with their mute state (the latest exchange: `exchange-cache.ts`). Pure
 * helpers over the hub's in-memory data.
 */
import type { Dispatcher } from '../alerting/dispatcher.js';
import type { Alert } from '../alerting/types.js';
import type { CheckPlan, EvalState } from '../types.js';
import { safeUrl } from './exchange-cache.js';
import {
  type AlertStatus,
  type CheckDeferral,
  type CheckInfo,
  type CheckStatus,
  RECENT_DURATIONS,
} from './types.js';

/** The last {@link RECENT_DURATIONS} durations of one (check, region), in a fixed ring. */
export class RecentDurations {
  // A plain array of doubles: a Float64Array per check also costs an ArrayBuffer and off-heap memory.
  readonly #ring: number[] = new Array<number>(RECENT_DURATIONS).fill(0);
  #next = 0;
  #count = 0;

  push(ms: number): void {
    this.#ring[this.#next] = ms;
    this.#next = (this.#next + 1) % RECENT_DURATIONS;
    if (this.#count < RECENT_DURATIONS) this.#count++;
  }

  /** Oldest first, rounded to 0.1 ms. */
  values(): number[] {
    const out: number[] = [];
    const start = (this.#next - this.#count + RECENT_DURATIONS) % RECENT_DURATIONS;
    for (let i = 0; i < this.#count; i++) {
      out.push(Math.round((this.#ring[(start + i) % RECENT_DURATIONS] ?? 0) * 10) / 10);
    }
    return out;
  }
}

/**
 * A check's live state as readers see it (`HubView.status`): its plan's names, its evaluator state,
 * and its deferral while the scheduler puts it off.
 */
export function checkStatusOf(plan: CheckPlan, s: EvalState, deferred?: CheckDeferral): CheckStatus {
  const status: CheckStatus = {
    checkId: plan.id,
    target: plan.target.name,
    check: plan.kind,
    region: s.region,
    state: s.state,
    since: s.since,
    flapping: s.flapping,
    consecutiveFailures: s.consecutiveFailures,
    labels: plan.target.labels,
    lastResult: s.lastResult,
  };
  if (plan.target.model !== undefined) status.model = plan.target.model;
  if (s.lastKnown !== undefined) status.lastKnown = s.lastKnown;
  if (deferred !== undefined) status.deferred = deferred;
  const version = s.lastResult?.modelVersion;
  if (version !== undefined) status.modelVersion = version;
  return status;
}

/**
 * What a deferral says to people: which budget, or that the check is held for readiness (a cheap
 * check, deferred only by the probe rate, says that the cheap checks alone exceed it).
 *
 * @param lastMs the check's last probe's duration, for the model-time budget
 */
export function deferralMessage(plan: CheckPlan, reason: CheckDeferral['reason'], lastMs?: number): string {
  const target = plan.target.name;
  const budget = plan.target.budget;
  const cheap = plan.kind === 'liveness' || plan.kind === 'readiness';
  // A cheap check is only ever deferred by the probe rate, and only when the cheap checks exceed it.
  const alone = cheap ? ' (its liveness and readiness checks alone exceed it)' : '';
  if (reason === 'not-ready') {
    return `held until ${target} is ready: its readiness check fails (a model loading), and an inference probe would only slow it down`;
  }
  if (reason === 'probe-rate') {
    return `over the probe budget of ${budget?.probesPerSecond ?? '?'} probes a second to ${target}, all its checks together${alone}`;
  }
  const share = budget === undefined ? '?' : `${Math.round(budget.modelTimeShare * 1000) / 10} %`;
  const last = lastMs === undefined ? '' : `; its last probe took ${Math.round(lastMs)} ms`;
  return `over the probe budget of ${share} of ${target}'s model time (probe latency × rate)${last}`;
}

/** A check's plan as readers may see it (no headers, auth or payloads). */
export function checkInfoOf(plan: CheckPlan): CheckInfo {
  const info: CheckInfo = {
    checkId: plan.id,
    target: plan.target.name,
    check: plan.kind,
    url: safeUrl(plan.target.url, (t) => t),
    protocol: plan.target.protocol,
    labels: plan.target.labels,
    intervalMs: plan.intervalMs,
    timeoutMs: plan.timeoutMs,
    fastIntervalMs: plan.fastIntervalMs,
    failureThreshold: plan.failureThreshold,
    successThreshold: plan.successThreshold,
  };
  if (plan.target.model !== undefined) info.model = plan.target.model;
  const latency = plan.expect.latency;
  if (latency?.degradedMs !== undefined) info.degradedMs = latency.degradedMs;
  if (latency?.failedMs !== undefined) info.failedMs = latency.failedMs;
  if (plan.target.budget !== undefined) info.budget = plan.target.budget;
  return info;
}

/**
 * Firing alerts with their mute state (Alertmanager's `active` / `suppressed`), critical first, then
 * oldest first. Without alerting configured nothing mutes: every alert is `active`.
 */
export async function alertStatuses(
  firing: readonly Alert[],
  dispatcher: Dispatcher | undefined,
): Promise<AlertStatus[]> {
  const reasons = dispatcher === undefined ? new Map<string, string>() : await dispatcher.muteReasons(firing);
  const rank = (a: Alert) => (a.labels.severity === 'critical' ? 0 : a.labels.severity === 'warning' ? 1 : 2);
  return firing
    .map((alert): AlertStatus => {
      const mutedBy = reasons.get(alert.fingerprint);
      return mutedBy === undefined
        ? { ...alert, state: 'active' }
        : { ...alert, state: 'suppressed', mutedBy };
    })
    .sort((a, b) => rank(a) - rank(b) || a.startsAt - b.startsAt);
}
