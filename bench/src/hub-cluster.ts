/**
 * Benchmark: several hubs on one PostgreSQL (issue 22, `vigil run --cluster`). Three phases, each
 * its own table, in one run (this machine's speed drifts; compare rows of one run only):
 *
 * - `capacity`: per check count (`--checks-list`, `http` liveness checks at `--interval` against the
 *   scale endpoints, `scale-endpoints.ts`), three set-ups over the same window: one hub without
 *   `--cluster`, one hub with `--cluster`, two hubs with `--cluster`. Per set-up: probes/s (results
 *   stored in the window), scheduler lag p99 (each hub's `vigil_scheduler_lag_seconds` histogram over
 *   the window: the bucket's upper bound, the worst hub), the largest RSS of a hub, CPU (utime+stime
 *   from /proc) of the hubs and of the PostgreSQL backends serving the bench's database (sampled
 *   every second by pid from `pg_stat_activity`), per probe, and the whole machine's busy share
 *   (/proc/stat; other sessions on the machine included). The cluster's overhead (lease ticks, the
 *   states and transitions the hubs read of each other, the claims) is the CPU per probe of a set-up
 *   against the one without `--cluster` at the same count.
 * - `events`: two hubs, `--event-checks` checks at 1 s against a local server whose answer the bench
 *   flips between 200 and 500; both hubs' `GET /api/v1/events` streams are read, and for each
 *   transition the delay is from the first hub's event (the decider's) to the other's.
 * - `takeover`: two hubs with `--checks` liveness checks of the example model server at 1 s; the hub
 *   holding more shards is SIGKILLed; takeover = kill → the survivor holds all 256 shards (polled
 *   every 50 ms); probed again = kill → every check has a stored result started after the kill. A
 *   fresh hub joins before the next kill. Median and max over `--runs` kills.
 *
 * Every phase uses a database of its own (`CREATE DATABASE`, dropped at the end). Hubs are the built
 * `vigil` binary (`packages/vigil/bin/vigil.js`, with its node flags): run `npm run build` first.
 *
 *   node bench/dist/hub-cluster.js [--db postgres://postgres@127.0.0.1:5432/test]
 *     [--phases capacity,events,takeover] [--checks-list 1000,4000] [--interval 10s]
 *     [--warmup-s 20] [--measure-s 30] [--event-checks 8] [--flips 6] [--runs 3] [--checks 20]
 *     [--lease 10s]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createModelServer } from '@vigil/example-model-server';
import pg from 'pg';
import { startScaleEndpoints } from './scale-children.js';
import { coreBusySeconds, cpuSeconds, vmMb } from './scale-hub-child.js';
import { median } from './stats.js';
import { vigilNodeFlags } from './vigil-flags.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    phases: { type: 'string', default: 'capacity,events,takeover' },
    'checks-list': { type: 'string', default: '1000,4000' },
    interval: { type: 'string', default: '10s' },
    'warmup-s': { type: 'string', default: '20' },
    'measure-s': { type: 'string', default: '30' },
    ports: { type: 'string', default: '64' },
    'event-checks': { type: 'string', default: '8' },
    flips: { type: 'string', default: '6' },
    'event-rounds': { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
    checks: { type: 'string', default: '20' },
    lease: { type: 'string', default: '10s' },
  },
});
const PHASES = new Set(values.phases.split(','));
const BIN = fileURLToPath(new URL('../../packages/vigil/bin/vigil.js', import.meta.url));
const NODE_FLAGS = vigilNodeFlags();
const baseUrl = values.db;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const loadNow = () => loadavg()[0]?.toFixed(1) ?? '?';

/** The bench's URL with another database. */
function withDb(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

async function sql<R extends pg.QueryResultRow>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<R[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

/** A fresh database for one set-up; `drop` ends its connections and drops it. */
async function freshDb(tag: string): Promise<{ url: string; name: string; drop: () => Promise<void> }> {
  const name = `vigil_cluster_bench_${process.pid}_${tag}`;
  await sql(baseUrl, `DROP DATABASE IF EXISTS ${name}`);
  await sql(baseUrl, `CREATE DATABASE ${name}`);
  return {
    url: withDb(baseUrl, name),
    name,
    drop: () => sql(baseUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`).then(() => {}),
  };
}

interface Hub {
  child: ChildProcess;
  id: string | undefined;
  url: string;
}

function startHub(file: string, store: string, cluster: boolean): Promise<Hub> {
  const args = [...NODE_FLAGS, BIN, 'run', '-c', file, '--port', '0', '--store', store];
  if (cluster) args.push('--cluster');
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      if (out.length > 1 << 20) out = out.slice(-(1 << 16));
      const line = out.split('\n').find((l) => l.includes('vigil hub running'));
      if (line !== undefined) {
        const parsed = JSON.parse(line) as { url: string; hubId?: string };
        child.stdout?.off('data', onData);
        child.stderr?.off('data', onData);
        child.stdout?.resume();
        child.stderr?.resume();
        resolve({ child, id: parsed.hubId, url: parsed.url });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`hub exited:\n${out.slice(-4000)}`)));
  });
}

async function stopHubs(hubs: Hub[]): Promise<void> {
  await Promise.all(
    hubs.map(
      (h) =>
        new Promise<void>((resolve) => {
          if (h.child.exitCode !== null || h.child.signalCode !== null) return resolve();
          h.child.once('exit', () => resolve());
          h.child.kill('SIGTERM');
          setTimeout(() => h.child.kill('SIGKILL'), 15_000).unref();
        }),
    ),
  );
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 180_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn().catch(() => false)) return;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function owners(url: string): Promise<Map<string, number>> {
  const rows = await sql<{ owner: string; n: string }>(
    url,
    'SELECT owner, count(*) AS n FROM cluster_shards WHERE owner IS NOT NULL AND lease_until > now() GROUP BY owner',
  ).catch(() => []);
  return new Map(rows.map((r) => [r.owner, Number(r.n)]));
}

// --- capacity -------------------------------------------------------------------------------------

/** Cumulative counts of `vigil_scheduler_lag_seconds` by upper bound (s), from a hub's /metrics. */
async function lagBuckets(hub: Hub): Promise<Map<number, number>> {
  const text = await (await fetch(`${hub.url}/metrics`)).text();
  const out = new Map<number, number>();
  for (const m of text.matchAll(/^vigil_scheduler_lag_seconds_bucket\{le="([^"]+)"\} (\d+)/gm)) {
    out.set(m[1] === '+Inf' ? Number.POSITIVE_INFINITY : Number(m[1]), Number(m[2]));
  }
  return out;
}

/** The upper bound (ms) of the bucket holding the 99th percentile of the lags between two readings. */
function p99Ms(before: Map<number, number>, after: Map<number, number>): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Number.POSITIVE_INFINITY) ?? 0) - (before.get(Number.POSITIVE_INFINITY) ?? 0);
  if (total === 0) return Number.NaN;
  for (const b of bounds) {
    if ((after.get(b) ?? 0) - (before.get(b) ?? 0) >= 0.99 * total) return b * 1000;
  }
  return Number.POSITIVE_INFINITY;
}

/** CPU seconds of the PostgreSQL backends of one database, followed by pid while they live. */
function pgBackendCpu(dbName: string) {
  const seen = new Map<number, { first: number; last: number }>();
  const startedAt = Date.now();
  let first = true;
  const sample = async () => {
    const rows = await sql<{ pid: number; started: boolean }>(
      baseUrl,
      'SELECT pid, backend_start > to_timestamp($2 / 1000.0) AS started FROM pg_stat_activity WHERE datname = $1',
      [dbName, startedAt],
    ).catch(() => []);
    for (const r of rows) {
      let cpu: number;
      try {
        cpu = cpuSeconds(r.pid);
      } catch {
        continue;
      }
      const known = seen.get(r.pid);
      // A backend born inside the window counts from 0; one alive at the start from its first reading.
      if (known === undefined) seen.set(r.pid, { first: first || !r.started ? cpu : 0, last: cpu });
      else known.last = cpu;
    }
    first = false;
  };
  const timer = setInterval(() => void sample(), 1000);
  return {
    start: sample,
    async stop(): Promise<number> {
      clearInterval(timer);
      await sample();
      let sum = 0;
      for (const v of seen.values()) sum += v.last - v.first;
      return sum;
    },
  };
}

interface CapacityRow {
  checks: number;
  setup: string;
  hubs: number;
  probesPerSecond: number;
  lagP99Ms: number;
  rssMb: number;
  hubCpuS: number;
  pgCpuS: number;
  machineBusy: number;
  wallS: number;
  load: string;
}

async function capacity(checks: number, setup: 'single' | 'cluster-1' | 'cluster-2', ports: number[]) {
  const hubsWanted = setup === 'cluster-2' ? 2 : 1;
  const cluster = setup !== 'single';
  const db = await freshDb(`${setup.replace('-', '')}_${checks}`);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-bench-'));
  const file = join(dir, 'vigil.yaml');
  writeFileSync(
    file,
    `defaults: { interval: ${values.interval}, timeout: 5s }
targets:
${Array.from({ length: checks }, (_, i) => `  - { name: t${i}, url: "http://127.0.0.1:${ports[i % ports.length]}/t${i}", protocol: http }`).join('\n')}
`,
  );
  const hubs: Hub[] = [];
  try {
    // One after the other: the first migrates.
    hubs.push(await startHub(file, db.url, cluster));
    for (let i = 1; i < hubsWanted; i++) hubs.push(await startHub(file, db.url, cluster));
    if (cluster)
      await until(
        `${hubsWanted} hubs holding shards`,
        async () => (await owners(db.url)).size === hubsWanted,
      );
    await sleep(Number(values['warmup-s']) * 1000);
    const pgCpu = pgBackendCpu(db.name);
    await pgCpu.start();
    const lag0 = await Promise.all(hubs.map(lagBuckets));
    const cpu0 = hubs.map((h) => cpuSeconds(h.child.pid as number));
    const busy0 = coreBusySeconds('');
    const t0 = Date.now();
    let rss = 0;
    const rssTimer = setInterval(() => {
      for (const h of hubs) rss = Math.max(rss, vmMb(h.child.pid as number, 'VmRSS'));
    }, 1000);
    const load = loadNow();
    await sleep(Number(values['measure-s']) * 1000);
    const t1 = Date.now();
    const hubCpuS = hubs.reduce((s, h, i) => s + cpuSeconds(h.child.pid as number) - (cpu0[i] as number), 0);
    const busy = coreBusySeconds('') - busy0;
    clearInterval(rssTimer);
    for (const h of hubs) rss = Math.max(rss, vmMb(h.child.pid as number, 'VmRSS'));
    const lag1 = await Promise.all(hubs.map(lagBuckets));
    const pgCpuS = await pgCpu.stop();
    // Results are written in batches: count those started in the window once written.
    await sleep(3000);
    const probes = Number(
      (
        await sql<{ n: string }>(
          db.url,
          'SELECT count(*) AS n FROM results WHERE started_at >= $1 AND started_at < $2',
          [t0, t1],
        )
      )[0]?.n,
    );
    const wallS = (t1 - t0) / 1000;
    const row: CapacityRow = {
      checks,
      setup,
      hubs: hubsWanted,
      probesPerSecond: probes / wallS,
      lagP99Ms: Math.max(
        ...hubs.map((_, i) => p99Ms(lag0[i] as Map<number, number>, lag1[i] as Map<number, number>)),
      ),
      rssMb: rss,
      hubCpuS,
      pgCpuS,
      machineBusy: busy / wallS / 2,
      wallS,
      load,
    };
    process.stderr.write(`  ${JSON.stringify(row)}\n`);
    return row;
  } finally {
    await stopHubs(hubs);
    await db.drop().catch((err: Error) => process.stderr.write(`drop: ${err.message}\n`));
    rmSync(dir, { recursive: true, force: true });
  }
}

async function capacityPhase(): Promise<void> {
  const endpoints = startScaleEndpoints({ ports: Number(values.ports), keepAliveMs: 65_000 });
  const rows: CapacityRow[] = [];
  try {
    const ports = await endpoints.ports;
    for (const checks of values['checks-list'].split(',').map(Number)) {
      for (const setup of ['single', 'cluster-1', 'cluster-2'] as const) {
        rows.push(await capacity(checks, setup, ports));
      }
    }
  } finally {
    endpoints.child.kill();
  }
  const f = (x: number, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : String(x));
  console.log(
    `\nCapacity: http liveness checks at ${values.interval} against ${values.ports} local endpoint ports; warm-up ${values['warmup-s']} s, measured ${values['measure-s']} s; 2 cores for everything (hubs, PostgreSQL, endpoints, other sessions).`,
  );
  console.log(
    '| checks | set-up | probes/s | lag p99 ms (worst hub, bucket bound) | RSS MB (largest hub) | hubs CPU ms/probe | PostgreSQL CPU ms/probe | total ms/probe | × single | machine busy % | load avg |',
  );
  console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of rows) {
    const probes = r.probesPerSecond * r.wallS;
    const total = ((r.hubCpuS + r.pgCpuS) * 1000) / probes;
    const single = rows.find((s) => s.checks === r.checks && s.setup === 'single') as CapacityRow;
    const singleTotal = ((single.hubCpuS + single.pgCpuS) * 1000) / (single.probesPerSecond * single.wallS);
    console.log(
      `| ${r.checks} | ${r.setup} | ${f(r.probesPerSecond, 0)} | ${f(r.lagP99Ms, 0)} | ${f(r.rssMb, 0)} | ${f((r.hubCpuS * 1000) / probes, 3)} | ${f((r.pgCpuS * 1000) / probes, 3)} | ${f(total, 3)} | ${f(total / singleTotal, 2)} | ${f(r.machineBusy * 100, 0)} | ${r.load} |`,
    );
  }
}

// --- events ---------------------------------------------------------------------------------------

/** Reads a hub's SSE stream; calls `onTransition` with the transition's key and the arrival time. */
function readEvents(hub: Hub, onTransition: (key: string, at: number) => void): () => void {
  const req = http.get(`${hub.url}/api/v1/events`, (res) => {
    let buf = '';
    res.on('data', (c: Buffer) => {
      const now = performance.now();
      buf += c.toString();
      let sep = buf.indexOf('\n\n');
      while (sep >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        sep = buf.indexOf('\n\n');
        if (!/^event: transition$/m.test(block)) continue;
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data: '))
          .map((l) => l.slice(6))
          .join('\n');
        const t = JSON.parse(data) as { checkId: string; at: number; to: string };
        // The decider publishes `at` with its fraction of a ms; the store keeps whole ms.
        onTransition(`${t.checkId} ${Math.trunc(t.at)} ${t.to}`, now);
      }
    });
  });
  req.on('error', () => {});
  return () => req.destroy();
}

/** One events run: `poll` drops migration 10's trigger first, so the hubs hear of nothing and poll. */
async function eventsRun(
  mode: 'notify' | 'poll',
): Promise<{ delays: number[]; missing: number; load: string }> {
  const n = Number(values['event-checks']);
  let status = 200;
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    res.end(status === 200 ? 'ok' : 'down');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const db = await freshDb(`events_${mode}`);
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-bench-'));
  const file = join(dir, 'vigil.yaml');
  writeFileSync(
    file,
    `defaults: { interval: 1s, timeout: 800ms }
targets:
${Array.from({ length: n }, (_, i) => `  - { name: e${i}, url: "http://127.0.0.1:${port}/e${i}", protocol: http }`).join('\n')}
`,
  );
  const hubs: Hub[] = [];
  const seen = new Map<string, number[]>();
  const closers: (() => void)[] = [];
  const load = loadNow();
  try {
    hubs.push(await startHub(file, db.url, true));
    if (mode === 'poll') await sql(db.url, 'DROP TRIGGER transitions_notify ON transitions');
    hubs.push(await startHub(file, db.url, true));
    await until('two hubs holding shards', async () => (await owners(db.url)).size === 2);
    await sleep(5000);
    let recording = false;
    for (const h of hubs)
      closers.push(
        readEvents(h, (key, at) => {
          if (!recording) return;
          const list = seen.get(key) ?? [];
          list.push(at);
          seen.set(key, list);
        }),
      );
    await sleep(1000);
    recording = true;
    for (let i = 0; i < Number(values.flips); i++) {
      status = status === 200 ? 500 : 200;
      await sleep(8000);
    }
    await sleep(3000);
  } finally {
    for (const c of closers) c();
    await stopHubs(hubs);
    server.close();
    await db.drop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  const delays: number[] = [];
  let missing = 0;
  for (const times of seen.values()) {
    if (times.length < 2) missing++;
    else delays.push(Math.abs((times[1] as number) - (times[0] as number)));
  }
  process.stderr.write(`  events ${mode}: ${JSON.stringify({ delays, missing, load })}\n`);
  return { delays, missing, load };
}

async function eventsPhase(): Promise<void> {
  const rounds = Number(values['event-rounds']);
  const by = { notify: [] as number[], poll: [] as number[] };
  const missing = { notify: 0, poll: 0 };
  const loads: string[] = [];
  for (let round = 0; round < rounds; round++) {
    // Alternating order, so a trend in the machine's load does not favour one.
    for (const mode of round % 2 === 0 ? (['notify', 'poll'] as const) : (['poll', 'notify'] as const)) {
      const r = await eventsRun(mode);
      by[mode].push(...r.delays);
      missing[mode] += r.missing;
      loads.push(r.load);
    }
  }
  console.log(
    `\nEvent stream across hubs: ${values['event-checks']} http checks at 1 s split between two hubs, the target flipped ${values.flips} times (every 8 s) per run; ${rounds} runs of each, alternating; the delay is from the first hub's SSE event of a transition (the decider's) to the other's; load average at the runs' starts ${loads.join(', ')}.`,
  );
  console.log(
    '| other hubs heard by | transitions seen on both hubs | only on one | delay median ms | delay p90 ms | delay max ms |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: |');
  for (const mode of ['notify', 'poll'] as const) {
    const d = [...by[mode]].sort((a, b) => a - b);
    console.log(
      `| ${mode === 'notify' ? 'LISTEN/NOTIFY (+ 1 s poll)' : 'the 1 s poll alone (trigger dropped)'} | ${d.length} | ${missing[mode]} | ${Math.round(median(d))} | ${d.length > 0 ? Math.round(d[Math.min(d.length - 1, Math.floor(d.length * 0.9))] as number) : '–'} | ${d.length > 0 ? Math.round(d.at(-1) as number) : '–'} |`,
    );
  }
}

// --- takeover -------------------------------------------------------------------------------------

async function takeoverPhase(): Promise<void> {
  const CHECKS = Number(values.checks);
  const model = await createModelServer({ models: ['credit-scorer'], warmupInferences: 1 });
  const modelUrl = await model.listen();
  const db = await freshDb('takeover');
  const dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-bench-'));
  const file = join(dir, 'vigil.yaml');
  writeFileSync(
    file,
    `defaults: { interval: 1s, timeout: 800ms }
cluster: { leaseDuration: ${values.lease} }
targets:
${Array.from({ length: CHECKS }, (_, i) => `  - { name: m${i}, url: ${modelUrl}, protocol: oip-v2, model: credit-scorer, checks: { liveness: {} } }`).join('\n')}
`,
  );
  const hubs: Hub[] = [];
  const takeovers: number[] = [];
  const resumes: number[] = [];
  const loads: string[] = [];
  try {
    hubs.push(await startHub(file, db.url, true));
    hubs.push(await startHub(file, db.url, true));
    for (let run = 0; run < Number(values.runs); run++) {
      await until('two hubs holding shards', async () => (await owners(db.url)).size === 2);
      // Settle: the hub that just joined has probed its checks.
      await sleep(3000);
      const held = [...(await owners(db.url))].sort((a, b) => b[1] - a[1]);
      const victim = hubs.find((h) => h.id === held[0]?.[0]) as Hub;
      loads.push(loadNow());
      const killedAt = Date.now();
      victim.child.kill('SIGKILL');
      hubs.splice(hubs.indexOf(victim), 1);
      await until('one hub holds every shard', async () => {
        const o = await owners(db.url);
        return o.size === 1 && [...o.values()][0] === 256;
      });
      takeovers.push(Date.now() - killedAt);
      await until('every check probed after the kill', async () => {
        const rows = await sql<{ n: string }>(
          db.url,
          'SELECT count(DISTINCT check_id) AS n FROM results WHERE started_at > $1',
          [killedAt],
        );
        return Number(rows[0]?.n) === CHECKS;
      });
      const last = await sql<{ t: number }>(
        db.url,
        'SELECT max(first)::float8 AS t FROM (SELECT min(started_at) AS first FROM results WHERE started_at > $1 GROUP BY check_id) f',
        [killedAt],
      );
      resumes.push((last[0]?.t ?? 0) - killedAt);
      process.stderr.write(
        `  kill ${run + 1}: takeover ${takeovers.at(-1)} ms, every check probed again ${resumes.at(-1)} ms after the kill\n`,
      );
      hubs.push(await startHub(file, db.url, true));
    }
  } finally {
    await stopHubs(hubs);
    await model.close();
    await db.drop().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(
    `\nTakeover after a SIGKILL: ${CHECKS} oip-v2 liveness checks at 1 s, lease ${values.lease}; load average at the kills ${loads.join(', ')}.`,
  );
  console.log('| kill | takeover ms | every check probed again ms |');
  console.log('| ---: | ---: | ---: |');
  takeovers.forEach((t, i) => {
    console.log(`| ${i + 1} | ${t} | ${resumes[i]} |`);
  });
  console.log(
    `| **median / max** | **${Math.round(median(takeovers))} / ${Math.max(...takeovers)}** | **${Math.round(median(resumes))} / ${Math.max(...resumes)}** |`,
  );
}

console.log(
  `hub-cluster: ${new Date().toISOString()}; command: node bench/dist/hub-cluster.js ${process.argv.slice(2).join(' ')}`,
);
if (PHASES.has('events')) await eventsPhase();
if (PHASES.has('takeover')) await takeoverPhase();
if (PHASES.has('capacity')) await capacityPhase();
