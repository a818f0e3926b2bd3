/**
 * Slack notifier: POSTs `{text, blocks}` to an incoming webhook
 * (https://api.slack.com/messaging/webhooks).
 *
 * - `text`: the notification line, readable alone (push notifications, screen readers, clients without
 *   blocks): `[CRITICAL] credit-scorer/integrity unhealthy: integrity failed: outputs.probability[0] (1.73) not in [0, 1]`,
 *   with ` (+N more)` when the group holds several alerts.
 * - `blocks`: a `header` (status and severity), one `section` per alert (at most
 *   {@link SLACK_MAX_ALERT_SECTIONS}, then "…and N more"), and a `context` with the group's common labels.
 *
 * The webhook URL is the credential (its path holds the token): errors name only `https://hooks.slack.com`.
 * Slack answers 200 `ok`; 4xx texts such as `invalid_payload` or `no_service` are not retried, 429 and 5xx
 * are (honouring `Retry-After`).
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
import {
  alertSeverity,
  alertSubject,
  formatLabels,
  groupHeadline,
  groupSeverity,
  groupTitle,
  truncate,
} from './format.js';
import { postAndClassify, secretRedactor } from './http.js';
import { httpUrl } from './schema.js';

/** Config of a `slack` notifier. */
export const slackConfigSchema = z
  .strictObject({
    type: z.literal('slack'),
    webhookUrl: httpUrl(`The incoming webhook URL, e.g. "\${SLACK_WEBHOOK_URL}"; a secret.`),
  })
  .meta({ id: 'SlackNotifier', description: 'Posts to a Slack channel through an incoming webhook.' });

/** A parsed `slack` notifier config. */
export type SlackConfig = z.output<typeof slackConfigSchema>;

/** Alerts shown as sections; the rest are counted in one line (a message holds at most 50 blocks). */
export const SLACK_MAX_ALERT_SECTIONS = 10;

/** Slack's limits: header text 150 characters, section and context text 3000. */
const HEADER_MAX = 150;
const TEXT_MAX = 3000;

const STATUS_EMOJI = {
  critical: ':red_circle:',
  warning: ':large_orange_circle:',
  info: ':large_blue_circle:',
};

/** A Slack Block Kit block, as far as this notifier uses them. */
export type SlackBlock =
  | { type: 'header'; text: { type: 'plain_text'; text: string; emoji: true } }
  | { type: 'section'; text: { type: 'mrkdwn'; text: string } }
  | { type: 'context'; elements: { type: 'mrkdwn'; text: string }[] };

/** The message body POSTed to the webhook. */
export interface SlackMessage {
  text: string;
  blocks: SlackBlock[];
}

/** Escapes `&`, `<` and `>`, the three characters Slack's mrkdwn gives meaning to. */
export function escapeSlack(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Builds the Slack message of a group. */
export function slackMessage(group: NotificationGroup): SlackMessage {
  const severity = groupSeverity(group);
  const first = group.alerts[0];
  const summary =
    first === undefined ? undefined : (first.annotations.summary ?? first.annotations.description);
  const more = group.alerts.length > 1 ? ` (+${group.alerts.length - 1} more)` : '';
  const text = escapeSlack(`${groupTitle(group)}${summary === undefined ? '' : `: ${summary}`}${more}`);

  const emoji = group.status === 'resolved' ? ':white_check_mark:' : STATUS_EMOJI[severity ?? 'warning'];
  const headline = `${emoji} ${group.status.toUpperCase()} · ${(severity ?? 'no severity').toUpperCase()} · ${groupHeadline(group)}`;
  const blocks: SlackBlock[] = [
    { type: 'header', text: { type: 'plain_text', text: truncate(headline, HEADER_MAX), emoji: true } },
  ];
  for (const alert of group.alerts.slice(0, SLACK_MAX_ALERT_SECTIONS)) {
    blocks.push({ type: 'section', text: { type: 'mrkdwn', text: truncate(alertSection(alert), TEXT_MAX) } });
  }
  const hidden = group.alerts.length - SLACK_MAX_ALERT_SECTIONS;
  if (hidden > 0) blocks.push({ type: 'section', text: { type: 'mrkdwn', text: `…and ${hidden} more` } });
  if (Object.keys(group.commonLabels).length > 0) {
    const labels = escapeSlack(formatLabels(group.commonLabels, ' · '));
    blocks.push({ type: 'context', elements: [{ type: 'mrkdwn', text: truncate(labels, TEXT_MAX) }] });
  }
  return { text: truncate(text, TEXT_MAX), blocks };
}

function alertSection(alert: Alert): string {
  const since = alert.status === 'firing' ? alert.startsAt : (alert.endsAt ?? alert.startsAt);
  const seconds = Math.floor(since / 1000);
  const when = `<!date^${seconds}^{date_short_pretty} {time_secs}|${new Date(since).toISOString()}>`;
  const lines = [
    `*${escapeSlack(alertSubject(alert))}* · ${alertSeverity(alert) ?? 'no severity'} · ${alert.status === 'firing' ? 'firing since' : 'resolved at'} ${when}`,
  ];
  const { summary, description, runbook_url: runbook } = alert.annotations;
  if (summary !== undefined) lines.push(escapeSlack(summary));
  if (description !== undefined && description !== summary) lines.push(`>${escapeSlack(description)}`);
  const links: string[] = [];
  if (alert.generatorURL !== undefined) links.push(`<${alert.generatorURL}|Open in Vigil>`);
  if (runbook !== undefined) links.push(`<${runbook}|Runbook>`);
  if (links.length > 0) lines.push(links.join(' · '));
  return lines.join('\n');
}

/**
 * Creates a Slack notifier.
 *
 * @example
 * createSlackNotifier('team-chat', { type: 'slack', webhookUrl: process.env.SLACK_WEBHOOK_URL ?? '' });
 */
export function createSlackNotifier(name: string, config: SlackConfig): Notifier {
  const redact = secretRedactor([], [config.webhookUrl]);
  return {
    type: 'slack',
    name,
    send(group: NotificationGroup, context: NotifierContext): Promise<DeliveryResult> {
      const body = JSON.stringify(slackMessage(group));
      return postAndClassify({ url: config.webhookUrl, body }, context, 'Slack webhook', redact);
    },
  };
}

/** The `slack` notifier plugin: its config schema and factory (registered in `index.ts`). */
export const slackPlugin = {
  configSchema: slackConfigSchema,
  create: createSlackNotifier,
} satisfies NotifierPlugin<typeof slackConfigSchema>;
