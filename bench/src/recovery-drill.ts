/**
 * Recovery drill: for each fault, MTTD (fault → first `unhealthy`) and MTTR (detection → every check
 * healthy again; fault → healthy beside it) with the `command` action restarting a real example model
 * server process, the actions run and the pages sent, for three faults switched on through the model
 * server's admin fault API: `crash` (the process exits), `hang` (every route hangs: the process lives,
 * answers nothing) and `garbage` (inference answers NaN: liveness passes, the integrity check fails).
 * Then a crash loop (the server crashes on every start) showing the limits hold: at most `maxRuns`
 * restarts, then the page saying actions are exhausted — never a restart forever.
 *
 * One hub per fault (liveness + integrity; interval 1 s, timeout 900 ms, failureThreshold 2,
 * fastInterval 250 ms), a SQLite store in a temp dir, a webhook receiver on 127.0.0.1 for pages. The
 * restart script SIGKILLs the server's process (a hung one too) and starts a fresh one on the same
 * port. For the MTTR runs the limits are opened (maxRuns 100, cooldown 0s, back-off 100 ms → 1 s) so
 * that consecutive runs measure recovery, not the limits; the crash loop uses the defaults' shape
 * (maxRuns 3) with short back-off (1 s → 4 s) and escalateAfter 2 s to finish in seconds.
 *
 *   node --conditions=source --import tsx bench/src/recovery-drill.ts [--runs 3] [--faults crash,hang,garbage] [--no-loop] [--wait-s 180]
 *   (or `npm run build && node bench/dist/recovery-drill.js …`)
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
import { createHub, createNotifiers, type HubEvent, openStore, parseConfig } from 'vigil-ml';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    faults: { type: 'string', default: 'crash,hang,garbage' },
    'no-loop': { type: 'boolean', default: false },
    'wait-s': { type: 'string', default: '180' },
  },
});
const RUNS = Number(values.runs);
const FAULTS = (values.faults ?? '').split(',').filter(Boolean) as Array<'crash' | 'hang' | 'garbage'>;
const TOKEN = 'drill';
/** Longest wait for any one step (healthy, unhealthy, healthy again, the page), in ms. */
const WAIT_MS = Number(values['wait-s']) * 1000;
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

