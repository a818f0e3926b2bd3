/**
 * Agents on loopback: a hub (SQLite, its API on port 0), a model endpoint (the HTTP fake), and agents
 * of two regions pushing to the hub. A region's path is cut by its agent's client refusing to connect;
 * the hub is made unreachable for an agent by a TCP gate in front of it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createNotifiers } from '../alerting/notifiers/index.js';
import { createApi } from '../api/index.js';
import { parseConfig } from '../config/load.js';
import { createHub, type Hub } from '../hub/hub.js';
import { createHttpFake, type HttpFake } from '../protocols/fakes/http.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { HttpClient, ProbeResult } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { type Agent, createAgent } from './agent.js';
import { waitFor } from './testing.js';

const EU_TOKEN = 'eu-token-0123456789abcdef';
const US_TOKEN = 'us-token-0123456789abcdef';

/** A client whose path can be cut (connection refused), counting the probes that went out. */
function pathClient(): HttpClient & { cut: boolean; sent: number } {
  const inner = createHttpClient({ keepAlive: true });
  const client = {
    cut: false,
    sent: 0,
    async request(request: Parameters<HttpClient['request']>[0]) {
      client.sent++;
      if (client.cut)
        return {
          error: { code: 'CONNECTION_REFUSED' as const, message: 'path cut by the test' },
          phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 },
          durationMs: 1,
        };
      return inner.request(request);
    },
    close: () => inner.close(),
  };
  return client;
}

