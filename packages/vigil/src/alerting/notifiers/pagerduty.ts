/**
 * PagerDuty notifier: Events API v2 (https://developer.pagerduty.com/docs/events-api-v2/trigger-events/).
 *
 * One event per alert of the group, sent in order, `POST {url}` with:
 * ```json
 * {"routing_key": "…", "event_action": "trigger", "dedup_key": "<alert fingerprint>", "client": "Vigil",
 *  "client_url": "<generatorURL>",
 *  "payload": {"summary": "[CRITICAL] credit-scorer/integrity unhealthy: …", "source": "credit-scorer",
 *              "severity": "critical", "timestamp": "<startsAt, RFC 3339>", "component": "<model label>",
 *              "group": "<region label>", "class": "<check label>",
 *              "custom_details": {"labels": {…}, "annotations": {…}}}}
 * ```
 * A resolved alert sends `{"routing_key", "event_action": "resolve", "dedup_key"}`: the fingerprint is the
 * same for the trigger and the resolve, so PagerDuty closes the incident it opened, and a retried send
 * of either is deduplicated by PagerDuty (sends are idempotent).
 *
 * Outcome per event: 202 accepted; 400 (invalid event, e.g. a bad routing key) not retried; 429 and 5xx
 * retried. Outcome of the group: ok when every event was accepted; otherwise failed, and **retryable
 * only if some failed event is retryable** — a retry resends every event of the group, which the dedup
 * keys make harmless, while a group whose only failures are 400s would fail the same way again. After
 * a 429 the remaining events are not sent (they would be throttled too) and count as retryable failures.
 */
import { z } from 'zod';
import type {
  Alert,
  DeliveryResult,
  NotificationGroup,
  Notifier,
  NotifierContext,
  NotifierPlugin,
} from '../types.js';
import { alertSeverity, groupTitle, rfc3339, truncate } from './format.js';
import { classifyResponse, httpPost, safeOrigin, secretRedactor } from './http.js';
import { httpUrl, secretString } from './schema.js';

/** The Events API v2 endpoint (PagerDuty's US service region; EU accounts use `https://events.eu.pagerduty.com/v2/enqueue`). */
export const PAGERDUTY_EVENTS_URL = 'https://events.pagerduty.com/v2/enqueue';

/** PagerDuty's limit on `payload.summary`, in characters. */
export const PAGERDUTY_SUMMARY_MAX = 1024;

/** Config of a `pagerduty` notifier. */
export const pagerdutyConfigSchema = z
  .strictObject({
    type: z.literal('pagerduty'),
    routingKey: secretString(
      `The integration key of a PagerDuty service (Events API v2), e.g. "\${PD_ROUTING_KEY}".`,
    ),
    url: httpUrl(`Events API v2 endpoint; default ${PAGERDUTY_EVENTS_URL}.`).default(PAGERDUTY_EVENTS_URL),
  })
  .meta({
    id: 'PagerDutyNotifier',
    description: 'Opens and resolves PagerDuty incidents through the Events API v2, one per alert.',
  });

/** A parsed `pagerduty` notifier config. */
export type PagerDutyConfig = z.output<typeof pagerdutyConfigSchema>;

/** PagerDuty's severities; Vigil's critical, warning and info map to the same names, anything else to `error`. */
export type PagerDutySeverity = 'critical' | 'error' | 'warning' | 'info';

/** One Events API v2 event. */
export interface PagerDutyEvent {
  routing_key: string;
  event_action: 'trigger' | 'resolve';
  dedup_key: string;
  client?: string;
  client_url?: string;
  payload?: {
    summary: string;
    source: string;
    severity: PagerDutySeverity;
    timestamp: string;
    component?: string;
    group?: string;
    class?: string;
    custom_details: { labels: Record<string, string>; annotations: Record<string, string> };
  };
}

