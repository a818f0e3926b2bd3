import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWith } from '../fixtures/needs.js';
import type { HttpClient, HttpExchange, HttpRequest, TargetConfig } from '../types.js';
import { createAdapterContext, joinUrl } from './context.js';
import { makeClient, makeTarget } from './fakes/testing.js';

/** A client that records requests and answers 200 with an empty body. */
function recordingClient(): HttpClient & { requests: HttpRequest[] } {
  const requests: HttpRequest[] = [];
  const exchange: HttpExchange = {
    response: { status: 200, headers: {}, body: Buffer.alloc(0), redirects: 0 },
    phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 },
    durationMs: 0,
  };
  return {
    requests,
    async request(req) {
      requests.push(req);
      return exchange;
    },
    async close() {},
  };
}

const fresh = (timeoutMs = 2_000) => ({ timeoutMs, startedAt: performance.now() });

describe('createAdapterContext', () => {
  it('joins baseUrl ?? target.url with the path (one slash; a base path prefix is kept)', async () => {
    const client = recordingClient();
    const ctx = createAdapterContext(client, makeTarget('oip-v2', 'http://h:1/prefix/'), fresh());
    await ctx.fetch({ path: '/v2/health/live' });
    await ctx.fetch({ path: 'models', baseUrl: 'http://h:8081' });
    expect(client.requests.map((r) => r.url)).toEqual([
      'http://h:1/prefix/v2/health/live',
      'http://h:8081/models',
    ]);
    expect(joinUrl('http://h:1', '')).toBe('http://h:1');
  });

  it('sends target headers, then credentials, then request headers (case-insensitive, later wins)', async () => {
    const client = recordingClient();
    const target = makeTarget('http', 'http://h:1', {
      headers: { 'X-Team': 'risk', Authorization: 'overridden' },
      auth: { bearer: 'tok' },
    });
    await createAdapterContext(client, target, fresh()).fetch({ path: '/', headers: { 'X-TEAM': 'ml' } });
    expect(client.requests[0]?.headers).toEqual({ 'x-team': 'ml', authorization: 'Bearer tok' });
  });

  it('basic credentials are base64 of "user:password"', async () => {
    const client = recordingClient();
    const target = makeTarget('http', 'http://h:1', {
      auth: { basic: { username: 'ann', password: 'pä:ss' } },
    });
    await createAdapterContext(client, target, fresh()).fetch({ path: '/' });
    const header = client.requests[0]?.headers?.authorization ?? '';
    expect(header).toBe(`Basic ${Buffer.from('ann:pä:ss').toString('base64')}`);
  });

  it('a non-string body is sent as JSON with content-type; a string is sent as is', async () => {
    const client = recordingClient();
    const ctx = createAdapterContext(client, makeTarget('http', 'http://h:1'), fresh());
    await ctx.fetch({ path: '/', method: 'POST', body: { a: [1] } });
    await ctx.fetch({ path: '/', method: 'POST', body: 'raw' });
    expect(client.requests[0]).toMatchObject({
      method: 'POST',
      body: '{"a":[1]}',
      headers: { 'content-type': 'application/json' },
    });
    expect(client.requests[1]?.body).toBe('raw');
    expect(client.requests[1]?.headers?.['content-type']).toBeUndefined();
  });

  it("passes the target's body cap and redirect limit", async () => {
    const client = recordingClient();
    const target = makeTarget('http', 'http://h:1', { maxBodyBytes: 1234, maxRedirects: 0 });
    await createAdapterContext(client, target, fresh()).fetch({ path: '/' });
    expect(client.requests[0]).toMatchObject({ maxBodyBytes: 1234, maxRedirects: 0 });
  });

  it("each request gets what is left of the probe's timeout (the budget is shared)", async () => {
    const client = recordingClient();
    const ctx = createAdapterContext(client, makeTarget('http', 'http://h:1'), {
      timeoutMs: 2_000,
      startedAt: performance.now() - 1_500,
    });
    await ctx.fetch({ path: '/' });
    const timeoutMs = client.requests[0]?.timeoutMs ?? 0;
    expect(timeoutMs).toBeGreaterThan(0);
    expect(timeoutMs).toBeLessThanOrEqual(500);
  });

  it('a spent budget gives a TIMEOUT exchange without sending anything', async () => {
    const client = recordingClient();
    const ctx = createAdapterContext(client, makeTarget('http', 'http://h:1'), {
      timeoutMs: 1_000,
      startedAt: performance.now() - 1_001,
    });
    const exchange = await ctx.fetch({ path: '/ready' });
    expect(client.requests).toHaveLength(0);
    expect(exchange.error).toEqual({
      code: 'TIMEOUT',
      message: 'probe timeout of 1000 ms used up before GET http://h:1/ready was sent',
    });
  });
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describeWith(
  hasOpenssl,
  'openssl (Debian package openssl)',
  'createAdapterContext TLS (target.tls holds file paths)',
  () => {
    let dir: string;
    let server: https.Server;
    let url: string;
    let client: HttpClient;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
      execFileSync(
        'openssl',
        ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost'].concat([
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
          '-keyout',
          join(dir, 'key.pem'),
          '-out',
          join(dir, 'cert.pem'),
        ]),
        { stdio: 'ignore' },
      );
      server = https.createServer(
        { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
        (_req, res) => res.end('secure'),
      );
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
      client = makeClient();
    });
    afterAll(async () => {
      await client?.close();
      server?.closeAllConnections();
      await new Promise((resolve) => server?.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    });

    const tlsTarget = (tls: TargetConfig['tls']): TargetConfig => makeTarget('http', url, tls ? { tls } : {});

    it('verifies the server against caFile, read once per target and cached', async () => {
      const caFile = join(dir, 'ca-copy.pem');
      writeFileSync(caFile, readFileSync(join(dir, 'cert.pem')));
      const target = tlsTarget({ caFile });
      const first = await createAdapterContext(client, target, fresh()).fetch({ path: '/' });
      expect(first.response?.body.toString()).toBe('secure');
      rmSync(caFile);
      // The file is gone: a second probe of the same target still has the cached PEM.
      const second = await createAdapterContext(client, target, fresh()).fetch({ path: '/' });
      expect(second.response?.status).toBe(200);
    });

    it('without the CA the handshake fails with TLS', async () => {
      const exchange = await createAdapterContext(client, tlsTarget(undefined), fresh()).fetch({ path: '/' });
      expect(exchange.error?.code).toBe('TLS');
    });

    it('an unreadable TLS file is a TLS exchange error, retried on the next probe (not cached)', async () => {
      const caFile = join(dir, 'late.pem');
      const target = tlsTarget({ caFile });
      const missing = await createAdapterContext(client, target, fresh()).fetch({ path: '/' });
      expect(missing.error?.code).toBe('TLS');
      expect(missing.error?.message).toContain('cannot read the TLS files of target "http-target"');
      writeFileSync(caFile, readFileSync(join(dir, 'cert.pem')));
      const later = await createAdapterContext(client, target, fresh()).fetch({ path: '/' });
      expect(later.response?.status).toBe(200);
    });
  },
);
