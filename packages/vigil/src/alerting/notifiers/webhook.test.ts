import { createHmac, timingSafeEqual } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { httpContractHarness, notifierContract } from './contract.js';
import { alert, context, group, resolvedAlert, T0 } from './fixtures/alerts.js';
import { type HttpReceiver, startHttpReceiver } from './fixtures/http-receiver.js';
import { createWebhookNotifier, type WebhookBody, webhookConfigSchema } from './webhook.js';

const SECRET = 'whsec-contract-0123456789';
const PATH = '/hooks/vigil-T0KEN-abcdefgh';
const QUERY = 'token=qs-secret-999';

notifierContract(
  'webhook',
  httpContractHarness({
    create: (origin) =>
      createWebhookNotifier(
        'contract',
        webhookConfigSchema.parse({ type: 'webhook', url: `${origin}${PATH}?${QUERY}`, secret: SECRET }),
      ),
    statusOf: (body) => (JSON.parse(body) as WebhookBody).status,
    secrets: [SECRET, PATH, 'vigil-T0KEN-abcdefgh', QUERY, 'qs-secret-999'],
  }),
);

/** The documented recipe (see signatureHeader), written out independently of the notifier's code. */
function verify(header: string, rawBody: string, secret: string, nowSeconds: number): boolean {
  const parts = header.split(',').map((part) => part.split('=', 2) as [string, string]);
  const t = parts.find(([key]) => key === 't')?.[1];
  const signatures = parts.filter(([key]) => key === 'v1').map(([, value]) => value);
  if (t === undefined || Math.abs(nowSeconds - Number(t)) > 300) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${rawBody}`).digest('hex'));
  return signatures.some(
    (sig) => sig.length === expected.length && timingSafeEqual(Buffer.from(sig), expected),
  );
}

describe('webhook notifier', () => {
  let receiver: HttpReceiver;
  beforeAll(async () => {
    receiver = await startHttpReceiver();
  });
  afterAll(() => receiver.close());

  const create = (extra: Record<string, unknown> = {}) =>
    createWebhookNotifier(
      'ops',
      webhookConfigSchema.parse({
        type: 'webhook',
        url: `${receiver.origin}/hook`,
        secret: SECRET,
        ...extra,
      }),
    );

  async function deliver(extra: Record<string, unknown> = {}, sent = group()) {
    const before = receiver.requests.length;
    const result = await create(extra).send(sent, context());
    expect(result).toEqual({ ok: true, detail: 'HTTP 200' });
    expect(receiver.requests.length).toBe(before + 1);
    const request = receiver.requests.at(-1);
    if (request === undefined) throw new Error('no request');
    return request;
  }

  it('signs the raw body so that the documented recipe verifies it', async () => {
    const request = await deliver();
    const header = request.headers['x-vigil-signature'];
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    const now = Math.floor(Date.now() / 1000);
    expect(verify(String(header), request.body, SECRET, now)).toBe(true);
    expect(verify(String(header), request.body, 'wrong-secret', now)).toBe(false);
    expect(verify(String(header), request.body.replace('firing', 'resolved'), SECRET, now)).toBe(false);
    // A replay ten minutes later is outside the tolerance.
    expect(verify(String(header), request.body, SECRET, now + 600)).toBe(false);
  });

  it('sends Idempotency-Key and no signature without a secret', async () => {
    const request = await deliver({ secret: undefined });
    expect(request.headers['idempotency-key']).toBe('delivery-0001');
    expect(request.headers['x-vigil-signature']).toBeUndefined();
    expect(request.headers['content-type']).toBe('application/json');
  });

  it('adds configured headers but never lets them replace its own', async () => {
    const request = await deliver({
      headers: { Authorization: 'Bearer abc', 'idempotency-key': 'forged', 'Content-Type': 'text/plain' },
    });
    expect(request.headers.authorization).toBe('Bearer abc');
    expect(request.headers['idempotency-key']).toBe('delivery-0001');
    expect(request.headers['content-type']).toBe('application/json');
  });

  it('posts the version 1 body with RFC 3339 times', async () => {
    const sent = group([alert(), resolvedAlert({ fingerprint: 'bb11', labels: { check: 'liveness' } })]);
    const body = JSON.parse((await deliver({}, sent)).body) as WebhookBody;
    expect(body).toEqual({
      version: '1',
      groupKey: sent.groupKey,
      receiver: 'test',
      status: 'firing',
      alerts: [
        {
          status: 'firing',
          fingerprint: 'f1a2b3c4d5e6f708',
          labels: sent.alerts[0]?.labels,
          annotations: sent.alerts[0]?.annotations,
          startsAt: '2025-01-31T12:00:00.000Z',
          endsAt: null,
          generatorURL: 'http://vigil.example.com/checks/credit-scorer/integrity',
        },
        expect.objectContaining({
          status: 'resolved',
          fingerprint: 'bb11',
          endsAt: '2025-01-31T12:01:00.000Z',
        }),
      ],
      groupLabels: { target: 'credit-scorer' },
      commonLabels: sent.commonLabels,
      commonAnnotations: {},
    });
    expect(new Date(body.alerts[0]?.startsAt ?? '').getTime()).toBe(T0);
  });

  it('rejects unknown keys and non-http URLs in its config', () => {
    expect(
      webhookConfigSchema.safeParse({ type: 'webhook', url: 'ftp://x', secrets: 'a' }).error?.issues,
    ).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ path: ['url'] }),
        expect.objectContaining({ code: 'unrecognized_keys', keys: ['secrets'] }),
      ]),
    );
  });
});
