/**
 * The prober's HTTP client: node:http / node:https with blackbox_exporter's phase timings, one hard
 * timeout per exchange, a body cap, bounded redirects, TLS options, and network faults classified into
 * stable {@link ProbeErrorCode}s. A down endpoint is data: {@link HttpClient.request} resolves to an
 * exchange with `error` and never rejects for anything the network or the server does.
 */
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { getProxyForUrl } from 'proxy-from-env';
import { VigilError } from '../errors.js';
import type {
  HttpClient,
  HttpExchange,
  HttpRequest,
  HttpResponse,
  PhaseTimings,
  ProbeErrorCode,
} from '../types.js';

/** Default response body cap: 1 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;
/** Default number of redirects followed (curl's `--max-redirs` spirit, Go's client allows 10). */
export const DEFAULT_MAX_REDIRECTS = 5;

/** Options of {@link createHttpClient}; every field optional. */
export interface HttpClientOptions {
  /**
   * Reuse connections per origin (one `http.Agent` and one `https.Agent` per client). Default true.
   * false: every request opens a fresh connection (no agent pool) and sends `connection: close`.
   */
  keepAlive?: boolean;
  /** Keep-alive only: at most this many sockets per origin (and TLS options). Default 8. */
  maxSocketsPerOrigin?: number;
  /** Sent as `user-agent` unless the request sets one. Default `vigil`. */
  userAgent?: string;
  /**
   * Send requests through the proxy that `HTTP_PROXY` / `HTTPS_PROXY` (or lower case) name, except to
   * hosts `NO_PROXY` lists — curl's rules, by the proxy-from-env package. Default true. A request's
   * own `proxyUrl` (a target's `proxyUrl`) wins over the environment.
   */
  proxyFromEnvironment?: boolean;
}

