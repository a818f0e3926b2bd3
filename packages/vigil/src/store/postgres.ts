/**
 * The PostgreSQL store (node-postgres Pool): for hubs at scale and for two hub replicas sharing state.
 * The statements are the shared ones (`queries.ts`, run by `sql-store.ts`); this file holds
 * PostgreSQL's schema and the driver that executes them.
 *
 * No per-row round trips: a batch of results or states is one `INSERT … SELECT FROM unnest(…)` (one
 * parameter per column, so the statement text is fixed and prepared once per connection). Replicas are
 * kept apart by the database: a partial unique index for open incidents, `FOR UPDATE SKIP LOCKED` for
 * outbox claims, an advisory lock for migrations, and a `DELETE … RETURNING` that feeds the rollups so
 * two prunes never count a result twice.
 */
import pg from 'pg';
import { StoreError } from './errors.js';
import { createPostgresClusterLeases } from './postgres-cluster.js';
import { type ListenOptions, listenTransitions, NOTIFY_TRANSITIONS_SQL } from './postgres-listen.js';
import {
  type BatchStatement,
  isMigrationApplied,
  POSTGRES,
  type QueryResult,
  recordMigration,
  type Sql,
  selectMigrationVersions,
} from './queries.js';
import { type Migration, type MigrationSession, openSqlStore, type SqlDriver } from './sql-store.js';
import {
  CLUSTER_SHARDS,
  type ClusterLeases,
  type OpenStoreOptions,
  type Store,
  type StoreBackend,
  type TransitionWatch,
} from './types.js';

/**
 * The schema, as versioned migrations; the same tables and columns as SQLite's. Never edit an applied one.
 * Times are bigint ms since epoch. Nested data is `json` (kept as written, cheaper to insert than jsonb;
 * nothing queries inside it). Keys are `COLLATE "C"`: byte order, as SQLite sorts, and cheaper to compare.
 */
