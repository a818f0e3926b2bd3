/**
 * The `alerting:` config section and routing. Alertmanager's model, flattened to one list of routes:
 * each route matches alerts by severity and labels and names the notifiers that receive them; the first
 * matching route wins unless it says `continue: true` (Alertmanager's `continue`). An alert that no route
 * matches is not notified (there is no catch-all root receiver: add a last route without `match` for one).
 *
 * Grouping timers default to Alertmanager's route defaults (prometheus/alertmanager `config/config.go`,
 * `DefaultRouteOpts`): `group_by` here defaults to `[alertname, target]` (Alertmanager's is empty);
 * `group_wait` 30s, `group_interval` 5m, `repeat_interval` 4h. Key names follow Alertmanager's
 * (`group_by`, `group_wait`, …) so its documentation applies unchanged.
 *
 * Notifier blocks are checked here, in the same pass as the routes, by the union of the notifier
 * plugins' schemas (`notifiers/index.ts`); `configSchema` takes this section as `alerting`.
 */
import { z } from 'zod';
import { regexIssue } from '../assertions/regex.js';
import { durationProblem, parseDuration } from '../diagnostics/duration.js';
import { fillMessage, GOT, humanErrorMap, issuesToProblems, renderValue } from '../diagnostics/messages.js';
import { type ConfigPath, formatPath } from '../diagnostics/paths.js';
import { closest } from '../diagnostics/suggest.js';
import { isShownNotifierValue, notifierConfigSchema } from './notifiers/index.js';
import { matcherMatches, parseTimeOfDay, WEEKDAYS } from './silences.js';
import { timeIntervalSchema } from './time-intervals.js';
import type { Alert, Severity } from './types.js';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** Prometheus label names. */
const LABEL_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** The severities a route can match. */
export const SEVERITIES: readonly Severity[] = ['info', 'warning', 'critical'];

/** Defaults of a route's grouping keys (Alertmanager's, except `group_by`; see the module comment). */
export const ROUTE_DEFAULTS = {
  group_by: ['alertname', 'target'],
  group_wait: '30s',
  group_interval: '5m',
  repeat_interval: '4h',
  continue: false,
} as const;

const requiredOr = (message: string) => (issue: { input: unknown }) =>
  issue.input === undefined ? 'required' : message;

const nameSchema = z
  .string({ error: requiredOr(`expected a notifier name, got ${GOT}`) })
  .regex(NAME_PATTERN, {
    error: `expected a name of letters, digits, ".", "_" and "-" that starts with a letter or digit, got ${GOT}`,
  });

const labelName = z
  .string({ error: requiredOr(`expected a label name, got ${GOT}`) })
  .regex(LABEL_PATTERN, { error: `expected a label name like "target" (letters, digits, "_"), got ${GOT}` });

function duration(example: string, description: string, allowZero: boolean) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `${durationProblem(String(issue.input), example)}, got ${GOT}`,
    })
    .superRefine((text, ctx) => {
      const problem = durationProblem(text, example);
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', message: `${problem}, got ${GOT}`, input: text });
      } else if (!allowZero && parseDuration(text) === 0) {
        ctx.addIssue({ code: 'custom', message: `must be longer than 0s, got ${GOT}`, input: text });
      }
    })
    .describe(description);
}

const regexString = z
  .string({ error: requiredOr(`expected a regular expression, got ${GOT}`) })
  .superRefine((text, ctx) => {
    const issue = regexIssue(text);
    if (issue !== undefined) ctx.addIssue({ code: 'custom', ...issue, input: text });
  })
  .describe('A regular expression (RE2 syntax), matched against the whole label value (anchored).');

const severitySchema = z.enum(['info', 'warning', 'critical']);

