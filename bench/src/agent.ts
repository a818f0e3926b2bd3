/**
 * Benchmark: a hub taking in agents' results on loopback (issue 21).
 *
 * 1. Ingest: a real `vigil run` process (SQLite file store, probing nothing itself) and N agents of N
 *    regions posting gzip batches of `--batch` results (fresh ids) to `POST /api/v1/agent/results` as
 *    fast as the hub acknowledges them (each agent waits for its answer: closed loop), for
 *    `--seconds`. Since acknowledgement means durable (each result stored with its id's claim in one
 *    transaction), this is the hub's ingest throughput as the agents see it. Reported: results per
 *    second acknowledged, the hub process's CPU time per result (user + system from /proc, over the
 *    window only), batch round trip p50 / p99.
 * 2. Ten thousand checks, side by side (`--fleet`, default 10000; `--fleet 0` skips it): the same
 *    `--fleet` liveness checks at `--fleet-interval` (10 s) over `--ports` loopback endpoints
 *    (`scale-endpoints.ts`, its own process) probed (a) by a `vigil run` hub itself, then (b) by a
 *    `vigil agent` process of region r1 reporting to a `vigil run` hub that probes nothing itself,
 *    through a TCP relay that counts the bytes. Each side: once `--fleet` results are stored (one
 *    interval's worth), `--warmup` s more, then a window of `--window` s.
 *    Reported per side: probes in the window (results stored by the hub whose start falls in it,
 *    read from its SQLite file afterwards), CPU per probe of the prober process (user + system from
 *    /proc) and, for (b), of the hub taking the agent's results; scheduler lag, estimated from the
 *    stored results the same way on both sides: per check, each start's delay behind the check's
 *    earliest slot in the window (start − k × interval, minus its minimum), so a lag every probe
 *    shares is not seen; and the agent's bytes on the wire per result (requests to the hub, HTTP
 *    headers and plan polls included; answers separately).
 * 3. Catch-up: one real agent (`createAgent`, a SQLite file spool) probing `--checks` checks at a 1 s
 *    interval against a loopback HTTP model, its path to the hub cut (a TCP relay that resets every
 *    connection) for `--cut` seconds, then healed. Reported: the spool's depth when healed and the time
 *    until every result probed before the heal is acknowledged (its push interval, 1 s, included);
 *    then, the agent stopped (its spool pushed) and the hub stopped, the ids counted: every id the
 *    agent sent (the bench's `fetch` sees each batch), in more than one attempt (re-sends of batches
 *    the cut refused or cut in flight), the hub's ledger (`ingested_results`) and its stored results of the region: lost =
 *    probed − ids in the ledger, duplicated = stored results − ids in the ledger.
 *
 *   nice -n 19 node --conditions=source --import tsx bench/src/agent.ts [--agents 1,3] [--seconds 10]
 *     [--batch 500] [--fleet 10000] [--fleet-interval 10000] [--ports 64] [--warmup 20] [--window 30]
 *     [--checks 200] [--cut 10]
 *   (`--agents 0`, `--fleet 0`, `--checks 0` skip parts 1, 2, 3)
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gunzipSync, gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { createAgent } from 'vigil-ml';
import { syntheticResult } from './agent-results.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1,3' },
    seconds: { type: 'string', default: '10' },
    batch: { type: 'string', default: '500' },
    checks: { type: 'string', default: '200' },
    cut: { type: 'string', default: '10' },
    fleet: { type: 'string', default: '10000' },
    'fleet-interval': { type: 'string', default: '10000' },
    ports: { type: 'string', default: '64' },
    warmup: { type: 'string', default: '20' },
    window: { type: 'string', default: '30' },
  },
});
const agentCounts = values.agents
  .split(',')
  .map(Number)
  .filter((n) => n > 0);
const seconds = Number(values.seconds);
const batchSize = Number(values.batch);
const checkCount = Number(values.checks);
const cutSeconds = Number(values.cut);
const fleet = Number(values.fleet);
const fleetIntervalMs = Number(values['fleet-interval']);
const portCount = Number(values.ports);
const warmupS = Number(values.warmup);
const windowS = Number(values.window);
const ENTRY = fileURLToPath(new URL('../../packages/vigil/src/cli/bin.ts', import.meta.url));
const TICKS = 100; // USER_HZ: /proc's clock ticks per second on Linux.

const token = (region: string) => `${region}-token-0123456789abcdef`;
const regionsOf = (n: number) => Array.from({ length: n }, (_, i) => `r${i + 1}`);

/** The hub process's CPU time (user + system), ms, from /proc/<pid>/stat. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); fields[] starts at field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS;
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/**
 * A `vigil run` process probing `urls` (one liveness check each) at `intervalMs`: in `regions` (its
 * agents') when given, so it probes nothing itself; else itself, in its own region.
 */
