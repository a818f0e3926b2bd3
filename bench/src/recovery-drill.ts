/**
 * Recovery drill: mean time to recovery (fault → healthy again) with the `command` action restarting a
 * real example model server process, next to the detection time (fault → `unhealthy`), for three
 * faults: `crash` (the process exits), `hang` (every route hangs: the process lives, answers nothing)
 * and `garbage` (inference answers NaN: liveness passes, the integrity check fails). Then a crash loop
 * (the server crashes on every start) showing the limits hold: at most `maxRuns` restarts, then the page
 * saying actions are exhausted.
 *
 * One hub per fault (liveness + integrity; interval 1 s, timeout 900 ms, failureThreshold 2,
 * fastInterval 250 ms), a SQLite store in a temp dir, a webhook receiver on 127.0.0.1 for pages. The
 * restart script SIGKILLs the server's process (a hung one too) and starts a fresh one on the same
 * port. For the MTTR runs the limits are opened (maxRuns 100, cooldown 0s, back-off 100 ms → 1 s) so
 * that consecutive runs measure recovery, not the limits; the crash loop uses the defaults' shape
 * (maxRuns 3) with short back-off (1 s → 4 s) and escalateAfter 2 s to finish in seconds.
 *
 *   npm run build && node bench/dist/recovery-drill.js [--runs 3] [--faults crash,hang,garbage] [--no-loop]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { createServer as createNetServer } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createHub, createNotifiers, type HubEvent, openStore, parseConfig } from 'vigil';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    faults: { type: 'string', default: 'crash,hang,garbage' },
    'no-loop': { type: 'boolean', default: false },
  },
});
const RUNS = Number(values.runs);
const FAULTS = (values.faults ?? '').split(',').filter(Boolean) as Array<'crash' | 'hang' | 'garbage'>;
const TOKEN = 'drill';
const require = createRequire(import.meta.url);
const BIN = require.resolve('@vigil/example-model-server/bin');

const SCRIPT = `
import { spawn } from 'node:child_process';
import { openSync, readFileSync, writeFileSync } from 'node:fs';
const [pidfile, port, ...extra] = process.argv.slice(2);
let old; try { old = Number(readFileSync(pidfile, 'utf8')); } catch {}
if (old) { try { process.kill(old, 'SIGKILL'); } catch {}
  for (let i = 0; i < 200; i++) { try { process.kill(old, 0); } catch { break; } await new Promise((r) => setTimeout(r, 10)); } }
const log = openSync(pidfile + '.log', 'a');
const child = spawn(process.execPath, [${JSON.stringify(BIN)}, 'serve', '--port', port, '--models', 'credit-scorer',
  '--warmup-inferences', '0', '--enable-faults', '--admin-token', '${TOKEN}', '--log-level', 'error', ...extra],
  { detached: true, stdio: ['ignore', log, log] });
writeFileSync(pidfile, String(child.pid)); child.unref();
console.log('restarted: pid ' + child.pid);
`;

async function freePort(): Promise<number> {
  const s = createNetServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

async function waitFor(what: string, ok: () => boolean, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface Setup {
  dir: string;
  url: string;
  pidfile: string;
  argv: string[];
}

async function server(extra: string[] = []): Promise<Setup> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-drill-'));
  writeFileSync(join(dir, 'restart.mjs'), SCRIPT);
  const pidfile = join(dir, 'server.pid');
  const port = await freePort();
  const argv = [process.execPath, join(dir, 'restart.mjs'), pidfile, String(port), ...extra];
  execFileSync(argv[0] as string, argv.slice(1));
  return { dir, url: `http://127.0.0.1:${port}`, pidfile, argv };
}

function yaml(s: Setup, hook: string, limits: string): string {
  return `
defaults: { interval: 1s, timeout: 900ms, failureThreshold: 2, fastInterval: 250ms }
targets:
  - name: scorer
    url: ${s.url}
    protocol: oip-v2
    model: credit-scorer
    checks:
      liveness: {}
      integrity:
        request:
          inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] }]
    actions:
      onUnhealthy:
        - kind: command
          name: restart
          command: [${s.argv.map((a) => JSON.stringify(a)).join(', ')}]
          timeout: 30s
${limits}
alerting:
  routes: [{ notify: [hook], group_wait: 0s, group_interval: 200ms }]
  notifiers: { hook: { type: webhook, url: "${hook}" } }
`;
}

const pages: string[] = [];
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    const group = JSON.parse(body) as { alerts: Array<{ status: string; labels: Record<string, string> }> };
    for (const a of group.alerts) if (a.status === 'firing') pages.push(a.labels.alertname ?? '');
    res.end('ok');
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;

async function drill(fault: 'crash' | 'hang' | 'garbage') {
  const s = await server();
  const loaded = parseConfig(
    yaml(
      s,
      hookUrl,
      '      maxRuns: 100\n      cooldown: 0s\n      backoff: { initial: 100ms, max: 1s }\n      onRecovered: []',
    ),
    { baseDir: s.dir },
  );
  if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
  const store = await openStore(join(s.dir, 'vigil.db'));
  const hub = createHub({
    plan: loaded.plan,
    store,
    alerting: {
      config: loaded.config.alerting as NonNullable<typeof loaded.config.alerting>,
      notifiers: createNotifiers(loaded.config.alerting?.notifiers),
    },
  });
  let unhealthyAt = 0;
  let healthyAt = 0;
  hub.subscribe((e: HubEvent) => {
    if (e.type !== 'transition') return;
    if (e.transition.to === 'unhealthy' && unhealthyAt === 0) unhealthyAt = Date.now();
  });
  await hub.start();
  const allHealthy = () => hub.status().every((c) => c.state === 'healthy');
  const results: Array<{ detectMs: number; mttrMs: number }> = [];
  for (let i = 0; i < RUNS; i++) {
    await waitFor('healthy', allHealthy, 60_000).catch((error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(hub.status().map((c) => [c.checkId, c.state]))}`);
    });
    unhealthyAt = 0;
    healthyAt = 0;
    const at = Date.now();
    const [mode, params] =
      fault === 'crash' ? ['crash', {}] : fault === 'hang' ? ['hang', { scope: 'all' }] : ['nan', {}];
    await fetch(`${s.url}/admin/faults/${mode}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(params),
    });
    await waitFor('unhealthy', () => unhealthyAt > 0, 60_000);
    await waitFor('healthy again', allHealthy, 120_000);
    healthyAt = Date.now();
    results.push({ detectMs: unhealthyAt - at, mttrMs: healthyAt - at });
    console.error(`${fault} run ${i + 1}: detected ${unhealthyAt - at} ms, healthy ${healthyAt - at} ms`);
  }
  const runs = await store.actionRuns();
  await hub.stop();
  await store.close();
  try {
    process.kill(Number(readFileSync(s.pidfile, 'utf8')), 'SIGKILL');
  } catch {}
  rmSync(s.dir, { recursive: true, force: true });
  const d = results.map((r) => r.detectMs);
  const m = results.map((r) => r.mttrMs);
  return {
    fault,
    n: results.length,
    detectMedian: median(d),
    detectMax: Math.max(...d),
    mttrMedian: median(m),
    mttrMax: Math.max(...m),
    restarts: runs.filter((r) => r.status === 'succeeded').length,
  };
}

async function crashLoop() {
  const s = await server(['--fault', 'crash:afterMs=0']);
  pages.length = 0;
  const loaded = parseConfig(
    yaml(s, hookUrl, '      maxRuns: 3\n      backoff: { initial: 1s, max: 4s }').replace(
      'timeout: 30s',
      'timeout: 30s\n          escalateAfter: 2s',
    ),
    {
      baseDir: s.dir,
    },
  );
  if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
  const store = await openStore(join(s.dir, 'vigil.db'));
  const hub = createHub({
    plan: loaded.plan,
    store,
    alerting: {
      config: loaded.config.alerting as NonNullable<typeof loaded.config.alerting>,
      notifiers: createNotifiers(loaded.config.alerting?.notifiers),
    },
  });
  const start = Date.now();
  await hub.start();
  await waitFor('the exhausted page', () => pages.includes('VigilActionsExhausted'), 120_000);
  const pagedAfter = Date.now() - start;
  const runs = (await store.actionRuns()).reverse();
  await hub.stop();
  await store.close();
  rmSync(s.dir, { recursive: true, force: true });
  return {
    pagedAfter,
    runs: runs.map((r) => (r.status === 'skipped' ? `skipped (${r.skipReason})` : r.status)),
  };
}

console.error(
  `recovery drill: ${RUNS} runs per fault; ${cpus().length} CPUs, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const rows = [];
for (const fault of FAULTS) rows.push(await drill(fault));
console.log('| fault | runs | detection median / max (s) | MTTR median / max (s) | restarts |');
console.log('| --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.fault} | ${r.n} | ${(r.detectMedian / 1000).toFixed(1)} / ${(r.detectMax / 1000).toFixed(1)} | ${(r.mttrMedian / 1000).toFixed(1)} / ${(r.mttrMax / 1000).toFixed(1)} | ${r.restarts} |`,
  );
if (!values['no-loop']) {
  const loop = await crashLoop();
  console.log(
    `\ncrash loop (crash on every start, maxRuns 3): runs ${loop.runs.join(', ')}; "actions exhausted" paged after ${(loop.pagedAfter / 1000).toFixed(1)} s`,
  );
}
receiver.close();
