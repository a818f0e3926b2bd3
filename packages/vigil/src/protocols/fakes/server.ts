/**
 * The socket side of the fake serving APIs: a node:http server on 127.0.0.1 (port 0 unless given) that
 * records requests, hands each to a handler with its body read, and can hang, stop and restart.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as the fake received it. */
export interface RecordedRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  /** Lower-case names. */
  headers: http.IncomingHttpHeaders;
  body: string;
}

/** What a handler answers: a status with a JSON value, raw text, or nothing (the request hangs). */
export type FakeReply =
  | { status: number; json: unknown; headers?: Record<string, string> }
  | { status: number; text: string; contentType?: string; headers?: Record<string, string> }
  | { hang: true };

/** A fake's route handler; undefined answers 404 `{"error": "no route …"}`. */
export type FakeHandler = (request: RecordedRequest) => FakeReply | undefined;

/** A running fake server. */
export interface FakeServer {
  /** `http://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Every request received, oldest first. */
  readonly requests: RecordedRequest[];
  /** Closes the listener (connections are refused) but keeps the port for {@link FakeServer.listen}. */
  stop(): Promise<void>;
  /** Listens again on the same port after {@link FakeServer.stop}. */
  listen(): Promise<void>;
  /** Closes the listener and destroys every connection, hung requests included. */
  close(): Promise<void>;
}

/** `{"a": NaN}`-style text: JSON with bare non-finite tokens, as Python's json.dumps writes by default. */
export function withNonFinite(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === 'number' && !Number.isFinite(v)) return `@@${v}@@`;
    return v;
  }).replace(/"@@(NaN|Infinity|-Infinity)@@"/g, '$1');
}

function write(res: http.ServerResponse, reply: Exclude<FakeReply, { hang: true }>): void {
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  let body: string;
  if ('json' in reply) {
    body = JSON.stringify(reply.json);
    headers['content-type'] ??= 'application/json';
  } else {
    body = reply.text;
    if (reply.text !== '') headers['content-type'] ??= reply.contentType ?? 'text/plain; charset=utf-8';
  }
  res.writeHead(reply.status, { ...headers, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Starts a fake server on 127.0.0.1.
 *
 * @example
 * const fake = await startFakeServer((req) => (req.path === '/' ? { status: 200, text: 'ok' } : undefined));
 * await fake.close();
 */
export async function startFakeServer(
  handler: FakeHandler,
  options: { port?: number } = {},
): Promise<FakeServer> {
  const requests: RecordedRequest[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://fake');
      const recorded: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(recorded);
      let reply: FakeReply | undefined;
      try {
        reply = handler(recorded);
      } catch (err) {
        reply = { status: 500, json: { error: `fake failed: ${(err as Error).message}` } };
      }
      if (reply && 'hang' in reply) return;
      write(
        res,
        reply ?? { status: 404, json: { error: `no route for ${recorded.method} ${recorded.path}` } },
      );
    });
  });

  const listenOn = (port: number) =>
    new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
  await listenOn(options.port ?? 0);
  const port = (server.address() as AddressInfo).port;
  let listening = true;

  const stop = async () => {
    if (!listening) return;
    listening = false;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeAllConnections();
    await closed;
  };
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    requests,
    stop,
    async listen() {
      if (listening) return;
      await listenOn(port);
      listening = true;
    },
    close: stop,
  };
}

/** A deep copy of a JSON value with every number replaced by NaN (the `nan` fault of the fakes). */
export function nanified(value: unknown): unknown {
  if (typeof value === 'number') return Number.NaN;
  if (Array.isArray(value)) return value.map(nanified);
  if (typeof value === 'object' && value !== null)
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, nanified(v)]));
  return value;
}

/** Parses a JSON request body; undefined when it is not JSON. */
export function jsonBody(request: RecordedRequest): unknown {
  try {
    return JSON.parse(request.body);
  } catch {
    return undefined;
  }
}
