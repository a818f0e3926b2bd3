/**
 * An action's credentials (a webhook's `secret` and headers, a command's secret-named `env` values and
 * `Authorization:` / `--password=` arguments) never reach a reader: not `vigil validate`'s diagnostics,
 * not the hub's logs, not the stored runs, not the API (`/api/v1/actions`, `/api/v1/incidents/:id`),
 * not the event stream, not the notifications — even when the command prints them and the webhook
 * receiver echoes them. Real hub, real SQLite, a real command, real HTTP receivers on loopback.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNotifiers } from '../alerting/notifiers/index.js';
import { createApi } from '../api/app.js';
import { parseConfig } from '../config/index.js';
import { createHub, type Hub } from '../hub/hub.js';
import type { HubEvent } from '../hub/types.js';
import { openStore } from '../store/index.js';
import type { ActionRun, Store } from '../store/types.js';

const HOOK_SECRET = 'hook-hmac-secret-5e1f';
const HOOK_BEARER = 'hook-bearer-token-a9c2';
const ENV_TOKEN = 'env-api-token-77d3';
const ARG_PASSWORD = 'argv-password-c41b';
const ARG_BEARER = 'argv-bearer-0b6e';
const SECRETS = [HOOK_SECRET, HOOK_BEARER, ENV_TOKEN, ARG_PASSWORD, ARG_BEARER];
const leaks = (text: string) => SECRETS.filter((s) => text.includes(s));
const WAIT = { timeout: 30_000, interval: 50 };

describe('vigil validate never shows an action credential', () => {
  it.each([
    ['a webhook secret written as a number', 'secret: 5551234567', '5551234567'],
    ['a webhook secret of the wrong type', `secret: ["${HOOK_SECRET}"]`, HOOK_SECRET],
    ['a webhook header value of the wrong type', 'headers: { Authorization: 99887766 }', '99887766'],
    ['webhook headers written as one string', `headers: "Authorization: Bearer ${HOOK_BEARER}"`, HOOK_BEARER],
    ['a webhook URL that does not parse', 'url: "not a url tok-93b1"', 'tok-93b1'],
  ])('%s', (_name, line, secret) => {
    const yaml = `
targets:
  - name: a
    url: http://127.0.0.1:1
    protocol: http
    checks: { liveness: {} }
    actions:
      onUnhealthy:
        - kind: webhook
          ${line.startsWith('url:') ? '' : 'url: https://platform.example.com/restart\n          '}${line}
`;
    const result = parseConfig(yaml, { file: 'vigil.yaml', baseDir: tmpdir() });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics.join('\n')).toContain('targets[0].actions.onUnhealthy[0]');
    expect(result.diagnostics.join('\n')).toContain('[REDACTED]');
    expect(result.diagnostics.join('\n')).not.toContain(secret);
  });

  it('hides a command env value with a credential name, in a check-level block too', () => {
    const yaml = `
targets:
  - name: a
    url: http://127.0.0.1:1
    protocol: http
    checks:
      liveness:
        actions:
          onUnhealthy:
            - kind: command
              command: ["/bin/true"]
              env: { API_TOKEN: 31415926, REGION: 271828 }
`;
    const result = parseConfig(yaml, { baseDir: tmpdir() });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.diagnostics).toEqual([
      'line 12, column 22: targets[0].checks.liveness.actions.onUnhealthy[0].env.API_TOKEN: expected a string, got [REDACTED]',
      'line 12, column 43: targets[0].checks.liveness.actions.onUnhealthy[0].env.REGION: expected a string, got 271828',
    ]);
  });

  it("adds literal action credentials to the loaded config's redactor", () => {
    const result = parseConfig(
      `
targets:
  - name: a
    url: http://127.0.0.1:1
    protocol: http
    checks: { liveness: {} }
    actions:
      onUnhealthy:
        - kind: webhook
          url: "https://platform.example.com/restart?api_key=qk-6f0a&team=risk"
          secret: ${HOOK_SECRET}
          headers: { Authorization: "Bearer ${HOOK_BEARER}", Content-Type: application/json }
        - kind: command
          command: ["curl", "-H", "Authorization: Bearer ${ARG_BEARER}", "--password=${ARG_PASSWORD}"]
          env: { API_TOKEN: ${ENV_TOKEN}, REGION: eu-west-1 }
`,
      { baseDir: tmpdir() },
    );
    if (!result.ok) throw new Error(result.diagnostics.join('\n'));
    const text = `${SECRETS.join(' ')} qk-6f0a eu-west-1 application/json risk`;
    expect(result.redact(text)).toBe(
      '[REDACTED] [REDACTED] [REDACTED] [REDACTED] [REDACTED] [REDACTED] eu-west-1 application/json risk',
    );
  });
});

describe('action credentials stay out of logs, stored runs, the API, events and notifications', () => {
  let dir: string;
  let store: Store;
  let hub: Hub;
  let app: FastifyInstance;
  let target: Server;
  let platform: Server;
  let notified: Server;
  const platformGot: string[] = [];
  const notifications: string[] = [];
  const logs: string[] = [];
  const events: HubEvent[] = [];

  const listen = async (server: Server) => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-action-secrets-'));
    // The model endpoint: always failing, so the chain runs both steps.
    target = createServer((_req, res) => {
      res.statusCode = 500;
      res.end('down');
    });
    // The platform's restart endpoint: refuses, echoing every request header in its answer.
    platform = createServer((req, res) => {
      req.resume();
      platformGot.push(JSON.stringify(req.headers));
      res.statusCode = 400;
      res.end(JSON.stringify({ refused: true, headers: req.headers }));
    });
    notified = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => {
        body += c;
      });
      req.on('end', () => {
        notifications.push(body);
        res.end('ok');
      });
    });
    const [targetUrl, platformUrl, notifyUrl] = await Promise.all([
      listen(target),
      listen(platform),
      listen(notified),
    ]);
    // The command prints its environment's token and its password argument.
    const loaded = parseConfig(
      `
defaults: { interval: 200ms, timeout: 150ms, failureThreshold: 2, fastInterval: 100ms }
targets:
  - name: scorer
    url: ${targetUrl}
    protocol: http
    checks: { liveness: {} }
    actions:
      onUnhealthy:
        - kind: command
          name: restart
          command: ["/bin/sh", "-c", "echo token=$API_TOKEN; echo $1 $2", "sh", "--password=${ARG_PASSWORD}", "Authorization: Bearer ${ARG_BEARER}"]
          env: { API_TOKEN: ${ENV_TOKEN} }
          escalateAfter: 300ms
        - kind: webhook
          name: platform
          url: ${platformUrl}/restart
          secret: ${HOOK_SECRET}
          headers: { Authorization: "Bearer ${HOOK_BEARER}" }
          escalateAfter: 300ms
      maxRuns: 1
      backoff: { initial: 100ms, max: 100ms }
alerting:
  routes: [{ notify: [hook], group_wait: 0s, group_interval: 100ms }]
  notifiers: { hook: { type: webhook, url: "${notifyUrl}/" } }
`,
      { baseDir: dir },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    store = await openStore(join(dir, 'vigil.db'));
    const alerting = loaded.config.alerting;
    if (alerting === undefined) throw new Error('no alerting');
    hub = createHub({
      plan: loaded.plan,
      store,
      redact: loaded.redact,
      flushIntervalMs: 20,
      alerting: { config: alerting, notifiers: createNotifiers(alerting.notifiers) },
      // As the daemon logs: the message through the config's redactor, the fields as they are.
      log: (level, message, fields) =>
        logs.push(`${level} ${loaded.redact(message)} ${JSON.stringify(fields)}`),
    });
    hub.subscribe((event) => events.push(event));
    await hub.start();
    app = await createApi({ hub });
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    await hub?.stop();
    await store?.close();
    for (const server of [target, platform, notified]) server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('runs both actions with the real credentials, and no reader sees one', {
    timeout: 180_000,
  }, async () => {
    // Both steps ran, then the limit paged.
    const runs = await vi.waitFor(async () => {
      const all = (await store.actionRuns()).reverse();
      expect(all.map((r) => [r.action, r.status])).toEqual([
        ['restart', 'succeeded'],
        ['platform', 'refused'],
        ['platform', 'skipped'],
      ]);
      return all;
    }, WAIT);
    // The credentials were really used: the receiver got the bearer token and a signature.
    expect(platformGot.join('\n')).toContain(`Bearer ${HOOK_BEARER}`);
    expect(platformGot.join('\n')).toContain('x-vigil-signature');
    // The command printed them; the stored output has them redacted.
    const [command, webhook] = runs as [ActionRun, ActionRun];
    expect(command.output).toBe(
      'exit 0\ntoken=[REDACTED]\n--password=[REDACTED] Authorization: Bearer [REDACTED]',
    );
    expect(command.what).toContain('--password=[REDACTED]');
    expect(webhook.output).toMatch(/^HTTP 400 from http:\/\/127\.0\.0\.1:\d+: /);
    expect(webhook.output).toContain('[REDACTED]');

    await vi.waitFor(() => {
      expect(notifications.join('\n')).toContain('VigilActionsExhausted');
    }, WAIT);
    await hub.flush();
    const get = async (url: string) => (await app.inject({ method: 'GET', url })).body;
    const [incident] = await store.incidents();
    const answers = [
      await get('/api/v1/actions'),
      await get(`/api/v1/incidents/${encodeURIComponent(incident?.id ?? '')}`),
    ];
    expect(answers[1]).toContain('"actions"');
    for (const [what, text] of [
      ['stored runs', JSON.stringify(runs)],
      ['API answers', answers.join('\n')],
      ['events', JSON.stringify(events.filter((e) => e.type === 'action'))],
      ['logs', logs.join('\n')],
      ['notifications', notifications.join('\n')],
    ] as const) {
      expect(leaks(text), what).toEqual([]);
    }
    expect(logs.some((line) => line.includes('action restart (command) for scorer/liveness unhealthy'))).toBe(
      true,
    );
  });
});
