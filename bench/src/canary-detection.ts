/**
 * Canary detection: recall for graded drift and the false-alarm rate without drift, with 95%
 * confidence intervals, and a canary run's share of the model's capacity.
 *
 * One example model server (credit-scorer, in this process) answers with its own noise throughout:
 * the `output-noise` fault (`--noise`, relative σ of every FP32 output, seeded), as a GPU's varying
 * summation order would. A baseline is recorded from it (`--repeats` answers per case after one
 * warm-up pass, as `vigil baseline record` does), then canary runs go through Vigil's prober
 * (`createCanaryRunner`: the rotation window of 16 of the 40 golden cases, the integrity call of the
 * oip-v2 adapter, `compareCanary` with default options) against:
 *
 *  - no drift: `--clean` runs (the false-alarm rate: a run that is not `pass`);
 *  - weight noise at σ ∈ {0.01, 0.02, 0.05, 0.1} of each weight matrix's RMS (`drift` fault), a new
 *    seed per run, so each run meets another corrupted model;
 *  - an input-scaling bug (×1.5, ×10) and a swapped label map;
 *
 * `--runs` runs per fault point (recall: a run that is not `pass`). Intervals are Wilson score
 * intervals (Wilson 1927; Agresti and Coull 1998 recommend them over the normal approximation for
 * proportions near 0 or 1): p̂ ± … with z = 1.96.
 *
 * Probe cost: a canary run sends `maxCasesPerRun` (16) requests once per interval (default 10 s);
 * its share of the model's capacity is 16 / (10 s × the server's throughput), the throughput from
 * BENCHMARKS.md ("Example model server", credit-scorer, one client: 8158 requests/s), and, measured
 * here, the model time a run takes (the sum of its requests' durations) over the interval.
 *
 *   npm run build && node bench/dist/canary-detection.js [--runs 60] [--clean 500] [--noise 0.001] [--seed 1]
 */
import { parseArgs } from 'node:util';
import { createModelServer } from '@vigil/example-model-server';
import {
  buildBaseline,
  type CheckPlan,
  createCanaryRunner,
  createHttpClient,
  openStore,
  parseConfig,
  type RecordedAnswer,
  sendCases,
  storeBaselines,
} from 'vigil-ml';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '60' },
    clean: { type: 'string', default: '500' },
    noise: { type: 'string', default: '0.001' },
    seed: { type: 'string', default: '1' },
    repeats: { type: 'string', default: '5' },
  },
});
const RUNS = Number(values.runs);
const CLEAN = Number(values.clean);
const NOISE = Number(values.noise);
const SEED = Number(values.seed);
const REPEATS = Number(values.repeats);
const TOKEN = 'bench';
/** credit-scorer, one client: BENCHMARKS.md "Example model server: inference throughput and latency". */
const CAPACITY_RPS = 8158;
const INTERVAL_S = 10;

/** The Wilson score interval of k successes in n trials at 95%. */
function wilson(k: number, n: number): [number, number] {
  const z = 1.96;
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const centre = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;

const server = await createModelServer({
  models: ['credit-scorer'],
  faults: { enabled: true, token: TOKEN },
  warmupInferences: 1,
});
const url = await server.listen();
for (let i = 0; i < 400 && (await fetch(`${url}/v2/health/ready`)).status !== 200; i++) {
  await new Promise((r) => setTimeout(r, 25));
}

async function fault(mode: string, params: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/admin/faults/${mode}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...params, model: 'credit-scorer' }),
  });
  if (res.status !== 200) throw new Error(`${mode}: ${res.status} ${await res.text()}`);
}
async function noiseOnly(): Promise<void> {
  server.faults.clear();
  await fault('output-noise', { rel: NOISE, seed: SEED });
}

const cases = Array.from({ length: 40 }, (_, i) => ({
  id: `applicant-${String(i).padStart(2, '0')}`,
  request: {
    inputs: [
      {
        name: 'features',
        shape: [1, 8],
        datatype: 'FP32',
        data: Array.from({ length: 8 }, (_, j) =>
          Number((((i + 1) * (j + 3) * 0.137 + j * 0.21) % 1).toFixed(2)),
        ),
      },
    ],
  },
}));
const loaded = parseConfig(
  `targets:
  - name: credit
    url: ${url}
    protocol: oip-v2
    model: credit-scorer
    checks:
      canary:
        cases: ${JSON.stringify(cases)}
`,
  { baseDir: process.cwd() },
);
if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
const plan = loaded.plan.find((p) => p.kind === 'canary') as CheckPlan;
const client = createHttpClient({ keepAlive: true });