const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'results, transitions, incidents, evaluator states',
    sql: `
      CREATE TABLE results (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        check_id text COLLATE "C" NOT NULL,
        region text COLLATE "C" NOT NULL,
        started_at bigint NOT NULL,
        duration_ms double precision NOT NULL,
        outcome text NOT NULL,
        http_status integer,
        error_code text,
        model_version text,
        detail json NOT NULL
      );
      CREATE INDEX results_check_started ON results (check_id, started_at);
      CREATE INDEX results_started ON results (started_at);

      CREATE TABLE transitions (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        check_id text COLLATE "C" NOT NULL,
        region text COLLATE "C" NOT NULL,
        from_state text NOT NULL,
        to_state text NOT NULL,
        at bigint NOT NULL,
        reason text NOT NULL,
        results json NOT NULL
      );
      CREATE INDEX transitions_check_at ON transitions (check_id, at);
      CREATE INDEX transitions_at ON transitions (at);

      CREATE TABLE incidents (
        id text COLLATE "C" PRIMARY KEY,
        check_id text COLLATE "C" NOT NULL,
        region text COLLATE "C" NOT NULL,
        opened_at bigint NOT NULL,
        closed_at bigint,
        reason text NOT NULL
      );
      CREATE UNIQUE INDEX incidents_one_open ON incidents (check_id, region) WHERE closed_at IS NULL;
      CREATE INDEX incidents_opened ON incidents (opened_at);

      CREATE TABLE eval_states (
        check_id text COLLATE "C" NOT NULL,
        region text COLLATE "C" NOT NULL,
        state text NOT NULL,
        since bigint NOT NULL,
        data json NOT NULL,
        PRIMARY KEY (check_id, region)
      );
    `,
  },
  {
    version: 2,
    name: 'alerting outbox and silences',
    sql: `
      CREATE TABLE outbox (
        id text COLLATE "C" PRIMARY KEY,
        notifier text COLLATE "C" NOT NULL,
        dedup_key text COLLATE "C" NOT NULL,
        payload json NOT NULL,
        created_at bigint NOT NULL,
        status text NOT NULL DEFAULT 'pending',
        attempts integer NOT NULL DEFAULT 0,
        next_attempt_at bigint NOT NULL,
        leased_until bigint,
        delivered_at bigint,
        last_error text,
        UNIQUE (notifier, dedup_key)
      );
      CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';

      CREATE TABLE silences (
        id text COLLATE "C" PRIMARY KEY,
        matchers json NOT NULL,
        starts_at bigint NOT NULL,
        ends_at bigint NOT NULL,
        created_by text NOT NULL,
        comment text NOT NULL
      );
      CREATE INDEX silences_ends ON silences (ends_at);
    `,
  },
  {
    version: 3,
    name: 'per-minute result rollups',
    sql: `
      CREATE TABLE result_rollups (
        check_id text COLLATE "C" NOT NULL,
        region text COLLATE "C" NOT NULL,
        minute bigint NOT NULL,
        count integer NOT NULL,
        failures integer NOT NULL,
        degraded integer NOT NULL,
        sum_duration_ms double precision NOT NULL,
        max_duration_ms double precision NOT NULL,
        PRIMARY KEY (check_id, region, minute)
      );
      CREATE INDEX result_rollups_minute ON result_rollups (minute);
    `,
  },
  {
    version: 4,
    name: 'recovery action runs',
    sql: `
      CREATE TABLE action_runs (
        id text PRIMARY KEY,
        idempotency_key text NOT NULL UNIQUE,
        scope text COLLATE "C" NOT NULL,
        action text COLLATE "C" NOT NULL,
        kind text NOT NULL,
        event text NOT NULL,
        step integer NOT NULL,
        check_id text COLLATE "C" NOT NULL,
        region text COLLATE "C" NOT NULL,
        incident_id text,
        transition_at bigint NOT NULL,
        reason text NOT NULL,
        status text NOT NULL,
        skip_reason text,
        claimed_at bigint NOT NULL,
        finished_at bigint,
        lease_until bigint,
        owner text NOT NULL,
        what text NOT NULL,
        output text
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
        id text COLLATE "C" PRIMARY KEY,
        check_id text COLLATE "C" NOT NULL,
        model_version text COLLATE "C" NOT NULL,
        status text COLLATE "C" NOT NULL,
        source text NOT NULL,
        recorded_at bigint NOT NULL,
        stored_at bigint NOT NULL,
        digest text COLLATE "C" NOT NULL,
        body text NOT NULL,
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
        id text COLLATE "C" PRIMARY KEY,
        matchers json NOT NULL,
        starts_at bigint NOT NULL,
        ends_at bigint,
        created_by text NOT NULL,
        comment text NOT NULL,
        ended_at bigint,
        ended_by text
      );
      CREATE INDEX maintenance_windows_ends ON maintenance_windows (ends_at);
    `,
  },
  {
    version: 7,
    name: 'agents and ingested result ids',
    sql: `
      CREATE TABLE agents (
        region text COLLATE "C" PRIMARY KEY,
        last_report_at bigint NOT NULL,
        info json NOT NULL
      );
      CREATE TABLE ingested_results (
        id text COLLATE "C" PRIMARY KEY,
        region text COLLATE "C" NOT NULL,
        batch_id text COLLATE "C" NOT NULL,
        received_at bigint NOT NULL
      );
      CREATE INDEX ingested_results_received ON ingested_results (received_at);
      `,
  },
  {
    // Migration 6 is reserved (maintenance windows). Times here are
    // timestamptz: leases are compared with the database's now(), never with a hub's clock.
    version: 8,
    name: 'cluster: hubs and shard leases',
    sql: `
      CREATE TABLE cluster_hubs (
        id text COLLATE "C" PRIMARY KEY,
        url text NOT NULL,
        started_at timestamptz NOT NULL,
        heartbeat_at timestamptz NOT NULL
      );
      CREATE TABLE cluster_shards (
        shard integer PRIMARY KEY,
        owner text COLLATE "C",
        lease_until timestamptz,
        epoch bigint NOT NULL DEFAULT 0
      );
      INSERT INTO cluster_shards (shard) SELECT generate_series(0, ${CLUSTER_SHARDS - 1});
    `,
  },
  {
    version: 9,
    name: 'canary drift state',
    sql: `
      CREATE TABLE canary_states (
        check_id text COLLATE "C" PRIMARY KEY,
        updated_at bigint NOT NULL,
        state json NOT NULL
      );
    `,
  },
  {
    // Other hubs of a cluster hear of a transition at its commit, not at their next poll
    // (store/postgres-listen.ts). Transitions are rare writes: one notification each.
    version: 10,
    name: 'notify stored transitions',
    sql: NOTIFY_TRANSITIONS_SQL,
  },
  {
    // A cluster hub's mirror reads only the states written since its last read (hub/mirror.ts). Rows
    // stored before count as written at 0: a full read (a hub's start) still reads them. Adding a
    // column with a constant default rewrites no row (PostgreSQL ≥ 11).
    version: 11,
    name: 'when each evaluator state was written',
    sql: `
      ALTER TABLE eval_states ADD COLUMN written_at bigint NOT NULL DEFAULT 0;
      CREATE INDEX eval_states_written ON eval_states (written_at);
    `,
  },
];

