/**
 * The Store: everything the hub keeps — probe results and their per-minute rollups, transitions,
 * incidents, the evaluator's states (how a check resumes after a restart), the alerting outbox and
 * silences. One interface, implemented once for SQL (`sql-store.ts`, running the statements of
 * `queries.ts`) over one driver per backend (`sqlite.ts`, `postgres.ts`), all held to one contract
 * suite (`store.contract.ts`).
 *
 * Conventions for every method:
 * - times are milliseconds since the Unix epoch; stored as whole milliseconds (a fraction is dropped);
 * - `since` is inclusive and `until` exclusive;
 * - `limit` is a non-negative integer; absent means no limit;
 * - failures are {@link StoreError}s with a `VIGIL_ERR_STORE_*` code (see `errors.ts`).
 */
import type { Baseline } from '../canary/baseline.js';
import type { EvalState, Incident, ProbeResult, Transition } from '../types.js';

/** Filter for {@link Store.results}. */
export interface ResultQuery {
  region?: string;
  /** Inclusive lower bound on `startedAt`. */
  since?: number;
  /** Exclusive upper bound on `startedAt`. */
  until?: number;
  /** Keep the most recent `limit` results of the window (still returned oldest first). */
  limit?: number;
}

/** Filter for {@link Store.transitions}. */
export interface TransitionQuery {
  checkId?: string;
  region?: string;
  /** Inclusive lower bound on `at`. */
  since?: number;
  /** The newest `limit` transitions. */
  limit?: number;
}

/** Filter for {@link Store.loadStates}. */
export interface StateQuery {
  /**
   * Inclusive lower bound on when a state was last written (ms since epoch, by the writer's clock: each
   * `saveStates` stamps its rows). States stored before migration 11 count as written at 0.
   */
  writtenSince?: number;
}

/** Filter for {@link Store.incidents}. */
export interface IncidentQuery {
  /** `true`: only open incidents; `false`: only closed ones; absent: both. */
  open?: boolean;
  checkId?: string;
  /** Only the incident with this id (a `[]` answer when there is none). */
  id?: string;
  /** The newest `limit` incidents. */
  limit?: number;
}

/** What {@link Store.openIncident} needs. */
export interface OpenIncidentInput {
  checkId: string;
  region: string;
  openedAt: number;
  /** The transition's reason, e.g. `3 consecutive failures: TIMEOUT: timed out after 2000 ms`. */
  reason: string;
}

/** A notification to send, as the alerting work enqueues it. */
export interface NotificationInput {
  /**
   * Stable key of what is being said, e.g. `<incident id>:firing`. With `notifier` it makes the enqueue
   * idempotent (the same key that Alertmanager / PagerDuty deduplicate on downstream).
   */
  dedupKey: string;
  /** Name of the configured notifier, e.g. `pagerduty`. */
  notifier: string;
  /** Anything JSON-serialisable; handed back as is to the sender. */
  payload: unknown;
  createdAt: number;
}

/** What {@link Store.enqueueNotification} did. */
export interface EnqueueOutcome {
  /** The row's id: the new one, or the one already holding (notifier, dedupKey). */
  id: string;
  /** `false`: (notifier, dedupKey) was already enqueued and nothing was written. */
  enqueued: boolean;
}

/**
 * `pending`: still to be sent (possibly leased to a sender right now); `delivered`: sent;
 * `failed`: given up on (a `markFailed` with `nextAttemptAt: null`).
 */
export type NotificationStatus = 'pending' | 'delivered' | 'failed';

/** One row of the outbox. */
export interface Notification {
  /** UUID. */
  id: string;
  dedupKey: string;
  notifier: string;
  payload: unknown;
  createdAt: number;
  status: NotificationStatus;
  /** Failed sends so far (incremented by `markFailed`; a lease that lapses without a verdict is not counted). */
  attempts: number;
  /** Not claimable before this time; `createdAt` at first. */
  nextAttemptAt: number;
  /** Leased to a sender until this time by `claimDueNotifications`; `null` when not leased. */
  leasedUntil: number | null;
  deliveredAt: number | null;
  /** The last `markFailed` error, for people. */
  lastError: string | null;
}

