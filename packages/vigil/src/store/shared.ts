/**
 * What both backends share: the JSON codec of the nested columns, row ↔ object mapping, argument checks.
 * Rows use the schema's snake_case column names, identical on every backend.
 */
import { createHash, randomUUID } from 'node:crypto';
import { regexProblem } from '../assertions/regex.js';
import { parseBaseline, serialiseBaseline } from '../canary/baseline.js';
import type { CheckState, EvalState, Incident, ProbeResult, Transition } from '../types.js';
import { StoreError } from './errors.js';
import type {
  ActionRun,
  ActionRunStatus,
  BaselineInput,
  BaselineStatus,
  Notification,
  NotificationStatus,
  OneOffWindow,
  OneOffWindowInput,
  PruneOptions,
  Rollup,
  Silence,
  SilenceInput,
  SilenceMatcher,
  StoredBaseline,
} from './types.js';
import {
  DEFAULT_NOTIFICATION_RETENTION_MS,
  DEFAULT_RAW_RETENTION_MS,
  DEFAULT_ROLLUP_RETENTION_MS,
  DEFAULT_SILENCE_RETENTION_MS,
} from './types.js';

/** Rollup granularity. */
export const MINUTE_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// JSON columns. JSON has no NaN, ±Infinity or bigint, yet an assertion failure may well report
// `actual: NaN`. Such values are written as a tagged object and revived on read, so they round-trip.

const TAG = '$vigil';
const TAG_MARK = `"${TAG}"`;

function replacer(_key: string, value: unknown): unknown {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    return { [TAG]: String(value) };
  }
  if (typeof value === 'bigint') return { [TAG]: `${value}n` };
  return value;
}

/** What a tag may hold: a non-finite number's name, or a bigint's digits with a trailing `n`. */
const TAGGED_VALUE = /^(?:NaN|-?Infinity|-?\d+n)$/;

function reviver(_key: string, value: unknown): unknown {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    const tagged = (value as Record<string, unknown>)[TAG];
    if (typeof tagged === 'string' && TAGGED_VALUE.test(tagged) && Object.keys(value).length === 1) {
      return tagged.endsWith('n') ? BigInt(tagged.slice(0, -1)) : Number(tagged);
    }
  }
  return value;
}

/** JSON text of `value`; NaN, ±Infinity and bigints are tagged so that {@link decodeJson} revives them. */
export function encodeJson(value: unknown): string {
  return JSON.stringify(value, replacer);
}

/** Plain JSON.stringify, for values known to hold only JSON (the hot path: passing results). */
function encodePlain(value: unknown): string {
  return JSON.stringify(value);
}

/** Parses a JSON column; the reviver runs only when the text holds a tag (it rarely does). */
export function decodeJson<T>(text: string): T {
  return (text.includes(TAG_MARK) ? JSON.parse(text, reviver) : JSON.parse(text)) as T;
}

// ---------------------------------------------------------------------------------------------
// Results.

/** The nested part of a ProbeResult, stored as one JSON column `detail`. */
interface ResultDetail {
  target: string;
  check: ProbeResult['check'];
  phases: ProbeResult['phases'];
  failures: ProbeResult['failures'];
  error?: ProbeResult['error'];
  /** Conditions an adapter saw that do not decide the verdict (e.g. the server-wide state). */
  notes?: ProbeResult['notes'];
  /** Only when not a probe's (`traffic`): no column, no migration. */
  source?: 'traffic';
  stream?: ProbeResult['stream'];
  readings?: ProbeResult['readings'];
}

/** Column values of one result, in the order of `RESULTS_INSERT`'s columns (`queries.ts`). */
export type ResultRowValues = [
  checkId: string,
  region: string,
  startedAt: number,
  durationMs: number,
  outcome: string,
  httpStatus: number | null,
  errorCode: string | null,
  modelVersion: string | null,
  detail: string,
];

/** Whole milliseconds: both backends store times as integers. */
export function ms(time: number): number {
  return Math.floor(time);
}