/** First key of Vigil's advisory locks ("VIG1"); the second is a hash of the schema name. */
const ADVISORY_LOCK_CLASS = 0x56494731;

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** 32-bit FNV-1a, as a signed int4 for pg_advisory_lock(int, int). */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/**
 * int8 (bigint: times, counts) as a JS number (ms timestamps are far below 2^53); json/jsonb as their text,
 * so the store's own codec (which revives NaN and bigints) parses them.
 */
const parseAsText = (value: string): string => value;
const TYPES = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === pg.types.builtins.INT8) return Number;
    if (oid === pg.types.builtins.JSON || oid === pg.types.builtins.JSONB) return parseAsText;
    return pg.types.getTypeParser(oid, format);
  },
} as pg.CustomTypesConfig;

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * Executes the shared statements over a pg Pool. A transaction runs on one connection; a connection
 * that failed mid-transaction is discarded rather than returned to the pool.
 */
class PostgresDriver implements SqlDriver {
  readonly backend = 'postgres';
  readonly dialect = POSTGRES;
  readonly migrations = MIGRATIONS;
  readonly #pool: pg.Pool;
  readonly cluster: ClusterLeases;
  readonly #listen: ListenOptions;
  readonly #listeners = new Set<{ stop(): Promise<void> }>();
  /** Schema to create in `migrate`, if one was asked for. */
  readonly #schema: string | undefined;
  /** Second key of the advisory locks: per schema, so stores in different schemas never wait for each other. */
  readonly #lockKey: number;

  constructor(
    pool: pg.Pool,
    schema: string | undefined,
    lockKey: number,
    cluster: ClusterLeases,
    listen: ListenOptions,
  ) {
    this.#pool = pool;
    this.cluster = cluster;
    this.#listen = listen;
    this.#schema = schema;
    this.#lockKey = lockKey;
  }

  async query<R>(statement: Sql, on: Queryable = this.#pool): Promise<QueryResult<R>> {
    const result = await on.query({ text: POSTGRES.text(statement), values: statement.values });
    return { rows: result.rows as R[], rowCount: result.rowCount ?? 0 };
  }

