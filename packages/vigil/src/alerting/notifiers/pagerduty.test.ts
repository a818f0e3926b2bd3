import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { httpContractHarness, notifierContract } from './contract.js';
import { alert, context, group, resolvedAlert } from './fixtures/alerts.js';
import { type HttpReceiver, startHttpReceiver } from './fixtures/http-receiver.js';
import { pagerdutyHandler } from './fixtures/pagerduty-receiver.js';
import {
  createPagerDutyNotifier,
  PAGERDUTY_EVENTS_URL,
  PAGERDUTY_SUMMARY_MAX,
  type PagerDutyEvent,
  pagerdutyConfigSchema,
  pagerdutyEvent,
} from './pagerduty.js';

/** 32 characters, as PagerDuty's integration keys are. */
const ROUTING_KEY = 'R0UT1NGK3Y0123456789abcdef012345';

const create = (url: string, routingKey = ROUTING_KEY) =>
  createPagerDutyNotifier('contract', pagerdutyConfigSchema.parse({ type: 'pagerduty', routingKey, url }));

notifierContract(
  'pagerduty',
  httpContractHarness({
    create: (origin) => create(`${origin}/v2/enqueue`),
    statusOf: (body) =>
      (JSON.parse(body) as PagerDutyEvent).event_action === 'resolve' ? 'resolved' : 'firing',
    secrets: [ROUTING_KEY],
    handler: pagerdutyHandler,
  }),
);

