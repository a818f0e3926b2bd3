import { VigilError } from '../errors.js';
import type { CheckPlan, Thresholds } from '../types.js';

/**
 * Floor of the flap window, in milliseconds: 10 minutes. Short enough that a check which settles
 * stops being reported as flapping within minutes; long enough that one outage with its
 * confirmation and recovery (healthy → pending → unhealthy → healthy: 3 transitions) never counts
 * as flapping on its own.
 */
export const MIN_FLAP_WINDOW_MS = 10 * 60_000;

/**
 * Checks per flap window: 21, Nagios' flap detection history (`the last 21 checks`, i.e. 20
 * possible state changes).
 */
export const FLAP_WINDOW_CHECKS = 21;

/**
 * Transitions within the window that mean flapping: 6, i.e. 30 % of the 20 possible state changes
 * in Nagios' 21-check history, Nagios' default `high_service_flap_threshold` (30.0). Nagios weighs
 * recent changes more and stops at a lower threshold (20 %); Vigil counts unweighted with a single
 * threshold, which is simpler to explain on a dashboard.
 */
export const DEFAULT_FLAP_TRANSITIONS = 6;

/**
 * The thresholds the evaluator applies to one check, from its plan plus optional overrides.
 *
 * Defaults and their sources:
 * - `failureThreshold` / `successThreshold`: from the plan (Kubernetes' names; the config loader
 *   resolves Kubernetes' defaults 3 / 1).
 * - `degradedThreshold`: the (possibly overridden) `failureThreshold`, so a warning is confirmed as
 *   carefully as a page.
 * - `flapWindowMs`: `max(10 min, 21 × intervalMs)`: Nagios judges flapping over the last 21 checks;
 *   a time window of at least that many regular intervals keeps slow checks (a 5-minute canary)
 *   able to flap at all, and the 10-minute floor keeps fast checks (and their fast-confirmation
 *   probes) from flagging one ordinary outage.
 * - `flapTransitions`: 6 ({@link DEFAULT_FLAP_TRANSITIONS}, Nagios' 30 % of 20 changes).
 * - `startupGraceMs`: the plan's (config key `startupGrace`), else 0 (no grace).
 *
 * @example
 * ```ts
 * const t = defaultThresholds(plan, { startupGraceMs: 60_000 });
 * ```
 * @throws VigilError `VIGIL_ERR_EVALUATE_THRESHOLDS` when a count is not a positive integer (a flap
 *   count of 0 is allowed and turns flap detection off) or a duration is negative or not finite.
 */
export function defaultThresholds(
  plan: Pick<CheckPlan, 'failureThreshold' | 'successThreshold' | 'intervalMs' | 'startupGraceMs'>,
  overrides: Partial<Thresholds> = {},
): Thresholds {
  const failureThreshold = overrides.failureThreshold ?? plan.failureThreshold;
  const thresholds: Thresholds = {
    failureThreshold,
    successThreshold: overrides.successThreshold ?? plan.successThreshold,
    degradedThreshold: overrides.degradedThreshold ?? failureThreshold,
    flapWindowMs:
      overrides.flapWindowMs ?? Math.max(MIN_FLAP_WINDOW_MS, FLAP_WINDOW_CHECKS * plan.intervalMs),
    flapTransitions: overrides.flapTransitions ?? DEFAULT_FLAP_TRANSITIONS,
    startupGraceMs: overrides.startupGraceMs ?? plan.startupGraceMs ?? 0,
  };
  validateThresholds(thresholds);
  return thresholds;
}

/**
 * Checks that `thresholds` can drive the evaluator: the three streak counts are positive integers,
 * `flapTransitions` is a non-negative integer (0 turns flap detection off), and the two durations
 * are finite and non-negative.
 *
 * @throws VigilError `VIGIL_ERR_EVALUATE_THRESHOLDS`, naming every bad field.
 */
export function validateThresholds(thresholds: Thresholds): void {
  const problems: string[] = [];
  for (const key of ['failureThreshold', 'successThreshold', 'degradedThreshold'] as const) {
    const value = thresholds[key];
    if (!Number.isSafeInteger(value) || value < 1)
      problems.push(`${key} must be a positive integer, got ${value}`);
  }
  if (!Number.isSafeInteger(thresholds.flapTransitions) || thresholds.flapTransitions < 0) {
    problems.push(`flapTransitions must be a non-negative integer, got ${thresholds.flapTransitions}`);
  }
  for (const key of ['flapWindowMs', 'startupGraceMs'] as const) {
    const value = thresholds[key];
    if (!Number.isFinite(value) || value < 0)
      problems.push(`${key} must be a non-negative number of ms, got ${value}`);
  }
  if (problems.length > 0) {
    throw new VigilError('VIGIL_ERR_EVALUATE_THRESHOLDS', `invalid thresholds: ${problems.join('; ')}`);
  }
}
