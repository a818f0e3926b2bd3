/**
 * Benchmark: the hub at scale. N checks at a 10 s interval against local endpoints, the hub pinned to
 * one core; reports scheduler lag p50/p99/max, RSS and CPU per probe of the whole pipeline (probe,
 * evaluation, store, metrics with a /metrics render every 15 s), against the bare node:http floor
 * measured on the same core in the same run. Targets from the hub issue: lag p99 ≤ 100 ms,
 * RSS ≤ 300 MB, CPU per probe ≤ 2× the floor; the aim is 50,000 checks.
 *
 * Processes (all loopback):
 *  - endpoints (`scale-endpoints.ts`), `taskset -c 0`: `--ports` node:http servers answering a small
 *    OIP-shaped JSON body, keep-alive 65 s;
 *  - the hub (`scale-hub.ts`), `taskset -c 1`: `createHub` + `openStore(<temp SQLite file>)` +
 *    `createMetrics()`; every check is `http` with a JSONPath extract and a range assertion, one
 *    check per target (`--per-target 2|3` adds readiness/liveness checks of the same target);
 *  - the floor (`scale-floor.ts`), `taskset -c 1`, before the first hub and after each hub, never
 *    while one runs: probe-cost.ts's floor (node:http GET + JSON.parse + range, keep-alive, 8 in
 *    flight), median of 3 runs. Each row is compared with the mean of the floors measured just before
 *    and just after it: this VM's speed drifts 10–25% within minutes (BENCHMARKS.md), and a floor
 *    taken once at the start let the ratio of one build swing between 1.86 and 2.94;
 *    `--paced-floor` also runs the floor at each check count's rate and spread (diagnostic column);
 *  - this driver, `taskset -c 0` (it mostly sleeps).
 *
 * Per check count: warm up `--warmup-s`, then measure `--measure-s`. Lag is what the hub's scheduler
 * passes to `metrics.observeLag` (due → started), in 0.1 ms buckets; CPU is utime+stime of the hub
 * process from /proc/<pid>/stat over the window, divided by the results delivered in it; RSS is the
 * largest VmRSS sampled each second in the window.
 *
 *   npm run build && node bench/dist/hub-scale.js [--checks 10000,20000,30000,50000] [--search]
 *     [--warmup-s 30] [--measure-s 60] [--ports 256] [--per-target 1] [--paced-floor]
 *     [--floor-ms <ms>]   (skip the floor runs and use this figure)
 *     [--profile <dir>]   (profiles the hub over each window; its CPU figures then include the profiler)
 *     [--heap-snapshot <dir>]   (a heap snapshot of the hub at the end of each window)
 *     [--alloc-profile <dir>]   (samples the hub's allocations over each window, freed ones included, or
 *                         with VIGIL_BENCH_ALLOC=promoted only what survived the young generation;
 *                         summary: `node bench/dist/scale-profile.js <dir>/hub-<checks>.heapprofile`)
 *     [--hub-node-flags='--max-semi-space-size=16']   (flags for the hub's node; default: the flags the
 *                         `vigil` binary starts node with, read from its shebang line; '' for none)
 *     [--coalesce-ms 20]  (the hub's coalesceMs, default its own; the paced floor's due times use the same grid)
 *     [--metrics-level default|detail]   (the hub's /metrics level; the table's /metrics columns are its renders)
 *     [--scrape-s 0] [--diag skip-states,skip-results]   (diagnostics: no /metrics renders; store writes
 *                         made no-ops through a wrapper of the public Store interface; never for the table)
 *
 *   node bench/dist/scale-profile.js <dir>/hub-<checks>.cpuprofile   (summary of a profile)
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { DEFAULT_COALESCE_MS } from 'vigil-ml';
import { firstJsonLine, startScaleEndpoints } from './scale-children.js';
import { coreBusySeconds, cpuSeconds, spawnPinned, startScaleHub, vmMb } from './scale-hub-child.js';
import type { LagSummary } from './scale-protocol.js';
import { splitFlags, vigilNodeFlags } from './vigil-flags.js';

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '10000,20000,30000,50000' },
    'interval-ms': { type: 'string', default: '10000' },
    'per-target': { type: 'string', default: '1' },
    ports: { type: 'string', default: '256' },
    'warmup-s': { type: 'string', default: '30' },
    'measure-s': { type: 'string', default: '60' },
    'scrape-s': { type: 'string', default: '15' },
    'hub-core': { type: 'string', default: '1' },
    'endpoint-core': { type: 'string', default: '0' },
    'floor-ms': { type: 'string' },
    'paced-floor': { type: 'boolean', default: false },
    search: { type: 'boolean', default: false },
    'search-step': { type: 'string', default: '5000' },
    profile: { type: 'string' },
    'alloc-profile': { type: 'string' },
    'heap-snapshot': { type: 'string' },
    diag: { type: 'string', default: '' },
    'hub-node-flags': { type: 'string' },
    'coalesce-ms': { type: 'string', default: String(DEFAULT_COALESCE_MS) },
    'metrics-level': { type: 'string', default: 'default' },
  },
});
const COUNTS = values.checks.split(',').map(Number);
const INTERVAL_MS = Number(values['interval-ms']);
const PER_TARGET = values['per-target'];
const WARMUP_S = Number(values['warmup-s']);
const MEASURE_S = Number(values['measure-s']);
const HUB_CORE = values['hub-core'];
const ENDPOINT_CORE = values['endpoint-core'];
const PROFILE_DIR = values.profile;

/** The bounds from the hub issue. */
const LAG_P99_MS = 100;
const RSS_MB = 300;
const FLOOR_FACTOR = 2;
/** Below this share of the planned probe rate, the hub is not keeping up whatever the lag says. */
const MIN_RATE_SHARE = 0.98;

