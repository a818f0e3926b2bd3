/**
 * A metrics check's config (`checks.metrics`): a preset and/or rules into the plan (a rule of the same
 * metric and labels replaces the preset's), any protocol, and every problem `vigil validate` words with
 * where it is: metric and label names, bounds, presets, duplicates.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METRICS_PRESETS } from '../assertions/metrics.js';
import { loadConfig } from './load.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-metrics-config-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Writes `vigil.yaml` with one target of `protocol` whose metrics block is `metrics` (YAML, indented 8). */
async function load(metrics: string, protocol = 'openai') {
  const file = join(dir, 'vigil.yaml');
  writeFileSync(
    file,
    `targets:
  - name: llm
    url: http://127.0.0.1:8000
    protocol: ${protocol}
    model: m
    checks:
      metrics:
${metrics}
`,
  );
  return loadConfig(file);
}

describe('metrics check config', () => {
  it("plans the preset's rules, replaced by the check's rule of the same metric, then its own rules", async () => {
    const loaded = await load(
      `        preset: vllm
        interval: 5s
        rules:
          - { metric: "vllm:kv_cache_usage_perc", degraded: 0.8, failed: 0.95 }
          - { metric: "vllm:request_success_total", kind: rate, labels: { finished_reason: abort }, failed: 1 }`,
    );
    expect(loaded.ok, loaded.ok ? '' : loaded.diagnostics.join('\n')).toBe(true);
    if (!loaded.ok) return;
    const plan = loaded.plan.find((p) => p.kind === 'metrics');
    expect(plan?.id).toBe('llm/metrics');
    expect(plan?.intervalMs).toBe(5_000);
    expect(plan?.request).toBeUndefined();
    expect(plan?.metrics).toEqual({
      preset: 'vllm',
      path: '/metrics',
      rules: [
        METRICS_PRESETS.vllm.rules[0],
        { metric: 'vllm:kv_cache_usage_perc', kind: 'gauge', degraded: 0.8, failed: 0.95 },
        {
          metric: 'vllm:request_success_total',
          labels: { finished_reason: 'abort' },
          kind: 'rate',
          failed: 1,
        },
      ],
    });
  });

  it('reads another port and path, for any protocol (rules alone, no preset)', async () => {
    const loaded = await load(
      `        url: http://127.0.0.1:8002/
        path: /metrics/
        rules: [{ metric: nv_inference_pending_request_count, failed: 10 }]`,
      'oip-v2',
    );
    expect(loaded.ok, loaded.ok ? '' : loaded.diagnostics.join('\n')).toBe(true);
    if (!loaded.ok) return;
    expect(loaded.plan.find((p) => p.kind === 'metrics')?.metrics).toEqual({
      path: '/metrics/',
      baseUrl: 'http://127.0.0.1:8002',
      rules: [{ metric: 'nv_inference_pending_request_count', kind: 'gauge', failed: 10 }],
    });
  });

  it('words every bad metric name, label, bound and preset with its place', async () => {
    const loaded = await load(
      `        preset: vlm
        expect: { latency: { failed: 1s } }
        rules:
          - { metric: "9lives", failed: 1 }
          - { metric: "vllm:num_requests_waitin", failed: 100 }
          - { metric: "queue", labels: { "bad-label": x }, degraded: 5, failed: 5 }
          - { metric: "errors_total", failed: 3 }
          - { metric: "failures_total", kind: rate, failed: 0 }
          - { metric: "depth", kind: average }
          - { metric: "ok_gauge", failed: .inf }
          - { metric: "errors_total", kind: rate, failed: 2 }`,
    );
    expect(loaded.ok).toBe(false);
    if (loaded.ok) return;
    const problems = loaded.diagnostics.map((line) => line.replace(/^.*?vigil\.yaml:\d+:\d+: /, ''));
    expect(problems).toEqual([
      'targets[0].checks.metrics.preset: expected one of vllm, tgi, triton, torchserve, kserve, got "vlm"; did you mean "vllm"?',
      'targets[0].checks.metrics.expect: unknown key',
      'targets[0].checks.metrics.rules[0].metric: expected a Prometheus metric name (letters, digits, "_" and ":", not starting with a digit), got "9lives"',
      'targets[0].checks.metrics.rules[1].metric: unknown metric "vllm:num_requests_waitin"; did you mean "vllm:num_requests_waiting"?',
      'targets[0].checks.metrics.rules[2].labels["bad-label"]: expected a Prometheus label name (letters, digits and "_", not starting with a digit), got "bad-label"',
      'targets[0].checks.metrics.rules[3].kind: errors_total is a counter (a _total only grows): bound its rate with kind: rate, not its value',
      'targets[0].checks.metrics.rules[4].failed: a rate is never negative: a bound of 0 or less always fires (use a number above 0), got 0',
      'targets[0].checks.metrics.rules[5].kind: expected gauge or rate, got "average"',
      'targets[0].checks.metrics.rules[6].failed: expected a finite number, got Infinity',
      'targets[0].checks.metrics.rules[7].metric: duplicate rule: rules[3] selects the same metric and labels',
    ]);
  });

  it('a rule with degraded at or over failed, and a check with neither preset nor rules', async () => {
    const bounds = await load('        rules: [{ metric: q, degraded: 5, failed: 5 }]');
    expect(bounds.ok ? [] : bounds.diagnostics.map((l) => l.replace(/^.*?: /, ''))).toEqual([
      'targets[0].checks.metrics.rules[0].degraded: must be below failed (5): bounds are upper bounds, got 5',
    ]);
    const empty = await load('        interval: 5s');
    expect(empty.ok ? [] : empty.diagnostics.map((l) => l.replace(/^.*?: /, ''))).toEqual([
      'targets[0].checks.metrics: needs preset (vllm, tgi, triton, torchserve, kserve) or rules, or both',
    ]);
  });
});
