/**
 * A receiver that is down for a while, through the real hub: example model servers on loopback, a
 * SQLite store in a temp dir, the webhook notifier, and two local receivers — one whose port is
 * closed, one that answers 503 — while alerts fire and resolve. Once they come up, every
 * notification arrives, in the order the hub produced it, once.
 *
 * The hub runs the dispatcher's default backoff (1 s, doubling, ±20 %; the hub passes no dispatcher
 * options through): the receivers stay down until the oldest notification has failed three times,
 * about 3 s, and the fourth try, about 4 s later, finds them up. The whole test takes about 10 s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelServer, type ModelServer } from '@vigil/example-model-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.js';
import { createHub } from '../hub/hub.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createNotifiers } from './notifiers/index.js';
import type { WebhookBody } from './notifiers/webhook.js';
import type { NotificationGroup } from './types.js';

const ADMIN_TOKEN = 't';

/** One request a receiver accepted (answered 200). */
interface Delivery {
  idempotencyKey: string;
  raw: string;
  body: WebhookBody;
}

/** A local webhook receiver that can be down: port closed, or answering 503. */
interface Receiver {
  readonly url: string;
  /** Accepted deliveries, in arrival order. */
  readonly deliveries: Delivery[];
  /** Requests answered 503 while down. */
  readonly refused: number;
  up(): Promise<void>;
  close(): Promise<void>;
}

function listen(server: Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function closeServer(server: Server): Promise<void> {
  if (!server.listening) return Promise.resolve();
  return new Promise((resolve) => {
    server.close(() => resolve());
    // The notifier's fetch keeps connections alive; they would hold close() open.
    server.closeAllConnections();
  });
}

/**
 * Starts a receiver that is down: `'closed'` reserves a loopback port and closes it (senders get
 * ECONNREFUSED) and listens on it again on `up()`; `'unavailable'` listens and answers 503 until `up()`.
 */
async function startReceiver(kind: 'closed' | 'unavailable'): Promise<Receiver> {
  const deliveries: Delivery[] = [];
  let refused = 0;
  let isDown = true;
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => {
      raw += chunk.toString();
    });
    req.on('end', () => {
      if (isDown) {
        refused++;
        res.writeHead(503).end();
        return;
      }
      deliveries.push({
        idempotencyKey: String(req.headers['idempotency-key']),
        raw,
        body: JSON.parse(raw) as WebhookBody,
      });
      res.writeHead(200).end();
    });
  });
  let port = await listen(server, 0);
  if (kind === 'closed') await closeServer(server);
  return {
    url: `http://127.0.0.1:${port}/hook`,
    deliveries,
    get refused() {
      return refused;
    },
    async up() {
      isDown = false;
      // The same port again: the notifier's URL is fixed. EADDRINUSE here means another process took
      // the port in the meantime (the test then fails saying so).
      if (!server.listening) port = await listen(server, port);
    },
    close: () => closeServer(server),
  };
}

async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function setFault(url: string, isOn: boolean): Promise<void> {
  const authorization = `Bearer ${ADMIN_TOKEN}`;
  const response = await fetch(
    `${url}/admin/faults/errors`,
    isOn
      ? { method: 'PUT', headers: { authorization, 'content-type': 'application/json' }, body: '{}' }
      : { method: 'DELETE', headers: { authorization } },
  );
  expect(response.status, `${isOn ? 'PUT' : 'DELETE'} ${url}/admin/faults/errors`).toBe(200);
}

function vigilConfig(targets: ReadonlyArray<{ name: string; url: string }>, hooks: Record<string, string>) {
  // Fast probing so that each fire / resolve takes well under a second; group_wait 0s and a short
  // group_interval so that each transition becomes its own notification at once.
  return `
defaults: { interval: 400ms, timeout: 300ms, failureThreshold: 2, fastInterval: 100ms }
targets:
${targets
  .map(
    (t) => `  - name: ${t.name}
    url: ${t.url}
    protocol: oip-v2
    model: credit-scorer
    checks:
      liveness: {}
      integrity:
        request:
          inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] }]