/** A TCP gate in front of `port`: while closed, connections are reset. */
async function gate(port: number): Promise<{ url: string; open: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { open: true };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (!state.open) return socket.destroy();
    const out = connect(port, '127.0.0.1');
    sockets.add(out);
    out.on('close', () => sockets.delete(out));
    socket.pipe(out).pipe(socket);
    socket.on('error', () => out.destroy());
    out.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const address = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${address.port}`,
    get open() {
      return state.open;
    },
    set open(value: boolean) {
      state.open = value;
      if (!value) for (const s of sockets) s.destroy();
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

describe('vigil agent with a hub on loopback', () => {
  let dir: string;
  let store: Store;
  let hub: Hub;
  let api: FastifyInstance;
  let model: HttpFake;
  let hubUrl: string;
  const agents: Agent[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-agent-'));
    model = await createHttpFake();
    store = await openStore(':memory:');
  });

  afterEach(async () => {
    for (const a of agents.splice(0)) await a.stop().catch(() => {});
    await hub?.stop();
    await api?.close();
    await store?.close();
    await model?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * Margins for a loaded CI machine (load 20 on 2 cores), where hub, agents and model share one
   * starved process: a probe's timeout of 900 ms is far above a loopback probe's inflated latency, so
   * the hub's own region does not fail by accident (at 150 ms it did: the verdict read `regional` for
   * `local`); an agent is down after 5 s without a batch, far above the gap between its batches (one
   * result per interval, pushed within 100 ms), so a slow push does not mark a working agent down.
   */
  async function startHub(extra = ''): Promise<void> {
    const loaded = parseConfig(
      `
agents:
  downAfter: 5s
  regions:
    eu: { token: "${EU_TOKEN}" }
    us: { token: "${US_TOKEN}" }
defaults: { interval: 1s, timeout: 900ms, failureThreshold: 2, fastInterval: 100ms }
targets:
  - name: scorer
    url: ${model.url}
    protocol: http
    regions: [local, eu, us]
    checks: { liveness: {} }
${extra}`,
      { baseDir: dir },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    const alerting = loaded.config.alerting;
    hub = createHub({
      plan: loaded.plan,
      store,
      flushIntervalMs: 20,
      watchdogIntervalMs: 100,
      agents: { regions: ['eu', 'us'], downAfterMs: 5000 },
      ...(alerting ? { alerting: { config: alerting, notifiers: createNotifiers(alerting.notifiers) } } : {}),
    });
    const tokens = new Map([
      ['eu', EU_TOKEN],
      ['us', US_TOKEN],
    ]);
    api = await createApi({
      hub,
      dashboardDir: false,
      agents: { tokenOf: (r) => tokens.get(r), maxBatchBytes: 64 * 1024 },
    });
    await api.listen({ host: '127.0.0.1', port: 0 });
    hubUrl = `http://127.0.0.1:${(api.server.address() as { port: number }).port}`;
    await hub.start();
  }

  function agent(region: 'eu' | 'us', client: HttpClient, url = hubUrl, spoolPath = ':memory:'): Agent {
    const a = createAgent({
      hubUrl: url,
      region,
      token: region === 'eu' ? EU_TOKEN : US_TOKEN,
      spoolPath,
      client,
      pushIntervalMs: 100,
      pollIntervalMs: 300,
      // Under 10 s: the clock offset's error (at most half a round trip) stays below the 5 s asserted.
      requestTimeoutMs: 8000,
    });
    agents.push(a);
    return a;
  }

  const verdict = () => hub.status().find((s) => s.checkId === 'scorer/liveness')?.verdict;
  const firing = async () =>
    (await hub.alerts()).map((a) => `${a.labels.alertname}:${a.labels.region}`).sort();

  it('classifies a cut path as regional and a broken model as global; an agent that stops raises agent down', async () => {
    await startHub();
    const eu = pathClient();
    const us = pathClient();
    await agent('eu', eu).start();
    await agent('us', us).start();
    await waitFor('every region reporting', () => verdict()?.reporting.length === 3);
    expect(verdict()?.state).toBe('ok');

    // eu's path is cut: one region of three fails → regional (warning, region eu), nothing critical.
    eu.cut = true;
    await waitFor('a regional verdict', () => verdict()?.state === 'regional');
    expect(verdict()?.failing).toEqual(['eu']);
    expect(await firing()).toEqual(['VigilCheckRegional:eu']);
    expect((await hub.alerts()).filter((a) => a.labels.severity === 'critical')).toEqual([]);

    // The model breaks: every region fails → global (critical), which inhibits the regional ones.
    model.state.routes['GET /'] = { status: 500, json: { error: 'broken' } };
    await waitFor('a global verdict', () => verdict()?.state === 'global');
    expect(await firing()).toContain('VigilCheckGlobal:global');
    expect((await hub.alerts()).filter((a) => a.labels.severity === 'critical')).toHaveLength(1);

    // Healed; eu's agent stops: after downAfter it is down, and its region leaves the quorum.
    model.state.routes['GET /'] = { status: 200, json: { status: 'ok' } };
    eu.cut = false;
    await waitFor('ok again', () => verdict()?.state === 'ok');
    await agents[0]?.stop();
    await waitFor('eu agent down', () => hub.agents().find((a) => a.region === 'eu')?.state === 'down');
    expect(await firing()).toEqual(['VigilAgentDown:eu']);
    await waitFor('eu out of the denominator', () => verdict()?.absent.includes('eu') === true);
    expect(verdict()?.reporting.sort()).toEqual(['local', 'us']);
    const us1 = hub.agents().find((a) => a.region === 'us');
    expect(us1).toMatchObject({ state: 'up', spoolDepth: expect.any(Number) });
    expect(Math.abs(us1?.clockOffsetMs ?? 1e9)).toBeLessThan(5000);
  }, 240_000);

  it('spools while the hub is unreachable and replays in order: nothing lost, nothing twice', async () => {
    await startHub();
    const g = await gate(Number(new URL(hubUrl).port));
    try {
      const us = pathClient();
      const a = agent('us', us, g.url, join(dir, 'spool.db'));
      await a.start();
      await waitFor('first results pushed', () => a.stats().pushed > 0);
      g.open = false;
      await waitFor('results spooled', () => a.stats().spoolDepth >= 5);
      // Everything probed until the hub is back reaches it on the agent's own pushes (not only at its
      // stop). Counted, not seen as a momentarily empty spool: new results keep arriving meanwhile.
      const backlog = a.stats().probed;
      g.open = true;
      await waitFor(
        'spool drained',
        () => a.stats().hubReachable && a.stats().pushed + a.stats().replayed >= backlog,
      );
      await a.stop();
      agents.splice(agents.indexOf(a), 1);
      await hub.flush();
      const stored = await store.results('scorer/liveness', { region: 'us', limit: 10_000 });
      // Every probe the agent sent is one stored result: none lost in the outage, none twice.
      expect(stored).toHaveLength(us.sent);
      expect(a.stats().dropped).toBe(0);
      expect(a.stats().spoolDepth).toBe(0);
      const starts = stored.map((r) => r.startedAt);
      expect(starts).toEqual([...starts].sort((x, y) => x - y));
    } finally {
      await g.close();
    }
  }, 240_000);

  it('refuses a wrong token, an unknown region, an oversized or forged batch, and takes a replay once', async () => {
    await startHub();
    const result = (id: string, extra: Partial<ProbeResult> = {}) => ({
      id,
      checkId: 'scorer/liveness',
      target: 'scorer',
      check: 'liveness',
      region: 'eu',
      startedAt: Date.now(),
      durationMs: 2,
      phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 2, transferMs: 0 },
      outcome: 'pass',
      failures: [],
      ...extra,
    });
    const post = (region: string, token: string, body: unknown, raw?: Buffer) =>
      fetch(`${hubUrl}/api/v1/agent/results?region=${region}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-encoding': 'gzip',
        },
        body: raw ?? gzipSync(JSON.stringify(body)),
      });
    const batch = (results: unknown[], batchId = 'b1') => ({ batchId, sentAt: Date.now(), results });
    const stored = async () => {
      await hub.flush();
      return (await store.results('scorer/liveness', { region: 'eu' })).length;
    };

    expect((await post('eu', US_TOKEN, batch([result('r1')]))).status).toBe(401);
    expect((await post('mars', EU_TOKEN, batch([result('r1')]))).status).toBe(403);
    // Over 64 KiB once decompressed (it compresses to almost nothing).
    const big = gzipSync(JSON.stringify(batch([result('r1', { notes: ['x'.repeat(100_000)] })])));
    expect(big.length).toBeLessThan(64 * 1024);
    expect((await post('eu', EU_TOKEN, undefined, big)).status).toBe(413);
    // One result of another region: the whole batch is refused, its good result too.
    const forged = await post('eu', EU_TOKEN, batch([result('r1'), result('r2', { region: 'us' })]));
    expect(forged.status).toBe(422);
    expect((await post('eu', EU_TOKEN, batch([result('r1', { checkId: 'other/liveness' })]))).status).toBe(
      422,
    );
    // An adapter's notes are sentences (the dashboard lists them): anything else is refused.
    const badNotes = await post(
      'eu',
      EU_TOKEN,
      batch([result('r1', { notes: 'one' as unknown as string[] })]),
    );
    expect(badNotes.status).toBe(400);
    expect(await badNotes.text()).toContain('results[0].notes: expected a list of strings');
    // A metrics check's readings are numbers (or null) by name: a value of another type is refused.
    const badReadings = await post(
      'eu',
      EU_TOKEN,
      batch([
        result('r1', { readings: [{ name: 'queue', kind: 'gauge', value: 'high' as unknown as number }] }),
      ]),
    );
    expect(badReadings.status).toBe(400);
    expect(await badReadings.text()).toContain('results[0].readings: expected a list of { name, value }');
    expect(await stored()).toBe(0);

    const first = await post('eu', EU_TOKEN, batch([result('r1'), result('r2')]));
    expect(first.status).toBe(200);
    expect(await first.json()).toMatchObject({ accepted: 2, replayed: 0 });
    const again = await post('eu', EU_TOKEN, batch([result('r1'), result('r2'), result('r3')]));
    expect(await again.json()).toMatchObject({ accepted: 1, replayed: 2 });
    expect(await stored()).toBe(3);

    const plan = await fetch(`${hubUrl}/api/v1/agent/checks?region=eu`, {
      headers: { authorization: `Bearer ${EU_TOKEN}` },
    });
    expect(plan.status).toBe(200);
    const etag = plan.headers.get('etag') ?? '';
    expect(((await plan.json()) as { checks: { id: string }[] }).checks.map((c) => c.id)).toEqual([
      'scorer/liveness',
    ]);
    const unchanged = await fetch(`${hubUrl}/api/v1/agent/checks?region=eu`, {
      headers: { authorization: `Bearer ${EU_TOKEN}`, 'if-none-match': etag },
    });
    expect(unchanged.status).toBe(304);
    const listed = (await (await fetch(`${hubUrl}/api/v1/agents`)).json()) as {
      agents: { region: string; results: number; replayed: number }[];
    };
    expect(listed.agents.find((a) => a.region === 'eu')).toMatchObject({ results: 3, replayed: 2 });
  }, 240_000);
});