async function startHub(
  dir: string,
  regions: string[],
  urls: string[],
  intervalMs: number,
): Promise<{ child: ChildProcess; url: string; db: string; stop(): Promise<void> }> {
  const config = join(dir, 'vigil.yaml');
  const placement = regions.length === 0 ? '' : `\n    regions: [${regions.join(', ')}]`;
  const targets = urls
    .map(
      (url, i) => `  - name: t${i}
    url: ${url}
    protocol: http${placement}
    checks: { liveness: {} }`,
    )
    .join('\n');
  const agents =
    regions.length === 0
      ? ''
      : `agents:
  regions:
${regions.map((r) => `    ${r}: { token: "${token(r)}" }`).join('\n')}
`;
  writeFileSync(
    config,
    `${agents}defaults: { interval: ${intervalMs}ms, timeout: ${Math.min(2000, intervalMs / 2)}ms }
targets:
${targets}
`,
  );
  const port = await freePort();
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      ENTRY,
      'run',
      '-c',
      config,
      '--store',
      join(dir, 'vigil.db'),
      '--port',
      String(port),
      '--log-level',
      'warn',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  // Under load (tsx compiling the hub at nice 19) a start took over a minute: wait up to five.
  for (let i = 0; ; i++) {
    if ((await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200) break;
    if (child.exitCode !== null) throw new Error(`the hub exited (${child.exitCode})`);
    if (i >= 3000) throw new Error(`the hub at ${url} was not ready after 5 minutes`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    child,
    url,
    db: join(dir, 'vigil.db'),
    stop: () =>
      new Promise<void>((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** One synthetic agent: posts batches back to back until `until`; returns results acknowledged and round trips. */
async function postLoop(
  url: string,
  region: string,
  checks: number,
  until: number,
): Promise<{ results: number; rttMs: number[]; bytes: number; batches: number }> {
  let results = 0;
  let bytes = 0;
  let seq = 0;
  const rttMs: number[] = [];
  while (Date.now() < until) {
    const now = Date.now();
    const batch = {
      batchId: `${region}-b${seq}`,
      sentAt: now,
      results: Array.from({ length: batchSize }, (_, i) =>
        syntheticResult(region, seq * batchSize + i, checks, now),
      ),
    };
    seq++;
    const body = gzipSync(JSON.stringify(batch));
    bytes += body.length;
    const started = performance.now();
    const response = await fetch(`${url}/api/v1/agent/results?region=${region}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token(region)}`,
        'content-type': 'application/json',
        'content-encoding': 'gzip',
      },
      body,
    });
    const answer = (await response.json()) as { accepted?: number; error?: string };
    if (!response.ok) throw new Error(`hub refused a batch: ${response.status} ${answer.error}`);
    rttMs.push(performance.now() - started);
    results += answer.accepted ?? 0;
  }
  return { results, rttMs, bytes, batches: seq };
}

/** A relay to `port` that resets every connection while `open` is false, counting the bytes each way. */
async function relay(
  port: number,
): Promise<{ url: string; open: boolean; bytesUp: number; bytesDown: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { open: true, up: 0, down: 0 };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (!state.open) return socket.destroy();
    const out = connect(port, '127.0.0.1');
    sockets.add(out);
    out.on('close', () => sockets.delete(out));
    socket.on('data', (chunk: Buffer) => {
      state.up += chunk.length;
    });
    out.on('data', (chunk: Buffer) => {
      state.down += chunk.length;
    });
    socket.pipe(out).pipe(socket);
    socket.on('error', () => out.destroy());
    out.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    get open() {
      return state.open;
    },
    set open(value: boolean) {
      state.open = value;
      if (!value) for (const s of sockets) s.destroy();
    },
    get bytesUp() {
      return state.up;
    },
    get bytesDown() {
      return state.down;
    },
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** `--ports` loopback endpoints in their own process (`scale-endpoints.ts`), so their CPU is nobody's. */
async function startEndpoints(): Promise<{ ports: number[]; stop(): void }> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      fileURLToPath(new URL('./scale-endpoints.ts', import.meta.url)),
      '--ports',
      String(portCount),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const end = buffered.indexOf('\n');
      if (end >= 0) resolve(buffered.slice(0, end));
    });
    child.once('exit', (code) => reject(new Error(`the endpoints exited (${code})`)));
  });
  return { ports: (JSON.parse(line) as { ports: number[] }).ports, stop: () => child.kill('SIGTERM') };
}

