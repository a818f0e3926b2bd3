/**
 * Scheduler overhead benchmark (not run by the tests): N checks with a no-op probe, printing lag
 * percentiles, probe rate and CPU time. Measures the scheduler alone (heap, timer, dispatch,
 * callbacks), not probing.
 *
 *   npx tsx packages/vigil/src/scheduler/scheduler.bench.ts [checks=10000] [intervalMs=10000] [seconds=30] [targets=checks/4]
 *
 * `VIGIL_BENCH_BUDGET=1` gives every target the default probe budget (config/budget.ts), so that the
 * budget's accounting at each probe is measured too (the no-op probe keeps every check within it).
 *
 * The goal from DESIGN.md: 10,000 checks at 10 s (1,000 probes/s) on one core with low lag.
 */
import { DEFAULT_PROBE_BUDGET } from '../config/budget.js';
import type { CheckPlan, ProbeResult } from '../types.js';
import { createScheduler } from './scheduler.js';

const [checks = 10_000, intervalMs = 10_000, seconds = 30] = process.argv.slice(2, 5).map(Number);
const targetCount = Number(process.argv[5] ?? Math.max(1, Math.ceil(checks / 4)));
const kinds = ['liveness', 'readiness', 'integrity', 'canary'] as const;

const plans: CheckPlan[] = Array.from({ length: checks }, (_, i) => {
  const name = `model-${i % targetCount}`;
  const kind = kinds[Math.floor(i / targetCount) % kinds.length] ?? 'liveness';
  return {
    id: `${name}/${kind}#${i}`,
    target: {
      name,
      url: `http://127.0.0.1:1/${name}`,
      protocol: 'http',
      labels: {},
      headers: {},
      maxBodyBytes: 1 << 20,
      maxRedirects: 5,
      ...(process.env.VIGIL_BENCH_BUDGET === '1' && { budget: DEFAULT_PROBE_BUDGET }),
    },
    kind,
    intervalMs,
    timeoutMs: 2_000,
    failureThreshold: 3,
    successThreshold: 1,
    fastIntervalMs: null,
    initialDelayMs: 0,
    expect: {},
  };
});

// One prebuilt result per plan: the benchmark measures the scheduler, not result construction.
const results = new Map<CheckPlan, Promise<ProbeResult>>(
  plans.map((plan) => [
    plan,
    Promise.resolve({
      checkId: plan.id,
      target: plan.target.name,
      check: plan.kind,
      region: 'bench',
      startedAt: 0,
      durationMs: 0,
      phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 },
      outcome: 'pass',
      failures: [],
    }),
  ]),
);

let delivered = 0;
const scheduler = createScheduler({
  plans,
  probe: (plan) => results.get(plan) as Promise<ProbeResult>,
  onResult: () => {
    delivered++;
    return false;
  },
});

const fmt = (ms: number) => `${ms.toFixed(2)} ms`;
function line(label: string, elapsedS: number, cpu: NodeJS.CpuUsage): string {
  const s = scheduler.stats();
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return [
    label.padEnd(6),
    `${elapsedS.toFixed(0).padStart(3)} s`,
    `probes ${s.started}`,
    `(${(s.started / elapsedS).toFixed(0)}/s)`,
    `lag p50 ${fmt(s.lag.p50Ms)} p90 ${fmt(s.lag.p90Ms)} p99 ${fmt(s.lag.p99Ms)} max ${fmt(s.lag.maxMs)}`,
    `cpu ${((cpuS / elapsedS) * 100).toFixed(1)} %`,
  ].join('  ');
}

console.log(
  `scheduler bench: ${checks} checks on ${targetCount} targets, interval ${intervalMs} ms, ${seconds} s, node ${process.version}`,
);
const t0 = performance.now();
const cpu0 = process.cpuUsage();
scheduler.start();
const progress = setInterval(() => {
  console.log(line('…', (performance.now() - t0) / 1000, process.cpuUsage(cpu0)));
}, 5_000);

setTimeout(async () => {
  clearInterval(progress);
  const elapsedS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await scheduler.stop();
  console.log(line('final', elapsedS, cpu));
  console.log(`delivered ${delivered} results; stats ${JSON.stringify(scheduler.stats())}`);
}, seconds * 1000);
