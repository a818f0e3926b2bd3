import { VigilError } from '../errors.js';
import type { CheckPlan, ProbeResult } from '../types.js';
import { type DeferralReason, EXPENSIVE_KINDS, sameBudget, TargetBudget } from './budget.js';
import { deepEqual } from './deep-equal.js';
import { DueHeap, type HeapItem } from './heap.js';
import { LagHistogram, type LagStats } from './histogram.js';
import { Fifo } from './queue.js';
import { spreadOffsetMs } from './spread.js';

/** Default {@link SchedulerOptions.perTargetConcurrency}: one probe at a time per target (DESIGN.md, "Performance stance"). */
export const DEFAULT_PER_TARGET_CONCURRENCY = 1;
/** Default {@link SchedulerOptions.maxConcurrency}: probes in flight at once across all targets. */
export const DEFAULT_MAX_CONCURRENCY = 1024;
/** Default {@link SchedulerOptions.stopTimeoutMs}: how long `stop()` waits for in-flight probes. */
export const DEFAULT_STOP_TIMEOUT_MS = 5_000;

/**
 * Default `SchedulerOptions.coalesceMs`: 20 ms. At 10,000 checks (1,000 probes a second),
 * starting the ~20 probes due in each 20 ms window in one timer callback instead of one wake-up each
 * cut the hub's CPU per probe by 25–30% in paired runs; the median probe duration measured against a
 * loopback endpoint rose from 0.6 to ~2 ms (BENCHMARKS.md, "Coalesced due times"). A probe starts at
 * most 20 ms after its exact slot, 0.2% of a 10 s interval.
 */
export const DEFAULT_COALESCE_MS = 20;

/** setTimeout's largest delay (2^31 − 1 ms, ~24.8 days); longer waits re-arm on the way. */
const MAX_TIMER_MS = 2_147_483_647;
/**
 * A timer may fire up to ~1 ms before its delay by the scheduler's clock (Node's loop clock is
 * cached and whole-ms); checks due within this margin run in that tick instead of re-arming for a
 * sub-millisecond wait. Their lag counts as 0.
 */
const EARLY_MS = 1;

/** Options of {@link Scheduler.patch}. */
export interface PatchOptions {
  /**
   * Checks the patch adds (or replaces) are first probed within this many ms (spread by a hash of the check id, no initial
   * delay) instead of at `initialDelayMs` plus a spread over their interval: checks a hub takes over
   * from another (`hub/cluster.ts`) were probed until a moment ago, and are due now.
   */
  firstWithinMs?: number;
}

