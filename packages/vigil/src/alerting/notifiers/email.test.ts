import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { notifierContract } from './contract.js';
import { createEmailNotifier, emailConfigSchema, emailContent } from './email.js';
import { alert, context, group, resolvedAlert } from './fixtures/alerts.js';
import { closedPort } from './fixtures/http-receiver.js';
import {
  decodeQuotedPrintable,
  mailHeader,
  type SmtpReceiver,
  startSmtpReceiver,
} from './fixtures/smtp-receiver.js';

const USER = 'vigil-smtp-user';
const PASSWORD = 's3cr3t-smtp-Passw0rd';

const config = (port: number, extra: Record<string, unknown> = {}) =>
  emailConfigSchema.parse({
    type: 'email',
    host: '127.0.0.1',
    port,
    requireTls: false,
    username: USER,
    password: PASSWORD,
    from: 'Vigil <vigil@example.com>',
    to: ['oncall@example.com', 'risk-team@example.com'],
    ...extra,
  });

let contractServer: SmtpReceiver | undefined;
const running = (): SmtpReceiver => {
  if (contractServer === undefined) throw new Error('SMTP receiver not started');
  return contractServer;
};

notifierContract('email', {
  async start() {
    contractServer = await startSmtpReceiver({ user: USER, password: PASSWORD });
  },
  stop: () => running().close(),
  create: () => createEmailNotifier('contract', config(running().port)),
  createUnreachable: async () => createEmailNotifier('contract', config(await closedPort())),
  setMode(mode) {
    running().mode = mode;
  },
  deliveries: () => running().mails.map((mail) => mail.raw),
  statusOf: (raw) => (mailHeader(raw, 'Subject')?.startsWith('[RESOLVED]') ? 'resolved' : 'firing'),
  textOf: decodeQuotedPrintable,
  secrets: [PASSWORD],
  hasRetryAfter: false,
});

describe('email notifier', () => {
  let server: SmtpReceiver;
  beforeAll(async () => {
    server = await startSmtpReceiver({ user: USER, password: PASSWORD });
  });
  afterAll(() => server.close());

  it('sends the group title as subject to every recipient, logged in as the user', async () => {
    const result = await createEmailNotifier('mail', config(server.port)).send(group(), context());
    expect(result).toMatchObject({ ok: true });
    const mail = server.mails.at(-1);
    expect(mail?.to).toEqual(['oncall@example.com', 'risk-team@example.com']);
    expect(mail?.from).toBe('vigil@example.com');
    expect(mail?.user).toBe(USER);
    expect(mailHeader(mail?.raw ?? '', 'Subject')).toBe('[CRITICAL] credit-scorer/integrity unhealthy');
    expect(mailHeader(mail?.raw ?? '', 'X-Vigil-Idempotency-Key')).toBe('delivery-0001');
  });

  it('marks a resolved group [RESOLVED]', async () => {
    await createEmailNotifier('mail', config(server.port)).send(group([resolvedAlert()]), context());
    expect(mailHeader(server.mails.at(-1)?.raw ?? '', 'Subject')).toBe(
      '[RESOLVED] credit-scorer/integrity unhealthy',
    );
  });

  it('escapes label values in the HTML body', async () => {
    const hostile = alert({ labels: { team: '<script>alert(1)</script>' } });
    const content = emailContent(group([hostile]));
    expect(content.html).not.toContain('<script>');
    expect(content.html).toContain('team=&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(content.text).toContain('team=<script>alert(1)</script>');

    await createEmailNotifier('mail', config(server.port)).send(group([hostile]), context());
    const raw = decodeQuotedPrintable(server.mails.at(-1)?.raw ?? '');
    const html = raw.slice(raw.indexOf('<!doctype html>'));
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
  });

  it('does not retry a wrong password (535), and does not show it', async () => {
    const notifier = createEmailNotifier('mail', config(server.port, { password: 'wrong-Passw0rd-123' }));
    const result = await notifier.send(group(), context());
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(!result.ok && result.error).toMatch(/535/);
    expect(!result.ok && result.error).not.toContain('wrong-Passw0rd-123');
  });

  it('needs username and password together, and at least one recipient', () => {
    const parsed = emailConfigSchema.safeParse({
      type: 'email',
      host: 'smtp.example.com',
      username: 'u',
      from: 'vigil@example.com',
      to: [],
    });
    const messages = parsed.error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];
    expect(messages).toEqual(expect.arrayContaining([expect.stringMatching(/^to: /)]));
    const onlyUsername = emailConfigSchema.safeParse({
      type: 'email',
      host: 'smtp.example.com',
      username: 'u',
      from: 'vigil@example.com',
      to: ['a@example.com'],
    });
    expect(onlyUsername.error?.issues[0]?.message).toBe(
      'username and password go together: give both or neither',
    );
  });

  it('defaults to port 587 with STARTTLS required (Alertmanager require_tls)', async () => {
    const base = { type: 'email', host: '127.0.0.1', from: 'v@example.com', to: ['a@example.com'] };
    expect(emailConfigSchema.parse(base)).toMatchObject({ port: 587, requireTls: true });
    // The test server offers no STARTTLS, so a notifier that requires it must refuse to send.
    const strict = createEmailNotifier('mail', emailConfigSchema.parse({ ...base, port: server.port }));
    const before = server.mails.length;
    expect(await strict.send(group(), context())).toMatchObject({ ok: false });
    expect(server.mails.length).toBe(before);
  });

  it('accepts a mailbox as nodemailer reads it, and refuses what it would not send to', () => {
    const messages = (address: string) =>
      emailConfigSchema
        .safeParse({ type: 'email', host: 'smtp.example.com', from: address, to: [address] })
        .error?.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`) ?? [];
    expect(messages('oncall@example.com')).toEqual([]);
    expect(messages('Ops Team <oncall@example.com>')).toEqual([]);
    expect(messages('root@localhost')).toEqual([]);
    for (const bad of ['oncall', 'oncall@', '@example.com', 'a@b@c', 'Ops <>']) {
      expect(messages(bad), bad).toEqual([
        'from: expected an email address like "oncall@example.com" or "Ops <oncall@example.com>", got {{got}}',
        'to.0: expected an email address like "oncall@example.com" or "Ops <oncall@example.com>", got {{got}}',
      ]);
    }
    expect(messages('a@example.com, b@example.com')).toEqual([
      'from: expected one address per entry (make a list), got {{got}}',
      'to.0: expected one address per entry (make a list), got {{got}}',
    ]);
  });
});
