/**
 * Alerts from the evaluator's output: transitions and flap events become Alertmanager-style alerts with
 * Vigil's severities (DESIGN.md, "Vocabulary"):
 *
 * | state entered / left | alert | severity |
 * | --- | --- | --- |
 * | `unhealthy` | `VigilCheckUnhealthy` fires / resolves | `critical` (pages) |
 * | `degraded` | `VigilCheckDegraded` fires / resolves | `warning` |
 * | flapping starts / stops | `VigilCheckFlapping` fires / resolves | `warning` |
 * | `stale` (results stopped arriving) | `VigilCheckStale` fires / resolves | `warning` |
 * | `pending` (one failed probe, being confirmed) | none | `info` |
 *
 * `stale` is transparent to the other alerts: going stale neither resolves nor fires them (an
 * unhealthy check whose prober stalls is still unhealthy as far as anyone knows, and stays paged);
 * when results arrive again, the state they lead to is compared with the state last known before the
 * gap (`Transition.lastKnown`), as if the gap had not been there.
 *
 * `info` is deliberately not an alert: a single failed probe is shown on the dashboard and logged by the
 * hub, and no {@link Alert} is made for it, so no route (not even one matching `severity: info`) can
 * page anyone for a transient blip. That is the point of the failureThreshold.
 */
import { createHash } from 'node:crypto';
import type { CheckPlan, CheckState, EvalState, FlapEvent, Transition } from '../types.js';
import type { Alert, Severity } from './types.js';

/** The alert names Vigil emits. */
export const ALERT_NAMES = {
  unhealthy: 'VigilCheckUnhealthy',
  degraded: 'VigilCheckDegraded',
  flapping: 'VigilCheckFlapping',
  stale: 'VigilCheckStale',
} as const;

/**
 * The alerts of checks probed from several regions (`regions:`) and of agents; derived by the hub,
 * not from one (check, region) state, so not among the metrics-based rules `vigil export` writes.
 */
export const REGION_ALERT_NAMES = {
  /** A multi-region check fails in fewer regions than its quorum: one alert per failing region. */
  regional: 'VigilCheckRegional',
  /** A multi-region check fails in at least its quorum of reporting regions. */
  global: 'VigilCheckGlobal',
  /** An agent stopped reporting: its region is out of every check's quorum. */
  agentDown: 'VigilAgentDown',
} as const;

/** Severity of each alert name; `info` has no alert (see the module comment). */
export const ALERT_SEVERITY: Readonly<Record<string, Severity>> = {
  [ALERT_NAMES.unhealthy]: 'critical',
  [ALERT_NAMES.degraded]: 'warning',
  [ALERT_NAMES.flapping]: 'warning',
  [ALERT_NAMES.stale]: 'warning',
  [REGION_ALERT_NAMES.regional]: 'warning',
  [REGION_ALERT_NAMES.global]: 'critical',
  [REGION_ALERT_NAMES.agentDown]: 'warning',
};

/** Options of {@link alertsFromTransition} and {@link alertsFromFlap}. */
export interface AlertOptions {
  /**
   * The hub's external base URL (e.g. `https://vigil.example.com`, no trailing slash); when set, each alert's
   * `generatorURL` links to the check's recent results, `/api/v1/checks/<id>/results` (until the
   * dashboard has a page per check).
   */
  externalUrl?: string;
  /**
   * When the state being left was entered (ms since epoch): the resolved alert's `startsAt`. When absent the
   * resolved alert carries the transition's time and the dispatcher replaces it with the firing alert's
   * `startsAt` (it remembers every firing alert), as Alertmanager merges a resolve into the alert it ends.
   */
  since?: number;
}

/**
 * A stable identity for a label set (Alertmanager's fingerprint): the SHA-256 of the labels sorted by
 * name, as `name\0value\0` pairs, first 16 bytes in hex (32 characters). Every label of a Vigil alert is
 * the same when it fires and when it resolves, so both share this dedup key.
 *
 * @example fingerprintOf({ alertname: 'VigilCheckUnhealthy', target: 'credit-scorer' }) // 32 hex chars
 */
export function fingerprintOf(labels: Readonly<Record<string, string>>): string {
  const hash = createHash('sha256');
  for (const name of Object.keys(labels).sort()) hash.update(`${name}\0${labels[name]}\0`);
  return hash.digest('hex').slice(0, 32);
}

/** Alert labels for one check: the target's labels first, so Vigil's own names cannot be overridden. */
function labelsFor(plan: CheckPlan, region: string, alertname: string): Record<string, string> {
  const labels: Record<string, string> = { ...plan.target.labels };
  labels.alertname = alertname;
  labels.severity = ALERT_SEVERITY[alertname] ?? 'warning';
  labels.target = plan.target.name;
  labels.check = plan.kind;
  labels.region = region;
  if (plan.target.model !== undefined) labels.model = plan.target.model;
  else delete labels.model;
  return labels;
}

