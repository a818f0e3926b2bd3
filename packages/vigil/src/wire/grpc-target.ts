/**
 * A gRPC client bound to one target and one probe's time budget — what `createAdapterContext` is for
 * HTTP: the target's URL, headers (as metadata), credentials, TLS files, message cap and what is left of
 * the probe's timeout, applied to every call, so that a gRPC protocol adapter only says which method
 * with which message.
 */
import { readFile } from 'node:fs/promises';
import type { TargetConfig, TlsConfig } from '../types.js';
import {
  GRPC_STATUS_NAMES,
  type GrpcClient,
  type GrpcExchange,
  type GrpcMethod,
  type GrpcRequest,
  type GrpcTls,
} from './grpc.js';

/** A probe's time budget, shared by all of its calls (the same shape as the HTTP adapter context's). */
export interface GrpcBudget {
  /** The probe's whole timeout, in ms. */
  timeoutMs: number;
  /** When the probe started, as `performance.now()`. */
  startedAt: number;
}

/** Calls one target's gRPC services within one probe's budget. */
export interface GrpcTargetCaller {
  readonly target: TargetConfig;
  /**
   * One unary call to `target.url`. Never throws for what the network, the server or the TLS files do:
   * those come back as the exchange's `error`.
   */
  call<Req, Res>(method: GrpcMethod<Req, Res>, message: Req): Promise<GrpcExchange<Res>>;
}

// PEM contents per TLS config object, read once and reused by every probe of the target; a reload builds
// new config objects, so rotated files are read again. A failed read is not cached.
const tlsCache = new WeakMap<TlsConfig, Promise<GrpcTls>>();

/**
 * Reads the PEM files a target's TLS config names (`caFile`, `certFile`, `keyFile`) into TLS material,
 * once per config object.
 *
 * @throws the file system's error when a file cannot be read (the caller reports it as `TLS`).
 * @example
 * const material = await readTlsMaterial({ caFile: '/etc/vigil/ca.pem', serverName: 'triton.internal' });
 */
export function readTlsMaterial(tls: TlsConfig): Promise<GrpcTls> {
  let material = tlsCache.get(tls);
  if (!material) {
    material = (async () => {
      const [ca, cert, key] = await Promise.all([
        tls.caFile === undefined ? undefined : readFile(tls.caFile),
        tls.certFile === undefined ? undefined : readFile(tls.certFile),
        tls.keyFile === undefined ? undefined : readFile(tls.keyFile),
      ]);
      const out: GrpcTls = {};
      if (ca) out.ca = ca;
      if (cert) out.cert = cert;
      if (key) out.key = key;
      if (tls.serverName !== undefined) out.serverName = tls.serverName;
      if (tls.insecureSkipVerify) out.insecureSkipVerify = true;
      return out;
    })();
    tlsCache.set(tls, material);
    material.catch(() => tlsCache.delete(tls));
  }
  return material;
}

function notSent<Res>(
  target: TargetConfig,
  path: string,
  status: 'DEADLINE_EXCEEDED' | 'UNAVAILABLE',
  error: NonNullable<GrpcExchange<Res>['error']>,
): GrpcExchange<Res> {
  return {
    status: { code: GRPC_STATUS_NAMES.indexOf(status), name: status, details: 'not sent' },
    error,
    phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 },
    durationMs: 0,
    reused: false,
    request: { url: `${target.url.replace(/\/+$/, '')}${path}`, method: path, metadata: {} },
  };
}

/**
 * Binds a gRPC client to one target and one probe. Each `call`:
 * - goes to `target.url` (`grpc://` / `grpcs://`, or `http://` / `https://`);
 * - sends the target's `headers` as metadata and its `auth` as `authorization` (redacted in the
 *   exchange's record);
 * - uses the PEM files of `target.tls` (read once per TLS config object; a file that cannot be read is a
 *   `TLS` error, the call is not made) and `target.maxBodyBytes` as the received-message cap;
 * - gets what is left of the probe's timeout as its deadline; when nothing is left, it is not sent and
 *   the exchange carries `TIMEOUT`.
 *
 * @example
 * const grpc = createGrpcClient();
 * const caller = createGrpcTargetCaller(grpc, plan.target, { timeoutMs: plan.timeoutMs, startedAt: performance.now() });
 * const exchange = await caller.call(oipGrpcMethods().ServerLive, {});
 */
export function createGrpcTargetCaller(
  client: GrpcClient,
  target: TargetConfig,
  budget: GrpcBudget,
  options: { signal?: AbortSignal } = {},
): GrpcTargetCaller {
  return {
    target,
    async call<Req, Res>(method: GrpcMethod<Req, Res>, message: Req): Promise<GrpcExchange<Res>> {
      let tls: GrpcTls | undefined;
      if (target.tls) {
        try {
          tls = await readTlsMaterial(target.tls);
        } catch (err) {
          return notSent(target, method.path, 'UNAVAILABLE', {
            code: 'TLS',
            message: `UNAVAILABLE: cannot read the TLS files of target "${target.name}": ${(err as Error).message}`,
          });
        }
      }
      const remainingMs = budget.timeoutMs - (performance.now() - budget.startedAt);
      if (remainingMs <= 0) {
        return notSent(target, method.path, 'DEADLINE_EXCEEDED', {
          code: 'TIMEOUT',
          message: `DEADLINE_EXCEEDED: probe timeout of ${budget.timeoutMs} ms used up before ${method.path} was sent`,
        });
      }
      const request: GrpcRequest<Req, Res> = {
        url: target.url,
        method,
        message,
        metadata: target.headers,
        timeoutMs: remainingMs,
        maxBodyBytes: target.maxBodyBytes,
      };
      if (target.auth) request.auth = target.auth;
      if (tls) request.tls = tls;
      if (options.signal) request.signal = options.signal;
      return client.unary(request);
    },
  };
}