/** The row of one result. Failures are rare, so the tagging replacer runs only when there are some. */
export function resultRow(r: ProbeResult): ResultRowValues {
  const detail: ResultDetail = { target: r.target, check: r.check, phases: r.phases, failures: r.failures };
  if (r.error !== undefined) detail.error = r.error;
  if (r.notes !== undefined && r.notes.length > 0) detail.notes = r.notes;
  if (r.source === 'traffic') detail.source = 'traffic';
  if (r.stream !== undefined) detail.stream = r.stream;
  if (r.readings !== undefined) detail.readings = r.readings;
  return [
    r.checkId,
    r.region,
    ms(r.startedAt),
    r.durationMs,
    r.outcome,
    r.httpStatus ?? null,
    r.error?.code ?? null,
    r.modelVersion ?? null,
    r.failures.length > 0 || r.error !== undefined ? encodeJson(detail) : encodePlain(detail),
  ];
}

/** A `results` row as read back. */
export interface ResultRow {
  check_id: string;
  region: string;
  started_at: number;
  duration_ms: number;
  outcome: ProbeResult['outcome'];
  http_status: number | null;
  model_version: string | null;
  detail: string;
}

/** Rebuilds the ProbeResult: optional fields absent (not undefined) when they were absent on write. */
export function resultFromRow(row: ResultRow): ProbeResult {
  const d = decodeJson<ResultDetail>(row.detail);
  const r: ProbeResult = {
    checkId: row.check_id,
    target: d.target,
    check: d.check,
    region: row.region,
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    phases: d.phases,
    outcome: row.outcome,
    failures: d.failures,
  };
  if (row.http_status !== null) r.httpStatus = row.http_status;
  if (d.error !== undefined) r.error = d.error;
  if (d.notes !== undefined) r.notes = d.notes;
  if (d.source === 'traffic') r.source = 'traffic';
  if (d.stream !== undefined) r.stream = d.stream;
  if (d.readings !== undefined) r.readings = d.readings;
  if (row.model_version !== null) r.modelVersion = row.model_version;
  return r;
}

// ---------------------------------------------------------------------------------------------
// Transitions, incidents, states.

/** A `transitions` row as read back. */
export interface TransitionRow {
  check_id: string;
  region: string;
  from_state: CheckState;
  to_state: CheckState;
  at: number;
  reason: string;
  results: string;
}

/** Rebuilds a Transition from its row. */
export function transitionFromRow(row: TransitionRow): Transition {
  return {
    checkId: row.check_id,
    region: row.region,
    from: row.from_state,
    to: row.to_state,
    at: row.at,
    reason: row.reason,
    results: decodeJson<ProbeResult[]>(row.results),
  };
}

/**
 * The `data` column of an evaluator state. Plain JSON.stringify (no tagging replacer, ~4× faster)
 * when none of its results has failures or an error, as for {@link resultRow}: a healthy check's
 * state, which is most of what a checkpoint writes.
 */
export function encodeState(state: EvalState): string {
  const plain = isPlainResult(state.lastResult) && state.streak.every((r) => isPlainResult(r));
  return plain ? encodePlain(state) : encodeJson(state);
}

/**
 * The `eval_states` row of a state, in the order of `STATES_UPSERT`'s columns (`queries.ts`), written
 * at `writtenAt` (ms since epoch, the writer's clock; default now).
 */
export function stateRow(
  state: EvalState,
  writtenAt = Date.now(),
): [string, string, string, number, string, number] {
  return [state.checkId, state.region, state.state, ms(state.since), encodeState(state), ms(writtenAt)];
}

/** A result whose JSON holds only finite numbers: no failures (whose `actual` may be NaN), no error. */
function isPlainResult(r: ProbeResult | null): boolean {
  return r === null || (r.failures.length === 0 && r.error === undefined);
}

/** An `incidents` row as read back. */
export interface IncidentRow {
  id: string;
  check_id: string;
  region: string;
  opened_at: number;
  closed_at: number | null;
  reason: string;
}

/** Rebuilds an Incident from its row. */
export function incidentFromRow(row: IncidentRow): Incident {
  return {
    id: row.id,
    checkId: row.check_id,
    region: row.region,
    openedAt: row.opened_at,
    closedAt: row.closed_at,
    reason: row.reason,
  };
}

