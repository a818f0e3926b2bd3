/**
 * Recovery actions end to end, with real components: a real example model server process (started
 * by the test, crashed or hung through its fault API), the hub probing it over HTTP, the `command`
 * action running a real restart script, SQLite, and a real webhook receiver for the notifications.
 * Times from fault to healthy are printed, not asserted (speed belongs in bench/recovery-drill.ts).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelServer, type ModelServer } from '@vigil/example-model-server';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createNotifiers } from '../alerting/notifiers/index.js';
import { parseConfig } from '../config/index.js';
import { createHub, type Hub, type HubActions } from '../hub/hub.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { type ServerProcess, startServerProcess, waitLive } from './fixtures/model-server-process.js';

const WAIT = { timeout: 45_000, interval: 50 };

interface Received {
  status: string;
  alerts: Array<{ status: string; labels: Record<string, string>; annotations: Record<string, string> }>;
}

async function receiver(): Promise<{ server: Server; url: string; got: Received[] }> {
  const got: Received[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push(JSON.parse(body) as Received);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, got };
}

const yamlList = (argv: readonly string[]) => `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`;

describe('recovery actions (real model server process, command action)', () => {
  let dir: string;
  let store: Store;
  let hub: Hub | undefined;
  let servers: ServerProcess[];
  let inProcess: ModelServer[];
  let hook: Awaited<ReturnType<typeof receiver>>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-actions-'));
    store = await openStore(join(dir, 'vigil.db'));
    servers = [];
    inProcess = [];
    hook = await receiver();
  });

  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
    await store.close();
    for (const s of servers) s.kill();
    for (const m of inProcess) await m.close().catch(() => {});
    hook.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  function start(yaml: string, actions: HubActions = {}): Hub {
    const loaded = parseConfig(yaml, { baseDir: dir });
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    const alerting = loaded.config.alerting;
    hub = createHub({
      plan: loaded.plan,
      store,
      actions: { leaseMs: 2_000, ...actions },
      ...(alerting ? { alerting: { config: alerting, notifiers: createNotifiers(alerting.notifiers) } } : {}),
    });
    return hub;
  }

  const alerting = () => `alerting:
  routes: [{ notify: [hook], group_wait: 0s, group_interval: 100ms }]
  notifiers: { hook: { type: webhook, url: "${hook.url}" } }
`;

  const config = (server: ServerProcess, actions: string) => `
defaults: { interval: 200ms, timeout: 150ms, failureThreshold: 2, fastInterval: 100ms }
targets:
  - name: scorer
    url: ${server.url}
    protocol: oip-v2
    model: credit-scorer
    checks: { liveness: {} }
    actions:
${actions}
${alerting()}`;

  async function recoversFrom(fault: 'crash' | 'hang'): Promise<void> {
    const server = await startServerProcess();
    servers.push(server);
    await waitLive(server.url);
    const h = start(
      config(
        server,
        `      onUnhealthy:
        - kind: command
          name: restart-scorer
          command: ${yamlList(server.restartArgv)}
          timeout: 20s`,
      ),
    );
    await h.start();
    await vi.waitFor(() => expect(h.status()[0]?.state).toBe('healthy'), WAIT);
    const before = server.pid();
    const faultAt = Date.now();
    await server.fault(fault, fault === 'hang' ? { scope: 'all' } : {});
    await vi.waitFor(async () => expect((await store.incidents({ open: false })).length).toBe(1), WAIT);
    const healthyAt = Date.now();
    console.log(
      `recovery from ${fault}: fault → healthy in ${healthyAt - faultAt} ms (restart by the command action)`,
    );
    expect(server.pid()).not.toBe(before);
    const [incident] = await store.incidents();
    const runs = await store.actionRuns({ incidentId: incident?.id });
    expect(runs.map((r) => [r.action, r.kind, r.status])).toEqual([
      ['restart-scorer', 'command', 'succeeded'],
    ]);
    expect(runs[0]?.output).toContain('started model server pid');
    expect(runs[0]?.event).toBe('unhealthy');
    // The recovery's notification says what was done and with what result.
    await vi.waitFor(() => {
      const resolved = hook.got
        .flatMap((g) => g.alerts)
        .find((a) => a.status === 'resolved' && a.labels.alertname === 'VigilCheckUnhealthy');
      expect(resolved?.annotations.actions).toMatch(/restart-scorer \(command, run .*\): succeeded — exit 0/);
    }, WAIT);
    expect(hook.got.some((g) => g.alerts.some((a) => a.labels.alertname === 'VigilActionsExhausted'))).toBe(
      false,
    );
  }

  it('restarts a crashed model server, and the check is healthy again', { timeout: 240_000 }, () =>
    recoversFrom('crash'),
  );

  it('restarts a hung model server (SIGKILL, then a fresh one)', { timeout: 240_000 }, () =>
    recoversFrom('hang'),
  );

  it('a server that crashes on every start gets at most maxRuns restarts, then the page says actions are exhausted', {
    timeout: 90_000,
  }, async () => {
    const server = await startServerProcess(['--fault', 'crash:afterMs=0']);
    servers.push(server);
    const h = start(
      config(
        server,
        `      onUnhealthy:
        - kind: command
          name: restart-scorer
          command: ${yamlList(server.restartArgv)}
          escalateAfter: 1s
      maxRuns: 3
      window: 1h
      backoff: { initial: 200ms, max: 1s }`,
      ),
    );
    await h.start();
    await vi.waitFor(() => {
      const page = hook.got
        .flatMap((g) => g.alerts)
        .find((a) => a.labels.alertname === 'VigilActionsExhausted');
      expect(page?.annotations.description).toMatch(
        /^Actions exhausted: restart-scorer ran 3 times within 60 min \(limit 3\)/,
      );
      expect(page?.annotations.description).toContain('Actions run:');
    }, WAIT);
    const runs = (await store.actionRuns()).reverse();
    expect(runs.map((r) => r.status)).toEqual(['succeeded', 'succeeded', 'succeeded', 'skipped']);
    expect(runs[3]?.skipReason).toBe('rate-limit');
    // Back-off between runs: at least 200 ms, then 400 ms (plus escalateAfter).
    expect((runs[1]?.claimedAt ?? 0) - (runs[0]?.claimedAt ?? 0)).toBeGreaterThanOrEqual(1_000);
    expect((runs[2]?.claimedAt ?? 0) - (runs[1]?.claimedAt ?? 0)).toBeGreaterThanOrEqual(1_000);
    expect(new Set(runs.map((r) => r.idempotencyKey)).size).toBe(4);
  });

  it('minHealthy stops a restart storm when every target of the group fails together', {
    timeout: 90_000,
  }, async () => {
    const marker = join(dir, 'restarted');
    const targets: string[] = [];
    for (let i = 0; i < 3; i++) {
      const model = await createModelServer({ models: ['credit-scorer'], warmupInferences: 0 });
      inProcess.push(model);
      const url = await model.listen({ host: '127.0.0.1', port: 0 });
      targets.push(`  - name: scorer-${i}
    url: ${url}
    protocol: oip-v2
    model: credit-scorer
    labels: { team: risk }
    checks: { liveness: {} }
    actions:
      onUnhealthy:
        - kind: command
          name: restart
          command: ["/bin/sh", "-c", "echo $VIGIL_TARGET >> ${marker}"]
      minHealthy: { group: { team: risk }, min: "51%" }`);
    }
    const h = start(`
defaults: { interval: 200ms, timeout: 150ms, failureThreshold: 3, fastInterval: 100ms }
targets:
${targets.join('\n')}
${alerting()}`);
    await h.start();
    await vi.waitFor(
      () => expect(h.status().map((s) => s.state)).toEqual(['healthy', 'healthy', 'healthy']),
      WAIT,
    );
    await Promise.all(inProcess.map((m) => m.close()));
    await vi.waitFor(async () => {
      const runs = await store.actionRuns();
      expect(runs.map((r) => r.skipReason).sort()).toEqual(['min-healthy', 'min-healthy', 'min-healthy']);
    }, WAIT);
    expect(existsSync(marker)).toBe(false);
    await vi.waitFor(() => {
      const pages = hook.got
        .flatMap((g) => g.alerts)
        .filter((a) => a.labels.alertname === 'VigilActionsExhausted');
      expect(pages[0]?.annotations.description).toMatch(
        /of 3 targets of the group \{team=risk\} are healthy, 2 needed/,
      );
    }, WAIT);
  });

  it('--dry-run-actions records what would have run, and runs nothing', { timeout: 240_000 }, async () => {
    const model = await createModelServer({ models: ['credit-scorer'], warmupInferences: 0 });
    inProcess.push(model);
    const url = await model.listen({ host: '127.0.0.1', port: 0 });
    const marker = join(dir, 'ran');
    const h = start(
      `
defaults: { interval: 200ms, timeout: 150ms, failureThreshold: 2, fastInterval: 100ms }
targets:
  - name: scorer
    url: ${url}
    protocol: oip-v2
    model: credit-scorer
    checks: { liveness: {} }
    actions:
      onUnhealthy:
        - kind: command
          command: ["/usr/bin/touch", "${marker}"]
`,
      { dryRun: true },
    );
    await h.start();
    await vi.waitFor(() => expect(h.status()[0]?.state).toBe('healthy'), WAIT);
    await model.close();
    await vi.waitFor(
      async () => expect((await store.actionRuns()).map((r) => r.status)).toEqual(['dry-run']),
      WAIT,
    );
    const [run] = await store.actionRuns();
    expect(run?.what).toBe(`run ["/usr/bin/touch","${marker}"]`);
    expect(existsSync(marker)).toBe(false);
    void readFileSync;
  });
});
