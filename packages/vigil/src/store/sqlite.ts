/**
 * The SQLite store (better-sqlite3): the hub's embedded default, one file in `./.vigil/`.
 *
 * WAL journal, so readers never block the writer; `synchronous=NORMAL` by default: in WAL mode a commit
 * has been written to the WAL file when the call returns, so it survives `kill -9` of the process (pinned
 * by the crash test in `sqlite.test.ts`); FULL also fsyncs each commit against power loss (see
 * {@link SqliteStoreOptions}). Statements are prepared once per shape; batches run in one transaction.
 * better-sqlite3 is synchronous: every method does its work before its promise settles.
 */
import Database from 'better-sqlite3';
import type { EvalState, Incident, ProbeResult, Transition } from '../types.js';
import { StoreError, wrapStoreError } from './errors.js';
import {
  byDueThenCreated,
  checkLimit,
  checkMigrationTarget,
  decodeJson,
  encodeJson,
  encodeState,
  type IncidentRow,
  incidentFromRow,
  ms,
  type NotificationRow,
  newId,
  normaliseSilence,
  notificationFromRow,
  pruneCutoffs,
  RESULT_COLUMNS,
  type ResultRow,
  type RollupRow,
  resultFromRow,
  resultRow,
  rollupFromRow,
  type SilenceRow,
  silenceFromRow,
  type TransitionRow,
  transitionFromRow,
  Where,
} from './shared.js';
import { checkSqliteFiles, sqliteOpenError } from './sqlite-open.js';
import type {
  AppliedMigration,
  ClaimOptions,
  EnqueueOutcome,
  FailureUpdate,
  IncidentQuery,
  MigrateOptions,
  Notification,
  NotificationInput,
  NotificationQuery,
  OpenIncidentInput,
  OpenStoreOptions,
  PruneOptions,
  PruneReport,
  ResultQuery,
  Rollup,
  RollupQuery,
  Silence,
  SilenceInput,
  SilenceQuery,
  Store,
  StoreBackend,
  TransitionQuery,
} from './types.js';

/** Where the hub keeps its database when no location is given (DESIGN.md: "SQLite file in ./.vigil/"). */
export const DEFAULT_SQLITE_PATH = '.vigil/vigil.db';

/** `PRAGMA wal_autocheckpoint`: WAL pages between automatic checkpoints (SQLite's default: 1000). */
const WAL_AUTOCHECKPOINT_PAGES = 4000;

interface Migration {
  version: number;
  name: string;
  sql: string;
}

