/**
 * What the hub shows its readers besides states: a check's configuration without secrets, the latest
 * exchange redacted, recent durations, and alerts with their mute state. Pure helpers over the hub's
 * in-memory data.
 */
import type { Dispatcher } from '../alerting/dispatcher.js';
import type { Alert } from '../alerting/types.js';
import { REDACTED } from '../diagnostics/redact.js';
import type { CapturedExchange } from '../probe/run-probe.js';
import type { CheckPlan } from '../types.js';
import { type AlertStatus, type CheckInfo, type ExchangeView, RECENT_DURATIONS } from './types.js';

/** Bodies shown are cut here: enough for any smoke payload, bounded for a hostile one (bytes). */
export const EXCHANGE_BODY_LIMIT = 64 * 1024;

/**
 * Headers whose values are credentials, whatever the config says: RFC 9110's Authorization and
 * Proxy-Authorization, cookies, and the API-key and token headers serving stacks use.
 */
const SECRET_HEADER =
  /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token)$/i;

/** Query parameters that carry credentials (`?api_key=`, `?token=`, AWS-style signatures). */
const SECRET_PARAM = /(?:key|token|secret|password|signature|auth)/i;

/** The last {@link RECENT_DURATIONS} durations of one (check, region), in a fixed ring. */
export class RecentDurations {
  // A plain array of doubles: a Float64Array per check also costs an ArrayBuffer and off-heap memory.
  readonly #ring: number[] = new Array<number>(RECENT_DURATIONS).fill(0);
  #next = 0;
  #count = 0;

  push(ms: number): void {
    this.#ring[this.#next] = ms;
    this.#next = (this.#next + 1) % RECENT_DURATIONS;
    if (this.#count < RECENT_DURATIONS) this.#count++;
  }

  /** Oldest first, rounded to 0.1 ms. */
  values(): number[] {
    const out: number[] = [];
    const start = (this.#next - this.#count + RECENT_DURATIONS) % RECENT_DURATIONS;
    for (let i = 0; i < this.#count; i++) {
      out.push(Math.round((this.#ring[(start + i) % RECENT_DURATIONS] ?? 0) * 10) / 10);
    }
    return out;
  }
}

/** The URL without userinfo and with credential-like query parameters redacted. */
function safeUrl(raw: string, redact: (text: string) => string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    for (const name of [...url.searchParams.keys()]) {
      if (SECRET_PARAM.test(name)) url.searchParams.set(name, REDACTED);
    }
    return redact(url.toString());
  } catch {
    return redact(raw);
  }
}

function safeHeaders(headers: Record<string, string> | undefined, redact: (text: string) => string) {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    out[name] = SECRET_HEADER.test(name) ? REDACTED : redact(value);
  }
  return out;
}

function bodyText(body: string | Uint8Array | undefined): { text: string; truncated: boolean } {
  if (body === undefined) return { text: '', truncated: false };
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  const truncated = bytes.byteLength > EXCHANGE_BODY_LIMIT;
  const cut = truncated ? bytes.subarray(0, EXCHANGE_BODY_LIMIT) : bytes;
  return { text: Buffer.from(cut.buffer, cut.byteOffset, cut.byteLength).toString('utf8'), truncated };
}

/**
 * A captured exchange as readers see it: credential headers and query parameters replaced by
 * `[REDACTED]`, every other text passed through `redact` (the config's `${VAR}` secrets), bodies as
 * UTF-8 text cut at {@link EXCHANGE_BODY_LIMIT} bytes.
 */
export function exchangeView(captured: CapturedExchange, redact: (text: string) => string): ExchangeView {
  const { request, exchange } = captured;
  const requestBody = bodyText(request.body);
  const view: ExchangeView = {
    at: captured.startedAt,
    request: {
      method: request.method ?? 'GET',
      url: safeUrl(request.url, redact),
      headers: safeHeaders(request.headers, redact),
    },
  };
  if (request.body !== undefined) view.request.body = redact(requestBody.text);
  if (exchange.response) {
    const body = bodyText(exchange.response.body);
    view.response = {
      status: exchange.response.status,
      headers: safeHeaders(exchange.response.headers, redact),
      body: redact(body.text),
      truncated: body.truncated,
    };
  }
  if (exchange.error) view.error = { code: exchange.error.code, message: redact(exchange.error.message) };
  return view;
}

/** A check's plan as readers may see it (no headers, auth or payloads). */
export function checkInfoOf(plan: CheckPlan): CheckInfo {
  const info: CheckInfo = {
    checkId: plan.id,
    target: plan.target.name,
    check: plan.kind,
    url: safeUrl(plan.target.url, (t) => t),
    protocol: plan.target.protocol,
    labels: plan.target.labels,
    intervalMs: plan.intervalMs,
    timeoutMs: plan.timeoutMs,
    fastIntervalMs: plan.fastIntervalMs,
    failureThreshold: plan.failureThreshold,
    successThreshold: plan.successThreshold,
  };
  if (plan.target.model !== undefined) info.model = plan.target.model;
  const latency = plan.expect.latency;
  if (latency?.degradedMs !== undefined) info.degradedMs = latency.degradedMs;
  if (latency?.failedMs !== undefined) info.failedMs = latency.failedMs;
  return info;
}

/**
 * Firing alerts with their mute state (Alertmanager's `active` / `suppressed`), critical first, then
 * oldest first. Without alerting configured nothing mutes: every alert is `active`.
 */
export async function alertStatuses(
  firing: readonly Alert[],
  dispatcher: Dispatcher | undefined,
): Promise<AlertStatus[]> {
  const reasons = dispatcher === undefined ? new Map<string, string>() : await dispatcher.muteReasons(firing);
  const rank = (a: Alert) => (a.labels.severity === 'critical' ? 0 : a.labels.severity === 'warning' ? 1 : 2);
  return firing
    .map((alert): AlertStatus => {
      const mutedBy = reasons.get(alert.fingerprint);
      return mutedBy === undefined
        ? { ...alert, state: 'active' }
        : { ...alert, state: 'suppressed', mutedBy };
    })
    .sort((a, b) => rank(a) - rank(b) || a.startsAt - b.startsAt);
}
