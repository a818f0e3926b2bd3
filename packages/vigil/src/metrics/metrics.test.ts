import { spawn, spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { evalState, failedResult, probeResult, T0 } from '../store/fixtures/data.js';
import type { CheckPlan, CheckState, Transition } from '../types.js';
import { createMetrics } from './index.js';

/** An integrity plan of `credit-scorer`; `model: null` for a target without a model. */
function plan(overrides: Partial<CheckPlan> = {}, model: string | null = 'credit-scorer'): CheckPlan {
  return {
    id: 'credit-scorer/integrity',
    target: {
      name: 'credit-scorer',
      url: 'http://127.0.0.1:8081',
      protocol: 'oip-v2',
      ...(model === null ? {} : { model }),
      labels: { team: 'risk' },
      headers: {},
      maxBodyBytes: 1 << 20,
      maxRedirects: 5,
    },
    kind: 'integrity',
    intervalMs: 30_000,
    timeoutMs: 2_000,
    failureThreshold: 3,
    successThreshold: 1,
    fastIntervalMs: 1_000,
    initialDelayMs: 0,
    expect: {},
    ...overrides,
  };
}

function transition(overrides: Partial<Transition> = {}): Transition {
  return {
    checkId: 'credit-scorer/integrity',
    region: 'eu-west',
    from: 'pending',
    to: 'unhealthy',
    at: T0,
    reason: '3 consecutive failures',
    results: [],
    ...overrides,
  };
}

/** `name{labels}` → value, for every sample line of an exposition. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

const EU = 'target="credit-scorer",check="integrity",region="eu-west"';

describe('createMetrics', () => {
  it('exports the last result as probe_success and probe_duration_seconds, with degraded counting as success', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeResult(plan(), probeResult({ outcome: 'degraded', httpStatus: 200, durationMs: 170 }));
    const s = samples(await metrics.render());
    expect(s.get(`probe_success{${EU}}`)).toBe(1);
    expect(s.get(`probe_duration_seconds{${EU}}`)).toBe(0.17);
    expect(s.get(`vigil_probes_total{${EU}}`)).toBe(1);
    // The detail level's families are not written at all, not even their headers.
    const text = await metrics.render();
    expect(text).not.toContain('probe_http_');
    expect(text).not.toContain('vigil_probes_degraded_total');
  });

  it('adds the phases, the HTTP status and the counters by outcome at the detail level', async () => {
    const metrics = createMetrics({ defaultMetrics: false, level: 'detail' });
    metrics.observeResult(plan(), probeResult({ outcome: 'degraded', httpStatus: 200, durationMs: 170 }));
    const s = samples(await metrics.render());
    expect(s.get(`probe_success{${EU}}`)).toBe(1);
    expect(s.get(`probe_duration_seconds{${EU}}`)).toBe(0.17);
    expect(s.get(`probe_http_status_code{${EU}}`)).toBe(200);
    expect(s.get(`probe_http_duration_seconds{${EU},phase="resolve"}`)).toBe(0);
    expect(s.get(`probe_http_duration_seconds{${EU},phase="connect"}`)).toBeCloseTo(0.00041, 9);
    expect(s.get(`probe_http_duration_seconds{${EU},phase="processing"}`)).toBeCloseTo(0.0112, 9);
    expect(s.get(`probe_http_duration_seconds{${EU},phase="transfer"}`)).toBeCloseTo(0.0003, 9);
    expect(s.get(`vigil_probes_degraded_total{${EU}}`)).toBe(1);
    expect(s.get(`vigil_probes_failed_total{${EU}}`)).toBe(0);
    expect(s.get(`vigil_probes_total{${EU}}`)).toBe(1);
  });

  it('reports a failed probe without a response as success 0 and status 0, counting its error code', async () => {
    const metrics = createMetrics({ defaultMetrics: false, level: 'detail' });
    metrics.observeResult(plan(), probeResult());
    metrics.observeResult(plan(), failedResult({ httpStatus: undefined }));
    metrics.observeResult(plan(), failedResult({ httpStatus: undefined }));
    const s = samples(await metrics.render());
    expect(s.get(`probe_success{${EU}}`)).toBe(0);
    expect(s.get(`probe_http_status_code{${EU}}`)).toBe(0);
    expect(s.get(`vigil_probes_failed_total{${EU}}`)).toBe(2);
    expect(s.get(`vigil_probes_total{${EU}}`)).toBe(3);
    expect(s.get(`vigil_probe_errors_total{${EU},code="TIMEOUT"}`)).toBe(2);
    expect([...s.keys()].filter((k) => k.startsWith('vigil_probe_errors_total'))).toHaveLength(1);
  });

  it("exports only the current state's vigil_check_state series, valued 1, and follows it", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeState(plan(), evalState({ state: 'pending', consecutiveFailures: 2 }));
    metrics.observeState(plan(), evalState({ state: 'unhealthy', consecutiveFailures: 3, flapping: true }));
    const s = samples(await metrics.render());
    expect([...s].filter(([k]) => k.startsWith('vigil_check_state{'))).toEqual([
      [`vigil_check_state{${EU},state="unhealthy"}`, 1],
    ]);
    expect(s.get(`vigil_check_flapping{${EU}}`)).toBe(1);
    expect(s.get(`vigil_check_consecutive_failures{${EU}}`)).toBe(3);
  });

  it("exports a check's failureThreshold only where it differs from the hub's usual one", async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const a = plan({ id: 'a/liveness', kind: 'liveness', target: { ...plan().target, name: 'a' } });
    const b = plan({ id: 'b/liveness', kind: 'liveness', target: { ...plan().target, name: 'b' } });
    const strict = plan({
      id: 'c/readiness',
      kind: 'readiness',
      failureThreshold: 5,
      target: { ...plan().target, name: 'c' },
    });
    for (const p of [a, b, strict])
      metrics.observeResult(p, probeResult({ checkId: p.id, region: 'eu-west' }));
    let text = await metrics.render();
    expect(text).toContain('\nvigil_failure_threshold_default 3\n');
    expect(text.match(/^vigil_check_failure_threshold\{.*$/gm)).toEqual([
      'vigil_check_failure_threshold{target="c",check="readiness"} 5',
    ]);
    // When most checks are on 5, 5 is the default and the others are the exceptions.
    for (const name of ['d', 'e'])
      metrics.observeResult(
        plan({
          id: `${name}/liveness`,
          kind: 'liveness',
          failureThreshold: 5,
          target: { ...plan().target, name },
        }),
        probeResult({ checkId: `${name}/liveness`, region: 'eu-west' }),
      );
    text = await metrics.render();
    expect(text).toContain('\nvigil_failure_threshold_default 5\n');
    expect(text.match(/^vigil_check_failure_threshold\{.*$/gm)).toEqual([
      'vigil_check_failure_threshold{target="a",check="liveness"} 3',
      'vigil_check_failure_threshold{target="b",check="liveness"} 3',
    ]);
  });

  it('exports vigil_check_flapping only while the check flaps', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeState(plan(), evalState({ state: 'healthy', consecutiveFailures: 0, flapping: true }));
    expect(samples(await metrics.render()).get(`vigil_check_flapping{${EU}}`)).toBe(1);
    metrics.observeState(plan(), evalState({ state: 'healthy', consecutiveFailures: 0, flapping: false }));
    const text = await metrics.render();
    expect(text).not.toMatch(/^vigil_check_flapping\{/m);
    expect(samples(text).get(`vigil_check_consecutive_failures{${EU}}`)).toBe(0);
  });

  it('exports a state the list of states does not name yet', async () => {
    const metrics = createMetrics({ defaultMetrics: false, level: 'detail' });
    const stale = 'stale' as CheckState;
    metrics.observeState(plan(), evalState({ state: stale }));
    metrics.observeTransition(transition({ from: 'healthy', to: stale }), plan());
    const s = samples(await metrics.render());
    expect(s.get(`vigil_check_state{${EU},state="stale"}`)).toBe(1);
    expect(s.get(`vigil_transitions_total{${EU},to="stale"}`)).toBe(1);
  });

  it('fills the probe gauges from a resumed state without counting a probe', async () => {
    const metrics = createMetrics({ defaultMetrics: false, level: 'detail' });
    metrics.observeState(plan(), evalState());
    const s = samples(await metrics.render());
    expect(s.get(`probe_success{${EU}}`)).toBe(0);
    expect(s.get(`probe_http_status_code{${EU}}`)).toBe(200);
    expect(s.get(`vigil_probes_failed_total{${EU}}`)).toBe(0);
    expect(s.get(`vigil_probes_total{${EU}}`)).toBe(0);
  });

  it('has no probe_* series for a check with a state but no result yet', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeState(plan(), evalState({ state: 'unknown', lastResult: null }));
    const text = await metrics.render();
    expect(text).not.toMatch(/^probe_success\{/m);
    expect(samples(text).get(`vigil_check_state{${EU},state="unknown"}`)).toBe(1);
  });

  it('counts transitions by the state entered, with every reachable state present from the start', async () => {
    const metrics = createMetrics({ defaultMetrics: false, level: 'detail' });
    metrics.observeTransition(transition(), plan());
    metrics.observeTransition(transition({ from: 'unhealthy', to: 'healthy' }), plan());
    metrics.observeTransition(transition({ to: 'unhealthy' }), plan());
    const s = samples(await metrics.render());
    expect(s.get(`vigil_transitions_total{${EU},to="unhealthy"}`)).toBe(2);
    expect(s.get(`vigil_transitions_total{${EU},to="healthy"}`)).toBe(1);
    expect(s.get(`vigil_transitions_total{${EU},to="degraded"}`)).toBe(0);
  });

  it('shows transitions to unknown only once there were some', async () => {
    const metrics = createMetrics({ defaultMetrics: false, level: 'detail' });
    metrics.observeTransition(transition(), plan());
    expect(await metrics.render()).not.toContain('to="unknown"');
    metrics.observeTransition(transition({ from: 'healthy', to: 'unknown' }), plan());
    expect(samples(await metrics.render()).get(`vigil_transitions_total{${EU},to="unknown"}`)).toBe(1);
  });

  it('keeps regions apart and puts the model on one vigil_target_info per target, model="" without one', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const site = { ...plan({}, null).target, name: 'site' };
    const noModel = plan({ id: 'site/liveness', kind: 'liveness', target: site }, null);
    metrics.observeResult(noModel, probeResult({ checkId: 'site/liveness', region: 'eu-west' }));
    metrics.observeResult(noModel, failedResult({ checkId: 'site/liveness', region: 'us-east' }));
    metrics.observeResult(plan(), probeResult());
    metrics.observeResult(plan({ id: 'credit-scorer/liveness', kind: 'liveness' }), probeResult());
    const s = samples(await metrics.render());
    const labels = (region: string) => `target="site",check="liveness",region="${region}"`;
    expect(s.get(`probe_success{${labels('eu-west')}}`)).toBe(1);
    expect(s.get(`probe_success{${labels('us-east')}}`)).toBe(0);
    expect([...s].filter(([k]) => k.startsWith('vigil_target_info'))).toEqual([
      ['vigil_target_info{target="site",model=""}', 1],
      ['vigil_target_info{target="credit-scorer",model="credit-scorer"}', 1],
    ]);
  });

  it('drops every series of a removed check; a reload that changes the model keeps the series', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeResult(plan(), probeResult());
    metrics.observeResult(plan(), probeResult({ region: 'us-east' }));
    metrics.observeState(plan(), evalState());
    metrics.removeCheck(plan());
    expect(await metrics.render()).not.toContain('credit-scorer');

    metrics.observeResult(plan(), probeResult());
    metrics.observeResult(plan({}, 'credit-scorer-v2'), probeResult());
    const text = await metrics.render();
    expect(text).not.toContain('model="credit-scorer"');
    const s = samples(text);
    expect(s.get('vigil_target_info{target="credit-scorer",model="credit-scorer-v2"}')).toBe(1);
    expect(s.get(`vigil_probes_total{${EU}}`)).toBe(2);
  });

  it('keeps the series when a reloaded plan has the same labels', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeResult(plan(), probeResult());
    metrics.observeResult(plan({ intervalMs: 5_000 }), probeResult());
    expect(samples(await metrics.render()).get(`vigil_probes_total{${EU}}`)).toBe(2);
  });

  it('records scheduler lag in seconds in a histogram without per-check labels', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeLag(3);
    metrics.observeLag(40);
    metrics.observeLag(-5);
    const s = samples(await metrics.render());
    expect(s.get('vigil_scheduler_lag_seconds_count')).toBe(3);
    expect(s.get('vigil_scheduler_lag_seconds_sum')).toBeCloseTo(0.043, 9);
    expect(s.get('vigil_scheduler_lag_seconds_bucket{le="0.001"}')).toBe(1);
    expect(s.get('vigil_scheduler_lag_seconds_bucket{le="0.005"}')).toBe(2);
    expect(s.get('vigil_scheduler_lag_seconds_bucket{le="0.05"}')).toBe(3);
  });

  it('rounds durations to the microsecond', async () => {
    const metrics = createMetrics({ defaultMetrics: false, level: 'detail' });
    const phases = { dnsMs: 0, connectMs: 0.1234567, tlsMs: 0, processingMs: 12.3456789, transferMs: 0.0004 };
    metrics.observeResult(plan(), probeResult({ durationMs: 12.3456789, phases }));
    const text = await metrics.render();
    expect(text).toContain(`probe_duration_seconds{${EU}} 0.012346\n`);
    expect(text).toContain(`probe_http_duration_seconds{${EU},phase="connect"} 0.000123\n`);
    expect(text).toContain(`probe_http_duration_seconds{${EU},phase="transfer"} 0\n`);
  });

  it('streams the same text as render() in bounded chunks', async () => {
    const metrics = createMetrics({ level: 'detail' });
    for (let i = 0; i < 2_000; i++) {
      const p = plan({ id: `m${i}/integrity` }, `m${i}`);
      metrics.observeResult(p, probeResult({ checkId: p.id }));
      metrics.observeState(p, evalState({ checkId: p.id }));
    }
    const chunks: string[] = [];
    for await (const chunk of metrics.renderChunks()) chunks.push(chunk);
    // The registry's part (process metrics vary between renders) and every per-check family after it.
    const perCheck = (text: string) => text.slice(text.indexOf('# HELP probe_success'));
    expect(perCheck(chunks.join(''))).toBe(perCheck(await metrics.render()));
    expect(chunks.length).toBeGreaterThan(20);
    expect(Math.max(...chunks.map((c) => c.length))).toBeLessThan(64 * 1024 + 1024);
  });

  it('yields to the event loop within a family, every renderSliceMs', async () => {
    // renderSliceMs 0: a yield every 64 series, so 640 checks give 10 per family.
    const metrics = createMetrics({ defaultMetrics: false, renderSliceMs: 0, level: 'detail' });
    for (let i = 0; i < 640; i++) metrics.observeResult(plan({ id: `m${i}/integrity` }), probeResult());
    let turns = 0;
    let rendering = true;
    const spin = () => {
      turns++;
      if (rendering) setImmediate(spin);
    };
    setImmediate(spin);
    await metrics.render();
    rendering = false;
    // 12 per-check families × 10 yields; a yield between families only would give about 12 turns.
    expect(turns).toBeGreaterThanOrEqual(90);
  });

  it('uses its own registry with process metrics, not the global one', async () => {
    const a = createMetrics();
    const b = createMetrics();
    a.observeLag(1);
    expect(a.registry).not.toBe(b.registry);
    const text = await a.render();
    expect(text).toMatch(/^process_cpu_seconds_total /m);
    expect(text).toMatch(/^nodejs_active_handles\{/m);
    expect(samples(await b.render()).get('vigil_scheduler_lag_seconds_count')).toBe(0);
    expect(a.contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
  });
});

/** `promtool check metrics` on stdin: its exit code and everything it printed. */
function promtoolCheck(text: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
    child.stdin.end(text);
  });
}