function makeAlert(
  plan: CheckPlan,
  region: string,
  alertname: string,
  status: Alert['status'],
  at: number,
  annotations: Record<string, string>,
  options: AlertOptions,
): Alert {
  const labels = labelsFor(plan, region, alertname);
  const alert: Alert = {
    fingerprint: fingerprintOf(labels),
    status,
    labels,
    annotations,
    startsAt: status === 'firing' ? at : (options.since ?? at),
    endsAt: status === 'resolved' ? at : null,
  };
  if (options.externalUrl !== undefined) {
    alert.generatorURL = `${options.externalUrl.replace(/\/+$/, '')}/api/v1/checks/${encodeURIComponent(plan.id)}/results`;
  }
  return alert;
}

/** The alert name a state raises, if any. */
function alertNameOf(state: CheckState): string | undefined {
  if (state === 'unhealthy') return ALERT_NAMES.unhealthy;
  if (state === 'degraded') return ALERT_NAMES.degraded;
  return undefined;
}

/**
 * The alerts a state transition fires and resolves: leaving `unhealthy` / `degraded` resolves that
 * state's alert, entering one fires it (both at once for `degraded → unhealthy`, resolve first).
 * `pending`, `healthy` and `unknown` raise nothing (see the module comment on `info`). Entering `stale`
 * fires `VigilCheckStale` and leaves the last known state's alert as it is; leaving `stale` resolves
 * `VigilCheckStale` and then compares the state entered with `t.lastKnown`, the state before the gap.
 *
 * Labels: the target's labels, then `alertname`, `severity`, `target`, `check`, `region` and `model` (when
 * the target has one). Annotations: `summary` (one line) and `description` (the transition's reason,
 * e.g. `3 consecutive failures: TIMEOUT: timed out after 2000 ms`). A firing alert starts at `t.at`; a
 * resolved one ends at `t.at`.
 *
 * @example
 * const [alert] = alertsFromTransition(transition, plan, { externalUrl: 'https://vigil.example.com' });
 * // alert.labels.alertname === 'VigilCheckUnhealthy', alert.labels.severity === 'critical'
 * @returns zero, one or two alerts (three when leaving `stale`); never throws
 */
export function alertsFromTransition(t: Transition, plan: CheckPlan, options: AlertOptions = {}): Alert[] {
  const alerts: Alert[] = [];
  if (t.to === 'stale') {
    alerts.push(
      makeAlert(
        plan,
        t.region,
        ALERT_NAMES.stale,
        'firing',
        t.at,
        {
          summary: `${plan.id} is stale in ${t.region}: its results stopped arriving`,
          description: t.reason,
        },
        options,
      ),
    );
    return alerts;
  }
  let from: CheckState = t.from;
  if (t.from === 'stale') {
    alerts.push(
      makeAlert(
        plan,
        t.region,
        ALERT_NAMES.stale,
        'resolved',
        t.at,
        { summary: `${plan.id} is no longer stale in ${t.region} (now ${t.to})`, description: t.reason },
        options,
      ),
    );
    from = t.lastKnown ?? 'unknown';
  }
  const left = alertNameOf(from);
  const entered = alertNameOf(t.to);
  if (left !== undefined && left !== entered) {
    alerts.push(
      makeAlert(
        plan,
        t.region,
        left,
        'resolved',
        t.at,
        { summary: `${plan.id} is no longer ${from} in ${t.region} (now ${t.to})`, description: t.reason },
        options,
      ),
    );
  }
  if (entered !== undefined && entered !== left) {
    alerts.push(
      makeAlert(
        plan,
        t.region,
        entered,
        'firing',
        t.at,
        { summary: `${plan.id} is ${t.to} in ${t.region}`, description: t.reason },
        options,
      ),
    );
  }
  return alerts;
}

/**
 * The `VigilCheckFlapping` alert (severity `warning`) of a flap event: firing when flapping starts,
 * resolved when it stops.
 *
 * @example alertsFromFlap({ checkId: 'm/liveness', region: 'local', flapping: true, at, transitionsInWindow: 6 }, plan)
 * @returns one alert; never throws
 */
export function alertsFromFlap(f: FlapEvent, plan: CheckPlan, options: AlertOptions = {}): Alert[] {
  const description = `${f.transitionsInWindow} state changes within the flap window`;
  const summary = f.flapping
    ? `${plan.id} is flapping in ${f.region}`
    : `${plan.id} stopped flapping in ${f.region}`;
  return [
    makeAlert(
      plan,
      f.region,
      ALERT_NAMES.flapping,
      f.flapping ? 'firing' : 'resolved',
      f.at,
      { summary, description },
      options,
    ),
  ];
}