`,
  )
  .join('')}
alerting:
  routes: [{ match: { severity: critical }, notify: [${Object.keys(hooks).join(', ')}], group_wait: 0s, group_interval: 200ms }]
  notifiers:
${Object.entries(hooks)
  .map(([name, url]) => `    ${name}: { type: webhook, url: "${url}" }`)
  .join('\n')}
`;
}

/**
 * While both receivers are down: a fires, b fires, a resolves, b resolves, a fires and resolves again
 * (three episodes, two groups interleaved), and the notification each step produces.
 */
const STEPS = [
  { target: 'a', isFault: true, expect: 'firing a/integrity' },
  { target: 'b', isFault: true, expect: 'firing b/integrity' },
  { target: 'a', isFault: false, expect: 'resolved a/integrity' },
  { target: 'b', isFault: false, expect: 'resolved b/integrity' },
  { target: 'a', isFault: true, expect: 'firing a/integrity' },
  { target: 'a', isFault: false, expect: 'resolved a/integrity' },
] as const;

/** `firing a/integrity`: what a notification says, for comparing sequences. */
const describeGroup = (g: Pick<NotificationGroup | WebhookBody, 'status' | 'alerts'>) =>
  `${g.status} ${g.alerts.map((a) => `${a.labels.target}/${a.labels.check}`).join(',')}`;

