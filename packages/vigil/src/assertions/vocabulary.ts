/**
 * The assertion vocabulary, in one place: the operators' names and the shapes of their arguments, the
 * JSONPath and regular-expression strings a config may hold. The config schema is built from these
 * (config/schema.ts: `expect.outputs`, `expect.assertions`, `expect.body.matches`, `extract`), and the
 * evaluator (operators.ts) applies exactly these operators; both compile paths and patterns through
 * jsonpath.ts and regex.ts, so whatever `vigil validate` accepts runs, and the compile at load is the
 * only one (both cache by string).
 *
 * Messages follow diagnostics/messages.ts: `{{got}}` and the other placeholders are filled in by the
 * loader, which hides secrets.
 */
import Big from 'big.js';
import { z } from 'zod';
import { GOT } from '../diagnostics/messages.js';
import { Verbatim } from '../diagnostics/paths.js';
import { compileJsonPath } from './jsonpath.js';
import { regexIssue } from './regex.js';

const DECIMAL_PATTERN = /^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

const requiredOr = (message: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'required' : message;

/**
 * For refinements that compare fields: run only when the fields themselves are valid. (Checks that fail
 * with a custom issue do not abort the parse, so the default would still run the refinement.)
 */
const whenValid = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };

function count(description: string) {
  return z
    .int({ error: requiredOr(`expected a whole number, got ${GOT}`) })
    .min(0, { error: `must be at least 0, got ${GOT}` })
    .describe(description);
}

/**
 * A regular expression, checked by compiling it with RE2 (regex.ts): a syntax error, a backreference or
 * lookaround is reported with the pattern and what is wrong.
 */
export const regexSchema = z
  .string({ error: requiredOr(`expected a regular expression, got ${GOT}`) })
  .superRefine((text, ctx) => {
    const issue = regexIssue(text);
    if (issue !== undefined) ctx.addIssue({ code: 'custom', ...issue, input: text });
  })
  .describe('A regular expression in RE2 syntax (no backreferences or lookaround), e.g. "^ok$".');

/**
 * An RFC 9535 JSONPath query, checked by compiling it (jsonpath.ts): `$.[` is reported with json-p3's
 * reason (`unexpected shorthand selector '[' ('$.[':2)`).
 */
export const jsonPathSchema = z
  .string({ error: requiredOr(`expected a JSONPath like "$.body.score", got ${GOT}`) })
  .startsWith('$', { error: `expected a JSONPath starting with "$", like "$.body.score", got ${GOT}` })
  .superRefine((text, ctx) => {
    if (!text.startsWith('$')) return;
    const compiled = compileJsonPath(text);
    if (compiled.ok) return;
    ctx.addIssue({
      code: 'custom',
      message: `expected a valid JSONPath (RFC 9535), got ${GOT}: {{reason}}`,
      params: { reason: new Verbatim(compiled.reason) },
      input: text,
    });
  });

const decimalMessage = `expected a number or a decimal string like "0.5", got ${GOT}`;
const decimal = z.union([z.number(), z.string().regex(DECIMAL_PATTERN, { error: decimalMessage })], {
  error: requiredOr(decimalMessage),
});

const lengthBounds = z
  .strictObject({
    min: count('Shortest accepted length.').optional(),
    max: count('Longest accepted length.').optional(),
  })
  .superRefine((bounds, ctx) => {
    if (bounds.min === undefined && bounds.max === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs min, max or both' });
    } else if (bounds.min !== undefined && bounds.max !== undefined && bounds.min > bounds.max) {
      ctx.addIssue({
        code: 'custom',
        path: ['min'],
        message: `must not exceed max ({{max}}), got ${GOT}`,
        params: { max: bounds.max },
        input: bounds.min,
      });
    }
  }, whenValid);

/** The JSON types `type` names; `integer` is a number with no fraction. */
export const VALUE_TYPES = ['number', 'integer', 'string', 'boolean', 'array', 'object', 'null'] as const;

/**
 * Every operator: its name and the schema of its argument, in the order messages and the JSON Schema
 * list them. Each given operator must hold for every selected value (semantics: operators.ts).
 */