  async transaction(statements: readonly Sql[]): Promise<QueryResult[]> {
    return this.#tx(async (client) => {
      const results: QueryResult[] = [];
      for (const s of statements) results.push(await this.query(s, client));
      return results;
    });
  }

  /** One statement, so one transaction: the whole batch or nothing. */
  async insertBatch(batch: BatchStatement, rows: readonly (readonly unknown[])[]): Promise<void> {
    const columns = Array.from({ length: batch.width }, (): unknown[] => []);
    for (const row of rows) {
      for (let i = 0; i < batch.width; i++) (columns[i] as unknown[]).push(row[i]);
    }
    await this.#pool.query({ name: batch.name, text: batch.text, values: columns });
  }

  async #tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      await client.query('ROLLBACK').then(
        () => client.release(),
        () => client.release(true),
      );
      throw err;
    }
  }

  async migrationSession<T>(fn: (session: MigrationSession) => Promise<T>): Promise<T> {
    const client = await this.#pool.connect();
    try {
      // A session lock across all migrations: a second migrator (another replica) waits here, then finds
      // every version recorded. If this connection dies, PostgreSQL releases the lock with it.
      await client.query('SELECT pg_advisory_lock($1, $2)', [ADVISORY_LOCK_CLASS, this.#lockKey]);
      const result = await fn(this.#migrationSession(client));
      await client.query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY_LOCK_CLASS, this.#lockKey]);
      client.release();
      return result;
    } catch (err) {
      // Destroying the connection ends its session: the lock and any open transaction go with it.
      client.release(true);
      throw err;
    }
  }

  #migrationSession(client: pg.PoolClient): MigrationSession {
    return {
      appliedVersions: async () => {
        if (this.#schema !== undefined) {
          // Only when missing: CREATE SCHEMA needs the CREATE privilege on the database even with IF NOT
          // EXISTS, which a DBA-provisioned schema's owner may not have.
          const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.#schema]);
          if (exists.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.#schema}"`);
        }
        await client.query(
          'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
        );
        return (await this.query<{ version: number }>(selectMigrationVersions, client)).rows.map(
          (r) => r.version,
        );
      },
      // The advisory lock already keeps other migrators out; the check inside is the runner's contract.
      applyOnce: async (m) => {
        await client.query('BEGIN');
        if ((await this.query(isMigrationApplied(m.version), client)).rowCount > 0) {
          await client.query('ROLLBACK');
          return false;
        }
        await client.query(m.sql);
        await this.query(recordMigration(m.version, m.name, Date.now()), client);
        await client.query('COMMIT');
        return true;
      },
    };
  }

  watchTransitions(watch: TransitionWatch): { stop(): Promise<void> } {
    const listener = listenTransitions(this.#listen, watch);
    const handle = {
      stop: () => {
        this.#listeners.delete(handle);
        return listener.stop();
      },
    };
    this.#listeners.add(handle);
    return handle;
  }

  async close(): Promise<void> {
    await Promise.all([...this.#listeners].map((l) => l.stop()));
    await this.cluster.close();
    await this.#pool.end();
  }
}

/**
 * Connects to PostgreSQL (checking the connection) and, unless `options.migrate === false`, migrates.
 *
 * @param url `postgres://user:password@host:port/database` (node-postgres connection string).
 * @throws StoreError `VIGIL_ERR_STORE_INVALID_ARGUMENT` (bad schema name, a URL that does not parse), `VIGIL_ERR_STORE_OPEN`
 *   (unreachable, refused, bad credentials), `VIGIL_ERR_STORE_MIGRATION`, `VIGIL_ERR_STORE_SCHEMA_TOO_NEW`.
 * @example
 * ```ts
 * const store = await openPostgresStore('postgres://vigil@db:5432/vigil', { postgres: { schema: 'vigil' } });
 * ```
 */
export async function openPostgresStore(url: string, options: OpenStoreOptions = {}): Promise<Store> {
  const schema = options.postgres?.schema;
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) {
    throw new StoreError(
      'VIGIL_ERR_STORE_INVALID_ARGUMENT',
      `store: PostgreSQL schema must be letters, digits and _ (not starting with a digit), got "${schema}"`,
    );
  }
  const pool = new pg.Pool({
    connectionString: url,
    max: options.postgres?.poolMax ?? 10,
    connectionTimeoutMillis: options.postgres?.connectionTimeoutMs ?? 5000,
    application_name: 'vigil',
    types: TYPES,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` }),
  });
  // An idle connection that dies (server restart) is dropped by the pool; the next query opens a new one.
  // Without a listener, its 'error' event would crash the process.
  pool.on('error', () => {});
  let lockSchema: string;
  try {
    const { rows } = await pool.query<{ schema: string | null }>('SELECT current_schema() AS schema');
    lockSchema = schema ?? rows[0]?.schema ?? 'public';
  } catch (err) {
    await pool.end().catch(() => {});
    if (!URL.canParse(url)) {
      // node-postgres says only "Invalid URL": the location itself is wrong, a usage error.
      throw new StoreError(
        'VIGIL_ERR_STORE_INVALID_ARGUMENT',
        'store: the PostgreSQL location is not a valid URL: expected postgres://user:password@host:5432/database (percent-encode special characters in the password)',
        { cause: err },
      );
    }
    throw new StoreError(
      'VIGIL_ERR_STORE_OPEN',
      `store: cannot connect to PostgreSQL at ${redact(url)} (${(err as Error).message}): ` +
        "check that the server is running and reachable, and the URL's host, port, user, password and database",
      { cause: err },
    );
  }
  const cluster = createPostgresClusterLeases({
    connectionString: url,
    ...(schema === undefined ? {} : { schema }),
    queryTimeoutMs: options.postgres?.clusterQueryTimeoutMs ?? 3000,
  });
  const listen: ListenOptions = {
    connectionString: url,
    schema: lockSchema,
    ...(schema === undefined ? {} : { searchPath: schema }),
    connectionTimeoutMs: options.postgres?.connectionTimeoutMs ?? 5000,
  };
  const driver = new PostgresDriver(pool, schema, hash32(lockSchema), cluster, listen);
  return openSqlStore(driver, options);
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the given URL';
  }
}

/** The PostgreSQL backend: `postgres://` and `postgresql://` URLs. */
export const postgresBackend: StoreBackend = {
  name: 'postgres',
  handles: (location) => /^postgres(?:ql)?:\/\//i.test(location),
  open: openPostgresStore,
};
