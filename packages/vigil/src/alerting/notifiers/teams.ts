/**
 * Microsoft Teams notifier: POSTs an Adaptive Card to a Teams **workflow** webhook (Power Automate's
 * "Post to a channel when a webhook request is received"; the Office 365 connectors it replaces are
 * retired). The body is the documented message envelope
 * (https://learn.microsoft.com/en-us/connectors/teams/#microsoft-teams-webhook):
 *
 * ```json
 * { "type": "message",
 *   "attachments": [{ "contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": null,
 *                     "content": { "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
 *                                  "type": "AdaptiveCard", "version": "1.4", "body": [...], "actions": [...] } }] }
 * ```
 *
 * The card: a headline `TextBlock` coloured by state (`attention` critical, `warning`, `good`
 * resolved), one `Container` per alert (at most {@link TEAMS_MAX_ALERTS}, then "…and N more") with its
 * summary and description, a `FactSet` of the group's common labels, and `Action.OpenUrl` buttons to
 * Vigil and the runbook of the first alert. Adaptive Card 1.4: what Teams renders on every client.
 *
 * The workflow URL is the credential (its `sig` parameter signs it): errors name only its origin. A
 * workflow answers 202 Accepted; 4xx are not retried, 429 and 5xx are (honouring `Retry-After`).
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
import { alertSeverity, alertSubject, groupHeadline, groupSeverity, rfc3339, truncate } from './format.js';
import { postAndClassify, secretRedactor } from './http.js';
import { httpUrl } from './schema.js';

/** Config of a `teams` notifier. */
export const teamsConfigSchema = z
  .strictObject({
    type: z.literal('teams'),
    webhookUrl: httpUrl(
      `The workflow's "HTTP POST URL" (Teams: Workflows → "Post to a channel when a webhook request is received"), e.g. "\${TEAMS_WEBHOOK_URL}"; a secret.`,
    ),
  })
  .meta({
    id: 'TeamsNotifier',
    description: 'Posts an Adaptive Card to a Microsoft Teams channel through a workflow webhook.',
  });

/** A parsed `teams` notifier config. */
export type TeamsConfig = z.output<typeof teamsConfigSchema>;

/** Alerts shown in a card; the rest are counted in one line (a card stays readable, under 28 KB). */
export const TEAMS_MAX_ALERTS = 10;

/** The Adaptive Card elements this notifier uses (schema: http://adaptivecards.io/schemas/adaptive-card.json). */
export type TeamsElement =
  | {
      type: 'TextBlock';
      text: string;
      wrap: true;
      size?: 'Large' | 'Medium';
      weight?: 'Bolder';
      color?: 'Attention' | 'Warning' | 'Good' | 'Accent';
      isSubtle?: true;
    }
  | { type: 'Container'; separator: true; items: TeamsElement[] }
  | { type: 'FactSet'; facts: { title: string; value: string }[] };

/** The message POSTed to the workflow. */
export interface TeamsMessage {
  type: 'message';
  attachments: [
    {
      contentType: 'application/vnd.microsoft.card.adaptive';
      contentUrl: null;
      content: {
        $schema: 'http://adaptivecards.io/schemas/adaptive-card.json';
        type: 'AdaptiveCard';
        version: '1.4';
        body: TeamsElement[];
        actions?: { type: 'Action.OpenUrl'; title: string; url: string }[];
        msteams: { width: 'Full' };
      };
    },
  ];
}

/** TextBlock text is Markdown: keep `*`, `_`, `[`, `]`, `` ` `` and `#` from an alert's text literal. */
export function escapeTeams(text: string): string {
  return text.replace(/([\\*_[\]`#<>])/g, '\\$1');
}

/** Builds the Teams message of a group. */
export function teamsMessage(group: NotificationGroup): TeamsMessage {
  const severity = groupSeverity(group);
  const color = group.status === 'resolved' ? 'Good' : severity === 'critical' ? 'Attention' : 'Warning';
  const body: TeamsElement[] = [
    {
      type: 'TextBlock',
      text: truncate(
        `${group.status.toUpperCase()} · ${(severity ?? 'no severity').toUpperCase()} · ${escapeTeams(groupHeadline(group))}`,
        300,
      ),
      wrap: true,
      size: 'Large',
      weight: 'Bolder',
      color,
    },
  ];
  for (const alert of group.alerts.slice(0, TEAMS_MAX_ALERTS)) body.push(alertContainer(alert));
  const hidden = group.alerts.length - TEAMS_MAX_ALERTS;
  if (hidden > 0) body.push({ type: 'TextBlock', text: `…and ${hidden} more`, wrap: true, isSubtle: true });
  const facts = Object.entries(group.commonLabels).map(([title, value]) => ({
    title,
    value: escapeTeams(value),
  }));
  if (facts.length > 0) body.push({ type: 'FactSet', facts });

  const first = group.alerts[0];
  const actions: { type: 'Action.OpenUrl'; title: string; url: string }[] = [];
  if (first?.generatorURL !== undefined)
    actions.push({ type: 'Action.OpenUrl', title: 'Open in Vigil', url: first.generatorURL });
  const runbook = first?.annotations.runbook_url;
  if (runbook !== undefined) actions.push({ type: 'Action.OpenUrl', title: 'Runbook', url: runbook });
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          ...(actions.length > 0 && { actions }),
          msteams: { width: 'Full' },
        },
      },
    ],
  };
}

function alertContainer(alert: Alert): TeamsElement {
  const since = alert.status === 'firing' ? alert.startsAt : (alert.endsAt ?? alert.startsAt);
  const items: TeamsElement[] = [
    {
      type: 'TextBlock',
      text: `**${escapeTeams(alertSubject(alert))}** · ${alertSeverity(alert) ?? 'no severity'} · ${alert.status === 'firing' ? 'firing since' : 'resolved at'} ${rfc3339(since)}`,
      wrap: true,
    },
  ];
  const { summary, description } = alert.annotations;
  if (summary !== undefined)
    items.push({ type: 'TextBlock', text: truncate(escapeTeams(summary), 2000), wrap: true });
  if (description !== undefined && description !== summary)
    items.push({
      type: 'TextBlock',
      text: truncate(escapeTeams(description), 2000),
      wrap: true,
      isSubtle: true,
    });
  return { type: 'Container', separator: true, items };
}

/**
 * Creates a Teams notifier.
 *
 * @example
 * createTeamsNotifier('ml-oncall', { type: 'teams', webhookUrl: process.env.TEAMS_WEBHOOK_URL ?? '' });
 */
export function createTeamsNotifier(name: string, config: TeamsConfig): Notifier {
  const redact = secretRedactor([], [config.webhookUrl]);
  return {
    type: 'teams',
    name,
    send(group: NotificationGroup, context: NotifierContext): Promise<DeliveryResult> {
      const body = JSON.stringify(teamsMessage(group));
      return postAndClassify({ url: config.webhookUrl, body }, context, 'Teams workflow', redact);
    },
  };
}

/** The `teams` notifier plugin: its config schema and factory (registered in `index.ts`). */
export const teamsPlugin = {
  configSchema: teamsConfigSchema,
  create: createTeamsNotifier,
} satisfies NotifierPlugin<typeof teamsConfigSchema>;
