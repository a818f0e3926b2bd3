import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openStore, type Store } from '../store/index.js';
import type { CheckKind } from '../types.js';
import { alertsFromTransition } from './alerts.js';
import { createDispatcher, type Dispatcher, type DispatcherOptions } from './dispatcher.js';
import { plan, type RecordingNotifier, recordingNotifier, transition } from './fixtures/support.js';
import { createNotifier, createNotifiers } from './notifiers/index.js';
import { type AlertingConfigInput, parseAlertingConfig } from './routing.js';
import type { Alert, NotificationGroup } from './types.js';

const crashFixture = fileURLToPath(new URL('./fixtures/crash-dispatcher.ts', import.meta.url));
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));

const T = 1_700_000_000_000;
/** A valid notifier block for configs whose notifiers the test passes itself. */
const UNUSED_BLOCK = { type: 'webhook', url: 'http://127.0.0.1:9/unused' } as const;

function fire(kind: CheckKind, target = 'credit-scorer', at = T): Alert[] {
  return alertsFromTransition(transition(plan(kind, target), 'pending', 'unhealthy', at), plan(kind, target));
}
function resolve(kind: CheckKind, target = 'credit-scorer', at = T + 60_000): Alert[] {
  return alertsFromTransition(transition(plan(kind, target), 'unhealthy', 'healthy', at), plan(kind, target));
}
const summary = (g: NotificationGroup) =>
  g.alerts.map((a) => `${a.status} ${a.labels.target}/${a.labels.check}`).sort();

