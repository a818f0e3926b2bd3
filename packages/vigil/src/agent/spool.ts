/**
 * The agent's durable spool: every result is written here first (SQLite, WAL) and deleted only once
 * the hub acknowledged it, so results probed while the hub is unreachable survive a restart and are
 * replayed in order. Bounded: when full, the oldest results are dropped, counted (durably) and
 * reported to the hub with every batch; never silently.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { ProbeResult } from '../types.js';

/** A spooled result: the ProbeResult with the id the hub ingests it once by. */
export type SpooledResult = ProbeResult & { id: string };

/** The agent's spool (see the module comment). */
export interface Spool {
  /** Appends results in order; drops the oldest beyond `maxResults`. */
  append(results: readonly SpooledResult[]): void;
  /** The oldest `limit` results, in the order they were appended, with their sequence numbers. */
  peek(limit: number): { seq: number; result: SpooledResult }[];
  /** Deletes results up to and including sequence `seq` (acknowledged by the hub). */
  ack(seqs: readonly number[]): void;
  /** Drops results that the hub refused for good (counted as dropped). */
  discard(seqs: readonly number[]): void;
  depth(): number;
  /** Results dropped since the spool was created (kept across restarts). */
  dropped(): number;
  close(): void;
}

/** Default bound of the spool: 100,000 results (about 50 MB of JSON at ~500 bytes a result). */
export const DEFAULT_SPOOL_RESULTS = 100_000;

/**
 * Opens (creating) the spool at `path`; `:memory:` for tests that do not restart.
 *
 * @example
 * const spool = openSpool('.vigil/agent-spool.db', { maxResults: 100_000 });
 */
export function openSpool(path: string, options: { maxResults?: number } = {}): Spool {
  const maxResults = options.maxResults ?? DEFAULT_SPOOL_RESULTS;
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE IF NOT EXISTS spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
    INSERT OR IGNORE INTO meta (key, value) VALUES ('dropped', 0);`);
  const insert = db.prepare('INSERT INTO spool (body) VALUES (?)');
  const count = db.prepare('SELECT count(*) AS n FROM spool');
  const oldest = db.prepare('SELECT seq, body FROM spool ORDER BY seq LIMIT ?');
  const remove = db.prepare('DELETE FROM spool WHERE seq = ?');
  const trim = db.prepare('DELETE FROM spool WHERE seq IN (SELECT seq FROM spool ORDER BY seq LIMIT ?)');
  const addDropped = db.prepare("UPDATE meta SET value = value + ? WHERE key = 'dropped'");
  const readDropped = db.prepare("SELECT value FROM meta WHERE key = 'dropped'");
  let depth = (count.get() as { n: number }).n;
  let dropped = (readDropped.get() as { value: number }).value;

  const append = db.transaction((results: readonly SpooledResult[]) => {
    for (const r of results) insert.run(JSON.stringify(r));
    depth += results.length;
    const over = depth - maxResults;
    if (over > 0) {
      trim.run(over);
      addDropped.run(over);
      dropped += over;
      depth -= over;
    }
  });
  const removeAll = db.transaction((seqs: readonly number[], drop: boolean) => {
    let n = 0;
    for (const seq of seqs) n += remove.run(seq).changes;
    depth -= n;
    if (drop && n > 0) {
      addDropped.run(n);
      dropped += n;
    }
  });

  return {
    append: (results) => append(results),
    peek: (limit) =>
      (oldest.all(limit) as { seq: number; body: string }[]).map((row) => ({
        seq: row.seq,
        result: JSON.parse(row.body) as SpooledResult,
      })),
    ack: (seqs) => removeAll(seqs, false),
    discard: (seqs) => removeAll(seqs, true),
    depth: () => depth,
    dropped: () => dropped,
    close: () => db.close(),
  };
}
