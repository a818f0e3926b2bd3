/**
 * Zod pieces shared by the notifier config schemas, worded like `config/schema.ts` (messages hold
 * {@link GOT} instead of the value, so that the formatter can hide secrets: most notifier values are).
 */
import { z } from 'zod';
import { DURATION_PATTERN, durationProblem, parseDuration } from '../../diagnostics/duration.js';
import { GOT } from '../../diagnostics/messages.js';

const requiredOr = (message: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'required' : message;

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/**
 * A full http(s) URL (path and query kept: for Slack and many webhooks they are the credential). No
 * user:password part: use `headers` for credentials.
 */
export function httpUrl(description: string) {
  return (
    z
      .string({ error: requiredOr(`expected an http(s) URL, got ${GOT}`) })
      .superRefine((text, ctx) => {
        const problem = urlProblem(text);
        if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: text });
      })
      // For editors, which see the file before `${VAR}` interpolation: the whole URL is often one variable.
      .meta({ description, pattern: '^(?:https?://|\\$\\{)' })
  );
}

/**
 * Like {@link httpUrl} for a base URL (no query or fragment). Pass the parsed value through
 * {@link withoutTrailingSlash}: the schema itself has no transform, so that inside a union (one URL or
 * a list) its problems are reported as they are rather than as "does not match any accepted form".
 */
export function baseHttpUrl(description: string) {
  return httpUrl(description).superRefine((text, ctx) => {
    if (URL.canParse(text) && (new URL(text).search !== '' || new URL(text).hash !== '')) {
      ctx.addIssue({
        code: 'custom',
        message: `a base URL has no query or fragment, got ${GOT}`,
        input: text,
      });
    }
  });
}

/** A base URL without its trailing slashes, ready for a path to be appended. */
export function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}

function urlProblem(text: string): string | undefined {
  if (!URL.canParse(text)) return `expected an http(s) URL, got ${GOT}`;
  const url = new URL(text);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    return `expected an http:// or https:// URL, got ${GOT}`;
  if (url.username !== '' || url.password !== '') return 'must not contain credentials: put them in headers';
  return undefined;
}

/** A non-empty string that is a secret (key, password): shown as `[REDACTED]` in diagnostics. */
export function secretString(description: string) {
  return z
    .string({ error: requiredOr(`expected a string, got ${GOT}`) })
    .min(1, { error: 'must not be empty' })
    .describe(description);
}

/** Extra request headers: `{ "Authorization": "Bearer …" }`; values are treated as secrets. */
export const headersSchema = z
  .record(
    z.string().regex(HEADER_NAME, { error: `expected an HTTP header name, got ${GOT}` }),
    z.string({ error: requiredOr(`expected a string, got ${GOT}`) }),
  )
  .describe(`Extra HTTP request headers, e.g. {"Authorization": "Bearer \${TOKEN}"}. Values are secrets.`);

/** A duration string such as `"1m"`, checked here, parsed by the notifier. */
export function durationString(example: string, description: string) {
  return z
    .string({ error: requiredOr(`expected a duration like "${example}", got ${GOT}`) })
    .superRefine((text, ctx) => {
      const problem = durationProblem(text, example);
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', message: `${problem}, got ${GOT}`, input: text });
      } else if (parseDuration(text) === 0) {
        ctx.addIssue({ code: 'custom', message: `must be longer than 0s, got ${GOT}`, input: text });
      }
    })
    .meta({ description, pattern: DURATION_PATTERN.source });
}
