/**
 * The exchange cache: which exchanges are kept (failed, degraded, watched), for how long a read
 * watches, redaction on read, and the per-check deps a real probe captures through.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRedactor } from '../diagnostics/redact.js';
import { type CapturedExchange, runProbe } from '../probe/run-probe.js';
import type { CheckPlan, HttpClient, HttpExchange } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { createExchangeCache, EXCHANGE_BODY_LIMIT, exchangeView, WATCH_MS } from './exchange-cache.js';

const PHASES = { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 1, transferMs: 0 };

/** Clients are only handed through by the cache; these tests never send with this one. */
const NO_CLIENT: HttpClient = {
  request: () => Promise.reject(new Error('not used')),
  close: async () => {},
};

function captured(startedAt: number, status = 200): CapturedExchange {
  return {
    startedAt,
    request: { url: 'http://127.0.0.1:1/health', timeoutMs: 1000 },
    exchange: {
      response: { status, headers: {}, body: Buffer.from(`status ${status}`), redirects: 0 },
      phases: PHASES,
      durationMs: 1,
    },
  };
}

describe('createExchangeCache', () => {
  it('keeps a failed or degraded exchange and drops a passing one nobody watches', () => {
    const cache = createExchangeCache({ client: NO_CLIENT, region: 'local' });
    const deps = cache.probeDeps('a');
    deps.onExchange?.(captured(1, 500));
    cache.settle('a', 'fail');
    expect(cache.read('a')?.response?.status).toBe(500);

    deps.onExchange?.(captured(2, 200));
    cache.settle('a', 'degraded');
    expect(cache.read('a')?.at).toBe(2);

    // A pass drops the failure kept before: the page shows the latest probe or nothing.
    const fresh = createExchangeCache({ client: NO_CLIENT, region: 'local' });
    const freshDeps = fresh.probeDeps('b');
    freshDeps.onExchange?.(captured(3, 500));
    fresh.settle('b', 'fail');
    freshDeps.onExchange?.(captured(4, 200));
    fresh.settle('b', 'pass');
    // (This read is the first: it marks b watched only from now on.)
    expect(fresh.read('b')).toBeUndefined();
  });

  it('keeps passing exchanges for WATCH_MS after a read, then drops them again', () => {
    let now = 1_000_000;
    const cache = createExchangeCache({ client: NO_CLIENT, region: 'local', now: () => now });
    const deps = cache.probeDeps('a');
    deps.onExchange?.(captured(1));
    cache.settle('a', 'pass');
    expect(cache.read('a')).toBeUndefined();

    now += WATCH_MS - 1;
    deps.onExchange?.(captured(2));
    cache.settle('a', 'pass');
    expect(cache.read('a')?.at).toBe(2);

    // The read just now renewed the watch; WATCH_MS after it, passing exchanges are dropped.
    now += WATCH_MS;
    deps.onExchange?.(captured(3));
    cache.settle('a', 'pass');
    now += 1;
    deps.onExchange?.(captured(4));
    cache.settle('a', 'pass');
    expect(cache.read('a')).toBeUndefined();
  });

  it('settles nothing for a probe that captured nothing, and forgets a deleted key', () => {
    const cache = createExchangeCache({ client: NO_CLIENT, region: 'local' });
    const deps = cache.probeDeps('a');
    deps.onExchange?.(captured(1, 500));
    cache.settle('a', 'fail');
    cache.settle('a', 'fail');
    expect(cache.read('a')).toBeUndefined();

    deps.onExchange?.(captured(2, 500));
    cache.settle('a', 'fail');
    cache.delete('a');
    expect(cache.read('a')).toBeUndefined();
    // A key never handed out is unknown: reading it neither fails nor creates it.
    expect(cache.read('never')).toBeUndefined();
    cache.settle('never', 'fail');
    expect(cache.read('never')).toBeUndefined();
  });

  it('redacts what it returns with the config redactor', () => {
    const cache = createExchangeCache({
      client: NO_CLIENT,
      region: 'local',
      redact: createRedactor(['env-secret']),
    });
    cache.probeDeps('a').onExchange?.({
      startedAt: 1,
      request: {
        url: 'http://127.0.0.1:1/?token=t0k',
        headers: { authorization: 'Bearer t0k', 'x-tenant': 'env-secret' },
        timeoutMs: 1000,
      },
      exchange: {
        error: { code: 'TIMEOUT', message: 'env-secret timed out' },
        phases: PHASES,
        durationMs: 1,
      },
    });
    cache.settle('a', 'fail');
    const view = cache.read('a');
    expect(view?.request.headers).toEqual({ authorization: '[REDACTED]', 'x-tenant': '[REDACTED]' });
    expect(view?.error?.message).toBe('[REDACTED] timed out');
    expect(JSON.stringify(view)).not.toMatch(/t0k|env-secret/);
  });

  describe('with real probes', () => {
    let server: Server;
    let url: string;
    let status = 200;
    const client = createHttpClient({ keepAlive: true });
    beforeAll(async () => {
      server = createServer((_req, res) => {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end(`answer ${status}`);
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    });
    afterAll(async () => {
      await client.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    });

    it("hands out one deps object per key, with the hub's client and region, that captures each probe", async () => {
      const cache = createExchangeCache({ client, region: 'eu-west' });
      const plan: CheckPlan = {
        id: 'scorer/liveness',
        target: {
          name: 'scorer',
          url,
          protocol: 'http',
          labels: {},
          headers: {},
          maxBodyBytes: 1 << 20,
          maxRedirects: 0,
        },
        kind: 'liveness',
        intervalMs: 1000,
        timeoutMs: 1000,
        failureThreshold: 3,
        successThreshold: 1,
        fastIntervalMs: null,
        initialDelayMs: 0,
        request: { path: '/health' },
        expect: { status: [200] },
      };
      const deps = cache.probeDeps(plan.id);
      expect(cache.probeDeps(plan.id)).toBe(deps);
      expect([deps.client, deps.region]).toEqual([client, 'eu-west']);

      status = 503;
      const failed = await runProbe(plan, deps);
      expect([failed.outcome, failed.region]).toEqual(['fail', 'eu-west']);
      cache.settle(plan.id, failed.outcome);
      const view = cache.read(plan.id);
      expect(view?.request.url).toBe(`${url}/health`);
      expect(view?.response).toMatchObject({ status: 503, body: 'answer 503' });

      // Watched now (the read above): the passing probe's exchange replaces the failed one.
      status = 200;
      const passed = await runProbe(plan, deps);
      cache.settle(plan.id, passed.outcome);
      expect(cache.read(plan.id)?.response).toMatchObject({ status: 200, body: 'answer 200' });
    });
  });
});

describe('exchangeView', () => {
  const redact = createRedactor(['env-secret']);
  const exchange = (body: Buffer): HttpExchange => ({
    response: {
      status: 200,
      headers: { 'set-cookie': 'session=abc', 'x-echo': 'env-secret' },
      body,
      redirects: 0,
    },
    phases: PHASES,
    durationMs: 1,
  });

  it('redacts credentials in headers, userinfo and query parameters, and config secrets anywhere', () => {
    const view = exchangeView(
      {
        startedAt: 1000,
        request: {
          url: 'http://user:pw@127.0.0.1:8080/v1/infer?api_key=k123&model=m',
          method: 'POST',
          headers: { Authorization: 'Bearer t0k', 'x-api-key': 'k', 'x-tenant': 'env-secret' },
          body: '{"prompt":"env-secret"}',
          timeoutMs: 1000,
        },
        exchange: exchange(Buffer.from('{"ok":true,"echo":"env-secret"}')),
      },
      redact,
    );
    expect(view.request).toEqual({
      method: 'POST',
      url: 'http://127.0.0.1:8080/v1/infer?api_key=%5BREDACTED%5D&model=m',
      headers: { Authorization: '[REDACTED]', 'x-api-key': '[REDACTED]', 'x-tenant': '[REDACTED]' },
      body: '{"prompt":"[REDACTED]"}',
    });
    expect(view.response).toEqual({
      status: 200,
      headers: { 'set-cookie': '[REDACTED]', 'x-echo': '[REDACTED]' },
      body: '{"ok":true,"echo":"[REDACTED]"}',
      truncated: false,
    });
    expect(JSON.stringify(view)).not.toMatch(/t0k|k123|pw@|env-secret|abc/);
  });

  it('cuts a huge body at EXCHANGE_BODY_LIMIT and says so; an error without a response is shown', () => {
    const big = exchangeView(
      {
        startedAt: 0,
        request: { url: 'http://h/', timeoutMs: 1 },
        exchange: exchange(Buffer.alloc(1 << 20, 97)),
      },
      (t) => t,
    );
    expect(big.response?.body).toHaveLength(EXCHANGE_BODY_LIMIT);
    expect(big.response?.truncated).toBe(true);
    const failed = exchangeView(
      {
        startedAt: 0,
        request: { url: 'http://h/', timeoutMs: 1 },
        exchange: {
          error: { code: 'TIMEOUT', message: 'timed out after 1 ms' },
          phases: PHASES,
          durationMs: 1,
        },
      },
      (t) => t,
    );
    expect(failed).toEqual({
      at: 0,
      request: { method: 'GET', url: 'http://h/', headers: {} },
      error: { code: 'TIMEOUT', message: 'timed out after 1 ms' },
    });
  });
});
