/**
 * Canaries against the example model server over real HTTP: record a baseline from the healthy
 * server, then run rotation windows of the golden set against each graded fault and judge them.
 * The prober does not run canaries yet (phase 2), so requests go through Vigil's own HTTP client and
 * the OIP answer is read here as the oip-v2 adapter reads it: each output's flat data and shape.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelServer, type ModelServer } from '@vigil/example-model-server';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { parseJsonLenient } from '../wire/json.js';
import {
  adaptiveLatencyThresholds,
  type Baseline,
  buildBaseline,
  type CanaryVerdict,
  type CaseObservation,
  classifyLatency,
  compareCanary,
  type GoldenCase,
  loadGoldenSet,
  parseBaseline,
  type RecordedAnswer,
  rotationWindow,
  serialiseBaseline,
} from './index.js';

const TOKEN = 'canary-test';
const MAX_PER_RUN = 16;

/** 40 credit applicants spread over the feature space (features in [0, 1], 2 decimals). */
const CREDIT_CASES: GoldenCase[] = Array.from({ length: 40 }, (_, i) => ({
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

const TITLES = [
  'Wireless Bluetooth Noise Cancelling Headphones',
  '4K Ultra HD Smart TV 55 inch',
  "Men's Slim Fit Cotton Chino Trousers",
  "Women's Waterproof Hiking Jacket",
  'Hardcover Mystery Novel Bestseller Edition',
  'Stainless Steel Chef Knife 8 inch',
  'Non-stick Frying Pan with Glass Lid',
  'LEGO Creative Building Bricks Set',
  'Remote Control Racing Car for Kids',
  'Organic Green Tea Bags 100 count',
  'Yoga Mat Extra Thick Non Slip',
  'Adjustable Dumbbells Pair 20kg',
  'Garden Hose 30m Expandable',
  'Cordless Drill Driver 18V',
  'Vitamin C Serum for Face',
  'item',
];
const TITLE_CASES: GoldenCase[] = TITLES.map((title, i) => ({
  id: `title-${String(i).padStart(2, '0')}`,
  request: { inputs: [{ name: 'title', shape: [1], datatype: 'BYTES', data: [title] }] },
}));

let server: ModelServer;
let url: string;
let client: HttpClient;
let dir: string;

interface Answer extends RecordedAnswer {
  modelVersion?: string;
}

/** Sends one case's request and reads the answer as the oip-v2 adapter does. */
async function ask(model: string, request: unknown): Promise<Answer> {
  const exchange = await client.request({
    url: `${url}/v2/models/${model}/infer`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
    timeoutMs: 5000,
  });
  expect(exchange.error, exchange.error?.message).toBeUndefined();
  expect(exchange.response?.status).toBe(200);
  const parsed = parseJsonLenient(exchange.response?.body ?? '');
  if (!parsed.ok) throw new Error(parsed.message);
  const body = parsed.value as {
    model_version?: string;
    outputs: Array<{ name: string; shape: number[]; data: unknown[] }>;
  };
  const outputs: Record<string, unknown[]> = {};
  const shapes: Record<string, number[]> = {};
  for (const o of body.outputs) {
    outputs[o.name] = o.data;
    shapes[o.name] = o.shape;
  }
  return {
    outputs,
    shapes,
    durationMs: exchange.durationMs,
    ...(body.model_version === undefined ? {} : { modelVersion: body.model_version }),
  };
}

/** Records a baseline: every case `warmup + repeats` times, a pass over the set at a time. */
async function record(
  model: string,
  cases: readonly GoldenCase[],
  repeats: number,
  warmup: number,
): Promise<Baseline> {
  const answers = new Map<string, Answer[]>(cases.map((c) => [c.id, []]));
  for (let pass = 0; pass < warmup + repeats; pass++) {
    for (const c of cases) answers.get(c.id)?.push(await ask(model, c.request));
  }
  const metadata = (await (await fetch(`${url}/v2/models/${model}`)).json()) as { versions: string[] };
  return buildBaseline({
    cases: cases.map((c) => ({ id: c.id, request: c.request, answers: answers.get(c.id) ?? [] })),
    model: { name: model, version: metadata.versions[0] as string, metadata },
    target: model,
    check: 'canary',
    recordedAt: new Date(),
    warmupRepeats: warmup,
  });
}

/** One canary run: the rotation window of run `runIndex`, sent and compared with the baseline. */
async function canaryRun(
  model: string,
  cases: readonly GoldenCase[],
  baseline: Baseline,
  runIndex: number,
): Promise<{ verdict: CanaryVerdict; observations: CaseObservation[] }> {
  const { indices } = rotationWindow(cases.length, runIndex, MAX_PER_RUN);
  const observations: CaseObservation[] = [];
  for (const i of indices) {
    const c = cases[i] as GoldenCase;
    observations.push({ caseId: c.id, ...(await ask(model, c.request)) });
  }
  return { verdict: compareCanary(baseline, observations), observations };
}

async function setFault(mode: string, params: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/admin/faults/${mode}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

let credit: Baseline;
let categorizer: Baseline;

beforeAll(async () => {
  server = await createModelServer({ faults: { enabled: true, token: TOKEN }, warmupInferences: 1 });
  url = await server.listen();
  client = createHttpClient();
  for (let i = 0; i < 200 && (await fetch(`${url}/v2/health/ready`)).status !== 200; i++) {
    await new Promise((r) => setTimeout(r, 25));
  }
  dir = mkdtempSync(join(tmpdir(), 'vigil-canary-'));
  // The golden set goes through its JSONL reader, as a config's `cases:` file would.
  const file = join(dir, 'credit.jsonl');
  writeFileSync(file, `${CREDIT_CASES.map((c) => JSON.stringify(c)).join('\n')}\n`);
  expect(await loadGoldenSet(file)).toEqual(CREDIT_CASES);
  credit = await record('credit-scorer', CREDIT_CASES, 3, 1);
  categorizer = await record('product-categorizer', TITLE_CASES, 3, 1);
});
afterAll(async () => {
  await client?.close();
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('a baseline recorded from the example model server', () => {
  it('round-trips through its file and validates against baseline.schema.json', () => {
    const schema = JSON.parse(
      readFileSync(fileURLToPath(new URL('../../baseline.schema.json', import.meta.url)), 'utf8'),
    );
    const validate = new Ajv2020({ allowUnionTypes: true, formats: { 'date-time': true } }).compile(schema);
    for (const baseline of [credit, categorizer]) {
      const text = serialiseBaseline(baseline);
      expect(parseBaseline(text)).toEqual(baseline);
      expect(validate(JSON.parse(text)), JSON.stringify(validate.errors)).toBe(true);
    }
    expect(credit).toMatchObject({
      model: { name: 'credit-scorer', version: '1' },
      repeats: 3,
      warmupRepeats: 1,
    });
    expect(Object.keys(credit.cases)).toHaveLength(40);
    expect(credit.cases['applicant-00']?.outputs).toMatchObject({
      probability: { kind: 'numbers', shape: [1, 1] },
      label: { kind: 'labels', shape: [1, 1] },
    });
    expect(categorizer.cases['title-00']?.outputs.top_categories).toMatchObject({ kind: 'topk', k: 3 });
    // A deterministic CPU model: no spread to learn.
    const p = credit.cases['applicant-07']?.outputs.probability;
    expect(p?.kind === 'numbers' && p.values[0]?.std).toBe(0);
  });

  it('holds both labels and several categories, so label and distribution checks mean something', () => {
    const labels = new Set(
      Object.values(credit.cases).map((c) =>
        c.outputs.label?.kind === 'labels' ? c.outputs.label.values[0]?.value : '',
      ),
    );
    expect(labels).toEqual(new Set(['repay', 'default']));
    const categories = new Set(
      Object.values(categorizer.cases).map((c) =>
        c.outputs.category?.kind === 'labels' ? c.outputs.category.values[0]?.value : '',
      ),
    );
    expect(categories.size).toBeGreaterThanOrEqual(6);
  });
});

describe('canary runs against the healthy server', () => {
  it('pass in every rotation window, and the windows cover the whole set in ceil(40 / 16) = 3 runs', async () => {
    const seen = new Set<string>();
    for (let run = 0; run < 3; run++) {
      const { verdict } = await canaryRun('credit-scorer', CREDIT_CASES, credit, run);
      expect(verdict.failures).toEqual([]);
      expect(verdict.outcome).toBe('pass');
      expect(verdict.matchedCases.length).toBeLessThanOrEqual(MAX_PER_RUN);
      for (const id of verdict.matchedCases) seen.add(id);
    }
    expect(seen.size).toBe(CREDIT_CASES.length);
  });
});

describe('canary runs against graded faults', () => {
  type Row = {
    name: string;
    model: 'credit-scorer' | 'product-categorizer';
    fault: [string, Record<string, unknown>];
    outcome: 'degraded' | 'fail';
    operators: string[];
  };
  it.each<Row>([
    {
      name: 'weight noise σ = 0.01',
      model: 'credit-scorer',
      fault: ['drift', { sigma: 0.01 }],
      outcome: 'degraded',
      operators: ['tolerance'],
    },
    {
      name: 'weight noise σ = 0.05',
      model: 'credit-scorer',
      fault: ['drift', { sigma: 0.05 }],
      outcome: 'degraded',
      operators: ['tolerance'],
    },
    {
      name: 'weight noise σ = 0.05',
      model: 'product-categorizer',
      fault: ['drift', { sigma: 0.05 }],
      outcome: 'degraded',
      operators: ['tolerance'],
    },
    {
      name: 'an input-scaling bug (×1.5)',
      model: 'credit-scorer',
      fault: ['scaled-features', { factor: 1.5 }],
      outcome: 'degraded',
      operators: ['tolerance'],
    },
    {
      name: 'an input-scaling bug (×10)',
      model: 'credit-scorer',
      fault: ['scaled-features', { factor: 10 }],
      outcome: 'degraded',
      operators: ['tolerance', 'label'],
    },
    {
      name: 'a swapped label map',
      model: 'credit-scorer',
      fault: ['swapped-labels', {}],
      outcome: 'fail',
      operators: ['label', 'label-flips'],
    },
    {
      name: 'a swapped label map',
      model: 'product-categorizer',
      fault: ['swapped-labels', {}],
      outcome: 'fail',
      operators: ['label', 'label-flips', 'overlap'],
    },
    {
      name: 'zeroed features',
      model: 'credit-scorer',
      fault: ['zero-features', {}],
      outcome: 'fail',
      operators: ['identical'],
    },
    {
      name: 'NaN outputs',
      model: 'credit-scorer',
      fault: ['nan', {}],
      outcome: 'fail',
      operators: ['finite'],
    },
  ])('$model, $name: $outcome', async ({ model, fault, outcome, operators }) => {
    server.faults.clear();
    await setFault(fault[0], { ...fault[1], model });
    const cases = model === 'credit-scorer' ? CREDIT_CASES : TITLE_CASES;
    const { verdict } = await canaryRun(model, cases, model === 'credit-scorer' ? credit : categorizer, 0);
    server.faults.clear();
    expect(verdict.outcome).toBe(outcome);
    const seen = new Set(verdict.failures.map((f) => f.operator));
    for (const operator of operators) expect([...seen]).toContain(operator);
    // Every failure names its case and output (or its statistic and bound).
    for (const f of verdict.failures)
      expect(f.message).toMatch(/^(case "[^"]+": \S+|labels flipped|all \d+ cases|PSI|KS|Jensen)/);
  });

  it('a version bump changes the reported version and the latency, not the answers', async () => {
    server.faults.clear();
    await setFault('version-bump', { version: '2', ms: 60, model: 'credit-scorer' });
    const { verdict, observations } = await canaryRun('credit-scorer', CREDIT_CASES, credit, 1);
    server.faults.clear();
    expect(verdict.failures).toEqual([]);
    expect(new Set(observations.map((o) => o.modelVersion))).toEqual(new Set(['2']));
    expect(credit.model.version).toBe('1');
    // Latency thresholds from version 1's baseline would fail every answer of version 2 (each at
    // least 60 ms slower); version 2 gets its own thresholds from its own answers.
    const v1 = adaptiveLatencyThresholds(credit.latency && { kind: 'baseline', profile: credit.latency });
    expect(observations.map((o) => classifyLatency(o.durationMs as number, v1))).toEqual(
      observations.map(() => 'fail'),
    );
    const v2 = adaptiveLatencyThresholds(
      { kind: 'history', durationsMs: observations.map((o) => o.durationMs as number) },
      { warmup: 0, minSamples: 5 },
    );
    expect(v2.source.failedMs).toBe('history');
    expect(v2.degradedMs).toBeGreaterThanOrEqual(1.5 * 60);
  });
});