const here = dirname(fileURLToPath(import.meta.url));

/** Flags for the hub's node: by default the `vigil` binary's, so the hub is tuned as shipped. */
const HUB_NODE_FLAGS = values['hub-node-flags'] ?? vigilNodeFlags().join(' ');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface FloorResult {
  cpuMsPerProbe: number;
  probesPerSecond: number;
  failed: number;
  rssMb?: number;
}

async function floor(ports: number[], extra: string[]): Promise<FloorResult> {
  const child = spawnPinned(
    HUB_CORE,
    join(here, 'scale-floor.js'),
    ['--ports', ports.join(','), ...extra],
    false,
  );
  const result = await firstJsonLine<FloorResult>(child);
  await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r(null)));
  return result;
}

interface Row {
  checks: number;
  plannedPerSecond: number;
  probesPerSecond: number;
  lag: LagSummary;
  /** Probe durations over the window (what a latency assertion sees: the hub's own queueing included). */
  durations: LagSummary;
  rssMb: number;
  hwmMb: number;
  cpuMsPerProbe: number;
  /** From the hub's own process.cpuUsage(), as a cross-check. */
  selfCpuMsPerProbe: number;
  coreShare: number;
  nonPass: Record<string, number>;
  scrapes: { count: number; meanMs: number; maxMs: number; bytes: number };
  dbMb: number;
  memory: { heapUsed: number; heapTotal: number; external: number };
  /** Busy share of the hub's core over the window (/proc/stat), hub included: other load shows as busy − hub. */
  coreBusy: number;
  /** The burst floor this row is compared with: the mean of `floorBefore` and `floorAfter`, ms CPU per probe. */
  floorMs: number;
  floorBefore: number;
  floorAfter: number;
  pacedFloor?: number;
  pacedFloorRssMb?: number;
  profile?: string;
}

/** A row as the hub's run gives it, before the floors around it are known. */
type HubRow = Omit<Row, 'floorMs' | 'floorBefore' | 'floorAfter'>;