describe('a receiver down for a while', () => {
  const servers = new Map<string, { server: ModelServer; url: string }>();
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-outage-'));
    for (const name of ['a', 'b']) {
      const server = await createModelServer({
        models: ['credit-scorer'],
        warmupInferences: 1,
        faults: { enabled: true, token: ADMIN_TOKEN },
      });
      servers.set(name, { server, url: await server.listen({ host: '127.0.0.1', port: 0 }) });
    }
  });
  afterAll(async () => {
    for (const { server } of servers.values()) await server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('gets every notification afterwards, in the order produced, without duplicates', {
    timeout: 90_000,
  }, async () => {
    const closed = await startReceiver('closed');
    const unavailable = await startReceiver('unavailable');
    const receivers = { closed, unavailable };
    let store: Store | undefined;
    const logs: string[] = [];
    /** What the hub produced, per receiver, oldest first (read from the outbox before anything went out). */
    let produced: Record<string, NotificationGroup[]> = {};
    try {
      const targets = [...servers].map(([name, s]) => ({ name, url: s.url }));
      const loaded = parseConfig(vigilConfig(targets, { closed: closed.url, unavailable: unavailable.url }), {
        baseDir: dir,
      });
      if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
      const alerting = loaded.config.alerting;
      if (!alerting) throw new Error('the config has no alerting section');
      const notifiers = createNotifiers(alerting.notifiers);
      store = await openStore(join(dir, 'vigil.db'));
      const hub = createHub({
        plan: loaded.plan,
        store,
        alerting: { config: alerting, notifiers },
        log: (level, message) => logs.push(`${level}: ${message}`),
      });
      await hub.start();
      const outbox = store;
      const stateOf = (target: string) =>
        hub.status().find((s) => s.checkId === `${target}/integrity`)?.state;
      try {
        await until('every check healthy', () => {
          const status = hub.status();
          return status.length === 4 && status.every((s) => s.state === 'healthy');
        });

        // While both receivers are down (see STEPS): each step waits until its notification is in the
        // outbox (one row per receiver), so the production order is the order of the steps.
        for (const [i, step] of STEPS.entries()) {
          await setFault(servers.get(step.target)?.url ?? '', step.isFault);
          const state = step.isFault ? 'unhealthy' : 'healthy';
          await until(`${step.target}/integrity ${state}`, () => stateOf(step.target) === state);
          await until(`notification ${i + 1} (${step.expect}) in the outbox`, async () => {
            const pending = await outbox.pendingNotifications();
            return pending.length === 2 * (i + 1) && pending;
          });
        }

        // Down for a while: until the oldest row has failed three times at each receiver (backoff
        // 1 s, 2 s: about 3 s after the first try; the next try comes about 4 s later).
        await until('a third failed attempt to each receiver', () =>
          ['closed', 'unavailable'].every((name) =>
            logs.some((l) => l.startsWith(`warn: notification to ${name} failed (attempt 3)`)),
          ),
        );
        expect(closed.deliveries).toEqual([]);
        expect(unavailable.deliveries).toEqual([]);
        expect(unavailable.refused).toBeGreaterThanOrEqual(3);
        expect(logs.some((l) => /^warn: notification to closed failed .*ECONNREFUSED/.test(l))).toBe(true);

        const pending = await outbox.pendingNotifications();
        produced = Object.fromEntries(
          Object.keys(receivers).map((name) => [
            name,
            pending.filter((n) => n.notifier === name).map((n) => n.payload as NotificationGroup),
          ]),
        );
        for (const groups of Object.values(produced)) {
          expect(groups.map(describeGroup)).toEqual(STEPS.map((s) => s.expect));
        }

        await Promise.all([closed.up(), unavailable.up()]);
        // The oldest row is one backoff step (4 s ± 20 %) from its next try; the rest wait behind it.
        await until(
          'every notification delivered',
          async () =>
            closed.deliveries.length >= STEPS.length &&
            unavailable.deliveries.length >= STEPS.length &&
            (await outbox.pendingNotifications()).length === 0,
          30_000,
        );
      } finally {
        await hub.stop();
      }
      // Nothing can arrive later: a row is sent only while pending, and none is (the hub has stopped,
      // its sends in flight finished).
      expect(await outbox.pendingNotifications()).toEqual([]);

      for (const [name, receiver] of Object.entries(receivers)) {
        const expected = produced[name] ?? [];
        const keys = receiver.deliveries.map((d) => d.idempotencyKey);
        // In order, every one, once: the arrival order is the production order, by idempotency key.
        expect(keys, name).toEqual(expected.map((g) => g.idempotencyKey));
        expect(new Set(keys).size, `${name}: distinct idempotency keys`).toBe(keys.length);
        expect(new Set(receiver.deliveries.map((d) => d.raw)).size, `${name}: distinct bodies`).toBe(
          keys.length,
        );
        expect(
          receiver.deliveries.map((d) => describeGroup(d.body)),
          name,
        ).toEqual(STEPS.map((s) => s.expect));
        // Each resolve arrives after its firing and names the same episode (same startsAt); no episode
        // is resolved twice.
        const resolvedEpisodes = new Set<string>();
        receiver.deliveries.forEach((d, i) => {
          for (const alert of d.body.alerts) {
            if (alert.status !== 'resolved') continue;
            const episode = `${alert.fingerprint}@${alert.startsAt}`;
            expect(resolvedEpisodes.has(episode), `${name}: ${episode} resolved once`).toBe(false);
            resolvedEpisodes.add(episode);
            const firedAt = receiver.deliveries.findIndex((f) =>
              f.body.alerts.some(
                (a) =>
                  a.status === 'firing' &&
                  a.fingerprint === alert.fingerprint &&
                  a.startsAt === alert.startsAt,
              ),
            );
            expect(
              firedAt,
              `${name}: firing of ${episode} arrived before its resolve`,
            ).toBeGreaterThanOrEqual(0);
            expect(firedAt).toBeLessThan(i);
            expect(alert.endsAt).not.toBeNull();
          }
        });
        expect(resolvedEpisodes.size).toBe(3);
      }
      expect(await store.pendingNotifications()).toEqual([]);
    } finally {
      await store?.close();
      await closed.close();
      await unavailable.close();
    }
  });
});
