/**
 * Every statement the store runs, written once for both backends. A query is an `Sql` value from
 * sql-template-tag (text with its parameters beside it); a backend only executes it (`sql-store.ts`).
 * What SQLite and PostgreSQL spell differently is in {@link Dialect}, and nowhere else:
 * placeholders (`?` or `$1`), the claim's row locking, the two-argument maximum, how a batch of rows
 * travels (one row per execution, or one array per column), and how old results move into rollups.
 *
 * Both dialects accept the rest as written: `ON CONFLICT … DO UPDATE SET … EXCLUDED.x`, `RETURNING`,
 * `count(*) FILTER (WHERE …)` (SQLite ≥ 3.30), `CAST(x AS bigint)` (INTEGER affinity in SQLite),
 * a bound `LIMIT`, an aliased subquery. JSON columns are text on both (`json` in PostgreSQL, whose
 * type parser hands them back as text) and go through the codec in `shared.ts`, as does every row.
 */
import sql, { empty, join, raw, type Sql } from 'sql-template-tag';
import type { Transition } from '../types.js';
import { type BaselineRowInput, checkLimit, encodeJson, MINUTE_MS, ms, type PruneCutoffs } from './shared.js';
import type {
  ActionRunFinish,
  ActionRunInput,
  ActionRunQuery,
  BaselineQuery,
  ClaimOptions,
  FailureUpdate,
  IncidentQuery,
  NotificationInput,
  NotificationQuery,
  OneOffWindow,
  OneOffWindowQuery,
  OpenIncidentInput,
  PruneReport,
  ResultQuery,
  RollupQuery,
  Silence,
  SilenceQuery,
  StateQuery,
  TransitionQuery,
} from './types.js';

export type { Sql } from 'sql-template-tag';

// ---------------------------------------------------------------------------------------------
// Dialects.

/** What one statement gave back: its rows (a SELECT, or `RETURNING`) and how many rows it touched. */
export interface QueryResult<R = Record<string, unknown>> {
  rows: R[];
  rowCount: number;
}

/** A column of a batch write, with its PostgreSQL array element type (for `unnest`). */
export interface BatchColumn {
  name: string;
  type: 'text' | 'bigint' | 'float8' | 'int' | 'json';
}

/** A write of many rows of one table: the shape, rendered per dialect by {@link Dialect.batch}. */
export interface BatchShape {
  /** Prepared-statement name (PostgreSQL keeps it prepared per connection). */
  name: string;
  table: string;
  /** In the order of the row arrays the caller passes. */
  columns: readonly BatchColumn[];
  /** Appended as is, e.g. `ON CONFLICT (…) DO UPDATE SET …`; the same on both dialects. */
  conflict?: string;
}

/** A batch write rendered for one dialect. */
export interface BatchStatement {
  name: string;
  text: string;
  /** Values per row. */
  width: number;
}

/** How a prune moves raw results into rollups, and where it reads how many it moved. */
export interface FoldPlan {
  statements: Sql[];
  /** Results folded, from the results of {@link FoldPlan.statements} (same order). */
  rolledUp(results: readonly QueryResult[]): number;
}

