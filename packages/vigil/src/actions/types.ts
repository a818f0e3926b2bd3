/**
 * The recovery action contract, shaped like the notifiers' (`alerting/types.ts`): a plugin is a zod
 * schema of its config block (a strict object whose `kind` literal is its registry key) and a factory.
 * Actions are run by the runner (`runner.ts`), never by a plugin itself: the runner applies the safety
 * rules, claims the run in the store and records its outcome.
 */
import type { z } from 'zod';
import type { ConfigPath } from '../diagnostics/paths.js';
import type { ActionEvent, ActionStepConfig, CheckState, TargetConfig } from '../types.js';

/** The transition an action answers, as passed to it (and, for `command`, to its environment). */
export interface ActionTransition {
  event: ActionEvent;
  /** `<target>/<check>`. */
  checkId: string;
  target: string;
  /** The check's kind, e.g. `liveness`. */
  check: string;
  region: string;
  from: CheckState;
  to: CheckState;
  /** The transition's reason, e.g. `3 consecutive failures: CONNECTION_REFUSED: …`. */
  reason: string;
  /** ms since epoch. */
  at: number;
  /** The incident open for the check (unhealthy), or the one this recovery closed; null if none. */
  incidentId: string | null;
}

/** What one run gets. */
export interface ActionContext {
  /** Aborted when the step's timeout passes or the hub stops. */
  signal: AbortSignal;
  /**
   * One per (transition, step): the same key whichever hub runs it. Webhook actions send it as
   * `Idempotency-Key`; commands get it as `VIGIL_IDEMPOTENCY_KEY`.
   */
  idempotencyKey: string;
  transition: ActionTransition;
  /** The target the check belongs to (its URL: the pod behind it, for the kubernetes action). */
  target: TargetConfig;
  now(): number;
}

/**
 * The outcome of one run; never thrown. `refused`: the system said no on purpose (a
 * PodDisruptionBudget's 429, a 4xx from a webhook, an unknown HAProxy server): retrying will not help.
 */
export interface ActionOutcome {
  result: 'succeeded' | 'failed' | 'refused';
  /** Output excerpt or error, for people (the runner caps it). No secrets. */
  output: string;
}

/** One configured action. */
export interface Action {
  readonly kind: string;
  readonly name: string;
  /** What it does, one line, for the audit and `--dry-run-actions` (no I/O): `kubectl-style` words. */
  describe(context: Pick<ActionContext, 'transition' | 'target'>): string;
  run(context: ActionContext): Promise<ActionOutcome>;
}

/** An action plugin, exported by `actions/<kind>.ts` and registered in one line of `actions/index.ts`. */
export interface ActionPlugin<Schema extends z.ZodObject = z.ZodObject> {
  /**
   * Strict object: `kind` (the registry key as a literal), the common step keys (`stepShape`), the
   * plugin's own. Every rule zod can check lives here, so `vigil validate` reports it with its path.
   */
  readonly configSchema: Schema;
  /** Makes an action from a validated block (with `name` and `escalateAfterMs` resolved). No I/O. */
  create(config: z.output<Schema> & ActionStepConfig): Action;
  /**
   * Whether a `vigil validate` diagnostic must show the value at `path` (inside one block of this
   * kind, e.g. `['headers', 'Authorization']`) as `[REDACTED]`, whatever its type. Default: none.
   */
  isHiddenValue?(path: ConfigPath): boolean;
  /**
   * The credentials written in one block of this kind, as written (before validation: anything may be
   * of the wrong type). The loaded config's redactor hides each wherever it appears: diagnostics,
   * logs, stored runs, the API and the dashboard. Values from `${VAR}` are secrets already.
   */
  secretsOf?(block: Readonly<Record<string, unknown>>): string[];
}
