import { VigilError } from '../errors.js';
import type { CheckState, EvalState, FlapEvent, ProbeResult, Thresholds, Transition } from '../types.js';

/** Most ProbeResults kept in {@link EvalState.streak} and cited by one {@link Transition}. */
export const STREAK_LIMIT = 10;

/** What one {@link evaluate} step produced. */
export interface Evaluation {
  /** The new state (a new object; the input state is never modified). */
  state: EvalState;
  /** Present when `state.state` changed. */
  transition?: Transition;
  /** Present when flapping started or stopped with this result. */
  flap?: FlapEvent;
}

/** Alert severity of a state (DESIGN.md, "severity"). */
export type Severity = 'info' | 'warning' | 'critical';

/**
 * The severity a state carries: `pending` → `info` (one failed probe: dashboard only), `degraded` and
 * `stale` → `warning`, `unhealthy` → `critical` (pages); `healthy` and `unknown` → `null`.
 */
export function severityOf(state: CheckState): Severity | null {
  switch (state) {
    case 'pending':
      return 'info';
    case 'degraded':
    case 'stale':
      return 'warning';
    case 'unhealthy':
      return 'critical';
    default:
      return null;
  }
}

/**
 * The evaluator's memory for a (check, region) that has seen no probe: state `unknown`, zero
 * counters, no history.
 *
 * @param since When `unknown` was entered, ms since epoch. Default 0 ("never"): the evaluator reads
 *   no clock.
 * @example
 * ```ts
 * let state = initialState('credit-scorer/integrity', 'eu-west');
 * ```
 */
export function initialState(checkId: string, region: string, since = 0): EvalState {
  return {
    checkId,
    region,
    state: 'unknown',
    since,
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    consecutiveDegraded: 0,
    firstSeenAt: null,
    hasPassed: false,
    recentTransitions: [],
    flapping: false,
    streak: [],
    lastResult: null,
  };
}

/**
 * One step of the health state machine of one (check, region): folds `result` into `state`.
 *
 * Pure: reads no clock (the time is the result's `startedAt + durationMs`), does no I/O, never
 * modifies its inputs (arrays inside the returned state may be shared with the input state; treat
 * both as immutable), and returns equal output for equal input.
 *
 * Counting (Kubernetes' probe semantics, extended with `degraded`):
 * - `pass` counts toward `consecutiveSuccesses` and resets both other counters.
 * - `degraded` (the probe passed, but slowly or with drift) counts toward `consecutiveDegraded`,
 *   resets `consecutiveFailures` (the endpoint did answer correctly, which is a Kubernetes success)
 *   and resets `consecutiveSuccesses` (a slow answer does not prove recovery).
 * - `fail` counts toward `consecutiveFailures`, resets `consecutiveSuccesses` and leaves
 *   `consecutiveDegraded` as it is: a failure is worse than slowness and must not hide it, so an
 *   overloaded model alternating slow answers and timeouts (`D F D F D`) is reported `degraded`.
 *
 * States:
 * - `failureThreshold` consecutive failures → `unhealthy` (critical), from any state.
 * - A failure below the threshold from `healthy` or `unknown` → `pending` (info: a failure being
 *   confirmed; the scheduler re-probes at `fastIntervalMs`, HAProxy's `fastinter`). From `degraded`
 *   it stays `degraded`, from `unhealthy` it stays `unhealthy`.
 * - `degradedThreshold` consecutive degraded probes (failures in between do not break the count;
 *   only a pass does) → `degraded` (warning), from any state but `unhealthy`-in-progress.
 * - `successThreshold` consecutive passes → `healthy` from `unhealthy` or `degraded`, as Kubernetes
 *   applies `successThreshold` to a probe that has failed. From `unknown` (first probe) and from
 *   `pending` (the failure was not confirmed: a blip) one pass, or one degraded probe, is enough:
 *   neither state was ever reported as a problem, so there is nothing to recover from. An
 *   `unhealthy` endpoint that comes back slow becomes `degraded` after `degradedThreshold`
 *   degraded probes.
 * - Startup grace (the meaning of Kubernetes' startup probe): while the check has never passed (a
 *   degraded answer counts as passed) and less than `startupGraceMs` has elapsed since its first
 *   probe started, failures keep it `pending` at most. Failures keep counting, so once the grace is
 *   over the first failing probe with the threshold reached makes it `unhealthy`.
 * - Flapping (Nagios/Icinga flap detection, simplified to an unweighted count in a time window):
 *   every transition's time is kept in `recentTransitions`, pruned to `flapWindowMs` before each
 *   result's time. When the count reaches `flapTransitions` the state is `flapping` and a
 *   {@link FlapEvent} says so; when it falls below, another FlapEvent ends it. Every state change
 *   counts, `pending` included: a check bouncing between healthy and pending is what flapping
 *   looks like. `flapTransitions: 0` turns detection off.
 *
 * Each {@link Transition} carries the time, a reason for people (`3 consecutive failures: TIMEOUT:
 * timed out after 2000 ms`, `recovered after 1 success`, `2 consecutive degraded probes: latency
 * 212 ms ≥ degraded threshold 150 ms`) and the results that caused it (at most
 * {@link STREAK_LIMIT}).
 *
 * @example
 * ```ts
 * const { state: next, transition, flap } = evaluate(state, result, defaultThresholds(plan));
 * if (transition) alerting.emit(transition);
 * ```
 * @throws VigilError `VIGIL_ERR_EVALUATE_MISMATCH` when the result belongs to another check or region
 *   (a bug in the caller).
 */
