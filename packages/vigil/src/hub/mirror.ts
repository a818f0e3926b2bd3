/**
 * A cluster hub's view of the checks other hubs own (`vigil run --cluster`): every `intervalMs` it
 * reads the stored states (so its status and dashboard show every check) and the transitions
 * stored since the last read (so its event stream carries the transitions decided on other hubs).
 *
 * Polling, not LISTEN/NOTIFY: a poll is two indexed reads per hub per interval whatever happens,
 * and it needs no connection held open per hub nor a trigger on the hot write path; a transition
 * reaches another hub's stream within `intervalMs` plus the decider's write (BENCHMARKS.md,
 * "Several hubs", measures the cost).
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

const idOf = (t: Transition) => `${t.checkId}\u0000${t.region}\u0000${t.at}\u0000${t.to}`;

export function createMirror(options: MirrorOptions): Mirror {
  const { store } = options;
  /** Published (or decided here) transitions, by id, with their time: pruned past the overlap. */
  const published = new Map<string, number>();
  let since = Date.now();
  let timer: NodeJS.Timeout | undefined;
  let polling = false;
  let failing = false;

  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    const startedAt = Date.now();
    try {
      for (const s of await store.loadStates()) {
        if (s.region === options.region && options.isOthers(s.checkId)) options.apply(s);
      }
      // Newest first from the store: published oldest first.
      const recent = await store.transitions({ since: since - OVERLAP_MS, region: options.region });
      for (let i = recent.length - 1; i >= 0; i--) {
        const t = recent[i] as Transition;
        const id = idOf(t);
        if (published.has(id) || !options.isOthers(t.checkId)) continue;
        published.set(id, t.at);
        options.publish(t);
      }
      since = startedAt;
      for (const [id, at] of published) if (at < since - 2 * OVERLAP_MS) published.delete(id);
      if (failing) options.log('info', 'cluster: reading other hubs’ states works again');
      failing = false;
    } catch (err) {
      if (!failing) options.log('warn', `cluster: cannot read other hubs’ states: ${(err as Error).message}`);
      failing = true;
    } finally {
      polling = false;
    }
  }

  return {
    start() {
      since = Date.now();
      timer = setInterval(() => void poll(), options.intervalMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
    },
    seen(t) {
      published.set(idOf(t), t.at);
    },
  };
}
