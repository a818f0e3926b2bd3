import dc from 'node:diagnostics_channel';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { VigilError } from '../errors.js';
import { describeWith } from '../fixtures/needs.js';
import type { HttpClient } from '../types.js';
import { createHttpClient } from './http.js';
import { hasOpenssl, makePki, OPENSSL, type Pki } from './test-pki.js';

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

interface TestServer {
  url: string;
  port: number;
  /** Connections accepted so far. */
  connections: number;
  /** Resolves when a server-side socket closes. */
  closed: Promise<void>;
  close(): Promise<void>;
}

const servers: Array<{ close(): Promise<void> }> = [];
const clients: HttpClient[] = [];

function track(server: net.Server, scheme: string): Promise<TestServer> {
  const sockets = new Set<net.Socket>();
  let markClosed!: () => void;
  const state: TestServer = {
    url: '',
    port: 0,
    connections: 0,
    closed: new Promise((resolve) => {
      markClosed = resolve;
    }),
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  server.on(scheme === 'https' ? 'secureConnection' : 'connection', (socket: net.Socket) => {
    state.connections++;
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      markClosed();
    });
  });
  if (scheme === 'https') server.on('connection', (socket: net.Socket) => sockets.add(socket));
  servers.push(state);
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      state.port = port;
      state.url = `${scheme}://127.0.0.1:${port}`;
      resolve(state);
    });
  });
}

function serve(handler: Handler): Promise<TestServer> {
  return track(http.createServer(handler), 'http');
}

function client(options?: Parameters<typeof createHttpClient>[0]): HttpClient {
  const c = createHttpClient(options);
  clients.push(c);
  return c;
}

afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

describe('createHttpClient: responses', () => {
  it('returns status, lower-cased headers with repeats joined, and the body', async () => {
    const server = await serve((_req, res) => {
      res.setHeader('X-Model', 'credit-scorer');
      res.setHeader('X-Repeat', ['a', 'b']);
      res.setHeader('Set-Cookie', ['s=1', 't=2']);
      res.end('{"ok":true}');
    });
    const { response, error } = await client().request({ url: `${server.url}/live`, timeoutMs: 2000 });
    expect(error).toBeUndefined();
    expect(response?.status).toBe(200);
    expect(response?.headers['x-model']).toBe('credit-scorer');
    expect(response?.headers['x-repeat']).toBe('a, b');
    expect(response?.headers['set-cookie']).toBe('s=1, t=2');
    expect(response?.body.toString()).toBe('{"ok":true}');
    expect(response?.redirects).toBe(0);
  });

  it('sends a POST body with its content-length, and the request headers as given', async () => {
    const server = await serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () =>
        res.end(
          JSON.stringify({
            method: req.method,
            length: req.headers['content-length'],
            type: req.headers['content-type'],
            agent: req.headers['user-agent'],
            body: Buffer.concat(chunks).toString(),
          }),
        ),
      );
    });
    const { response } = await client().request({
      url: `${server.url}/v2/models/m/infer`,
      method: 'post',
      headers: { 'Content-Type': 'application/json' },
      body: '{"inputs":[1,2]}',
      timeoutMs: 2000,
    });
    expect(JSON.parse(String(response?.body))).toEqual({
      method: 'POST',
      length: '16',
      type: 'application/json',
      agent: 'vigil',
      body: '{"inputs":[1,2]}',
    });
  });

  it('answers HEAD with the headers and an empty body', async () => {
    const server = await serve((_req, res) => {
      res.setHeader('content-length', '5');
      res.end('hello');
    });
    const { response } = await client().request({ url: server.url, method: 'HEAD', timeoutMs: 2000 });
    expect(response?.status).toBe(200);
    expect(response?.headers['content-length']).toBe('5');
    expect(response?.body.length).toBe(0);
  });
});

