/**
 * The action registry and the `actions:` block of a target or check. Adding an action kind is one file
 * in this folder exporting an {@link ActionPlugin} plus one line in {@link ACTION_KINDS}; the kind names,
 * the step union ({@link actionStepSchema}, in the config schema and `vigil.schema.json`) and
 * {@link createAction} follow from it.
 */
import { z } from 'zod';
import { parseDuration } from '../diagnostics/duration.js';
import { expectedOneOf, GOT } from '../diagnostics/messages.js';
import type { ConfigPath } from '../diagnostics/paths.js';
import type { ActionPolicy, ActionStepConfig } from '../types.js';
import { commandPlugin } from './command.js';
import { haproxyPlugin } from './haproxy.js';
import { kubernetesPlugin } from './kubernetes.js';
import { duration } from './step.js';
import type { Action, ActionPlugin } from './types.js';
import { webhookActionPlugin } from './webhook.js';

/** Every action plugin by its `kind`. */
export const ACTION_KINDS = Object.freeze({
  kubernetes: kubernetesPlugin,
  haproxy: haproxyPlugin,
  command: commandPlugin,
  webhook: webhookActionPlugin,
});

/** An action `kind`. */
export type ActionKindName = keyof typeof ACTION_KINDS;

/** The kinds, in registry order. */
export const ACTION_KIND_NAMES = Object.keys(ACTION_KINDS) as ActionKindName[];

type SchemaOf<Name extends ActionKindName> = (typeof ACTION_KINDS)[Name]['configSchema'];

/** One action block: the union of every plugin's schema, discriminated by `kind`. */
export const actionStepSchema = z
  .discriminatedUnion(
    'kind',
    Object.values(ACTION_KINDS).map((plugin) => plugin.configSchema) as unknown as [
      SchemaOf<ActionKindName>,
      ...SchemaOf<ActionKindName>[],
    ],
    {
      error: (issue) => {
        if ((issue.code as string) === 'invalid_type')
          return issue.input === undefined ? 'required' : `expected a mapping with a kind, got ${GOT}`;
        const kind = (issue.input as Record<string, unknown> | undefined)?.kind;
        return kind === undefined ? 'required' : expectedOneOf(ACTION_KIND_NAMES, kind);
      },
    },
  )
  .meta({
    id: 'Action',
    description: `A recovery action: its kind (${ACTION_KIND_NAMES.join(', ')}) and settings.`,
  });

/** A validated action block of any kind. */
export type ActionStepSpec = z.output<typeof actionStepSchema>;

const stepList = (when: string) =>
  z
    .array(actionStepSchema, { error: `expected a list of actions, got ${GOT}` })
    .optional()
    .describe(`Actions run in order ${when}; each waits escalateAfter for a recovery before the next.`);

const PERCENT = /^(100|[1-9]?\d)%$/;

/** Defaults of the safety rules, each with its source (README "Recovery actions" repeats them). */
export const ACTION_DEFAULTS = {
  /** monit's "if 3 restarts within 5 cycles then unmonitor" idea, as a time window: 3 runs per hour. */
  maxRuns: 3,
  window: '1h',
  /** kubelet's CrashLoopBackOff: 10 s, doubled per restart, capped at 5 min. */
  backoffInitial: '10s',
  backoffMax: '5m',
  /**
   * kubelet resets a container's back-off after it ran 10 min without a problem: a recovery younger
   * than that is not trusted, and a new failure within it pages instead of acting again.
   */
  cooldown: '10m',
  /** medik8s NodeHealthCheck's default minHealthy: 51 %. */
  minHealthy: '51%',
} as const;

/** The `actions:` block of a target or a check. */
export const actionsSchema = z
  .strictObject({
    onUnhealthy: stepList('when the check becomes unhealthy (an escalation chain)'),
    onDegraded: stepList('when the check becomes degraded'),
    onRecovered: stepList('when the check recovers (e.g. set an HAProxy server ready again)'),
    maxRuns: z
      .int()
      .min(1)
      .default(ACTION_DEFAULTS.maxRuns)
      .describe('Runs of one action per window, then "actions exhausted" pages. Default 3 (monit).'),
    window: duration('1h', 'The window of maxRuns. Default 1h.').default(ACTION_DEFAULTS.window),
    backoff: z
      .strictObject({
        initial: duration('10s', 'Wait before the 2nd run. Default 10s (kubelet).').default(
          ACTION_DEFAULTS.backoffInitial,
        ),
        max: duration('5m', 'The longest wait. Default 5m (kubelet).').default(ACTION_DEFAULTS.backoffMax),
      })
      .prefault({})
      .describe('Exponential back-off between runs of one action: initial, doubling, capped at max.'),
    cooldown: duration(
      '10m',
      'After a recovery, a new failure within this long runs nothing and pages. Default 10m; 0s: off.',
      true,
    ).default(ACTION_DEFAULTS.cooldown),
    minHealthy: z
      .strictObject({
        group: z
          .record(z.string().min(1), z.string())
          .optional()
          .describe(
            'Label selector over targets, e.g. {team: risk}; default the targets sharing this one’s "service" label (every target when it has none).',
          ),
        min: z
          .union([
            z.string().regex(PERCENT, { error: `expected a percentage like "51%", got ${GOT}` }),
            z.int().min(0),
          ])
          .default(ACTION_DEFAULTS.minHealthy)
          .describe('Healthy targets needed in the group to act: "51%" (default, medik8s) or a count.'),
      })
      .optional()
      .describe(
        'Never act when too few of the group are healthy: a global outage is not fixed by restarting everything.',
      ),
  })
  .superRefine((a, ctx) => {
    for (const list of ['onUnhealthy', 'onDegraded', 'onRecovered'] as const) {
      const seen = new Map<string, number>();
      (a[list] ?? []).forEach((step, index) => {
        const name = step.name ?? `${step.kind}-${index}`;
        const first = seen.get(name);
        if (first !== undefined)
          ctx.addIssue({
            code: 'custom',
            path: [list, index, 'name'],
            message: `duplicate action name "${name}": ${list}[${first}] has it too`,
          });
        else seen.set(name, index);
      });
    }
  })
  .meta({ id: 'Actions', description: 'Recovery actions and their safety limits.' });

