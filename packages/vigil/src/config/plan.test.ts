import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import type { CheckPlan } from '../types.js';
import { parseConfig } from './load.js';
import { buildPlan, buildTrafficPlan } from './plan.js';
import { configSchema } from './schema.js';

function plan(yaml: string): CheckPlan[] {
  const result = parseConfig(yaml, { baseDir: '/nonexistent', env: {} });
  if (!result.ok) throw new Error(result.diagnostics.join('\n'));
  return result.plan;
}

const byKind = (plans: CheckPlan[]) => Object.fromEntries(plans.map((p) => [p.kind, p]));

describe('buildPlan', () => {
  it('resolves timing check > target > defaults, in milliseconds', () => {
    const plans = byKind(
      plan(`
defaults: { interval: 20s, timeout: 3s, failureThreshold: 4, successThreshold: 2, fastInterval: 2s, initialDelay: 5s }
targets:
  - name: a
    url: http://127.0.0.1:8081
    protocol: http
    interval: 30s
    failureThreshold: 5
    fastInterval: false
    checks:
      liveness: {}
      readiness: { interval: 1m, timeout: 1500ms, successThreshold: 3, fastInterval: 500ms, initialDelay: 0s }
`),
    );
    expect(plans.liveness).toMatchObject({
      intervalMs: 30_000,
      timeoutMs: 3_000,
      failureThreshold: 5,
      successThreshold: 1,
      fastIntervalMs: null,
      initialDelayMs: 5_000,
    });
    expect(plans.readiness).toMatchObject({
      intervalMs: 60_000,
      timeoutMs: 1_500,
      failureThreshold: 5,
      successThreshold: 3,
      fastIntervalMs: 500,
      initialDelayMs: 0,
    });
  });

  it('uses the schema defaults: 10s / 2s, thresholds 3 / 1 (Kubernetes), fast confirmation 1s', () => {
    const [liveness] = plan('targets: [{ name: a, url: "http://127.0.0.1:8081", protocol: http }]');
    expect(liveness).toMatchObject({
      intervalMs: 10_000,
      timeoutMs: 2_000,
      failureThreshold: 3,
      successThreshold: 1,
      fastIntervalMs: 1_000,
      initialDelayMs: 0,
    });
  });

  it('runs liveness and readiness when checks are omitted (liveness only for http)', () => {
    const plans = plan(`
targets:
  - { name: m, url: "http://127.0.0.1:8081", protocol: oip-v2, model: m }
  - { name: h, url: "http://127.0.0.1:8082", protocol: http }
`);
    expect(plans.map((p) => p.id)).toEqual(['m/liveness', 'm/readiness', 'h/liveness']);
  });

  it('fills the target: labels and headers default to {}, body cap 1 MiB, 5 redirects, URL without trailing slash', () => {
    const [liveness] = plan('targets: [{ name: a, url: "http://127.0.0.1:8081/v1/", protocol: http }]');
    expect(liveness?.target).toEqual({
      name: 'a',
      url: 'http://127.0.0.1:8081/v1',
      protocol: 'http',
      labels: {},
      headers: {},
      maxBodyBytes: 1_048_576,
      maxRedirects: 5,
      budget: { probesPerSecond: 5, modelTimeShare: 0.05 },
    });
  });

  it('rejects a bad budget, each problem with its path', () => {
    const result = parseConfig(
      `
targets:
  - name: a
    url: http://127.0.0.1:8081
    protocol: http
    budget: { modelTimeShare: 2, probesPerSecond: -1, burst: 3 }
  - { name: b, url: "http://127.0.0.1:8082", protocol: http, budget: { capacity: fast } }
`,
      { baseDir: process.cwd(), env: {} },
    );
    expect(result.ok ? [] : result.diagnostics).toEqual([
      'line 6, column 15: targets[0].budget.modelTimeShare: expected a fraction above 0 and at most 1, got 2',
      'line 6, column 34: targets[0].budget.probesPerSecond: expected a positive number, got -1',
      'line 6, column 55: targets[0].budget.burst: unknown key; expected one of: probesPerSecond, modelTimeShare, capacity',
      'line 7, column 72: targets[1].budget.capacity: expected a positive number, got "fast"',
    ]);
  });

  it('resolves the probe budget: defaults, given values, and capacity turning the rate into a share', () => {
    const plans = plan(`
targets:
  - { name: a, url: "http://127.0.0.1:8081", protocol: http }
  - { name: b, url: "http://127.0.0.1:8082", protocol: http, budget: { probesPerSecond: 0.5, modelTimeShare: 0.2 } }
  - { name: c, url: "http://127.0.0.1:8083", protocol: http, budget: { capacity: 40 } }
  - { name: d, url: "http://127.0.0.1:8084", protocol: http, budget: { capacity: 40, modelTimeShare: 0.1, probesPerSecond: 1 } }
`);
    expect(plans.map((p) => p.target.budget)).toEqual([
      { probesPerSecond: 5, modelTimeShare: 0.05 },
      { probesPerSecond: 0.5, modelTimeShare: 0.2 },
      { probesPerSecond: 2, modelTimeShare: 0.05, capacity: 40 },
      { probesPerSecond: 1, modelTimeShare: 0.1, capacity: 40 },
    ]);
  });

  it('converts latency to degradedMs / failedMs, keeping only what is given', () => {
    const plans = byKind(
      plan(`
targets:
  - name: a
    url: http://127.0.0.1:8081
    protocol: http
    checks:
      liveness: { expect: { latency: { failed: 1s } } }
      readiness: { expect: { latency: { degraded: 1m30s, failed: 2m }, status: [200, "3xx"] } }
`),
    );
    expect(plans.liveness?.expect).toEqual({ latency: { failedMs: 1_000 } });
    expect(plans.readiness?.expect).toEqual({
      latency: { degradedMs: 90_000, failedMs: 120_000 },
      status: [200, '3xx'],
    });
  });

  it('gives http checks GET / unless the request says otherwise, with the method upper-cased', () => {
    const plans = byKind(
      plan(`
targets:
  - name: a
    url: http://127.0.0.1:8081
    protocol: http
    checks:
      liveness: {}
      readiness: { request: { path: /ready } }
      integrity: { request: { method: put, body: "x" } }
`),
    );
    expect(plans.liveness?.request).toEqual({ method: 'GET', path: '/' });
    expect(plans.readiness?.request).toEqual({ method: 'GET', path: '/ready' });
    expect(plans.integrity?.request).toEqual({ method: 'PUT', path: '/', body: 'x' });
  });

  it('defaults the tfserving integrity method to predict', () => {
    const [integrity] = plan(`
targets:
  - { name: t, url: "http://127.0.0.1:8501", protocol: tfserving, model: t, checks: { integrity: { request: { instances: [1] } } } }
`);
    expect(integrity?.method).toBe('predict');
  });

  it('refuses a config whose schema files were not read by the loader', () => {
    const config = configSchema.parse({
      targets: [
        {
          name: 'a',
          url: 'http://127.0.0.1:8081',
          protocol: 'http',
          checks: { liveness: { expect: { schema: 'schemas/x.json' } } },
        },
      ],
    });
    expect(() => buildPlan(config)).toThrow(ConfigError);
    expect(() => buildPlan(config)).toThrow(
      'a/liveness: expect.schema is still the file name "schemas/x.json"',
    );
  });
});