describe('createHttpClient: phases and connections', () => {
  it('reports connect > 0 on a fresh connection and 0 for dns, connect and tls on a reused one', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const c = client();
    const first = await c.request({ url: server.url, timeoutMs: 2000 });
    const second = await c.request({ url: server.url, timeoutMs: 2000 });
    expect(server.connections).toBe(1);
    expect(first.phases.connectMs).toBeGreaterThan(0);
    expect(first.phases.dnsMs).toBe(0); // an IP literal is not resolved
    expect(second.phases).toMatchObject({ dnsMs: 0, connectMs: 0, tlsMs: 0 });
    for (const { phases, durationMs } of [first, second]) {
      for (const value of Object.values(phases)) expect(value).toBeGreaterThanOrEqual(0);
      expect(phases.processingMs).toBeGreaterThan(0);
      const sum = phases.dnsMs + phases.connectMs + phases.tlsMs + phases.processingMs + phases.transferMs;
      expect(sum).toBeLessThanOrEqual(durationMs + 0.001);
    }
  });

  it('times name resolution when the host is a name', async () => {
    const server = await serve((_req, res) => res.end('ok'));
    const { response, phases } = await client().request({
      url: `http://localhost:${server.port}/`,
      timeoutMs: 2000,
    });
    expect(response?.status).toBe(200);
    expect(phases.dnsMs).toBeGreaterThan(0);
    expect(phases.connectMs).toBeGreaterThan(0);
  });

  it('measures transfer from the first to the last body byte', async () => {
    const server = await serve((_req, res) => {
      res.write('a');
      setTimeout(() => res.end('b'), 150);
    });
    const { response, phases } = await client().request({ url: server.url, timeoutMs: 2000 });
    expect(response?.body.toString()).toBe('ab');
    expect(phases.transferMs).toBeGreaterThanOrEqual(100);
  });

  it('with keepAlive false, sends connection: close and opens a fresh connection per request', async () => {
    const seen: Array<string | undefined> = [];
    const server = await serve((req, res) => {
      seen.push(req.headers.connection);
      res.end('ok');
    });
    const c = client({ keepAlive: false });
    const first = await c.request({ url: server.url, timeoutMs: 2000 });
    const second = await c.request({ url: server.url, timeoutMs: 2000 });
    expect(server.connections).toBe(2);
    expect(seen).toEqual(['close', 'close']);
    expect(first.phases.connectMs).toBeGreaterThan(0);
    expect(second.phases.connectMs).toBeGreaterThan(0);
  });

  it('retries once on a fresh connection when a reused keep-alive connection was closed by the server', async () => {
    const perSocket = new WeakMap<net.Socket, number>();
    const server = await serve((req, res) => {
      const n = (perSocket.get(req.socket) ?? 0) + 1;
      perSocket.set(req.socket, n);
      // The second request on a connection finds it closed, as when an idle timeout races the request.
      if (n > 1) req.socket.destroy();
      else res.end('ok');
    });
    const c = client();
    expect((await c.request({ url: server.url, timeoutMs: 2000 })).response?.status).toBe(200);
    const second = await c.request({ url: server.url, timeoutMs: 2000 });
    expect(second.error).toBeUndefined();
    expect(second.response?.status).toBe(200);
    expect(server.connections).toBe(2);
  });

  it('leaves no timers behind once requests are done and the client is closed', async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const server = await serve((_req, res) => res.end('ok'));
    const c = createHttpClient();
    await Promise.all([1, 2, 3].map(() => c.request({ url: server.url, timeoutMs: 60_000 })));
    await c.request({ url: 'http://127.0.0.1:1/', timeoutMs: 60_000 });
    await c.close();
    expect(timers()).toBeLessThanOrEqual(before);
  });
});

describe('createHttpClient: timeouts and cancellation', () => {
  it('times out a body that trickles in one byte every 100 ms, naming the phase, and closes the connection', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('x'), 100);
      res.on('close', () => clearInterval(timer));
    });
    const { error, response, durationMs } = await client().request({ url: server.url, timeoutMs: 500 });
    expect(response).toBeUndefined();
    expect(error).toEqual({
      code: 'TIMEOUT',
      message: `timed out after 500 ms waiting for the response body from 127.0.0.1:${server.port}`,
    });
    expect(durationMs).toBeGreaterThanOrEqual(499);
    // The trickle never ends: any bound proves the timeout; 5 s leaves a loaded machine its delays.
    expect(durationMs).toBeLessThan(5_000);
    await server.closed;
  });

  it('times out while waiting for response headers', async () => {
    const server = await serve(() => {});
    const { error } = await client().request({ url: server.url, timeoutMs: 200 });
    expect(error).toEqual({
      code: 'TIMEOUT',
      message: `timed out after 200 ms waiting for the response from 127.0.0.1:${server.port}`,
    });
  });

  it('cancels with an AbortSignal', async () => {
    const server = await serve(() => {});
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('shutting down')), 100);
    const { error, durationMs } = await client().request({
      url: server.url,
      timeoutMs: 5000,
      signal: controller.signal,
    });
    expect(error).toEqual({
      code: 'NETWORK',
      message: `aborted by the caller waiting for the response from 127.0.0.1:${server.port}: shutting down`,
    });
    // Under the 5 s timeout (the error's wording says it was the abort, not the timeout).
    expect(durationMs).toBeLessThan(4_000);
    await server.closed;
  });

  it('reports TIMEOUT for AbortSignal.timeout, and for a signal aborted before the start', async () => {
    const server = await serve(() => {});
    const c = client();
    const timedOut = await c.request({ url: server.url, timeoutMs: 5000, signal: AbortSignal.timeout(100) });
    expect(timedOut.error?.code).toBe('TIMEOUT');
    const early = await c.request({ url: server.url, timeoutMs: 5000, signal: AbortSignal.abort() });
    expect(early.error?.code).toBe('NETWORK');
    expect(early.error?.message).toMatch(/^aborted by the caller/);
  });
});

