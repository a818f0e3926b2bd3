/**
 * The hub's states for a router in another process (`vigil route --hub URL`): the hub's event stream
 * (`GET /api/v1/events`, server-sent events of transitions) and, at every (re)connection, its
 * `GET /api/v1/status`, folded into one state per target.
 *
 * In `vigil run --routers` the routers take the states in process instead ({@link followLocalHub}),
 * through the same `setUpstreamState(target, state)`.
 *
 * Both leave out the routers' own traffic checks (`<target>/traffic:<router>`): those say what the
 * routers already act on (ejection, latency), and a drain on their word would starve the upstream of
 * the very traffic that can show it recovered.
 *
 * A target's state is per region, for the region a router is placed in (`routers[].region`, default
 * the hub's): a check probed from that region counts with that region's state only (a path broken
 * between another region and the model says nothing of this one's); a check not probed from there
 * counts with every region's states, the only word there is about it.
 */
import { request } from 'undici';
import type { CheckStatus, HubEvent } from '../hub/types.js';
import type { CheckState, Transition } from '../types.js';
import type { UpstreamHealth } from './policy.js';

/** Wait before reconnecting when the stream ended, failed, or the hub is unreachable: 1 s. */
export const HUB_RETRY_MS = 1000;

/** Options of {@link followHub}. */
export interface HubFeedOptions {
  /** The hub's base URL, e.g. `http://127.0.0.1:7979`. */
  url: string;
  /** A target's state in `region` changed (only changes are reported). */
  onState: (target: string, state: UpstreamHealth, region: string) => void;
  /** The regions whose states are wanted (the running routers' regions), read at every change. */
  regions: () => Iterable<string>;
  log: (level: 'info' | 'warn', message: string) => void;
  /** Wait between reconnections, in ms. Default {@link HUB_RETRY_MS}. */
  retryMs?: number;
}

