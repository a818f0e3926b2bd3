import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeWith } from '../fixtures/needs.js';
import type { HttpExchange } from '../types.js';
import {
  type CallContext,
  classifyGrpcStatus,
  createGrpcClient,
  GRPC_STATUS_NAMES,
  type GrpcClient,
  type GrpcStatus,
  grpcHealthCheck,
  type HealthCheckResponse,
  loadGrpcService,
  SPECS_DIR,
} from './grpc.js';
import { type ModelInferResponse, oipGrpcMethods } from './oip-grpc.js';
import { hasOpenssl, makePki, OPENSSL, type Pki } from './test-pki.js';

const PACKAGE_ROOT = fileURLToPath(new URL('../..', import.meta.url));
const EXIT_FIXTURE = fileURLToPath(new URL('./fixtures/grpc-exit.ts', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Real gRPC servers on 127.0.0.1, built from the same protos.

const SERVER_LOAD = { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true };
const oipDefinition = grpc.loadPackageDefinition(
  protoLoader.loadSync(join(SPECS_DIR, 'open_inference_grpc.proto'), SERVER_LOAD),
) as unknown as { inference: { GRPCInferenceService: { service: grpc.ServiceDefinition } } };
const healthDefinition = grpc.loadPackageDefinition(
  protoLoader.loadSync(join(SPECS_DIR, 'grpc/health/v1/health.proto'), SERVER_LOAD),
) as unknown as { grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } } };

// biome-ignore lint/suspicious/noExplicitAny: handlers of any message type
type Handler = grpc.handleUnaryCall<any, any>;

interface TestGrpcServer {
  url: string;
  port: number;
  /** The client address of every call served: one distinct peer = one connection. */
  peers: string[];
  /** Metadata of every call served. */
  metadata: grpc.Metadata[];
  close(): void;
}

const closers: Array<() => void | Promise<void>> = [];
const clients: GrpcClient[] = [];

function client(options?: Parameters<typeof createGrpcClient>[0]): GrpcClient {
  const c = createGrpcClient(options);
  clients.push(c);
  return c;
}

afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  for (const close of closers.splice(0)) await close();
});

async function serve(
  handlers: Record<string, Handler>,
  options: { credentials?: grpc.ServerCredentials; health?: Record<string, Handler>; port?: number } = {},
): Promise<TestGrpcServer> {
  const server = new grpc.Server();
  const peers: string[] = [];
  const metadata: grpc.Metadata[] = [];
  const wrap =
    (handler: Handler): Handler =>
    (call, callback) => {
      peers.push(call.getPeer());
      metadata.push(call.metadata);
      handler(call, callback);
    };
  const wrapped = Object.fromEntries(Object.entries(handlers).map(([name, h]) => [name, wrap(h)]));
  server.addService(oipDefinition.inference.GRPCInferenceService.service, wrapped);
  if (options.health) {
    const health = Object.fromEntries(Object.entries(options.health).map(([name, h]) => [name, wrap(h)]));
    server.addService(healthDefinition.grpc.health.v1.Health.service, health);
  }
  const credentials = options.credentials ?? grpc.ServerCredentials.createInsecure();
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`127.0.0.1:${options.port ?? 0}`, credentials, (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const close = () => server.forceShutdown();
  closers.push(close);
  const scheme = options.credentials ? 'grpcs' : 'grpc';
  return { url: `${scheme}://127.0.0.1:${port}`, port, peers, metadata, close };
}

/** A TCP listener that is not a gRPC server; `onSocket` decides what it does with each connection. */
async function listenTcp(
  onSocket: (socket: net.Socket) => void,
): Promise<{ url: string; port: number; closed: Promise<void> }> {
  const sockets = new Set<net.Socket>();
  let markClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    markClosed = resolve;
  });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    // Read, so that the client's FIN is seen (a paused socket never reports its peer closing).
    socket.resume();
    socket.once('close', () => {
      sockets.delete(socket);
      markClosed();
    });
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  closers.push(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  );
  return { url: `grpc://127.0.0.1:${port}`, port, closed };
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const oip = oipGrpcMethods();
const live: Handler = (_call, callback) => callback(null, { live: true });

// ---------------------------------------------------------------------------------------------

describe('loadGrpcService', () => {
  it('loads the OIP service and the health service once, unary methods only', () => {
    const service = loadGrpcService('open_inference_grpc.proto', 'inference.GRPCInferenceService');
    expect(Object.keys(service).sort()).toEqual([
      'ModelInfer',
      'ModelMetadata',
      'ModelReady',
      'ServerLive',
      'ServerMetadata',
      'ServerReady',
    ]);
    expect(loadGrpcService('open_inference_grpc.proto', 'inference.GRPCInferenceService')).toBe(service);
    expect(oip.ModelInfer.path).toBe('/inference.GRPCInferenceService/ModelInfer');
    const health = loadGrpcService('grpc/health/v1/health.proto', 'grpc.health.v1.Health');
    // Watch streams: not a probe.
    expect(Object.keys(health).sort()).toEqual(['Check', 'List']);
    expect(grpcHealthCheck().path).toBe('/grpc.health.v1.Health/Check');
  });

  it('names a missing file or service with VIGIL_ERR_GRPC_PROTO', () => {
    expect(() => loadGrpcService('nope.proto', 'x.Y')).toThrow(
      expect.objectContaining({
        code: 'VIGIL_ERR_GRPC_PROTO',
        message: expect.stringMatching(/^cannot load nope\.proto/),
      }),
    );
    expect(() => loadGrpcService('open_inference_grpc.proto', 'inference.Nope')).toThrow(
      expect.objectContaining({
        code: 'VIGIL_ERR_GRPC_PROTO',
        message: 'open_inference_grpc.proto defines no service inference.Nope',
      }),
    );
  });
});