async function runHub(checks: number, ports: number[], dir: string): Promise<HubRow> {
  const db = join(dir, `hub-${checks}.db`);
  const args = [
    '--checks',
    String(checks),
    '--interval-ms',
    String(INTERVAL_MS),
    '--per-target',
    PER_TARGET,
    '--ports',
    ports.join(','),
    '--db',
    db,
    '--scrape-ms',
    String(Number(values['scrape-s']) * 1000),
    '--coalesce-ms',
    values['coalesce-ms'],
    '--metrics-level',
    values['metrics-level'],
  ];
  if (values.diag !== '') args.push('--diag', values.diag);
  const snapDir = values['heap-snapshot'];
  if (snapDir !== undefined) args.push('--heap-snapshot', join(snapDir, `hub-${checks}.heapsnapshot`));
  if (PROFILE_DIR !== undefined) args.push('--profile', join(PROFILE_DIR, `hub-${checks}.cpuprofile`));
  const allocDir = values['alloc-profile'];
  if (allocDir !== undefined) args.push('--alloc-profile', join(allocDir, `hub-${checks}.heapprofile`));
  const flags = splitFlags(HUB_NODE_FLAGS);
  const hub = startScaleHub({ script: join(here, 'scale-hub.js'), core: HUB_CORE, args, nodeFlags: flags });
  const { pid, next, send } = hub;
  try {
    const ready = await next('ready');
    process.stderr.write(
      `  ${checks} checks (${ready.targets} targets) started in ${ready.startMs.toFixed(0)} ms; warming up ${WARMUP_S} s\n`,
    );
    await sleep(WARMUP_S * 1000);
    send({ type: 'mark' });
    await next('marked');
    const cpu0 = cpuSeconds(pid);
    const busy0 = coreBusySeconds(HUB_CORE);
    const t0 = performance.now();
    let rssMb = vmMb(pid, 'VmRSS');
    const sampler = setInterval(() => {
      rssMb = Math.max(rssMb, vmMb(pid, 'VmRSS'));
    }, 1000);
    await sleep(MEASURE_S * 1000);
    const cpu = cpuSeconds(pid) - cpu0;
    const wall = (performance.now() - t0) / 1000;
    clearInterval(sampler);
    rssMb = Math.max(rssMb, vmMb(pid, 'VmRSS'));
    const hwmMb = vmMb(pid, 'VmHWM');
    send({ type: 'report' });
    const report = await next('report');
    send({ type: 'stop' });
    await next('stopped');
    await hub.exited;
    const row: HubRow = {
      checks,
      plannedPerSecond: checks / (INTERVAL_MS / 1000),
      probesPerSecond: report.probes / (report.windowMs / 1000),
      lag: report.lag,
      durations: report.durations,
      rssMb,
      hwmMb,
      cpuMsPerProbe: (cpu * 1000) / report.probes,
      selfCpuMsPerProbe: report.cpuUs / 1000 / report.probes,
      coreShare: cpu / wall,
      nonPass: report.nonPass,
      scrapes: report.scrapes,
      dbMb: report.dbBytes / 2 ** 20,
      memory: report.memory,
      coreBusy: (coreBusySeconds(HUB_CORE) - busy0) / wall,
    };
    if (report.profile !== undefined) row.profile = report.profile;
    return row;
  } finally {
    if (hub.child.exitCode === null) hub.child.kill();
    for (const suffix of ['', '-wal', '-shm']) rmSync(db + suffix, { force: true });
  }
}

/** Which bounds a row breaks; empty when it holds them all. */
function broken(row: Row): string[] {
  const out: string[] = [];
  if (row.lag.p99 > LAG_P99_MS) out.push('lag');
  if (row.rssMb > RSS_MB) out.push('RSS');
  if (row.cpuMsPerProbe > FLOOR_FACTOR * row.floorMs) out.push('CPU');
  if (row.probesPerSecond < MIN_RATE_SHARE * row.plannedPerSecond) out.push('rate');
  if (Object.keys(row.nonPass).length > 0) out.push('failures');
  return out;
}
/** The bounds that grow with the check count: lag, memory, keeping up. */
const capacityHolds = (row: Row) => broken(row).every((b) => b === 'CPU' || b === 'failures');

// ---------------------------------------------------------------------------------------------

