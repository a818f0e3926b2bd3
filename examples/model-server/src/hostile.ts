/**
 * Hostile endpoints on loopback: one real server per way an endpoint can misbehave below any model
 * protocol (issue #14's hostile-endpoint matrix), and a healthy one to probe beside them. Each hostile
 * endpoint names the stable probe error code (Vigil's `ProbeErrorCode`) that a plain-HTTP probe of it
 * must fail with. Used by the hub's matrix test (`packages/vigil/src/hub/hostile.test.ts`) and the
 * benchmark `bench/src/hostile.ts`, so both probe the same endpoints.
 */
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { type AddressInfo, createServer as createNetServer, type Server, type Socket } from 'node:net';

/** The hostile behaviours, one endpoint each. */
export type HostileKind =
  | 'hang'
  | 'trickle'
  | 'huge-body'
  | 'invalid-json'
  | 'nan'
  | 'reset'
  | 'redirect-loop'
  | 'deep-nesting'
  | 'header-flood'
  | 'tls'
  | 'dns';

/** One hostile endpoint: where it is, what it does, and the code a probe of it must fail with. */
export interface HostileEndpoint {
  kind: HostileKind;
  /** The URL to probe (`GET /`). */
  url: string;
  /** Vigil's probe error code for it (`ProbeErrorCode` in vigil-ml's `types.ts`). */
  code: string;
  /** What the endpoint does, in a few words (test names, the benchmark's table). */
  behaviour: string;
}

/** Options of {@link createHostileEndpoints}. */
export interface HostileOptions {
  /**
   * A certificate and key for the `tls` endpoint: an HTTPS server whose certificate the prober does
   * not trust (the caller does not give it the CA). Omitted: no `tls` endpoint (making a certificate
   * needs the openssl CLI, which the caller may lack).
   */
  tls?: { cert: Buffer | string; key: Buffer | string };
  /** Bytes the `huge-body` endpoint streams at most per request. Default 1 GiB (the 1 GB body). */
  hugeBodyBytes?: number;
  /** The `trickle` endpoint writes one body byte this often, in ms. Default 100. */
  trickleEveryMs?: number;
  /** Nesting depth of the `deep-nesting` body (`[[[…]]]`). Default 100,000 (the stack overflow). */
  nestingDepth?: number;
  /** Headers the `header-flood` endpoint sends (each about 40 bytes). Default 10,000 (~400 KB). */
  floodHeaders?: number;
}

/** The running endpoints. */
export interface HostileEndpoints {
  /** Every hostile endpoint, in the order of {@link HostileKind} (`tls` only when a certificate was given). */
  endpoints: HostileEndpoint[];
  /** A healthy endpoint: `200 {"ok":true}` on any path. */
  healthyUrl: string;
  /** Bytes the `huge-body` and `trickle` endpoints have written so far (the prober stops reading). */
  bytesWritten(): number;
  /** Closes every server and connection. */
  close(): Promise<void>;
}

/** A name that never resolves: the `.invalid` top-level domain is reserved for that (RFC 6761 §6.4). */
const UNRESOLVABLE = 'vigil-hostile.invalid';

/**
 * Starts the hostile endpoints and a healthy one on 127.0.0.1 (ephemeral ports).
 *
 * @example
 * const hostile = await createHostileEndpoints();
 * for (const e of hostile.endpoints) console.log(e.kind, e.url, 'must fail with', e.code);
 * await hostile.close();
 */