/** Everything SQLite and PostgreSQL spell differently. */
export interface Dialect {
  readonly name: 'sqlite' | 'postgres';
  /** `q`'s text with this dialect's placeholders: `?` (SQLite) or `$1, $2, …` (PostgreSQL). */
  text(q: Sql): string;
  /** The two-argument maximum: SQLite's scalar `max(a, b)`, PostgreSQL's `greatest(a, b)`. */
  readonly greatest: string;
  /**
   * Row locking of the claim's inner SELECT. PostgreSQL: `FOR UPDATE SKIP LOCKED`, so replicas skip
   * rows another is claiming right now; SQLite has no row locks and needs none, since the claim is one
   * statement and so one write transaction under the database's single write lock.
   */
  readonly skipLocked: Sql;
  /**
   * The batch write of a shape. SQLite: a one-row INSERT the backend runs once per row in one
   * transaction (a prepared statement per row is SQLite's fastest bulk path). PostgreSQL: one
   * `INSERT … SELECT FROM unnest(…)` taking one array per column, so one round trip and a fixed text
   * that stays prepared, whatever the batch size.
   */
  batch(shape: BatchShape): BatchStatement;
  /**
   * Whether a batch upsert must hold one row per key. PostgreSQL's: one statement, and ON CONFLICT DO
   * UPDATE may not touch a row twice in one statement. SQLite's upserts row by row, in order, so a
   * later duplicate wins, the same answer without the cost of finding duplicates.
   */
  readonly batchUpsertNeedsDistinctKeys: boolean;
  /**
   * Folding raw results before `cutoff` into per-minute rollups and deleting them, atomically with the
   * rest of the prune's transaction. SQLite: INSERT … SELECT, then DELETE (SQLite's write lock keeps
   * another prune out). PostgreSQL: the DELETE … RETURNING feeds the rollups in one statement, so a
   * concurrent prune (another replica) blocks on those rows, then finds them gone: no result is
   * counted twice, where INSERT … SELECT then DELETE would let two read committed prunes both count.
   */
  foldResults(cutoff: number): FoldPlan;
  /**
   * A batch of agents' results, each claimed by its id and stored, atomically, unless the id was
   * claimed before (a replay). SQLite: per result, the claim, then `INSERT … SELECT … WHERE changes()
   * = 1` (the row count of the claim just before, on the same connection), all in one transaction (a
   * prepared statement per row is SQLite's fastest bulk path). PostgreSQL: one statement for the whole
   * batch, so one round trip: one array per column (`unnest`), the claims `INSERT … ON CONFLICT DO
   * NOTHING RETURNING` their ids feeding the results' insert, so a concurrent claim of the same id by
   * another hub waits for the first and then stores nothing. Claims are taken in id order, so two hubs
   * taking overlapping batches at once cannot deadlock.
   */
  claimResults(batch: ResultClaimBatch, rows: readonly (readonly unknown[])[]): ResultClaims;
}

/** The `ingested_results` rows of one batch: one per id, each `rows[i]` of {@link Dialect.claimResults} being `ids[i]`'s. */
export interface ResultClaimBatch {
  /** Distinct. */
  ids: readonly string[];
  region: string;
  batchId: string;
  /** ms since epoch. */
  receivedAt: number;
}

/** The statements of {@link Dialect.claimResults}, to run in one transaction, and how to read their answer. */
export interface ResultClaims {
  statements: Sql[];
  /** The ids claimed now (their results stored), from the results of `statements` (same order). */
  claimed(results: readonly QueryResult[]): Set<string>;
}

const claimInsert = (id: string, c: ResultClaimBatch): Sql =>
  sql`INSERT INTO ingested_results (id, region, batch_id, received_at) VALUES (${id}, ${c.region}, ${c.batchId}, ${c.receivedAt})
    ON CONFLICT (id) DO NOTHING`;

const columnNames = (shape: BatchShape): string => shape.columns.map((c) => c.name).join(', ');
const conflictClause = (shape: BatchShape): string =>
  shape.conflict === undefined ? '' : ` ${shape.conflict}`;

/** SQLite (better-sqlite3). */
export const SQLITE: Dialect = {
  name: 'sqlite',
  text: (q) => q.sql,
  greatest: 'max',
  skipLocked: empty,
  batchUpsertNeedsDistinctKeys: false,
  batch: (shape) => ({
    name: shape.name,
    width: shape.columns.length,
    text: `INSERT INTO ${shape.table} (${columnNames(shape)}) VALUES (${shape.columns
      .map(() => '?')
      .join(', ')})${conflictClause(shape)}`,
  }),
  foldResults: (cutoff) => ({
    statements: [
      foldIntoRollups(SQLITE, sql`results WHERE started_at < ${cutoff}`),
      sql`DELETE FROM results WHERE started_at < ${cutoff}`,
    ],
    rolledUp: (results) => results[1]?.rowCount ?? 0,
  }),
  claimResults: (batch, rows) => ({
    statements: batch.ids.flatMap((id, i) => [
      claimInsert(id, batch),
      sql`INSERT INTO results (${raw(columnNames(RESULTS_INSERT))}) SELECT ${join(rows[i] ?? [])} WHERE changes() = 1`,
    ]),
    // Each claim's second statement tells whether it stored its result.
    claimed: (results) => new Set(batch.ids.filter((_id, i) => results[2 * i + 1]?.rowCount === 1)),
  }),
};