/**
 * The alerts that are firing for a stored evaluator state: how a restarted hub rebuilds the dispatcher's
 * groups (`dispatcher.onAlerts(states.flatMap(...))`). A firing state alert starts at `state.since`, the
 * same time its transition had, so its outbox dedup key matches what was enqueued before the restart.
 * A flapping alert's start is not stored; it takes the newest recorded transition time (a re-sent
 * flapping notification after a restart is possible, documented in the dispatcher).
 *
 * @returns zero to three firing alerts
 */
export function alertsFromState(state: EvalState, plan: CheckPlan, options: AlertOptions = {}): Alert[] {
  const alerts: Alert[] = [];
  const reason = state.lastResult?.error?.message ?? state.lastResult?.failures[0]?.message ?? 'restored';
  // A stale check fires VigilCheckStale and, still, the alert of the state it was last known in.
  const known = state.state === 'stale' ? state.lastKnown : { state: state.state, since: state.since };
  if (state.state === 'stale') {
    alerts.push(
      makeAlert(
        plan,
        state.region,
        ALERT_NAMES.stale,
        'firing',
        state.since,
        {
          summary: `${plan.id} is stale in ${state.region}: its results stopped arriving`,
          description: 'restored',
        },
        options,
      ),
    );
  }
  const name = known === undefined ? undefined : alertNameOf(known.state);
  if (name !== undefined && known !== undefined) {
    alerts.push(
      makeAlert(
        plan,
        state.region,
        name,
        'firing',
        known.since,
        { summary: `${plan.id} is ${known.state} in ${state.region}`, description: reason },
        options,
      ),
    );
  }
  if (state.flapping) {
    const at = state.recentTransitions.at(-1) ?? state.since;
    alerts.push(
      ...alertsFromFlap(
        {
          checkId: state.checkId,
          region: state.region,
          flapping: true,
          at,
          transitionsInWindow: state.recentTransitions.length,
        },
        plan,
        options,
      ),
    );
  }
  return alerts;
}

/** A multi-region check's verdict across its regions (`hub/regions.ts` derives it). */
export interface RegionVerdict {
  /** `ok`: no reporting region fails; `regional`: some, below the quorum; `global`: at or above it. */
  state: 'ok' | 'regional' | 'global';
  /** Reporting regions whose state is unhealthy. */
  failing: string[];
  /** Regions that count: results arriving, agent up. */
  reporting: string[];
  /** Regions left out of the denominator: stale results or agent down. */
  absent: string[];
  /** When the verdict last changed, ms since epoch. */
  since: number;
}

/**
 * The firing alerts of a multi-region check's verdict: `VigilCheckGlobal` (critical, region `global`)
 * at or above the quorum, and `VigilCheckRegional` (warning, the region's label) for each failing
 * region; the global alert inhibits the regional ones (`inhibit.ts`), so a global failure pages once.
 */
export function alertsFromVerdict(
  plan: CheckPlan,
  verdict: RegionVerdict,
  options: AlertOptions = {},
): Alert[] {
  if (verdict.state === 'ok') return [];
  const of = `${verdict.failing.length} of ${verdict.reporting.length} reporting regions`;
  const alerts = verdict.failing.map((region) =>
    makeAlert(
      plan,
      region,
      REGION_ALERT_NAMES.regional,
      'firing',
      verdict.since,
      {
        summary: `${plan.id} fails in ${region} (${of}): a regional failure, the path or the region`,
        description: of,
      },
      options,
    ),
  );
  if (verdict.state === 'global')
    alerts.push(
      makeAlert(
        plan,
        'global',
        REGION_ALERT_NAMES.global,
        'firing',
        verdict.since,
        {
          summary: `${plan.id} fails in ${of} (${verdict.failing.join(', ')}): a global failure`,
          description: of,
        },
        options,
      ),
    );
  return alerts;
}

/** `VigilAgentDown` for `region` (warning): its agent sent nothing since `lastReportAt`. */
export function agentDownAlert(
  region: string,
  status: Alert['status'],
  at: number,
  lastReportAt: number,
): Alert {
  const labels = {
    alertname: REGION_ALERT_NAMES.agentDown,
    severity: ALERT_SEVERITY[REGION_ALERT_NAMES.agentDown] ?? 'warning',
    region,
  };
  return {
    fingerprint: fingerprintOf(labels),
    status,
    labels,
    annotations: {
      summary: `the agent of region ${region} stopped reporting; its checks' alerts there are inhibited`,
      description: `last report ${new Date(lastReportAt).toISOString()}`,
    },
    startsAt: at,
    endsAt: status === 'resolved' ? at : null,
  };
}
