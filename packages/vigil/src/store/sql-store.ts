/**
 * The {@link Store}, written once for every SQL backend. Each method takes its statement from
 * `queries.ts`, hands it to the backend's {@link SqlDriver}, and maps the rows back with `shared.ts`. A
 * driver only executes: better-sqlite3 synchronously on one connection, pg asynchronously over a pool.
 * What a driver must guarantee is written on {@link SqlDriver}; the contract suite checks the whole.
 */
import type { EvalState, Incident, ProbeResult, Transition } from '../types.js';
import { StoreError, wrapStoreError } from './errors.js';
import type { BatchStatement, Dialect, QueryResult, Sql } from './queries.js';
import * as q from './queries.js';
import {
  type ActionRunRow,
  actionRunFromRow,
  type BaselineRow,
  baselineFromRow,
  baselineRow,
  byDueThenCreated,
  checkMigrationTarget,
  decodeJson,
  type IncidentRow,
  incidentFromRow,
  latestStates,
  ms,
  type NotificationRow,
  newId,
  normaliseOneOffWindow,
  normaliseSilence,
  notificationFromRow,
  type OneOffWindowRow,
  oneOffWindowFromRow,
  pruneCutoffs,
  type ResultRow,
  type RollupRow,
  resultFromRow,
  resultRow,
  rollupFromRow,
  type SilenceRow,
  silenceFromRow,
  stateRow,
  type TransitionRow,
  transitionFromRow,
} from './shared.js';
import type {
  ActionClaim,
  ActionRun,
  ActionRunFinish,
  ActionRunInput,
  ActionRunQuery,
  AgentRecord,
  AppliedMigration,
  BaselineInput,
  BaselineQuery,
  CanaryStateRecord,
  ClaimOptions,
  ClusterLeases,
  EnqueueOutcome,
  FailureUpdate,
  IncidentQuery,
  MigrateOptions,
  Notification,
  NotificationInput,
  NotificationQuery,
  OneOffWindow,
  OneOffWindowInput,
  OneOffWindowQuery,
  OpenIncidentInput,
  OpenStoreOptions,
  PruneOptions,
  PruneReport,
  ResultIngest,
  ResultQuery,
  Rollup,
  RollupQuery,
  Silence,
  SilenceInput,
  SilenceQuery,
  StateQuery,
  Store,
  StoredBaseline,
  TransitionQuery,
  TransitionWatch,
} from './types.js';

/** One schema version: a backend's own DDL (types, collations and storage differ per backend). */
export interface Migration {
  version: number;
  name: string;
  /** One or more statements, run in one transaction. */
  sql: string;
}

/** What the shared migration runner needs, on a connection that holds the backend's migration lock. */
export interface MigrationSession {
  /** Creates `schema_migrations` when missing. @returns the versions it records. */
  appliedVersions(): Promise<number[]>;
  /**
   * In one transaction: unless `migration` is recorded by now (another process may have just applied
   * it), runs its SQL and records it with `recordMigration`. A failure rolls the transaction back.
   * @returns whether it ran.
   */
  applyOnce(migration: Migration): Promise<boolean>;
}

/**
 * A backend as the shared store sees it: a dialect, its migrations, and a way to execute statements.
 * Driver errors are thrown as they are; the store wraps them into `VIGIL_ERR_STORE_QUERY`.
 */
export interface SqlDriver {
  /** `Store.backend`, e.g. `sqlite`. */
  readonly backend: string;
  readonly dialect: Dialect;
  /** Ascending by version. Never edit an applied one: append a new version. */
  readonly migrations: readonly Migration[];
  /** Runs one statement on its own (autocommit). */
  query<R = Record<string, unknown>>(statement: Sql): Promise<QueryResult<R>>;
  /** Runs statements in order in one write transaction: all of them, or (on a failure) none. */
  transaction(statements: readonly Sql[]): Promise<QueryResult[]>;
  /**
   * Writes `rows` (each the columns' values in the shape's order) with a {@link Dialect.batch}
   * statement, in one transaction: SQLite runs it once per row, PostgreSQL once with one array per column.
   */
  insertBatch(batch: BatchStatement, rows: readonly (readonly unknown[])[]): Promise<void>;
  /** Runs `fn` holding the backend's migration lock, so concurrent migrators apply each version once. */
  migrationSession<T>(fn: (session: MigrationSession) => Promise<T>): Promise<T>;
  /** Releases the connection(s). Called once. */
  close(): Promise<void>;
  /** Membership and shard leases, when the backend can be shared by several hubs. */
  readonly cluster?: ClusterLeases;
  /** See {@link Store.watchTransitions}. */
  watchTransitions?(watch: TransitionWatch): { stop(): Promise<void> };
}

