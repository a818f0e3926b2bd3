/**
 * Regular expressions from config and from the API — `matches` operators, `expect.body.matches`, routes'
 * `labelsRegex`, silence and maintenance matchers — compiled in one place, with RE2 (the `re2js` port),
 * so matching takes time linear in the input whatever the pattern: a pattern like `^/(a+)+$`, which
 * JavaScript's backtracking engine takes exponential time on, cannot stall a probe or the hub.
 *
 * The syntax is RE2's, as Prometheus, Alertmanager and blackbox_exporter use
 * (https://github.com/google/re2/wiki/Syntax): `(?i)` for case-insensitive, `\x{263a}` for a code point,
 * `(?P<name>…)` or `(?<name>…)` for a named group. What needs backtracking — backreferences (`\1`) and
 * lookaround (`(?=`, `(?!`, `(?<=`, `(?<!`) — is not accepted. Patterns written for JavaScript mostly
 * carry over; the differences that can bite: `\uXXXX` is written `\x{XXXX}`, `.` matches any character
 * but `\n` (JavaScript's also skips `\r`), and `\s` is ASCII whitespace.
 */
import { RE2JS, RE2JSSyntaxException } from 're2js';
import { GOT } from '../diagnostics/messages.js';

/** A compiled pattern. Matching never backtracks: time is linear in the input's length. */
export interface Regex {
  /** The pattern as written. */
  readonly source: string;
  /** Whether the pattern matches anywhere in `text` (as `RegExp.prototype.test`). */
  test(text: string): boolean;
  /** Whether the pattern matches the whole of `text` (anchored at both ends, as Alertmanager's matchers). */
  testWhole(text: string): boolean;
}

/** Why a pattern cannot be used. */
export interface RegexProblem {
  /**
   * What is wrong, without the pattern's text: RE2's words for a syntax error (`missing closing )`), or
   * the construct RE2 cannot run (`backreference \1: RE2 matches in linear time, without backreferences
   * or lookaround`).
   */
  problem: string;
  /** The part of the pattern RE2 points at (`(unclosed`), when it names one; may hold config text. */
  fragment?: string;
  /** Both, as one line: ``missing closing ): `(unclosed` ``. */
  reason: string;
}

/** A compiled pattern, or why it cannot be compiled. */
export type CompiledRegex =
  | { ok: true; regex: Regex }
  | ({
      ok: false;
      /** The reason with the pattern, for a failure at probe time: ``invalid regular expression /(/: …``. */
      message: string;
    } & RegexProblem);

/** Why a construct is missing, said once for every unsupported one. */
const LINEAR_TIME = 'RE2 matches in linear time, without backreferences or lookaround';

/**
 * Patterns come from config and the API, so the set is small; the bound only keeps a caller that makes
 * up patterns (many silences over the API) from growing it without end. The oldest entry goes first.
 */
const MAX_CACHED = 4096;
const cache = new Map<string, CompiledRegex>();

/**
 * Compiles a pattern (RE2 syntax, no flags; see the module comment), cached per source string, so the
 * compile at config load is the only one. Never throws.
 *
 * @example
 * const compiled = compileRegex('^credit-.*');
 * if (compiled.ok) compiled.regex.test('credit-scorer'); // true
 * compileRegex('(a)\\1'); // {ok: false, reason: 'backreference \\1: RE2 matches in linear time, …', …}
 */
export function compileRegex(source: string): CompiledRegex {
  const cached = cache.get(source);
  if (cached !== undefined) return cached;
  const compiled = compile(source);
  if (cache.size >= MAX_CACHED) cache.delete(cache.keys().next().value as string);
  cache.set(source, compiled);
  return compiled;
}

function compile(source: string): CompiledRegex {
  let re: RE2JS;
  try {
    re = RE2JS.compile(source);
  } catch (error) {
    const problem = problemOf(error);
    return { ok: false, ...problem, message: `invalid regular expression /${source}/: ${problem.reason}` };
  }
  const regex: Regex = Object.freeze({
    source,
    test: (text: string) => re.test(text),
    testWhole: (text: string) => re.testExact(text),
  });
  return { ok: true, regex };
}

/** RE2's complaint, with the constructs people bring from JavaScript or PCRE named as such. */
function problemOf(error: unknown): RegexProblem {
  if (!(error instanceof RE2JSSyntaxException)) {
    const { message } = error as Error;
    return { problem: message, reason: message };
  }
  const what = error.error;
  const input = error.input ?? '';
  const named = (problem: string): RegexProblem => ({ problem, reason: problem });
  if (what === 'invalid escape sequence') {
    const backreference = /^\\[1-9]/.exec(input)?.[0] ?? (input === '\\k' ? '\\k<…>' : undefined);
    if (backreference !== undefined) return named(`backreference ${backreference}: ${LINEAR_TIME}`);
    if (input === '\\u') return named('invalid escape sequence \\u: write a code point as \\x{263a}');
  }
  if (input.startsWith('(?=') || input.startsWith('(?!')) {
    return named(`lookahead ${input.slice(0, 3)}: ${LINEAR_TIME}`);
  }
  if (input.startsWith('(?<=') || input.startsWith('(?<!')) {
    return named(`lookbehind ${input.slice(0, 4)}: ${LINEAR_TIME}`);
  }
  if (input === '') return named(what);
  return { problem: what, fragment: input, reason: `${what}: \`${input}\`` };
}

/**
 * Why `source` cannot be used as a pattern, or `undefined` when it can; for validators (config schema,
 * API, store) that word their own message around it.
 *
 * @example regexProblem('[a-')?.reason // 'missing closing ]: `[a-`'
 */
export function regexProblem(source: string): RegexProblem | undefined {
  const compiled = compileRegex(source);
  if (compiled.ok) return undefined;
  const { problem, fragment, reason } = compiled;
  return fragment === undefined ? { problem, reason } : { problem, fragment, reason };
}

/**
 * The config diagnostic for a pattern that cannot be used, or `undefined`: a message with the
 * placeholders `{{got}}` (the pattern) and `{{fragment}}`, and the params that fill the second, so the
 * loader renders both — and hides them when they hold a secret (see diagnostics/messages.ts).
 *
 * @example regexIssue('(x') // {message: 'expected a valid regular expression, got {{got}} (missing closing ): {{fragment}})', params: {fragment: '(x'}}
 */
export function regexIssue(source: string): { message: string; params: Record<string, unknown> } | undefined {
  const problem = regexProblem(source);
  if (problem === undefined) return undefined;
  const detail = problem.fragment === undefined ? problem.problem : `${problem.problem}: {{fragment}}`;
  return {
    message: `expected a valid regular expression, got ${GOT} (${detail})`,
    params: problem.fragment === undefined ? {} : { fragment: problem.fragment },
  };
}
