/**
 * Benchmark: what a running hub's plan update (a config reload's `hub.update`) costs the event loop,
 * in turns (the default: at most `UPDATE_TURN_MS` of work per turn) against one turn (`updateTurnMs: Infinity`,
 * what `update` did before), side by side in one process. Each round gives a hub of N checks (half
 * liveness, half integrity, one target per two checks, an hour's interval so nothing probes) a new plan:
 * the same N checks as fresh objects, a tenth of them changed (a new timeout) and a tenth replaced by
 * new ids. Reported per mode: the update's wall time, the longest event-loop block during it (the
 * largest gap between 1 ms timer ticks, which is what a probe due then waits), the process CPU time
 * within the costliest gap (on a loaded machine a gap also holds time the process was not running;
 * CPU time does not — it includes GC threads), and ticks seen.
 *
 *   npm run build && node bench/dist/hub-update.js [--checks 20000,44000] [--rounds 3]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { CheckPlan } from 'vigil-ml';
import { createHub, createMetrics, openStore } from 'vigil-ml';
import { scaleCheckPlan } from './scale-plan.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '20000,44000' },
    rounds: { type: 'string', default: '3' },
  },
});
const counts = values.checks.split(',').map(Number);
const rounds = Number(values.rounds);

function planOf(n: number, round: number): CheckPlan[] {
  const plans: CheckPlan[] = [];
  for (let i = 0; i < n / 2; i++) {
    // A tenth of the targets renamed each round (their checks removed and added), a tenth changed.
    const renamed = i % 10 === 0 ? `-r${round}` : '';
    for (const kind of ['liveness', 'integrity'] as const) {
      const plan = scaleCheckPlan({ name: `t${i}${renamed}`, port: 9, kind, intervalMs: 3_600_000 });
      plans.push(i % 10 === 1 ? { ...plan, timeoutMs: 2000 + round } : plan);
    }
  }
  return plans;
}

/** The process's CPU time, user and system, in ms. */
function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** Runs `work` while a 1 ms timer measures the gaps between its ticks. */
async function measure(
  work: () => Promise<void>,
): Promise<{ wallMs: number; maxGapMs: number; maxCpuGapMs: number; ticks: number }> {
  let last = performance.now();
  let lastCpu = cpuMs();
  let maxGapMs = 0;
  let maxCpuGapMs = 0;
  let ticks = 0;
  const timer = setInterval(() => {
    const t = performance.now();
    const c = cpuMs();
    maxGapMs = Math.max(maxGapMs, t - last);
    maxCpuGapMs = Math.max(maxCpuGapMs, c - lastCpu);
    last = t;
    lastCpu = c;
    ticks++;
  }, 1);
  const started = performance.now();
  await work();
  const wallMs = performance.now() - started;
  maxGapMs = Math.max(maxGapMs, performance.now() - last);
  maxCpuGapMs = Math.max(maxCpuGapMs, cpuMs() - lastCpu);
  clearInterval(timer);
  return { wallMs, maxGapMs, maxCpuGapMs, ticks };
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-hub-update-'));
const rows: string[][] = [];
for (const n of counts) {
  for (const [mode, slice] of [
    ['in turns', undefined],
    ['one turn', Number.POSITIVE_INFINITY],
  ] as const) {
    const store = await openStore(join(dir, `${n}-${mode.replace(' ', '-')}.db`));
    const hub = createHub({
      plan: planOf(n, 0),
      store,
      metrics: createMetrics(),
      ...(slice === undefined ? {} : { updateTurnMs: slice }),
    });
    await hub.start();
    const walls: number[] = [];
    const gaps: number[] = [];
    const cpuGaps: number[] = [];
    let ticks = 0;
    for (let r = 1; r <= rounds; r++) {
      const next = planOf(n, r);
      const m = await measure(() => hub.update(next));
      walls.push(m.wallMs);
      gaps.push(m.maxGapMs);
      cpuGaps.push(m.maxCpuGapMs);
      ticks += m.ticks;
    }
    await hub.stop();
    await store.close();
    rows.push([
      String(n),
      mode,
      median(walls).toFixed(0),
      median(gaps).toFixed(1),
      Math.max(...gaps).toFixed(1),
      median(cpuGaps).toFixed(1),
      String(Math.round(ticks / rounds)),
    ]);
  }
}
rmSync(dir, { recursive: true, force: true });

console.log(
  `node ${process.version}, ${cpus()[0]?.model} × ${cpus().length}, Linux ${release()}; ${rounds} updates each`,
);
console.log(
  '| checks | update | wall (median, ms) | longest loop block (median, ms) | max | CPU in it (median, ms) | 1 ms ticks during it |',
);
console.log('| ---: | --- | ---: | ---: | ---: | ---: | ---: |');
for (const r of rows) console.log(`| ${r.join(' | ')} |`);
process.exit(0);