/** The environment variables {@link HttpClientOptions.proxyFromEnvironment} reads. */
const PROXY_VARIABLES = ['http_proxy', 'https_proxy', 'all_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'ALL_PROXY'];

/** setTimeout's ceiling (2^31 − 1 ms, about 24.8 days); a longer delay would fire at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

type Stage = 'queued' | 'dns' | 'connect' | 'tls' | 'request' | 'response' | 'body';
type ExchangeError = { code: ProbeErrorCode; message: string };

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const DNS_CODES = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'EAI_FAIL',
  'EAI_NODATA',
  'EAI_NONAME',
  'ENODATA',
  'ESERVFAIL',
]);
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'ECONNABORTED', 'ERR_STREAM_PREMATURE_CLOSE']);
const TLS_CODES = new Set([
  'EPROTO',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'HOSTNAME_MISMATCH',
]);
/** Headers not carried to another origin on a redirect (as fetch and curl do). */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
/** Headers describing a body, dropped when a redirect turns the request into a GET. */
const BODY_HEADERS = new Set(['content-type', 'content-length', 'transfer-encoding', 'content-encoding']);

function isTlsError(code: string): boolean {
  return (
    TLS_CODES.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || code.includes('CERT')
  );
}

/** Where the exchange is, for a timeout's message. */
function describeStage(stage: Stage, target: Target): string {
  switch (stage) {
    case 'queued':
      return `waiting for a free connection to ${target.authority}`;
    case 'dns':
      return `resolving ${target.host}`;
    case 'connect':
      return `connecting to ${target.authority}`;
    case 'tls':
      return `in the TLS handshake with ${target.authority}`;
    case 'request':
      return `sending the request to ${target.authority}`;
    case 'response':
      return `waiting for the response from ${target.authority}`;
    case 'body':
      return `waiting for the response body from ${target.authority}`;
  }
}

/** One origin the exchange talks to; recomputed per redirect hop. */
interface Target {
  url: URL;
  isHttps: boolean;
  /** Hostname without IPv6 brackets. */
  host: string;
  port: number;
  /** `host:port` (`[::1]:443` for IPv6), for messages. */
  authority: string;
  isIpLiteral: boolean;
  /** The forward proxy this hop goes through, if any. */
  proxy?: Proxy | undefined;
}

/** A forward proxy (an `http://` URL): absolute-form requests for http, a CONNECT tunnel for https. */
interface Proxy {
  host: string;
  port: number;
  /** `proxy host:port`, for messages (never the credentials). */
  authority: string;
  /** `Proxy-Authorization` from the URL's user:password, if any. */
  authorization?: string | undefined;
}

function targetOf(url: URL, proxyUrl?: string): Target {
  const isHttps = url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (isHttps ? 443 : 80) : Number(url.port);
  const isIpLiteral = net.isIP(host) !== 0;
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return { url, isHttps, host, port, authority, isIpLiteral, proxy: proxyOf(proxyUrl) };
}

function proxyOf(proxyUrl: string | undefined): Proxy | undefined {
  if (proxyUrl === undefined || proxyUrl === '') return undefined;
  let url: URL;
  try {
    url = new URL(proxyUrl.includes('://') ? proxyUrl : `http://${proxyUrl}`);
  } catch {
    throw invalidRequest(`not a proxy URL: ${JSON.stringify(proxyUrl.replace(/\/\/[^@/]*@/, '//…@'))}`);
  }
  if (url.protocol !== 'http:')
    throw invalidRequest(`a proxy URL must be http://host:port, got a ${url.protocol} URL`);
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? 80 : Number(url.port);
  const user = decodeURIComponent(url.username);
  const authorization =
    user === ''
      ? undefined
      : `Basic ${Buffer.from(`${user}:${decodeURIComponent(url.password)}`).toString('base64')}`;
  return { host, port, authority: `proxy ${host.includes(':') ? `[${host}]` : host}:${port}`, authorization };
}

/**
 * What a failure is about: the proxy while reaching it (its DNS, its TCP connect), else the target.
 * A refused CONNECT says so itself (`ERR_VIGIL_PROXY`).
 */
function blamed(target: Target, stage: Stage): Target {
  const { proxy } = target;
  if (proxy === undefined || (stage !== 'dns' && stage !== 'connect')) return target;
  return { ...target, host: proxy.host, port: proxy.port, authority: proxy.authority };
}

/** Classifies a socket or parser error by the first thing that went wrong (curl's and blackbox's habit). */
function classify(err: NodeJS.ErrnoException, stage: Stage, target: Target): ExchangeError {
  const code = typeof err.code === 'string' ? err.code : '';
  if (code === 'ERR_VIGIL_PROXY') return { code: 'NETWORK', message: err.message };
  // OpenSSL's messages carry a library trace (`8…:error:0A00045C:SSL routines:ssl3_read_bytes:tlsv13 alert
  // certificate required:…`): keep the reason. Node's own repeat the code (`connect ECONNREFUSED …`).
  const reason = /:SSL routines:[^:]*:([^:]+):/.exec(err.message)?.[1] ?? err.message.replace(` ${code}`, '');
  const oneLine = reason.replace(/\s+/g, ' ').trim();
  const detail = code === '' ? oneLine : `${oneLine} (${code})`;
  if (code === 'ECONNREFUSED') {
    return { code: 'CONNECTION_REFUSED', message: `connection refused by ${target.authority}` };
  }
  if (DNS_CODES.has(code)) return { code: 'DNS', message: `could not resolve ${target.host} (${code})` };
  if (stage === 'tls') {
    return { code: 'TLS', message: `TLS handshake with ${target.authority} failed: ${detail}` };
  }
  if (isTlsError(code)) return { code: 'TLS', message: `TLS error with ${target.authority}: ${detail}` };
  if (RESET_CODES.has(code) || err.message === 'socket hang up' || err.message === 'aborted') {
    const when = stage === 'body' ? 'while sending the response body' : 'before the response arrived';
    return {
      code: 'CONNECTION_RESET',
      message: `connection closed by ${target.authority} ${when} (${code || err.message})`,
    };
  }
  if (code.startsWith('HPE_')) {
    return { code: 'NETWORK', message: `invalid HTTP response from ${target.authority}: ${detail}` };
  }
  return {
    code: 'NETWORK',
    message: `network error with ${target.authority} ${describeStage(stage, target)}: ${detail}`,
  };
}

/** Response header names lower-cased; repeated headers joined by ", " (set-cookie included). */
function joinHeaders(raw: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === '__proto__') continue;
    const value = raw[i + 1] as string;
    const seen = out[name];
    out[name] = seen === undefined ? value : `${seen}, ${value}`;
  }
  return out;
}

