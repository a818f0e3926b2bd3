/**
 * The dispatcher: alerts in, notifications out, through a durable outbox.
 *
 * ```
 * onAlerts ─▶ route ─▶ group (route × group_by values) ─▶ at group_wait / group_interval: flush
 *   flush: mute (silences, maintenance, inhibition) ─▶ changed or repeat due? ─▶ enqueue one outbox row per receiver
 * sender loop (tick): claim due rows (lease) ─▶ notifier.send ─▶ markDelivered | markFailed (backoff | give up)
 * ```
 *
 * Grouping follows Alertmanager's dispatcher and notification pipeline: a new group waits `group_wait`
 * before its first notification, then is re-evaluated every `group_interval`; a flush notifies when the
 * set of firing alerts is not a subset of what was last notified, when an alert resolved (with
 * `resolved: true`), when everything resolved, or when `repeat_interval` passed since the last
 * notification (Alertmanager's `DedupStage.needsUpdate`, notify/notify.go). Muted alerts are dropped at
 * flush time, like its MuteStage; a flush with only muted alerts sends nothing. Resolved alerts leave the
 * group after the flush that saw them.
 *
 * Durability: a notification is written to the outbox (`enqueueNotification`) before any send, with the
 * dedup key `<groupKey>:<hash of the notified alerts' fingerprint, status and startsAt>` — the same
 * content is never enqueued twice, including by a restarted or second hub (`startsAt` is in the hash so
 * that a new firing episode of the same alert is new content; a repeat adds `:repeat-<n>`).
 *
 * The delivery guarantee, exactly: at least once on the wire, one idempotency key per notification,
 * hence exactly once for a receiver that deduplicates by that key (PagerDuty by `dedup_key`,
 * Alertmanager by label set, a webhook receiver by `Idempotency-Key`). A row is marked delivered only
 * after the notifier said ok, so a process killed mid-send (the request sent, its answer not yet
 * recorded) leaves that row to be sent again, with the same `idempotencyKey`, once its lease lapses;
 * per receiver the sends are in order, so at most the one send in flight repeats
 * (`dispatcher.test.ts`, "dispatcher crash", kills the sender both mid-send and right after an answer).
 *
 * Order: per receiver, notifications are sent in enqueue order (`createdAt`, kept strictly increasing by
 * this dispatcher). A row is only sent when every earlier pending row of the same receiver is settled; a
 * claimed row behind an unsettled one is pushed back to that row's next attempt (a `markFailed` with
 * `waiting behind …`: it counts as an attempt in the store, not in this dispatcher's backoff), so a
 * receiver that was down for minutes gets everything afterwards, in order.
 *
 * Restart: group state (timers, what each group last notified) lives in memory. After a crash, the caller
 * feeds the firing alerts of the stored states back in (`onAlerts(states.flatMap(s => alertsFromState(…)))`).
 * A group that was inside its `group_wait` had enqueued nothing; it starts a fresh `group_wait` and is
 * notified then. A group that had notified rebuilds the same content, hence the same dedup key, so the
 * enqueue is a no-op: no duplicate. Rows already in the outbox are delivered by whichever dispatcher
 * claims them (leases lapse after `leaseMs`). Lost on a crash: a repeat may come up to one
 * `repeat_interval` late, and a resolve that happened while the hub was down is not notified (the state
 * says healthy; nothing fires to resolve).
 */
import { createHash } from 'node:crypto';
import { parseDuration } from '../diagnostics/duration.js';
import type { Notification, OneOffWindow, Silence, Store } from '../store/types.js';
import { inhibitedBy } from './inhibit.js';
import { type AlertingConfig, type RouteConfig, routeAlert } from './routing.js';
import { inMaintenance, inOneOffWindow, silencedBy } from './silences.js';
import type { Alert, DeliveryResult, NotificationGroup, Notifier } from './types.js';

