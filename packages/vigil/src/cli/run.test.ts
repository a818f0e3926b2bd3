/**
 * `vigil run` as a real process: it detects an outage, survives SIGKILL with its states and
 * history, reloads its config (keeping the old one on an invalid edit), and stops on SIGTERM.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelServer, type ModelServer, parseFault } from '@vigil/example-model-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CheckStatus } from '../hub/types.js';
import { openStore } from '../store/index.js';
import type { Incident, ProbeResult } from '../types.js';
import { startHubProcess } from './fixtures/hub-process.js';

const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));
const children: ChildProcess[] = [];

function config(url: string, extraTarget = ''): string {
  return `
defaults: { interval: 300ms, timeout: 250ms, failureThreshold: 3, fastInterval: 100ms }
targets:
  - name: credit
    url: ${url}
    protocol: oip-v2
    model: credit-scorer
    checks:
      liveness: {}
      integrity:
        request:
          inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] }]
${extraTarget}`;
}

/** Starts `vigil run` and resolves with its API URL once it logs that it is running. */
const startHub = (file: string, store: string) => startHubProcess(file, store, children);

async function getJson<T>(url: string): Promise<T> {
  const res = await fetch(url);
  expect(res.status, url).toBe(200);
  return (await res.json()) as T;
}

async function statusOf(url: string, checkId: string): Promise<CheckStatus | undefined> {
  const { checks } = await getJson<{ checks: CheckStatus[] }>(`${url}/api/v1/status`);
  return checks.find((c) => c.checkId === checkId);
}