function hasHeader(headers: Record<string, string>, lowerName: string): boolean {
  for (const name in headers) if (name.toLowerCase() === lowerName) return true;
  return false;
}

function withoutHeaders(headers: Record<string, string>, drop: ReadonlySet<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name in headers) if (!drop.has(name.toLowerCase())) out[name] = headers[name] as string;
  return out;
}

/** Mutable per-exchange state shared by the hops, the timer and the abort listener. */
interface Control {
  stage: Stage;
  target: Target;
  /** Set once the timeout fired or the signal aborted. */
  interrupted: ExchangeError | undefined;
  /**
   * The running hop's request and the function that settles it, so a timeout or an abort can end it;
   * both undefined between hops. Kept as two fields rather than one per-hop closure that does both:
   * with that closure stored here, V8 promoted most exchanges' objects to the old generation
   * (3.5 kB per probe instead of 0.3; bench/src/gc-promotion.ts, BENCHMARKS.md "V8 heap flags").
   */
  request: http.ClientRequest | undefined;
  settle: ((outcome: HopOutcome) => void) | undefined;
}

type HopOutcome =
  | { response: { status: number; headers: Record<string, string>; body: Buffer }; error?: undefined }
  | { error: ExchangeError; response?: undefined; retryable: boolean };

interface HopSpec {
  method: string;
  headers: Record<string, string>;
  body: string | Uint8Array | undefined;
  maxBodyBytes: number;
  tls: HttpRequest['tls'];
  /** A pooled agent, or undefined for a fresh connection. */
  agent: http.Agent | undefined;
  /** The request's body observer; given the chunks of a final (non-redirect) response only. */
  onBody: ((chunk: Buffer) => void) | undefined;
  /** An https hop through a proxy: opens the CONNECT tunnel and the TLS session inside it. */
  tunnel?:
    | ((options: http.ClientRequestArgs, done: (err: Error | null, socket?: net.Socket) => void) => undefined)
    | undefined;
}

// ClientRequest hands its own options to these; they carry host, port and the TLS fields set below.
const connectTcp = (options: http.ClientRequestArgs): net.Socket =>
  net.createConnection(options as net.NetConnectOpts);
const connectTls = (options: http.ClientRequestArgs): net.Socket =>
  tls.connect(options as tls.ConnectionOptions);

function requestOptions(target: Target, spec: HopSpec): https.RequestOptions {
  const { url } = target;
  const options: https.RequestOptions = {
    host: target.host,
    port: target.port,
    path: `${url.pathname}${url.search}`,
    method: spec.method,
    headers: spec.headers,
  };
  const { proxy } = target;
  if (proxy !== undefined && !target.isHttps) {
    // Absolute-form request to the proxy (RFC 9112 §3.2.2); the agent pools connections to it.
    options.host = proxy.host;
    options.port = proxy.port;
    options.path = url.href;
    options.headers = { ...spec.headers, host: url.host };
    if (proxy.authorization !== undefined) options.headers['proxy-authorization'] = proxy.authorization;
  }
  if (spec.tunnel !== undefined) {
    // A tunnel is one exchange's (no pool through a proxy): Node asks for it with a callback.
    options.createConnection = spec.tunnel as unknown as https.RequestOptions['createConnection'];
    options.defaultPort = 443;
  } else if (spec.agent) options.agent = spec.agent;
  else {
    // No agent: Node calls createConnection directly (a fresh socket, `connection: close`).
    options.createConnection = target.isHttps ? connectTls : connectTcp;
    options.defaultPort = target.isHttps ? 443 : 80;
  }
  if (target.isHttps) {
    const material = spec.tls;
    if (material?.ca !== undefined) options.ca = material.ca;
    if (material?.cert !== undefined) options.cert = material.cert;
    if (material?.key !== undefined) options.key = material.key;
    options.rejectUnauthorized = material?.insecureSkipVerify !== true;
    // SNI and the name the certificate is checked against. IP literals get no SNI (RFC 6066 §3).
    const serverName = material?.serverName ?? (target.isIpLiteral ? undefined : target.host);
    if (serverName !== undefined) options.servername = serverName;
  }
  return options;
}

