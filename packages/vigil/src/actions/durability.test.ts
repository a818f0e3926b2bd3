/**
 * Durability of action runs on a real SQLite file: two hub replicas (two runners, two store
 * connections) given the same transition start the command once; a run whose hub died mid-run (its
 * lease lapsed with no verdict, as after kill -9) is recorded `unknown` and paged, never re-run.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Alert } from '../alerting/types.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan, EvalState, Transition } from '../types.js';
import { actionsSchema, resolveActionPolicy } from './index.js';
import { actionEventOf, backoffMs, createActionRunner } from './runner.js';

const T0 = Date.UTC(2026, 0, 1);

describe('action runs are durable', () => {
  let dir: string;
  let stores: Store[];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-action-durability-'));
    stores = [];
  });
  afterEach(async () => {
    for (const s of stores) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const open = async () => {
    const s = await openStore(join(dir, 'vigil.db'));
    stores.push(s);
    return s;
  };

  function plan(log: string): CheckPlan {
    const policy = resolveActionPolicy(
      actionsSchema.parse({
        onUnhealthy: [
          {
            kind: 'command',
            name: 'restart',
            command: ['/bin/sh', '-c', `echo "$VIGIL_IDEMPOTENCY_KEY" >> ${log}`],
          },
        ],
      }),
      'scorer',
      'targets[0].actions',
      {},
    );
    return {
      id: 'scorer/liveness',
      target: {
        name: 'scorer',
        url: 'http://127.0.0.1:1',
        protocol: 'http',
        labels: {},
        headers: {},
        maxBodyBytes: 1,
        maxRedirects: 0,
      },
      kind: 'liveness',
      intervalMs: 1000,
      timeoutMs: 500,
      failureThreshold: 3,
      successThreshold: 1,
      fastIntervalMs: null,
      initialDelayMs: 0,
      expect: {},
      actions: policy,
    };
  }

  const unhealthy: EvalState = {
    checkId: 'scorer/liveness',
    region: 'local',
    state: 'unhealthy',
    since: T0,
    consecutiveFailures: 3,
    consecutiveSuccesses: 0,
    consecutiveDegraded: 0,
    firstSeenAt: T0 - 60_000,
    hasPassed: true,
    recentTransitions: [],
    flapping: false,
    streak: [],
    lastResult: null,
  };
  const transition: Transition = {
    checkId: 'scorer/liveness',
    region: 'local',
    from: 'pending',
    to: 'unhealthy',
    at: T0,
    reason: '3 consecutive failures',
    results: [],
  };

  it('two replicas given the same transition run the command once', async () => {
    const log = join(dir, 'runs.log');
    const p = plan(log);
    const runners = await Promise.all(
      ['hub-a', 'hub-b'].map(async (owner) =>
        createActionRunner({
          store: await open(),
          owner,
          view: { plans: () => [p], stateOf: () => unhealthy },
        }),
      ),
    );
    await Promise.all(runners.map((r) => r.onTransition(p, transition, 'inc-1')));
    await vi.waitFor(async () => expect((await stores[0]?.actionRuns())?.[0]?.status).toBe('succeeded'), {
      timeout: 10_000,
    });
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const [run] = (await stores[0]?.actionRuns()) ?? [];
    expect(lines).toEqual([run?.idempotencyKey]);
    expect(await stores[1]?.actionRuns()).toHaveLength(1);
    await Promise.all(runners.map((r) => r.stop()));
  });

  it('a hub that no longer holds the check claims nothing; the one holding it runs the command', async () => {
    const log = join(dir, 'runs.log');
    const p = plan(log);
    const asked: string[] = [];
    const lost = createActionRunner({
      store: await open(),
      owner: 'hub-a',
      view: {
        plans: () => [p],
        stateOf: () => unhealthy,
        mayStart: (id) => {
          asked.push(id);
          return false;
        },
      },
    });
    await lost.onTransition(p, transition, 'inc-1');
    await vi.waitFor(() => expect(asked).toEqual(['scorer/liveness']), { timeout: 10_000 });
    await lost.stop();
    expect(await stores[0]?.actionRuns()).toEqual([]);
    const holder = createActionRunner({
      store: await open(),
      owner: 'hub-b',
      view: { plans: () => [p], stateOf: () => unhealthy, mayStart: () => true },
    });
    await holder.onTransition(p, transition, 'inc-1');
    await vi.waitFor(async () => expect((await stores[1]?.actionRuns())?.[0]?.status).toBe('succeeded'), {
      timeout: 10_000,
    });
    expect(readFileSync(log, 'utf8').trim().split('\n')).toHaveLength(1);
    expect((await stores[0]?.actionRuns())?.map((r) => r.owner)).toEqual(['hub-b']);
    await holder.stop();
  });

  it('a run whose hub died mid-run becomes outcome unknown and pages; it is not run again', async () => {
    const log = join(dir, 'runs.log');
    const p = plan(log);
    const store = await open();
    // The dead hub's claim: running, lease lapsed, no verdict (what kill -9 mid-run leaves).
    await store.claimActionRun({
      idempotencyKey: 'dead-hub-key',
      scope: 'scorer',
      action: 'restart',
      kind: 'command',
      event: 'unhealthy',
      step: 0,
      checkId: p.id,
      region: 'local',
      incidentId: 'inc-1',
      transitionAt: T0,
      reason: '3 consecutive failures',
      status: 'running',
      claimedAt: Date.now() - 10_000,
      leaseUntil: Date.now() - 5_000,
      owner: 'hub-dead',
      what: 'run ["restart"]',
    });
    const pages: Alert[] = [];
    const runner = createActionRunner({
      store,
      view: { plans: () => [p], stateOf: () => unhealthy },
      page: async (alerts) => {
        pages.push(...alerts);
      },
    });
    await runner.start();
    const [run] = await store.actionRuns();
    expect(run).toMatchObject({ idempotencyKey: 'dead-hub-key', status: 'unknown' });
    expect(pages).toHaveLength(1);
    expect(pages[0]?.labels).toMatchObject({
      alertname: 'VigilActionsExhausted',
      severity: 'critical',
      target: 'scorer',
    });
    expect(pages[0]?.annotations.description).toMatch(/^Outcome unknown: .* It was not run again/);
    // Nothing was started again: no new run, the command never ran.
    expect((await store.actionRuns()).map((r) => r.status)).toEqual(['unknown']);
    expect(existsSync(log)).toBe(false);
    await runner.stop();
  });

  it('back-off and events follow their sources', () => {
    const policy = { backoffInitialMs: 10_000, backoffMaxMs: 300_000 };
    expect([0, 1, 2, 3, 4, 5, 6, 7].map((n) => backoffMs(policy, n))).toEqual([
      0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000,
    ]);
    expect(actionEventOf(transition)).toBe('unhealthy');
    expect(actionEventOf({ ...transition, from: 'unhealthy', to: 'healthy' })).toBe('recovered');
    expect(
      actionEventOf({ ...transition, from: 'stale', lastKnown: 'unhealthy', to: 'unhealthy' }),
    ).toBeNull();
    expect(actionEventOf({ ...transition, from: 'unknown', to: 'healthy' })).toBeNull();
  });
});
