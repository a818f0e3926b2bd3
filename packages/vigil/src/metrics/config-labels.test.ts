/**
 * Config labels on the hub's metrics (`metrics.labels`): an explicit allowlist of target labels copied
 * onto every per-check series, validated as Prometheus label names that none of Vigil's own series use.
 */
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.js';
import { evalState, probeResult } from '../store/fixtures/data.js';
import { createMetrics } from './index.js';

const yaml = (metrics: string) => `
targets:
  - name: credit-scorer
    url: http://127.0.0.1:8081
    protocol: http
    labels: { team: risk, tier: gold, note: "x" }
    checks: { liveness: {} }
  - name: fraud
    url: http://127.0.0.1:8082
    protocol: http
    labels: { tier: silver }
    checks: { liveness: {} }
${metrics}
`;

function loaded(metrics: string) {
  const result = parseConfig(yaml(metrics), { baseDir: '/tmp' });
  if (!result.ok) throw new Error(result.diagnostics.join('\n'));
  return result;
}

describe('metrics.labels', () => {
  it('copies allowlisted target labels (renamed when asked) onto every per-check series, and no other label', async () => {
    const config = loaded('metrics: { labels: [team, { from: tier, to: service_tier }] }');
    const labels = config.config.metrics?.labels ?? [];
    expect(labels).toEqual([
      { from: 'team', to: 'team' },
      { from: 'tier', to: 'service_tier' },
    ]);
    const metrics = createMetrics({ defaultMetrics: false, labels });
    for (const plan of config.plan) {
      metrics.observeResult(plan, probeResult({ checkId: plan.id, region: 'local' }));
      metrics.observeState(
        plan,
        evalState({ checkId: plan.id, region: 'local', state: 'healthy', flapping: false }),
      );
    }
    const text = await metrics.render();
    expect(text).toContain(
      'probe_success{target="credit-scorer",check="liveness",region="local",team="risk",service_tier="gold"} 1',
    );
    // A target without `team` gets none: absent, as Prometheus reads an empty label.
    expect(text).toContain(
      'probe_success{target="fraud",check="liveness",region="local",service_tier="silver"} 1',
    );
    expect(text).toContain(
      'vigil_check_state{target="credit-scorer",check="liveness",region="local",team="risk",service_tier="gold",state="healthy"} 1',
    );
    expect(text).not.toContain('note=');
    expect(text).not.toMatch(/[{,]tier=/);
  });

  it('changes a check’s series when a reload changes an allowlisted label, and only then', async () => {
    const metrics = createMetrics({ defaultMetrics: false, labels: [{ from: 'team', to: 'team' }] });
    const [plan] = loaded('').plan;
    if (plan === undefined) throw new Error('no plan');
    metrics.observeResult(plan, probeResult({ checkId: plan.id, region: 'local' }));
    const moved = { ...plan, target: { ...plan.target, labels: { ...plan.target.labels, team: 'fraud' } } };
    metrics.observeResult(moved, probeResult({ checkId: plan.id, region: 'local' }));
    const text = await metrics.render();
    expect(text).toContain(
      'vigil_probes_total{target="credit-scorer",check="liveness",region="local",team="fraud"} 1',
    );
    expect(text).not.toContain('team="risk"');
  });

  it('without the allowlist, leaves the series as they were', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const [plan] = loaded('').plan;
    if (plan === undefined) throw new Error('no plan');
    metrics.observeResult(plan, probeResult({ checkId: plan.id, region: 'local' }));
    expect(await metrics.render()).toContain(
      'probe_success{target="credit-scorer",check="liveness",region="local"} 1',
    );
  });

  it('turns on a check’s latency histogram from its config (latencyHistogram: true), and only that check’s', async () => {
    const result = parseConfig(
      yaml('').replace(
        'checks: { liveness: {} }',
        'checks: { liveness: { latencyHistogram: true, expect: { latency: { degraded: 150ms } } } }',
      ),
      { baseDir: '/tmp' },
    );
    if (!result.ok) throw new Error(result.diagnostics.join('\n'));
    expect(result.plan.map((p) => [p.id, p.latencyHistogram === true])).toEqual([
      ['credit-scorer/liveness', true],
      ['fraud/liveness', false],
    ]);
    const metrics = createMetrics({ defaultMetrics: false });
    for (const plan of result.plan)
      metrics.observeResult(plan, probeResult({ checkId: plan.id, region: 'local' }));
    const text = await metrics.render();
    expect(text).toMatch(
      /^vigil_probe_latency_seconds_bucket\{target="credit-scorer",check="liveness",region="local",le="0.15"\} 1$/m,
    );
    expect(text).not.toMatch(/^vigil_probe_latency_seconds_count\{target="fraud"/m);
  });

  it('reports every bad entry with its path', () => {
    const result = parseConfig(
      yaml(
        'metrics:\n  labels: [team, "9lives", __meta, target, { from: tier, to: job }, { from: tier, to: team }]',
      ),
      { baseDir: '/tmp' },
    );
    expect(result.ok).toBe(false);
    expect(result.ok ? [] : result.diagnostics.map((d) => d.replace(/^line \d+, column \d+: /, ''))).toEqual([
      'metrics.labels[1]: expected a Prometheus label name (letters, digits and "_", not starting with a digit or "__"), got "9lives"',
      'metrics.labels[2]: expected a Prometheus label name (letters, digits and "_", not starting with a digit or "__"), got "__meta"',
      'metrics.labels[3]: "target" is a label Vigil\'s series or Prometheus already use (target, check, region, state, phase, code, to, level, model, action, result, job, instance, le, quantile); map it to another name: {from: target, to: target_label}',
      'metrics.labels[4].to: "job" is a label Vigil\'s series or Prometheus already use (target, check, region, state, phase, code, to, level, model, action, result, job, instance, le, quantile); map it to another name: {from: tier, to: tier_label}',
      'metrics.labels[5]: series label "team" is listed twice: labels[0] has it too',
    ]);
  });
});
