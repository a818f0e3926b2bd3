/**
 * The routes the dashboard reads, through a real hub probing real example model servers on loopback,
 * with a real store and a real local webhook receiver: `/api/v1/checks/:id` (thresholds, the latest
 * exchange redacted), `/api/v1/status?recent=true`, `/api/v1/alerts` (active and silenced),
 * `/api/v1/incidents/:id` (timeline and deliveries), and the dashboard's static files.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { brotliCompressSync, brotliDecompressSync, gunzipSync, gzipSync } from 'node:zlib';
import { createModelServer, type ModelServer, parseFault } from '@vigil/example-model-server';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNotifiers } from '../alerting/notifiers/index.js';
import { parseConfig } from '../config/index.js';
import { createHub, type Hub } from '../hub/hub.js';
import type { AlertStatus, CheckInfo, ExchangeView } from '../hub/types.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { Incident, Transition } from '../types.js';
import { createApi } from './app.js';
import type { IncidentDelivery } from './routes/history.js';

const ADMIN = 'admin-token';
const SECRET = 's3cr3t-value-from-env';

/** How long and how often the tests poll the hub (vi.waitFor). */
const WAIT = { timeout: 20_000, interval: 50 };

describe('the dashboard routes over a real hub', () => {
  const servers = new Map<string, { server: ModelServer; url: string }>();
  let receiver: Server;
  let received = 0;
  let dir: string;
  let store: Store;
  let hub: Hub;
  let app: FastifyInstance;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-views-'));
    for (const name of ['a', 'b']) {
      const server = await createModelServer({
        models: ['credit-scorer'],
        warmupInferences: 1,
        faults: { enabled: true, token: ADMIN },
      });
      servers.set(name, { server, url: await server.listen({ host: '127.0.0.1', port: 0 }) });
    }
    receiver = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        received++;
        res.end('ok');
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const hook = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    const config = `
defaults: { interval: 300ms, timeout: 250ms, failureThreshold: 2, fastInterval: 100ms }
targets:
${[...servers]
  .map(
    ([name, s]) => `  - name: ${name}
    url: ${s.url}
    protocol: oip-v2
    model: credit-scorer
    labels: { team: risk }
    headers: { Authorization: "Bearer ${SECRET}", X-Trace: "\${TRACE_SECRET}" }
    checks:
      integrity:
        request:
          inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] }]
        expect: { latency: { degraded: 150ms, failed: 240ms } }
