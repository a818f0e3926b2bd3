import { describe, expect, it } from 'vitest';
import { createRedactor } from '../diagnostics/redact.js';
import type { HttpExchange } from '../types.js';
import { RECENT_DURATIONS } from './types.js';
import { EXCHANGE_BODY_LIMIT, exchangeView, RecentDurations } from './views.js';

const PHASES = { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 1, transferMs: 0 };

describe('RecentDurations', () => {
  it('keeps the last RECENT_DURATIONS values, oldest first, rounded to 0.1 ms', () => {
    const ring = new RecentDurations();
    expect(ring.values()).toEqual([]);
    ring.push(1.26);
    ring.push(2);
    expect(ring.values()).toEqual([1.3, 2]);
    for (let i = 0; i < RECENT_DURATIONS + 5; i++) ring.push(i);
    const values = ring.values();
    expect(values).toHaveLength(RECENT_DURATIONS);
    expect(values[0]).toBe(5);
    expect(values.at(-1)).toBe(RECENT_DURATIONS + 4);
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