describe('createHttpClient: body cap', () => {
  it('stops at the cap of a response streaming far more, reads at most one chunk past it, and closes the connection', async () => {
    const chunk = Buffer.alloc(64 * 1024, 'x');
    let written = 0;
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      // Up to 1 GiB, respecting backpressure: only what the client reads is ever sent.
      const pump = (): void => {
        while (written < 1024 ** 3 && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) {
            res.once('drain', pump);
            return;
          }
        }
        res.end();
      };
      pump();
    });
    const sockets: net.Socket[] = [];
    const onSocket = ({ socket }: { socket: net.Socket }) => sockets.push(socket);
    dc.subscribe('net.client.socket', onSocket as (message: unknown) => void);
    const cap = 1024 * 1024;
    try {
      const { error, response } = await client().request({
        url: server.url,
        timeoutMs: 10_000,
        maxBodyBytes: cap,
      });
      expect(response).toBeUndefined();
      expect(error?.code).toBe('BODY_TOO_LARGE');
      expect(error?.message).toMatch(
        new RegExp(
          `^response body from 127\\.0\\.0\\.1:${server.port} exceeds the 1048576-byte cap \\(\\d+ bytes read\\); reading stopped$`,
        ),
      );
    } finally {
      dc.unsubscribe('net.client.socket', onSocket as (message: unknown) => void);
    }
    await server.closed;
    expect(sockets).toHaveLength(1);
    const headerAllowance = 1024;
    expect(sockets[0]?.bytesRead).toBeLessThanOrEqual(cap + chunk.length + headerAllowance);
    expect(sockets[0]?.destroyed).toBe(true);
  });

  it('fails before reading when content-length already exceeds the cap', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': String(10 * 1024 * 1024) });
      res.write('x');
    });
    const { error } = await client().request({ url: server.url, timeoutMs: 2000, maxBodyBytes: 1000 });
    expect(error).toEqual({
      code: 'BODY_TOO_LARGE',
      message: `response body from 127.0.0.1:${server.port} exceeds the 1000-byte cap (content-length 10485760); reading stopped`,
    });
    await server.closed;
  });

  it('accepts a body of exactly the cap', async () => {
    const server = await serve((_req, res) => res.end(Buffer.alloc(1000, 'y')));
    const { response } = await client().request({ url: server.url, timeoutMs: 2000, maxBodyBytes: 1000 });
    expect(response?.body.length).toBe(1000);
  });
});

