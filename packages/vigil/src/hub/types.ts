/**
 * What the hub exposes to its readers (API, dashboard, metrics): live state per check and region,
 * the store, and a stream of events.
 */
import type { RegionVerdict } from '../alerting/alerts.js';
import type { Alert } from '../alerting/types.js';
import type { ThresholdSource } from '../canary/latency.js';
import type { Shard } from '../config/regions.js';
import type { CanaryRunReport, DriftPoint } from '../probe/canary.js';
import type { DeferralReason } from '../scheduler/budget.js';
import type { ActionRun, Store } from '../store/types.js';
import type {
  CheckKind,
  CheckPlan,
  CheckState,
  FlapEvent,
  ProbeBudget,
  ProbeResult,
  Transition,
} from '../types.js';
import type { AgentReport, AgentStatus } from './regions.js';

/** One check's live state in one region. */
export interface CheckStatus {
  checkId: string;
  target: string;
  check: CheckKind;
  region: string;
  state: CheckState;
  /** When `state` was entered, ms since epoch. */
  since: number;
  /** While `stale`: the state the check was last known to be in, and since when (ms since epoch). */
  lastKnown?: { state: CheckState; since: number };
  flapping: boolean;
  consecutiveFailures: number;
  model?: string;
  /** Last model version the server reported. */
  modelVersion?: string;
  labels: Record<string, string>;
  lastResult: ProbeResult | null;
  /**
   * Present while the scheduler puts the check's probes off: its target is over its probe budget, or
   * not ready (expensive checks are held). An expected gap, never `stale`; `state` stays what the
   * last result made it.
   */
  deferred?: CheckDeferral;
  /** A multi-region check's verdict across its regions (`regional` / `global`), the same on each region's row. */
  verdict?: RegionVerdict;
}

/** Why and until when a check's probes are put off (see `CheckStatus.deferred`). */
export interface CheckDeferral {
  /** `probe-rate` / `model-time`: over the target's probe budget; `not-ready`: held for readiness. */
  reason: DeferralReason;
  /** For people, e.g. `over the probe budget of 5 % of scorer's model time (probe latency × rate); its last probe took 212 ms`. */
  message: string;
  /** When this deferral began, ms since epoch. */
  since: number;
  /** When the check's next probe is due, ms since epoch (renewed at each deferred slot). */
  until: number;
}

/** A check's deferral began, changed its reason, or ended (`deferred: null`: its probe ran). */
export interface DeferralEvent {
  checkId: string;
  region: string;
  deferred: CheckDeferral | null;
}

/**
 * A check's configuration as readers may see it: what it probes and the thresholds it is judged by.
 * Never headers, credentials or payloads (they may hold secrets).
 */
export interface CheckInfo {
  checkId: string;
  target: string;
  check: CheckKind;
  /** The target's base URL with any userinfo removed. */
  url: string;
  protocol: string;
  model?: string;
  labels: Record<string, string>;
  intervalMs: number;
  timeoutMs: number;
  /** Re-probe interval while confirming a failure; null: off. */
  fastIntervalMs: number | null;
  failureThreshold: number;
  successThreshold: number;
  /** Latency at or over which a probe is degraded / failed, in ms (`expect.latency`); absent: not set. */
  degradedMs?: number;
  failedMs?: number;
  /**
   * Present for adaptive latency thresholds (`expect.latency` with `auto` levels): where each level
   * above came from (`config`: written by hand; `baseline`: the version's reviewed baseline profile;
   * `history`: its own recent passing probes; `none`: no basis yet, so no threshold), the quantile they
   * scale in ms (after the floor) and how many durations are behind it.
   */
  adaptiveLatency?: {
    source: { degradedMs: ThresholdSource; failedMs: ThresholdSource };
    basisMs?: number;
    samples?: number;
  };
  /** The target's probe budget (config/budget.ts); absent: unbudgeted. */
  budget?: ProbeBudget;
}

/** One side of an HTTP exchange as shown to people: text bodies cut at 64 KiB, secrets redacted. */
export interface ExchangeView {
  /** When the probe started, ms since epoch. */
  at: number;
  request: { method: string; url: string; headers: Record<string, string>; body?: string };
  response?: { status: number; headers: Record<string, string>; body: string; truncated: boolean };
  error?: { code: string; message: string };
}

