/**
 * The `webhook` action: a signed POST for systems that recover themselves (a platform's own restart
 * endpoint, a runbook automation). Signed like the webhook notifier (`X-Vigil-Signature`, HMAC-SHA256
 * over `<t>.<body>`, see `alerting/notifiers/webhook.ts`), and carrying the run's idempotency key in
 * `Idempotency-Key` and the body: a hub that retries nothing still may be one of two replicas, and a
 * receiver deduplicating on the key acts at most once per (transition, step).
 *
 * Body (version "1"): `{version, idempotencyKey, action, event, checkId, target, check, region, from,
 * to, reason, at (RFC 3339), incidentId, targetUrl}`.
 *
 * 2xx is `succeeded`; another 4xx `refused` (the receiver said no); 5xx, 408, 429 and network errors
 * `failed`. The action is not retried by the runner: escalation and the limits decide what follows.
 */
import { z } from 'zod';
import { httpPost, mergeHeaders, secretRedactor } from '../alerting/notifiers/http.js';
import { headersSchema, httpUrl, secretString } from '../alerting/notifiers/schema.js';
import { SIGNATURE_HEADER, signatureHeader } from '../alerting/notifiers/webhook.js';
import { parseDuration } from '../diagnostics/duration.js';
import type { ConfigPath } from '../diagnostics/paths.js';
import { isConfiguredHeaderSecret, isSecretParam } from '../diagnostics/redact.js';
import type { ActionStepConfig } from '../types.js';
import { duration, stepShape } from './step.js';
import type { Action, ActionContext, ActionPlugin } from './types.js';

export const webhookActionConfigSchema = z
  .strictObject({
    ...stepShape('webhook'),
    url: httpUrl('Where to POST, e.g. "https://platform.example.com/restart".'),
    secret: secretString(
      'Key of the HMAC-SHA256 signature in X-Vigil-Signature; none when absent.',
    ).optional(),
    headers: headersSchema.optional(),
    timeout: duration('10s', 'Give up on the request after this long. Default 10s.').default('10s'),
  })
  .meta({
    id: 'WebhookAction',
    description: 'A signed POST carrying the transition and an idempotency key.',
  });

export type WebhookActionConfig = z.output<typeof webhookActionConfigSchema> & ActionStepConfig;

/** The version "1" body of a run. */
export function webhookActionBody(name: string, context: ActionContext): Record<string, unknown> {
  const t = context.transition;
  return {
    version: '1',
    idempotencyKey: context.idempotencyKey,
    action: name,
    event: t.event,
    checkId: t.checkId,
    target: t.target,
    check: t.check,
    region: t.region,
    from: t.from,
    to: t.to,
    reason: t.reason,
    at: new Date(t.at).toISOString(),
    incidentId: t.incidentId,
    targetUrl: context.target.url,
  };
}

/** Creates a webhook action. */
export function createWebhookAction(config: WebhookActionConfig): Action {
  const headers = config.headers ?? {};
  const redact = secretRedactor([config.secret, ...Object.values(headers)], [config.url]);
  const timeoutMs = parseDuration(config.timeout);
  const origin = new URL(config.url).origin;
  return {
    kind: 'webhook',
    name: config.name,
    describe: () =>
      `POST ${origin} (signed${config.secret === undefined ? ': no' : ''}, with Idempotency-Key)`,
    async run(context) {
      const body = JSON.stringify(webhookActionBody(config.name, context));
      const own: Record<string, string> = {
        'Content-Type': 'application/json',
        'Idempotency-Key': context.idempotencyKey,
      };
      if (config.secret !== undefined)
        own[SIGNATURE_HEADER] = signatureHeader(config.secret, body, Math.floor(context.now() / 1000));
      const signal = AbortSignal.any([context.signal, AbortSignal.timeout(timeoutMs)]);
      const response = await httpPost(
        { url: config.url, body, headers: mergeHeaders(headers, own) },
        { signal, now: context.now },
        'webhook action',
        redact,
      );
      if ('ok' in response) return { result: 'failed', output: response.error };
      const line = `HTTP ${response.status} from ${origin}${response.body ? `: ${redact(response.body.slice(0, 300))}` : ''}`;
      if (response.status >= 200 && response.status < 300) return { result: 'succeeded', output: line };
      const retryable = response.status >= 500 || response.status === 408 || response.status === 429;
      return { result: retryable ? 'failed' : 'refused', output: line };
    },
  };
}

/**
 * Values of a webhook block a diagnostic never shows: `secret`, every header value, and `url` (as the
 * webhook notifier's: platform hooks carry their token in the path).
 */
export function isHiddenWebhookValue(path: ConfigPath): boolean {
  const [key] = path;
  return key === 'secret' || key === 'headers' || key === 'url';
}

/**
 * The literal credentials of a webhook block: `secret`, header values but the public ones'
 * (`isConfiguredHeaderSecret`; a `Bearer`/`Basic`/`Token` value's credential also alone), and credential-named query parameters of `url` (`isSecretParam`).
 */
export function webhookSecrets(block: Readonly<Record<string, unknown>>): string[] {
  const secrets: string[] = [];
  const text = (value: unknown) =>
    typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
  const secret = text(block.secret);
  if (secret !== undefined) secrets.push(secret);
  const headers = block.headers;
  if (headers !== null && typeof headers === 'object' && !Array.isArray(headers)) {
    for (const [name, value] of Object.entries(headers)) {
      const v = text(value);
      if (v === undefined || !isConfiguredHeaderSecret(name, v)) continue;
      secrets.push(v);
      // The credential alone too: a receiver may echo the token without its scheme.
      const scheme = /^(?:Bearer|Basic|Token)\s+(\S.*)$/i.exec(v);
      if (scheme?.[1] !== undefined) secrets.push(scheme[1]);
    }
  }
  if (typeof block.url === 'string' && URL.canParse(block.url)) {
    for (const [name, value] of new URL(block.url).searchParams) if (isSecretParam(name)) secrets.push(value);
  }
  return secrets.filter((s) => s !== '');
}

/** The `webhook` action plugin (registered in `index.ts`). */
export const webhookActionPlugin = {
  configSchema: webhookActionConfigSchema,
  create: createWebhookAction,
  isHiddenValue: isHiddenWebhookValue,
  secretsOf: webhookSecrets,
} satisfies ActionPlugin<typeof webhookActionConfigSchema>;