export function evaluate(state: EvalState, result: ProbeResult, thresholds: Thresholds): Evaluation {
  if (result.checkId !== state.checkId || result.region !== state.region) {
    throw new VigilError(
      'VIGIL_ERR_EVALUATE_MISMATCH',
      `result for ${result.checkId} in ${result.region} given to the state of ${state.checkId} in ${state.region}`,
    );
  }
  const at = result.startedAt + result.durationMs;
  const outcome = result.outcome;
  const firstSeenAt = state.firstSeenAt ?? result.startedAt;
  const hasPassed = state.hasPassed || outcome !== 'fail';

  let failures = 0;
  let successes = 0;
  let degraded = state.consecutiveDegraded;
  if (outcome === 'pass') {
    successes = state.consecutiveSuccesses + 1;
    degraded = 0;
  } else if (outcome === 'degraded') {
    degraded += 1;
  } else {
    failures = state.consecutiveFailures + 1;
  }

  // The streak is the run of results on the same side of pass / not-pass, newest last. A passing
  // streak is only ever cited by a recovery (its last successThreshold results), so it keeps no
  // more than that: a healthy check's state stays small (it is stored at every checkpoint).
  const last = state.lastResult;
  const continues = last !== null && (last.outcome === 'pass') === (outcome === 'pass');
  const limit = outcome === 'pass' ? Math.min(STREAK_LIMIT, thresholds.successThreshold) : STREAK_LIMIT;
  const streak = continues ? appendBounded(state.streak, result, limit) : [result];

  const from = state.state;
  // A stale check resumes from the state it was last known to be in: its counts are that state's.
  const known = from === 'stale' ? (state.lastKnown?.state ?? 'unknown') : from;
  // A healthy check passing again decides nothing: skip building the counts (the step of almost
  // every probe).
  const decision =
    known === 'healthy' && outcome === 'pass'
      ? null
      : decide(known, outcome, result, {
          failures,
          successes,
          degraded,
          previousFailures: state.consecutiveFailures,
          graceOver: at - firstSeenAt >= thresholds.startupGraceMs,
          hasPassed,
          streak,
          thresholds,
        });

  let transition: Transition | undefined;
  let recent = state.recentTransitions;
  let since = state.since;
  if (from === 'stale') {
    // Results arrive again: always a transition out of `stale`, to what this result makes of the
    // state last known. Not counted toward flapping: staleness is Vigil's prober, not the endpoint.
    const to = decision?.to ?? known;
    const gap = Math.round((at - state.since) / 1000);
    transition = {
      checkId: state.checkId,
      region: state.region,
      from,
      to,
      at,
      reason: `results arrive again after ${gap} s stale: ${decision?.reason ?? `${to} as before, ${describeResult(result)}`}`,
      results: decision?.results ?? [result],
      lastKnown: known,
    };
    // Still in the state it was in before: since then, not since the gap (an alert keeps its start).
    since = to === known && state.lastKnown !== undefined ? state.lastKnown.since : at;
  } else if (decision !== null && decision.to !== from) {
    transition = {
      checkId: state.checkId,
      region: state.region,
      from,
      to: decision.to,
      at,
      reason: decision.reason,
      results: decision.results,
    };
    since = at;
    recent = [...recent, at];
  }
  recent = pruneBefore(recent, at - thresholds.flapWindowMs);

  let flapping = state.flapping;
  let flap: FlapEvent | undefined;
  const isFlapping = thresholds.flapTransitions > 0 && recent.length >= thresholds.flapTransitions;
  if (isFlapping !== flapping) {
    flapping = isFlapping;
    flap = { checkId: state.checkId, region: state.region, flapping, at, transitionsInWindow: recent.length };
  }

  const next: EvalState = {
    checkId: state.checkId,
    region: state.region,
    state: transition ? transition.to : from,
    since,
    consecutiveFailures: failures,
    consecutiveSuccesses: successes,
    consecutiveDegraded: degraded,
    firstSeenAt,
    hasPassed,
    recentTransitions: recent,
    flapping,
    streak,
    lastResult: result,
  };
  const evaluation: Evaluation = { state: next };
  if (transition) evaluation.transition = transition;
  if (flap) evaluation.flap = flap;
  return evaluation;
}