// The baseline, from the server with its own noise.
await noiseOnly();
const answers = new Map<string, RecordedAnswer[]>(cases.map((c) => [c.id, []]));
for (let pass = 0; pass < REPEATS + 1; pass++) {
  for (const a of await sendCases(plan, { client }, cases)) {
    if (!a.ok) throw new Error(a.reason);
    answers
      .get(a.observation.caseId)
      ?.push({ outputs: a.observation.outputs, durationMs: a.observation.durationMs });
  }
}
const baseline = buildBaseline({
  cases: cases.map((c) => ({ id: c.id, request: c.request, answers: answers.get(c.id) ?? [] })),
  model: { name: 'credit-scorer', version: '1' },
  recordedAt: new Date(),
  warmupRepeats: 1,
});
const store = await openStore(':memory:');
await store.putBaseline({
  checkId: plan.id,
  modelVersion: '1',
  status: 'reviewed',
  source: 'bench',
  storedAt: Date.now(),
  baseline,
});
const runner = createCanaryRunner({ baselines: storeBaselines(store) });

interface Point {
  name: string;
  expect: 'alarm' | 'quiet';
  set: (run: number) => Promise<void>;
  runs: number;
}
const points: Point[] = [
  { name: 'no drift (server noise only)', expect: 'quiet', set: async () => {}, runs: CLEAN },
  ...[0.01, 0.02, 0.05, 0.1].map(
    (sigma): Point => ({
      name: `weight noise σ = ${sigma}`,
      expect: 'alarm',
      set: (run) => fault('drift', { sigma, seed: SEED * 100_000 + run + 1 }),
      runs: RUNS,
    }),
  ),
  {
    name: 'input scaling ×1.5',
    expect: 'alarm',
    set: () => fault('scaled-features', { factor: 1.5 }),
    runs: RUNS,
  },
  {
    name: 'input scaling ×10',
    expect: 'alarm',
    set: () => fault('scaled-features', { factor: 10 }),
    runs: RUNS,
  },
  { name: 'swapped label map', expect: 'alarm', set: () => fault('swapped-labels', {}), runs: RUNS },
];

const rows: string[] = [];
const modelMs: number[] = [];
for (const point of points) {
  let alarms = 0;
  const outcomes = { pass: 0, degraded: 0, fail: 0 };
  for (let run = 0; run < point.runs; run++) {
    await noiseOnly();
    await point.set(run);
    const result = await runner.run(plan, { client });
    outcomes[result.outcome]++;
    if (result.outcome !== 'pass') alarms++;
    if (point.expect === 'quiet') modelMs.push(result.durationMs);
  }
  const [lo, hi] = wilson(alarms, point.runs);
  const label = point.expect === 'alarm' ? 'recall' : 'false alarms';
  rows.push(
    `| ${point.name} | ${point.runs} | ${label} ${pct(alarms / point.runs)} | ${pct(lo)}–${pct(hi)} | ${outcomes.pass} / ${outcomes.degraded} / ${outcomes.fail} |`,
  );
  console.error(rows[rows.length - 1]);
}

const meanRunMs = modelMs.reduce((a, b) => a + b, 0) / modelMs.length;
console.log(`
noise: relative σ ${NOISE} on every FP32 output; baseline: ${REPEATS} repeats after 1 warm-up pass; 16 of 40 cases per run

| condition | runs | detected | 95% CI (Wilson) | pass / degraded / fail |
| --- | ---: | ---: | ---: | ---: |
${rows.join('\n')}

probe cost at defaults (16 cases per run, interval ${INTERVAL_S} s):
  requests: 16 / (${INTERVAL_S} s × ${CAPACITY_RPS} req/s) = ${(1600 / (INTERVAL_S * CAPACITY_RPS)).toFixed(4)}% of the server's capacity
  measured: a clean run took ${meanRunMs.toFixed(2)} ms wall-clock (16 sequential requests) = ${pct(meanRunMs / (INTERVAL_S * 1000))} of one interval`);

await client.close();
await store.close();
await server.close();
