/**
 * The hub's view of regions: which agents report (and which are down), and each multi-region
 * check's verdict across the regions that count (`regional` below the quorum, `global` at or above).
 */
import type { RegionVerdict } from '../alerting/alerts.js';
import { isGlobal } from '../config/regions.js';
import type { CheckPlan, EvalState } from '../types.js';

/** One agent as `GET /api/v1/agents` shows it. */
export interface AgentStatus {
  region: string;
  /** `up`: reported within `downAfter`; `down`: not; `unknown`: configured, never reported since the hub started (and not yet `downAfter` ago). */
  state: 'up' | 'down' | 'unknown';
  /** When the hub received its last batch, ms since epoch; null: never. */
  lastReportAt: number | null;
  /** Receive time minus the newest result's end in its last batch, ms: how far behind its results arrive. */
  lagMs: number | null;
  /** Results the agent holds in its spool, unsent, as it said in its last batch. */
  spoolDepth: number | null;
  /** Results the agent's full spool dropped since it started (never silent). */
  dropped: number | null;
  /**
   * The hub's clock minus the agent's, ms, as the agent estimated it from its last acknowledged
   * exchange (NTP's offset, RFC 5905 section 8: `agent/clock.ts`), so without the one-way delay;
   * far from 0 means a skewed agent clock. Null until the agent has reported one.
   */
  clockOffsetMs: number | null;
  /** Batches and results taken in, and results refused as replays, since the hub started. */
  batches: number;
  results: number;
  replayed: number;
}

/** What an agent says of itself with each batch. */
export interface AgentReport {
  /** The agent's clock when it sent the batch, ms since epoch. */
  sentAt: number;
  spoolDepth?: number;
  dropped?: number;
  /** The agent's estimate of the hub's clock minus its own, ms (see `AgentStatus.clockOffsetMs`). */
  clockOffsetMs?: number;
}

/**
 * A check's verdict across `regions`: a region counts (is reporting) when its agent is up (the hub's own
 * region always is) and its state is neither `unknown` nor `stale`; it fails when unhealthy.
 *
 * @param previous the verdict before, whose `since` is kept while `state` and the failing set do not change
 */
export function verdictOf(
  plan: CheckPlan,
  regions: readonly string[],
  stateOf: (region: string) => EvalState | undefined,
  isAgentUp: (region: string) => boolean,
  now: number,
  previous?: RegionVerdict,
): RegionVerdict {
  const failing: string[] = [];
  const reporting: string[] = [];
  const absent: string[] = [];
  for (const region of regions) {
    const s = stateOf(region);
    if (!isAgentUp(region) || s === undefined || s.state === 'stale' || s.state === 'unknown') {
      absent.push(region);
      continue;
    }
    reporting.push(region);
    if (s.state === 'unhealthy') failing.push(region);
  }
  const state =
    failing.length === 0
      ? 'ok'
      : isGlobal(plan.quorum, failing.length, reporting.length)
        ? 'global'
        : 'regional';
  const same =
    previous !== undefined &&
    previous.state === state &&
    previous.failing.length === failing.length &&
    previous.failing.every((r, i) => failing[i] === r);
  return { state, failing, reporting, absent, since: same ? previous.since : now };
}

/**
 * Whether a check is judged across regions (more than the hub's own): its alerts come from its verdict.
 * Never a router's traffic check: it has the one region its router is placed in (`routers[].region`),
 * and reports nothing without traffic, so it is judged and alerted on there alone, never stale.
 */
export function isMultiRegion(plan: CheckPlan, hubRegion: string): boolean {
  if (plan.kind === 'traffic') return false;
  const regions = plan.regions;
  return regions !== undefined && (regions.length > 1 || regions[0] !== hubRegion);
}