/** The states of a batch with one per (checkId, region), the later one winning. */
export function latestStates(states: readonly EvalState[]): EvalState[] {
  if (states.length < 2) return [...states];
  const byKey = new Map<string, EvalState>();
  for (const s of states) byKey.set(`${s.checkId}\u0000${s.region}`, s);
  return [...byKey.values()];
}

// ---------------------------------------------------------------------------------------------
// Outbox and silences.

/** An `outbox` row as read back. */
export interface NotificationRow {
  id: string;
  dedup_key: string;
  notifier: string;
  payload: string;
  created_at: number;
  status: NotificationStatus;
  attempts: number;
  next_attempt_at: number;
  leased_until: number | null;
  delivered_at: number | null;
  last_error: string | null;
}

/** Rebuilds an outbox Notification from its row (payload decoded). */
export function notificationFromRow(row: NotificationRow): Notification {
  return {
    id: row.id,
    dedupKey: row.dedup_key,
    notifier: row.notifier,
    payload: decodeJson<unknown>(row.payload),
    createdAt: row.created_at,
    status: row.status,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    leasedUntil: row.leased_until,
    deliveredAt: row.delivered_at,
    lastError: row.last_error,
  };
}

/** Claim order: due first, then oldest (RETURNING gives no order). */
export function byDueThenCreated(a: Notification, b: Notification): number {
  return a.nextAttemptAt - b.nextAttemptAt || a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1);
}

/** A `silences` row as read back. */
export interface SilenceRow {
  id: string;
  matchers: string;
  starts_at: number;
  ends_at: number;
  created_by: string;
  comment: string;
}

/** Rebuilds a Silence from its row (matchers decoded). */
export function silenceFromRow(row: SilenceRow): Silence {
  return {
    id: row.id,
    matchers: decodeJson<SilenceMatcher[]>(row.matchers),
    startsAt: row.starts_at,
    endsAt: row.ends_at,
    createdBy: row.created_by,
    comment: row.comment,
  };
}

/** A `maintenance_windows` row as read back. */
export interface OneOffWindowRow {
  id: string;
  matchers: string;
  starts_at: number;
  ends_at: number | null;
  created_by: string;
  comment: string;
  ended_at: number | null;
  ended_by: string | null;
}

/** Rebuilds a one-off maintenance window from its row (matchers decoded). */
export function oneOffWindowFromRow(row: OneOffWindowRow): OneOffWindow {
  return {
    id: row.id,
    matchers: decodeJson<SilenceMatcher[]>(row.matchers),
    startsAt: Number(row.starts_at),
    endsAt: row.ends_at === null ? null : Number(row.ends_at),
    createdBy: row.created_by,
    comment: row.comment,
    endedAt: row.ended_at === null ? null : Number(row.ended_at),
    endedBy: row.ended_by,
  };
}

/** Problems with a matcher list, as Alertmanager checks a silence's (at least one, regexes compile). */
function matcherProblems(matchers: readonly SilenceMatcher[], what: string): string[] {
  const problems: string[] = [];
  if (matchers.length === 0) problems.push(`a ${what} needs at least one matcher`);
  for (const [i, m] of matchers.entries()) {
    const problem = m.isRegex ? regexProblem(m.value) : undefined;
    if (problem !== undefined) {
      problems.push(`matchers[${i}].value: not a valid regular expression: ${problem.reason}`);
    }
  }
  return problems;
}

function normaliseMatchers(matchers: readonly SilenceMatcher[]): SilenceMatcher[] {
  return matchers.map((m) =>
    m.isRegex ? { label: m.label, value: m.value, isRegex: true } : { label: m.label, value: m.value },
  );
}

/**
 * Checks a one-off maintenance window as a silence (at least one matcher, regexes compile, an end after
 * the start when given) and gives it an id.
 * @throws StoreError `VIGIL_ERR_STORE_INVALID_ARGUMENT`.
 */
