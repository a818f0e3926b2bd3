/**
 * A cluster hub's view of the checks other hubs own (`vigil run --cluster`): every `intervalMs` it
 * reads the states written since its last read (so its status and dashboard show every check) and
 * the transitions stored since the last read (so its event stream carries the transitions decided on
 * other hubs).
 *
 * States: each write stamps its rows with the writer's clock (`written_at`, migration 11), and a poll
 * reads those stamped since its previous read began, less {@link OVERLAP_MS}: one indexed range read of
 * what changed, not every state of the cluster every second. A poll reads every state instead at the
 * first poll after `start()`, after a failed read, after the watch reconnects, and after
 * {@link Mirror.readAll} (the hub calls it when its plan or ownership changed: a check newly another
 * hub's may not have been written for a while). That is enough because a state is only ever replaced
 * whole by a later write, which stamps it again: a write missed by one read carries a stamp after the
 * previous read began, minus the overlap, as long as the writer's clock trails this hub's by less than
 * the overlap and its commit lands within it (the same bound the transitions already rely on). What
 * the overlap cannot cover (a clock far behind, a database restored or failed over, an outage of
 * unknown length, rows stored before migration 11, stamped 0) a full read does, and a full read
 * happens at every start and after every failure or reconnect.
 *
 * When the store can tell of stored transitions (`Store.watchTransitions`: PostgreSQL's
 * LISTEN/NOTIFY), a notification naming a check of another hub reads the recent transitions at once
 * (one indexed range read, whatever the check count): the event stream then lags the decider by the
 * commit and one read, not by up to `intervalMs`. Polling stays: it is what catches up after the
 * listening connection was lost (a notification sent meanwhile is gone), it keeps the states fresh,
 * and it is the whole mechanism on a store without notifications. BENCHMARKS.md ("Several hubs")
 * measures both.
 */
import type { Store } from '../store/types.js';
import type { EvalState, Transition } from '../types.js';

/**
 * Transitions and states are read again this far back at each poll: a writer's clock and its commit
 * may lag this hub's.
 */
const OVERLAP_MS = 10_000;

/** Options of {@link createMirror}. */
export interface MirrorOptions {
  store: Store;
  /** This hub's region: only its states are mirrored. */
  region: string;
  intervalMs: number;
  /** Whether a check is another hub's now (planned here, not owned). */
  isOthers(checkId: string): boolean;
  apply(state: EvalState): void;
  publish(transition: Transition): void;
  log: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** See the module doc. */
export interface Mirror {
  start(): void;
  stop(): void;
  /** A transition this hub decided (or already published): never published again by the mirror. */
  seen(transition: Transition): void;
  /** The next poll reads every stored state (see the module doc), not only those written since the last. */
  readAll(): void;
}

/** The store keeps whole ms; the decider publishes `at` with its fraction: both give one id. */
const idOf = (t: Transition) => `${t.checkId}\u0000${t.region}\u0000${Math.trunc(t.at)}\u0000${t.to}`;

export function createMirror(options: MirrorOptions): Mirror {
  const { store } = options;
  /** Published (or decided here) transitions, by id, with their time: pruned past the overlap. */
  const published = new Map<string, number>();
  let since = Date.now();
  /** When the last successful read of the states began (this hub's clock). */
  let statesReadAt = 0;
  /** Whether the next poll reads every state (see the module doc). */
  let readAllNext = true;
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let failing = false;

  /** Publishes the transitions of other hubs' checks stored since the last read (and the overlap). */
  async function readTransitions(startedAt: number): Promise<void> {
    // Newest first from the store: published oldest first.
    const recent = await store.transitions({ since: since - OVERLAP_MS, region: options.region });
    for (let i = recent.length - 1; i >= 0; i--) {
      const t = recent[i] as Transition;
      const id = idOf(t);
      if (published.has(id) || !options.isOthers(t.checkId)) continue;
      published.set(id, t.at);
      options.publish(t);
    }
    since = Math.max(since, startedAt);
    for (const [id, at] of published) if (at < since - 2 * OVERLAP_MS) published.delete(id);
  }

  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    const startedAt = Date.now();
    try {
      // Cleared before the read: a readAll() while it runs holds for the next poll.
      const query = readAllNext ? {} : { writtenSince: statesReadAt - OVERLAP_MS };
      readAllNext = false;
      for (const s of await store.loadStates(query)) {
        if (s.region === options.region && options.isOthers(s.checkId)) options.apply(s);
      }
      statesReadAt = startedAt;
      await readTransitions(startedAt);
      if (failing) options.log('info', 'cluster: reading other hubs’ states works again');
      failing = false;
    } catch (err) {
      if (!failing) options.log('warn', `cluster: cannot read other hubs’ states: ${(err as Error).message}`);
      failing = true;
      readAllNext = true;
    } finally {
      polling = false;
    }
  }

  /** A notification's read; one at a time, and one more if notified while it ran. */
  let reading: Promise<void> | undefined;
  let readAgain = false;
  function notified(): void {
    if (reading !== undefined) {
      readAgain = true;
      return;
    }
    reading = (async () => {
      do {
        readAgain = false;
        // Failures are the poll's to report; it runs anyway.
        await readTransitions(Date.now()).catch(() => {});
      } while (readAgain && !stopped);
      reading = undefined;
    })();
  }

  let watch: { stop(): Promise<void> } | undefined;
  let stopped = false;
  let listenFailing = false;

  return {
    start() {
      since = Date.now();
      readAllNext = true;
      timer = setInterval(() => void poll(), options.intervalMs);
      timer.unref();
      watch = store.watchTransitions?.({
        stored: (checkIds) => {
          if (checkIds === undefined || checkIds.some((id) => options.isOthers(id))) notified();
        },
        reconnected: () => {
          if (listenFailing) options.log('info', 'cluster: listening for other hubs’ transitions again');
          listenFailing = false;
          // What was notified while the connection was down is read now, not at the next poll.
          readAllNext = true;
          void poll();
        },
        lost: (err) => {
          if (!listenFailing)
            options.log(
              'warn',
              `cluster: not listening for other hubs’ transitions (${err.message}); polling every ${options.intervalMs} ms until it reconnects`,
            );
          listenFailing = true;
        },
      });
    },
    stop() {
      stopped = true;
      clearInterval(timer);
      void watch?.stop();
      watch = undefined;
    },
    seen(t) {
      published.set(idOf(t), t.at);
    },
    readAll() {
      readAllNext = true;
    },
  };
}
