/**
 * Regions with real network separation: Linux network namespaces and veth pairs created by the test.
 * A model server runs in its own namespace; each region's agent (`vigil agent`, a real process) in
 * another, reaching the model through a delay proxy in the root namespace (its region's latency) over
 * one veth pair and the hub over a second. Cutting a path is setting a link down (this kernel has no
 * netem, and nftables may be missing). `ip netns exec` gives each namespace its own /etc/hosts, so one
 * target URL reaches the model through each region's own path.
 *
 * Needs root and `ip` (iproute2): skipped with the reason printed otherwise, unless VIGIL_REQUIRE_ALL=1.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApi } from '../api/index.js';
import { parseConfig } from '../config/load.js';
import { describeWith } from '../fixtures/needs.js';
import { createHub, type Hub } from '../hub/hub.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { waitFor as waitUntil } from './testing.js';

const waitFor = (what: string, condition: () => boolean | Promise<boolean>, timeoutMs = 30_000) =>
  waitUntil(what, condition, timeoutMs, 100);

const isRoot = process.getuid?.() === 0;
const hasIp = spawnSync('ip', ['-V']).status === 0;
const ENTRY = fileURLToPath(new URL('../cli/bin.ts', import.meta.url));
const id = String(process.pid % 10_000);
const NS = { model: `vgm${id}`, eu: `vge${id}`, us: `vgu${id}` };
const TOKENS = { eu: 'eu-netns-token-0123456789', us: 'us-netns-token-0123456789' };
/** Root-side link names (≤ 15 characters): the model's, and per region its model path (a) and hub path (b). */
const LINK = { model: `vm${id}`, euA: `vea${id}`, euB: `veb${id}`, usA: `vua${id}`, usB: `vub${id}` };

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')}: ${r.stderr}`);
}

/** A veth pair: `root` (address `rootIp`) in the root namespace, its peer in `ns` (address `nsIp`). */
function veth(root: string, ns: string, rootIp: string, nsIp: string): void {
  ip('link', 'add', root, 'type', 'veth', 'peer', 'name', `${root}p`);
  ip('link', 'set', `${root}p`, 'netns', ns);
  ip('addr', 'add', `${rootIp}/24`, 'dev', root);
  ip('link', 'set', root, 'up');
  ip('-n', ns, 'addr', 'add', `${nsIp}/24`, 'dev', `${root}p`);
  ip('-n', ns, 'link', 'set', `${root}p`, 'up');
}

/** An HTTP proxy on `host:8080` to the model, adding `delayMs` (a region's latency). */
function delayProxy(host: string, delayMs: number): Promise<Server> {
  const server = createServer((req, res) => {
    setTimeout(() => {
      const out = httpRequest(
        { host: '10.241.1.2', port: 8080, path: req.url, method: req.method, headers: req.headers },
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(res);
        },
      );
      out.on('error', () => res.destroy());
      req.pipe(out);
    }, delayMs);
  });
  return new Promise((resolve) => server.listen(8080, host, () => resolve(server)));
}