/** A running feed. */
export interface HubFeed {
  /** Connected to the event stream now (always true in process). */
  readonly connected: boolean;
  /**
   * A target's state in `region` as last known (`unknown` before the hub said anything): for a router
   * or an upstream that a reload adds, which the feed would otherwise tell only at the target's next
   * change.
   */
  healthOf(target: string, region: string): UpstreamHealth;
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
 * The states `region` goes by of one check (region → state): that region's when the check is probed
 * from there, else every region's.
 */
export function statesFor(regions: ReadonlyMap<string, CheckState>, region: string): Iterable<CheckState> {
  const own = regions.get(region);
  return own === undefined ? regions.values() : [own];
}

/** The per-target, per-region fold of check states both feeds share. */
function createStateFold(
  onState: (target: string, state: UpstreamHealth, region: string) => void,
  wanted: () => Iterable<string>,
) {
  /** checkId → region → state */
  const checks = new Map<string, Map<string, CheckState>>();
  /** `region\0target` → the state last reported */
  const reported = new Map<string, UpstreamHealth>();
  const healthOf = (target: string, region: string): UpstreamHealth => {
    const states: CheckState[] = [];
    for (const [checkId, regions] of checks)
      if (targetOf(checkId) === target) states.push(...statesFor(regions, region));
    return targetHealth(states);
  };
  const report = (target: string) => {
    for (const region of new Set(wanted())) {
      const health = healthOf(target, region);
      const k = `${region}\u0000${target}`;
      if (reported.get(k) === health) continue;
      reported.set(k, health);
      onState(target, health, region);
    }
  };
  const set = (checkId: string, region: string, state: CheckState) => {
    let regions = checks.get(checkId);
    if (regions === undefined) {
      regions = new Map();
      checks.set(checkId, regions);
    }
    regions.set(region, state);
  };
  return {
    /** Every check's state afresh (a stale check counts as the state it was last known in). */
    reset(statuses: readonly CheckStatus[]) {
      checks.clear();
      for (const s of statuses) {
        if (isTrafficCheck(s.checkId)) continue;
        set(s.checkId, s.region, s.state === 'stale' ? (s.lastKnown?.state ?? 'unknown') : s.state);
      }
      const targets = new Set(statuses.map((s) => s.target));
      for (const k of reported.keys()) targets.add(k.slice(k.indexOf('\u0000') + 1));
      for (const target of targets) report(target);
    },
    healthOf,
    transition(t: Transition) {
      if (isTrafficCheck(t.checkId)) return;
      set(t.checkId, t.region, t.to === 'stale' ? (t.lastKnown ?? 'unknown') : t.to);
      report(targetOf(t.checkId));
    },
  };
}

const targetOf = (checkId: string) => checkId.slice(0, checkId.lastIndexOf('/'));

/** A router's traffic check (`<target>/traffic:<router>`), which the feeds leave out. */
export function isTrafficCheck(checkId: string): boolean {
  return checkId.startsWith('traffic:', checkId.lastIndexOf('/') + 1);
}

/**
 * Follows an in-process hub's states (`vigil run --routers`): its current states now, then every
 * transition it publishes, per region of `regions()`. `close()` unsubscribes.
 */
export function followLocalHub(
  hub: { status(): CheckStatus[]; subscribe(listener: (event: HubEvent) => void): () => void },
  onState: (target: string, state: UpstreamHealth, region: string) => void,
  regions: () => Iterable<string>,
): HubFeed {
  const fold = createStateFold(onState, regions);
  const unsubscribe = hub.subscribe((event) => {
    if (event.type === 'transition') fold.transition(event.transition);
  });
  fold.reset(hub.status());
  return { connected: true, healthOf: fold.healthOf, close: unsubscribe };
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
  const fold = createStateFold(options.onState, options.regions);
  let abort: AbortController | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  let connected = false;

  const refresh = async () => {
    const res = await fetch(`${base}/api/v1/status`);
    if (!res.ok) throw new Error(`GET /api/v1/status answered ${res.status}`);
    const { checks: statuses } = (await res.json()) as { checks: CheckStatus[] };
    fold.reset(statuses);
  };

  /**
   * One connection to the event stream: read it frame by frame until it ends or fails, then connect
   * again after `retryMs`. A small reader of the SSE format (fields `event` and `data`; comments and
   * `id`/`retry` ignored) rather than undici's EventSource, which Node 20's undici announces as
   * experimental with a warning on every `vigil route`'s stderr.
   */
  const connect = async () => {
    if (closed) return;
    abort = new AbortController();
    try {
      const res = await request(`${base}/api/v1/events`, {
        signal: abort.signal,
        headers: { accept: 'text/event-stream' },
        // The hub sends a heartbeat every 15 s: a minute of silence is a dead connection.
        bodyTimeout: 60_000,
      });
      if (res.statusCode !== 200) {
        await res.body.dump();
        throw new Error(`GET /api/v1/events answered ${res.statusCode}`);
      }
      connected = true;
      options.log('info', `following the hub's states at ${base}`);
      refresh().catch((error: Error) =>
        options.log('warn', `reading the hub's states failed: ${error.message}`),
      );
      let buffer = '';
      res.body.setEncoding('utf8');
      for await (const chunk of res.body as AsyncIterable<string>) {
        buffer += chunk;
        for (let end = frameEnd(buffer); end !== undefined; end = frameEnd(buffer)) {
          onFrame(buffer.slice(0, end[0]));
          buffer = buffer.slice(end[1]);
        }
      }
      throw new Error('the stream ended');
    } catch (error) {
      if (closed) return;
      options.log(
        'warn',
        `${connected ? "lost the hub's event stream" : 'cannot reach the hub'} at ${base} (${(error as Error).message}); retrying in ${retryMs} ms`,
      );
      connected = false;
      timer = setTimeout(() => void connect(), retryMs);
      timer.unref();
    }
  };

  const onFrame = (frame: string) => {
    let event = 'message';
    const data: string[] = [];
    for (const line of frame.split(/\r\n|\r|\n/)) {
      if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).replace(/^ /, ''));
    }
    if (event !== 'transition' || data.length === 0) return;
    fold.transition(JSON.parse(data.join('\n')) as Transition);
  };

  void connect();

  return {
    get connected() {
      return connected;
    },
    healthOf: fold.healthOf,
    close() {
      closed = true;
      clearTimeout(timer);
      abort?.abort();
    },
  };
}

/** Where the first frame of `buffer` ends: [its end, the start of the next]; undefined if incomplete. */
function frameEnd(buffer: string): [number, number] | undefined {
  const match = /\r\n\r\n|\n\n|\r\r/.exec(buffer);
  return match === null ? undefined : [match.index, match.index + match[0].length];
}