describe('createGrpcClient: answers', () => {
  it('returns an OK status and the message, with connect and processing phases', async () => {
    const server = await serve({ ServerLive: live });
    const c = client();
    const first = await c.unary({ url: server.url, method: oip.ServerLive, message: {}, timeoutMs: 5000 });
    expect(first.error).toBeUndefined();
    expect(first.status).toEqual({ code: 0, name: 'OK', details: 'OK' });
    expect(first.message).toEqual({ live: true });
    expect(first.reused).toBe(false);
    expect(first.phases.connectMs).toBeGreaterThan(0);
    expect(first.phases.processingMs).toBeGreaterThan(0);
    expect(first.phases).toMatchObject({ dnsMs: 0, tlsMs: 0 });
    expect(first.durationMs).toBeGreaterThanOrEqual(first.phases.connectMs + first.phases.processingMs);
    expect(first.request).toEqual({
      url: `${server.url}/inference.GRPCInferenceService/ServerLive`,
      method: '/inference.GRPCInferenceService/ServerLive',
      metadata: {},
    });
    expect(first.headers?.['content-type']).toBe('application/grpc+proto');
    expect(first.trailers).toBeDefined();
    // An adapter can hand a gRPC exchange on where an HttpExchange is expected (AdapterAnswer.exchange).
    const asHttp: HttpExchange = first;
    expect(asHttp.response).toBeUndefined();
  });

  it('reads proto3 defaults: live false arrives as false, not as a missing field', async () => {
    const server = await serve({ ServerLive: (_call, cb) => cb(null, { live: false }) });
    const { message } = await client().unary({
      url: server.url,
      method: oip.ServerLive,
      message: {},
      timeoutMs: 5000,
    });
    expect(message).toEqual({ live: false });
  });

  it('keeps raw_output_contents as bytes and 64-bit shapes as numbers', async () => {
    const raw = Buffer.from(new Float32Array([0.25, 0.75]).buffer);
    const server = await serve({
      ModelInfer: (call, cb) =>
        cb(null, {
          model_name: call.request.model_name,
          model_version: '3',
          outputs: [{ name: 'p', datatype: 'FP32', shape: [1, 2] }],
          raw_output_contents: [raw],
        }),
    });
    const { message } = await client().unary({
      url: server.url,
      method: oip.ModelInfer,
      message: { model_name: 'm', inputs: [] },
      timeoutMs: 5000,
    });
    const response = message as ModelInferResponse;
    expect(response.model_name).toBe('m');
    expect(response.outputs[0]?.shape).toEqual([1, 2]);
    expect(Buffer.isBuffer(response.raw_output_contents[0])).toBe(true);
    expect(response.raw_output_contents[0]?.equals(raw)).toBe(true);
  });

  it('calls grpc.health.v1.Health/Check: SERVING, NOT_SERVING, and NOT_FOUND for an unknown service', async () => {
    const statuses: Record<string, string> = { '': 'SERVING', 'credit-scorer': 'NOT_SERVING' };
    const server = await serve(
      {},
      {
        health: {
          Check: (call, cb) => {
            const status = statuses[call.request.service];
            if (status === undefined) cb({ code: grpc.status.NOT_FOUND, details: 'unknown service' });
            else cb(null, { status });
          },
        },
      },
    );
    const c = client();
    const check = (service: string) =>
      c.unary({ url: server.url, method: grpcHealthCheck(), message: { service }, timeoutMs: 5000 });
    expect((await check('')).message).toEqual<HealthCheckResponse>({ status: 'SERVING' });
    expect((await check('credit-scorer')).message).toEqual({ status: 'NOT_SERVING' });
    const unknown = await check('nope');
    expect(unknown.status.name).toBe('NOT_FOUND');
    expect(unknown.error).toEqual({ code: 'UNEXPECTED_STATUS', message: 'NOT_FOUND: unknown service' });
  });
});

