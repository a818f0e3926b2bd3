/**
 * When the hub writes evaluator states: a change that decides a transition at once (a transition's
 * state before its event), anything else at the periodic checkpoint, and never out of order.
 * A real HTTP endpoint whose status the test switches, a real SQLite store (in memory) with a spy.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan, EvalState, Transition } from '../types.js';
import { createHub, type Hub, type HubOptions } from './hub.js';

const ID = 'scorer/liveness';

let server: Server;
let url: string;
/** The status the endpoint answers with. */
let status = 200;

beforeEach(async () => {
  status = 200;
  server = createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

const running: Array<{ hub: Hub; store: Store }> = [];
afterEach(async () => {
  for (const { hub, store } of running.splice(0)) {
    await hub.stop();
    await store.close();
  }
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function plan(overrides: Partial<CheckPlan> = {}): CheckPlan {
  return {
    id: ID,
    target: {
      name: 'scorer',
      url,
      protocol: 'http',
      labels: {},
      headers: {},
      maxBodyBytes: 1 << 20,
      maxRedirects: 0,
    },
    kind: 'liveness',
    intervalMs: 25,
    timeoutMs: 1_000,
    failureThreshold: 5,
    successThreshold: 1,
    fastIntervalMs: null,
    initialDelayMs: 0,
    request: { path: '/' },
    expect: { status: [200] },
    ...overrides,
  };
}

interface Spied {
  hub: Hub;
  store: Store;
  /** Every state handed to saveStates, in call order. */
  saved: EvalState[];
  /** Results delivered so far, by outcome. */
  results: { pass: number; fail: number };
}

/** A hub over an in-memory SQLite store whose saveStates is recorded (and appendTransition delayed by `transitionDelayMs`). */
async function startHub(options: Partial<HubOptions> & { transitionDelayMs?: number } = {}): Promise<Spied> {
  const real = await openStore(':memory:');
  const saved: EvalState[] = [];
  const delay = options.transitionDelayMs ?? 0;
  const store = new Proxy(real, {
    get(target, prop) {
      if (prop === 'saveStates') {
        return (states: readonly EvalState[]) => {
          saved.push(...states);
          return target.saveStates(states);
        };
      }
      if (prop === 'appendTransition' && delay > 0) {
        return async (t: Transition) => {
          await new Promise((resolve) => setTimeout(resolve, delay));
          return target.appendTransition(t);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  const hub = createHub({ plan: [plan()], store, flushIntervalMs: 5, ...options });
  const results = { pass: 0, fail: 0 };
  hub.subscribe((event) => {
    if (event.type === 'result') results[event.result.outcome === 'pass' ? 'pass' : 'fail']++;
  });
  running.push({ hub, store: real });
  await hub.start();
  return { hub, store: real, saved, results };
}

async function until(what: string, condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('hub state durability', () => {
  it("writes a healthy check's success count at the checkpoint, not after every probe", async () => {
    const { hub, store, saved, results } = await startHub({ checkpointIntervalMs: 60_000 });
    await until('8 passes', () => results.pass >= 8);
    await sleep(30);
    // The first probe's transition unknown → healthy is written (by its record and by the flush);
    // the passes after it change nothing a restart needs.
    expect(saved.every((s) => s.consecutiveSuccesses === 1)).toBe(true);
    expect(saved.length).toBeLessThanOrEqual(2);
    const [stored] = await store.loadStates();
    expect([stored?.state, stored?.consecutiveSuccesses]).toEqual(['healthy', 1]);

    // flush() writes the checkpoint's states too.
    await hub.flush();
    const [flushed] = await store.loadStates();
    expect(flushed?.consecutiveSuccesses).toBeGreaterThanOrEqual(8);
  });

  it('writes changed states every checkpointIntervalMs without a flush', async () => {
    const { store, saved, results } = await startHub({
      checkpointIntervalMs: 100,
      plan: [plan({ intervalMs: 10 })],
    });
    await until('a pass after the first checkpoint', () => saved.length >= 3 && results.pass > 0);
    const [stored] = await store.loadStates();
    expect(stored?.consecutiveSuccesses).toBeGreaterThan(1);
    // About one write per checkpoint, not one per probe (a probe every 10 ms).
    const [saves, passes, t0] = [saved.length, results.pass, Date.now()];
    await sleep(500);
    const checkpoints = Math.ceil((Date.now() - t0) / 100);
    expect(saved.length - saves).toBeLessThanOrEqual(checkpoints + 1);
    expect(results.pass - passes).toBeGreaterThan(saved.length - saves);
  });

  it('writes a failure being confirmed at once, before the checkpoint', async () => {
    const { store, results } = await startHub({
      checkpointIntervalMs: 60_000,
      plan: [plan({ failureThreshold: 50 })],
    });
    await until('a pass', () => results.pass > 0);
    status = 500;
    await until('4 failures', () => results.fail >= 4);
    // The first failure is a transition (healthy → pending); the next ones change only the count,
    // which decides how soon the check is unhealthy: written within flushIntervalMs, not at the
    // checkpoint a minute away.
    let stored: EvalState | undefined;
    await until('the 4th failure stored', () => {
      void store.loadStates().then(([s]) => {
        stored = s;
      });
      return (stored?.consecutiveFailures ?? 0) >= 4;
    });
    expect(stored?.state).toBe('pending');
  });

  it("stores a transition's state before its event is published", async () => {
    const { hub, saved, results } = await startHub({ checkpointIntervalMs: 60_000 });
    const seen: Array<[string, boolean]> = [];
    hub.subscribe((event) => {
      if (event.type === 'transition') {
        const { to, at } = event.transition;
        seen.push([to, saved.some((s) => s.state === to && s.since === at)]);
      }
    });
    await until('a pass', () => results.pass > 0);
    status = 500;
    await until('unhealthy', () => seen.some(([to]) => to === 'unhealthy'));
    expect(seen).toEqual([
      ['healthy', true],
      ['pending', true],
      ['unhealthy', true],
    ]);
  });

  it('never writes a state older than one already written, even while transitions are slow to record', async () => {
    // Transitions take 60 ms to record while probes come every 25 ms and checkpoints every 40 ms:
    // flushes and checkpoints of later states must wait for the transition's state.
    const { hub, saved, results } = await startHub({
      checkpointIntervalMs: 40,
      transitionDelayMs: 60,
      plan: [plan({ failureThreshold: 2 })],
    });
    for (const next of [500, 200, 500, 200]) {
      const before = results.pass + results.fail;
      await until('4 more probes', () => results.pass + results.fail >= before + 4);
      status = next;
    }
    await until('4 more probes', () => results.pass + results.fail >= 20);
    // Every transition task recorded and every state written (flush waits behind the ordered tasks).
    await hub.flush();
    const times = saved.map((s) => s.lastResult?.startedAt ?? 0);
    expect(times.length).toBeGreaterThan(8);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(new Set(saved.map((s) => s.state))).toEqual(new Set(['healthy', 'pending', 'unhealthy']));
  });
});
