/**
 * The prober's gRPC client: unary calls over @grpc/grpc-js with the HTTP client's habits — one deadline
 * per call (the probe's timeout), a received-message cap in line with the body cap, TLS and mTLS from
 * the same options, credentials sent as `authorization` metadata and redacted in what is kept, phase
 * timings, channels reused across probes as keep-alive connections are, and every failure classified
 * into a stable {@link ProbeErrorCode}. A down endpoint is data: {@link GrpcClient.unary} resolves to an
 * exchange carrying the call's status and, when it is not OK, an `error`; it never rejects for anything
 * the network or the server does.
 *
 * Also here: loading a service from a `.proto` file in the package's `specs/` folder (once), and the
 * standard health service `grpc.health.v1.Health/Check` ({@link grpcHealthCheck}). The Open Inference
 * Protocol's service and its tensor codec live beside this file, in `wire/oip-grpc.ts`.
 */
import { createHash } from 'node:crypto';
import net from 'node:net';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { isSecretHeader, REDACTED } from '../diagnostics/redact.js';
import { VigilError } from '../errors.js';
import type { AuthConfig, HttpRequest, PhaseTimings, ProbeErrorCode } from '../types.js';
import { DEFAULT_MAX_BODY_BYTES } from './http.js';

/** Default number of channels one client keeps open (least recently used closed first). */
export const DEFAULT_MAX_GRPC_CHANNELS = 64;

/**
 * URL schemes a gRPC target may use: `grpc:` and `http:` are plaintext HTTP/2 (h2c), `grpcs:` and
 * `https:` are TLS. A URL without a port gets 80 (plaintext) or 443 (TLS), as HTTP does.
 */
export const GRPC_URL_SCHEMES: readonly string[] = ['grpc:', 'grpcs:', 'http:', 'https:'];

/** The folder of the `.proto` files Vigil ships (`packages/vigil/specs`, the same from src/ and dist/). */
export const SPECS_DIR = fileURLToPath(new URL('../../specs/', import.meta.url));

