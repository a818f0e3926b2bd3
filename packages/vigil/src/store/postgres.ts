/**
 * The PostgreSQL store (node-postgres Pool): for hubs at scale and for two hub replicas sharing state.
 *
 * No per-row round trips: a batch of results or states is one `INSERT … SELECT FROM unnest(…)` (one
 * parameter per column, so the statement text is fixed and prepared once per connection). Replicas are
 * kept apart by the database: a partial unique index for open incidents, `FOR UPDATE SKIP LOCKED` for
 * outbox claims, an advisory lock for migrations, and a `DELETE … RETURNING` that feeds the rollups so
 * two prunes never count a result twice.
 */
import pg from 'pg';
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
  latestStates,
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

interface Migration {
  version: number;
  name: string;
  sql: string;
}

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
];

const LATEST_VERSION = MIGRATIONS.reduce((max, m) => Math.max(max, m.version), 0);

/** First key of Vigil's advisory locks ("VIG1"); the second is a hash of the schema name. */
const ADVISORY_LOCK_CLASS = 0x56494731;

const SCHEMA_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const placeholder = (n: number): string => `$${n}`;

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

class PostgresStore implements Store {
  readonly backend = 'postgres';
  readonly #pool: pg.Pool;
  /** Schema to create in `migrate`, if one was asked for. */
  readonly #schema: string | undefined;
  /** Second key of the advisory locks: per schema, so stores in different schemas never wait for each other. */
  readonly #lockKey: number;
  #closed = false;

  constructor(pool: pg.Pool, schema: string | undefined, lockKey: number) {
    this.#pool = pool;
    this.#schema = schema;
    this.#lockKey = lockKey;
  }