/** Options of {@link createScheduler}. Durations in milliseconds. */
export interface SchedulerOptions {
  /** The checks to run; ids must be unique, `intervalMs` positive. */
  plans: readonly CheckPlan[];
  /**
   * Runs one probe. Must settle (the prober enforces `plan.timeoutMs`) and should not reject: a
   * down endpoint is a ProbeResult. A rejection goes to `onError` and the check stays scheduled.
   */
  probe: (plan: CheckPlan) => Promise<ProbeResult>;
  /**
   * Receives every result of a check that is still planned (see {@link Scheduler.update} and
   * {@link Scheduler.stop}), and answers whether that result is a failure being confirmed: `true`
   * (the hub returns "the evaluator's state is now `pending`") puts the check's next probe
   * `plan.fastIntervalMs` after the failed probe started, or at once if that probe took longer
   * (HAProxy's `fastinter`, start to start), or at its next regular slot if sooner. `false` keeps the
   * check on its grid, as does a callback that throws (the error goes to `onError`);
   * `fastIntervalMs: null` turns confirmation off for the check whatever the answer. A plain boolean
   * rather than an object, so that answering allocates nothing per probe.
   */
  onResult: (plan: CheckPlan, result: ProbeResult) => boolean;
  /**
   * Asked right before each probe starts (after any wait for a slot): `false` skips this slot, and the
   * check is due again at its next grid slot. A cluster hub answers whether it still holds the check's
   * lease (`hub/cluster.ts`), so no probe starts past the lease's fence however late a timer ran.
   * Default: every probe may start.
   */
  mayStart?: (plan: CheckPlan) => boolean;
  /**
   * Called as each probe starts, with its lag from due to started (ms, ≥ 0) and the due time it
   * was started for (ms on the scheduler's clock).
   */
  onLag?: (plan: CheckPlan, lagMs: number, dueAt: number) => void;
  /**
   * Called when a due probe is put off instead of started, with why and until when (ms on the
   * scheduler's clock: the due time it was moved to, a slot of the check's grid):
   * - `probe-rate` / `model-time`: its target is over its probe budget (`plan.target.budget`, see
   *   `budget.ts`): expensive checks (integrity, canary) are deferred first, cheap ones (liveness,
   *   readiness) only when they alone exceed its probes a second (never for model time). The probe moves to the first slot of its grid at or
   *   after the time the budget allows it: the further over budget, the longer it waits.
   * - `not-ready`: an expensive check of a target that is not ready (see {@link Scheduler.setReady}),
   *   held to its next slot, and started at once when the target becomes ready.
   *
   * Plans without `target.budget` are never deferred for budget. A deferred probe is not a result:
   * the check's next result comes when it runs.
   */
  onDeferred?: (plan: CheckPlan, reason: DeferralReason, untilMs: number) => void;
  /**
   * Called when `probe` rejects or throws, or when a callback throws; scheduling goes on. Default:
   * `process.emitWarning` of a VigilError `VIGIL_ERR_SCHEDULER_CALLBACK` whose `cause` is the error.
   */
  onError?: (plan: CheckPlan, error: unknown) => void;
  /**
   * Probes of one target (keyed by `plan.target.name`: one model) in flight at once. A due probe
   * whose target is busy waits and starts as soon as a slot frees. Default 1: health checks must
   * not load the model.
   */
  perTargetConcurrency?: number;
  /** Probes in flight at once across all targets. Default 1024. */
  maxConcurrency?: number;
  /** How long `stop()` waits for in-flight probes. Default 5000. */
  stopTimeoutMs?: number;
  /**
   * Due times are rounded up to the next multiple of this many ms on the scheduler's clock, so that
   * the probes due within one window start together, in one timer callback: one event-loop wake-up
   * (and one batch of responses arriving close together) instead of one per probe. Linux's timer
   * slack and systemd's `AccuracySec=` coalesce wake-ups the same way. Lag is measured from the rounded
   * due time. 0 runs every probe at its exact due time. Default {@link DEFAULT_COALESCE_MS}.
   */
  coalesceMs?: number;
  /**
   * The scheduler's clock, ms. Default: a monotonic clock in epoch ms
   * (`performance.timeOrigin + performance.now()`), so due times do not jump with the wall clock.
   * Timers are real `setTimeout`s whatever the clock.
   */
  now?: () => number;
}

/** Counters and lag since the last `start()`. */
export interface SchedulerStats {
  /** Checks planned. */
  checks: number;
  /** Distinct targets among them. */
  targets: number;
  /** Probes running now. */
  inFlight: number;
  /** Probes that are due but wait for their target or for the global cap. */
  waiting: number;
  /** Probes started. */
  started: number;
  /** Probes settled (resolved or rejected). */
  completed: number;
  /** Regular slots skipped because the check's previous probe (or its wait for a slot) overran them. */
  skippedSlots: number;
  /** Due probes put off by the probe budget or held for readiness (see `onDeferred`). */
  deferred: number;
  /** Results not delivered: their check was removed or changed meanwhile, or `stop()` had given up waiting. */
  droppedResults: number;
  /** Probe rejections and callback exceptions passed to `onError`. */
  errors: number;
  /** Lag from due to started, over every probe started. */
  lag: LagStats;
}

