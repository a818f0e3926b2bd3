/**
 * Turns zod issues into diagnostics for people: `targets[0].url: required`, not "Invalid input".
 *
 * Messages are written without config values: where one belongs they hold a placeholder, {@link GOT}
 * for the offending value or `{{name}}` for `params.name` of a custom issue, which {@link fillMessage}
 * renders at the end, hiding secrets.
 */
import type { z } from 'zod';
import { type Problem, Verbatim } from './paths.js';
import { REDACTED } from './redact.js';
import { closest } from './suggest.js';

/** Placeholder for the offending value in a message; filled in by {@link fillMessage}. */
export const GOT = '{{got}}';

/**
 * Keys that belong to one check kind: an unknown-key message says where they go. Keys that belong to a
 * protocol come from its plugin (config/schema.ts passes them to {@link createHumanErrorMap}).
 */
const MISPLACED_KEY_HINTS: Readonly<Record<string, string>> = {
  baseline: 'baseline is only for canary checks',
  tolerance: 'tolerance is only for canary checks',
};

/** Names people reach for instead of an operator's. */
const SYNONYMS: Readonly<Record<string, string>> = {
  equals: 'eq',
  equal: 'eq',
  notEquals: 'ne',
  notEqual: 'ne',
  lessThan: 'lt',
  greaterThan: 'gt',
  min: 'ge',
  max: 'le',
  between: 'range',
  oneOf: 'in',
  noneOf: 'notIn',
  regex: 'matches',
  pattern: 'matches',
};

const EXPECTED_TYPE: Readonly<Record<string, string>> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping',
  record: 'a mapping',
  array: 'a list',
  tuple: 'a list',
  null: 'an empty value',
};

/** Separates the per-key messages of one `unrecognized_keys` issue; see {@link issuesToProblems}. */
const KEY_SEPARATOR = '\n';

/**
 * The error map passed to `safeParse`: a message for every issue that its schema did not word itself.
 * Returns `undefined` for codes it leaves to zod (none in practice).
 */
export const humanErrorMap: z.core.$ZodErrorMap = createHumanErrorMap();

/**
 * {@link humanErrorMap} with more unknown-key hints: `{managementUrl: 'managementUrl is only for …'}`
 * makes an unknown `managementUrl` say where it belongs (where the key is known, the hint is not used).
 *
 * @example
 * const errorMap = createHumanErrorMap({ method: 'method is only for integrity checks' });
 * z.strictObject({ path: z.string() }).safeParse({ method: 'GET' }, { error: errorMap, reportInput: true });
 */
export function createHumanErrorMap(hints: Readonly<Record<string, string>> = {}): z.core.$ZodErrorMap {
  const allHints = { ...MISPLACED_KEY_HINTS, ...hints };
  return (issue) => humanMessage(issue, allHints);
}

function humanMessage(
  issue: z.core.$ZodRawIssue,
  hints: Readonly<Record<string, string>>,
): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'required';
      return `expected ${EXPECTED_TYPE[issue.expected] ?? issue.expected}, got ${GOT}`;
    case 'invalid_value':
      return expectedOneOf(issue.values, issue.input);
    case 'too_small':
      return sizeMessage(issue.origin, 'at least', 'more than', issue.minimum, issue.inclusive);
    case 'too_big':
      return sizeMessage(issue.origin, 'at most', 'less than', issue.maximum, issue.inclusive);
    case 'invalid_format':
      return `does not have the expected form${issue.pattern === undefined ? '' : ` (${issue.pattern})`}, got ${GOT}`;
    case 'unrecognized_keys':
      return issue.keys
        .map((key) => unknownKeyMessage(key, knownKeys(issue.inst), hints))
        .join(KEY_SEPARATOR);
    case 'invalid_union':
      return `does not match any accepted form, got ${GOT}`;
    case 'invalid_key':
      return 'invalid key';
    default:
      return undefined;
  }
}

/**
 * `expected "a", got {{got}}` or `expected one of "a", "b", got {{got}}`, with `; did you mean "b"?` when
 * the value is a string close to one of them: the message for a value outside a fixed set (an enum, or
 * the discriminator of a union such as a notifier's `type`).
 */
export function expectedOneOf(values: readonly unknown[], input: unknown): string {
  const quoted = values.map((value) => JSON.stringify(value));
  const expected = quoted.length === 1 ? quoted[0] : `one of ${quoted.join(', ')}`;
  const suggestion =
    typeof input === 'string'
      ? closest(
          input,
          values.filter((value): value is string => typeof value === 'string'),
        )
      : undefined;
  return `expected ${expected}, got ${GOT}${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`;
}

function sizeMessage(
  origin: string,
  inclusiveWord: string,
  exclusiveWord: string,
  bound: number | bigint,
  inclusive: boolean | undefined,
): string {
  const word = inclusive === false ? exclusiveWord : inclusiveWord;
  switch (origin) {
    case 'string':
      return Number(bound) === 1 && inclusiveWord === 'at least'
        ? 'must not be empty'
        : `must be ${word} ${bound} characters long, got ${GOT}`;
    case 'array':
      return Number(bound) === 1 && inclusiveWord === 'at least'
        ? 'must not be an empty list'
        : `must have ${word} ${bound} items, got ${GOT}`;
    default:
      return `must be ${word} ${bound}, got ${GOT}`;
  }
}

