/**
 * Wording shared by the notifiers that write for people (Slack, email, PagerDuty summaries): one
 * title per group, e.g. `[CRITICAL] credit-scorer/integrity unhealthy`, so that a page, a chat message
 * and a mail about the same group read alike.
 */
import type { Alert, NotificationGroup, Severity } from '../types.js';

const SEVERITY_RANK: Readonly<Record<Severity, number>> = { info: 0, warning: 1, critical: 2 };

/** What each severity means for the check, in the title: DESIGN.md's severity table. */
const STATE_WORD: Readonly<Record<Severity, string>> = {
  critical: 'unhealthy',
  warning: 'degraded',
  info: 'failing',
};

/** The alert's `severity` label when it is one of Vigil's severities, else `undefined`. */
export function alertSeverity(alert: Alert): Severity | undefined {
  const value = alert.labels.severity;
  return value === 'critical' || value === 'warning' || value === 'info' ? value : undefined;
}

/**
 * The highest severity in a group: among its firing alerts when any fires, else among all of them.
 * `undefined` when no alert carries a known `severity` label.
 */
export function groupSeverity(group: NotificationGroup): Severity | undefined {
  const firing = group.alerts.filter((alert) => alert.status === 'firing');
  let highest: Severity | undefined;
  for (const alert of firing.length > 0 ? firing : group.alerts) {
    const severity = alertSeverity(alert);
    if (
      severity !== undefined &&
      (highest === undefined || SEVERITY_RANK[severity] > SEVERITY_RANK[highest])
    ) {
      highest = severity;
    }
  }
  return highest;
}

/** What an alert is about: `target/check` (e.g. `credit-scorer/integrity`), else `alertname`, else its fingerprint. */
export function alertSubject(alert: Alert): string {
  const { target, check, alertname } = alert.labels;
  if (target !== undefined && check !== undefined) return `${target}/${check}`;
  return target ?? alertname ?? alert.fingerprint;
}

/**
 * The title of a group, used as the email subject, Slack's header and notification text, and the start of
 * PagerDuty summaries:
 * - firing: `[CRITICAL] credit-scorer/integrity unhealthy` (the highest severity; `unhealthy`, `degraded`
 *   or `failing` for critical, warning or info);
 * - resolved: `[RESOLVED] credit-scorer/integrity unhealthy` — the condition that ended, as Alertmanager's
 *   default subjects name the alert, so that both mails sort into one thread;
 * - several subjects: `[WARNING] 3 checks degraded: a/liveness, b/integrity, c/canary` (the first three, then `…`).
 */
export function groupTitle(group: NotificationGroup): string {
  const severity = groupSeverity(group);
  const prefix = group.status === 'resolved' ? 'RESOLVED' : (severity ?? 'alert').toUpperCase();
  return `[${prefix}] ${groupHeadline(group)}`;
}

/** {@link groupTitle} without its `[…]` prefix: `credit-scorer/integrity unhealthy`. */
export function groupHeadline(group: NotificationGroup): string {
  const severity = groupSeverity(group);
  const state = severity === undefined ? 'alerting' : STATE_WORD[severity];
  const subjects = [...new Set(group.alerts.map(alertSubject))];
  if (subjects.length <= 1) return `${subjects[0] ?? group.groupKey} ${state}`;
  const shown = subjects.slice(0, 3).join(', ');
  return `${subjects.length} checks ${state}: ${shown}${subjects.length > 3 ? ', …' : ''}`;
}

/** A time in ms since the epoch as RFC 3339 in UTC with milliseconds, e.g. `2025-01-31T12:00:00.000Z`. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

/** Cuts `text` to at most `max` characters, ending with `…` when cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Escapes `&`, `<`, `>`, `"` and `'` for HTML text and attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => HTML_ENTITIES[char] ?? char);
}

const HTML_ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

/** Labels as `key=value` pairs sorted by key, e.g. `region=eu-west, team=risk`. */
export function formatLabels(labels: Readonly<Record<string, string>>, separator = ', '): string {
  return Object.keys(labels)
    .sort()
    .map((key) => `${key}=${labels[key]}`)
    .join(separator);
}