/**
 * The schema, as versioned migrations. Never edit an applied one: append a new version.
 * Times are INTEGER ms since epoch; nested data is JSON text.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'results, transitions, incidents, evaluator states',
    sql: `
      CREATE TABLE results (
        id INTEGER PRIMARY KEY,
        check_id TEXT NOT NULL,
        region TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        outcome TEXT NOT NULL,
        http_status INTEGER,
        error_code TEXT,
        model_version TEXT,
        detail TEXT NOT NULL
      );
      CREATE INDEX results_check_started ON results (check_id, started_at);
      CREATE INDEX results_started ON results (started_at);

      CREATE TABLE transitions (
        id INTEGER PRIMARY KEY,
        check_id TEXT NOT NULL,
        region TEXT NOT NULL,
        from_state TEXT NOT NULL,
        to_state TEXT NOT NULL,
        at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        results TEXT NOT NULL
      );
      CREATE INDEX transitions_check_at ON transitions (check_id, at);
      CREATE INDEX transitions_at ON transitions (at);

      CREATE TABLE incidents (
        id TEXT PRIMARY KEY,
        check_id TEXT NOT NULL,
        region TEXT NOT NULL,
        opened_at INTEGER NOT NULL,
        closed_at INTEGER,
        reason TEXT NOT NULL
      );
      CREATE UNIQUE INDEX incidents_one_open ON incidents (check_id, region) WHERE closed_at IS NULL;
      CREATE INDEX incidents_opened ON incidents (opened_at);

      CREATE TABLE eval_states (
        check_id TEXT NOT NULL,
        region TEXT NOT NULL,
        state TEXT NOT NULL,
        since INTEGER NOT NULL,
        data TEXT NOT NULL,
        PRIMARY KEY (check_id, region)
      ) WITHOUT ROWID;
    `,
  },
  {
    version: 2,
    name: 'alerting outbox and silences',
    sql: `
      CREATE TABLE outbox (
        id TEXT PRIMARY KEY,
        notifier TEXT NOT NULL,
        dedup_key TEXT NOT NULL,
        payload TEXT NOT NULL,
        created_at INTEGER NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER NOT NULL,
        leased_until INTEGER,
        delivered_at INTEGER,
        last_error TEXT,
        UNIQUE (notifier, dedup_key)
      );
      CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

      CREATE TABLE silences (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_at INTEGER NOT NULL,
        ends_at INTEGER NOT NULL,
        created_by TEXT NOT NULL,
        comment TEXT NOT NULL
      );
      CREATE INDEX silences_ends ON silences (ends_at);
    `,
  },
  {
    version: 3,
    name: 'per-minute result rollups',
    sql: `
      CREATE TABLE result_rollups (
        check_id TEXT NOT NULL,
        region TEXT NOT NULL,
        minute INTEGER NOT NULL,
        count INTEGER NOT NULL,
        failures INTEGER NOT NULL,
        degraded INTEGER NOT NULL,
        sum_duration_ms REAL NOT NULL,
        max_duration_ms REAL NOT NULL,
        PRIMARY KEY (check_id, region, minute)
      ) WITHOUT ROWID;
      CREATE INDEX result_rollups_minute ON result_rollups (minute);
    `,
  },
];

const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

type Db = Database.Database;
type Stmt = Database.Statement;

const placeholder = (): string => '?';

class SqliteStore implements Store {
  readonly backend = 'sqlite';
  readonly #db: Db;
  /** Prepared statements by SQL text: each shape is prepared once, on first use (after migrations). */
  readonly #statements = new Map<string, Stmt>();
  #closed = false;

  readonly #appendResults: (results: readonly ProbeResult[]) => void;
  readonly #saveStates: (states: readonly EvalState[]) => void;
  readonly #openIncident: (input: OpenIncidentInput) => Incident;
  readonly #enqueue: (input: NotificationInput) => EnqueueOutcome;
  readonly #prune: Database.Transaction<(options: PruneOptions) => PruneReport>;

  constructor(db: Db) {
    this.#db = db;

    this.#appendResults = db.transaction((results: readonly ProbeResult[]) => {
      const insert = this.#stmt(`INSERT INTO results (${RESULT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
      for (const r of results) insert.run(resultRow(r));
    });

    this.#saveStates = db.transaction((states: readonly EvalState[]) => {
      const upsert = this.#stmt(
        `INSERT INTO eval_states (check_id, region, state, since, data) VALUES (?, ?, ?, ?, ?)
         ON CONFLICT (check_id, region) DO UPDATE
         SET state = excluded.state, since = excluded.since, data = excluded.data`,
      );
      for (const s of states) upsert.run(s.checkId, s.region, s.state, ms(s.since), encodeState(s));
    });

    this.#openIncident = db.transaction((input: OpenIncidentInput): Incident => {
      const inserted = this.#stmt(
        `INSERT INTO incidents (id, check_id, region, opened_at, closed_at, reason) VALUES (?, ?, ?, ?, NULL, ?)
         ON CONFLICT (check_id, region) WHERE closed_at IS NULL DO NOTHING
         RETURNING *`,
      ).get(newId(), input.checkId, input.region, ms(input.openedAt), input.reason) as
        | IncidentRow
        | undefined;
      const row =
        inserted ??
        (this.#stmt('SELECT * FROM incidents WHERE check_id = ? AND region = ? AND closed_at IS NULL').get(
          input.checkId,
          input.region,
        ) as IncidentRow);
      return incidentFromRow(row);
    });

    this.#enqueue = db.transaction((input: NotificationInput): EnqueueOutcome => {
      const createdAt = ms(input.createdAt);
      const inserted = this.#stmt(
        `INSERT INTO outbox (id, notifier, dedup_key, payload, created_at, next_attempt_at)
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (notifier, dedup_key) DO NOTHING
         RETURNING id`,
      ).get(newId(), input.notifier, input.dedupKey, encodeJson(input.payload), createdAt, createdAt) as
        | { id: string }
        | undefined;
      if (inserted) return { id: inserted.id, enqueued: true };
      const existing = this.#stmt('SELECT id FROM outbox WHERE notifier = ? AND dedup_key = ?').get(
        input.notifier,
        input.dedupKey,
      ) as { id: string };
      return { id: existing.id, enqueued: false };
    });

    this.#prune = db.transaction((options: PruneOptions): PruneReport => {
      const cut = pruneCutoffs(options);
      this.#stmt(
        `INSERT INTO result_rollups
           (check_id, region, minute, count, failures, degraded, sum_duration_ms, max_duration_ms)
         SELECT check_id, region, (started_at / 60000) * 60000 AS m, count(*),
                sum(outcome = 'fail'), sum(outcome = 'degraded'), sum(duration_ms), max(duration_ms)
         FROM results WHERE started_at < ? GROUP BY check_id, region, m
         ON CONFLICT (check_id, region, minute) DO UPDATE SET
           count = count + excluded.count,
           failures = failures + excluded.failures,
           degraded = degraded + excluded.degraded,
           sum_duration_ms = sum_duration_ms + excluded.sum_duration_ms,
           max_duration_ms = max(max_duration_ms, excluded.max_duration_ms)`,
      ).run(cut.raw);
      const rolledUp = this.#stmt('DELETE FROM results WHERE started_at < ?').run(cut.raw).changes;
      const rollupsDeleted = this.#stmt('DELETE FROM result_rollups WHERE minute < ?').run(
        cut.rollups,
      ).changes;
      const notificationsDeleted = this.#stmt(
        "DELETE FROM outbox WHERE status <> 'pending' AND created_at < ?",
      ).run(cut.notifications).changes;
      const silencesDeleted = this.#stmt('DELETE FROM silences WHERE ends_at < ?').run(cut.silences).changes;
      return { cutoff: cut.raw, rolledUp, rollupsDeleted, notificationsDeleted, silencesDeleted };
    });
  }

  #stmt(sql: string): Stmt {
    let stmt = this.#statements.get(sql);
    if (stmt === undefined) {
      stmt = this.#db.prepare(sql);
      this.#statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Runs `fn` unless closed, turning driver errors into StoreErrors. */
  #run<T>(operation: string, fn: () => T): T {
    if (this.#closed) throw new StoreError('VIGIL_ERR_STORE_CLOSED', `store: ${operation} after close()`);
    try {
      return fn();
    } catch (err) {
      throw wrapStoreError(operation, err);
    }
  }

  async migrate(options: MigrateOptions = {}): Promise<number[]> {
    return this.#run('migrate', () => {
      const target = checkMigrationTarget(options.to, LATEST_VERSION);
      const db = this.#db;
      db.exec(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
      );
      const newest = (
        db.prepare('SELECT max(version) AS v FROM schema_migrations').get() as { v: number | null }
      ).v;
      if (newest !== null && newest > LATEST_VERSION) {
        throw new StoreError(
          'VIGIL_ERR_STORE_SCHEMA_TOO_NEW',
          `store: the database is at schema version ${newest}, this Vigil knows up to ${LATEST_VERSION}: upgrade Vigil`,
        );
      }
      const isApplied = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').pluck();
      const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
      const applied: number[] = [];
      for (const m of MIGRATIONS) {
        if (m.version > target) break;
        // BEGIN IMMEDIATE takes the write lock first, so another process migrating at the same time
        // waits, then sees the version recorded and skips it.
        const apply = db.transaction(() => {
          if (isApplied.get(m.version) !== undefined) return false;
          db.exec(m.sql);
          record.run(m.version, m.name, Date.now());
          return true;
        });
        try {
          if (apply.immediate()) applied.push(m.version);
        } catch (err) {
          throw new StoreError(
            'VIGIL_ERR_STORE_MIGRATION',
            `store: migration ${m.version} (${m.name}) failed and was rolled back: ${(err as Error).message}`,
            { cause: err },
          );
        }
      }
      return applied;
    });
  }

  async appliedMigrations(): Promise<AppliedMigration[]> {
    return this.#run('appliedMigrations', () =>
      (
        this.#stmt(
          'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
        ).all() as Array<{
          version: number;
          name: string;
          applied_at: number;
        }>
      ).map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at })),
    );
  }

  async appendResults(results: readonly ProbeResult[]): Promise<void> {
    this.#run('appendResults', () => {
      if (results.length > 0) this.#appendResults(results);
    });
  }

  async results(checkId: string, query: ResultQuery = {}): Promise<ProbeResult[]> {
    return this.#run('results', () => {
      const limit = checkLimit(query.limit);
      const where = new Where(placeholder).add('check_id = ?', checkId);
      if (query.region !== undefined) where.add('region = ?', query.region);
      if (query.since !== undefined) where.add('started_at >= ?', ms(query.since));
      if (query.until !== undefined) where.add('started_at < ?', ms(query.until));
      const sql =
        limit === null
          ? `SELECT * FROM results ${where} ORDER BY started_at, id`
          : `SELECT * FROM (SELECT * FROM results ${where} ORDER BY started_at DESC, id DESC LIMIT ${where.param(limit)})
             ORDER BY started_at, id`;
      return (this.#stmt(sql).all(...where.params) as ResultRow[]).map(resultFromRow);
    });
  }

  async appendTransition(t: Transition): Promise<void> {
    this.#run('appendTransition', () => {
      this.#stmt(
        'INSERT INTO transitions (check_id, region, from_state, to_state, at, reason, results) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(t.checkId, t.region, t.from, t.to, ms(t.at), t.reason, encodeJson(t.results));
    });
  }

  async transitions(query: TransitionQuery = {}): Promise<Transition[]> {
    return this.#run('transitions', () => {
      const limit = checkLimit(query.limit);
      const where = new Where(placeholder);
      if (query.checkId !== undefined) where.add('check_id = ?', query.checkId);
      if (query.region !== undefined) where.add('region = ?', query.region);
      if (query.since !== undefined) where.add('at >= ?', ms(query.since));
      const sql = `SELECT * FROM transitions ${where} ORDER BY at DESC, id DESC${limit === null ? '' : ` LIMIT ${where.param(limit)}`}`;
      return (this.#stmt(sql).all(...where.params) as TransitionRow[]).map(transitionFromRow);
    });
  }

  async openIncident(input: OpenIncidentInput): Promise<Incident> {
    return this.#run('openIncident', () => this.#openIncident(input));
  }

  async closeIncident(id: string, closedAt: number): Promise<boolean> {
    return this.#run(
      'closeIncident',
      () =>
        this.#stmt('UPDATE incidents SET closed_at = ? WHERE id = ? AND closed_at IS NULL').run(
          ms(closedAt),
          id,
        ).changes > 0,
    );
  }

  async incidents(query: IncidentQuery = {}): Promise<Incident[]> {
    return this.#run('incidents', () => {
      const limit = checkLimit(query.limit);
      const where = new Where(placeholder);
      if (query.open !== undefined) where.raw(query.open ? 'closed_at IS NULL' : 'closed_at IS NOT NULL');
      if (query.checkId !== undefined) where.add('check_id = ?', query.checkId);
      if (query.id !== undefined) where.add('id = ?', query.id);
      const sql = `SELECT * FROM incidents ${where} ORDER BY opened_at DESC, id DESC${limit === null ? '' : ` LIMIT ${where.param(limit)}`}`;
      return (this.#stmt(sql).all(...where.params) as IncidentRow[]).map(incidentFromRow);
    });
  }

  async saveStates(states: readonly EvalState[]): Promise<void> {
    this.#run('saveStates', () => {
      if (states.length > 0) this.#saveStates(states);
    });
  }

  async loadStates(): Promise<EvalState[]> {
    return this.#run('loadStates', () =>
      (this.#stmt('SELECT data FROM eval_states ORDER BY check_id, region').pluck().all() as string[]).map(
        (d) => decodeJson<EvalState>(d),
      ),
    );
  }

  async enqueueNotification(input: NotificationInput): Promise<EnqueueOutcome> {
    return this.#run('enqueueNotification', () => this.#enqueue(input));
  }

  async claimDueNotifications(options: ClaimOptions): Promise<Notification[]> {
    return this.#run('claimDueNotifications', () => {
      const limit = checkLimit(options.limit) ?? 0;
      const now = ms(options.now);
      // One statement: SQLite runs it in one write transaction, so no other claimer sees these rows unleased.
      const rows = this.#stmt(
        `UPDATE outbox SET leased_until = ?
         WHERE id IN (
           SELECT id FROM outbox
           WHERE status = 'pending' AND next_attempt_at <= ? AND (leased_until IS NULL OR leased_until <= ?)
           ORDER BY next_attempt_at, created_at, id LIMIT ?)
         RETURNING *`,
      ).all(now + ms(options.leaseMs), now, now, limit) as NotificationRow[];
      return rows.map(notificationFromRow).sort(byDueThenCreated);
    });
  }

  async markDelivered(id: string, at: number): Promise<boolean> {
    return this.#run(
      'markDelivered',
      () =>
        this.#stmt(
          "UPDATE outbox SET status = 'delivered', delivered_at = ?, leased_until = NULL WHERE id = ? AND status = 'pending'",
        ).run(ms(at), id).changes > 0,
    );
  }

  async releaseLease(id: string): Promise<boolean> {
    return this.#run(
      'releaseLease',
      () =>
        this.#stmt("UPDATE outbox SET leased_until = NULL WHERE id = ? AND status = 'pending'").run(id)
          .changes > 0,
    );
  }

  async markFailed(id: string, update: FailureUpdate): Promise<boolean> {
    return this.#run('markFailed', () => {
      const next = update.nextAttemptAt === null ? null : ms(update.nextAttemptAt);
      return (
        this.#stmt(
          `UPDATE outbox SET attempts = attempts + 1, last_error = ?, leased_until = NULL,
             next_attempt_at = coalesce(?, next_attempt_at),
             status = CASE WHEN ? IS NULL THEN 'failed' ELSE 'pending' END
           WHERE id = ? AND status = 'pending'`,
        ).run(update.error, next, next, id).changes > 0
      );
    });
  }

  async pendingNotifications(): Promise<Notification[]> {
    return this.#run('pendingNotifications', () =>
      (
        this.#stmt(
          "SELECT * FROM outbox WHERE status = 'pending' ORDER BY created_at, id",
        ).all() as NotificationRow[]
      ).map(notificationFromRow),
    );
  }

  async notifications(query: NotificationQuery = {}): Promise<Notification[]> {
    return this.#run('notifications', () => {
      const limit = checkLimit(query.limit);
      const where = new Where(placeholder);
      if (query.since !== undefined) where.add('created_at >= ?', ms(query.since));
      if (query.until !== undefined) where.add('created_at < ?', ms(query.until));
      const sql = `SELECT * FROM outbox ${where} ORDER BY created_at, id${limit === null ? '' : ` LIMIT ${where.param(limit)}`}`;
      return (this.#stmt(sql).all(...where.params) as NotificationRow[]).map(notificationFromRow);
    });
  }

  async putSilence(input: SilenceInput): Promise<Silence> {
    return this.#run('putSilence', () => {
      const s = normaliseSilence(input);
      this.#stmt(
        `INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment) VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT (id) DO UPDATE SET matchers = excluded.matchers, starts_at = excluded.starts_at,
           ends_at = excluded.ends_at, created_by = excluded.created_by, comment = excluded.comment`,
      ).run(s.id, encodeJson(s.matchers), s.startsAt, s.endsAt, s.createdBy, s.comment);
      return s;
    });
  }

  async silences(query: SilenceQuery = {}): Promise<Silence[]> {
    return this.#run('silences', () => {
      const where = new Where(placeholder);
      if (query.activeAt !== undefined) {
        where.add('starts_at <= ?', ms(query.activeAt)).add('ends_at > ?', ms(query.activeAt));
      }
      return (
        this.#stmt(`SELECT * FROM silences ${where} ORDER BY starts_at, id`).all(
          ...where.params,
        ) as SilenceRow[]
      ).map(silenceFromRow);
    });
  }

  async deleteSilence(id: string): Promise<boolean> {
    return this.#run(
      'deleteSilence',
      () => this.#stmt('DELETE FROM silences WHERE id = ?').run(id).changes > 0,
    );
  }

  async prune(options: PruneOptions): Promise<PruneReport> {
    return this.#run('prune', () => this.#prune.immediate(options));
  }

  async rollups(checkId: string, query: RollupQuery = {}): Promise<Rollup[]> {
    return this.#run('rollups', () => {
      const where = new Where(placeholder).add('check_id = ?', checkId);
      if (query.region !== undefined) where.add('region = ?', query.region);
      if (query.since !== undefined) where.add('minute >= ?', ms(query.since));
      if (query.until !== undefined) where.add('minute < ?', ms(query.until));
      return (
        this.#stmt(`SELECT * FROM result_rollups ${where} ORDER BY minute, region`).all(
          ...where.params,
        ) as RollupRow[]
      ).map(rollupFromRow);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#statements.clear();
    this.#db.close();
  }
}