/**
 * One request/response on one connection. Resolves with the response (body read in full, within the
 * cap) or an error; adds this hop's phases to `phases`.
 */
function runHop(ctl: Control, spec: HopSpec, phases: PhaseTimings): Promise<HopOutcome> {
  const { target } = ctl;
  return new Promise<HopOutcome>((resolve) => {
    const t0 = performance.now();
    let tLookup = -1;
    let tConnect = -1;
    let tSecure = -1;
    let tWritten = -1;
    let tFirstByte = -1;
    let socket: net.Socket | undefined;
    let reused = false;
    let settled = false;

    const onLookup = (): void => {
      tLookup = performance.now();
      if (ctl.stage === 'dns') ctl.stage = 'connect';
    };
    const onConnect = (): void => {
      tConnect = performance.now();
      ctl.stage = target.isHttps ? 'tls' : tWritten >= 0 ? 'response' : 'request';
    };
    const onSecure = (): void => {
      tSecure = performance.now();
      ctl.stage = tWritten >= 0 ? 'response' : 'request';
    };

    const done = (outcome: HopOutcome): void => {
      if (settled) return;
      settled = true;
      const tEnd = performance.now();
      ctl.request = undefined;
      ctl.settle = undefined;
      if (socket && !reused) {
        socket.off('lookup', onLookup);
        socket.off('connect', onConnect);
        socket.off('secureConnect', onSecure);
      }
      if (!reused) {
        const afterDns = tLookup >= 0 ? tLookup : t0;
        if (tLookup >= 0) phases.dnsMs += tLookup - t0;
        if (tConnect >= 0) phases.connectMs += tConnect - afterDns;
        if (tSecure >= 0 && tConnect >= 0) phases.tlsMs += tSecure - tConnect;
      }
      if (tWritten >= 0) {
        // A write can complete into a TLS socket's buffer before the handshake ends: processing
        // starts once the request could actually leave.
        const sent = Math.max(tWritten, tConnect, tSecure);
        phases.processingMs += Math.max(0, (tFirstByte >= 0 ? tFirstByte : tEnd) - sent);
      }
      if (tFirstByte >= 0) phases.transferMs += tEnd - tFirstByte;
      resolve(outcome);
    };

    let connectRequest: http.ClientRequest | undefined;
    const tunneled = target.isHttps && target.proxy !== undefined;
    if (tunneled) {
      const proxy = target.proxy as Proxy;
      spec.tunnel = (options, created) => {
        // CONNECT host:port (RFC 9110 §9.3.6) through Node's own parser. Phases: dns and connect are
        // the proxy's, and connect lasts until the tunnel is open (the CONNECT round trip included);
        // tls is the handshake with the target inside it.
        ctl.stage = net.isIP(proxy.host) !== 0 ? 'connect' : 'dns';
        const headers: Record<string, string> = { host: target.authority };
        if (proxy.authorization !== undefined) headers['proxy-authorization'] = proxy.authorization;
        const connect = http.request({
          host: proxy.host,
          port: proxy.port,
          method: 'CONNECT',
          path: target.authority,
          headers,
          agent: false,
        });
        connectRequest = connect;
        connect.once('socket', (s: net.Socket) => s.once('lookup', onLookup));
        connect.once('connect', (res: http.IncomingMessage, raw: net.Socket, head: Buffer) => {
          if (res.statusCode !== 200 || head.length > 0) {
            raw.destroy();
            const why =
              res.statusCode !== 200
                ? `${res.statusCode} ${res.statusMessage ?? ''}`.trim()
                : 'data before the TLS handshake';
            created(
              Object.assign(new Error(`${proxy.authority} refused CONNECT to ${target.authority}: ${why}`), {
                code: 'ERR_VIGIL_PROXY',
              }),
            );
            return;
          }
          onConnect();
          created(null, tls.connect({ ...(options as tls.ConnectionOptions), socket: raw }));
        });
        connect.once('response', (res: http.IncomingMessage) => {
          res.resume();
          created(
            Object.assign(
              new Error(`${proxy.authority} answered CONNECT to ${target.authority} with ${res.statusCode}`),
              { code: 'ERR_VIGIL_PROXY' },
            ),
          );
        });
        connect.once('error', (err) => created(err));
        connect.end();
        return undefined;
      };
    }
    const req = (target.isHttps ? https : http).request(requestOptions(target, spec));
    if (tunneled) req.once('close', () => connectRequest?.destroy());

    const fail = (err: NodeJS.ErrnoException): void => {
      if (settled) return;
      const error = classify(err, ctl.stage, blamed(target, ctl.stage));
      // A pooled connection the server closed while idle: the request never reached it (undici and
      // Node's docs retry exactly this case once).
      const retryable = reused && tFirstByte < 0 && error.code === 'CONNECTION_RESET';
      done({ error, retryable });
    };

    ctl.request = req;
    ctl.settle = done;

    req.once('socket', (s: net.Socket) => {
      socket = s;
      if (req.reusedSocket) {
        reused = true;
        ctl.stage = 'request';
        return;
      }
      if (tunneled) {
        // The tunnel is open (its phases measured above): the TLS handshake is next.
        s.once('secureConnect', onSecure);
        return;
      }
      const endpoint = blamed(target, 'connect');
      ctl.stage = net.isIP(endpoint.host) !== 0 ? 'connect' : 'dns';
      s.once('lookup', onLookup);
      s.once('connect', onConnect);
      if (target.isHttps) s.once('secureConnect', onSecure);
    });
    req.once('finish', () => {
      tWritten = performance.now();
      if (ctl.stage === 'request') ctl.stage = 'response';
    });
    req.on('error', fail);
    req.once('response', (res: http.IncomingMessage) => {
      tFirstByte = performance.now();
      ctl.stage = 'body';
      const status = res.statusCode ?? 0;
      const cap = spec.maxBodyBytes;
      const tooLarge = (read: string): ExchangeError => ({
        code: 'BODY_TOO_LARGE',
        message: `response body from ${target.authority} exceeds the ${cap}-byte cap (${read}); reading stopped`,
      });
      const declared = Number(res.headers['content-length']);
      if (declared > cap) {
        done({ error: tooLarge(`content-length ${declared}`), retryable: false });
        req.destroy();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      // A redirect's body is not the stream the caller reads.
      const observe = REDIRECTS.has(status) && res.headers.location !== undefined ? undefined : spec.onBody;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > cap) {
          done({ error: tooLarge(`${size} bytes read`), retryable: false });
          req.destroy();
          return;
        }
        chunks.push(chunk);
        if (observe !== undefined) {
          try {
            observe(chunk);
          } catch (err) {
            // The caller's bug must not escape from a socket event: it ends this exchange instead.
            const message = `the body reader failed: ${err instanceof Error ? err.message : String(err)}`;
            done({ error: { code: 'INTERNAL', message }, retryable: false });
            req.destroy();
          }
        }
      });
      res.once('end', () => {
        const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size);
        done({ response: { status, headers: joinHeaders(res.rawHeaders), body } });
      });
      res.on('error', fail);
      res.once('close', () => {
        if (!res.complete) {
          fail(Object.assign(new Error('premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' }));
        }
      });
    });

    if (spec.body === undefined) req.end();
    else req.end(spec.body);
  });
}