function knownKeys(inst: unknown): string[] {
  const shape = (inst as { _zod?: { def?: { shape?: Record<string, unknown> } } } | undefined)?._zod?.def
    ?.shape;
  return shape === undefined ? [] : Object.keys(shape);
}

function unknownKeyMessage(key: string, known: string[], hints: Readonly<Record<string, string>>): string {
  const hint = Object.hasOwn(hints, key) ? hints[key] : undefined;
  if (hint !== undefined && !known.includes(key)) return `unknown key: ${hint}`;
  const synonym = SYNONYMS[key];
  const suggestion = synonym !== undefined && known.includes(synonym) ? synonym : closest(key, known);
  if (suggestion !== undefined) return `unknown key; did you mean "${suggestion}"?`;
  if (known.length > 0 && known.length <= 10) return `unknown key; expected one of: ${known.join(', ')}`;
  return 'unknown key';
}

/**
 * Flattens zod issues into problems with full paths; the value of each becomes its `got`, and a custom
 * issue's `params` its other placeholders:
 * - `unrecognized_keys` becomes one problem per key, at the key's path;
 * - a failed union reports the issues of the one alternative that fits the value's shape (if exactly one
 *   does), otherwise the union's own message;
 * - a record key that fails its check is reported at the key, with the key check's message.
 */
export function issuesToProblems(
  issues: readonly z.core.$ZodIssue[],
  prefix: readonly PropertyKey[] = [],
): Problem[] {
  const problems: Problem[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const params = issue.code === 'custom' ? issue.params : undefined;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const messages = issue.message.split(KEY_SEPARATOR);
        issue.keys.forEach((key, index) => {
          problems.push({ path: [...path, key], message: messages[index] ?? 'unknown key' });
        });
        break;
      }
      case 'invalid_union': {
        if (issue.discriminator !== undefined) {
          const input = issue.input as Record<string, unknown> | undefined;
          problems.push({ path, message: issue.message, values: { got: input?.[issue.discriminator] } });
          break;
        }
        const branch = fittingBranch(issue.errors);
        if (branch === undefined) {
          problems.push({ path, message: issue.message, values: { got: issue.input } });
        } else {
          problems.push(...issuesToProblems(branch, path));
        }
        break;
      }
      case 'invalid_key': {
        const inner = issue.issues[0];
        problems.push({ path, message: inner?.message ?? issue.message, values: { got: issue.input } });
        break;
      }
      default:
        problems.push({ path, message: issue.message, values: { ...params, got: issue.input } });
    }
  }
  return problems;
}

/** Renders a problem's message: each `{{name}}` becomes `show(values[name])`. */
export function fillMessage(problem: Problem, show: (value: unknown) => string): string {
  const { values } = problem;
  if (values === undefined) return problem.message;
  return problem.message.replace(/\{\{(\w+)\}\}/g, (_, name: string) => show(values[name]));
}

/**
 * The alternative of a union the value was evidently meant for: the only one, or the one with fewest
 * issues, among those that accepted the value's type at the top (unknown keys at the top still count as
 * a fit). `undefined` when none or several fit equally well.
 */
function fittingBranch(branches: readonly (readonly z.core.$ZodIssue[])[]): z.core.$ZodIssue[] | undefined {
  const fits = branches
    .filter((issues) => issues.every((issue) => issue.path.length > 0 || issue.code === 'unrecognized_keys'))
    .sort((a, b) => a.length - b.length);
  const [best, next] = fits;
  if (best === undefined || (next !== undefined && next.length === best.length)) return undefined;
  return [...best];
}

/**
 * Renders a value for a message: strings quoted as JSON, numbers and booleans as written, `null` as
 * "an empty value", short lists of scalars as JSON, other lists and mappings by kind. Long strings are
 * cut at 60 characters. A {@link Verbatim} is shown as is.
 *
 * @param isSecret when it returns true for a string, a number's or boolean's text (a secret written
 *   unquoted, `secret: 12345678`) or a list's JSON text, `[REDACTED]` is shown instead
 */
export function renderValue(value: unknown, isSecret: (text: string) => boolean): string {
  if (value instanceof Verbatim) return isSecret(value.text) ? REDACTED : value.text;
  if (value === null) return 'an empty value';
  if (value === undefined) return 'nothing';
  if (typeof value === 'string') {
    if (isSecret(value)) return REDACTED;
    if (value === '') return 'an empty string';
    return value.length > 60 ? `${JSON.stringify(value.slice(0, 57))}…` : JSON.stringify(value);
  }
  if (typeof value === 'number' || typeof value === 'boolean')
    return isSecret(String(value)) ? REDACTED : String(value);
  if (Array.isArray(value)) {
    if (value.every((item) => item === null || ['string', 'number', 'boolean'].includes(typeof item))) {
      const text = `[${value.map((item) => JSON.stringify(item)).join(', ')}]`;
      if (isSecret(text)) return REDACTED;
      if (text.length <= 40) return text;
    }
    return value.length === 0 ? 'an empty list' : `a list of ${value.length}`;
  }
  if (typeof value === 'object') return 'a mapping';
  return typeof value;
}