/** PostgreSQL (node-postgres). */
export const POSTGRES: Dialect = {
  name: 'postgres',
  text: (q) => q.text,
  greatest: 'greatest',
  skipLocked: raw('FOR UPDATE SKIP LOCKED'),
  batchUpsertNeedsDistinctKeys: true,
  batch: (shape) => ({
    name: shape.name,
    width: shape.columns.length,
    text: `INSERT INTO ${shape.table} (${columnNames(shape)}) SELECT * FROM unnest(${shape.columns
      .map((c, i) => `$${i + 1}::${c.type}[]`)
      .join(', ')})${conflictClause(shape)}`,
  }),
  foldResults: (cutoff) => ({
    statements: [
      sql`WITH moved AS (
            DELETE FROM results WHERE started_at < ${cutoff}
            RETURNING check_id, region, started_at, duration_ms, outcome
          ), folded AS (${foldIntoRollups(POSTGRES, raw('moved'))})
          SELECT count(*) AS rolled FROM moved`,
    ],
    rolledUp: (results) => Number(results[0]?.rows[0]?.rolled ?? 0),
  }),
  claimResults: (batch, rows) => {
    const columns = RESULTS_INSERT.columns.map((_c, i) => rows.map((row) => row[i]));
    const names = columnNames(RESULTS_INSERT);
    const input = join(
      [batch.ids, ...columns].map(
        (values, i) =>
          sql`${values}::${raw(i === 0 ? 'text' : (RESULTS_INSERT.columns[i - 1]?.type ?? 'text'))}[]`,
      ),
    );
    return {
      statements: [
        sql`WITH input AS (
              SELECT * FROM unnest(${input}) WITH ORDINALITY AS t(claim_id, ${raw(names)}, ord)
            ), claimed AS (
              INSERT INTO ingested_results (id, region, batch_id, received_at)
              SELECT claim_id, ${batch.region}::text, ${batch.batchId}::text, ${batch.receivedAt}::bigint
              FROM input ORDER BY claim_id
              ON CONFLICT (id) DO NOTHING
              RETURNING id
            ), stored AS (
              INSERT INTO results (${raw(names)})
              SELECT ${raw(names)} FROM input WHERE claim_id IN (SELECT id FROM claimed) ORDER BY ord
            )
            SELECT id FROM claimed`,
      ],
      claimed: (results) => new Set((results[0]?.rows ?? []).map((r) => String(r.id))),
    };
  },
};

/** `WHERE a AND b …`, or nothing when there is no condition. */
function where(conditions: readonly Sql[]): Sql {
  return conditions.length === 0 ? empty : sql`WHERE ${join(conditions, ' AND ')}`;
}

/** `LIMIT n`, or nothing. @throws StoreError `VIGIL_ERR_STORE_INVALID_ARGUMENT` (see {@link checkLimit}). */
function limitClause(limit: number | undefined): Sql {
  const n = checkLimit(limit);
  return n === null ? empty : sql`LIMIT ${n}`;
}

// ---------------------------------------------------------------------------------------------
// Results.

/** appendResults' batch; columns in the order of `resultRow` (`shared.ts`). */
export const RESULTS_INSERT: BatchShape = {
  name: 'vigil_append_results',
  table: 'results',
  columns: [
    { name: 'check_id', type: 'text' },
    { name: 'region', type: 'text' },
    { name: 'started_at', type: 'bigint' },
    { name: 'duration_ms', type: 'float8' },
    { name: 'outcome', type: 'text' },
    { name: 'http_status', type: 'int' },
    { name: 'error_code', type: 'text' },
    { name: 'model_version', type: 'text' },
    { name: 'detail', type: 'json' },
  ],
};