`,
  )
  .join('')}
alerting:
  routes: [{ match: { severity: critical }, notify: [hook], group_wait: 0s, group_interval: 200ms }]
  notifiers:
    hook: { type: webhook, url: "${hook}" }
  silences:
    - { matchers: [{ label: target, value: b }], startsAt: "2020-01-01T00:00:00Z", endsAt: "2100-01-01T00:00:00Z", createdBy: test, comment: b is being replaced }
`;
    const loaded = parseConfig(config, { baseDir: dir, env: { TRACE_SECRET: SECRET } });
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    const alerting = loaded.config.alerting;
    if (!alerting) throw new Error('no alerting section');
    const notifiers = createNotifiers(alerting.notifiers);
    store = await openStore(join(dir, 'vigil.db'));
    hub = createHub({
      plan: loaded.plan,
      store,
      alerting: { config: alerting, notifiers },
      redact: loaded.redact,
    });
    await hub.start();
    const dashboard = join(dir, 'dashboard');
    mkdirSync(join(dashboard, 'assets'), { recursive: true });
    writeFileSync(join(dashboard, 'index.html'), '<!doctype html><title>Vigil</title>');
    writeFileSync(join(dashboard, 'assets', 'index-abc.js'), 'console.log(1)');
    // As scripts/compress-dashboard.mjs writes them beside the build's files.
    writeFileSync(
      join(dashboard, 'index.html.br'),
      brotliCompressSync('<!doctype html><title>Vigil</title>'),
    );
    writeFileSync(join(dashboard, 'assets', 'index-abc.js.gz'), gzipSync('console.log(1)'));
    app = await createApi({ hub, dashboardDir: dashboard });
    await vi.waitFor(
      () =>
        expect(
          hub.status().every((s) => s.state === 'healthy'),
          'both checks healthy',
        ).toBe(true),
      WAIT,
    );
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await hub?.stop();
    await store?.close();
    for (const { server } of servers.values()) await server.close();
    receiver?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = async <T>(url: string) => {
    const response = await app.inject({ method: 'GET', url });
    return { status: response.statusCode, body: response.json() as T, headers: response.headers };
  };

  it('shows a check: thresholds, and the latest request and response with secrets redacted', async () => {
    type Answer = { check: CheckInfo; lastExchange: ExchangeView | null };
    // A passing probe's exchange is kept only once someone watches the check: the first ask marks it.
    const first = await get<Answer>('/api/v1/checks/a%2Fintegrity');
    expect(first.status).toBe(200);
    expect(first.body.lastExchange).toBeNull();
    const { body } = await vi.waitFor(async () => {
      const answer = await get<Answer>('/api/v1/checks/a%2Fintegrity');
      expect(answer.body.lastExchange, 'the next probe of a watched check').not.toBeNull();
      return answer;
    }, WAIT);
    expect(body.check).toMatchObject({
      checkId: 'a/integrity',
      protocol: 'oip-v2',
      intervalMs: 300,
      timeoutMs: 250,
      failureThreshold: 2,
      degradedMs: 150,
      failedMs: 240,
      labels: { team: 'risk' },
    });
    const exchange = body.lastExchange as ExchangeView;
    expect(exchange.request.method).toBe('POST');
    expect(exchange.request.url).toMatch(/\/v2\/models\/credit-scorer\/infer$/);
    // Header names as sent (lower-case); Authorization by its name, X-Trace because its value is a ${VAR}.
    expect(exchange.request.headers.authorization).toBe('[REDACTED]');
    expect(exchange.request.headers['x-trace']).toBe('[REDACTED]');
    expect(exchange.request.body).toContain('"features"');
    expect(exchange.response?.status).toBe(200);
    expect(JSON.parse(exchange.response?.body ?? '{}')).toHaveProperty('outputs');
    expect(JSON.stringify(body)).not.toContain(SECRET);
    expect((await get('/api/v1/checks/nope%2Fintegrity')).status).toBe(404);
  });

  it('adds the recent durations to the status only when asked', async () => {
    const plain = await get<{ checks: Array<Record<string, unknown>> }>('/api/v1/status');
    expect(plain.body.checks[0]).not.toHaveProperty('recentMs');
    const { body } = await get<{ checks: Array<{ recentMs: number[] }> }>('/api/v1/status?recent=true');
    for (const c of body.checks) {
      expect(c.recentMs.length).toBeGreaterThan(0);
      expect(c.recentMs.length).toBeLessThanOrEqual(30);
      expect(c.recentMs.every((ms) => ms > 0 && ms < 250)).toBe(true);
    }
  });

  it('lists firing alerts, silenced ones as suppressed; an incident shows its timeline and deliveries', {
    timeout: 60_000,
  }, async () => {
    for (const { server } of servers.values()) server.faults.set('errors', parseFault('errors', {}));
    await vi.waitFor(
      () =>
        expect(
          hub.status().every((s) => s.state === 'unhealthy'),
          'both unhealthy',
        ).toBe(true),
      WAIT,
    );
    const { body } = await get<{ alerts: AlertStatus[] }>('/api/v1/alerts');
    const byTarget = Object.fromEntries(body.alerts.map((a) => [a.labels.target, a]));
    expect(byTarget.a).toMatchObject({
      status: 'firing',
      state: 'active',
      labels: { alertname: 'VigilCheckUnhealthy', severity: 'critical', check: 'integrity' },
    });
    expect(byTarget.b).toMatchObject({
      state: 'suppressed',
      mutedBy: expect.stringContaining('b is being replaced'),
    });
    expect(
      (await get<{ alerts: AlertStatus[] }>('/api/v1/alerts?state=suppressed')).body.alerts,
    ).toHaveLength(1);
    expect((await get('/api/v1/alerts?state=muted')).status).toBe(400);
    // A failed probe's exchange is kept although nobody watched b.
    const b = await get<{ lastExchange: ExchangeView | null }>('/api/v1/checks/b%2Fintegrity');
    expect(b.body.lastExchange?.response?.status).toBe(500);

    await vi.waitFor(() => expect(received >= 1, 'the firing notification delivered').toBe(true), WAIT);
    for (const { server } of servers.values()) server.faults.clear();
    await vi.waitFor(
      () =>
        expect(
          hub.status().every((s) => s.state === 'healthy'),
          'both healthy again',
        ).toBe(true),
      WAIT,
    );
    await vi.waitFor(() => expect(received >= 2, 'the resolved notification delivered').toBe(true), WAIT);
    const [incident] = (await get<{ incidents: Incident[] }>('/api/v1/incidents?checkId=a%2Fintegrity')).body
      .incidents;
    if (!incident) throw new Error('no incident for a/integrity');
    // The outbox marks a row delivered right after the receiver's answer: wait for that state.
    const detail = await vi.waitFor(async () => {
      const answer = await get<{
        incident: Incident;
        transitions: Transition[];
        notifications: IncidentDelivery[];
      }>(`/api/v1/incidents/${incident.id}`);
      expect(answer.body.notifications.filter((n) => n.status === 'delivered')).toHaveLength(2);
      return answer;
    }, WAIT);
    expect(detail.status).toBe(200);
    expect(detail.body.incident.closedAt).not.toBeNull();
    expect(detail.body.transitions.map((t) => `${t.from}→${t.to}`)).toEqual([
      'healthy→pending',
      'pending→unhealthy',
      'unhealthy→healthy',
    ]);
    expect(detail.body.notifications.map((n) => [n.notifier, n.alertStatus, n.status])).toEqual([
      ['hook', 'firing', 'delivered'],
      ['hook', 'resolved', 'delivered'],
    ]);
    // b was silenced: its incident exists, but nothing was sent about it.
    const [incidentB] = (await get<{ incidents: Incident[] }>('/api/v1/incidents?checkId=b%2Fintegrity')).body
      .incidents;
    if (!incidentB) throw new Error('no incident for b/integrity');
    const detailB = await get<{ notifications: IncidentDelivery[] }>(`/api/v1/incidents/${incidentB.id}`);
    expect(detailB.body.notifications).toEqual([]);
    expect((await get('/api/v1/incidents/no-such-id')).status).toBe(404);
  });

  it('serves the dashboard with a strict CSP; hashed assets are cached for good', async () => {
    const page = await app.inject({ method: 'GET', url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.body).toContain('<title>Vigil</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers['cache-control']).toBe('no-cache');
    const asset = await app.inject({ method: 'GET', url: '/assets/index-abc.js' });
    expect(asset.statusCode).toBe(200);
    expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect((await app.inject({ method: 'GET', url: '/assets/missing.js' })).statusCode).toBe(404);
  });

  it('sends the build’s Brotli or gzip copy to a browser that accepts it, and the file to one that does not', async () => {
    const page = await app.inject({
      method: 'GET',
      url: '/',
      headers: { 'accept-encoding': 'gzip, deflate, br' },
    });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-encoding']).toBe('br');
    expect(page.headers['content-type']).toMatch(/^text\/html/);
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    expect(page.headers.vary).toMatch(/accept-encoding/i);
    expect(brotliDecompressSync(page.rawPayload).toString()).toContain('<title>Vigil</title>');
    // No `.br` copy of the script: the gzip one; and the file itself when nothing is accepted.
    const zipped = await app.inject({
      method: 'GET',
      url: '/assets/index-abc.js',
      headers: { 'accept-encoding': 'br, gzip' },
    });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.headers['content-type']).toMatch(/javascript/);
    expect(zipped.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(gunzipSync(zipped.rawPayload).toString()).toBe('console.log(1)');
    const plain = await app.inject({
      method: 'GET',
      url: '/assets/index-abc.js',
      headers: { 'accept-encoding': 'identity' },
    });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe('console.log(1)');
  });
});
