/**
 * `vigil export prometheus-rules`: Vigil's alerting as a Prometheus rule file, for teams that alert
 * from Prometheus (and route with Alertmanager) instead of Vigil's notifiers.
 *
 *   vigil export prometheus-rules -c vigil.yaml [-o vigil-rules.yml] [--job vigil]
 *
 * Exit 0 when the rules were written, 2 on a config or usage error (an unwritable `-o` included).
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { Document } from 'yaml';
import { ALERT_NAMES } from '../alerting/alerts.js';
import type { Severity } from '../alerting/types.js';
import { loadConfig, type VigilConfig } from '../config/index.js';
import { buildTrafficPlan } from '../config/plan.js';
import { failoverAtMsOf } from '../config/routers.js';
import { UsageError } from '../errors.js';
import { defaultThresholds, FLAP_WINDOW_CHECKS, MIN_FLAP_WINDOW_MS } from '../evaluate/index.js';
import { STALE_INTERVALS } from '../hub/watchdog.js';
import { isProbeable } from '../probe/run-probe.js';
import type { CheckPlan } from '../types.js';
import { VERSION } from '../version.js';

/**
 * Names of the exported alerts: Vigil's own ({@link ALERT_NAMES}, the names its notifiers send, so
 * Alertmanager routes and silences work for either source), two about Vigil itself, and two that say
 * why a canary check is degraded (its model drifted, or the version served has no baseline).
 */
export const RULE_ALERT_NAMES = {
  ...ALERT_NAMES,
  notProbing: 'VigilCheckNotProbing',
  hubDown: 'VigilHubDown',
  canaryDrift: 'VigilCanaryDrift',
  canaryNoBaseline: 'VigilCanaryNoBaseline',
  routerDown: 'VigilRouterDown',
  routerFailover: 'VigilRouterFailover',
  routerEjection: 'VigilRouterEjection',
  routerDeadlineMissed: 'VigilRouterDeadlineMissed',
} as const;

type RuleAlert = keyof typeof RULE_ALERT_NAMES;

/**
 * Severity of each exported alert: Vigil's hierarchy (DESIGN.md, "severity"; `ALERT_SEVERITY` in
 * alerting/alerts.ts): unhealthy pages, degraded and flapping warn. A hub nobody can scrape pages too,
 * since while it lasts no check alert can fire; one check the hub stopped probing warns. The canary
 * alerts warn, as drift does in Vigil by default (issue 17: drift is `degraded`); corrupt answers
 * page through `VigilCheckUnhealthy` once `failureThreshold` runs failed, as in Vigil.
 */
export const RULE_SEVERITY: Readonly<Record<RuleAlert, Severity>> = {
  unhealthy: 'critical',
  degraded: 'warning',
  flapping: 'warning',
  stale: 'warning',
  notProbing: 'warning',
  hubDown: 'critical',
  canaryDrift: 'warning',
  canaryNoBaseline: 'warning',
  // A router is in the callers' data path: none up is an outage of every route behind it.
  routerDown: 'critical',
  // The router did its job (moved traffic, ejected, fell back): what it worked around is worth a look,
  // and a model's own failure pages through its checks (traffic ones included).
  routerFailover: 'warning',
  routerEjection: 'warning',
  routerDeadlineMissed: 'warning',
};

/**
 * Window of the router's counter rules (`increase(…[5m]) > 0`), in ms: 5 minutes, as
 * {@link NOT_PROBING_MIN_WINDOW_MS} (two scrapes at Prometheus' default 1 m interval).
 */
export const ROUTER_WINDOW_MS = 5 * 60_000;

/**
 * How long no hub may be up before {@link RULE_ALERT_NAMES}`.hubDown` fires, in ms: 1 minute. One
 * failed or slow scrape is a blip (Vigil's rule: never page for one); a minute is four missed scrapes
 * at the usual 15 s interval (two at Prometheus' default of 1 m).
 */
export const HUB_DOWN_FOR_MS = 60_000;

/**
 * Shortest window of `VigilCheckNotProbing`, in ms: 5 minutes. `increase()` needs two scrapes in its
 * window, and Prometheus' default scrape interval is 1 m; 5 m is also Prometheus' lookback delta.
 */
export const NOT_PROBING_MIN_WINDOW_MS = 5 * 60_000;

/** `VigilCheckNotProbing` window in check intervals (plus the initial delay): {@link notProbingWindowMs}. */
export const NOT_PROBING_INTERVALS = 3;

/** Labels of an alert that Vigil sets itself; a target label with one of these names is left out, as in Vigil's own alerts. */
const RESERVED_LABELS = new Set(['alertname', 'severity', 'target', 'check', 'region', 'model']);

