/**
 * Canary checks end to end against the example model server over real HTTP: `vigil baseline record`
 * writes a baseline that validates against baseline.schema.json; the hub's prober imports it into a
 * real SQLite store and runs rotation windows that cover the whole set; graded faults degrade or fail
 * the run; a version bump has no baseline (reported), and with autoBaseline gets a provisional one
 * that `promoteBaseline` makes reviewed; `vigil check` runs the canary; the API shows baselines and
 * the last comparison.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelServer, type ModelServer } from '@vigil/example-model-server';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApi } from '../api/app.js';
import { parseBaseline, serialiseBaseline } from '../canary/index.js';
import { main } from '../cli/main.js';
import { loadConfig } from '../config/index.js';
import { createHub } from '../hub/hub.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan, HttpClient, ProbeResult } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { type CanaryRunner, createCanaryRunner } from './canary.js';
import { importPlanBaselines, storeBaselines, storeCanaryState } from './canary-baselines.js';

const TOKEN = 'canary-e2e';
const CHECK = 'credit/canary';

/** 40 credit applicants spread over the feature space. */
const CASES = Array.from({ length: 40 }, (_, i) => ({
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

let server: ModelServer;
let url: string;
let dir: string;
let config: string;
let client: HttpClient;
let plan: CheckPlan;

async function setFault(mode: string, params: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/admin/faults/${mode}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...params, model: 'credit-scorer' }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

/** Runs the CLI in this process; returns its exit code. */
async function vigil(...args: string[]): Promise<number> {
  process.exitCode = undefined;
  await main(['node', 'vigil', ...args]);
  const code = Number(process.exitCode ?? 0);
  process.exitCode = undefined;
  return code;
}

async function freshStore(): Promise<Store> {
  const store = await openStore(':memory:');
  expect(await importPlanBaselines(store, [plan])).toBe(1);
  return store;
}

beforeAll(async () => {
  server = await createModelServer({ faults: { enabled: true, token: TOKEN }, warmupInferences: 1 });
  url = await server.listen();
  for (let i = 0; i < 200 && (await fetch(`${url}/v2/health/ready`)).status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  client = createHttpClient();
  dir = mkdtempSync(join(tmpdir(), 'vigil-canary-e2e-'));
  writeFileSync(join(dir, 'cases.jsonl'), `${CASES.map((c) => JSON.stringify(c)).join('\n')}\n`);
  config = join(dir, 'vigil.yaml');
  writeFileSync(
    config,
    `targets:
  - name: credit
    url: ${url}
    protocol: oip-v2
    model: credit-scorer
    checks:
      canary:
        interval: 1s
        timeout: 900ms
        cases: cases.jsonl
        maxCasesPerRun: 16
        baseline: baseline-v1.json
`,
  );
  const loaded = await loadConfig(config);
  if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
  plan = loaded.plan.find((p) => p.id === CHECK) as CheckPlan;
  expect(plan.canary?.cases).toHaveLength(40);
  // Recorded from the healthy server, as an operator would.
  expect(
    await vigil(
      'baseline',
      'record',
      '-c',
      config,
      '--target',
      'credit',
      '--repeats',
      '3',
      '--out',
      join(dir, 'baseline-v1.json'),
    ),
  ).toBe(0);
});
afterAll(async () => {
  await client?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('vigil baseline record', () => {
  it('writes a baseline of every case that round-trips and validates against baseline.schema.json', () => {
    const text = readFileSync(join(dir, 'baseline-v1.json'), 'utf8');
    const baseline = parseBaseline(text);
    expect(serialiseBaseline(baseline)).toBe(text);
    const schema = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../baseline.schema.json', import.meta.url)), 'utf8'),
    );
    const validate = new Ajv2020({ allowUnionTypes: true, formats: { 'date-time': true } }).compile(schema);
    expect(validate(JSON.parse(text)), JSON.stringify(validate.errors)).toBe(true);
    expect(baseline.model).toMatchObject({ name: 'credit-scorer', version: '1' });
    expect(baseline.model.metadata).toMatchObject({ model: { name: 'credit-scorer' } });
    expect(Object.keys(baseline.cases)).toEqual(CASES.map((c) => c.id));
    expect(baseline).toMatchObject({ repeats: 3, warmupRepeats: 1, target: 'credit', check: 'canary' });
    expect(baseline.latency?.count).toBe(40 * 3);
  });

  it('refuses to record from a deployment that does not answer every case (exit 1, no file)', async () => {
    await setFault('nan', {});
    try {
      const out = join(dir, 'broken.json');
      expect(
        await vigil('baseline', 'record', '-c', config, '--target', 'credit', '--repeats', '1', '--out', out),
      ).toBe(1);
      expect(() => readFileSync(out)).toThrow();
    } finally {
      server.faults.clear();
    }
  });
});

describe('canary runs through the prober, baselines in the store', () => {
  let store: Store;
  let runner: CanaryRunner;
  const run = () => runner.run(plan, { client });

  beforeAll(async () => {
    store = await freshStore();
    // Importing the same file again (a reload) stores nothing new.
    expect(await importPlanBaselines(store, [plan])).toBe(0);
    runner = createCanaryRunner({ baselines: storeBaselines(store) });
  });
  afterAll(async () => store?.close());

  it('pass against the healthy server, and the rotation covers all 40 cases in ceil(40 / 16) = 3 runs', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const result = await run();
      expect(result.failures).toEqual([]);
      expect(result).toMatchObject({ outcome: 'pass', modelVersion: '1', check: 'canary' });
      const report = runner.lastRun(CHECK);
      expect(report?.cases.sent.length).toBeLessThanOrEqual(16);
      expect(report?.baseline).toMatchObject({ status: 'reviewed', modelVersion: '1' });
      for (const id of report?.cases.sent ?? []) seen.add(id);
    }
    expect(seen.size).toBe(40);
    // Drift statistics were computed and kept for the check page.
    expect(runner.history(CHECK).length).toBeGreaterThan(0);
  });

  it.each([
    ['weight noise σ = 0.05', 'drift', { sigma: 0.05 }, 'degraded'],
    ['an input-scaling bug (×1.5)', 'scaled-features', { factor: 1.5 }, 'degraded'],
    ['a swapped label map', 'swapped-labels', {}, 'fail'],
    ['NaN outputs', 'nan', {}, 'fail'],
  ] as const)('%s: %s', async (_name, mode, params, outcome) => {
    await setFault(mode, params);
    let result: ProbeResult;
    try {
      result = await run();
    } finally {
      server.faults.clear();
    }
    expect(result.outcome).toBe(outcome);
    expect(result.failures[0]?.message).toMatch(/^(case "applicant-\d\d"|labels flipped|PSI|KS|Jensen)/);
  });
});

describe('a new model version', () => {
  it('without autoBaseline: reported as having no baseline (degraded), never compared with version 1', async () => {
    const store = await freshStore();
    const runner = createCanaryRunner({ baselines: storeBaselines(store) });
    await setFault('version-bump', { version: '2', ms: 0 });
    try {
      const result = await runner.run(plan, { client });
      expect(result).toMatchObject({ outcome: 'degraded', modelVersion: '2' });
      expect(result.failures.map((f) => f.message)).toEqual([
        'no baseline for version "2" (baselines exist for "1"): record one with vigil baseline record',
      ]);
      expect(runner.lastRun(CHECK)?.verdict).toBeUndefined();
    } finally {
      server.faults.clear();
      await store.close();
    }
  });

  it('with autoBaseline: a provisional baseline from its first healthy runs, compared with, then promoted', async () => {
    const store = await freshStore();
    const runner = createCanaryRunner({ baselines: storeBaselines(store) });
    const auto: CheckPlan = {
      ...plan,
      canary: { ...(plan.canary as NonNullable<CheckPlan['canary']>), autoBaseline: { repeats: 2 } },
    };
    await setFault('version-bump', { version: '2', ms: 0 });
    try {
      // 2 repeats × ceil(40 / 16) = 6 runs.
      const messages: string[] = [];
      for (let i = 0; i < 6; i++) {
        const result = await runner.run(auto, { client });
        expect(result.outcome).toBe('degraded');
        messages.push(result.failures[0]?.message ?? '');
      }
      expect(messages[0]).toBe(
        'no baseline for version "2": recording a provisional baseline (1 of 6 healthy runs)',
      );
      expect(messages[5]).toMatch(/a provisional baseline was recorded from 6 healthy runs/);
      const provisional = await store.baselines({ checkId: CHECK, status: 'provisional' });
      expect(provisional.map((b) => [b.modelVersion, b.source])).toEqual([['2', 'auto']]);
      expect(Object.keys(provisional[0]?.baseline.cases ?? {})).toHaveLength(40);

      const compared = await runner.run(auto, { client });
      expect(compared.outcome).toBe('pass');
      expect(compared.notes?.[0]).toMatch(/provisional baseline of version "2"/);
      // Drift in version 2 is caught against its provisional baseline.
      await setFault('swapped-labels', {});
      expect((await runner.run(auto, { client })).outcome).toBe('fail');
      server.faults.clear();
      await setFault('version-bump', { version: '2', ms: 0 });

      // Reviewed: promoted (as `vigil baseline promote` does), compared with as reviewed.
      expect(await store.promoteBaseline(CHECK, '2', Date.now())).toMatchObject({ status: 'reviewed' });
      const reviewed = await runner.run(auto, { client });
      expect(reviewed.outcome).toBe('pass');
      expect(reviewed.notes).toBeUndefined();
      expect(runner.lastRun(CHECK)?.baseline).toMatchObject({ status: 'reviewed', modelVersion: '2' });
    } finally {
      server.faults.clear();
      await store.close();
    }
  });

  it('autoBaseline progress and the rotation survive a new runner on the same store file (a restarted hub)', async () => {
    const file = join(dir, 'restart.db');
    const auto: CheckPlan = {
      ...plan,
      canary: { ...(plan.canary as NonNullable<CheckPlan['canary']>), autoBaseline: { repeats: 2 } },
    };
    await setFault('version-bump', { version: '4', ms: 0 });
    try {
      let store = await openStore(file);
      let runner = createCanaryRunner({ baselines: storeBaselines(store), state: storeCanaryState(store) });
      for (let i = 0; i < 2; i++) await runner.run(auto, { client });
      const sentBefore = runner.lastRun(CHECK)?.cases.sent;
      await store.close();

      store = await openStore(file);
      runner = createCanaryRunner({ baselines: storeBaselines(store), state: storeCanaryState(store) });
      await runner.restore([CHECK]);
      expect(runner.lastRun(CHECK)?.cases.sent).toEqual(sentBefore);
      const third = await runner.run(auto, { client });
      // Run 3 of 6, window 2 (the last 14 cases), not run 1 of 6 at window 0.
      expect(third.failures[0]?.message).toBe(
        'no baseline for version "4": recording a provisional baseline (3 of 6 healthy runs)',
      );
      expect(runner.lastRun(CHECK)).toMatchObject({
        runIndex: 2,
        cases: { sent: CASES.slice(26).map((c) => c.id) },
      });
      for (let i = 0; i < 3; i++) await runner.run(auto, { client });
      expect(
        (await store.baselines({ checkId: CHECK, status: 'provisional' })).map((b) => b.modelVersion),
      ).toEqual(['4']);
      // Removed from the plan: its stored state goes too.
      runner.forget(CHECK);
      await expect.poll(() => store.canaryState(CHECK)).toBeUndefined();
      await store.close();
    } finally {
      server.faults.clear();
    }
  });

  it('vigil baseline promote makes it reviewed in a store file and writes it out; nothing to promote is exit 1', async () => {
    const file = join(dir, 'vigil.db');
    const store = await openStore(file);
    const runner = createCanaryRunner({ baselines: storeBaselines(store) });
    const auto: CheckPlan = {
      ...plan,
      canary: { ...(plan.canary as NonNullable<CheckPlan['canary']>), autoBaseline: { repeats: 1, runs: 3 } },
    };
    await setFault('version-bump', { version: '3', ms: 0 });
    try {
      for (let i = 0; i < 3; i++) await runner.run(auto, { client });
    } finally {
      server.faults.clear();
      await store.close();
    }
    const out = join(dir, 'baseline-v3.json');
    expect(
      await vigil(
        'baseline',
        'promote',
        '--store',
        file,
        '--check',
        CHECK,
        '--model-version',
        '3',
        '--out',
        out,
      ),
    ).toBe(0);
    expect(parseBaseline(readFileSync(out, 'utf8')).model.version).toBe('3');
    expect(
      await vigil('baseline', 'promote', '--store', file, '--check', CHECK, '--model-version', '3'),
    ).toBe(1);
  });
});

describe('vigil check', () => {
  it('runs the canary against its baseline file: 0 when healthy, 1 with a swapped label map', async () => {
    expect(await vigil('check', '-c', config)).toBe(0);
    await setFault('swapped-labels', {});
    try {
      expect(await vigil('check', '-c', config)).toBe(1);
    } finally {
      server.faults.clear();
    }
  });
});

describe('the hub and its API', () => {
  it('runs the canary on its schedule, and shows baselines and the last comparison', async () => {
    const store = await openStore(':memory:');
    const hub = createHub({ plan: [plan], store, client });
    const first = new Promise<ProbeResult>((resolve) => {
      const off = hub.subscribe((e) => {
        if (e.type === 'result' && e.result.checkId === CHECK) {
          off();
          resolve(e.result);
        }
      });
    });
    await hub.start();
    const api = await createApi({ hub, dashboardDir: false });
    try {
      expect((await first).outcome).toBe('pass');
      const baselines = await api.inject({ url: '/api/v1/baselines' });
      expect(baselines.statusCode).toBe(200);
      expect(baselines.json().baselines).toEqual([
        expect.objectContaining({ checkId: CHECK, modelVersion: '1', status: 'reviewed', cases: 40 }),
      ]);
      const canary = await api.inject({ url: `/api/v1/checks/${encodeURIComponent(CHECK)}/canary` });
      expect(canary.statusCode).toBe(200);
      const view = canary.json();
      expect(view.lastRun.verdict.outcome).toBe('pass');
      expect(view.lastRun.verdict.comparisons[0]).toMatchObject({ output: expect.any(String), within: true });
      expect((await api.inject({ url: '/api/v1/checks/nope%2Fcanary/canary' })).statusCode).toBe(404);
    } finally {
      await api.close();
      await hub.stop();
      await store.close();
    }
    // The first run waits for the scheduler and, on a loaded machine, for the probe budget: bounded.
  }, 90_000);
});