/** Filter for {@link Store.notifications}. */
export interface NotificationQuery {
  /** Inclusive lower bound on `createdAt`. */
  since?: number;
  /** Exclusive upper bound on `createdAt`. */
  until?: number;
  /** The oldest `limit` rows of the window. */
  limit?: number;
}

/** Arguments of {@link Store.claimDueNotifications}. */
export interface ClaimOptions {
  now: number;
  /** At most this many rows. */
  limit: number;
  /**
   * How long the claimer owns the rows. If it neither delivers nor fails them within this, they become
   * claimable again (at-least-once delivery: a sender that died mid-send is retried by another).
   */
  leaseMs: number;
}

/** Arguments of {@link Store.markFailed}. */
export interface FailureUpdate {
  /** What went wrong, for people. */
  error: string;
  /** When to try again; `null` gives up (status `failed`). The backoff policy is the caller's. */
  nextAttemptAt: number | null;
}

/** One label matcher of a silence (Alertmanager's matcher: equality, or a fully anchored regex). */
export interface SilenceMatcher {
  label: string;
  value: string;
  /** `value` is a regular expression (RE2 syntax, as Alertmanager's), matched against the whole label value. Default false. */
  isRegex?: boolean;
}

/** What {@link Store.putSilence} takes: without `id`, a new silence; with one, an upsert of that silence. */
export interface SilenceInput {
  id?: string;
  /** At least one; all must match (Alertmanager's rule). */
  matchers: SilenceMatcher[];
  /** Active from `startsAt` (inclusive) to `endsAt` (exclusive); `endsAt` must be after `startsAt`. */
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

/** A stored silence. */
export interface Silence {
  id: string;
  matchers: SilenceMatcher[];
  startsAt: number;
  endsAt: number;
  createdBy: string;
  comment: string;
}

/** Filter for {@link Store.silences}. */
export interface SilenceQuery {
  /** Only silences active at this time (`startsAt <= activeAt < endsAt`). */
  activeAt?: number;
}

/**
 * What {@link Store.putMaintenanceWindow} takes: a one-off maintenance window, created from the API or the
 * dashboard (recurring windows are config: `alerting.maintenance`). While open, matching alerts are not
 * notified and recovery actions for them do not run, as under a recurring window.
 */
export interface OneOffWindowInput {
  /** At least one; all must match (Alertmanager's matcher rules, as silences). */
  matchers: SilenceMatcher[];
  /** Open from `startsAt` (ms since epoch, inclusive). */
  startsAt: number;
  /** Until `endsAt` (ms since epoch, exclusive; after `startsAt`), or `null`: open until ended. */
  endsAt: number | null;
  createdBy: string;
  comment: string;
}

/** A stored one-off maintenance window. */
export interface OneOffWindow {
  id: string;
  matchers: SilenceMatcher[];
  startsAt: number;
  /** `null` while open-ended; once ended, the time it ended (never before `startsAt`). */
  endsAt: number | null;
  createdBy: string;
  comment: string;
  /** When someone ended it early ({@link Store.endMaintenanceWindow}), and who; `null` otherwise. */
  endedAt: number | null;
  endedBy: string | null;
}

/** Filter for {@link Store.maintenanceWindows}. */
export interface OneOffWindowQuery {
  /** Only windows open at this time (`startsAt <= activeAt` and (`endsAt` null or `activeAt < endsAt`)). */
  activeAt?: number;
}

/**
 * What became of one recovery action run (`src/actions/`): `running` while claimed by a hub (its lease
 * renewed while the action runs); `succeeded`, `failed` or `refused` (the system said no, e.g. an
 * Eviction refused by a PodDisruptionBudget: HTTP 429) once recorded; `skipped` when a safety rule kept it
 * from starting (`skipReason` says which); `dry-run` when `--dry-run-actions` recorded what would have
 * run; `unknown` when the hub that ran it died mid-run (its lease lapsed without a verdict): the action
 * may or may not have taken effect, so it is never re-run blindly.
 */
export type ActionRunStatus =
  | 'running'
  | 'succeeded'
  | 'failed'
  | 'refused'
  | 'skipped'
  | 'dry-run'
  | 'unknown';

/** What {@link Store.claimActionRun} records. */
export interface ActionRunInput {
  /** One per (transition, step): `claimActionRun` writes nothing when it is already there. */
  idempotencyKey: string;
  /** Whose policy: the target name (target-level `actions`) or the check id (check-level). */
  scope: string;
  /** The step's name, e.g. `restart-scorer`. */
  action: string;
  /** The plugin, e.g. `command`. */
  kind: string;
  /** The transition that asked for it. */
  event: 'unhealthy' | 'degraded' | 'recovered';
  /** Index in its list (`onUnhealthy[step]`), counting on when the last step repeats. */
  step: number;
  checkId: string;
  region: string;
  incidentId: string | null;
  transitionAt: number;
  /** The transition's reason. */
  reason: string;
  /** `running` claims it; any other status records a run that does not start (skipped, dry-run). */
  status: ActionRunStatus;
  skipReason?: string | null;
  claimedAt: number;
  /** With `running`: the lease, renewed while the action runs. */
  leaseUntil?: number | null;
  /** The hub instance that claimed it. */
  owner: string;
  /** What it does, for people: the argv, the Kubernetes call, the HAProxy command. */
  what: string;
}

/** One recorded action run. */
export interface ActionRun extends Required<ActionRunInput> {
  id: string;
  finishedAt: number | null;
  /** The output excerpt (capped by the runner), or the error. */
  output: string | null;
}

/** What {@link Store.claimActionRun} did. */
export interface ActionClaim {
  run: ActionRun;
  /** `false`: the idempotency key was recorded before (by this or another hub); nothing was written. */
  claimed: boolean;
}

/** Filter for {@link Store.actionRuns}. */
export interface ActionRunQuery {
  incidentId?: string;
  checkId?: string;
  scope?: string;
  action?: string;
  /** Inclusive lower bound on `claimedAt`. */
  since?: number;
  /** The newest `limit` runs. */
  limit?: number;
}

/** The verdict {@link Store.finishActionRun} records. */
export interface ActionRunFinish {
  status: Exclude<ActionRunStatus, 'running' | 'skipped' | 'dry-run'>;
  finishedAt: number;
  output: string | null;
}

/** The results of one (check, region) in one minute, as `prune` folds them. */
export interface Rollup {
  checkId: string;
  region: string;
  /** Start of the minute, ms since epoch (a multiple of 60 000). */
  minute: number;
  /** Results in the minute. */
  count: number;
  /** Of which outcome `fail`. */
  failures: number;
  /** Of which outcome `degraded`. */
  degraded: number;
  /** Sum of `durationMs` (mean = sum / count). */
  sumDurationMs: number;
  maxDurationMs: number;
}

/** Filter for {@link Store.rollups}. */
export interface RollupQuery {
  region?: string;
  /** Inclusive lower bound on `minute`. */
  since?: number;
  /** Exclusive upper bound on `minute`. */
  until?: number;
}

/** Arguments of {@link Store.prune}; every retention defaults to the constant of the same name. */
export interface PruneOptions {
  now: number;
  /** Raw results older than this are folded into rollups. Default {@link DEFAULT_RAW_RETENTION_MS}. */
  rawRetentionMs?: number;
  /** Rollups older than this are deleted. Default {@link DEFAULT_ROLLUP_RETENTION_MS}. */
  rollupRetentionMs?: number;
  /**
   * Delivered or failed notifications created longer ago than this are deleted; their (notifier,
   * dedupKey) becomes free again. Pending ones are kept. Default {@link DEFAULT_NOTIFICATION_RETENTION_MS}.
   */
  notificationRetentionMs?: number;
  /**
   * Silences and one-off maintenance windows that ended longer ago than this are deleted. Default
   * {@link DEFAULT_SILENCE_RETENTION_MS}.
   */
  silenceRetentionMs?: number;
}

/** What {@link Store.prune} did. */
export interface PruneReport {
  /** Raw results before this time were folded (the retention cutoff, rounded down to a whole minute). */
  cutoff: number;
  /** Raw results folded into rollups and deleted. */
  rolledUp: number;
  rollupsDeleted: number;
  notificationsDeleted: number;
  silencesDeleted: number;
  /** One-off maintenance windows over for longer than `silenceRetentionMs`. */
  maintenanceWindowsDeleted: number;
  /**
   * Ids of agents' results (the exactly-once ledger, {@link Store.ingestResults}) received before the
   * raw results' cutoff, deleted: the ledger is kept as long as the raw results it guards. A batch
   * replayed after that (an agent that lost the hub's answer and stayed away longer than the raw
   * retention) would be ingested again; its results would be older than the cutoff by then, so they
   * only add to their minutes' rollups.
   */
  resultIdsDeleted: number;
}

/**
 * Raw results are kept 7 days by default, then live on as per-minute rollups. Gatus keeps the last 100
 * results per endpoint and Uptime Kuma 180 days of heartbeats at ≥ 20 s intervals; at Vigil's scale (up to
 * 1 000 results/s) a week of raw history (~600 M rows at that rate: lower it there) is the compromise
 * between "show me the failing probes of last week" and the size of one SQLite file.
 */
export const DEFAULT_RAW_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;

/**
 * Per-minute rollups are kept 30 days by default: Gatus keeps its hourly uptime statistics 30 days
 * (`uptimeRetention`) and Uptime Kuma 2 its hourly `stat_hourly` 30 days.
 */
export const DEFAULT_ROLLUP_RETENTION_MS = 30 * 24 * 60 * 60 * 1000;

/**
 * Settled notifications (and so their dedup keys) are kept 120 h by default: Alertmanager's notification
 * log retention (`--data.retention=120h`).
 */
export const DEFAULT_NOTIFICATION_RETENTION_MS = 120 * 60 * 60 * 1000;

/** Expired silences are kept 120 h by default, as Alertmanager keeps them (`--data.retention=120h`). */
export const DEFAULT_SILENCE_RETENTION_MS = 120 * 60 * 60 * 1000;

/** A migration that has been applied, as `schema_migrations` records it. */
export interface AppliedMigration {
  version: number;
  name: string;
  appliedAt: number;
}

/** Arguments of {@link Store.migrate}. */
export interface MigrateOptions {
  /** Apply up to and including this version. Default: the latest this build knows. */
  to?: number;
}

/**
 * Everything the hub keeps. Obtain one with `openStore(location)` (`index.ts`).
 *
 * Every method may reject with a {@link StoreError}: `VIGIL_ERR_STORE_QUERY` for a database fault,
 * `VIGIL_ERR_STORE_CLOSED` after `close()`, `VIGIL_ERR_STORE_INVALID_ARGUMENT` for an argument out of its
 * domain. Writes are atomic: a method that rejects has written nothing.
 *
 * @example
 * ```ts
 * const store = await openStore('.vigil/vigil.db');
 * await store.appendResults(batch);
 * for (const state of await store.loadStates()) evaluator.resume(state);
 * await store.close();
 * ```
 */
export interface Store {
  /** The backend's name, e.g. `sqlite` or `postgres`. */
  readonly backend: string;
  /** Membership and shard leases for several hubs on one database; absent when the backend cannot be shared (SQLite). */
  readonly cluster?: ClusterLeases;
  /**
   * Tells of transitions other writers (other hubs) store, as they commit: PostgreSQL's LISTEN/NOTIFY
   * on a connection of its own (a trigger of migration 10 notifies from the transaction that stores a
   * transition). Absent on SQLite. See {@link TransitionWatch}.
   */
  readonly watchTransitions?: (watch: TransitionWatch) => { stop(): Promise<void> };

