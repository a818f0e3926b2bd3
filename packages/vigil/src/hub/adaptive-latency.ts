/**
 * Adaptive latency thresholds in a running hub (`expect.latency` with `auto` levels or `adaptive`):
 * per check, the thresholds come from the model version now served — its reviewed baseline's latency
 * profile when the store has one for that version, else the durations of its own recent passing
 * probes after warm-up (`canary/latency.ts`, {@link adaptiveLatencyThresholds}). When the server
 * reports another version, the history starts over and the baseline is looked up again: a new,
 * inherently slower version gets thresholds of its own instead of paging, while a version much slower
 * than its own normal still fails. Hand-written levels win where given.
 */
import {
  adaptiveLatencyThresholds,
  type EffectiveLatencyThresholds,
  type LatencyProfile,
} from '../canary/latency.js';
import type { Store } from '../store/types.js';
import type { CheckPlan, ProbeResult } from '../types.js';

/** Passing durations kept per check (the newest), enough for a p99 of the last few hundred probes. */
export const ADAPTIVE_HISTORY = 200;

interface Tracked {
  /** The version the durations and profile belong to; undefined: the server reports none. */
  version: string | undefined;
  /** Passing probes' durations of `version`, oldest first, in ms (at most {@link ADAPTIVE_HISTORY}). */
  durationsMs: number[];
  /** Passing probes seen of `version` in all, warm-up included (the warm-up is skipped once). */
  seen: number;
  profile: LatencyProfile | undefined;
  effective: EffectiveLatencyThresholds;
  /** The plan the scheduler probes with: `source` with `expect.latency` set to `effective`. */
  probePlan: CheckPlan;
  source: CheckPlan;
}

/** The per-check adaptive thresholds of one hub; see the module comment. */
export interface AdaptiveLatency {
  /** The plan to probe `plan` with: itself, or a copy whose latency levels are the effective ones. */
  planFor(plan: CheckPlan): CheckPlan;
  /** Takes in a result of `plan` (after it was probed); returns whether `plan` is adaptive. */
  observe(plan: CheckPlan, result: ProbeResult): boolean;
  /** The effective thresholds of an adaptive check; undefined for other checks. */
  thresholds(checkId: string): EffectiveLatencyThresholds | undefined;
  forget(checkId: string): void;
}

/** Whether a plan's latency thresholds are adaptive. */
export const isAdaptive = (plan: CheckPlan): boolean => plan.expect.latency?.adaptive !== undefined;

/**
 * Creates the tracker. `store` is asked for reviewed baselines of a version when it is first seen
 * (newest first; one whose model name matches the target's model and that has a latency profile).
 */
export function createAdaptiveLatency(
  store: Pick<Store, 'baselines'>,
  log: (message: string) => void,
): AdaptiveLatency {
  const tracked = new Map<string, Tracked>();

  function derive(t: Tracked): EffectiveLatencyThresholds {
    const latency = t.source.expect.latency;
    const handWritten = {
      ...(latency?.degradedMs !== undefined && { degradedMs: latency.degradedMs }),
      ...(latency?.failedMs !== undefined && { failedMs: latency.failedMs }),
    };
    const options = latency?.adaptive ?? {};
    const basis =
      t.profile !== undefined
        ? ({ kind: 'baseline', profile: t.profile } as const)
        : ({ kind: 'history', durationsMs: t.durationsMs } as const);
    // The warm-up is skipped once per version, not from every window of the history.
    const warmup =
      t.profile === undefined ? Math.max(0, (options.warmup ?? 5) - (t.seen - t.durationsMs.length)) : 0;
    try {
      return adaptiveLatencyThresholds(basis, { ...options, warmup }, handWritten);
    } catch (err) {
      // A quantile a baseline cannot give (e.g. 0.9): the history decides instead.
      if (basis.kind === 'baseline') {
        return adaptiveLatencyThresholds(
          { kind: 'history', durationsMs: t.durationsMs },
          { ...options, warmup },
          handWritten,
        );
      }
      throw err;
    }
  }

  function withThresholds(t: Tracked): CheckPlan {
    const { degradedMs, failedMs, adaptive } = { ...t.source.expect.latency, ...t.effective };
    return {
      ...t.source,
      expect: {
        ...t.source.expect,
        latency: {
          ...(degradedMs !== undefined && { degradedMs }),
          ...(failedMs !== undefined && { failedMs }),
          ...(adaptive !== undefined && { adaptive }),
        },
      },
    };
  }

  function entryOf(plan: CheckPlan): Tracked {
    let t = tracked.get(plan.id);
    if (t === undefined || t.source !== plan) {
      // A new or changed plan: its history of the same version stays (durations do not depend on it).
      const next: Tracked = {
        version: t?.version,
        durationsMs: t?.durationsMs ?? [],
        seen: t?.seen ?? 0,
        profile: t?.profile,
        effective: { source: { degradedMs: 'none', failedMs: 'none' } },
        probePlan: plan,
        source: plan,
      };
      next.effective = derive(next);
      next.probePlan = withThresholds(next);
      tracked.set(plan.id, next);
      t = next;
    }
    return t;
  }

  async function lookUpBaseline(plan: CheckPlan, t: Tracked, version: string): Promise<void> {
    try {
      const found = await store.baselines({ modelVersion: version, status: 'reviewed', limit: 50 });
      const model = plan.target.model ?? plan.target.name;
      const match = found.find(
        (b) =>
          b.baseline.model.name === model &&
          (b.baseline.target === undefined || b.baseline.target === plan.target.name) &&
          b.baseline.latency !== undefined,
      );
      if (match?.baseline.latency === undefined || tracked.get(plan.id) !== t || t.version !== version)
        return;
      t.profile = match.baseline.latency;
      t.effective = derive(t);
      t.probePlan = withThresholds(t);
    } catch (err) {
      log(
        `${plan.id}: adaptive latency: baseline lookup for version ${version} failed: ${(err as Error).message}`,
      );
    }
  }

  return {
    planFor(plan) {
      return isAdaptive(plan) ? entryOf(plan).probePlan : plan;
    },
    observe(plan, result) {
      if (!isAdaptive(plan) || result.source === 'traffic') return false;
      const t = entryOf(plan);
      const before = t.effective;
      if (result.modelVersion !== undefined && result.modelVersion !== t.version) {
        // Another version: its own history and baseline from now on.
        t.version = result.modelVersion;
        t.durationsMs = [];
        t.seen = 0;
        t.profile = undefined;
        void lookUpBaseline(plan, t, result.modelVersion);
      }
      if (result.outcome === 'pass') {
        t.seen++;
        t.durationsMs.push(result.durationMs);
        if (t.durationsMs.length > ADAPTIVE_HISTORY) t.durationsMs.shift();
      }
      t.effective = derive(t);
      if (t.effective.degradedMs !== before.degradedMs || t.effective.failedMs !== before.failedMs) {
        t.probePlan = withThresholds(t);
      }
      return true;
    },
    thresholds: (checkId) => tracked.get(checkId)?.effective,
    forget: (checkId) => void tracked.delete(checkId),
  };
}