/** One check's results, oldest first; with a limit, the newest `limit` of the window. */
export function selectResults(checkId: string, query: ResultQuery): Sql {
  const conditions = [sql`check_id = ${checkId}`];
  if (query.region !== undefined) conditions.push(sql`region = ${query.region}`);
  if (query.since !== undefined) conditions.push(sql`started_at >= ${ms(query.since)}`);
  if (query.until !== undefined) conditions.push(sql`started_at < ${ms(query.until)}`);
  if (query.limit === undefined) {
    return sql`SELECT * FROM results ${where(conditions)} ORDER BY started_at, id`;
  }
  return sql`SELECT * FROM (
      SELECT * FROM results ${where(conditions)} ORDER BY started_at DESC, id DESC ${limitClause(query.limit)}
    ) r ORDER BY started_at, id`;
}

// ---------------------------------------------------------------------------------------------
// Transitions.

export function insertTransition(t: Transition): Sql {
  return sql`INSERT INTO transitions (check_id, region, from_state, to_state, at, reason, results)
    VALUES (${t.checkId}, ${t.region}, ${t.from}, ${t.to}, ${ms(t.at)}, ${t.reason}, ${encodeJson(t.results)})`;
}

/** Transitions, newest first. */
export function selectTransitions(query: TransitionQuery): Sql {
  const conditions: Sql[] = [];
  if (query.checkId !== undefined) conditions.push(sql`check_id = ${query.checkId}`);
  if (query.region !== undefined) conditions.push(sql`region = ${query.region}`);
  if (query.since !== undefined) conditions.push(sql`at >= ${ms(query.since)}`);
  return sql`SELECT * FROM transitions ${where(conditions)} ORDER BY at DESC, id DESC ${limitClause(query.limit)}`;
}

// ---------------------------------------------------------------------------------------------
// Incidents.

/** Inserts an open incident, unless one is open for (check, region): then no row comes back. */
export function insertIncident(id: string, input: OpenIncidentInput): Sql {
  return sql`INSERT INTO incidents (id, check_id, region, opened_at, closed_at, reason)
    VALUES (${id}, ${input.checkId}, ${input.region}, ${ms(input.openedAt)}, NULL, ${input.reason})
    ON CONFLICT (check_id, region) WHERE closed_at IS NULL DO NOTHING
    RETURNING *`;
}

export function selectOpenIncident(checkId: string, region: string): Sql {
  return sql`SELECT * FROM incidents WHERE check_id = ${checkId} AND region = ${region} AND closed_at IS NULL`;
}

export function closeIncident(id: string, closedAt: number): Sql {
  return sql`UPDATE incidents SET closed_at = ${ms(closedAt)} WHERE id = ${id} AND closed_at IS NULL`;
}

/** Incidents, newest first. */
export function selectIncidents(query: IncidentQuery): Sql {
  const conditions: Sql[] = [];
  if (query.open !== undefined) {
    conditions.push(query.open ? sql`closed_at IS NULL` : sql`closed_at IS NOT NULL`);
  }
  if (query.checkId !== undefined) conditions.push(sql`check_id = ${query.checkId}`);
  if (query.id !== undefined) conditions.push(sql`id = ${query.id}`);
  return sql`SELECT * FROM incidents ${where(conditions)} ORDER BY opened_at DESC, id DESC ${limitClause(query.limit)}`;
}

// ---------------------------------------------------------------------------------------------
// Evaluator states.

/**
 * saveStates' batch: an upsert by (check, region); rows are `[checkId, region, state, since, data,
 * writtenAt]` (`writtenAt`: the writer's clock, ms since epoch; what `loadStates({ writtenSince })` filters on).
 */
export const STATES_UPSERT: BatchShape = {
  name: 'vigil_save_states',
  table: 'eval_states',
  columns: [
    { name: 'check_id', type: 'text' },
    { name: 'region', type: 'text' },
    { name: 'state', type: 'text' },
    { name: 'since', type: 'bigint' },
    { name: 'data', type: 'json' },
    { name: 'written_at', type: 'bigint' },
  ],
  conflict: `ON CONFLICT (check_id, region) DO UPDATE
    SET state = EXCLUDED.state, since = EXCLUDED.since, data = EXCLUDED.data, written_at = EXCLUDED.written_at`,
};

/** The stored states, all or those written since `query.writtenSince` (the `eval_states_written` index). */
export function selectStates(query: StateQuery = {}): Sql {
  const conditions: Sql[] = [];
  if (query.writtenSince !== undefined) conditions.push(sql`written_at >= ${ms(query.writtenSince)}`);
  return sql`SELECT data FROM eval_states ${where(conditions)} ORDER BY check_id, region`;
}