describe('createHttpClient: redirects', () => {
  function redirector(): Promise<TestServer> {
    return serve((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'http://x');
        const code = url.searchParams.get('code');
        if (url.pathname === '/loop') {
          res.writeHead(302, { location: '/loop' }).end();
        } else if (url.pathname.startsWith('/hop/')) {
          const n = Number(url.pathname.slice(5));
          res.writeHead(302, { location: n > 1 ? `/hop/${n - 1}` : '/final' }).end();
        } else if (code) {
          res.writeHead(Number(code), { location: 'final' }).end();
        } else {
          res.end(
            JSON.stringify({
              path: url.pathname,
              method: req.method,
              body: Buffer.concat(chunks).toString(),
              type: req.headers['content-type'] ?? null,
              auth: req.headers.authorization ?? null,
            }),
          );
        }
      });
    });
  }

  it('follows a relative Location and counts the redirects', async () => {
    const server = await redirector();
    const { response } = await client().request({ url: `${server.url}/hop/3`, timeoutMs: 2000 });
    expect(response?.status).toBe(200);
    expect(response?.redirects).toBe(3);
    expect(JSON.parse(String(response?.body)).path).toBe('/final');
  });

  it.each([
    [301, 'GET', '', null],
    [302, 'GET', '', null],
    [303, 'GET', '', null],
    [307, 'POST', '{"a":1}', 'application/json'],
    [308, 'POST', '{"a":1}', 'application/json'],
  ])('on %i turns a POST into %s with body %j', async (code, method, body, type) => {
    const server = await redirector();
    const { response } = await client().request({
      url: `${server.url}/start?code=${code}`,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
      timeoutMs: 2000,
    });
    expect(JSON.parse(String(response?.body))).toEqual({ path: '/final', method, body, type, auth: null });
  });

  it('fails with TOO_MANY_REDIRECTS past maxRedirects', async () => {
    const server = await redirector();
    const { error } = await client().request({ url: `${server.url}/loop`, timeoutMs: 2000, maxRedirects: 2 });
    expect(error).toEqual({
      code: 'TOO_MANY_REDIRECTS',
      message: `stopped after 2 redirects: ${server.url}/loop answered 302 to /loop`,
    });
  });

  it('with maxRedirects 0 returns the redirect itself', async () => {
    const server = await redirector();
    const { response } = await client().request({
      url: `${server.url}/loop`,
      timeoutMs: 2000,
      maxRedirects: 0,
    });
    expect(response?.status).toBe(302);
    expect(response?.headers.location).toBe('/loop');
  });

  it('does not carry authorization to another origin', async () => {
    const target = await redirector();
    const origin = await serve((_req, res) => res.writeHead(302, { location: `${target.url}/final` }).end());
    const { response } = await client().request({
      url: origin.url,
      headers: { Authorization: 'Bearer secret' },
      timeoutMs: 2000,
    });
    expect(JSON.parse(String(response?.body)).auth).toBeNull();
  });
});