function zeroPhases(): PhaseTimings {
  return { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 };
}

function invalidRequest(message: string): VigilError {
  return new VigilError('VIGIL_ERR_PROBE_INVALID_REQUEST', message);
}

/**
 * Creates the prober's HTTP client.
 *
 * Each {@link HttpClient.request}:
 * - measures blackbox_exporter's phases from socket events (`dnsMs` to `lookup`, `connectMs` to
 *   `connect`, `tlsMs` to `secureConnect`, `processingMs` from the request written to the response
 *   headers, `transferMs` from there to the body's last byte); a reused keep-alive connection reports 0
 *   for dns, connect and tls. Phases of redirect hops add up; `durationMs` is the whole exchange.
 * - enforces `timeoutMs` over everything — queueing, DNS, connect, TLS, headers and a body that
 *   trickles in — with one timer; on expiry the socket is destroyed and the exchange carries `TIMEOUT`
 *   saying where it was: `timed out after 2000 ms waiting for the response body from 127.0.0.1:8080`.
 *   `signal` cancels the same way: `TIMEOUT` when its reason is a `TimeoutError` (`AbortSignal.timeout`),
 *   else `NETWORK` (`aborted …`).
 * - stops reading at `maxBodyBytes` (default 1 MiB; a larger `content-length` fails before reading) and
 *   destroys the connection: `BODY_TOO_LARGE`.
 * - follows up to `maxRedirects` (default 5) redirects: 301/302/303 become GET without a body (HEAD stays
 *   HEAD), 307/308 keep method and body; a relative `location` is resolved against the current URL;
 *   `authorization` and `cookie` are not sent to another origin. One more is `TOO_MANY_REDIRECTS`.
 *   `maxRedirects: 0` follows none and returns the 3xx response itself.
 * - verifies TLS against `tls.ca` (else Node's bundled roots), presents `tls.cert`/`tls.key`, checks the
 *   certificate against `tls.serverName` (else the URL's host) and skips verification only with
 *   `insecureSkipVerify`.
 * - classifies failures: `CONNECTION_REFUSED`, `DNS`, `TLS`, `CONNECTION_RESET` (reset, hang-up,
 *   premature close), `NETWORK` (anything else, malformed HTTP included). A reset on a reused keep-alive
 *   connection before any response byte is retried once on a fresh connection (the server closed the
 *   idle connection as the request was sent; the request never reached it).
 * - joins repeated response headers with ", " and lower-cases their names; sends `user-agent` unless
 *   the request has one.
 *
 * An exchange has either `response` or `error`, never both. It rejects only for programming errors:
 * a closed client, a URL that is not absolute http(s), or a `timeoutMs` that is not a positive number
 * (`VigilError` `VIGIL_ERR_PROBE_INVALID_REQUEST` / `VIGIL_ERR_PROBE_CLIENT_CLOSED`).
 *
 * @example
 * const client = createHttpClient();
 * const { response, error, phases } = await client.request({ url: 'http://127.0.0.1:8081/v2/health/live', timeoutMs: 2000 });
 * await client.close();
 */
