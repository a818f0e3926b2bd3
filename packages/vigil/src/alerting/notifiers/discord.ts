/**
 * Discord notifier: POSTs embeds to a channel webhook
 * (https://discord.com/developers/docs/resources/webhook#execute-webhook).
 *
 * - `content`: the notification line (push notifications show it), at most 2000 characters.
 * - `embeds`: one per alert (at most {@link DISCORD_MAX_EMBEDS}, Discord's limit; the line says how
 *   many more), each with `title` (≤ 256), `description` (≤ 4096), `color` by state (red critical,
 *   orange warning, green resolved), `url` to Vigil, `timestamp` (ISO 8601) and the group's common
 *   labels as inline `fields` (≤ 25; name ≤ 256, value ≤ 1024); all embeds together ≤ 6000 characters.
 * - `allowed_mentions: {parse: []}`: an alert's text never pings `@everyone`, a role or a user.
 *
 * The webhook URL is the credential (its path holds the token): errors name only its origin. Discord
 * answers 204 No Content; 4xx are not retried, 429 (with `Retry-After`) and 5xx are.
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
import { alertSeverity, alertSubject, groupSeverity, groupTitle, rfc3339, truncate } from './format.js';
import { postAndClassify, secretRedactor } from './http.js';
import { httpUrl } from './schema.js';

/** Config of a `discord` notifier. */
export const discordConfigSchema = z
  .strictObject({
    type: z.literal('discord'),
    webhookUrl: httpUrl(`The channel webhook URL, e.g. "\${DISCORD_WEBHOOK_URL}"; a secret.`),
  })
  .meta({ id: 'DiscordNotifier', description: 'Posts to a Discord channel through a webhook.' });

/** A parsed `discord` notifier config. */
export type DiscordConfig = z.output<typeof discordConfigSchema>;

/** Discord's limits (Execute Webhook and "Embed Limits"). */
export const DISCORD_MAX_EMBEDS = 10;
const CONTENT_MAX = 2000;
const TITLE_MAX = 256;
const DESCRIPTION_MAX = 4096;
const FIELDS_MAX = 25;
const FIELD_NAME_MAX = 256;
const FIELD_VALUE_MAX = 1024;
/** All embeds of a message together: title, description, field names and values. */
const EMBEDS_TOTAL_MAX = 6000;

const COLORS = { critical: 0xd83c3e, warning: 0xf0a020, info: 0x3b82f6, resolved: 0x2e9e5b };

/** An embed as this notifier sends it. */
export interface DiscordEmbed {
  title: string;
  description?: string;
  url?: string;
  color: number;
  timestamp: string;
  fields?: { name: string; value: string; inline: true }[];
}

/** The message POSTed to the webhook. */
export interface DiscordMessage {
  content: string;
  embeds: DiscordEmbed[];
  allowed_mentions: { parse: [] };
}

/** Builds the Discord message of a group, within Discord's limits. */
export function discordMessage(group: NotificationGroup): DiscordMessage {
  const first = group.alerts[0];
  const summary =
    first === undefined ? undefined : (first.annotations.summary ?? first.annotations.description);
  const shown = group.alerts.slice(0, DISCORD_MAX_EMBEDS);
  const hidden = group.alerts.length - shown.length;
  const more = hidden > 0 ? ` (+${hidden} more not shown)` : '';
  const content =
    truncate(
      `${groupTitle(group)}${summary === undefined ? '' : `: ${summary}`}`,
      CONTENT_MAX - more.length,
    ) + more;
  const fields = Object.entries(group.commonLabels)
    .slice(0, FIELDS_MAX)
    .map(([name, value]) => ({
      name: truncate(name, FIELD_NAME_MAX),
      value: truncate(value, FIELD_VALUE_MAX),
      inline: true as const,
    }));
  // The labels go on the first embed only; the others share the 6000-character budget evenly.
  const fieldChars = fields.reduce((n, f) => n + f.name.length + f.value.length, 0);
  const perEmbed = Math.floor((EMBEDS_TOTAL_MAX - fieldChars) / Math.max(1, shown.length));
  const embeds = shown.map((alert, i) => embedOf(group, alert, perEmbed, i === 0 ? fields : []));
  return { content, embeds, allowed_mentions: { parse: [] } };
}

function embedOf(
  group: NotificationGroup,
  alert: Alert,
  budget: number,
  fields: DiscordEmbed['fields'] & object,
): DiscordEmbed {
  const severity = alertSeverity(alert) ?? groupSeverity(group);
  const color = alert.status === 'resolved' ? COLORS.resolved : COLORS[severity ?? 'warning'];
  const title = truncate(
    `${alert.status === 'firing' ? 'FIRING' : 'RESOLVED'} · ${alertSubject(alert)}`,
    Math.min(TITLE_MAX, budget),
  );
  const { summary, description } = alert.annotations;
  const text = [summary, description !== summary ? description : undefined]
    .filter((t) => t !== undefined)
    .join('\n');
  const room = Math.min(DESCRIPTION_MAX, budget - title.length);
  const since = alert.status === 'firing' ? alert.startsAt : (alert.endsAt ?? alert.startsAt);
  return {
    title,
    ...(text !== '' && room > 1 && { description: truncate(text, room) }),
    ...(alert.generatorURL !== undefined && { url: alert.generatorURL }),
    color,
    timestamp: rfc3339(since),
    ...(fields.length > 0 && { fields }),
  };
}

/**
 * Creates a Discord notifier.
 *
 * @example
 * createDiscordNotifier('ml-alerts', { type: 'discord', webhookUrl: process.env.DISCORD_WEBHOOK_URL ?? '' });
 */
export function createDiscordNotifier(name: string, config: DiscordConfig): Notifier {
  const redact = secretRedactor([], [config.webhookUrl]);
  return {
    type: 'discord',
    name,
    send(group: NotificationGroup, context: NotifierContext): Promise<DeliveryResult> {
      const body = JSON.stringify(discordMessage(group));
      return postAndClassify({ url: config.webhookUrl, body }, context, 'Discord webhook', redact);
    },
  };
}

/** The `discord` notifier plugin: its config schema and factory (registered in `index.ts`). */
export const discordPlugin = {
  configSchema: discordConfigSchema,
  create: createDiscordNotifier,
} satisfies NotifierPlugin<typeof discordConfigSchema>;