/** gRPC status names, indexed by code (grpc/doc/statuscodes.md). */
export const GRPC_STATUS_NAMES = [
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;

/** A gRPC status name, e.g. `UNAVAILABLE`. */
export type GrpcStatusName = (typeof GRPC_STATUS_NAMES)[number];

/** The status a call ended with. */
export interface GrpcStatus {
  /** 0–16 (`grpc.status`). */
  code: number;
  /** `UNAVAILABLE`, …; `UNKNOWN` for a code outside 0–16. */
  name: GrpcStatusName;
  /** The status message: the server's, or the one gRPC made locally (a refused connection, a deadline). */
  details: string;
}

/** One unary method: its path and its message codec (see `loadGrpcService`). */
export interface GrpcMethod<Req, Res> {
  /** `/package.Service/Method`, e.g. `/grpc.health.v1.Health/Check`. */
  readonly path: string;
  serialize(message: Req): Buffer;
  deserialize(bytes: Buffer): Res;
}

/** TLS material: PEM contents, not paths — the same fields as {@link HttpRequest.tls}. */
export type GrpcTls = NonNullable<HttpRequest['tls']>;

/** One unary call to make. */
export interface GrpcRequest<Req, Res> {
  /** `grpc://host:port`, `grpcs://host:port` (or `http:` / `https:`); no path (see `GRPC_URL_SCHEMES`). */
  url: string;
  method: GrpcMethod<Req, Res>;
  /** The request message as a plain object (proto field names, snake_case). */
  message: Req;
  /**
   * Metadata (headers) sent with the call. Names are lower-cased; a name ending in `-bin` takes a
   * base64 value (sent as bytes).
   */
  metadata?: Record<string, string>;
  /** Sent as `authorization` metadata (`Bearer …` / `Basic base64(user:password)`), after `metadata`. */
  auth?: AuthConfig;
  /** TLS options; used with `grpcs:` / `https:` URLs only. */
  tls?: GrpcTls;
  /** The call's deadline, in ms from now: connecting, sending and the whole response. */
  timeoutMs: number;
  /** Largest response message accepted, in bytes; a larger one is `BODY_TOO_LARGE`. Default 1 MiB. */
  maxBodyBytes?: number;
  signal?: AbortSignal;
}

/** What was sent, as it may be shown: credential metadata replaced by `[REDACTED]`. */
export interface GrpcCallRecord {
  /** `grpc://127.0.0.1:8001/inference.GRPCInferenceService/ModelInfer`. */
  url: string;
  /** `/inference.GRPCInferenceService/ModelInfer`. */
  method: string;
  metadata: Record<string, string>;
}

/**
 * What one call produced. `error` is present exactly when the status is not OK; `message` exactly when
 * it is. The shape is a structural superset of {@link HttpExchange} minus `response` (`phases`,
 * `durationMs`, `error`), so an adapter can hand it on as its answer's exchange.
 */
export interface GrpcExchange<Res> {
  status: GrpcStatus;
  /** The response message (bytes fields as Buffers, 64-bit integers as numbers, enums as names). */
  message?: Res;
  /** Why the call failed, as a stable code; the message starts with the status name (`UNAVAILABLE: …`). */
  error?: { code: ProbeErrorCode; message: string };
  /**
   * - `connectMs`: from the call's start to the channel being ready — name resolution, TCP connect and
   *   the HTTP/2 handshake (the server's SETTINGS) — without the TLS handshake; 0 on a ready channel.
   * - `tlsMs`: the TLS handshake (client hello to verified peer); 0 for plaintext or a ready channel.
   * - `dnsMs`: always 0 (gRPC resolves names inside the channel; the time is in `connectMs`).
   * - `processingMs`: from the call sent on a ready connection to the response headers (the server's
   *   work; to the status when no headers came).
   * - `transferMs`: from the response headers to the status (the message and trailers).
   * A phase not reached counts 0, as in the HTTP client.
   */
  phases: PhaseTimings;
  /** The whole call, in ms. */
  durationMs: number;
  /** True when the call went out on a connection that was ready before it started. */
  reused: boolean;
  request: GrpcCallRecord;
  /** Response headers (metadata), names lower-case, repeated values joined by ", ", credentials redacted. */
  headers?: Record<string, string>;
  /** Response trailers, likewise. */
  trailers?: Record<string, string>;
}

/** Options of {@link createGrpcClient}; every field optional. */
export interface GrpcClientOptions {
  /** Channels kept open at most; the least recently used one is closed beyond it. Default 64. */
  maxChannels?: number;
  /** Sent as the primary `user-agent` (gRPC appends its own). Default `vigil`. */
  userAgent?: string;
}

/** Makes unary gRPC calls, reusing one channel per (address, TLS identity, message cap). */
export interface GrpcClient {
  unary<Req, Res>(request: GrpcRequest<Req, Res>): Promise<GrpcExchange<Res>>;
  /** Channels open now (for tests and metrics). */
  channelCount(): number;
  /** Closes every channel and its connections; later calls reject with `VIGIL_ERR_PROBE_CLIENT_CLOSED`. */
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Protos

/** proto-loader options: proto field names, 64-bit integers as numbers (as JSON bodies give them). */
const LOAD_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  bytes: Buffer,
  // proto3 leaves false / 0 / empty off the wire: without defaults `{live: false}` would read as `{}`.
  defaults: true,
  oneofs: true,
  includeDirs: [SPECS_DIR],
};

/** A service's unary methods by name (`ModelInfer`, …). */
export type GrpcService = Readonly<Record<string, GrpcMethod<unknown, unknown>>>;

const services = new Map<string, GrpcService>();

/**
 * Loads a service from a `.proto` file under {@link SPECS_DIR}, once per process: later calls return
 * the same object. Streaming methods are left out.
 *
 * @throws VigilError `VIGIL_ERR_GRPC_PROTO` when the file cannot be read or has no such service (a broken
 *   install: the file ships with the package).
 * @example
 * const health = loadGrpcService('grpc/health/v1/health.proto', 'grpc.health.v1.Health');
 * health.Check?.path; // '/grpc.health.v1.Health/Check'
 */
export function loadGrpcService(protoFile: string, service: string): GrpcService {
  const key = `${protoFile}#${service}`;
  const cached = services.get(key);
  if (cached) return cached;
  let definition: protoLoader.PackageDefinition;
  try {
    definition = protoLoader.loadSync(protoFile, LOAD_OPTIONS);
  } catch (err) {
    throw new VigilError(
      'VIGIL_ERR_GRPC_PROTO',
      `cannot load ${protoFile} from ${SPECS_DIR}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  const methods = definition[service] as protoLoader.ServiceDefinition | undefined;
  if (methods === undefined || typeof methods.format === 'string' || methods.format !== undefined) {
    throw new VigilError('VIGIL_ERR_GRPC_PROTO', `${protoFile} defines no service ${service}`);
  }
  const out: Record<string, GrpcMethod<unknown, unknown>> = {};
  for (const [name, method] of Object.entries(methods)) {
    if (method.requestStream || method.responseStream) continue;
    out[name] = {
      path: method.path,
      serialize: method.requestSerialize,
      deserialize: method.responseDeserialize,
    };
  }
  const frozen = Object.freeze(out);
  services.set(key, frozen);
  return frozen;
}

/** `grpc.health.v1.HealthCheckRequest`: an empty `service` asks for the server's overall health. */
export interface HealthCheckRequest {
  service: string;
}

/** `grpc.health.v1.HealthCheckResponse.ServingStatus`. */
export type ServingStatus = 'UNKNOWN' | 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN';

/** `grpc.health.v1.HealthCheckResponse`; a status number the proto does not name stays a number. */
export interface HealthCheckResponse {
  status: ServingStatus | number;
}

/**
 * The standard health check, `grpc.health.v1.Health/Check` (what Kubernetes' gRPC probes call): SERVING
 * means healthy; an unknown service answers NOT_FOUND.
 *
 * @example
 * const grpc = createGrpcClient();
 * const exchange = await grpc.unary({ url, method: grpcHealthCheck(), message: { service: '' }, timeoutMs: 1000 });
 * exchange.message?.status; // 'SERVING'
 */
export function grpcHealthCheck(): GrpcMethod<HealthCheckRequest, HealthCheckResponse> {
  const method = loadGrpcService('grpc/health/v1/health.proto', 'grpc.health.v1.Health').Check;
  return method as GrpcMethod<HealthCheckRequest, HealthCheckResponse>;
}

// ---------------------------------------------------------------------------------------------
// Addresses

/** Where a call goes. */
interface Target {
  secure: boolean;
  /** Hostname without IPv6 brackets. */
  host: string;
  port: number;
  /** `host:port`, `[::1]:443` for IPv6: the channel's target and what messages name. */
  authority: string;
  isIpLiteral: boolean;
  /** `grpc://…` / `grpcs://…`, for the call record. */
  base: string;
}

function invalidRequest(message: string): VigilError {
  return new VigilError('VIGIL_ERR_PROBE_INVALID_REQUEST', message);
}

function targetOf(raw: string): Target {
  let url: URL;
  try {
    url = new URL(raw);
  } catch (err) {
    throw invalidRequest(`not an absolute URL: ${JSON.stringify(raw)} (${(err as Error).message})`);
  }
  if (!GRPC_URL_SCHEMES.includes(url.protocol)) {
    throw invalidRequest(`unsupported URL scheme ${url.protocol} for gRPC in ${raw}`);
  }
  if (url.pathname !== '' && url.pathname !== '/') {
    throw invalidRequest(`a gRPC URL has no path: ${raw}`);
  }
  const secure = url.protocol === 'grpcs:' || url.protocol === 'https:';
  const host = url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname;
  const port = url.port === '' ? (secure ? 443 : 80) : Number(url.port);
  const authority = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    secure,
    host,
    port,
    authority,
    isIpLiteral: net.isIP(host) !== 0,
    base: `${secure ? 'grpcs' : 'grpc'}://${authority}`,
  };
}

// ---------------------------------------------------------------------------------------------
// Channels

/** One cached channel and what Vigil tracks about its connection. */
interface ChannelEntry {
  key: string;
  client: grpc.Client;
  /** Calls running on it. */
  inflight: number;
  /** Out of the cache: closed when its last call ends. */
  evicted: boolean;
  /** Its sockets (TCP and TLS): grpc-js does not close a connection attempt on close (see ProbeCredentials). */
  sockets: Set<net.Socket>;
  /** Latest connection attempt: TCP connected / TLS verified, as performance.now(); -1 if not (yet). */
  tcpAt: number;
  secureAt: number;
  /**
   * When the peer last closed a connection before sending a byte (before the HTTP/2 server preface), as
   * performance.now(), and how many times it has; -1 / 0 if never. grpc-js retries such a connection
   * with back-off until the call's deadline, so without this a listener that resets every connection
   * would read as a plain `TIMEOUT`.
   */
  droppedAt: number;
  drops: number;
}

/**
 * Vigil's connector for grpc-js: it gets the TCP socket grpc-js opened and does the TLS handshake
 * itself. Three reasons: (1) grpc-js waits for the server's HTTP/2 SETTINGS with no timeout and does not
 * close that attempt when the channel closes (grpc-node issue #2785), so a server that accepts and never
 * speaks would leave one socket per probe behind — holding the sockets lets Vigil destroy them; (2) the
 * TCP and TLS times become phases; (3) SNI and the name checked follow the HTTP client (no SNI for an
 * IP literal, RFC 6066 §3; `serverName` for both).
 *
 * `_createSecureConnector` is grpc-js's credentials contract (abstract in its public typings, the
 * connector type exported from `experimental`); the TLS and mTLS tests hold it to account on upgrades.
 */
class ProbeCredentials extends grpc.ChannelCredentials {
  readonly #entry: ChannelEntry;
  readonly #target: Target;
  readonly #tls: { context: tls.SecureContext; material: GrpcTls } | undefined;

  constructor(
    entry: ChannelEntry,
    target: Target,
    secure: { context: tls.SecureContext; material: GrpcTls } | undefined,
  ) {
    super();
    this.#entry = entry;
    this.#target = target;
    this.#tls = secure;
  }

  override _isSecure(): boolean {
    return this.#tls !== undefined;
  }

  override _equals(other: grpc.ChannelCredentials): boolean {
    return other === this;
  }

  override _createSecureConnector(): grpc.experimental.SecureConnector {
    const entry = this.#entry;
    const target = this.#target;
    const secure = this.#tls;
    const track = (socket: net.Socket): void => {
      entry.sockets.add(socket);
      socket.once('close', () => {
        // Still in the set: not destroyed by Vigil (closeEntry empties it first).
        if (entry.sockets.delete(socket) && socket.bytesRead === 0 && !entry.evicted) {
          entry.droppedAt = performance.now();
          entry.drops++;
        }
      });
    };
    return {
      connect(socket: net.Socket) {
        track(socket);
        entry.tcpAt = performance.now();
        if (secure === undefined) {
          entry.secureAt = entry.tcpAt;
          return Promise.resolve({ socket, secure: false });
        }
        const { material, context } = secure;
        const serverName = material.serverName ?? (target.isIpLiteral ? undefined : target.host);
        return new Promise((resolve, reject) => {
          const options: tls.ConnectionOptions = {
            socket,
            secureContext: context,
            ALPNProtocols: ['h2'],
            rejectUnauthorized: material.insecureSkipVerify !== true,
          };
          if (serverName !== undefined) options.servername = serverName;
          if (material.insecureSkipVerify) options.checkServerIdentity = () => undefined;
          else if (material.serverName !== undefined) {
            const name = material.serverName;
            options.checkServerIdentity = (_host, cert) => tls.checkServerIdentity(name, cert);
          }
          const tlsSocket = tls.connect(options, () => {
            if (options.rejectUnauthorized && !tlsSocket.authorized) {
              reject(tlsSocket.authorizationError);
              return;
            }
            entry.secureAt = performance.now();
            resolve({ socket: tlsSocket, secure: true });
          });
          track(tlsSocket);
          tlsSocket.once('error', reject);
        });
      },
      waitForReady: () => Promise.resolve(),
      getCallCredentials: () => grpc.CallCredentials.createEmpty(),
      destroy: () => {},
    };
  }
}

// The TLS material's identity in a channel key: a digest of the PEM contents and the options, memoized
// per material object (the adapter context caches one per target's TLS config).
const tlsKeys = new WeakMap<GrpcTls, string>();

function tlsKeyOf(material: GrpcTls | undefined): string {
  if (material === undefined) return '-';
  let key = tlsKeys.get(material);
  if (key === undefined) {
    const hash = createHash('sha256');
    for (const part of [material.ca, material.cert, material.key]) {
      hash.update(part === undefined ? '\u0000' : String(part.length));
      if (part !== undefined) hash.update(part);
    }
    hash.update(`\u0000${material.serverName ?? ''}\u0000${material.insecureSkipVerify === true}`);
    key = hash.digest('hex');
    tlsKeys.set(material, key);
  }
  return key;
}

// ---------------------------------------------------------------------------------------------
// Status classification

/**
 * How far a call got: `connect` (TCP, name resolution included), `tls` (TLS handshake), `http2` (waiting
 * for the server's HTTP/2 SETTINGS), `response` (sent on a ready connection, no headers yet), `message`
 * (headers arrived, waiting for the message and status).
 */
export type CallStage = 'connect' | 'tls' | 'http2' | 'response' | 'message';

/** What `classifyGrpcStatus` needs to know besides the status. */
export interface CallContext {
  /** `host:port`, for messages. */
  authority: string;
  /** How far the call got; `response` or `message` means the server could have answered. */
  stage: CallStage;
  /** The deadline, in ms, and how long the call took. */
  timeoutMs: number;
  elapsedMs: number;
  /** The received-message cap, in bytes, for `BODY_TOO_LARGE`'s message. */
  maxBodyBytes: number;
  /**
   * Connections the peer closed before sending a byte while this call waited for one (grpc-js retries
   * them until the deadline); 0 or absent if none. A deadline that runs out with such drops and no
   * connection made is `CONNECTION_RESET`, not `TIMEOUT`.
   */
  droppedBeforeHandshake?: number;
}

/** What went wrong with a call, or nothing for OK. */
export interface GrpcClassification {
  code: ProbeErrorCode;
  message: string;
  /** The connection itself is in doubt: the channel is dropped so that the next call connects afresh. */
  connectionTrouble: boolean;
}

/** grpc-js's "No connection established. Last error: …" → the reason, without its timestamp and notes. */
function lastError(details: string): string {
  const at = details.indexOf('Last error: ');
  let reason = at === -1 ? details : details.slice(at + 'Last error: '.length);
  reason = reason.replace(/\.?\s*Resolution note:.*$/s, '');
  // OpenSSL's messages carry a library trace: keep the reason (as the HTTP client does).
  const ssl = /:SSL routines:[^:]*:([^:]+):/.exec(reason)?.[1];
  if (ssl !== undefined) reason = ssl;
  reason = reason.replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)\s*$/, '').replace(/^Error( \[[A-Z_]+\])?: /, '');
  return reason.replace(/\s+/g, ' ').trim();
}