/** One label matcher (Alertmanager's): equality, or an anchored regex when `isRegex` is true. */
export const matcherSchema = z
  .strictObject({
    label: labelName,
    value: z.string({ error: requiredOr(`expected a string, got ${GOT}`) }),
    isRegex: z.boolean().optional().describe('`value` is a regular expression (anchored). Default false.'),
  })
  .superRefine((m, ctx) => {
    if (m.isRegex !== true) return;
    const issue = regexIssue(m.value);
    if (issue !== undefined) ctx.addIssue({ code: 'custom', path: ['value'], ...issue, input: m.value });
  })
  .describe('A label matcher: {label, value} (equality) or {label, value, isRegex: true}.');

const matchersSchema = z
  .array(matcherSchema, { error: requiredOr(`expected a list of matchers, got ${GOT}`) })
  .min(1, { error: 'needs at least one matcher' });

const isoTime = z
  .string({ error: requiredOr(`expected a time like "2025-01-31T22:00:00Z", got ${GOT}`) })
  .superRefine((text, ctx) => {
    if (!/(?:Z|[+-]\d\d:\d\d)$/.test(text) || Number.isNaN(Date.parse(text))) {
      ctx.addIssue({
        code: 'custom',
        message: `expected an ISO 8601 time with a zone, like "2025-01-31T22:00:00Z", got ${GOT}`,
        input: text,
      });
    }
  });

const routeSchema = z
  .strictObject({
    match: z
      .strictObject({
        severity: z
          .union([severitySchema, z.array(severitySchema).min(1)], {
            error: requiredOr(`expected a severity (info, warning, critical) or a list of them, got ${GOT}`),
          })
          .transform((s): Severity[] => (Array.isArray(s) ? s : [s]))
          .optional()
          .describe('Severity or severities to match. Note: `info` never matches: no alert has it.'),
        labels: z
          .record(labelName, z.string())
          .optional()
          .describe('Labels that must have exactly these values.'),
        labelsRegex: z
          .record(labelName, regexString)
          .optional()
          .describe('Labels whose whole value must match these regular expressions.'),
      })
      .optional()
      .describe('Every given condition must hold; absent: the route matches every alert.'),
    notify: z
      .array(nameSchema, { error: requiredOr(`expected a list of notifier names, got ${GOT}`) })
      .min(1, { error: 'needs at least one notifier name' })
      .describe('Names of notifiers (keys of alerting.notifiers) that receive the matched alerts.'),
    group_by: z
      .array(labelName)
      .default([...ROUTE_DEFAULTS.group_by])
      .describe('Labels whose values split alerts into groups, one notification per group.'),
    group_wait: duration('30s', 'Wait before the first notification of a new group.', true).default(
      ROUTE_DEFAULTS.group_wait,
    ),
    group_interval: duration('5m', 'Wait before notifying a group again about a change.', false).default(
      ROUTE_DEFAULTS.group_interval,
    ),
    repeat_interval: duration(
      '4h',
      'Wait before re-sending a firing group that did not change.',
      false,
    ).default(ROUTE_DEFAULTS.repeat_interval),
    continue: z
      .boolean()
      .default(ROUTE_DEFAULTS.continue)
      .describe('Keep matching later routes after this one matched. Default false: the first match wins.'),
  })
  .describe('One route: which alerts, to which notifiers, grouped how.');

const silenceSchema = z
  .strictObject({
    matchers: matchersSchema,
    startsAt: isoTime,
    endsAt: isoTime,
    comment: z.string({ error: requiredOr(`expected a string, got ${GOT}`) }).min(1),
    createdBy: z.string().default('config'),
  })
  .superRefine(
    (s, ctx) => {
      if (Date.parse(s.endsAt) <= Date.parse(s.startsAt)) {
        ctx.addIssue({
          code: 'custom',
          path: ['endsAt'],
          message: `must be after startsAt, got ${GOT}`,
          input: s.endsAt,
        });
      }
    },
    { when: (payload) => payload.issues.length === 0 },
  )
  .describe('A one-off silence: matching alerts are not notified from startsAt to endsAt.');

