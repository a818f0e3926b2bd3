import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpContractHarness, notifierContract } from './contract.js';
import { alert, context, group, resolvedAlert } from './fixtures/alerts.js';
import {
  type HttpReceiver,
  type ReceivedRequest,
  type Reply,
  startHttpReceiver,
} from './fixtures/http-receiver.js';
import { createTeamsNotifier, TEAMS_MAX_ALERTS, type TeamsMessage, teamsMessage } from './teams.js';

const HOOK_PATH =
  '/workflows/0123456789abcdef/triggers/manual/paths/invoke?api-version=1&sig=S3cretSignature';

/**
 * The documented workflow payload (learn.microsoft.com/en-us/connectors/teams, "Microsoft Teams
 * webhook"): a `message` with Adaptive Card attachments; and the Adaptive Card 1.4 elements used
 * (adaptivecards.io/explorer: TextBlock, Container, FactSet, Action.OpenUrl) with their allowed values.
 * Strict: a property the format does not have is a failure.
 */
const element = {
  $id: 'element',
  oneOf: [
    {
      type: 'object',
      required: ['type', 'text'],
      additionalProperties: false,
      properties: {
        type: { const: 'TextBlock' },
        text: { type: 'string', minLength: 1 },
        wrap: { type: 'boolean' },
        size: { enum: ['Default', 'Small', 'Medium', 'Large', 'ExtraLarge'] },
        weight: { enum: ['Default', 'Lighter', 'Bolder'] },
        color: { enum: ['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention'] },
        isSubtle: { type: 'boolean' },
      },
    },
    {
      type: 'object',
      required: ['type', 'items'],
      additionalProperties: false,
      properties: {
        type: { const: 'Container' },
        separator: { type: 'boolean' },
        items: { type: 'array', items: { $ref: 'element' } },
      },
    },
    {
      type: 'object',
      required: ['type', 'facts'],
      additionalProperties: false,
      properties: {
        type: { const: 'FactSet' },
        facts: {
          type: 'array',
          items: {
            type: 'object',
            required: ['title', 'value'],
            additionalProperties: false,
            properties: { title: { type: 'string' }, value: { type: 'string' } },
          },
        },
      },
    },
  ],
};
const workflowPayload = {
  type: 'object',
  required: ['type', 'attachments'],
  additionalProperties: false,
  properties: {
    type: { const: 'message' },
    attachments: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['contentType', 'content'],
        additionalProperties: false,
        properties: {
          contentType: { const: 'application/vnd.microsoft.card.adaptive' },
          contentUrl: { type: 'null' },
          content: {
            type: 'object',
            required: ['type', 'version', 'body'],
            additionalProperties: false,
            properties: {
              $schema: { const: 'http://adaptivecards.io/schemas/adaptive-card.json' },
              type: { const: 'AdaptiveCard' },
              // Teams renders up to 1.5 (Adaptive Cards' host support table).
              version: { enum: ['1.0', '1.1', '1.2', '1.3', '1.4', '1.5'] },
              body: { type: 'array', minItems: 1, items: { $ref: 'element' } },
              actions: {
                type: 'array',
                items: {
                  type: 'object',
                  required: ['type', 'url'],
                  additionalProperties: false,
                  properties: {
                    type: { const: 'Action.OpenUrl' },
                    title: { type: 'string' },
                    url: { type: 'string', format: 'uri' },
                  },
                },
              },
              msteams: {
                type: 'object',
                properties: { width: { const: 'Full' } },
                additionalProperties: false,
              },
            },
          },
        },
      },
    },
  },
};
const ajv = new Ajv({ allErrors: true, strict: false });
ajv.addFormat('uri', /^https?:\/\/\S+$/);
ajv.addSchema(element);
const validPayload = ajv.compile(workflowPayload);

/** What a workflow does: 400 for a payload it cannot read, 202 Accepted otherwise. */
function workflow(request: ReceivedRequest): Reply {
  if (request.url !== HOOK_PATH) return { status: 404, body: '{"error":{"code":"TriggerNotFound"}}' };
  let payload: unknown;
  try {
    payload = JSON.parse(request.body);
  } catch {
    return { status: 400, body: 'not JSON' };
  }
  if (!validPayload(payload)) return { status: 400, body: JSON.stringify(validPayload.errors) };
  return { status: 202 };
}

notifierContract(
  'teams',
  httpContractHarness({
    create: (origin) =>
      createTeamsNotifier('contract', { type: 'teams', webhookUrl: `${origin}${HOOK_PATH}` }),
    statusOf: (body) =>
      (JSON.parse(body) as TeamsMessage).attachments[0].content.body[0]?.type === 'TextBlock' &&
      JSON.stringify((JSON.parse(body) as TeamsMessage).attachments[0].content.body[0]).includes('"RESOLVED')
        ? 'resolved'
        : 'firing',
    secrets: [HOOK_PATH, 'S3cretSignature', '0123456789abcdef'],
    handler: workflow,
  }),
);

describe('teams notifier', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver(workflow);
  });
  afterAll(() => receiver.close());

  it('posts an Adaptive Card in the workflow envelope, which the receiver accepts (202)', async () => {
    const notifier = createTeamsNotifier('ml', {
      type: 'teams',
      webhookUrl: `${receiver.origin}${HOOK_PATH}`,
    });
    expect(await notifier.send(group(), context())).toEqual({ ok: true, detail: 'HTTP 202' });
    const request = receiver.requests.at(-1);
    expect(request?.headers['content-type']).toMatch(/^application\/json/);
    const card = (JSON.parse(request?.body ?? '{}') as TeamsMessage).attachments[0].content;
    expect(card.body[0]).toMatchObject({
      type: 'TextBlock',
      text: 'FIRING · CRITICAL · credit-scorer/integrity unhealthy',
      color: 'Attention',
    });
    expect(JSON.stringify(card.body)).toContain('not in \\\\[0, 1\\\\]');
    expect(card.actions?.[0]).toEqual({
      type: 'Action.OpenUrl',
      title: 'Open in Vigil',
      url: 'http://vigil.example.com/checks/credit-scorer/integrity',
    });
    expect(card.body.at(-1)).toMatchObject({
      type: 'FactSet',
      facts: expect.arrayContaining([{ title: 'region', value: 'eu-west' }]),
    });
  });

  it('is refused by the receiver when the payload is not the documented format (the check can fail)', () => {
    const message = teamsMessage(group()) as unknown as { attachments: { contentType: string }[] };
    message.attachments[0] = { ...message.attachments[0], contentType: 'application/json' } as never;
    expect(validPayload(message)).toBe(false);
  });

  it('shows at most 10 alerts, then "and N more"; a resolved group is green', () => {
    const alerts = Array.from({ length: 12 }, (_, i) =>
      alert({ fingerprint: `fp${i}`, labels: { check: `c${i}` } }),
    );
    const body = teamsMessage(group(alerts)).attachments[0].content.body;
    expect(body.filter((e) => e.type === 'Container')).toHaveLength(TEAMS_MAX_ALERTS);
    expect(body).toContainEqual({ type: 'TextBlock', text: '…and 2 more', wrap: true, isSubtle: true });
    const resolved = teamsMessage(group([resolvedAlert()])).attachments[0].content.body[0];
    expect(resolved).toMatchObject({ color: 'Good', text: expect.stringMatching(/^RESOLVED/) });
    expect(validPayload(teamsMessage(group(alerts)))).toBe(true);
  });
});