const TLS_TROUBLE =
  /certificate|ssl|tls|self[- ]signed|altnames|unable to verify|alert|wrong version number|handshake/i;

/** Where a call was, for a timeout's message. */
export function describeCallStage(stage: CallStage, authority: string): string {
  switch (stage) {
    case 'connect':
      return `connecting to ${authority}`;
    case 'tls':
      return `in the TLS handshake with ${authority}`;
    case 'http2':
      return `waiting for the HTTP/2 handshake (SETTINGS) from ${authority}`;
    case 'response':
      return `waiting for the response from ${authority}`;
    case 'message':
      return `waiting for the response message from ${authority}`;
  }
}

/**
 * Maps a call's final status to a stable {@link ProbeErrorCode}; undefined for OK. Every message starts
 * with the status name. Pure: the table of cases lives in its tests.
 *
 * | status (and what gRPC says) | code |
 * | --- | --- |
 * | `DEADLINE_EXCEEDED` | `TIMEOUT` (`timed out after 2000 ms waiting for the response from …`) |
 * | `DEADLINE_EXCEEDED`, not connected, the peer closed every attempt before sending a byte | `CONNECTION_RESET` |
 * | `UNAVAILABLE`, not connected: `ECONNREFUSED` | `CONNECTION_REFUSED` |
 * | `UNAVAILABLE`, not connected: name resolution failed | `DNS` |
 * | `UNAVAILABLE`, not connected: certificate, handshake, TLS alert | `TLS` |
 * | `UNAVAILABLE`, not connected: HTTP/2 protocol error (not a gRPC server) | `PROTOCOL` |
 * | `UNAVAILABLE`, not connected: reset or closed before the HTTP/2 handshake | `CONNECTION_RESET` |
 * | `UNAVAILABLE` "Connection dropped"; the server reset or cancelled the stream | `CONNECTION_RESET` |
 * | `RESOURCE_EXHAUSTED` "Received message larger than max" | `BODY_TOO_LARGE` |
 * | `INTERNAL` response parsing error, no status received, a stream ended without one | `PROTOCOL` |
 * | any other status the server sent (`NOT_FOUND`, `UNAVAILABLE: model loading`, …) | `UNEXPECTED_STATUS` |
 * | anything else gRPC made up locally before a connection | `NETWORK` |
 *
 * @example
 * classifyGrpcStatus({ code: 5, name: 'NOT_FOUND', details: 'model "x" not found' }, callContext);
 * // { code: 'UNEXPECTED_STATUS', message: 'NOT_FOUND: model "x" not found', connectionTrouble: false }
 */