describe('dispatcher', () => {
  let store: Store;
  let pager: RecordingNotifier;
  let chat: RecordingNotifier;
  const dispatchers: Dispatcher[] = [];
  const logs: string[] = [];

  beforeEach(async () => {
    store = await openStore(':memory:');
    pager = recordingNotifier('pager');
    chat = recordingNotifier('chat');
    logs.length = 0;
  });
  afterEach(async () => {
    await Promise.all(dispatchers.splice(0).map((d) => d.stop()));
    await store.close();
  });

  function dispatcher(
    config: Partial<AlertingConfigInput> & { route?: Record<string, unknown> },
    extra: Partial<DispatcherOptions> = {},
  ): Dispatcher {
    const { route, ...rest } = config;
    const parsed = parseAlertingConfig({
      routes: [{ notify: ['pager'], group_wait: '0s', group_interval: '50ms', ...route }],
      // Valid blocks; the dispatcher sends through the notifiers it is given (recording fakes).
      notifiers: { pager: UNUSED_BLOCK, chat: UNUSED_BLOCK },
      ...rest,
    });
    if (!parsed.ok) throw new Error(parsed.diagnostics.join('\n'));
    const d = createDispatcher({
      store,
      notifiers: new Map([
        ['pager', pager],
        ['chat', chat],
      ]),
      config: parsed.config,
      backoff: { jitter: 0 },
      log: (level, message) => logs.push(`${level}: ${message}`),
      ...extra,
    });
    dispatchers.push(d);
    return d;
  }

  const pending = async () => (await store.pendingNotifications()).map((n) => n.payload as NotificationGroup);

  describe('grouping', () => {
    it('waits group_wait, then sends the alerts of one group in one notification', async () => {
      const d = dispatcher({ inhibit: false, route: { group_wait: '250ms', group_interval: '10s' } });
      await d.onAlerts(fire('readiness'));
      await d.onAlerts(fire('integrity'));
      await new Promise((r) => setTimeout(r, 40));
      expect(await pending()).toHaveLength(0);
      await vi.waitFor(async () => expect(await pending()).toHaveLength(1), { timeout: 2000, interval: 10 });
      const [group] = await pending();
      expect(group).toMatchObject({
        receiver: 'pager',
        status: 'firing',
        groupLabels: { alertname: 'VigilCheckUnhealthy', target: 'credit-scorer' },
        commonLabels: { alertname: 'VigilCheckUnhealthy', target: 'credit-scorer', team: 'risk' },
      });
      expect(summary(group as NotificationGroup)).toEqual([
        'firing credit-scorer/integrity',
        'firing credit-scorer/readiness',
      ]);
      await d.tick();
      expect(pager.calls.map(summary)).toEqual([summary(group as NotificationGroup)]);
    });

    it('splits groups by group_by values and notifies a change only after group_interval', async () => {
      const d = dispatcher({ inhibit: false, route: { group_interval: '600ms' } });
      await d.onAlerts([...fire('readiness', 'a'), ...fire('readiness', 'b')]);
      expect((await pending()).map((g) => g.groupLabels.target).sort()).toEqual(['a', 'b']);
      await d.onAlerts(fire('integrity', 'a'));
      await new Promise((r) => setTimeout(r, 100));
      expect(await pending()).toHaveLength(2);
      await vi.waitFor(async () => expect(await pending()).toHaveLength(3), { timeout: 2000, interval: 10 });
      expect(summary((await pending())[2] as NotificationGroup)).toEqual([
        'firing a/integrity',
        'firing a/readiness',
      ]);
    });

    it('sends resolved notifications, with the firing startsAt, and none when resolved is false', async () => {
      const d = dispatcher({ route: { group_interval: '30ms' } });
      await d.onAlerts(fire('liveness'));
      await d.onAlerts(resolve('liveness'));
      await vi.waitFor(async () => expect(await pending()).toHaveLength(2), { timeout: 2000, interval: 10 });
      const resolved = (await pending())[1] as NotificationGroup;
      expect(resolved.status).toBe('resolved');
      expect(resolved.alerts[0]).toMatchObject({ status: 'resolved', startsAt: T, endsAt: T + 60_000 });

      const quiet = dispatcher({ resolved: false, route: { group_interval: '30ms' } });
      await quiet.onAlerts(fire('liveness', 'other'));
      await quiet.onAlerts(resolve('liveness', 'other'));
      await new Promise((r) => setTimeout(r, 150));
      expect((await pending()).filter((g) => g.groupLabels.target === 'other').map((g) => g.status)).toEqual([
        'firing',
      ]);
    });

    it('re-sends an unchanged firing group after repeat_interval, as a new outbox row', async () => {
      const d = dispatcher({ route: { group_interval: '40ms', repeat_interval: '600ms' } });
      await d.onAlerts(fire('liveness'));
      await new Promise((r) => setTimeout(r, 150));
      expect(await store.pendingNotifications()).toHaveLength(1);
      await vi.waitFor(async () => expect(await store.pendingNotifications()).toHaveLength(2), {
        timeout: 2000,
        interval: 10,
      });
      const [first, repeat] = await store.pendingNotifications();
      expect(repeat?.dedupKey).toBe(`${first?.dedupKey}:repeat-1`);
    });

    it('routes to every receiver of the matched routes, one outbox row each', async () => {
      const d = dispatcher({
        routes: [
          { match: { severity: 'critical' }, notify: ['pager', 'chat'], group_wait: '0s', continue: true },
          { notify: ['chat'], group_wait: '0s', group_by: ['check'] },
        ],
      });
      await d.onAlerts(fire('liveness'));
      expect((await pending()).map((g) => `${g.receiver} ${g.groupKey}`).sort()).toEqual([
        'chat route[0]:{alertname="VigilCheckUnhealthy",target="credit-scorer"}',
        'chat route[1]:{check="liveness"}',
        'pager route[0]:{alertname="VigilCheckUnhealthy",target="credit-scorer"}',
      ]);
    });
  });

  describe('muting', () => {
    it('does not notify alerts under a stored or configured silence or in a maintenance window', async () => {
      const now = Date.now();
      await store.putSilence({
        matchers: [{ label: 'target', value: 'stored-.*', isRegex: true }],
        startsAt: now - 1000,
        endsAt: now + 60_000,
        createdBy: 'ops',
        comment: 'deploy',
      });
      const day = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'][new Date(now).getUTCDay()];
      const d = dispatcher({
        silences: [
          {
            matchers: [{ label: 'target', value: 'configured' }],
            startsAt: new Date(now - 1000).toISOString(),
            endsAt: new Date(now + 60_000).toISOString(),
            comment: 'planned',
          },
        ],
        maintenance: [
          {
            matchers: [{ label: 'target', value: 'maint' }],
            weekdays: [day as 'sun'],
            start: '00:00',
            duration: '24h',
          },
        ],
      });
      await d.onAlerts([
        ...fire('liveness', 'stored-x'),
        ...fire('liveness', 'configured'),
        ...fire('liveness', 'maint'),
      ]);
      await d.onAlerts(fire('liveness', 'loud'));
      expect((await pending()).map((g) => g.groupLabels.target)).toEqual(['loud']);
      expect(logs.filter((l) => l.includes('not notified'))).toHaveLength(3);
      expect(logs.join('\n')).toContain('silenced by');
      expect(logs.join('\n')).toContain('maintenance window');
    });

    it('mutes alerts during a one-off maintenance window, and notifies them at the next flush once it is ended', async () => {
      const window = await store.putMaintenanceWindow({
        matchers: [{ label: 'target', value: 'credit-scorer' }],
        startsAt: Date.now() - 1000,
        endsAt: null,
        createdBy: 'ops',
        comment: 'GPU driver upgrade',
      });
      const d = dispatcher({ route: { group_interval: '50ms' } });
      await d.onAlerts([...fire('liveness'), ...fire('liveness', 'other')]);
      expect((await pending()).map((g) => g.groupLabels.target)).toEqual(['other']);
      expect(logs).toContain(
        `info: VigilCheckUnhealthy credit-scorer/liveness not notified: in maintenance window ${window.id} (GPU driver upgrade)`,
      );
      const [alert] = fire('liveness');
      expect((await d.muteReasons(alert ? [alert] : [])).get(alert?.fingerprint ?? '')).toContain(window.id);

      await store.endMaintenanceWindow(window.id, Date.now(), 'ops');
      await vi.waitFor(
        async () =>
          expect((await pending()).map((g) => g.groupLabels.target).sort()).toEqual([
            'credit-scorer',
            'other',
          ]),
        { timeout: 10_000, interval: 20 },
      );
      expect(await d.muteReasons(alert ? [alert] : [])).toEqual(new Map());
    });

    it('follows daylight saving in a time_intervals window’s zone: 09:00–10:00 in Berlin is 08:00 UTC before 29 March 2026, 07:00 after', async () => {
      let now = Date.parse('2026-03-27T08:30:00Z'); // Friday, 09:30 CET (UTC+1)
      const d = dispatcher(
        {
          maintenance: [
            {
              matchers: [{ label: 'target', value: 'credit-scorer' }],
              time_intervals: [
                {
                  weekdays: ['monday:friday'],
                  times: [{ start_time: '09:00', end_time: '10:00' }],
                  location: 'Europe/Berlin',
                },
              ],
            },
          ],
        },
        { now: () => now },
      );
      const alerts = fire('liveness');
      const muted = async () => (await d.muteReasons(alerts)).size > 0;
      expect(await muted()).toBe(true);
      now = Date.parse('2026-03-27T09:00:00Z'); // 10:00 CET: the window has closed
      expect(await muted()).toBe(false);
      now = Date.parse('2026-03-30T08:30:00Z'); // Monday, 10:30 CEST (UTC+2): same UTC time, now outside
      expect(await muted()).toBe(false);
      now = Date.parse('2026-03-30T07:30:00Z'); // 09:30 CEST
      expect(await muted()).toBe(true);
    });

    it('suppresses readiness while liveness fires, and notifies it once liveness resolves', async () => {
      const d = dispatcher({ route: { group_by: ['target', 'check'], group_interval: '40ms' } });
      await d.onAlerts([...fire('liveness'), ...fire('readiness'), ...fire('readiness', 'other')]);
      expect((await pending()).map((g) => summary(g).join())).toEqual([
        'firing credit-scorer/liveness',
        'firing other/readiness',
      ]);
      expect(logs.join('\n')).toContain(
        'inhibited by VigilCheckUnhealthy of credit-scorer/liveness in local',
      );
      await new Promise((r) => setTimeout(r, 120));
      expect(await pending()).toHaveLength(2);
      await d.onAlerts(resolve('liveness'));
      await vi.waitFor(async () => expect(await pending()).toHaveLength(4), { timeout: 2000, interval: 10 });
      expect(
        (await pending())
          .slice(2)
          .map((g) => summary(g).join())
          .sort(),
      ).toEqual(['firing credit-scorer/readiness', 'resolved credit-scorer/liveness']);
    });
  });

  describe('outbox', () => {
    it('stop() lets a send in flight finish within stopGraceMs, and aborts one that hangs past it', async () => {
      let requests = 0;
      let hang = false;
      const receiver = createServer((req, res) => {
        requests++;
        req.resume();
        if (!hang) setTimeout(() => res.end('ok'), 300);
      });
      await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
      const url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;
      try {
        const notifiers = new Map([['pager', createNotifier('pager', { type: 'webhook', url })]]);
        const slow = dispatcher({}, { notifiers });
        await slow.onAlerts([...fire('readiness', 'a'), ...fire('readiness', 'b')]); // two groups, two rows
        const sending = slow.tick();
        await vi.waitFor(() => expect(requests).toBe(1), { timeout: 2000, interval: 5 });
        await slow.stop();
        await sending;
        // The first was delivered, not aborted; the second, claimed but not sent, is given back at once.
        const [second, ...others] = await store.pendingNotifications();
        expect(others).toEqual([]);
        expect(second).toMatchObject({ attempts: 0, leasedUntil: null });
        expect(requests).toBe(1);
        expect(await store.markDelivered(second?.id ?? '', Date.now())).toBe(true);

        hang = true;
        const hung = dispatcher({}, { notifiers, stopGraceMs: 100 });
        await hung.onAlerts(fire('integrity'));
        void hung.tick();
        await vi.waitFor(() => expect(requests).toBe(2), { timeout: 2000, interval: 5 });
        await hung.stop();
        const [left] = await store.pendingNotifications();
        expect(left?.lastError).toMatch(/stopping|abort/i);
      } finally {
        receiver.closeAllConnections();
        receiver.close();
      }
    });

    it('writes the notification to the store before sending it', async () => {
      const d = dispatcher({});
      let seenInStore: unknown[] = [];
      pager.onSend = async (group) => {
        seenInStore = (await store.pendingNotifications()).map(
          (n) => (n.payload as NotificationGroup).idempotencyKey,
        );
        expect(seenInStore).toContain(group.idempotencyKey);
      };
      await d.onAlerts(fire('liveness'));
      expect(pager.calls).toHaveLength(0);
      await d.tick();
      expect(pager.calls).toHaveLength(1);
      expect(seenInStore).toEqual([pager.calls[0]?.idempotencyKey]);
      expect(await store.pendingNotifications()).toEqual([]);
    });

    it('retries with exponential backoff, honours a longer Retry-After, and gives up on a permanent failure', async () => {
      let now = T;
      const d = dispatcher({}, { now: () => now });
      pager.fail = (_g, attempt) =>
        attempt === 1
          ? { ok: false, retryable: true, error: 'HTTP 503' }
          : attempt === 2
            ? { ok: false, retryable: true, error: 'HTTP 503' }
            : attempt === 3
              ? { ok: false, retryable: true, error: 'HTTP 429', retryAfterMs: 30_000 }
              : undefined;
      await d.onAlerts(fire('liveness'));
      const due: number[] = [];
      for (let i = 0; i < 3; i++) {
        await d.tick();
        const [row] = await store.pendingNotifications();
        due.push((row?.nextAttemptAt ?? 0) - now);
        await d.tick(); // not due yet: nothing sent
        now = row?.nextAttemptAt ?? now;
      }
      expect(due).toEqual([1000, 2000, 30_000]);
      expect(pager.calls).toHaveLength(3);
      await d.tick();
      expect(pager.calls).toHaveLength(4);
      expect(await store.pendingNotifications()).toEqual([]);

      pager.fail = () => ({ ok: false, retryable: false, error: 'HTTP 400 invalid routing key' });
      await d.onAlerts(fire('liveness', 'other'));
      await d.tick();
      expect(await store.pendingNotifications()).toEqual([]);
      expect(logs.join('\n')).toContain(
        'error: notification to pager refused, giving up: HTTP 400 invalid routing key',
      );
    });

    it('delivers in enqueue order once a receiver that was down comes back', async () => {
      let now = T;
      const d = dispatcher({ route: { group_by: ['target'] } }, { now: () => now });
      let down = true;
      pager.fail = () => (down ? { ok: false, retryable: true, error: 'connection refused' } : undefined);
      for (const target of ['a', 'b', 'c']) {
        await d.onAlerts(fire('liveness', target));
        now += 1;
      }
      await d.tick(); // a fails; b and c wait behind it
      expect(pager.calls.map((g) => g.groupLabels.target)).toEqual(['a']);
      // A later notification, due now, must not overtake the failed one either.
      await d.onAlerts(fire('liveness', 'd'));
      await d.tick();
      expect(pager.calls.map((g) => g.groupLabels.target)).toEqual(['a']);
      for (let i = 0; i < 5; i++) {
        now += 10_000;
        await d.tick();
      }
      down = false;
      now += 300_000;
      await d.tick();
      const order = pager.calls.map((g) => g.groupLabels.target);
      expect(order.slice(0, 6)).toEqual(['a', 'a', 'a', 'a', 'a', 'a']);
      expect(order.slice(-4)).toEqual(['a', 'b', 'c', 'd']);
      expect(await store.pendingNotifications()).toEqual([]);
    });

    it('never enqueues the same content twice, also from a second dispatcher', async () => {
      const d = dispatcher({ route: { group_interval: '30ms' } });
      await d.onAlerts(fire('liveness'));
      await d.onAlerts(fire('liveness'));
      await new Promise((r) => setTimeout(r, 100));
      const other = dispatcher({});
      await other.onAlerts(fire('liveness'));
      expect(await store.pendingNotifications()).toHaveLength(1);
      await d.tick();
      await other.tick();
      expect(pager.calls).toHaveLength(1);
      // A new firing episode of the same alert is new content.
      await other.onAlerts(fire('liveness', 'credit-scorer', T + 3_600_000));
      expect(await store.pendingNotifications()).toHaveLength(0);
      await new Promise((r) => setTimeout(r, 80));
      expect(await store.pendingNotifications()).toHaveLength(1);
    });
  });
});