/** One alerting rule, as Prometheus' rule file format spells it. */
export interface AlertingRule {
  alert: string;
  /** PromQL; may span lines. */
  expr: string;
  /** A Prometheus duration (`1m`); absent when the alert fires at the first evaluation that sees it. */
  for?: string;
  /** Added to the alert; values are Go templates (literal text is escaped). */
  labels: Record<string, string>;
  /** `summary` and `description`; Go templates over `$labels` and `$value`. */
  annotations: { summary: string; description: string };
}

/** One rule group: evaluated in order, groups in parallel. */
export interface RuleGroup {
  name: string;
  rules: AlertingRule[];
}

/** A Prometheus rule file (`rule_files:` entry), as an object for the `yaml` package. */
export interface RuleFile {
  groups: RuleGroup[];
}

/** A router as its rules need it (`routers:` of the config, resolved). */
export interface RouterRulesInput {
  name: string;
  /** The primary target's name (the `upstream` label of its series). */
  primary: string;
  /** `policy.deadline` as written (`"200ms"`). */
  deadline: string;
  /** `policy.failoverAt` in ms (default 90% of the deadline). */
  failoverAtMs: number;
  /** `policy.window` as written. */
  window: string;
  /** `policy.outlier.consecutive5xx`. */
  consecutive5xx: number;
  /** `policy.outlier.baseEjection` as written. */
  baseEjection: string;
  /** Whether it has a fallback (who answers a deadline miss: the fallback, else a 504). */
  hasFallback: boolean;
}

/** Options of {@link buildPrometheusRules}. */
export interface PrometheusRulesOptions {
  /**
   * `job` label of the Prometheus scrape job that scrapes the hub's `/metrics`. Every expression
   * matches it, so two Vigil hubs watching targets of the same name can share one Prometheus.
   * Default `vigil`.
   */
  job?: string;
  /** The config's routers: their rules read the router's own `/metrics` (the admin port's). */
  routers?: readonly RouterRulesInput[];
  /** `job` of the scrape job of the routers' admin `/metrics`. Default `vigil-router`. */
  routerJob?: string;
}