export function classifyGrpcStatus(status: GrpcStatus, ctx: CallContext): GrpcClassification | undefined {
  const { name, details } = status;
  if (status.code === grpc.status.OK) return undefined;
  const said = (text: string) => `${name}: ${text}`;
  const trouble = (code: ProbeErrorCode, message: string): GrpcClassification => ({
    code,
    message: said(message),
    connectionTrouble: true,
  });

  if (status.code === grpc.status.DEADLINE_EXCEEDED) {
    // The local deadline, or a server that gave up on its own deadline before ours (rare): both TIMEOUT.
    const ours = ctx.elapsedMs >= ctx.timeoutMs - 1 || /^Deadline exceeded after/.test(details);
    const drops = ctx.droppedBeforeHandshake ?? 0;
    if (ours && drops > 0 && ctx.stage !== 'response' && ctx.stage !== 'message') {
      return trouble(
        'CONNECTION_RESET',
        `${ctx.authority} closed the connection before the HTTP/2 handshake (${drops} ${drops === 1 ? 'attempt' : 'attempts'} in ${Math.round(ctx.timeoutMs)} ms)`,
      );
    }
    return ours
      ? trouble(
          'TIMEOUT',
          `timed out after ${Math.round(ctx.timeoutMs)} ms ${describeCallStage(ctx.stage, ctx.authority)}`,
        )
      : { code: 'TIMEOUT', message: said(details || 'the server gave up'), connectionTrouble: false };
  }

  if (status.code === grpc.status.UNAVAILABLE && /^Name resolution failed/.test(details)) {
    const host = ctx.authority.replace(/:\d+$/, '').replace(/^\[|\]$/g, '');
    return trouble('DNS', `could not resolve ${host}`);
  }
  if (status.code === grpc.status.UNAVAILABLE && /^No connection established/.test(details)) {
    const reason = lastError(details);
    if (/ECONNREFUSED/.test(reason))
      return trouble('CONNECTION_REFUSED', `connection refused by ${ctx.authority}`);
    if (/ENOTFOUND|EAI_AGAIN|EAI_FAIL|EAI_NODATA|EAI_NONAME/.test(reason)) {
      return trouble('DNS', `could not resolve ${ctx.authority} (${reason})`);
    }
    if (TLS_TROUBLE.test(reason))
      return trouble('TLS', `TLS handshake with ${ctx.authority} failed: ${reason}`);
    if (/^Protocol error/i.test(reason)) {
      return trouble('PROTOCOL', `${ctx.authority} does not speak HTTP/2 (gRPC): ${reason}`);
    }
    if (/ECONNRESET|EPIPE|ECONNABORTED|Failed to connect|closed|hang up/i.test(reason)) {
      return trouble(
        'CONNECTION_RESET',
        `connection closed by ${ctx.authority} before the HTTP/2 handshake completed (${reason})`,
      );
    }
    return trouble('NETWORK', `no connection to ${ctx.authority}: ${reason}`);
  }
  if (status.code === grpc.status.UNAVAILABLE && /^Connection dropped|ECONNRESET|EPIPE/.test(details)) {
    return trouble('CONNECTION_RESET', `connection to ${ctx.authority} dropped during the call (${details})`);
  }
  if (/\(Call ended without gRPC status\)$/.test(details)) {
    return {
      code: 'PROTOCOL',
      message: said(`${ctx.authority} ended the call without a gRPC status (${details})`),
      connectionTrouble: false,
    };
  }
  if (/^Received RST_STREAM|^Stream refused by server/.test(details)) {
    return trouble('CONNECTION_RESET', `${ctx.authority} reset the call's stream (${details})`);
  }
  if (status.code === grpc.status.CANCELLED && details === 'Call cancelled') {
    // grpc-js's words for the peer's RST_STREAM(CANCEL); Vigil's own cancellations never get here.
    return trouble('CONNECTION_RESET', `${ctx.authority} cancelled the call's stream (RST_STREAM CANCEL)`);
  }
  if (/^(Write error|Write failed|Failed to start HTTP\/2 stream)/.test(details)) {
    return trouble('CONNECTION_RESET', `the call could not be sent to ${ctx.authority} (${details})`);
  }
  if (status.code === grpc.status.RESOURCE_EXHAUSTED && /^Received message larger than max/.test(details)) {
    const size = /\((\d+) vs \d+\)/.exec(details)?.[1];
    return {
      code: 'BODY_TOO_LARGE',
      message: said(
        `response message from ${ctx.authority} exceeds the ${ctx.maxBodyBytes}-byte cap${size ? ` (${size} bytes)` : ''}; reading stopped`,
      ),
      connectionTrouble: false,
    };
  }
  if (/^(Response message parsing error|No status information received|No message received)/.test(details)) {
    return {
      code: 'PROTOCOL',
      message: said(`${ctx.authority} answered outside the gRPC protocol: ${details}`),
      connectionTrouble: false,
    };
  }
  if (/^Request message serialization failure/.test(details)) {
    return {
      code: 'PROTOCOL',
      message: said(`could not encode the request: ${details}`),
      connectionTrouble: false,
    };
  }
  const connected = ctx.stage === 'response' || ctx.stage === 'message';
  if (!connected && status.code !== grpc.status.CANCELLED) {
    // Made up locally before any connection (the channel closed, a bad address): not the server's word.
    return trouble('NETWORK', `no answer from ${ctx.authority}: ${details || 'no details'}`);
  }
  return {
    code: 'UNEXPECTED_STATUS',
    message: said(details === '' ? 'no details' : details),
    connectionTrouble: false,
  };
}