async function waitFor<T>(
  what: string,
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

let server: ModelServer;
let modelUrl: string;
let dir: string;

beforeAll(async () => {
  server = await createModelServer({
    models: ['credit-scorer'],
    warmupInferences: 1,
    faults: { enabled: true, token: 't' },
  });
  modelUrl = await server.listen();
  dir = mkdtempSync(join(tmpdir(), 'vigil-run-'));
});
afterEach(() => {
  server.faults.clear();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await server?.close();
});

describe('vigil run', () => {
  it('resumes states and keeps history after SIGKILL and a restart', async () => {
    const file = join(dir, 'crash.yaml');
    const store = join(dir, 'crash.db');
    writeFileSync(file, config(modelUrl));
    const first = await startHub(file, store);
    await waitFor(
      'integrity healthy',
      async () => (await statusOf(first.url, 'credit/integrity'))?.state === 'healthy',
    );

    server.faults.set('errors', parseFault('errors', {}));
    await waitFor(
      'integrity unhealthy',
      async () => (await statusOf(first.url, 'credit/integrity'))?.state === 'unhealthy',
    );
    const id = encodeURIComponent('credit/integrity');
    const before = await waitFor('stored results', async () => {
      const { results } = await getJson<{ results: ProbeResult[] }>(
        `${first.url}/api/v1/checks/${id}/results?limit=10000`,
      );
      return results.length >= 4 && results;
    });
    const { incidents: openBefore } = await getJson<{ incidents: Incident[] }>(
      `${first.url}/api/v1/incidents?open=true`,
    );
    expect(openBefore).toHaveLength(1);

    first.child.kill('SIGKILL');
    await first.exited;

    const second = await startHub(file, store);
    // Before any new probe could change it, the state is the one from before the crash.
    expect((await statusOf(second.url, 'credit/integrity'))?.state).toBe('unhealthy');
    const { results: after } = await getJson<{ results: ProbeResult[] }>(
      `${second.url}/api/v1/checks/${id}/results?limit=10000`,
    );
    const afterStarts = new Set(after.map((r) => r.startedAt));
    for (const r of before)
      expect(afterStarts.has(r.startedAt), `result started at ${r.startedAt} survived`).toBe(true);
    const { incidents: openAfter } = await getJson<{ incidents: Incident[] }>(
      `${second.url}/api/v1/incidents?open=true`,
    );
    expect(openAfter.map((i) => i.id)).toEqual(openBefore.map((i) => i.id));

    server.faults.clear();
    await waitFor(
      'recovery',
      async () => (await statusOf(second.url, 'credit/integrity'))?.state === 'healthy',
    );
    const { incidents: closed } = await getJson<{ incidents: Incident[] }>(
      `${second.url}/api/v1/incidents?open=false`,
    );
    expect(closed.map((i) => i.id)).toContain(openBefore[0]?.id);
    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  });

  it('reloads a changed config, keeps the old one on an invalid edit, and keeps unchanged states', async () => {
    const file = join(dir, 'reload.yaml');
    writeFileSync(file, config(modelUrl));
    const hub = await startHub(file, join(dir, 'reload.db'));
    const healthy = await waitFor('integrity healthy', async () => {
      const s = await statusOf(hub.url, 'credit/integrity');
      return s?.state === 'healthy' && s;
    });

    writeFileSync(file, `${config(modelUrl)}\n  - name: broken\n    protocol: nope\n`);
    hub.child.kill('SIGHUP');
    await waitFor('rejection logged', async () => hub.log().includes('rejected; the running config stays'));
    expect((await getJson<{ checks: CheckStatus[] }>(`${hub.url}/api/v1/status`)).checks).toHaveLength(2);

    const extra = `  - name: second\n    url: ${modelUrl}\n    protocol: oip-v2\n    model: credit-scorer\n    checks: { liveness: {} }\n`;
    writeFileSync(file, config(modelUrl, extra));
    hub.child.kill('SIGHUP');
    await waitFor('new check', async () => (await statusOf(hub.url, 'second/liveness')) !== undefined);
    const kept = await statusOf(hub.url, 'credit/integrity');
    expect(kept?.state).toBe('healthy');
    expect(kept?.since).toBe(healthy.since);
    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
  });

  it('reloads each of three consecutive ConfigMap updates (the kubelet swaps the ..data symlink)', async () => {
    const mount = mkdtempSync(join(dir, 'configmap-'));
    const target = (i: number) =>
      `  - name: extra${i}\n    url: ${modelUrl}\n    protocol: oip-v2\n    model: credit-scorer\n    checks: { liveness: {} }\n`;
    const update = (generation: number) => {
      const stamped = `..2026_12_02_00_00_0${generation}.000000000`;
      mkdirSync(join(mount, stamped));
      const extras = Array.from({ length: generation }, (_, i) => target(i)).join('');
      writeFileSync(join(mount, stamped, 'vigil.yaml'), config(modelUrl, extras));
      symlinkSync(stamped, join(mount, '..data_tmp'));
      renameSync(join(mount, '..data_tmp'), join(mount, '..data'));
      if (generation > 0)
        rmSync(join(mount, `..2026_12_02_00_00_0${generation - 1}.000000000`), { recursive: true });
    };
    update(0);
    symlinkSync('..data/vigil.yaml', join(mount, 'vigil.yaml'));
    const hub = await startHub(join(mount, 'vigil.yaml'), join(dir, 'configmap.db'));
    for (const generation of [1, 2, 3]) {
      update(generation);
      await waitFor(`generation ${generation} loaded`, async () => {
        const { checks } = await getJson<{ checks: CheckStatus[] }>(`${hub.url}/api/v1/status`);
        return checks.length === 2 + generation;
      }).catch((err: Error) => {
        throw new Error(`${err.message}\n${hub.log()}`);
      });
    }
    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
  });

  it('folds raw results older than --retention-days into per-minute rollups', async () => {
    const file = join(dir, 'retention.yaml');
    const storeFile = join(dir, 'retention.db');
    writeFileSync(file, config(modelUrl));
    // Ten days ago, on a whole minute: past the 7-day raw retention, within the 30-day rollup retention.
    const old = Math.floor((Date.now() - 10 * 86_400_000) / 60_000) * 60_000;
    const seed = await openStore(storeFile);
    const result = (startedAt: number): ProbeResult => ({
      checkId: 'credit/liveness',
      target: 'credit',
      check: 'liveness',
      region: 'local',
      startedAt,
      durationMs: 3,
      phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 2, transferMs: 1 },
      outcome: 'pass',
      failures: [],
      httpStatus: 200,
    });
    await seed.appendResults([result(old), result(old + 1000), result(old + 61_000)]);
    await seed.close();

    const hub = await startHub(file, storeFile);
    hub.child.kill('SIGTERM');
    expect(await hub.exited).toBe(0);
    const store = await openStore(storeFile);
    try {
      expect(await store.results('credit/liveness', { until: old + 120_000 })).toEqual([]);
      const rollups = await store.rollups('credit/liveness', { until: old + 120_000 });
      expect(rollups.map((r) => r.count)).toEqual([2, 1]);
    } finally {
      await store.close();
    }
  });

  it('delivers the critical alert exactly once across a SIGKILL during the outage, then its resolution', async () => {
    // A local webhook receiver that records every delivery.
    const received: Array<{ key: string; status: string; alertnames: string[] }> = [];
    const receiver: Server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        const payload = JSON.parse(body) as {
          status: string;
          alerts: Array<{ labels: Record<string, string> }>;
        };
        received.push({
          key: String(req.headers['idempotency-key']),
          status: payload.status,
          alertnames: payload.alerts.map((a) => `${a.labels.alertname}/${a.labels.check}`),
        });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const address = receiver.address();
    const hookUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/hook`;
    try {
      const file = join(dir, 'alerts.yaml');
      const store = join(dir, 'alerts.db');
      writeFileSync(
        file,
        `${config(modelUrl)}alerting:
  routes: [{ match: { severity: critical }, notify: [hook], group_wait: 0s, group_interval: 1s }]
  notifiers:
    hook: { type: webhook, url: ${hookUrl} }
`,
      );
      const first = await startHub(file, store);
      await waitFor(
        'integrity healthy',
        async () => (await statusOf(first.url, 'credit/integrity'))?.state === 'healthy',
      );
      server.faults.set('errors', parseFault('errors', {}));
      await waitFor('critical notification', async () => received.some((r) => r.status === 'firing'));
      // Kill once the outbox has recorded the delivery. (A kill in the middle of a send makes the
      // outbox send it again after its lease: at least once, with the same Idempotency-Key.)
      const reader = await openStore(store, { migrate: false });
      try {
        await waitFor('delivery recorded', async () => (await reader.pendingNotifications()).length === 0);
      } finally {
        await reader.close();
      }
      first.child.kill('SIGKILL');
      await first.exited;

      const restartedAt = Date.now();
      const second = await startHub(file, store);
      expect((await statusOf(second.url, 'credit/integrity'))?.state).toBe('unhealthy');
      // Let the restarted hub run a few probes of the ongoing outage (their results are the event to
      // wait for): nothing new may be sent.
      await waitFor('3 probes of the ongoing outage after the restart', async () => {
        const { results } = await getJson<{ results: ProbeResult[] }>(
          `${second.url}/api/v1/checks/credit%2Fintegrity/results?since=${restartedAt}&limit=10`,
        );
        return results.filter((r) => r.outcome === 'fail').length >= 3;
      });
      expect(received.filter((r) => r.status === 'firing')).toHaveLength(1);
      server.faults.clear();
      await waitFor('resolved notification', async () => received.some((r) => r.status === 'resolved'));
      second.child.kill('SIGTERM');
      expect(await second.exited).toBe(0);

      const firing = received.filter((r) => r.status === 'firing');
      expect(firing).toHaveLength(1);
      expect(firing[0]?.alertnames).toEqual(['VigilCheckUnhealthy/integrity']);
      expect(received.filter((r) => r.status === 'resolved')).toHaveLength(1);
      expect(new Set(received.map((r) => r.key)).size).toBe(received.length);
    } finally {
      receiver.close();
    }
  });

  it('keeps serving while a check matches a catastrophic-backtracking pattern against a long answer', async () => {
    // Issue 14's ReDoS: ^/(a+)+$ against /aaa…a! took JavaScript's RegExp 10 s on 29 characters and stalled
    // the event loop. With RE2 the check fails at once, every probe, and the hub keeps answering; with a
    // backtracking engine the first probe would never return and every request below would time out.
    const answer = `/${'a'.repeat(9_998)}!`;
    const endpoint: Server = createServer((_request, response) => response.end(answer));
    await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = endpoint.address() as { port: number };
      const redos = `  - name: redos\n    url: http://127.0.0.1:${port}\n    protocol: http\n    checks: { liveness: { expect: { body: { matches: "^/(a+)+$" } } } }\n`;
      const file = join(dir, 'redos.yaml');
      writeFileSync(file, config(modelUrl, redos));
      const hub = await startHub(file, join(dir, 'redos.db'));
      const failing = await waitFor('the ReDoS check unhealthy', async () => {
        const s = await statusOf(hub.url, 'redos/liveness');
        return s?.state === 'unhealthy' && s;
      });
      expect(failing.lastResult?.failures.map((f) => f.message)).toEqual(['body does not match /^/(a+)+$/']);
      await waitFor(
        'credit liveness healthy beside it',
        async () => (await statusOf(hub.url, 'credit/liveness'))?.state === 'healthy',
      );
      expect((await fetch(`${hub.url}/livez`)).status).toBe(200);
      hub.child.kill('SIGTERM');
      expect(await hub.exited).toBe(0);
    } finally {
      endpoint.close();
    }
  });

  it('refuses to start on an invalid config (exit 2, diagnostics printed)', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'targets:\n  - name: x\n    url: http://127.0.0.1:1\n    protocol: nope\n');
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', ENTRY, 'run', '-c', file, '--port', '0'],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    children.push(child);
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(code).toBe(2);
    expect(out).toContain('targets[0].protocol');
  });
});