  /**
   * Applies the migrations the database lacks, in order, each in its own transaction, and records each in
   * `schema_migrations`. Running it again is a no-op. Concurrent runs (other processes, other hub
   * replicas) apply each migration once: PostgreSQL serialises them with an advisory lock, SQLite with
   * its write lock. `openStore` calls it unless told not to.
   *
   * @returns the versions applied by this call, ascending (`[]` when the schema was current).
   * @throws StoreError `VIGIL_ERR_STORE_MIGRATION` (rolled back), `VIGIL_ERR_STORE_SCHEMA_TOO_NEW`.
   */
  migrate(options?: MigrateOptions): Promise<number[]>;
  /** The migrations recorded in `schema_migrations`, ascending by version. */
  appliedMigrations(): Promise<AppliedMigration[]>;

  /** Appends probe results in one transaction: all of the batch is stored, or none. */
  appendResults(results: readonly ProbeResult[]): Promise<void>;
  /** Results of `checkId`, oldest first (see {@link ResultQuery} for `limit`). Each round-trips exactly. */
  results(checkId: string, query?: ResultQuery): Promise<ProbeResult[]>;

  appendTransition(transition: Transition): Promise<void>;
  /** Transitions, newest first. */
  transitions(query?: TransitionQuery): Promise<Transition[]>;