/** Inserts that find a row already there are retried this many times (see `#insertOrFetch`). */
const INSERT_OR_FETCH_ATTEMPTS = 5;

class SqlStore implements Store {
  readonly backend: string;
  readonly cluster?: ClusterLeases;
  readonly watchTransitions?: (watch: TransitionWatch) => { stop(): Promise<void> };
  readonly #driver: SqlDriver;
  readonly #dialect: Dialect;
  readonly #latestVersion: number;
  /** The batch statements, rendered once: the hot path reuses the same text (and so the prepared statement). */
  readonly #insertResults: BatchStatement;
  readonly #upsertStates: BatchStatement;
  #closed = false;

  constructor(driver: SqlDriver) {
    this.backend = driver.backend;
    if (driver.cluster !== undefined) this.cluster = driver.cluster;
    if (driver.watchTransitions !== undefined) this.watchTransitions = driver.watchTransitions.bind(driver);
    this.#driver = driver;
    this.#dialect = driver.dialect;
    this.#latestVersion = driver.migrations.reduce((max, m) => Math.max(max, m.version), 0);
    this.#insertResults = driver.dialect.batch(q.RESULTS_INSERT);
    this.#upsertStates = driver.dialect.batch(q.STATES_UPSERT);
  }

  /** Runs `fn` unless closed, turning driver errors into StoreErrors. */
  async #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError('VIGIL_ERR_STORE_CLOSED', `store: ${operation} after close()`);
    try {
      return await fn();
    } catch (err) {
      throw wrapStoreError(operation, err);
    }
  }

  async #rows<R>(statement: Sql): Promise<R[]> {
    return (await this.#driver.query<R>(statement)).rows;
  }

  async #changed(statement: Sql): Promise<boolean> {
    return (await this.#driver.query(statement)).rowCount > 0;
  }

  /**
   * Insert-or-fetch without a transaction, so it holds across replicas: the insert (ON CONFLICT DO
   * NOTHING RETURNING) gives no row when a conflicting one exists; that row may vanish before the fetch
   * (another replica closed the incident, a prune deleted the notification), so it tries again.
   */
  async #insertOrFetch<R>(
    operation: string,
    insert: () => Sql,
    fetch: Sql,
  ): Promise<{ row: R; inserted: boolean }> {
    for (let attempt = 0; attempt < INSERT_OR_FETCH_ATTEMPTS; attempt++) {
      const [inserted] = await this.#rows<R>(insert());
      if (inserted !== undefined) return { row: inserted, inserted: true };
      const [existing] = await this.#rows<R>(fetch);
      if (existing !== undefined) return { row: existing, inserted: false };
    }
    throw new StoreError(
      'VIGIL_ERR_STORE_QUERY',
      `store: ${operation} failed: the conflicting row vanished ${INSERT_OR_FETCH_ATTEMPTS} times in a row`,
    );
  }

  async migrate(options: MigrateOptions = {}): Promise<number[]> {
    return this.#run('migrate', async () => {
      const target = checkMigrationTarget(options.to, this.#latestVersion);
      return this.#driver.migrationSession((session) => this.#migrateLocked(session, target));
    });
  }

  async #migrateLocked(session: MigrationSession, target: number): Promise<number[]> {
    const done = new Set(await session.appliedVersions());
    const newest = Math.max(0, ...done);
    if (newest > this.#latestVersion) {
      throw new StoreError(
        'VIGIL_ERR_STORE_SCHEMA_TOO_NEW',
        `store: the database is at schema version ${newest}, this Vigil knows up to ${this.#latestVersion}: upgrade Vigil`,
      );
    }
    const applied: number[] = [];
    for (const m of this.#driver.migrations) {
      if (m.version > target) break;
      if (done.has(m.version)) continue;
      let ran: boolean;
      try {
        ran = await session.applyOnce(m);
      } catch (err) {
        throw new StoreError(
          'VIGIL_ERR_STORE_MIGRATION',
          `store: migration ${m.version} (${m.name}) failed and was rolled back: ${(err as Error).message}`,
          { cause: err },
        );
      }
      if (ran) applied.push(m.version);
    }
    return applied;
  }

  async appliedMigrations(): Promise<AppliedMigration[]> {
    return this.#run('appliedMigrations', async () =>
      (
        await this.#rows<{ version: number; name: string; applied_at: number }>(q.selectAppliedMigrations)
      ).map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at })),
    );
  }

  async appendResults(results: readonly ProbeResult[]): Promise<void> {
    return this.#run('appendResults', async () => {
      if (results.length > 0) await this.#driver.insertBatch(this.#insertResults, results.map(resultRow));
    });
  }

  async results(checkId: string, query: ResultQuery = {}): Promise<ProbeResult[]> {
    return this.#run('results', async () =>
      (await this.#rows<ResultRow>(q.selectResults(checkId, query))).map(resultFromRow),
    );
  }

  async appendTransition(t: Transition): Promise<void> {
    return this.#run('appendTransition', async () => {
      await this.#driver.query(q.insertTransition(t));
    });
  }

  async transitions(query: TransitionQuery = {}): Promise<Transition[]> {
    return this.#run('transitions', async () =>
      (await this.#rows<TransitionRow>(q.selectTransitions(query))).map(transitionFromRow),
    );
  }

  async openIncident(input: OpenIncidentInput): Promise<Incident> {
    return this.#run('openIncident', async () => {
      const { row } = await this.#insertOrFetch<IncidentRow>(
        'openIncident',
        () => q.insertIncident(newId(), input),
        q.selectOpenIncident(input.checkId, input.region),
      );
      return incidentFromRow(row);
    });
  }

  async closeIncident(id: string, closedAt: number): Promise<boolean> {
    return this.#run('closeIncident', () => this.#changed(q.closeIncident(id, closedAt)));
  }

  async incidents(query: IncidentQuery = {}): Promise<Incident[]> {
    return this.#run('incidents', async () =>
      (await this.#rows<IncidentRow>(q.selectIncidents(query))).map(incidentFromRow),
    );
  }

  async saveStates(states: readonly EvalState[]): Promise<void> {
    return this.#run('saveStates', async () => {
      if (states.length === 0) return;
      // A later duplicate in the batch wins: by order on SQLite, by keeping only the last on PostgreSQL.
      const distinct = this.#dialect.batchUpsertNeedsDistinctKeys ? latestStates(states) : states;
      // One stamp for the batch: what `loadStates({ writtenSince })` filters on.
      const writtenAt = Date.now();
      await this.#driver.insertBatch(
        this.#upsertStates,
        distinct.map((s) => stateRow(s, writtenAt)),
      );
    });
  }

  async loadStates(query: StateQuery = {}): Promise<EvalState[]> {
    return this.#run('loadStates', async () =>
      (await this.#rows<{ data: string }>(q.selectStates(query))).map((r) => decodeJson<EvalState>(r.data)),
    );
  }

  async enqueueNotification(input: NotificationInput): Promise<EnqueueOutcome> {
    return this.#run('enqueueNotification', async () => {
      const { row, inserted } = await this.#insertOrFetch<{ id: string }>(
        'enqueueNotification',
        () => q.insertNotification(newId(), input),
        q.selectNotificationId(input.notifier, input.dedupKey),
      );
      return { id: row.id, enqueued: inserted };
    });
  }

  async claimDueNotifications(options: ClaimOptions): Promise<Notification[]> {
    return this.#run('claimDueNotifications', async () =>
      (await this.#rows<NotificationRow>(q.claimNotifications(this.#dialect, options)))
        .map(notificationFromRow)
        .sort(byDueThenCreated),
    );
  }

  async markDelivered(id: string, at: number): Promise<boolean> {
    return this.#run('markDelivered', () => this.#changed(q.markDelivered(id, at)));
  }

  async markFailed(id: string, update: FailureUpdate): Promise<boolean> {
    return this.#run('markFailed', () => this.#changed(q.markFailed(id, update)));
  }

  async releaseLease(id: string): Promise<boolean> {
    return this.#run('releaseLease', () => this.#changed(q.releaseLease(id)));
  }

  async pendingNotifications(): Promise<Notification[]> {
    return this.#run('pendingNotifications', async () =>
      (await this.#rows<NotificationRow>(q.selectPendingNotifications)).map(notificationFromRow),
    );
  }

  async notifications(query: NotificationQuery = {}): Promise<Notification[]> {
    return this.#run('notifications', async () =>
      (await this.#rows<NotificationRow>(q.selectNotifications(query))).map(notificationFromRow),
    );
  }

  async claimActionRun(input: ActionRunInput): Promise<ActionClaim> {
    return this.#run('claimActionRun', async () => {
      const { row, inserted } = await this.#insertOrFetch<ActionRunRow>(
        'claimActionRun',
        () => q.insertActionRun(newId(), input),
        q.selectActionRunByKey(input.idempotencyKey),
      );
      return { run: actionRunFromRow(row), claimed: inserted };
    });
  }

  async renewActionLease(id: string, leaseUntil: number): Promise<boolean> {
    return this.#run('renewActionLease', () => this.#changed(q.renewActionLease(id, leaseUntil)));
  }

  async finishActionRun(id: string, finish: ActionRunFinish): Promise<boolean> {
    return this.#run('finishActionRun', () => this.#changed(q.finishActionRun(id, finish)));
  }

  async expireActionRuns(now: number): Promise<ActionRun[]> {
    return this.#run('expireActionRuns', async () =>
      (await this.#rows<ActionRunRow>(q.expireActionRuns(now))).map(actionRunFromRow),
    );
  }

  async actionRuns(query: ActionRunQuery = {}): Promise<ActionRun[]> {
    return this.#run('actionRuns', async () =>
      (await this.#rows<ActionRunRow>(q.selectActionRuns(query))).map(actionRunFromRow),
    );
  }

  async putSilence(input: SilenceInput): Promise<Silence> {
    return this.#run('putSilence', async () => {
      const silence = normaliseSilence(input);
      await this.#driver.query(q.upsertSilence(silence));
      return silence;
    });
  }

  async silences(query: SilenceQuery = {}): Promise<Silence[]> {
    return this.#run('silences', async () =>
      (await this.#rows<SilenceRow>(q.selectSilences(query))).map(silenceFromRow),
    );
  }

  async deleteSilence(id: string): Promise<boolean> {
    return this.#run('deleteSilence', () => this.#changed(q.deleteSilence(id)));
  }

  async putMaintenanceWindow(input: OneOffWindowInput): Promise<OneOffWindow> {
    return this.#run('putMaintenanceWindow', async () => {
      const window = normaliseOneOffWindow(input);
      await this.#driver.query(q.insertMaintenanceWindow(window));
      return window;
    });
  }

  async maintenanceWindows(query: OneOffWindowQuery = {}): Promise<OneOffWindow[]> {
    return this.#run('maintenanceWindows', async () =>
      (await this.#rows<OneOffWindowRow>(q.selectMaintenanceWindows(query))).map(oneOffWindowFromRow),
    );
  }

  async endMaintenanceWindow(
    id: string,
    at: number,
    by: string,
  ): Promise<{ window: OneOffWindow; changed: boolean } | undefined> {
    return this.#run('endMaintenanceWindow', async () => {
      const changed = await this.#changed(q.endMaintenanceWindow(id, at, by));
      const [row] = await this.#rows<OneOffWindowRow>(q.selectMaintenanceWindow(id));
      return row === undefined ? undefined : { window: oneOffWindowFromRow(row), changed };
    });
  }

  async prune(options: PruneOptions): Promise<PruneReport> {
    return this.#run('prune', async () => {
      const plan = q.pruneStatements(this.#dialect, pruneCutoffs(options));
      return plan.report(await this.#driver.transaction(plan.statements));
    });
  }

  async putBaseline(input: BaselineInput): Promise<{ baseline: StoredBaseline; inserted: boolean }> {
    return this.#run('putBaseline', async () => {
      const row = baselineRow(newId(), input);
      const { row: stored, inserted } = await this.#insertOrFetch<BaselineRow>(
        'putBaseline',
        () => q.insertBaseline(row),
        q.selectBaselineByDigest(row.checkId, row.modelVersion, row.status, row.digest),
      );
      return { baseline: baselineFromRow(stored), inserted };
    });
  }

  async baselines(query: BaselineQuery = {}): Promise<StoredBaseline[]> {
    return this.#run('baselines', async () =>
      (await this.#rows<BaselineRow>(q.selectBaselines(query))).map(baselineFromRow),
    );
  }

  async promoteBaseline(
    checkId: string,
    modelVersion: string,
    at: number,
  ): Promise<StoredBaseline | undefined> {
    return this.#run('promoteBaseline', async () => {
      const [newest] = await this.#rows<BaselineRow>(
        q.selectBaselines({ checkId, modelVersion, status: 'provisional', limit: 1 }),
      );
      if (newest === undefined) return undefined;
      const provisional = baselineFromRow(newest);
      const row = baselineRow(newId(), {
        checkId,
        modelVersion,
        status: 'reviewed',
        source: 'promoted',
        storedAt: at,
        baseline: provisional.baseline,
      });
      // The reviewed copy (unless the same one is reviewed already) and the provisional ones' removal, atomically.
      await this.#driver.transaction([
        q.insertBaseline(row),
        q.deleteProvisionalBaselines(checkId, modelVersion),
      ]);
      const [reviewed] = await this.#rows<BaselineRow>(
        q.selectBaselineByDigest(checkId, modelVersion, 'reviewed', row.digest),
      );
      return reviewed === undefined ? undefined : baselineFromRow(reviewed);
    });
  }

  async ingestResults(input: ResultIngest): Promise<string[]> {
    return this.#run('ingestResults', async () => {
      const ids: string[] = [];
      const rows: unknown[][] = [];
      const seen = new Set<string>();
      for (const result of input.results) {
        if (seen.has(result.id)) continue;
        seen.add(result.id);
        ids.push(result.id);
        rows.push(resultRow(result));
      }
      if (ids.length === 0) return [];
      const batch = { ids, region: input.region, batchId: input.batchId, receivedAt: ms(input.receivedAt) };
      const plan = this.#dialect.claimResults(batch, rows);
      // One statement is its own transaction (PostgreSQL's batch): no BEGIN/COMMIT round trips.
      const results =
        plan.statements.length === 1 && plan.statements[0] !== undefined
          ? [await this.#driver.query(plan.statements[0])]
          : await this.#driver.transaction(plan.statements);
      const claimed = plan.claimed(results);
      return ids.filter((id) => claimed.has(id));
    });
  }

  async putAgent(report: AgentRecord): Promise<void> {
    return this.#run('putAgent', async () => {
      await this.#driver.query(q.upsertAgent(report.region, ms(report.lastReportAt), report.info));
    });
  }

  async agents(): Promise<AgentRecord[]> {
    return this.#run('agents', async () =>
      (
        await this.#rows<{ region: string; last_report_at: number | string; info: string }>(q.selectAgents)
      ).map((r) => ({
        region: r.region,
        lastReportAt: Number(r.last_report_at),
        info: decodeJson<Record<string, unknown>>(r.info),
      })),
    );
  }

  async putCanaryState(record: CanaryStateRecord): Promise<void> {
    return this.#run('putCanaryState', async () => {
      await this.#driver.query(q.upsertCanaryState(record.checkId, ms(record.updatedAt), record.state));
    });
  }

  async canaryState(checkId: string): Promise<CanaryStateRecord | undefined> {
    return this.#run('canaryState', async () => {
      const [row] = await this.#rows<{ check_id: string; updated_at: number | string; state: string }>(
        q.selectCanaryState(checkId),
      );
      return row === undefined
        ? undefined
        : {
            checkId: row.check_id,
            updatedAt: Number(row.updated_at),
            state: decodeJson<Record<string, unknown>>(row.state),
          };
    });
  }

  async deleteCanaryState(checkId: string): Promise<boolean> {
    return this.#run('deleteCanaryState', () => this.#changed(q.deleteCanaryState(checkId)));
  }

  async rollups(checkId: string, query: RollupQuery = {}): Promise<Rollup[]> {
    return this.#run('rollups', async () =>
      (await this.#rows<RollupRow>(q.selectRollups(checkId, query))).map(rollupFromRow),
    );
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#driver.close();
  }
}

/**
 * The Store over a backend's driver, migrated unless `options.migrate === false`. Each backend's
 * `open…Store` opens its connection, builds its driver and ends here; a new SQL backend is a driver
 * and its migrations, not a new Store. A failed migration closes the driver before rethrowing.
 *
 * @throws StoreError `VIGIL_ERR_STORE_MIGRATION`, `VIGIL_ERR_STORE_SCHEMA_TOO_NEW`.
 * @example
 * ```ts
 * const store = await openSqlStore(driver, { migrate: true }); // driver: a backend's SqlDriver
 * ```
 */
export async function openSqlStore(driver: SqlDriver, options: OpenStoreOptions = {}): Promise<Store> {
  const store = new SqlStore(driver);
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}