/**
 * What a SIGKILL of the sending process does to delivery, through the real webhook notifier and a
 * real receiver: the guarantee, stated exactly, is at least once on the wire, with one idempotency
 * key per notification, so exactly once for a receiver that deduplicates by that key.
 */
describe('dispatcher crash', () => {
  interface Received {
    key: string;
    targets: string[];
  }

  /**
   * Runs the crash fixture (a dispatcher sending `count` notifications, one per target), kills it with
   * SIGKILL at the 5th request — while the receiver holds it unanswered, or just after the receiver
   * answered it — and lets a second dispatcher over the same SQLite file deliver the rest.
   */
  async function crashAndRecover(killAt: 'holding' | 'answered', count = 12) {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-alerting-'));
    const path = join(dir, 'vigil.db');
    const received: Received[] = [];
    let killedKey: string | undefined;
    let child: ChildProcess | undefined;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      req.on('end', () => {
        const key = String(req.headers['idempotency-key']);
        const payload = JSON.parse(body) as { alerts: Array<{ labels: Record<string, string> }> };
        received.push({ key, targets: payload.alerts.map((a) => a.labels.target ?? '') });
        const isKillPoint = received.length === 5 && killedKey === undefined && child !== undefined;
        if (isKillPoint) killedKey = key;
        if (isKillPoint && killAt === 'holding') {
          // The send is in flight: the request arrived whole, the answer never reaches the sender.
          child?.kill('SIGKILL');
          setTimeout(() => res.writeHead(200).end('ok'), 20);
          return;
        }
        // The answer is written; the sender dies before or after it records the delivery.
        if (isKillPoint) res.on('finish', () => child?.kill('SIGKILL'));
        res.writeHead(200).end('ok');
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    try {
      child = spawn(
        process.execPath,
        ['--conditions=source', '--import', 'tsx', crashFixture, path, url, String(count)],
        { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] },
      );
      let stdout = '';
      let stderr = '';
      child.stdout?.on('data', (c: Buffer) => {
        stdout += c.toString();
      });
      child.stderr?.on('data', (c: Buffer) => {
        stderr += c.toString();
      });
      const exit = await new Promise<{ signal: NodeJS.Signals | null }>((r) =>
        child?.on('exit', (_code, signal) => r({ signal })),
      );
      expect({ signal: exit.signal, stdout, stderr }).toEqual({
        signal: 'SIGKILL',
        stdout: `enqueued ${count}\n`,
        stderr: '',
      });
      // What the receiver had when the sender died: the kill point, and in the `answered` case maybe
      // the next send, had the sender recorded the answer and started it before the signal landed.
      const beforeKill = received.map((r) => r.key);
      // Holding the answer, the sender can start no later send to this receiver (they go in order).
      if (killAt === 'holding') expect(beforeKill).toHaveLength(5);
      else expect([5, 6]).toContain(beforeKill.length);

      const store = await openStore(path);
      try {
        const pendingKeys = (await store.pendingNotifications()).map(
          (n) => (n.payload as NotificationGroup).idempotencyKey,
        );
        const parsed = parseAlertingConfig({
          routes: [{ notify: ['hook'], group_by: ['target'], group_wait: '0s' }],
          notifiers: { hook: { type: 'webhook', url } },
        });
        if (!parsed.ok) throw new Error(parsed.diagnostics.join('\n'));
        const second = createDispatcher({
          store,
          notifiers: createNotifiers(parsed.config.notifiers),
          config: parsed.config,
          claimIntervalMs: 50,
        });
        second.start();
        try {
          await vi.waitFor(async () => expect(await store.pendingNotifications()).toEqual([]), {
            timeout: 15_000,
            interval: 50,
          });
        } finally {
          await second.stop();
        }
        return { received, killedKey: killedKey as string, atKill: beforeKill.slice(4), pendingKeys, count };
      } finally {
        await store.close();
      }
    } finally {
      child?.kill('SIGKILL');
      await new Promise((r) => server.close(r));
      rmSync(dir, { recursive: true, force: true });
    }
  }

  /** How many times each key arrived, and what a receiver deduplicating by key would have processed. */
  function tally(received: readonly Received[]) {
    const times = new Map<string, number>();
    const processed: Received[] = [];
    for (const r of received) {
      times.set(r.key, (times.get(r.key) ?? 0) + 1);
      if (times.get(r.key) === 1) processed.push(r);
    }
    return { times, processed };
  }

  it('killed mid-send (the request arrived, its answer did not): that one notification arrives twice with one key, every other once', {
    timeout: 60_000,
  }, async () => {
    const { received, killedKey, pendingKeys, count } = await crashAndRecover('holding');
    const { times, processed } = tally(received);
    // At least once on the wire: every notification arrived, the in-flight one again after recovery.
    expect(times.size).toBe(count);
    for (const key of pendingKeys) expect(times.has(key)).toBe(true);
    expect(pendingKeys).toContain(killedKey);
    expect([...times].filter(([, n]) => n > 1)).toEqual([[killedKey, 2]]);
    expect(received).toHaveLength(count + 1);
    // Its repeat is the same notification: same key, same group.
    const copies = received.filter((r) => r.key === killedKey);
    expect(copies[1]).toEqual(copies[0]);
    // Exactly once for a receiver that deduplicates by the key: one per target, every alert of each.
    expect(processed.flatMap((r) => r.targets).sort()).toEqual(
      Array.from({ length: count }, (_, i) => `model-${String(i).padStart(2, '0')}`),
    );
  });

  it('killed right after the receiver answered: the send may repeat (with its key) or not, nothing else does', {
    timeout: 60_000,
  }, async () => {
    const { received, atKill, count } = await crashAndRecover('answered');
    const { times, processed } = tally(received);
    expect(times.size).toBe(count);
    // Whether the sender recorded the delivery before dying is a race (and if it did, it may have
    // started the next send): either way only a send in flight at the kill may arrive twice.
    const repeated = [...times].filter(([, n]) => n > 1);
    expect(repeated.every(([key, n]) => atKill.includes(key) && n === 2)).toBe(true);
    // Sends to one receiver go in order: one at most was in flight, so one at most repeats.
    expect(repeated.length).toBeLessThanOrEqual(1);
    expect(received.length).toBe(count + repeated.length);
    expect(processed).toHaveLength(count);
  });
});
