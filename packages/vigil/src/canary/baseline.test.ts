import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { afterAll, describe, expect, it } from 'vitest';
import { VERSION } from '../version.js';
import {
  type Baseline,
  BaselineError,
  type BuildBaselineInput,
  buildBaseline,
  parseBaseline,
  type RecordedAnswer,
  readBaselineFile,
  requestDigest,
  serialiseBaseline,
} from './baseline.js';
import { BASELINE_JSON_SCHEMA_FILE, generateBaselineJsonSchema } from './json-schema.js';

const answer = (
  outputs: Record<string, unknown[]>,
  durationMs?: number,
  shapes?: Record<string, number[]>,
): RecordedAnswer => ({
  outputs,
  ...(durationMs === undefined ? {} : { durationMs }),
  ...(shapes === undefined ? {} : { shapes }),
});
const REQUEST = { inputs: [{ name: 'features', shape: [1, 2], datatype: 'FP32', data: [0.3, 0.1] }] };
const base = (cases: BuildBaselineInput['cases'], extra: Partial<BuildBaselineInput> = {}): Baseline =>
  buildBaseline({
    cases,
    model: { name: 'credit-scorer', version: '1' },
    recordedAt: '2026-12-01T10:00:00.000Z',
    ...extra,
  });

describe('buildBaseline', () => {
  it('learns each kind of output and its spread over the repeats, and the latency profile', () => {
    const shapes = { top: [1, 3], p: [1, 1], label: [1, 1] };
    const baseline = base(
      [
        {
          id: 'c1',
          request: REQUEST,
          answers: [
            answer(
              { p: [0.9], label: ['default'], top: ['X', 'Y', 'Z'], text: ['x'.repeat(70)], ok: [true] },
              500,
              shapes,
            ),
            answer(
              {
                p: [0.3],
                label: ['repay'],
                top: ['A', 'B', 'C'],
                text: [`Paris is the capital of France. ${'.'.repeat(40)}`],
                ok: [true],
              },
              10,
              shapes,
            ),
            answer(
              {
                p: [0.32],
                label: ['repay'],
                top: ['A', 'B', 'C'],
                text: [`Paris is the capital of France! ${'.'.repeat(40)}`],
                ok: [true],
              },
              20,
              shapes,
            ),
            answer(
              {
                p: [0.31],
                label: ['default'],
                top: ['A', 'B', 'D'],
                text: [`PARIS is the capital of France. ${'.'.repeat(40)}`],
                ok: [false],
              },
              30,
              shapes,
            ),
          ],
        },
      ],
      {
        warmupRepeats: 1,
        target: 'credit',
        check: 'canary',
        model: { name: 'credit-scorer', version: '1', metadata: { platform: 'onnx' } },
      },
    );
    const p = { mean: 0.31, min: 0.3, max: 0.32, std: 0.01 };
    expect(baseline).toEqual({
      formatVersion: 1,
      vigilVersion: VERSION,
      recordedAt: '2026-12-01T10:00:00.000Z',
      model: { name: 'credit-scorer', version: '1', metadata: { platform: 'onnx' } },
      target: 'credit',
      check: 'canary',
      repeats: 3,
      warmupRepeats: 1,
      latency: { count: 3, p50Ms: 20, p95Ms: 29, p99Ms: 29.8, meanMs: 20, maxMs: 30 },
      cases: {
        c1: {
          repeats: 3,
          requestSha256: requestDigest(REQUEST),
          latency: { count: 3, p50Ms: 20, p95Ms: 29, p99Ms: 29.8, meanMs: 20, maxMs: 30 },
          outputs: {
            p: {
              kind: 'numbers',
              shape: [1, 1],
              values: [expect.objectContaining({ min: p.min, max: p.max })],
            },
            label: {
              kind: 'labels',
              shape: [1, 1],
              values: [{ value: 'repay', counts: { repay: 2, default: 1 } }],
            },
            top: { kind: 'topk', shape: [1, 3], k: 3, rows: [{ items: ['A', 'B', 'C'], minOverlap: 2 / 3 }] },
            text: {
              kind: 'text',
              values: [
                {
                  value: `Paris is the capital of France. ${'.'.repeat(40)}`,
                  minSimilarity: expect.any(Number),
                },
              ],
            },
            ok: { kind: 'json', values: [{ value: true, share: 2 / 3 }] },
          },
        },
      },
    });
    const learnt = baseline.cases.c1?.outputs.p;
    expect(learnt?.kind === 'numbers' && learnt.values[0]?.mean).toBeCloseTo(p.mean, 12);
    expect(learnt?.kind === 'numbers' && learnt.values[0]?.std).toBeCloseTo(p.std, 12);
    const text = baseline.cases.c1?.outputs.text;
    expect(text?.kind === 'text' && text.values[0]?.minSimilarity).toBeCloseTo(1 - 1 / 72, 12);
  });

  it('is pure: the same answers give the same baseline, and requests digest by content, not key order', () => {
    const cases = [{ id: 'a', request: { b: 1, a: [1, 2] }, answers: [answer({ p: [0.5] }, 3)] }];
    expect(base(cases)).toEqual(base(cases));
    expect(requestDigest({ a: [1, 2], b: 1 })).toBe(requestDigest({ b: 1, a: [1, 2] }));
    expect(requestDigest({ a: [2, 1], b: 1 })).not.toBe(requestDigest({ b: 1, a: [1, 2] }));
  });

  it('lets kinds be named where the guess is wrong', () => {
    const built = base([{ id: 'a', answers: [answer({ tags: ['x', 'y'] })] }], { kinds: { tags: 'labels' } });
    expect(built.cases.a?.outputs.tags).toEqual({
      kind: 'labels',
      values: [
        { value: 'x', counts: { x: 1 } },
        { value: 'y', counts: { y: 1 } },
      ],
    });
  });

  it.each([
    ['no cases', [], {}, ['no cases']],
    [
      'a duplicate id',
      [
        { id: 'a', answers: [answer({ p: [1] })] },
        { id: 'a', answers: [answer({ p: [1] })] },
      ],
      {},
      ['case "a": duplicate id'],
    ],
    [
      'no answers after warm-up',
      [{ id: 'a', answers: [answer({ p: [1] })] }],
      { warmupRepeats: 1 },
      ['case "a": no answers after 1 warm-up repeat'],
    ],
    [
      'a non-finite number',
      [{ id: 'a', answers: [answer({ p: [0.1] }), answer({ p: [Number.NaN] })] }],
      {},
      ['case "a": p[0] is NaN in repeat 2: record a baseline from a healthy model'],
    ],
    [
      'outputs that differ between repeats',
      [{ id: 'a', answers: [answer({ p: [0.1], label: ['x'] }), answer({ label: ['x'] })] }],
      {},
      ['case "a" repeat 2: outputs [label] differ from repeat 1\'s [label, p]'],
    ],
    [
      'lengths that differ between repeats',
      [{ id: 'a', answers: [answer({ p: [0.1] }), answer({ p: [0.1, 0.2] })] }],
      {},
      ['case "a": output p has 1 or 2 values in different repeats'],
    ],
    [
      'a value of another kind',
      [{ id: 'a', answers: [answer({ p: [0.1] }), answer({ p: ['0.1'] })] }],
      {},
      ['case "a": output p is numbers, but repeat 2 has "0.1"'],
    ],
    ['an empty output', [{ id: 'a', answers: [answer({ p: [] })] }], {}, ['case "a": output p is empty']],
  ] as Array<[string, BuildBaselineInput['cases'], Partial<BuildBaselineInput>, string[]]>)(
    'refuses %s, saying what is wrong',
    (_, cases, extra, problems) => {
      const error = (() => {
        try {
          base(cases, extra);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(BaselineError);
      expect(error).toMatchObject({
        code: 'VIGIL_ERR_BASELINE_OBSERVATIONS',
        problems,
        message: `cannot build a baseline from these answers: ${problems.join('; ')}`,
      });
    },
  );
});

const SAMPLE = base([
  {
    id: 'b',
    request: REQUEST,
    answers: [answer({ p: [0.2], label: ['repay'] }, 5), answer({ p: [0.21], label: ['repay'] }, 6)],
  },
  {
    id: 'a',
    request: { x: 1 },
    answers: [answer({ p: [0.7], label: ['default'] }, 7), answer({ p: [0.69], label: ['default'] }, 8)],
  },
]);

describe('serialiseBaseline', () => {
  it('writes formatVersion first, then every key sorted, and ends with a newline', () => {
    const text = serialiseBaseline(SAMPLE);
    expect(text.endsWith('}\n')).toBe(true);
    const topKeys = [...text.matchAll(/^ {2}"([^"]+)":/gm)].map((m) => m[1]);
    expect(topKeys).toEqual([
      'formatVersion',
      'cases',
      'latency',
      'model',
      'recordedAt',
      'repeats',
      'vigilVersion',
      'warmupRepeats',
    ]);
    expect(text.indexOf('"a": {')).toBeLessThan(text.indexOf('"b": {'));
  });

  it('gives the same text whatever order the keys were built in', () => {
    const reordered = JSON.parse(JSON.stringify(SAMPLE), (_key, value: unknown) =>
      value && typeof value === 'object' && !Array.isArray(value)
        ? Object.fromEntries(Object.entries(value).reverse())
        : value,
    ) as Baseline;
    expect(Object.keys(reordered)[0]).not.toBe(Object.keys(SAMPLE)[0]);
    expect(serialiseBaseline(reordered)).toBe(serialiseBaseline(SAMPLE));
  });

  it('round-trips through parseBaseline', () => {
    expect(parseBaseline(serialiseBaseline(SAMPLE))).toEqual(SAMPLE);
  });

  it('writes what Biome would (a committed baseline stays as written)', () => {
    const biome = createRequire(import.meta.url).resolve('@biomejs/biome/bin/biome');
    const wide = base([
      {
        id: 'wide',
        answers: [answer({ top: Array.from({ length: 30 }, (_, i) => `category-${i}`), p: [1, 2, 3] })],
      },
    ]);
    for (const baseline of [SAMPLE, wide]) {
      const text = serialiseBaseline(baseline);
      const formatted = execFileSync(process.execPath, [biome, 'format', '--stdin-file-path=baseline.json'], {
        input: text,
        encoding: 'utf8',
      });
      expect(formatted).toBe(text);
    }
  });
});

describe('parseBaseline', () => {
  const valid = JSON.parse(serialiseBaseline(SAMPLE)) as Record<string, unknown>;
  // biome-ignore lint/suspicious/noExplicitAny: each case edits a different deep path of a plain JSON tree.
  type Tree = any;
  const edit = (change: (b: Tree) => void) => {
    const copy = structuredClone(valid) as Tree;
    change(copy);
    return JSON.stringify(copy);
  };

  it.each([
    [
      'text that is not JSON',
      '{"formatVersion": 1,',
      'VIGIL_ERR_BASELINE_INVALID',
      'b.json is not valid JSON: expected a member name in double quotes at byte 20 ({"formatVersion": 1,)',
    ],
    [
      'a bare NaN',
      edit((b) => (b.repeats = 0)).replace('"repeats":0', '"repeats":NaN'),
      'VIGIL_ERR_BASELINE_INVALID',
      /^b\.json is not valid JSON: bare NaN token at byte \d+/,
    ],
    [
      'a list',
      '[]',
      'VIGIL_ERR_BASELINE_INVALID',
      'b.json is not a valid baseline: the document: expected a mapping, got []',
    ],
    [
      'a newer format',
      edit((b) => (b.formatVersion = 2)),
      'VIGIL_ERR_BASELINE_VERSION',
      `b.json is a baseline of format 2; this Vigil (${VERSION}) reads format 1: upgrade Vigil`,
    ],
    [
      'format 0',
      edit((b) => (b.formatVersion = 0)),
      'VIGIL_ERR_BASELINE_INVALID',
      'b.json is not a valid baseline: formatVersion: expected 1, got 0',
    ],
    [
      'a negative spread',
      edit((b) => (b.cases.a.outputs.p.values[0].std = -1)),
      'VIGIL_ERR_BASELINE_INVALID',
      'b.json is not a valid baseline: cases.a.outputs.p.values[0].std: must be at least 0, got -1',
    ],
    [
      'a mean outside [min, max]',
      edit((b) => (b.cases.a.outputs.p.values[0].mean = 5)),
      'VIGIL_ERR_BASELINE_INVALID',
      'b.json is not a valid baseline: cases.a.outputs.p.values[0]: needs min ≤ mean ≤ max',
    ],
    [
      'an unknown output kind',
      edit((b) => (b.cases.a.outputs.p.kind = 'number')),
      'VIGIL_ERR_BASELINE_INVALID',
      'b.json is not a valid baseline: cases.a.outputs.p.kind: does not match any accepted form, got "number"',
    ],
    [
      'unordered latency quantiles',
      edit((b) => (b.latency.p50Ms = 1000)),
      'VIGIL_ERR_BASELINE_INVALID',
      'b.json is not a valid baseline: latency: needs p50Ms ≤ p95Ms ≤ p99Ms ≤ maxMs',
    ],
    [
      'a misspelt key',
      edit((b) => {
        b.recorded = b.recordedAt;
        delete b.recordedAt;
      }),
      'VIGIL_ERR_BASELINE_INVALID',
      'b.json is not a valid baseline: recordedAt: required; recorded: unknown key; did you mean "recordedAt"?',
    ],
    [
      'no cases',
      edit((b) => (b.cases = {})),
      'VIGIL_ERR_BASELINE_INVALID',
      'b.json is not a valid baseline: cases: must not be empty',
    ],
    [
      'a shape that does not hold the values',
      edit((b) => (b.cases.a.outputs.p.shape = [1, 2])),
      'VIGIL_ERR_BASELINE_INVALID',
      'b.json is not a valid baseline: cases.a.outputs.p.shape: holds 2 values, the output has 1',
    ],
    [
      'four problems (three shown)',
      edit((b) => {
        b.repeats = 0;
        b.warmupRepeats = -1;
        b.vigilVersion = '';
        b.model.name = 7;
      }),
      'VIGIL_ERR_BASELINE_INVALID',
      /^b\.json is not a valid baseline: [^;]+; [^;]+; [^;]+; and 1 more$/,
    ],
  ] as const)('refuses %s with one clear line', (_, text, code, message) => {
    const error = (() => {
      try {
        parseBaseline(text, 'b.json');
      } catch (e) {
        return e as BaselineError;
      }
    })();
    expect(error).toBeInstanceOf(BaselineError);
    expect(error?.code).toBe(code);
    if (typeof message === 'string') expect(error?.message).toBe(message);
    else expect(error?.message).toMatch(message);
    expect(error?.message).not.toContain('\n');
  });

  it('accepts a $schema key for editors', () => {
    expect(parseBaseline(edit((b) => (b.$schema = './baseline.schema.json'))).$schema).toBe(
      './baseline.schema.json',
    );
  });
});

describe('readBaselineFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-baseline-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a file written by serialiseBaseline', async () => {
    const path = join(dir, 'ok.json');
    writeFileSync(path, serialiseBaseline(SAMPLE));
    await expect(readBaselineFile(path)).resolves.toEqual(SAMPLE);
  });

  it('says why a file cannot be read', async () => {
    const missing = join(dir, 'missing.json');
    await expect(readBaselineFile(missing)).rejects.toMatchObject({
      code: 'VIGIL_ERR_BASELINE_READ',
      message: `cannot read baseline ${missing} (ENOENT): check the path`,
    });
    await expect(readBaselineFile(dir)).rejects.toMatchObject({
      message: expect.stringContaining('(EISDIR)'),
    });
  });
});

describe('baseline.schema.json', () => {
  const committed = JSON.parse(
    readFileSync(fileURLToPath(new URL(`../../${BASELINE_JSON_SCHEMA_FILE}`, import.meta.url)), 'utf8'),
  );
  // zod writes `date-time` with a pattern that checks it; Ajv knows the format only with ajv-formats.
  const validate = new Ajv2020({ allowUnionTypes: true, formats: { 'date-time': true } }).compile(committed);

  it('is current: regenerate it with `npx tsx packages/vigil/src/canary/write-json-schema.ts`', () => {
    expect(committed).toEqual(generateBaselineJsonSchema());
  });

  it('accepts what serialiseBaseline writes, with help text for editors', () => {
    expect(validate(JSON.parse(serialiseBaseline(SAMPLE))), JSON.stringify(validate.errors)).toBe(true);
    expect(committed.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(committed.$defs.NumberStats.properties.std.description).toMatch(/standard deviation/);
  });

  it.each([
    ['an unknown key', { extra: 1 }],
    ['a newer format', { formatVersion: 2 }],
    ['a recordedAt that is not a date-time', { recordedAt: 'yesterday' }],
    ['a negative repeat count', { repeats: -1 }],
  ])('rejects %s', (_, change) => {
    expect(validate({ ...JSON.parse(serialiseBaseline(SAMPLE)), ...change })).toBe(false);
  });
});
