/**
 * Probes through a forward proxy: Debian's tinyproxy, started by the test, in front of local HTTP and
 * HTTPS servers. The proxy's log proves each request went through it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../fixtures/needs.js';
import { createHttpClient } from './http.js';
import { hasOpenssl, makePki, type Pki } from './test-pki.js';

const hasTinyproxy =
  spawnSync('tinyproxy', ['-v']).status === 0 || spawnSync('tinyproxy', ['-h']).status === 0;
const TOOLS = 'tinyproxy and openssl (Debian packages tinyproxy, openssl)';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address() as net.AddressInfo;
      server.close(() => resolve(address.port));
    });
  });
}

function listen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as net.AddressInfo).port)),
  );
}

describeWith(hasTinyproxy && hasOpenssl, TOOLS, 'probes through a forward proxy (tinyproxy)', () => {
  let dir: string;
  let pki: Pki;
  let proxy: ChildProcess;
  let proxyUrl: string;
  let logFile: string;
  let plain: http.Server;
  let secure: https.Server;
  let plainPort: number;
  let securePort: number;
  const savedEnv = { ...process.env };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-proxy-'));
    pki = makePki(dir);
    // The answer comes 40 ms after the request: processing must hold it, whatever the proxy adds.
    const handler: http.RequestListener = (req, res) => {
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ path: req.url, via: req.headers.via ?? null, host: req.headers.host }));
      }, 40);
    };
    plain = http.createServer(handler);
    secure = https.createServer({ cert: pki.serverCert, key: pki.serverKey }, handler);
    plainPort = await listen(plain);
    securePort = await listen(secure);

    const port = await freePort();
    logFile = join(dir, 'tinyproxy.log');
    writeFileSync(
      join(dir, 'tinyproxy.conf'),
      // No ConnectPort line: CONNECT to any port (the test's HTTPS server is not on 443).
      `Port ${port}\nListen 127.0.0.1\nTimeout 30\nLogFile "${logFile}"\nLogLevel Info\nMaxClients 20\nAllow 127.0.0.1\n`,
    );
    proxy = spawn('tinyproxy', ['-d', '-c', join(dir, 'tinyproxy.conf')], { stdio: 'ignore' });
    for (let i = 0; i < 200; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => {
          s.destroy();
          resolve(true);
        });
        s.once('error', () => resolve(false));
      });
      if (up) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    proxyUrl = `http://127.0.0.1:${port}`;
  });

  afterEach(() => {
    for (const key of Object.keys(process.env)) if (!(key in savedEnv)) delete process.env[key];
    Object.assign(process.env, savedEnv);
  });

  afterAll(async () => {
    proxy?.kill('SIGTERM');
    await Promise.all([new Promise((r) => plain?.close(r)), new Promise((r) => secure?.close(r))]);
    rmSync(dir, { recursive: true, force: true });
  });

  const proxyLog = () => readFileSync(logFile, 'utf8');

  it('sends an http request to the proxy in absolute form (per-request proxyUrl)', async () => {
    const client = createHttpClient({ proxyFromEnvironment: false });
    const url = `http://127.0.0.1:${plainPort}/v2/health/live?x=1`;
    const exchange = await client.request({ url, timeoutMs: 5000, proxyUrl });
    await client.close();
    expect(exchange.error).toBeUndefined();
    const seen = JSON.parse(exchange.response?.body.toString() ?? '{}');
    // tinyproxy says it was there; the server got the origin-form path and the target's Host.
    expect(seen).toMatchObject({ path: '/v2/health/live?x=1', host: `127.0.0.1:${plainPort}` });
    expect(seen.via).toMatch(/tinyproxy/);
    expect(proxyLog()).toContain(`GET ${url} HTTP/1.1`);
  });

  it('tunnels https with CONNECT, verifies the target’s certificate end to end, and keeps the phases', async () => {
    const client = createHttpClient({ proxyFromEnvironment: false });
    const exchange = await client.request({
      url: `https://127.0.0.1:${securePort}/v2/health/ready`,
      timeoutMs: 5000,
      proxyUrl,
      tls: { ca: pki.ca, serverName: 'vigil.test' },
    });
    await client.close();
    expect(exchange.error).toBeUndefined();
    const seen = JSON.parse(exchange.response?.body.toString() ?? '{}');
    // Through a tunnel the proxy sees nothing of the request: no Via.
    expect(seen).toMatchObject({ path: '/v2/health/ready', via: null });
    expect(proxyLog()).toContain(`CONNECT 127.0.0.1:${securePort} HTTP/1.1`);
    const { phases, durationMs } = exchange;
    // connect: to the proxy and the CONNECT round trip; tls: the handshake with the target inside.
    expect(phases.connectMs).toBeGreaterThan(0);
    expect(phases.tlsMs).toBeGreaterThan(0);
    // The server's 40 ms wait is processing (timers fire no earlier than asked).
    expect(phases.processingMs).toBeGreaterThanOrEqual(39);
    const sum = phases.dnsMs + phases.connectMs + phases.tlsMs + phases.processingMs + phases.transferMs;
    expect(sum).toBeLessThanOrEqual(durationMs + 0.001);
  });

  it('fails with the wrong certificate name through the tunnel too (TLS is end to end)', async () => {
    const client = createHttpClient({ proxyFromEnvironment: false });
    const exchange = await client.request({
      url: `https://127.0.0.1:${securePort}/`,
      timeoutMs: 5000,
      proxyUrl,
      tls: { ca: pki.ca, serverName: 'other.test' },
    });
    await client.close();
    expect(exchange.error?.code).toBe('TLS');
  });

  it('honours HTTP_PROXY and HTTPS_PROXY, and NO_PROXY exempts a host', async () => {
    process.env.HTTP_PROXY = proxyUrl;
    process.env.HTTPS_PROXY = proxyUrl;
    delete process.env.NO_PROXY;
    delete process.env.no_proxy;
    const viaEnv = createHttpClient();
    const proxied = await viaEnv.request({ url: `http://127.0.0.1:${plainPort}/env`, timeoutMs: 5000 });
    const tunnelled = await viaEnv.request({
      url: `https://127.0.0.1:${securePort}/env-tls`,
      timeoutMs: 5000,
      tls: { ca: pki.ca, serverName: 'vigil.test' },
    });
    await viaEnv.close();
    expect(JSON.parse(proxied.response?.body.toString() ?? '{}').via).toMatch(/tinyproxy/);
    expect(tunnelled.error).toBeUndefined();
    expect(proxyLog()).toContain(`GET http://127.0.0.1:${plainPort}/env HTTP/1.1`);

    process.env.NO_PROXY = '127.0.0.1';
    const exempt = createHttpClient();
    const direct = await exempt.request({ url: `http://127.0.0.1:${plainPort}/direct`, timeoutMs: 5000 });
    await exempt.close();
    expect(JSON.parse(direct.response?.body.toString() ?? '{}').via).toBeNull();
    expect(proxyLog()).not.toContain('/direct');
  });

  it('a per-request proxyUrl wins over the environment', async () => {
    process.env.HTTP_PROXY = 'http://127.0.0.1:9';
    const client = createHttpClient();
    const exchange = await client.request({
      url: `http://127.0.0.1:${plainPort}/own`,
      timeoutMs: 5000,
      proxyUrl,
    });
    await client.close();
    expect(exchange.error).toBeUndefined();
  });

  it('names the proxy when it cannot be reached, and the refusal when it denies CONNECT', async () => {
    const dead = await freePort();
    const client = createHttpClient({ proxyFromEnvironment: false });
    const refused = await client.request({
      url: `https://127.0.0.1:${securePort}/`,
      timeoutMs: 5000,
      proxyUrl: `http://127.0.0.1:${dead}`,
    });
    expect(refused.error).toEqual({
      code: 'CONNECTION_REFUSED',
      message: `connection refused by proxy 127.0.0.1:${dead}`,
    });
    // tinyproxy answers CONNECT to a closed port with an error status.
    const closed = await freePort();
    const denied = await client.request({ url: `https://127.0.0.1:${closed}/`, timeoutMs: 5000, proxyUrl });
    await client.close();
    expect(denied.error?.code).toBe('NETWORK');
    expect(denied.error?.message).toMatch(
      new RegExp(`^proxy 127\\.0\\.0\\.1:\\d+ refused CONNECT to 127\\.0\\.0\\.1:${closed}: 5\\d\\d`),
    );
  });
});