/** Retry policy of failed sends: `min(maxMs, initialMs × factor^(failures − 1))`, ± `jitter` × that. */
export interface BackoffOptions {
  /** Delay after the first failure. Default 1 000 ms. */
  initialMs?: number;
  /** Growth per further failure. Default 2. */
  factor?: number;
  /** Cap. Default 300 000 ms (5 min). */
  maxMs?: number;
  /** Fraction of random spread, 0–1 (0.2: ±20 %), so that retries of many rows do not align. Default 0.2. */
  jitter?: number;
}

/** Log function: the hub's shape. */
export type DispatcherLog = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

/** Options of `createDispatcher`. */
export interface DispatcherOptions {
  store: Store;
  /** Notifiers by configured name (the route's `notify` names). */
  notifiers: ReadonlyMap<string, Notifier>;
  /** A parsed `alerting:` section (`alertingSchema` output). */
  config: AlertingConfig;
  /** Clock, ms since epoch. Default `Date.now`. Timers still run on real time. */
  now?: () => number;
  backoff?: BackoffOptions;
  /** Random source for jitter, [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Sender loop period: how often due rows are claimed. Default 1 000 ms (a new enqueue triggers a pass at once). */
  claimIntervalMs?: number;
  /** How long a claim owns its rows; after that another sender may retry them. Default 60 000 ms. */
  leaseMs?: number;
  /** Timeout of one send (its signal aborts). Default min(10 000, leaseMs / 2) ms: a send ends within its lease. */
  attemptTimeoutMs?: number;
  /** Rows claimed per pass. Default 100. */
  claimLimit?: number;
  /**
   * How long `stop()` lets sends already in flight finish before aborting them, in ms. Default 2 000:
   * an aborted send whose request the receiver already had is re-sent after a restart (same
   * idempotency key, but a duplicate to a receiver that does not dedupe); a webhook answers well
   * within this, and a hung one is still cut off.
   */
  stopGraceMs?: number;
  log?: DispatcherLog;
}

/** A running dispatcher. */
export interface Dispatcher {
  /** Takes new or changed alerts (firing or resolved): routes, groups, and schedules their flushes. */
  onAlerts(alerts: readonly Alert[]): Promise<void>;
  /** Starts the sender loop (an immediate pass, then every `claimIntervalMs`). */
  start(): void;
  /**
   * Stops timers and the sender loop (no new send starts), lets sends in flight finish for up to
   * `stopGraceMs`, then aborts the rest and waits for them. Group state is dropped.
   */
  stop(): Promise<void>;
  /** One claim-and-send pass (serialised with the loop's). */
  tick(): Promise<void>;
  /**
   * Why each of `alerts` would be muted now (silence, maintenance window, inhibition by a firing
   * alert), by fingerprint; unmuted alerts are absent. The same rules a flush applies; with
   * `inhibition: false` silences and maintenance windows only (recovery actions: an alert inhibited by
   * its target's liveness alert is the same failure, and nobody has said they are on it).
   */
  muteReasons(alerts: readonly Alert[], options?: { inhibition?: boolean }): Promise<Map<string, string>>;
}

/** What mutes by time at one moment: silences and one-off maintenance windows (recurring ones are config). */
interface Muting {
  silences: readonly Silence[];
  windows: readonly OneOffWindow[];
}

interface SentLog {
  firing: Set<string>;
  resolved: Set<string>;
  at: number;
  contentHash: string;
  repeats: number;
}

interface Group {
  key: string;
  route: RouteConfig;
  labels: Record<string, string>;
  alerts: Map<string, Alert>;
  timer: NodeJS.Timeout | undefined;
  sent: SentLog | undefined;
  /** Fingerprint → why it is muted, to log changes only. */
  muted: Map<string, string>;
}

interface RouteTiming {
  waitMs: number;
  intervalMs: number;
  repeatMs: number;
}

const hash = (text: string) => createHash('sha256').update(text).digest('hex').slice(0, 32);
const alertId = (a: Alert) => `${a.fingerprint}@${a.startsAt}`;
const quoteLabels = (labels: Record<string, string>) =>
  `{${Object.keys(labels)
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(',')}}`;