const maintenanceSchema = z
  .strictObject({
    matchers: matchersSchema,
    time_intervals: z
      .array(timeIntervalSchema)
      .min(1, { error: 'needs at least one time interval' })
      .optional()
      .describe("Alertmanager's time_intervals (weekdays, times, days_of_month, months, years, location)."),
    weekdays: z
      .array(z.enum(WEEKDAYS), {
        error: requiredOr(`expected a list of days like ["sat", "sun"], got ${GOT}`),
      })
      .min(1, { error: 'needs at least one day' })
      .optional(),
    start: z
      .string({ error: requiredOr(`expected a time of day like "02:00", got ${GOT}`) })
      .refine((text) => parseTimeOfDay(text) !== undefined, {
        error: `expected a time of day "HH:MM" (24 h) like "02:00", got ${GOT}`,
      })
      .optional(),
    duration: duration('2h', 'Length of each occurrence; may cross midnight.', false).optional(),
    timezone: z
      .literal('UTC', { error: `only "UTC" is supported for now, got ${GOT}` })
      .optional()
      .describe(
        'Time zone of start and weekdays (weekly form): UTC; for another zone use time_intervals with a location.',
      ),
  })
  .superRefine((w, ctx) => {
    const weekly = ['weekdays', 'start', 'duration'] as const;
    const has = weekly.filter((key) => w[key] !== undefined);
    if (w.time_intervals !== undefined) {
      for (const key of [...has, ...(w.timezone !== undefined ? (['timezone'] as const) : [])])
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: 'not with time_intervals: use one form or the other',
        });
    } else if (has.length < weekly.length) {
      for (const key of weekly.filter((k) => w[k] === undefined))
        ctx.addIssue({ code: 'custom', path: [key], message: 'required (or give time_intervals instead)' });
    }
  })
  .transform(({ time_intervals, ...rest }) => ({
    ...rest,
    ...(time_intervals !== undefined
      ? { timeIntervals: time_intervals }
      : { timezone: rest.timezone ?? ('UTC' as const) }),
  }))
  .describe(
    'A recurring maintenance window (time_intervals, or weekly in UTC): matching alerts are not notified while it is open.',
  );

/**
 * The `alerting:` section: `{routes, notifiers, inhibit = true, resolved = true, silences = [],
 * maintenance = []}`. Route defaults: see {@link ROUTE_DEFAULTS}. Cross-field rule: every name in a
 * route's `notify` is a key of `notifiers` (reported at `routes[i].notify[j]`, with a suggestion).
 *
 * @example
 * const parsed = alertingSchema.parse({
 *   routes: [{ match: { severity: 'critical' }, notify: ['pagerduty'] }],
 *   notifiers: { pagerduty: { type: 'pagerduty', routingKey: '…' } },
 * });
 */
