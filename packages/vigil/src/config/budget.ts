/**
 * A target's probe budget (`budget:` in a target): how much of a model's capacity Vigil's own probes
 * may use. Vigil must never be the load that hurts the model; it does not know a model's capacity
 * unless told, so the defaults are absolute and small. Enforced by the scheduler (`scheduler/budget.ts`):
 * over budget, or while the target's readiness fails, expensive checks (integrity, canary) are
 * deferred before cheap ones (liveness, readiness; deferred only when they alone exceed the probe
 * rate, never for model time: a hanging server must not blind Vigil), and every deferral is shown.
 */
import { z } from 'zod';
import { GOT } from '../diagnostics/messages.js';
import type { ProbeBudget } from '../types.js';

/**
 * Default `probesPerSecond`: 5 probes a second to one target, all checks together. A target with
 * the four checks confirming a failure at the default `fastInterval` (1 s) probes at 4 a second; 5
 * leaves that room, and is still a rounding error for any server that answers a health route (a
 * Kubernetes kubelet probes each container every 10 s; load balancers every 5–30 s per node).
 */
export const DEFAULT_PROBES_PER_SECOND = 5;

/**
 * Default `modelTimeShare`: 0.05, i.e. probes may keep the model busy at most 5 % of the time
 * (measured: each probe's latency, summed per second, over the target's checks). Vigil cannot tell a
 * one-worker CPU model from a batched GPU server, so it assumes the worst, a server that answers one
 * request at a time: there, probes taking 5 % of its time raise a user request's mean wait by about
 * 5 % (M/M/1 at moderate load), within the noise of a latency SLO. A smoke inference of 20 ms every
 * 30 s uses 0.07 %; a 2 s LLM generation every 10 s (20 %) is deferred to one every 40 s.
 */
export const DEFAULT_MODEL_TIME_SHARE = 0.05;

/** The budget when a target sets none: {@link DEFAULT_PROBES_PER_SECOND}, {@link DEFAULT_MODEL_TIME_SHARE}. */
export const DEFAULT_PROBE_BUDGET: Readonly<ProbeBudget> = Object.freeze({
  probesPerSecond: DEFAULT_PROBES_PER_SECOND,
  modelTimeShare: DEFAULT_MODEL_TIME_SHARE,
});

const positive = (description: string) =>
  z
    .number({ error: `expected a positive number, got ${GOT}` })
    .positive({ error: `expected a positive number, got ${GOT}` })
    .describe(description);

/** The `budget:` block of a target; every field optional (see {@link resolveBudget}). */
export const budgetSchema = z
  .strictObject({
    probesPerSecond: positive(
      `Most probes a second to this target, all its checks together (each probe is one or two small HTTP requests). Default ${DEFAULT_PROBES_PER_SECOND}; with capacity, modelTimeShare × capacity.`,
    ).optional(),
    modelTimeShare: z
      .number({ error: `expected a fraction like 0.05, got ${GOT}` })
      .gt(0, { error: `expected a fraction above 0 and at most 1, got ${GOT}` })
      .max(1, { error: `expected a fraction above 0 and at most 1, got ${GOT}` })
      .optional()
      .describe(
        `Most of the model's time probes may take, as a fraction (0.05: 5 %), measured as probe latency × rate. Default ${DEFAULT_MODEL_TIME_SHARE}.`,
      ),
    capacity: positive(
      'Requests a second the model serves at most. Given, the probe rate is limited to modelTimeShare × capacity unless probesPerSecond says otherwise.',
    ).optional(),
  })
  .meta({
    id: 'ProbeBudget',
    description:
      'How much of the model probes may use. Over it (or while readiness fails) integrity and canary checks are deferred before liveness and readiness; deferrals are shown in the API, dashboard and metrics.',
  });

/** A `budget:` block as written. */
export type BudgetSpec = z.infer<typeof budgetSchema>;

/**
 * The budget a target's checks run under: `probesPerSecond` as given, else `modelTimeShare ×
 * capacity` when `capacity` is given, else {@link DEFAULT_PROBES_PER_SECOND}; `modelTimeShare` as
 * given, else {@link DEFAULT_MODEL_TIME_SHARE}; `capacity` kept when given.
 *
 * @example resolveBudget({ capacity: 40 }) // { probesPerSecond: 2, modelTimeShare: 0.05, capacity: 40 }
 */
export function resolveBudget(spec: BudgetSpec | undefined): ProbeBudget {
  const modelTimeShare = spec?.modelTimeShare ?? DEFAULT_MODEL_TIME_SHARE;
  const capacity = spec?.capacity;
  const probesPerSecond =
    spec?.probesPerSecond ?? (capacity === undefined ? DEFAULT_PROBES_PER_SECOND : modelTimeShare * capacity);
  return capacity === undefined
    ? { probesPerSecond, modelTimeShare }
    : { probesPerSecond, modelTimeShare, capacity };
}
