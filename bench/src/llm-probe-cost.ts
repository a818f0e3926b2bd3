/**
 * Benchmark: what a streaming LLM probe and a metrics probe cost the prober, next to an integrity probe,
 * all against the example model server in its own process (its CPU is not counted):
 *
 *  - integrity: runProbe() of an `oip-v2` integrity check (credit-scorer inference, JSON answer);
 *  - streaming: runProbe() of the `openai` default probe (a streamed one-token completion, SSE) and of a
 *    16-token stream (TTFT, gaps, tokens/s measured);
 *  - metrics: probeMetrics() with the vLLM preset over the server's /metrics (prom-client exposition).
 *
 * Probes run back to back with `--concurrency` in flight; CPU is this process's user+system time.
 *
 *   npm run build && node bench/dist/llm-probe-cost.js [--probes 500] [--concurrency 4]
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import type { CheckPlan, TargetConfig } from 'vigil-ml';
import { createHttpClient, METRICS_PRESETS, MetricsJudge, probeMetrics, runProbe } from 'vigil-ml';

const { values } = parseArgs({
  options: { probes: { type: 'string', default: '500' }, concurrency: { type: 'string', default: '4' } },
});
const PROBES = Number(values.probes);
const CONCURRENCY = Number(values.concurrency);
const PORT = 18_000 + Math.floor(Math.random() * 1000);
const URL_BASE = `http://127.0.0.1:${PORT}`;

const server = spawn(
  process.execPath,
  [
    new URL('../../examples/model-server/bin/model-server.js', import.meta.url).pathname,
    'serve',
    '--port',
    String(PORT),
    '--models',
    'credit-scorer',
  ],
  { stdio: 'ignore' },
);
for (let i = 0; ; i++) {
  try {
    if ((await fetch(`${URL_BASE}/v2/health/ready`)).ok) break;
  } catch {}
  if (i > 200) throw new Error('the model server did not start');
  await new Promise((r) => setTimeout(r, 100));
}

const target = (protocol: TargetConfig['protocol'], model: string): TargetConfig => ({
  name: model,
  url: URL_BASE,
  protocol,
  model,
  labels: {},
  headers: {},
  maxBodyBytes: 1 << 20,
  maxRedirects: 5,
});
const plan = (t: TargetConfig, request?: unknown): CheckPlan => ({
  id: `${t.name}/integrity`,
  target: t,
  kind: 'integrity',
  intervalMs: 10_000,
  timeoutMs: 5_000,
  failureThreshold: 3,
  successThreshold: 1,
  fastIntervalMs: 1_000,
  initialDelayMs: 0,
  expect: {},
  ...(request !== undefined && { request }),
});

const client = createHttpClient({ keepAlive: true });
const oip = plan(target('oip-v2', 'credit-scorer'), {
  inputs: [
    { name: 'features', shape: [1, 8], datatype: 'FP32', data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0, 0.7] },
  ],
});
const llm = target('openai', 'char-lm');
const oneToken = plan(llm);
const sixteen = plan(llm, { prompt: 'The probe', max_tokens: 16, stream: true });
const judge = new MetricsJudge(METRICS_PRESETS.vllm.rules);
const metricsSpec = {
  checkId: 'char-lm/metrics',
  check: 'readiness' as const,
  target: llm,
  timeoutMs: 5_000,
};

const kinds: Array<[string, () => Promise<{ outcome: string }>]> = [
  ['integrity (oip-v2, JSON)', () => runProbe(oip, { client })],
  ['streaming, default one-token (openai, SSE)', () => runProbe(oneToken, { client })],
  ['streaming, 16 tokens (openai, SSE)', () => runProbe(sixteen, { client })],
  ['metrics (vLLM preset, /metrics)', () => probeMetrics(client, metricsSpec, judge)],
];

console.log(`| probe | probes/s | CPU ms per probe | median ms | p99 ms | not pass |`);
console.log(`| --- | ---: | ---: | ---: | ---: | ---: |`);
for (const [name, probe] of kinds) {
  for (let i = 0; i < 20; i++) await probe(); // warm-up
  const durations: number[] = [];
  let bad = 0;
  let next = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < PROBES) {
        const s = performance.now();
        const r = await probe();
        durations.push(performance.now() - s);
        if (r.outcome !== 'pass') bad++;
      }
    }),
  );
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  durations.sort((a, b) => a - b);
  const q = (p: number) =>
    (durations[Math.min(durations.length - 1, Math.floor(p * durations.length))] as number).toFixed(1);
  console.log(
    `| ${name} | ${((PROBES * 1000) / wall).toFixed(0)} | ${((cpu.user + cpu.system) / 1000 / PROBES).toFixed(2)} | ${q(0.5)} | ${q(0.99)} | ${bad} |`,
  );
}
await client.close();
server.kill('SIGTERM');
