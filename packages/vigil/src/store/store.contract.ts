/**
 * The Store contract: one suite, run against every backend (`sqlite.test.ts`, `postgres.test.ts`), in the
 * manner of Gatus's store tests and Hono's shared router cases. A new backend passes this suite, or it
 * is not a backend.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Baseline, buildBaseline } from '../canary/baseline.js';
import type { ProbeResult, Transition } from '../types.js';
import { STORE_ERROR_CODES, StoreError } from './errors.js';
import { evalState, failedResult, probeResult, T0 } from './fixtures/data.js';
import { encodeJson } from './shared.js';
import type { ActionRunInput, Notification, Store } from './types.js';
import { DEFAULT_RAW_RETENTION_MS } from './types.js';

/** How the suite reaches one backend. */
export interface StoreContractHarness {
  /** Opens a store on a new, empty database; `migrate: false` leaves it without tables. */
  create(options?: { migrate?: boolean }): Promise<Store>;
  /** Opens another store on the database of the last `create`: another process, or another hub replica. */
  reopen(options?: { migrate?: boolean }): Promise<Store>;
  /** Runs SQL on that database beside the store, to set up what the API cannot (valid on every backend). */
  exec(sql: string): Promise<void>;
  /** Removes that database. The suite closes the stores it opened first. */
  dispose(): Promise<void>;
}

const MIN = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

function transition(overrides: Partial<Transition> = {}): Transition {
  return {
    checkId: 'credit-scorer/integrity',
    region: 'eu-west',
    from: 'pending',
    to: 'unhealthy',
    at: T0,
    reason: '3 consecutive failures: TIMEOUT: timed out after 2000 ms',
    results: [failedResult()],
    ...overrides,
  };
}

/** Asserts a rejection with a StoreError of `code`, and that the code is a documented one. */
async function expectStoreError(
  promise: Promise<unknown>,
  code: keyof typeof STORE_ERROR_CODES,
): Promise<void> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  expect((err as StoreError).code).toBe(code);
  expect(Object.keys(STORE_ERROR_CODES)).toContain((err as StoreError).code);
}

const ids = (rows: readonly { id: string }[]): string[] => rows.map((r) => r.id);

/** A small canary baseline of model `credit-scorer` at `version`, answering `probability` = `p`. */
function baselineOf(version: string, p: number, recordedAt = T0): Baseline {
  return buildBaseline({
    cases: ['a', 'b'].map((id, i) => ({
      id,
      request: { inputs: [i] },
      answers: [0, 1, 2].map((r) => ({
        outputs: { probability: [p + i / 10 + r / 1000], label: [p > 0.5 ? 'default' : 'repay'] },
        durationMs: 10 + r,
      })),
    })),
    model: { name: 'credit-scorer', version },
    recordedAt: new Date(recordedAt),
    check: 'canary',
  });
}

/**
 * Defines the contract cases for one backend. Call it at the top level of the backend's test file.
 *
 * @param backend Name shown in the test titles, and the expected `store.backend`.
 * @param makeHarness Called once per case: a fresh database each time.
 */
