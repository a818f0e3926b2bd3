/**
 * Email notifier: one message per group over SMTP, with nodemailer.
 *
 * - Subject: the group title, `[CRITICAL] credit-scorer/integrity unhealthy` or
 *   `[RESOLVED] credit-scorer/integrity unhealthy` (see `groupTitle` in format.ts).
 * - Bodies: plain text, and simple HTML in which every label, annotation and URL is escaped.
 * - Header `X-Vigil-Idempotency-Key: <group.idempotencyKey>`, for mail filters that dedupe.
 *
 * Transport security follows Alertmanager's email receiver: `secure` is implicit TLS (default: on for
 * port 465), and `requireTls` (Alertmanager's `require_tls`, default true) refuses to send unless STARTTLS
 * succeeds; with it off, STARTTLS is still used when the server offers it.
 *
 * Outcome: accepted by the server → ok; an SMTP 5xx reply (other than 503) → not retried (RFC 5321:
 * permanent, e.g. 550 mailbox unavailable, 535 authentication failed); 4xx replies, connection and
 * socket errors → retried; SMTP has no Retry-After, so `retryAfterMs` is never set. The password never
 * appears in errors.
 */
import nodemailer from 'nodemailer';
import addressparser from 'nodemailer/lib/addressparser';
import { z } from 'zod';
import { GOT } from '../../diagnostics/messages.js';
import type {
  Alert,
  DeliveryResult,
  NotificationGroup,
  Notifier,
  NotifierContext,
  NotifierPlugin,
} from '../types.js';
import { alertSeverity, alertSubject, escapeHtml, formatLabels, groupTitle, rfc3339 } from './format.js';
import { abortMessage, secretRedactor } from './http.js';
import { secretString } from './schema.js';

const ADDRESS_EXAMPLE = '"oncall@example.com" or "Ops <oncall@example.com>"';

/**
 * One mailbox, as nodemailer reads it (its own address parser, so what passes here is what it sends to):
 * a bare address or `Name <address>`; several addresses in one string are refused, list them instead.
 */
const address = z
  .string({
    error: (issue) =>
      issue.input === undefined
        ? 'required'
        : `expected an email address like ${ADDRESS_EXAMPLE}, got ${GOT}`,
  })
  .superRefine((text, ctx) => {
    const problem = addressProblem(text);
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem, input: text });
  });

function addressProblem(text: string): string | undefined {
  const mailboxes = addressparser(text, { flatten: true });
  if (mailboxes.length > 1) return `expected one address per entry (make a list), got ${GOT}`;
  const mailbox = mailboxes[0]?.address ?? '';
  if (!/^[^\s@]+@[^\s@.][^\s@]*$/.test(mailbox) || mailbox.endsWith('.')) {
    return `expected an email address like ${ADDRESS_EXAMPLE}, got ${GOT}`;
  }
  return undefined;
}

/** Config of an `email` notifier. */
export const emailConfigSchema = z
  .strictObject({
    type: z.literal('email'),
    host: z.string().min(1).describe('SMTP server host name, e.g. "smtp.example.com".'),
    port: z.int().min(1).max(65535).default(587).describe('SMTP port; default 587 (submission).'),
    secure: z.boolean().optional().describe('Implicit TLS from the first byte; default: true on port 465.'),
    requireTls: z
      .boolean()
      .default(true)
      .describe('Send only over STARTTLS (Alertmanager’s require_tls); default true.'),
    username: z.string().min(1).optional().describe('SMTP AUTH user name; no AUTH when absent.'),
    password: secretString(`SMTP AUTH password, e.g. "\${SMTP_PASSWORD}"; a secret.`).optional(),
    from: address.describe('Sender, e.g. "Vigil <vigil@example.com>".'),
    to: z.array(address).min(1).describe('Recipients.'),
  })
  .superRefine(
    (config, ctx) => {
      if ((config.username === undefined) === (config.password === undefined)) return;
      // Reported at the key that is missing, so that the diagnostic points at the block to fix.
      ctx.addIssue({
        code: 'custom',
        path: [config.username === undefined ? 'username' : 'password'],
        message: 'username and password go together: give both or neither',
      });
    },
    { when: () => true },
  )
  .meta({ id: 'EmailNotifier', description: 'Sends one email per notification over SMTP.' });

/** A parsed `email` notifier config. */
export type EmailConfig = z.output<typeof emailConfigSchema>;

/** Subject, text and HTML of a group's message. */
export interface EmailContent {
  subject: string;
  text: string;
  html: string;
}

/** Builds the message of a group. Every value in `html` is escaped. */
export function emailContent(group: NotificationGroup): EmailContent {
  const subject = groupTitle(group);
  const text = [subject, '', ...group.alerts.flatMap((alert) => [...alertText(alert), ''])].join('\n');
  const html = [
    '<!doctype html><html><body style="font-family:sans-serif">',
    `<h2>${escapeHtml(subject)}</h2>`,
    ...group.alerts.map(alertHtml),
    '</body></html>',
  ].join('\n');
  return { subject, text, html };
}

