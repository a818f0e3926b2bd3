/**
 * The dashboard's live model: every check's status as a tile shows it, loaded once from
 * `/api/v1/status/overview` (targets said once, checks as columns, no last results: at 10,000 checks
 * about half the bytes of `/api/v1/status?view=summary&recent=true`, and gzip-compressed) and kept
 * current by the hub's server-sent events (`/api/v1/events?results=1`), without reloading.
 *
 * Events that arrive while a load is in flight are held, then applied if they are newer than the
 * snapshot (their id above its `eventId`): before, each result of a check the page had not loaded yet
 * made it fetch the whole status a second time.
 *
 * Updates are applied as they arrive but announced to the views at most every {@link NOTIFY_MS}: at
 * 2,000 checks on a 10 s interval that is 200 events/s, and one render per event would be waste.
 * After a lost connection the stream reconnects by itself (the hub's `retry:`), and the model is
 * reloaded whole, so nothing missed while disconnected stays wrong.
 */
import type { StatusOverview } from '../../src/api/overview.js';
import type { CheckStatus, DeferralEvent } from '../../src/hub/types.js';
import type { FlapEvent, ProbeResult, Transition } from '../../src/types.js';
import { getJson } from './http.js';

/** A check's status without its last result, plus its recent durations (the sparkline). */
export interface Row extends Omit<CheckStatus, 'lastResult'> {
  recentMs: number[];
}

/** Sparkline length: the hub keeps 30 (`RECENT_DURATIONS`). */
const RECENT = 30;
/** Views are told of changes at most this often, in ms. */
export const NOTIFY_MS = 250;

export type Connection = 'connecting' | 'live' | 'reconnecting';

const rowKey = (checkId: string, region: string) => `${checkId}\u0000${region}`;

/** The overview answer's columns as rows; a target's labels object is shared by its rows. */
export function rowsOf({ targets, checks: c }: StatusOverview): Map<string, Row> {
  const rows = new Map<string, Row>();
  for (let i = 0; i < c.target.length; i++) {
    const target = targets[c.target[i] as number];
    if (target === undefined) continue;
    const check = c.check[i] as Row['check'];
    const row: Row = {
      checkId: c.checkId[i] ?? `${target.name}/${check}`,
      target: target.name,
      check,
      region: c.region[i] as string,
      state: c.state[i] as Row['state'],
      since: c.since[i] as number,
      flapping: c.flapping[i] === true,
      consecutiveFailures: c.consecutiveFailures[i] as number,
      labels: target.labels,
      recentMs: c.recentMs[i] ?? [],
    };
    if (target.model !== undefined) row.model = target.model;
    const lastKnown = c.lastKnown[i];
    if (lastKnown != null) row.lastKnown = lastKnown;
    const modelVersion = c.modelVersion[i];
    if (modelVersion != null) row.modelVersion = modelVersion;
    const deferred = c.deferred[i];
    if (deferred != null) row.deferred = deferred;
    rows.set(rowKey(row.checkId, row.region), row);
  }
  return rows;
}

/** The live model; one per page. */
export class Live {
  /** By check id and region; each Row is replaced (never mutated) when it changes, so views can memoise. */
  rows = new Map<string, Row>();
  connection: Connection = 'connecting';
  loaded = false;
  error: string | undefined;
  /** Bumped on every transition: pages showing history refetch on it. */
  transitions = 0;
  /** Bumped when the set of checks is (re)loaded: lists derived from it (regions, labels) recompute. */
  structure = 0;
  readonly #listeners = new Set<() => void>();
  readonly #resultListeners = new Set<(result: ProbeResult) => void>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #source: EventSource | undefined;
  #lostConnection = false;
  /** Loads in flight; while any is, events are held in {@link #held} (with their ids). */
  #loading = 0;
  #held: Array<[id: number, apply: () => void]> = [];
  /** The `eventId` of the last snapshot loaded: held events up to it are in it already. */
  #snapshotEventId = 0;