describe('buildTrafficPlan', () => {
  it("builds one traffic check per router and upstream, with the router's thresholds; buildPlan has none", () => {
    const result = parseConfig(
      `
targets:
  - { name: a, url: http://127.0.0.1:8081, protocol: http }
  - { name: b, url: http://127.0.0.1:8082, protocol: http }
routers:
  - { name: r, listen: 8090, primary: a, secondaries: [b], policy: { deadline: 200ms }, traffic: { interval: 100ms, failureThreshold: 3 } }
  - { name: s, listen: 8091, primary: b }
`,
      { baseDir: '/nonexistent', env: {} },
    );
    if (!result.ok) throw new Error(result.diagnostics.join('\n'));
    expect(result.plan.map((p) => p.id)).toEqual(['a/liveness', 'b/liveness']);
    const traffic = buildTrafficPlan(result.config);
    expect(traffic.map((p) => p.id)).toEqual(['a/traffic:r', 'b/traffic:r', 'b/traffic:s']);
    expect(traffic[0]).toMatchObject({
      kind: 'traffic',
      target: { name: 'a', url: 'http://127.0.0.1:8081' },
      intervalMs: 100,
      timeoutMs: 200,
      failureThreshold: 3,
      successThreshold: 2,
      fastIntervalMs: null,
      expect: { latency: { degradedMs: 180, failedMs: 200 } },
    });
    expect(traffic[2]).toMatchObject({ intervalMs: 250, timeoutMs: 30_000, failureThreshold: 2 });
  });
});