/** Runs checks on their intervals; see {@link createScheduler}. */
export interface Scheduler {
  /** Schedules every planned check from now (each at `now + initialDelayMs + spread offset`). No-op when running. */
  start(): void;
  /**
   * Stops scheduling and resolves once the probes in flight have settled (their results are
   * delivered), or after `stopTimeoutMs` (results that settle later are dropped). `start()` may be
   * called again afterwards.
   */
  stop(): Promise<void>;
  /**
   * Replaces the plans (config reload). A check whose plan is deep-equal to its current one keeps
   * its schedule; a new check is scheduled as at start (initial delay plus spread, from now); a
   * removed check stops. A changed plan counts as removed plus new. A removed or changed check's
   * probe in flight keeps its target slot until it settles, and its result is dropped: after
   * `update()` returns, `onResult` only sees the new plans.
   *
   * @throws VigilError `VIGIL_ERR_SCHEDULER_INVALID_PLAN` (duplicate id, bad interval); the old plans stay.
   */
  update(plans: readonly CheckPlan[]): void;
  /**
   * Applies part of a plan change, as `update()` does for a whole plan: the `remove` ids stop (a probe
   * in flight finishes and its result is dropped); each `upsert` plan is added, or, when it differs
   * from the running one (deep equality), replaces it and is scheduled afresh; an unchanged one keeps
   * its schedule. For a caller that spreads a large plan change over event-loop turns (the hub's
   * reload); validate the whole plan with {@link validatePlans} first, since a piece cannot see the
   * others' ids. Unknown ids in `remove` are ignored.
   */
  patch(change: PlanPatch, options?: PatchOptions): void;
  /**
   * Tells whether `target`'s model is ready (the hub passes on its readiness check's results). While
   * not ready, its expensive checks (integrity, canary) are held (`onDeferred` with `not-ready`): a
   * loading model is slow already, and an inference probe would only add to it and fail. When it
   * becomes ready, the held probes start at once (within the budget). Targets are ready until told
   * otherwise.
   */
  setReady(target: string, ready: boolean): void;
  /** Counters and lag percentiles since the last `start()`. */
  stats(): SchedulerStats;
}

/** A piece of a plan change (see {@link Scheduler.patch}). */
export interface PlanPatch {
  upsert?: readonly CheckPlan[];
  remove?: Iterable<string>;
}

type EntryState = 'idle' | 'scheduled' | 'waiting' | 'running';

interface TargetSlot {
  name: string;
  inFlight: number;
  /** The target's budget accounting; null: unbudgeted. */
  budget: TargetBudget | null;
  /** What the hub last said of its readiness (see `setReady`). */
  ready: boolean;
  /** Due entries waiting for this target's slot. */
  waiting: Fifo<Entry>;
  /** Entries referring to this slot (planned, or retired but still running). */
  refs: number;
}

interface Entry extends HeapItem {
  plan: CheckPlan;
  target: TargetSlot;
  /** The latest regular (grid) slot at or before `dueAt`: the grid is `gridDueAt + k × intervalMs`. */
  gridDueAt: number;
  /** Whether the current due time is a fast-confirmation one rather than a grid slot. */
  isFast: boolean;
  /** When the latest probe started (scheduler clock); fast re-probes count from here. */
  startedAt: number;
  state: EntryState;
  /** Removed by `update()` (or replaced by a changed plan). */
  retired: boolean;
  /** Integrity or canary: deferred first, held while its target is not ready. */
  expensive: boolean;
  /** Scheduled at a later slot because its target was not ready: released by `setReady(…, true)`. */
  held: boolean;
  /** Bound once per check, so that starting a probe allocates no closures. */
  onSettled: (result: ProbeResult) => void;
  onFailed: (error: unknown) => void;
}

/**
 * Checks a whole plan as `update()` does: unique ids, positive intervals, non-negative initial
 * delays, positive or null fast intervals. Call it before applying a plan in pieces with `patch()`.
 *
 * @throws VigilError `VIGIL_ERR_SCHEDULER_INVALID_PLAN`, naming every problem.
 */