describeWith(isRoot && hasIp, 'root and ip (iproute2)', 'agents in network namespaces', () => {
  let dir: string;
  let store: Store;
  let hub: Hub;
  let api: FastifyInstance;
  let hubPort: number;
  const proxies: Server[] = [];
  const children: ChildProcess[] = [];
  const agentOut: Record<string, string> = {};
  const brokenFlag = () => join(dir, 'broken');

  function startAgent(region: 'eu' | 'us', hubHost: string): ChildProcess {
    const child = spawn(
      'ip',
      [
        'netns',
        'exec',
        NS[region],
        process.execPath,
        '--conditions=source',
        '--import',
        'tsx',
        ENTRY,
        'agent',
        '--hub',
        `http://${hubHost}:${hubPort}`,
        '--region',
        region,
        '--spool',
        join(dir, `${region}-spool.db`),
        '--poll-interval',
        '1s',
        '--log-format',
        'json',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, VIGIL_AGENT_TOKEN: TOKENS[region] } },
    );
    agentOut[region] = '';
    child.stdout?.on('data', (c: Buffer) => {
      agentOut[region] += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      agentOut[region] += c.toString();
    });
    children.push(child);
    return child;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-netns-'));
    for (const ns of Object.values(NS)) {
      spawnSync('ip', ['netns', 'del', ns]);
      ip('netns', 'add', ns);
      ip('-n', ns, 'link', 'set', 'lo', 'up');
    }
    veth(LINK.model, NS.model, '10.241.1.1', '10.241.1.2');
    veth(LINK.euA, NS.eu, '10.241.2.1', '10.241.2.2');
    veth(LINK.euB, NS.eu, '10.241.3.1', '10.241.3.2');
    veth(LINK.usA, NS.us, '10.241.4.1', '10.241.4.2');
    veth(LINK.usB, NS.us, '10.241.5.1', '10.241.5.2');
    // One name, each region's own path to the model (`ip netns exec` mounts /etc/netns/<ns>/hosts).
    for (const [ns, proxyIp] of [
      [NS.eu, '10.241.2.1'],
      [NS.us, '10.241.4.1'],
    ] as const) {
      mkdirSync(`/etc/netns/${ns}`, { recursive: true });
      writeFileSync(`/etc/netns/${ns}/hosts`, `127.0.0.1 localhost\n${proxyIp} model.vigil.test\n`);
    }
    // The model, in its namespace: 200, or 500 while the flag file exists.
    const model = spawn(
      'ip',
      [
        'netns',
        'exec',
        NS.model,
        process.execPath,
        '-e',
        `require('node:http').createServer((q, s) => { const broken = require('node:fs').existsSync(${JSON.stringify(brokenFlag())}); s.writeHead(broken ? 500 : 200, {'content-type': 'application/json'}); s.end(JSON.stringify({ok: !broken})); }).listen(8080, '10.241.1.2');`,
      ],
      { stdio: 'ignore' },
    );
    children.push(model);
    proxies.push(await delayProxy('10.241.2.1', 20), await delayProxy('10.241.4.1', 120));

    store = await openStore(':memory:');
    const loaded = parseConfig(
      `
agents:
  downAfter: 2s
  regions:
    eu: { token: "${TOKENS.eu}" }
    us: { token: "${TOKENS.us}" }
defaults: { interval: 1s, timeout: 800ms, failureThreshold: 2, fastInterval: 300ms }
targets:
  - name: scorer
    url: http://model.vigil.test:8080
    protocol: http
    regions: [eu, us]
    checks: { liveness: {} }
`,
      { baseDir: dir },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    hub = createHub({
      plan: loaded.plan,
      store,
      flushIntervalMs: 20,
      watchdogIntervalMs: 200,
      agents: { regions: ['eu', 'us'], downAfterMs: 2000 },
    });
    const tokens = new Map(Object.entries(TOKENS));
    api = await createApi({ hub, dashboardDir: false, agents: { tokenOf: (r) => tokens.get(r) } });
    await api.listen({ host: '0.0.0.0', port: 0 });
    hubPort = (api.server.address() as { port: number }).port;
    await hub.start();
    startAgent('eu', '10.241.3.1');
    startAgent('us', '10.241.5.1');
  }, 60_000);

  afterAll(async () => {
    for (const c of children) c.kill('SIGKILL');
    await hub?.stop();
    await api?.close();
    await store?.close();
    for (const p of proxies) p.close();
    for (const ns of Object.values(NS)) {
      spawnSync('ip', ['netns', 'del', ns]);
      rmSync(`/etc/netns/${ns}`, { recursive: true, force: true });
    }
    for (const link of Object.values(LINK)) spawnSync('ip', ['link', 'del', link]);
    rmSync(dir, { recursive: true, force: true });
  });

  const verdict = () => hub.status().find((s) => s.checkId === 'scorer/liveness')?.verdict;
  const critical = async () => (await hub.alerts()).filter((a) => a.labels.severity === 'critical');
  const names = async () =>
    (await hub.alerts()).map((a) => `${a.labels.alertname}:${a.labels.region}`).sort();

  it('tells a cut path (regional) from a broken model (global), replays a partition, and raises agent down', async () => {
    await waitFor(
      'both regions reporting healthy',
      () => verdict()?.reporting.length === 2 && verdict()?.state === 'ok',
      60_000,
    );
    // Each region's latency includes its proxy's delay (20 ms eu, 120 ms us).
    const us = hub.status().find((s) => s.checkId === 'scorer/liveness' && s.region === 'us');
    expect(us?.lastResult?.durationMs).toBeGreaterThanOrEqual(120);

    // Cut eu's path to the model: regional, a warning with eu's label, nothing critical.
    ip('link', 'set', LINK.euA, 'down');
    await waitFor('regional', () => verdict()?.state === 'regional');
    expect(verdict()?.failing).toEqual(['eu']);
    expect(await names()).toEqual(['VigilCheckRegional:eu']);
    expect(await critical()).toEqual([]);
    ip('link', 'set', LINK.euA, 'up');
    await waitFor('ok after the path heals', () => verdict()?.state === 'ok');

    // Break the model: global, one critical alert.
    writeFileSync(brokenFlag(), '');
    await waitFor('global', () => verdict()?.state === 'global');
    expect(await critical()).toHaveLength(1);
    rmSync(brokenFlag());
    await waitFor('ok after the model heals', () => verdict()?.state === 'ok');

    // Partition eu from the hub: its results go to the spool, then are replayed once it heals.
    ip('link', 'set', LINK.euB, 'down');
    await new Promise((r) => setTimeout(r, 3000));
    ip('link', 'set', LINK.euB, 'up');
    await waitFor(
      'eu up again',
      () =>
        hub.agents().find((a) => a.region === 'eu')?.spoolDepth === 0 &&
        hub.agents().find((a) => a.region === 'eu')?.state === 'up',
    );

    // Stop eu's agent: it pushes what it holds; every result it probed is stored once.
    const euAgent = children.find((c) => c.spawnargs.includes(NS.eu));
    euAgent?.kill('SIGTERM');
    await waitFor('eu agent exited', () => euAgent?.exitCode !== null || euAgent?.signalCode !== null);
    expect(euAgent?.exitCode, agentOut.eu).toBe(0);
    const stopped = agentOut.eu?.split('\n').find((line) => line.includes('agent stopped'));
    const stats = JSON.parse(stopped ?? '{}') as {
      probed?: number;
      pushed?: number;
      spoolDepth?: number;
      dropped?: number;
    };
    await hub.flush();
    const stored = await store.results('scorer/liveness', { region: 'eu', limit: 10_000 });
    expect(stats.spoolDepth).toBe(0);
    expect(stats.dropped).toBe(0);
    expect(stats.probed).toBeGreaterThan(0);
    expect(stored).toHaveLength(stats.probed ?? -1);
    expect(hub.agents().find((a) => a.region === 'eu')?.results).toBe(stats.probed);

    // eu's agent is gone: agent down for eu, its region out of the quorum, no flood of target alerts.
    await waitFor('eu agent down', () => hub.agents().find((a) => a.region === 'eu')?.state === 'down');
    expect(await names()).toEqual(['VigilAgentDown:eu']);
    await waitFor('eu absent', () => verdict()?.absent.includes('eu') === true);
    expect(verdict()?.reporting).toEqual(['us']);
  }, 90_000);
});