/**
 * A firing alert as `GET /api/v1/alerts` shows it, in Alertmanager's terms: `active`, or
 * `suppressed` by a silence, a maintenance window or inhibition (`mutedBy` says which).
 */
export interface AlertStatus extends Alert {
  state: 'active' | 'suppressed';
  mutedBy?: string;
}

/** Events the hub publishes, in order. */
export type HubEvent =
  | { type: 'result'; result: ProbeResult }
  | { type: 'transition'; transition: Transition }
  | { type: 'flap'; flap: FlapEvent }
  | { type: 'deferral'; deferral: DeferralEvent }
  /** A recovery action run was claimed, recorded or skipped (`src/actions/runner.ts`). */
  | { type: 'action'; run: ActionRun };

/** The hub as its readers see it. */
export interface HubView {
  status(): CheckStatus[];
  readonly store: Store;
  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  subscribe(listener: (event: HubEvent) => void): () => void;
  /** Config loaded, store open, scheduler running, not shutting down. */
  isReady(): boolean;
  /** The check's configuration; undefined for a check the hub does not run. */
  checkInfo(checkId: string): CheckInfo | undefined;
  /**
   * Durations (ms) of the check's most recent probes in `region`, oldest first: at most
   * {@link RECENT_DURATIONS} of them, kept in memory since the hub started (the overview's sparklines).
   */
  recentDurations(checkId: string, region: string): number[];
  /**
   * The latest probe's main HTTP exchange (the inference call for integrity), redacted. Kept when
   * that probe failed or degraded, or when this was asked for within the last 10 minutes (`WATCH_MS`):
   * asking marks the check watched, so a page that asks again after each result sees every probe.
   */
  lastExchange(checkId: string, region: string): ExchangeView | undefined;
  /** Alerts firing now (from the checks' states), with their mute state. */
  alerts(): Promise<AlertStatus[]>;
  /**
   * Takes in a router's traffic result for a traffic check (`Hub.ingest`); absent on views that take
   * none. Returns false when the hub has no such traffic check.
   */
  ingest?(result: ProbeResult): boolean;
  /** Agents' results, reports, plans and health (`hub.ts`); absent on views without agents. */
  ingestRemote?(region: string, batch: RemoteBatch): Promise<RemoteIngest | undefined>;
  agentReport?(
    region: string,
    report: AgentReport,
    receivedAt: number,
    counts: { results: number; replayed: number; lagMs: number | null },
  ): void;
  agents?(): AgentStatus[];
  plansFor?(region: string, shard?: Shard): CheckPlan[];
  isAgentRegion?(region: string): boolean;
  /**
   * A canary check's last run (its per-case comparison against its version's baseline) and its drift
   * statistics over recent runs, oldest first; undefined for a check that is not a canary this hub runs.
   */
  canary?(checkId: string): CanaryView | undefined;
}

/** An agent's batch as the hub takes it in (`Hub.ingestRemote`). */
export interface RemoteBatch {
  batchId: string;
  /** When the hub received it, ms since epoch. */
  receivedAt: number;
  /** In the order the agent probed them, each with the id it is taken in once by. */
  results: readonly (ProbeResult & { id: string })[];
}

/** What `Hub.ingestRemote` did with a batch. */
export interface RemoteIngest {
  /** Results taken in now: stored (durably) and evaluated. */
  accepted: number;
  /** Results whose id was taken in before (a replay): acknowledged, not taken in again. */
  replayed: number;
  /** Results left out: of a check that does not run in the batch's region (any more). */
  skipped: number;
  /** The newest `startedAt + durationMs` of the accepted results, ms since epoch; null when none. */
  newestEnd: number | null;
}

/** What the API shows of a canary check (`GET /api/v1/checks/{id}/canary`). */
export interface CanaryView {
  lastRun?: CanaryRunReport;
  history: DriftPoint[];
}

/** How many recent durations the hub keeps per check and region (one sparkline: 5 min at 10 s). */
export const RECENT_DURATIONS = 30;