export const alertingSchema = z
  .strictObject({
    routes: z
      .array(routeSchema, { error: requiredOr(`expected a list of routes, got ${GOT}`) })
      .min(1, { error: 'needs at least one route' })
      .describe('Routes, in order: the first match wins unless it says continue: true.'),
    notifiers: z
      .record(nameSchema, notifierConfigSchema, {
        error: requiredOr(`expected a mapping of notifiers, got ${GOT}`),
      })
      .describe('Notifiers by name: {type, …settings}; the routes name them in notify.'),
    inhibit: z
      .boolean()
      .default(true)
      .describe(
        'A firing liveness alert suppresses readiness, integrity and canary alerts of the same target and region.',
      ),
    resolved: z.boolean().default(true).describe('Send notifications when alerts resolve.'),
    silences: z.array(silenceSchema).default([]).describe('One-off silences.'),
    maintenance: z
      .array(maintenanceSchema)
      .default([])
      .describe("Recurring maintenance windows: Alertmanager's time_intervals, or weekly in UTC."),
  })
  .superRefine(
    (config, ctx) => {
      // Runs even when parts are invalid (every problem is reported at once): read defensively, and say
      // nothing about names while `notifiers` itself is missing or not a mapping (that is reported).
      const notifiers: unknown = config.notifiers;
      if (!isRecord(notifiers) || !Array.isArray(config.routes)) return;
      const names = Object.keys(notifiers);
      config.routes.forEach((route: unknown, i) => {
        if (!isRecord(route) || !Array.isArray(route.notify)) return;
        route.notify.forEach((name: unknown, j) => {
          if (typeof name !== 'string' || Object.hasOwn(notifiers, name)) return;
          const suggestion = closest(name, names);
          const hint =
            suggestion !== undefined
              ? `; did you mean "${suggestion}"?`
              : names.length > 0
                ? `; defined: ${names.join(', ')}`
                : '';
          ctx.addIssue({
            code: 'custom',
            path: ['routes', i, 'notify', j],
            message: `no notifier named ${GOT} in alerting.notifiers${hint}`,
            input: name,
          });
        });
      });
    },
    { when: () => true },
  )
  .describe('Alert routing, grouping, silences and notifiers.');

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/**
 * Whether a diagnostic must hide the value at `path` (relative to the `alerting:` section): a notifier's
 * settings other than its `type` (see {@link isShownNotifierValue}).
 */
export function isSecretAlertingValue(path: ConfigPath): boolean {
  return path[0] === 'notifiers' && path.length >= 2 && !isShownNotifierValue(path.slice(2));
}

/** The `alerting:` section as written. */
export type AlertingConfigInput = z.input<typeof alertingSchema>;
/** A validated `alerting:` section: defaults filled in, durations still strings, severities as lists. */
export type AlertingConfig = z.output<typeof alertingSchema>;
/** One validated route. */
export type RouteConfig = AlertingConfig['routes'][number];

/**
 * Validates an `alerting:` section on its own, with the config loader's messages.
 *
 * @returns the config, or diagnostics like `routes[0].notify[0]: no notifier named "slak" in alerting.notifiers; did you mean "slack"?`
 */
export function parseAlertingConfig(
  input: unknown,
): { ok: true; config: AlertingConfig } | { ok: false; diagnostics: string[] } {
  const parsed = alertingSchema.safeParse(input, { error: humanErrorMap, reportInput: true });
  if (parsed.success) return { ok: true, config: parsed.data };
  return {
    ok: false,
    diagnostics: issuesToProblems(parsed.error.issues).map((problem) => {
      const secret = isSecretAlertingValue(problem.path);
      return `${formatPath(problem.path)}: ${fillMessage(problem, (value) => renderValue(value, () => secret))}`;
    }),
  };
}

/** Whether a route's `match` holds for an alert (every given condition; no `match` matches all). */
export function routeMatches(route: Pick<RouteConfig, 'match'>, alert: Pick<Alert, 'labels'>): boolean {
  const match = route.match;
  if (match === undefined) return true;
  if (match.severity !== undefined && !match.severity.includes(alert.labels.severity as Severity))
    return false;
  for (const [label, value] of Object.entries(match.labels ?? {})) {
    if ((alert.labels[label] ?? '') !== value) return false;
  }
  for (const [label, value] of Object.entries(match.labelsRegex ?? {})) {
    if (!matcherMatches({ label, value, isRegex: true }, alert.labels)) return false;
  }
  return true;
}

/**
 * The routes an alert goes to, in order: the first matching route, and after it further matching routes
 * only while each matched route has `continue: true` (Alertmanager's rule).
 *
 * @returns the matched routes (the same objects as in `routes`); empty when none matches
 */
export function routeAlert<R extends Pick<RouteConfig, 'match' | 'continue'>>(
  alert: Pick<Alert, 'labels'>,
  routes: readonly R[],
): R[] {
  const matched: R[] = [];
  for (const route of routes) {
    if (!routeMatches(route, alert)) continue;
    matched.push(route);
    if (!route.continue) break;
  }
  return matched;
}