describe('pagerduty notifier', () => {
  let receiver: HttpReceiver;
  const events = () => receiver.requests.map((request) => JSON.parse(request.body) as PagerDutyEvent);
  const answers = () => receiver.requests.map((request) => request.status);

  beforeAll(async () => {
    receiver = await startHttpReceiver(pagerdutyHandler);
  });
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.mode = 'ok';
  });
  afterAll(() => receiver.close());

  it('defaults to the public Events API v2 endpoint', () => {
    expect(pagerdutyConfigSchema.parse({ type: 'pagerduty', routingKey: ROUTING_KEY }).url).toBe(
      'https://events.pagerduty.com/v2/enqueue',
    );
    expect(PAGERDUTY_EVENTS_URL).toBe('https://events.pagerduty.com/v2/enqueue');
  });

  it('triggers then resolves with the same dedup_key, both accepted with 202', async () => {
    const notifier = create(`${receiver.origin}/v2/enqueue`);
    expect(await notifier.send(group([alert()]), context())).toEqual({
      ok: true,
      detail: '1 of 1 events accepted',
    });
    expect(await notifier.send(group([resolvedAlert()]), context())).toMatchObject({ ok: true });
    const [trigger, resolve] = events();
    expect(trigger?.event_action).toBe('trigger');
    expect(resolve?.event_action).toBe('resolve');
    expect(trigger?.dedup_key).toBe('f1a2b3c4d5e6f708');
    expect(resolve?.dedup_key).toBe(trigger?.dedup_key);
    expect(answers()).toEqual([202, 202]);
    expect(receiver.requests.map((request) => request.url)).toEqual(['/v2/enqueue', '/v2/enqueue']);
  });

  it('fills the trigger payload from the alert', () => {
    expect(pagerdutyEvent(alert(), ROUTING_KEY)).toEqual({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: 'f1a2b3c4d5e6f708',
      client: 'Vigil',
      client_url: 'http://vigil.example.com/checks/credit-scorer/integrity',
      payload: {
        summary:
          '[CRITICAL] credit-scorer/integrity unhealthy: credit-scorer/integrity is unhealthy in eu-west',
        source: 'credit-scorer',
        severity: 'critical',
        timestamp: '2025-01-31T12:00:00.000Z',
        component: 'credit-scorer',
        group: 'eu-west',
        class: 'integrity',
        custom_details: { labels: alert().labels, annotations: alert().annotations },
      },
    });
  });

  it.each([
    ['critical', 'critical'],
    ['warning', 'warning'],
    ['info', 'info'],
    ['page-me', 'error'],
  ])('maps severity %s to %s', (severity, expected) => {
    expect(pagerdutyEvent(alert({ labels: { severity } }), ROUTING_KEY).payload?.severity).toBe(expected);
  });

  it('cuts the summary to 1024 characters', async () => {
    const long = alert({ annotations: { summary: 'x'.repeat(5000) } });
    expect(pagerdutyEvent(long, ROUTING_KEY).payload?.summary).toHaveLength(PAGERDUTY_SUMMARY_MAX);
    expect(await create(`${receiver.origin}/v2/enqueue`).send(group([long]), context())).toMatchObject({
      ok: true,
    });
  });

  it('does not retry a 400 (missing routing_key), and says what PagerDuty said', async () => {
    // The schema refuses an empty key; the factory alone does not, so the receiver's 400 can be seen.
    const notifier = createPagerDutyNotifier('pd', {
      type: 'pagerduty',
      routingKey: '',
      url: `${receiver.origin}/v2/enqueue`,
    });
    const result = await notifier.send(group(), context());
    expect(answers()).toEqual([400]);
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(!result.ok && result.error).toContain("'routing_key' is missing or blank");
  });

  it('does not retry a 400 for a malformed routing key, and hides the key', async () => {
    const result = await create(`${receiver.origin}/v2/enqueue`, 'short-key-42').send(group(), context());
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(!result.ok && result.error).toContain("Length of 'routing_key' is incorrect");
    expect(!result.ok && result.error).not.toContain('short-key-42');
  });

  it('hides a routing key echoed where the error text is cut', async () => {
    const echo = await startHttpReceiver(() => ({ status: 400, body: `${'x'.repeat(290)}${ROUTING_KEY}` }));
    try {
      const result = await create(`${echo.origin}/v2/enqueue`).send(group(), context());
      expect(result).toMatchObject({ ok: false, retryable: false });
      expect(!result.ok && result.error).not.toContain(ROUTING_KEY.slice(0, 8));
    } finally {
      await echo.close();
    }
  });

  it('sends one event per alert; a partial failure is retryable only if a retryable event failed', async () => {
    const alerts = [alert(), alert({ fingerprint: 'second', labels: { check: 'canary' } })];
    let calls = 0;
    // The second event fails with 500 (retryable), then with 400 (not retryable).
    const flaky = await startHttpReceiver((request) => {
      calls += 1;
      if (calls === 2) return { status: 500, body: 'oops' };
      if (calls === 4) return { status: 400, body: '{"status":"invalid event"}' };
      return pagerdutyHandler(request);
    });
    try {
      const notifier = create(`${flaky.origin}/v2/enqueue`);
      const first = await notifier.send(group(alerts), context());
      expect(first).toMatchObject({ ok: false, retryable: true });
      expect(!first.ok && first.error).toMatch(
        /^1 of 2 events accepted, 1 failed; first failure: .*HTTP 500/,
      );
      const second = await notifier.send(group(alerts), context());
      expect(second).toMatchObject({ ok: false, retryable: false });
      expect(flaky.requests.map((request) => request.status)).toEqual([202, 500, 202, 400]);
    } finally {
      await flaky.close();
    }
  });

  it('stops after a 429 and reports the rest as not sent, retryable after Retry-After', async () => {
    receiver.mode = 'rate-limit';
    const alerts = [alert(), alert({ fingerprint: 'b' }), alert({ fingerprint: 'c' })];
    const result = await create(`${receiver.origin}/v2/enqueue`).send(group(alerts), context());
    expect(receiver.requests).toHaveLength(1);
    expect(result).toMatchObject({ ok: false, retryable: true, retryAfterMs: 7000 });
    expect(!result.ok && result.error).toMatch(/^0 of 3 events accepted, 1 failed, 2 not sent/);
  });
});