export function normaliseOneOffWindow(input: OneOffWindowInput): OneOffWindow {
  const problems = matcherProblems(input.matchers, 'maintenance window');
  if (input.endsAt !== null && !(input.endsAt > input.startsAt)) {
    problems.push(`endsAt (${input.endsAt}) must be after startsAt (${input.startsAt})`);
  }
  if (problems.length > 0) {
    throw new StoreError(
      'VIGIL_ERR_STORE_INVALID_ARGUMENT',
      `store: invalid maintenance window: ${problems.join('; ')}`,
    );
  }
  return {
    id: newId(),
    matchers: normaliseMatchers(input.matchers),
    startsAt: ms(input.startsAt),
    endsAt: input.endsAt === null ? null : ms(input.endsAt),
    createdBy: input.createdBy,
    comment: input.comment,
    endedAt: null,
    endedBy: null,
  };
}

/**
 * Checks a silence as Alertmanager does (at least one matcher, regexes compile, end after start) and
 * gives it an id.
 * @throws StoreError `VIGIL_ERR_STORE_INVALID_ARGUMENT`.
 */
export function normaliseSilence(input: SilenceInput): Silence {
  const problems = matcherProblems(input.matchers, 'silence');
  if (!(input.endsAt > input.startsAt)) {
    problems.push(`endsAt (${input.endsAt}) must be after startsAt (${input.startsAt})`);
  }
  if (problems.length > 0) {
    throw new StoreError(
      'VIGIL_ERR_STORE_INVALID_ARGUMENT',
      `store: invalid silence: ${problems.join('; ')}`,
    );
  }
  return {
    id: input.id ?? newId(),
    matchers: normaliseMatchers(input.matchers),
    startsAt: ms(input.startsAt),
    endsAt: ms(input.endsAt),
    createdBy: input.createdBy,
    comment: input.comment,
  };
}

// ---------------------------------------------------------------------------------------------
// Rollups and retention.

/** A `result_rollups` row as read back. */
export interface RollupRow {
  check_id: string;
  region: string;
  minute: number;
  count: number;
  failures: number;
  degraded: number;
  sum_duration_ms: number;
  max_duration_ms: number;
}

/** Rebuilds a Rollup from its row. */
export function rollupFromRow(row: RollupRow): Rollup {
  return {
    checkId: row.check_id,
    region: row.region,
    minute: row.minute,
    count: row.count,
    failures: row.failures,
    degraded: row.degraded,
    sumDurationMs: row.sum_duration_ms,
    maxDurationMs: row.max_duration_ms,
  };
}

/** The cutoffs of one prune, defaults applied. */
export interface PruneCutoffs {
  /** Raw results before this (a whole minute) are folded. */
  raw: number;
  rollups: number;
  notifications: number;
  silences: number;
}

/**
 * The cutoffs of one prune, from `now` and the retentions (defaults applied).
 * @throws StoreError `VIGIL_ERR_STORE_INVALID_ARGUMENT` for a negative or non-finite retention.
 */
export function pruneCutoffs(o: PruneOptions): PruneCutoffs {
  const retention = (name: string, value: number | undefined, fallback: number): number => {
    const v = value ?? fallback;
    if (!Number.isFinite(v) || v < 0) {
      throw new StoreError('VIGIL_ERR_STORE_INVALID_ARGUMENT', `store: ${name} must be ≥ 0 ms, got ${v}`);
    }
    return v;
  };
  const now = ms(o.now);
  return {
    raw:
      Math.floor(
        (now - retention('rawRetentionMs', o.rawRetentionMs, DEFAULT_RAW_RETENTION_MS)) / MINUTE_MS,
      ) * MINUTE_MS,
    rollups: now - retention('rollupRetentionMs', o.rollupRetentionMs, DEFAULT_ROLLUP_RETENTION_MS),
    notifications:
      now -
      retention('notificationRetentionMs', o.notificationRetentionMs, DEFAULT_NOTIFICATION_RETENTION_MS),
    silences: now - retention('silenceRetentionMs', o.silenceRetentionMs, DEFAULT_SILENCE_RETENTION_MS),
  };
}

// ---------------------------------------------------------------------------------------------
// Arguments.

/** New ids of incidents, notifications and silences. */
export function newId(): string {
  return randomUUID();
}

/**
 * `limit` as SQL wants it: `null` for none.
 * @throws StoreError `VIGIL_ERR_STORE_INVALID_ARGUMENT` unless a non-negative integer.
 */
