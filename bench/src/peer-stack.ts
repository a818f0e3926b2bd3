/**
 * Benchmark: Vigil's hub beside the stack many teams use for endpoint probing today, Prometheus
 * scraping blackbox_exporter (both Debian's: `apt-get install prometheus prometheus-blackbox-exporter`),
 * over the same local endpoints at the same interval, one after the other on the same core.
 *
 * Processes (all loopback):
 *  - endpoints (`scale-endpoints.ts`), pinned to `--endpoint-core`: `--ports` node:http servers;
 *  - per check count, first the hub: `scale-hub.js` (createHub + SQLite + /metrics rendered every
 *    15 s, as hub-scale runs it) with N integrity checks, `GET /model-<t>/integrity`, JSONPath extract
 *    and a range assertion, keep-alive; pinned to `--core`;
 *  - then the peer stack on the same core: blackbox_exporter with one `http` module (GET, 2 s
 *    timeout, the body must match `"probability"`: a regular expression is the closest blackbox comes
 *    to Vigil's JSON assertion; a new connection per probe, as blackbox always does), and Prometheus
 *    scraping `/probe?target=<endpoint URL>` for the same N URLs (file_sd) every `--interval-ms`, with a
 *    2 s scrape timeout, storing every series blackbox returns (TSDB in a temp directory), plus itself.
 *
 * Per system and count: warm up `--warmup-s`, measure `--measure-s`. CPU is utime+stime from
 * /proc/<pid>/stat over the window (Prometheus and blackbox_exporter together for the peer) divided by
 * the probes in it (the hub's results; the peer's scrapes of blackbox, one probe each, counted by
 * Prometheus: `count_over_time(up{job="blackbox"}[window])`); RSS is the largest sampled VmRSS (their
 * sum for the peer). Late starts: the hub's scheduler lag p99; Prometheus' scrape interval p99
 * (`prometheus_target_interval_length_seconds`) minus the interval. Probe time: the hub's probe
 * durations p99; the peer's scrape durations p99 (`scrape_duration_seconds`, blackbox's probe plus the
 * scrape). Keeps up: at least 98% of the planned probes ran and at most 1% failed.
 *
 *   npm run build && node bench/dist/peer-stack.js [--checks 5000,10000,20000] [--interval-ms 10000]
 *     [--warmup-s 30] [--measure-s 60] [--ports 256] [--core 1] [--endpoint-core 0]
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startScaleEndpoints } from './scale-children.js';
import { cpuSeconds, startScaleHub, vmMb } from './scale-hub-child.js';
import { vigilNodeFlags } from './vigil-flags.js';

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '5000,10000,20000' },
    'interval-ms': { type: 'string', default: '10000' },
    'warmup-s': { type: 'string', default: '30' },
    'measure-s': { type: 'string', default: '60' },
    ports: { type: 'string', default: '256' },
    core: { type: 'string', default: '1' },
    'endpoint-core': { type: 'string', default: '0' },
  },
});
const COUNTS = values.checks.split(',').map(Number);
const INTERVAL_MS = Number(values['interval-ms']);
const WARMUP_S = Number(values['warmup-s']);
const MEASURE_S = Number(values['measure-s']);
const CORE = values.core;
const PROMETHEUS = '/usr/bin/prometheus';
const BLACKBOX = '/usr/bin/prometheus-blackbox-exporter';
/** Keeping up: this share of the planned probes ran, and at most FAILED_SHARE of them failed. */
const MIN_RATE_SHARE = 0.98;
const MAX_FAILED_SHARE = 0.01;