  /**
   * Opens an incident for (checkId, region) with a new UUID, or returns the one already open there: at
   * most one is open per (check, region), enforced by a partial unique index, also across replicas.
   */
  openIncident(input: OpenIncidentInput): Promise<Incident>;
  /** Closes an open incident. @returns `false` when no open incident has this id (unknown or already closed). */
  closeIncident(id: string, closedAt: number): Promise<boolean>;
  /** Incidents, newest (by `openedAt`) first. */
  incidents(query?: IncidentQuery): Promise<Incident[]>;

  /** Upserts evaluator states by (checkId, region) in one transaction; a later duplicate in the batch wins. */
  saveStates(states: readonly EvalState[]): Promise<void>;
  /**
   * Every saved state (or those `query` keeps), ordered by checkId then region: how checks resume after a
   * restart, and how a cluster hub mirrors the states other hubs write (`hub/mirror.ts`).
   */
  loadStates(query?: StateQuery): Promise<EvalState[]>;

  /** Adds a notification to the outbox unless (notifier, dedupKey) is already there. */
  enqueueNotification(input: NotificationInput): Promise<EnqueueOutcome>;
  /**
   * Leases up to `limit` due notifications (pending, `nextAttemptAt <= now`, lease absent or lapsed) until
   * `now + leaseMs`, oldest due first. Two claimers (hub replicas) never get the same row while its lease
   * holds: PostgreSQL locks rows with `FOR UPDATE SKIP LOCKED`, SQLite claims in one write transaction.
   */
  claimDueNotifications(options: ClaimOptions): Promise<Notification[]>;
  /** Marks a pending notification delivered. @returns `false` if it is not pending (unknown, done already). */
  markDelivered(id: string, at: number): Promise<boolean>;
  /**
   * Records a failed send: `attempts + 1`, `lastError`, lease released, due again at `nextAttemptAt`
   * (or given up, status `failed`, when it is `null`). @returns `false` if it is not pending.
   */
  markFailed(id: string, update: FailureUpdate): Promise<boolean>;
  /**
   * Gives a claimed row back without counting an attempt: its lease ends now, so any sender may claim
   * it at once (a dispatcher that stops before sending what it claimed).
   * @returns `false` if it is not pending.
   */
  releaseLease(id: string): Promise<boolean>;
  /** Every pending notification (leased or not), oldest first. */
  pendingNotifications(): Promise<Notification[]>;
  /** Notifications of any status created in a window, oldest first (an incident's deliveries). */
  notifications(query?: NotificationQuery): Promise<Notification[]>;

