/**
 * The action runner: transitions in, recovery actions run safely, every run recorded.
 *
 * ```
 * onTransition ─▶ which list (onUnhealthy / onDegraded / onRecovered) ─▶ a chain per (scope, event)
 *   step i: gates (startup grace, silence/maintenance, cool-down, minHealthy, N per window) ─▶ back-off
 *     ─▶ claim (store, idempotency key) ─▶ run (lease renewed) ─▶ record ─▶ wait escalateAfter
 *     ─▶ still not healthy? step i+1 (the last step repeats until the limit) ─▶ … ─▶ page: actions exhausted
 * ```
 *
 * Durability, exactly: an action is durable like a notification. Before it starts it is claimed in the
 * store under an idempotency key, one per (check, region, transition time, event, step, action name),
 * so it is never started twice for one transition — not by a restarted hub, not by a second replica.
 * While it runs its lease is renewed; its verdict is recorded when it ends. A run whose hub died
 * mid-run (its lease lapsed with no verdict) is recorded as `outcome unknown` and escalated with a page;
 * it is not re-run blindly, since a half-run command cannot be known to have taken effect or not.
 * Webhook actions carry the key (`Idempotency-Key`) so that receivers can deduplicate. What is lost on
 * a crash: the escalation chain in progress (a restarted hub does not resume it; an `unknown` run
 * pages, and a later transition starts a new chain).
 *
 * Safety gates, in order, each recorded as a `skipped` run with its reason:
 * - `startup-grace`: the check has never passed and is within its `startupGrace` (no page);
 * - `muted`: a silence or maintenance window covers the check's alert (no page: people are on it);
 * - `cooldown`: the check recovered less than `cooldown` before this transition (pages);
 * - `min-healthy`: fewer of the group's targets are healthy than `minHealthy.min` (pages);
 * - `rate-limit`: the action ran `maxRuns` times within `window` (pages: actions exhausted);
 * - `in-progress`: another check of the same scope already runs this chain, or its action ran for
 *   another check of the scope within the first step's `escalateAfter` (no page: one restart for a
 *   target whose liveness and integrity fail together).
 * Between runs of one action: exponential back-off, `initial × 2^(runs in window − 1)`, capped at `max`.
 */
