/**
 * The hub's events to its readers (SSE, tests): synchronous, in publish order, one listener's
 * failure isolated from the others.
 */
import type { HubEvent } from './types.js';

/** Subscribers of a hub's events; see {@link createEventBus}. */
export interface EventBus {
  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  subscribe(listener: (event: HubEvent) => void): () => void;
  /** Calls every listener with `event`, in subscription order; a listener that throws is logged. */
  publish(event: HubEvent): void;
  /**
   * Whether anyone listens: the hub builds a per-probe event only then (pino's and
   * diagnostics_channel's `hasSubscribers`: no work when nobody listens).
   */
  hasListeners(): boolean;
}

/**
 * @example
 * ```ts
 * const events = createEventBus((level, message) => console.error(message));
 * const off = events.subscribe((event) => console.log(event.type));
 * if (events.hasListeners()) events.publish({ type: 'result', result });
 * off();
 * ```
 */
export function createEventBus(log: (level: 'error', message: string) => void): EventBus {
  const listeners = new Set<(event: HubEvent) => void>();
  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    publish(event) {
      for (const l of listeners) {
        try {
          l(event);
        } catch (err) {
          log('error', `event listener failed: ${(err as Error).message}`);
        }
      }
    },
    hasListeners: () => listeners.size > 0,
  };
}