export function createHttpClient(options: HttpClientOptions = {}): HttpClient {
  const keepAlive = options.keepAlive ?? true;
  const userAgent = options.userAgent ?? 'vigil';
  const agentOptions: http.AgentOptions = {
    keepAlive: true,
    maxSockets: options.maxSocketsPerOrigin ?? 8,
    maxFreeSockets: options.maxSocketsPerOrigin ?? 8,
    // The most recently used socket is the least likely to have been closed by the server while idle.
    scheduling: 'lifo',
  };
  const httpAgent = keepAlive ? new http.Agent(agentOptions) : undefined;
  const httpsAgent = keepAlive ? new https.Agent(agentOptions) : undefined;
  // Read once: when no variable names a proxy, no probe pays for looking.
  const fromEnvironment =
    (options.proxyFromEnvironment ?? true) && PROXY_VARIABLES.some((name) => process.env[name]);
  const proxyFor = (url: URL, own: string | undefined): string | undefined =>
    own ?? (fromEnvironment ? getProxyForUrl(url.href) || undefined : undefined);
  let closed = false;

  async function request(req: HttpRequest): Promise<HttpExchange> {
    if (closed) throw new VigilError('VIGIL_ERR_PROBE_CLIENT_CLOSED', 'the HTTP client is closed');
    let url: URL;
    try {
      url = new URL(req.url);
    } catch (err) {
      throw invalidRequest(`not an absolute URL: ${JSON.stringify(req.url)} (${(err as Error).message})`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw invalidRequest(`unsupported URL scheme ${url.protocol} in ${req.url}`);
    }
    if (!(req.timeoutMs > 0) || !Number.isFinite(req.timeoutMs)) {
      throw invalidRequest(`timeoutMs must be a positive number of milliseconds, got ${req.timeoutMs}`);
    }

    const started = performance.now();
    const phases = zeroPhases();
    const maxRedirects = req.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
    const ctl: Control = {
      stage: 'queued',
      target: targetOf(url, proxyFor(url, req.proxyUrl)),
      interrupted: undefined,
      request: undefined,
      settle: undefined,
    };
    const finish = (outcome: { response: HttpResponse } | { error: ExchangeError }): HttpExchange => ({
      ...outcome,
      phases,
      durationMs: performance.now() - started,
    });
    const interrupt = (error: ExchangeError): void => {
      if (ctl.interrupted) return;
      ctl.interrupted = error;
      const { request: running, settle } = ctl;
      if (settle !== undefined) {
        settle({ error, retryable: false });
        running?.destroy();
      }
    };

    const { signal } = req;
    const abortError = (): ExchangeError => {
      const reason = signal?.reason as { name?: string; message?: string } | undefined;
      const where = describeStage(ctl.stage, ctl.target);
      if (reason?.name === 'TimeoutError') {
        return { code: 'TIMEOUT', message: `timed out (aborted by the caller) ${where}` };
      }
      const why = reason?.message ? `: ${reason.message}` : '';
      return { code: 'NETWORK', message: `aborted by the caller ${where}${why}` };
    };
    if (signal?.aborted) return finish({ error: abortError() });
    const onAbort = (): void => interrupt(abortError());
    signal?.addEventListener('abort', onAbort, { once: true });
    const timer = setTimeout(
      () => {
        const where = describeStage(ctl.stage, ctl.target);
        interrupt({ code: 'TIMEOUT', message: `timed out after ${Math.round(req.timeoutMs)} ms ${where}` });
      },
      Math.min(req.timeoutMs, MAX_TIMER_MS),
    );

    let method = (req.method ?? 'GET').toUpperCase();
    let body = req.body;
    let headers: Record<string, string> = { ...req.headers };
    if (!hasHeader(headers, 'user-agent')) headers['user-agent'] = userAgent;
    if (!keepAlive && !hasHeader(headers, 'connection')) headers.connection = 'close';
    const maxBodyBytes = req.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    let redirects = 0;
    let retried = false;

    try {
      for (;;) {
        if (ctl.interrupted) return finish({ error: ctl.interrupted });
        const target = ctl.target;
        const agent = retried ? undefined : target.isHttps ? httpsAgent : httpAgent;
        ctl.stage = 'queued';
        const outcome = await runHop(
          ctl,
          { method, headers, body, maxBodyBytes, tls: req.tls, agent, onBody: req.onBody },
          phases,
        );
        if (outcome.error) {
          if (outcome.retryable && !retried && !ctl.interrupted) {
            retried = true;
            continue;
          }
          return finish({ error: ctl.interrupted ?? outcome.error });
        }
        retried = false;
        const { status } = outcome.response;
        const location = outcome.response.headers.location;
        if (maxRedirects === 0 || !REDIRECTS.has(status) || location === undefined) {
          return finish({ response: { ...outcome.response, redirects } });
        }
        if (redirects >= maxRedirects) {
          return finish({
            error: {
              code: 'TOO_MANY_REDIRECTS',
              message: `stopped after ${redirects} redirects: ${target.url.href} answered ${status} to ${location}`,
            },
          });
        }
        let next: URL;
        try {
          next = new URL(location, target.url);
        } catch {
          next = new URL('invalid:');
        }
        if (next.protocol !== 'http:' && next.protocol !== 'https:') {
          return finish({
            error: {
              code: 'PROTOCOL',
              message: `${target.url.href} answered ${status} with a location that is not an http(s) URL: ${JSON.stringify(location)}`,
            },
          });
        }
        redirects++;
        if (status <= 303 && method !== 'HEAD') {
          method = 'GET';
          body = undefined;
          headers = withoutHeaders(headers, BODY_HEADERS);
        }
        if (next.origin !== target.url.origin) headers = withoutHeaders(headers, CREDENTIAL_HEADERS);
        ctl.target = targetOf(next, proxyFor(next, req.proxyUrl));
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  return {
    request,
    async close() {
      closed = true;
      httpAgent?.destroy();
      httpsAgent?.destroy();
    },
  };
}