function isSubset(items: Iterable<string>, of: Set<string>): boolean {
  for (const item of items) if (!of.has(item)) return false;
  return true;
}

function common(records: readonly Record<string, string>[]): Record<string, string> {
  const [first, ...rest] = records;
  if (first === undefined) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(first)) if (rest.every((r) => r[k] === v)) out[k] = v;
  return out;
}

/**
 * Builds a dispatcher over an open store and the configured notifiers.
 *
 * @example
 * const dispatcher = createDispatcher({ store, notifiers, config: loaded.config.alerting });
 * dispatcher.start();
 * hub.subscribe((event) => {
 *   if (event.type === 'transition') void dispatcher.onAlerts(alertsFromTransition(event.transition, planOf(event)));
 * });
 * // on shutdown
 * await dispatcher.stop();
 */
export function createDispatcher(options: DispatcherOptions): Dispatcher {
  const { store, notifiers, config } = options;
  const clock = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const log: DispatcherLog = options.log ?? (() => {});
  const backoff = { initialMs: 1_000, factor: 2, maxMs: 300_000, jitter: 0.2, ...options.backoff };
  const claimIntervalMs = options.claimIntervalMs ?? 1_000;
  const leaseMs = options.leaseMs ?? 60_000;
  const attemptTimeoutMs = options.attemptTimeoutMs ?? Math.min(10_000, Math.floor(leaseMs / 2));
  const claimLimit = options.claimLimit ?? 100;
  const stopGraceMs = options.stopGraceMs ?? 2_000;

  const timing = new Map<RouteConfig, RouteTiming & { index: number }>(
    config.routes.map((route, index) => [
      route,
      {
        index,
        waitMs: parseDuration(route.group_wait),
        intervalMs: parseDuration(route.group_interval),
        repeatMs: parseDuration(route.repeat_interval),
      },
    ]),
  );
  const configSilences: Silence[] = config.silences.map((s, i) => ({
    id: `config-${i}`,
    matchers: s.matchers,
    startsAt: Date.parse(s.startsAt),
    endsAt: Date.parse(s.endsAt),
    createdBy: s.createdBy,
    comment: s.comment,
  }));

  const groups = new Map<string, Group>();
  /** Every firing alert by fingerprint: inhibition sources, and the `startsAt` a resolve inherits. */
  const firing = new Map<string, Alert>();
  /** Deferrals (`waiting behind …`) per row id, subtracted from `attempts` for the backoff exponent. */
  const deferrals = new Map<string, number>();
  const inFlight = new Set<AbortController>();
  let lastCreatedAt = 0;
  let flushing: Promise<void> = Promise.resolve();
  let ticking: Promise<void> = Promise.resolve();
  let loopTimer: NodeJS.Timeout | undefined;
  let running = false;
  let stopped = false;

  // ---------------------------------------------------------------------------------------------
  // Grouping

  function schedule(group: Group, delayMs: number): void {
    if (stopped) return;
    group.timer = setTimeout(() => {
      group.timer = undefined;
      void enqueueFlush(group);
    }, delayMs);
  }

  function enqueueFlush(group: Group): Promise<void> {
    flushing = flushing.then(() => flush(group));
    return flushing;
  }

  /** Silences (configured and stored) and one-off maintenance windows open at `now`, read once per pass. */
  async function mutingAt(now: number): Promise<Muting> {
    const [stored, windows] = await Promise.all([
      store.silences({ activeAt: now }),
      store.maintenanceWindows({ activeAt: now }),
    ]);
    return { silences: [...configSilences, ...stored], windows };
  }

  function muteReason(alert: Alert, muting: Muting, now: number, inhibition = true): string | undefined {
    const silence = silencedBy(alert, muting.silences, now);
    if (silence !== undefined) return `silenced by ${silence.id} (${silence.comment})`;
    if (inMaintenance(alert, config.maintenance, now)) return 'in a maintenance window';
    const window = inOneOffWindow(alert, muting.windows, now);
    if (window !== undefined) return `in maintenance window ${window.id} (${window.comment})`;
    if (inhibition && config.inhibit) {
      const source = inhibitedBy(alert, firing.values());
      if (source !== undefined) {
        return `inhibited by ${source.labels.alertname} of ${source.labels.target}/${source.labels.check} in ${source.labels.region}`;
      }
    }
    return undefined;
  }

  function needsUpdate(
    sent: SentLog | undefined,
    firingIds: string[],
    resolvedIds: string[],
    repeatMs: number,
    now: number,
  ): boolean {
    if (sent === undefined) return firingIds.length > 0;
    if (!isSubset(firingIds, sent.firing)) return true;
    if (firingIds.length === 0) return sent.firing.size > 0;
    if (config.resolved && !isSubset(resolvedIds, sent.resolved)) return true;
    return sent.at + repeatMs <= now;
  }

  async function flush(group: Group): Promise<void> {
    if (stopped || groups.get(group.key) !== group) return;
    const t = timing.get(group.route);
    if (t === undefined) return;
    const now = clock();
    const seen = [...group.alerts.values()];
    try {
      const muting = await mutingAt(now);
      const unmuted: Alert[] = [];
      for (const alert of seen) {
        const reason = muteReason(alert, muting, now);
        if (reason === undefined) {
          group.muted.delete(alert.fingerprint);
          unmuted.push(alert);
        } else if (group.muted.get(alert.fingerprint) !== reason) {
          group.muted.set(alert.fingerprint, reason);
          log(
            'info',
            `${alert.labels.alertname} ${alert.labels.target}/${alert.labels.check} not notified: ${reason}`,
            {
              fingerprint: alert.fingerprint,
              groupKey: group.key,
            },
          );
        }
      }
      const firingNow = unmuted.filter((a) => a.status === 'firing');
      const resolvedNow = unmuted.filter((a) => a.status === 'resolved');
      const firingIds = firingNow.map(alertId);
      const resolvedIds = resolvedNow.map(alertId);
      if (unmuted.length > 0 && needsUpdate(group.sent, firingIds, resolvedIds, t.repeatMs, now)) {
        const alerts = config.resolved ? [...firingNow, ...resolvedNow] : firingNow;
        const contentHash = hash(
          alerts
            .map((a) => `${a.fingerprint}:${a.status}:${a.startsAt}`)
            .sort()
            .join('\n'),
        );
        const repeats = group.sent?.contentHash === contentHash ? group.sent.repeats + 1 : 0;
        if (alerts.length > 0) {
          const dedupKey = `${group.key}:${contentHash}${repeats > 0 ? `:repeat-${repeats}` : ''}`;
          await enqueue(group, alerts, dedupKey);
        }
        group.sent = {
          firing: new Set(firingIds),
          resolved: new Set(resolvedIds),
          at: now,
          contentHash,
          repeats,
        };
      }
      for (const alert of seen) {
        if (alert.status === 'resolved' && group.alerts.get(alert.fingerprint) === alert) {
          group.alerts.delete(alert.fingerprint);
          group.muted.delete(alert.fingerprint);
        }
      }
    } catch (error) {
      log('error', `alert group ${group.key} not flushed, will retry: ${(error as Error).message}`, {
        groupKey: group.key,
      });
    }
    if (group.alerts.size === 0) groups.delete(group.key);
    else schedule(group, t.intervalMs);
  }

  async function enqueue(group: Group, alerts: Alert[], dedupKey: string): Promise<void> {
    const createdAt = Math.max(clock(), lastCreatedAt + 1);
    lastCreatedAt = createdAt;
    const base = {
      groupKey: group.key,
      status: alerts.some((a) => a.status === 'firing') ? ('firing' as const) : ('resolved' as const),
      alerts,
      groupLabels: group.labels,
      commonLabels: common(alerts.map((a) => a.labels)),
      commonAnnotations: common(alerts.map((a) => a.annotations)),
    };
    let added = 0;
    for (const receiver of group.route.notify) {
      const payload: NotificationGroup = {
        ...base,
        receiver,
        idempotencyKey: hash(`${receiver}\0${dedupKey}`),
      };
      const outcome = await store.enqueueNotification({ dedupKey, notifier: receiver, payload, createdAt });
      if (outcome.enqueued) added++;
    }
    if (added > 0) kick();
  }

  // ---------------------------------------------------------------------------------------------
  // Sending

  function backoffMs(failures: number, retryAfterMs: number | undefined): number {
    const base = Math.min(backoff.maxMs, backoff.initialMs * backoff.factor ** Math.max(0, failures - 1));
    const jittered = base * (1 + backoff.jitter * (2 * random() - 1));
    return Math.max(Math.round(jittered), retryAfterMs ?? 0);
  }

  async function send(row: Notification): Promise<DeliveryResult> {
    const notifier = notifiers.get(row.notifier);
    if (notifier === undefined) {
      return { ok: false, retryable: false, error: `no notifier named "${row.notifier}" is configured` };
    }
    const controller = new AbortController();
    inFlight.add(controller);
    const timer = setTimeout(() => controller.abort(new Error('send timed out')), attemptTimeoutMs);
    try {
      return await notifier.send(row.payload as NotificationGroup, { signal: controller.signal, now: clock });
    } catch (error) {
      // The contract says never thrown; a bug or an abort is retried, not lost.
      return { ok: false, retryable: true, error: (error as Error).message };
    } finally {
      clearTimeout(timer);
      inFlight.delete(controller);
    }
  }

  async function holdBehind(rows: readonly Notification[], until: number, blocker: string): Promise<void> {
    for (const row of rows) {
      deferrals.set(row.id, (deferrals.get(row.id) ?? 0) + 1);
      await store.markFailed(row.id, { error: `waiting behind ${blocker}`, nextAttemptAt: until });
    }
  }

  /** Sends one receiver's claimed rows in enqueue order, stopping at the first row that is not settled. */
  async function drain(queue: readonly Notification[], claimed: Set<string>): Promise<void> {
    for (let i = 0; i < queue.length; i++) {
      const row = queue[i] as Notification;
      const rest = () => queue.slice(i + 1).filter((r) => claimed.has(r.id));
      if (!claimed.has(row.id)) {
        // An earlier row is not ours to send now: not due yet, or leased by another sender.
        const now = clock();
        const leased = row.leasedUntil !== null && row.leasedUntil > now;
        const until = leased ? now + claimIntervalMs : Math.max(row.nextAttemptAt, now);
        await holdBehind(rest(), until, `${row.id} (an earlier notification to ${row.notifier})`);
        return;
      }
      if (stopped) {
        // Give back what this dispatcher claimed but will not send: the next one (after a reload or
        // a restart) may send it at once instead of waiting out the lease.
        for (const r of [row, ...rest()]) await store.releaseLease(r.id);
        return;
      }
      const result = await send(row);
      const now = clock();
      if (result.ok) {
        await store.markDelivered(row.id, now);
        deferrals.delete(row.id);
        continue;
      }
      if (!result.retryable) {
        await store.markFailed(row.id, { error: result.error, nextAttemptAt: null });
        deferrals.delete(row.id);
        log('error', `notification to ${row.notifier} refused, giving up: ${result.error}`, {
          notifier: row.notifier,
          dedupKey: row.dedupKey,
        });
        continue;
      }
      const failures = row.attempts - (deferrals.get(row.id) ?? 0) + 1;
      const next = now + backoffMs(failures, result.retryAfterMs);
      await store.markFailed(row.id, { error: result.error, nextAttemptAt: next });
      log('warn', `notification to ${row.notifier} failed (attempt ${failures}), retrying: ${result.error}`, {
        notifier: row.notifier,
        dedupKey: row.dedupKey,
        nextAttemptAt: next,
      });
      await holdBehind(rest(), next, `${row.id} (failed, retrying)`);
      return;
    }
  }

  async function pass(): Promise<void> {
    const claimedRows = await store.claimDueNotifications({ now: clock(), limit: claimLimit, leaseMs });
    if (claimedRows.length === 0) return;
    const claimed = new Set(claimedRows.map((r) => r.id));
    const receivers = new Set(claimedRows.map((r) => r.notifier));
    const queues = new Map<string, Notification[]>();
    for (const row of await store.pendingNotifications()) {
      if (!receivers.has(row.notifier)) continue;
      const queue = queues.get(row.notifier);
      if (queue === undefined) queues.set(row.notifier, [row]);
      else queue.push(row);
    }
    await Promise.all([...queues.values()].map((queue) => drain(queue, claimed)));
  }

  function tick(): Promise<void> {
    ticking = ticking.then(pass).catch((error: Error) => {
      log('error', `outbox pass failed, will retry: ${error.message}`);
    });
    return ticking;
  }

  function loop(delayMs: number): void {
    if (!running) return;
    clearTimeout(loopTimer);
    loopTimer = setTimeout(() => {
      loopTimer = undefined;
      void tick().then(() => {
        if (loopTimer === undefined) loop(claimIntervalMs);
      });
    }, delayMs);
  }

  /** A pass soon, for what was just enqueued. */
  function kick(): void {
    if (running) loop(0);
  }

  // ---------------------------------------------------------------------------------------------

  return {
    async muteReasons(alerts, options = {}) {
      const now = clock();
      const muting = await mutingAt(now);
      const reasons = new Map<string, string>();
      for (const alert of alerts) {
        const reason = muteReason(alert, muting, now, options.inhibition ?? true);
        if (reason !== undefined) reasons.set(alert.fingerprint, reason);
      }
      return reasons;
    },
    async onAlerts(alerts) {
      const due: Group[] = [];
      for (const incoming of alerts) {
        let alert = incoming;
        const previous = firing.get(alert.fingerprint);
        if (alert.status === 'resolved') {
          if (previous !== undefined) alert = { ...alert, startsAt: previous.startsAt };
          firing.delete(alert.fingerprint);
        } else {
          firing.set(alert.fingerprint, alert);
        }
        for (const route of routeAlert(alert, config.routes)) {
          const t = timing.get(route);
          if (t === undefined) continue;
          const labels: Record<string, string> = {};
          for (const name of route.group_by) {
            const value = alert.labels[name];
            if (value !== undefined) labels[name] = value;
          }
          const key = `route[${t.index}]:${quoteLabels(labels)}`;
          let group = groups.get(key);
          if (group === undefined) {
            group = {
              key,
              route,
              labels,
              alerts: new Map(),
              timer: undefined,
              sent: undefined,
              muted: new Map(),
            };
            groups.set(key, group);
            if (t.waitMs === 0) due.push(group);
            else schedule(group, t.waitMs);
          }
          group.alerts.set(alert.fingerprint, alert);
        }
      }
      await Promise.all(due.map((g) => enqueueFlush(g)));
    },

    start() {
      if (running || stopped) return;
      running = true;
      loop(0);
    },

    async stop() {
      stopped = true;
      running = false;
      clearTimeout(loopTimer);
      loopTimer = undefined;
      for (const group of groups.values()) clearTimeout(group.timer);
      groups.clear();
      const settled = Promise.all([ticking, flushing]);
      let grace: NodeJS.Timeout | undefined;
      const finished = await Promise.race([
        settled.then(() => true),
        new Promise<boolean>((resolve) => {
          grace = setTimeout(() => resolve(false), stopGraceMs);
        }),
      ]);
      clearTimeout(grace);
      if (!finished) {
        for (const controller of inFlight) controller.abort(new Error('dispatcher stopping'));
        await settled;
      }
    },

    tick,
  };
}
