/**
 * A HubView for the API tests: a real store (SQLite `:memory:` by default), a settable status list and
 * readiness, and events published by hand. Not a mock of the store; only the live part of the hub is
 * stood in for.
 */
import type { AlertStatus, CheckInfo, CheckStatus, ExchangeView, HubEvent, HubView } from '../hub/types.js';
import type { Store } from '../store/types.js';

/** A {@link HubView} whose status, readiness and events the test controls. */
export interface TestHub extends HubView {
  /** Replaces what `status()` returns. */
  setStatus(checks: CheckStatus[]): void;
  setReady(ready: boolean): void;
  /** What `checkInfo`, `recentDurations`, `lastExchange` and `alerts` answer (by check id). */
  setViews(views: TestViews): void;
  /** Delivers an event to every subscriber, synchronously, as the hub does. */
  publish(event: HubEvent): void;
  /** Subscribers right now. */
  readonly listenerCount: number;
}

/** Canned answers of the hub's view methods; absent ones answer nothing. */
export interface TestViews {
  info?: Record<string, CheckInfo>;
  durations?: Record<string, number[]>;
  exchanges?: Record<string, ExchangeView>;
  alerts?: AlertStatus[];
}

/** Creates a {@link TestHub} over `store`. */
export function createTestHub(store: Store, checks: CheckStatus[] = []): TestHub {
  let status = checks;
  let ready = true;
  let views: TestViews = {};
  const listeners = new Set<(event: HubEvent) => void>();
  return {
    store,
    status: () => status,
    isReady: () => ready,
    checkInfo: (checkId) => views.info?.[checkId],
    recentDurations: (checkId) => views.durations?.[checkId] ?? [],
    lastExchange: (checkId) => views.exchanges?.[checkId],
    alerts: async () => views.alerts ?? [],
    setViews(next) {
      views = next;
    },
    subscribe(listener) {
      // A wrapper per call, so subscribing the same function twice counts twice, as in an EventEmitter.
      const entry = (event: HubEvent) => listener(event);
      listeners.add(entry);
      return () => {
        listeners.delete(entry);
      };
    },
    setStatus(next) {
      status = next;
    },
    setReady(next) {
      ready = next;
    },
    publish(event) {
      for (const listener of listeners) listener(event);
    },
    get listenerCount() {
      return listeners.size;
    },
  };
}
