/**
 * The metrics check against real expositions: the example model server's `/metrics` (vLLM names, its
 * queue-depth fault), Vigil's own hub `/metrics` (prom-client and the hand-written per-check families),
 * and servers of our own for counters that reset, missing series and a 10 MB exposition.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createModelServer, type ModelServer, parseFault } from '@vigil/example-model-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../metrics/index.js';
import { makeClient, makePlan, makeTarget } from '../protocols/fakes/testing.js';
import { probeResult } from '../store/fixtures/data.js';
import type { HttpClient, TargetConfig } from '../types.js';
import { METRICS_PRESETS, MetricsJudge, probeMetrics } from './metrics-check.js';

let client: HttpClient;
let server: ModelServer;
let modelUrl: string;
let exposition = '';
let own: http.Server;
let ownUrl: string;
beforeAll(async () => {
  client = makeClient();
  server = await createModelServer({
    models: ['credit-scorer'],
    warmupInferences: 0,
    faults: { enabled: true, token: 't' },
  });
  modelUrl = await server.listen();
  own = http.createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(exposition);
  });
  await new Promise<void>((resolve) => own.listen(0, '127.0.0.1', resolve));
  ownUrl = `http://127.0.0.1:${(own.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await client.close();
  await server.close();
  await new Promise((resolve) => own.close(resolve));
});

const spec = (target: TargetConfig) => ({
  checkId: `${target.name}/metrics`,
  check: 'readiness' as const,
  target,
  timeoutMs: 5_000,
});

describe('the metrics check', () => {
  it('reads the example server with the vLLM preset: passes idle, fails on its queue-depth fault', async () => {
    const target = makeTarget('openai', modelUrl, { model: 'char-lm' });
    const judge = new MetricsJudge(METRICS_PRESETS.vllm.rules);
    const idle = await probeMetrics(client, spec(target), judge);
    expect(idle.outcome).toBe('pass');
    server.faults.set('queue-depth', parseFault('queue-depth', { waiting: 20 }));
    const busy = await probeMetrics(client, spec(target), judge);
    expect(busy.outcome).toBe('degraded');
    expect(busy.failures[0]?.message).toContain('vllm:num_requests_waiting 20 ≥ degraded threshold 10');
    // The readings explain the result: every rule's value beside its thresholds, in the rules' order.
    expect(busy.readings?.map((r) => r.name)).toEqual(METRICS_PRESETS.vllm.rules.map((r) => r.metric));
    expect(busy.readings?.find((r) => r.name === 'vllm:num_requests_waiting')).toMatchObject({
      kind: 'gauge',
      value: 20,
      degraded: 10,
    });
    server.faults.set('queue-depth', parseFault('queue-depth', { waiting: 500 }));
    const full = await probeMetrics(client, spec(target), judge);
    expect(full.outcome).toBe('fail');
    server.faults.clear();
  });

  it('a preset for another server family fails with METRIC_MISSING, naming the metric', async () => {
    const target = makeTarget('openai', modelUrl, { model: 'char-lm' });
    const result = await probeMetrics(client, spec(target), new MetricsJudge(METRICS_PRESETS.triton.rules));
    expect(result.outcome).toBe('fail');
    expect(result.error?.code).toBe('METRIC_MISSING');
    expect(result.error?.message).toContain('nv_inference_pending_request_count is not in the exposition');
  });

  it("reads the hub's own /metrics: a gauge by labels and a counter's rate", async () => {
    const metrics = createMetrics({ defaultMetrics: true });
    const plan = makePlan('integrity', makeTarget('http', 'http://127.0.0.1:1'));
    metrics.observeResult(plan, probeResult({ checkId: plan.id, region: 'local', durationMs: 250 }));
    exposition = await metrics.render();
    const judge = new MetricsJudge([
      { metric: 'probe_duration_seconds', labels: { check: 'integrity' }, kind: 'gauge', degraded: 0.2 },
      { metric: 'process_cpu_seconds_total', kind: 'rate' },
    ]);
    const target = makeTarget('http', ownUrl);
    const first = await probeMetrics(client, spec(target), judge);
    expect(first.outcome).toBe('degraded');
    expect(first.notes?.[0]).toContain('a rate needs two probes');
    exposition = await metrics.render();
    const second = await probeMetrics(client, spec(target), judge);
    expect(second.notes).toBeUndefined();
  });

  it('a counter that resets between probes counts its new value as the increase (rate())', () => {
    const judge = new MetricsJudge([{ metric: 'errors_total', kind: 'rate', failed: 5 }]);
    const text = (n: number) =>
      `# TYPE errors_total counter\nerrors_total{code="500"} ${n}\nerrors_total{code="503"} 0\n`;
    expect(judge.judge(text(100), 0).readings[0]?.value).toBeNull();
    expect(judge.judge(text(110), 10_000).readings[0]?.value).toBe(1);
    // Reset (a restart): 110 → 3 is an increase of 3, not −107.
    const reset = judge.judge(text(3), 20_000);
    expect(reset.readings[0]?.value).toBeCloseTo(0.3);
    expect(reset.failures).toEqual([]);
    const burst = judge.judge(text(103), 30_000);
    expect(burst.failures[0]?.message).toContain('rate(errors_total) 10 ≥ failed threshold 5');
  });

  it('a series missing its labels is missing; a histogram is selected by _count', () => {
    const text =
      '# TYPE request_predict_seconds histogram\nrequest_predict_seconds_bucket{le="+Inf"} 4\nrequest_predict_seconds_count 4\nrequest_predict_seconds_sum 1\n# TYPE q gauge\nq{model="a"} 1\n';
    const judge = new MetricsJudge([
      { metric: 'q', labels: { model: 'b' }, kind: 'gauge' },
      { metric: 'request_predict_seconds_count', kind: 'gauge', failed: 5 },
    ]);
    const verdict = judge.judge(text, 0);
    expect(verdict.missing).toContain('q{model="b"} is not in the exposition');
    expect(verdict.readings[1]?.value).toBe(4);
  });

  it('a 10 MB exposition is read within a 16 MiB cap; over the cap it is BODY_TOO_LARGE', async () => {
    const lines = ['# TYPE big_series gauge'];
    for (let i = 0; lines.length * 48 < 10 * 1024 * 1024; i++)
      lines.push(`big_series{shard="${i}",pad="xxxxxxxx"} ${i}`);
    lines.push('# TYPE waiting gauge', 'waiting 3');
    exposition = `${lines.join('\n')}\n`;
    expect(exposition.length).toBeGreaterThan(10_000_000);
    const judge = new MetricsJudge([{ metric: 'waiting', kind: 'gauge', failed: 10 }]);
    const roomy = await probeMetrics(
      client,
      spec(makeTarget('http', ownUrl, { maxBodyBytes: 16 * 1024 * 1024 })),
      judge,
    );
    expect(roomy.outcome).toBe('pass');
    const capped = await probeMetrics(client, spec(makeTarget('http', ownUrl)), judge);
    expect(capped.error?.code).toBe('BODY_TOO_LARGE');
  });
});
