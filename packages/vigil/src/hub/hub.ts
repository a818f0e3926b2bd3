/**
 * The hub: scheduler → prober → evaluator → store, metrics and events, with config reload.
 * `vigil run` wraps it with the HTTP API. Wiring only: durability is the state writer's
 * (`state-writer.ts`), the dashboard's exchanges the exchange cache's (`exchange-cache.ts`), events
 * the event bus's (`event-bus.ts`).
 */
import { type ActionRunner, type ActionRunnerOptions, createActionRunner } from '../actions/runner.js';
import {
  agentDownAlert,
  alertsFromFlap,
  alertsFromState,
  alertsFromTransition,
  alertsFromVerdict,
  type RegionVerdict,
} from '../alerting/alerts.js';
import { createDispatcher, type Dispatcher, type DispatcherOptions } from '../alerting/dispatcher.js';
import type { AlertingConfig } from '../alerting/routing.js';
import type { Alert, Notifier } from '../alerting/types.js';
import { plansForRegion, regionsOf, type Shard } from '../config/regions.js';
import { redactResult, redactSecretParams } from '../diagnostics/redact.js';
import { VigilError } from '../errors.js';
import {
  defaultThresholds,
  type Evaluation,
  evaluate,
  initialState,
  isMaterialChange,
  markStale,
} from '../evaluate/index.js';
import type { Metrics } from '../metrics/index.js';
import { createCanaryRunner } from '../probe/canary.js';
import { importPlanBaselines, storeBaselines, storeCanaryState } from '../probe/canary-baselines.js';
import { createMetricsRunner, isMetricsPlan } from '../probe/metrics-check.js';
import { isProbeable, runProbe } from '../probe/run-probe.js';
import type { DeferralReason } from '../scheduler/budget.js';
import { createScheduler, type Scheduler, validatePlans } from '../scheduler/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan, EvalState, HttpClient, ProbeResult, Thresholds } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { createAdaptiveLatency } from './adaptive-latency.js';
import { createEventBus } from './event-bus.js';
import { createExchangeCache } from './exchange-cache.js';
import { createMirror } from './mirror.js';
import { type AgentReport, type AgentStatus, isMultiRegion, verdictOf } from './regions.js';
import { createStateWriter, storeTransition } from './state-writer.js';
import type { CheckDeferral, CheckStatus, HubView, RemoteBatch, RemoteIngest } from './types.js';
import { alertStatuses, checkInfoOf, checkStatusOf, deferralMessage, RecentDurations } from './views.js';
import { createWatchdog, DEFAULT_WATCHDOG_TICK_MS, STALE_INTERVALS, targetTimeouts } from './watchdog.js';

/**
 * The longest a running hub's `update` holds the event loop at a time, in ms, before it lets probes,
 * the API and `/livez` run (it works in pieces of {@link UPDATE_PIECE} checks and checks the clock
 * between them). 10 ms: a probe due meanwhile starts at most about that late, a tenth of the 100 ms
 * scheduler-lag bound a reload must keep (issue #14).
 */
export const UPDATE_TURN_MS = 10;

/** Checks per piece of a running hub's `update` (see {@link UPDATE_TURN_MS}). */
export const UPDATE_PIECE = 100;

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

export { WATCH_MS } from './exchange-cache.js';
export { DEFAULT_CHECKPOINT_INTERVAL_MS } from './state-writer.js';
export { DEFAULT_WATCHDOG_TICK_MS, STALE_INTERVALS, staleAfterMs } from './watchdog.js';

/** Options of {@link createHub}. */
export interface HubOptions {
  plan: readonly CheckPlan[];
  store: Store;
  metrics?: Metrics;
  /**
   * The longest a running hub's `update` holds the event loop at a time, in ms. Default
   * {@link UPDATE_TURN_MS}; `Infinity` applies a plan in one turn (what the benchmark compares against).
   */
  updateTurnMs?: number;
  /** Region this hub probes from. Default `local`. */
  region?: string;
  /**
   * Results, and states that changed in a way that decides a transition, are written in batches: at
   * most this many ms after they arrive. Default 100.
   */
  flushIntervalMs?: number;
  /**
   * How often, in ms, the hub writes the states that changed only in ways a restart does not need
   * (see `isMaterialChange`: a passing check's success count and last result, counts past their
   * thresholds). Default 60 000: writing such a state after every probe was the largest cost of a
   * hub with thousands of checks, and what a kill -9 loses by the interval decides no transition.
   * At 10,000 checks a checkpoint writes up to 10,000 states, in batches that yield to probes.
   */
  checkpointIntervalMs?: number;
  /**
   * Due times are rounded up to multiples of this many ms, so that probes due close together start in
   * one event-loop turn (the scheduler's `coalesceMs`). Default 20 (`DEFAULT_COALESCE_MS`); 0 = exact.
   */
  coalesceMs?: number;
  /**
   * Probes in flight at once across all targets (the scheduler's `maxConcurrency`). Default 1024. When
   * it is full of probes waiting for their timeouts, other targets' probes wait too; the watchdog
   * reports the checks that wait past their cadence as `stale`.
   */
  maxConcurrency?: number;
  /**
   * How often the watchdog looks for checks whose results stopped arriving, in ms (`watchdog.ts`): a
   * check is `stale` after two of its intervals plus its target's probe timeouts without a result.
   * Default 1000.
   */
  watchdogIntervalMs?: number;
  /** Called with human-readable log lines (transitions, reloads, store errors). Default: none. */
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** Overrides of the evaluator's thresholds, for tests and drills. */
  thresholds?: Partial<Thresholds>;
  client?: HttpClient;
  /**
   * Replaces the config's secrets in text shown to readers or stored: the latest exchange, and the
   * messages and values of every result before it is evaluated, stored or published (a server may echo
   * a header or token into its body, and a failed assertion quotes the body); `LoadedConfig.redact`.
   * Credential headers and credential-named query parameters are always redacted. Default: those only.
   */
  redact?: (text: string) => string;
  /**
   * Alerting: transitions become alerts, routed and grouped into notifications that go through the
   * store's durable outbox. Omitted: no notifications (states, incidents and events only).
   */
  alerting?: HubAlerting;
  /**
   * Recovery actions (`actions:` of targets and checks, run by `actions/runner.ts`). Checks with an
   * `actions` block in the plan have them run unless this is `false`. Default: run them.
   */
  actions?: HubActions | false;
  /**
   * The regions agents probe from (`agents:` of the config) and how long an agent may be silent before
   * it is down (`agents.downAfter`, ms). Omitted: no agents; checks run in the hub's region only.
   */
  agents?: HubAgents;
  /**
   * Several hubs on one PostgreSQL (`vigil run --cluster`, `hub/cluster.ts`): this hub probes,
   * evaluates, writes, alerts on and runs actions for the checks of its region whose shard it `owns`
   * only; the other checks' states and transitions are read from the store every `mirrorIntervalMs`
   * (status, dashboard, events). Call {@link Hub.ownershipChanged} when what it owns changed: the
   * change is applied like a plan update, in pieces over event-loop turns. Omitted: it owns every check.
   */
  cluster?: HubCluster;
}