  /**
   * Records an action run under its idempotency key unless that key is there already: the claim that
   * makes an action run at most once per (transition, step), across restarts and hub replicas.
   */
  claimActionRun(input: ActionRunInput): Promise<ActionClaim>;
  /** Extends a running run's lease. @returns `false` if it is not running (finished, or declared unknown). */
  renewActionLease(id: string, leaseUntil: number): Promise<boolean>;
  /** Records a running run's verdict. @returns `false` if it is not running. */
  finishActionRun(id: string, finish: ActionRunFinish): Promise<boolean>;
  /**
   * Every `running` run whose lease lapsed before `now` becomes `unknown` (its hub died mid-run),
   * finished at `now`. @returns those runs, as updated. Safe from several replicas: each row once.
   */
  expireActionRuns(now: number): Promise<ActionRun[]>;
  /** Action runs, newest (by `claimedAt`) first. */
  actionRuns(query?: ActionRunQuery): Promise<ActionRun[]>;

  /**
   * Creates (no `id`: a new UUID) or replaces a silence.
   * @throws StoreError `VIGIL_ERR_STORE_INVALID_ARGUMENT` when there is no matcher, a regex does not
   *   compile, or `endsAt <= startsAt`.
   */
  putSilence(input: SilenceInput): Promise<Silence>;
  /** Silences ordered by `startsAt`, optionally only those active at a time. */
  silences(query?: SilenceQuery): Promise<Silence[]>;
  /** @returns `false` when no silence has this id. */
  deleteSilence(id: string): Promise<boolean>;