export function validatePlans(plans: readonly CheckPlan[]): void {
  const problems: string[] = [];
  const seen = new Set<string>();
  for (const plan of plans) {
    if (seen.has(plan.id)) problems.push(`duplicate check id "${plan.id}"`);
    seen.add(plan.id);
    if (!(plan.intervalMs > 0) || !Number.isFinite(plan.intervalMs)) {
      problems.push(`${plan.id}: intervalMs must be a positive number, got ${plan.intervalMs}`);
    }
    if (!(plan.initialDelayMs >= 0) || !Number.isFinite(plan.initialDelayMs)) {
      problems.push(`${plan.id}: initialDelayMs must be ≥ 0, got ${plan.initialDelayMs}`);
    }
    if (plan.fastIntervalMs !== null && !(plan.fastIntervalMs > 0)) {
      problems.push(`${plan.id}: fastIntervalMs must be positive or null, got ${plan.fastIntervalMs}`);
    }
  }
  if (problems.length > 0) {
    throw new VigilError('VIGIL_ERR_SCHEDULER_INVALID_PLAN', `invalid check plans: ${problems.join('; ')}`);
  }
}

const defaultNow = (): number => performance.timeOrigin + performance.now();

/**
 * Creates a scheduler that runs each check on its interval, by due time, within per-target and
 * global concurrency limits.
 *
 * - **Due-time grid.** A check's slots are `first + k × intervalMs`; the next probe is due at the
 *   next slot, never "interval after the last probe finished", so probe duration does not drift
 *   the schedule. If a probe (or its wait for the target) overruns slots, they are skipped, not run
 *   in a burst: the next probe is due at the first slot after it finished (`stats().skippedSlots`).
 *   A check never has two probes in flight.
 * - **Spread.** The first slot is `start + initialDelayMs + spreadOffsetMs(id, intervalMs)`, a hash
 *   of the check id modulo the interval (Prometheus spreads scrapes the same way).
 * - **Coalescing.** A due time is rounded up to the next multiple of `coalesceMs` (default 20): the
 *   probes due in one window start in one timer callback. The grid itself stays exact.
 * - **Concurrency.** At most `perTargetConcurrency` probes per target and `maxConcurrency` overall.
 *   A due probe whose target is busy waits in that target's FIFO (its lag grows); targets never
 *   wait for each other, so a hanging endpoint delays only its own checks (until the global cap is
 *   full of hanging probes).
 * - **Fast confirmation** (HAProxy's `fastinter`): `onResult` answers whether the result it was
 *   handed is a failure being confirmed (see {@link SchedulerOptions.onResult}). When confirmation
 *   ends, the check returns to its regular grid.
 * - **Lag** (due → started) goes to `onLag` and into a fixed-bucket histogram in `stats()`.
 * - **One timer**: idle checks sit in a binary min-heap by due time; one `setTimeout` is armed
 *   for the earliest.
 *
 * @example
 * ```ts
 * const scheduler = createScheduler({
 *   plans,
 *   probe: (plan) => runProbe(plan, { client, region }),
 *   // true while the result is a failure being confirmed: the next probe comes fastIntervalMs later
 *   onResult: (plan, result) => {
 *     const before = states.get(plan.id) ?? initialState(plan.id, region, result.startedAt);
 *     const { state } = evaluate(before, result, defaultThresholds(plan));
 *     states.set(plan.id, state);
 *     return state.state === 'pending';
 *   },
 * });
 * scheduler.start();
 * // …
 * await scheduler.stop();
 * ```
 * @throws VigilError `VIGIL_ERR_SCHEDULER_OPTIONS` for a non-positive concurrency or timeout,
 *   `VIGIL_ERR_SCHEDULER_INVALID_PLAN` for duplicate ids or a bad interval.
 */