// ---------------------------------------------------------------------------------------------
// Outbox.

/** Inserts a pending notification, unless (notifier, dedupKey) is there: then no row comes back. */
export function insertNotification(id: string, input: NotificationInput): Sql {
  const createdAt = ms(input.createdAt);
  return sql`INSERT INTO outbox (id, notifier, dedup_key, payload, created_at, next_attempt_at)
    VALUES (${id}, ${input.notifier}, ${input.dedupKey}, ${encodeJson(input.payload)}, ${createdAt}, ${createdAt})
    ON CONFLICT (notifier, dedup_key) DO NOTHING
    RETURNING id`;
}

export function selectNotificationId(notifier: string, dedupKey: string): Sql {
  return sql`SELECT id FROM outbox WHERE notifier = ${notifier} AND dedup_key = ${dedupKey}`;
}

/** Leases due rows in one statement; RETURNING gives them in no particular order. */
export function claimNotifications(d: Dialect, options: ClaimOptions): Sql {
  const now = ms(options.now);
  return sql`UPDATE outbox SET leased_until = ${now + ms(options.leaseMs)}
    WHERE id IN (
      SELECT id FROM outbox
      WHERE status = 'pending' AND next_attempt_at <= ${now} AND (leased_until IS NULL OR leased_until <= ${now})
      ORDER BY next_attempt_at, created_at, id
      LIMIT ${checkLimit(options.limit) ?? 0}
      ${d.skipLocked})
    RETURNING *`;
}

export function markDelivered(id: string, at: number): Sql {
  return sql`UPDATE outbox SET status = 'delivered', delivered_at = ${ms(at)}, leased_until = NULL
    WHERE id = ${id} AND status = 'pending'`;
}

export function releaseLease(id: string): Sql {
  return sql`UPDATE outbox SET leased_until = NULL WHERE id = ${id} AND status = 'pending'`;
}

/** `next` is cast: PostgreSQL cannot type a bare null parameter; SQLite's cast to bigint is a no-op. */
export function markFailed(id: string, update: FailureUpdate): Sql {
  const next = update.nextAttemptAt === null ? null : ms(update.nextAttemptAt);
  return sql`UPDATE outbox SET attempts = attempts + 1, last_error = ${update.error}, leased_until = NULL,
      next_attempt_at = coalesce(CAST(${next} AS bigint), next_attempt_at),
      status = CASE WHEN CAST(${next} AS bigint) IS NULL THEN 'failed' ELSE 'pending' END
    WHERE id = ${id} AND status = 'pending'`;
}

export const selectPendingNotifications: Sql = sql`SELECT * FROM outbox WHERE status = 'pending' ORDER BY created_at, id`;

/** Notifications created in a window, oldest first. */
export function selectNotifications(query: NotificationQuery): Sql {
  const conditions: Sql[] = [];
  if (query.since !== undefined) conditions.push(sql`created_at >= ${ms(query.since)}`);
  if (query.until !== undefined) conditions.push(sql`created_at < ${ms(query.until)}`);
  return sql`SELECT * FROM outbox ${where(conditions)} ORDER BY created_at, id ${limitClause(query.limit)}`;
}

// ---------------------------------------------------------------------------------------------
// Action runs.

/** Inserts an action run, unless its idempotency key is there: then no row comes back. */
export function insertActionRun(id: string, r: ActionRunInput): Sql {
  return sql`INSERT INTO action_runs (id, idempotency_key, scope, action, kind, event, step, check_id, region,
      incident_id, transition_at, reason, status, skip_reason, claimed_at, finished_at, lease_until, owner, what, output)
    VALUES (${id}, ${r.idempotencyKey}, ${r.scope}, ${r.action}, ${r.kind}, ${r.event}, ${r.step}, ${r.checkId},
      ${r.region}, ${r.incidentId}, ${ms(r.transitionAt)}, ${r.reason}, ${r.status}, ${r.skipReason ?? null},
      ${ms(r.claimedAt)}, ${r.status === 'running' ? null : ms(r.claimedAt)},
      ${r.status !== 'running' || r.leaseUntil === undefined || r.leaseUntil === null ? null : ms(r.leaseUntil)}, ${r.owner}, ${r.what}, NULL)
    ON CONFLICT (idempotency_key) DO NOTHING
    RETURNING *`;
}

