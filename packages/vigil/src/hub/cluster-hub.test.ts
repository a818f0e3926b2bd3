/**
 * A hub of a cluster (`HubOptions.cluster`), without PostgreSQL: what it holds is a set the test
 * controls (the leases and their fence are `hub/cluster.ts`'s, tested in `cluster.test.ts`; real
 * processes on a PostgreSQL of their own in `cli/run-cluster.test.ts`). Against a real HTTP server
 * on loopback that counts the requests per check, and a real SQLite store (two hubs share one file
 * for the mirror).
 *
 * - it probes, judges and exports only the checks it holds; an ownership change goes through the
 *   plan update's path, in pieces over event-loop turns;
 * - a fenced check (owns() false) gets no new probe even before the change is applied;
 * - a taken check resumes from its stored state (no second transition, no second incident);
 * - the other hub's states and transitions are mirrored into its status and event stream;
 * - a canary run that ends after its check's lease was fenced does not store the canary's state;
 * - on a store that tells of stored transitions (PostgreSQL's LISTEN/NOTIFY, here the test's hand on
 *   a SQLite store), a notification publishes them without waiting for the poll, and a reconnect polls.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics/index.js';
import { openStore } from '../store/index.js';
import type { Store, TransitionWatch } from '../store/types.js';
import type { CheckPlan } from '../types.js';
import { createHub, type Hub, UPDATE_PIECE } from './hub.js';
import type { HubEvent } from './types.js';

let server: Server;
let url = '';
/** Requests served, by target name (the first path segment). */
const served = new Map<string, number>();
/** Target names answered with 500. */
const failing = new Set<string>();
/** Target names whose requests wait here, unanswered, until the test answers them. */
const holding = new Set<string>();
const held: Array<() => void> = [];
beforeAll(async () => {
  server = createServer((req, res) => {
    const name = (req.url ?? '/').split('/')[1] ?? '';
    served.set(name, (served.get(name) ?? 0) + 1);
    res.statusCode = failing.has(name) ? 500 : 200;
    if (holding.has(name)) held.push(() => res.end('ok'));
    else res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A liveness check of target `name` at `GET /<name>/`; an hour's interval unless given. */
function check(name: string, intervalMs = 3_600_000): CheckPlan {
  return {
    id: `${name}/liveness`,
    target: {
      name,
      url: `${url}/${name}/`,
      protocol: 'http',
      labels: {},
      headers: {},
      maxBodyBytes: 1 << 20,
      maxRedirects: 0,
    },
    kind: 'liveness',
    intervalMs,
    timeoutMs: 1000,
    failureThreshold: 1,
    successThreshold: 1,
    fastIntervalMs: null,
    initialDelayMs: 0,
    expect: {},
  };
}

const quiet = (n: number) => Array.from({ length: n }, (_, i) => check(`q${i}`));
const count = (name: string) => served.get(name) ?? 0;

async function until(what: string, fn: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('a hub of a cluster', () => {
  const hubs: Hub[] = [];
  const stores: Store[] = [];
  let dir: string | undefined;
  afterEach(async () => {
    for (const h of hubs.splice(0)) await h.stop();
    for (const s of stores.splice(0)) await s.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
    served.clear();
    failing.clear();
    holding.clear();
    for (const answer of held.splice(0)) answer();
  });

  it('probes and exports only what it holds; an ownership change is applied in pieces, like an update', async () => {
    const store = await openStore(':memory:');
    stores.push(store);
    const metrics = createMetrics();
    const held = new Set(['a/liveness', 'c/liveness']);
    const hub = createHub({
      plan: [check('a', 50), check('b', 50), check('c', 50), ...quiet(3 * UPDATE_PIECE)],
      store,
      metrics,
      flushIntervalMs: 10,
      updateTurnMs: 0,
      cluster: { owns: (id) => held.has(id), mirrorIntervalMs: 50 },
    });
    hubs.push(hub);
    await hub.start();
    // Before its first ownership change a cluster hub holds nothing.
    expect(hub.status().every((s) => s.state === 'unknown')).toBe(true);
    await hub.ownershipChanged();
    const stateOf = (id: string) => hub.status().find((s) => s.checkId === id)?.state;
    await until(
      'a and c healthy',
      () => stateOf('a/liveness') === 'healthy' && stateOf('c/liveness') === 'healthy',
    );
    expect(count('b')).toBe(0);
    expect(stateOf('b/liveness')).toBe('unknown');
    let text = await metrics.render();
    expect(text).toContain('target="a",check="liveness"');
    expect(text).not.toContain('target="b",check="liveness"');
    // Nor the quiet checks it holds none of.
    expect(text).not.toContain('target="q0"');

    // a moves to another hub, b comes here: applied in turns (each piece of UPDATE_PIECE yields).
    held.delete('a/liveness');
    held.add('b/liveness');
    let turns = 0;
    let done = false;
    const spin = () => {
      turns++;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    await hub.ownershipChanged();
    done = true;
    expect(turns).toBeGreaterThanOrEqual(3);
    const aAfter = count('a');
    await until('b probed', () => stateOf('b/liveness') === 'healthy');
    // c (held throughout) is probed 5 more times; a, lost, at most once more (a probe in flight).
    const c0 = count('c');
    await until('5 probes of c', () => count('c') >= c0 + 5);
    expect(count('a')).toBeLessThanOrEqual(aAfter + 1);
    text = await metrics.render();
    expect(text).not.toContain('target="a"');
    expect(text).toContain('target="b",check="liveness"');
  });

  it('starts no probe of a fenced check, before the ownership change is applied', async () => {
    const store = await openStore(':memory:');
    stores.push(store);
    let fenced = false;
    const hub = createHub({
      plan: [check('a', 50), check('c', 50)],
      store,
      cluster: { owns: (id) => id === 'c/liveness' || !fenced },
    });
    hubs.push(hub);
    await hub.start();
    await hub.ownershipChanged();
    await until('a probed', () => count('a') >= 2);
    fenced = true; // the lease's deadline passed; ownershipChanged() not called
    const a0 = count('a');
    const c0 = count('c');
    await until('5 probes of c', () => count('c') >= c0 + 5);
    expect(count('a')).toBeLessThanOrEqual(a0 + 1);
  });

  it('stores no canary state from a run that ends after the lease was fenced', async () => {
    const real = await openStore(':memory:');
    stores.push(real);
    let puts = 0;
    const store = new Proxy(real, {
      get(target, key) {
        const value = Reflect.get(target, key) as unknown;
        if (key === 'putCanaryState' && typeof value === 'function')
          return (...args: unknown[]) => {
            puts++;
            return value.apply(target, args);
          };
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const canaryCheck: CheckPlan = {
      ...check('m', 50),
      id: 'm/canary',
      kind: 'canary',
      canary: { cases: [{ id: 'one', request: { inputs: [1] } }], maxCasesPerRun: 1 },
    };
    let fenced = false;
    const hub = createHub({
      plan: [canaryCheck],
      store,
      cluster: { owns: () => !fenced, mirrorIntervalMs: 3_600_000 },
    });
    hubs.push(hub);
    await hub.start();
    await hub.ownershipChanged();
    // While it holds the check, each run stores the canary's state.
    const runs = () => hub.canary?.('m/canary')?.lastRun?.runIndex ?? -1;
    await until('a run stored', () => runs() >= 0 && puts >= 1);
    // A run under way when the lease's deadline passes (ownershipChanged() not called).
    holding.add('m');
    await until('a run waiting for its answer', () => held.length > 0);
    fenced = true;
    const stored = await real.canaryState('m/canary');
    const putsBefore = puts;
    const heldRun = runs() + 1;
    for (const answer of held.splice(0)) answer();
    await until('the fenced run ended', () => runs() >= heldRun);
    // Its state save follows the run's end within a few turns; give it ample time.
    await new Promise((r) => setTimeout(r, 300));
    expect(puts).toBe(putsBefore);
    expect(await real.canaryState('m/canary')).toStrictEqual(stored);
  });

  it('resumes a taken check from its stored state, and mirrors what the other hub decides', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-hub-'));
    const file = join(dir, 'vigil.db');
    const opened = await Promise.all([openStore(file), openStore(file), openStore(file)]);
    stores.push(...opened);
    const [first, second, third] = opened as [Store, Store, Store];
    failing.add('b');
    // Hub 1 holds a and b; hub 2 only watches (mirroring every 50 ms); hub 3 takes b later, and
    // mirrors nothing meanwhile (an hour): what it knows of b then comes from the takeover's read.
    const held1 = new Set(['a/liveness', 'b/liveness']);
    const held3 = new Set<string>();
    const plan = [check('a', 50), check('b', 50)];
    const hub1 = createHub({
      plan,
      store: first,
      flushIntervalMs: 10,
      cluster: { owns: (id) => held1.has(id), mirrorIntervalMs: 50 },
    });
    const hub2 = createHub({ plan, store: second, cluster: { owns: () => false, mirrorIntervalMs: 50 } });
    const hub3 = createHub({
      plan,
      store: third,
      flushIntervalMs: 10,
      cluster: { owns: (id) => held3.has(id), mirrorIntervalMs: 3_600_000 },
    });
    hubs.push(hub1, hub2, hub3);
    const events: HubEvent[] = [];
    hub2.subscribe((e) => events.push(e));
    for (const h of [hub1, hub2, hub3]) {
      await h.start();
      await h.ownershipChanged();
    }
    // Hub 2 shows what hub 1 decides, and publishes its transitions.
    const stateIn = (h: Hub, id: string) => h.status().find((s) => s.checkId === id)?.state;
    await until('b unhealthy on hub 2', () => stateIn(hub2, 'b/liveness') === 'unhealthy');
    await until('the mirrored transition', () =>
      events.some(
        (e) =>
          e.type === 'transition' && e.transition.checkId === 'b/liveness' && e.transition.to === 'unhealthy',
      ),
    );
    expect(stateIn(hub3, 'b/liveness')).toBe('unknown');

    // b moves to hub 3: it resumes b unhealthy, with the incident hub 1 opened; no new transition.
    held1.delete('b/liveness');
    await hub1.ownershipChanged();
    await hub1.flush();
    held3.add('b/liveness');
    await hub3.ownershipChanged();
    expect(stateIn(hub3, 'b/liveness')).toBe('unhealthy');
    const before = count('b');
    await until('hub 3 probes b', () => count('b') >= before + 3);
    await hub3.flush();
    const transitions = (await third.transitions({ checkId: 'b/liveness' })).map((t) => t.to);
    expect(transitions).toEqual(['unhealthy']);
    expect((await third.incidents({ open: true })).length).toBe(1);
  });
  it('publishes another hub’s transition when the store tells of it, and polls on a reconnect', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-hub-'));
    const file = join(dir, 'vigil.db');
    const [first, second] = (await Promise.all([openStore(file), openStore(file)])) as [Store, Store];
    stores.push(first, second);
    // The watching hub polls once an hour: what it publishes before then came through the watch.
    let watch: TransitionWatch | undefined;
    const watchTransitions = (w: TransitionWatch) => {
      watch = w;
      return { stop: async () => {} };
    };
    const watched = new Proxy(second, {
      get(target, key) {
        if (key === 'watchTransitions') return watchTransitions;
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    failing.add('b');
    const plan = [check('a', 50), check('b', 50)];
    const decider = createHub({ plan, store: first, flushIntervalMs: 10, cluster: { owns: () => true } });
    const watcher = createHub({
      plan,
      store: watched,
      cluster: { owns: () => false, mirrorIntervalMs: 3_600_000 },
    });
    hubs.push(decider, watcher);
    const events: HubEvent[] = [];
    watcher.subscribe((e) => events.push(e));
    // The watcher first: it starts knowing no state of b (none is stored yet).
    for (const h of [watcher, decider]) {
      await h.start();
      await h.ownershipChanged();
    }
    expect(watch).toBeDefined();
    const toUnhealthy = () =>
      events.filter(
        (e) =>
          e.type === 'transition' && e.transition.checkId === 'b/liveness' && e.transition.to === 'unhealthy',
      );
    const deadline = Date.now() + 20_000;
    while ((await first.transitions({ checkId: 'b/liveness' })).every((t) => t.to !== 'unhealthy')) {
      if (Date.now() > deadline) throw new Error('b never went unhealthy on the decider');
      await new Promise((r) => setTimeout(r, 20));
    }
    // A notification naming only checks this hub does not mirror is ignored.
    watch?.stored(['not/planned']);
    await new Promise((r) => setTimeout(r, 200));
    expect(toUnhealthy()).toHaveLength(0);
    watch?.stored(['b/liveness']);
    await until('the notified transition', () => toUnhealthy().length === 1);
    // Told again (another region's transition of b, say): published once.
    watch?.stored(undefined);
    await new Promise((r) => setTimeout(r, 200));
    expect(toUnhealthy()).toHaveLength(1);
    // The states come with the poll: a reconnect runs one.
    const stateIn = (id: string) => watcher.status().find((s) => s.checkId === id)?.state;
    expect(stateIn('b/liveness')).toBe('unknown');
    watch?.reconnected();
    await until('b unhealthy on the watcher', () => stateIn('b/liveness') === 'unhealthy');
  });
});
