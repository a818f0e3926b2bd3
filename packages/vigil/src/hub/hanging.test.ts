/**
 * A hanging endpoint over real HTTP, against a real hub (real scheduler, prober, HTTP client, SQLite
 * store, webhook notifier and receiver on loopback):
 *
 * - it delays only its own checks: an endpoint that accepts connections and never answers fails its
 *   own probes with `TIMEOUT` at their cadence (a timeout is a result: never `stale`), while the
 *   healthy targets beside it keep theirs — no healthy check ever waits past the watchdog's allowance;
 * - the real way a prober stops delivering for a check in this hub: the global concurrency cap full of
 *   probes waiting for their timeouts. With `maxConcurrency: 1`, the hanging target's probe holds the
 *   only slot for its whole timeout, the healthy check waits past its cadence, goes `stale`, the
 *   `VigilCheckStale` warning reaches the webhook receiver, and both resolve when it runs again.
 *
 * The scheduler's own test of the same property (`scheduler.test.ts`, "keeps other targets on schedule
 * while one target hangs") uses a promise that never settles; this one uses sockets.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNotifiers } from '../alerting/notifiers/index.js';
import { parseConfig } from '../config/index.js';
import { createMetrics } from '../metrics/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { ProbeResult, Transition } from '../types.js';
import { createHub, type Hub } from './hub.js';
import type { HubEvent } from './types.js';
import { staleAfterMs } from './watchdog.js';

const servers: Server[] = [];
const sockets = new Set<Socket>();
let store: Store;
let hub: Hub | undefined;

beforeEach(async () => {
  store = await openStore(':memory:');
});
afterEach(async () => {
  await hub?.stop();
  hub = undefined;
  await store.close();
  for (const socket of sockets) socket.destroy();
  sockets.clear();
  for (const server of servers.splice(0)) await new Promise((resolve) => server.close(resolve));
});

/** A loopback HTTP server; `handler` undefined: accepts every request and never answers it. */
async function listen(handler?: (req: IncomingMessage, body: string) => string): Promise<string> {
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      if (handler !== undefined) res.end(handler(req, body));
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function transitionsOf(events: readonly HubEvent[]): Transition[] {
  return events.flatMap((e) => (e.type === 'transition' ? [e.transition] : []));
}
function resultsOf(events: readonly HubEvent[], checkId: string): ProbeResult[] {
  return events.flatMap((e) => (e.type === 'result' && e.result.checkId === checkId ? [e.result] : []));
}

describe('a hanging endpoint over real HTTP', () => {
  it('delays only its own checks: they fail with TIMEOUT at their cadence, the healthy ones keep theirs', {
    timeout: 60_000,
  }, async () => {
    const hang = await listen();
    const healthy = [await listen(() => 'ok'), await listen(() => 'ok'), await listen(() => 'ok')];
    const loaded = parseConfig(
      `
defaults: { interval: 500ms, timeout: 300ms, failureThreshold: 2, fastInterval: false }
targets:
  - { name: hang, url: "${hang}", protocol: http, checks: { liveness: {}, readiness: {} } }
${healthy.map((url, i) => `  - { name: ok-${i}, url: "${url}", protocol: http, checks: { liveness: {} } }`).join('\n')}
`,
      { baseDir: process.cwd(), env: {} },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    const events: HubEvent[] = [];
    hub = createHub({ plan: loaded.plan, store, watchdogIntervalMs: 50 });
    hub.subscribe((event) => events.push(event));
    await hub.start();
    // Long enough for each hanging check to time out several times.
    await vi.waitFor(
      () => {
        expect(resultsOf(events, 'hang/liveness').length).toBeGreaterThanOrEqual(5);
        expect(resultsOf(events, 'hang/readiness').length).toBeGreaterThanOrEqual(5);
      },
      { timeout: 30_000, interval: 100 },
    );
    await hub.stop();
    hub = undefined;

    // The hanging checks: every probe a TIMEOUT result, unhealthy, never stale.
    for (const id of ['hang/liveness', 'hang/readiness']) {
      const results = resultsOf(events, id);
      expect(
        results.every((r) => r.outcome === 'fail' && r.error?.code === 'TIMEOUT'),
        id,
      ).toBe(true);
    }
    const transitions = transitionsOf(events);
    expect(transitions.filter((t) => t.to === 'stale')).toEqual([]);
    expect(transitions.filter((t) => t.checkId.startsWith('hang/')).map((t) => t.to)).toContain('unhealthy');
    // The healthy checks: every probe passed, and no gap between two of them reached the watchdog's
    // allowance (2 intervals plus their own timeout) — the cadence a check is expected to have.
    const allowance = staleAfterMs({ intervalMs: 500 }, 300);
    for (let i = 0; i < healthy.length; i++) {
      const results = resultsOf(events, `ok-${i}/liveness`);
      expect(results.length, `ok-${i} probed`).toBeGreaterThanOrEqual(5);
      expect(results.every((r) => r.outcome === 'pass')).toBe(true);
      const gaps = results.slice(1).map((r, j) => r.startedAt - (results[j] as ProbeResult).startedAt);
      expect(Math.max(...gaps), `ok-${i}'s longest gap`).toBeLessThan(allowance);
      expect(transitions.filter((t) => t.checkId === `ok-${i}/liveness`).map((t) => t.to)).toEqual([
        'healthy',
      ]);
    }
  });

  it('with the concurrency cap held by its probes, a healthy check waits, goes stale, alerts, and comes back', {
    timeout: 60_000,
  }, async () => {
    const hang = await listen();
    const ok = await listen(() => 'ok');
    const received: Array<{ status: string; alertname: string; target: string }> = [];
    const hook = await listen((req, body) => {
      if (req.method === 'POST') {
        const payload = JSON.parse(body) as {
          alerts: Array<{ status: string; labels: Record<string, string> }>;
        };
        for (const a of payload.alerts) {
          received.push({
            status: a.status,
            alertname: a.labels.alertname ?? '',
            target: a.labels.target ?? '',
          });
        }
      }
      return 'ok';
    });
    const loaded = parseConfig(
      `
targets:
  - name: hang
    url: "${hang}"
    protocol: http
    checks: { liveness: { interval: 3s, timeout: 2s } }
  - name: ok
    url: "${ok}"
    protocol: http
    checks: { liveness: { interval: 200ms, timeout: 100ms } }
alerting:
  routes: [{ match: { severity: warning }, notify: [hook], group_wait: 0s, group_interval: 100ms }]
  notifiers:
    hook: { type: webhook, url: "${hook}/hook" }
`,
      { baseDir: process.cwd(), env: {} },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    const alerting = loaded.config.alerting;
    if (alerting === undefined) throw new Error('no alerting');
    const metrics = createMetrics({ defaultMetrics: false });
    const events: HubEvent[] = [];
    hub = createHub({
      plan: loaded.plan,
      store,
      metrics,
      maxConcurrency: 1,
      watchdogIntervalMs: 50,
      alerting: {
        config: alerting,
        notifiers: createNotifiers(alerting.notifiers),
        dispatcher: { claimIntervalMs: 50 },
      },
    });
    hub.subscribe((event) => events.push(event));
    await hub.start();

    const state = () => hub?.status().find((s) => s.checkId === 'ok/liveness');
    await vi.waitFor(() => expect(state()?.state).toBe('stale'), { timeout: 20_000, interval: 20 });
    expect(state()?.lastKnown?.state).toMatch(/^(healthy|unknown)$/);
    expect(await metrics.render()).toContain(
      'vigil_check_state{target="ok",check="liveness",region="local",state="stale"} 1',
    );
    // The hanging probe times out (a result), the slot frees, the healthy check runs and is back.
    await vi.waitFor(() => expect(state()?.state).toBe('healthy'), { timeout: 20_000, interval: 20 });
    await vi.waitFor(
      () => {
        expect(received).toContainEqual({ status: 'firing', alertname: 'VigilCheckStale', target: 'ok' });
        expect(received).toContainEqual({ status: 'resolved', alertname: 'VigilCheckStale', target: 'ok' });
      },
      { timeout: 20_000, interval: 50 },
    );
    const stale = transitionsOf(events).find((t) => t.to === 'stale');
    expect(stale).toMatchObject({ checkId: 'ok/liveness', reason: expect.stringMatching(/^no result for /) });
    // The hanging check itself: TIMEOUT results, never stale.
    expect(transitionsOf(events).filter((t) => t.checkId === 'hang/liveness' && t.to === 'stale')).toEqual(
      [],
    );
    expect(resultsOf(events, 'hang/liveness')[0]?.error?.code).toBe('TIMEOUT');
  });
});
