/**
 * The hub: scheduler → prober → evaluator → store, metrics and events, with config reload.
 * `vigil run` wraps it with the HTTP API.
 */
import { alertsFromFlap, alertsFromState, alertsFromTransition } from '../alerting/alerts.js';
import { createDispatcher, type Dispatcher, type DispatcherOptions } from '../alerting/dispatcher.js';
import type { AlertingConfig } from '../alerting/routing.js';
import type { Notifier } from '../alerting/types.js';
import { defaultThresholds, evaluate, initialState, isMaterialChange } from '../evaluate/index.js';
import type { Metrics } from '../metrics/index.js';
import { type CapturedExchange, isProbeable, runProbe } from '../probe/run-probe.js';
import { createScheduler, type Scheduler } from '../scheduler/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan, EvalState, HttpClient, ProbeResult, Thresholds, Transition } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import type { CheckStatus, HubEvent, HubView } from './types.js';
import { alertStatuses, checkInfoOf, exchangeView, RecentDurations } from './views.js';

/** Options of {@link createHub}. */
export interface HubOptions {
  plan: readonly CheckPlan[];
  store: Store;
  metrics?: Metrics;
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
  /** Called with human-readable log lines (transitions, reloads, store errors). Default: none. */
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** Overrides of the evaluator's thresholds, for tests and drills. */
  thresholds?: Partial<Thresholds>;
  client?: HttpClient;
  /**
   * Replaces the config's secrets in text shown to readers (the latest exchange); `LoadedConfig.redact`.
   * Secret-looking headers (Authorization, Cookie, API keys) are always redacted. Default: headers only.
   */
  redact?: (text: string) => string;
  /**
   * Alerting: transitions become alerts, routed and grouped into notifications that go through the
   * store's durable outbox. Omitted: no notifications (states, incidents and events only).
   */
  alerting?: HubAlerting;
}

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
  /** Swaps in a new plan: unchanged checks keep their state and schedule; removed ones stop. */
  update(plan: readonly CheckPlan[]): void;
  /**
   * Swaps in new alerting (or none) while the hub runs, as a restart would: the old dispatcher stops
   * (sends in flight may finish, see `stopGraceMs`), the new one is fed the alerts the current states
   * fire and starts. What was already notified under unchanged routes maps to the same dedup keys and
   * is not sent again; a changed route's groups are new and notify their receivers. Rows already in
   * the outbox are delivered by the new dispatcher (after their lease, when one was in flight).
   */
  updateAlerting(alerting: HubAlerting | undefined): Promise<void>;
  /** Stops probing, writes what is pending, and leaves the store open (the caller owns it). */
  stop(): Promise<void>;
  /** Writes buffered results and every changed state now (the checkpoint's too). */
  flush(): Promise<void>;
}

/**
 * How long after a reader asked for a check's latest exchange the hub keeps its passing exchanges
 * too (failing and degraded ones are always kept): 10 minutes, while its page is open (the page asks
 * again after each result).
 */
export const WATCH_MS = 10 * 60_000;

/** Default {@link HubOptions.checkpointIntervalMs}: one minute. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;

/**
 * States per store write of a flush or checkpoint: at ~0.01–0.04 ms per state on SQLite, a batch
 * holds the event loop for a few ms at most.
 */