/**
 * Prometheus alerting rules equivalent to Vigil's own alerts (alerting/alerts.ts) for the checks of
 * `plans`: a group `vigil` with {@link RULE_ALERT_NAMES}`.hubDown`, then a group `vigil/<target>` per
 * target with six rules per check (five without flapping detection), and two more per canary check
 * ({@link canaryRules}). A router's traffic check (`<target>/traffic:<router>`) gets unhealthy, degraded
 * and flapping ({@link trafficRules}); with `routers`, a group `vigil-router` has each router's rules.
 *
 * Thresholds are `defaultThresholds(plan)` (evaluate/thresholds.ts), what the hub applies:
 * `failureThreshold` / `successThreshold` from the config (check, else target, else `defaults`, else
 * Kubernetes' 3 / 1), `degradedThreshold` = `failureThreshold`, flapping at 6 transitions within
 * `max(10 m, 21 × interval)`, the check's `startupGrace`.
 *
 * Which metrics, and why (all of the default level, packages/vigil/METRICS.md; every series is
 * labelled `target`, `check` (the kind), `region`, plus the scrape's `job` and `instance`):
 * - Not the raw `probe_success`: it is the last probe's outcome as seen at each scrape, and Vigil
 *   confirms a failure with fast re-probes (`fastInterval`, 1 s by default) between two scrapes, so
 *   no PromQL over it (nor over the detail level's `vigil_probes_failed_total`, whose increments
 *   between two scrapes have no order) can count *consecutive* probes; a `for:` would measure time,
 *   not probes.
 * - `VigilCheckUnhealthy` (critical) fires from `vigil_check_consecutive_failures >= failureThreshold`:
 *   the per-probe failure streak, counted by the hub after every probe, compared with the check's
 *   threshold in the rule itself, exactly the evaluator's test for entering `unhealthy`. So paging
 *   does not rest on the state machine's decision, and a reader sees each check's threshold. Two
 *   parts of the evaluator that no exported count carries come from `vigil_check_state`: the alert
 *   stays firing while the state is `unhealthy` (recovery needs `successThreshold` passes, and a
 *   degraded answer does not end it; the success streak is not exported), and, for a check with a
 *   `startupGrace`, a streak while the state is still `pending` does not fire (the grace depends on
 *   whether the check ever passed). With the hub's metrics consistent, the alert fires and resolves
 *   at the same scrapes as Vigil's own.
 * - `VigilCheckDegraded` (warning) and `VigilCheckFlapping` (warning) come from the gauges
 *   `vigil_check_state{state="degraded"}` and `vigil_check_flapping` (each present only while true):
 *   the degraded streak is not exported (a degraded probe has `probe_success` 1, like a pass), and
 *   the flap count over the detail level's `vigil_transitions_total` would be extrapolated by
 *   `increase()`, restarts from 0 with the hub (Vigil resumes its transition history from the store)
 *   and cannot see the window's edge between scrapes.
 * - `VigilCheckNotProbing` (warning), two rules:
 *   - `vigil_probes_total` did not grow in {@link notProbingWindowMs}, so the hub is scraped but its
 *     gauges are stale for this check (a stuck scheduler), `unless` the check is deferred by its
 *     target's probe budget or held for readiness (`vigil_check_deferred`: an expected gap, shown as
 *     such). It keeps the `instance` label: it is about one hub process.
 * - `VigilCheckStale` (warning) from `vigil_check_state{state="stale"}`: the hub's own watchdog saw
 *   the check's results stop (sooner than the not-probing window, and with the hub's reason).
 *   - the check has no series at all (`absent()`), `unless` no hub is up (then `VigilHubDown` says
 *     so, and 20,000 checks do not each warn too), for {@link notProbingWindowMs}: a hub that never
 *     finished the check's first probe (a probe stuck before its first result exports nothing), or
 *     one whose config lacks the check. The `for:` is what keeps a check just added from warning
 *     until its first probe is scraped: Prometheus evaluates an absence over past scrapes at once,
 *     and only a pending period starts when the rule does. Its alert has the labels `absent()` can
 *     give (`job`, `target`, `check`, no `region` or `instance`) and `reason: absent`, which also
 *     keeps the two rules of one alert name apart for `promtool check rules`.
 * - `VigilHubDown` (critical): no `up{job} == 1` for {@link HUB_DOWN_FOR_MS}, whether the hub is down
 *   or Prometheus has no such target. Its series go stale then and every check alert resolves, so
 *   this is the one alert that says monitoring itself is gone.
 * - A router's traffic check (`<target>/traffic:<router>`, results of source `traffic`, exported by
 *   the hub like any check with `check="traffic"`) gets the same `VigilCheckUnhealthy`,
 *   `VigilCheckDegraded` and `VigilCheckFlapping` from the same default-level series, with the
 *   router's `traffic` thresholds; not `VigilCheckStale` nor `VigilCheckNotProbing`: a router reports
 *   nothing in an interval without traffic (no traffic is no evidence), so a silent traffic check is
 *   not a fault, and the hub's watchdog does not watch it.
 * - Per router ({@link routerRules}), from the router's own `/metrics` (its admin port, scrape job
 *   `routerJob`): `VigilRouterFailover` while the primary gets less than all new traffic,
 *   `VigilRouterEjection` and `VigilRouterDeadlineMissed` when an ejection or a request no upstream
 *   answered by the deadline happened in the last {@link ROUTER_WINDOW_MS}; and `VigilRouterDown`
 *   (critical) when no router of the job has been up for {@link HUB_DOWN_FOR_MS}.
 *
 * No other check rule has a `for:`: the threshold already confirms the failure, as in Vigil. Alert
 * labels are the series' (`job`, `target`, `check`, `region`; `instance` is aggregated away so a hub
 * restarting under a new address, or two hub replicas, keep one alert identity), `severity`, the
 * target's `model` (set by the rule: the series carry it only on `vigil_target_info`), and the
 * target's `labels` (not one named like a label Vigil sets), as Vigil's own alerts carry them.
 * Known limits: Prometheus sees the metrics once per scrape, so a failure streak that reaches the
 * threshold and recovers between two scrapes raises no alert here (Vigil's notifiers see it), and
 * the alert starts up to one scrape plus one rule evaluation after Vigil's.
 *
 * @example
 * ```ts
 * const loaded = await loadConfig('vigil.yaml');
 * if (loaded.ok) console.log(formatPrometheusRules(buildPrometheusRules(loaded.plan, { job: 'vigil' })));
 * ```
 * @throws VigilError `VIGIL_ERR_EVALUATE_THRESHOLDS` when a plan's thresholds are out of range (the
 *   config loader rejects those first)
 */
