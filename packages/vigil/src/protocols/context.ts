/**
 * The bridge between a protocol adapter and the HTTP client: {@link createAdapterContext} binds a
 * client to one target (URL, headers, auth, TLS, body cap, redirects) and to one probe's time budget.
 */
import { readFile } from 'node:fs/promises';
import type {
  AdapterContext,
  HttpClient,
  HttpExchange,
  HttpRequest,
  TargetConfig,
  TlsConfig,
} from '../types.js';

/** A probe's time budget: every request of the probe shares it. */
export interface ProbeDeadline {
  /** The probe's whole timeout, in milliseconds. */
  timeoutMs: number;
  /**
   * When the probe started, as `performance.now()` (the monotonic clock, so a wall-clock step cannot
   * stretch or shrink the budget).
   */
  startedAt: number;
}

type TlsMaterial = NonNullable<HttpRequest['tls']>;

// PEM contents per TLS config object: read once, reused by every probe of the target. Keyed by the
// (frozen) config object, so a config reload, which builds new objects, re-reads rotated files.
const tlsCache = new WeakMap<TlsConfig, Promise<TlsMaterial>>();

async function loadTls(tls: TlsConfig): Promise<TlsMaterial> {
  const [ca, cert, key] = await Promise.all([
    tls.caFile === undefined ? undefined : readFile(tls.caFile),
    tls.certFile === undefined ? undefined : readFile(tls.certFile),
    tls.keyFile === undefined ? undefined : readFile(tls.keyFile),
  ]);
  const material: TlsMaterial = {};
  if (ca) material.ca = ca;
  if (cert) material.cert = cert;
  if (key) material.key = key;
  if (tls.serverName !== undefined) material.serverName = tls.serverName;
  if (tls.insecureSkipVerify) material.insecureSkipVerify = true;
  return material;
}

function tlsFor(tls: TlsConfig): Promise<TlsMaterial> {
  let material = tlsCache.get(tls);
  if (!material) {
    material = loadTls(tls);
    tlsCache.set(tls, material);
    // A failed read is not cached: the next probe tries again (the file may have been fixed).
    material.catch(() => tlsCache.delete(tls));
  }
  return material;
}

const ZERO_PHASES = { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 };

function failedExchange(code: 'TIMEOUT' | 'TLS', message: string): HttpExchange {
  return { error: { code, message }, phases: { ...ZERO_PHASES }, durationMs: 0 };
}

/** `authorization` header value for the target's credentials. */
function authorization(target: TargetConfig): string | undefined {
  const { auth } = target;
  if (!auth) return undefined;
  if ('bearer' in auth) return `Bearer ${auth.bearer}`;
  const { username, password } = auth.basic;
  return `Basic ${Buffer.from(`${username}:${password}`, 'utf8').toString('base64')}`;
}

/** Joins a base URL and a path with exactly one slash between them; a base path prefix is kept. */
export function joinUrl(base: string, path: string): string {
  const trimmed = base.replace(/\/+$/, '');
  if (path === '') return trimmed;
  return path.startsWith('/') ? `${trimmed}${path}` : `${trimmed}/${path}`;
}

/**
 * Binds an HTTP client to one target and one probe. Each `fetch`:
 * - sends to `baseUrl ?? target.url` joined with `path`;
 * - sends the target's headers, then its credentials (`bearer` → `authorization: Bearer …`, `basic` →
 *   `authorization: Basic base64(user:password)`), then the request's own headers (header names are
 *   merged case-insensitively, later ones win, and sent lower-case);
 * - sends a string or byte body as is and anything else as JSON with `content-type: application/json`;
 * - applies the target's `maxBodyBytes`, `maxRedirects`, `proxyUrl` and TLS options (the PEM files named by
 *   `target.tls` are read once per TLS config object and cached; a file that cannot be read gives a
 *   `TLS` exchange error, not an exception);
 * - gets what is left of the probe's timeout as its `timeoutMs`: the probe's timeout is shared by all of
 *   its requests. When nothing is left, no request is sent and the exchange carries a `TIMEOUT` error.
 *
 * Never throws for network faults: they come back as `exchange.error`.
 *
 * @example
 * const ctx = createAdapterContext(client, plan.target, { timeoutMs: plan.timeoutMs, startedAt: performance.now() });
 * const exchange = await ctx.fetch({ path: '/v2/health/live' });
 */
export function createAdapterContext(
  client: HttpClient,
  target: TargetConfig,
  deadline: ProbeDeadline,
): AdapterContext {
  const credentials = authorization(target);
  const baseHeaders: Record<string, string> = {};
  for (const [name, value] of Object.entries(target.headers)) baseHeaders[name.toLowerCase()] = value;
  if (credentials !== undefined) baseHeaders.authorization = credentials;

  return {
    target,
    async fetch({ path, method = 'GET', body, headers, baseUrl, signal, onBody }) {
      const url = joinUrl(baseUrl ?? target.url, path);
      const merged: Record<string, string> = { ...baseHeaders };
      let encoded: string | Uint8Array | undefined;
      if (typeof body === 'string' || body instanceof Uint8Array) encoded = body;
      else if (body !== undefined) {
        encoded = JSON.stringify(body);
        merged['content-type'] = 'application/json';
      }
      for (const [name, value] of Object.entries(headers ?? {})) merged[name.toLowerCase()] = value;

      let tls: TlsMaterial | undefined;
      if (target.tls) {
        try {
          tls = await tlsFor(target.tls);
        } catch (err) {
          return failedExchange(
            'TLS',
            `cannot read the TLS files of target "${target.name}": ${(err as Error).message}`,
          );
        }
      }

      const remainingMs = deadline.timeoutMs - (performance.now() - deadline.startedAt);
      if (remainingMs <= 0) {
        return failedExchange(
          'TIMEOUT',
          `probe timeout of ${deadline.timeoutMs} ms used up before ${method} ${url} was sent`,
        );
      }
      const request: HttpRequest = {
        url,
        method,
        headers: merged,
        timeoutMs: remainingMs,
        maxBodyBytes: target.maxBodyBytes,
        maxRedirects: target.maxRedirects,
      };
      if (encoded !== undefined) request.body = encoded;
      if (tls) request.tls = tls;
      if (signal) request.signal = signal;
      if (onBody) request.onBody = onBody;
      if (target.proxyUrl !== undefined) request.proxyUrl = target.proxyUrl;
      return client.request(request);
    },
  };
}