const here = dirname(fileURLToPath(import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

for (const binary of [PROMETHEUS, BLACKBOX]) {
  try {
    execFileSync(binary, ['--version'], { stdio: 'ignore' });
  } catch {
    throw new Error(`${binary} is missing: apt-get install prometheus prometheus-blackbox-exporter`);
  }
}

interface Row {
  checks: number;
  system: 'vigil hub' | 'Prometheus + blackbox_exporter';
  plannedPerSecond: number;
  probesPerSecond: number;
  cpuMsPerProbe: number;
  rssMb: number;
  /** Scheduler lag p99 (hub) or scrape interval p99 past the interval (peer), ms. */
  lateP99Ms: number;
  /** Probe duration p99 (hub) or scrape duration p99 (peer), ms. */
  probeP99Ms: number;
  failedShare: number;
  /** For the peer: the CPU and RSS split, Prometheus / blackbox_exporter. */
  note: string;
}

const keepsUp = (r: Row) =>
  r.probesPerSecond >= MIN_RATE_SHARE * r.plannedPerSecond && r.failedShare <= MAX_FAILED_SHARE;

/** Samples `rss()` every second until `stop()`; returns the largest. */
function rssSampler(rss: () => number): { stop: () => number } {
  let max = rss();
  const timer = setInterval(() => {
    max = Math.max(max, rss());
  }, 1000);
  return {
    stop: () => {
      clearInterval(timer);
      return Math.max(max, rss());
    },
  };
}

async function runHub(checks: number, ports: number[], dir: string): Promise<Row> {
  const db = join(dir, `hub-${checks}.db`);
  const hub = startScaleHub({
    script: join(here, 'scale-hub.js'),
    core: CORE,
    args: [
      '--checks',
      String(checks),
      '--interval-ms',
      String(INTERVAL_MS),
      '--ports',
      ports.join(','),
      '--db',
      db,
    ],
    nodeFlags: vigilNodeFlags(),
  });
  try {
    await hub.next('ready');
    log(`  hub, ${checks} checks: warming up ${WARMUP_S} s`);
    await sleep(WARMUP_S * 1000);
    hub.send({ type: 'mark' });
    await hub.next('marked');
    const cpu0 = cpuSeconds(hub.pid);
    const rss = rssSampler(() => vmMb(hub.pid, 'VmRSS'));
    await sleep(MEASURE_S * 1000);
    const cpu = cpuSeconds(hub.pid) - cpu0;
    const rssMb = rss.stop();
    hub.send({ type: 'report' });
    const report = await hub.next('report');
    hub.send({ type: 'stop' });
    await hub.next('stopped');
    await hub.exited;
    const failed = Object.values(report.nonPass).reduce((a, b) => a + b, 0);
    return {
      checks,
      system: 'vigil hub',
      plannedPerSecond: checks / (INTERVAL_MS / 1000),
      probesPerSecond: report.probes / (report.windowMs / 1000),
      cpuMsPerProbe: (cpu * 1000) / report.probes,
      rssMb,
      lateP99Ms: report.lag.p99,
      probeP99Ms: report.durations.p99,
      failedShare: report.probes > 0 ? failed / report.probes : 1,
      note: '',
    };
  } finally {
    if (hub.child.exitCode === null) hub.child.kill();
    for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  }
}

/** A free TCP port on 127.0.0.1 (closed again; the process started next binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function spawnOnCore(binary: string, args: string[]): ChildProcess {
  return spawn('taskset', ['-c', CORE, binary, ...args], { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Polls `url` until it answers 200 (or the process exits). */
async function waitReady(url: string, child: ChildProcess, what: string): Promise<void> {
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => {
    stderr = (stderr + c.toString()).slice(-4000);
  });
  for (let i = 0; i < 600; i++) {
    if (child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}:\n${stderr}`);
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${what} not ready after 60 s:\n${stderr}`);
}

/** One PromQL instant query's single value (NaN for an empty answer). */
async function query(port: number, promql: string): Promise<number> {
  const url = `http://127.0.0.1:${port}/api/v1/query?query=${encodeURIComponent(promql)}`;
  const body = (await (await fetch(url)).json()) as {
    status: string;
    error?: string;
    data?: { result: Array<{ value: [number, string] }> };
  };
  if (body.status !== 'success') throw new Error(`${promql}: ${body.error ?? body.status}`);
  return Number(body.data?.result[0]?.value[1] ?? Number.NaN);
}

async function runPeer(checks: number, ports: number[], dir: string): Promise<Row> {
  const [bbPort, promPort] = [await freePort(), await freePort()];
  const work = mkdtempSync(join(dir, `peer-${checks}-`));
  const interval = `${INTERVAL_MS / 1000}s`;
  writeFileSync(
    join(work, 'blackbox.yml'),
    [
      'modules:',
      '  integrity:',
      '    prober: http',
      '    timeout: 2s',
      '    http:',
      '      method: GET',
      '      preferred_ip_protocol: ip4',
      `      fail_if_body_not_matches_regexp: ['"probability"']`,
      '',
    ].join('\n'),
  );
  const targets = Array.from(
    { length: checks },
    (_, t) => `http://127.0.0.1:${ports[t % ports.length]}/model-${t}/integrity`,
  );
  writeFileSync(join(work, 'targets.json'), JSON.stringify([{ targets }]));
  writeFileSync(
    join(work, 'prometheus.yml'),
    [
      `global: { scrape_interval: ${interval}, scrape_timeout: 2s, evaluation_interval: 1m }`,
      'scrape_configs:',
      '  - job_name: blackbox',
      '    metrics_path: /probe',
      '    params: { module: [integrity] }',
      `    file_sd_configs: [{ files: ['${join(work, 'targets.json')}'] }]`,
      '    relabel_configs:',
      '      - { source_labels: [__address__], target_label: __param_target }',
      '      - { source_labels: [__param_target], target_label: instance }',
      `      - { target_label: __address__, replacement: '127.0.0.1:${bbPort}' }`,
      '  - job_name: prometheus',
      `    static_configs: [{ targets: ['127.0.0.1:${promPort}'] }]`,
      '',
    ].join('\n'),
  );
  const blackbox = spawnOnCore(BLACKBOX, [
    `--config.file=${join(work, 'blackbox.yml')}`,
    `--web.listen-address=127.0.0.1:${bbPort}`,
    '--log.level=warn',
  ]);
  const prometheus = spawnOnCore(PROMETHEUS, [
    `--config.file=${join(work, 'prometheus.yml')}`,
    `--web.listen-address=127.0.0.1:${promPort}`,
    `--storage.tsdb.path=${join(work, 'tsdb')}`,
    '--storage.tsdb.retention.time=1h',
    '--log.level=warn',
  ]);
  try {
    await waitReady(`http://127.0.0.1:${bbPort}/metrics`, blackbox, 'blackbox_exporter');
    await waitReady(`http://127.0.0.1:${promPort}/-/ready`, prometheus, 'prometheus');
    const pids = [prometheus.pid as number, blackbox.pid as number];
    log(`  Prometheus + blackbox_exporter, ${checks} targets: warming up ${WARMUP_S} s`);
    await sleep(WARMUP_S * 1000);
    const cpu0 = pids.map(cpuSeconds);
    const rssOf = () => pids.map((pid) => vmMb(pid, 'VmRSS'));
    const rssMax = [0, 0];
    const rss = rssSampler(() => {
      const now = rssOf();
      now.forEach((mb, i) => {
        rssMax[i] = Math.max(rssMax[i] as number, mb);
      });
      return now.reduce((a, b) => a + b, 0);
    });
    const t0 = performance.now();
    await sleep(MEASURE_S * 1000);
    const cpu = pids.map((pid, i) => cpuSeconds(pid) - (cpu0[i] as number));
    const windowS = (performance.now() - t0) / 1000;
    const rssMb = rss.stop();
    // After the window, over the window: Prometheus stores every scrape with its timestamp.
    const w = `${Math.round(windowS)}s`;
    const job = 'job="blackbox"';
    const scrapes = await query(promPort, `sum(count_over_time(up{${job}}[${w}]))`);
    const passed = await query(promPort, `sum(sum_over_time(probe_success{${job}}[${w}]))`);
    const durationP99 = await query(
      promPort,
      `quantile(0.99, max_over_time(scrape_duration_seconds{${job}}[${w}]))`,
    );
    const intervalP99 = await query(
      promPort,
      `max(prometheus_target_interval_length_seconds{interval="${interval}",quantile="0.99"})`,
    );
    const totalCpu = cpu.reduce((a, b) => a + b, 0);
    return {
      checks,
      system: 'Prometheus + blackbox_exporter',
      plannedPerSecond: checks / (INTERVAL_MS / 1000),
      probesPerSecond: scrapes / windowS,
      cpuMsPerProbe: (totalCpu * 1000) / scrapes,
      rssMb,
      lateP99Ms: Math.max(0, intervalP99 * 1000 - INTERVAL_MS),
      probeP99Ms: durationP99 * 1000,
      failedShare: scrapes > 0 ? 1 - passed / scrapes : 1,
      note:
        `CPU ${(((cpu[0] as number) * 1000) / scrapes).toFixed(3)} / ${(((cpu[1] as number) * 1000) / scrapes).toFixed(3)} ms per probe, ` +
        `RSS ${(rssMax[0] as number).toFixed(0)} / ${(rssMax[1] as number).toFixed(0)} MB (Prometheus / blackbox_exporter)`,
    };
  } finally {
    for (const child of [prometheus, blackbox]) if (child.exitCode === null) child.kill('SIGKILL');
    await Promise.all(
      [prometheus, blackbox].map((c) => (c.exitCode === null ? new Promise((r) => c.once('exit', r)) : null)),
    );
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------

try {
  execFileSync('taskset', ['-a', '-pc', values['endpoint-core'], String(process.pid)], { stdio: 'ignore' });
} catch {
  throw new Error('taskset (util-linux) is required');
}
const dir = mkdtempSync(join(tmpdir(), 'vigil-peer-stack-'));
const endpoints = startScaleEndpoints({
  ports: Number(values.ports),
  core: values['endpoint-core'],
  keepAliveMs: 65000,
});
process.once('exit', () => endpoints.child.kill());
const rows: Row[] = [];
try {
  const ports = await endpoints.ports;
  for (const checks of COUNTS) {
    for (const run of [runHub, runPeer]) {
      const row = await run(checks, ports, dir);
      rows.push(row);
      log(
        `  ${checks} ${row.system}: ${row.probesPerSecond.toFixed(0)} of ${row.plannedPerSecond.toFixed(0)} probes/s, ` +
          `${row.cpuMsPerProbe.toFixed(3)} ms CPU per probe, RSS ${row.rssMb.toFixed(0)} MB`,
      );
    }
  }
} finally {
  endpoints.child.kill();
  rmSync(dir, { recursive: true, force: true });
}

const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const version = (binary: string) =>
  execFileSync(binary, ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split(
    '\n',
  )[0] ?? '?';
console.log(
  `\nVigil's hub and Prometheus + blackbox_exporter over the same ${values.ports} local endpoint ports, one integrity probe per target every ${INTERVAL_MS / 1000} s, ` +
    `each system alone on core ${CORE} (endpoints on core ${values['endpoint-core']}); warm-up ${WARMUP_S} s, measured ${MEASURE_S} s.`,
);
console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${f(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}; ` +
    `${version(PROMETHEUS)}; ${version(BLACKBOX)}; ${new Date().toISOString().slice(0, 10)}.`,
);
console.log(`Command: node bench/dist/peer-stack.js ${process.argv.slice(2).join(' ')}`.trimEnd());
console.log(
  `Late starts: the hub's scheduler lag p99; Prometheus' scrape interval p99 past ${INTERVAL_MS / 1000} s. Probe time: the hub's probe durations p99; ` +
    `Prometheus' scrape durations p99 (the probe through blackbox_exporter). Keeps up: ≥ ${MIN_RATE_SHARE * 100}% of the planned probes, ≤ ${MAX_FAILED_SHARE * 100}% failed.\n`,
);
console.log(
  '| checks | system | probes/s (planned) | CPU ms per probe | RSS MB | late starts p99 ms | probe time p99 ms | failed % | keeps up |',
);
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const r of rows) {
  console.log(
    `| ${r.checks} | ${r.system} | ${f(r.probesPerSecond)} (${f(r.plannedPerSecond)}) | ${f(r.cpuMsPerProbe, 3)} | ${f(r.rssMb)} | ${f(r.lateP99Ms, 1)} | ${f(r.probeP99Ms, 1)} | ${f(r.failedShare * 100, 2)} | ${keepsUp(r) ? 'yes' : 'no'} |`,
  );
}
const notes = rows.filter((r) => r.note !== '');
if (notes.length > 0) {
  console.log('');
  for (const r of notes) console.log(`- ${r.checks}, ${r.system}: ${r.note}.`);
}
