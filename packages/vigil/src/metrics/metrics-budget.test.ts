/**
 * METRICS.md, "the metrics budget", against the exposition: its table of series (name, type, labels,
 * level) is what `/metrics` writes at each level, and the default level stays within the budget it
 * states, counted at the scale benchmark's names.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { evalState, failedResult, probeResult } from '../store/fixtures/data.js';
import { CHECK_KINDS, type CheckKind, type CheckPlan, type EvalState, type StreamTimings } from '../types.js';
import { createMetrics, METRIC_FAMILIES, type MetricsLevel } from './index.js';

const DOC = readFileSync(fileURLToPath(new URL('../../METRICS.md', import.meta.url)), 'utf8');

/** The rows of the markdown table under `## heading`, as cells (backticks removed). */
function table(heading: string): string[][] {
  const section = DOC.split(/^## /m).find((s) => s.startsWith(`${heading}\n`));
  if (section === undefined) throw new Error(`METRICS.md has no "## ${heading}"`);
  return section
    .split('\n')
    .filter((line) => line.startsWith('|'))
    .slice(2)
    .map((line) =>
      line
        .slice(1, -1)
        .split('|')
        .map((cell) => cell.trim().replaceAll('`', '')),
    );
}

interface DocFamily {
  name: string;
  type: string;
  labels: string[];
  level: MetricsLevel;
}

const documented: DocFamily[] = table('The series').map(
  ([name = '', type = '', labels = '', level = '']) => ({
    name,
    type,
    labels: labels.split(',').map((l) => l.trim()),
    level: level as MetricsLevel,
  }),
);

const budget = new Map(table('The budget').map(([name = '', value = '']) => [name, Number(value)]));
const budgetOf = (row: string): number => {
  const value = budget.get(row);
  if (value === undefined || !Number.isFinite(value)) throw new Error(`METRICS.md's budget has no "${row}"`);
  return value;
};

/** Families of an exposition: type from `# TYPE`, label names of their samples, sample count. */
function families(text: string): Map<string, { type: string; labels: Set<string>; samples: number }> {
  const out = new Map<string, { type: string; labels: Set<string>; samples: number }>();
  for (const line of text.split('\n')) {
    const type = line.match(/^# TYPE (\S+) (\S+)$/);
    if (type) out.set(type[1] as string, { type: type[2] as string, labels: new Set(), samples: 0 });
    if (line === '' || line.startsWith('#')) continue;
    const name = line.slice(0, line.search(/[{ ]/));
    // A histogram's samples are named after it with a suffix.
    const family = out.get(name) ?? out.get(name.replace(/_(bucket|sum|count)$/, ''));
    if (family === undefined) throw new Error(`a sample outside any family: ${line}`);
    family.samples++;
    for (const m of line.matchAll(/[{,]([a-zA-Z_]\w*)="/g)) family.labels.add(m[1] as string);
  }
  return out;
}

/** A check as the scale benchmark builds it: one integrity check per target `model-<n>`, region `local`. */
function benchPlan(n: number): CheckPlan {
  const name = `model-${n}`;
  return {
    id: `${name}/integrity`,
    target: {
      name,
      url: 'http://127.0.0.1:1',
      protocol: 'http',
      model: name,
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
    fastIntervalMs: 1_000,
    initialDelayMs: 0,
    expect: {},
  };
}

/** Every per-check family populated: a result with an error code, a flapping and deferred state, a transition. */
async function everything(level: MetricsLevel): Promise<string> {
  const metrics = createMetrics({ defaultMetrics: false, level });
  const plan = benchPlan(1);
  metrics.observeResult(plan, failedResult({ region: 'local' }));
  metrics.observeState(plan, evalState({ region: 'local', flapping: true }));
  metrics.observeDeferral(plan, 'local', true);
  // Adaptive latency thresholds: only checks with `auto` levels have them.
  metrics.observeLatencyThresholds(plan, { degradedMs: 150, failedMs: 200 });
  // A canary run that found drift: only canary checks have a condition.
  const canary: CheckPlan = { ...benchPlan(4), id: 'model-4/canary', kind: 'canary' };
  metrics.observeResult(
    canary,
    failedResult({
      checkId: canary.id,
      check: 'canary',
      region: 'local',
      failures: [
        {
          assertion: 'canary',
          operator: 'psi',
          expected: '< 0.25',
          actual: '0.4',
          message: 'PSI',
          level: 'drift',
        } as never,
      ],
    }),
  );
  // A streamed LLM answer: the stream families exist only for checks like it.
  const llm = benchPlan(2);
  const stream = {
    ttftMs: 40,
    maxTokenGapMs: 5,
    tokens: 16,
    tokenSource: 'usage' as const,
    tokensPerSecond: 90,
    totalMs: 200,
  };
  metrics.observeResult(llm, probeResult({ checkId: llm.id, region: 'local', stream }));
  metrics.observeTransition(
    { checkId: plan.id, region: 'local', from: 'pending', to: 'unhealthy', at: 0, reason: 'x', results: [] },
    plan,
  );
  // A check with the opt-in latency histogram.
  const histogram: CheckPlan = {
    ...benchPlan(4),
    latencyHistogram: true,
    expect: { latency: { degradedMs: 150, failedMs: 500 } },
  };
  metrics.observeResult(histogram, probeResult({ checkId: histogram.id, region: 'local', durationMs: 120 }));
  // A third check on another failureThreshold than the other two: vigil_check_failure_threshold.
  const strict = { ...benchPlan(3), failureThreshold: 5 };
  metrics.observeResult(strict, probeResult({ checkId: strict.id, region: 'local' }));
  return metrics.render();
}

/** Families the hub writes whatever its checks: not per-check, not in the table. */
const HUB_WIDE = new Set([
  'vigil_scheduler_lag_seconds',
  'vigil_action_runs_total',
  'vigil_failure_threshold_default',
]);

describe('METRICS.md, the metrics budget', () => {
  it('documents every per-check family the code has, with its type, labels and level', () => {
    expect(documented.map((d) => d.name)).toEqual(METRIC_FAMILIES.map((f) => f.name));
    expect(documented).toEqual(
      METRIC_FAMILIES.map((f) => ({ name: f.name, type: f.type, labels: [...f.labels], level: f.level })),
    );
  });

  it.each(['default', 'detail'] as const)('matches what /metrics writes at the %s level', async (level) => {
    const written = families(await everything(level));
    for (const name of HUB_WIDE) written.delete(name);
    const expected = documented.filter((d) => level === 'detail' || d.level === 'default');
    expect([...written.keys()].sort()).toEqual(expected.map((d) => d.name).sort());
    for (const doc of expected) {
      const family = written.get(doc.name);
      expect(family?.type, doc.name).toBe(doc.type);
      expect([...(family?.labels ?? [])].sort(), doc.name).toEqual([...doc.labels].sort());
      expect(family?.samples, `${doc.name} has samples`).toBeGreaterThan(0);
    }
  });

  it('keeps the default level within its budget at the scale benchmark names', async () => {
    // Five-digit names, as in the last 10,000 checks of a 20,000-check benchmark.
    const checks = 1_000;
    const metrics = createMetrics({ defaultMetrics: false });
    const healthy = (checkId: string): EvalState =>
      evalState({ checkId, region: 'local', state: 'healthy', consecutiveFailures: 0, flapping: false });
    for (let i = 0; i < checks; i++) {
      const plan = benchPlan(19_000 + i);
      const result = probeResult({ checkId: plan.id, region: 'local', durationMs: 1.234567 });
      metrics.observeResult(plan, result);
      metrics.observeState(plan, healthy(plan.id));
    }
    const lagFamily = (await createMetrics({ defaultMetrics: false }).render()).length;
    let text = await metrics.render();
    let written = families(text);
    const perCheck = (names: Iterable<string>) =>
      [...names]
        .filter((n) => n !== 'vigil_target_info' && !HUB_WIDE.has(n))
        .reduce((sum, n) => sum + (written.get(n)?.samples ?? 0), 0) / checks;
    expect(perCheck(written.keys())).toBe(budgetOf('series per (check, region), steady state'));
    expect(written.get('vigil_target_info')?.samples).toBe(
      checks * budgetOf('series per target (vigil_target_info)'),
    );
    expect((text.length - lagFamily) / checks).toBeLessThanOrEqual(
      budgetOf("bytes per check, at the scale benchmark's names"),
    );

    // The worst case: every check failing, flapping, and deferred by its probe budget.
    for (let i = 0; i < checks; i++) {
      const plan = benchPlan(19_000 + i);
      metrics.observeResult(plan, failedResult({ checkId: plan.id, region: 'local' }));
      metrics.observeState(plan, evalState({ checkId: plan.id, region: 'local', flapping: true }));
      metrics.observeDeferral(plan, 'local', true);
    }
    text = await metrics.render();
    written = families(text);
    expect(perCheck(written.keys())).toBe(
      budgetOf('series per (check, region), at most (while it flaps and is deferred)'),
    );
  });

  it('an opt-in latency histogram adds at most its budgeted series, at the check’s own bounds', async () => {
    const metrics = createMetrics({ defaultMetrics: false });
    const plan: CheckPlan = {
      ...benchPlan(19_002),
      latencyHistogram: true,
      expect: { latency: { degradedMs: 150, failedMs: 500 } },
    };
    for (const durationMs of [100, 150, 300, 2_500]) {
      metrics.observeResult(plan, probeResult({ checkId: plan.id, region: 'local', durationMs }));
    }
    const text = await metrics.render();
    const lines = text.split('\n').filter((l) => l.startsWith('vigil_probe_latency_seconds'));
    expect(lines).toEqual([
      'vigil_probe_latency_seconds_bucket{target="model-19002",check="integrity",region="local",le="0.15"} 2',
      'vigil_probe_latency_seconds_bucket{target="model-19002",check="integrity",region="local",le="0.5"} 3',
      'vigil_probe_latency_seconds_bucket{target="model-19002",check="integrity",region="local",le="2"} 3',
      'vigil_probe_latency_seconds_bucket{target="model-19002",check="integrity",region="local",le="+Inf"} 4',
      'vigil_probe_latency_seconds_sum{target="model-19002",check="integrity",region="local"} 3.05',
      'vigil_probe_latency_seconds_count{target="model-19002",check="integrity",region="local"} 4',
    ]);
    expect(lines.length).toBeLessThanOrEqual(
      budgetOf('series added by an opt-in latency histogram, at most'),
    );
    // Without the opt-in, none.
    const plain = createMetrics({ defaultMetrics: false });
    plain.observeResult(benchPlan(1), probeResult({ region: 'local' }));
    expect(await plain.render()).not.toMatch(/^vigil_probe_latency_seconds/m);
  });

  // Every kind at the default level: an LLM integrity check streams (issue 20's timings), a metrics
  // check reads an exposition; none may export more per check than the budget says.
  const stream: StreamTimings = {
    ttftMs: 40,
    maxTokenGapMs: 5,
    tokens: 16,
    tokenSource: 'usage',
    tokensPerSecond: 90,
    totalMs: 200,
  };
  it.each([...CHECK_KINDS, 'traffic'] as CheckKind[])(
    'a %s check exports the budget at the default level: steady state and at most',
    async (kind) => {
      const metrics = createMetrics({ defaultMetrics: false });
      const plan: CheckPlan = { ...benchPlan(19_001), id: `model-19001/${kind}`, kind };
      const base = { checkId: plan.id, check: kind, region: 'local' };
      // Every kind's result as the richest of its kind can carry it (a stream for all: none may add series).
      metrics.observeResult(plan, probeResult({ ...base, stream, notes: ['a note'] }));
      metrics.observeState(
        plan,
        evalState({
          checkId: plan.id,
          region: 'local',
          state: 'healthy',
          consecutiveFailures: 0,
          flapping: false,
        }),
      );
      const perCheck = (text: string) => {
        const written = families(text);
        return [...written.keys()]
          .filter((n) => n !== 'vigil_target_info' && !HUB_WIDE.has(n))
          .reduce((sum, n) => sum + (written.get(n)?.samples ?? 0), 0);
      };
      expect(perCheck(await metrics.render())).toBe(budgetOf('series per (check, region), steady state'));
      metrics.observeResult(plan, failedResult({ ...base, stream }));
      metrics.observeState(plan, evalState({ checkId: plan.id, region: 'local', flapping: true }));
      metrics.observeDeferral(plan, 'local', true);
      expect(perCheck(await metrics.render())).toBe(
        budgetOf('series per (check, region), at most (while it flaps and is deferred)'),
      );
      // A canary's worst run: corrupt answers beside drift, one condition series (the worst).
      const corrupt = { assertion: 'canary', expected: '', actual: '', message: '', level: 'corrupt' };
      const drift = { ...corrupt, level: 'drift' };
      metrics.observeResult(plan, failedResult({ ...base, failures: [drift, corrupt] as never }));
      expect(perCheck(await metrics.render())).toBe(
        kind === 'canary'
          ? budgetOf('series per canary (check, region), at most (also while its last run found a condition)')
          : budgetOf('series per (check, region), at most (while it flaps and is deferred)'),
      );
      // The detail level has the stream's timings.
      const detail = createMetrics({ defaultMetrics: false, level: 'detail' });
      detail.observeResult(plan, probeResult({ ...base, stream }));
      expect(await detail.render()).toContain(
        `vigil_stream_tokens{target="model-19001",check="${kind}",region="local"} 16`,
      );
    },
  );
});
