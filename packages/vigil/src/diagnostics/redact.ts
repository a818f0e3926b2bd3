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