/** What a hub of a cluster needs to know about its leases (see {@link HubOptions.cluster}). */
export interface HubCluster {
  /**
   * Whether this hub may act on the check now: its shard's lease held and the lease's fence not
   * passed. Asked before each probe starts, for each result, and for each state written.
   */
  owns(checkId: string): boolean;
  /**
   * How often the other hubs' states and transitions are read from the store, in ms. Default
   * {@link DEFAULT_MIRROR_INTERVAL_MS}: a transition decided on another hub reaches this hub's event
   * stream within about that, or at its commit on a store that notifies (`Store.watchTransitions`,
   * PostgreSQL), with this poll as the fallback while the listening connection is down.
   */
  mirrorIntervalMs?: number;
}

/** Default {@link HubCluster.mirrorIntervalMs}: 1 000 ms. */
export const DEFAULT_MIRROR_INTERVAL_MS = 1_000;

/**
 * A check a hub takes over is first probed within this many ms (spread by its id's hash), not after
 * its initial delay and a spread over its interval: its last owner probed it until a moment ago.
 */
export const TAKEOVER_FIRST_PROBE_WITHIN_MS = 1_000;

/** The agents a hub expects (see {@link HubOptions.agents}). */
export interface HubAgents {
  regions: readonly string[];
  downAfterMs: number;
}

/** How the hub runs recovery actions. */
export type HubActions = Pick<ActionRunnerOptions, 'dryRun' | 'leaseMs' | 'createAction' | 'owner'>;

/** The hub's alerting: a parsed `alerting:` section, its notifiers, and outbox tuning. */
export interface HubAlerting {
  config: AlertingConfig;
  notifiers: ReadonlyMap<string, Notifier>;
  /** Base URL of the hub, for alerts' `generatorURL`. */
  externalUrl?: string;
  /** The outbox's retry and lease tuning (see `DispatcherOptions`); tests and drills shorten them. */
  dispatcher?: Pick<
    DispatcherOptions,
    'backoff' | 'claimIntervalMs' | 'leaseMs' | 'attemptTimeoutMs' | 'stopGraceMs'
  >;
}

/** A running hub. */
export interface Hub extends HubView {
  /** Resumes states from the store and starts probing. */
  start(): Promise<void>;
  /**
   * Swaps in a new plan: unchanged checks keep their state and schedule; changed ones are scheduled
   * afresh; removed ones stop. Applied in slices over event-loop turns (a large reload does not hold
   * the loop); resolves when the whole plan is in. Updates apply one at a time, in call order.
   *
   * @throws VigilError `VIGIL_ERR_SCHEDULER_INVALID_PLAN` (duplicate id, bad interval), as a rejection,
   * before anything changes.
   */
  update(plan: readonly CheckPlan[]): Promise<void>;
  /**
   * Swaps in new alerting (or none) while the hub runs, as a restart would: the old dispatcher stops
   * (sends in flight may finish, see `stopGraceMs`), the new one is fed the alerts the current states
   * fire and starts. What was already notified under unchanged routes maps to the same dedup keys and
   * is not sent again; a changed route's groups are new and notify their receivers. Rows already in
   * the outbox are delivered by the new dispatcher (after their lease, when one was in flight).
   */
  updateAlerting(alerting: HubAlerting | undefined): Promise<void>;
  /**
   * Takes in a result the hub did not probe: a router's summary of real traffic to one upstream
   * (`source: 'traffic'`, check `<target>/traffic:<router>`, see `router/traffic.ts`). It is evaluated
   * with its check's own thresholds, stored, exported and alerted on like a probe's result. Returns
   * false (and drops it) when the hub has no such traffic check, the result is not from the region
   * its router is placed in (`routers[].region`, default the hub's), or the hub is not running.
   */
  ingest(result: ProbeResult): boolean;
  /**
   * Takes in a batch an agent of `region` pushed (`POST /api/v1/agent/results`): each result is
   * redacted, then stored with its id's claim in one store transaction (`Store.ingestResults`), so
   * a result whose id was taken in before (a replay) is neither stored nor evaluated again. The new
   * ones are evaluated in their (check, region) states, in the order sent (a multi-region check's
   * verdict is derived again), and the state changes that decide a transition are written before
   * it resolves. So once it resolves, every accepted result is durable: the API acknowledges the
   * batch only then, and a hub killed before that has claimed nothing the agent's re-send would miss.
   *
   * Resolves undefined, claiming nothing, when the hub is not running (the API answers 503 and the
   * agent keeps the batch). A result of a check that does not run in `region` (the API refuses such
   * a batch first; a reload in between can still make one) is left out, neither claimed nor stored,
   * and counted in `skipped`.
   * @throws the store's errors (`StoreError`): nothing of the batch is claimed then.
   */
  ingestRemote(region: string, batch: RemoteBatch): Promise<RemoteIngest | undefined>;
  /** Records that `region`'s agent delivered a batch (it is up again if it was down). */
  agentReport(
    region: string,
    report: AgentReport,
    receivedAt: number,
    counts: { results: number; replayed: number; lagMs: number | null },
  ): void;
  /** Every expected agent: last report, lag, spool depth, clock offset (`GET /api/v1/agents`). */
  agents(): AgentStatus[];
  /** The checks `region` runs (its shard), as that region runs them (`plansForRegion`). */
  plansFor(region: string, shard?: Shard): CheckPlan[];
  /** Whether `region` is one this hub takes agents' results for. */
  isAgentRegion(region: string): boolean;
  /** Replaces the expected agents (a reload). */
  updateAgents(agents: HubAgents | undefined): void;
  /** Stops probing, writes what is pending, and leaves the store open (the caller owns it). */
  stop(): Promise<void>;
  /** Writes buffered results and every changed state now (the checkpoint's too). */
  flush(): Promise<void>;
  /**
   * With `cluster`: what this hub owns changed (a lease taken, released or fenced). The current plan
   * is applied again through the same path as {@link Hub.update} (in pieces over event-loop turns,
   * after any update in progress): checks lost stop first (a probe in flight finishes, its result is
   * dropped), checks taken resume from their stored states and are probed within
   * {@link TAKEOVER_FIRST_PROBE_WITHIN_MS}. Calls made while one is waiting share it. Resolves once
   * applied; without `cluster`, at once.
   */
  ownershipChanged(): Promise<void>;
}

/** The state table's key of (check, region). */
const key = (checkId: string, region: string) => `${checkId}\u0000${region}`;

