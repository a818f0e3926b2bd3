/**
 * What the hub exposes to its readers (API, dashboard, metrics): live state per check and region,
 * the store, and a stream of events.
 */
import type { Store } from '../store/types.js';
import type { CheckKind, CheckState, FlapEvent, ProbeResult, Transition } from '../types.js';

/** One check's live state in one region. */
export interface CheckStatus {
  checkId: string;
  target: string;
  check: CheckKind;
  region: string;
  state: CheckState;
  /** When `state` was entered, ms since epoch. */
  since: number;
  flapping: boolean;
  consecutiveFailures: number;
  model?: string;
  /** Last model version the server reported. */
  modelVersion?: string;
  labels: Record<string, string>;
  lastResult: ProbeResult | null;
}

/** Events the hub publishes, in order. */
export type HubEvent =
  | { type: 'result'; result: ProbeResult }
  | { type: 'transition'; transition: Transition }
  | { type: 'flap'; flap: FlapEvent };

/** The hub as its readers see it. */
export interface HubView {
  status(): CheckStatus[];
  readonly store: Store;
  /** Calls `listener` for every event from now on; returns the unsubscribe function. */
  subscribe(listener: (event: HubEvent) => void): () => void;
  /** Config loaded, store open, scheduler running, not shutting down. */
  isReady(): boolean;
}
