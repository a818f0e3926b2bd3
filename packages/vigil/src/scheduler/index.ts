/**
 * The scheduler: runs every check on its due-time grid with spread, per-target and global
 * concurrency limits, fast confirmation and lag measurement. See {@link createScheduler}.
 */
export { BUDGET_BURST_MS, type DeferralReason, EXPENSIVE_KINDS, TargetBudget } from './budget.js';
export type { LagStats } from './histogram.js';
export {
  createScheduler,
  DEFAULT_COALESCE_MS,
  DEFAULT_MAX_CONCURRENCY,
  DEFAULT_PER_TARGET_CONCURRENCY,
  DEFAULT_STOP_TIMEOUT_MS,
  type PatchOptions,
  type PlanPatch,
  type Scheduler,
  type SchedulerOptions,
  type SchedulerStats,
  validatePlans,
} from './scheduler.js';
export { hashCheckId, spreadOffsetMs } from './spread.js';