export function selectActionRunByKey(key: string): Sql {
  return sql`SELECT * FROM action_runs WHERE idempotency_key = ${key}`;
}

export function renewActionLease(id: string, leaseUntil: number): Sql {
  return sql`UPDATE action_runs SET lease_until = ${ms(leaseUntil)} WHERE id = ${id} AND status = 'running'`;
}

export function finishActionRun(id: string, f: ActionRunFinish): Sql {
  return sql`UPDATE action_runs SET status = ${f.status}, finished_at = ${ms(f.finishedAt)}, output = ${f.output},
      lease_until = NULL
    WHERE id = ${id} AND status = 'running'`;
}

/** Running rows whose lease lapsed become `unknown`, in one statement (each row once across replicas). */
export function expireActionRuns(now: number): Sql {
  return sql`UPDATE action_runs SET status = 'unknown', finished_at = ${ms(now)}, lease_until = NULL,
      output = coalesce(output, 'outcome unknown: the hub running it stopped before recording a result')
    WHERE status = 'running' AND lease_until < ${ms(now)}
    RETURNING *`;
}

/** Action runs, newest first. */
export function selectActionRuns(query: ActionRunQuery): Sql {
  const conditions: Sql[] = [];
  if (query.incidentId !== undefined) conditions.push(sql`incident_id = ${query.incidentId}`);
  if (query.checkId !== undefined) conditions.push(sql`check_id = ${query.checkId}`);
  if (query.scope !== undefined) conditions.push(sql`scope = ${query.scope}`);
  if (query.action !== undefined) conditions.push(sql`action = ${query.action}`);
  if (query.since !== undefined) conditions.push(sql`claimed_at >= ${ms(query.since)}`);
  return sql`SELECT * FROM action_runs ${where(conditions)} ORDER BY claimed_at DESC, id DESC ${limitClause(query.limit)}`;
}

// ---------------------------------------------------------------------------------------------
// Silences.

export function upsertSilence(s: Silence): Sql {
  return sql`INSERT INTO silences (id, matchers, starts_at, ends_at, created_by, comment)
    VALUES (${s.id}, ${encodeJson(s.matchers)}, ${s.startsAt}, ${s.endsAt}, ${s.createdBy}, ${s.comment})
    ON CONFLICT (id) DO UPDATE SET matchers = EXCLUDED.matchers, starts_at = EXCLUDED.starts_at,
      ends_at = EXCLUDED.ends_at, created_by = EXCLUDED.created_by, comment = EXCLUDED.comment`;
}

/** Silences by `startsAt`, optionally only those active at a time. */
export function selectSilences(query: SilenceQuery): Sql {
  const conditions: Sql[] = [];
  if (query.activeAt !== undefined) {
    const at = ms(query.activeAt);
    conditions.push(sql`starts_at <= ${at}`, sql`ends_at > ${at}`);
  }
  return sql`SELECT * FROM silences ${where(conditions)} ORDER BY starts_at, id`;
}

export function deleteSilence(id: string): Sql {
  return sql`DELETE FROM silences WHERE id = ${id}`;
}

// ---------------------------------------------------------------------------------------------
// One-off maintenance windows.

export function insertMaintenanceWindow(w: OneOffWindow): Sql {
  return sql`INSERT INTO maintenance_windows (id, matchers, starts_at, ends_at, created_by, comment, ended_at, ended_by)
    VALUES (${w.id}, ${encodeJson(w.matchers)}, ${w.startsAt}, ${w.endsAt}, ${w.createdBy}, ${w.comment}, ${w.endedAt}, ${w.endedBy})`;
}

/** One-off windows by `startsAt`, optionally only those open at a time. */
export function selectMaintenanceWindows(query: OneOffWindowQuery): Sql {
  const conditions: Sql[] = [];
  if (query.activeAt !== undefined) {
    const at = ms(query.activeAt);
    conditions.push(sql`starts_at <= ${at}`, sql`(ends_at IS NULL OR ends_at > ${at})`);
  }
  return sql`SELECT * FROM maintenance_windows ${where(conditions)} ORDER BY starts_at, id`;
}

