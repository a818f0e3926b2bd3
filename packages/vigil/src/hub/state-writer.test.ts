/**
 * The state writer over a real SQLite store (in memory) whose writes are recorded and can be made
 * to fail: when results and states reach the store, in what order, in what batches, and how
 * failures are retried. The hub-level guarantees (a transition's state before its event) are in
 * durability.test.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { initialState } from '../evaluate/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { EvalState, ProbeResult, Transition } from '../types.js';
import { createStateWriter, STATE_BATCH_SIZE, type StateWriter, storeTransition } from './state-writer.js';

interface Spied {
  store: Store;
  /** Each saveStates call's states, in call order. */
  saves: EvalState[][];
  /** Each appendResults call's results, in call order. */
  appends: ProbeResult[][];
  /** The next this many calls of each write reject (before writing anything). */
  failNext: { saveStates: number; appendResults: number };
  /** Ms each saveStates call waits before writing. */
  saveDelayMs: number;
}

const opened: Array<{ store: Store; writer?: StateWriter }> = [];
afterEach(async () => {
  for (const { store, writer } of opened.splice(0)) {
    await writer?.stop();
    await store.close();
  }
});

async function spiedStore(): Promise<Spied> {
  const real = await openStore(':memory:');
  const spied: Spied = {
    store: real,
    saves: [],
    appends: [],
    failNext: { saveStates: 0, appendResults: 0 },
    saveDelayMs: 0,
  };
  spied.store = new Proxy(real, {
    get(target, prop) {
      if (prop === 'saveStates') {
        return async (states: readonly EvalState[]) => {
          spied.saves.push([...states]);
          if (spied.saveDelayMs > 0) await sleep(spied.saveDelayMs);
          if (spied.failNext.saveStates > 0) {
            spied.failNext.saveStates--;
            throw new Error('disk full');
          }
          return target.saveStates(states);
        };
      }
      if (prop === 'appendResults') {
        return async (results: readonly ProbeResult[]) => {
          spied.appends.push([...results]);
          if (spied.failNext.appendResults > 0) {
            spied.failNext.appendResults--;
            throw new Error('disk full');
          }
          return target.appendResults(results);
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  opened.push({ store: real });
  return spied;
}

/** A writer over `states` (a test's state table), registered for stop() after the test. */
function writerOf(
  spied: Spied,
  states: Map<string, EvalState>,
  options: { flushIntervalMs?: number; checkpointIntervalMs?: number; errors?: string[] } = {},
): StateWriter {
  const writer = createStateWriter({
    store: spied.store,
    stateOf: (k) => states.get(k),
    flushIntervalMs: options.flushIntervalMs ?? 5,
    checkpointIntervalMs: options.checkpointIntervalMs ?? 60_000,
    log: (_level, message) => options.errors?.push(message),
  });
  const entry = opened.at(-1);
  if (entry) entry.writer = writer;
  return writer;
}

/** A state of check `id` whose success count marks its version. */
function state(id: string, successes: number, overrides: Partial<EvalState> = {}): EvalState {
  return {
    ...initialState(id, 'local', 1_000),
    state: 'healthy',
    consecutiveSuccesses: successes,
    ...overrides,
  };
}

function result(id: string, startedAt: number): ProbeResult {
  return {
    checkId: id,
    target: id.split('/')[0] ?? id,
    check: 'liveness',
    region: 'local',
    startedAt,
    durationMs: 1,
    phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 1, transferMs: 0 },
    outcome: 'pass',
    failures: [],
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function until(what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

const successesSaved = (spied: Spied, id: string) =>
  spied.saves.flat().flatMap((s) => (s.checkId === id ? [s.consecutiveSuccesses] : []));

describe('createStateWriter', () => {
  it('appends the results of one flush interval in one batch', async () => {
    const spied = await spiedStore();
    const writer = writerOf(spied, new Map(), { flushIntervalMs: 20 });
    for (let i = 1; i <= 3; i++) writer.append(result('a/liveness', i));
    expect(spied.appends).toEqual([]);
    await until('the batch', () => spied.appends.length > 0);
    expect(spied.appends.map((batch) => batch.length)).toEqual([3]);
    expect((await spied.store.results('a/liveness')).map((r) => r.startedAt)).toEqual([1, 2, 3]);
  });

  it('writes a material change at the next flush and any other at the checkpoint', async () => {
    const spied = await spiedStore();
    const states = new Map([
      ['a', state('a/liveness', 1)],
      ['b', state('b/liveness', 1)],
    ]);
    const writer = writerOf(spied, states);
    writer.changed('a', true);
    writer.changed('b', false);
    await until('a written', () => successesSaved(spied, 'a/liveness').length > 0);
    // Not at the next flush either (without the checkpoint's states): only a checkpoint writes b.
    await writer.flush(false);
    expect(successesSaved(spied, 'b/liveness')).toEqual([]);

    await writer.checkpoint();
    expect(successesSaved(spied, 'b/liveness')).toEqual([1]);
    // Written once: a second checkpoint has nothing to write.
    await writer.checkpoint();
    expect(spied.saves.flat()).toHaveLength(2);
  });

  it('writes the changed states every checkpointIntervalMs once started, and on flush()', async () => {
    const spied = await spiedStore();
    const states = new Map([['a', state('a/liveness', 1)]]);
    const writer = writerOf(spied, states, { checkpointIntervalMs: 30 });
    writer.changed('a', false);
    await sleep(60);
    // Not started: no checkpoint timer.
    expect(spied.saves).toEqual([]);
    writer.start();
    await until('a checkpoint', () => successesSaved(spied, 'a/liveness').length === 1);
    states.set('a', state('a/liveness', 2));
    writer.changed('a', false);
    await until('the next checkpoint', () => successesSaved(spied, 'a/liveness').length === 2);
    expect(successesSaved(spied, 'a/liveness')).toEqual([1, 2]);

    // flush() (the hub's public one) takes the checkpoint's states along.
    const spied2 = await spiedStore();
    const writer2 = writerOf(spied2, states);
    writer2.changed('a', false);
    await writer2.flush();
    expect(successesSaved(spied2, 'a/liveness')).toEqual([2]);
  });

  it('writes the state a key has when its batch is taken, not the one it had when it changed', async () => {
    const spied = await spiedStore();
    const states = new Map([['a', state('a/liveness', 1)]]);
    const writer = writerOf(spied, states, { flushIntervalMs: 20 });
    writer.changed('a', true);
    states.set('a', state('a/liveness', 2));
    writer.changed('a', true);
    await until('a written', () => spied.saves.length > 0);
    // Written once: the next flush has nothing left to write.
    await writer.flush(false);
    expect(successesSaved(spied, 'a/liveness')).toEqual([2]);
    // A removed check's key is skipped.
    states.delete('a');
    writer.changed('a', true);
    await writer.flush();
    expect(spied.saves).toHaveLength(1);
  });

  it(`writes a checkpoint in batches of ${STATE_BATCH_SIZE} that yield to the event loop between them`, async () => {
    const spied = await spiedStore();
    const count = 2 * STATE_BATCH_SIZE + 100;
    const states = new Map<string, EvalState>();
    for (let i = 0; i < count; i++) states.set(`k${i}`, state(`c${i}/liveness`, 1));
    const writer = writerOf(spied, states);
    for (const k of states.keys()) writer.changed(k, false);
    let savesWhenOthersRan = -1;
    const done = writer.checkpoint();
    setImmediate(() => {
      savesWhenOthersRan = spied.saves.length;
    });
    await done;
    expect(spied.saves.map((batch) => batch.length)).toEqual([STATE_BATCH_SIZE, STATE_BATCH_SIZE, 100]);
    // Something else ran after the first batch and before the last.
    expect(savesWhenOthersRan).toBeGreaterThanOrEqual(1);
    expect(savesWhenOthersRan).toBeLessThan(3);
    expect(await spied.store.loadStates()).toHaveLength(count);
  });

  it('never writes a state older than one already written: batches wait behind ordered tasks', async () => {
    const spied = await spiedStore();
    const states = new Map([['a', state('a/liveness', 1)]]);
    const writer = writerOf(spied, states, { flushIntervalMs: 1 });
    // A transition to state 2 takes 50 ms to record; meanwhile the check moves on to state 3.
    states.set('a', state('a/liveness', 2, { state: 'pending' }));
    const recorded = writer.inOrder(async () => {
      await sleep(50);
      await spied.store.saveStates([state('a/liveness', 2, { state: 'pending' })]);
    });
    states.set('a', state('a/liveness', 3, { state: 'pending' }));
    writer.changed('a', true);
    const checkpointed = writer.checkpoint();
    await Promise.all([recorded, checkpointed, writer.flush()]);
    expect(successesSaved(spied, 'a/liveness')).toEqual([2, 3]);
    const [stored] = await spied.store.loadStates();
    expect(stored?.consecutiveSuccesses).toBe(3);
  });

  it('keeps writing in order after an ordered task rejects, and logs it', async () => {
    const spied = await spiedStore();
    const errors: string[] = [];
    const states = new Map([['a', state('a/liveness', 1)]]);
    const writer = writerOf(spied, states, { errors });
    await writer.inOrder(async () => {
      throw new Error('bug');
    });
    writer.changed('a', true);
    await writer.flush();
    expect(successesSaved(spied, 'a/liveness')).toEqual([1]);
    expect(errors).toEqual(['ordered store task failed: bug']);
  });

  it('retries a failed write: results and material states at the next flush, others at the checkpoint', async () => {
    const spied = await spiedStore();
    const errors: string[] = [];
    const states = new Map([
      ['a', state('a/liveness', 1)],
      ['b', state('b/liveness', 1)],
    ]);
    const writer = writerOf(spied, states, { errors });
    spied.failNext = { appendResults: 1, saveStates: 1 };
    writer.append(result('a/liveness', 1));
    writer.changed('a', true);
    // Both fail once, then the flush they schedule writes them.
    await until('the retries', async () => (await spied.store.loadStates()).length === 1);
    await until('the results', async () => (await spied.store.results('a/liveness')).length === 1);
    expect(spied.appends).toHaveLength(2);
    expect(errors).toEqual([
      'store write failed, will retry: disk full',
      'store write failed, will retry: disk full',
    ]);

    // A failed checkpoint batch goes back to the checkpoint, not to the flush.
    spied.failNext.saveStates = 1;
    writer.changed('b', false);
    await writer.checkpoint();
    await writer.flush(false);
    expect(successesSaved(spied, 'b/liveness')).toEqual([1]);
    expect((await spied.store.loadStates()).map((s) => s.checkId)).toEqual(['a/liveness']);
    await writer.checkpoint();
    expect((await spied.store.loadStates()).map((s) => s.checkId)).toEqual(['a/liveness', 'b/liveness']);
  });

  it('stop() waits for ordered tasks and writes everything pending, checkpoint included', async () => {
    const spied = await spiedStore();
    const states = new Map([
      ['a', state('a/liveness', 7)],
      ['b', state('b/liveness', 8)],
    ]);
    const writer = writerOf(spied, states, { flushIntervalMs: 60_000 });
    writer.start();
    let taskDone = false;
    void writer.inOrder(async () => {
      await sleep(20);
      taskDone = true;
    });
    writer.append(result('a/liveness', 1));
    writer.changed('a', true);
    writer.changed('b', false);
    await writer.stop();
    expect(taskDone).toBe(true);
    expect(await spied.store.results('a/liveness')).toHaveLength(1);
    expect((await spied.store.loadStates()).map((s) => s.consecutiveSuccesses)).toEqual([7, 8]);
  });
});

describe('storeTransition', () => {
  const transition = (from: EvalState['state'], to: EvalState['state'], at: number): Transition => ({
    checkId: 'a/liveness',
    region: 'local',
    from,
    to,
    at,
    reason: `${from} → ${to}`,
    results: [],
  });

  it('stores the transition and its state, opens an incident on unhealthy and closes it on recovery', async () => {
    const { store } = await spiedStore();
    // An incident of the same check in another region stays open.
    await store.openIncident({ checkId: 'a/liveness', region: 'eu', openedAt: 1, reason: 'elsewhere' });

    await storeTransition(
      store,
      transition('pending', 'unhealthy', 10),
      state('a/liveness', 0, { state: 'unhealthy', since: 10 }),
    );
    expect((await store.loadStates()).map((s) => [s.state, s.since])).toEqual([['unhealthy', 10]]);
    const open = await store.incidents({ open: true, checkId: 'a/liveness' });
    expect(open.map((i) => [i.region, i.openedAt, i.reason])).toEqual([
      ['local', 10, 'pending → unhealthy'],
      ['eu', 1, 'elsewhere'],
    ]);

    await storeTransition(
      store,
      transition('unhealthy', 'healthy', 20),
      state('a/liveness', 1, { since: 20 }),
    );
    expect((await store.transitions()).map((t) => t.to)).toEqual(['healthy', 'unhealthy']);
    expect((await store.loadStates()).map((s) => [s.state, s.since])).toEqual([['healthy', 20]]);
    const closed = await store.incidents({ open: false, checkId: 'a/liveness' });
    expect(closed.map((i) => [i.region, i.closedAt])).toEqual([['local', 20]]);
    expect((await store.incidents({ open: true })).map((i) => i.region)).toEqual(['eu']);
  });

  it('opens no incident for a transition that does not reach or leave unhealthy', async () => {
    const { store } = await spiedStore();
    await storeTransition(
      store,
      transition('healthy', 'pending', 5),
      state('a/liveness', 0, { state: 'pending', since: 5 }),
    );
    expect(await store.incidents()).toEqual([]);
    expect(await store.transitions()).toHaveLength(1);
  });

  it('keeps an incident open through stale, and opens or closes one by the state last known', async () => {
    const { store } = await spiedStore();
    const through = (
      from: EvalState['state'],
      to: EvalState['state'],
      at: number,
      lastKnown: 'unhealthy' | 'healthy',
    ) => ({
      ...transition(from, to, at),
      lastKnown,
    });
    await storeTransition(
      store,
      transition('pending', 'unhealthy', 10),
      state('a/liveness', 0, { state: 'unhealthy', since: 10 }),
    );
    await storeTransition(
      store,
      through('unhealthy', 'stale', 20, 'unhealthy'),
      state('a/liveness', 0, { state: 'stale', since: 20 }),
    );
    expect((await store.incidents({ open: true })).map((i) => i.openedAt)).toEqual([10]);
    // Back, still unhealthy: the same incident, no second one.
    await storeTransition(
      store,
      through('stale', 'unhealthy', 30, 'unhealthy'),
      state('a/liveness', 0, { state: 'unhealthy', since: 10 }),
    );
    expect((await store.incidents()).map((i) => [i.openedAt, i.closedAt])).toEqual([[10, null]]);
    // Stale again, then back healthy: that closes it.
    await storeTransition(
      store,
      through('unhealthy', 'stale', 40, 'unhealthy'),
      state('a/liveness', 0, { state: 'stale', since: 40 }),
    );
    await storeTransition(
      store,
      through('stale', 'healthy', 50, 'unhealthy'),
      state('a/liveness', 1, { since: 50 }),
    );
    expect((await store.incidents()).map((i) => [i.openedAt, i.closedAt])).toEqual([[10, 50]]);
    // Healthy, stale, back unhealthy: a new incident.
    await storeTransition(
      store,
      through('healthy', 'stale', 60, 'healthy'),
      state('a/liveness', 1, { state: 'stale', since: 60 }),
    );
    await storeTransition(
      store,
      through('stale', 'unhealthy', 70, 'healthy'),
      state('a/liveness', 1, { state: 'unhealthy', since: 70 }),
    );
    expect((await store.incidents({ open: true })).map((i) => i.openedAt)).toEqual([70]);
  });
});