/**
 * Opens (creating the file and its folder when missing) a SQLite store and, unless
 * `options.migrate === false`, migrates it.
 *
 * @param path A file path, or `:memory:` for a private in-memory database. Default {@link DEFAULT_SQLITE_PATH}.
 * @throws StoreError `VIGIL_ERR_STORE_OPEN` (the path is a folder; cannot create the folder; the file
 *   or folder is not writable; another program's database), `VIGIL_ERR_STORE_CORRUPT` (not a SQLite
 *   file, truncated, damaged, or a write-ahead log beside a missing or empty file: see
 *   `checkSqliteFiles`), `VIGIL_ERR_STORE_MIGRATION`, `VIGIL_ERR_STORE_SCHEMA_TOO_NEW`. Each message
 *   says how to recover.
 * @example
 * ```ts
 * const store = await openSqliteStore('.vigil/vigil.db', { sqlite: { synchronous: 'FULL' } });
 * ```
 */
export async function openSqliteStore(
  path: string = DEFAULT_SQLITE_PATH,
  options: OpenStoreOptions = {},
): Promise<Store> {
  const synchronous = options.sqlite?.synchronous ?? 'NORMAL';
  const busyTimeoutMs = options.sqlite?.busyTimeoutMs ?? 5000;
  if (path !== ':memory:' && path !== '') checkSqliteFiles(path);
  let db: Db;
  try {
    db = new Database(path, { timeout: busyTimeoutMs });
  } catch (err) {
    throw sqliteOpenError(path, err);
  }
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${synchronous === 'FULL' ? 'FULL' : 'NORMAL'}`);
    // Checkpoint every 4000 WAL pages (~16 MB) instead of SQLite's 1000: a hub appends ~1000 results a
    // second, and fewer, larger checkpoints cost about 20% less CPU per result. Durability is unchanged
    // (`synchronous` decides it); the WAL file on disk grows to about that size before it is reused.
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    refuseForeignDatabase(db, path);
  } catch (err) {
    db.close();
    throw sqliteOpenError(path, err);
  }
  const store = new SqliteStore(db);
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (err) {
      await store.close();
      throw sqliteOpenError(path, err);
    }
  }
  return store;
}

/**
 * Refuses a SQLite database that has tables but no `schema_migrations`: another program's file, or a
 * Vigil database that lost its migration record. Migrating it would fail on the first existing table
 * or, worse, mix Vigil's tables into someone else's data.
 */
function refuseForeignDatabase(db: Db, path: string): void {
  const tables = db
    .prepare(
      "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
    )
    .pluck()
    .all() as string[];
  if (tables.length === 0 || tables.includes('schema_migrations')) return;
  const shown = tables.slice(0, 5).join(', ') + (tables.length > 5 ? `, … (${tables.length})` : '');
  throw new StoreError(
    'VIGIL_ERR_STORE_OPEN',
    `store: SQLite database ${path} has tables (${shown}) but no schema_migrations, so Vigil did not create it: pass the path of Vigil's database or of a new file`,
  );
}

/** The SQLite backend: any location that no other backend claims is a file path (or `:memory:`). */
export const sqliteBackend: StoreBackend = {
  name: 'sqlite',
  handles: () => true,
  open: openSqliteStore,
};