export function selectMaintenanceWindow(id: string): Sql {
  return sql`SELECT * FROM maintenance_windows WHERE id = ${id}`;
}

/** Ends a window not yet over at `at` (never before its start); changes no row when it is over already. */
export function endMaintenanceWindow(id: string, at: number, by: string): Sql {
  const t = ms(at);
  return sql`UPDATE maintenance_windows
    SET ends_at = CASE WHEN starts_at > ${t} THEN starts_at ELSE ${t} END, ended_at = ${t}, ended_by = ${by}
    WHERE id = ${id} AND (ends_at IS NULL OR ends_at > ${t})`;
}

// ---------------------------------------------------------------------------------------------
// Canary baselines.

/** Inserts a baseline unless (check, version, status, digest) is there; RETURNING the row when inserted. */
export function insertBaseline(b: BaselineRowInput): Sql {
  return sql`INSERT INTO baselines (id, check_id, model_version, status, source, recorded_at, stored_at, digest, body)
    VALUES (${b.id}, ${b.checkId}, ${b.modelVersion}, ${b.status}, ${b.source}, ${b.recordedAt}, ${b.storedAt}, ${b.digest}, ${b.body})
    ON CONFLICT (check_id, model_version, status, digest) DO NOTHING
    RETURNING *`;
}

/** The baseline stored with the same content at (check, version, status). */
export function selectBaselineByDigest(
  checkId: string,
  modelVersion: string,
  status: string,
  digest: string,
): Sql {
  return sql`SELECT * FROM baselines WHERE check_id = ${checkId} AND model_version = ${modelVersion}
    AND status = ${status} AND digest = ${digest}`;
}

/** Baselines, newest stored first. */
export function selectBaselines(query: BaselineQuery): Sql {
  const conditions: Sql[] = [];
  if (query.checkId !== undefined) conditions.push(sql`check_id = ${query.checkId}`);
  if (query.modelVersion !== undefined) conditions.push(sql`model_version = ${query.modelVersion}`);
  if (query.status !== undefined) conditions.push(sql`status = ${query.status}`);
  const limit = query.limit === undefined ? empty : sql`LIMIT ${checkLimit(query.limit)}`;
  return sql`SELECT * FROM baselines ${where(conditions)} ORDER BY stored_at DESC, recorded_at DESC, id ${limit}`;
}

/** Deletes the provisional baselines of (check, version) (after one was promoted). */
export function deleteProvisionalBaselines(checkId: string, modelVersion: string): Sql {
  return sql`DELETE FROM baselines WHERE check_id = ${checkId} AND model_version = ${modelVersion} AND status = 'provisional'`;
}

// ---------------------------------------------------------------------------------------------
// Rollups and retention.

const MINUTE = raw(String(MINUTE_MS));

/**
 * Adds the results of `source` (a table or CTE with the results' columns, and any WHERE) to their
 * minutes' rollups. `GROUP BY` ends the SELECT, so SQLite does not read `ON CONFLICT` as a join's `ON`.
 */
function foldIntoRollups(d: Dialect, source: Sql): Sql {
  return sql`INSERT INTO result_rollups
      (check_id, region, minute, count, failures, degraded, sum_duration_ms, max_duration_ms)
    SELECT check_id, region, (started_at / ${MINUTE}) * ${MINUTE}, count(*),
      count(*) FILTER (WHERE outcome = 'fail'), count(*) FILTER (WHERE outcome = 'degraded'),
      sum(duration_ms), max(duration_ms)
    FROM ${source} GROUP BY 1, 2, 3
    ON CONFLICT (check_id, region, minute) DO UPDATE SET
      count = result_rollups.count + EXCLUDED.count,
      failures = result_rollups.failures + EXCLUDED.failures,
      degraded = result_rollups.degraded + EXCLUDED.degraded,
      sum_duration_ms = result_rollups.sum_duration_ms + EXCLUDED.sum_duration_ms,
      max_duration_ms = ${raw(d.greatest)}(result_rollups.max_duration_ms, EXCLUDED.max_duration_ms)`;
}

