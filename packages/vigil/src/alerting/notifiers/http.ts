/**
 * The one HTTP path every HTTP notifier uses: POST a body with `fetch`, bounded by the attempt's
 * `context.signal`, and classify the outcome the same way everywhere:
 *
 * | outcome | result |
 * | --- | --- |
 * | 2xx | `ok` |
 * | 408, 429, 5xx | failed, retryable, with `retryAfterMs` from `Retry-After` when sent |
 * | other 4xx | failed, not retryable (the request itself is wrong: bad key, bad body) |
 * | 3xx | failed, not retryable: redirects are not followed, so that a secret-bearing body never goes elsewhere |
 * | network error (refused, reset, DNS) | failed, retryable |
 * | `context.signal` aborted | failed, retryable, "timed out …" |
 *
 * Error texts name the receiver by origin only (`http://127.0.0.1:8080`): the path and query of a
 * webhook URL are often the credential (Slack), so they never appear; the caller's redactor removes any
 * other secret (keys, header values) that a receiver might echo in its response.
 */
import { createRedactor } from '../../diagnostics/redact.js';
import type { DeliveryResult, NotifierContext } from '../types.js';

/** Most of a receiver's response body kept for error messages, in characters. */
export const RESPONSE_SNIPPET_CHARS = 300;
/** Most of a response body read at all, in bytes; the rest is discarded unread. */
const RESPONSE_READ_LIMIT_BYTES = 64 * 1024;

/** One HTTP POST to send. */
export interface HttpPost {
  url: string;
  /** Serialized body (JSON text for every notifier so far). */
  body: string;
  /** Request headers; `Content-Type` defaults to `application/json`. */
  headers?: Readonly<Record<string, string>>;
}

/** The response of a POST that got one (any status). */
export interface HttpResponse {
  status: number;
  statusText: string;
  /** The first 64 KiB of the body as text. */
  body: string;
  /** From `Retry-After` (delta-seconds or an HTTP date, relative to `context.now()`), in ms. */
  retryAfterMs?: number;
}

/**
 * POSTs `post` and returns the response, or a failed {@link DeliveryResult} when none came (network
 * error, abort). Never throws.
 *
 * @param what how error messages name the receiver, e.g. `Slack webhook`
 * @param redact removes secrets from any text put into an error
 */
export async function httpPost(
  post: HttpPost,
  context: NotifierContext,
  what: string,
  redact: (text: string) => string,
): Promise<HttpResponse | Extract<DeliveryResult, { ok: false }>> {
  const startedAt = context.now();
  const origin = safeOrigin(post.url);
  try {
    const headers = new Headers({ 'content-type': 'application/json', 'user-agent': 'Vigil' });
    for (const [key, value] of Object.entries(post.headers ?? {})) headers.set(key, value);
    const response = await fetch(post.url, {
      method: 'POST',
      body: post.body,
      headers,
      redirect: 'manual',
      signal: context.signal,
    });
    const body = await readCapped(response);
    const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), context.now());
    return {
      status: response.status,
      statusText: response.statusText,
      body,
      ...(retryAfterMs !== undefined && { retryAfterMs }),
    };
  } catch (error) {
    const elapsedMs = Math.max(0, context.now() - startedAt);
    if (context.signal.aborted) {
      return {
        ok: false,
        retryable: true,
        error: redact(`${what} at ${origin}: ${abortMessage(context.signal, elapsedMs)}`),
      };
    }
    return { ok: false, retryable: true, error: redact(`${what} at ${origin}: ${networkMessage(error)}`) };
  }
}

/**
 * POSTs and classifies the outcome per the table above. `detail` of an ok result is `HTTP <status>`.
 *
 * @example
 * const result = await postAndClassify({ url, body: JSON.stringify(payload) }, context, 'webhook', redact);
 */
export async function postAndClassify(
  post: HttpPost,
  context: NotifierContext,
  what: string,
  redact: (text: string) => string,
): Promise<DeliveryResult> {
  const response = await httpPost(post, context, what, redact);
  if ('ok' in response) return response;
  return classifyResponse(response, `${what} at ${safeOrigin(post.url)}`, redact);
}