async function waitFor(what: string, ok: () => boolean, timeoutMs = WAIT_MS): Promise<void> {
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

/** Firing alerts received, one entry per alert instance (fingerprint and start), with their name. */
const pages = new Map<string, string>();
const receiver = createServer((req, res) => {
  let body = '';
  req.on('data', (c) => {
    body += c;
  });
  req.on('end', () => {
    const group = JSON.parse(body) as {
      alerts: Array<{
        status: string;
        fingerprint: string;
        startsAt: string;
        labels: Record<string, string>;
      }>;
    };
    for (const a of group.alerts)
      if (a.status === 'firing') pages.set(`${a.fingerprint}@${a.startsAt}`, a.labels.alertname ?? '');
    res.end('ok');
  });
});
await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/`;

const pageNames = () => [...pages.values()];
const countBy = (items: readonly string[]) => {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(', ') || 'none';
};

interface Row {
  scenario: string;
  n: number;
  mttd: number[];
  mttr: number[];
  faultToHealthy: number[];
  actions: string;
  pages: string;
  note?: string;
}

function startHub(s: Setup, limits: string, extra = (y: string) => y) {
  const loaded = parseConfig(extra(yaml(s, hookUrl, limits)), { baseDir: s.dir });
  if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
  return loaded;
}

async function drill(fault: 'crash' | 'hang' | 'garbage'): Promise<Row> {
  const s = await server();
  pages.clear();
  const loaded = startHub(
    s,
    '      maxRuns: 100\n      cooldown: 0s\n      backoff: { initial: 100ms, max: 1s }\n      onRecovered: []',
  );
  const store = await openStore(join(s.dir, 'vigil.db'));
  const hub = createHub({
    plan: loaded.plan,
    store,
    redact: loaded.redact,
    alerting: {
      config: loaded.config.alerting as NonNullable<typeof loaded.config.alerting>,
      notifiers: createNotifiers(loaded.config.alerting?.notifiers),
    },
  });
  let unhealthyAt = 0;
  hub.subscribe((e: HubEvent) => {
    if (e.type !== 'transition') return;
    if (e.transition.to === 'unhealthy' && unhealthyAt === 0) unhealthyAt = Date.now();
  });
  await hub.start();
  const allHealthy = () => hub.status().every((c) => c.state === 'healthy');
  const mttd: number[] = [];
  const mttr: number[] = [];
  const faultToHealthy: number[] = [];
  let note: string | undefined;
  try {
    for (let i = 0; i < RUNS; i++) {
      await waitFor('healthy', allHealthy);
      unhealthyAt = 0;
      const at = Date.now();
      const [mode, params] =
        fault === 'crash' ? ['crash', {}] : fault === 'hang' ? ['hang', { scope: 'all' }] : ['nan', {}];
      const answer = await fetch(`${s.url}/admin/faults/${mode}`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify(params),
      }).catch((error: Error) => ({ ok: mode === 'crash', status: error.message }));
      if (!answer.ok) throw new Error(`fault ${mode}: ${answer.status}`);
      await waitFor('unhealthy', () => unhealthyAt > 0);
      await waitFor('healthy again', allHealthy);
      const healthyAt = Date.now();
      mttd.push(unhealthyAt - at);
      mttr.push(healthyAt - unhealthyAt);
      faultToHealthy.push(healthyAt - at);
      console.error(
        `${fault} run ${i + 1}: detected after ${unhealthyAt - at} ms, healthy ${healthyAt - unhealthyAt} ms after detection`,
      );
    }
  } catch (error) {
    note = `stopped after ${mttd.length} of ${RUNS} runs: ${(error as Error).message}; states ${JSON.stringify(
      hub.status().map((c) => [
        c.checkId,
        c.state,
        c.consecutiveFailures,
        c.lastResult && {
          ago: Date.now() - c.lastResult.startedAt,
          outcome: c.lastResult.outcome,
          error: c.lastResult.error?.message,
        },
        c.deferred?.message,
      ]),
    )}`;
    console.error(`${fault}: ${note}`);
  }
  await hub.flush().catch(() => {});
  const runs = await store.actionRuns();
  if (note !== undefined)
    note += `; runs: ${JSON.stringify(
      runs.map((r) => [new Date(r.claimedAt).toISOString(), r.checkId, r.status, r.skipReason, r.output]),
    )}`;
  await hub.stop();
  await store.close();
  try {
    process.kill(Number(readFileSync(s.pidfile, 'utf8')), 'SIGKILL');
  } catch {}
  // A stalled scenario keeps its folder (the server's log, the store) for a look.
  if (note === undefined) rmSync(s.dir, { recursive: true, force: true });
  else note += `; kept ${s.dir}`;
  return {
    scenario: fault,
    n: mttd.length,
    mttd,
    mttr,
    faultToHealthy,
    actions: countBy(runs.map((r) => (r.status === 'skipped' ? `skipped (${r.skipReason})` : r.status))),
    pages: countBy(pageNames()),
    ...(note !== undefined && { note }),
  };
}

async function crashLoop(): Promise<Row> {
  const s = await server(['--fault', 'crash:afterMs=0']);
  pages.clear();
  const loaded = startHub(s, '      maxRuns: 3\n      backoff: { initial: 1s, max: 4s }', (y) =>
    y.replace('timeout: 30s', 'timeout: 30s\n          escalateAfter: 2s'),
  );
  const store = await openStore(join(s.dir, 'vigil.db'));
  const hub = createHub({
    plan: loaded.plan,
    store,
    redact: loaded.redact,
    alerting: {
      config: loaded.config.alerting as NonNullable<typeof loaded.config.alerting>,
      notifiers: createNotifiers(loaded.config.alerting?.notifiers),
    },
  });
  let unhealthyAt = 0;
  hub.subscribe((e: HubEvent) => {
    if (e.type === 'transition' && e.transition.to === 'unhealthy' && unhealthyAt === 0)
      unhealthyAt = Date.now();
  });
  const start = Date.now();
  await hub.start();
  let note: string | undefined;
  try {
    await waitFor('the exhausted page', () => pageNames().includes('VigilActionsExhausted'));
  } catch (error) {
    note = (error as Error).message;
  }
  const pagedAfter = Date.now() - start;
  // Stays down: no further restart may follow the page (checked for one more back-off cap).
  await new Promise((r) => setTimeout(r, 5_000));
  const runs = (await store.actionRuns()).reverse();
  await hub.stop();
  await store.close();
  rmSync(s.dir, { recursive: true, force: true });
  const restarts = runs.filter((r) => r.status !== 'skipped').length;
  console.error(
    `crash loop: runs ${runs.map((r) => (r.status === 'skipped' ? `skipped (${r.skipReason})` : r.status)).join(', ')}; exhausted page ${pagedAfter} ms after start`,
  );
  return {
    scenario: 'crash loop (maxRuns 3)',
    n: 1,
    mttd: unhealthyAt > 0 ? [unhealthyAt - start] : [],
    mttr: [],
    faultToHealthy: [],
    actions: countBy(runs.map((r) => (r.status === 'skipped' ? `skipped (${r.skipReason})` : r.status))),
    pages: countBy(pageNames()),
    note:
      note ??
      `${restarts} restarts, then "actions exhausted" paged ${(pagedAfter / 1000).toFixed(1)} s after start; no restart after it`,
  };
}

console.error(
  `recovery drill: ${RUNS} runs per fault; ${cpus().length} CPUs, load ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
const rows: Row[] = [];
for (const fault of FAULTS) rows.push(await drill(fault));
if (!values['no-loop']) rows.push(await crashLoop());
const sec = (xs: number[]) =>
  xs.length === 0 ? '—' : `${(median(xs) / 1000).toFixed(1)} / ${(Math.max(...xs) / 1000).toFixed(1)}`;
console.log(
  '| scenario | runs | MTTD median / max (s) | MTTR, detection → healthy, median / max (s) | fault → healthy median / max (s) | action runs | pages sent |',
);
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const r of rows)
  console.log(
    `| ${r.scenario} | ${r.n} | ${sec(r.mttd)} | ${sec(r.mttr)} | ${sec(r.faultToHealthy)} | ${r.actions} | ${r.pages} |`,
  );
for (const r of rows) if (r.note) console.log(`\n${r.scenario}: ${r.note}`);
console.error(
  `load at the end: ${loadavg()
    .map((l) => l.toFixed(2))
    .join(' ')}`,
);
receiver.close();
process.exit(0);