export function buildPrometheusRules(
  plans: readonly CheckPlan[],
  options: PrometheusRulesOptions = {},
): RuleFile {
  const job = options.job ?? 'vigil';
  const groups: RuleGroup[] = [{ name: 'vigil', rules: [hubDownRule(job)] }];
  const byTarget = new Map<string, AlertingRule[]>();
  for (const plan of plans) {
    if (!hasRules(plan)) continue;
    const rules = byTarget.get(plan.target.name) ?? [];
    rules.push(...checkRules(plan, job));
    if (plan.kind === 'canary') rules.push(...canaryRules(plan, job));
    byTarget.set(plan.target.name, rules);
  }
  for (const [target, rules] of byTarget) groups.push({ name: `vigil/${target}`, rules });
  const routers = options.routers ?? [];
  if (routers.length > 0) {
    const routerJob = options.routerJob ?? 'vigil-router';
    groups.push({ name: 'vigil-router', rules: [routerDownRule(routerJob)] });
    for (const router of routers)
      groups.push({ name: `vigil-router/${router.name}`, rules: routerRules(router, routerJob) });
  }
  return { groups };
}

/** Whether a plan gets rules: every check the hub probes, canaries included (not traffic checks). */
const hasRules = (plan: CheckPlan): boolean =>
  isProbeable(plan) || plan.kind === 'canary' || plan.kind === 'traffic';

/**
 * A rule file as YAML text (the `yaml` package; long expressions as literal blocks), with `header`
 * as a leading comment when given.
 */
export function formatPrometheusRules(file: RuleFile, header?: string): string {
  const doc = new Document(file);
  if (header !== undefined) doc.commentBefore = header;
  return doc.toString({ lineWidth: 0 });
}

/**
 * `VigilCheckNotProbing`'s window for a plan, in ms: `max(5 min, 3 × intervalMs + initialDelayMs)`
 * ({@link NOT_PROBING_MIN_WINDOW_MS}, {@link NOT_PROBING_INTERVALS}): three missed probes at the
 * normal interval, never shorter than Prometheus needs to see two scrapes.
 */
export function notProbingWindowMs(plan: Pick<CheckPlan, 'intervalMs' | 'initialDelayMs'>): number {
  return Math.max(NOT_PROBING_MIN_WINDOW_MS, NOT_PROBING_INTERVALS * plan.intervalMs + plan.initialDelayMs);
}

/**
 * A duration in ms as Prometheus writes it (`1h30m`, `10m30s`, `1s500ms`, `0s`). Units up to hours,
 * so the text also reads well in annotations.
 */
export function formatPromDuration(ms: number): string {
  if (ms <= 0) return '0s';
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}

/** A PromQL string literal (PromQL takes Go's escapes, a superset of JSON's). */
const promString = (value: string): string => JSON.stringify(value);

/** `metric{a="x",b="y"}`. */
function selector(metric: string, matchers: Readonly<Record<string, string>>): string {
  const inner = Object.entries(matchers)
    .map(([name, value]) => `${name}=${promString(value)}`)
    .join(',');
  return `${metric}{${inner}}`;
}

/**
 * Literal text inside a Prometheus template (label values and annotations are Go templates): `{{`
 * starts an action, so it is written as the action that prints it.
 */
function literal(text: string): string {
  return text.replaceAll('{{', '{{ "{{" }}');
}

/**
 * A check rule's labels: `severity`, then `target` and `check` (the series carry them already; in the
 * rule they keep rules of one target apart, which `promtool check rules` requires), the target's
 * `model` when it has one (Vigil's own alerts carry it; the series do not), then the target's labels.
 */