/** p-th percentile (0–1) of ascending `sorted`. */
const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? Number.NaN;

/**
 * Probes stored in the hub's file whose start falls in [from, to), and their lag: per check, each
 * start's delay behind the check's earliest slot in the window (see the header).
 */
function storedProbes(
  db: string,
  region: string | undefined,
  from: number,
  to: number,
  intervalMs: number,
): { probes: number; failed: number; lags: number[] } {
  const sqlite = new Database(db, { readonly: true });
  try {
    const rows = sqlite
      .prepare(
        `SELECT check_id, started_at, outcome FROM results WHERE started_at >= ? AND started_at < ?${
          region === undefined ? '' : ' AND region = ?'
        } ORDER BY check_id, started_at`,
      )
      .all(...[from, to, ...(region === undefined ? [] : [region])]) as {
      check_id: string;
      started_at: number;
      outcome: string;
    }[];
    const lags: number[] = [];
    for (let i = 0; i < rows.length; ) {
      let j = i;
      while (j < rows.length && rows[j]?.check_id === rows[i]?.check_id) j++;
      const first = rows[i]?.started_at ?? 0;
      const offsets = rows
        .slice(i, j)
        .map((r) => r.started_at - Math.round((r.started_at - first) / intervalMs) * intervalMs);
      // A check started once in the window has no lag to see.
      const base = Math.min(...offsets);
      if (offsets.length > 1) for (const o of offsets) lags.push(o - base);
      i = j;
    }
    const failed = rows.filter((r) => r.outcome !== 'pass').length;
    return { probes: rows.length, failed, lags: lags.sort((a, b) => a - b) };
  } finally {
    sqlite.close();
  }
}

/** Results in the hub's file so far (0 before it exists). */
function storedCount(db: string): number {
  try {
    const sqlite = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return (sqlite.prepare('SELECT count(*) AS n FROM results').get() as { n: number }).n;
    } finally {
      sqlite.close();
    }
  } catch {
    return 0;
  }
}

