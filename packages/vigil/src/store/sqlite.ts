/**
 * The SQLite store (better-sqlite3): the hub's embedded default, one file in `./.vigil/`.
 *
 * WAL journal, so readers never block the writer; `synchronous=NORMAL` by default: in WAL mode a commit
 * has been written to the WAL file when the call returns, so it survives `kill -9` of the process (pinned
 * by the crash test in `sqlite.test.ts`); FULL also fsyncs each commit against power loss (see
 * {@link SqliteStoreOptions}). The statements are the shared ones (`queries.ts`, run by `sql-store.ts`);
 * this file holds SQLite's schema and the driver that executes them: prepared once per text, batches
 * and prunes in one transaction. better-sqlite3 is synchronous: every method does its work before its
 * promise settles.
 */
import Database from 'better-sqlite3';
import { StoreError } from './errors.js';
import {
  type BatchStatement,
  isMigrationApplied,
  type QueryResult,
  recordMigration,
  SQLITE,
  type Sql,
  selectMigrationVersions,
} from './queries.js';
import { type Migration, type MigrationSession, openSqlStore, type SqlDriver } from './sql-store.js';
import { checkSqliteFiles, sqliteOpenError } from './sqlite-open.js';
import type { OpenStoreOptions, Store, StoreBackend } from './types.js';

/** Where the hub keeps its database when no location is given (DESIGN.md: "SQLite file in ./.vigil/"). */
export const DEFAULT_SQLITE_PATH = '.vigil/vigil.db';

/** `PRAGMA wal_autocheckpoint`: WAL pages between automatic checkpoints (SQLite's default: 1000). */
const WAL_AUTOCHECKPOINT_PAGES = 4000;

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
  {
    version: 4,
    name: 'recovery action runs',
    sql: `
      CREATE TABLE action_runs (
        id TEXT PRIMARY KEY,
        idempotency_key TEXT NOT NULL UNIQUE,
        scope TEXT NOT NULL,
        action TEXT NOT NULL,
        kind TEXT NOT NULL,
        event TEXT NOT NULL,
        step INTEGER NOT NULL,
        check_id TEXT NOT NULL,
        region TEXT NOT NULL,
        incident_id TEXT,
        transition_at INTEGER NOT NULL,
        reason TEXT NOT NULL,
        status TEXT NOT NULL,
        skip_reason TEXT,
        claimed_at INTEGER NOT NULL,
        finished_at INTEGER,
        lease_until INTEGER,
        owner TEXT NOT NULL,
        what TEXT NOT NULL,
        output TEXT
      );
      CREATE INDEX action_runs_scope ON action_runs (scope, action, claimed_at);
      CREATE INDEX action_runs_incident ON action_runs (incident_id);
      CREATE INDEX action_runs_claimed ON action_runs (claimed_at);
      CREATE INDEX action_runs_running ON action_runs (lease_until) WHERE status = 'running';
    `,
  },
  {
    version: 5,
    name: 'canary baselines',
    sql: `
      CREATE TABLE baselines (
        id TEXT PRIMARY KEY,
        check_id TEXT NOT NULL,
        model_version TEXT NOT NULL,
        status TEXT NOT NULL,
        source TEXT NOT NULL,
        recorded_at INTEGER NOT NULL,
        stored_at INTEGER NOT NULL,
        digest TEXT NOT NULL,
        body TEXT NOT NULL,
        UNIQUE (check_id, model_version, status, digest)
      );
      CREATE INDEX baselines_check_stored ON baselines (check_id, stored_at);
    `,
  },
  {
    version: 6,
    name: 'one-off maintenance windows',
    sql: `
      CREATE TABLE maintenance_windows (
        id TEXT PRIMARY KEY,
        matchers TEXT NOT NULL,
        starts_at INTEGER NOT NULL,
        ends_at INTEGER,
        created_by TEXT NOT NULL,
        comment TEXT NOT NULL,
        ended_at INTEGER,
        ended_by TEXT
      );
      CREATE INDEX maintenance_windows_ends ON maintenance_windows (ends_at);
    `,
  },
  {
    version: 7,
    name: 'agents and ingested result ids',
    sql: `
      CREATE TABLE agents (
        region TEXT PRIMARY KEY,
        last_report_at INTEGER NOT NULL,
        info TEXT NOT NULL
      );
      CREATE TABLE ingested_results (
        id TEXT PRIMARY KEY,
        region TEXT NOT NULL,
        batch_id TEXT NOT NULL,
        received_at INTEGER NOT NULL
      );
      CREATE INDEX ingested_results_received ON ingested_results (received_at);
      `,
  },
  {
    // The same tables as PostgreSQL's migration 8, so both backends stay at one schema version. SQLite
    // is one hub's file: nothing uses them (`vigil run --cluster` refuses a SQLite store).
    version: 8,
    name: 'cluster: hubs and shard leases',
    sql: `
      CREATE TABLE cluster_hubs (
        id TEXT PRIMARY KEY,
        url TEXT NOT NULL,
        started_at INTEGER NOT NULL,
        heartbeat_at INTEGER NOT NULL
      );
      CREATE TABLE cluster_shards (
        shard INTEGER PRIMARY KEY,
        owner TEXT,
        lease_until INTEGER,
        epoch INTEGER NOT NULL DEFAULT 0
      );
    `,
  },
  {
    version: 9,
    name: 'canary drift state',
    sql: `
      CREATE TABLE canary_states (
        check_id TEXT PRIMARY KEY,
        updated_at INTEGER NOT NULL,
        state TEXT NOT NULL
      );
    `,
  },
  {
    // (PostgreSQL's migration 10, the transitions' notification, has no SQLite counterpart.) A cluster hub's mirror reads only the states written since its last read (hub/mirror.ts). Rows
    // stored before count as written at 0: a full read (a hub's start) still reads them.
    version: 11,
    name: 'when each evaluator state was written',
    sql: `
      ALTER TABLE eval_states ADD COLUMN written_at INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX eval_states_written ON eval_states (written_at);
    `,
  },
];

