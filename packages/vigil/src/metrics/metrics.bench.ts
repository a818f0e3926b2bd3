/**
 * Metrics cost benchmark (not run by the tests): the per-probe cost of observeResult + observeState
 * (the hot path, ~1,000 times per second at scale) and the cost of one scrape (render) with N checks
 * in R regions.
 *
 *   npx tsx packages/vigil/src/metrics/metrics.bench.ts [checks=1000] [regions=3] [probes=1000000] [level=default|detail]
 */
import { evalState, failedResult, probeResult } from '../store/fixtures/data.js';
import type { CheckPlan, EvalState, ProbeResult } from '../types.js';
import { createMetrics, type MetricsLevel } from './metrics.js';

const [checks = 1_000, regionCount = 3, probes = 1_000_000] = process.argv.slice(2, 5).map(Number);
const level = (process.argv[5] ?? 'default') as MetricsLevel;
const regions = Array.from({ length: regionCount }, (_, i) => `region-${i}`);

const plans: CheckPlan[] = Array.from({ length: checks }, (_, i) => ({
  id: `model-${i}/integrity`,
  target: {
    name: `model-${i}`,
    url: 'http://127.0.0.1:1',
    protocol: 'oip-v2',
    model: `model-${i}`,
    labels: {},
    headers: {},
    maxBodyBytes: 1 << 20,
    maxRedirects: 5,
  },
  kind: 'integrity',
  intervalMs: 10_000,
  timeoutMs: 2_000,
  failureThreshold: 3,
  successThreshold: 1,
  fastIntervalMs: null,
  initialDelayMs: 0,
  expect: {},
}));
const results: ProbeResult[] = regions.flatMap((region) => [
  probeResult({ region, httpStatus: 200 }),
  failedResult({ region }),
]);
const states: EvalState[] = regions.map((region) => evalState({ region, state: 'healthy' }));

const metrics = createMetrics({ level });
const start = performance.now();
for (let i = 0; i < probes; i++) {
  const plan = plans[i % checks] as CheckPlan;
  const region = i % regionCount;
  metrics.observeResult(plan, results[region * 2 + (i % 7 === 0 ? 1 : 0)] as ProbeResult);
  metrics.observeState(plan, states[region] as EvalState);
}
const observeUs = ((performance.now() - start) * 1000) / probes;

const renders: number[] = [];
let bytes = 0;
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  bytes = (await metrics.render()).length;
  renders.push(performance.now() - t);
}
renders.sort((a, b) => a - b);
console.log(
  `${checks} checks × ${regionCount} regions, ${level} level, ${probes} probes: observeResult+observeState ${observeUs.toFixed(3)} µs/probe; ` +
    `render median ${(renders[2] ?? 0).toFixed(1)} ms for ${(bytes / 1024).toFixed(0)} KiB`,
);