describe('createGrpcClient: statuses other than OK', () => {
  // Every status a server can send, and the code it becomes.
  const table = GRPC_STATUS_NAMES.map((name, code) => ({ name, code })).filter(({ code }) => code !== 0);

  it.each(table)(
    'a server answering $name ($code) gives a coded error naming the status',
    async ({ name, code }) => {
      const server = await serve({ ServerReady: (_call, cb) => cb({ code, details: `injected ${name}` }) });
      const c = client();
      const exchange = await c.unary({
        url: server.url,
        method: oip.ServerReady,
        message: {},
        timeoutMs: 5000,
      });
      expect(exchange.status).toEqual({ code, name, details: `injected ${name}` });
      expect(exchange.message).toBeUndefined();
      // A server's own DEADLINE_EXCEEDED is a timeout, whoever's deadline it was.
      const expected = name === 'DEADLINE_EXCEEDED' ? 'TIMEOUT' : 'UNEXPECTED_STATUS';
      expect(exchange.error).toEqual({ code: expected, message: `${name}: injected ${name}` });
      // The server answered: the connection is fine and is kept.
      const again = await c.unary({ url: server.url, method: oip.ServerReady, message: {}, timeoutMs: 5000 });
      expect(again.reused).toBe(true);
      expect(new Set(server.peers).size).toBe(1);
    },
  );

  it('a method the server does not implement is UNIMPLEMENTED', async () => {
    const server = await serve({ ServerLive: live });
    const { error } = await client().unary({
      url: server.url,
      method: oip.ModelMetadata,
      message: { name: 'm' },
      timeoutMs: 5000,
    });
    expect(error).toEqual({
      code: 'UNEXPECTED_STATUS',
      message: 'UNIMPLEMENTED: The server does not implement the method ModelMetadata',
    });
  });
});

