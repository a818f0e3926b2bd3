/**
 * Cluster membership and shard leases of one hub (`vigil run --cluster`): which checks this hub
 * probes when several hubs share one PostgreSQL. PostgreSQL is the one distributed engine: hubs
 * never talk to each other, they read and write two tables (`store/postgres-cluster.ts`).
 *
 * - A check belongs to a shard: `hashCheckId(id) mod CLUSTER_SHARDS` (the scheduler's spread hash).
 * - A shard's rightful owner is the live hub with the highest rendezvous score
 *   `hash(hubId + '/' + shard)` (Thaler and Ravishankar's highest-random-weight hashing): every hub
 *   computes the same answer from the same list of live hubs, and a hub joining or leaving moves
 *   only the shards it gains or loses (about 1/n of them).
 * - Every `heartbeatMs` a hub ticks: heartbeat, read the live hubs (heartbeat younger than the
 *   lease), stop acting on the shards it should no longer hold, release them, renew the ones it
 *   holds, take the free or lapsed ones it should hold. A shard held by another hub is taken only
 *   once that hub's lease lapsed (in the database's time) or it released it.
 * - Fencing: a hub acts on its shards only until `sentAt + leaseMs − safetyMarginMs`, where `sentAt`
 *   is its monotonic clock when it sent the last tick that succeeded. The database's lease runs from
 *   the transaction's `now()`, later than `sentAt`, so the hub stops at least `safetyMarginMs` before
 *   any other hub can take its shards, whatever its clock says the time is. `owns()` compares with
 *   the monotonic clock on every call (the scheduler calls it before each probe), so a late timer
 *   or a blocked event loop cannot stretch the fence.
 */
import { hashCheckId } from '../scheduler/spread.js';
import { CLUSTER_SHARDS, type ClusterLeases } from '../store/types.js';

/**
 * Default lease: 10 s. Kubernetes' leader election leases are 15 s (kube-controller-manager's
 * `--leader-elect-lease-duration`); 10 s keeps a crashed hub's checks unprobed for at most about
 * lease + the first probe's spread (≤ 1 s), under the 15 s takeover target (issue #22).
 */
export const DEFAULT_LEASE_MS = 10_000;
/** Default heartbeat: 2 s, Kubernetes' leader-election `--leader-elect-retry-period`; 5 renewals per lease. */
export const DEFAULT_HEARTBEAT_MS = 2_000;
/**
 * Default safety margin: 2 s. It covers the drift of one hub's monotonic clock against the
 * database's over one lease (NTP slews at most 500 ppm: 5 ms per 10 s) and, mostly, a process
 * paused (GC, swap, a stopped VM) between the fence check and a probe's first byte. Kubernetes'
 * `--leader-elect-renew-deadline` gives up 5 s before its 15 s lease; this is the same idea, scaled.
 */
export const DEFAULT_SAFETY_MARGIN_MS = 2_000;

/** The shard of a check id: `hashCheckId(id) mod CLUSTER_SHARDS`. */
export function shardOf(checkId: string): number {
  return hashCheckId(checkId) % CLUSTER_SHARDS;
}

/** The shards `hubId` should hold among `live` hubs: those where its rendezvous score is highest. */
export function rendezvousShards(hubId: string, live: readonly string[]): number[] {
  const mine: number[] = [];
  for (let shard = 0; shard < CLUSTER_SHARDS; shard++) {
    let best: string | undefined;
    let bestScore = -1;
    for (const hub of live) {
      const score = hashCheckId(`${hub}/${shard}`);
      // Ties (rare) go to the smaller id, so every hub breaks them alike.
      if (score > bestScore || (score === bestScore && best !== undefined && hub < best)) {
        best = hub;
        bestScore = score;
      }
    }
    if (best === hubId) mine.push(shard);
  }
  return mine;
}

/** Options of {@link createClusterMember}. Durations in ms. */
export interface ClusterMemberOptions {
  leases: ClusterLeases;
  hubId: string;
  /** This hub's API, for people (`cluster_hubs.url`). */
  url: string;
  leaseMs?: number;
  heartbeatMs?: number;
  safetyMarginMs?: number;
  /** Called after the set of shards this hub acts on changed (taken, released or fenced). */
  onChange?: () => void;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** Monotonic clock in ms. Default `performance.now`. */
  monotonic?: () => number;
}

/** What a member knows, for the API and metrics. */
export interface ClusterView {
  hubId: string;
  /** Live hubs at the last tick that succeeded. */
  live: string[];
  /** Shards this hub acts on now (0 when fenced). */
  shards: number;
  /** Milliseconds this hub may still act on them (0 when fenced or holding nothing). */
  fenceInMs: number;
}

/** One hub's membership; see the module doc. */
export interface ClusterMember {
  /** Joins: the first tick, awaited (a hub that cannot reach the database does not start). */
  start(): Promise<void>;
  /** Stops ticking and releases every shard, so that the other hubs take them at their next tick. */
  stop(): Promise<void>;
  /** Whether this hub may act on `checkId` now: its shard is held and its fence not passed. */
  owns(checkId: string): boolean;
  view(): ClusterView;
}