  async #run<T>(operation: string, fn: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new StoreError('VIGIL_ERR_STORE_CLOSED', `store: ${operation} after close()`);
    try {
      return await fn();
    } catch (err) {
      throw wrapStoreError(operation, err);
    }
  }

  async #rows<R>(text: string, values: unknown[] = [], name?: string): Promise<R[]> {
    const result = await this.#pool.query(name === undefined ? { text, values } : { name, text, values });
    return result.rows as R[];
  }

  /** Runs `fn` in a transaction on one connection; a connection that failed mid-transaction is discarded. */
  async #tx<T>(fn: (client: Queryable) => Promise<T>): Promise<T> {
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

  async migrate(options: MigrateOptions = {}): Promise<number[]> {
    return this.#run('migrate', async () => {
      const target = checkMigrationTarget(options.to, LATEST_VERSION);
      const client = await this.#pool.connect();
      try {
        // A session lock across all migrations: a second migrator (another replica) waits here, then finds
        // every version recorded. If this connection dies, PostgreSQL releases the lock with it.
        await client.query('SELECT pg_advisory_lock($1, $2)', [ADVISORY_LOCK_CLASS, this.#lockKey]);
        const applied = await this.#migrateLocked(client, target);
        await client.query('SELECT pg_advisory_unlock($1, $2)', [ADVISORY_LOCK_CLASS, this.#lockKey]);
        client.release();
        return applied;
      } catch (err) {
        // Destroying the connection ends its session: the lock and any open transaction go with it.
        client.release(true);
        throw err;
      }
    });
  }

  async #migrateLocked(client: pg.PoolClient, target: number): Promise<number[]> {
    if (this.#schema !== undefined) {
      // Only when missing: CREATE SCHEMA needs the CREATE privilege on the database even with IF NOT
      // EXISTS, which a DBA-provisioned schema's owner may not have.
      const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [this.#schema]);
      if (exists.rowCount === 0) await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.#schema}"`);
    }
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)',
    );
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map(
        (r) => r.version,
      ),
    );
    const newest = Math.max(0, ...done);
    if (newest > LATEST_VERSION) {
      throw new StoreError(
        'VIGIL_ERR_STORE_SCHEMA_TOO_NEW',
        `store: the database is at schema version ${newest}, this Vigil knows up to ${LATEST_VERSION}: upgrade Vigil`,
      );
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version > target) break;
      if (done.has(m.version)) continue;
      try {
        await client.query('BEGIN');
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
          m.version,
          m.name,
          Date.now(),
        ]);
        await client.query('COMMIT');
      } catch (err) {
        throw new StoreError(
          'VIGIL_ERR_STORE_MIGRATION',
          `store: migration ${m.version} (${m.name}) failed and was rolled back: ${(err as Error).message}`,
          { cause: err },
        );
      }
      applied.push(m.version);
    }
    return applied;
  }

  async appliedMigrations(): Promise<AppliedMigration[]> {
    return this.#run('appliedMigrations', async () =>
      (
        await this.#rows<{ version: number; name: string; applied_at: number }>(
          'SELECT version, name, applied_at FROM schema_migrations ORDER BY version',
        )
      ).map((r) => ({ version: r.version, name: r.name, appliedAt: r.applied_at })),
    );
  }

  async appendResults(results: readonly ProbeResult[]): Promise<void> {
    return this.#run('appendResults', async () => {
      if (results.length === 0) return;
      const columns: unknown[][] = [[], [], [], [], [], [], [], [], []];
      for (const r of results) {
        const row = resultRow(r);
        for (let i = 0; i < row.length; i++) (columns[i] as unknown[]).push(row[i]);
      }
      // One statement, so one transaction: the whole batch or nothing.
      await this.#pool.query({
        name: 'vigil_append_results',
        text: `INSERT INTO results (${RESULT_COLUMNS})
               SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::text[], $6::int[],
                                    $7::text[], $8::text[], $9::json[])`,
        values: columns,
      });
    });
  }

  async results(checkId: string, query: ResultQuery = {}): Promise<ProbeResult[]> {
    return this.#run('results', async () => {
      const limit = checkLimit(query.limit);
      const where = new Where(placeholder).add('check_id = ?', checkId);
      if (query.region !== undefined) where.add('region = ?', query.region);
      if (query.since !== undefined) where.add('started_at >= ?', ms(query.since));
      if (query.until !== undefined) where.add('started_at < ?', ms(query.until));
      const sql =
        limit === null
          ? `SELECT * FROM results ${where} ORDER BY started_at, id`
          : `SELECT * FROM (SELECT * FROM results ${where} ORDER BY started_at DESC, id DESC LIMIT ${where.param(limit)}) r
             ORDER BY started_at, id`;
      return (await this.#rows<ResultRow>(sql, where.params)).map(resultFromRow);
    });
  }

  async appendTransition(t: Transition): Promise<void> {
    return this.#run('appendTransition', async () => {
      await this.#pool.query(
        'INSERT INTO transitions (check_id, region, from_state, to_state, at, reason, results) VALUES ($1, $2, $3, $4, $5, $6, $7)',
        [t.checkId, t.region, t.from, t.to, ms(t.at), t.reason, encodeJson(t.results)],
      );
    });
  }

  async transitions(query: TransitionQuery = {}): Promise<Transition[]> {
    return this.#run('transitions', async () => {
      const limit = checkLimit(query.limit);
      const where = new Where(placeholder);
      if (query.checkId !== undefined) where.add('check_id = ?', query.checkId);
      if (query.region !== undefined) where.add('region = ?', query.region);
      if (query.since !== undefined) where.add('at >= ?', ms(query.since));
      const sql = `SELECT * FROM transitions ${where} ORDER BY at DESC, id DESC${limit === null ? '' : ` LIMIT ${where.param(limit)}`}`;
      return (await this.#rows<TransitionRow>(sql, where.params)).map(transitionFromRow);
    });
  }

  async openIncident(input: OpenIncidentInput): Promise<Incident> {
    return this.#run('openIncident', async () => {
      // Insert-or-fetch; another replica may close the open incident between the two statements, so retry.
      for (let attempt = 0; attempt < 5; attempt++) {
        const [inserted] = await this.#rows<IncidentRow>(
          `INSERT INTO incidents (id, check_id, region, opened_at, closed_at, reason) VALUES ($1, $2, $3, $4, NULL, $5)
           ON CONFLICT (check_id, region) WHERE closed_at IS NULL DO NOTHING
           RETURNING *`,
          [newId(), input.checkId, input.region, ms(input.openedAt), input.reason],
        );
        if (inserted) return incidentFromRow(inserted);
        const [open] = await this.#rows<IncidentRow>(
          'SELECT * FROM incidents WHERE check_id = $1 AND region = $2 AND closed_at IS NULL',
          [input.checkId, input.region],
        );
        if (open) return incidentFromRow(open);
      }
      throw new Error(`could not open or find the open incident of ${input.checkId} in ${input.region}`);
    });
  }

  async closeIncident(id: string, closedAt: number): Promise<boolean> {
    return this.#run('closeIncident', async () => {
      const result = await this.#pool.query(
        'UPDATE incidents SET closed_at = $1 WHERE id = $2 AND closed_at IS NULL',
        [ms(closedAt), id],
      );
      return (result.rowCount ?? 0) > 0;
    });
  }

  async incidents(query: IncidentQuery = {}): Promise<Incident[]> {
    return this.#run('incidents', async () => {
      const limit = checkLimit(query.limit);
      const where = new Where(placeholder);
      if (query.open !== undefined) where.raw(query.open ? 'closed_at IS NULL' : 'closed_at IS NOT NULL');
      if (query.checkId !== undefined) where.add('check_id = ?', query.checkId);
      if (query.id !== undefined) where.add('id = ?', query.id);
      const sql = `SELECT * FROM incidents ${where} ORDER BY opened_at DESC, id DESC${limit === null ? '' : ` LIMIT ${where.param(limit)}`}`;
      return (await this.#rows<IncidentRow>(sql, where.params)).map(incidentFromRow);
    });
  }

  async saveStates(states: readonly EvalState[]): Promise<void> {
    return this.#run('saveStates', async () => {
      if (states.length === 0) return;
      // ON CONFLICT DO UPDATE may not touch a row twice in one statement: keep the last state per key.
      const latest = latestStates(states);
      const checkIds: string[] = [];
      const regions: string[] = [];
      const names: string[] = [];
      const sinces: number[] = [];
      const data: string[] = [];
      for (const s of latest) {
        checkIds.push(s.checkId);
        regions.push(s.region);
        names.push(s.state);
        sinces.push(ms(s.since));
        data.push(encodeState(s));
      }
      await this.#pool.query({
        name: 'vigil_save_states',
        text: `INSERT INTO eval_states (check_id, region, state, since, data)
               SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::json[])
               ON CONFLICT (check_id, region) DO UPDATE
               SET state = EXCLUDED.state, since = EXCLUDED.since, data = EXCLUDED.data`,
        values: [checkIds, regions, names, sinces, data],
      });
    });
  }

  async loadStates(): Promise<EvalState[]> {
    return this.#run('loadStates', async () =>
      (await this.#rows<{ data: string }>('SELECT data FROM eval_states ORDER BY check_id, region')).map(
        (r) => decodeJson<EvalState>(r.data),
      ),
    );
  }

  async enqueueNotification(input: NotificationInput): Promise<EnqueueOutcome> {
    return this.#run('enqueueNotification', async () => {
      const createdAt = ms(input.createdAt);
      for (let attempt = 0; attempt < 5; attempt++) {
        const [inserted] = await this.#rows<{ id: string }>(
          `INSERT INTO outbox (id, notifier, dedup_key, payload, created_at, next_attempt_at)
           VALUES ($1, $2, $3, $4, $5, $5)
           ON CONFLICT (notifier, dedup_key) DO NOTHING
           RETURNING id`,
          [newId(), input.notifier, input.dedupKey, encodeJson(input.payload), createdAt],
        );
        if (inserted) return { id: inserted.id, enqueued: true };
        const [existing] = await this.#rows<{ id: string }>(
          'SELECT id FROM outbox WHERE notifier = $1 AND dedup_key = $2',
          [input.notifier, input.dedupKey],
        );
        if (existing) return { id: existing.id, enqueued: false };
      }
      throw new Error(`could not enqueue or find ${input.notifier}/${input.dedupKey}`);
    });
  }

  async claimDueNotifications(options: ClaimOptions): Promise<Notification[]> {
    return this.#run('claimDueNotifications', async () => {
      const limit = checkLimit(options.limit) ?? 0;
      const now = ms(options.now);
      // SKIP LOCKED: rows another replica is claiming right now are skipped, not waited for; once it
      // commits, their lease excludes them.
      const rows = await this.#rows<NotificationRow>(
        `UPDATE outbox SET leased_until = $1
         WHERE id IN (
           SELECT id FROM outbox
           WHERE status = 'pending' AND next_attempt_at <= $2 AND (leased_until IS NULL OR leased_until <= $2)
           ORDER BY next_attempt_at, created_at, id
           LIMIT $3
           FOR UPDATE SKIP LOCKED)
         RETURNING *`,
        [now + ms(options.leaseMs), now, limit],
      );
      return rows.map(notificationFromRow).sort(byDueThenCreated);
    });
  }

  async markDelivered(id: string, at: number): Promise<boolean> {
    return this.#run('markDelivered', async () => {
      const result = await this.#pool.query(
        "UPDATE outbox SET status = 'delivered', delivered_at = $1, leased_until = NULL WHERE id = $2 AND status = 'pending'",
        [ms(at), id],
      );
      return (result.rowCount ?? 0) > 0;
    });
  }

  async releaseLease(id: string): Promise<boolean> {
    return this.#run('releaseLease', async () => {
      const result = await this.#pool.query(
        "UPDATE outbox SET leased_until = NULL WHERE id = $1 AND status = 'pending'",
        [id],
      );
      return (result.rowCount ?? 0) > 0;
    });
  }

  async markFailed(id: string, update: FailureUpdate): Promise<boolean> {
    return this.#run('markFailed', async () => {
      const next = update.nextAttemptAt === null ? null : ms(update.nextAttemptAt);
      const result = await this.#pool.query(
        `UPDATE outbox SET attempts = attempts + 1, last_error = $1, leased_until = NULL,
           next_attempt_at = coalesce($2::bigint, next_attempt_at),
           status = CASE WHEN $2::bigint IS NULL THEN 'failed' ELSE 'pending' END
         WHERE id = $3 AND status = 'pending'`,
        [update.error, next, id],
      );
      return (result.rowCount ?? 0) > 0;
    });
  }

  async pendingNotifications(): Promise<Notification[]> {
    return this.#run('pendingNotifications', async () =>
      (
        await this.#rows<NotificationRow>(
          "SELECT * FROM outbox WHERE status = 'pending' ORDER BY created_at, id",
        )
      ).map(notificationFromRow),
    );
  }

  async notifications(query: NotificationQuery = {}): Promise<Notification[]> {
    return this.#run('notifications', async () => {
      const limit = checkLimit(query.limit);
      const where = new Where(placeholder);
      if (query.since !== undefined) where.add('created_at >= ?', ms(query.since));
      if (query.until !== undefined) where.add('created_at < ?', ms(query.until));
      const sql = `SELECT * FROM outbox ${where} ORDER BY created_at, id${limit === null ? '' : ` LIMIT ${where.param(limit)}`}`;
      return (await this.#rows<NotificationRow>(sql, where.params)).map(notificationFromRow);
    });
  }

  async putSilence(input: SilenceInput): Promise<Silence> {
    return this.#run('putSilence', async () => {
      const s = normaliseSilence(input);
      await this.#pool.query(
        `INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment) VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (id) DO UPDATE SET matchers = EXCLUDED.matchers, starts_at = EXCLUDED.starts_at,
           ends_at = EXCLUDED.ends_at, created_by = EXCLUDED.created_by, comment = EXCLUDED.comment`,
        [s.id, encodeJson(s.matchers), s.startsAt, s.endsAt, s.createdBy, s.comment],
      );
      return s;
    });
  }

  async silences(query: SilenceQuery = {}): Promise<Silence[]> {
    return this.#run('silences', async () => {
      const where = new Where(placeholder);
      if (query.activeAt !== undefined) {
        where.add('starts_at <= ?', ms(query.activeAt)).add('ends_at > ?', ms(query.activeAt));
      }
      return (
        await this.#rows<SilenceRow>(`SELECT * FROM silences ${where} ORDER BY starts_at, id`, where.params)
      ).map(silenceFromRow);
    });
  }

  async deleteSilence(id: string): Promise<boolean> {
    return this.#run('deleteSilence', async () => {
      const result = await this.#pool.query('DELETE FROM silences WHERE id = $1', [id]);
      return (result.rowCount ?? 0) > 0;
    });
  }

  async prune(options: PruneOptions): Promise<PruneReport> {
    return this.#run('prune', async () => {
      const cut = pruneCutoffs(options);
      return this.#tx(async (client) => {
        // The rollups are fed by the rows this statement deleted: a concurrent prune (another replica)
        // blocks on those rows, then finds them gone, so no result is counted twice.
        const folded = await client.query<{ rolled: number }>(
          `WITH moved AS (
             DELETE FROM results WHERE started_at < $1
             RETURNING check_id, region, started_at, duration_ms, outcome
           ), folded AS (
             INSERT INTO result_rollups
               (check_id, region, minute, count, failures, degraded, sum_duration_ms, max_duration_ms)
             SELECT check_id, region, (started_at / 60000) * 60000, count(*),
                    count(*) FILTER (WHERE outcome = 'fail'), count(*) FILTER (WHERE outcome = 'degraded'),
                    sum(duration_ms), max(duration_ms)
             FROM moved GROUP BY 1, 2, 3
             ON CONFLICT (check_id, region, minute) DO UPDATE SET
               count = result_rollups.count + EXCLUDED.count,
               failures = result_rollups.failures + EXCLUDED.failures,
               degraded = result_rollups.degraded + EXCLUDED.degraded,
               sum_duration_ms = result_rollups.sum_duration_ms + EXCLUDED.sum_duration_ms,
               max_duration_ms = greatest(result_rollups.max_duration_ms, EXCLUDED.max_duration_ms)
           )
           SELECT count(*) AS rolled FROM moved`,
          [cut.raw],
        );
        const rollups = await client.query('DELETE FROM result_rollups WHERE minute < $1', [cut.rollups]);
        const notifications = await client.query(
          "DELETE FROM outbox WHERE status <> 'pending' AND created_at < $1",
          [cut.notifications],
        );
        const silences = await client.query('DELETE FROM silences WHERE ends_at < $1', [cut.silences]);
        return {
          cutoff: cut.raw,
          rolledUp: folded.rows[0]?.rolled ?? 0,
          rollupsDeleted: rollups.rowCount ?? 0,
          notificationsDeleted: notifications.rowCount ?? 0,
          silencesDeleted: silences.rowCount ?? 0,
        };
      });
    });
  }

  async rollups(checkId: string, query: RollupQuery = {}): Promise<Rollup[]> {
    return this.#run('rollups', async () => {
      const where = new Where(placeholder).add('check_id = ?', checkId);
      if (query.region !== undefined) where.add('region = ?', query.region);
      if (query.since !== undefined) where.add('minute >= ?', ms(query.since));
      if (query.until !== undefined) where.add('minute < ?', ms(query.until));
      return (
        await this.#rows<RollupRow>(
          `SELECT * FROM result_rollups ${where} ORDER BY minute, region`,
          where.params,
        )
      ).map(rollupFromRow);
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
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
  const store = new PostgresStore(pool, schema, hash32(lockSchema));
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
