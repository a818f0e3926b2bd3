/**
 * The Alertmanager notifier against the contract (with a stub HTTP receiver, which can fail on demand)
 * and against a real Alertmanager (Debian's 0.25 at /usr/bin/prometheus-alertmanager): the alert must
 * show as active after delivery and stop being active after its resolution is delivered. Without the
 * binary that part is skipped with the reason printed, unless `VIGIL_REQUIRE_ALL=1` (then it fails).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ALERTMANAGER_VALIDITY_FACTOR,
  type AlertmanagerAlert,
  alertmanagerAlert,
  alertmanagerConfigSchema,
  createAlertmanagerNotifier,
} from './alertmanager.js';
import { httpContractHarness, notifierContract } from './contract.js';
import { alert, context, group, resolvedAlert, T0 } from './fixtures/alerts.js';
import { closedPort } from './fixtures/http-receiver.js';

const BINARY = process.env.VIGIL_ALERTMANAGER_BIN ?? '/usr/bin/prometheus-alertmanager';
const requireAll = process.env.VIGIL_REQUIRE_ALL === '1';
const TOKEN = 'am-token-secret-42';
const PROXY_PATH = '/am-proxy-s3cret-path';

const create = (url: string | string[], extra: Record<string, unknown> = {}) =>
  createAlertmanagerNotifier(
    'contract',
    alertmanagerConfigSchema.parse({ type: 'alertmanager', url, ...extra }),
  );

notifierContract(
  'alertmanager',
  httpContractHarness({
    create: (origin) => create(`${origin}${PROXY_PATH}/`, { headers: { Authorization: `Bearer ${TOKEN}` } }),
    statusOf: (body) =>
      (JSON.parse(body) as AlertmanagerAlert[]).every((item) => Date.parse(item.endsAt) <= Date.now())
        ? 'resolved'
        : 'firing',
    secrets: [TOKEN, PROXY_PATH, 'am-proxy-s3cret-path'],
    handler: (request) =>
      request.url === `${PROXY_PATH}/api/v2/alerts` && request.headers.authorization === `Bearer ${TOKEN}`
        ? { status: 200, body: '' }
        : { status: 404, body: 'not found' },
  }),
);

describe('alertmanager notifier', () => {
  it('follows Prometheus: firing alerts end 4 resend intervals from now, resolved ones at their end', () => {
    const now = T0 + 10 * 60_000;
    expect(alertmanagerAlert(alert(), now, 60_000)).toEqual({
      labels: alert().labels,
      annotations: alert().annotations,
      startsAt: '2025-01-31T12:00:00.000Z',
      endsAt: new Date(now + ALERTMANAGER_VALIDITY_FACTOR * 60_000).toISOString(),
      generatorURL: 'http://vigil.example.com/checks/credit-scorer/integrity',
    });
    expect(alertmanagerAlert(resolvedAlert(), now, 60_000).endsAt).toBe('2025-01-31T12:01:00.000Z');
    expect(alertmanagerAlert(alert({ status: 'resolved', endsAt: null }), now, 60_000).endsAt).toBe(
      new Date(now).toISOString(),
    );
  });

  it('accepts one URL or a list, and a resend interval defaulting to 1m', () => {
    expect(alertmanagerConfigSchema.parse({ type: 'alertmanager', url: 'http://am:9093/' })).toMatchObject({
      url: ['http://am:9093'],
      resendInterval: '1m',
    });
    expect(alertmanagerConfigSchema.safeParse({ type: 'alertmanager', url: [] }).success).toBe(false);
    expect(
      alertmanagerConfigSchema.safeParse({ type: 'alertmanager', url: 'x', resendInterval: '0s' }).success,
    ).toBe(false);
  });

  it('fails retryably when no Alertmanager of the list is reachable', async () => {
    const result = await create([
      `http://127.0.0.1:${await closedPort()}`,
      `http://127.0.0.1:${await closedPort()}`,
    ]).send(group(), context());
    expect(result).toMatchObject({ ok: false, retryable: true });
    expect(!result.ok && result.error.split('ECONNREFUSED').length).toBeGreaterThan(2);
  });
});

/** A real Alertmanager on a free loopback port, with gossip off and a receiver that drops everything. */
async function startAlertmanager(): Promise<{ url: string; stop(): Promise<void> }> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-am-'));
  const configFile = join(dir, 'alertmanager.yml');
  writeFileSync(configFile, "route:\n  receiver: 'null'\nreceivers:\n  - name: 'null'\n");
  const port = await closedPort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn(
    BINARY,
    [
      `--config.file=${configFile}`,
      `--storage.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return { url, stop };
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await stop();
  throw new Error(`Alertmanager did not become ready within 15 s:\n${stderr}`);
}

interface GettableAlert {
  labels: Record<string, string>;
  status: { state: string };
}

async function alertsWith(url: string, testId: string): Promise<GettableAlert[]> {
  const response = await fetch(`${url}/api/v2/alerts`);
  const alerts = (await response.json()) as GettableAlert[];
  return alerts.filter((item) => item.labels.test_id === testId);
}

/** Polls `probe` every 100 ms until it returns true, for at most `timeoutMs`. */
async function eventually(probe: () => Promise<boolean>, timeoutMs = 5000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return probe();
}

if (existsSync(BINARY)) {
  describe('alertmanager notifier against a real Alertmanager', () => {
    let am: { url: string; stop(): Promise<void> };
    beforeAll(async () => {
      am = await startAlertmanager();
    });
    afterAll(() => am?.stop());

    it('shows a delivered alert as active, and no longer active once its resolution is delivered', async () => {
      const testId = randomUUID();
      const startsAt = Date.now() - 60_000;
      const firing = alert({ startsAt, labels: { test_id: testId } });
      const notifier = create(am.url);

      expect(await notifier.send(group([firing]), context())).toMatchObject({ ok: true });
      expect(
        await eventually(async () => (await alertsWith(am.url, testId))[0]?.status.state === 'active'),
      ).toBe(true);
      const [shown] = await alertsWith(am.url, testId);
      expect(shown?.labels).toEqual(firing.labels);

      const resolved = { ...firing, status: 'resolved' as const, endsAt: Date.now() - 1000 };
      expect(await notifier.send(group([resolved]), context())).toMatchObject({ ok: true });
      expect(
        await eventually(async () =>
          (await alertsWith(am.url, testId)).every((item) => item.status.state !== 'active'),
        ),
      ).toBe(true);
    });

    it('delivers to an HA pair when only one member is up', async () => {
      const notifier = create([`http://127.0.0.1:${await closedPort()}`, am.url]);
      const result = await notifier.send(group([alert({ labels: { test_id: randomUUID() } })]), context());
      expect(result).toEqual({ ok: true, detail: 'accepted by 1 of 2 Alertmanagers; 1 failed' });
    });
  });
} else if (requireAll) {
  describe('alertmanager notifier against a real Alertmanager', () => {
    it('has the Alertmanager binary (VIGIL_REQUIRE_ALL=1)', () => {
      expect.fail(`${BINARY} not found; install prometheus-alertmanager or set VIGIL_ALERTMANAGER_BIN`);
    });
  });
} else {
  const reason = `${BINARY} not found (set VIGIL_ALERTMANAGER_BIN, or VIGIL_REQUIRE_ALL=1 to fail instead)`;
  console.warn(`Skipping the real-Alertmanager tests: ${reason}`);
  describe.skip(`alertmanager notifier against a real Alertmanager (skipped: ${reason})`, () => {
    it('shows a delivered alert as active, and no longer active once its resolution is delivered', () => {});
  });
}