export async function createHostileEndpoints(options: HostileOptions = {}): Promise<HostileEndpoints> {
  const hugeBodyBytes = options.hugeBodyBytes ?? 2 ** 30;
  const trickleEveryMs = options.trickleEveryMs ?? 100;
  const nestingDepth = options.nestingDepth ?? 100_000;
  const floodHeaders = options.floodHeaders ?? 10_000;
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  let written = 0;

  async function listen(server: Server, scheme: 'http' | 'https'): Promise<string> {
    server.on('connection', (socket: Socket) => {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
    });
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `${scheme}://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  }
  const http = (handler: Parameters<typeof createHttpServer>[1]): Promise<string> =>
    listen(createHttpServer(handler) as HttpServer, 'http');
  const json = (body: string) =>
    http((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(body));

  const endpoints: HostileEndpoint[] = [];
  const add = (kind: HostileKind, url: string, code: string, behaviour: string) =>
    endpoints.push({ kind, url, code, behaviour });

  add('hang', await http(() => {}), 'TIMEOUT', 'accepts the request, never answers');
  add(
    'trickle',
    await http((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => {
        written++;
        res.write('.');
      }, trickleEveryMs);
      timers.add(timer);
      res.on('close', () => {
        clearInterval(timer);
        timers.delete(timer);
      });
    }),
    'TIMEOUT',
    `one body byte every ${trickleEveryMs} ms`,
  );
  const chunk = Buffer.alloc(64 * 1024, 'x');
  add(
    'huge-body',
    await http((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      let sent = 0;
      let closed = false;
      res.on('close', () => {
        closed = true;
      });
      // Writes while the socket takes them, waits for `drain` otherwise: memory stays at one chunk.
      const pump = () => {
        while (!closed && sent < hugeBodyBytes) {
          sent += chunk.length;
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        if (!closed) res.end();
      };
      pump();
    }),
    'BODY_TOO_LARGE',
    `${(hugeBodyBytes / 2 ** 20).toFixed(0)} MiB streamed without a length`,
  );
  add('invalid-json', await json('{"ok": tru'), 'INVALID_JSON', 'a JSON body cut short');
  add('nan', await json('{"score": NaN, "label": "ok"}'), 'NON_FINITE_NUMBER', 'a bare NaN in JSON');
  add(
    'reset',
    await http((req) => req.socket.destroy()),
    'CONNECTION_RESET',
    'drops the connection on each request',
  );
  add(
    'redirect-loop',
    await http((_req, res) => res.writeHead(302, { location: '/' }).end()),
    'TOO_MANY_REDIRECTS',
    'redirects to itself',
  );
  add(
    'deep-nesting',
    await json(`${'['.repeat(nestingDepth)}${']'.repeat(nestingDepth)}`),
    'TOO_DEEP',
    `JSON nested ${nestingDepth.toLocaleString('en')} levels`,
  );
  // Below HTTP's parser: a raw socket writes a status line and more header bytes than any client
  // reads (Node's llhttp stops at 16 KiB by default).
  const floodHead = Buffer.from(
    `HTTP/1.1 200 OK\r\n${Array.from({ length: floodHeaders }, (_, i) => `x-flood-${i}: ${'f'.repeat(24)}\r\n`).join('')}\r\n`,
  );
  add(
    'header-flood',
    await listen(
      createNetServer((socket) => {
        socket.once('data', () => socket.end(floodHead));
        socket.on('error', () => {});
      }),
      'http',
    ),
    // An answer that is not HTTP is a socket-level failure to Vigil's client ("invalid HTTP response").
    'NETWORK',
    `${floodHeaders.toLocaleString('en')} response headers (${(floodHead.length / 1024).toFixed(0)} KiB)`,
  );
  if (options.tls !== undefined) {
    const server = createHttpsServer({ cert: options.tls.cert, key: options.tls.key }, (_req, res) =>
      res.end('{"ok":true}'),
    );
    // A failed handshake is the client's to report; the server only sees its socket close.
    server.on('tlsClientError', () => {});
    add('tls', await listen(server, 'https'), 'TLS', 'a certificate the prober does not trust');
  }
  add('dns', `http://${UNRESOLVABLE}/`, 'DNS', `a name that never resolves (${UNRESOLVABLE})`);

  const healthyUrl = await json('{"ok":true}');
  return {
    endpoints,
    healthyUrl,
    bytesWritten: () => written,
    close: async () => {
      for (const timer of timers) clearInterval(timer);
      timers.clear();
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    },
  };
}
