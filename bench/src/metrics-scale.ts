/**
 * Benchmark: the size and render time of `/metrics` at given check counts, at both levels
 * (packages/vigil/METRICS.md), without probing anything: each check gets a result and a state as the
 * hub would record them (the scale benchmark's names: one `integrity` check per target `model-<n>`,
 * region `local`, a few thousand probes counted), then `/metrics` is rendered `--renders` times as
 * the route streams it (`renderChunks()`, every chunk taken as a socket write would), after one
 * untimed render that counts the series. Reported per
 * count and level: bytes (MiB and per check), series per check, render wall time (median and max:
 * it yields to the event loop every 5 ms, so on an idle process wall ≈ CPU) and CPU time of the
 * process over the renders. A probing hub adds its own work between the render's slices: for that,
 * `hub-scale.js` reports the renders of a hub under load.
 *
 *   npm run build && node bench/dist/metrics-scale.js [--checks 2000,10000,20000] [--levels default,detail]
 *     [--renders 5] [--regions 1]
 */
import { cpus, release, totalmem } from 'node:os';
import { parseArgs } from 'node:util';
import type { CheckPlan, EvalState, MetricsLevel, ProbeResult } from 'vigil-ml';
import { createMetrics } from 'vigil-ml';
import { scaleCheckPlan } from './scale-plan.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '2000,10000,20000' },
    levels: { type: 'string', default: 'default,detail' },
    renders: { type: 'string', default: '5' },
    regions: { type: 'string', default: '1' },
  },
});
const COUNTS = values.checks.split(',').map(Number);
const LEVELS = values.levels.split(',') as MetricsLevel[];
const RENDERS = Number(values.renders);
const REGIONS = Array.from({ length: Number(values.regions) }, (_, i) => (i === 0 ? 'local' : `region-${i}`));
for (const level of LEVELS) {
  if (level !== 'default' && level !== 'detail')
    throw new Error(`--levels: default or detail, got "${level}"`);
}

/** 10 MiB and 1 s: the fleet-scale issue's bounds for a 20,000-check hub's scrape. */
const MAX_MIB = 10;
const MAX_RENDER_MS = 1000;

function result(plan: CheckPlan, region: string, i: number): ProbeResult {
  const durationMs = 1 + (i % 997) / 100;
  return {
    checkId: plan.id,
    target: plan.target.name,
    check: plan.kind,
    region,
    startedAt: Date.now(),
    durationMs,
    phases: { dnsMs: 0, connectMs: 0.2, tlsMs: 0, processingMs: durationMs - 0.4, transferMs: 0.2 },
    outcome: 'pass',
    httpStatus: 200,
    failures: [],
  };
}

function state(plan: CheckPlan, region: string, last: ProbeResult): EvalState {
  return {
    checkId: plan.id,
    region,
    state: 'healthy',
    since: Date.now() - 3_600_000,
    consecutiveFailures: 0,
    consecutiveSuccesses: 1,
    consecutiveDegraded: 0,
    firstSeenAt: Date.now() - 3_600_000,
    hasPassed: true,
    recentTransitions: [],
    flapping: false,
    streak: [],
    lastResult: last,
  };
}

interface Row {
  checks: number;
  level: MetricsLevel;
  bytes: number;
  seriesPerCheck: number;
  renderMs: number[];
  cpuMs: number;
}

async function measure(checks: number, level: MetricsLevel): Promise<Row> {
  const metrics = createMetrics({ level });
  for (let i = 0; i < checks; i++) {
    const plan = scaleCheckPlan({ name: `model-${i}`, port: 1, kind: 'integrity', intervalMs: 10_000 });
    for (const region of REGIONS) {
      // A hub that ran for a few hours: counters in the thousands (their digits are bytes too).
      let last = result(plan, region, i);
      for (let n = 0; n < 3; n++) {
        last = result(plan, region, i + n);
        metrics.observeResult(plan, last);
      }
      metrics.observeState(plan, state(plan, region, last));
    }
  }
  // A first render, not timed: counts the per-check sample lines (those with a region).
  let lines = 0;
  for await (const chunk of metrics.renderChunks()) {
    for (const line of chunk.split('\n')) if (line.includes('region="')) lines++;
  }
  const renderMs: number[] = [];
  let bytes = 0;
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < RENDERS; r++) {
    const t = performance.now();
    bytes = 0;
    for await (const chunk of metrics.renderChunks()) bytes += Buffer.byteLength(chunk);
    renderMs.push(performance.now() - t);
  }
  const cpu = process.cpuUsage(cpu0);
  return {
    checks,
    level,
    bytes,
    seriesPerCheck: lines / (checks * REGIONS.length),
    renderMs,
    cpuMs: (cpu.user + cpu.system) / 1000 / RENDERS,
  };
}

const rows: Row[] = [];
for (const checks of COUNTS) {
  for (const level of LEVELS) {
    const row = await measure(checks, level);
    rows.push(row);
    process.stderr.write(
      `  ${checks} checks, ${level}: ${(row.bytes / 2 ** 20).toFixed(2)} MiB, render median ${median(row.renderMs).toFixed(0)} ms\n`,
    );
  }
}

const f = (x: number, d = 0) => x.toFixed(d);
console.log(
  `\n/metrics by check count and level: one integrity check per target model-<n>, ${REGIONS.length} region(s), every check with a result and a state; ${RENDERS} renders each, streamed as the route streams them.`,
);
console.log(
  `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'CPU'}, ${f(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}; ${new Date().toISOString().slice(0, 10)}.`,
);
console.log(`Command: node bench/dist/metrics-scale.js ${process.argv.slice(2).join(' ')}`.trimEnd());
console.log(`Bounds (fleet-scale issue): a scrape within ${MAX_MIB} MiB and ${MAX_RENDER_MS} ms.\n`);
console.log(
  '| checks | level | MiB | bytes per check | series per check | render ms, median | render ms, max | CPU ms per render | within bounds |',
);
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const r of rows) {
  const mib = r.bytes / 2 ** 20;
  const worst = Math.max(...r.renderMs);
  const ok = mib <= MAX_MIB && worst <= MAX_RENDER_MS;
  console.log(
    `| ${r.checks} | ${r.level} | ${f(mib, 2)} | ${f(r.bytes / r.checks / REGIONS.length)} | ${f(r.seriesPerCheck, 1)} | ${f(median(r.renderMs))} | ${f(worst)} | ${f(r.cpuMs)} | ${ok ? 'yes' : 'no'} |`,
  );
}