function alertHeading(alert: Alert): string {
  const when =
    alert.status === 'firing'
      ? `since ${rfc3339(alert.startsAt)}`
      : `resolved at ${rfc3339(alert.endsAt ?? alert.startsAt)}`;
  return `${alert.status.toUpperCase()} ${alertSubject(alert)} (${alertSeverity(alert) ?? 'no severity'}), ${when}`;
}

function alertText(alert: Alert): string[] {
  const { summary, description, runbook_url: runbook } = alert.annotations;
  return [
    alertHeading(alert),
    ...(summary === undefined ? [] : [`  ${summary}`]),
    ...(description === undefined || description === summary ? [] : [`  ${description}`]),
    `  Labels: ${formatLabels(alert.labels)}`,
    ...(alert.generatorURL === undefined ? [] : [`  Vigil: ${alert.generatorURL}`]),
    ...(runbook === undefined ? [] : [`  Runbook: ${runbook}`]),
  ];
}

function alertHtml(alert: Alert): string {
  const { summary, description, runbook_url: runbook } = alert.annotations;
  const labels = Object.keys(alert.labels)
    .sort()
    .map((key) => `<code>${escapeHtml(key)}=${escapeHtml(alert.labels[key] ?? '')}</code>`)
    .join(' ');
  const links = [
    alert.generatorURL === undefined ? '' : `<a href="${escapeHtml(alert.generatorURL)}">Open in Vigil</a>`,
    runbook === undefined ? '' : `<a href="${escapeHtml(runbook)}">Runbook</a>`,
  ].filter((link) => link !== '');
  return [
    '<div style="margin-bottom:1em">',
    `<h3>${escapeHtml(alertHeading(alert))}</h3>`,
    summary === undefined ? '' : `<p>${escapeHtml(summary)}</p>`,
    description === undefined || description === summary ? '' : `<p>${escapeHtml(description)}</p>`,
    `<p>${labels}</p>`,
    links.length === 0 ? '' : `<p>${links.join(' · ')}</p>`,
    '</div>',
  ]
    .filter((line) => line !== '')
    .join('\n');
}

/**
 * Creates an email notifier. A new SMTP connection is opened per message (no pool: notifications are
 * rare, and a broken pooled connection would fail the next page).
 *
 * @example
 * createEmailNotifier('mail', emailConfigSchema.parse({ type: 'email', host: 'smtp.example.com', from: 'vigil@example.com', to: ['oncall@example.com'] }));
 */
export function createEmailNotifier(name: string, config: EmailConfig): Notifier {
  const secure = config.secure ?? config.port === 465;
  const transport = nodemailer.createTransport({
    host: config.host,
    port: config.port,
    secure,
    requireTLS: !secure && config.requireTls,
    ...(config.username !== undefined && { auth: { user: config.username, pass: config.password ?? '' } }),
  });
  const redact = secretRedactor([config.password]);
  const where = `SMTP ${config.host}:${config.port}`;
  return {
    type: 'email',
    name,
    async send(group: NotificationGroup, context: NotifierContext): Promise<DeliveryResult> {
      const startedAt = context.now();
      const content = emailContent(group);
      try {
        const info = await transport.sendMail({
          from: config.from,
          to: config.to,
          subject: content.subject,
          text: content.text,
          html: content.html,
          headers: { 'X-Vigil-Idempotency-Key': group.idempotencyKey },
          signal: context.signal,
        });
        return { ok: true, detail: `accepted by ${where}: ${info.response}` };
      } catch (error) {
        if (context.signal.aborted) {
          const elapsedMs = Math.max(0, context.now() - startedAt);
          return {
            ok: false,
            retryable: true,
            error: redact(`${where}: ${abortMessage(context.signal, elapsedMs)}`),
          };
        }
        return smtpFailure(error, where, redact);
      }
    },
  };
}

/** The `email` notifier plugin: its config schema and factory (registered in `index.ts`). */
export const emailPlugin = {
  configSchema: emailConfigSchema,
  create: createEmailNotifier,
} satisfies NotifierPlugin<typeof emailConfigSchema>;

function smtpFailure(error: unknown, where: string, redact: (text: string) => string): DeliveryResult {
  const { responseCode, code, message } = error as {
    responseCode?: unknown;
    code?: unknown;
    message?: unknown;
  };
  const text = typeof message === 'string' ? message : String(error);
  const isPermanent =
    typeof responseCode === 'number'
      ? responseCode >= 500 && responseCode < 600 && responseCode !== 503
      : code === 'EENVELOPE' || code === 'EMESSAGE';
  const codePart = typeof code === 'string' ? `${code}: ` : '';
  return { ok: false, retryable: !isPermanent, error: redact(`${where}: ${codePart}${text}`) };
}