// ---------------------------------------------------------------------------------------------
// Metadata

/** `Bearer …` / `Basic base64(user:password)`. */
function authorization(auth: AuthConfig): string {
  if ('bearer' in auth) return `Bearer ${auth.bearer}`;
  const { username, password } = auth.basic;
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

const METADATA_NAME = /^[0-9a-z_.-]+$/;

function metadataOf(request: GrpcRequest<unknown, unknown>): {
  metadata: grpc.Metadata;
  shown: Record<string, string>;
} {
  const metadata = new grpc.Metadata();
  const shown: Record<string, string> = {};
  const add = (rawName: string, value: string): void => {
    const name = rawName.toLowerCase();
    if (!METADATA_NAME.test(name) || name.startsWith('grpc-')) {
      throw invalidRequest(`invalid gRPC metadata name ${JSON.stringify(rawName)}`);
    }
    try {
      if (name.endsWith('-bin')) metadata.set(name, Buffer.from(value, 'base64'));
      else metadata.set(name, value);
    } catch (err) {
      throw invalidRequest(`invalid value for gRPC metadata ${name}: ${(err as Error).message}`);
    }
    shown[name] = isSecretHeader(name) ? REDACTED : value;
  };
  for (const [name, value] of Object.entries(request.metadata ?? {})) add(name, value);
  if (request.auth) add('authorization', authorization(request.auth));
  return { metadata, shown };
}

/** Received metadata as text: names lower-case, values joined by ", ", bytes as base64, credentials redacted. */
function shownMetadata(metadata: grpc.Metadata | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!metadata) return out;
  for (const [name, values] of Object.entries(metadata.toJSON())) {
    if (name === '__proto__') continue;
    out[name] = isSecretHeader(name)
      ? REDACTED
      : values.map((v) => (typeof v === 'string' ? v : Buffer.from(v).toString('base64'))).join(', ');
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// The client

function zeroPhases(): PhaseTimings {
  return { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 };
}

function statusOf(code: number, details: string): GrpcStatus {
  return { code, name: GRPC_STATUS_NAMES[code] ?? 'UNKNOWN', details };
}

const READY = grpc.connectivityState.READY;

/**
 * Creates the prober's gRPC client.
 *
 * Each {@link GrpcClient.unary} call:
 * - goes out on the channel for its (address, TLS identity, `maxBodyBytes`), created on first use and
 *   reused by later calls as the HTTP client reuses keep-alive connections (one HTTP/2 connection
 *   carries every call; at most `maxChannels` channels, the least recently used closed beyond that).
 *   A call that fails for the connection's sake (refused, reset, TLS, DNS, timeout, abort) drops its
 *   channel: the next call connects afresh instead of waiting out gRPC's reconnect backoff or a dead
 *   connection.
 * - has the deadline `timeoutMs` (sent to the server as `grpc-timeout`), over connecting and the whole
 *   response; on expiry: `TIMEOUT`, saying where it was (`DEADLINE_EXCEEDED: timed out after 2000 ms
 *   waiting for the response from 127.0.0.1:8001`). `signal` cancels the same way: `TIMEOUT` when its
 *   reason is a `TimeoutError`, else `NETWORK` (`CANCELLED: aborted by the caller …`).
 * - refuses a response message larger than `maxBodyBytes` (default 1 MiB, the HTTP body cap):
 *   `BODY_TOO_LARGE`.
 * - for `grpcs:` / `https:`, verifies TLS against `tls.ca` (else Node's bundled roots), presents
 *   `tls.cert`/`tls.key`, checks the certificate against `tls.serverName` (else the URL's host; an IP
 *   literal gets no SNI) and skips verification only with `insecureSkipVerify` — as the HTTP client.
 * - sends `metadata`, then `auth` as `authorization`; the exchange's `request.metadata` shows
 *   credential-bearing names (`authorization`, `x-api-key`, `cookie`, …) as `[REDACTED]`, as do its
 *   `headers` and `trailers`.
 * - maps a status other than OK to a code with `classifyGrpcStatus`.
 *
 * It rejects only for programming errors: a closed client, a URL that is not grpc(s)/http(s) or has a
 * path, a non-positive `timeoutMs`, invalid metadata (`VigilError` `VIGIL_ERR_PROBE_INVALID_REQUEST` /
 * `VIGIL_ERR_PROBE_CLIENT_CLOSED`). TLS material that cannot be used (a malformed PEM, a key without its
 * certificate) is a `TLS` exchange error.
 *
 * @example
 * const client = createGrpcClient();
 * const { status, message, error, phases } = await client.unary({
 *   url: 'grpc://127.0.0.1:8001', method: grpcHealthCheck(), message: { service: '' }, timeoutMs: 2000,
 * });
 * await client.close();
 */
export function createGrpcClient(options: GrpcClientOptions = {}): GrpcClient {
  const maxChannels = options.maxChannels ?? DEFAULT_MAX_GRPC_CHANNELS;
  const userAgent = options.userAgent ?? 'vigil';
  // Insertion order is recency: a hit moves its entry to the end.
  const channels = new Map<string, ChannelEntry>();
  // Every channel not closed yet, in the cache or evicted and waiting for its last call.
  const live = new Set<ChannelEntry>();
  let closed = false;

  function closeEntry(entry: ChannelEntry): void {
    live.delete(entry);
    entry.client.close();
    for (const socket of entry.sockets) socket.destroy();
    entry.sockets.clear();
  }

  function evict(entry: ChannelEntry): void {
    if (entry.evicted) return;
    entry.evicted = true;
    if (channels.get(entry.key) === entry) channels.delete(entry.key);
    if (entry.inflight === 0) closeEntry(entry);
  }

  function channelFor(target: Target, material: GrpcTls | undefined, maxBodyBytes: number): ChannelEntry {
    const key = `${target.secure ? 's' : 'p'}|${target.authority}|${maxBodyBytes}|${target.secure ? tlsKeyOf(material) : '-'}`;
    const hit = channels.get(key);
    if (hit) {
      channels.delete(key);
      channels.set(key, hit);
      return hit;
    }
    let context: tls.SecureContext | undefined;
    if (target.secure) {
      const m = material ?? {};
      // Throws for unusable material; the caller turns that into a TLS exchange error.
      const contextOptions: tls.SecureContextOptions = {};
      if (m.ca !== undefined) contextOptions.ca = m.ca;
      if (m.cert !== undefined) contextOptions.cert = m.cert;
      if (m.key !== undefined) contextOptions.key = m.key;
      context = tls.createSecureContext(contextOptions);
    }
    const entry: ChannelEntry = {
      key,
      client: undefined as unknown as grpc.Client,
      inflight: 0,
      evicted: false,
      sockets: new Set(),
      tcpAt: -1,
      secureAt: -1,
      droppedAt: -1,
      drops: 0,
    };
    const credentials = new ProbeCredentials(
      entry,
      target,
      context === undefined ? undefined : { context, material: material ?? {} },
    );
    entry.client = new grpc.Client(target.authority, credentials, {
      // Each client owns its connections (grpc-js shares them process-wide by default), so close() ends them.
      'grpc.use_local_subchannel_pool': 1,
      'grpc.max_receive_message_length': maxBodyBytes,
      'grpc.primary_user_agent': userAgent,
      'grpc.enable_channelz': 0,
      // No DNS TXT look-ups for a service config: a probe should ask exactly what it was told to.
      'grpc.service_config_disable_resolution': 1,
    });
    channels.set(key, entry);
    live.add(entry);
    while (channels.size > maxChannels) {
      const oldest = channels.values().next().value as ChannelEntry;
      evict(oldest);
    }
    return entry;
  }

  async function unary<Req, Res>(req: GrpcRequest<Req, Res>): Promise<GrpcExchange<Res>> {
    if (closed) throw new VigilError('VIGIL_ERR_PROBE_CLIENT_CLOSED', 'the gRPC client is closed');
    const target = targetOf(req.url);
    if (!(req.timeoutMs > 0) || !Number.isFinite(req.timeoutMs)) {
      throw invalidRequest(`timeoutMs must be a positive number of milliseconds, got ${req.timeoutMs}`);
    }
    const { metadata, shown } = metadataOf(req as GrpcRequest<unknown, unknown>);
    const maxBodyBytes = req.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
    const record: GrpcCallRecord = {
      url: `${target.base}${req.method.path}`,
      method: req.method.path,
      metadata: shown,
    };
    const started = performance.now();
    const phases = zeroPhases();
    const finish = (
      status: GrpcStatus,
      extra: { message?: Res; error?: GrpcExchange<Res>['error']; reused?: boolean } = {},
    ): GrpcExchange<Res> => {
      const exchange: GrpcExchange<Res> = {
        status,
        phases,
        durationMs: performance.now() - started,
        reused: extra.reused ?? false,
        request: record,
      };
      if (extra.message !== undefined) exchange.message = extra.message;
      if (extra.error !== undefined) exchange.error = extra.error;
      return exchange;
    };

    let entry: ChannelEntry;
    try {
      entry = channelFor(target, req.tls, maxBodyBytes);
    } catch (err) {
      const reason = (err as Error).message.replace(/\s+/g, ' ');
      return finish(statusOf(grpc.status.UNAVAILABLE, reason), {
        error: {
          code: 'TLS',
          message: `UNAVAILABLE: cannot use the TLS material for ${target.authority}: ${reason}`,
        },
      });
    }

    const { signal } = req;
    const abortError = (stage: string): GrpcExchange<Res>['error'] => {
      const reason = signal?.reason as { name?: string; message?: string } | undefined;
      if (reason?.name === 'TimeoutError') {
        return { code: 'TIMEOUT', message: `CANCELLED: timed out (aborted by the caller) ${stage}` };
      }
      const why = reason?.message ? `: ${reason.message}` : '';
      return { code: 'NETWORK', message: `CANCELLED: aborted by the caller ${stage}${why}` };
    };
    if (signal?.aborted) {
      return finish(statusOf(grpc.status.CANCELLED, 'aborted before the call'), {
        error: abortError(`before calling ${target.authority}`),
      });
    }

    const channel = entry.client.getChannel();
    const startState = channel.getConnectivityState(false);
    const reused = startState === READY;
    if (!reused && startState !== grpc.connectivityState.CONNECTING) {
      entry.tcpAt = -1;
      entry.secureAt = -1;
    }
    entry.inflight++;
    const dropsBefore = entry.drops;

    return new Promise<GrpcExchange<Res>>((resolve) => {
      let tReady = reused ? started : -1;
      let tHeaders = -1;
      let done = false;
      let value: Res | undefined;
      let headers: grpc.Metadata | undefined;
      let aborted: GrpcExchange<Res>['error'];

      const watch = (state: grpc.connectivityState): void => {
        // Bounded by the deadline; grpc-js calls back on the next state change (or SHUTDOWN on close).
        channel.watchConnectivityState(state, started + req.timeoutMs + performance.timeOrigin, (err) => {
          if (err || done) return;
          const next = channel.getConnectivityState(false);
          if (next === READY) tReady = performance.now();
          else if (next !== grpc.connectivityState.SHUTDOWN) watch(next);
        });
      };
      if (!reused) watch(startState);

      const call = entry.client.makeUnaryRequest<Req, Res>(
        req.method.path,
        req.method.serialize,
        req.method.deserialize,
        req.message,
        metadata,
        { deadline: Date.now() + req.timeoutMs },
        (_err, response) => {
          value = response;
        },
      );

      const stageNow = (): CallStage => {
        if (tHeaders >= 0) return 'message';
        if (tReady >= 0 || channel.getConnectivityState(false) === READY) return 'response';
        // The latest attempt's progress, if it is this call's (or began while this call waited).
        if (entry.tcpAt < 0) return 'connect';
        if (target.secure && entry.secureAt < entry.tcpAt) return 'tls';
        return 'http2';
      };
      const onAbort = (): void => {
        aborted = abortError(describeCallStage(stageNow(), target.authority));
        call.cancel();
      };
      signal?.addEventListener('abort', onAbort, { once: true });

      call.once('metadata', (received: grpc.Metadata) => {
        tHeaders = performance.now();
        if (tReady < 0) tReady = tHeaders;
        headers = received;
      });
      call.once('status', (received: grpc.StatusObject) => {
        done = true;
        const tEnd = performance.now();
        signal?.removeEventListener('abort', onAbort);
        const status = statusOf(received.code, received.details ?? '');
        const stage = stageNow();
        const connected = stage === 'response' || stage === 'message';

        if (!reused && tReady >= 0) {
          const tcp = Math.max(started, entry.tcpAt);
          const secure = Math.max(tcp, entry.secureAt);
          const ready = Math.max(secure, tReady);
          phases.connectMs = tcp - started + (ready - secure);
          phases.tlsMs = secure - tcp;
        } else if (!reused && entry.tcpAt >= started) {
          phases.connectMs = entry.tcpAt - started;
          if (entry.secureAt >= entry.tcpAt && target.secure) phases.tlsMs = entry.secureAt - entry.tcpAt;
        }
        if (connected && tReady >= 0) {
          const sent = Math.max(started, tReady);
          phases.processingMs = Math.max(0, (tHeaders >= 0 ? tHeaders : tEnd) - sent);
          if (tHeaders >= 0) phases.transferMs = tEnd - tHeaders;
        }

        let error: GrpcExchange<Res>['error'];
        let connectionTrouble = false;
        if (aborted !== undefined) {
          error = aborted;
          connectionTrouble = true;
        } else {
          const classified = classifyGrpcStatus(status, {
            authority: target.authority,
            stage,
            timeoutMs: req.timeoutMs,
            elapsedMs: tEnd - started,
            maxBodyBytes,
            droppedBeforeHandshake: entry.drops - dropsBefore,
          });
          if (classified) {
            error = { code: classified.code, message: classified.message };
            connectionTrouble = classified.connectionTrouble;
          }
        }

        entry.inflight--;
        if (connectionTrouble || closed) evict(entry);
        else if (entry.evicted && entry.inflight === 0) closeEntry(entry);

        const exchange = finish(
          status,
          error === undefined ? { message: value as Res, reused } : { error, reused },
        );
        if (headers !== undefined) exchange.headers = shownMetadata(headers);
        if (received.metadata !== undefined) exchange.trailers = shownMetadata(received.metadata);
        resolve(exchange);
      });
    });
  }

  return {
    unary,
    channelCount: () => channels.size,
    async close() {
      closed = true;
      channels.clear();
      for (const entry of [...live]) {
        entry.evicted = true;
        closeEntry(entry);
      }
    },
  };
}