describe('createHttpClient: error classification', () => {
  it('CONNECTION_REFUSED says who refused', async () => {
    const { error, response } = await client().request({ url: 'http://127.0.0.1:1/', timeoutMs: 2000 });
    expect(response).toBeUndefined();
    expect(error).toEqual({ code: 'CONNECTION_REFUSED', message: 'connection refused by 127.0.0.1:1' });
  });

  it('DNS for a name that never resolves (.invalid, RFC 6761)', async () => {
    const { error } = await client().request({ url: 'http://vigil-probe-test.invalid/', timeoutMs: 5000 });
    expect(error?.code).toBe('DNS');
    expect(error?.message).toMatch(/^could not resolve vigil-probe-test\.invalid \((ENOTFOUND|EAI_AGAIN)\)$/);
  });

  it('CONNECTION_RESET when the server drops the connection before answering', async () => {
    const server = await serve((req) => req.socket.destroy());
    const { error } = await client({ keepAlive: false }).request({ url: server.url, timeoutMs: 2000 });
    expect(error).toEqual({
      code: 'CONNECTION_RESET',
      message: `connection closed by 127.0.0.1:${server.port} before the response arrived (ECONNRESET)`,
    });
  });

  it('CONNECTION_RESET when the body ends before its content-length', async () => {
    const server = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('0123456789', () => setTimeout(() => res.socket?.destroy(), 20));
    });
    const { error } = await client().request({ url: server.url, timeoutMs: 2000 });
    expect(error?.code).toBe('CONNECTION_RESET');
    expect(error?.message).toMatch(
      new RegExp(`^connection closed by 127\\.0\\.0\\.1:${server.port} while sending the response body`),
    );
  });

  it('NETWORK for a reply that is not HTTP', async () => {
    const raw = net.createServer((socket) => socket.end('HELLO THERE\r\n\r\n'));
    const server = await track(raw, 'http');
    const { error } = await client().request({ url: server.url, timeoutMs: 2000 });
    expect(error?.code).toBe('NETWORK');
    expect(error?.message).toMatch(
      new RegExp(`^invalid HTTP response from 127\\.0\\.0\\.1:${server.port}: .*\\(HPE_`),
    );
  });

  it('throws only for programming errors', async () => {
    const c = client();
    await expect(c.request({ url: '/relative', timeoutMs: 1000 })).rejects.toThrow(VigilError);
    await expect(c.request({ url: 'ftp://127.0.0.1/', timeoutMs: 1000 })).rejects.toThrow(
      /unsupported URL scheme/,
    );
    await expect(c.request({ url: 'http://127.0.0.1:1/', timeoutMs: 0 })).rejects.toThrow(/timeoutMs/);
    await c.close();
    await expect(c.request({ url: 'http://127.0.0.1:1/', timeoutMs: 1000 })).rejects.toMatchObject({
      code: 'VIGIL_ERR_PROBE_CLIENT_CLOSED',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// TLS, against a throwaway CA made with the openssl CLI at test time.

describeWith(hasOpenssl, OPENSSL, 'createHttpClient: TLS', () => {
  let dir = '';
  let pki: Pki;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-tls-'));
    pki = makePki(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function serveTls(options: https.ServerOptions = {}): Promise<TestServer> {
    const server = https.createServer(
      { cert: pki.serverCert, key: pki.serverKey, ...options },
      (req, res) => {
        const socket = req.socket as import('node:tls').TLSSocket;
        res.end(JSON.stringify({ client: socket.getPeerCertificate().subject?.CN ?? null }));
      },
    );
    return track(server, 'https');
  }

  it('verifies the server against the given CA and times the handshake', async () => {
    const server = await serveTls();
    const c = client();
    const first = await c.request({ url: server.url, timeoutMs: 5000, tls: { ca: pki.ca } });
    expect(first.error).toBeUndefined();
    expect(first.response?.status).toBe(200);
    expect(first.phases.tlsMs).toBeGreaterThan(0);
    expect(first.phases.connectMs).toBeGreaterThan(0);
    const second = await c.request({ url: server.url, timeoutMs: 5000, tls: { ca: pki.ca } });
    expect(second.phases).toMatchObject({ dnsMs: 0, connectMs: 0, tlsMs: 0 });
    expect(server.connections).toBe(1);
  });

  it('fails with TLS when the CA is not given', async () => {
    const server = await serveTls();
    const { error } = await client().request({ url: server.url, timeoutMs: 5000 });
    expect(error?.code).toBe('TLS');
    expect(error?.message).toMatch(
      new RegExp(
        `^TLS handshake with 127\\.0\\.0\\.1:${server.port} failed: .*\\((UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)\\)$`,
      ),
    );
  });

  it('connects with insecureSkipVerify, and only when asked', async () => {
    const server = await serveTls();
    const { response } = await client().request({
      url: server.url,
      timeoutMs: 5000,
      tls: { insecureSkipVerify: true },
    });
    expect(response?.status).toBe(200);
  });

  it('checks the certificate against serverName', async () => {
    const server = await serveTls();
    const c = client();
    const ok = await c.request({
      url: server.url,
      timeoutMs: 5000,
      tls: { ca: pki.ca, serverName: 'vigil.test' },
    });
    expect(ok.response?.status).toBe(200);
    const wrong = await c.request({
      url: server.url,
      timeoutMs: 5000,
      tls: { ca: pki.ca, serverName: 'other.test' },
    });
    expect(wrong.error?.code).toBe('TLS');
    expect(wrong.error?.message).toBe(
      `TLS handshake with 127.0.0.1:${server.port} failed: Hostname/IP does not match certificate's altnames: ` +
        "Host: other.test. is not in the cert's altnames: IP Address:127.0.0.1, DNS:localhost, DNS:vigil.test (ERR_TLS_CERT_ALTNAME_INVALID)",
    );
  });

  it('presents a client certificate to a server that requires one (mutual TLS)', async () => {
    const server = await serveTls({ ca: pki.ca, requestCert: true, rejectUnauthorized: true });
    const c = client();
    const accepted = await c.request({
      url: server.url,
      timeoutMs: 5000,
      tls: { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey },
    });
    expect(accepted.error).toBeUndefined();
    expect(JSON.parse(String(accepted.response?.body))).toEqual({ client: 'vigil client' });
    const refused = await c.request({ url: server.url, timeoutMs: 5000, tls: { ca: pki.ca } });
    expect(refused.error?.code).toBe('TLS');
    expect(refused.error?.message).toMatch(
      new RegExp(
        `^TLS (error with|handshake with) 127\\.0\\.0\\.1:${server.port}.*certificate required \\(ERR_SSL_\\w+\\)$`,
      ),
    );
  });
});