export const OPERATORS = {
  eq: z.unknown().optional().describe('Equal to this JSON value (numbers compare as decimals).'),
  ne: z.unknown().optional().describe('Not equal to this JSON value.'),
  lt: decimal.optional().describe('Less than (decimal comparison).'),
  le: decimal.optional().describe('Less than or equal to (decimal comparison).'),
  gt: decimal.optional().describe('Greater than (decimal comparison).'),
  ge: decimal.optional().describe('Greater than or equal to (decimal comparison).'),
  range: z
    .tuple([decimal, decimal], { error: requiredOr(`expected [min, max], got ${GOT}`) })
    .superRefine(([low, high], ctx) => {
      if (new Big(low).gt(new Big(high))) {
        ctx.addIssue({
          code: 'custom',
          message: `expected [min, max] with min ≤ max, got ${GOT}`,
          input: [low, high],
        });
      }
    }, whenValid)
    .optional()
    .describe('Inclusive [min, max].'),
  in: z.array(z.unknown()).optional().describe('One of these values.'),
  notIn: z.array(z.unknown()).optional().describe('None of these values, e.g. [Unknown].'),
  notEmpty: z
    .boolean()
    .optional()
    .describe('true: the selection, and each selected string or list, is non-empty.'),
  length: z
    .union([count('Exact length.'), lengthBounds], {
      error: requiredOr(`expected a length or {min, max}, got ${GOT}`),
    })
    .optional()
    .describe('Exact length, or {min, max}, of each selected string or list.'),
  finite: z.boolean().optional().describe('true: every selected number is finite (no NaN or ±Infinity).'),
  matches: regexSchema.optional(),
  type: z.enum(VALUE_TYPES).optional().describe('JSON type of every selected value.'),
};

/** An operator's name. */
export type OperatorName = keyof typeof OPERATORS;

/** Every operator's name, from {@link OPERATORS}. */
export const OPERATOR_NAMES = Object.freeze(Object.keys(OPERATORS) as OperatorName[]);

/** Which operators are set (an explicit `undefined` counts as unset), in {@link OPERATOR_NAMES} order. */
export function presentOperators(ops: Readonly<Partial<Record<OperatorName, unknown>>>): OperatorName[] {
  return OPERATOR_NAMES.filter((name) => ops[name] !== undefined);
}

const needsOperator = `needs at least one operator: ${OPERATOR_NAMES.join(', ')}`;

/** The rules across one set of operators: at least one, and `notEmpty: false` alone. */
function checkOperatorSet(value: Partial<Record<OperatorName, unknown>>, ctx: z.RefinementCtx): void {
  const present = presentOperators(value);
  if (present.length === 0) ctx.addIssue({ code: 'custom', message: needsOperator });
  else if (value.notEmpty === false && present.length > 1) {
    const others = present.filter((name) => name !== 'notEmpty').join(', ');
    ctx.addIssue({
      code: 'custom',
      path: ['notEmpty'],
      message: `false asserts that nothing is selected, so ${others} can never hold`,
    });
  }
}

/** Operators for `expect.outputs.<name>`; every given operator must hold for every value. */
export const operatorsSchema = z
  .strictObject(OPERATORS)
  .superRefine(checkOperatorSet, whenValid)
  .meta({ id: 'Operators', description: 'Operators that every selected value must satisfy.' });

/** One JSONPath assertion over `{status, headers, body, outputs, modelVersion}`: `expect.assertions[]`. */
export const assertionSchema = z
  .strictObject({
    path: jsonPathSchema.describe(
      'JSONPath over {status, headers, body, outputs, modelVersion}, e.g. "$.body.model_name".',
    ),
    ...OPERATORS,
  })
  .superRefine(checkOperatorSet, whenValid)
  .meta({ id: 'Assertion', description: 'A JSONPath selection and the operators its values must satisfy.' });

/** `extract`: extra named outputs picked from the probe document by JSONPath (protocols/extract.ts). */
export const extractSchema = z.record(z.string().min(1), jsonPathSchema).meta({
  id: 'Extract',
  description:
    'Extra named outputs picked from the probe document by JSONPath, e.g. {probability: "$.body.score"}.',
});