/** A validated `actions:` block. */
export type ActionsSpec = z.output<typeof actionsSchema>;

function resolveSteps(steps: readonly ActionStepSpec[] | undefined): ActionStepConfig[] {
  return (steps ?? []).map((step, index) => ({
    ...step,
    name: step.name ?? `${step.kind}-${index}`,
    escalateAfterMs: parseDuration(step.escalateAfter),
  }));
}

/**
 * An `actions:` block as the plan carries it: durations in ms, names filled in.
 * @param scope the target's name, or the check id, whose block it is
 * @param labels the target's labels (the default `minHealthy` group is its `service` label)
 */
export function resolveActionPolicy(
  spec: ActionsSpec,
  scope: string,
  path: string,
  labels: Readonly<Record<string, string>>,
): ActionPolicy {
  const policy: ActionPolicy = {
    scope,
    path,
    onUnhealthy: resolveSteps(spec.onUnhealthy),
    onDegraded: resolveSteps(spec.onDegraded),
    onRecovered: resolveSteps(spec.onRecovered),
    maxRuns: spec.maxRuns,
    windowMs: parseDuration(spec.window),
    backoffInitialMs: parseDuration(spec.backoff.initial),
    backoffMaxMs: parseDuration(spec.backoff.max),
    cooldownMs: parseDuration(spec.cooldown),
  };
  if (spec.minHealthy !== undefined) {
    // Default group: the targets sharing this one's `service` label; without one, every target.
    const group = spec.minHealthy.group ?? (labels.service === undefined ? {} : { service: labels.service });
    const min = spec.minHealthy.min;
    policy.minHealthy = {
      group,
      min: typeof min === 'number' ? { count: min } : { percent: Number(min.slice(0, -1)) },
    };
  }
  return policy;
}

const STEP_LISTS = ['onUnhealthy', 'onDegraded', 'onRecovered'] as const;

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The plugin of a step block as written, if its `kind` is a registered one. */
function pluginOfBlock(block: unknown): ActionPlugin | undefined {
  if (!isRecord(block) || typeof block.kind !== 'string' || !Object.hasOwn(ACTION_KINDS, block.kind))
    return undefined;
  return ACTION_KINDS[block.kind as ActionKindName] as unknown as ActionPlugin;
}

/**
 * Whether a diagnostic must hide the value at `path` inside an `actions:` block as written (`block`,
 * before validation): what the step's plugin says (`ActionPlugin.isHiddenValue`), e.g. a webhook's
 * `secret` or headers. `path` starts at the block: `['onUnhealthy', 0, 'secret']`.
 */
export function isHiddenActionValue(block: unknown, path: ConfigPath): boolean {
  const [list, index, ...inside] = path;
  if (!isRecord(block) || !STEP_LISTS.includes(list as (typeof STEP_LISTS)[number])) return false;
  const steps = block[list as string];
  if (!Array.isArray(steps) || typeof index !== 'number' || inside.length === 0) return false;
  return pluginOfBlock(steps[index])?.isHiddenValue?.(inside) ?? false;
}

/**
 * The literal credentials written in an `actions:` block (before validation), by each step's plugin
 * (`ActionPlugin.secretsOf`): the config loader adds them to what its redactor hides everywhere.
 */
export function actionSecrets(block: unknown): string[] {
  if (!isRecord(block)) return [];
  const secrets: string[] = [];
  for (const list of STEP_LISTS) {
    const steps = block[list];
    if (!Array.isArray(steps)) continue;
    for (const step of steps) {
      const plugin = pluginOfBlock(step);
      if (plugin?.secretsOf !== undefined && isRecord(step)) secrets.push(...plugin.secretsOf(step));
    }
  }
  return secrets;
}

/** Makes the action of a resolved step. */
export function createAction(step: ActionStepConfig): Action {
  const plugin = ACTION_KINDS[step.kind as ActionKindName] as unknown as ActionPlugin | undefined;
  if (plugin === undefined) throw new Error(`no action kind "${step.kind}" is registered`);
  return plugin.create(step as never);
}

export type { Action, ActionContext, ActionOutcome, ActionPlugin, ActionTransition } from './types.js';