const STATE_BATCH_SIZE = 250;

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
  const store = options.store;
  const metrics = options.metrics;
  const log = options.log ?? (() => {});
  const flushIntervalMs = options.flushIntervalMs ?? 100;
  const checkpointIntervalMs = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  const client = options.client ?? createHttpClient({ keepAlive: true });
  const ownsClient = options.client === undefined;

  let plans = new Map<string, CheckPlan>();
  const thresholds = new Map<string, Thresholds>();
  const states = new Map<string, EvalState>();
  /**
   * Latest main exchange per (check, region), for the dashboard: memory only, and kept only when it
   * failed or degraded, or when a reader asked for it in the last {@link WATCH_MS} — at 10,000
   * checks, holding every passing exchange would cost tens of MB for pages nobody opens.
   */
  const exchanges = new Map<string, CapturedExchange>();
  /** When a reader last asked for a check's exchange (`lastExchange`), ms since epoch. */
  const watched = new Map<string, number>();
  const recent = new Map<string, RecentDurations>();
  const redact = options.redact ?? ((text: string) => text);
  const listeners = new Set<(event: HubEvent) => void>();
  let pendingResults: ProbeResult[] = [];
  /** Keys of states changed in a way that decides a transition: written at the next flush. */
  const dirtyStates = new Set<string>();
  /** Keys of states changed otherwise since they were written: written at the next checkpoint. */
  const checkpointStates = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  let checkpointTimer: NodeJS.Timeout | undefined;
  let checkpointing: Promise<void> | undefined;
  let flushing: Promise<void> = Promise.resolve();
  let chain: Promise<void> = Promise.resolve();
  let running = false;
  let stopping = false;
  let scheduler: Scheduler | undefined;
  let alertOptions: { externalUrl?: string } = {};
  let dispatcher: Dispatcher | undefined;
  /** Builds the dispatcher of `alerting` (not started). */
  function setAlerting(alerting: HubAlerting | undefined): void {
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

  /** Hands the alerts the current states fire to the dispatcher, and starts it. */
  async function startDispatcher(): Promise<void> {
    if (dispatcher === undefined) return;
    // Groups already notified (before a restart or reload) map to the same dedup keys: the outbox
    // sends nothing twice.
    const firing = [...plans.values()].flatMap((p) => {
      const s = states.get(key(p.id, region));
      return s ? alertsFromState(s, p, alertOptions) : [];
    });
    await dispatcher.onAlerts(firing);
    dispatcher.start();
  }

  function setPlan(plan: readonly CheckPlan[]): CheckPlan[] {
    const probeable = plan.filter(isProbeable);
    for (const p of plan) {
      if (!isProbeable(p))
        log('warn', `${p.id}: canary checks are not run yet (baseline comparison is not implemented)`);
    }
    const next = new Map(probeable.map((p) => [p.id, p]));
    for (const [id, old] of plans) {
      if (!next.has(id)) {
        metrics?.removeCheck(old);
        states.delete(key(id, region));
        exchanges.delete(key(id, region));
        watched.delete(key(id, region));
        recent.delete(key(id, region));
        thresholds.delete(id);
      }
    }
    for (const p of probeable) {
      thresholds.set(p.id, defaultThresholds(p, options.thresholds));
      if (!states.has(key(p.id, region)))
        states.set(key(p.id, region), initialState(p.id, region, Date.now()));
    }
    plans = next;
    return probeable;
  }

  function publish(event: HubEvent): void {
    for (const l of listeners) {
      try {
        l(event);
      } catch (err) {
        log('error', `event listener failed: ${(err as Error).message}`);
      }
    }
  }

  function scheduleFlush(): void {
    if (flushTimer === undefined) flushTimer = setTimeout(() => void flush(false), flushIntervalMs);
  }

  /**
   * Writes the buffered results and the states changed in a way that decides a transition; with
   * `withCheckpoint` (the public `flush()`, and `stop()`), the checkpoint's states too.
   */
  function flush(withCheckpoint = true): Promise<void> {
    if (flushTimer !== undefined) {
      clearTimeout(flushTimer);
      flushTimer = undefined;
    }
    const results = pendingResults;
    pendingResults = [];
    if (results.length > 0) {
      flushing = flushing.then(async () => {
        try {
          await store.appendResults(results);
        } catch (err) {
          // Keep them for the next flush: a store hiccup loses nothing.
          pendingResults = results.concat(pendingResults);
          log('error', `store write failed, will retry: ${(err as Error).message}`);
          scheduleFlush();
        }
      });
    }
    const keys = new Set(dirtyStates);
    dirtyStates.clear();
    if (withCheckpoint) for (const k of checkpointStates) keys.add(k);
    if (keys.size === 0) return flushing;
    return Promise.all([flushing, writeStates([...keys], dirtyStates)]).then(() => {});
  }

  /** Writes every state changed since it was last written, unless a checkpoint is still writing. */
  function checkpoint(): Promise<void> {
    checkpointing ??= writeStates([...checkpointStates], checkpointStates).finally(() => {
      checkpointing = undefined;
    });
    return checkpointing;
  }

  /**
   * Writes the current states of `keys` in batches of {@link STATE_BATCH_SIZE}, yielding to the event
   * loop between batches (a checkpoint of 10,000 states must not stall probes). Each batch is taken
   * when it is queued behind the transitions recorded so far: the store never gets a state older
   * than one already written, nor one whose transition is not stored yet. A failed batch's keys go
   * back to `retry` for the next flush or checkpoint.
   */
  async function writeStates(keys: readonly string[], retry: Set<string>): Promise<void> {
    for (let i = 0; i < keys.length; i += STATE_BATCH_SIZE) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      const batch: EvalState[] = [];
      for (let j = i; j < Math.min(i + STATE_BATCH_SIZE, keys.length); j++) {
        const k = keys[j] as string;
        const s = states.get(k);
        // Its current state is written now: no checkpoint needs to write it again.
        checkpointStates.delete(k);
        if (s !== undefined) batch.push(s);
      }
      if (batch.length === 0) continue;
      const written = chain.then(async () => {
        try {
          await store.saveStates(batch);
        } catch (err) {
          for (const s of batch) retry.add(key(s.checkId, s.region));
          log('error', `store write failed, will retry: ${(err as Error).message}`);
          if (retry === dirtyStates) scheduleFlush();
        }
      });
      chain = written;
      await written;
    }
  }

  async function recordTransition(t: Transition, plan: CheckPlan, state: EvalState): Promise<void> {
    await store.appendTransition(t);
    // The new state is stored with its transition, before anything is published or notified, so
    // a crash right after a notification cannot resume the check from an older state.
    await store.saveStates([state]);
    if (t.to === 'unhealthy') {
      await store.openIncident({ checkId: t.checkId, region: t.region, openedAt: t.at, reason: t.reason });
    } else if (t.from === 'unhealthy') {
      for (const incident of await store.incidents({ open: true, checkId: t.checkId })) {
        if (incident.region === t.region) await store.closeIncident(incident.id, t.at);
      }
    }
    metrics?.observeTransition(t, plan);
    log(
      t.to === 'unhealthy' ? 'error' : t.to === 'healthy' ? 'info' : 'warn',
      `${t.checkId} ${t.from} → ${t.to}: ${t.reason}`,
      {
        checkId: t.checkId,
        region: t.region,
      },
    );
    publish({ type: 'transition', transition: t });
  }

  /** Takes in one result; true when it is a failure being confirmed (the scheduler's fast re-probe). */
  function onResult(plan: CheckPlan, result: ProbeResult): boolean {
    const k = key(plan.id, result.region);
    const before = states.get(k) ?? initialState(plan.id, result.region, result.startedAt);
    const th = thresholds.get(plan.id) ?? defaultThresholds(plan, options.thresholds);
    const evaluation = evaluate(before, result, th);
    states.set(k, evaluation.state);
    (isMaterialChange(before, evaluation.state, th) ? dirtyStates : checkpointStates).add(k);
    pendingResults.push(result);
    scheduleFlush();
    let durations = recent.get(k);
    if (durations === undefined) {
      durations = new RecentDurations();
      recent.set(k, durations);
    }
    durations.push(result.durationMs);
    metrics?.observeResult(plan, result);
    metrics?.observeState(plan, evaluation.state);
    publish({ type: 'result', result });
    const { transition, flap } = evaluation;
    if (transition || flap) {
      // Transitions are stored in order, each before its event goes out.
      chain = chain
        .then(async () => {
          if (transition) {
            await recordTransition(transition, plan, evaluation.state);
            await dispatcher?.onAlerts(alertsFromTransition(transition, plan, alertOptions));
          }
          if (flap) {
            await dispatcher?.onAlerts(alertsFromFlap(flap, plan, alertOptions));
            log(
              'warn',
              `${flap.checkId} ${flap.flapping ? 'is flapping' : 'stopped flapping'} (${flap.transitionsInWindow} transitions in the window)`,
            );
            publish({ type: 'flap', flap });
          }
        })
        .catch((err: Error) => log('error', `could not record transition of ${plan.id}: ${err.message}`));
    }
    return evaluation.state.state === 'pending';
  }

  setPlan(options.plan);

  const hub: Hub = {
    store,
    status(): CheckStatus[] {
      const out: CheckStatus[] = [];
      for (const plan of plans.values()) {
        const s = states.get(key(plan.id, region));
        if (!s) continue;
        const status: CheckStatus = {
          checkId: plan.id,
          target: plan.target.name,
          check: plan.kind,
          region,
          state: s.state,
          since: s.since,
          flapping: s.flapping,
          consecutiveFailures: s.consecutiveFailures,
          labels: plan.target.labels,
          lastResult: s.lastResult,
        };
        if (plan.target.model !== undefined) status.model = plan.target.model;
        const version = s.lastResult?.modelVersion;
        if (version !== undefined) status.modelVersion = version;
        out.push(status);
      }
      return out;
    },
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    isReady: () => running && !stopping,
    checkInfo(checkId) {
      const plan = plans.get(checkId);
      return plan === undefined ? undefined : checkInfoOf(plan);
    },
    recentDurations: (checkId, r) => recent.get(key(checkId, r))?.values() ?? [],
    lastExchange(checkId, r) {
      watched.set(key(checkId, r), Date.now());
      const captured = exchanges.get(key(checkId, r));
      return captured === undefined ? undefined : exchangeView(captured, redact);
    },
    async alerts() {
      const firing = [...plans.values()].flatMap((p) => {
        const s = states.get(key(p.id, region));
        return s ? alertsFromState(s, p, alertOptions) : [];
      });
      return alertStatuses(firing, dispatcher);
    },
    async start() {
      for (const s of await store.loadStates()) {
        // Resume only checks that still exist; a check removed from the config starts over if it returns.
        if (s.region === region && plans.has(s.checkId)) states.set(key(s.checkId, s.region), s);
      }
      scheduler = createScheduler({
        plans: [...plans.values()],
        probe: async (plan) => {
          let captured: CapturedExchange | undefined;
          const result = await runProbe(plan, {
            client,
            region,
            onExchange: (c) => {
              captured = c;
            },
          });
          const k = key(plan.id, region);
          const seen = watched.get(k);
          const isWatched = seen !== undefined && Date.now() - seen < WATCH_MS;
          if (captured !== undefined && (result.outcome !== 'pass' || isWatched)) exchanges.set(k, captured);
          else exchanges.delete(k);
          return result;
        },
        onResult,
        onLag: (_plan, lagMs) => metrics?.observeLag(lagMs),
        ...(options.coalesceMs === undefined ? {} : { coalesceMs: options.coalesceMs }),
        onError: (plan, err) => log('error', `${plan.id}: ${(err as Error).message}`),
      });
      // Rebuild the firing alerts from the resumed states.
      await startDispatcher();
      scheduler.start();
      checkpointTimer = setInterval(() => void checkpoint(), checkpointIntervalMs);
      checkpointTimer.unref();
      running = true;
    },
    update(plan) {
      const probeable = setPlan(plan);
      scheduler?.update(probeable);
    },
    async updateAlerting(alerting) {
      const old = dispatcher;
      // Alerts raised from now on go to the new dispatcher; it sends once started below.
      setAlerting(alerting);
      await old?.stop();
      if (running && !stopping) await startDispatcher();
    },
    flush,
    async stop() {
      stopping = true;
      await scheduler?.stop();
      clearInterval(checkpointTimer);
      await checkpointing;
      await chain;
      await dispatcher?.stop();
      await flush();
      await flushing;
      running = false;
      if (ownsClient) await client.close();
    },
  };
  return hub;
}