  /** Loads the status and opens the event stream. */
  start(): void {
    void this.load();
    const source = new EventSource('api/v1/events?results=1');
    this.#source = source;
    source.addEventListener('open', () => {
      this.connection = 'live';
      if (this.#lostConnection) void this.load();
      this.#lostConnection = false;
      this.#notify();
    });
    source.addEventListener('error', () => {
      this.connection = 'reconnecting';
      this.#lostConnection = true;
      this.#notify();
    });
    source.addEventListener('result', (e) => {
      const result = JSON.parse((e as MessageEvent).data) as ProbeResult;
      // The check page's listeners hear every result at once; the rows wait for the snapshot.
      for (const l of this.#resultListeners) l(result);
      this.#apply(e as MessageEvent, () => this.#onResult(result));
    });
    source.addEventListener('transition', (e) =>
      this.#apply(e as MessageEvent, () => this.#onTransition(JSON.parse((e as MessageEvent).data))),
    );
    source.addEventListener('flap', (e) =>
      this.#apply(e as MessageEvent, () => this.#onFlap(JSON.parse((e as MessageEvent).data))),
    );
    source.addEventListener('deferral', (e) =>
      this.#apply(e as MessageEvent, () => this.#onDeferral(JSON.parse((e as MessageEvent).data))),
    );
  }

  stop(): void {
    this.#source?.close();
    clearTimeout(this.#timer);
  }

  async load(): Promise<void> {
    this.#loading++;
    try {
      const overview = await getJson<StatusOverview>('api/v1/status/overview');
      this.rows = rowsOf(overview);
      this.#snapshotEventId = overview.eventId;
      this.loaded = true;
      this.structure++;
      this.error = undefined;
    } catch (err) {
      this.error = `could not load the status: ${(err as Error).message}`;
    } finally {
      this.#loading--;
    }
    if (this.#loading === 0) {
      const held = this.#held;
      this.#held = [];
      // Events the snapshot already reflects are skipped; one without an id is applied.
      for (const [id, apply] of held) if (id > this.#snapshotEventId || id === 0) apply();
    }
    // At once, not through the throttle: the first paint should not wait NOTIFY_MS.
    clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const l of this.#listeners) l();
  }

  /** Calls `listener` (at most every {@link NOTIFY_MS}) after changes; returns the unsubscribe function. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` for every probe result as it arrives. */
  onResult(listener: (result: ProbeResult) => void): () => void {
    this.#resultListeners.add(listener);
    return () => this.#resultListeners.delete(listener);
  }

  #update(checkId: string, region: string, change: (row: Row) => Partial<Row>): void {
    const key = rowKey(checkId, region);
    const row = this.rows.get(key);
    if (row === undefined) {
      // A check the page has not seen (config reloaded): fetch the whole status again.
      this.#reloadSoon();
      return;
    }
    this.rows.set(key, { ...row, ...change(row) });
    this.#notify();
  }

  /**
   * Applies an event now, or holds it while a load is in flight; skips it when the last snapshot
   * already reflects it (its id up to the snapshot's `eventId`: two connections, no order between them).
   */
  #apply(e: MessageEvent, apply: () => void): void {
    const id = Number(e.lastEventId) || 0;
    if (this.#loading > 0) this.#held.push([id, apply]);
    else if (id === 0 || id > this.#snapshotEventId) apply();
  }

  #onResult(result: ProbeResult): void {
    this.#update(result.checkId, result.region, (row) => {
      const recentMs = row.recentMs.length >= RECENT ? row.recentMs.slice(1) : row.recentMs.slice();
      recentMs.push(Math.round(result.durationMs * 10) / 10);
      const change: Partial<Row> = {
        recentMs,
        consecutiveFailures: result.outcome === 'fail' ? row.consecutiveFailures + 1 : 0,
      };
      if (result.modelVersion !== undefined) change.modelVersion = result.modelVersion;
      return change;
    });
  }

  #onTransition(t: Transition): void {
    this.transitions++;
    this.#update(t.checkId, t.region, (row) => {
      const change: Partial<Row> = { state: t.to, since: t.at };
      // Into stale: what it was; out of it: nothing (the row's lastKnown is dropped below).
      if (t.to === 'stale' && t.lastKnown !== undefined)
        change.lastKnown = { state: t.lastKnown, since: row.since };
      else change.lastKnown = undefined;
      return change;
    });
  }

  #onFlap(f: FlapEvent): void {
    this.#update(f.checkId, f.region, () => ({ flapping: f.flapping }));
  }

  #onDeferral(d: DeferralEvent): void {
    this.#update(d.checkId, d.region, () => ({ deferred: d.deferred ?? undefined }));
  }

  #reloadTimer: ReturnType<typeof setTimeout> | undefined;
  #reloadSoon(): void {
    this.#reloadTimer ??= setTimeout(() => {
      this.#reloadTimer = undefined;
      void this.load();
    }, 1000);
  }

  #notify(): void {
    this.#timer ??= setTimeout(() => {
      this.#timer = undefined;
      for (const l of this.#listeners) l();
    }, NOTIFY_MS);
  }
}