type Db = Database.Database;
type Stmt = Database.Statement;
type Row = readonly unknown[];

/**
 * Executes the shared statements on one better-sqlite3 connection. Statements are prepared once per
 * text, on first use; transactions are better-sqlite3's own (synchronous, so nothing interleaves).
 */
class SqliteDriver implements SqlDriver {
  readonly backend = 'sqlite';
  readonly dialect = SQLITE;
  readonly migrations = MIGRATIONS;
  readonly #db: Db;
  /** Prepared statements by SQL text: each shape is prepared once, on first use (after migrations). */
  readonly #statements = new Map<string, Stmt>();
  readonly #insertEach: (insert: Stmt, rows: readonly Row[]) => void;
  readonly #transaction: Database.Transaction<(statements: readonly Sql[]) => QueryResult[]>;

  constructor(db: Db) {
    this.#db = db;
    this.#insertEach = db.transaction((insert: Stmt, rows: readonly Row[]) => {
      // Spread, not an array: better-sqlite3 binds an array through a V8 API call per element, which
      // costs about 0.3 µs more per 9-column row (measured with a bare better-sqlite3 script).
      for (const row of rows) insert.run(...row);
    });
    this.#transaction = db.transaction((statements: readonly Sql[]) => statements.map((s) => this.#exec(s)));
  }

  #stmt(text: string): Stmt {
    let stmt = this.#statements.get(text);
    if (stmt === undefined) {
      stmt = this.#db.prepare(text);
      this.#statements.set(text, stmt);
    }
    return stmt;
  }

  #exec<R>(statement: Sql): QueryResult<R> {
    const stmt = this.#stmt(SQLITE.text(statement));
    if (stmt.reader) {
      const rows = stmt.all(statement.values) as R[];
      return { rows, rowCount: rows.length };
    }
    return { rows: [], rowCount: stmt.run(statement.values).changes };
  }

  async query<R>(statement: Sql): Promise<QueryResult<R>> {
    return this.#exec<R>(statement);
  }

  /** BEGIN IMMEDIATE: takes the write lock first, so a second process waits instead of failing to upgrade. */
  async transaction(statements: readonly Sql[]): Promise<QueryResult[]> {
    return this.#transaction.immediate(statements);
  }

  async insertBatch(batch: BatchStatement, rows: readonly Row[]): Promise<void> {
    this.#insertEach(this.#stmt(batch.text), rows);
  }

  async migrationSession<T>(fn: (session: MigrationSession) => Promise<T>): Promise<T> {
    const db = this.#db;
    return fn({
      appliedVersions: async () => {
        db.exec(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
        );
        return this.#exec<{ version: number }>(selectMigrationVersions).rows.map((r) => r.version);
      },
      // Each migration in its own BEGIN IMMEDIATE, completed before the next await: another process
      // migrating at the same time waits for the write lock, then sees the version recorded and skips it.
      applyOnce: async (m) =>
        db
          .transaction(() => {
            if (this.#exec(isMigrationApplied(m.version)).rows.length > 0) return false;
            db.exec(m.sql);
            this.#exec(recordMigration(m.version, m.name, Date.now()));
            return true;
          })
          .immediate(),
    });
  }

  async close(): Promise<void> {
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
  try {
    return await openSqlStore(new SqliteDriver(db), options);
  } catch (err) {
    throw sqliteOpenError(path, err);
  }
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