/**
 * Builds a hub over an open store.
 *
 * Durability: a result is stored within `flushIntervalMs` of its probe; a transition (with the
 * state it leads to, and the incident it opens or closes) is stored before its event is published
 * and before any alert it raises is handed to the outbox. A state change that decides a future
 * transition (a failure being confirmed, a success counting toward a recovery, flapping) is stored
 * within `flushIntervalMs`; other state changes (a healthy check's success count and last result,
 * counts past their thresholds) at the next checkpoint, every `checkpointIntervalMs`. States are
 * written in the order they were produced, so a checkpoint never overwrites a transition's state
 * with an older one. After a crash (kill -9) and a restart, every check resumes from its last
 * stored state: it may have lost up to `checkpointIntervalMs` of streak counts past their
 * thresholds and of last results (the results themselves are stored), never a transition or a
 * count that decides one.
 *
 * @example
 * const store = await openStore('.vigil/vigil.db');
 * const hub = createHub({ plan: loaded.plan, store });
 * await hub.start();
 */
export function createHub(options: HubOptions): Hub {
  const region = options.region ?? 'local';
  const { store, metrics } = options;
  const log = options.log ?? (() => {});
  const client = options.client ?? createHttpClient({ keepAlive: true });
  const ownsClient = options.client === undefined;

  let plans = new Map<string, CheckPlan>();
  /** The plan as last applied (what {@link Hub.ownershipChanged} applies again). */
  let currentPlan: readonly CheckPlan[] = [];
  const cluster = options.cluster;
  /** Multi-region checks' verdicts and the alerts they fire now, by check id. */
  const verdicts = new Map<string, RegionVerdict>();
  const verdictAlerts = new Map<string, Alert[]>();
  /** Agents by region, and when a remote (check, region) last got a result (hub's clock). */
  const agents = new Map<string, AgentStatus>();
  const remoteSeen = new Map<string, number>();
  let agentConfig: HubAgents | undefined;
  let startedAt = Date.now();
  const thresholds = new Map<string, Thresholds>();
  /** The state table: each check's evaluator state, by `key(checkId, region)`. */
  const states = new Map<string, EvalState>();
  const recent = new Map<string, RecentDurations>();
  const writer = createStateWriter({
    store,
    // In a cluster, a state of this hub's region is written only while this hub acts on its check: a
    // change queued before the check was lost (or its lease fenced) is its new owner's to write.
    stateOf: (k) => (writes(k) ? states.get(k) : undefined),
    flushIntervalMs: options.flushIntervalMs,
    checkpointIntervalMs: options.checkpointIntervalMs,
    log,
  });
  /** This hub's own probes' exchanges, by check id. */
  const exchanges = createExchangeCache({ client, region, redact: options.redact });
  const given = options.redact;
  /** What a result's texts go through: the config's secrets, then credential query parameters. */
  const redactText =
    given === undefined ? redactSecretParams : (text: string) => redactSecretParams(given(text));
  const events = createEventBus(log);
  const canaryState = storeCanaryState(store);
  const canary = createCanaryRunner({
    baselines: storeBaselines(store),
    // A canary's drift state is written only while this hub acts on the check (always, outside a
    // cluster), as its evaluator state is: a run that ends after the lease's fence does not overwrite
    // the new owner's.
    state: {
      ...canaryState,
      save: (checkId, state) => (acts(checkId) ? canaryState.save(checkId, state) : Promise.resolve()),
    },
    log,
  });
  const adaptive = createAdaptiveLatency(store, (message) => log('warn', message));
  // Metrics checks keep their counters' previous totals between probes (rates).
  const metricsRunner = createMetricsRunner();
  const watchdogTickMs = options.watchdogIntervalMs ?? DEFAULT_WATCHDOG_TICK_MS;
  const watchdog = createWatchdog({ tickMs: watchdogTickMs });
  let watchdogTimer: NodeJS.Timeout | undefined;
  /** The checks the scheduler puts off now, by check id (this hub's region). */
  const deferrals = new Map<string, CheckDeferral>();
  let running = false;
  let stopping = false;
  let scheduler: Scheduler | undefined;
  let alertOptions: { externalUrl?: string } = {};
  let currentAlerting = options.alerting;
  let dispatcher: Dispatcher | undefined;
  const actionRunner: ActionRunner | undefined =
    options.actions === false
      ? undefined
      : createActionRunner({
          ...options.actions,
          store,
          view: {
            plans: () => plans.values(),
            stateOf: (checkId) => states.get(key(checkId, region)),
            mayStart: acts,
          },
          muted: async (plan, t) => {
            const alerts = alertsFromTransition(t, plan, alertOptions).filter((a) => a.status === 'firing');
            if (dispatcher === undefined || alerts.length === 0) return undefined;
            // Silences and maintenance windows only: an alert inhibited by its target's liveness alert is
            // the very failure the target-level chain is acting on (a crash loop would stop, unpaged).
            const reasons = await dispatcher.muteReasons(alerts, { inhibition: false });
            return alerts.map((a) => reasons.get(a.fingerprint)).find((r) => r !== undefined);
          },
          page: async (alerts) => {
            await dispatcher?.onAlerts(alerts);
          },
          onRun: (run) => {
            if (run.status !== 'running') metrics?.observeActionRun(run.action, run.status);
            events.publish({ type: 'action', run });
          },
          log,
          redact: redactText,
        });

  /** Builds the dispatcher of `alerting` (not started). */
  function setAlerting(alerting: HubAlerting | undefined): void {
    currentAlerting = alerting;
    alertOptions = alerting?.externalUrl ? { externalUrl: alerting.externalUrl } : {};
    dispatcher = alerting
      ? createDispatcher({
          ...alerting.dispatcher,
          store,
          notifiers: alerting.notifiers,
          config: alerting.config,
          log,
        })
      : undefined;
  }
  setAlerting(options.alerting);

  /** The alerts the checks' current states fire. */
  function firingAlerts(): Alert[] {
    const firing: Alert[] = [];
    for (const p of plans.values()) {
      if (isMultiRegion(p, region)) continue;
      // In a cluster, the checks another hub holds are that hub's to alert on.
      if (p.kind !== 'traffic' && !acts(p.id)) continue;
      // One region: the hub's own, or the one a traffic check's router is placed in.
      for (const r of regionsOf(p, region)) {
        const s = states.get(key(p.id, r));
        if (s) firing.push(...alertsFromState(s, p, alertOptions));
      }
    }
    for (const alerts of verdictAlerts.values()) firing.push(...alerts);
    for (const a of agents.values())
      if (a.state === 'down')
        firing.push(
          agentDownAlert(a.region, 'firing', a.lastReportAt ?? startedAt, a.lastReportAt ?? startedAt),
        );
    return firing;
  }

  /** Hands the alerts the current states fire to the dispatcher, and starts it. */
  async function startDispatcher(): Promise<void> {
    if (dispatcher === undefined) return;
    // Groups already notified (before a restart or reload) map to the same dedup keys: the outbox
    // sends nothing twice.
    await dispatcher.onAlerts(firingAlerts());
    dispatcher.start();
  }

  /** What a new plan changes: see `planChange`. */
  interface PlanChange {
    /** Checks probed in some region, in plan order. */
    probeable: CheckPlan[];
    /** Traffic checks: judged like the others but never probed (no scheduler, no watchdog: a quiet
     * route sends no results, which says nothing about the upstream). */
    traffic: CheckPlan[];
    /** The checks this hub probes, as its region runs them (`plansForRegion`: round-robin turns). */
    own: CheckPlan[];
    /** Every check the hub judges, by id, in plan order. */
    next: Map<string, CheckPlan>;
    /** Ids of running checks the plan no longer has. */
    removed: string[];
    /** Ids this hub probed and no longer does (removed, or no longer of its region). */
    unscheduled: string[];
    /** The watchdog's allowance per target (as `targetTimeouts` sums it), over `own`. */
    timeouts: Map<string, number>;
    /** In a cluster: ids of `own` this hub did not probe before (leases taken, or new checks). */
    taken: Set<string>;
    /** In a cluster: ids of `unscheduled` still in the plan (leases lost or fenced). */
    lost: string[];
  }

  /**
   * Ids of the checks this hub probes now (its scheduler's and watchdog's). In a cluster, only those
   * whose shard it held when the plan was last applied: what it acts on ({@link acts}).
   */
  const ownIds = new Set<string>();

  /**
   * Whether this hub acts on `checkId` (probes it, judges and writes its results, alerts on it, runs
   * its actions): without a cluster, always; in one, while the check is scheduled here and its lease's
   * fence has not passed (asked again each time, so a fenced lease stops everything at once, before
   * the ownership change is applied).
   */
  function acts(checkId: string): boolean {
    return cluster === undefined || (ownIds.has(checkId) && cluster.owns(checkId));
  }

  /** Whether the state of key `k` is this hub's to write (see the state writer's `stateOf` above). */
  function writes(k: string): boolean {
    if (cluster === undefined) return true;
    const sep = k.indexOf('\u0000');
    const checkId = k.slice(0, sep);
    // Other regions' states come from agents (not leased); traffic checks from this hub's routers.
    return k.slice(sep + 1) !== region || plans.get(checkId)?.kind === 'traffic' || acts(checkId);
  }

  /**
   * Sorts a plan into what the hub runs, yielding after each {@link UPDATE_PIECE} checks.
   *
   * @throws VigilError `VIGIL_ERR_SCHEDULER_INVALID_PLAN` (duplicate id, bad interval): nothing changes.
   */
  function* planChange(plan: readonly CheckPlan[]): Generator<void, PlanChange> {
    const probeable: CheckPlan[] = [];
    const traffic: CheckPlan[] = [];
    const own: CheckPlan[] = [];
    const timeouts = new Map<string, number>();
    const next = new Map<string, CheckPlan>();
    for (let i = 0; i < plan.length; i += UPDATE_PIECE) {
      const part = plan.slice(i, i + UPDATE_PIECE);
      validatePlans(part);
      const probed: CheckPlan[] = [];
      for (const p of part) {
        if (next.has(p.id)) {
          throw new VigilError(
            'VIGIL_ERR_SCHEDULER_INVALID_PLAN',
            `invalid check plans: duplicate check id "${p.id}"`,
          );
        }
        if (p.kind === 'traffic') traffic.push(p);
        else if (isProbeable(p) || p.canary !== undefined) probed.push(p);
        else continue;
        next.set(p.id, p);
      }
      probeable.push(...probed);
      // This hub probes the checks of its own region (round-robin ones at their turn); in a cluster,
      // those of the shards it holds.
      const regional = plansForRegion(probed, region, region);
      const ownPart = cluster === undefined ? regional : regional.filter((p) => cluster.owns(p.id));
      own.push(...ownPart);
      targetTimeouts(ownPart, timeouts);
      yield;
    }
    const removed: string[] = [];
    let n = 0;
    for (const id of plans.keys()) {
      if (!next.has(id)) removed.push(id);
      if (++n % UPDATE_PIECE === 0) yield;
    }
    // The plan's order: probed checks first, then traffic checks (what `status()` lists in).
    const ordered = new Map<string, CheckPlan>();
    for (const p of probeable) {
      ordered.set(p.id, p);
      if (++n % UPDATE_PIECE === 0) yield;
    }
    for (const p of traffic) ordered.set(p.id, p);
    const nextOwn = new Set<string>();
    for (const p of own) {
      nextOwn.add(p.id);
      if (++n % UPDATE_PIECE === 0) yield;
    }
    const unscheduled: string[] = [];
    for (const id of ownIds) if (!nextOwn.has(id)) unscheduled.push(id);
    const taken = new Set<string>();
    const lost: string[] = [];
    if (cluster !== undefined) {
      for (const id of nextOwn) if (!ownIds.has(id)) taken.add(id);
      for (const id of unscheduled) if (ordered.has(id)) lost.push(id);
    }
    return { probeable, traffic, own, next: ordered, removed, unscheduled, timeouts, taken, lost };
  }

  /**
   * Applies a plan, yielding after each piece: checks this hub no longer probes stop first, removed
   * checks are forgotten, new and kept ones enter the hub's tables, and only then the scheduler
   * (`patch`) and the watchdog take this region's checks, so that a check is never probed without
   * its thresholds.
   */
  function* applySteps(plan: readonly CheckPlan[]): Generator<void | Promise<void>, PlanChange> {
    const change = yield* planChange(plan);
    for (let i = 0; i < change.unscheduled.length; i += UPDATE_PIECE) {
      const part = change.unscheduled.slice(i, i + UPDATE_PIECE);
      scheduler?.patch({ remove: part });
      watchdog.patch({ remove: part }, change.timeouts, Date.now());
      for (const id of part) {
        ownIds.delete(id);
        // Not put off here any more: probed elsewhere (another hub or region), or removed.
        const old = plans.get(id);
        if (old !== undefined) endDeferral(old);
      }
      yield;
    }
    // Checks taken over (a running cluster hub) resume where their last owner left them: its stored
    // states and open incidents. The caller awaits the read; `start()` reads every state itself.
    if (change.taken.size > 0 && running) yield loadTakenStates(change.taken);
    for (let i = 0; i < change.removed.length; i += UPDATE_PIECE) {
      removeChecks(change.removed.slice(i, i + UPDATE_PIECE));
      yield;
    }
    for (let i = 0; i < change.probeable.length; i += UPDATE_PIECE) {
      addChecks(change.probeable.slice(i, i + UPDATE_PIECE));
      yield;
    }
    for (let i = 0; i < change.traffic.length; i += UPDATE_PIECE) {
      addChecks(change.traffic.slice(i, i + UPDATE_PIECE));
      yield;
    }
    for (let i = 0; i < change.own.length; i += UPDATE_PIECE) {
      const part = change.own.slice(i, i + UPDATE_PIECE);
      if (change.taken.size === 0 || !running) scheduler?.patch({ upsert: part });
      else {
        // Checks taken over were probed by their last owner until a moment ago: due now.
        scheduler?.patch({ upsert: part.filter((p) => !change.taken.has(p.id)) });
        scheduler?.patch(
          { upsert: part.filter((p) => change.taken.has(p.id)) },
          { firstWithinMs: TAKEOVER_FIRST_PROBE_WITHIN_MS },
        );
      }
      watchdog.patch({ upsert: part }, change.timeouts, Date.now());
      for (const p of part) ownIds.add(p.id);
      yield;
    }
    // The plan's order (what `status()` lists in).
    plans = change.next;
    currentPlan = plan;
    return change;
  }

  /** Reads the stored states of this region's `checkIds` into the state table (a takeover). */
  async function loadTakenStates(checkIds: ReadonlySet<string>): Promise<void> {
    try {
      for (const s of await store.loadStates())
        if (s.region === region && checkIds.has(s.checkId)) states.set(key(s.checkId, s.region), s);
    } catch (err) {
      // They start from what this hub mirrored last (or afresh): probing them matters more.
      log(
        'error',
        `cluster: could not read the states of ${checkIds.size} checks taken over: ${(err as Error).message}`,
      );
    }
  }

  /** Forgets removed checks: their states (every region), verdicts, exchanges, deferrals, thresholds, series. */
  function removeChecks(ids: readonly string[]): void {
    for (const id of ids) {
      const old = plans.get(id);
      if (old === undefined) continue;
      metrics?.removeCheck(old);
      for (const r of regionsOf(old, region)) {
        states.delete(key(id, r));
        remoteSeen.delete(key(id, r));
      }
      verdicts.delete(id);
      verdictAlerts.delete(id);
      exchanges.delete(id);
      deferrals.delete(id);
      recent.delete(key(id, region));
      thresholds.delete(id);
      canary.forget(id);
      adaptive.forget(id);
      metricsRunner.forget(id);
      plans.delete(id);
    }
  }

  /** Takes in new and kept checks: thresholds, a state per region for a new one, its exchange slot. */
  function addChecks(slice: readonly CheckPlan[]): void {
    for (const p of slice) {
      thresholds.set(p.id, defaultThresholds(p, options.thresholds));
      for (const r of regionsOf(p, region))
        if (!states.has(key(p.id, r))) states.set(key(p.id, r), initialState(p.id, r, Date.now()));
      // Its slot from the start: a reader may watch the check before its first probe.
      exchanges.probeDeps(p.id);
      plans.set(p.id, p);
    }
  }

  /** The first plan, before `start()`: in one go. */
  function setPlan(plan: readonly CheckPlan[]): void {
    // Not running: nothing is taken over (no read to wait for).
    const steps = applySteps(plan);
    while (steps.next().done !== true) {}
  }

  /**
   * A new plan while the hub runs, in turns of at most `updateTurnMs` (see {@link UPDATE_TURN_MS}):
   * probes, the API and `/livez` keep being served through a reload of tens of thousands of checks
   * (in one turn, 20,000 checks held the loop for about 0.25 s on a quiet machine; BENCHMARKS.md
   * "Plan updates in turns"). Until the last piece, a result is judged by whichever plan its check
   * had when it was probed.
   */
  async function applyPlan(plan: readonly CheckPlan[], reason: 'plan' | 'ownership' = 'plan'): Promise<void> {
    const turnMs = options.updateTurnMs ?? UPDATE_TURN_MS;
    const scheduled = scheduler;
    const steps = applySteps(plan);
    let turnStarted = performance.now();
    for (;;) {
      const step = steps.next();
      if (step.done === true) {
        // Started during the update: the scheduler was built from a plan half applied.
        if (scheduler !== scheduled) scheduler?.update(step.value.own);
        // Its baseline files are imported beside it (a canary run before the import ends may
        // report no baseline once).
        if (reason === 'plan') void importBaselines(step.value.probeable);
        if (cluster !== undefined) {
          // Which checks are other hubs' changed: the mirror's next poll reads every stored state.
          mirror?.readAll();
          await ownershipApplied(step.value);
        }
        return;
      }
      if (step.value instanceof Promise) {
        await step.value;
        turnStarted = performance.now();
      } else if (performance.now() - turnStarted >= turnMs) {
        await nextTurn();
        turnStarted = performance.now();
      }
    }
  }
  let updating: Promise<void> = Promise.resolve();
  /** An ownership change waiting for its turn (calls meanwhile share it). */
  let ownershipQueued: Promise<void> | undefined;

  /**
   * After a cluster hub applied a plan: logs what it took and lost, and brings the alerts in line. A
   * lost check's alerts live in the dispatcher's groups, so a fresh dispatcher is fed what this hub's
   * checks fire now (it never repeats or resolves an alert another hub now decides); a taken firing
   * check is handed to the dispatcher with the same content as its last owner's notification, hence
   * the same dedup key: nothing is sent twice.
   */
  async function ownershipApplied({ taken, lost, probeable }: PlanChange): Promise<void> {
    if (taken.size === 0 && lost.length === 0) return;
    log(
      'info',
      `cluster: probing ${ownIds.size} of ${probeable.length} checks (${taken.size} taken, ${lost.length} lost)`,
      {
        owned: ownIds.size,
        taken: taken.size,
        lost: lost.length,
      },
    );
    for (const id of lost) {
      const p = plans.get(id);
      // This hub exports only the checks it holds (their series come back with its next result).
      if (p !== undefined) metrics?.removeCheck(p);
    }
    if (dispatcher === undefined || !running || stopping) return;
    if (lost.length > 0) {
      await hub.updateAlerting(currentAlerting);
      return;
    }
    const firing: Alert[] = [];
    for (const id of taken) {
      const p = plans.get(id);
      const s = states.get(key(id, region));
      if (p !== undefined && s !== undefined && !isMultiRegion(p, region))
        firing.push(...alertsFromState(s, p, alertOptions));
    }
    await dispatcher.onAlerts(firing);
  }

  /** Bound once: a probe allocates no closure of the hub's (the exchange cache holds its deps). */
  const probe = (plan: CheckPlan): Promise<ProbeResult> =>
    plan.kind === 'canary'
      ? canary.run(adaptive.planFor(plan), exchanges.probeDeps(plan.id))
      : isMetricsPlan(plan)
        ? metricsRunner.run(plan, exchanges.probeDeps(plan.id))
        : runProbe(adaptive.planFor(plan), exchanges.probeDeps(plan.id));

  /**
   * Imports the plan's `canary.baseline` files into the store (reviewed; a file already imported adds
   * nothing). A file that cannot be read is logged; its canary then finds what the store holds.
   */
  async function importBaselines(plan: readonly CheckPlan[]): Promise<void> {
    for (const p of plan) {
      if (p.canary?.baseline === undefined) continue;
      try {
        if ((await importPlanBaselines(store, [p])) > 0)
          log('info', `${p.id}: imported baseline ${p.canary.baseline}`, { checkId: p.id });
      } catch (err) {
        log('error', `${p.id}: ${(err as Error).message}`, { checkId: p.id });
      }
    }
  }

  /**
   * Takes in one result: evaluate → store → metrics → events → alerting. Returns whether the result
   * is a failure being confirmed (the evaluator's state is `pending`): the scheduler re-probes it
   * at the check's `fastIntervalMs`.
   */
  function onResult(plan: CheckPlan, probed: ProbeResult): boolean {
    // Before anything keeps it: a passing result has no text of the server's and is not copied.
    return take(plan, redactResult(probed, redactText), false);
  }

  /** A redacted result into the hub; `stored`: already in the store (an agent's, `ingestRemote`). */
  function take(plan: CheckPlan, result: ProbeResult, stored: boolean): boolean {
    const k = key(plan.id, result.region);
    const own = result.region === region;
    // Lost to another hub (or fenced) while in flight: its new owner judges the check.
    if (own && plan.kind !== 'traffic' && !acts(plan.id)) return false;
    if (own) {
      watchdog.seen(plan.id, Date.now());
      if (deferrals.size > 0) endDeferral(plan);
      // The hub tells the scheduler whether the model is ready: while not, inference probes are held.
      if (plan.kind === 'readiness') scheduler?.setReady(plan.target.name, result.outcome !== 'fail');
    } else remoteSeen.set(k, Date.now());
    // Evaluate.
    const before = states.get(k) ?? initialState(plan.id, result.region, result.startedAt);
    const th = thresholds.get(plan.id) ?? defaultThresholds(plan, options.thresholds);
    const evaluation = evaluate(before, result, th);
    const state = evaluation.state;
    states.set(k, state);
    const adaptiveLatency = adaptive.observe(plan, result);
    // Store: write-behind, and the dashboard's in-memory views.
    writer.changed(k, isMaterialChange(before, state, th));
    if (!stored) writer.append(result);
    durationsOf(k).push(result.durationMs);
    if (own) exchanges.settle(plan.id, result.outcome);
    // Metrics.
    metrics?.observeResult(plan, result);
    metrics?.observeState(plan, state);
    if (adaptiveLatency) metrics?.observeLatencyThresholds(plan, adaptive.thresholds(plan.id));
    // Events: the per-probe event object only when someone listens.
    if (events.hasListeners()) events.publish({ type: 'result', result });
    // Alerting: transitions are stored in order, each before its event goes out and its alerts.
    if (evaluation.transition || evaluation.flap) void writer.inOrder(() => recordChange(plan, evaluation));
    if (evaluation.transition && isMultiRegion(plan, region)) judgeRegions(plan);
    return state.state === 'pending';
  }

  /**
   * The scheduler put `plan`'s due probe off until `until`: shown in the status (renewed in place at
   * each deferred slot), exported, published and logged when it begins or changes its reason, and
   * told to the watchdog (an expected gap).
   */
  function onDeferred(plan: CheckPlan, reason: DeferralReason, until: number): void {
    watchdog.deferred(plan.id, until);
    const current = deferrals.get(plan.id);
    if (current !== undefined && current.reason === reason) {
      current.until = until;
      return;
    }
    const last = states.get(key(plan.id, region))?.lastResult?.durationMs;
    const deferred: CheckDeferral = {
      reason,
      message: deferralMessage(plan, reason, last),
      since: Date.now(),
      until,
    };
    deferrals.set(plan.id, deferred);
    metrics?.observeDeferral(plan, region, true);
    log('info', `${plan.id} deferred: ${deferred.message}`, { checkId: plan.id, region, reason });
    events.publish({ type: 'deferral', deferral: { checkId: plan.id, region, deferred } });
  }

  /** `plan`'s probe ran: its deferral, if any, is over. */
  function endDeferral(plan: CheckPlan): void {
    if (!deferrals.delete(plan.id)) return;
    metrics?.observeDeferral(plan, region, false);
    events.publish({ type: 'deferral', deferral: { checkId: plan.id, region, deferred: null } });
  }

  function durationsOf(k: string): RecentDurations {
    let durations = recent.get(k);
    if (durations === undefined) {
      durations = new RecentDurations();
      recent.set(k, durations);
    }
    return durations;
  }

  /**
   * A transition: stored (with its state and incident), counted, logged, published, then alerted
   * on; a flap: alerted on, logged, published. Runs in the writer's order.
   */
  async function recordChange(plan: CheckPlan, { state, transition: t, flap }: Evaluation): Promise<void> {
    try {
      if (t) {
        mirror?.seen(t);
        const incident = await storeTransition(store, t, state);
        metrics?.observeTransition(t, plan);
        const level = t.to === 'unhealthy' ? 'error' : t.to === 'healthy' ? 'info' : 'warn';
        log(level, `${t.checkId} ${t.from} → ${t.to}: ${t.reason}`, { checkId: t.checkId, region: t.region });
        events.publish({ type: 'transition', transition: t });
        // A multi-region check alerts on its verdict across regions (judgeRegions), not per region.
        const multi = isMultiRegion(plan, region);
        let alerts = multi ? [] : alertsFromTransition(t, plan, alertOptions);
        // A recovery's notification says what the actions did during the incident, and with what result.
        const done =
          incident !== undefined && incident.closedAt !== null && actionRunner !== undefined
            ? await actionRunner.summary(incident.id)
            : undefined;
        if (done !== undefined)
          alerts = alerts.map((a) =>
            a.status === 'resolved' ? { ...a, annotations: { ...a.annotations, actions: done } } : a,
          );
        await dispatcher?.onAlerts(alerts);
        if (t.region === region) await actionRunner?.onTransition(plan, t, incident?.id ?? null);
      }
      if (flap) {
        if (!isMultiRegion(plan, region))
          await dispatcher?.onAlerts(alertsFromFlap(flap, plan, alertOptions));
        log(
          'warn',
          `${flap.checkId} ${flap.flapping ? 'is flapping' : 'stopped flapping'} (${flap.transitionsInWindow} transitions in the window)`,
        );
        events.publish({ type: 'flap', flap });
      }
    } catch (err) {
      log('error', `could not record transition of ${plan.id}: ${(err as Error).message}`);
    }
  }

  /**
   * The watchdog's tick: each check whose results stopped arriving (and that is not stale already)
   * becomes `stale`, recorded like any transition (stored, published, alerted on: warning).
   */
  function watch(): void {
    const now = Date.now();
    for (const { plan, reason } of watchdog.scan(now)) stale(plans.get(plan.id) ?? plan, region, now, reason);
    if (agentConfig !== undefined) watchAgents(now);
  }

  /** `plan` in `r` gets no results: `stale` (recorded like any transition), out of its quorum. */
  function stale(plan: CheckPlan, r: string, now: number, reason: string): void {
    const k = key(plan.id, r);
    const before = states.get(k);
    if (before === undefined || before.state === 'stale') return;
    const evaluation = markStale(before, now, reason);
    states.set(k, evaluation.state);
    writer.changed(k, true);
    metrics?.observeState(plan, evaluation.state);
    void writer.inOrder(() => recordChange(plan, evaluation));
    if (isMultiRegion(plan, region)) judgeRegions(plan);
  }

  /**
   * Agents: one silent for `downAfterMs` is down (VigilAgentDown, which inhibits its region's check
   * alerts; its region leaves every quorum). A remote (check, region) without a result for
   * STALE_INTERVALS of its region's cadence plus its timeout and `downAfterMs` is stale.
   */
  function watchAgents(now: number): void {
    const config = agentConfig;
    if (config === undefined) return;
    let changed = false;
    for (const a of agents.values()) {
      if (a.state === 'down') continue;
      const last = a.lastReportAt ?? startedAt;
      if (now - last < config.downAfterMs) continue;
      a.state = 'down';
      changed = true;
      log('warn', `agent down: region ${a.region} sent nothing since ${new Date(last).toISOString()}`, {
        region: a.region,
      });
      const alert = agentDownAlert(a.region, 'firing', last, last);
      void writer.inOrder(async () => dispatcher?.onAlerts([alert]));
    }
    for (const plan of plans.values()) {
      if (!isMultiRegion(plan, region)) continue;
      const regions = regionsOf(plan, region);
      const cadence = plan.scheduling === 'round-robin' ? plan.intervalMs * regions.length : plan.intervalMs;
      for (const r of regions) {
        if (r === region) continue;
        const seen = remoteSeen.get(key(plan.id, r)) ?? startedAt;
        if (now - seen > STALE_INTERVALS * cadence + plan.timeoutMs + config.downAfterMs)
          stale(plan, r, now, `no result from region ${r} since ${new Date(seen).toISOString()}`);
      }
      if (changed) judgeRegions(plan);
    }
  }

  /** Derives `plan`'s verdict across its regions again; fires and resolves the alerts that changed. */
  function judgeRegions(plan: CheckPlan): void {
    const now = Date.now();
    const previous = verdicts.get(plan.id);
    const verdict = verdictOf(
      plan,
      regionsOf(plan, region),
      (r) => states.get(key(plan.id, r)),
      (r) => r === region || agents.get(r)?.state !== 'down',
      now,
      previous,
    );
    verdicts.set(plan.id, verdict);
    if (previous !== undefined && previous.since === verdict.since) return;
    const before = verdictAlerts.get(plan.id) ?? [];
    const after = alertsFromVerdict(plan, verdict, alertOptions);
    verdictAlerts.set(plan.id, after);
    const firing = new Set(after.map((a) => a.fingerprint));
    const was = new Set(before.map((a) => a.fingerprint));
    const changes = [
      ...before
        .filter((a) => !firing.has(a.fingerprint))
        .map((a): Alert => ({ ...a, status: 'resolved', endsAt: now })),
      ...after.filter((a) => !was.has(a.fingerprint)),
    ];
    if (previous?.state !== verdict.state || changes.length > 0)
      log(
        verdict.state === 'global' ? 'error' : 'warn',
        `${plan.id}: ${verdict.state} (failing: ${verdict.failing.join(', ') || 'none'}; reporting: ${verdict.reporting.join(', ') || 'none'}; absent: ${verdict.absent.join(', ') || 'none'})`,
        {
          checkId: plan.id,
          verdict: verdict.state,
        },
      );
    if (changes.length > 0) void writer.inOrder(async () => dispatcher?.onAlerts(changes));
  }

  /** Sets the expected agents: new regions start `unknown`, dropped ones are forgotten. */
  function setAgents(config: HubAgents | undefined): void {
    agentConfig = config;
    const wanted = new Set(config?.regions ?? []);
    for (const r of agents.keys()) if (!wanted.has(r)) agents.delete(r);
    for (const r of wanted)
      if (!agents.has(r))
        agents.set(r, {
          region: r,
          state: 'unknown',
          lastReportAt: null,
          lagMs: null,
          spoolDepth: null,
          dropped: null,
          clockOffsetMs: null,
          batches: 0,
          results: 0,
          replayed: 0,
        });
  }
  setAgents(options.agents);

  setPlan(options.plan);

  const mirror =
    cluster === undefined
      ? undefined
      : createMirror({
          store,
          region,
          intervalMs: cluster.mirrorIntervalMs ?? DEFAULT_MIRROR_INTERVAL_MS,
          isOthers: (checkId) => {
            const p = plans.get(checkId);
            return p !== undefined && p.kind !== 'traffic' && !acts(checkId);
          },
          apply: (s) => {
            states.set(key(s.checkId, s.region), s);
          },
          publish: (t) => events.publish({ type: 'transition', transition: t }),
          log,
        });

  const hub: Hub = {
    store,
    status(): CheckStatus[] {
      const out: CheckStatus[] = [];
      for (const plan of plans.values()) {
        const verdict = verdicts.get(plan.id);
        for (const r of regionsOf(plan, region)) {
          const s = states.get(key(plan.id, r));
          if (s === undefined) continue;
          const status = checkStatusOf(plan, s, r === region ? deferrals.get(plan.id) : undefined);
          if (verdict !== undefined) status.verdict = verdict;
          out.push(status);
        }
      }
      return out;
    },
    subscribe: (listener) => events.subscribe(listener),
    isReady: () => running && !stopping,
    checkInfo(checkId) {
      const plan = plans.get(checkId);
      if (plan === undefined) return undefined;
      const info = checkInfoOf(adaptive.planFor(plan));
      const effective = adaptive.thresholds(checkId);
      if (effective !== undefined) {
        info.adaptiveLatency = { source: effective.source };
        if (effective.basisMs !== undefined) info.adaptiveLatency.basisMs = effective.basisMs;
        if (effective.samples !== undefined) info.adaptiveLatency.samples = effective.samples;
      }
      return info;
    },
    recentDurations: (checkId, r) => recent.get(key(checkId, r))?.values() ?? [],
    lastExchange: (checkId, r) => (r === region ? exchanges.read(checkId) : undefined),
    ingest(result) {
      const plan = plans.get(result.checkId);
      if (plan === undefined || plan.kind !== 'traffic' || !running || stopping) return false;
      // From the region its router is placed in only (a router reading another config says so).
      if (!regionsOf(plan, region).includes(result.region)) return false;
      onResult(plan, result);
      return true;
    },
    alerts: () => alertStatuses(firingAlerts(), dispatcher),
    async ingestRemote(r, batch) {
      if (!running || stopping) return undefined;
      const taken: (ProbeResult & { id: string })[] = [];
      for (const item of batch.results) {
        const plan = plans.get(item.checkId);
        if (plan === undefined || plan.kind === 'traffic') continue;
        if (r === region || item.region !== r || !regionsOf(plan, region).includes(r)) continue;
        taken.push({ ...redactResult(item, redactText), id: item.id });
      }
      const fresh = new Set(
        await store.ingestResults({
          region: r,
          batchId: batch.batchId,
          receivedAt: batch.receivedAt,
          results: taken,
        }),
      );
      let accepted = 0;
      let newestEnd: number | null = null;
      for (const { id, ...result } of taken) {
        if (!fresh.has(id)) continue;
        // The plan may have gone during the store's write (a reload): stored, not evaluated.
        const plan = plans.get(result.checkId);
        if (plan !== undefined) {
          remoteSeen.set(key(plan.id, r), batch.receivedAt);
          take(plan, result, true);
        }
        accepted++;
        const end = result.startedAt + result.durationMs;
        if (newestEnd === null || end > newestEnd) newestEnd = end;
      }
      // The states these results moved toward a transition (and the transitions) are stored too.
      if (accepted > 0) await writer.flush(false);
      return {
        accepted,
        replayed: taken.length - fresh.size,
        skipped: batch.results.length - taken.length,
        newestEnd,
      };
    },
    agentReport(r, report, receivedAt, counts) {
      const a = agents.get(r);
      if (a === undefined) return;
      const wasDown = a.state === 'down';
      a.state = 'up';
      a.lastReportAt = receivedAt;
      if (report.clockOffsetMs !== undefined) a.clockOffsetMs = report.clockOffsetMs;
      if (report.spoolDepth !== undefined) a.spoolDepth = report.spoolDepth;
      if (report.dropped !== undefined) a.dropped = report.dropped;
      if (counts.lagMs !== null) a.lagMs = counts.lagMs;
      a.batches++;
      a.results += counts.results;
      a.replayed += counts.replayed;
      if (wasDown) {
        log('info', `agent up: region ${r} reports again`, { region: r });
        const alert = agentDownAlert(r, 'resolved', receivedAt, receivedAt);
        void writer.inOrder(async () => dispatcher?.onAlerts([alert]));
        for (const plan of plans.values()) if (isMultiRegion(plan, region)) judgeRegions(plan);
      }
      void store
        .putAgent({ region: r, lastReportAt: receivedAt, info: { ...a } })
        .catch((err: Error) => log('error', `could not store agent ${r}'s report: ${err.message}`));
    },
    agents: () => [...agents.values()].map((a) => ({ ...a })),
    plansFor: (r, shard) => plansForRegion([...plans.values()], r, region, shard),
    isAgentRegion: (r) => agents.has(r),
    updateAgents: (config) => setAgents(config),
    canary(checkId) {
      if (plans.get(checkId)?.kind !== 'canary') return undefined;
      const lastRun = canary.lastRun(checkId);
      return { ...(lastRun !== undefined && { lastRun }), history: canary.history(checkId) };
    },
    async start() {
      await importBaselines([...plans.values()]);
      for (const s of await store.loadStates()) {
        // Resume only checks that still exist; a check removed from the config starts over if it returns.
        const p = plans.get(s.checkId);
        if (p !== undefined && regionsOf(p, region).includes(s.region))
          states.set(key(s.checkId, s.region), s);
      }
      // The canaries' rotation, autoBaseline progress and drift history, as the last hub left them.
      await canary.restore([...plans.values()].filter((p) => p.kind === 'canary').map((p) => p.id));
      startedAt = Date.now();
      for (const a of await store.agents()) {
        const known = agents.get(a.region);
        if (known !== undefined) known.lastReportAt = a.lastReportAt;
      }
      for (const p of plans.values()) if (isMultiRegion(p, region)) judgeRegions(p);
      scheduler = createScheduler({
        // Traffic checks are judged here but never probed; canaries are probed (probe/canary.ts).
        // In a cluster, those of the shards this hub holds (none before its first ownership change).
        plans: plansForRegion([...plans.values()], region, region).filter(
          (p) => cluster === undefined || ownIds.has(p.id),
        ),
        probe,
        // The fence, checked right before each probe starts: no probe past the lease's deadline.
        ...(cluster === undefined ? {} : { mayStart: (p: CheckPlan) => cluster.owns(p.id) }),
        onResult,
        onLag: (_plan, lagMs) => metrics?.observeLag(lagMs),
        onDeferred,
        ...(options.coalesceMs === undefined ? {} : { coalesceMs: options.coalesceMs }),
        ...(options.maxConcurrency === undefined ? {} : { maxConcurrency: options.maxConcurrency }),
        onError: (plan, err) => log('error', `${plan.id}: ${(err as Error).message}`),
      });
      // Rebuild the firing alerts from the resumed states.
      await startDispatcher();
      // Runs whose hub died mid-run become `outcome unknown` and page (never re-run).
      await actionRunner?.start();
      scheduler.start();
      writer.start();
      watchdog.restart(Date.now());
      deferrals.clear();
      watchdogTimer = setInterval(watch, watchdogTickMs);
      watchdogTimer.unref();
      mirror?.start();
      running = true;
    },
    update(plan) {
      // One update at a time, in the order asked.
      const applied = updating.then(() => applyPlan(plan));
      updating = applied.catch(() => {});
      return applied;
    },
    async updateAlerting(alerting) {
      const old = dispatcher;
      // Alerts raised from now on go to the new dispatcher; it sends once started below.
      setAlerting(alerting);
      await old?.stop();
      if (running && !stopping) await startDispatcher();
    },
    flush: () => writer.flush(),
    ownershipChanged() {
      if (cluster === undefined) return Promise.resolve();
      if (ownershipQueued !== undefined) return ownershipQueued;
      // After any update in progress; never rejects (the member calls it from a timer).
      const applied = updating
        .then(() => {
          ownershipQueued = undefined;
          return running && !stopping ? applyPlan(currentPlan, 'ownership') : undefined;
        })
        .catch((err: Error) => log('error', `cluster: applying an ownership change: ${err.message}`));
      ownershipQueued = applied;
      updating = applied;
      return applied;
    },
    async stop() {
      stopping = true;
      clearInterval(watchdogTimer);
      mirror?.stop();
      await scheduler?.stop();
      // Every result delivered is written, every transition recorded (and handed to the outbox).
      await writer.stop();
      await actionRunner?.stop();
      await dispatcher?.stop();
      running = false;
      if (ownsClient) await client.close();
    },
  };
  return hub;
}
