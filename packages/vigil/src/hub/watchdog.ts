/**
 * The hub's watchdog: notices a check whose results stopped arriving. A probe that hangs is not such
 * a check — the prober's timeout makes it a result (`TIMEOUT`) — so what the watchdog sees is Vigil's
 * own machinery failing a check: a scheduler that no longer starts it, probes that never settle, a
 * global concurrency cap held by other probes. Such a check becomes `stale` (evaluate/`markStale`).
 *
 * "Results stopped" is measured against the cadence the check is expected to have: none for
 * {@link STALE_INTERVALS} intervals plus its target's probe timeouts since the last sign of life (a result, the
 * check being planned, or the end of a deferral the scheduler announced: a probe deferred by the budget
 * or held for readiness is an expected gap, shown as `deferred`, never stale).
 */
import type { CheckPlan } from '../types.js';

/**
 * Intervals without a result after which a check is stale: 2. One missed interval happens to a check
 * whose probe took its whole timeout after an early one (gap: interval + timeout); two is a probe that
 * did not happen. Prometheus marks a series stale after one missed scrape, but a scrape has no
 * timeout-sized spread; Kubernetes' node controller waits 40 s on a 10 s heartbeat (4 intervals) before
 * a node is `Unknown`, where a missed heartbeat costs a rescheduling. Later features that change when a
 * check runs (round-robin regions, agents, a cluster's takeover) must say so through the expected
 * cadence (a deferral's `until`), not by stretching this.
 */
export const STALE_INTERVALS = 2;

/** Default {@link WatchdogOptions.tickMs}: how often the hub looks for stale checks, 1 s. */
export const DEFAULT_WATCHDOG_TICK_MS = 1_000;

/**
 * How long a check may go without a result before it is stale, in ms: {@link STALE_INTERVALS}
 * intervals plus `targetTimeoutsMs`, the timeouts of every check of its target summed (its own
 * included). One probe per target runs at a time by default, and a due probe waits behind the others
 * of its target: an endpoint that hangs until each timeout delays its own checks by up to that much,
 * which is a result arriving late, not a prober that stopped.
 *
 * @example staleAfterMs({ intervalMs: 10_000 }, 6_000) // 26_000: liveness, readiness and integrity at 2 s each
 */
export function staleAfterMs(plan: Pick<CheckPlan, 'intervalMs'>, targetTimeoutsMs: number): number {
  return STALE_INTERVALS * plan.intervalMs + targetTimeoutsMs;
}

/** Options of {@link createWatchdog}. */
export interface WatchdogOptions {
  /**
   * How often the hub scans, in ms (the hub's timer; the watchdog only uses it to notice that it was
   * itself held up). Default {@link DEFAULT_WATCHDOG_TICK_MS}.
   */
  tickMs?: number;
}

/** One check as the watchdog sees it; mutated in place (a result costs no allocation). */
interface Clock {
  plan: CheckPlan;
  /** {@link staleAfterMs} of the plan, from its target's checks at the last `setPlans`. */
  staleAfterMs: number;
  /** The timeouts of its target's checks, summed (for the reason). */
  targetTimeoutsMs: number;
  /** The last sign of life, ms since epoch. */
  lastSeenAt: number;
  /** A deferral's end the scheduler announced (ms since epoch); 0 when none. */
  expectedBy: number;
}

/** What a scan found about one overdue check. */
export interface Overdue {
  plan: CheckPlan;
  /** The last sign of life, ms since epoch. */
  lastSeenAt: number;
  /** For people: `no result for 23.1 s (expected one every 10 s; stale after 2 intervals plus the 2 s timeout)`. */
  reason: string;
}

/** The watchdog of one hub's checks; see the module comment. */
export interface Watchdog {
  /**
   * Replaces the checks watched, each expected from `now + initialDelayMs` on when new or changed (a
   * plan object other than the one watched); unchanged ones keep their clock, removed ones are dropped.
   */
  setPlans(plans: Iterable<CheckPlan>, now: number): void;
  /**
   * Applies part of a plan change, as `setPlans` does for a whole plan: `remove` ids are dropped,
   * `upsert` plans added or updated (a changed plan object restarts its clock from `now`).
   * `targetTimeoutsMs` is {@link targetTimeouts} of the whole new plan (a check's allowance counts
   * its target's other checks). Clocks keep their order; new ones go last.
   */
  patch(
    change: { upsert?: readonly CheckPlan[]; remove?: Iterable<string> },
    targetTimeoutsMs: ReadonlyMap<string, number>,
    now: number,
  ): void;
  /** Starts every clock afresh at `now + initialDelayMs` (the hub starts probing). */
  restart(now: number): void;
  /** A result of `checkId` arrived at `now`. */
  seen(checkId: string, now: number): void;
  /**
   * The scheduler put `checkId`'s next probe off until `until` (ms since epoch): a gap it expects, so
   * the check is not stale before `until` plus its usual allowance.
   */
  deferred(checkId: string, until: number): void;
  /**
   * The checks overdue at `now`, in plan order. A scan that runs more than two ticks late says that the
   * hub itself was held up (a blocked event loop holds up the scheduler too): it reports nothing and
   * counts every check's gap from `now`, so a hub stall never turns every check stale at once.
   */
  scan(now: number): Overdue[];
}