try {
  execFileSync('taskset', ['-a', '-pc', ENDPOINT_CORE, String(process.pid)], { stdio: 'ignore' });
} catch {
  throw new Error('taskset (util-linux) is required');
}
for (const out of [PROFILE_DIR, values['alloc-profile'], values['heap-snapshot']]) {
  if (out !== undefined) mkdirSync(out, { recursive: true });
}
const dir = mkdtempSync(join(tmpdir(), 'vigil-hub-scale-'));
const endpoints = startScaleEndpoints({
  ports: Number(values.ports),
  core: ENDPOINT_CORE,
  keepAliveMs: 65000,
});
const rows: Row[] = [];
const GIVEN_FLOOR = values['floor-ms'] === undefined ? undefined : Number(values['floor-ms']);
/** Every burst floor measured (each the median of 3 runs), in order. */
const floors: number[] = [];
try {
  const ports = await endpoints.ports;
  /** The burst floor now: the median of 3 runs (or the --floor-ms figure). */
  const measureFloor = async (): Promise<number> => {
    if (GIVEN_FLOOR !== undefined) return GIVEN_FLOOR;
    const runs: number[] = [];
    for (let i = 0; i < 3; i++)
      runs.push((await floor(ports, ['--mode', 'burst', '--probes', '20000'])).cpuMsPerProbe);
    const median = [...runs].sort((a, b) => a - b)[1] as number;
    floors.push(median);
    process.stderr.write(`  floor ${median.toFixed(4)} ms CPU per probe\n`);
    return median;
  };
  let lastFloor = await measureFloor();

  const measure = async (checks: number): Promise<Row> => {
    const hubRow = await runHub(checks, ports, dir);
    const floorBefore = lastFloor;
    lastFloor = await measureFloor();
    const row: Row = {
      ...hubRow,
      floorBefore,
      floorAfter: lastFloor,
      floorMs: (floorBefore + lastFloor) / 2,
    };
    if (values['paced-floor']) {
      const paced = await floor(ports, [
        '--mode',
        'paced',
        '--checks',
        String(checks),
        '--per-target',
        PER_TARGET,
        '--interval-ms',
        String(INTERVAL_MS),
        '--warmup-s',
        String(WARMUP_S),
        '--measure-s',
        String(MEASURE_S),
        // Due times on the hub's coalescing grid: the bare client scheduled as the hub schedules.
        '--slack-ms',
        values['coalesce-ms'] === '0' ? '1' : values['coalesce-ms'],
      ]);
      row.pacedFloor = paced.cpuMsPerProbe;
      row.pacedFloorRssMb = paced.rssMb ?? 0;
      // The next row's floor before it, not one from before this paced run.
      lastFloor = await measureFloor();
    }
    const b = broken(row);
    process.stderr.write(
      `  ${checks}: ${row.probesPerSecond.toFixed(0)} probes/s, lag p99 ${row.lag.p99.toFixed(1)} ms, RSS ${row.rssMb.toFixed(0)} MB, ${row.cpuMsPerProbe.toFixed(4)} ms CPU/probe = ${(row.cpuMsPerProbe / row.floorMs).toFixed(2)}× floor${b.length > 0 ? ` — breaks ${b.join(', ')}` : ''}\n`,
    );
    rows.push(row);
    return row;
  };

  for (const checks of COUNTS) await measure(checks);

  if (values.search) {
    // Bisect between the largest count that holds the capacity bounds and the smallest above it that does not.
    const step = Number(values['search-step']);
    for (;;) {
      const good = Math.max(0, ...rows.filter(capacityHolds).map((r) => r.checks));
      const bad = Math.min(...rows.filter((r) => !capacityHolds(r) && r.checks > good).map((r) => r.checks));
      if (!Number.isFinite(bad)) {
        // Everything measured holds: go up by doubling until something breaks (stop at 200k).
        if (good >= 200_000) break;
        await measure(good * 2);
        continue;
      }
      if (bad - good <= step) break;
      await measure(Math.round((good + bad) / 2 / 1000) * 1000);
    }
  }
} finally {
  endpoints.child.kill();
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------

rows.sort((a, b) => a.checks - b.checks);
const f = (x: number, d = 1) => x.toFixed(d);
/** A lag in ms; past the recorder's last bucket (10 s) only a lower bound is known. */
const lagMs = (x: number) => (x > 10_000 ? '> 10000' : x.toFixed(1));
console.log(
  `\nHub at scale: ${INTERVAL_MS / 1000} s interval, ${PER_TARGET} check(s) per target, ${values.ports} endpoint ports, ` +
    `hub on core ${HUB_CORE}, endpoints on core ${ENDPOINT_CORE}; warm-up ${WARMUP_S} s, measured ${MEASURE_S} s.`,
);
console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${f(totalmem() / 2 ** 30, 0)} GiB, Linux ${release()}, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
);
console.log(`Command: node bench/dist/hub-scale.js ${process.argv.slice(2).join(' ')}`);
console.log(
  GIVEN_FLOOR !== undefined
    ? `Floor: ${GIVEN_FLOOR.toFixed(4)} ms CPU per probe, given with --floor-ms.`
    : `Floor: node:http GET + JSON.parse + range, keep-alive, 8 in flight, 20,000 probes, on core ${HUB_CORE}, the median of 3 runs, ` +
        `measured before the first hub and after each (${floors.map((x) => x.toFixed(4)).join(', ')} ms CPU per probe); ` +
        'each row is compared with the mean of the floors just before and after it.',
);
console.log(
  `Due times coalesced to ${values['coalesce-ms']} ms windows (the hub's coalesceMs${values['coalesce-ms'] === String(DEFAULT_COALESCE_MS) ? ', its default' : ''}; the paced floor on the same grid).`,
);
console.log(
  `Bounds: lag p99 ≤ ${LAG_P99_MS} ms, RSS ≤ ${RSS_MB} MB, CPU per probe ≤ ${FLOOR_FACTOR}× floor, ` +
    `and the hub keeps up (≥ ${MIN_RATE_SHARE * 100}% of the planned probe rate, every probe passes); ` +
    `/metrics (${values['metrics-level']} level, rendered every ${values['scrape-s']} s as the route streams it) within 10 MiB and 1 s, not counted in "within bounds".${PROFILE_DIR === undefined && values['alloc-profile'] === undefined ? '' : ' PROFILED RUN: CPU includes the sampling profiler.'}${values.diag === '' ? '' : ` DIAGNOSTIC RUN (--diag ${values.diag}): not the real pipeline.`}${HUB_NODE_FLAGS === '' ? ' Hub node flags: none.' : ` Hub node flags: ${HUB_NODE_FLAGS}${values['hub-node-flags'] === undefined ? " (the vigil binary's)" : ''}.`}\n`,
);
const paced = rows.some((r) => r.pacedFloor !== undefined);
console.log(
  `| checks | probes/s | lag p50 ms | lag p99 ms | lag max ms | RSS MB | CPU ms/probe | floor ms/probe (before / after) | × floor | hub core % | /metrics MiB | render ms mean / max |${paced ? ' paced floor ms/probe | × paced floor |' : ''} within bounds |`,
);
console.log(
  `| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |${paced ? ' ---: | ---: |' : ''} --- |`,
);
for (const r of rows) {
  const b = broken(r);
  const pacedCols =
    r.pacedFloor === undefined
      ? paced
        ? ' – | – |'
        : ''
      : ` ${f(r.pacedFloor, 4)} | ${f(r.cpuMsPerProbe / r.pacedFloor, 2)} |`;
  console.log(
    `| ${r.checks} | ${f(r.probesPerSecond, 0)} | ${lagMs(r.lag.p50)} | ${lagMs(r.lag.p99)} | ${f(r.lag.max)} | ${f(r.rssMb, 0)} | ${f(r.cpuMsPerProbe, 4)} | ${f(r.floorMs, 4)} (${f(r.floorBefore, 4)} / ${f(r.floorAfter, 4)}) | ${f(r.cpuMsPerProbe / r.floorMs, 2)} | ${f(r.coreShare * 100, 0)} | ${f(r.scrapes.bytes / 2 ** 20, 1)} | ${f(r.scrapes.meanMs, 0)} / ${f(r.scrapes.maxMs, 0)} |${pacedCols} ${b.length === 0 ? 'yes' : `no (${b.join(', ')})`} |`,
  );
}
console.log('\nDetails per row:');
for (const r of rows) {
  const np = Object.entries(r.nonPass)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  console.log(
    `- ${r.checks}: planned ${f(r.plannedPerSecond, 0)} probes/s; lag p99.9 ${lagMs(r.lag.p999)} ms over ${r.lag.count} probes; ` +
      `probe duration p50 ${lagMs(r.durations.p50)} / p99 ${lagMs(r.durations.p99)} ms; ` +
      `VmHWM ${f(r.hwmMb, 0)} MB; at the end heap used ${f(r.memory.heapUsed, 0)} of ${f(r.memory.heapTotal, 0)} MB, external ${f(r.memory.external, 0)} MB; ` +
      `core ${HUB_CORE} busy ${f(r.coreBusy * 100, 0)}% (hub ${f(r.coreShare * 100, 0)}%, other processes ${f(Math.max(0, r.coreBusy - r.coreShare) * 100, 0)}%); CPU/probe by process.cpuUsage ${f(r.selfCpuMsPerProbe, 4)} ms; ` +
      `${r.scrapes.count} renders, mean ${f(r.scrapes.meanMs)} ms, max ${f(r.scrapes.maxMs)} ms, ${f(r.scrapes.bytes / 2 ** 20, 1)} MiB; ` +
      `SQLite ${f(r.dbMb, 0)} MiB at the end${r.pacedFloorRssMb === undefined ? '' : `; paced floor RSS ${f(r.pacedFloorRssMb, 0)} MB`}${np === '' ? '' : `; not passed: ${np}`}${r.profile === undefined ? '' : `; profile ${r.profile}`}`,
  );
}
const within = rows.filter((r) => broken(r).length === 0).map((r) => r.checks);
const capacity = rows.filter(capacityHolds).map((r) => r.checks);
console.log(
  `\nLargest check count within all bounds: ${within.length > 0 ? Math.max(...within) : 'none measured'}; ` +
    `within lag, RSS and rate bounds (CPU ratio aside): ${capacity.length > 0 ? Math.max(...capacity) : 'none measured'}.`,
);