describe('createGrpcClient: an endpoint that is down, hangs or is not gRPC', () => {
  it('a server that never answers: TIMEOUT at the deadline, saying where the call was', async () => {
    const server = await serve({ ModelReady: () => {} });
    const exchange = await client().unary({
      url: server.url,
      method: oip.ModelReady,
      message: { name: 'm' },
      timeoutMs: 300,
    });
    expect(exchange.status.name).toBe('DEADLINE_EXCEEDED');
    expect(exchange.error).toEqual({
      code: 'TIMEOUT',
      message: `DEADLINE_EXCEEDED: timed out after 300 ms waiting for the response from 127.0.0.1:${server.port}`,
    });
    expect(exchange.durationMs).toBeGreaterThanOrEqual(290);
    expect(exchange.durationMs).toBeLessThan(5000);
  });

  it('connection refused: CONNECTION_REFUSED', async () => {
    const port = await freePort();
    const exchange = await client().unary({
      url: `grpc://127.0.0.1:${port}`,
      method: oip.ServerLive,
      message: {},
      timeoutMs: 5000,
    });
    expect(exchange.status.name).toBe('UNAVAILABLE');
    expect(exchange.error).toEqual({
      code: 'CONNECTION_REFUSED',
      message: `UNAVAILABLE: connection refused by 127.0.0.1:${port}`,
    });
    expect(exchange.phases).toEqual({ dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 });
  });

  it('after a refused connection the next call connects afresh (no reconnect backoff)', async () => {
    const port = await freePort();
    const c = client();
    const refused = await c.unary({
      url: `grpc://127.0.0.1:${port}`,
      method: oip.ServerLive,
      message: {},
      timeoutMs: 5000,
    });
    expect(refused.error?.code).toBe('CONNECTION_REFUSED');
    expect(c.channelCount()).toBe(0);
    const server = await serve({ ServerLive: live }, { port });
    const ok = await c.unary({ url: server.url, method: oip.ServerLive, message: {}, timeoutMs: 5000 });
    expect(ok.error).toBeUndefined();
    expect(ok.message).toEqual({ live: true });
  });

  it.each([
    ['closes', (s: net.Socket) => s.destroy()],
    ['resets', (s: net.Socket) => s.resetAndDestroy()],
  ])('a TCP listener that accepts and %s: CONNECTION_RESET', async (_what, onSocket) => {
    const tcp = await listenTcp(onSocket);
    const exchange = await client().unary({
      url: tcp.url,
      method: oip.ServerLive,
      message: {},
      timeoutMs: 5000,
    });
    expect(exchange.status.name).toBe('UNAVAILABLE');
    expect(exchange.error?.code).toBe('CONNECTION_RESET');
    expect(exchange.error?.message).toMatch(
      new RegExp(
        `^UNAVAILABLE: connection closed by 127\\.0\\.0\\.1:${tcp.port} before the HTTP/2 handshake completed \\(.+\\)$`,
      ),
    );
  });

  it('an HTTP/1.1 server (not HTTP/2): PROTOCOL', async () => {
    const server = http.createServer((_req, res) => res.end('hello'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    server.on('connection', (s) => closers.push(() => void s.destroy()));
    const { port } = server.address() as net.AddressInfo;
    const exchange = await client().unary({
      url: `grpc://127.0.0.1:${port}`,
      method: oip.ServerLive,
      message: {},
      timeoutMs: 5000,
    });
    expect(exchange.error).toEqual({
      code: 'PROTOCOL',
      message: `UNAVAILABLE: 127.0.0.1:${port} does not speak HTTP/2 (gRPC): Protocol error`,
    });
  });

  it('a listener that accepts and never speaks: TIMEOUT in the HTTP/2 handshake, and the socket is closed', async () => {
    const tcp = await listenTcp(() => {});
    const c = client();
    const exchange = await c.unary({ url: tcp.url, method: oip.ServerLive, message: {}, timeoutMs: 300 });
    expect(exchange.error).toEqual({
      code: 'TIMEOUT',
      message: `DEADLINE_EXCEEDED: timed out after 300 ms waiting for the HTTP/2 handshake (SETTINGS) from 127.0.0.1:${tcp.port}`,
    });
    // grpc-js would keep this attempt open for ever (grpc-node #2785); the client drops it.
    await tcp.closed;
    expect(c.channelCount()).toBe(0);
  });

  it.each([
    [
      'drops the connection',
      (stream: http2.ServerHttp2Stream) => stream.session?.destroy(),
      'CONNECTION_RESET',
      (port: number) =>
        `UNAVAILABLE: connection to 127.0.0.1:${port} dropped during the call (Connection dropped)`,
    ],
    [
      'resets the stream',
      (stream: http2.ServerHttp2Stream) => stream.close(http2.constants.NGHTTP2_INTERNAL_ERROR),
      'CONNECTION_RESET',
      (port: number) =>
        `INTERNAL: 127.0.0.1:${port} reset the call's stream (Received RST_STREAM with code 2 (Internal server error))`,
    ],
    [
      'cancels the stream',
      (stream: http2.ServerHttp2Stream) => stream.close(http2.constants.NGHTTP2_CANCEL),
      'CONNECTION_RESET',
      (port: number) => `CANCELLED: 127.0.0.1:${port} cancelled the call's stream (RST_STREAM CANCEL)`,
    ],
    [
      'answers 404 (an HTTP/2 server that is not gRPC)',
      (stream: http2.ServerHttp2Stream) => {
        stream.respond({ ':status': 404 });
        stream.end('not found');
      },
      'UNEXPECTED_STATUS',
      () => 'UNIMPLEMENTED: Received HTTP status code 404',
    ],
    [
      'answers 200 without a gRPC status',
      (stream: http2.ServerHttp2Stream) => {
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        stream.end();
      },
      'PROTOCOL',
      (port: number) =>
        `INTERNAL: 127.0.0.1:${port} ended the call without a gRPC status (Received RST_STREAM with code 0 (Call ended without gRPC status))`,
    ],
  ])('an HTTP/2 server that %s', async (_what, onStream, code, message) => {
    const server = http2.createServer();
    server.on('stream', (stream) => {
      stream.on('error', () => {});
      onStream(stream);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const sessions = new Set<http2.Http2Session>();
    server.on('session', (session) => sessions.add(session));
    closers.push(
      () =>
        new Promise<void>((resolve) => {
          for (const session of sessions) session.destroy();
          server.close(() => resolve());
        }),
    );
    const { port } = server.address() as net.AddressInfo;
    const exchange = await client().unary({
      url: `grpc://127.0.0.1:${port}`,
      method: oip.ServerReady,
      message: {},
      timeoutMs: 5000,
    });
    expect(exchange.error).toEqual({ code, message: message(port) });
  });

  it('DNS for a name that never resolves (.invalid, RFC 6761)', async () => {
    const exchange = await client().unary({
      url: 'grpc://vigil-probe-test.invalid:50051',
      method: oip.ServerLive,
      message: {},
      timeoutMs: 5000,
    });
    expect(exchange.error).toEqual({
      code: 'DNS',
      message: 'UNAVAILABLE: could not resolve vigil-probe-test.invalid',
    });
  });

  it('a response message over maxBodyBytes: BODY_TOO_LARGE, and the connection stays', async () => {
    const server = await serve({
      ServerLive: live,
      ModelInfer: (_call, cb) =>
        cb(null, {
          outputs: [{ name: 'o', datatype: 'UINT8', shape: [4000] }],
          raw_output_contents: [Buffer.alloc(4000)],
        }),
    });
    const c = client();
    const big = await c.unary({
      url: server.url,
      method: oip.ModelInfer,
      message: { model_name: 'm', inputs: [] },
      timeoutMs: 5000,
      maxBodyBytes: 1000,
    });
    expect(big.status.name).toBe('RESOURCE_EXHAUSTED');
    expect(big.error?.code).toBe('BODY_TOO_LARGE');
    expect(big.error?.message).toMatch(
      new RegExp(
        `^RESOURCE_EXHAUSTED: response message from 127\\.0\\.0\\.1:${server.port} exceeds the 1000-byte cap \\(40\\d\\d bytes\\); reading stopped$`,
      ),
    );
    const small = await c.unary({
      url: server.url,
      method: oip.ServerLive,
      message: {},
      timeoutMs: 5000,
      maxBodyBytes: 1000,
    });
    expect(small.error).toBeUndefined();
    expect(small.reused).toBe(true);
    // Within the default cap (1 MiB) the same answer is fine.
    const fits = await c.unary({
      url: server.url,
      method: oip.ModelInfer,
      message: { model_name: 'm', inputs: [] },
      timeoutMs: 5000,
    });
    expect(fits.error).toBeUndefined();
  });

  it('an AbortSignal cancels: TIMEOUT for a TimeoutError reason, NETWORK otherwise', async () => {
    const server = await serve({ ModelReady: () => {} });
    const c = client();
    const timedOut = await c.unary({
      url: server.url,
      method: oip.ModelReady,
      message: { name: 'm' },
      timeoutMs: 10_000,
      signal: AbortSignal.timeout(100),
    });
    expect(timedOut.error).toEqual({
      code: 'TIMEOUT',
      message: `CANCELLED: timed out (aborted by the caller) waiting for the response from 127.0.0.1:${server.port}`,
    });
    const controller = new AbortController();
    const pending = c.unary({
      url: server.url,
      method: oip.ModelReady,
      message: { name: 'm' },
      timeoutMs: 10_000,
      signal: controller.signal,
    });
    while (server.peers.length < 2) await new Promise((r) => setImmediate(r));
    controller.abort(new Error('shutting down'));
    expect((await pending).error).toEqual({
      code: 'NETWORK',
      message: `CANCELLED: aborted by the caller waiting for the response from 127.0.0.1:${server.port}: shutting down`,
    });
    const already = await c.unary({
      url: server.url,
      method: oip.ModelReady,
      message: { name: 'm' },
      timeoutMs: 1000,
      signal: AbortSignal.abort(),
    });
    expect(already.error?.code).toBe('NETWORK');
  });
});

describe('createGrpcClient: channels', () => {
  it('one connection carries many calls, sequential and concurrent', async () => {
    const server = await serve({ ServerLive: live });
    const c = client();
    for (let i = 0; i < 5; i++) {
      const { error } = await c.unary({
        url: server.url,
        method: oip.ServerLive,
        message: {},
        timeoutMs: 5000,
      });
      expect(error).toBeUndefined();
    }
    const burst = await Promise.all(
      Array.from({ length: 20 }, () =>
        c.unary({ url: server.url, method: oip.ServerLive, message: {}, timeoutMs: 5000 }),
      ),
    );
    expect(burst.every((e) => e.error === undefined && e.reused)).toBe(true);
    expect(burst.every((e) => e.phases.connectMs === 0)).toBe(true);
    expect(server.peers).toHaveLength(25);
    expect(new Set(server.peers).size).toBe(1);
    expect(c.channelCount()).toBe(1);
  });

  it('one channel per address and message cap; the least recently used closed beyond maxChannels', async () => {
    const a = await serve({ ServerLive: live });
    const b = await serve({ ServerLive: live });
    const c = client({ maxChannels: 2 });
    const call = (url: string, maxBodyBytes?: number) =>
      c.unary({
        url,
        method: oip.ServerLive,
        message: {},
        timeoutMs: 5000,
        ...(maxBodyBytes ? { maxBodyBytes } : {}),
      });
    await call(a.url);
    await call(b.url);
    expect(c.channelCount()).toBe(2);
    // a used last: b is now the least recently used.
    expect((await call(a.url)).reused).toBe(true);
    await call(a.url, 2048);
    expect(c.channelCount()).toBe(2);
    // b was the least recently used: its channel went, a's first channel stayed.
    expect((await call(a.url)).reused).toBe(true);
    expect((await call(b.url)).reused).toBe(false);
    expect(new Set(b.peers).size).toBe(2);
  });

  it('close() ends every channel; later calls reject', async () => {
    const server = await serve({ ServerLive: live });
    const c = createGrpcClient();
    await c.unary({ url: server.url, method: oip.ServerLive, message: {}, timeoutMs: 5000 });
    await c.close();
    expect(c.channelCount()).toBe(0);
    await expect(
      c.unary({ url: server.url, method: oip.ServerLive, message: {}, timeoutMs: 5000 }),
    ).rejects.toMatchObject({ code: 'VIGIL_ERR_PROBE_CLIENT_CLOSED' });
  });

  it('a process that closes its client exits on its own, even after a listener that never spoke', async () => {
    const silent = await listenTcp(() => {});
    const hung = await serve({ ServerLive: () => {} });
    const ok = await serve({ ServerLive: live });
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', EXIT_FIXTURE, silent.url, hung.url, ok.url],
      { cwd: PACKAGE_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    // Killed only if it does not exit by itself; a kill shows as a signal, and fails the test. The
    // answering call may take up to 30 s on a loaded machine (the fixture's header), the start as long.
    const guard = setTimeout(() => child.kill('SIGKILL'), 150_000);
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    clearTimeout(guard);
    expect(stderr).toBe('');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(stdout.trim()).toBe('TIMEOUT TIMEOUT OK');
  }, 180_000);

  it('rejects programming errors: scheme, path, timeout, metadata names', async () => {
    const c = client();
    const base = { method: oip.ServerLive, message: {}, timeoutMs: 1000 };
    await expect(c.unary({ ...base, url: 'ftp://127.0.0.1:1' })).rejects.toMatchObject({
      code: 'VIGIL_ERR_PROBE_INVALID_REQUEST',
      message: 'unsupported URL scheme ftp: for gRPC in ftp://127.0.0.1:1',
    });
    await expect(c.unary({ ...base, url: 'grpc://127.0.0.1:1/v2' })).rejects.toMatchObject({
      message: 'a gRPC URL has no path: grpc://127.0.0.1:1/v2',
    });
    await expect(c.unary({ ...base, url: 'grpc://127.0.0.1:1', timeoutMs: 0 })).rejects.toMatchObject({
      code: 'VIGIL_ERR_PROBE_INVALID_REQUEST',
    });
    await expect(
      c.unary({ ...base, url: 'grpc://127.0.0.1:1', metadata: { 'bad name': 'x' } }),
    ).rejects.toMatchObject({
      message: 'invalid gRPC metadata name "bad name"',
    });
  });
});

describe('createGrpcClient: metadata', () => {
  it('sends metadata and credentials, and redacts credentials in what it keeps', async () => {
    const server = await serve({
      ServerLive: (call, cb) => {
        call.sendMetadata(new grpc.Metadata());
        const trailer = new grpc.Metadata();
        trailer.set('x-api-key', 'server-side-secret');
        trailer.set('x-served-by', 'replica-1');
        cb(null, { live: true }, trailer);
      },
    });
    const c = client();
    const exchange = await c.unary({
      url: server.url,
      method: oip.ServerLive,
      message: {},
      timeoutMs: 5000,
      metadata: { 'X-Team': 'ml-platform', 'x-trace-bin': Buffer.from([1, 2, 3]).toString('base64') },
      auth: { bearer: 's3cret-token' },
    });
    const sent = server.metadata[0] as grpc.Metadata;
    expect(sent.get('authorization')).toEqual(['Bearer s3cret-token']);
    expect(sent.get('x-team')).toEqual(['ml-platform']);
    expect(sent.get('x-trace-bin')).toEqual([Buffer.from([1, 2, 3])]);
    expect(exchange.request.metadata).toEqual({
      'x-team': 'ml-platform',
      'x-trace-bin': 'AQID',
      authorization: '[REDACTED]',
    });
    expect(JSON.stringify(exchange)).not.toContain('s3cret-token');
    expect(exchange.trailers?.['x-api-key']).toBe('[REDACTED]');
    expect(exchange.trailers?.['x-served-by']).toBe('replica-1');
    expect(JSON.stringify(exchange)).not.toContain('server-side-secret');

    await c.unary({
      url: server.url,
      method: oip.ServerLive,
      message: {},
      timeoutMs: 5000,
      auth: { basic: { username: 'probe', password: 'pa55' } },
    });
    expect((server.metadata[1] as grpc.Metadata).get('authorization')).toEqual([
      `Basic ${Buffer.from('probe:pa55').toString('base64')}`,
    ]);
  });
});

// ---------------------------------------------------------------------------------------------
// TLS and mTLS, against a throwaway CA made with the openssl CLI at test time.

describeWith(hasOpenssl, OPENSSL, 'createGrpcClient: TLS', () => {
  let dir = '';
  let pki: Pki;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-grpc-tls-'));
    pki = makePki(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const whoAmI: Handler = (call, cb) => {
    const peer = call.getAuthContext().sslPeerCertificate;
    cb(null, { name: peer?.subject?.CN ?? 'anonymous', version: '1', extensions: [] });
  };
  const serveTls = (requireClientCert: boolean) =>
    serve(
      { ServerMetadata: whoAmI },
      {
        credentials: grpc.ServerCredentials.createSsl(
          requireClientCert ? pki.ca : null,
          [{ cert_chain: pki.serverCert, private_key: pki.serverKey }],
          requireClientCert,
        ),
      },
    );
  const metadataCall = (c: GrpcClient, url: string, tls?: Parameters<GrpcClient['unary']>[0]['tls']) =>
    c.unary({ url, method: oip.ServerMetadata, message: {}, timeoutMs: 5000, ...(tls ? { tls } : {}) });

  it('verifies the server against the given CA, times the handshake and reuses the connection', async () => {
    const server = await serveTls(false);
    const c = client();
    const first = await metadataCall(c, server.url, { ca: pki.ca });
    expect(first.error).toBeUndefined();
    expect(first.message).toMatchObject({ name: 'anonymous' });
    expect(first.phases.tlsMs).toBeGreaterThan(0);
    expect(first.phases.connectMs).toBeGreaterThan(0);
    const second = await metadataCall(c, server.url, { ca: pki.ca });
    expect(second.phases).toMatchObject({ connectMs: 0, tlsMs: 0 });
    expect(new Set(server.peers).size).toBe(1);
  });

  it('fails with TLS when the CA is not given', async () => {
    const server = await serveTls(false);
    const { error } = await metadataCall(client(), server.url);
    // Node.js 24 adds a hint to OpenSSL's reason; it is passed on as Node.js words it.
    const hint = '; if the root CA is installed locally, try running Node.js with --use-system-ca';
    const reason = `UNAVAILABLE: TLS handshake with 127.0.0.1:${server.port} failed: unable to verify the first certificate`;
    expect(error?.code).toBe('TLS');
    expect([reason, reason + hint]).toContain(error?.message);
  });

  it('checks the name: serverName must be in the certificate', async () => {
    const server = await serveTls(false);
    const c = client();
    const ok = await metadataCall(c, server.url, { ca: pki.ca, serverName: 'vigil.test' });
    expect(ok.error).toBeUndefined();
    const wrong = await metadataCall(c, server.url, { ca: pki.ca, serverName: 'other.test' });
    expect(wrong.error?.code).toBe('TLS');
    expect(wrong.error?.message).toContain("Host: other.test. is not in the cert's altnames");
  });

  it('skips verification only with insecureSkipVerify', async () => {
    const server = await serveTls(false);
    const { error } = await metadataCall(client(), server.url, { insecureSkipVerify: true });
    expect(error).toBeUndefined();
  });

  it('mTLS: without a client certificate the handshake fails; with one the server sees it', async () => {
    const server = await serveTls(true);
    const c = client();
    const without = await metadataCall(c, server.url, { ca: pki.ca });
    expect(without.error?.code).toBe('TLS');
    expect(without.error?.message).toMatch(
      new RegExp(
        `^UNAVAILABLE: TLS handshake with 127\\.0\\.0\\.1:${server.port} failed: .*certificate required`,
      ),
    );
    const withCert = await metadataCall(c, server.url, {
      ca: pki.ca,
      cert: pki.clientCert,
      key: pki.clientKey,
    });
    expect(withCert.error).toBeUndefined();
    expect(withCert.message).toMatchObject({ name: 'vigil client' });
  });

  it('different TLS identities get different channels', async () => {
    const server = await serveTls(true);
    const c = client();
    await metadataCall(c, server.url, { ca: pki.ca, cert: pki.clientCert, key: pki.clientKey });
    await metadataCall(c, server.url, { ca: pki.ca });
    expect(c.channelCount()).toBe(1);
    await metadataCall(c, server.url, {
      ca: pki.ca,
      cert: pki.clientCert,
      key: pki.clientKey,
      serverName: 'vigil.test',
    });
    expect(c.channelCount()).toBe(2);
  });

  it('unusable TLS material is a TLS error, not an exception', async () => {
    const server = await serveTls(false);
    const { error } = await metadataCall(client(), server.url, { ca: pki.ca, key: Buffer.from('not a key') });
    expect(error?.code).toBe('TLS');
    expect(error?.message).toMatch(
      new RegExp(`^UNAVAILABLE: cannot use the TLS material for 127\\.0\\.0\\.1:${server.port}: `),
    );
  });

  it('plaintext to a TLS port is refused by the server: CONNECTION_RESET', async () => {
    const server = await serveTls(false);
    const { error } = await metadataCall(client(), `grpc://127.0.0.1:${server.port}`);
    expect(error?.code).toBe('CONNECTION_RESET');
  });
});

// ---------------------------------------------------------------------------------------------

describe('classifyGrpcStatus', () => {
  const ctx: CallContext = {
    authority: '10.0.0.5:8001',
    stage: 'response',
    timeoutMs: 2000,
    elapsedMs: 12,
    maxBodyBytes: 1_048_576,
  };
  const status = (name: (typeof GRPC_STATUS_NAMES)[number], details: string): GrpcStatus => ({
    code: GRPC_STATUS_NAMES.indexOf(name),
    name,
    details,
  });
  const cases: Array<[string, GrpcStatus, Partial<CallContext>, string, string, boolean]> = [
    [
      'a local deadline while connecting',
      status('DEADLINE_EXCEEDED', 'Deadline exceeded after 2.001s,Waiting for LB pick'),
      { stage: 'connect', elapsedMs: 2001 },
      'TIMEOUT',
      'DEADLINE_EXCEEDED: timed out after 2000 ms connecting to 10.0.0.5:8001',
      true,
    ],
    [
      'a local deadline in the TLS handshake',
      status('DEADLINE_EXCEEDED', 'Deadline exceeded after 2.001s'),
      { stage: 'tls', elapsedMs: 2001 },
      'TIMEOUT',
      'DEADLINE_EXCEEDED: timed out after 2000 ms in the TLS handshake with 10.0.0.5:8001',
      true,
    ],
    [
      'a local deadline with the headers in',
      status('DEADLINE_EXCEEDED', 'Deadline exceeded after 2.0s'),
      { stage: 'message', elapsedMs: 2000 },
      'TIMEOUT',
      'DEADLINE_EXCEEDED: timed out after 2000 ms waiting for the response message from 10.0.0.5:8001',
      true,
    ],
    [
      "the server's own deadline",
      status('DEADLINE_EXCEEDED', 'model took too long'),
      {},
      'TIMEOUT',
      'DEADLINE_EXCEEDED: model took too long',
      false,
    ],
    [
      'refused',
      status(
        'UNAVAILABLE',
        'No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.5:8001. Resolution note: ',
      ),
      { stage: 'connect' },
      'CONNECTION_REFUSED',
      'UNAVAILABLE: connection refused by 10.0.0.5:8001',
      true,
    ],
    [
      'name resolution',
      status('UNAVAILABLE', 'Name resolution failed for target dns:triton.internal:8001'),
      { stage: 'connect', authority: 'triton.internal:8001' },
      'DNS',
      'UNAVAILABLE: could not resolve triton.internal',
      true,
    ],
    [
      'an OpenSSL alert',
      status(
        'UNAVAILABLE',
        'No connection established. Last error: 80AC4102D17F0000:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert certificate required:../deps/openssl/openssl/ssl/record/rec_layer_s3.c:1601:SSL alert number 116\n (2026-12-02T02:04:07.844Z). Resolution note: ',
      ),
      { stage: 'connect' },
      'TLS',
      'UNAVAILABLE: TLS handshake with 10.0.0.5:8001 failed: tlsv13 alert certificate required',
      true,
    ],
    [
      'a certificate name mismatch',
      status(
        'UNAVAILABLE',
        "No connection established. Last error: Error [ERR_TLS_CERT_ALTNAME_INVALID]: Hostname/IP does not match certificate's altnames: Host: a. is not in the cert's altnames: DNS:b. Resolution note: ",
      ),
      { stage: 'connect' },
      'TLS',
      "UNAVAILABLE: TLS handshake with 10.0.0.5:8001 failed: Hostname/IP does not match certificate's altnames: Host: a. is not in the cert's altnames: DNS:b",
      true,
    ],
    [
      'not HTTP/2',
      status(
        'UNAVAILABLE',
        'No connection established. Last error: Protocol error (2026-12-02T01:52:17.839Z). Resolution note: ',
      ),
      { stage: 'connect' },
      'PROTOCOL',
      'UNAVAILABLE: 10.0.0.5:8001 does not speak HTTP/2 (gRPC): Protocol error',
      true,
    ],
    [
      'closed before the handshake',
      status(
        'UNAVAILABLE',
        'No connection established. Last error: Failed to connect (2026-12-02T01:52:16.798Z). Resolution note: ',
      ),
      { stage: 'http2' },
      'CONNECTION_RESET',
      'UNAVAILABLE: connection closed by 10.0.0.5:8001 before the HTTP/2 handshake completed (Failed to connect)',
      true,
    ],
    [
      'dropped mid-call',
      status('UNAVAILABLE', 'Connection dropped'),
      {},
      'CONNECTION_RESET',
      'UNAVAILABLE: connection to 10.0.0.5:8001 dropped during the call (Connection dropped)',
      true,
    ],
    [
      'a stream reset',
      status('INTERNAL', 'Received RST_STREAM with code 2 (Internal server error)'),
      {},
      'CONNECTION_RESET',
      "INTERNAL: 10.0.0.5:8001 reset the call's stream (Received RST_STREAM with code 2 (Internal server error))",
      true,
    ],
    [
      'over the cap',
      status('RESOURCE_EXHAUSTED', 'Received message larger than max (2000034 vs 1048576)'),
      {},
      'BODY_TOO_LARGE',
      'RESOURCE_EXHAUSTED: response message from 10.0.0.5:8001 exceeds the 1048576-byte cap (2000034 bytes); reading stopped',
      false,
    ],
    [
      "the server's own RESOURCE_EXHAUSTED",
      status('RESOURCE_EXHAUSTED', 'queue full'),
      {},
      'UNEXPECTED_STATUS',
      'RESOURCE_EXHAUSTED: queue full',
      false,
    ],
    [
      'an unparsable message',
      status('INTERNAL', 'Response message parsing error: index out of range'),
      {},
      'PROTOCOL',
      'INTERNAL: 10.0.0.5:8001 answered outside the gRPC protocol: Response message parsing error: index out of range',
      false,
    ],
    [
      'an HTTP error from a proxy',
      status('UNAVAILABLE', 'Received HTTP status code 503'),
      {},
      'UNEXPECTED_STATUS',
      'UNAVAILABLE: Received HTTP status code 503',
      false,
    ],
    [
      "the server's UNAVAILABLE",
      status('UNAVAILABLE', 'model credit-scorer is loading'),
      {},
      'UNEXPECTED_STATUS',
      'UNAVAILABLE: model credit-scorer is loading',
      false,
    ],
    [
      'a status without details',
      status('INTERNAL', ''),
      {},
      'UNEXPECTED_STATUS',
      'INTERNAL: no details',
      false,
    ],
    [
      'a local failure before any connection',
      status('UNAVAILABLE', 'Channel closed before call started'),
      { stage: 'connect' },
      'NETWORK',
      'UNAVAILABLE: no answer from 10.0.0.5:8001: Channel closed before call started',
      true,
    ],
  ];

  it.each(cases)('%s', (_name, given, context, code, message, connectionTrouble) => {
    expect(classifyGrpcStatus(given, { ...ctx, ...context })).toEqual({ code, message, connectionTrouble });
  });

  it('OK is no error', () => {
    expect(classifyGrpcStatus(status('OK', 'OK'), ctx)).toBeUndefined();
  });
});