/** One side of the fleet: the hub probing `fleet` checks itself, or an agent process probing them for it. */
async function fleetSide(
  mode: 'hub' | 'agent',
  ports: number[],
): Promise<{
  probes: number;
  failed: number;
  proberCpuMs: number;
  hubCpuMs: number;
  lags: number[];
  bytesUp: number;
  bytesDown: number;
  expected: number;
}> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-agent-'));
  const urls = Array.from({ length: fleet }, (_, i) => `http://127.0.0.1:${ports[i % ports.length]}/t${i}`);
  const hub = await startHub(dir, mode === 'agent' ? ['r1'] : [], urls, fleetIntervalMs);
  let agent: ChildProcess | undefined;
  let gate: Awaited<ReturnType<typeof relay>> | undefined;
  try {
    const hubPid = hub.child.pid as number;
    let proberPid = hubPid;
    if (mode === 'agent') {
      gate = await relay(Number(new URL(hub.url).port));
      agent = spawn(
        process.execPath,
        [
          '--conditions=source',
          '--import',
          'tsx',
          ENTRY,
          'agent',
          '--hub',
          gate.url,
          '--region',
          'r1',
          '--spool',
          join(dir, 'spool.db'),
          '--log-level',
          'warn',
        ],
        { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, VIGIL_AGENT_TOKEN: token('r1') } },
      );
      proberPid = agent.pid as number;
    }
    // Started: one interval's results stored (tsx compiling at nice 19 on a loaded machine takes a while).
    // A side that cannot keep up (a loaded machine) is measured anyway after 5 minutes, and says so.
    for (let i = 0; storedCount(hub.db) < fleet; i++) {
      if (i >= 300) {
        console.log(`(${mode}: fewer than ${fleet} results stored after 5 minutes: measured as it is)`);
        break;
      }
      await sleep(1000);
    }
    await sleep(warmupS * 1000);
    const cpu0 = processCpuMs(proberPid);
    const hubCpu0 = processCpuMs(hubPid);
    const up0 = gate?.bytesUp ?? 0;
    const down0 = gate?.bytesDown ?? 0;
    const t0 = Date.now();
    await sleep(windowS * 1000);
    const t1 = Date.now();
    const proberCpuMs = processCpuMs(proberPid) - cpu0;
    const hubCpuMs = processCpuMs(hubPid) - hubCpu0;
    const bytesUp = (gate?.bytesUp ?? 0) - up0;
    const bytesDown = (gate?.bytesDown ?? 0) - down0;
    if (agent !== undefined) {
      // Stopped first: what it probed in the window reaches the hub (SIGTERM pushes the spool once).
      const exited = new Promise<void>((r) => agent?.once('exit', () => r()));
      agent.kill('SIGTERM');
      await exited;
    }
    await hub.stop();
    const stored = storedProbes(hub.db, mode === 'agent' ? 'r1' : undefined, t0, t1, fleetIntervalMs);
    return {
      ...stored,
      proberCpuMs,
      hubCpuMs,
      bytesUp,
      bytesDown,
      expected: Math.round((fleet * (t1 - t0)) / fleetIntervalMs),
    };
  } finally {
    if (agent !== undefined && agent.exitCode === null) agent.kill('SIGKILL');
    if (hub.child.exitCode === null) await hub.stop();
    await gate?.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Ids in the batches this process POSTs to an agent results route, with how often each was sent. */
const sentIds = new Map<string, number>();
let countSent = false;
const realFetch = globalThis.fetch;
globalThis.fetch = (input, init) => {
  if (countSent && String(input).includes('/api/v1/agent/results') && init?.body instanceof Uint8Array) {
    const batch = JSON.parse(gunzipSync(init.body).toString()) as { results: { id: string }[] };
    for (const r of batch.results) sentIds.set(r.id, (sentIds.get(r.id) ?? 0) + 1);
  }
  return realFetch(input, init);
};

async function main(): Promise<void> {
  const model = createHttpServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end('{"status":"ok"}');
  });
  await new Promise<void>((r) => model.listen(0, '127.0.0.1', r));
  const modelUrl = `http://127.0.0.1:${(model.address() as { port: number }).port}`;
  console.log(
    `# agent bench: ${cpus().length} CPUs (${cpus()[0]?.model}), load ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')} at start; batch ${batchSize}, ${seconds} s per run`,
  );
  console.log(
    '\n| agents | results/s acknowledged | hub CPU µs / result | batch RTT p50 / p99 ms | gzip bytes / result |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: |');
  for (const n of agentCounts) {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-agent-'));
    // An hour's interval: the hub's own plan is the agents' checks; it probes nothing itself.
    const urls = Array.from({ length: 100 }, (_, i) => `${modelUrl}/t${i}`);
    const hub = await startHub(dir, regionsOf(n), urls, 3_600_000);
    try {
      const pid = hub.child.pid as number;
      // Warm-up: statements prepared, JIT warm.
      await Promise.all(regionsOf(n).map((r) => postLoop(hub.url, r, 100, Date.now() + 1000)));
      const cpu0 = processCpuMs(pid);
      const t0 = performance.now();
      const runs = await Promise.all(
        regionsOf(n).map((r) => postLoop(hub.url, r, 100, Date.now() + seconds * 1000)),
      );
      const wallS = (performance.now() - t0) / 1000;
      const cpuMs = processCpuMs(pid) - cpu0;
      const results = runs.reduce((s, r) => s + r.results, 0);
      const bytes = runs.reduce((s, r) => s + r.bytes, 0);
      const rtt = runs.flatMap((r) => r.rttMs).sort((a, b) => a - b);
      const p99 = rtt[Math.min(rtt.length - 1, Math.floor(rtt.length * 0.99))] ?? Number.NaN;
      console.log(
        `| ${n} | ${Math.round(results / wallS)} | ${((cpuMs * 1000) / results).toFixed(1)} | ${median(rtt).toFixed(0)} / ${p99.toFixed(0)} | ${(bytes / results).toFixed(1)} |`,
      );
    } finally {
      await hub.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }

  if (fleet > 0) {
    const endpoints = await startEndpoints();
    try {
      console.log(
        `\n${fleet} checks at ${fleetIntervalMs / 1000} s over ${portCount} ports, window ${windowS} s after ${warmupS} s:\n`,
      );
      console.log(
        '| prober (load at window start) | probes in window (expected; not passed) | prober CPU ms / probe | hub CPU ms / probe | lag p50 / p99 / max ms | bytes to hub / result | bytes from hub / result |',
      );
      console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
      const cpuPerProbe: Record<string, number> = {};
      for (const mode of ['hub', 'agent'] as const) {
        const load = loadavg()[0]?.toFixed(1);
        const side = await fleetSide(mode, endpoints.ports);
        cpuPerProbe[mode] = side.proberCpuMs / side.probes;
        const lag =
          side.lags.length === 0
            ? '– (no check started twice)'
            : `${pct(side.lags, 0.5).toFixed(0)} / ${pct(side.lags, 0.99).toFixed(0)} / ${(side.lags.at(-1) ?? Number.NaN).toFixed(0)}`;
        const bytes = (b: number) => (mode === 'agent' ? (b / side.probes).toFixed(1) : '–');
        console.log(
          `| ${mode === 'hub' ? 'the hub itself' : 'an agent (hub takes its results)'} (${load}) | ${side.probes} (${side.expected}; ${side.failed}) | ${(side.proberCpuMs / side.probes).toFixed(4)} | ${
            mode === 'agent' ? (side.hubCpuMs / side.probes).toFixed(4) : '(the prober)'
          } | ${lag} | ${bytes(side.bytesUp)} | ${bytes(side.bytesDown)} |`,
        );
      }
      console.log(
        `\nagent CPU per probe / the hub's own: ${((cpuPerProbe.agent ?? Number.NaN) / (cpuPerProbe.hub ?? Number.NaN)).toFixed(2)}`,
      );
    } finally {
      endpoints.stop();
    }
  }

  if (checkCount > 0) await catchUp(modelUrl);
  model.close();
  console.log(
    `load at end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

/** Part 3: the spool's catch-up after a cut, counted by id. */
async function catchUp(modelUrl: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-agent-'));
  const urls = Array.from({ length: checkCount }, (_, i) => `${modelUrl}/t${i}`);
  const hub = await startHub(dir, ['r1'], urls, 1000);
  const gate = await relay(Number(new URL(hub.url).port));
  const agent = createAgent({
    hubUrl: gate.url,
    region: 'r1',
    token: token('r1'),
    spoolPath: join(dir, 'spool.db'),
  });
  let hubStopped = false;
  let agentStopped = false;
  try {
    countSent = true;
    await agent.start();
    for (let i = 0; i < 200 && agent.stats().pushed < checkCount; i++) await sleep(100);
    gate.open = false;
    await sleep(cutSeconds * 1000);
    const depth = agent.stats().spoolDepth;
    // Caught up: everything probed until the heal is acknowledged (probing goes on meanwhile, so the
    // spool is rarely seen empty).
    const probedAtHeal = agent.stats().probed;
    const healed = performance.now();
    gate.open = true;
    for (let i = 0; i < 6000 && agent.stats().pushed + agent.stats().dropped < probedAtHeal; i++)
      await sleep(10);
    const catchUpMs = performance.now() - healed;
    console.log(
      `\ncatch-up: ${checkCount} checks at 1 s, path cut ${cutSeconds} s: spool depth ${depth} when healed, all of it acknowledged ${(catchUpMs / 1000).toFixed(2)} s later (push interval 1 s included); dropped ${agent.stats().dropped}, replayed ${agent.stats().replayed}`,
    );
    // Counted by id: the agent stopped (its spool pushed), then the hub (its file complete).
    await agent.stop();
    agentStopped = true;
    countSent = false;
    const { probed, pushed, replayed, dropped, spoolDepth } = agent.stats();
    await hub.stop();
    hubStopped = true;
    const sqlite = new Database(hub.db, { readonly: true });
    const ledger = new Set(
      (sqlite.prepare("SELECT id FROM ingested_results WHERE region = 'r1'").all() as { id: string }[]).map(
        (r) => r.id,
      ),
    );
    const stored = (
      sqlite.prepare("SELECT count(*) AS n FROM results WHERE region = 'r1'").get() as { n: number }
    ).n;
    sqlite.close();
    const resent = [...sentIds.values()].filter((n) => n > 1).length;
    const sentNotTaken = [...sentIds.keys()].filter((id) => !ledger.has(id)).length;
    console.log(
      `ids: probed ${probed}, sent ${sentIds.size} distinct (${resent} in more than one attempt), acknowledged ${pushed} + replayed ${replayed}, dropped ${dropped}, left in the spool ${spoolDepth}; the hub's ledger ${ledger.size}, its stored results ${stored}: lost ${probed - ledger.size - spoolDepth - dropped} (sent, not in the ledger: ${sentNotTaken}), duplicated ${stored - ledger.size}`,
    );
  } finally {
    countSent = false;
    if (!agentStopped) await agent.stop();
    await gate.close();
    if (!hubStopped) await hub.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