export function createScheduler(options: SchedulerOptions): Scheduler {
  const perTarget = positiveInteger(
    'perTargetConcurrency',
    options.perTargetConcurrency,
    DEFAULT_PER_TARGET_CONCURRENCY,
  );
  const maxInFlight = positiveInteger('maxConcurrency', options.maxConcurrency, DEFAULT_MAX_CONCURRENCY);
  const stopTimeoutMs = options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  if (!(stopTimeoutMs >= 0)) {
    throw new VigilError('VIGIL_ERR_SCHEDULER_OPTIONS', `stopTimeoutMs must be ≥ 0, got ${stopTimeoutMs}`);
  }
  const coalesceMs = options.coalesceMs ?? DEFAULT_COALESCE_MS;
  if (!(coalesceMs >= 0) || !Number.isFinite(coalesceMs)) {
    throw new VigilError('VIGIL_ERR_SCHEDULER_OPTIONS', `coalesceMs must be ≥ 0, got ${coalesceMs}`);
  }
  const { probe, onResult, onLag, onDeferred, mayStart } = options;
  const onError = options.onError ?? warn;
  const now = options.now ?? defaultNow;

  const entries = new Map<string, Entry>();
  const targets = new Map<string, TargetSlot>();
  const heap = new DueHeap<Entry>();
  /** Due entries whose target has room but the global cap does not. */
  const globalWaiting = new Fifo<Entry>();
  const lag = new LagHistogram();

  let running = false;
  /** Set by stop() until in-flight probes settle or the stop timeout passes: results still delivered. */
  let draining = false;
  /** The pending stop(), resolved when the last in-flight probe settles. */
  let stopping: { promise: Promise<void>; settle: () => void } | null = null;
  let timer: NodeJS.Timeout | null = null;
  let timerDueAt = Number.POSITIVE_INFINITY;
  let seq = 0;
  /** Set while start() / update() schedule many checks: one arm() at the end instead of one per check. */
  let batching = false;
  let inFlight = 0;
  let waiting = 0;
  let started = 0;
  let completed = 0;
  let skippedSlots = 0;
  let deferredCount = 0;
  let droppedResults = 0;
  let errors = 0;

  function report(plan: CheckPlan, error: unknown): void {
    errors++;
    try {
      onError(plan, error);
    } catch {
      // An onError that throws has nowhere left to report to; keep scheduling.
    }
  }

  function slotFor(plan: CheckPlan): TargetSlot {
    const name = plan.target.name;
    let slot = targets.get(name);
    if (!slot) {
      slot = { name, inFlight: 0, budget: null, ready: true, waiting: new Fifo<Entry>(), refs: 0 };
      targets.set(name, slot);
    }
    // The plans of one target share one budget; a reload that changes it starts its accounting afresh.
    const budget = plan.target.budget;
    if (budget === undefined) slot.budget = null;
    else if (slot.budget === null || !sameBudget(slot.budget.budget, budget))
      slot.budget = new TargetBudget(budget, now());
    slot.refs++;
    return slot;
  }

  function release(slot: TargetSlot): void {
    if (--slot.refs === 0 && slot.inFlight === 0) targets.delete(slot.name);
  }

  function createEntry(plan: CheckPlan): Entry {
    const entry: Entry = {
      plan,
      target: slotFor(plan),
      dueAt: 0,
      seq: 0,
      heapIndex: -1,
      gridDueAt: 0,
      isFast: false,
      startedAt: 0,
      state: 'idle',
      retired: false,
      expensive: EXPENSIVE_KINDS.has(plan.kind),
      held: false,
      onSettled: (result) => finish(entry, result, undefined, false),
      onFailed: (error) => finish(entry, undefined, error, true),
    };
    return entry;
  }

  function schedule(entry: Entry, dueAt: number, isFast: boolean): void {
    entry.dueAt = coalesceMs > 0 ? Math.ceil(dueAt / coalesceMs) * coalesceMs : dueAt;
    entry.isFast = isFast;
    entry.seq = seq++;
    entry.state = 'scheduled';
    heap.push(entry);
    if (entry.dueAt < timerDueAt && !batching) arm();
  }

  function scheduleFirst(entry: Entry, from: number, withinMs?: number): void {
    const due =
      withinMs === undefined
        ? from + entry.plan.initialDelayMs + spreadOffsetMs(entry.plan.id, entry.plan.intervalMs)
        : from + spreadOffsetMs(entry.plan.id, Math.max(1, Math.min(withinMs, entry.plan.intervalMs)));
    entry.gridDueAt = due;
    entry.held = false;
    schedule(entry, due, false);
  }

  function arm(): void {
    if (timer !== null) {
      clearTimeout(timer);
      timer = null;
    }
    timerDueAt = Number.POSITIVE_INFINITY;
    const top = heap.peek();
    if (!running || top === undefined) return;
    timerDueAt = top.dueAt;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Math.ceil(top.dueAt - now())));
    timer = setTimeout(tick, delay);
  }

  function tick(): void {
    timer = null;
    timerDueAt = Number.POSITIVE_INFINITY;
    const limit = now() + EARLY_MS;
    for (let top = heap.peek(); running && top !== undefined && top.dueAt <= limit; top = heap.peek()) {
      heap.pop();
      dispatch(top);
    }
    arm();
  }

  /**
   * Whether `entry` may start now as far as its target's readiness and budget go; if not, it is moved
   * to a later slot of its grid and `onDeferred` is told. Allocation-free: a few numbers per probe.
   */
  function admit(entry: Entry): boolean {
    if (mayStart !== undefined && !mayStart(entry.plan)) {
      // Not this process's to probe now (a cluster hub past its lease's fence): the slot is skipped.
      const t = now();
      const k = Math.max(1, Math.floor((t - entry.gridDueAt) / entry.plan.intervalMs) + 1);
      entry.gridDueAt += k * entry.plan.intervalMs;
      skippedSlots++;
      schedule(entry, entry.gridDueAt, false);
      return false;
    }
    const slot = entry.target;
    if (entry.expensive && !slot.ready) {
      defer(entry, 'not-ready', now());
      return false;
    }
    const budget = slot.budget;
    if (budget === null) return true;
    const t = now();
    const wait = budget.wait(entry.expensive, t);
    if (wait === 0) return true;
    defer(entry, budget.reason, t + wait);
    return false;
  }

  /** Moves `entry` to the first slot of its grid strictly after `notBefore` (and after now). */
  function defer(entry: Entry, reason: DeferralReason, notBefore: number): void {
    const { intervalMs } = entry.plan;
    deferredCount++;
    const from = Math.max(notBefore, now());
    const k = Math.max(1, Math.floor((from - entry.gridDueAt) / intervalMs) + 1);
    entry.gridDueAt += k * intervalMs;
    entry.held = reason === 'not-ready';
    schedule(entry, entry.gridDueAt, false);
    if (onDeferred) {
      try {
        onDeferred(entry.plan, reason, entry.dueAt);
      } catch (error) {
        report(entry.plan, error);
      }
    }
  }

  function dispatch(entry: Entry): void {
    if (!admit(entry)) return;
    const slot = entry.target;
    if (slot.inFlight >= perTarget) {
      enqueue(slot.waiting, entry);
    } else if (inFlight >= maxInFlight) {
      enqueue(globalWaiting, entry);
    } else {
      begin(entry);
    }
  }

  function enqueue(queue: Fifo<Entry>, entry: Entry): void {
    entry.state = 'waiting';
    waiting++;
    queue.push(entry);
  }

  function begin(entry: Entry): void {
    const plan = entry.plan;
    entry.state = 'running';
    entry.target.inFlight++;
    inFlight++;
    started++;
    const startedAt = now();
    entry.startedAt = startedAt;
    entry.held = false;
    entry.target.budget?.started(entry.expensive, startedAt);
    const lagMs = Math.max(0, startedAt - entry.dueAt);
    lag.record(lagMs);
    if (onLag) {
      try {
        onLag(plan, lagMs, entry.dueAt);
      } catch (error) {
        report(plan, error);
      }
    }
    let pending: Promise<ProbeResult>;
    try {
      pending = probe(plan);
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(entry.onSettled, entry.onFailed);
  }

  function finish(entry: Entry, result: ProbeResult | undefined, error: unknown, failed: boolean): void {
    const plan = entry.plan;
    const slot = entry.target;
    if (slot.budget !== null) {
      const t = now();
      // The model's time the probe took: its own measure, else how long it was in flight.
      slot.budget.settled(result?.durationMs ?? t - entry.startedAt, t);
    }
    slot.inFlight--;
    inFlight--;
    completed++;
    const deliver = !entry.retired && (running || draining);

    let confirming = false;
    if (failed) {
      report(plan, error);
    } else if (!deliver) {
      droppedResults++;
    } else {
      try {
        // The answer is about this very result: the callback has already taken it in.
        confirming = onResult(plan, result as ProbeResult) === true;
      } catch (callbackError) {
        report(plan, callbackError);
      }
    }

    // Only now 'idle': a retire() from inside a callback leaves the slot reference to us.
    entry.state = 'idle';
    if (entry.retired) {
      release(slot);
    } else if (running) {
      reschedule(entry, confirming);
    }
    if (running) {
      drainGlobal();
      releaseTarget(slot);
    }
    if (stopping !== null && inFlight === 0) stopping.settle();
  }

  function reschedule(entry: Entry, confirming: boolean): void {
    const { intervalMs, fastIntervalMs } = entry.plan;
    const t = now();
    // The first grid slot strictly after now; slots passed meanwhile are skipped, not run in a burst.
    const k = Math.floor((t - entry.gridDueAt) / intervalMs) + 1;
    const nextGrid = entry.gridDueAt + Math.max(1, k) * intervalMs;
    if (!entry.isFast && k > 1) skippedSlots += k - 1;
    // fastInterval runs start to start, as HAProxy's fastinter and Kubernetes' periodSeconds do: a
    // re-probe is due fastIntervalMs after the failed probe STARTED, or at once if that probe (a
    // timeout, say) took longer. Counting from its end would add the probe's duration each time.
    // (A probe may start up to 1 ms before its due time; never count from before that.)
    const fastDue =
      fastIntervalMs === null
        ? Number.POSITIVE_INFINITY
        : Math.max(t, Math.max(entry.startedAt, entry.dueAt) + fastIntervalMs);
    if (confirming && fastDue < nextGrid) {
      schedule(entry, fastDue, true);
    } else {
      entry.gridDueAt = nextGrid;
      schedule(entry, nextGrid, false);
    }
  }

  /** Starts probes waiting for the global cap, oldest first, while there is room. */
  function drainGlobal(): void {
    while (inFlight < maxInFlight && globalWaiting.size > 0) {
      const next = globalWaiting.shift() as Entry;
      waiting--;
      if (next.retired || next.state !== 'waiting') continue;
      // It waited: the budget or the target's readiness may have changed meanwhile.
      if (!admit(next)) continue;
      if (next.target.inFlight < perTarget) {
        begin(next);
      } else {
        // Another probe of its target started meanwhile: wait for the target again, at the front.
        waiting++;
        next.target.waiting.unshift(next);
      }
    }
  }

  /** Starts the probes waiting for `slot` while it and the global cap have room. */
  function releaseTarget(slot: TargetSlot): void {
    while (slot.inFlight < perTarget && slot.waiting.size > 0) {
      const next = slot.waiting.shift() as Entry;
      waiting--;
      if (next.retired || next.state !== 'waiting') continue;
      if (!admit(next)) continue;
      if (inFlight < maxInFlight) {
        begin(next);
      } else {
        waiting++;
        globalWaiting.push(next);
        return;
      }
    }
  }

  function retire(entry: Entry): void {
    entry.retired = true;
    if (entry.state === 'scheduled') {
      heap.remove(entry);
      entry.state = 'idle';
    }
    // A waiting entry is skipped when its queue reaches it; a running one releases its slot in finish().
    if (entry.state !== 'running') release(entry.target);
  }

  function patch(change: PlanPatch, patchOptions: PatchOptions = {}): void {
    const from = now();
    for (const id of change.remove ?? []) {
      const entry = entries.get(id);
      if (entry === undefined) continue;
      retire(entry);
      entries.delete(id);
    }
    batching = true;
    for (const plan of change.upsert ?? []) {
      const entry = entries.get(plan.id);
      if (entry !== undefined && (plan === entry.plan || deepEqual(plan, entry.plan))) {
        entry.plan = plan;
        continue;
      }
      if (entry !== undefined) retire(entry);
      const fresh = createEntry(plan);
      entries.set(plan.id, fresh);
      if (running) scheduleFirst(fresh, from, patchOptions.firstWithinMs);
    }
    batching = false;
    arm();
  }

  function update(plans: readonly CheckPlan[]): void {
    validatePlans(plans);
    const ids = new Set<string>();
    for (const plan of plans) ids.add(plan.id);
    const remove: string[] = [];
    for (const id of entries.keys()) if (!ids.has(id)) remove.push(id);
    patch({ upsert: plans, remove });
  }

  validatePlans(options.plans);
  for (const plan of options.plans) entries.set(plan.id, createEntry(plan));

  return {
    start(): void {
      if (running) return;
      running = true;
      draining = false;
      lag.reset();
      started = completed = skippedSlots = deferredCount = droppedResults = errors = 0;
      const from = now();
      batching = true;
      for (const entry of entries.values()) {
        // A probe still in flight from before a stop() is rescheduled when it settles.
        if (entry.state === 'idle') scheduleFirst(entry, from);
      }
      batching = false;
      arm();
    },

    stop(): Promise<void> {
      if (running) {
        running = false;
        arm();
        heap.clear();
        for (const queue of [globalWaiting, ...Array.from(targets.values(), (slot) => slot.waiting)]) {
          for (const entry of queue) entry.state = 'idle';
          queue.clear();
        }
        waiting = 0;
        for (const entry of entries.values()) if (entry.state === 'scheduled') entry.state = 'idle';
      }
      if (inFlight === 0) return Promise.resolve();
      draining = true;
      if (stopping !== null) return stopping.promise;
      let settle = (): void => {};
      const promise = new Promise<void>((resolve) => {
        const giveUp = setTimeout(() => settle(), stopTimeoutMs);
        settle = () => {
          clearTimeout(giveUp);
          draining = false;
          stopping = null;
          resolve();
        };
      });
      stopping = { promise, settle };
      return promise;
    },

    update,
    patch,

    setReady(target, ready) {
      const slot = targets.get(target);
      if (slot === undefined || slot.ready === ready) return;
      slot.ready = ready;
      if (!ready || !running) return;
      // Ready again: the probes held for it start now, from the grid slot before the one they were
      // moved to (so that the next one after them is that slot, not one interval later).
      const t = now();
      batching = true;
      for (const entry of entries.values()) {
        if (!entry.held || entry.target !== slot || entry.state !== 'scheduled') continue;
        heap.remove(entry);
        entry.held = false;
        entry.gridDueAt -= entry.plan.intervalMs;
        schedule(entry, t, true);
      }
      batching = false;
      arm();
    },

    stats(): SchedulerStats {
      return {
        checks: entries.size,
        targets: targets.size,
        inFlight,
        waiting,
        started,
        completed,
        skippedSlots,
        deferred: deferredCount,
        droppedResults,
        errors,
        lag: lag.snapshot(),
      };
    },
  };
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new VigilError('VIGIL_ERR_SCHEDULER_OPTIONS', `${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function warn(plan: CheckPlan, error: unknown): void {
  process.emitWarning(
    new VigilError('VIGIL_ERR_SCHEDULER_CALLBACK', `check ${plan.id}: probe or callback failed`, {
      cause: error,
    }),
  );
}
