import { Ajv } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpContractHarness, notifierContract } from './contract.js';
import { createDiscordNotifier, DISCORD_MAX_EMBEDS, type DiscordMessage, discordMessage } from './discord.js';
import { alert, context, group, resolvedAlert } from './fixtures/alerts.js';
import {
  type HttpReceiver,
  type ReceivedRequest,
  type Reply,
  startHttpReceiver,
} from './fixtures/http-receiver.js';

const HOOK_PATH = '/api/webhooks/123456789012345678/Secr3tT0kenXYZ';

/**
 * Discord's Execute Webhook body and its documented limits (discord.com/developers/docs/resources/webhook,
 * resources/message "Embed Limits"): content ≤ 2000, ≤ 10 embeds, title ≤ 256, description ≤ 4096,
 * ≤ 25 fields (name ≤ 256, value ≤ 1024), color an RGB integer, timestamp ISO 8601; the 6000-character
 * total across embeds is checked by the receiver below.
 */
const executeWebhook = {
  type: 'object',
  additionalProperties: false,
  anyOf: [{ required: ['content'] }, { required: ['embeds'] }],
  properties: {
    content: { type: 'string', maxLength: 2000 },
    username: { type: 'string', maxLength: 80 },
    embeds: {
      type: 'array',
      maxItems: 10,
      items: {
        type: 'object',
        additionalProperties: false,
        properties: {
          title: { type: 'string', maxLength: 256 },
          description: { type: 'string', maxLength: 4096 },
          url: { type: 'string', pattern: '^https?://' },
          color: { type: 'integer', minimum: 0, maximum: 0xffffff },
          timestamp: {
            type: 'string',
            pattern: '^\\d{4}-\\d\\d-\\d\\dT\\d\\d:\\d\\d:\\d\\d(\\.\\d+)?(Z|[+-]\\d\\d:\\d\\d)$',
          },
          fields: {
            type: 'array',
            maxItems: 25,
            items: {
              type: 'object',
              required: ['name', 'value'],
              additionalProperties: false,
              properties: {
                name: { type: 'string', minLength: 1, maxLength: 256 },
                value: { type: 'string', minLength: 1, maxLength: 1024 },
                inline: { type: 'boolean' },
              },
            },
          },
        },
      },
    },
    allowed_mentions: {
      type: 'object',
      additionalProperties: false,
      properties: { parse: { type: 'array', items: { enum: ['roles', 'users', 'everyone'] } } },
    },
  },
};
const validPayload = new Ajv({ allErrors: true }).compile(executeWebhook);

function embedChars(message: DiscordMessage): number {
  return message.embeds.reduce(
    (n, e) =>
      n +
      e.title.length +
      (e.description?.length ?? 0) +
      (e.fields ?? []).reduce((m, f) => m + f.name.length + f.value.length, 0),
    0,
  );
}

/** What Discord does: 400 with its error for a body it refuses, 204 No Content otherwise. */
function discord(request: ReceivedRequest): Reply {
  if (request.url !== HOOK_PATH)
    return { status: 404, body: '{"message": "Unknown Webhook", "code": 10015}' };
  let payload: DiscordMessage;
  try {
    payload = JSON.parse(request.body) as DiscordMessage;
  } catch {
    return { status: 400, body: '{"message": "Cannot send an empty message", "code": 50006}' };
  }
  if (!validPayload(payload) || embedChars(payload) > 6000)
    return {
      status: 400,
      body: JSON.stringify({ code: 50035, message: 'Invalid Form Body', errors: validPayload.errors }),
    };
  return { status: 204 };
}

notifierContract(
  'discord',
  httpContractHarness({
    create: (origin) =>
      createDiscordNotifier('contract', { type: 'discord', webhookUrl: `${origin}${HOOK_PATH}` }),
    statusOf: (body) =>
      (JSON.parse(body) as DiscordMessage).content.startsWith('[RESOLVED]') ? 'resolved' : 'firing',
    secrets: [HOOK_PATH, 'Secr3tT0kenXYZ'],
    handler: discord,
  }),
);

describe('discord notifier', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver(discord);
  });
  afterAll(() => receiver.close());

  it('posts content and one embed per alert, which the receiver accepts (204)', async () => {
    const notifier = createDiscordNotifier('ml', {
      type: 'discord',
      webhookUrl: `${receiver.origin}${HOOK_PATH}`,
    });
    expect(await notifier.send(group(), context())).toEqual({ ok: true, detail: 'HTTP 204' });
    const body = JSON.parse(receiver.requests.at(-1)?.body ?? '{}') as DiscordMessage;
    expect(body.content).toBe(
      '[CRITICAL] credit-scorer/integrity unhealthy: credit-scorer/integrity is unhealthy in eu-west',
    );
    expect(body.allowed_mentions).toEqual({ parse: [] });
    expect(body.embeds[0]).toMatchObject({
      title: 'FIRING · credit-scorer/integrity',
      color: 0xd83c3e,
      url: 'http://vigil.example.com/checks/credit-scorer/integrity',
    });
    expect(body.embeds[0]?.fields).toContainEqual({ name: 'region', value: 'eu-west', inline: true });
  });

  it('stays within Discord’s limits for a large group with long texts', () => {
    const long = 'x'.repeat(5000);
    const alerts = Array.from({ length: 14 }, (_, i) =>
      alert({
        fingerprint: `fp${i}`,
        labels: { check: `c${i}` },
        annotations: { summary: long, description: `${long}y` },
      }),
    );
    const message = discordMessage(group(alerts));
    expect(message.embeds).toHaveLength(DISCORD_MAX_EMBEDS);
    expect(message.content).toMatch(/\(\+4 more not shown\)$/);
    expect(validPayload(message)).toBe(true);
    expect(embedChars(message)).toBeLessThanOrEqual(6000);
  });

  it('colours a resolved alert green; the receiver refuses a body past the limits (the check can fail)', () => {
    expect(discordMessage(group([resolvedAlert()])).embeds[0]?.color).toBe(0x2e9e5b);
    expect(validPayload({ content: 'x'.repeat(2001) })).toBe(false);
  });
});