/**
 * The watchdog's step: the check's results stopped arriving, so its state becomes `stale` (warning),
 * keeping the state it was in as {@link EvalState.lastKnown} for the next result to resume from (see
 * {@link evaluate}). A check already stale is returned as it is, without a transition.
 *
 * The transition carries `lastKnown` and no results (none arrived). It is not counted toward
 * flapping: flapping is about the endpoint, and staleness about Vigil's own prober. Pure, like
 * {@link evaluate}: `at` is the time the watchdog decided, ms since epoch.
 *
 * @param reason for people, e.g. `no result for 25 s (expected every 10 s)`
 * @example
 * ```ts
 * const { state: next, transition } = markStale(state, Date.now(), 'no result for 25 s');
 * ```
 */
export function markStale(state: EvalState, at: number, reason: string): Evaluation {
  if (state.state === 'stale') return { state };
  const known = state.state;
  const next: EvalState = {
    ...state,
    state: 'stale',
    since: at,
    lastKnown: { state: known, since: state.since },
  };
  return {
    state: next,
    transition: {
      checkId: state.checkId,
      region: state.region,
      from: known,
      to: 'stale',
      at,
      reason,
      results: [],
      lastKnown: known,
    },
  };
}

/**
 * Whether one {@link evaluate} step changed anything a check resumed from `previous` would decide
 * differently: its state (and when it was entered), flapping, startup grace (`firstSeenAt`,
 * `hasPassed`), or a streak counter below its threshold (`consecutiveFailures` below
 * `failureThreshold`, and likewise successes and degraded probes: past its threshold a count only
 * grows the number in a reason). Whether the last result passed, which decides whether the next
 * one continues the streak, follows from the counters: a pass resets the other two.
 *
 * Everything else — the last result, the results of the streak, counts past their thresholds,
 * transition times that have left the flap window — changes which results a later transition
 * cites and what its reason counts, never whether or when it happens. The hub stores a step for
 * which this is `true` at once and the others at its periodic checkpoint (`HubOptions`
 * `checkpointIntervalMs`), so a healthy check costs no write per probe.
 *
 * @param thresholds The check's, as given to {@link evaluate}.
 * @example
 * ```ts
 * const { state: next } = evaluate(state, result, thresholds);
 * if (isMaterialChange(state, next, thresholds)) await store.saveStates([next]);
 * ```
 */
export function isMaterialChange(previous: EvalState, next: EvalState, thresholds: Thresholds): boolean {
  const { failureThreshold, successThreshold, degradedThreshold } = thresholds;
  return (
    previous.state !== next.state ||
    previous.since !== next.since ||
    previous.flapping !== next.flapping ||
    previous.hasPassed !== next.hasPassed ||
    previous.firstSeenAt !== next.firstSeenAt ||
    Math.min(previous.consecutiveFailures, failureThreshold) !==
      Math.min(next.consecutiveFailures, failureThreshold) ||
    Math.min(previous.consecutiveSuccesses, successThreshold) !==
      Math.min(next.consecutiveSuccesses, successThreshold) ||
    Math.min(previous.consecutiveDegraded, degradedThreshold) !==
      Math.min(next.consecutiveDegraded, degradedThreshold)
  );
}

interface Counts {
  failures: number;
  successes: number;
  degraded: number;
  /** Consecutive failures before this result (for "failure not confirmed" reasons). */
  previousFailures: number;
  graceOver: boolean;
  hasPassed: boolean;
  streak: ProbeResult[];
  thresholds: Thresholds;
}

interface Decision {
  to: CheckState;
  reason: string;
  results: ProbeResult[];
}

