/**
 * A cluster hub's view of the checks other hubs own (`vigil run --cluster`): every `intervalMs` it
 * reads the stored states (so its status and dashboard show every check) and the transitions
 * stored since the last read (so its event stream carries the transitions decided on other hubs).
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

/** Transitions are read again this far back at each poll: a decider's clock and its write may lag. */
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
}

/** The store keeps whole ms; the decider publishes `at` with its fraction: both give one id. */
const idOf = (t: Transition) => `${t.checkId}\u0000${t.region}\u0000${Math.trunc(t.at)}\u0000${t.to}`;

export function createMirror(options: MirrorOptions): Mirror {
  const { store } = options;
  /** Published (or decided here) transitions, by id, with their time: pruned past the overlap. */
  const published = new Map<string, number>();
  let since = Date.now();
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
      for (const s of await store.loadStates()) {
        if (s.region === options.region && options.isOthers(s.checkId)) options.apply(s);
      }
      await readTransitions(startedAt);
      if (failing) options.log('info', 'cluster: reading other hubs’ states works again');
      failing = false;
    } catch (err) {
      if (!failing) options.log('warn', `cluster: cannot read other hubs’ states: ${(err as Error).message}`);
      failing = true;
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
  };
}