/**
 * The event of one alert. `source` is the `target` label (else `vigil`), `component` the `model` label
 * (else the target), `group` the `region` label, `class` the `check` label; absent labels leave the
 * field out.
 */
export function pagerdutyEvent(alert: Alert, routingKey: string): PagerDutyEvent {
  if (alert.status === 'resolved') {
    return { routing_key: routingKey, event_action: 'resolve', dedup_key: alert.fingerprint };
  }
  const { target, model, region, check } = alert.labels;
  const title = groupTitle({
    groupKey: alert.fingerprint,
    receiver: '',
    status: 'firing',
    alerts: [alert],
    groupLabels: {},
    commonLabels: {},
    commonAnnotations: {},
    idempotencyKey: '',
  });
  const detail = alert.annotations.summary ?? alert.annotations.description;
  const component = model ?? target;
  return {
    routing_key: routingKey,
    event_action: 'trigger',
    dedup_key: alert.fingerprint,
    client: 'Vigil',
    ...(alert.generatorURL !== undefined && { client_url: alert.generatorURL }),
    payload: {
      summary: truncate(detail === undefined ? title : `${title}: ${detail}`, PAGERDUTY_SUMMARY_MAX),
      source: target ?? 'vigil',
      severity: alertSeverity(alert) ?? 'error',
      timestamp: rfc3339(alert.startsAt),
      ...(component !== undefined && { component }),
      ...(region !== undefined && { group: region }),
      ...(check !== undefined && { class: check }),
      custom_details: { labels: alert.labels, annotations: alert.annotations },
    },
  };
}

/**
 * Creates a PagerDuty notifier.
 *
 * @example
 * createPagerDutyNotifier('oncall', { type: 'pagerduty', routingKey: 'R0UT1NGK3Y…', url: PAGERDUTY_EVENTS_URL });
 */
export function createPagerDutyNotifier(name: string, config: PagerDutyConfig): Notifier {
  const redact = secretRedactor([config.routingKey], [config.url]);
  const where = `PagerDuty at ${safeOrigin(config.url)}`;
  return {
    type: 'pagerduty',
    name,
    async send(group: NotificationGroup, context: NotifierContext): Promise<DeliveryResult> {
      const failures: Extract<DeliveryResult, { ok: false }>[] = [];
      let accepted = 0;
      let skipped = 0;
      for (const [index, alert] of group.alerts.entries()) {
        const body = JSON.stringify(pagerdutyEvent(alert, config.routingKey));
        const response = await httpPost({ url: config.url, body }, context, 'PagerDuty', redact);
        const result = 'ok' in response ? response : classifyResponse(response, where, redact);
        if (result.ok) {
          accepted += 1;
          continue;
        }
        failures.push(result);
        if (context.signal.aborted || ('status' in response && response.status === 429)) {
          skipped = group.alerts.length - index - 1;
          break;
        }
      }
      const total = group.alerts.length;
      if (failures.length === 0) return { ok: true, detail: `${accepted} of ${total} events accepted` };
      const retryable = skipped > 0 || failures.some((failure) => failure.retryable);
      const waits = failures.flatMap((failure) =>
        failure.retryAfterMs === undefined ? [] : [failure.retryAfterMs],
      );
      const first = failures[0]?.error ?? '';
      const counts = `${accepted} of ${total} events accepted, ${failures.length} failed${skipped > 0 ? `, ${skipped} not sent` : ''}`;
      return {
        ok: false,
        retryable,
        error: `${counts}; first failure: ${first}`,
        ...(retryable && waits.length > 0 && { retryAfterMs: Math.max(...waits) }),
      };
    },
  };
}

/** The `pagerduty` notifier plugin: its config schema and factory (registered in `index.ts`). */
export const pagerdutyPlugin = {
  configSchema: pagerdutyConfigSchema,
  create: createPagerDutyNotifier,
} satisfies NotifierPlugin<typeof pagerdutyConfigSchema>;