/** Creates a hub's membership (not started). */
export function createClusterMember(options: ClusterMemberOptions): ClusterMember {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const heartbeatMs = options.heartbeatMs ?? DEFAULT_HEARTBEAT_MS;
  const marginMs = options.safetyMarginMs ?? DEFAULT_SAFETY_MARGIN_MS;
  if (!(marginMs >= 0 && heartbeatMs > 0 && heartbeatMs + marginMs < leaseMs)) {
    throw new RangeError(
      `cluster: heartbeat (${heartbeatMs} ms) + safety margin (${marginMs} ms) must be less than the lease (${leaseMs} ms)`,
    );
  }
  const mono = options.monotonic ?? (() => performance.now());
  const log = options.log ?? (() => {});
  const shards = new Map<string, number>();
  let held = new Set<number>();
  /** Monotonic time until which this hub may act on `held`. */
  let fenceAt = 0;
  let live: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let fenceTimer: NodeJS.Timeout | undefined;
  let stopped = false;
  let ticking: Promise<void> = Promise.resolve();
  let failures = 0;

  const shardOfCached = (checkId: string): number => {
    let s = shards.get(checkId);
    if (s === undefined) {
      s = shardOf(checkId);
      shards.set(checkId, s);
    }
    return s;
  };

  function setHeld(next: Set<number>): void {
    const changed = next.size !== held.size || [...next].some((s) => !held.has(s));
    held = next;
    if (changed) options.onChange?.();
  }

  function fence(): void {
    if (held.size === 0 || mono() < fenceAt) return;
    log(
      'warn',
      `cluster: lease of ${held.size} shards not renewed in time: stopped acting on them (fenced)`,
      {
        hubId: options.hubId,
        shards: held.size,
      },
    );
    setHeld(new Set());
  }

  async function tick(): Promise<void> {
    const sentAt = mono();
    let wantedNow: Set<number> | undefined;
    try {
      const result = await options.leases.tick({
        hubId: options.hubId,
        url: options.url,
        leaseMs,
        want: (liveHubs) => {
          const wanted = rendezvousShards(options.hubId, liveHubs);
          wantedNow = new Set(wanted);
          // Stop acting on shards about to be released before the release is sent.
          const keep = new Set([...held].filter((s) => wantedNow?.has(s)));
          if (keep.size !== held.size) setHeld(keep);
          return wanted;
        },
      });
      if (stopped) return;
      if (failures > 0) log('info', `cluster: lease renewed again after ${failures} failed ticks`);
      failures = 0;
      live = result.live;
      fenceAt = sentAt + leaseMs - marginMs;
      const before = held.size;
      setHeld(new Set(result.held));
      if (held.size !== before)
        log('info', `cluster: holding ${held.size} of ${CLUSTER_SHARDS} shards (${live.length} live hubs)`, {
          hubId: options.hubId,
          shards: held.size,
          live: live.length,
        });
      clearTimeout(fenceTimer);
      fenceTimer = setTimeout(fence, Math.max(0, fenceAt - mono()));
      fenceTimer.unref();
      // A wanted shard whose lease lapses soon: tick right after it does, not a heartbeat later.
      const wantsMore = wantedNow !== undefined && result.held.length < wantedNow.size;
      const expiry = result.nextExpiryMs;
      schedule(wantsMore && expiry !== null ? Math.min(heartbeatMs, expiry + 50) : heartbeatMs);
    } catch (err) {
      if (stopped) return;
      failures++;
      // Not fenced yet: the lease may still hold (the fence timer decides); retry soon.
      log('warn', `cluster: lease tick failed (${failures} in a row): ${(err as Error).message}`, {
        hubId: options.hubId,
      });
      fence();
      schedule(Math.min(heartbeatMs, 1000));
    }
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    clearTimeout(timer);
    timer = setTimeout(() => {
      ticking = tick();
    }, delayMs);
    timer.unref();
  }

  return {
    async start() {
      const sentAt = mono();
      const result = await options.leases.tick({
        hubId: options.hubId,
        url: options.url,
        leaseMs,
        want: (liveHubs) => rendezvousShards(options.hubId, liveHubs),
      });
      live = result.live;
      fenceAt = sentAt + leaseMs - marginMs;
      held = new Set(result.held);
      log('info', `cluster: joined as ${options.hubId}, holding ${held.size} of ${CLUSTER_SHARDS} shards`, {
        hubId: options.hubId,
        live: live.length,
        shards: held.size,
      });
      fenceTimer = setTimeout(fence, Math.max(0, fenceAt - mono()));
      fenceTimer.unref();
      // Others see this hub at their next tick and release its shards: ask again soon.
      schedule(Math.min(heartbeatMs, 500));
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(fenceTimer);
      await ticking;
      setHeld(new Set());
      await options.leases.leave(options.hubId).catch((err: Error) => {
        log(
          'warn',
          `cluster: could not release the shards on stop (${err.message}); they lapse with the lease`,
        );
      });
    },
    owns(checkId) {
      return held.has(shardOfCached(checkId)) && mono() < fenceAt;
    },
    view() {
      const fenceInMs = held.size === 0 ? 0 : Math.max(0, Math.round(fenceAt - mono()));
      return { hubId: options.hubId, live: [...live], shards: fenceInMs > 0 ? held.size : 0, fenceInMs };
    },
  };
}
