/**
 * `Hub.update` while the hub runs: a plan applied in turns of the event loop (other work runs between
 * its pieces), unchanged checks keeping their state, removed ones gone, new ones probed, a bad plan
 * refused with nothing changed, and updates applied one at a time in call order. Against a real HTTP
 * server on loopback and a real SQLite store.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan } from '../types.js';
import { createHub, type Hub, UPDATE_PIECE } from './hub.js';

let server: Server;
let url = '';
beforeAll(async () => {
  server = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A liveness check of target `name`; an hour's interval unless given (the hub spreads first probes). */
function check(name: string, intervalMs = 3_600_000, timeoutMs = 1000): CheckPlan {
  return {
    id: `${name}/liveness`,
    target: { name, url, protocol: 'http', labels: {}, headers: {}, maxBodyBytes: 1 << 20, maxRedirects: 0 },
    kind: 'liveness',
    intervalMs,
    timeoutMs,
    failureThreshold: 1,
    successThreshold: 1,
    fastIntervalMs: null,
    initialDelayMs: 0,
    expect: {},
  };
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from }, (_, i) => check(`t${from + i}`));

async function until(what: string, fn: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('Hub.update', () => {
  let store: Store;
  let hub: Hub | undefined;
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
    await store?.close();
  });

  it('applies a plan in turns: kept checks keep their state, removed ones go, new ones are probed', async () => {
    store = await openStore(':memory:');
    // A probed check (every 100 ms) beside 3 × UPDATE_PIECE quiet ones.
    const kept = check('kept', 100);
    hub = createHub({
      plan: [kept, ...range(0, 3 * UPDATE_PIECE)],
      store,
      flushIntervalMs: 10,
      updateTurnMs: 0,
    });
    await hub.start();
    const stateOf = (id: string) => hub?.status().find((s) => s.checkId === id)?.state;
    await until('the kept check healthy', () => stateOf('kept/liveness') === 'healthy');

    // A third removed, a third new; the new `added` check probes every 100 ms.
    const added = check('added', 100);
    const next = [kept, ...range(UPDATE_PIECE, 4 * UPDATE_PIECE), added];
    let turns = 0;
    let done = false;
    const spin = () => {
      turns++;
      if (!done) setImmediate(spin);
    };
    setImmediate(spin);
    await hub.update(next);
    done = true;
    // Every piece (100 checks) yields a turn with updateTurnMs 0: several turns ran during it.
    expect(turns).toBeGreaterThanOrEqual(5);

    expect(hub.status().map((s) => s.checkId)).toEqual(next.map((p) => p.id));
    expect(stateOf('kept/liveness')).toBe('healthy');
    expect(stateOf('t0/liveness')).toBeUndefined();
    expect(stateOf(`t${4 * UPDATE_PIECE - 1}/liveness`)).toBe('unknown');
    await until('the added check probed', () => stateOf('added/liveness') === 'healthy');
  });

  it('refuses a plan with a duplicate id or a bad interval and changes nothing', async () => {
    store = await openStore(':memory:');
    const plan = range(0, 2 * UPDATE_PIECE + 10);
    hub = createHub({ plan, store, updateTurnMs: 0 });
    await hub.start();
    const dup = [...range(5, 3 * UPDATE_PIECE), check('t7')];
    await expect(hub.update(dup)).rejects.toMatchObject({
      code: 'VIGIL_ERR_SCHEDULER_INVALID_PLAN',
      message: expect.stringContaining('duplicate check id "t7/liveness"'),
    });
    await expect(hub.update([check('x', 0)])).rejects.toMatchObject({
      message: expect.stringContaining('x/liveness: intervalMs must be a positive number, got 0'),
    });
    expect(hub.status().map((s) => s.checkId)).toEqual(plan.map((p) => p.id));
    // The hub still takes the next good plan.
    await hub.update(range(0, 3));
    expect(hub.status().map((s) => s.checkId)).toEqual(['t0/liveness', 't1/liveness', 't2/liveness']);
  });

  it('applies updates one at a time, in the order asked', async () => {
    store = await openStore(':memory:');
    hub = createHub({ plan: range(0, 10), store, updateTurnMs: 0 });
    await hub.start();
    const first = hub.update(range(0, 3 * UPDATE_PIECE));
    const second = hub.update(range(50, 60));
    await Promise.all([first, second]);
    expect(hub.status().map((s) => s.checkId)).toEqual(range(50, 60).map((p) => p.id));
  });

  it('reschedules a changed check and keeps its state', async () => {
    store = await openStore(':memory:');
    const before = check('c', 100);
    hub = createHub({ plan: [before], store, flushIntervalMs: 10 });
    await hub.start();
    await until('c healthy', () => hub?.status()[0]?.state === 'healthy');
    await hub.update([check('c', 100, 900)]);
    expect(hub.checkInfo('c/liveness')?.timeoutMs).toBe(900);
    expect(hub.status()[0]?.state).toBe('healthy');
    // Still probed under its new plan.
    const last = hub.status()[0]?.lastResult?.startedAt ?? 0;
    await until('another probe', () => (hub?.status()[0]?.lastResult?.startedAt ?? 0) > last);
  });
});
