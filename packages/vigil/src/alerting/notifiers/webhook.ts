/**
 * Generic webhook notifier: POSTs a versioned JSON body shaped like Alertmanager's webhook payload.
 *
 * ## Body (version "1")
 * ```json
 * {
 *   "version": "1",
 *   "groupKey": "…", "receiver": "ops-webhook", "status": "firing",
 *   "alerts": [{
 *     "status": "firing", "fingerprint": "…",
 *     "labels": {"alertname": "…", "severity": "critical", "target": "credit-scorer", "check": "integrity"},
 *     "annotations": {"summary": "…", "description": "…"},
 *     "startsAt": "2025-01-31T12:00:00.000Z", "endsAt": null, "generatorURL": ""
 *   }],
 *   "groupLabels": {…}, "commonLabels": {…}, "commonAnnotations": {…}
 * }
 * ```
 * Times are RFC 3339 (UTC, milliseconds). Differences from Alertmanager's payload: `version` is `"1"`
 * (Alertmanager's is `"4"`), a firing alert's `endsAt` is `null` (Alertmanager writes the zero time),
 * `externalURL` and `truncatedAlerts` are absent. Fields may be added within version "1"; a rename or a
 * removal raises the version.
 *
 * ## Headers
 * - `Content-Type: application/json`
 * - `Idempotency-Key: <group.idempotencyKey>`: the same on every retry of one delivery; dedupe on it.
 * - `X-Vigil-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>` when `secret` is configured (Stripe's
 *   scheme). See {@link signatureHeader} for the verification recipe.
 * - the configured `headers` (they cannot replace the three above).
 */
import { createHmac } from 'node:crypto';
import { z } from 'zod';
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
import { headersSchema, httpUrl, secretString } from './schema.js';

/** Config of a `webhook` notifier. */
export const webhookConfigSchema = z
  .strictObject({
    type: z.literal('webhook'),
    url: httpUrl('Where to POST, e.g. "https://ops.example.com/hooks/vigil".'),
    secret: secretString(
      'Key of the HMAC-SHA256 signature sent in X-Vigil-Signature; no signature when absent.',
    ).optional(),
    headers: headersSchema.optional(),
  })
  .meta({
    id: 'WebhookNotifier',
    description: 'POSTs each notification as versioned JSON, shaped like Alertmanager’s webhook payload.',
  });

/** A parsed `webhook` notifier config. */
export type WebhookConfig = z.output<typeof webhookConfigSchema>;

/** Version of the body; see the module docs for the shape and the compatibility rule. */
export const WEBHOOK_BODY_VERSION = '1';

/** One alert in the webhook body. */
export interface WebhookAlert {
  status: 'firing' | 'resolved';
  fingerprint: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** RFC 3339. */
  startsAt: string;
  /** RFC 3339, or `null` while firing. */
  endsAt: string | null;
  /** Link to the check in Vigil, `""` when the hub has no external URL (as Alertmanager does). */
  generatorURL: string;
}

/** The webhook body, version "1". */
export interface WebhookBody {
  version: typeof WEBHOOK_BODY_VERSION;
  groupKey: string;
  receiver: string;
  status: 'firing' | 'resolved';
  alerts: WebhookAlert[];
  groupLabels: Record<string, string>;
  commonLabels: Record<string, string>;
  commonAnnotations: Record<string, string>;
}

/** Builds the version "1" body of a group. */
export function webhookBody(group: NotificationGroup): WebhookBody {
  return {
    version: WEBHOOK_BODY_VERSION,
    groupKey: group.groupKey,
    receiver: group.receiver,
    status: group.status,
    alerts: group.alerts.map(webhookAlert),
    groupLabels: group.groupLabels,
    commonLabels: group.commonLabels,
    commonAnnotations: group.commonAnnotations,
  };
}

function webhookAlert(alert: Alert): WebhookAlert {
  return {
    status: alert.status,
    fingerprint: alert.fingerprint,
    labels: alert.labels,
    annotations: alert.annotations,
    startsAt: rfc3339(alert.startsAt),
    endsAt: alert.endsAt === null ? null : rfc3339(alert.endsAt),
    generatorURL: alert.generatorURL ?? '',
  };
}

/** Name of the signature header. */
export const SIGNATURE_HEADER = 'X-Vigil-Signature';

/**
 * The `X-Vigil-Signature` value for a body: `t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`.
 *
 * Signing the timestamp with the body (Stripe's scheme) lets a receiver reject replays. To verify:
 * 1. split the header on `,` into `key=value` pairs; take `t` and every `v1` (several may appear while a
 *    secret is being rotated);
 * 2. compute `HMAC-SHA256(secret, t + "." + rawBody)` as lowercase hex, over the raw request bytes
 *    exactly as received (before any JSON parsing);
 * 3. accept if it equals one `v1`, compared in constant time (`crypto.timingSafeEqual`);
 * 4. reject if `|now − t|` exceeds your tolerance (Stripe's default: 300 s), and dedupe on
 *    `Idempotency-Key` for retries within it.
 *
 * @example
 * // Node receiver
 * import { createHmac, timingSafeEqual } from 'node:crypto';
 * const parts = Object.fromEntries(header.split(',').map((p) => p.split('=', 2)));
 * const expected = createHmac('sha256', secret).update(`${parts.t}.${rawBody}`).digest('hex');
 * const ok = timingSafeEqual(Buffer.from(expected), Buffer.from(parts.v1 ?? ''))
 *   && Math.abs(Date.now() / 1000 - Number(parts.t)) <= 300;
 * @param unixSeconds signing time, whole seconds since the epoch
 */
export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * Creates a webhook notifier.
 *
 * @example
 * const notifier = createWebhookNotifier('ops', { type: 'webhook', url: 'https://ops.example.com/hook', secret: 's3cr3t' });
 * await notifier.send(group, { signal: AbortSignal.timeout(10_000), now: Date.now });
 */
export function createWebhookNotifier(name: string, config: WebhookConfig): Notifier {
  const headers = config.headers ?? {};
  const redact = secretRedactor([config.secret, ...Object.values(headers)], [config.url]);
  return {
    type: 'webhook',
    name,
    async send(group: NotificationGroup, context: NotifierContext): Promise<DeliveryResult> {
      const body = JSON.stringify(webhookBody(group));
      const own: Record<string, string> = {
        'Content-Type': 'application/json',
        'Idempotency-Key': group.idempotencyKey,
      };
      if (config.secret !== undefined) {
        own[SIGNATURE_HEADER] = signatureHeader(config.secret, body, Math.floor(context.now() / 1000));
      }
      return postAndClassify(
        { url: config.url, body, headers: mergeHeaders(headers, own) },
        context,
        'webhook',
        redact,
      );
    },
  };
}

/** The `webhook` notifier plugin: its config schema and factory (registered in `index.ts`). */
export const webhookPlugin = {
  configSchema: webhookConfigSchema,
  create: createWebhookNotifier,
} satisfies NotifierPlugin<typeof webhookConfigSchema>;