/** Classifies a response that came back, per the table above. */
export function classifyResponse(
  response: HttpResponse,
  where: string,
  redact: (text: string) => string,
): DeliveryResult {
  const { status } = response;
  if (status >= 200 && status < 300) return { ok: true, detail: `HTTP ${status}` };
  const retryable = isRetryableStatus(status);
  // Redact before cutting: a cut through a secret would leave a part of it that no longer matches.
  const snippet = redact(response.body).trim().replace(/\s+/g, ' ');
  const text =
    status >= 300 && status < 400
      ? `${where}: HTTP ${status}: redirects are not followed; configure the final URL`
      : `${where}: HTTP ${status}${response.statusText === '' ? '' : ` ${response.statusText}`}${
          snippet === '' ? '' : `: ${truncateSnippet(snippet)}`
        }`;
  return {
    ok: false,
    retryable,
    error: redact(text),
    ...(retryable && response.retryAfterMs !== undefined && { retryAfterMs: response.retryAfterMs }),
  };
}

/** 408 (request timeout), 429 (rate limited) and every 5xx: worth retrying later. */
export function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || status >= 500;
}

/**
 * Parses a `Retry-After` value (RFC 9110 §10.2.3): delta-seconds (`"120"`) or an HTTP date, into ms from
 * `nowMs`. `undefined` when absent or unreadable; a date in the past gives 0.
 */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * A redactor for a notifier's secrets: each given value, and for URLs also their path, query and every
 * path segment of 8 or more characters (a Slack webhook's `T…/B…/token` parts), so that no part of them
 * can appear in an error.
 */
export function secretRedactor(
  values: readonly (string | undefined)[],
  urls: readonly string[] = [],
): (text: string) => string {
  const secrets: string[] = [];
  for (const value of values) if (value !== undefined && value !== '') secrets.push(value);
  for (const url of urls) {
    secrets.push(url);
    if (!URL.canParse(url)) continue;
    const { pathname, search } = new URL(url);
    if (pathname.length > 1) secrets.push(pathname);
    if (search !== '') secrets.push(search.slice(1));
    for (const segment of pathname.split('/')) if (segment.length >= 8) secrets.push(segment);
  }
  return createRedactor(secrets);
}

/** `scheme://host:port` of a URL, never its path, query or credentials. */
export function safeOrigin(url: string): string {
  return URL.canParse(url) ? new URL(url).origin : '(invalid URL)';
}

/**
 * The message for an aborted attempt: `timed out after 2000 ms` when the signal's reason is a timeout
 * (`AbortSignal.timeout`), else `timed out or cancelled after … (delivery aborted)`.
 */
export function abortMessage(signal: AbortSignal, elapsedMs: number): string {
  const reason: unknown = signal.reason;
  const isTimeout = reason instanceof Error && reason.name === 'TimeoutError';
  return isTimeout
    ? `timed out after ${elapsedMs} ms`
    : `timed out or cancelled after ${elapsedMs} ms (delivery aborted)`;
}

/** `connection failed: ECONNREFUSED (connect ECONNREFUSED 127.0.0.1:9)` from fetch's error and its cause. */
function networkMessage(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const root = cause instanceof Error ? cause : error;
  const code = (root as { code?: unknown } | undefined)?.code;
  const message = root instanceof Error ? root.message : String(root);
  return `request failed: ${typeof code === 'string' ? `${code} (${message})` : message}`;
}

function truncateSnippet(text: string): string {
  return text.length <= RESPONSE_SNIPPET_CHARS ? text : `${text.slice(0, RESPONSE_SNIPPET_CHARS - 1)}…`;
}

/** Reads at most {@link RESPONSE_READ_LIMIT_BYTES} of a body, then cancels the rest. */
async function readCapped(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  while (size < RESPONSE_READ_LIMIT_BYTES) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    size += value.byteLength;
  }
  if (size >= RESPONSE_READ_LIMIT_BYTES) await reader.cancel().catch(() => undefined);
  return new TextDecoder().decode(Buffer.concat(chunks).subarray(0, RESPONSE_READ_LIMIT_BYTES));
}

/** `extra` then `own`, case-insensitively: a configured header never replaces one of Vigil's own. */
export function mergeHeaders(
  extra: Readonly<Record<string, string>>,
  own: Readonly<Record<string, string>>,
): Record<string, string> {
  const merged: Record<string, string> = {};
  const reserved = new Set(Object.keys(own).map((key) => key.toLowerCase()));
  for (const [key, value] of Object.entries(extra)) if (!reserved.has(key.toLowerCase())) merged[key] = value;
  return { ...merged, ...own };
}
