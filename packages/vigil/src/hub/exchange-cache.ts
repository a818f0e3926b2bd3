/**
 * The latest exchange of each check this hub probes, for the dashboard: captured as probes run,
 * kept only when worth the memory, redacted when read. Memory only. Keys are the caller's (the hub
 * uses check ids: it captures only its own region's probes).
 */
import {
  isPublicHeader,
  isSecretHeader,
  isSecretParam,
  REDACTED,
  redactSecretParams,
} from '../diagnostics/redact.js';
import type { CapturedExchange, ProbeDeps } from '../probe/run-probe.js';
import type { HttpClient, Outcome } from '../types.js';
import type { ExchangeView } from './types.js';

/**
 * How long after a reader asked for a check's latest exchange its passing exchanges are kept too
 * (failing and degraded ones always are): 10 minutes, while its page is open (the page asks again
 * after each result).
 */
export const WATCH_MS = 10 * 60_000;

/** Bodies shown are cut here: enough for any smoke payload, bounded for a hostile one (bytes). */
export const EXCHANGE_BODY_LIMIT = 64 * 1024;

/** Options of {@link createExchangeCache}. */
export interface ExchangeCacheOptions {
  /** The client and region every probe runs with: the base of {@link ExchangeCache.probeDeps}. */
  client: HttpClient;
  region: string;
  /**
   * Replaces the config's secrets in text shown to readers (`LoadedConfig.redact`). Whatever it does,
   * credential headers, every request header but the public ones (Content-Type, Accept, …) and
   * credential-named query parameters anywhere in the text are always redacted.
   */
  redact?: (text: string) => string;
  /** How long asking for a key keeps its passing exchanges, ms. Default {@link WATCH_MS}. */
  watchMs?: number;
  /** Clock for watching, ms since epoch. Default `Date.now`. */
  now?: () => number;
}

/** The exchanges of a hub's checks; see {@link createExchangeCache}. */
export interface ExchangeCache {
  /**
   * The deps to run `key`'s probes with (`runProbe(plan, deps)`): the client and region, and an
   * `onExchange` that captures into `key`'s slot. Made once per key and reused, so a probe allocates
   * neither deps nor a callback. The caller runs at most one probe per key at a time (the
   * scheduler does), then calls {@link settle}.
   */
  probeDeps(key: string): ProbeDeps;
  /**
   * After `key`'s probe with this outcome: keeps the exchange it captured when the probe failed or
   * degraded, or when `key` was read within `watchMs`; otherwise drops it (and the one kept before).
   */
  settle(key: string, outcome: Outcome): void;
  /**
   * The exchange kept for `key`, as readers may see it ({@link exchangeView}); marks `key` watched
   * so its next passing exchanges are kept too. Undefined for an unknown key or when none is kept.
   */
  read(key: string): ExchangeView | undefined;
  /** Forgets `key` (its check was removed). */
  delete(key: string): void;
}

/**
 * One key's slot, which is also the deps its probes run with: one object per check, not one per
 * probe. `onExchange` is bound once, here.
 */
class Slot implements ProbeDeps {
  readonly client: HttpClient;
  readonly region: string;
  /** Captured by the probe in flight; settled into `kept` or dropped. */
  latest: CapturedExchange | undefined = undefined;
  kept: CapturedExchange | undefined = undefined;
  /** When a reader last asked, ms since epoch. */
  watchedAt = Number.NEGATIVE_INFINITY;
  readonly onExchange = (captured: CapturedExchange): void => {
    this.latest = captured;
  };

  constructor(client: HttpClient, region: string) {
    this.client = client;
    this.region = region;
  }
}

/**
 * Creates the exchange cache of a hub. At 10,000 checks, holding every passing exchange would cost
 * tens of MB for pages nobody opens: a passing exchange is kept only while someone watches its check.
 *
 * @example
 * ```ts
 * const exchanges = createExchangeCache({ client, region: 'local', redact: loaded.redact });
 * const result = await runProbe(plan, exchanges.probeDeps(plan.id));
 * exchanges.settle(plan.id, result.outcome);
 * const view = exchanges.read(plan.id); // redacted, or undefined when it passed and nobody watched
 * ```
 */
export function createExchangeCache(options: ExchangeCacheOptions): ExchangeCache {
  const { client, region } = options;
  const redact = options.redact ?? ((text: string) => text);
  const watchMs = options.watchMs ?? WATCH_MS;
  const now = options.now ?? Date.now;
  const slots = new Map<string, Slot>();

  return {
    probeDeps(key) {
      let slot = slots.get(key);
      if (slot === undefined) {
        slot = new Slot(client, region);
        slots.set(key, slot);
      }
      return slot;
    },
    settle(key, outcome) {
      const slot = slots.get(key);
      if (slot === undefined) return;
      const captured = slot.latest;
      slot.latest = undefined;
      slot.kept =
        captured !== undefined && (outcome !== 'pass' || now() - slot.watchedAt < watchMs)
          ? captured
          : undefined;
    },
    read(key) {
      const slot = slots.get(key);
      if (slot === undefined) return undefined;
      slot.watchedAt = now();
      return slot.kept === undefined ? undefined : exchangeView(slot.kept, redact);
    },
    delete(key) {
      slots.delete(key);
    },
  };
}

/** The URL without userinfo and with credential-like query parameters redacted. */
export function safeUrl(raw: string, redact: (text: string) => string): string {
  try {
    const url = new URL(raw);
    url.username = '';
    url.password = '';
    for (const name of [...url.searchParams.keys()]) {
      if (isSecretParam(name)) url.searchParams.set(name, REDACTED);
    }
    return redact(url.toString());
  } catch {
    return redact(raw);
  }
}

/**
 * Headers as shown: a credential header's value is `[REDACTED]`; on the request side (what Vigil sent:
 * the config's headers) so is every header but the public ones, so a configured header whose value
 * is too short to replace in free text is hidden here all the same; other values go through `redact`.
 */
function safeHeaders(
  headers: Record<string, string> | undefined,
  redact: (text: string) => string,
  side: 'request' | 'response',
) {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    const hidden = isSecretHeader(name) || (side === 'request' && !isPublicHeader(name));
    out[name] = hidden ? REDACTED : redact(value);
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
 * A captured exchange as readers see it: credential headers (and every request header but the public
 * ones) and credential-named query parameters replaced by `[REDACTED]`, every other text passed
 * through `redact` (the config's secrets, wherever a server echoes them), bodies as
 * UTF-8 text cut at {@link EXCHANGE_BODY_LIMIT} bytes.
 */
export function exchangeView(captured: CapturedExchange, secrets: (text: string) => string): ExchangeView {
  const redact = (text: string) => redactSecretParams(secrets(text));
  const { request, exchange } = captured;
  const requestBody = bodyText(request.body);
  const view: ExchangeView = {
    at: captured.startedAt,
    request: {
      method: request.method ?? 'GET',
      url: safeUrl(request.url, redact),
      headers: safeHeaders(request.headers, redact, 'request'),
    },
  };
  if (request.body !== undefined) view.request.body = redact(requestBody.text);
  if (exchange.response) {
    const body = bodyText(exchange.response.body);
    view.response = {
      status: exchange.response.status,
      headers: safeHeaders(exchange.response.headers, redact, 'response'),
      body: redact(body.text),
      truncated: body.truncated,
    };
  }
  if (exchange.error) view.error = { code: exchange.error.code, message: redact(exchange.error.message) };
  return view;
}
