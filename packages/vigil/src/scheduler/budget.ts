/**
 * The probe budget's accounting for one target (config/budget.ts says what the budget is): token
 * buckets for probes a second and for the model's time, so that expensive checks (integrity, canary)
 * are deferred before cheap ones (liveness, readiness).
 *
 * A bucket fills at the budget's rate up to {@link BUDGET_BURST_MS} worth of it and is spent by what
 * probes use: one probe when it starts, its measured latency (the model's time it took) when it
 * settles. A bucket may go into debt — a probe's latency is known only afterwards — and the debt is
 * paid back at the budget's rate, so over any long window what probes used is at most the budget plus
 * one burst: `probe latency × rate` summed over the checks stays within `modelTimeShare`.
 *
 * - An expensive probe may start when neither bucket of all probes (cheap ones included) is in debt,
 *   the probe one holding a whole probe.
 * - A cheap probe may start when the probes a second of the cheap checks alone allow it. It is never
 *   deferred for model time: a health route is answered by the server, not the model, and its latency
 *   is the server's queueing — a hanging server makes every liveness probe last its timeout, and
 *   deferring liveness then would blind Vigil to the outage it exists to see. Its latency still
 *   counts toward the model-time bucket that expensive probes wait for: a server that is slow to say
 *   it is alive gets fewer inferences.
 *
 * Numbers only, updated in place: the scheduler asks at every due probe.
 */
import type { CheckKind, ProbeBudget } from '../types.js';

/** Why a due probe was put off: over the probe rate, over the model-time share, or held for readiness. */
export type DeferralReason = 'probe-rate' | 'model-time' | 'not-ready';

/** The kinds that run inferences: deferred first, and held while the target is not ready. */
export const EXPENSIVE_KINDS: ReadonlySet<CheckKind> = new Set<CheckKind>(['integrity', 'canary']);

/**
 * How much of its rate a bucket holds, in ms: 1 s. A target's checks may use up to one second's
 * budget at once (its first probes after a start, one slow probe), and no more: a budget of 5 % lets
 * one 50 ms inference through at once, then one whenever the debt of the last is paid back.
 */
export const BUDGET_BURST_MS = 1_000;

/** A token bucket, refilled lazily; its level may go below 0 (debt). */
class Bucket {
  level: number;
  at: number;
  readonly ratePerMs: number;
  readonly capacity: number;

  constructor(ratePerMs: number, capacity: number, now: number) {
    this.ratePerMs = ratePerMs;
    this.capacity = capacity;
    this.level = capacity;
    this.at = now;
  }

  refill(now: number): number {
    if (now > this.at) {
      this.level = Math.min(this.capacity, this.level + (now - this.at) * this.ratePerMs);
      this.at = now;
    }
    return this.level;
  }

  /** Ms from `now` until the level reaches `need`; 0 when it has. */
  waitFor(need: number, now: number): number {
    const level = this.refill(now);
    return level >= need ? 0 : (need - level) / this.ratePerMs;
  }

  spend(amount: number, now: number): void {
    this.refill(now);
    this.level -= amount;
  }
}

/** One target's budget accounting; see the module comment. Times on the scheduler's clock (ms). */
export class TargetBudget {
  readonly budget: ProbeBudget;
  /** Why the last {@link wait} answered more than 0. */
  reason: DeferralReason = 'probe-rate';
  readonly #probes: Bucket;
  readonly #time: Bucket;
  readonly #cheapProbes: Bucket;

  constructor(budget: ProbeBudget, now: number) {
    this.budget = budget;
    const probeRate = budget.probesPerSecond / 1000;
    const probeBurst = Math.max(1, budget.probesPerSecond * (BUDGET_BURST_MS / 1000));
    const timeBurst = budget.modelTimeShare * BUDGET_BURST_MS;
    this.#probes = new Bucket(probeRate, probeBurst, now);
    this.#cheapProbes = new Bucket(probeRate, probeBurst, now);
    this.#time = new Bucket(budget.modelTimeShare, timeBurst, now);
  }

  /**
   * Ms from `now` until a probe of this cost class may start within the budget; 0: now. When more
   * than 0, {@link reason} says which bucket is short (the longer wait).
   */
  wait(expensive: boolean, now: number): number {
    if (!expensive) {
      const probes = this.#cheapProbes.waitFor(1, now);
      if (probes > 0) this.reason = 'probe-rate';
      return probes;
    }
    const probes = this.#probes.waitFor(1, now);
    const time = this.#time.waitFor(0, now);
    if (probes === 0 && time === 0) return 0;
    this.reason = time >= probes ? 'model-time' : 'probe-rate';
    return Math.max(probes, time);
  }

  /** A probe started: it spends one probe. */
  started(expensive: boolean, now: number): void {
    this.#probes.spend(1, now);
    if (!expensive) this.#cheapProbes.spend(1, now);
  }

  /** A probe settled after `durationMs`: the model's time it took. */
  settled(durationMs: number, now: number): void {
    this.#time.spend(durationMs, now);
  }
}

/** Whether two budgets are the same (a reload with an unchanged budget keeps its accounting). */
export function sameBudget(a: ProbeBudget, b: ProbeBudget): boolean {
  return (
    a.probesPerSecond === b.probesPerSecond &&
    a.modelTimeShare === b.modelTimeShare &&
    a.capacity === b.capacity
  );
}