  /**
   * Creates a one-off maintenance window with a new UUID.
   * @throws StoreError `VIGIL_ERR_STORE_INVALID_ARGUMENT` when there is no matcher, a regex does not
   *   compile, or `endsAt <= startsAt`.
   */
  putMaintenanceWindow(input: OneOffWindowInput): Promise<OneOffWindow>;
  /** One-off maintenance windows ordered by `startsAt`, optionally only those open at a time. */
  maintenanceWindows(query?: OneOffWindowQuery): Promise<OneOffWindow[]>;
  /**
   * Ends a window at `at` (ms since epoch): one still open or not yet started gets `endsAt = max(at,
   * startsAt)`, `endedAt = at`, `endedBy = by`, and `changed: true`; one already over is returned as it
   * was, `changed: false`. `undefined` when no window has this id.
   */
  endMaintenanceWindow(
    id: string,
    at: number,
    by: string,
  ): Promise<{ window: OneOffWindow; changed: boolean } | undefined>;

  /**
   * Stores a canary baseline for (checkId, model version, status) unless the same one (by digest) is
   * already stored there: importing a file at every load adds one row, not one per load. Each stored
   * one stays, as history; the newest is the current one.
   */
  putBaseline(input: BaselineInput): Promise<{ baseline: StoredBaseline; inserted: boolean }>;
  /** Stored baselines, newest (by `storedAt`, then `recordedAt`) first; see {@link BaselineQuery}. */
  baselines(query?: BaselineQuery): Promise<StoredBaseline[]>;
  /**
   * Makes the newest provisional baseline of (checkId, modelVersion) the reviewed one, in one
   * transaction: a reviewed copy is stored (source `promoted`) and the provisional ones are deleted.
   * @returns the reviewed baseline, or undefined when there is no provisional one.
   */
  promoteBaseline(checkId: string, modelVersion: string, at: number): Promise<StoredBaseline | undefined>;
  /**
   * Takes in the results an agent pushed (`POST /api/v1/agent/results`) exactly once, in one
   * transaction: each result's id is recorded with its region, batch id and receive time, and the
   * result stored, unless the id was recorded before (a replayed batch: an agent that did not see
   * the answer sends it again). So once it resolves, every result it returns the id of is durable,
   * and a crash before it resolves leaves none of them claimed: the agent's re-send is taken in.
   * @returns the ids newly recorded (their results stored now), in the order given; the others were
   * seen before.
   */
  ingestResults(input: ResultIngest): Promise<string[]>;
  /** Stores an agent's latest report (its region's row, replaced): when, and what it said of itself. */
  putAgent(report: AgentRecord): Promise<void>;
  /** Every agent that has reported, by region. */
  agents(): Promise<AgentRecord[]>;
  /**
   * Replaces a canary check's drift state (its row): what the canary runner keeps between runs —
   * rotation position, autoBaseline progress, last comparison, drift statistics over time — so that a
   * restarted hub, or another hub of the cluster, continues where the last run left off. The state is
   * the runner's JSON (`probe/canary.ts` `CanaryStateSnapshot`); the store keeps it as given (NaN and
   * ±Infinity round-trip).
   */
  putCanaryState(record: CanaryStateRecord): Promise<void>;
  /** A canary check's stored drift state, or undefined when none was stored. */
  canaryState(checkId: string): Promise<CanaryStateRecord | undefined>;
  /** @returns `false` when the check had no stored state. */
  deleteCanaryState(checkId: string): Promise<boolean>;
  /**
   * Retention, in one transaction: raw results older than the cutoff (`now - rawRetentionMs`, rounded down
   * to a whole minute) are folded into per-minute rollups and deleted — results arriving later for a
   * folded minute are added to its rollup on the next prune — and old rollups, settled notifications,
   * expired silences and the agents' result ids received before the raw cutoff are deleted. Safe to run from several replicas at once.
   */
  prune(options: PruneOptions): Promise<PruneReport>;
  /** Rollups of `checkId` ordered by minute then region. Only folded minutes: recent ones are in `results`. */
  rollups(checkId: string, query?: RollupQuery): Promise<Rollup[]>;

