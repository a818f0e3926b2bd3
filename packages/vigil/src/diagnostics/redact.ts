import type { ProbeResult } from '../types.js';

/** What replaces a secret in any text Vigil prints. */
export const REDACTED = '[REDACTED]';

/**
 * Builds a function that replaces every occurrence of each secret in a text with `[REDACTED]`. Each secret
 * is also matched in its JSON-escaped form (as it appears inside a quoted JSON string). Empty strings are
 * ignored; longer secrets are replaced first, so a secret that contains another is hidden whole.
 *
 * @example
 * const redact = createRedactor(['s3cr3t']);
 * redact('Authorization: Bearer s3cr3t'); // 'Authorization: Bearer [REDACTED]'
 * @param secrets the values to hide (the config loader passes every interpolated value and every auth
 *   token, password and basic-auth header value)
 */
export function createRedactor(secrets: Iterable<string>): (text: string) => string {
  const forms = new Set<string>();
  for (const secret of secrets) {
    if (secret === '') continue;
    forms.add(secret);
    forms.add(JSON.stringify(secret).slice(1, -1));
  }
  if (forms.size === 0) return (text) => text;
  const alternatives = [...forms].sort((a, b) => b.length - a.length).map(escapeRegExp);
  const pattern = new RegExp(alternatives.join('|'), 'g');
  return (text) => text.replace(pattern, REDACTED);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Header (and gRPC metadata) names whose values are credentials, whatever the config says: RFC 9110's
 * Authorization and Proxy-Authorization, cookies, and the API-key and token headers serving stacks use.
 */
const SECRET_HEADER =
  /^(?:authorization|proxy-authorization|cookie|set-cookie|x-api-key|api-key|x-auth-token)$/i;

/**
 * True for a header or gRPC metadata name whose value is a credential (`authorization`, `cookie`,
 * `x-api-key`, …, any case): shown as {@link REDACTED} in every captured exchange.
 *
 * @example
 * isSecretHeader('Authorization'); // true
 * isSecretHeader('content-type'); // false
 */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADER.test(name);
}

/**
 * Standard request and representation headers that never carry a credential (RFC 9110 §§ 8, 10.1.5,
 * 12.5: content negotiation and the representation's metadata; RFC 9111's Cache-Control). Every other
 * header a config sets is treated as a secret: its value is redacted wherever it appears (see
 * {@link isConfiguredHeaderSecret}).
 */
const PUBLIC_HEADER =
  /^(?:accept|accept-charset|accept-encoding|accept-language|cache-control|connection|content-encoding|content-language|content-length|content-type|expect|host|pragma|te|user-agent)$/i;

/**
 * Shortest value of a configured header that is not credential-named which Vigil replaces wherever
 * it appears: 4 characters. Shorter values (`X-Debug: 1`, `X-Region: eu`) are no credential, and
 * replacing every `1` of a body would make the exchange unreadable; the header itself is still shown
 * as `[REDACTED]` in the request, whose non-public headers are always hidden.
 */
export const MIN_CONFIGURED_SECRET_LENGTH = 4;

/**
 * True for a standard header that never carries a credential (`content-type`, `accept`, `user-agent`,
 * … any case): the only request headers a shown exchange keeps the values of.
 */
export function isPublicHeader(name: string): boolean {
  return PUBLIC_HEADER.test(name);
}

/**
 * Whether the value a config gives header `name` is a secret to redact everywhere (in exchanges,
 * results, messages, logs): always for a credential-named header ({@link isSecretHeader}); for any
 * other but the public ones ({@link isPublicHeader}) when it is at least
 * {@link MIN_CONFIGURED_SECRET_LENGTH} characters long. Redaction by default: Vigil cannot tell a
 * `X-Tenant-Key` from a `X-Team`, and a shown exchange loses little by hiding both.
 */
export function isConfiguredHeaderSecret(name: string, value: string): boolean {
  if (value === '') return false;
  if (isSecretHeader(name)) return true;
  return !isPublicHeader(name) && value.length >= MIN_CONFIGURED_SECRET_LENGTH;
}

/**
 * Query parameter names whose values are credentials, lower case with `-` as `_`. Sources: the
 * default denylist of Sentry's SDKs (`sentry_sdk/scrubber.py` `DEFAULT_DENYLIST`: password, secret,
 * api_key, auth, token, session, csrf and cookie names), OAuth 2.0's credentials in a query (RFC 6749
 * `code`, `client_secret`; RFC 6750 § 2.3 `access_token`; `refresh_token`, `id_token`), Google's API
 * `key`, and signed URLs (AWS SigV4 `X-Amz-Signature`, `X-Amz-Credential`, `X-Amz-Security-Token`;
 * Google Cloud Storage `X-Goog-Signature`, `X-Goog-Credential`; Azure SAS `sig`).
 */