import { createHash, randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { fingerprintOf } from '../alerting/alerts.js';
import type { Alert } from '../alerting/types.js';
import { redactSecretParams } from '../diagnostics/redact.js';
import type { ActionRun, ActionRunInput, Store } from '../store/types.js';
import type {
  ActionEvent,
  ActionPolicy,
  ActionStepConfig,
  CheckPlan,
  CheckState,
  EvalState,
  Transition,
} from '../types.js';
import { createAction } from './index.js';
import { capOutput } from './step.js';
import type { Action, ActionContext, ActionOutcome, ActionTransition } from './types.js';

/** The alert that pages when actions cannot help any more (exhausted, refused by a limit, or unknown). */
export const ACTIONS_EXHAUSTED_ALERT = 'VigilActionsExhausted';

/** Default lease of a running action: renewed every third of it; a hub silent for this long is presumed dead. */
export const DEFAULT_ACTION_LEASE_MS = 30_000;

/** Statuses that count as a run toward `maxRuns` and the back-off (a dry run counts: it shows the limits). */
const COUNTED = new Set<ActionRun['status']>([
  'running',
  'succeeded',
  'failed',
  'refused',
  'unknown',
  'dry-run',
]);

/** What the runner reads of the hub. */
export interface ActionRunnerView {
  /** Every check this hub runs. */
  plans(): Iterable<CheckPlan>;
  /** The current state of a check (this hub's region). */
  stateOf(checkId: string): EvalState | undefined;
  /**
   * Whether this hub may start a chain's actions for the check now; absent: always. A cluster hub
   * answers whether it still holds the check's lease (its fence not passed): asked just before the
   * first step's claim, since a hub that lost the lease after deciding a transition may not have
   * stored its state, and the new owner then decides (and acts on) the transition itself. Later
   * steps of a chain it started go on: the new owner resumes the stored state and starts no chain.
   */
  mayStart?(checkId: string): boolean;
}

export type ActionLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

/** Options of {@link createActionRunner}. */
export interface ActionRunnerOptions {
  store: Store;
  view: ActionRunnerView;
  /** `--dry-run-actions`: record what would run (status `dry-run`), run nothing. */
  dryRun?: boolean;
  /** Why a check's alert is muted now (silence, maintenance window), if it is. */
  muted?: (plan: CheckPlan, t: Transition) => Promise<string | undefined>;
  /** Hands a page (firing or resolved {@link ACTIONS_EXHAUSTED_ALERT}) to alerting. */
  page?: (alerts: Alert[]) => Promise<void>;
  /** Each run recorded (metrics, events, logs). */
  onRun?: (run: ActionRun) => void;
  log?: ActionLog;
  /**
   * Hides the config's secrets (`LoadedConfig.redact`) in what a run stores, and so in logs, pages, the
   * API and the dashboard: its description, reason and output (a command may print its environment, a
   * webhook receiver may echo a header). Credential-named query parameters are always hidden.
   * Default: those only.
   */
  redact?: (text: string) => string;
  /** This hub's name in `owner`. Default `<hostname>:<pid>:<random>`. */
  owner?: string;
  now?: () => number;
  /** See {@link DEFAULT_ACTION_LEASE_MS}. */
  leaseMs?: number;
  /** Makes a step's action (tests substitute). Default the registry's. */
  createAction?: (step: ActionStepConfig) => Action;
}

/** A running action runner. */
export interface ActionRunner {
  /** A transition of `plan` (stored already; `incidentId` is the incident it opened or closed). */
  onTransition(plan: CheckPlan, t: Transition, incidentId: string | null): Promise<void>;
  /** Records runs whose hub died as `unknown` and pages them; then sweeps every half lease. */
  start(): Promise<void>;
  /** Cancels chains and waits; actions in flight are aborted (recorded `failed`, "stopped"). */
  stop(): Promise<void>;
  /** One line per run of an incident, for notifications: `restart (command): succeeded — exit 0`. */
  summary(incidentId: string): Promise<string | undefined>;
  /** Resolves when no chain is waiting or running (tests). */
  idle(): Promise<void>;
}

interface Chain {
  key: string;
  plan: CheckPlan;
  policy: ActionPolicy;
  t: Transition;
  event: ActionEvent;
  steps: ActionStepConfig[];
  incidentId: string | null;
  index: number;
  timer: NodeJS.Timeout | undefined;
  wake: (() => void) | undefined;
  done: boolean;
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);

/** The event a transition is, for actions: `null` when it asks for none. */
export function actionEventOf(t: Transition): ActionEvent | null {
  const to = t.to === 'stale' ? undefined : t.to;
  const from: CheckState = t.from === 'stale' ? (t.lastKnown ?? 'unknown') : t.from;
  if (to === 'unhealthy') return from === 'unhealthy' ? null : 'unhealthy';
  if (to === 'degraded') return from === 'degraded' ? null : 'degraded';
  if (to === 'healthy' && (from === 'unhealthy' || from === 'degraded')) return 'recovered';
  return null;
}

/** The back-off before the next run after `runs` runs in the window: `initial × 2^(runs − 1)`, capped. */
export function backoffMs(
  policy: Pick<ActionPolicy, 'backoffInitialMs' | 'backoffMaxMs'>,
  runs: number,
): number {
  if (runs <= 0) return 0;
  return Math.min(policy.backoffMaxMs, policy.backoffInitialMs * 2 ** (runs - 1));
}

const stateNow = (s: EvalState | undefined): CheckState | undefined =>
  s === undefined ? undefined : s.state === 'stale' ? (s.lastKnown?.state ?? 'unknown') : s.state;

/** Builds a runner. */
export function createActionRunner(options: ActionRunnerOptions): ActionRunner {
  const { store, view } = options;
  const clock = options.now ?? Date.now;
  const log: ActionLog = options.log ?? (() => {});
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
  const leaseMs = options.leaseMs ?? DEFAULT_ACTION_LEASE_MS;
  const make = options.createAction ?? createAction;
  const given = options.redact;
  const redact = given === undefined ? redactSecretParams : (text: string) => redactSecretParams(given(text));
  const actions = new Map<string, Action>();
  const chains = new Map<string, Chain>();
  const inFlight = new Set<AbortController>();
  const pending = new Set<Promise<unknown>>();
  /** Firing pages by check id. */
  const paged = new Map<string, Alert>();
  let sweepTimer: NodeJS.Timeout | undefined;
  let stopped = false;

  const track = <T>(p: Promise<T>): Promise<T> => {
    pending.add(p);
    void p.finally(() => pending.delete(p)).catch(() => {});
    return p;
  };

  function actionOf(step: ActionStepConfig): Action {
    const k = JSON.stringify(step);
    let action = actions.get(k);
    if (action === undefined) {
      action = make(step);
      actions.set(k, action);
    }
    return action;
  }

  function transitionOf(
    plan: CheckPlan,
    t: Transition,
    event: ActionEvent,
    incidentId: string | null,
  ): ActionTransition {
    return {
      event,
      checkId: plan.id,
      target: plan.target.name,
      check: plan.kind,
      region: t.region,
      from: t.from,
      to: t.to,
      reason: t.reason,
      at: t.at,
      incidentId,
    };
  }

  function record(run: ActionRun): void {
    const level =
      run.status === 'succeeded' || run.status === 'dry-run'
        ? 'info'
        : run.status === 'skipped'
          ? 'info'
          : 'warn';
    log(
      level,
      `action ${run.action} (${run.kind}) for ${run.checkId} ${run.event}: ${run.status}${run.skipReason ? ` (${run.skipReason})` : ''}${
        run.output ? `: ${run.output.split('\n')[0]}` : ''
      }`,
      { checkId: run.checkId, action: run.action, status: run.status, idempotencyKey: run.idempotencyKey },
    );
    options.onRun?.(run);
  }

  // ---------------------------------------------------------------------------------------------
  // Pages

  function pageLabels(plan: CheckPlan | undefined, checkId: string, region: string): Record<string, string> {
    const [target = checkId, check = ''] = checkId.split('/');
    const labels: Record<string, string> = { ...(plan?.target.labels ?? {}) };
    labels.alertname = ACTIONS_EXHAUSTED_ALERT;
    labels.severity = 'critical';
    labels.target = target;
    labels.check = check;
    labels.region = region;
    if (plan?.target.model !== undefined) labels.model = plan.target.model;
    return labels;
  }

  async function pageExhausted(
    plan: CheckPlan | undefined,
    checkId: string,
    region: string,
    why: string,
    incidentId: string | null,
  ) {
    if (options.page === undefined) return;
    const labels = pageLabels(plan, checkId, region);
    const done = incidentId === null ? undefined : await summary(incidentId);
    const alert: Alert = {
      fingerprint: fingerprintOf(labels),
      status: 'firing',
      labels,
      annotations: {
        summary: `${checkId}: recovery actions exhausted, a person is needed`,
        description: `${why}${done ? `\nActions run:\n${done}` : '\nNo action ran.'}`,
        ...(done ? { actions: done } : {}),
      },
      startsAt: clock(),
      endsAt: null,
    };
    paged.set(checkId, alert);
    await options
      .page([alert])
      .catch((error: Error) => log('error', `page for ${checkId} not handed to alerting: ${error.message}`));
  }

  async function resolvePage(checkId: string): Promise<void> {
    const alert = paged.get(checkId);
    if (alert === undefined || options.page === undefined) return;
    paged.delete(checkId);
    await options.page([{ ...alert, status: 'resolved', endsAt: clock() }]).catch(() => {});
  }

  async function summary(incidentId: string): Promise<string | undefined> {
    const runs = (await store.actionRuns({ incidentId })).reverse();
    if (runs.length === 0) return undefined;
    return runs
      .map((r) => {
        const what =
          r.status === 'skipped'
            ? `skipped (${r.skipReason})`
            : r.status === 'unknown'
              ? 'outcome unknown'
              : r.status;
        const first = r.output?.split('\n')[0];
        return `${new Date(r.claimedAt).toISOString()} ${r.action} (${r.kind}, ${r.what}): ${what}${first ? ` — ${first}` : ''}`;
      })
      .join('\n');
  }

  // ---------------------------------------------------------------------------------------------
  // Gates

  function matches(
    labels: Readonly<Record<string, string>>,
    selector: Readonly<Record<string, string>>,
  ): boolean {
    return Object.entries(selector).every(([k, v]) => labels[k] === v);
  }

  /** `undefined` when enough of the group is healthy; else why not. */
  function minHealthyProblem(policy: ActionPolicy): string | undefined {
    const rule = policy.minHealthy;
    if (rule === undefined) return undefined;
    const targets = new Map<string, boolean>();
    for (const p of view.plans()) {
      if (!matches(p.target.labels, rule.group)) continue;
      const s = view.stateOf(p.id);
      const state = stateNow(s);
      // A target is healthy when no check of it is failing: unhealthy, or its last probe failed (a
      // failure being confirmed counts, so that targets failing together are seen together).
      const ok = state !== 'unhealthy' && state !== 'unknown' && (s?.consecutiveFailures ?? 0) === 0;
      targets.set(p.target.name, (targets.get(p.target.name) ?? true) && ok);
    }
    const total = targets.size;
    const healthy = [...targets.values()].filter(Boolean).length;
    const needed = 'count' in rule.min ? rule.min.count : Math.ceil((total * rule.min.percent) / 100);
    if (healthy >= needed) return undefined;
    const selector =
      Object.entries(rule.group)
        .map(([k, v]) => `${k}=${v}`)
        .join(',') || 'all targets';
    return `only ${healthy} of ${total} targets of the group {${selector}} are healthy, ${needed} needed (minHealthy ${
      'count' in rule.min ? rule.min.count : `${rule.min.percent}%`
    }): not acting on what looks like a wide outage`;
  }

  async function cooldownProblem(
    plan: CheckPlan,
    policy: ActionPolicy,
    t: Transition,
  ): Promise<string | undefined> {
    if (policy.cooldownMs <= 0) return undefined;
    const recent = await store.transitions({
      checkId: plan.id,
      region: t.region,
      since: t.at - policy.cooldownMs,
    });
    // A recovery: back to healthy from unhealthy or degraded (a first `healthy` after start-up is none).
    const recovery = recent.find(
      (r) =>
        r.to === 'healthy' &&
        (r.from === 'unhealthy' || r.from === 'degraded') &&
        r.at <= t.at &&
        r.at > t.at - policy.cooldownMs,
    );
    if (recovery === undefined) return undefined;
    return `it recovered ${Math.round((t.at - recovery.at) / 1000)} s before failing again, within the cool-down of ${Math.round(
      policy.cooldownMs / 1000,
    )} s: the last action did not hold`;
  }

  // ---------------------------------------------------------------------------------------------
  // Runs

  function inputOf(chain: Chain, step: ActionStepConfig, index: number, action: Action): ActionRunInput {
    const { plan, t, event } = chain;
    return {
      idempotencyKey: hash([plan.id, t.region, t.at, event, index, step.name].join('\0')),
      scope: chain.policy.scope,
      action: step.name,
      kind: step.kind,
      event,
      step: index,
      checkId: plan.id,
      region: t.region,
      incidentId: chain.incidentId,
      transitionAt: t.at,
      reason: redact(t.reason),
      status: 'running',
      claimedAt: clock(),
      owner,
      what: redact(
        action.describe({
          transition: transitionOf(plan, t, event, chain.incidentId),
          target: plan.target,
        }),
      ),
    };
  }

  async function skip(input: ActionRunInput, reason: string): Promise<void> {
    const { run, claimed } = await store.claimActionRun({
      ...input,
      status: 'skipped',
      skipReason: reason,
      claimedAt: clock(),
    });
    if (claimed) record(run);
  }

  /** Waits `ms` unless the chain ends first. @returns whether the chain is still on. */
  function sleep(chain: Chain, ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(!chain.done && !stopped);
    return new Promise((resolve) => {
      chain.wake = () => {
        clearTimeout(chain.timer);
        chain.wake = undefined;
        resolve(false);
      };
      chain.timer = setTimeout(() => {
        chain.wake = undefined;
        resolve(!chain.done && !stopped);
      }, ms);
    });
  }

  async function execute(
    action: Action,
    run: ActionRun,
    context: Omit<ActionContext, 'signal'>,
  ): Promise<ActionOutcome> {
    const controller = new AbortController();
    inFlight.add(controller);
    const renew = setInterval(
      () => {
        void store
          .renewActionLease(run.id, clock() + leaseMs)
          .catch((error: Error) =>
            log('warn', `could not renew the lease of action run ${run.id}: ${error.message}`),
          );
      },
      Math.max(10, Math.floor(leaseMs / 3)),
    );
    try {
      return await action.run({ ...context, signal: controller.signal });
    } catch (error) {
      return { result: 'failed', output: `the action threw: ${(error as Error).message}` };
    } finally {
      clearInterval(renew);
      inFlight.delete(controller);
    }
  }

  /** One step of a chain. @returns whether the chain goes on (escalation). */
  async function attempt(chain: Chain, step: ActionStepConfig, index: number): Promise<boolean> {
    const { plan, policy, t, event } = chain;
    const action = actionOf(step);
    const input = inputOf(chain, step, index, action);
    const state = view.stateOf(plan.id);
    if (
      event !== 'recovered' &&
      state !== undefined &&
      !state.hasPassed &&
      state.firstSeenAt !== null &&
      (plan.startupGraceMs ?? 0) > 0 &&
      clock() - state.firstSeenAt < (plan.startupGraceMs ?? 0)
    ) {
      await skip(input, 'startup-grace');
      return false;
    }
    const muted = await options.muted?.(plan, t);
    if (muted !== undefined) {
      await skip(input, `muted: ${muted}`);
      return false;
    }
    if (event !== 'recovered') {
      if (index === 0) {
        const cooldown = await cooldownProblem(plan, policy, t);
        if (cooldown !== undefined) {
          await skip(input, 'cooldown');
          await pageExhausted(plan, plan.id, t.region, `No action was run: ${cooldown}.`, chain.incidentId);
          return false;
        }
      }
      const group = minHealthyProblem(policy);
      if (group !== undefined) {
        await skip(input, 'min-healthy');
        await pageExhausted(plan, plan.id, t.region, `No action was run: ${group}.`, chain.incidentId);
        return false;
      }
    }
    const since = clock() - policy.windowMs;
    const runs = (await store.actionRuns({ scope: policy.scope, action: step.name, since })).filter((r) =>
      COUNTED.has(r.status),
    );
    if (runs.length >= policy.maxRuns) {
      await skip(input, 'rate-limit');
      await pageExhausted(
        plan,
        plan.id,
        t.region,
        `Actions exhausted: ${step.name} ran ${runs.length} times within ${Math.round(policy.windowMs / 60_000)} min (limit ${policy.maxRuns}) and ${plan.id} is still ${stateNow(view.stateOf(plan.id)) ?? t.to}.`,
        chain.incidentId,
      );
      return false;
    }
    const last = runs[0];
    if (last !== undefined) {
      const wait = last.claimedAt + backoffMs(policy, runs.length) - clock();
      if (wait > 0) {
        log('info', `action ${step.name} for ${plan.id}: back-off, next run in ${wait} ms`, {
          checkId: plan.id,
        });
        if (!(await sleep(chain, wait))) return false;
        if (event !== 'recovered' && stateNow(view.stateOf(plan.id)) === 'healthy') return false;
      }
    }
    if (index === 0 && view.mayStart?.(plan.id) === false) {
      log('info', `action ${step.name} for ${plan.id}: not started, this hub no longer holds the check`, {
        checkId: plan.id,
      });
      return false;
    }
    const leased = {
      ...inputOf(chain, step, index, action),
      status: options.dryRun ? ('dry-run' as const) : ('running' as const),
      leaseUntil: clock() + leaseMs,
    };
    const { run, claimed } = await store.claimActionRun(leased);
    if (!claimed) {
      log(
        'info',
        `action ${step.name} for ${plan.id} was claimed already (${run.owner}, ${run.status}): not started again`,
        {
          idempotencyKey: run.idempotencyKey,
        },
      );
      return false;
    }
    if (options.dryRun) {
      record(run);
      return true;
    }
    record(run);
    const outcome = await execute(action, run, {
      idempotencyKey: run.idempotencyKey,
      transition: transitionOf(plan, t, event, chain.incidentId),
      target: plan.target,
      now: clock,
    });
    const output = capOutput(redact(outcome.output));
    const finishedAt = clock();
    if (await store.finishActionRun(run.id, { status: outcome.result, finishedAt, output })) {
      record({ ...run, status: outcome.result, finishedAt, output, leaseUntil: null });
    } else {
      log('warn', `action run ${run.id} finished after it was declared unknown: ${outcome.result}`, {
        output,
      });
    }
    return true;
  }

  async function advance(chain: Chain): Promise<void> {
    while (!chain.done && !stopped) {
      const last = chain.steps.length - 1;
      const step = chain.steps[Math.min(chain.index, last)] as ActionStepConfig;
      const goOn = await attempt(chain, step, chain.index);
      if (!goOn || chain.event === 'recovered') break;
      if (!(await sleep(chain, step.escalateAfterMs))) break;
      if (stateNow(view.stateOf(chain.plan.id)) === 'healthy') break;
      chain.index++;
    }
    chain.done = true;
    if (chains.get(chain.key) === chain) chains.delete(chain.key);
  }

  function startChain(
    plan: CheckPlan,
    policy: ActionPolicy,
    t: Transition,
    event: ActionEvent,
    incidentId: string | null,
    steps: ActionStepConfig[],
  ) {
    const chain: Chain = {
      key: `${policy.scope}\0${event}${event === 'recovered' ? `\0${plan.id}\0${t.at}` : ''}`,
      plan,
      policy,
      t,
      event,
      steps,
      incidentId,
      index: 0,
      timer: undefined,
      wake: undefined,
      done: false,
    };
    chains.set(chain.key, chain);
    return track(
      advance(chain).catch((error: Error) => {
        log('error', `recovery actions of ${plan.id} stopped: ${error.message}`, { checkId: plan.id });
        chain.done = true;
        chains.delete(chain.key);
      }),
    );
  }

  async function onTransition(plan: CheckPlan, t: Transition, incidentId: string | null): Promise<void> {
    if (stopped) return;
    const event = actionEventOf(t);
    if (event === null) return;
    const policy = plan.actions;
    if (event === 'recovered') {
      for (const chain of chains.values()) {
        if (chain.plan.id === plan.id && chain.event !== 'recovered') {
          chain.done = true;
          chain.wake?.();
        }
      }
      await resolvePage(plan.id);
    }
    if (policy === undefined) return;
    const steps =
      event === 'unhealthy'
        ? policy.onUnhealthy
        : event === 'degraded'
          ? policy.onDegraded
          : policy.onRecovered;
    if (steps.length === 0) return;
    const key = `${policy.scope}\0${event}`;
    const running = event === 'recovered' ? undefined : chains.get(key);
    if (running !== undefined && !running.done) {
      const step = steps[0] as ActionStepConfig;
      const probe: Chain = { ...running, plan, t, incidentId, index: 0 };
      await skip(
        inputOf(probe, step, 0, actionOf(step)),
        `in-progress: ${running.plan.id}'s actions are running`,
      );
      return;
    }
    if (event !== 'recovered') {
      // Another check of the same scope (a target-level block) started this chain moments ago and its
      // first action is still being given its escalateAfter: this failure is most likely the same one.
      const first = steps[0] as ActionStepConfig;
      const recent = await store.actionRuns({ scope: policy.scope, since: clock() - first.escalateAfterMs });
      const fresh = recent.find(
        (r) =>
          r.event === event && r.checkId !== plan.id && (r.status === 'running' || r.status === 'succeeded'),
      );
      if (fresh !== undefined) {
        const probe: Chain = {
          key,
          plan,
          policy,
          t,
          event,
          steps,
          incidentId,
          index: 0,
          timer: undefined,
          wake: undefined,
          done: false,
        };
        await skip(
          inputOf(probe, first, 0, actionOf(first)),
          `in-progress: ${fresh.action} ran for ${fresh.checkId} within escalateAfter`,
        );
        return;
      }
    }
    void startChain(plan, policy, t, event, incidentId, steps);
  }

  async function sweep(): Promise<void> {
    const expired = await store.expireActionRuns(clock());
    const plans = new Map([...view.plans()].map((p) => [p.id, p]));
    for (const run of expired) {
      record(run);
      await pageExhausted(
        plans.get(run.checkId),
        run.checkId,
        run.region,
        `Outcome unknown: the hub running ${run.action} (${run.what}) stopped before recording its result. It was not run again: it may or may not have taken effect.`,
        run.incidentId,
      );
    }
  }

  return {
    onTransition: (plan, t, incidentId) => track(onTransition(plan, t, incidentId)),
    async start() {
      await sweep().catch((error: Error) => log('error', `action sweep failed: ${error.message}`));
      sweepTimer = setInterval(
        () => {
          void sweep().catch((error: Error) => log('error', `action sweep failed: ${error.message}`));
        },
        Math.max(50, Math.floor(leaseMs / 2)),
      );
      sweepTimer.unref();
    },
    async stop() {
      stopped = true;
      clearInterval(sweepTimer);
      for (const chain of chains.values()) {
        chain.done = true;
        chain.wake?.();
      }
      for (const controller of inFlight) controller.abort(new Error('the hub is stopping'));
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    summary,
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
  };
}