export function checkLimit(limit: number | undefined): number | null {
  if (limit === undefined) return null;
  if (!Number.isSafeInteger(limit) || limit < 0) {
    throw new StoreError(
      'VIGIL_ERR_STORE_INVALID_ARGUMENT',
      `store: limit must be an integer ≥ 0, got ${limit}`,
    );
  }
  return limit;
}

/**
 * The version `migrate` should stop at: `to`, or `latest` when absent.
 * @throws StoreError `VIGIL_ERR_STORE_INVALID_ARGUMENT` unless a non-negative integer.
 */
export function checkMigrationTarget(to: number | undefined, latest: number): number {
  if (to === undefined) return latest;
  if (!Number.isSafeInteger(to) || to < 0) {
    throw new StoreError(
      'VIGIL_ERR_STORE_INVALID_ARGUMENT',
      `store: migrate "to" must be an integer ≥ 0, got ${to}`,
    );
  }
  return to;
}

/** An `action_runs` row as read back. */
export interface ActionRunRow {
  id: string;
  idempotency_key: string;
  scope: string;
  action: string;
  kind: string;
  event: ActionRun['event'];
  step: number;
  check_id: string;
  region: string;
  incident_id: string | null;
  transition_at: number;
  reason: string;
  status: ActionRunStatus;
  skip_reason: string | null;
  claimed_at: number;
  finished_at: number | null;
  lease_until: number | null;
  owner: string;
  what: string;
  output: string | null;
}

export function actionRunFromRow(row: ActionRunRow): ActionRun {
  return {
    id: row.id,
    idempotencyKey: row.idempotency_key,
    scope: row.scope,
    action: row.action,
    kind: row.kind,
    event: row.event,
    step: Number(row.step),
    checkId: row.check_id,
    region: row.region,
    incidentId: row.incident_id,
    transitionAt: Number(row.transition_at),
    reason: row.reason,
    status: row.status,
    skipReason: row.skip_reason,
    claimedAt: Number(row.claimed_at),
    finishedAt: row.finished_at === null ? null : Number(row.finished_at),
    leaseUntil: row.lease_until === null ? null : Number(row.lease_until),
    owner: row.owner,
    what: row.what,
    output: row.output,
  };
}

// ---------------------------------------------------------------------------------------------
// Canary baselines.

/** The columns of a `baselines` row, in insert order. */
export interface BaselineRowInput {
  id: string;
  checkId: string;
  modelVersion: string;
  status: string;
  source: string;
  recordedAt: number;
  storedAt: number;
  digest: string;
  body: string;
}

/** A `baselines` row as read back. */
export interface BaselineRow {
  id: string;
  check_id: string;
  model_version: string;
  status: BaselineStatus;
  source: string;
  recorded_at: number;
  stored_at: number;
  digest: string;
  body: string;
}

/** The row of a baseline to store: its serialised form (stable key order) is both body and digest. */
export function baselineRow(id: string, input: BaselineInput): BaselineRowInput {
  const body = serialiseBaseline(input.baseline);
  const recordedAt = Date.parse(input.baseline.recordedAt);
  if (!['reviewed', 'provisional'].includes(input.status) || !Number.isFinite(recordedAt)) {
    throw new StoreError(
      'VIGIL_ERR_STORE_INVALID_ARGUMENT',
      `store: invalid baseline for ${input.checkId}: status ${JSON.stringify(input.status)}, recordedAt ${JSON.stringify(input.baseline.recordedAt)}`,
    );
  }
  return {
    id,
    checkId: input.checkId,
    modelVersion: input.modelVersion,
    status: input.status,
    source: input.source,
    recordedAt,
    storedAt: ms(input.storedAt),
    digest: createHash('sha256').update(body).digest('hex'),
    body,
  };
}

/** Rebuilds a stored baseline from its row (the body parsed and checked as a baseline file is). */
export function baselineFromRow(row: BaselineRow): StoredBaseline {
  return {
    id: row.id,
    checkId: row.check_id,
    modelVersion: row.model_version,
    status: row.status,
    source: row.source,
    recordedAt: Number(row.recorded_at),
    storedAt: Number(row.stored_at),
    digest: row.digest,
    baseline: parseBaseline(row.body, `baseline ${row.id}`),
  };
}
