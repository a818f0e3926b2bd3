/**
 * Redaction by default, end to end: a config's literal header values (of any name, not only
 * credential-named ones) and credential-looking query parameters never reach a reader, even when the
 * server echoes them back in its body, in a response header or in a URL — through a real hub probing a
 * real HTTP server on loopback, a real SQLite store, and the API (`/api/v1/checks/{id}`, `/results`,
 * `/status`) and the event stream's results.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parseConfig } from '../config/index.js';
import { createHub, type Hub } from '../hub/hub.js';
import type { ExchangeView, HubEvent } from '../hub/types.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { ProbeResult } from '../types.js';
import { createApi } from './app.js';

/** Literal values in the config: not `${VAR}`s, and in headers whose names look like nothing secret. */
const AUTH_TOKEN = 'literal-auth-token-4b1d';
const TENANT_KEY = 'tenant-key-literal-77aa';
const QUERY_KEY = 'query-api-key-31c9';
/** A credential the server makes up itself and hands out in a URL: no config knows it. */
const SIGNED = 'server-side-signature-9f8e';
const WAIT = { timeout: 20_000, interval: 50 };

describe('configured header values and credential query parameters are redacted end to end', () => {
  let server: Server;
  let dir: string;
  let store: Store;
  let hub: Hub;
  let app: FastifyInstance;
  const events: HubEvent[] = [];

  beforeAll(async () => {
    // Echoes the request: its headers and URL in the body, the token in a response header, and a
    // signed link of its own in a Location-like header.
    server = createServer((req, res) => {
      req.resume();
      res.setHeader('x-echo-token', String(req.headers['x-auth-token'] ?? ''));
      res.setHeader('link', `<http://127.0.0.1/next?page=2&X-Amz-Signature=${SIGNED}>`);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ url: req.url, headers: req.headers, next: `/next?sig=${SIGNED}` }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    dir = mkdtempSync(join(tmpdir(), 'vigil-redaction-'));
    // The body assertion fails on purpose: its failure quotes the body (the echo) in the stored result.
    const config = `
defaults: { interval: 200ms, timeout: 150ms, failureThreshold: 2, fastInterval: 100ms }
targets:
  - name: echo
    url: ${url}
    protocol: http
    headers: { X-Auth-Token: "${AUTH_TOKEN}", X-Tenant: "${TENANT_KEY}", Content-Type: application/json }
    checks:
      liveness:
        request: { path: "/health?api_key=${QUERY_KEY}&page=1" }
        expect: { body: { contains: "never in the body" } }
`;
    const loaded = parseConfig(config, { baseDir: dir, env: {} });
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    store = await openStore(join(dir, 'vigil.db'));
    hub = createHub({ plan: loaded.plan, store, redact: loaded.redact, flushIntervalMs: 20 });
    hub.subscribe((event) => events.push(event));
    await hub.start();
    app = await createApi({ hub });
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    await hub?.stop();
    await store?.close();
    server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = async <T>(url: string) => (await app.inject({ method: 'GET', url })).json() as T;
  const leaks = (text: string) => [AUTH_TOKEN, TENANT_KEY, QUERY_KEY, SIGNED].filter((s) => text.includes(s));

  it('shows the echoing exchange and the failed result without one secret', async () => {
    // Failed probes' exchanges are kept without anyone watching; wait for one with the echo.
    const answer = await vi.waitFor(async () => {
      const body = await get<{
        lastExchange: ExchangeView | null;
        status: { lastResult: ProbeResult | null };
      }>('/api/v1/checks/echo%2Fliveness');
      expect(body.lastExchange?.response?.body, 'an echoed exchange').toContain('x-auth-token');
      expect(body.status.lastResult?.outcome).toBe('fail');
      return body;
    }, WAIT);
    const text = JSON.stringify(answer);
    expect(leaks(text)).toEqual([]);
    const exchange = answer.lastExchange as ExchangeView;
    // Sent headers: hidden by name (credential) or because the config set them (not public).
    expect(exchange.request.headers['x-auth-token']).toBe('[REDACTED]');
    expect(exchange.request.headers['x-tenant']).toBe('[REDACTED]');
    expect(exchange.request.headers['content-type']).toBe('application/json');
    expect(exchange.request.url).toMatch(/\/health\?api_key=%5BREDACTED%5D&page=1$/);
    // Echoed: in a response header, in the body, in a URL the server made up.
    expect(exchange.response?.headers['x-echo-token']).toBe('[REDACTED]');
    expect(exchange.response?.headers.link).toContain('page=2&X-Amz-Signature=[REDACTED]');
    const echoed = JSON.parse(exchange.response?.body ?? '{}') as {
      headers: Record<string, string>;
      next: string;
    };
    expect(echoed.headers['x-tenant']).toBe('[REDACTED]');
    expect(echoed.next).toBe('/next?sig=[REDACTED]');
    // The stored result's failure quotes the body; the quote is redacted too.
    const failure = answer.status.lastResult?.failures[0];
    expect(failure?.assertion).toBe('body');
    expect(String(failure?.actual)).toContain('[REDACTED]');
  });

  it('stores and publishes results without them', async () => {
    await hub.flush();
    const { results } = await get<{ results: ProbeResult[] }>(
      '/api/v1/checks/echo%2Fliveness/results?limit=50',
    );
    expect(results.length).toBeGreaterThan(0);
    expect(leaks(JSON.stringify(results))).toEqual([]);
    expect(String(results[0]?.failures[0]?.actual)).toContain('[REDACTED]');
    const published = events.filter((e) => e.type === 'result' || e.type === 'transition');
    expect(published.length).toBeGreaterThan(0);
    expect(leaks(JSON.stringify(published))).toEqual([]);
    expect(leaks(JSON.stringify(await get('/api/v1/status')))).toEqual([]);
  });
});
