/**
 * Where canary runs find their baselines: the store (the hub: one source of truth for every hub of a
 * cluster, reviewed and provisional apart) or baseline files (`vigil check`, which keeps no store).
 * And the import of a config's `canary.baseline` files into the store.
 */
import { type Baseline, readBaselineFile } from '../canary/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan } from '../types.js';
import { type CanaryBaselines, type CanaryStateStore, type FoundBaseline, NO_VERSION } from './canary.js';

/**
 * Baselines in the store: for a version, the newest reviewed one, else the newest provisional one;
 * provisional baselines are stored with status `provisional` (source `auto`).
 *
 * @example
 * const runner = createCanaryRunner({ baselines: storeBaselines(store) });
 */
export function storeBaselines(store: Store, now: () => number = Date.now): CanaryBaselines {
  return {
    async find(checkId, modelVersion) {
      for (const status of ['reviewed', 'provisional'] as const) {
        const [newest] = await store.baselines({ checkId, modelVersion, status, limit: 1 });
        if (newest !== undefined) return { baseline: newest.baseline, status };
      }
      return undefined;
    },
    async versions(checkId) {
      return [...new Set((await store.baselines({ checkId })).map((b) => b.modelVersion))].sort();
    },
    async putProvisional(checkId, modelVersion, baseline) {
      await store.putBaseline({
        checkId,
        modelVersion,
        status: 'provisional',
        source: 'auto',
        storedAt: now(),
        baseline,
      });
    },
  };
}

/**
 * A canary runner's per-check state in the store (`canary_states`, migration 9): written after each
 * run, read when a check first runs (or at the hub's start), so a restarted hub continues its rotation,
 * autoBaseline recording and drift history.
 *
 * @example
 * const runner = createCanaryRunner({ baselines: storeBaselines(store), state: storeCanaryState(store) });
 */
export function storeCanaryState(store: Store, now: () => number = Date.now): CanaryStateStore {
  return {
    load: async (checkId) => (await store.canaryState(checkId))?.state,
    async save(checkId, state) {
      await store.putCanaryState({ checkId, updatedAt: now(), state: { ...state } });
    },
    async remove(checkId) {
      await store.deleteCanaryState(checkId);
    },
  };
}

/** The model version a baseline is of, as the store keys it. */
export const versionOf = (baseline: Baseline): string => baseline.model.version ?? NO_VERSION;

/**
 * Baselines read from files, by check id (`vigil check`): a check's file is its baseline for the
 * version it was recorded from; no provisional ones.
 */
export function fileBaselines(byCheck: ReadonlyMap<string, Baseline>): CanaryBaselines {
  return {
    async find(checkId, modelVersion): Promise<FoundBaseline | undefined> {
      const baseline = byCheck.get(checkId);
      return baseline !== undefined && versionOf(baseline) === modelVersion
        ? { baseline, status: 'reviewed' }
        : undefined;
    },
    async versions(checkId) {
      const baseline = byCheck.get(checkId);
      return baseline === undefined ? [] : [versionOf(baseline)];
    },
  };
}

/**
 * Reads the `canary.baseline` file of each canary plan that names one.
 * @throws BaselineError `VIGIL_ERR_BASELINE_READ` / `VIGIL_ERR_BASELINE_INVALID` naming the file.
 */
export async function readPlanBaselines(plans: readonly CheckPlan[]): Promise<Map<string, Baseline>> {
  const byCheck = new Map<string, Baseline>();
  for (const plan of plans) {
    const file = plan.canary?.baseline;
    if (file !== undefined) byCheck.set(plan.id, await readBaselineFile(file));
  }
  return byCheck;
}

/**
 * Imports the plans' baseline files into the store as reviewed baselines (source `file:<path>`); a
 * file already imported (same content) adds nothing.
 *
 * @returns the number of baselines newly stored.
 * @throws BaselineError for a file that cannot be read or is not a baseline; StoreError.
 */
export async function importPlanBaselines(
  store: Store,
  plans: readonly CheckPlan[],
  now: number = Date.now(),
): Promise<number> {
  let imported = 0;
  for (const plan of plans) {
    const file = plan.canary?.baseline;
    if (file === undefined) continue;
    const baseline = await readBaselineFile(file);
    const { inserted } = await store.putBaseline({
      checkId: plan.id,
      modelVersion: versionOf(baseline),
      status: 'reviewed',
      source: `file:${file}`,
      storedAt: now,
      baseline,
    });
    if (inserted) imported++;
  }
  return imported;
}
