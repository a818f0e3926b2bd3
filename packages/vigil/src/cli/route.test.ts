/**
 * `vigil route` as a real process in front of real model servers: it routes, follows a hub's states,
 * drains and restores through its admin API (token), serves /metrics, reloads (keeping the running
 * routers on an invalid edit), and stops on SIGTERM; a bad config exits 2 with its diagnostics.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ModelServer } from '@vigil/example-model-server';
import type { FastifyInstance } from 'fastify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/index.js';
import { createTestHub, type TestHub } from '../api/test-hub.js';
import { infer, setFault, startModelServer } from '../router/testing.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';

const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));
const children: ChildProcess[] = [];

function start(args: string[], env: Record<string, string> = {}) {
  const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY, 'route', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  children.push(child);
  let out = '';
  child.stdout.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, out: () => out, exited };
}

async function until<T>(
  what: string,
  fn: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

let a: { server: ModelServer; url: string };
let b: { server: ModelServer; url: string };
let dir: string;
let hubApp: FastifyInstance;
let hubStore: Store;
let hub: TestHub;
let hubUrl: string;

beforeAll(async () => {
  a = await startModelServer();
  b = await startModelServer();
  dir = mkdtempSync(join(tmpdir(), 'vigil-route-'));
  hubStore = await openStore(':memory:');
  hub = createTestHub(hubStore);
  hubApp = await createApi({ hub, heartbeatMs: 60_000, dashboardDir: false });
  await hubApp.listen({ host: '127.0.0.1', port: 0 });
  hubUrl = `http://127.0.0.1:${(hubApp.server.address() as AddressInfo).port}`;
});
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await hubApp?.close();
  await hubStore?.close();
  await a?.server.close();
  await b?.server.close();
});

const config = (policy = '{ deadline: 2s, idempotent: true }') => `
targets:
  - { name: credit-a, url: ${a.url}, protocol: oip-v2, model: credit-scorer }
  - { name: credit-b, url: ${b.url}, protocol: oip-v2, model: credit-scorer }
routers:
  - name: credit
    listen: 0
    primary: credit-a
    secondaries: [credit-b]
    policy: ${policy}
`;

// Real processes started with tsx: on a shared, loaded machine one can take tens of seconds to start.
describe('vigil route', { timeout: 180_000 }, () => {
  it('routes, follows the hub, drains and restores with the token, serves /metrics, reloads, stops', async () => {
    const file = join(dir, 'route.yaml');
    writeFileSync(file, config());
    const proc = start(['-c', file, '--admin-port', '0', '--hub', hubUrl], { VIGIL_ROUTER_TOKEN: 'secret' });
    const running = await until('vigil route running', () =>
      proc
        .out()
        .match(/"routers":\{"credit":"(http:[^"]+)"\},"admin":"(http:[^"]+)"[^\n]*vigil route running/),
    );
    const [, routerUrl = '', adminUrl = ''] = running;
    expect(await infer(routerUrl)).toMatchObject({ status: 200, servedBy: 'primary' });

    // The hub says the primary is unhealthy: drained.
    await until('the hub feed', () => hub.listenerCount > 0);
    hub.publish({
      type: 'transition',
      transition: {
        checkId: 'credit-a/liveness',
        region: 'local',
        from: 'healthy',
        to: 'unhealthy',
        at: 0,
        reason: 'x',
        results: [],
      },
    });
    await until('drained by the hub', async () => (await infer(routerUrl)).servedBy === 'secondary');
    hub.publish({
      type: 'transition',
      transition: {
        checkId: 'credit-a/liveness',
        region: 'local',
        from: 'unhealthy',
        to: 'healthy',
        at: 0,
        reason: 'x',
        results: [],
      },
    });

    // An operator drains the secondary: without the token 401, with it 200.
    const drain = (token?: string) =>
      fetch(`${adminUrl}/api/v1/routers/credit/upstreams/credit-b/drain`, {
        method: 'POST',
        ...(token && { headers: { authorization: `Bearer ${token}` } }),
      });
    expect((await drain()).status).toBe(401);
    expect((await drain('wrong')).status).toBe(401);
    const drained = await drain('secret');
    expect(drained.status).toBe(200);
    const status = (await drained.json()) as { upstreams: Array<{ name: string; drained: boolean }> };
    expect(status.upstreams[1]).toMatchObject({ name: 'credit-b', drained: true });
    const restored = await fetch(`${adminUrl}/api/v1/routers/credit/upstreams/credit-b/restore`, {
      method: 'POST',
      headers: { authorization: 'Bearer secret' },
    });
    expect(((await restored.json()) as typeof status).upstreams[1]).toMatchObject({ drained: false });
    const unknown = await fetch(`${adminUrl}/api/v1/routers/credit/upstreams/nope/drain`, {
      method: 'POST',
      headers: { authorization: 'Bearer secret' },
    });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'router "credit" has no upstream "nope"' });

    const metrics = await (await fetch(`${adminUrl}/metrics`)).text();
    expect(metrics).toMatch(
      /vigil_router_requests_total\{router="credit",served_by="primary",code="2xx"\} \d+/,
    );
    expect(metrics).toMatch(
      /vigil_router_requests_total\{router="credit",served_by="secondary",code="2xx"\} \d+/,
    );
    expect(proc.out()).toMatch(/"decision":"drain","upstream":"credit-b","reason":"drained by an operator"/);

    // An invalid edit is rejected and the routers keep running; a valid one reloads.
    writeFileSync(file, config('{ deadline: soon }'));
    await until('rejected', () => proc.out().includes('rejected; the running routers stay'));
    expect(proc.out()).toContain(
      'routers[0].policy.deadline: expected a duration like \\"200ms\\", got \\"soon\\"',
    );
    writeFileSync(file, config('{ deadline: 3s, idempotent: true }'));
    await until('reloaded', () => proc.out().includes('config reloaded (file changed)'));
    expect(await infer(routerUrl)).toMatchObject({ status: 200 });

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.out()).toContain('vigil route stopped');
  });

  it("drains a primary whose answers the hub flags (NaN): a real hub's states over its event stream", async () => {
    // The hub and the router in two processes reading one file (`vigil run --routers` runs both in
    // one: see daemon/run-routers.test.ts); the router sends its traffic with the hub's token.
    const file = join(dir, 'hub.yaml');
    writeFileSync(
      file,
      `defaults: { interval: 300ms, timeout: 250ms, failureThreshold: 2, fastInterval: 100ms }
targets:
${[
  ['credit-a', a.url],
  ['credit-b', b.url],
]
  .map(
    ([name, url]) => `  - name: ${name}
    url: ${url}
    protocol: oip-v2
    model: credit-scorer
    checks:
      integrity:
        request: { inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] }] }
        expect: { outputs: { probability: { finite: true } } }
`,
  )
  .join('')}routers:
  - { name: credit, listen: 0, primary: credit-a, secondaries: [credit-b], policy: { deadline: 2s, idempotent: true } }
`,
    );
    const hubProc = spawn(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        ENTRY,
        'run',
        '-c',
        file,
        '--port',
        '0',
        '--store',
        join(dir, 'hub.db'),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIGIL_API_TOKEN: 'hub-secret' } },
    );
    children.push(hubProc);
    let hubOut = '';
    hubProc.stdout.on('data', (c: Buffer) => {
      hubOut += c.toString();
    });
    const [, realHub = ''] = await until('the hub', () =>
      hubOut.match(/"url":"(http:[^"]+)"[^\n]*vigil hub running/),
    );

    const proc = start(['-c', file, '--admin-port', '0', '--hub', realHub], {
      VIGIL_HUB_TOKEN: 'hub-secret',
    });
    const [, routerUrl = ''] = await until('vigil route running', () =>
      proc.out().match(/"routers":\{"credit":"(http:[^"]+)"\}[^\n]*vigil route running/),
    );
    await until(
      'both healthy',
      () =>
        proc.out().match(/credit-b: the hub's state: unknown → healthy/) &&
        proc.out().match(/credit-a: the hub's state: unknown → healthy/),
    );
    expect(await infer(routerUrl)).toMatchObject({ status: 200, servedBy: 'primary' });
    // Its traffic reaches the hub's traffic check over the API.
    await until('the traffic check healthy', async () => {
      await infer(routerUrl);
      const { checks } = (await (await fetch(`${realHub}/api/v1/status`)).json()) as {
        checks: Array<{ checkId: string; state: string }>;
      };
      return checks.find((c) => c.checkId === 'credit-a/traffic:credit')?.state === 'healthy';
    });

    // The primary answers 200 with NaN: only the hub's integrity check can tell.
    await setFault(a.url, 'nan');
    try {
      await until('drained', () => proc.out().includes("credit-a: the hub's state: healthy → unhealthy"));
      expect(await infer(routerUrl)).toMatchObject({ status: 200, servedBy: 'secondary' });
    } finally {
      await fetch(`${a.url}/admin/faults`, { method: 'DELETE', headers: { authorization: 'Bearer t' } });
    }
  });

  it('a bad config exits 2 with one line per problem', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, config().replace('primary: credit-a', 'primary: credit-z'));
    const proc = start(['-c', file, '--admin-port', '0']);
    expect(await proc.exited).toBe(2);
    expect(proc.out()).toBe(
      `${file}:8:5: routers[0].primary: no target is named "credit-z"; did you mean "credit-a"?\nerror: ${file}: the routers did not start\n`,
    );
  });
});
