/**
 * Muting by time: silences (stored or configured), recurring maintenance windows (config) and one-off
 * maintenance windows (stored; created and ended from the API or the dashboard). Matchers follow Alertmanager: every matcher must match; a regex matcher (RE2 syntax, as
 * Alertmanager's) is anchored at both
 * ends (`value: "credit-.*"` matches `credit-scorer`, not `my-credit-scorer`); a label the alert lacks
 * has the value `""`.
 */
import { compileRegex } from '../assertions/regex.js';
import { parseDuration } from '../diagnostics/duration.js';
import type { OneOffWindow, Silence, SilenceMatcher } from '../store/types.js';
import { type TimeInterval, timeIntervalActive } from './time-intervals.js';
import type { Alert } from './types.js';

/** Days of the week, as maintenance windows name them. */
export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
/** One day of the week. */
export type Weekday = (typeof WEEKDAYS)[number];

/**
 * A recurring window during which matching alerts are not notified (the `maintenance:` config): either
 * Alertmanager's `time_intervals` (any IANA zone; alerting/time-intervals.ts), or the weekly form
 * (`weekdays`, `start`, `duration`, UTC).
 */
export interface MaintenanceWindow {
  /** At least one; all must match. */
  matchers: readonly SilenceMatcher[];
  /** Alertmanager's time intervals: open when any is. */
  timeIntervals?: readonly TimeInterval[] | undefined;
  /** Weekly form: days on which the window starts. */
  weekdays?: readonly Weekday[] | undefined;
  /** Weekly form: start time of day, `HH:MM` (24 h), in `timezone`. */
  start?: string | undefined;
  /** Weekly form: length, a duration string like `"2h"`; may run past midnight into the next day. */
  duration?: string | undefined;
  /** Weekly form: only `UTC` (time zones: use `time_intervals` with a `location`). */
  timezone?: 'UTC' | undefined;
}

const DAY_MS = 86_400_000;

/**
 * Whether one matcher matches a label set. Equality, or a regular expression (RE2 syntax, linear time; see
 * assertions/regex.ts) matched against the whole value (Alertmanager anchors regex matchers). A missing
 * label reads as `""`. A pattern that does not compile matches nothing: the config schema, the API and the
 * store reject those, so only a silence stored before Vigil matched with RE2 (one with lookaround, say)
 * can hold one, and muting nothing is the safe reading of it.
 */
export function matcherMatches(matcher: SilenceMatcher, labels: Readonly<Record<string, string>>): boolean {
  const value = labels[matcher.label] ?? '';
  if (matcher.isRegex !== true) return value === matcher.value;
  const compiled = compileRegex(matcher.value);
  return compiled.ok && compiled.regex.testWhole(value);
}

/** Whether every matcher matches (an empty list matches nothing: a silence needs at least one matcher). */
export function matchersMatch(
  matchers: readonly SilenceMatcher[],
  labels: Readonly<Record<string, string>>,
): boolean {
  return matchers.length > 0 && matchers.every((m) => matcherMatches(m, labels));
}

/**
 * The first silence that mutes `alert` at `now` (active from `startsAt` inclusive to `endsAt` exclusive,
 * the store's convention), or `undefined`.
 *
 * @param silences stored ({@link Silence}) or configured ones in the same shape
 * @param now ms since epoch
 */
export function silencedBy(
  alert: Pick<Alert, 'labels'>,
  silences: readonly Silence[],
  now: number,
): Silence | undefined {
  return silences.find((s) => s.startsAt <= now && now < s.endsAt && matchersMatch(s.matchers, alert.labels));
}

/**
 * Whether an active silence mutes `alert` at `now`.
 *
 * @example isSilenced(alert, await store.silences({ activeAt: now }), now)
 */
export function isSilenced(alert: Pick<Alert, 'labels'>, silences: readonly Silence[], now: number): boolean {
  return silencedBy(alert, silences, now) !== undefined;
}

/** `HH:MM` → ms after midnight; `undefined` when malformed. */
export function parseTimeOfDay(text: string): number | undefined {
  const match = /^([01]\d|2[0-3]):([0-5]\d)$/.exec(text);
  if (match === null) return undefined;
  return (Number(match[1]) * 60 + Number(match[2])) * 60_000;
}

/**
 * Whether `now` falls in an occurrence of `window` (start inclusive, end exclusive). An occurrence starts
 * on each listed weekday at `start` and lasts `duration`, so a Friday 22:00 window of 6h covers Saturday
 * until 04:00.
 */
export function windowActive(window: MaintenanceWindow, now: number): boolean {
  if (window.timeIntervals !== undefined) return window.timeIntervals.some((i) => timeIntervalActive(i, now));
  if (window.start === undefined || window.duration === undefined || window.weekdays === undefined)
    return false;
  const startMs = parseTimeOfDay(window.start);
  if (startMs === undefined) return false;
  const durationMs = parseDuration(window.duration);
  const today = Math.floor(now / DAY_MS) * DAY_MS;
  // Occurrences that started on an earlier day may still be running.
  const daysBack = Math.ceil((startMs + durationMs) / DAY_MS);
  for (let back = 0; back <= daysBack; back++) {
    const day = today - back * DAY_MS;
    const weekday = WEEKDAYS[new Date(day).getUTCDay()];
    if (weekday === undefined || !window.weekdays.includes(weekday)) continue;
    const from = day + startMs;
    if (from <= now && now < from + durationMs) return true;
  }
  return false;
}

/**
 * Whether `alert` is inside a maintenance window that matches it at `now` (recurring weekly windows,
 * UTC).
 *
 * @example inMaintenance(alert, [{ matchers: [{ label: 'target', value: 'credit-scorer' }], weekdays: ['sun'], start: '02:00', duration: '1h', timezone: 'UTC' }], Date.now())
 */
export function inMaintenance(
  alert: Pick<Alert, 'labels'>,
  windows: readonly MaintenanceWindow[],
  now: number,
): boolean {
  return windows.some((w) => matchersMatch(w.matchers, alert.labels) && windowActive(w, now));
}

/**
 * The first one-off maintenance window that covers `alert` at `now` (open from `startsAt` inclusive to
 * `endsAt` exclusive, or with no end yet), or `undefined`.
 *
 * @param windows stored ones, as `store.maintenanceWindows({ activeAt: now })` gives them
 * @param now ms since epoch
 */
export function inOneOffWindow(
  alert: Pick<Alert, 'labels'>,
  windows: readonly OneOffWindow[],
  now: number,
): OneOffWindow | undefined {
  return windows.find(
    (w) =>
      w.startsAt <= now && (w.endsAt === null || now < w.endsAt) && matchersMatch(w.matchers, alert.labels),
  );
}
