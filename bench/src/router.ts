/**
 * The failover router beside HAProxy 2.6, in one run, over trivial local upstreams (so the proxies
 * are measured, not a model):
 *
 *  1. throughput: the most requests/s autocannon gets through (closed loop, `--connections`), direct,
 *     through the "Node floor" (the cheapest Node.js proxy: node:http + undici `Pool.stream`, nothing
 *     else; `router.js floor`), through `vigil route` and through HAProxy, with each proxy process's
 *     CPU time per request (from /proc);
 *  2. added latency at a fixed rate (`--rate`, open loop: every request has an intended send time and
 *     its latency is counted from then, so a stall is not hidden by coordinated omission), p50 and p99
 *     minus the direct figures. Measured with this file's own generator because autocannon's
 *     histograms count whole milliseconds, and the target is a p99 within 1 ms;
 *  3. the primary killed (SIGKILL) a third of the way through a fixed-rate run and started again at
 *     two thirds: failed requests (non-2xx or no answer) for each proxy, and who answered after the
 *     restart (traffic back on the primary, no failed request);
 *  4. the primary's latency ramped from 20 ms to 250 ms (the secondary stays at 20 ms), a client
 *     deadline of 200 ms: the share of requests a model answered within it, fallback answers apart;
 *     then the primary back at 20 ms, after `--warmup` seconds (default 2) of traffic at the same rate
 *     and 20 ms that are not counted (so a proxy's own cold start is not measured). The router hedges after `--hedge-after` ms (default 60% of the
 *     deadline; `off`: no hedging), at most `--hedge-max-share` of requests (default the router's);
 *     the hedges it sent come from its `/metrics`, and a note says when it demoted the primary and
 *     which requests missed the deadline (by send time, by who answered);
 *  5. detection (`detect`): `vigil run --routers` (hub and router in one process) with traffic at
 *     `--detect-rate` through the router; the primary killed (SIGKILL) `--trials` times: the time from
 *     the kill to the hub's `unhealthy` for the router's traffic check (`a/traffic:bench`) and for the
 *     liveness probe alone (`interval: 2s`, `failureThreshold: 3`, `fastInterval: 1s`, as HAProxy's
 *     `inter 2s fall 3`), read by polling the hub's `/api/v1/status` every 10 ms.
 *
 * HAProxy is configured as the nearest equivalent of a router with one secondary: the primary and a
 * `backup` server, `check inter 2s fall 3 rise 2`, `observe layer7` (`error-limit 10 on-error
 * mark-down`), `option redispatch`, `retries 3` with `retry-on all-retryable-errors` (it may replay
 * GETs, as the router replays idempotent requests), one thread (`--haproxy-threads`), keep-alive to the
 * servers. Vigil's router runs as `vigil route` (its real CLI, one Node process), GETs being
 * idempotent by definition, with a static fallback and a deadline of `--deadline-ms` minus 10 ms so that
 * its fallback answers within the client's deadline.
 *
 *   npm run build && node bench/dist/router.js [--rate 1000] [--duration 30] [--connections 50] \
 *     [--scenarios throughput,latency,kill,ramp] [--deadline-ms 200] [--haproxy-threads 1] \
 *     [--hedge-after 120|off] [--hedge-max-share 0.1] [--vigil-bin packages/vigil/bin/vigil.js]
 *
 * Each upstream is a child process (`router.js upstream --port N`): GET any path answers 200
 * `{"ok":true}` after the current delay; `PUT /__bench/delay/<ms>` sets the delay.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { Pool } from 'undici';

const SELF = fileURLToPath(import.meta.url);
/** This checkout's `vigil`; `--vigil-bin` runs the ramp's router from another build (a before/after). */
let VIGIL_BIN = fileURLToPath(new URL('../../packages/vigil/bin/vigil.js', import.meta.url));

// ---------------------------------------------------------------------------------------------
// Processes

interface Proc {
  child: ChildProcess;
  out: () => string;
}

