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
 * 2. Catch-up: one real agent (`createAgent`, a SQLite file spool) probing `--checks` checks at a 1 s
 *    interval against a loopback HTTP model, its path to the hub cut (a TCP relay that resets every
 *    connection) for `--cut` seconds, then healed. Reported: the spool's depth when healed and the time
 *    until every result probed before the heal is acknowledged (its push interval, 1 s, included).
 *
 *   nice -n 19 node --conditions=source --import tsx bench/src/agent.ts [--agents 1,3] [--seconds 10]
 *     [--batch 500] [--checks 200] [--cut 10]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { createAgent } from 'vigil-ml';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    agents: { type: 'string', default: '1,3' },
    seconds: { type: 'string', default: '10' },
    batch: { type: 'string', default: '500' },
    checks: { type: 'string', default: '200' },
    cut: { type: 'string', default: '10' },
  },
});
const agentCounts = values.agents.split(',').map(Number);
const seconds = Number(values.seconds);
const batchSize = Number(values.batch);
const checkCount = Number(values.checks);
const cutSeconds = Number(values.cut);
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

/** A `vigil run` process for `regions`, each running `checks` liveness checks of `modelUrl`. */
async function startHub(
  dir: string,
  regions: string[],
  checks: number,
  modelUrl: string,
  intervalMs: number,
): Promise<{ child: ChildProcess; url: string; stop(): Promise<void> }> {
  const config = join(dir, 'vigil.yaml');
  const targets = Array.from(
    { length: checks },
    (_, i) => `  - name: t${i}
    url: ${modelUrl}/t${i}
    protocol: http
    regions: [${regions.join(', ')}]
    checks: { liveness: {} }`,
  ).join('\n');
  writeFileSync(
    config,
    `agents:
  regions:
${regions.map((r) => `    ${r}: { token: "${token(r)}" }`).join('\n')}
defaults: { interval: ${intervalMs}ms, timeout: 500ms }
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
      results: Array.from({ length: batchSize }, (_, i) => {
        const n = seq * batchSize + i;
        return {
          id: `${region}-${n}`,
          checkId: `t${n % checks}/liveness`,
          target: `t${n % checks}`,
          check: 'liveness',
          region,
          startedAt: now - 5,
          durationMs: 1.5,
          phases: { dnsMs: 0, connectMs: 0.2, tlsMs: 0, processingMs: 1.1, transferMs: 0.2 },
          outcome: 'pass',
          httpStatus: 200,
          failures: [],
        };
      }),
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

/** A relay to `port` that resets every connection while `open` is false. */
async function relay(port: number): Promise<{ url: string; open: boolean; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const state = { open: true };
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    if (!state.open) return socket.destroy();
    const out = connect(port, '127.0.0.1');
    sockets.add(out);
    out.on('close', () => sockets.delete(out));
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
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

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
    const hub = await startHub(dir, regionsOf(n), 100, modelUrl, 3_600_000);
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

  // Catch-up after a cut.
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-agent-'));
  const hub = await startHub(dir, ['r1'], checkCount, modelUrl, 1000);
  const gate = await relay(Number(new URL(hub.url).port));
  const agent = createAgent({
    hubUrl: gate.url,
    region: 'r1',
    token: token('r1'),
    spoolPath: join(dir, 'spool.db'),
  });
  try {
    await agent.start();
    for (let i = 0; i < 200 && agent.stats().pushed < checkCount; i++)
      await new Promise((r) => setTimeout(r, 100));
    gate.open = false;
    await new Promise((r) => setTimeout(r, cutSeconds * 1000));
    const depth = agent.stats().spoolDepth;
    // Caught up: everything probed until the heal is acknowledged (probing goes on meanwhile, so the
    // spool is rarely seen empty).
    const probedAtHeal = agent.stats().probed;
    const healed = performance.now();
    gate.open = true;
    for (let i = 0; i < 6000 && agent.stats().pushed + agent.stats().dropped < probedAtHeal; i++)
      await new Promise((r) => setTimeout(r, 10));
    const catchUpMs = performance.now() - healed;
    console.log(
      `\ncatch-up: ${checkCount} checks at 1 s, path cut ${cutSeconds} s: spool depth ${depth} when healed, all of it acknowledged ${(catchUpMs / 1000).toFixed(2)} s later (push interval 1 s included); dropped ${agent.stats().dropped}, replayed ${agent.stats().replayed}`,
    );
  } finally {
    await agent.stop();
    await gate.close();
    await hub.stop();
    rmSync(dir, { recursive: true, force: true });
    model.close();
  }
  console.log(
    `load at end: ${loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

await main();