/**
 * The timeouts of each target's checks summed, in ms, by target name (a watchdog's allowance); added
 * into `timeouts` when given (a plan summed piece by piece).
 */
export function targetTimeouts(
  plans: Iterable<CheckPlan>,
  timeouts: Map<string, number> = new Map(),
): Map<string, number> {
  for (const plan of plans) {
    timeouts.set(plan.target.name, (timeouts.get(plan.target.name) ?? 0) + plan.timeoutMs);
  }
  return timeouts;
}

/**
 * Creates a watchdog. The hub feeds it results and deferrals and calls {@link Watchdog.scan} every
 * tick; it turns each check reported overdue (and not stale already) `stale`.
 *
 * @example
 * ```ts
 * const watchdog = createWatchdog();
 * watchdog.setPlans(plans, Date.now());
 * setInterval(() => {
 *   for (const { plan, reason } of watchdog.scan(Date.now())) markStale(states.get(plan.id), Date.now(), reason);
 * }, DEFAULT_WATCHDOG_TICK_MS);
 * ```
 */
export function createWatchdog(options: WatchdogOptions = {}): Watchdog {
  const tickMs = options.tickMs ?? DEFAULT_WATCHDOG_TICK_MS;
  const clocks = new Map<string, Clock>();
  /** When the last scan ran; a scan much later than a tick after it means the hub was held up. */
  let lastScanAt = Number.NEGATIVE_INFINITY;
  /** Gaps are counted from here at the earliest: the end of the hub's own last stall. */
  let resumedAt = Number.NEGATIVE_INFINITY;

  /** The clock of `plan`: its old one, kept or restarted when the plan changed, or a new one. */
  function upsert(plan: CheckPlan, timeouts: ReadonlyMap<string, number>, now: number): Clock {
    const targetTimeoutsMs = timeouts.get(plan.target.name) ?? plan.timeoutMs;
    let clock = clocks.get(plan.id);
    if (clock === undefined) {
      clock = {
        plan,
        staleAfterMs: 0,
        targetTimeoutsMs,
        lastSeenAt: now + plan.initialDelayMs,
        expectedBy: 0,
      };
    } else if (clock.plan !== plan) {
      // A changed plan is scheduled afresh (initial delay and spread, from now).
      clock.plan = plan;
      clock.lastSeenAt = Math.max(clock.lastSeenAt, now + plan.initialDelayMs);
    }
    clock.targetTimeoutsMs = targetTimeoutsMs;
    clock.staleAfterMs = staleAfterMs(plan, targetTimeoutsMs);
    return clock;
  }

  return {
    setPlans(plans, now) {
      const list = [...plans];
      const timeouts = targetTimeouts(list);
      const next = new Map<string, Clock>();
      for (const plan of list) next.set(plan.id, upsert(plan, timeouts, now));
      clocks.clear();
      for (const [id, clock] of next) clocks.set(id, clock);
    },
    patch(change, timeouts, now) {
      for (const id of change.remove ?? []) clocks.delete(id);
      for (const plan of change.upsert ?? []) clocks.set(plan.id, upsert(plan, timeouts, now));
    },
    restart(now) {
      lastScanAt = Number.NEGATIVE_INFINITY;
      resumedAt = Number.NEGATIVE_INFINITY;
      for (const clock of clocks.values()) {
        clock.lastSeenAt = now + clock.plan.initialDelayMs;
        clock.expectedBy = 0;
      }
    },
    seen(checkId, now) {
      const clock = clocks.get(checkId);
      if (clock !== undefined) {
        clock.lastSeenAt = now;
        clock.expectedBy = 0;
      }
    },
    deferred(checkId, until) {
      const clock = clocks.get(checkId);
      if (clock !== undefined) clock.expectedBy = until;
    },
    scan(now) {
      const late = now - lastScanAt > 2 * tickMs && lastScanAt !== Number.NEGATIVE_INFINITY;
      lastScanAt = now;
      if (late) {
        resumedAt = now;
        return [];
      }
      const overdue: Overdue[] = [];
      for (const clock of clocks.values()) {
        const { plan } = clock;
        const from = Math.max(clock.lastSeenAt, clock.expectedBy, resumedAt);
        if (now - from <= clock.staleAfterMs) continue;
        const timeouts =
          clock.targetTimeoutsMs === plan.timeoutMs
            ? `the ${seconds(plan.timeoutMs)} timeout`
            : `its target's probe timeouts (${seconds(clock.targetTimeoutsMs)})`;
        const allowance = `expected one every ${seconds(plan.intervalMs)}; stale after ${STALE_INTERVALS} intervals plus ${timeouts}`;
        const afterDeferral = clock.expectedBy > clock.lastSeenAt;
        const gap = `${((now - (afterDeferral ? clock.expectedBy : clock.lastSeenAt)) / 1000).toFixed(1)} s`;
        overdue.push({
          plan,
          lastSeenAt: clock.lastSeenAt,
          reason: afterDeferral
            ? `no result ${gap} after its deferral ended (${allowance})`
            : `no result for ${gap} (${allowance})`,
        });
      }
      return overdue;
    },
  };
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
