/**
 * The watchdog: when a check counts as stale (pure, with explicit times), and the hub acting on it — a
 * check whose probes never settle turns `stale`, alerts (warning), is exported, and comes back when its
 * results do. The hub test stalls one target's probes with an HTTP client whose requests to it never
 * settle: the one place a never-resolving promise stands in for a prober that stopped delivering (the
 * hostile-endpoint tests in `hostile.test.ts` find the real ways over real HTTP).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordingNotifier } from '../alerting/fixtures/support.js';
import { parseConfig } from '../config/index.js';
import { createMetrics } from '../metrics/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan, HttpClient, HttpExchange, HttpRequest } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { createHub, type Hub } from './hub.js';
import type { HubEvent } from './types.js';
import { createWatchdog, STALE_INTERVALS, staleAfterMs } from './watchdog.js';

const T0 = 1_700_000_000_000;

function plan(id: string, intervalMs = 10_000, timeoutMs = 2_000, initialDelayMs = 0): CheckPlan {
  return {
    id,
    target: {
      name: id.split('/')[0] ?? id,
      url: 'http://127.0.0.1:1',
      protocol: 'http',
      labels: {},
      headers: {},
      maxBodyBytes: 1 << 20,
      maxRedirects: 0,
    },
    kind: 'liveness',
    intervalMs,
    timeoutMs,
    failureThreshold: 3,
    successThreshold: 1,
    fastIntervalMs: null,
    initialDelayMs,
    expect: {},
  };
}

describe('createWatchdog', () => {
  const a = plan('a/liveness');
  const ids = (overdue: ReturnType<ReturnType<typeof createWatchdog>['scan']>) =>
    overdue.map((o) => o.plan.id);

  /** Scans every second from `from` to `to` (inclusive), as the hub's tick does; returns the last scan. */
  function scanUntil(w: ReturnType<typeof createWatchdog>, from: number, to: number) {
    let last = w.scan(from);
    for (let t = from + 1000; t <= to; t += 1000) last = w.scan(t);
    return last;
  }

  it(`is overdue after ${STALE_INTERVALS} intervals plus the timeout without a result, not before`, () => {
    expect(staleAfterMs(a, a.timeoutMs)).toBe(22_000);
    const w = createWatchdog();
    w.setPlans([a], T0);
    expect(ids(scanUntil(w, T0, T0 + 22_000))).toEqual([]);
    const [overdue] = scanUntil(w, T0 + 22_000, T0 + 23_000);
    expect(overdue?.plan.id).toBe('a/liveness');
    expect(overdue?.reason).toBe(
      'no result for 23.0 s (expected one every 10 s; stale after 2 intervals plus the 2 s timeout)',
    );
  });

  it("allows for the timeouts of every check of its target: a hanging endpoint's probes queue", () => {
    const w = createWatchdog();
    const checks = ['liveness', 'readiness', 'integrity'].map(
      (kind) => ({ ...plan(`m/${kind}`), kind }) as CheckPlan,
    );
    w.setPlans([...checks, plan('other/liveness')], T0);
    expect(ids(scanUntil(w, T0, T0 + 23_000))).toEqual(['other/liveness']);
    expect(ids(scanUntil(w, T0 + 24_000, T0 + 26_000))).toEqual(['other/liveness']);
    const overdue = scanUntil(w, T0 + 27_000, T0 + 27_000);
    expect(ids(overdue)).toEqual(['m/liveness', 'm/readiness', 'm/integrity', 'other/liveness']);
    expect(overdue[0]?.reason).toBe(
      "no result for 27.0 s (expected one every 10 s; stale after 2 intervals plus its target's probe timeouts (6 s))",
    );
  });

  it('counts from the last result, and from the initial delay before the first', () => {
    const w = createWatchdog();
    w.setPlans([a, plan('b/liveness', 10_000, 2_000, 30_000)], T0);
    w.seen('a/liveness', T0 + 15_000);
    expect(ids(scanUntil(w, T0, T0 + 37_000))).toEqual([]);
    expect(ids(scanUntil(w, T0 + 38_000, T0 + 53_000))).toEqual(['a/liveness', 'b/liveness']);
  });

  it('does not count a deferral the scheduler announced: the gap starts when it ends', () => {
    const w = createWatchdog();
    w.setPlans([a], T0);
    w.deferred('a/liveness', T0 + 60_000);
    expect(ids(scanUntil(w, T0, T0 + 82_000))).toEqual([]);
    const [overdue] = scanUntil(w, T0 + 82_000, T0 + 83_000);
    expect(overdue?.reason).toMatch(/^no result 23\.0 s after its deferral ended/);
    // A result ends the deferral's allowance too.
    w.deferred('a/liveness', T0 + 200_000);
    w.seen('a/liveness', T0 + 84_000);
    expect(ids(scanUntil(w, T0 + 84_000, T0 + 107_000))).toEqual(['a/liveness']);
  });

  it('reports nothing from a scan that ran late (the hub itself was held up), and counts from then', () => {
    const w = createWatchdog({ tickMs: 1000 });
    w.setPlans([a], T0);
    w.scan(T0 + 1000);
    // The event loop was blocked for a minute: every check would look overdue.
    expect(w.scan(T0 + 61_000)).toEqual([]);
    expect(ids(scanUntil(w, T0 + 62_000, T0 + 83_000))).toEqual([]);
    expect(ids(w.scan(T0 + 84_000))).toEqual(['a/liveness']);
  });

  it('keeps the clock of an unchanged plan, restarts a changed one, and drops a removed one', () => {
    const w = createWatchdog();
    const b = plan('b/liveness');
    w.setPlans([a, b], T0);
    scanUntil(w, T0, T0 + 20_000);
    // A reload: a unchanged (the same object), b changed.
    w.setPlans([a, plan('b/liveness', 10_000, 2_000)], T0 + 20_000);
    expect(ids(scanUntil(w, T0 + 21_000, T0 + 23_000))).toEqual(['a/liveness']);
    w.setPlans([b], T0 + 23_000);
    expect(ids(scanUntil(w, T0 + 24_000, T0 + 42_000))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The hub

/** An HTTP client whose requests to `stuckOrigin` never settle while `stuck` is set. */
function stallingClient(stuckOrigin: () => string): HttpClient & { stuck: boolean; held: number } {
  const real = createHttpClient({ keepAlive: true });
  const waiting: Array<() => void> = [];
  const client = {
    stuck: true,
    held: 0,
    async request(request: HttpRequest): Promise<HttpExchange> {
      if (client.stuck && request.url.startsWith(stuckOrigin())) {
        client.held++;
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      return real.request(request);
    },
    close: () => real.close(),
    release() {
      client.stuck = false;
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
  return client;
}

describe('the hub with its watchdog', () => {
  const servers: Server[] = [];
  let store: Store;
  let hub: Hub | undefined;

  beforeEach(async () => {
    store = await openStore(':memory:');
  });
  afterEach(async () => {
    await hub?.stop();
    await store.close();
    for (const server of servers.splice(0)) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function server(): Promise<string> {
    const s = createServer((_req, res) => res.end('ok'));
    servers.push(s);
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
  }

  it('turns a check whose probes never settle stale, alerts, exports it, and resumes when results return', {
    timeout: 30_000,
  }, async () => {
    const [ok, stuck] = [await server(), await server()];
    const loaded = parseConfig(
      `
defaults: { interval: 200ms, timeout: 100ms }
targets:
  - { name: ok, url: "${ok}", protocol: http, checks: { liveness: {} } }
  - { name: stuck, url: "${stuck}", protocol: http, checks: { liveness: {} } }
alerting:
  routes: [{ match: { severity: warning }, notify: [hook], group_wait: 0s, group_interval: 50ms }]
  notifiers:
    hook: { type: webhook, url: "http://127.0.0.1:1/unused" }
`,
      { baseDir: process.cwd(), env: {} },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    const hook = recordingNotifier('hook');
    const client = stallingClient(() => stuck) as ReturnType<typeof stallingClient> & { release(): void };
    const metrics = createMetrics({ defaultMetrics: false });
    const events: HubEvent[] = [];
    hub = createHub({
      plan: loaded.plan,
      store,
      client,
      metrics,
      watchdogIntervalMs: 50,
      flushIntervalMs: 20,
      alerting: {
        config: loaded.config.alerting as NonNullable<typeof loaded.config.alerting>,
        notifiers: new Map([['hook', hook]]),
        dispatcher: { claimIntervalMs: 50 },
      },
    });
    hub.subscribe((event) => events.push(event));
    await hub.start();

    const stateOf = (id: string) => hub?.status().find((s) => s.checkId === id);
    await vi.waitFor(() => expect(stateOf('stuck/liveness')?.state).toBe('stale'), { timeout: 10_000 });
    expect(client.held).toBe(1);
    expect(stateOf('stuck/liveness')).toMatchObject({ lastKnown: { state: 'unknown' } });
    expect(stateOf('ok/liveness')?.state).toBe('healthy');
    const stale = events.find((e) => e.type === 'transition' && e.transition.to === 'stale');
    expect(stale).toMatchObject({
      transition: {
        checkId: 'stuck/liveness',
        from: 'unknown',
        reason: expect.stringMatching(/^no result for \d+\.\d s \(expected one every 200 ms; stale after 2/),
      },
    });
    expect(await metrics.render()).toContain(
      'vigil_check_state{target="stuck",check="liveness",region="local",state="stale"} 1',
    );
    await vi.waitFor(
      () => {
        const alerts = hook.calls.flatMap((group) => group.alerts);
        expect(
          alerts.map((a) => [a.status, a.labels.alertname, a.labels.severity, a.labels.target]),
        ).toContainEqual(['firing', 'VigilCheckStale', 'warning', 'stuck']);
      },
      { timeout: 10_000 },
    );

    client.release();
    await vi.waitFor(() => expect(stateOf('stuck/liveness')?.state).toBe('healthy'), { timeout: 10_000 });
    await vi.waitFor(
      () =>
        expect(
          hook.calls
            .flatMap((g) => g.alerts)
            .some((a) => a.status === 'resolved' && a.labels.alertname === 'VigilCheckStale'),
        ).toBe(true),
      { timeout: 10_000 },
    );
    // The healthy check never went stale.
    expect(
      events
        .filter((e) => e.type === 'transition' && e.transition.checkId === 'ok/liveness')
        .map((e) => e.type === 'transition' && e.transition.to),
    ).toEqual(['healthy']);
    // Stored, for the history and a restart.
    await hub.flush();
    expect((await store.transitions({ checkId: 'stuck/liveness' })).map((t) => t.to).reverse()).toEqual([
      'stale',
      'healthy',
    ]);
  });
});
