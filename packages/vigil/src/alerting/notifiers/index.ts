/**
 * The notifier registry: every notifier plugin by its `type` name. Adding a notifier is one file in
 * this folder exporting a {@link NotifierPlugin} (config schema + factory) plus one line in
 * {@link NOTIFIER_TYPES}; the type names, the config union ({@link notifierConfigSchema}, which the
 * `alerting:` section and `vigil.schema.json` use) and {@link createNotifiers} follow from it.
 */
import { z } from 'zod';
import {
  expectedOneOf,
  fillMessage,
  GOT,
  humanErrorMap,
  issuesToProblems,
  renderValue,
} from '../../diagnostics/messages.js';
import { type ConfigPath, formatPath } from '../../diagnostics/paths.js';
import { ConfigError } from '../../errors.js';
import type { Notifier, NotifierPlugin } from '../types.js';
import { alertmanagerPlugin } from './alertmanager.js';
import { discordPlugin } from './discord.js';
import { emailPlugin } from './email.js';
import { pagerdutyPlugin } from './pagerduty.js';
import { slackPlugin } from './slack.js';
import { teamsPlugin } from './teams.js';
import { webhookPlugin } from './webhook.js';

/** Every notifier plugin by its `type` name (the key; each plugin's schema has it as its `type` literal). */
export const NOTIFIER_TYPES = Object.freeze({
  webhook: webhookPlugin,
  slack: slackPlugin,
  pagerduty: pagerdutyPlugin,
  alertmanager: alertmanagerPlugin,
  email: emailPlugin,
  teams: teamsPlugin,
  discord: discordPlugin,
});

/** A notifier `type` name. */
export type NotifierTypeName = keyof typeof NOTIFIER_TYPES;

/** The `type` names, in registry order. */
export const NOTIFIER_TYPE_NAMES = Object.keys(NOTIFIER_TYPES) as NotifierTypeName[];

type ConfigSchemaOf<Name extends NotifierTypeName> = (typeof NOTIFIER_TYPES)[Name]['configSchema'];

/** A validated notifier config of one type: defaults filled in. */
export type NotifierConfigOf<Name extends NotifierTypeName> = z.output<ConfigSchemaOf<Name>>;

/** Registry keys whose plugin's `type` literal is another name (none, or `tsc` fails just below). */
type MisnamedTypes = {
  [Name in NotifierTypeName]: NotifierConfigOf<Name>['type'] extends Name ? never : Name;
}[NotifierTypeName];
// Compile-time check that the names derived from the keys and the union's discriminator agree; the
// error names the key: `Type 'true' is not assignable to type '"registry key chat is not its type"'`.
const registryKeysAreTypes: [MisnamedTypes] extends [never]
  ? true
  : `registry key ${MisnamedTypes} is not its type` = true;
void registryKeysAreTypes;

/**
 * One notifier block of `alerting.notifiers`: the union of every plugin's config schema, discriminated
 * by `type`. An unknown `type` is reported at `<block>.type` (`expected one of "webhook", …, got "slak";
 * did you mean "slack"?`), a missing one as `required`; a known one is checked by its own schema, unknown
 * keys included.
 */
export const notifierConfigSchema = z
  .discriminatedUnion(
    'type',
    Object.values(NOTIFIER_TYPES).map((plugin) => plugin.configSchema) as unknown as [
      ConfigSchemaOf<NotifierTypeName>,
      ...ConfigSchemaOf<NotifierTypeName>[],
    ],
    {
      error: (issue) => {
        // The declared type omits it, but a block that is not a mapping arrives here as invalid_type.
        if ((issue.code as string) === 'invalid_type') {
          return issue.input === undefined ? 'required' : `expected a mapping with a type, got ${GOT}`;
        }
        const type = (issue.input as Record<string, unknown> | undefined)?.type;
        return type === undefined ? 'required' : expectedOneOf(NOTIFIER_TYPE_NAMES, type);
      },
    },
  )
  .meta({
    id: 'Notifier',
    description: `A notifier: its type (${NOTIFIER_TYPE_NAMES.join(', ')}) and that type's settings.`,
  });

/** A validated notifier config, of any type. */
export type NotifierConfig = z.output<typeof notifierConfigSchema>;

/**
 * Whether a diagnostic may show the value found at `path` inside a notifier block: only the `type`.
 * The other settings are mostly credentials (webhook URLs carry their token, keys, passwords, headers),
 * so every diagnostic shows them as `[REDACTED]`.
 */
export function isShownNotifierValue(path: ConfigPath): boolean {
  return path.length === 1 && path[0] === 'type';
}

/**
 * Validates one notifier block (as written, after `${ENV}` interpolation) and makes the notifier: for
 * library users holding a block of their own. A loaded config's notifiers are already validated: give
 * them to {@link createNotifiers}.
 *
 * @example
 * const pd = createNotifier('pagerduty', { type: 'pagerduty', routingKey: process.env.PD_ROUTING_KEY });
 * @param name the notifier's name in `alerting.notifiers` (the route's receiver)
 * @throws ConfigError `VIGIL_ERR_CONFIG_INVALID` listing every problem with its path
 *   (`alerting.notifiers.<name>.<key>`), values other than `type` shown as `[REDACTED]`
 */
export function createNotifier(name: string, config: unknown): Notifier {
  const prefix = ['alerting', 'notifiers', name];
  const parsed = notifierConfigSchema.safeParse(config, { error: humanErrorMap, reportInput: true });
  if (!parsed.success) {
    const diagnostics = issuesToProblems(parsed.error.issues).map((problem) => {
      const shown = isShownNotifierValue(problem.path);
      const text = fillMessage(problem, (value) => renderValue(value, () => !shown));
      return `${formatPath([...prefix, ...problem.path])}: ${text}`;
    });
    throw new ConfigError('VIGIL_ERR_CONFIG_INVALID', `invalid notifier "${name}"`, diagnostics);
  }
  return buildNotifier(name, parsed.data);
}

/**
 * Makes every notifier of a validated `alerting.notifiers` section (a loaded config's), by name: what
 * `createHub`'s `alerting` option takes. Nothing is validated again; an absent section gives an empty map.
 *
 * @example
 * const loaded = await loadConfig('vigil.yaml');
 * const notifiers = loaded.ok ? createNotifiers(loaded.config.alerting?.notifiers) : new Map();
 * // notifiers = createNotifiers(loaded.config.alerting?.notifiers);
 */
export function createNotifiers(
  notifiers: Readonly<Record<string, NotifierConfig>> | undefined,
): Map<string, Notifier> {
  return new Map(
    Object.entries(notifiers ?? {}).map(([name, config]) => [name, buildNotifier(name, config)]),
  );
}

function buildNotifier(name: string, config: NotifierConfig): Notifier {
  // The union is correlated with the registry by `type`, which TypeScript cannot follow through an index.
  const plugin = NOTIFIER_TYPES[config.type] as unknown as NotifierPlugin;
  return plugin.create(name, config);
}

export type { AlertmanagerConfig } from './alertmanager.js';
export type { EmailConfig } from './email.js';
export type { PagerDutyConfig } from './pagerduty.js';
export type { SlackConfig } from './slack.js';
export type { WebhookConfig } from './webhook.js';