function spawnProc(cmd: string, args: string[], ready: RegExp): Promise<Proc & { match: RegExpMatchArray }> {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const onData = (c: Buffer) => {
    out += c.toString();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      const match = out.match(ready);
      if (match) {
        clearInterval(timer);
        resolve({ child, out: () => out, match });
      } else if (child.exitCode !== null) {
        clearInterval(timer);
        reject(new Error(`${cmd} ${args.join(' ')} exited ${child.exitCode}:\n${out}`));
      }
    }, 10);
  });
}

const running: ChildProcess[] = [];
function track<T extends Proc>(p: T): T {
  running.push(p.child);
  return p;
}
function stopAll() {
  for (const c of running.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
}

async function upstream(name: string, port = 0): Promise<{ proc: Proc; port: number; url: string }> {
  const p = track(
    await spawnProc(
      process.execPath,
      [SELF, 'upstream', '--port', String(port), '--name', name],
      /listening (\d+)/,
    ),
  );
  const actual = Number(p.match[1]);
  return { proc: p, port: actual, url: `http://127.0.0.1:${actual}` };
}

async function setDelay(url: string, ms: number): Promise<void> {
  await fetch(`${url}/__bench/delay/${ms}`, { method: 'PUT' });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

/** How the bench sets the router's hedging: after `afterMs` (undefined: no hedging), at most `maxShare`. */
interface HedgeOptions {
  afterMs: number | undefined;
  /** `undefined`: the router's default (`hedgeMaxShare`, config/routers.ts). */
  maxShare: number | undefined;
}

/**
 * `vigil route` in front of `primary` (and `secondary`), as its real CLI, with its admin API (for
 * `/metrics`) on `adminUrl`. Its decisions (demote, step, eject: warn and info lines on stdout) are
 * kept with the `performance.now()` at which the bench read them.
 */
async function vigilRoute(
  dir: string,
  primary: string,
  secondary: string | undefined,
  deadlineMs: number,
  hedge: HedgeOptions = { afterMs: Math.round(deadlineMs * 0.6), maxShare: undefined },
) {
  const port = await freePort();
  const adminPort = await freePort();
  const file = join(dir, `route-${port}.yaml`);
  const target = (name: string, url: string) =>
    `  - { name: ${name}, url: ${url}, protocol: http, checks: { liveness: {} } }\n`;
  const hedging =
    (hedge.afterMs === undefined ? '' : `, hedgeAfter: ${hedge.afterMs}ms`) +
    (hedge.maxShare === undefined ? '' : `, hedgeMaxShare: ${hedge.maxShare}`);
  writeFileSync(
    file,
    `targets:\n${target('a', primary)}${secondary ? target('b', secondary) : ''}` +
      `routers:\n  - name: bench\n    listen: 127.0.0.1:${port}\n    primary: a\n` +
      `    secondaries: [${secondary ? 'b' : ''}]\n` +
      `    fallback: { status: 200, headers: { content-type: application/json }, body: '{"fallback":true}' }\n` +
      `    policy: { deadline: ${deadlineMs - 10}ms, failoverAt: ${Math.round(deadlineMs * 0.85)}ms${hedging}, healthyFor: 2s, window: 5s }\n`,
  );
  const child = spawn(
    process.execPath,
    [VIGIL_BIN, 'route', '-c', file, '--admin-port', String(adminPort), '--log-level', 'warn'],
    // Its decisions (warn level) are JSON lines on stdout: read for their times, kept out of the tables.
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const decisions: Array<{ at: number; kind: string; reason: string }> = [];
  let partial = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    const at = performance.now();
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const m = /"decision":"(\w+)"[^\n]*?"reason":"([^"]*)"/.exec(line);
      if (m) decisions.push({ at, kind: m[1] as string, reason: m[2] as string });
    }
  });
  running.push(child);
  await waitListening(port, child);
  return { child, url: `http://127.0.0.1:${port}`, adminUrl: `http://127.0.0.1:${adminPort}`, decisions };
}

