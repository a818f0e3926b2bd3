/**
 * LISTEN/NOTIFY of stored transitions (`Store.watchTransitions`): the trigger of migration 10 calls
 * `pg_notify(<channel>, <check ids>)` from the transaction that stores a transition, and PostgreSQL
 * delivers it at commit to every connection listening on the channel. One listening connection per
 * watch (a `pg.Client`, not the pool's: LISTEN belongs to a session), reopened after it is lost.
 *
 * The channel is per schema (`vigil_transitions.<schema>`, cut to PostgreSQL's 63 bytes), so stores in
 * different schemas of one database do not wake each other; the payload is the check ids, one per
 * line, or empty when they do not fit in one notification (the listener then reads everything).
 */
import pg from 'pg';
import type { TransitionWatch } from './types.js';

/** The channel of a schema's transitions; the trigger builds the same name from `current_schema()`. */
export function transitionsChannel(schema: string): string {
  return `vigil_transitions.${schema}`.slice(0, 63);
}

/**
 * The function and trigger of migration 10. Ids joined with newlines (a check id has none); past
 * 7 000 bytes the payload is empty (PostgreSQL refuses 8 000 and more).
 */
export const NOTIFY_TRANSITIONS_SQL = `
  CREATE FUNCTION vigil_notify_transitions() RETURNS trigger LANGUAGE plpgsql AS $$
  DECLARE ids text;
  BEGIN
    SELECT string_agg(DISTINCT check_id, E'\\n') INTO ids FROM stored;
    IF ids IS NULL THEN RETURN NULL; END IF;
    IF octet_length(ids) > 7000 THEN ids := ''; END IF;
    PERFORM pg_notify(left('vigil_transitions.' || current_schema(), 63), ids);
    RETURN NULL;
  END $$;
  CREATE TRIGGER transitions_notify AFTER INSERT ON transitions
    REFERENCING NEW TABLE AS stored FOR EACH STATEMENT EXECUTE FUNCTION vigil_notify_transitions();
`;

const FIRST_RETRY_MS = 500;
const MAX_RETRY_MS = 10_000;

/** Options of {@link listenTransitions}. */
export interface ListenOptions {
  connectionString: string;
  schema: string;
  /** `search_path`, when the store has a schema of its own. */
  searchPath?: string;
  /** Connect timeout, ms. */
  connectionTimeoutMs: number;
}

/** Listens until `stop()`; see the module doc. Never throws: a failed (re)connect is retried. */
export function listenTransitions(options: ListenOptions, watch: TransitionWatch): { stop(): Promise<void> } {
  const channel = transitionsChannel(options.schema);
  let client: pg.Client | undefined;
  let stopped = false;
  /** A connect failed or a connection was lost since the last one that worked. */
  let missed = false;
  let retryMs = FIRST_RETRY_MS;
  let timer: NodeJS.Timeout | undefined;

  const retry = (err: Error) => {
    if (stopped) return;
    missed = true;
    watch.lost?.(err);
    clearTimeout(timer);
    timer = setTimeout(() => void connect(), retryMs);
    timer.unref();
    retryMs = Math.min(MAX_RETRY_MS, retryMs * 2);
  };

  async function connect(): Promise<void> {
    if (stopped) return;
    const c = new pg.Client({
      connectionString: options.connectionString,
      connectionTimeoutMillis: options.connectionTimeoutMs,
      application_name: 'vigil-listen',
      // Dead peers are noticed by the OS, not only at the next query (a listener sends none).
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      ...(options.searchPath === undefined ? {} : { options: `-c search_path=${options.searchPath}` }),
    });
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      if (client === c) client = undefined;
      c.end().catch(() => {});
      retry(err);
    };
    c.on('error', fail);
    c.on('end', () => fail(new Error('the listening connection ended')));
    c.on('notification', (n) => {
      if (n.channel !== channel) return;
      watch.stored(n.payload === undefined || n.payload === '' ? undefined : n.payload.split('\n'));
    });
    try {
      await c.connect();
      await c.query(`LISTEN "${channel.replaceAll('"', '""')}"`);
    } catch (err) {
      fail(err as Error);
      return;
    }
    if (stopped || failed) {
      await c.end().catch(() => {});
      return;
    }
    client = c;
    retryMs = FIRST_RETRY_MS;
    if (missed) watch.reconnected();
    missed = false;
  }

  void connect();
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const c = client;
      client = undefined;
      c?.removeAllListeners('end');
      c?.removeAllListeners('error');
      c?.on('error', () => {});
      await c?.end().catch(() => {});
    },
  };
}