const SECRET_PARAMS: ReadonlySet<string> = new Set([
  // Sentry's DEFAULT_DENYLIST
  'password',
  'passwd',
  'secret',
  'api_key',
  'apikey',
  'auth',
  'credentials',
  'mysql_pwd',
  'privatekey',
  'private_key',
  'token',
  'session',
  'csrftoken',
  'sessionid',
  'x_csrftoken',
  'x_forwarded_for',
  'set_cookie',
  'cookie',
  'authorization',
  'x_api_key',
  'aiohttp_session',
  'connect.sid',
  'csrf_token',
  'csrf',
  '_csrf',
  '_csrf_token',
  'phpsessid',
  '_session',
  'symfony',
  'user_session',
  '_xsrf',
  'xsrf_token',
  // OAuth 2.0, API keys
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'code',
  'key',
  'pwd',
  // Signed URLs
  'signature',
  'sig',
  'x_amz_signature',
  'x_amz_credential',
  'x_amz_security_token',
  'x_goog_signature',
  'x_goog_credential',
]);

/**
 * Endings that make any parameter name a credential's, lower case: `client_secret`, `refresh-token`,
 * `authToken`, `accessToken`, `apiKey`, `x-api-key`, `user_password`.
 */
const SECRET_PARAM_SUFFIX = /(?:token|secret|password|passwd|signature|apikey|[_.]key)$/;

/**
 * True for a query parameter name whose value is a credential (`token`, `api_key`, `apikey`,
 * `password`, `access_token`, `sig`, `X-Amz-Signature`, anything ending in `token`, `secret`,
 * `password`, `_key`, … such as `authToken`; any case, `-` and `_` alike; see the list's sources above).
 *
 * @example
 * isSecretParam('api_key'); // true
 * isSecretParam('X-Amz-Signature'); // true
 * isSecretParam('page'); // false
 */
export function isSecretParam(name: string): boolean {
  const normal = name.toLowerCase().replaceAll('-', '_');
  return SECRET_PARAMS.has(normal) || SECRET_PARAM_SUFFIX.test(normal);
}

/** {@link REDACTED} as `URLSearchParams` writes it: a URL redacted before stays as it is. */
const REDACTED_IN_URL = encodeURIComponent(REDACTED);

/** `?name=value` / `&name=value` pairs in free text (URLs in bodies, Location headers, messages). */
const QUERY_PAIR = /([?&;])([A-Za-z0-9_.-]{1,64})=([^&#\s"'<>\\]*)/g;

/**
 * Replaces the values of credential-named query parameters ({@link isSecretParam}) wherever a URL
 * appears in `text`: `…/v1?api_key=abc&page=2` → `…/v1?api_key=[REDACTED]&page=2`. For texts Vigil
 * did not write (bodies, headers, a server's error messages), on top of the config's own secrets.
 *
 * @example
 * redactSecretParams('see https://x/y?token=t0k'); // 'see https://x/y?token=[REDACTED]'
 */
export function redactSecretParams(text: string): string {
  // Cheap pre-test: most texts hold no `=` after a `?` or `&` at all.
  if (!text.includes('=')) return text;
  return text.replace(QUERY_PAIR, (whole, sep: string, name: string, value: string) =>
    value !== '' && value !== REDACTED && value !== REDACTED_IN_URL && isSecretParam(name)
      ? `${sep}${name}=${REDACTED}`
      : whole,
  );
}

/**
 * `result` with `redact` applied to every text in it a server may have put there: its error's
 * message, its notes, and each failure's message, expected and actual values (strings inside arrays
 * and objects too, to the depth a failure's sample has). A result without failures, error or notes is
 * returned as is
 * (no copy: the common, passing case); otherwise a copy, `result` is not modified.
 *
 * @example
 * const shown = redactResult(result, loaded.redact);
 */
export function redactResult(result: ProbeResult, redact: (text: string) => string): ProbeResult {
  if (result.failures.length === 0 && result.error === undefined && result.notes === undefined) return result;
  const copy: ProbeResult = {
    ...result,
    failures: result.failures.map((f) => ({
      ...f,
      message: redact(f.message),
      expected: redactValue(f.expected, redact, 0),
      actual: redactValue(f.actual, redact, 0),
    })),
  };
  if (result.error !== undefined)
    copy.error = { code: result.error.code, message: redact(result.error.message) };
  if (result.notes !== undefined) copy.notes = result.notes.map(redact);
  return copy;
}

/** Deepest nesting {@link redactResult} walks into a failure's value; deeper values are replaced whole. */
const MAX_REDACT_DEPTH = 16;

function redactValue(value: unknown, redact: (text: string) => string, depth: number): unknown {
  if (typeof value === 'string') return redact(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= MAX_REDACT_DEPTH) return REDACTED;
  if (Array.isArray(value)) return value.map((v) => redactValue(v, redact, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = redactValue(v, redact, depth + 1);
  return out;
}
