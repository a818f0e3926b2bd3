/**
 * Alertmanager notifier: pushes alerts to Alertmanager's API v2, as Prometheus does, so that teams route,
 * silence and inhibit Vigil's alerts with the Alertmanager they already run.
 *
 * `POST {url}/api/v2/alerts` with
 * `[{"labels": {…}, "annotations": {…}, "startsAt": "<RFC 3339>", "endsAt": "<RFC 3339>", "generatorURL"?: "…"}]`.
 *
 * `endsAt` follows Prometheus (rules/manager.go, `ValidUntil`): a firing alert carries
 * `endsAt = now + 4 × resendInterval` and is expected to be re-sent at least every `resendInterval`
 * while active, so Alertmanager resolves it on its own if Vigil stops (crash, partition) instead of
 * keeping a stale alert forever. A resolved alert carries `endsAt` = its resolve time (`now` if unset).
 * Therefore the hub must re-deliver firing groups to this notifier at least every `resendInterval`.
 *
 * Several URLs (an HA pair) receive every delivery, concurrently, as Prometheus sends to each
 * Alertmanager; the delivery is ok when at least one accepted it (the cluster gossips it to the others).
 * When none did: retryable if any failure is retryable, with the shortest `Retry-After`.
 */
import { z } from 'zod';
import { parseDuration } from '../../diagnostics/duration.js';
import type {
  Alert,
  DeliveryResult,
  NotificationGroup,
  Notifier,
  NotifierContext,
  NotifierPlugin,
} from '../types.js';
import { rfc3339 } from './format.js';
import { mergeHeaders, postAndClassify, secretRedactor } from './http.js';
import { baseHttpUrl, durationString, headersSchema, withoutTrailingSlash } from './schema.js';

/** Default re-send interval: Prometheus's `--rules.alert.resend-delay` default. */
export const ALERTMANAGER_DEFAULT_RESEND_INTERVAL = '1m';

/** How many re-send intervals a firing alert stays valid: Prometheus's factor. */
export const ALERTMANAGER_VALIDITY_FACTOR = 4;

const amUrl = baseHttpUrl('Alertmanager base URL, e.g. "http://alertmanager:9093" (without /api/v2).');

/** Config of an `alertmanager` notifier. */
export const alertmanagerConfigSchema = z
  .strictObject({
    type: z.literal('alertmanager'),
    url: z
      .union([amUrl, z.array(amUrl).min(1)])
      .transform((value) => (Array.isArray(value) ? value : [value]).map(withoutTrailingSlash))
      .describe('One Alertmanager base URL, or a list (an HA pair): each receives every alert.'),
    resendInterval: durationString(
      '1m',
      `How often the hub re-sends firing alerts; firing alerts carry endsAt = now + 4 × this. Default ${ALERTMANAGER_DEFAULT_RESEND_INTERVAL} (Prometheus).`,
    ).default(ALERTMANAGER_DEFAULT_RESEND_INTERVAL),
    headers: headersSchema.optional(),
  })
  .meta({
    id: 'AlertmanagerNotifier',
    description: 'Pushes alerts to Alertmanager (API v2), as Prometheus does.',
  });

/** A parsed `alertmanager` notifier config: `url` is always a list. */
export type AlertmanagerConfig = z.output<typeof alertmanagerConfigSchema>;

/** One alert as Alertmanager's `postableAlert`. */
export interface AlertmanagerAlert {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  startsAt: string;
  endsAt: string;
  generatorURL?: string;
}

/** The `postableAlert` of one alert; see the module docs for `endsAt`. */
export function alertmanagerAlert(alert: Alert, nowMs: number, resendIntervalMs: number): AlertmanagerAlert {
  const endsAt =
    alert.status === 'resolved'
      ? (alert.endsAt ?? nowMs)
      : nowMs + ALERTMANAGER_VALIDITY_FACTOR * resendIntervalMs;
  return {
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: rfc3339(alert.startsAt),
    endsAt: rfc3339(Math.max(endsAt, alert.startsAt)),
    ...(alert.generatorURL !== undefined && { generatorURL: alert.generatorURL }),
  };
}

/**
 * Creates an Alertmanager notifier.
 *
 * @example
 * createAlertmanagerNotifier('am', { type: 'alertmanager', url: ['http://am-0:9093', 'http://am-1:9093'], resendInterval: '1m' });
 */
export function createAlertmanagerNotifier(name: string, config: AlertmanagerConfig): Notifier {
  const headers = config.headers ?? {};
  const resendIntervalMs = parseDuration(config.resendInterval);
  const redact = secretRedactor(Object.values(headers), config.url);
  return {
    type: 'alertmanager',
    name,
    async send(group: NotificationGroup, context: NotifierContext): Promise<DeliveryResult> {
      const now = context.now();
      const body = JSON.stringify(
        group.alerts.map((alert) => alertmanagerAlert(alert, now, resendIntervalMs)),
      );
      const post = { body, headers: mergeHeaders(headers, { 'Content-Type': 'application/json' }) };
      const results = await Promise.all(
        config.url.map((base) =>
          postAndClassify({ ...post, url: `${base}/api/v2/alerts` }, context, 'Alertmanager', redact),
        ),
      );
      const accepted = results.filter((result) => result.ok).length;
      if (accepted > 0) {
        const failed = results.length - accepted;
        return {
          ok: true,
          detail: `accepted by ${accepted} of ${results.length} Alertmanagers${failed > 0 ? `; ${failed} failed` : ''}`,
        };
      }
      const failures = results.filter((result) => !result.ok);
      const retryable = failures.some((failure) => failure.retryable);
      const waits = failures.flatMap((failure) =>
        failure.retryAfterMs === undefined ? [] : [failure.retryAfterMs],
      );
      return {
        ok: false,
        retryable,
        error: failures.map((failure) => failure.error).join('; '),
        ...(retryable && waits.length > 0 && { retryAfterMs: Math.min(...waits) }),
      };
    },
  };
}

/** The `alertmanager` notifier plugin: its config schema and factory (registered in `index.ts`). */
export const alertmanagerPlugin = {
  configSchema: alertmanagerConfigSchema,
  create: createAlertmanagerNotifier,
} satisfies NotifierPlugin<typeof alertmanagerConfigSchema>;