  /** Closes the database (or the pool). Idempotent; every later call rejects with `VIGIL_ERR_STORE_CLOSED`. */
  close(): Promise<void>;
}

/**
 * Shards the checks are spread over when several hubs share one PostgreSQL (`vigil run --cluster`):
 * a check's shard is a stable hash of its id modulo this (`hub/cluster.ts`). Fixed, and written into
 * the `cluster_shards` table by migration 8, so every hub of every version agrees on it; 256 keeps
 * the spread even (±20 % per hub at 3 hubs) while a lease tick stays one small statement.
 */
export const CLUSTER_SHARDS = 256;

/** What one {@link ClusterLeases.tick} did, as the database saw it. */
export interface ClusterTickResult {
  /** The hubs whose heartbeat is younger than the lease (this one included), by id. */
  live: string[];
  /** The shards this hub holds after the tick, each leased until the database's `now() + leaseMs`. */
  held: number[];
  /**
   * Milliseconds until the earliest lease of a shard this hub wants but another holds lapses; `null`
   * when there is none. The caller ticks again then, so a dead hub's shards are taken at once.
   */
  nextExpiryMs: number | null;
}

/** Arguments of {@link ClusterLeases.tick}. */
export interface ClusterTickInput {
  /** This hub's id (unique per process: `<hostname>:<pid>:<random>`). */
  hubId: string;
  /** Where this hub's API is, for people (`cluster_hubs.url`). */
  url: string;
  /** Lease length, and how long a hub counts as live after its last heartbeat. */
  leaseMs: number;
  /**
   * Called between the tick's two statements with the live hubs: the shards this hub should hold. A
   * shard it holds and no longer wants is released by the second statement, after this returns (so
   * the caller stops acting on it first).
   */
  want(live: readonly string[]): readonly number[];
}

/**
 * Hub membership and shard leases, in the database: the one distributed engine of a cluster of hubs.
 * Times are the database's (`now()`), never a hub's clock. Present on backends that can be shared by
 * several hubs (PostgreSQL); absent on SQLite.
 */
export interface ClusterLeases {
  /**
   * Two atomic statements: heartbeat (registering the hub on its first call) and read the live hubs;
   * then release the shards no longer wanted, renew the wanted ones held, take the wanted ones that
   * are free or whose lease lapsed. Rejects on a database fault or after the query timeout (the first
   * statement may have been applied: a heartbeat alone changes no lease).
   */
  tick(input: ClusterTickInput): Promise<ClusterTickResult>;
  /** Releases every shard of `hubId` and removes it from the hubs (a clean stop: others take over at once). */
  leave(hubId: string): Promise<void>;
  /** Shard owners whose lease holds now, by shard. */
  owners(): Promise<Map<number, string>>;
  /** Closes the cluster's own connections. */
  close(): Promise<void>;
}

/**
 * What {@link Store.watchTransitions} calls. Notifications are a fast path, not a log: one sent while
 * the listening connection was down is lost, so a watcher also reads what it missed after
 * `reconnected` (and may poll as a safety net).
 */
export interface TransitionWatch {
  /**
   * Transitions of these check ids were stored (any region; the watcher reads the rows). `undefined`:
   * too many ids for one notification (PostgreSQL's payload is under 8000 bytes): read them all.
   */
  stored(checkIds: readonly string[] | undefined): void;
  /**
   * The listening connection is up again after it was lost, or after the first connect failed: what
   * was stored meanwhile was not told. Not called when the first connect works.
   */
  reconnected(): void;
  /** The listening connection was lost (it reconnects with a backoff of 0.5 s doubling to 10 s). */
  lost?(error: Error): void;
}

/** SQLite options. */
export interface SqliteStoreOptions {
  /**
   * `PRAGMA synchronous` in WAL mode. `NORMAL` (default): a commit is in the WAL file (the OS's page cache)
   * when the call returns, so it survives the process being killed (`kill -9`, OOM); it may be lost on
   * power loss or a kernel crash (SQLite documents that the database stays consistent then). `FULL`: the
   * WAL is also fsynced at every commit, so it survives power loss too, at one fsync per transaction.
   */
  synchronous?: 'NORMAL' | 'FULL';
  /** How long a write waits for another process's write lock before failing. Default 5 000 ms. */
  busyTimeoutMs?: number;
}

/** PostgreSQL options. */
export interface PostgresStoreOptions {
  /**
   * Schema holding Vigil's tables (created by `migrate` when missing); default the connection's
   * `search_path` (normally `public`). Letters, digits and `_` only.
   */
  schema?: string;
  /** Pool size. Default 10 (pg's default). */
  poolMax?: number;
  /** Connection timeout. Default 5 000 ms. */
  connectionTimeoutMs?: number;
  /**
   * Timeout of one cluster lease tick (its connect and its queries), client side. Default 3 000 ms;
   * `runHub` sets it to lease − safety margin: by then the hub has fenced itself anyway.
   */
  clusterQueryTimeoutMs?: number;
}

/** Options of `openStore`. */
export interface OpenStoreOptions {
  /** Apply missing migrations on open. Default true. */
  migrate?: boolean;
  sqlite?: SqliteStoreOptions;
  postgres?: PostgresStoreOptions;
}

/**
 * One backend. Adding a backend is one file exporting one of these, plus one line in `index.ts`'s list.
 */
export interface StoreBackend {
  readonly name: string;
  /** Whether `location` (a URL or a path) is this backend's. */
  handles(location: string): boolean;
  /** Opens (and by default migrates) a store. @throws StoreError `VIGIL_ERR_STORE_OPEN`. */
  open(location: string, options: OpenStoreOptions): Promise<Store>;
}

/**
 * `reviewed`: recorded from a known-good deployment and reviewed (a file imported, or promoted);
 * `provisional`: recorded automatically (`autoBaseline`) from a new version's first healthy runs, kept
 * apart until `vigil baseline promote`.
 */
export type BaselineStatus = 'reviewed' | 'provisional';

/** A canary baseline to store. */
export interface BaselineInput {
  /** `<target>/canary`. */
  checkId: string;
  /** The model version it was recorded from; `''` when the server reports none. */
  modelVersion: string;
  status: BaselineStatus;
  /** Where it came from, e.g. `file:/etc/vigil/baselines/credit-v1.json`, `auto`, `promoted`. */
  source: string;
  /** When it was stored, ms since epoch. */
  storedAt: number;
  baseline: Baseline;
}

/** A stored canary baseline. */
export interface StoredBaseline extends BaselineInput {
  id: string;
  /** `baseline.recordedAt`, ms since epoch. */
  recordedAt: number;
  /** SHA-256 (hex) of the baseline's serialised form: equal baselines, equal digests. */
  digest: string;
}

/** Which baselines {@link Store.baselines} returns. */
export interface BaselineQuery {
  checkId?: string;
  modelVersion?: string;
  status?: BaselineStatus;
  /** At most this many (newest first). */
  limit?: number;
}

/** What {@link Store.ingestResults} takes in. */
export interface ResultIngest {
  region: string;
  batchId: string;
  /** ms since epoch. */
  receivedAt: number;
  /** Each with the id it is taken in once by; an id given twice is taken once. */
  results: readonly (ProbeResult & { id: string })[];
}

/** A canary check's drift state as stored (`canary_states` table, migration 9). */
export interface CanaryStateRecord {
  /** `<target>/canary`. */
  checkId: string;
  /** When the state was written, ms since epoch. */
  updatedAt: number;
  /** The canary runner's state: JSON, returned as stored. */
  state: Record<string, unknown>;
}

/** An agent's last report as the hub keeps it (`agents` table, migration 7). */
export interface AgentRecord {
  region: string;
  /** When the hub received the agent's last batch, ms since epoch. */
  lastReportAt: number;
  /** What the agent said of itself (spool depth, drops, clock offset…): JSON, shown as stored. */
  info: Record<string, unknown>;
}
