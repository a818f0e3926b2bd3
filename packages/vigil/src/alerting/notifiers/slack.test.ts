import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpContractHarness, notifierContract } from './contract.js';
import { alert, context, group, resolvedAlert } from './fixtures/alerts.js';
import { type HttpReceiver, startHttpReceiver } from './fixtures/http-receiver.js';
import { createSlackNotifier, SLACK_MAX_ALERT_SECTIONS, type SlackMessage, slackMessage } from './slack.js';

const HOOK_PATH = '/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX';

notifierContract(
  'slack',
  httpContractHarness({
    create: (origin) =>
      createSlackNotifier('contract', { type: 'slack', webhookUrl: `${origin}${HOOK_PATH}` }),
    statusOf: (body) =>
      (JSON.parse(body) as SlackMessage).text.startsWith('[RESOLVED]') ? 'resolved' : 'firing',
    secrets: [HOOK_PATH, 'T00000000', 'B00000000', 'XXXXXXXXXXXXXXXXXXXXXXXX'],
    // Slack answers 200 "ok"; unknown hooks get 404 "no_service".
    handler: (request) =>
      request.url === HOOK_PATH ? { status: 200, body: 'ok' } : { status: 404, body: 'no_service' },
  }),
);

describe('slack notifier', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(() => receiver.close());

  it('posts {text, blocks} that read well on their own', async () => {
    const notifier = createSlackNotifier('chat', {
      type: 'slack',
      webhookUrl: `${receiver.origin}${HOOK_PATH}`,
    });
    expect(await notifier.send(group(), context())).toMatchObject({ ok: true });
    const body = JSON.parse(receiver.requests.at(-1)?.body ?? '{}') as SlackMessage;
    expect(Object.keys(body).sort()).toEqual(['blocks', 'text']);
    expect(body.text).toBe(
      '[CRITICAL] credit-scorer/integrity unhealthy: credit-scorer/integrity is unhealthy in eu-west',
    );
    expect(body.blocks[0]).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: ':red_circle: FIRING · CRITICAL · credit-scorer/integrity unhealthy',
        emoji: true,
      },
    });
    const section = body.blocks[1];
    expect(section?.type).toBe('section');
    const text = section?.type === 'section' ? section.text.text : '';
    expect(text).toContain('*credit-scorer/integrity* · critical · firing since <!date^');
    expect(text).toContain('not in [0, 1]');
    expect(text).toContain('<http://vigil.example.com/checks/credit-scorer/integrity|Open in Vigil>');
    expect(body.blocks.at(-1)).toEqual({
      type: 'context',
      elements: [{ type: 'mrkdwn', text: expect.stringContaining('region=eu-west · severity=critical') }],
    });
  });

  it('shows at most 10 alerts, then "and N more"', () => {
    const alerts = Array.from({ length: 12 }, (_, i) =>
      alert({ fingerprint: `fp${i}`, labels: { check: `c${i}` } }),
    );
    const message = slackMessage(group(alerts));
    const sections = message.blocks.filter((block) => block.type === 'section');
    expect(sections).toHaveLength(SLACK_MAX_ALERT_SECTIONS + 1);
    expect(sections.at(-1)).toEqual({ type: 'section', text: { type: 'mrkdwn', text: '…and 2 more' } });
    expect(message.text).toBe(
      '[CRITICAL] 12 checks unhealthy: credit-scorer/c0, credit-scorer/c1, credit-scorer/c2, …: credit-scorer/integrity is unhealthy in eu-west (+11 more)',
    );
  });

  it('says RESOLVED and escapes mrkdwn control characters', () => {
    const message = slackMessage(
      group([resolvedAlert({ annotations: { summary: 'a <script> & <!channel>' } })]),
    );
    expect(message.text).toBe(
      '[RESOLVED] credit-scorer/integrity unhealthy: a &lt;script&gt; &amp; &lt;!channel&gt;',
    );
    expect(message.blocks[0]).toMatchObject({
      text: { text: expect.stringMatching(/^:white_check_mark: RESOLVED/) },
    });
    expect(JSON.stringify(message.blocks)).not.toContain('<!channel>');
  });
});
