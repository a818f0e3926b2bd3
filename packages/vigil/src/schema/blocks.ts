/**
 * Zod building blocks that every plugin's config uses: the config file's schema (config/), protocol
 * plugins' requests and target options (protocols/), and later notifiers and actions. They sit below all
 * of those so that a plugin can own its schema without importing the config that assembles it.
 *
 * Messages hold {@link GOT} instead of the offending value (see diagnostics/messages.ts), so that the
 * formatter can show it, or hide it when it is a secret.
 */
import { z } from 'zod';
import { GOT } from '../diagnostics/messages.js';

/**
 * An error function for a schema: `required` when the key is missing, `message` for a value of the
 * wrong kind.
 *
 * @example z.string({ error: requiredOr(`expected a model name, got ${GOT}`) })
 */
export const requiredOr = (message: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'required' : message;

/**
 * For refinements that compare fields: run only when the fields themselves are valid. (Checks that fail
 * with a custom issue do not abort the parse, so the default would still run the refinement.)
 *
 * @example
 * z.strictObject({ min: z.number(), max: z.number() }).superRefine((bounds, ctx) => {
 *   if (bounds.min > bounds.max) ctx.addIssue({ code: 'custom', message: 'min is above max' });
 * }, whenValid);
 */
export const whenValid = { when: (payload: { issues: readonly unknown[] }) => payload.issues.length === 0 };

/** For refinements that only look at which keys are present: run even when values are invalid. */
export const everyTime = { when: () => true };

/** Any JSON object (a mapping with string keys). */
export const jsonObject = z.record(z.string(), z.unknown());

/** Scalars turned into strings (labels and header values are strings on the wire). */
export const scalarString = z
  .union([z.string(), z.number(), z.boolean()], {
    error: requiredOr(`expected a string, got ${GOT}`),
  })
  .transform(String);

/** An HTTP header name: an RFC 9110 token. */
export const HEADER_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** Header name → value; scalar values become strings. */
export function headerMap() {
  return z.record(
    z.string().regex(HEADER_PATTERN, { error: `expected a header name, got ${GOT}` }),
    scalarString,
  );
}

/**
 * Adds an issue unless exactly one of two keys is present: `needs "a" or "b"` / `takes "a" or "b", not
 * both`. For a `superRefine` of an object whose two keys are alternatives.
 *
 * @example
 * z.looseObject({ prompt: z.string().optional(), messages: z.array(z.unknown()).optional() })
 *   .superRefine((value, ctx) => exactlyOne(value, ['prompt', 'messages'], ctx));
 */
export function exactlyOne(
  value: Record<string, unknown>,
  keys: readonly [string, string],
  ctx: z.RefinementCtx,
): void {
  const present = keys.filter((key) => value[key] !== undefined);
  if (present.length === 0) {
    ctx.addIssue({ code: 'custom', message: `needs "${keys[0]}" or "${keys[1]}"` });
  } else if (present.length === 2) {
    ctx.addIssue({ code: 'custom', message: `takes "${keys[0]}" or "${keys[1]}", not both` });
  }
}