function rulesLabels(plan: CheckPlan, alert: RuleAlert): Record<string, string> {
  const labels: Record<string, string> = {
    severity: RULE_SEVERITY[alert],
    target: plan.target.name,
    check: plan.kind,
  };
  if (plan.target.model !== undefined) labels.model = literal(plan.target.model);
  for (const [name, value] of Object.entries(plan.target.labels)) {
    if (!RESERVED_LABELS.has(name)) labels[name] = literal(value);
  }
  return labels;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * The six rules of one check, five without flapping detection; a traffic check's three, two without
 * (see {@link buildPrometheusRules}).
 */
function checkRules(plan: CheckPlan, job: string): AlertingRule[] {
  if (plan.kind === 'traffic') return trafficRules(plan, job);
  const t = defaultThresholds(plan);
  const sel = (metric: string, extra: Record<string, string> = {}) =>
    selector(metric, { job, target: plan.target.name, check: plan.kind, ...extra });
  const failures = sel('vigil_check_consecutive_failures');
  const inState = (state: string) => `${sel('vigil_check_state', { state })} == 1`;
  const id = literal(plan.id);
  const where = 'in {{ $labels.region }}';
  const recovery = `healthy again after ${plural(t.successThreshold, 'passing probe')} (successThreshold)`;

  const streak = [`    ${failures} >= ${t.failureThreshold}`];
  if (t.startupGraceMs > 0) streak.push(`    unless ignoring (state) ${inState('pending')}`);
  const grace =
    t.startupGraceMs > 0
      ? ` Until it first passes, it has a startup grace of ${formatPromDuration(t.startupGraceMs)} from its first probe.`
      : '';
  const rules: AlertingRule[] = [
    {
      alert: RULE_ALERT_NAMES.unhealthy,
      expr: [
        'max without (instance) (',
        '  (',
        ...streak,
        '  )',
        '  or',
        '  (',
        `    ${failures}`,
        `    and ignoring (state) ${inState('unhealthy')}`,
        '  )',
        ')',
      ].join('\n'),
      labels: rulesLabels(plan, 'unhealthy'),
      annotations: {
        summary: `${id} is unhealthy ${where}`,
        description:
          `{{ $value }} consecutive failed probes. Vigil marks ${id} unhealthy after ` +
          `${plural(t.failureThreshold, 'consecutive failed probe')} (failureThreshold) and ${recovery}.${grace}`,
      },
    },
    {
      alert: RULE_ALERT_NAMES.degraded,
      expr: `max without (instance, state) (${inState('degraded')})`,
      labels: rulesLabels(plan, 'degraded'),
      annotations: {
        summary: `${id} is degraded ${where}`,
        description:
          `Vigil marks ${id} degraded after ${plural(t.degradedThreshold, 'degraded probe')} (slow or ` +
          `drifting answers) without a pass in between (degradedThreshold = failureThreshold) and ${recovery}.`,
      },
    },
  ];
  if (t.flapTransitions > 0) {
    const window = formatPromDuration(t.flapWindowMs);
    rules.push({
      alert: RULE_ALERT_NAMES.flapping,
      expr: `max without (instance) (${sel('vigil_check_flapping')} == 1)`,
      labels: rulesLabels(plan, 'flapping'),
      annotations: {
        summary: `${id} is flapping ${where}`,
        description:
          `${id} changed state at least ${t.flapTransitions} times within ${window} (Vigil's flap window: ` +
          `max(${formatPromDuration(MIN_FLAP_WINDOW_MS)}, ${FLAP_WINDOW_CHECKS} × interval ${formatPromDuration(plan.intervalMs)})).`,
      },
    });
  }
  rules.push({
    alert: RULE_ALERT_NAMES.stale,
    expr: `max without (instance, state) (${inState('stale')})`,
    labels: rulesLabels(plan, 'stale'),
    annotations: {
      summary: `${id} is stale ${where}: its results stopped arriving`,
      description:
        `The hub's watchdog saw no result of ${id} for ${STALE_INTERVALS} intervals ` +
        `(${formatPromDuration(plan.intervalMs)}) plus the probe timeouts of its target: ` +
        'its prober stopped delivering (a probe deferred by the probe budget or held for readiness is not stale).',
    },
  });
  const window = formatPromDuration(notProbingWindowMs(plan));
  const interval = formatPromDuration(plan.intervalMs);
  const probes = sel('vigil_probes_total');
  rules.push({
    alert: RULE_ALERT_NAMES.notProbing,
    // A check the probe budget defers (or holds for readiness) is not probed on purpose, and says so.
    expr: [`increase(${probes}[${window}]) == 0`, `unless ${sel('vigil_check_deferred')} == 1`].join('\n'),
    labels: rulesLabels(plan, 'notProbing'),
    annotations: {
      summary: `Vigil has not probed ${id} for ${window} ${where} ({{ $labels.instance }})`,
      description:
        `The hub is scraped but ran no probe of ${id} (interval ${interval}) ` +
        `in ${window}: its state and alerts are stale.`,
    },
  });
  rules.push({
    alert: RULE_ALERT_NAMES.notProbing,
    expr: [`absent(${probes})`, `unless on () absent(${selector('up', { job })} == 1)`].join('\n'),
    for: window,
    labels: { ...rulesLabels(plan, 'notProbing'), reason: 'absent' },
    annotations: {
      summary: `Vigil has not probed ${id} for ${window}: no hub exports it`,
      description:
        `No Vigil hub of job ${literal(promString(job))} has exported a series of ${id} for ${window} ` +
        `while one was up: its config lacks the check, or the check never finished a probe (interval ${interval}).`,
    },
  });
  return rules;
}

/**
 * The two rules of a canary check beyond its six, from `vigil_canary_condition` (metrics/metrics.ts:
 * present, valued 1, while the last canary run found the condition; METRICS.md):
 * - `VigilCanaryDrift` (warning): the condition is `drift` or `corrupt` (label `condition` says which),
 *   held for `(degradedThreshold − 1) × interval` when that is more than 0. The gauge holds the last
 *   run's finding until the next run, so a condition present throughout that span was found by
 *   `degradedThreshold` consecutive runs — Vigil's own test for `degraded` — give or take the
 *   scheduler's spread and a scrape.
 * - `VigilCanaryNoBaseline` (warning): the version served has no baseline (`no_baseline`), so the
 *   canary compares nothing; at the first evaluation that sees it, as Vigil reports it at once
 *   (`no baseline for version "2"`): a new version is not a blip.
 */
function canaryRules(plan: CheckPlan, job: string): AlertingRule[] {
  const t = defaultThresholds(plan);
  const condition = (matcher: string) =>
    `${selector('vigil_canary_condition', { job, target: plan.target.name, check: plan.kind }).slice(0, -1)},condition${matcher}}`;
  const id = literal(plan.id);
  const where = 'in {{ $labels.region }}';
  const holdMs = (t.degradedThreshold - 1) * plan.intervalMs;
  const drift: AlertingRule = {
    alert: RULE_ALERT_NAMES.canaryDrift,
    expr: `max without (instance) (${condition('=~"drift|corrupt"')} == 1)`,
    ...(holdMs > 0 && { for: formatPromDuration(holdMs) }),
    labels: rulesLabels(plan, 'canaryDrift'),
    annotations: {
      summary: `${id}: the model's answers drifted from its baseline ${where} ({{ $labels.condition }})`,
      description:
        'Condition {{ $labels.condition }}: the answers differ from the baseline of the model version served ' +
        `beyond tolerance (drift) or are corrupt (corrupt), in ${plural(t.degradedThreshold, 'consecutive run')} ` +
        `(one every ${formatPromDuration(plan.intervalMs)}). ` +
        'The check page lists each case and output, baseline against now, and the drift statistics.',
    },
  };
  return [
    drift,
    {
      alert: RULE_ALERT_NAMES.canaryNoBaseline,
      expr: `max without (instance, condition) (${condition('="no_baseline"')} == 1)`,
      labels: rulesLabels(plan, 'canaryNoBaseline'),
      annotations: {
        summary: `${id}: no baseline for the model version served ${where}`,
        description:
          `The model serves a version ${id} has no baseline for, so the canary compares nothing: record one ` +
          '(vigil baseline record), or promote the provisional one autoBaseline recorded (vigil baseline promote).',
      },
    },
  ];
}

/**
 * A router's traffic check's rules: unhealthy, degraded and flapping from the hub's series, as a
 * probed check's, in the words of its reports (each sums up `traffic.interval` of requests through
 * the router).
 */
function trafficRules(plan: CheckPlan, job: string): AlertingRule[] {
  const t = defaultThresholds(plan);
  const sel = (metric: string, extra: Record<string, string> = {}) =>
    selector(metric, { job, target: plan.target.name, check: plan.kind, ...extra });
  const failures = sel('vigil_check_consecutive_failures');
  const inState = (state: string) => `${sel('vigil_check_state', { state })} == 1`;
  const id = literal(plan.id);
  const router = literal(plan.id.slice(plan.id.lastIndexOf('/traffic:') + '/traffic:'.length));
  const where = 'in {{ $labels.region }}';
  const reports = `each sums up ${formatPromDuration(plan.intervalMs)} of requests through router ${router}`;
  const recovery = `healthy again after ${plural(t.successThreshold, 'passing report')} (traffic.successThreshold)`;
  const labels = (alert: RuleAlert) => ({ ...rulesLabels(plan, alert), router });
  const rules: AlertingRule[] = [
    {
      alert: RULE_ALERT_NAMES.unhealthy,
      expr: [
        'max without (instance) (',
        `  ${failures} >= ${t.failureThreshold}`,
        '  or',
        '  (',
        `    ${failures}`,
        `    and ignoring (state) ${inState('unhealthy')}`,
        '  )',
        ')',
      ].join('\n'),
      labels: labels('unhealthy'),
      annotations: {
        summary: `${id} is unhealthy ${where}: real traffic fails`,
        description:
          `{{ $value }} failing traffic reports in a row (${reports}; a report fails on upstream ` +
          `failures, 5xx, timeouts and resets, or an ejection). Vigil marks ${id} unhealthy after ` +
          `${plural(t.failureThreshold, 'failing report')} (traffic.failureThreshold) and ${recovery}.`,
      },
    },
    {
      alert: RULE_ALERT_NAMES.degraded,
      expr: `max without (instance, state) (${inState('degraded')})`,
      labels: labels('degraded'),
      annotations: {
        summary: `${id} is degraded ${where}: real traffic is slow`,
        description:
          `Vigil marks ${id} degraded after ${plural(t.degradedThreshold, 'report')} whose p95 reached ` +
          `the router's failoverAt (${reports}) without a pass in between, and ${recovery}.`,
      },
    },
  ];
  if (t.flapTransitions > 0) {
    rules.push({
      alert: RULE_ALERT_NAMES.flapping,
      expr: `max without (instance) (${sel('vigil_check_flapping')} == 1)`,
      labels: labels('flapping'),
      annotations: {
        summary: `${id} is flapping ${where}`,
        description: `${id} changed state at least ${t.flapTransitions} times within ${formatPromDuration(t.flapWindowMs)}.`,
      },
    });
  }
  return rules;
}

/**
 * One router's rules, from its own `/metrics` (router/metrics.ts; the table in METRICS.md, "The
 * router's series"): its primary demoted or returning (`vigil_router_primary_share < 1`, a gauge:
 * fires while it lasts), and, over {@link ROUTER_WINDOW_MS}, an ejection (`vigil_router_ejections_total`)
 * or a deadline miss (`vigil_router_deadline_misses_total`). Warnings: each is the router working
 * around a fault; the fault itself pages through the targets' checks.
 */
function routerRules(router: RouterRulesInput, job: string): AlertingRule[] {
  const name = literal(router.name);
  const sel = (metric: string, extra: Record<string, string> = {}) =>
    selector(metric, { job, router: router.name, ...extra });
  const window = formatPromDuration(ROUTER_WINDOW_MS);
  const labels = (alert: RuleAlert) => ({ severity: RULE_SEVERITY[alert], router: name });
  return [
    {
      alert: RULE_ALERT_NAMES.routerFailover,
      expr: `max without (instance) (${sel('vigil_router_primary_share', { upstream: router.primary })} < 1)`,
      labels: labels('routerFailover'),
      annotations: {
        summary: `Router ${name} moved traffic off its primary {{ $labels.upstream }}`,
        description:
          `{{ $labels.upstream }} gets {{ $value | humanizePercentage }} of router ${name}'s new traffic ` +
          '(0 while demoted, a return step on its way back): drained, ejected, unhealthy or degraded by the hub, ' +
          `or its p95 over ${literal(router.window)} reached failoverAt ${formatPromDuration(router.failoverAtMs)}. ` +
          "The router's log has the decision and its reason.",
      },
    },
    {
      alert: RULE_ALERT_NAMES.routerEjection,
      expr: `max without (instance) (increase(${sel('vigil_router_ejections_total')}[${window}]) > 0)`,
      labels: labels('routerEjection'),
      annotations: {
        summary: `Router ${name} ejected {{ $labels.upstream }} in the last ${window}`,
        description:
          `Router ${name} took {{ $labels.upstream }} out of service after ${plural(router.consecutive5xx, 'upstream failure')} ` +
          `in a row (5xx, timeouts, resets; never a client's 4xx), for ${literal(router.baseEjection)} × the ejections in a row.`,
      },
    },
    {
      alert: RULE_ALERT_NAMES.routerDeadlineMissed,
      expr: `max without (instance) (increase(${sel('vigil_router_deadline_misses_total')}[${window}]) > 0)`,
      labels: labels('routerDeadlineMissed'),
      annotations: {
        summary: `Router ${name}: requests missed the ${literal(router.deadline)} deadline in the last ${window}`,
        description:
          `No upstream of router ${name} answered some requests within the deadline (${literal(router.deadline)}); ` +
          (router.hasFallback ? 'the fallback answered them.' : 'the router answered them 504.'),
      },
    },
  ];
}

/**
 * "No `up == 1` of `job` for {@link HUB_DOWN_FOR_MS}": the hub's and the routers' down rules, which
 * differ only in their alert, what is not scraped and what follows from it.
 */
function downRule(
  alert: 'hubDown' | 'routerDown',
  job: string,
  what: string,
  consequence: string,
): AlertingRule {
  const up = literal(selector('up', { job }));
  return {
    alert: RULE_ALERT_NAMES[alert],
    expr: `absent(${selector('up', { job })} == 1)`,
    for: formatPromDuration(HUB_DOWN_FOR_MS),
    labels: { severity: RULE_SEVERITY[alert], job: literal(job) },
    annotations: {
      summary: `No Vigil ${alert === 'hubDown' ? 'hub' : 'router'} is up (job ${literal(promString(job))})`,
      description: `No ${up} == 1 for ${formatPromDuration(HUB_DOWN_FOR_MS)}: Prometheus cannot scrape ${what} (down, or not a scrape target)${consequence}.`,
    },
  };
}

const routerDownRule = (job: string): AlertingRule =>
  downRule(
    'routerDown',
    job,
    "any router's admin /metrics",
    '; while it lasts its callers may get no answers and no router alert can fire',
  );

const hubDownRule = (job: string): AlertingRule =>
  downRule('hubDown', job, 'any Vigil hub', ', so no check alert can fire');

interface ExportOptions {
  config: string;
  output?: string;
  job: string;
  routerJob: string;
}

async function exportPrometheusRules(opts: ExportOptions): Promise<number> {
  if (opts.job === '') throw new UsageError('VIGIL_ERR_USAGE', '--job must not be empty');
  if (opts.routerJob === '') throw new UsageError('VIGIL_ERR_USAGE', '--router-job must not be empty');
  const loaded = await loadConfig(opts.config);
  if (!loaded.ok) {
    process.stderr.write(`${loaded.diagnostics.join('\n')}\n`);
    return 2;
  }
  const traffic = buildTrafficPlan(loaded.config);
  const file = buildPrometheusRules([...loaded.plan, ...traffic], {
    job: opts.job,
    routers: routerRulesInputs(loaded.config),
    routerJob: opts.routerJob,
  });
  const header =
    ` Prometheus alerting rules for the Vigil checks in ${opts.config}, by \`vigil export prometheus-rules\`\n` +
    ` (vigil ${VERSION}). The hub's /metrics must be scraped as job ${promString(opts.job)}. Regenerate after\n` +
    ' each change to the config instead of editing.';
  const text = formatPrometheusRules(file, header);
  if (opts.output === undefined) {
    process.stdout.write(text);
    return 0;
  }
  try {
    await writeFile(opts.output, text);
  } catch (error) {
    throw new UsageError(
      'VIGIL_ERR_USAGE',
      `${opts.output}: cannot write the rules: ${(error as Error).message}`,
      {
        cause: error,
      },
    );
  }
  const rules = file.groups.reduce((n, g) => n + g.rules.length, 0);
  const checks = loaded.plan.filter(hasRules).length + traffic.length;
  process.stdout.write(
    `${opts.output}: ${plural(rules, 'alerting rule')} for ${plural(checks, 'check')} of ${opts.config}\n`,
  );
  return 0;
}

/** The config's routers as {@link buildPrometheusRules} takes them. */
export function routerRulesInputs(config: VigilConfig): RouterRulesInput[] {
  return (config.routers ?? []).map((r) => {
    return {
      name: r.name,
      primary: r.primary,
      deadline: r.policy.deadline,
      failoverAtMs: failoverAtMsOf(r.policy),
      window: r.policy.window,
      consecutive5xx: r.policy.outlier.consecutive5xx,
      baseEjection: r.policy.outlier.baseEjection,
      hasFallback: r.fallback !== undefined,
    };
  });
}

/**
 * Adds `vigil export` with one subcommand, `prometheus-rules`: loads the config as `vigil run` would
 * and prints {@link buildPrometheusRules}' rule file (YAML) to stdout, or writes it to `-o FILE` and
 * prints `FILE: N alerting rules for M checks of CONFIG`. `--job NAME` (default `vigil`) is the
 * Prometheus job that scrapes the hub.
 *
 * Exit codes: 0 written; 2 invalid or unreadable config (each diagnostic on its own line on stderr,
 * as `vigil validate`), or a usage error such as an unwritable `-o` (`VIGIL_ERR_USAGE`).
 *
 * @example registerExport(new Command('vigil')) // then `vigil export prometheus-rules -c vigil.yaml -o rules.yml`
 */
export function registerExport(program: Command): Command {
  const command = program
    .command('export')
    .description("write Vigil's alerting in another system's format (prometheus-rules)");
  command
    .command('prometheus-rules')
    .description(
      "Prometheus alerting rules equivalent to Vigil's thresholds and severities; exit 0 written, 2 config or usage error",
    )
    .option('-c, --config <file>', 'config file', 'vigil.yaml')
    .option('-o, --output <file>', 'write the rule file here instead of stdout')
    .option('--job <name>', "job label of the Prometheus scrape job for the hub's /metrics", 'vigil')
    .option(
      '--router-job <name>',
      "job label of the Prometheus scrape job for the routers' admin /metrics",
      'vigil-router',
    )
    .action(async (opts: ExportOptions) => {
      process.exitCode = await exportPrometheusRules(opts);
    });
  return command;
}
