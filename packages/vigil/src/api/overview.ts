/**
 * The lean answer of the dashboard overview's first load (`GET /api/v1/status/overview`): its shape
 * and how it is made from the hub's status. Free of Node and Fastify imports: the dashboard imports
 * its types.
 */
import type { CheckDeferral, CheckStatus, HubView } from '../hub/types.js';
import type { CheckKind, CheckState } from '../types.js';

/** A target of {@link StatusOverview}: what its checks share, said once. */
export interface OverviewTarget {
  name: string;
  model?: string;
  labels: Record<string, string>;
}

/**
 * The checks of {@link StatusOverview}, one row per (check, region) in the hub's order, as columns:
 * parallel arrays of equal length, row `i` being element `i` of each. The fields are those of
 * {@link CheckStatus} that the overview shows; `null` stands for an absent optional field.
 */
export interface OverviewColumns {
  /** Index into {@link StatusOverview.targets}: the row's target, model and labels. */
  target: number[];
  /** The check's id, or `null` when it is `<target name>/<check>` (the config's ids always are). */
  checkId: Array<string | null>;
  check: CheckKind[];
  region: string[];
  state: CheckState[];
  /** When `state` was entered, ms since epoch. */
  since: number[];
  /** While `stale`: the state last known and since when (`CheckStatus.lastKnown`). */
  lastKnown: Array<{ state: CheckState; since: number } | null>;
  flapping: boolean[];
  consecutiveFailures: number[];
  /** The last model version the server reported. */
  modelVersion: Array<string | null>;
  /** While the check's probes are put off (`CheckStatus.deferred`). */
  deferred: Array<CheckDeferral | null>;
  /** The latest probes' durations, oldest first, in ms rounded to 0.1 (up to 30: the sparkline). */
  recentMs: number[][];
}

/**
 * `GET /api/v1/status/overview`: every check's live state as the dashboard's overview shows it, in a
 * lean form for its first load — targets said once (name, model, labels), the checks as columns
 * (no per-row keys), no last results, deferral reasons or multi-region verdicts (the check page reads
 * those from `/api/v1/checks/{id}`). Sent gzip-compressed when the client accepts it.
 *
 * At 10,000 checks with full sparklines it is about half the bytes of
 * `/api/v1/status?view=summary&recent=true` before compression (BENCHMARKS.md, "Fleet scale").
 */
export interface StatusOverview {
  /**
   * The id of the last `/api/v1/events` event published before this snapshot was taken (0: none yet).
   * The snapshot already reflects every event up to it; a client that subscribed before asking applies
   * only the events with a larger id.
   */
  eventId: number;
  targets: OverviewTarget[];
  checks: OverviewColumns;
}

const sameLabels = (a: Record<string, string>, b: Record<string, string>): boolean => {
  if (a === b) return true;
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
};

/**
 * The hub's state as {@link StatusOverview}. A target is one entry per name, unless its checks
 * disagree on model or labels (they never do within one config; a hub's peers might): then one per
 * variant.
 */
export function statusOverview(hub: HubView, eventId: number): StatusOverview {
  const targets: OverviewTarget[] = [];
  const byName = new Map<string, number[]>();
  const targetOf = (s: CheckStatus): number => {
    const candidates = byName.get(s.target);
    for (const i of candidates ?? []) {
      const t = targets[i] as OverviewTarget;
      if (t.model === s.model && sameLabels(t.labels, s.labels)) return i;
    }
    const target: OverviewTarget = { name: s.target, labels: s.labels };
    if (s.model !== undefined) target.model = s.model;
    targets.push(target);
    if (candidates) candidates.push(targets.length - 1);
    else byName.set(s.target, [targets.length - 1]);
    return targets.length - 1;
  };
  const c: OverviewColumns = {
    target: [],
    checkId: [],
    check: [],
    region: [],
    state: [],
    since: [],
    lastKnown: [],
    flapping: [],
    consecutiveFailures: [],
    modelVersion: [],
    deferred: [],
    recentMs: [],
  };
  for (const s of hub.status()) {
    c.target.push(targetOf(s));
    c.checkId.push(s.checkId === `${s.target}/${s.check}` ? null : s.checkId);
    c.check.push(s.check);
    c.region.push(s.region);
    c.state.push(s.state);
    c.since.push(s.since);
    c.lastKnown.push(s.lastKnown ?? null);
    c.flapping.push(s.flapping);
    c.consecutiveFailures.push(s.consecutiveFailures);
    c.modelVersion.push(s.modelVersion ?? null);
    c.deferred.push(s.deferred ?? null);
    c.recentMs.push(hub.recentDurations(s.checkId, s.region));
  }
  return { eventId, targets, checks: c };
}
