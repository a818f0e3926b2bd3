/**
 * Zod pieces every action's config uses: the common step keys and durations, worded like the rest of
 * the config (`diagnostics/messages.ts`).
 */
import { z } from 'zod';
import { DURATION_PATTERN, durationProblem } from '../diagnostics/duration.js';
import { GOT } from '../diagnostics/messages.js';

const requiredOr = (message: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'required' : message;

/** A duration string such as `"30s"`; `allowZero` for the ones where 0 turns something off. */
export function duration(example: string, description: string, allowZero = false) {
  return z
    .string({ error: requiredOr(`expected a duration like "${example}", got ${GOT}`) })
    .superRefine((text, ctx) => {
      const problem = durationProblem(text, example);
      if (problem !== undefined)
        ctx.addIssue({ code: 'custom', message: `${problem}, got ${GOT}`, input: text });
      else if (!allowZero && /^0+(ms|s|m|h)?$/.test(text))
        ctx.addIssue({ code: 'custom', message: `must be longer than 0s, got ${GOT}`, input: text });
    })
    .meta({ description, pattern: DURATION_PATTERN.source });
}

/** Names of steps, servers, backends: letters, digits, `_ . : -` (no spaces: they go into commands). */
export const ACTION_NAME = /^[A-Za-z0-9_.:-]+$/;

/** A name as {@link ACTION_NAME} allows. */
export function actionName(description: string) {
  return z
    .string({ error: requiredOr(`expected a name, got ${GOT}`) })
    .regex(ACTION_NAME, { error: `expected letters, digits, "_", ".", ":" or "-", got ${GOT}` })
    .describe(description);
}

/**
 * Default of `escalateAfter`: how long a step is given to bring the check back before the next step
 * runs (or, after the last, the page). Two minutes: a Deployment's rollout of one small model server
 * (pull cached, readiness probe passing) and a process restart both fit well inside it; raise it for
 * large models that take longer to load.
 */
export const DEFAULT_ESCALATE_AFTER = '2m';

/** The keys every action block has, beside its `kind`. */
export function stepShape<Kind extends string>(kind: Kind) {
  return {
    kind: z.literal(kind),
    name: actionName(
      'Name of this action in the audit, metrics and pages; default "<kind>-<index>".',
    ).optional(),
    escalateAfter: duration(
      '2m',
      `How long to wait for the check to recover after this action before the next one (or the page saying actions are exhausted). Default ${DEFAULT_ESCALATE_AFTER}.`,
    ).default(DEFAULT_ESCALATE_AFTER),
  };
}

/** Most of an action's output kept in the audit, in bytes (the tail: where errors are). */
export const OUTPUT_CAP_BYTES = 4096;

/** `text` cut to its last {@link OUTPUT_CAP_BYTES} bytes, saying how much was cut. */
export function capOutput(text: string, cap = OUTPUT_CAP_BYTES): string {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= cap) return text;
  return `…(${bytes.length - cap} bytes cut)\n${bytes.subarray(bytes.length - cap).toString('utf8')}`;
}