/** The state the counts prove, with its reason; null when the state stays as it is. */
function decide(
  from: CheckState,
  outcome: ProbeResult['outcome'],
  result: ProbeResult,
  c: Counts,
): Decision | null {
  const t = c.thresholds;
  if (outcome === 'fail') {
    const inGrace = !c.hasPassed && !c.graceOver;
    const results = c.streak.slice(-c.failures);
    if (c.failures >= t.failureThreshold && !inGrace) {
      const grace =
        !c.hasPassed && t.startupGraceMs > 0 ? `, startup grace of ${t.startupGraceMs} ms over` : '';
      return {
        to: 'unhealthy',
        reason: `${plural(c.failures, 'consecutive failure')}${grace}: ${describeResult(result)}`,
        results,
      };
    }
    if (from === 'healthy' || from === 'unknown') {
      const reason = inGrace
        ? `${plural(c.failures, 'failure')} within startup grace of ${t.startupGraceMs} ms: ${describeResult(result)}`
        : `${plural(c.failures, 'failure')}, confirming (unhealthy at ${t.failureThreshold}): ${describeResult(result)}`;
      return { to: 'pending', reason, results };
    }
    return null;
  }

  if (outcome === 'degraded') {
    if (from !== 'degraded' && c.degraded >= t.degradedThreshold) {
      const withFailures = c.streak.some((r) => r.outcome === 'fail');
      const count = withFailures
        ? `${plural(c.degraded, 'degraded probe')} since the last pass`
        : plural(c.degraded, 'consecutive degraded probe');
      return { to: 'degraded', reason: `${count}: ${describeResult(result)}`, results: c.streak };
    }
    if (from === 'unknown') {
      return {
        to: 'healthy',
        reason: `first probe answered (degraded: ${describeResult(result)})`,
        results: [result],
      };
    }
    if (from === 'pending') {
      const reason = `failure not confirmed: answered after ${plural(c.previousFailures, 'failure')} (degraded: ${describeResult(result)})`;
      return { to: 'healthy', reason, results: [result] };
    }
    return null;
  }

  if (from === 'unknown') return { to: 'healthy', reason: 'first probe passed', results: [result] };
  if (from === 'pending') {
    return {
      to: 'healthy',
      reason: `failure not confirmed: passed after ${plural(c.previousFailures, 'failure')}`,
      results: [result],
    };
  }
  if ((from === 'unhealthy' || from === 'degraded') && c.successes >= t.successThreshold) {
    const count = c.successes === 1 ? '1 success' : `${c.successes} consecutive successes`;
    return { to: 'healthy', reason: `recovered after ${count}`, results: c.streak.slice(-c.successes) };
  }
  return null;
}

/**
 * One line saying what went wrong in a result: its error (`TIMEOUT: timed out after 2000 ms`), else
 * its failed assertions' messages (at most three, then `(+N more)`), else its HTTP status.
 */
export function describeResult(result: ProbeResult): string {
  if (result.error) return `${result.error.code}: ${result.error.message}`;
  const failures = result.failures;
  if (failures.length > 0) {
    const shown = failures
      .slice(0, 3)
      .map((f) => f.message)
      .join('; ');
    return failures.length > 3 ? `${shown} (+${failures.length - 3} more)` : shown;
  }
  if (result.httpStatus !== undefined) return `HTTP ${result.httpStatus}`;
  return result.outcome;
}

function plural(n: number, noun: string): string {
  if (n === 1) return `1 ${noun}`;
  // Only the last word takes the plural: "consecutive failure" → "consecutive failures".
  return `${n} ${noun}s`;
}

/**
 * The last `limit - 1` of `items`, then `item`, in a new array of exactly that length (a slice then
 * a push would grow the copy's backing store to 17 slots: this runs at every probe).
 */
function appendBounded(items: readonly ProbeResult[], item: ProbeResult, limit: number): ProbeResult[] {
  const start = items.length >= limit ? items.length - limit + 1 : 0;
  const out = new Array<ProbeResult>(items.length - start + 1);
  for (let i = start; i < items.length; i++) out[i - start] = items[i] as ProbeResult;
  out[out.length - 1] = item;
  return out;
}

/** Drops timestamps at or before `cutoff`; returns the same array when none is dropped. */
function pruneBefore(times: number[], cutoff: number): number[] {
  let i = 0;
  while (i < times.length && (times[i] as number) <= cutoff) i++;
  return i === 0 ? times : times.slice(i);
}