const hasPromtool = spawnSync('promtool', ['--version']).error === undefined;
const requireAll = process.env.VIGIL_REQUIRE_ALL === '1';
if (!hasPromtool && !requireAll) {
  console.warn('skipping the promtool lint test: promtool is not on PATH (Debian package "prometheus")');
}

describe.skipIf(!hasPromtool && !requireAll)('exposition', () => {
  it.each(['default', 'detail'] as const)(
    'passes promtool check metrics at the %s level with every metric family populated',
    async (level) => {
      const metrics = createMetrics({ level });
      metrics.observeResult(plan(), probeResult({ httpStatus: 200 }));
      metrics.observeResult(plan(), failedResult({ region: 'us-east' }));
      metrics.observeState(plan(), evalState({ flapping: true }));
      metrics.observeTransition(transition(), plan());
      metrics.observeLag(12);
      const text = await metrics.render();
      const families = [
        'probe_success',
        'probe_duration_seconds',
        'vigil_check_state',
        'vigil_check_flapping',
        'vigil_check_consecutive_failures',
        'vigil_probes_total',
        'vigil_target_info',
        'vigil_scheduler_lag_seconds',
      ];
      const detail = [
        'probe_http_duration_seconds',
        'probe_http_status_code',
        'vigil_probes_failed_total',
        'vigil_probes_degraded_total',
        'vigil_probe_errors_total',
        'vigil_transitions_total',
      ];
      for (const family of level === 'detail' ? [...families, ...detail] : families) {
        expect(text).toMatch(new RegExp(`^${family}(_bucket)?\\{`, 'm'));
      }
      if (level === 'default') for (const family of detail) expect(text).not.toContain(family);
      const { code, output } = await promtoolCheck(text);
      expect(output).toBe('');
      expect(code).toBe(0);
    },
  );

  it('passes promtool check metrics before anything was observed', async () => {
    const { code, output } = await promtoolCheck(await createMetrics().render());
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('passes promtool check metrics with config labels on the series', async () => {
    const metrics = createMetrics({ level: 'detail', labels: [{ from: 'team', to: 'owner_team' }] });
    metrics.observeResult(plan(), probeResult({ httpStatus: 200 }));
    metrics.observeState(plan(), evalState({ flapping: true }));
    const text = await metrics.render();
    expect(text).toContain('owner_team="risk"');
    const { code, output } = await promtoolCheck(text);
    expect(output).toBe('');
    expect(code).toBe(0);
  });

  it('escapes label values that promtool would otherwise reject', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    metrics.observeResult(plan(), probeResult({ region: 'eu "west"\\1\nb' }));
    const text = await metrics.render();
    expect(text).toContain('region="eu \\"west\\"\\\\1\\nb"');
    const { code, output } = await promtoolCheck(text);
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
