/**
 * Base URL fields: a target's `url`, TorchServe's `managementUrl`. Each protocol plugin declares which
 * URL forms it accepts ({@link UrlForm}); the messages are worded from that declaration.
 */
import { z } from 'zod';
import { GOT } from '../diagnostics/messages.js';
import { requiredOr } from './blocks.js';

/** The URLs a field accepts. */
export interface UrlForm {
  /** Schemes without `://`, e.g. `['http', 'https']`. */
  readonly schemes: readonly [string, ...string[]];
  /** Shown in messages as the form to write, e.g. `http://127.0.0.1:8081`. */
  readonly example: string;
  /**
   * When set, a URL written without a scheme (`host:port`, as gRPC addresses often are) is read as
   * `<defaultScheme>://host:port`. Unset (the default): a scheme is required.
   */
  readonly defaultScheme?: string;
}

/** http:// and https:// URLs: what every HTTP protocol accepts. */
export const HTTP_URL: UrlForm = { schemes: ['http', 'https'], example: 'http://127.0.0.1:8081' };

/**
 * A base URL of one of `form`'s schemes: no credentials (they go in `auth`), no query or fragment. The
 * output has no trailing slash, and carries the default scheme if the text had none.
 *
 * @example baseUrl('Base URL of the server, e.g. "http://127.0.0.1:8081".')
 */
export function baseUrl(description: string, form: UrlForm = HTTP_URL) {
  return z
    .string({ error: requiredOr(`expected ${urlNoun(form)} like "${form.example}", got ${GOT}`) })
    .superRefine((text, ctx) => {
      const problem = urlProblem(text, form);
      if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: text });
    })
    .transform((text) => normaliseUrl(text, form))
    .meta({
      description,
      // Without a scheme any text may be a host:port; the parser, not the editor, judges it then.
      ...(form.defaultScheme === undefined && { pattern: schemePattern(form.schemes) }),
    });
}

/**
 * A base URL as `baseUrl` outputs it: the default scheme added when there is none, no trailing slash.
 * For a text that {@link urlProblem} accepts.
 *
 * @example normaliseUrl('http://127.0.0.1:8081/') // 'http://127.0.0.1:8081'
 */
export function normaliseUrl(text: string, form: UrlForm = HTTP_URL): string {
  return withScheme(text, form).replace(/\/+$/, '');
}

function withScheme(text: string, form: UrlForm): string {
  return form.defaultScheme === undefined || text.includes('://') ? text : `${form.defaultScheme}://${text}`;
}

/**
 * What is wrong with `text` as a base URL of `form`, or `undefined` when it is fine: not a URL, another
 * scheme, credentials in it (they belong in `auth`, where they are redacted), a query or fragment.
 * Messages hold {@link GOT} where the value belongs. Shared with `vigil check --url`, so the flag and
 * the config accept the same URLs.
 *
 * @example urlProblem('ftp://h') // 'expected an http:// or https:// URL, got {{got}}'
 */
export function urlProblem(text: string, form: UrlForm = HTTP_URL): string | undefined {
  const full = withScheme(text, form);
  if (!URL.canParse(full)) return `expected ${urlNoun(form)} like "${form.example}", got ${GOT}`;
  const url = new URL(full);
  if (!form.schemes.includes(url.protocol.slice(0, -1))) {
    return `expected ${schemeList(form.schemes)} URL, got ${GOT}`;
  }
  if (url.username !== '' || url.password !== '') return 'must not contain credentials: put them in auth';
  if (url.search !== '' || url.hash !== '') return `a base URL has no query or fragment, got ${GOT}`;
  return undefined;
}

/** `an http(s) URL`, `a grpc(s) URL`, `a ws/wss/http URL`. */
function urlNoun(form: UrlForm): string {
  const [first, second, ...rest] = form.schemes;
  const name = second === `${first}s` && rest.length === 0 ? `${first}(s)` : form.schemes.join('/');
  return `${article(name)} ${name} URL`;
}

/** `an http:// or https://`, `a grpc://, grpcs:// or dns://`. */
function schemeList(schemes: readonly string[]): string {
  const written = schemes.map((scheme) => `${scheme}://`);
  const last = written.pop() ?? '';
  const list = written.length === 0 ? last : `${written.join(', ')} or ${last}`;
  return `${article(list)} ${list}`;
}

/** `^https?://` for http and https; `^(?:a|b)://` otherwise. */
function schemePattern(schemes: readonly string[]): string {
  const [first, second, ...rest] = schemes.map((scheme) => scheme.replace(/[.+-]/g, '\\$&'));
  if (second === `${first}s` && rest.length === 0) return `^${first}s?://`;
  return rest.length === 0 && second === undefined
    ? `^${first}://`
    : `^(?:${[first, second, ...rest].join('|')})://`;
}

/** Schemes are read letter by letter ("an H-T-T-P URL", "a G-R-P-C URL"): the article follows the first letter's name. */
function article(word: string): 'a' | 'an' {
  return /^[aefhilmnorsx]/i.test(word) ? 'an' : 'a';
}
