/**
 * Hostile endpoints over real sockets, against a real hub (real scheduler, prober, HTTP client, SQLite
 * store; webhook notifier and receiver on loopback for the stale case):
 *
 * - the hostile-endpoint matrix (issue #14): hang, trickle, huge body, invalid JSON, NaN, reset,
 *   redirect loop, deep nesting, header flood, TLS failure and DNS failure, each a real endpoint on
 *   loopback (`createHostileEndpoints` of the example model server; TLS: a certificate the prober does
 *   not trust; DNS: a `.invalid` name), all probed by one hub beside healthy checks: every hostile
 *   check fails every probe with its own stable code and turns unhealthy, never `stale` (a failure is
 *   a result); every healthy check passes every probe at its cadence, no gap reaching the watchdog's
 *   allowance. The hub's scheduler lag beside the same matrix is measured by `bench/src/hostile.ts`
 *   (BENCHMARKS.md), not asserted here;
 * - the real way a prober stops delivering for a check in this hub: the global concurrency cap full of
 *   probes waiting for their timeouts. With `maxConcurrency: 1`, the hanging target's probe holds the
 *   only slot for its whole timeout, the healthy check waits past its cadence, goes `stale`, the
 *   `VigilCheckStale` warning reaches the webhook receiver, and both resolve when it runs again.
 *
 * The scheduler's own test of the same property (`scheduler.test.ts`, "keeps other targets on schedule
 * while one target hangs") uses a promise that never settles; this one uses sockets.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHostileEndpoints, type HostileEndpoints } from '@vigil/example-model-server';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNotifiers } from '../alerting/notifiers/index.js';
import { parseConfig } from '../config/index.js';
import { describeWith } from '../fixtures/needs.js';
import { createMetrics } from '../metrics/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { ProbeResult, Transition } from '../types.js';
import { hasOpenssl, makePki, OPENSSL } from '../wire/test-pki.js';
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

/** Probes of each hostile check the matrix waits for. */
const PROBES = 3;
const HEALTHY = 5;
const INTERVAL_MS = 1_500;
/** Long enough for a `.invalid` lookup and a TLS handshake on a loaded machine; 10× the trickle's pace. */
const TIMEOUT_MS = 1_000;
/** The prober stops reading a body at its 1 MiB cap; this bounds what one probe lets the huge body write. */
const HUGE_BODY_BYTES_PER_PROBE = 16 * 2 ** 20;

describeWith(
  hasOpenssl,
  OPENSSL,
  'the hostile-endpoint matrix, probed by one hub beside healthy checks',
  () => {
    let dir = '';
    let hostile: HostileEndpoints;
    const events: HubEvent[] = [];

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-hostile-'));
      const pki = makePki(dir);
      hostile = await createHostileEndpoints({ tls: { cert: pki.serverCert, key: pki.serverKey } });
    });
    afterAll(async () => {
      await hostile?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('lists every hostile behaviour of issue #14, each with a distinct URL', () => {
      expect(hostile.endpoints.map((e) => e.kind)).toEqual([
        'hang',
        'trickle',
        'huge-body',
        'invalid-json',
        'nan',
        'reset',
        'redirect-loop',
        'deep-nesting',
        'header-flood',
        'tls',
        'dns',
      ]);
      expect(new Set(hostile.endpoints.map((e) => e.url)).size).toBe(hostile.endpoints.length);
    });

    it('fails every hostile check with its code and keeps every healthy check healthy at its cadence', {
      timeout: 60_000,
    }, async () => {
      const loaded = parseConfig(
        `
defaults: { interval: ${INTERVAL_MS}ms, timeout: ${TIMEOUT_MS}ms, failureThreshold: 2, fastInterval: false }
targets:
${hostile.endpoints.map((e) => `  - { name: ${e.kind}, url: "${e.url}", protocol: http, checks: { liveness: {} } }`).join('\n')}
${Array.from({ length: HEALTHY }, (_, i) => `  - { name: ok-${i}, url: "${hostile.healthyUrl}ok-${i}", protocol: http, checks: { liveness: {} } }`).join('\n')}
`,
        { baseDir: process.cwd(), env: {} },
      );
      if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
      hub = createHub({ plan: loaded.plan, store, watchdogIntervalMs: 50 });
      hub.subscribe((event) => events.push(event));
      await hub.start();
      await vi.waitFor(
        () => {
          for (const e of hostile.endpoints)
            expect(resultsOf(events, `${e.kind}/liveness`).length, e.kind).toBeGreaterThanOrEqual(PROBES);
        },
        { timeout: 40_000, interval: 100 },
      );
      const status = new Map(hub.status().map((s) => [s.checkId, s]));
      await hub.stop();
      hub = undefined;
      const transitions = transitionsOf(events);
      expect(transitions.filter((t) => t.to === 'stale')).toEqual([]);

      // Each hostile check: every probe failed with the endpoint's code, and the check is unhealthy.
      const seen = hostile.endpoints.map((e) => {
        const results = resultsOf(events, `${e.kind}/liveness`);
        return {
          kind: e.kind,
          codes: [...new Set(results.map((r) => `${r.outcome} ${r.error?.code}`))],
          state: status.get(`${e.kind}/liveness`)?.state,
        };
      });
      expect(seen).toEqual(
        hostile.endpoints.map((e) => ({ kind: e.kind, codes: [`fail ${e.code}`], state: 'unhealthy' })),
      );
      // The huge body: the prober stopped reading at its cap, so the endpoint could write little per probe.
      const hugeProbes = resultsOf(events, 'huge-body/liveness').length;
      expect(hostile.bytesWritten()).toBeLessThan(hugeProbes * HUGE_BODY_BYTES_PER_PROBE);

      // The healthy checks: every probe passed, healthy from the first transition on, and no gap between
      // two probes reached the watchdog's allowance (2 intervals plus the timeout).
      const allowance = staleAfterMs({ intervalMs: INTERVAL_MS }, TIMEOUT_MS);
      for (let i = 0; i < HEALTHY; i++) {
        const id = `ok-${i}/liveness`;
        const results = resultsOf(events, id);
        expect(results.length, `${id} probed`).toBeGreaterThanOrEqual(PROBES);
        expect(
          results.map((r) => r.outcome).filter((o) => o !== 'pass'),
          id,
        ).toEqual([]);
        const gaps = results.slice(1).map((r, j) => r.startedAt - (results[j] as ProbeResult).startedAt);
        expect(Math.max(...gaps), `${id}'s longest gap`).toBeLessThan(allowance);
        expect(transitions.filter((t) => t.checkId === id).map((t) => t.to)).toEqual(['healthy']);
        expect(status.get(id)?.state).toBe('healthy');
      }
    });
  },
);

describe('a hanging endpoint holding the concurrency cap', () => {
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