/** The statements of one prune, in one transaction, and how to read its report from their results. */
export function pruneStatements(
  d: Dialect,
  cut: PruneCutoffs,
): { statements: Sql[]; report(results: readonly QueryResult[]): PruneReport } {
  const fold = d.foldResults(cut.raw);
  const n = fold.statements.length;
  return {
    statements: [
      ...fold.statements,
      sql`DELETE FROM result_rollups WHERE minute < ${cut.rollups}`,
      sql`DELETE FROM outbox WHERE status <> 'pending' AND created_at < ${cut.notifications}`,
      sql`DELETE FROM silences WHERE ends_at < ${cut.silences}`,
      sql`DELETE FROM maintenance_windows WHERE ends_at < ${cut.silences}`,
      sql`DELETE FROM ingested_results WHERE received_at < ${cut.raw}`,
    ],
    report: (results) => ({
      cutoff: cut.raw,
      rolledUp: fold.rolledUp(results.slice(0, n)),
      rollupsDeleted: results[n]?.rowCount ?? 0,
      notificationsDeleted: results[n + 1]?.rowCount ?? 0,
      silencesDeleted: results[n + 2]?.rowCount ?? 0,
      maintenanceWindowsDeleted: results[n + 3]?.rowCount ?? 0,
      resultIdsDeleted: results[n + 4]?.rowCount ?? 0,
    }),
  };
}

/** One check's rollups, by minute then region. */
export function selectRollups(checkId: string, query: RollupQuery): Sql {
  const conditions = [sql`check_id = ${checkId}`];
  if (query.region !== undefined) conditions.push(sql`region = ${query.region}`);
  if (query.since !== undefined) conditions.push(sql`minute >= ${ms(query.since)}`);
  if (query.until !== undefined) conditions.push(sql`minute < ${ms(query.until)}`);
  return sql`SELECT * FROM result_rollups ${where(conditions)} ORDER BY minute, region`;
}

// ---------------------------------------------------------------------------------------------
// Migrations (the `schema_migrations` bookkeeping; each backend's DDL is its own).

export const selectMigrationVersions: Sql = sql`SELECT version FROM schema_migrations`;

export const selectAppliedMigrations: Sql = sql`SELECT version, name, applied_at FROM schema_migrations ORDER BY version`;

export function isMigrationApplied(version: number): Sql {
  return sql`SELECT 1 AS applied FROM schema_migrations WHERE version = ${version}`;
}

export function recordMigration(version: number, name: string, appliedAt: number): Sql {
  return sql`INSERT INTO schema_migrations (version, name, applied_at) VALUES (${version}, ${name}, ${appliedAt})`;
}

// ---------------------------------------------------------------------------------------------
// Agents (migration 7).

/** Replaces an agent's row. */
export function upsertAgent(region: string, lastReportAt: number, info: unknown): Sql {
  return sql`INSERT INTO agents (region, last_report_at, info) VALUES (${region}, ${lastReportAt}, ${encodeJson(info)})
    ON CONFLICT (region) DO UPDATE SET last_report_at = EXCLUDED.last_report_at, info = EXCLUDED.info`;
}

/** Every agent row. */
export const selectAgents = sql`SELECT region, last_report_at, info FROM agents ORDER BY region`;

// ---------------------------------------------------------------------------------------------
// Canary drift state (migration 9).

/** Replaces a canary check's state. */
export function upsertCanaryState(checkId: string, updatedAt: number, state: unknown): Sql {
  return sql`INSERT INTO canary_states (check_id, updated_at, state) VALUES (${checkId}, ${updatedAt}, ${encodeJson(state)})
    ON CONFLICT (check_id) DO UPDATE SET updated_at = EXCLUDED.updated_at, state = EXCLUDED.state`;
}

/** One canary check's state. */
export function selectCanaryState(checkId: string): Sql {
  return sql`SELECT check_id, updated_at, state FROM canary_states WHERE check_id = ${checkId}`;
}

/** Deletes a canary check's state. */
export function deleteCanaryState(checkId: string): Sql {
  return sql`DELETE FROM canary_states WHERE check_id = ${checkId}`;
}