export function defineStoreContract(backend: string, makeHarness: () => StoreContractHarness): void {
  describe(`Store contract: ${backend}`, () => {
    let harness: StoreContractHarness;
    let opened: Store[];
    let store: Store;

    const track = async (pending: Promise<Store>): Promise<Store> => {
      const s = await pending;
      opened.push(s);
      return s;
    };
    const create = (options?: { migrate?: boolean }) => track(harness.create(options));
    const reopen = (options?: { migrate?: boolean }) => track(harness.reopen(options));

    beforeEach(async () => {
      harness = makeHarness();
      opened = [];
      store = await create();
    });

    afterEach(async () => {
      for (const s of opened) await s.close();
      await harness.dispose();
    });

    it('names its backend', () => {
      expect(store.backend).toBe(backend);
    });

    describe('results', () => {
      it('round-trips a ProbeResult with every optional field, and one with none', async () => {
        const full = failedResult({ startedAt: T0 + 1000, durationMs: 2001.375 });
        const bare = probeResult({ startedAt: T0 + 2000 });
        await store.appendResults([full, bare]);
        const back = await store.results(full.checkId);
        expect(back).toStrictEqual([full, bare]);
        const [, bareBack] = back;
        expect(bareBack && Object.keys(bareBack).sort()).toEqual(Object.keys(bare).sort());
      });

      it("round-trips an adapter's notes, on a passing result and on a failed one (issue #15)", async () => {
        const note =
          'the server as a whole is not ready (/v2/health/ready: 400): another of its models is not ready';
        const passing = probeResult({ startedAt: T0 + 1000, notes: [note] });
        const failing = failedResult({ startedAt: T0 + 2000, notes: [note, 'second note'] });
        await store.appendResults([passing, failing]);
        expect(await store.results(passing.checkId)).toStrictEqual([passing, failing]);
      });

      it("round-trips a metrics check's readings: values, a missing one (null) and thresholds", async () => {
        const readings = [
          { name: 'vllm:num_requests_waiting', kind: 'gauge' as const, value: 20, degraded: 10, failed: 100 },
          { name: 'vllm:kv_cache_usage_perc', kind: 'gauge' as const, value: null, degraded: 0.9 },
        ];
        const degraded = probeResult({
          startedAt: T0 + 1000,
          check: 'metrics',
          outcome: 'degraded',
          readings,
        });
        const passing = probeResult({
          startedAt: T0 + 2000,
          check: 'metrics',
          readings: readings.slice(0, 1),
        });
        await store.appendResults([degraded, passing]);
        expect(await store.results(degraded.checkId)).toStrictEqual([degraded, passing]);
      });

      it('round-trips assertion values JSON cannot hold: NaN, ±Infinity, bigint', async () => {
        const odd = failedResult({
          failures: [
            {
              assertion: 'outputs',
              operator: 'finite',
              expected: 'finite',
              actual: Number.NaN,
              message: 'NaN',
            },
            {
              assertion: 'outputs',
              expected: Number.POSITIVE_INFINITY,
              actual: Number.NEGATIVE_INFINITY,
              message: '∞',
            },
            { assertion: 'jsonpath', expected: 2n ** 70n, actual: [1, { deep: Number.NaN }], message: 'big' },
          ],
        });
        await store.appendResults([odd]);
        expect(await store.results(odd.checkId)).toStrictEqual([odd]);
      });

      it('returns one check oldest first, filtered by region, since (inclusive) and until (exclusive)', async () => {
        const at = (s: number, region = 'eu-west') => probeResult({ startedAt: T0 + s * 1000, region });
        await store.appendResults([
          at(3),
          at(1),
          at(2, 'us-east'),
          at(4),
          probeResult({ checkId: 'other/liveness' }),
        ]);
        const starts = (rs: ProbeResult[]) => rs.map((r) => (r.startedAt - T0) / 1000);
        expect(starts(await store.results('credit-scorer/integrity'))).toEqual([1, 2, 3, 4]);
        expect(starts(await store.results('credit-scorer/integrity', { region: 'eu-west' }))).toEqual([
          1, 3, 4,
        ]);
        expect(
          starts(await store.results('credit-scorer/integrity', { since: T0 + 2000, until: T0 + 4000 })),
        ).toEqual([2, 3]);
        expect(await store.results('nobody/liveness')).toEqual([]);
      });

      it('with a limit, keeps the most recent results of the window, still oldest first', async () => {
        await store.appendResults([1, 2, 3, 4, 5].map((s) => probeResult({ startedAt: T0 + s * 1000 })));
        const back = await store.results('credit-scorer/integrity', { limit: 2 });
        expect(back.map((r) => r.startedAt)).toEqual([T0 + 4000, T0 + 5000]);
        const window = await store.results('credit-scorer/integrity', { until: T0 + 4000, limit: 2 });
        expect(window.map((r) => r.startedAt)).toEqual([T0 + 2000, T0 + 3000]);
        expect(await store.results('credit-scorer/integrity', { limit: 0 })).toEqual([]);
      });

      it('stores a batch whole or not at all', async () => {
        const broken = probeResult({ checkId: null as unknown as string, startedAt: T0 + 2000 });
        await expectStoreError(
          store.appendResults([probeResult({ startedAt: T0 + 1000 }), broken]),
          'VIGIL_ERR_STORE_QUERY',
        );
        expect(await store.results('credit-scorer/integrity')).toEqual([]);
        await store.appendResults([]);
        expect(await store.results('credit-scorer/integrity')).toEqual([]);
      });

      it('are visible to another handle on the same database', async () => {
        await store.appendResults([failedResult()]);
        const other = await reopen();
        expect(await other.results('credit-scorer/integrity')).toStrictEqual([failedResult()]);
      });

      it('rejects a negative or fractional limit', async () => {
        await expectStoreError(store.results('x', { limit: -1 }), 'VIGIL_ERR_STORE_INVALID_ARGUMENT');
        await expectStoreError(store.results('x', { limit: 1.5 }), 'VIGIL_ERR_STORE_INVALID_ARGUMENT');
      });
    });

    describe('transitions', () => {
      it('round-trip with the results that caused them, newest first', async () => {
        const first = transition({ from: 'healthy', to: 'pending', at: T0 });
        const second = transition({ at: T0 + 2000 });
        await store.appendTransition(first);
        await store.appendTransition(second);
        expect(await store.transitions()).toStrictEqual([second, first]);
      });

      it('filter by check, region and since, and keep the newest `limit`', async () => {
        await store.appendTransition(transition({ at: T0 + 1000 }));
        await store.appendTransition(transition({ at: T0 + 2000, region: 'us-east' }));
        await store.appendTransition(transition({ at: T0 + 3000, checkId: 'other/liveness' }));
        await store.appendTransition(transition({ at: T0 + 4000 }));
        const ats = (ts: Transition[]) => ts.map((t) => (t.at - T0) / 1000);
        expect(ats(await store.transitions({ checkId: 'credit-scorer/integrity' }))).toEqual([4, 2, 1]);
        expect(ats(await store.transitions({ region: 'eu-west' }))).toEqual([4, 3, 1]);
        expect(ats(await store.transitions({ since: T0 + 2000 }))).toEqual([4, 3, 2]);
        expect(ats(await store.transitions({ limit: 2 }))).toEqual([4, 3]);
        expect(
          ats(
            await store.transitions({
              checkId: 'credit-scorer/integrity',
              region: 'eu-west',
              since: T0 + 1500,
            }),
          ),
        ).toEqual([4]);
      });
    });

    describe('incidents', () => {
      const input = {
        checkId: 'credit-scorer/integrity',
        region: 'eu-west',
        openedAt: T0,
        reason: '3 failures',
      };

      it('opens one with a UUID, and opening again returns the open one', async () => {
        const opened = await store.openIncident(input);
        expect(opened).toEqual({ ...input, id: expect.stringMatching(UUID), closedAt: null });
        const again = await store.openIncident({ ...input, openedAt: T0 + 5000, reason: 'again' });
        expect(again).toEqual(opened);
        const elsewhere = await store.openIncident({ ...input, region: 'us-east' });
        expect(elsewhere.id).not.toBe(opened.id);
        expect(await store.incidents({ open: true })).toHaveLength(2);
      });

      it('keeps one open incident per (check, region) across replicas opening at once', async () => {
        const replicas = [store, await reopen(), await reopen()];
        const opened = await Promise.all(replicas.map((r) => r.openIncident(input)));
        expect(new Set(ids(opened)).size).toBe(1);
        expect(await store.incidents({ open: true })).toHaveLength(1);
      });

      it('closes once; a later failure opens a new one', async () => {
        const first = await store.openIncident(input);
        expect(await store.closeIncident(first.id, T0 + MIN)).toBe(true);
        expect(await store.closeIncident(first.id, T0 + 2 * MIN)).toBe(false);
        expect(await store.closeIncident('00000000-0000-0000-0000-000000000000', T0)).toBe(false);
        expect(await store.incidents({ id: first.id })).toEqual([{ ...first, closedAt: T0 + MIN }]);
        expect(await store.incidents({ id: 'no-such-incident' })).toEqual([]);
        const [closed] = await store.incidents({ open: false });
        expect(closed).toEqual({ ...first, closedAt: T0 + MIN });
        const second = await store.openIncident({ ...input, openedAt: T0 + 3 * MIN });
        expect(second.id).not.toBe(first.id);
        expect(second.closedAt).toBeNull();
      });

      it('lists newest first, filtered by open and check, with a limit', async () => {
        const a = await store.openIncident({ ...input, openedAt: T0 });
        await store.closeIncident(a.id, T0 + 1000);
        const b = await store.openIncident({ ...input, openedAt: T0 + 2000 });
        const c = await store.openIncident({ ...input, checkId: 'other/liveness', openedAt: T0 + 3000 });
        expect(ids(await store.incidents())).toEqual([c.id, b.id, a.id]);
        expect(ids(await store.incidents({ open: true }))).toEqual([c.id, b.id]);
        expect(ids(await store.incidents({ open: false }))).toEqual([a.id]);
        expect(ids(await store.incidents({ checkId: 'credit-scorer/integrity' }))).toEqual([b.id, a.id]);
        expect(ids(await store.incidents({ limit: 1 }))).toEqual([c.id]);
      });
    });

    describe('evaluator states', () => {
      it('upsert by (check, region) and load back exactly, ordered by check then region', async () => {
        const a = evalState({ checkId: 'b/liveness', region: 'us-east' });
        const b = evalState({ checkId: 'a/liveness', state: 'pending', consecutiveFailures: 1 });
        await store.saveStates([a, b]);
        const recovered = evalState({
          checkId: 'a/liveness',
          state: 'healthy',
          consecutiveFailures: 0,
          consecutiveSuccesses: 1,
          streak: [],
          lastResult: probeResult(),
          firstSeenAt: null,
        });
        await store.saveStates([recovered]);
        expect(await store.loadStates()).toStrictEqual([recovered, a]);
      });

      it('keep the last of duplicates within one batch', async () => {
        await store.saveStates([
          evalState({ consecutiveFailures: 1 }),
          evalState({ consecutiveFailures: 2 }),
        ]);
        expect((await store.loadStates()).map((s) => s.consecutiveFailures)).toEqual([2]);
      });

      it('survive closing and reopening (a restart)', async () => {
        await store.saveStates([evalState()]);
        await store.close();
        const restarted = await reopen();
        expect(await restarted.loadStates()).toStrictEqual([evalState()]);
      });

      it('load only the states written since `writtenSince`, when asked (the writer stamps each save)', async () => {
        const first = evalState({ checkId: 'a/liveness' });
        await store.saveStates([first]);
        // A bound after first's stamp and at or before second's, whatever the clock's resolution.
        const savedFirst = Date.now();
        while (Date.now() <= savedFirst) await new Promise((r) => setTimeout(r, 1));
        const bound = Date.now();
        const second = evalState({ checkId: 'b/liveness' });
        await store.saveStates([second]);
        expect(await store.loadStates({ writtenSince: bound })).toStrictEqual([second]);
        expect(await store.loadStates({ writtenSince: 0 })).toStrictEqual([first, second]);
        expect(await store.loadStates({ writtenSince: Date.now() + 60 * MIN })).toStrictEqual([]);
        // Written again: in the window again.
        const again = { ...first, consecutiveFailures: 4 };
        await store.saveStates([again]);
        expect(await store.loadStates({ writtenSince: bound })).toStrictEqual([again, second]);
      });

      it('count a state stored before migration 11 as written at 0: a full read has it, a filtered one not', async () => {
        const fresh = await create({ migrate: false });
        await fresh.migrate({ to: 9 });
        const old = evalState({ checkId: 'old/liveness' });
        const data = encodeJson(old).replaceAll("'", "''");
        await harness.exec(
          `INSERT INTO eval_states (check_id, region, state, since, data) VALUES ('old/liveness', 'eu-west', 'unhealthy', ${T0}, '${data}')`,
        );
        await fresh.migrate();
        expect(await fresh.loadStates()).toStrictEqual([old]);
        expect(await fresh.loadStates({ writtenSince: 1 })).toStrictEqual([]);
      });
    });

    describe('outbox', () => {
      const note = (dedupKey: string, createdAt = T0, notifier = 'pagerduty') => ({
        dedupKey,
        notifier,
        createdAt,
        payload: { summary: `incident ${dedupKey}`, severity: 'critical', labels: { team: 'risk' } },
      });

      it('enqueues once per (notifier, dedupKey) and says when it did not', async () => {
        const first = await store.enqueueNotification(note('inc-1:firing'));
        expect(first).toEqual({ id: expect.stringMatching(UUID), enqueued: true });
        const again = await store.enqueueNotification({
          ...note('inc-1:firing', T0 + 1000),
          payload: 'changed',
        });
        expect(again).toEqual({ id: first.id, enqueued: false });
        const slack = await store.enqueueNotification(note('inc-1:firing', T0 + 1, 'slack'));
        expect(slack.enqueued).toBe(true);
        const pending = await store.pendingNotifications();
        expect(pending.map((n) => [n.notifier, n.payload])).toEqual([
          ['pagerduty', note('inc-1:firing').payload],
          ['slack', note('inc-1:firing').payload],
        ]);
      });

      it('claims due rows oldest first, leases them, and hands them out again when the lease lapses', async () => {
        await store.enqueueNotification(note('late', T0 + 10_000));
        await store.enqueueNotification(note('b', T0 + 2000));
        await store.enqueueNotification(note('a', T0 + 1000));
        await store.enqueueNotification(note('c', T0 + 3000));
        const claimed = await store.claimDueNotifications({ now: T0 + 5000, limit: 2, leaseMs: 30_000 });
        expect(claimed.map((n) => n.dedupKey)).toEqual(['a', 'b']);
        expect(claimed.every((n) => n.leasedUntil === T0 + 35_000 && n.status === 'pending')).toBe(true);
        const rest = await store.claimDueNotifications({ now: T0 + 5000, limit: 10, leaseMs: 30_000 });
        expect(rest.map((n) => n.dedupKey)).toEqual(['c']);
        expect(await store.claimDueNotifications({ now: T0 + 6000, limit: 10, leaseMs: 30_000 })).toEqual([]);
        const lapsed = await store.claimDueNotifications({ now: T0 + 35_000, limit: 10, leaseMs: 30_000 });
        expect(lapsed.map((n) => n.dedupKey)).toEqual(['a', 'b', 'c', 'late']);
      });

      it('never hands the same row to two replicas claiming at once', async () => {
        for (let i = 0; i < 20; i++) await store.enqueueNotification(note(`k${i}`, T0 + i));
        const replicas = [store, await reopen(), await reopen()];
        const claims = await Promise.all(
          replicas.map((r) => r.claimDueNotifications({ now: T0 + MIN, limit: 9, leaseMs: MIN })),
        );
        const all = claims.flat().map((n) => n.dedupKey);
        expect(all).toHaveLength(20);
        expect(new Set(all).size).toBe(20);
      });

      it('markFailed counts the attempt, releases the lease and delays the row; null gives up', async () => {
        const { id } = await store.enqueueNotification(note('x'));
        await store.claimDueNotifications({ now: T0, limit: 1, leaseMs: MIN });
        expect(await store.markFailed(id, { error: 'HTTP 503', nextAttemptAt: T0 + 10_000 })).toBe(true);
        const [retry] = await store.pendingNotifications();
        expect(retry).toMatchObject({
          attempts: 1,
          lastError: 'HTTP 503',
          nextAttemptAt: T0 + 10_000,
          leasedUntil: null,
        });
        expect(await store.claimDueNotifications({ now: T0 + 9999, limit: 5, leaseMs: MIN })).toEqual([]);
        const [again] = await store.claimDueNotifications({ now: T0 + 10_000, limit: 5, leaseMs: MIN });
        expect(again?.id).toBe(id);
        expect(await store.markFailed(id, { error: 'HTTP 400: bad routing key', nextAttemptAt: null })).toBe(
          true,
        );
        expect(await store.pendingNotifications()).toEqual([]);
        expect(await store.claimDueNotifications({ now: T0 + 10 * MIN, limit: 5, leaseMs: MIN })).toEqual([]);
        expect(await store.markFailed(id, { error: 'again', nextAttemptAt: T0 })).toBe(false);
        expect(await store.enqueueNotification(note('x'))).toEqual({ id, enqueued: false });
      });

      it('markDelivered settles a row once', async () => {
        const { id } = await store.enqueueNotification(note('y'));
        const [claimed] = await store.claimDueNotifications({ now: T0, limit: 1, leaseMs: MIN });
        expect(claimed?.id).toBe(id);
        expect(await store.markDelivered(id, T0 + 100)).toBe(true);
        expect(await store.markDelivered(id, T0 + 200)).toBe(false);
        expect(await store.markDelivered('00000000-0000-0000-0000-000000000000', T0)).toBe(false);
        expect(await store.pendingNotifications()).toEqual([]);
        expect(await store.claimDueNotifications({ now: T0 + 10 * MIN, limit: 5, leaseMs: MIN })).toEqual([]);
      });

      it('lists pending rows, leased or not, oldest first, with every field', async () => {
        await store.enqueueNotification(note('second', T0 + 1000));
        const { id } = await store.enqueueNotification(note('first', T0));
        await store.claimDueNotifications({ now: T0, limit: 1, leaseMs: MIN });
        const pending = await store.pendingNotifications();
        expect(pending.map((n) => n.dedupKey)).toEqual(['first', 'second']);
        const expected: Notification = {
          id,
          dedupKey: 'first',
          notifier: 'pagerduty',
          payload: note('first').payload,
          createdAt: T0,
          status: 'pending',
          attempts: 0,
          nextAttemptAt: T0,
          leasedUntil: T0 + MIN,
          deliveredAt: null,
          lastError: null,
        };
        expect(pending[0]).toStrictEqual(expected);
      });

      it('releases a lease without counting an attempt; a settled row is not released', async () => {
        const { id } = await store.enqueueNotification(note('r', T0));
        const [claimed] = await store.claimDueNotifications({ now: T0, limit: 1, leaseMs: MIN });
        expect(claimed?.leasedUntil).toBe(T0 + MIN);
        expect(await store.claimDueNotifications({ now: T0 + 1, limit: 1, leaseMs: MIN })).toEqual([]);
        expect(await store.releaseLease(id)).toBe(true);
        const [again] = await store.claimDueNotifications({ now: T0 + 1, limit: 1, leaseMs: MIN });
        expect(again).toMatchObject({ id, attempts: 0, leasedUntil: T0 + 1 + MIN });
        expect(await store.markDelivered(id, T0 + 2)).toBe(true);
        expect(await store.releaseLease(id)).toBe(false);
        expect(await store.releaseLease('00000000-0000-0000-0000-000000000000')).toBe(false);
      });

      it('lists notifications of every status in a createdAt window, oldest first', async () => {
        const a = await store.enqueueNotification(note('a', T0 + 1000));
        await store.enqueueNotification(note('before', T0 - 1));
        const b = await store.enqueueNotification(note('b', T0 + 2000));
        await store.enqueueNotification(note('c', T0 + 3000));
        await store.enqueueNotification(note('at-until', T0 + 4000));
        expect(await store.markDelivered(a.id, T0 + 1500)).toBe(true);
        expect(await store.markFailed(b.id, { error: 'HTTP 400', nextAttemptAt: null })).toBe(true);
        const window = await store.notifications({ since: T0, until: T0 + 4000 });
        expect(window.map((n) => [n.dedupKey, n.status])).toEqual([
          ['a', 'delivered'],
          ['b', 'failed'],
          ['c', 'pending'],
        ]);
        expect(window[0]?.deliveredAt).toBe(T0 + 1500);
        expect(window[1]?.lastError).toBe('HTTP 400');
        expect((await store.notifications({ since: T0, limit: 2 })).map((n) => n.dedupKey)).toEqual([
          'a',
          'b',
        ]);
        expect(await store.notifications()).toHaveLength(5);
      });
    });

    describe('action runs', () => {
      const claim = (overrides: Partial<ActionRunInput> = {}): ActionRunInput => ({
        idempotencyKey: 'k1',
        scope: 'credit-scorer',
        action: 'restart',
        kind: 'command',
        event: 'unhealthy',
        step: 0,
        checkId: 'credit-scorer/liveness',
        region: 'eu-west',
        incidentId: 'inc-1',
        transitionAt: T0,
        reason: '3 consecutive failures',
        status: 'running',
        claimedAt: T0 + 10,
        leaseUntil: T0 + 1_000,
        owner: 'hub-a',
        what: 'systemctl restart scorer',
        ...overrides,
      });

      it('claim once per idempotency key, also from another process', async () => {
        const first = await store.claimActionRun(claim());
        expect(first.claimed).toBe(true);
        expect(first.run).toMatchObject({
          status: 'running',
          step: 0,
          leaseUntil: T0 + 1_000,
          finishedAt: null,
        });
        const other = await reopen();
        const second = await other.claimActionRun(claim({ owner: 'hub-b' }));
        expect(second).toEqual({ claimed: false, run: first.run });
        expect(await store.actionRuns()).toHaveLength(1);
      });

      it('finish a running run once; renew only while running', async () => {
        const { run } = await store.claimActionRun(claim());
        expect(await store.renewActionLease(run.id, T0 + 5_000)).toBe(true);
        expect(
          await store.finishActionRun(run.id, { status: 'succeeded', finishedAt: T0 + 20, output: 'ok' }),
        ).toBe(true);
        expect(
          await store.finishActionRun(run.id, { status: 'failed', finishedAt: T0 + 30, output: 'x' }),
        ).toBe(false);
        expect(await store.renewActionLease(run.id, T0 + 9_000)).toBe(false);
        const [stored] = await store.actionRuns({ incidentId: 'inc-1' });
        expect(stored).toMatchObject({
          status: 'succeeded',
          finishedAt: T0 + 20,
          output: 'ok',
          leaseUntil: null,
        });
      });

      it('a run whose lease lapsed becomes unknown, once across replicas, and is never running again', async () => {
        const { run } = await store.claimActionRun(claim());
        const live = await store.claimActionRun(claim({ idempotencyKey: 'k2', leaseUntil: T0 + 10_000 }));
        const other = await reopen();
        const [a, b] = await Promise.all([
          store.expireActionRuns(T0 + 2_000),
          other.expireActionRuns(T0 + 2_000),
        ]);
        expect([...(a ?? []), ...(b ?? [])].map((r) => r.id)).toEqual([run.id]);
        const [expired] = await store
          .actionRuns({ action: 'restart', since: T0, limit: 10 })
          .then((rows) => rows.filter((r) => r.id === run.id));
        expect(expired).toMatchObject({ status: 'unknown', finishedAt: T0 + 2_000 });
        expect(expired?.output).toContain('outcome unknown');
        expect(
          await store.finishActionRun(run.id, { status: 'succeeded', finishedAt: T0 + 3_000, output: null }),
        ).toBe(false);
        expect(
          (await store.actionRuns({ checkId: 'credit-scorer/liveness' })).find((r) => r.id === live.run.id)
            ?.status,
        ).toBe('running');
      });

      it('a skipped run is recorded finished, with its reason; newest first, filtered', async () => {
        await store.claimActionRun(claim());
        await store.claimActionRun(
          claim({
            idempotencyKey: 'k2',
            status: 'skipped',
            skipReason: 'cooldown',
            claimedAt: T0 + 50,
            scope: 'other',
          }),
        );
        const all = await store.actionRuns();
        expect(all.map((r) => r.idempotencyKey)).toEqual(['k2', 'k1']);
        expect(all[0]).toMatchObject({
          status: 'skipped',
          skipReason: 'cooldown',
          finishedAt: T0 + 50,
          leaseUntil: null,
        });
        expect((await store.actionRuns({ scope: 'other' })).map((r) => r.idempotencyKey)).toEqual(['k2']);
        expect((await store.actionRuns({ since: T0 + 20 })).map((r) => r.idempotencyKey)).toEqual(['k2']);
        expect((await store.actionRuns({ limit: 1 })).map((r) => r.idempotencyKey)).toEqual(['k2']);
      });
    });

    describe('silences', () => {
      const silence = {
        matchers: [
          { label: 'team', value: 'risk' },
          { label: 'check', value: 'canary|integrity', isRegex: true },
        ],
        startsAt: T0,
        endsAt: T0 + 60 * MIN,
        createdBy: 'oncall@example.com',
        comment: 'model rollout',
      };

      it('creates with a UUID, replaces by id, lists by activity, deletes', async () => {
        const put = await store.putSilence(silence);
        expect(put).toEqual({ ...silence, id: expect.stringMatching(UUID) });
        const later = await store.putSilence({
          ...silence,
          startsAt: T0 + 120 * MIN,
          endsAt: T0 + 180 * MIN,
        });
        expect(await store.silences()).toStrictEqual([put, later]);
        expect(ids(await store.silences({ activeAt: T0 }))).toEqual([put.id]);
        expect(ids(await store.silences({ activeAt: T0 + 60 * MIN }))).toEqual([]);
        const extended = await store.putSilence({
          ...silence,
          id: put.id,
          endsAt: T0 + 90 * MIN,
          comment: 'longer',
        });
        expect(await store.silences({ activeAt: T0 + 60 * MIN })).toStrictEqual([extended]);
        expect(await store.deleteSilence(put.id)).toBe(true);
        expect(await store.deleteSilence(put.id)).toBe(false);
        expect(ids(await store.silences())).toEqual([later.id]);
      });

      it.each([
        ['no matcher', { matchers: [] }],
        ['a regex that does not compile', { matchers: [{ label: 'a', value: '(', isRegex: true }] }],
        [
          'a backreference, which RE2 cannot run',
          { matchers: [{ label: 'a', value: '(a)\\1', isRegex: true }] },
        ],
        ['an end before its start', { endsAt: T0 - 1 }],
        ['an end equal to its start', { endsAt: T0 }],
      ])('rejects a silence with %s', async (_, bad) => {
        await expectStoreError(store.putSilence({ ...silence, ...bad }), 'VIGIL_ERR_STORE_INVALID_ARGUMENT');
        expect(await store.silences()).toEqual([]);
      });
    });

    describe('one-off maintenance windows', () => {
      const window = {
        matchers: [
          { label: 'target', value: 'credit-scorer' },
          { label: 'check', value: 'canary|integrity', isRegex: true },
        ],
        startsAt: T0,
        endsAt: null,
        createdBy: 'oncall@example.com',
        comment: 'GPU driver upgrade',
      };

      it('creates with a UUID, lists open ones (open-ended until ended), ends once', async () => {
        const open = await store.putMaintenanceWindow(window);
        expect(open).toEqual({ ...window, id: expect.stringMatching(UUID), endedAt: null, endedBy: null });
        const scheduled = await store.putMaintenanceWindow({
          ...window,
          startsAt: T0 + 120 * MIN,
          endsAt: T0 + 180 * MIN,
        });
        expect(await store.maintenanceWindows()).toStrictEqual([open, scheduled]);
        expect(ids(await store.maintenanceWindows({ activeAt: T0 - 1 }))).toEqual([]);
        expect(ids(await store.maintenanceWindows({ activeAt: T0 + 150 * MIN }))).toEqual([
          open.id,
          scheduled.id,
        ]);
        expect(ids(await store.maintenanceWindows({ activeAt: T0 + 180 * MIN }))).toEqual([open.id]);

        const ended = await store.endMaintenanceWindow(open.id, T0 + 30 * MIN, 'ops@example.com');
        expect(ended).toStrictEqual({
          changed: true,
          window: { ...open, endsAt: T0 + 30 * MIN, endedAt: T0 + 30 * MIN, endedBy: 'ops@example.com' },
        });
        expect(ids(await store.maintenanceWindows({ activeAt: T0 + 30 * MIN - 1 }))).toEqual([open.id]);
        expect(ids(await store.maintenanceWindows({ activeAt: T0 + 30 * MIN }))).toEqual([]);
        // Ending it again changes nothing.
        expect(await store.endMaintenanceWindow(open.id, T0 + 40 * MIN, 'someone-else')).toStrictEqual({
          changed: false,
          window: ended?.window,
        });
        // A window ended before it starts never opens.
        const cancelled = await store.endMaintenanceWindow(scheduled.id, T0 + 60 * MIN, 'ops@example.com');
        expect(cancelled?.window).toMatchObject({ endsAt: T0 + 120 * MIN, endedAt: T0 + 60 * MIN });
        expect(ids(await store.maintenanceWindows({ activeAt: T0 + 120 * MIN }))).toEqual([]);
        expect(await store.endMaintenanceWindow('no-such-id', T0, 'x')).toBeUndefined();
      });

      it.each([
        ['no matcher', { matchers: [] }],
        ['a regex that does not compile', { matchers: [{ label: 'a', value: '(', isRegex: true }] }],
        ['an end before its start', { endsAt: T0 - 1 }],
        ['an end equal to its start', { endsAt: T0 }],
      ])('rejects a window with %s', async (_, bad) => {
        await expectStoreError(
          store.putMaintenanceWindow({ ...window, ...bad }),
          'VIGIL_ERR_STORE_INVALID_ARGUMENT',
        );
        expect(await store.maintenanceWindows()).toEqual([]);
      });
    });

    describe('canary baselines', () => {
      const CHECK = 'credit-scorer/canary';
      const put = (version: string, p: number, status: 'reviewed' | 'provisional', storedAt: number) =>
        store.putBaseline({
          checkId: CHECK,
          modelVersion: version,
          status,
          source: status === 'reviewed' ? 'file:/baselines/credit.json' : 'auto',
          storedAt,
          baseline: baselineOf(version, p),
        });

      it('round-trip exactly, with the recorded time, a digest, and the newest first', async () => {
        const first = await put('1', 0.2, 'reviewed', T0);
        expect(first.inserted).toBe(true);
        expect(first.baseline).toMatchObject({
          checkId: CHECK,
          modelVersion: '1',
          status: 'reviewed',
          recordedAt: T0,
        });
        expect(first.baseline.digest).toMatch(/^[0-9a-f]{64}$/);
        expect(first.baseline.baseline).toEqual(baselineOf('1', 0.2));
        const second = await put('1', 0.3, 'reviewed', T0 + MIN);
        expect(ids(await store.baselines({ checkId: CHECK }))).toEqual([
          second.baseline.id,
          first.baseline.id,
        ]);
        expect(ids(await store.baselines({ checkId: CHECK, limit: 1 }))).toEqual([second.baseline.id]);
        expect(await store.baselines({ checkId: 'other/canary' })).toEqual([]);
      });

      it('store the same baseline once per (check, version, status): an import at every load adds nothing', async () => {
        const first = await put('1', 0.2, 'reviewed', T0);
        const again = await put('1', 0.2, 'reviewed', T0 + MIN);
        expect(again).toEqual({ baseline: first.baseline, inserted: false });
        expect(await store.baselines()).toHaveLength(1);
        // The same answers as a provisional baseline are another row.
        expect((await put('1', 0.2, 'provisional', T0 + MIN)).inserted).toBe(true);
      });

      it('filter by model version and status', async () => {
        await put('1', 0.2, 'reviewed', T0);
        const v2 = await put('2', 0.2, 'provisional', T0 + MIN);
        expect(ids(await store.baselines({ checkId: CHECK, modelVersion: '2' }))).toEqual([v2.baseline.id]);
        expect(ids(await store.baselines({ status: 'provisional' }))).toEqual([v2.baseline.id]);
        expect(await store.baselines({ modelVersion: '2', status: 'reviewed' })).toEqual([]);
      });

      it('promote the newest provisional baseline to reviewed, and drop the provisional ones', async () => {
        await put('2', 0.2, 'provisional', T0);
        const newest = await put('2', 0.4, 'provisional', T0 + MIN);
        const reviewed = await store.promoteBaseline(CHECK, '2', T0 + 2 * MIN);
        expect(reviewed).toMatchObject({ status: 'reviewed', source: 'promoted', storedAt: T0 + 2 * MIN });
        expect(reviewed?.digest).toBe(newest.baseline.digest);
        expect(await store.baselines({ status: 'provisional' })).toEqual([]);
        expect(await store.baselines({ modelVersion: '2' })).toEqual([reviewed]);
        // Nothing provisional left: nothing to promote.
        expect(await store.promoteBaseline(CHECK, '2', T0 + 3 * MIN)).toBeUndefined();
      });

      it('are seen by another store on the same database (another hub of the cluster)', async () => {
        const { baseline } = await put('1', 0.2, 'reviewed', T0);
        const other = await reopen();
        expect(await other.baselines({ checkId: CHECK })).toEqual([baseline]);
      });

      it('refuse a bad limit', async () => {
        await expectStoreError(store.baselines({ limit: -1 }), 'VIGIL_ERR_STORE_INVALID_ARGUMENT');
      });
    });

    describe('migrations', () => {
      it('apply every version once, in order; running again is a no-op', async () => {
        const fresh = await create({ migrate: false });
        const applied = await fresh.migrate();
        expect(applied.length).toBeGreaterThan(0);
        expect(applied).toEqual([...applied].sort((a, b) => a - b));
        expect(await fresh.migrate()).toEqual([]);
        const recorded = await fresh.appliedMigrations();
        expect(recorded.map((m) => m.version)).toEqual(applied);
        expect(recorded.every((m) => m.name.length > 0 && m.appliedAt > 0)).toBe(true);
        expect(await store.migrate()).toEqual([]);
      });

      it('stop at `to` and apply the rest later', async () => {
        const fresh = await create({ migrate: false });
        expect(await fresh.migrate({ to: 1 })).toEqual([1]);
        const rest = await fresh.migrate();
        expect(rest[0]).toBe(2);
        expect((await fresh.appliedMigrations()).map((m) => m.version)).toEqual([1, ...rest]);
      });

      it('apply each version once when several processes migrate at the same time', async () => {
        const fresh = await create({ migrate: false });
        const others = [
          await reopen({ migrate: false }),
          await reopen({ migrate: false }),
          await reopen({ migrate: false }),
        ];
        const runs = await Promise.all([fresh, ...others].map((s) => s.migrate()));
        const all = runs.flat().sort((a, b) => a - b);
        expect(all).toEqual((await fresh.appliedMigrations()).map((m) => m.version));
        expect(new Set(all).size).toBe(all.length);
      });

      it('roll back a migration that fails, and record nothing for it', async () => {
        const fresh = await create({ migrate: false });
        await fresh.migrate({ to: 1 });
        await harness.exec('CREATE TABLE outbox (blocker integer)');
        await expectStoreError(fresh.migrate(), 'VIGIL_ERR_STORE_MIGRATION');
        expect((await fresh.appliedMigrations()).map((m) => m.version)).toEqual([1]);
        await harness.exec('DROP TABLE outbox');
        // Had migration 2's other table (silences) survived the failure, this would fail on it.
        expect((await fresh.migrate())[0]).toBe(2);
      });

      it('refuse a database migrated by a newer Vigil', async () => {
        await harness.exec(
          "INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'future', 0)",
        );
        await expectStoreError(store.migrate(), 'VIGIL_ERR_STORE_SCHEMA_TOO_NEW');
        await expectStoreError(harness.reopen(), 'VIGIL_ERR_STORE_SCHEMA_TOO_NEW');
      });
    });

    describe('retention', () => {
      const at = (offsetMs: number, overrides: Partial<ProbeResult> = {}) =>
        probeResult({ startedAt: T0 + offsetMs, ...overrides });

      it('folds raw results before the cutoff into per-minute rollups and deletes them', async () => {
        await store.appendResults([
          at(1000, { durationMs: 10 }),
          at(2000, { outcome: 'fail', durationMs: 30 }),
          at(3000, { outcome: 'degraded', durationMs: 20 }),
          at(1500, { region: 'us-east', durationMs: 7 }),
          at(MIN + 1000, { durationMs: 5 }),
          at(2 * MIN + 10_000, { durationMs: 1 }), // older than now - retention, but its minute is not over
          at(3 * MIN, { durationMs: 1 }),
        ]);
        // now - retention = T0 + 2m20s; the cutoff rounds down to T0 + 2m.
        const report = await store.prune({ now: T0 + 2 * MIN + 30_000, rawRetentionMs: 10_000 });
        expect(report).toEqual({
          cutoff: T0 + 2 * MIN,
          rolledUp: 5,
          rollupsDeleted: 0,
          notificationsDeleted: 0,
          silencesDeleted: 0,
          maintenanceWindowsDeleted: 0,
          resultIdsDeleted: 0,
        });
        expect(await store.rollups('credit-scorer/integrity')).toEqual([
          {
            checkId: 'credit-scorer/integrity',
            region: 'eu-west',
            minute: T0,
            count: 3,
            failures: 1,
            degraded: 1,
            sumDurationMs: 60,
            maxDurationMs: 30,
          },
          {
            checkId: 'credit-scorer/integrity',
            region: 'us-east',
            minute: T0,
            count: 1,
            failures: 0,
            degraded: 0,
            sumDurationMs: 7,
            maxDurationMs: 7,
          },
          {
            checkId: 'credit-scorer/integrity',
            region: 'eu-west',
            minute: T0 + MIN,
            count: 1,
            failures: 0,
            degraded: 0,
            sumDurationMs: 5,
            maxDurationMs: 5,
          },
        ]);
        const kept = await store.results('credit-scorer/integrity');
        expect(kept.map((r) => r.startedAt)).toEqual([T0 + 2 * MIN + 10_000, T0 + 3 * MIN]);
      });

      it('adds a late result to its folded minute on the next prune; a prune with nothing to do is a no-op', async () => {
        await store.appendResults([
          at(1000, { durationMs: 10 }),
          at(2000, { outcome: 'fail', durationMs: 30 }),
        ]);
        await store.prune({ now: T0 + 5 * MIN, rawRetentionMs: 0 });
        await store.appendResults([at(4000, { outcome: 'fail', durationMs: 50 })]);
        expect((await store.prune({ now: T0 + 5 * MIN, rawRetentionMs: 0 })).rolledUp).toBe(1);
        expect((await store.prune({ now: T0 + 5 * MIN, rawRetentionMs: 0 })).rolledUp).toBe(0);
        expect(await store.rollups('credit-scorer/integrity')).toMatchObject([
          { minute: T0, count: 3, failures: 2, sumDurationMs: 90, maxDurationMs: 50 },
        ]);
      });

      it('never counts a result twice when replicas prune at once', async () => {
        const batch = Array.from({ length: 300 }, (_, i) =>
          at(i * 1000, { region: i % 2 ? 'eu-west' : 'us-east' }),
        );
        await store.appendResults(batch);
        const replicas = [store, await reopen(), await reopen()];
        const reports = await Promise.all(
          replicas.map((r) => r.prune({ now: T0 + 10 * MIN, rawRetentionMs: 0 })),
        );
        expect(reports.reduce((sum, r) => sum + r.rolledUp, 0)).toBe(300);
        const rollups = await store.rollups('credit-scorer/integrity');
        expect(rollups.reduce((sum, r) => sum + r.count, 0)).toBe(300);
        expect(rollups).toHaveLength(10);
      });

      it('filters rollups by region, since (inclusive) and until (exclusive)', async () => {
        await store.appendResults(
          [0, 1, 2, 3].map((m) => at(m * MIN)).concat(at(MIN, { region: 'us-east' })),
        );
        await store.prune({ now: T0 + 10 * MIN, rawRetentionMs: 0 });
        const minutes = (query: Parameters<Store['rollups']>[1]) =>
          store.rollups('credit-scorer/integrity', query).then((rs) => rs.map((r) => (r.minute - T0) / MIN));
        expect(await minutes({ since: T0 + MIN, until: T0 + 3 * MIN })).toEqual([1, 1, 2]);
        expect(await minutes({ region: 'us-east' })).toEqual([1]);
        expect(await store.rollups('other/liveness')).toEqual([]);
      });

      it('keeps raw results for the default retention', async () => {
        const now = T0 + 30 * 24 * 60 * MIN;
        await store.appendResults([
          probeResult({ startedAt: now - DEFAULT_RAW_RETENTION_MS - 2 * MIN }),
          probeResult({ startedAt: now - DEFAULT_RAW_RETENTION_MS + MIN }),
        ]);
        expect((await store.prune({ now })).rolledUp).toBe(1);
        expect((await store.results('credit-scorer/integrity')).map((r) => r.startedAt)).toEqual([
          now - DEFAULT_RAW_RETENTION_MS + MIN,
        ]);
      });

      it('deletes old rollups, settled notifications, expired silences and maintenance windows, but no pending notification nor an open window', async () => {
        await store.appendResults([at(0), at(5 * MIN)]);
        await store.prune({ now: T0 + 10 * MIN, rawRetentionMs: 0 });
        const delivered = await store.enqueueNotification({
          dedupKey: 'd',
          notifier: 'n',
          payload: 1,
          createdAt: T0,
        });
        await store.markDelivered(delivered.id, T0 + 1);
        await store.enqueueNotification({ dedupKey: 'p', notifier: 'n', payload: 2, createdAt: T0 });
        await store.putSilence({
          matchers: [{ label: 'a', value: 'b' }],
          startsAt: T0 - 2 * MIN,
          endsAt: T0 - MIN,
          createdBy: 'x',
          comment: '',
        });
        const kept = await store.putSilence({
          matchers: [{ label: 'a', value: 'b' }],
          startsAt: T0,
          endsAt: T0 + 60 * MIN,
          createdBy: 'x',
          comment: '',
        });
        const over = await store.putMaintenanceWindow({
          matchers: [{ label: 'a', value: 'b' }],
          startsAt: T0 - 2 * MIN,
          endsAt: T0 - MIN,
          createdBy: 'x',
          comment: '',
        });
        const openEnded = await store.putMaintenanceWindow({
          matchers: [{ label: 'a', value: 'b' }],
          startsAt: T0 - 20 * MIN,
          endsAt: null,
          createdBy: 'x',
          comment: '',
        });
        const report = await store.prune({
          now: T0 + 10 * MIN,
          rawRetentionMs: 0,
          rollupRetentionMs: 8 * MIN,
          notificationRetentionMs: 5 * MIN,
          silenceRetentionMs: 5 * MIN,
        });
        expect(report).toMatchObject({
          rollupsDeleted: 1,
          notificationsDeleted: 1,
          silencesDeleted: 1,
          maintenanceWindowsDeleted: 1,
        });
        expect(ids(await store.maintenanceWindows())).toEqual([openEnded.id]);
        expect(ids(await store.maintenanceWindows())).not.toContain(over.id);
        expect((await store.rollups('credit-scorer/integrity')).map((r) => r.minute)).toEqual([T0 + 5 * MIN]);
        expect((await store.pendingNotifications()).map((n) => n.dedupKey)).toEqual(['p']);
        expect(ids(await store.silences())).toEqual([kept.id]);
        // Its dedup key is free again.
        expect(
          (await store.enqueueNotification({ dedupKey: 'd', notifier: 'n', payload: 3, createdAt: T0 }))
            .enqueued,
        ).toBe(true);
      });

      it('rejects a negative retention', async () => {
        await expectStoreError(
          store.prune({ now: T0, rawRetentionMs: -1 }),
          'VIGIL_ERR_STORE_INVALID_ARGUMENT',
        );
      });
    });

    describe('agents and ingested result ids', () => {
      const pushed = (id: string, startedAt = T0) => ({ ...probeResult({ startedAt }), id });

      it('takes in each result once, stored with its claim: a replayed batch finds its ids taken', async () => {
        const first = await store.ingestResults({
          region: 'eu-west',
          batchId: 'b1',
          receivedAt: T0,
          results: [pushed('r1', T0 + 1), pushed('r2', T0 + 2), pushed('r2', T0 + 2)],
        });
        expect(first).toEqual(['r1', 'r2']);
        const replay = await store.ingestResults({
          region: 'eu-west',
          batchId: 'b1',
          receivedAt: T0 + 1,
          results: [pushed('r1', T0 + 1), pushed('r2', T0 + 2), pushed('r3', T0 + 3)],
        });
        expect(replay).toEqual(['r3']);
        expect(
          await store.ingestResults({ region: 'eu-west', batchId: 'b2', receivedAt: T0, results: [] }),
        ).toEqual([]);
        // Stored once each, with everything the agent sent.
        const stored = await store.results('credit-scorer/integrity', { region: 'eu-west' });
        expect(stored.map((r) => r.startedAt)).toEqual([T0 + 1, T0 + 2, T0 + 3]);
        expect(stored[0]).toEqual(probeResult({ startedAt: T0 + 1 }));
      });

      it('prunes the ledger of result ids with the raw results: an id is taken again only after the cutoff', async () => {
        await store.ingestResults({
          region: 'eu-west',
          batchId: 'old',
          receivedAt: T0,
          results: [pushed('r1')],
        });
        await store.ingestResults({
          region: 'eu-west',
          batchId: 'new',
          receivedAt: T0 + 5 * MIN,
          results: [pushed('r2', T0 + 5 * MIN)],
        });
        const report = await store.prune({ now: T0 + 6 * MIN, rawRetentionMs: 2 * MIN });
        // Received before the cutoff (T0 + 4m): forgotten; after it: kept.
        expect(report.resultIdsDeleted).toBe(1);
        const again = await store.ingestResults({
          region: 'eu-west',
          batchId: 'replay',
          receivedAt: T0 + 6 * MIN,
          results: [pushed('r1'), pushed('r2', T0 + 5 * MIN)],
        });
        expect(again).toEqual(['r1']);
      });

      it('takes in overlapping batches ingested at once each id once, whatever their order (two hubs, one replay)', async () => {
        const ids = Array.from({ length: 60 }, (_, i) => `c${String(i).padStart(2, '0')}`);
        const batch = (order: string[], batchId: string) =>
          store.ingestResults({
            region: 'eu-west',
            batchId,
            receivedAt: T0,
            results: order.map((id) => pushed(id, T0 + Number(id.slice(1)))),
          });
        // On PostgreSQL, concurrent transactions on two connections: one waits for the other's claims.
        const taken = await Promise.all([
          batch(ids, 'a'),
          batch([...ids].reverse(), 'b'),
          batch(
            ids.filter((_id, i) => i % 3 === 0),
            'c',
          ),
        ]);
        const all = taken.flat();
        expect(all.length).toBe(ids.length);
        expect(new Set(all)).toEqual(new Set(ids));
        const stored = await store.results('credit-scorer/integrity', { region: 'eu-west' });
        expect(stored.map((r) => r.startedAt)).toEqual(ids.map((_id, i) => T0 + i));
      });

      it("keeps each region's latest agent report", async () => {
        await store.putAgent({ region: 'eu', lastReportAt: T0, info: { spoolDepth: 3 } });
        await store.putAgent({ region: 'eu', lastReportAt: T0 + 5, info: { spoolDepth: 0 } });
        await store.putAgent({ region: 'ap', lastReportAt: T0, info: {} });
        expect(await store.agents()).toEqual([
          { region: 'ap', lastReportAt: T0, info: {} },
          { region: 'eu', lastReportAt: T0 + 5, info: { spoolDepth: 0 } },
        ]);
      });
    });

    describe('canary drift state', () => {
      const CHECK = 'credit-scorer/canary';
      const state = (runIndex: number) => ({
        format: 1,
        runIndex,
        history: [
          { at: T0, statistic: 'psi', output: 'probability[0]', value: 0.31, bound: 0.25, exceeded: true },
        ],
        lastRun: { verdict: { statistics: [{ statistic: 'ks', value: Number.NaN, pValue: 1 }] } },
      });

      it("round-trips a check's state exactly (NaN too), and the newest write wins", async () => {
        expect(await store.canaryState(CHECK)).toBeUndefined();
        await store.putCanaryState({ checkId: CHECK, updatedAt: T0, state: state(1) });
        await store.putCanaryState({ checkId: CHECK, updatedAt: T0 + MIN, state: state(2) });
        expect(await store.canaryState(CHECK)).toEqual({
          checkId: CHECK,
          updatedAt: T0 + MIN,
          state: state(2),
        });
        expect(await store.canaryState('other/canary')).toBeUndefined();
      });

      it('is seen by a store reopened on the same database (a restarted hub)', async () => {
        await store.putCanaryState({ checkId: CHECK, updatedAt: T0, state: state(7) });
        const other = await reopen();
        expect((await other.canaryState(CHECK))?.state).toEqual(state(7));
      });

      it('is deleted by check id', async () => {
        await store.putCanaryState({ checkId: CHECK, updatedAt: T0, state: state(1) });
        expect(await store.deleteCanaryState(CHECK)).toBe(true);
        expect(await store.deleteCanaryState(CHECK)).toBe(false);
        expect(await store.canaryState(CHECK)).toBeUndefined();
      });
    });

    describe('close', () => {
      it('is idempotent, and every later call rejects with VIGIL_ERR_STORE_CLOSED', async () => {
        await store.close();
        await store.close();
        await expectStoreError(store.results('x'), 'VIGIL_ERR_STORE_CLOSED');
        await expectStoreError(store.appendResults([probeResult()]), 'VIGIL_ERR_STORE_CLOSED');
        await expectStoreError(store.migrate(), 'VIGIL_ERR_STORE_CLOSED');
      });
    });
  });
}