/** The sum of a counter's series in a Prometheus text exposition (every label set). */
function counterSum(exposition: string, name: string): number {
  let sum = 0;
  for (const m of exposition.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm')))
    sum += Number(m[1]);
  return sum;
}

/** The Node floor (`router.js floor`, see {@link serveFloor}) in front of `upstreamUrl`. */
async function nodeFloor(upstreamUrl: string): Promise<{ child: ChildProcess; url: string }> {
  const p = track(
    await spawnProc(
      process.execPath,
      [SELF, 'floor', '--port', '0', '--upstream', upstreamUrl],
      /listening (\d+)/,
    ),
  );
  return { child: p.child, url: `http://127.0.0.1:${p.match[1]}` };
}

/** HAProxy 2.6 in front of `primary` (and `secondary` as backup): the nearest equivalent. */
async function haproxy(dir: string, primary: string, secondary: string | undefined, threads: number) {
  const port = await freePort();
  const file = join(dir, `haproxy-${port}.cfg`);
  const server = (name: string, url: string, backup: boolean) =>
    `  server ${name} ${new URL(url).host} check inter 2s fall 3 rise 2 observe layer7 error-limit 10 on-error mark-down${backup ? ' backup' : ''}\n`;
  writeFileSync(
    file,
    `global\n  nbthread ${threads}\n  maxconn 4096\n` +
      'defaults\n  mode http\n  timeout connect 1s\n  timeout client 30s\n  timeout server 10s\n' +
      '  retries 3\n  option redispatch 1\n  retry-on all-retryable-errors\n  option http-keep-alive\n' +
      `frontend fe\n  bind 127.0.0.1:${port}\n  default_backend be\n` +
      `backend be\n  http-reuse always\n  option httpchk GET /\n${server('a', primary, false)}${
        secondary ? server('b', secondary, true) : ''
      }`,
  );
  const child = spawn('haproxy', ['-db', '-f', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stderr.on('data', (c: Buffer) => {
    out += c.toString();
  });
  running.push(child);
  await waitListening(port, child, () => out);
  return { child, url: `http://127.0.0.1:${port}` };
}

async function waitListening(port: number, child: ChildProcess, out = () => ''): Promise<void> {
  // Up to a minute: on a shared, loaded machine a Node process can take tens of seconds to start.
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${child.spawnargs.join(' ')} exited ${child.exitCode}: ${out()}`);
    try {
      await fetch(`http://127.0.0.1:${port}/`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}

// ---------------------------------------------------------------------------------------------
// Load

/** CPU time (user + system) a process has used so far, in ms, from /proc (Linux). */
function cpuMs(pid: number): number {
  // The fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
}

/** Clock ticks per second of /proc's times (`getconf CLK_TCK`). */
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

interface Answer {
  /** Latency from the intended send time, ms. */
  ms: number;
  status: number;
  servedBy: string | null;
  /** The upstream that answered (its `x-upstream` header): a, b, or null (the fallback, an error). */
  upstream: string | null;
  /** Intended send time, ms from the start. */
  at: number;
}

/**
 * An open-loop generator: request i is due at start + i / rate; its latency counts from then. Runs
 * `durationS` seconds; `at(seconds)` callbacks fire at those offsets (kill, restart, ramp).
 */
async function fixedRate(
  url: string,
  rate: number,
  durationS: number,
  events: Array<[number, () => void | Promise<void>]> = [],
  timeoutMs = 5000,
): Promise<Answer[]> {
  const pool = new Pool(url, { connections: 256, pipelining: 1 });
  const answers: Answer[] = [];
  const total = Math.floor(rate * durationS);
  const start = performance.now();
  const pending: Promise<void>[] = [];
  const fired = new Set<number>();
  let sent = 0;
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now() - start;
      for (const [i, [s, fn]] of events.entries()) {
        if (!fired.has(i) && now >= s * 1000) {
          fired.add(i);
          void fn();
        }
      }
      const due = Math.min(total, Math.floor((now / 1000) * rate) + 1);
      while (sent < due) {
        const at = (sent / rate) * 1000;
        sent++;
        pending.push(
          pool
            .request({ path: '/score', method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs })
            .then(async (res) => {
              await res.body.dump();
              answers.push({
                ms: performance.now() - start - at,
                status: res.statusCode,
                servedBy: (res.headers['x-vigil-served-by'] as string | undefined) ?? null,
                upstream: (res.headers['x-upstream'] as string | undefined) ?? null,
                at,
              });
            })
            .catch(() => {
              answers.push({
                ms: performance.now() - start - at,
                status: 0,
                servedBy: null,
                upstream: null,
                at,
              });
            }),
        );
      }
      // A 1 ms timer, not a busy loop: the generator must not take the proxies' CPU.
      if (sent >= total) resolve();
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(pending);
  await pool.close();
  return answers;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? Number.NaN;
}

const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '–');
const f2 = (x: number) => (Number.isFinite(x) ? x.toFixed(2) : '–');

/**
 * Where the router's misses in the ramp came from: when it demoted the primary (from its decision
 * log, seconds from the run's start), and the answers that were not a model's within the deadline
 * (late, failed, fallback) by the time they were due to be sent, against the demotion, and by who
 * answered; then how many requests the primary answered past `hedgeAfter` (each waited for a hedge
 * that did not come or did not win) against the hedges sent.
 */
function rampNote(
  answers: Answer[],
  decisions: Array<{ at: number; kind: string; reason: string }>,
  startedAt: number,
  deadlineMs: number,
  hedge: HedgeOptions,
  exposition: string,
): string {
  const s = (at: number) => (at - startedAt) / 1000;
  const demotes = decisions.filter((d) => d.kind === 'demote').map((d) => s(d.at));
  const firstDemote = demotes[0] ?? Number.POSITIVE_INFINITY;
  const bad = answers.filter(
    (x) => !(x.status >= 200 && x.status < 300 && x.servedBy !== 'fallback' && x.ms <= deadlineMs),
  );
  const before = bad.filter((x) => x.at / 1000 < firstDemote).length;
  const by = (servedBy: string | null) => bad.filter((x) => x.servedBy === servedBy).length;
  // Bad answers per 250 ms of send time, where there are any.
  const bins = new Map<number, number>();
  for (const x of bad) bins.set(Math.floor(x.at / 250), (bins.get(Math.floor(x.at / 250)) ?? 0) + 1);
  const binText = [...bins.entries()]
    .sort((p, q) => p[0] - q[0])
    .map(([bin, n]) => `${f2(bin / 4)} s: ${n}`)
    .join(', ');
  const pastHedge =
    hedge.afterMs === undefined
      ? ''
      : `; answered by the primary after more than ${hedge.afterMs} ms: ${
          answers.filter((x) => x.servedBy === 'primary' && x.ms > (hedge.afterMs as number)).length
        }, hedges sent ${counterSum(exposition, 'vigil_router_hedges_total')}`;
  // A demotion before the start (in the warm-up) leaves the ramp on the secondary: nothing measured.
  const warmupDemotion = demotes.some((at) => at < 0)
    ? ' (IN THE WARM-UP: the ramp ran on the secondary, this run does not measure the failover)'
    : '';
  return (
    `vigil route: demoted the primary at ${demotes.map(f2).join(', ') || 'never'} s${warmupDemotion}; ` +
    `${bad.length} not a model's within the deadline (${before} sent before the first demotion; ` +
    `primary ${by('primary')}, secondary ${by('secondary')}, fallback ${by('fallback')}, no answer or router ${
      bad.length - by('primary') - by('secondary') - by('fallback')
    }); by send time: ${binText || 'none'}; deadline misses (router) ${counterSum(
      exposition,
      'vigil_router_deadline_misses_total',
    )}${pastHedge}`
  );
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const { values } = parseArgs({
    options: {
      rate: { type: 'string', default: '1000' },
      duration: { type: 'string', default: '30' },
      connections: { type: 'string', default: '50' },
      scenarios: { type: 'string', default: 'throughput,latency,kill,ramp,detect' },
      trials: { type: 'string', default: '5' },
      'detect-rate': { type: 'string', default: '200' },
      'deadline-ms': { type: 'string', default: '200' },
      'haproxy-threads': { type: 'string', default: '1' },
      'hedge-after': { type: 'string' },
      'hedge-max-share': { type: 'string' },
      'vigil-bin': { type: 'string' },
      warmup: { type: 'string', default: '2' },
    },
  });
  const warmupS = Number(values.warmup);
  if (values['vigil-bin'] !== undefined) VIGIL_BIN = values['vigil-bin'];
  const rate = Number(values.rate);
  const duration = Number(values.duration);
  const connections = Number(values.connections);
  const deadlineMs = Number(values['deadline-ms']);
  const threads = Number(values['haproxy-threads']);
  const scenarios = new Set(values.scenarios?.split(','));
  // The ramp's hedging: as before this option, after 60% of the deadline unless told (`off`: none).
  const hedgeAfter = values['hedge-after'] ?? String(Math.round(deadlineMs * 0.6));
  const hedge: HedgeOptions = {
    afterMs: hedgeAfter === 'off' ? undefined : Number(hedgeAfter),
    maxShare: values['hedge-max-share'] === undefined ? undefined : Number(values['hedge-max-share']),
  };
  const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-router-'));
  const haproxyVersion = execFileSync('haproxy', ['-v']).toString().split('\n')[0];
  console.log(
    `# router bench: rate ${rate}/s, ${duration} s per run, ${haproxyVersion}, node ${process.version}, ${VIGIL_BIN}\n`,
  );
  process.on('exit', stopAll);
  process.on('SIGINT', () => {
    stopAll();
    process.exit(130);
  });

  try {
    if (scenarios.has('throughput') || scenarios.has('latency')) {
      const up = await upstream('a');
      const vigil = await vigilRoute(dir, up.url, undefined, 10_000);
      const ha = await haproxy(dir, up.url, undefined, threads);
      const floor = await nodeFloor(up.url);
      const targets: Array<[string, string]> = [
        ['direct', up.url],
        ['Node floor', floor.url],
        ['vigil route', vigil.url],
        ['HAProxy 2.6', ha.url],
      ];
      /** The proxy's own process, whose CPU time a request costs (none for direct). */
      const pids: Record<string, number | undefined> = {
        'Node floor': floor.child.pid,
        'vigil route': vigil.child.pid,
        'HAProxy 2.6': ha.child.pid,
      };
      if (scenarios.has('throughput')) {
        console.log(`## Throughput (autocannon, ${connections} connections, ${duration} s)\n`);
        console.log(
          '| path | requests/s | vs HAProxy | vs Node floor | proxy CPU µs/request |\n| --- | --- | --- | --- | --- |',
        );
        const rps: Record<string, number> = {};
        const cpu: Record<string, number> = {};
        for (const [name, url] of targets) {
          const pid = pids[name];
          const cpuBefore = pid === undefined ? 0 : cpuMs(pid);
          const result = await autocannon({ url, connections, duration, pipelining: 1 });
          rps[name] = result.requests.average;
          if (pid !== undefined)
            cpu[name] = ((cpuMs(pid) - cpuBefore) * 1000) / Math.max(1, result.requests.total);
        }
        for (const [name] of targets)
          console.log(
            `| ${name} | ${Math.round(rps[name] ?? 0)} | ${f2((rps[name] ?? 0) / (rps['HAProxy 2.6'] ?? 1))}× | ${f2((rps[name] ?? 0) / (rps['Node floor'] ?? 1))}× | ${cpu[name] === undefined ? '–' : Math.round(cpu[name])} |`,
          );
        console.log();
      }
      if (scenarios.has('latency')) {
        console.log(`## Latency at ${rate} requests/s (open loop, ${duration} s)\n`);
        console.log(
          '| path | p50 ms | p99 ms | added p50 ms | added p99 ms | non-2xx |\n| --- | --- | --- | --- | --- | --- |',
        );
        let base: { p50: number; p99: number } | undefined;
        for (const [name, url] of targets) {
          const answers = await fixedRate(url, rate, duration);
          const ms = answers.map((a) => a.ms);
          const p50 = quantile(ms, 0.5);
          const p99 = quantile(ms, 0.99);
          base ??= { p50, p99 };
          const bad = answers.filter((a) => a.status < 200 || a.status > 299).length;
          console.log(
            `| ${name} | ${f2(p50)} | ${f2(p99)} | ${name === 'direct' ? '–' : f2(p50 - base.p50)} | ${name === 'direct' ? '–' : f2(p99 - base.p99)} | ${bad} |`,
          );
        }
        console.log();
      }
      stopAll();
    }

    if (scenarios.has('kill')) {
      console.log(
        `## Primary killed at ${f1(duration / 3)} s, back at ${f1((2 * duration) / 3)} s (${rate}/s)\n`,
      );
      console.log(
        "| proxy | requests | failed | failed after the restart | answered by the secondary | primary's share in the last sixth |\n| --- | --- | --- | --- | --- | --- |",
      );
      for (const name of ['vigil route', 'HAProxy 2.6']) {
        const a = await upstream('a');
        const b = await upstream('b');
        const proxy =
          name === 'vigil route'
            ? await vigilRoute(dir, a.url, b.url, 10_000)
            : await haproxy(dir, a.url, b.url, threads);
        let primary = a;
        const answers = await fixedRate(proxy.url, rate, duration, [
          [duration / 3, () => void primary.proc.child.kill('SIGKILL')],
          [
            (2 * duration) / 3,
            async () => {
              primary = await upstream('a', a.port);
            },
          ],
        ]);
        const failed = answers.filter((x) => x.status < 200 || x.status > 299).length;
        const failedAfter = answers.filter(
          (x) => x.at >= (2 * duration * 1000) / 3 && (x.status < 200 || x.status > 299),
        ).length;
        const late = answers.filter((x) => x.at >= (5 * duration * 1000) / 6);
        const bySecondary = answers.filter((x) => x.upstream === 'b').length;
        const primaryShare = late.filter((x) => x.upstream === 'a').length / Math.max(1, late.length);
        console.log(
          `| ${name} | ${answers.length} | ${failed} | ${failedAfter} | ${bySecondary} | ${f2(primaryShare)} |`,
        );
        stopAll();
      }
      console.log();
    }

    if (scenarios.has('ramp')) {
      const hedging =
        hedge.afterMs === undefined
          ? 'no hedging'
          : `hedges after ${hedge.afterMs} ms, at most ${hedge.maxShare ?? 'the default share'}`;
      console.log(
        `## Primary latency ramped 20 → 250 ms over ${f1(duration / 2)} s, held, back to 20 ms at ${f1((3 * duration) / 4)} s; deadline ${deadlineMs} ms (${rate}/s, after ${warmupS} s at 20 ms not counted); vigil route: ${hedging}\n`,
      );
      console.log(
        '| proxy | requests | by a model within the deadline | fallback | late or failed | failed after the primary is back | hedges sent |\n| --- | --- | --- | --- | --- | --- | --- |',
      );
      const notes: string[] = [];
      for (const name of ['vigil route', 'HAProxy 2.6']) {
        const a = await upstream('a');
        const b = await upstream('b');
        await setDelay(a.url, 20);
        await setDelay(b.url, 20);
        const vigil =
          name === 'vigil route' ? await vigilRoute(dir, a.url, b.url, deadlineMs, hedge) : undefined;
        const proxy = vigil ?? (await haproxy(dir, a.url, b.url, threads));
        // A proxy process just started answers its first requests slowly (JIT, the pools' first
        // connections): without this, a router could demote the primary on its own cold start.
        if (warmupS > 0) await fixedRate(proxy.url, rate, warmupS);
        const steps = 50;
        let startedAt = 0;
        const ramp: Array<[number, () => void | Promise<void>]> = Array.from(
          { length: steps + 1 },
          (_, i) => [((duration / 2) * i) / steps, () => setDelay(a.url, Math.round(20 + (230 * i) / steps))],
        );
        ramp.unshift([
          0,
          () => {
            startedAt = performance.now();
          },
        ]);
        ramp.push([(3 * duration) / 4, () => setDelay(a.url, 20)]);
        const answers = await fixedRate(proxy.url, rate, duration, ramp);
        const ok = (x: Answer) => x.status >= 200 && x.status < 300 && x.servedBy !== 'fallback';
        const inTime = answers.filter((x) => ok(x) && x.ms <= deadlineMs).length;
        const fallback = answers.filter((x) => x.servedBy === 'fallback').length;
        const lateOrFailed = answers.length - inTime - fallback;
        const after = answers.filter((x) => x.at >= (3 * duration * 1000) / 4);
        const failedAfter = after.filter((x) => x.status < 200 || x.status > 299).length;
        let hedges = '–';
        if (vigil !== undefined) {
          const exposition = await (await fetch(`${vigil.adminUrl}/metrics`)).text();
          hedges = String(counterSum(exposition, 'vigil_router_hedges_total'));
          notes.push(rampNote(answers, vigil.decisions, startedAt, deadlineMs, hedge, exposition));
        }
        console.log(
          `| ${name} | ${answers.length} | ${inTime} (${f2((100 * inTime) / answers.length)}%) | ${fallback} | ${lateOrFailed} | ${failedAfter} | ${hedges} |`,
        );
        stopAll();
      }
      console.log(`\n${notes.join('\n')}\n`);
    }
    if (scenarios.has('detect')) {
      const trials = Number(values.trials);
      const detectRate = Number(values['detect-rate']);
      console.log(
        `## Hard fault to the hub's unhealthy state: router traffic vs probes alone (${trials} kills, ${detectRate} requests/s through the router)\n`,
      );
      const traffic: number[] = [];
      const probes: number[] = [];
      let failed = 0;
      let sent = 0;
      for (let trial = 0; trial < trials; trial++) {
        const a = await upstream('a');
        const b = await upstream('b');
        const hub = await vigilRunWithRouter(dir, a.url, b.url);
        let killedAt = 0;
        let trafficAt = 0;
        let probeAt = 0;
        const answers = await fixedRate(hub.routerUrl, detectRate, 12, [
          [
            3,
            async () => {
              killedAt = performance.now();
              a.proc.child.kill('SIGKILL');
              for (;;) {
                const body = (await (await fetch(`${hub.url}/api/v1/status`)).json()) as {
                  checks: Array<{ checkId: string; state: string }>;
                };
                const state = (id: string) => body.checks.find((c) => c.checkId === id)?.state;
                const at = performance.now() - killedAt;
                if (trafficAt === 0 && state('a/traffic:bench') === 'unhealthy') trafficAt = at;
                if (probeAt === 0 && state('a/liveness') === 'unhealthy') probeAt = at;
                if ((trafficAt > 0 && probeAt > 0) || at > 8_500) break;
                await new Promise((r) => setTimeout(r, 10));
              }
            },
          ],
        ]);
        traffic.push(trafficAt || Number.NaN);
        probes.push(probeAt || Number.NaN);
        sent += answers.length;
        failed += answers.filter((x) => x.status < 200 || x.status > 299).length;
        stopAll();
      }
      const ms = (xs: number[]) => xs.map((x) => Math.round(x)).join(', ');
      console.log('| signal | median ms | each kill, ms |\n| --- | --- | --- |');
      console.log(
        `| router traffic (\`a/traffic:bench\`) | ${Math.round(quantile(traffic, 0.5))} | ${ms(traffic)} |`,
      );
      console.log(
        `| liveness probe alone (\`a/liveness\`) | ${Math.round(quantile(probes, 0.5))} | ${ms(probes)} |`,
      );
      console.log(`\nrequests through the router: ${sent}, failed: ${failed}\n`);
    }
  } finally {
    stopAll();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `vigil run --routers`: the hub with a liveness probe per upstream and the router in process. */
async function vigilRunWithRouter(dir: string, primary: string, secondary: string) {
  const port = await freePort();
  const hubPort = await freePort();
  const file = join(dir, `run-${port}.yaml`);
  const target = (name: string, url: string) =>
    `  - { name: ${name}, url: ${url}, protocol: http, checks: { liveness: { request: { path: /score } } } }\n`;
  writeFileSync(
    file,
    'defaults: { interval: 2s, timeout: 1s, failureThreshold: 3, fastInterval: 1s }\n' +
      `targets:\n${target('a', primary)}${target('b', secondary)}` +
      `routers:\n  - name: bench\n    listen: 127.0.0.1:${port}\n    primary: a\n    secondaries: [b]\n` +
      '    policy: { deadline: 2s, idempotent: true }\n',
  );
  const child = spawn(
    process.execPath,
    [
      VIGIL_BIN,
      'run',
      '-c',
      file,
      '--port',
      String(hubPort),
      '--store',
      ':memory:',
      '--routers',
      '--router-admin-port',
      '0',
      '--log-level',
      'error',
    ],
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  running.push(child);
  await waitListening(port, child);
  const url = `http://127.0.0.1:${hubPort}`;
  // Both liveness checks healthy first, so the kill is what the hub sees.
  for (;;) {
    const body = (await (await fetch(`${url}/api/v1/status`)).json()) as {
      checks: Array<{ checkId: string; state: string }>;
    };
    if (body.checks.filter((c) => c.checkId.endsWith('/liveness') && c.state === 'healthy').length === 2)
      break;
    await new Promise((r) => setTimeout(r, 50));
  }
  return { child, url, routerUrl: `http://127.0.0.1:${port}` };
}

// ---------------------------------------------------------------------------------------------
// Upstream mode: a trivial server in its own process.

function serveUpstream(): void {
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: { port: { type: 'string', default: '0' }, name: { type: 'string', default: 'a' } },
  });
  let delayMs = 0;
  const body = Buffer.from('{"ok":true}');
  const server = createServer((req, res) => {
    const m = /^\/__bench\/delay\/(\d+)$/.exec(req.url ?? '');
    if (req.method === 'PUT' && m) {
      delayMs = Number(m[1]);
      res.end();
      return;
    }
    const answer = () => {
      res.writeHead(200, {
        'content-type': 'application/json',
        'content-length': body.length,
        'x-upstream': values.name,
      });
      res.end(body);
    };
    if (delayMs === 0) answer();
    else setTimeout(answer, delayMs);
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(values.port), '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  });
}

// ---------------------------------------------------------------------------------------------
// Node floor mode: the cheapest Node.js reverse proxy, in its own process.

/** Hop-by-hop headers (RFC 9110 §7.6.1) and `host`: not forwarded (undici refuses some of them). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'host',
]);

function endToEnd(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const key in headers) {
    const value = headers[key];
    if (value !== undefined && !HOP_BY_HOP.has(key)) out[key] = value;
  }
  return out;
}

/**
 * The "Node floor": a node:http server and one undici Pool to `--upstream` (as many connections as
 * the router's, 256), each request forwarded with `Pool.stream` and its answer written straight into
 * the client's response; no policy, deadline, metrics or logging. What any Node.js proxy built on
 * these two pays per request at least, measured beside `vigil route` and HAProxy.
 */
function serveFloor(): void {
  const { values } = parseArgs({
    args: process.argv.slice(3),
    options: { port: { type: 'string', default: '0' }, upstream: { type: 'string' } },
  });
  const pool = new Pool(values.upstream as string, { connections: 256 });
  const server = createServer((req, res) => {
    const hasBody =
      req.headers['content-length'] !== undefined || req.headers['transfer-encoding'] !== undefined;
    pool
      .stream(
        {
          path: req.url ?? '/',
          method: (req.method ?? 'GET') as 'GET',
          headers: endToEnd(req.headers),
          body: hasBody ? req : null,
        },
        ({ statusCode, headers }) => {
          res.writeHead(statusCode, endToEnd(headers));
          return res;
        },
      )
      .catch(() => {
        if (res.headersSent) res.destroy();
        else res.writeHead(502).end();
      });
  });
  server.keepAliveTimeout = 60_000;
  server.listen(Number(values.port), '127.0.0.1', () => {
    process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
  });
}

if (process.argv[2] === 'upstream') serveUpstream();
else if (process.argv[2] === 'floor') serveFloor();
else await main();
