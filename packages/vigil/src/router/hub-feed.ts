/**
 * The hub's states for a router in another process (`vigil route --hub URL`): the hub's event stream
 * (`GET /api/v1/events`, server-sent events of transitions) and, at every (re)connection, its
 * `GET /api/v1/status`, folded into one state per target.
 *
 * In `vigil run` (phase 2) the router takes the states in process instead, through the same
 * `setUpstreamState(target, state)`.
 */
import { EventSource } from 'undici';
import type { CheckStatus } from '../hub/types.js';
import type { CheckState, Transition } from '../types.js';
import type { UpstreamHealth } from './policy.js';

/** Wait before reconnecting when the hub refused the stream or is unreachable: 1 s. */
export const HUB_RETRY_MS = 1000;

/** Options of {@link followHub}. */
export interface HubFeedOptions {
  /** The hub's base URL, e.g. `http://127.0.0.1:7979`. */
  url: string;
  /** A target's state changed (only changes are reported). */
  onState: (target: string, state: UpstreamHealth) => void;
  log: (level: 'info' | 'warn', message: string) => void;
  /** Wait between reconnections, in ms. Default {@link HUB_RETRY_MS}. */
  retryMs?: number;
}

/** A running feed. */
export interface HubFeed {
  /** Connected to the event stream now. */
  readonly connected: boolean;
  close(): void;
}

/**
 * A target's state from its checks' states (every region): unhealthy when any check is, else degraded
 * when any is, else healthy when any is healthy; `pending` (a failure not yet confirmed) counts as
 * healthy, and a target with no judged check is `unknown`.
 */
export function targetHealth(states: Iterable<CheckState>): UpstreamHealth {
  let health: UpstreamHealth = 'unknown';
  for (const state of states) {
    if (state === 'unhealthy') return 'unhealthy';
    if (state === 'degraded') health = 'degraded';
    else if ((state === 'healthy' || state === 'pending') && health === 'unknown') health = 'healthy';
  }
  return health;
}

/**
 * Follows the hub's states: connects to its event stream, reads the current states, and reports a
 * target's state whenever it changes; reconnects for as long as it runs. While the hub is
 * unreachable the last states known stay (a restarting hub does not undrain a broken upstream);
 * they are read afresh on reconnection.
 */
export function followHub(options: HubFeedOptions): HubFeed {
  const base = options.url.replace(/\/+$/, '');
  const retryMs = options.retryMs ?? HUB_RETRY_MS;
  /** checkId → region → state */
  const checks = new Map<string, Map<string, CheckState>>();
  const reported = new Map<string, UpstreamHealth>();
  let source: EventSource | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let connected = false;

  const targetOf = (checkId: string) => checkId.slice(0, checkId.lastIndexOf('/'));
  const report = (target: string) => {
    const states: CheckState[] = [];
    for (const [checkId, regions] of checks)
      if (targetOf(checkId) === target) states.push(...regions.values());
    const health = targetHealth(states);
    if (reported.get(target) === health) return;
    reported.set(target, health);
    options.onState(target, health);
  };
  const set = (checkId: string, region: string, state: CheckState) => {
    let regions = checks.get(checkId);
    if (regions === undefined) {
      regions = new Map();
      checks.set(checkId, regions);
    }
    regions.set(region, state);
  };

  const refresh = async () => {
    const res = await fetch(`${base}/api/v1/status`);
    if (!res.ok) throw new Error(`GET /api/v1/status answered ${res.status}`);
    const { checks: statuses } = (await res.json()) as { checks: CheckStatus[] };
    checks.clear();
    for (const s of statuses) set(s.checkId, s.region, s.state);
    for (const target of new Set([...statuses.map((s) => s.target), ...reported.keys()])) report(target);
  };

  const connect = () => {
    if (closed) return;
    const es = new EventSource(`${base}/api/v1/events`);
    source = es;
    es.onopen = () => {
      connected = true;
      options.log('info', `following the hub's states at ${base}`);
      refresh().catch((error: Error) =>
        options.log('warn', `reading the hub's states failed: ${error.message}`),
      );
    };
    es.addEventListener('transition', (event) => {
      const t = JSON.parse((event as unknown as { data: string }).data) as Transition;
      set(t.checkId, t.region, t.to);
      report(targetOf(t.checkId));
    });
    es.onerror = () => {
      if (connected) options.log('warn', `lost the hub's event stream at ${base}; reconnecting`);
      connected = false;
      // EventSource retries a dropped stream by itself, but gives up on a refused one: start anew.
      if (es.readyState === EventSource.CLOSED && !closed) {
        timer = setTimeout(connect, retryMs);
        timer.unref();
      }
    };
  };
  connect();

  return {
    get connected() {
      return connected;
    },
    close() {
      closed = true;
      clearTimeout(timer);
      source?.close();
    },
  };
}
