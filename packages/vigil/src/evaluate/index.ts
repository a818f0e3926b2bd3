/**
 * The evaluator: a pure state machine per (check, region), `(state, result, thresholds) → {state,
 * transition?, flap?}`. See {@link evaluate} for the semantics and their sources.
 */
export {
  describeResult,
  type Evaluation,
  evaluate,
  initialState,
  isMaterialChange,
  markStale,
  type Severity,
  STREAK_LIMIT,
  severityOf,
} from './evaluate.js';
export {
  DEFAULT_FLAP_TRANSITIONS,
  defaultThresholds,
  FLAP_WINDOW_CHECKS,
  MIN_FLAP_WINDOW_MS,
  validateThresholds,
} from './thresholds.js';
