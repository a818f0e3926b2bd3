/**
 * The notifier registry: every notifier type, its config schema and its factory. Adding a notifier is one
 * file in this folder plus one line in {@link NOTIFIER_TYPES}.
 */
import type { z } from 'zod';
import { fillMessage, humanErrorMap, issuesToProblems, renderValue } from '../../diagnostics/messages.js';
import { formatPath } from '../../diagnostics/paths.js';
import { ConfigError } from '../../errors.js';
import type { Notifier } from '../types.js';
import { alertmanagerConfigSchema, createAlertmanagerNotifier } from './alertmanager.js';
import { createEmailNotifier, emailConfigSchema } from './email.js';
import { createPagerDutyNotifier, pagerdutyConfigSchema } from './pagerduty.js';
import { createSlackNotifier, slackConfigSchema } from './slack.js';
import { createWebhookNotifier, webhookConfigSchema } from './webhook.js';

/** One notifier type: how its config is checked and how an instance is made from the parsed config. */
export interface NotifierType<Schema extends z.ZodType = z.ZodType> {
  /** Zod schema of the notifier's config block, including its `type` literal; unknown keys are errors. */
  configSchema: Schema;
  /** Makes a notifier from a config that `configSchema` parsed. */
  create(name: string, config: z.output<Schema>): Notifier;
}

function notifierType<Schema extends z.ZodType>(
  configSchema: Schema,
  create: (name: string, config: z.output<Schema>) => Notifier,
): NotifierType<Schema> {
  return { configSchema, create };
}

/** Every notifier type by its `type` name. */
export const NOTIFIER_TYPES = {
  webhook: notifierType(webhookConfigSchema, createWebhookNotifier),
  slack: notifierType(slackConfigSchema, createSlackNotifier),
  pagerduty: notifierType(pagerdutyConfigSchema, createPagerDutyNotifier),
  alertmanager: notifierType(alertmanagerConfigSchema, createAlertmanagerNotifier),
  email: notifierType(emailConfigSchema, createEmailNotifier),
} satisfies Record<string, NotifierType>;

/** A notifier `type` name. */
export type NotifierTypeName = keyof typeof NOTIFIER_TYPES;

/** The `type` names, in registry order. */
export const NOTIFIER_TYPE_NAMES = Object.keys(NOTIFIER_TYPES) as NotifierTypeName[];

/** A parsed notifier config, of any type. */
export type NotifierConfig = {
  [Name in NotifierTypeName]: z.output<(typeof NOTIFIER_TYPES)[Name]['configSchema']>;
}[NotifierTypeName];

/**
 * Makes a notifier from its config block (as written, after `${ENV}` interpolation): picks the type by
 * `config.type` and parses the block with that type's schema.
 *
 * @example
 * const pd = createNotifier('pagerduty', { type: 'pagerduty', routingKey: process.env.PD_ROUTING_KEY });
 * @param name the notifier's name in `alerting.notifiers` (the route's receiver)
 * @throws ConfigError `VIGIL_ERR_CONFIG_INVALID` listing every problem with its path
 *   (`alerting.notifiers.<name>.<key>`), config values shown as `[REDACTED]` since most are secrets
 */
export function createNotifier(name: string, config: unknown): Notifier {
  const prefix = ['alerting', 'notifiers', name];
  const typeName = (config as { type?: unknown } | null | undefined)?.type;
  if (typeof typeName !== 'string' || !Object.hasOwn(NOTIFIER_TYPES, typeName)) {
    const expected = NOTIFIER_TYPE_NAMES.map((type) => JSON.stringify(type)).join(', ');
    const diagnostic = `${formatPath([...prefix, 'type'])}: expected one of ${expected}, got ${renderValue(typeName, () => false)}`;
    throw new ConfigError('VIGIL_ERR_CONFIG_INVALID', `invalid notifier "${name}"`, [diagnostic]);
  }
  const type = NOTIFIER_TYPES[typeName as NotifierTypeName] as NotifierType;
  const parsed = type.configSchema.safeParse(config, { error: humanErrorMap, reportInput: true });
  if (!parsed.success) {
    const diagnostics = issuesToProblems(parsed.error.issues, prefix).map(
      (problem) =>
        `${formatPath(problem.path)}: ${fillMessage(problem, (value) => renderValue(value, () => true))}`,
    );
    throw new ConfigError('VIGIL_ERR_CONFIG_INVALID', `invalid notifier "${name}"`, diagnostics);
  }
  return type.create(name, parsed.data);
}

export type { AlertmanagerConfig } from './alertmanager.js';
export type { EmailConfig } from './email.js';
export type { PagerDutyConfig } from './pagerduty.js';
export type { SlackConfig } from './slack.js';
export type { WebhookConfig } from './webhook.js';

/**
 * Makes every notifier of an `alerting.notifiers` section, by name: what `createHub`'s `alerting`
 * option takes. An absent section gives an empty map.
 * @throws ConfigError as {@link createNotifier}, for the first invalid block.
 */
export function createNotifiers(
  notifiers: Readonly<Record<string, unknown>> | undefined,
): Map<string, Notifier> {
  return new Map(Object.entries(notifiers ?? {}).map(([name, block]) => [name, createNotifier(name, block)]));
}
