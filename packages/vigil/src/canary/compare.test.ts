import { describe, expect, it } from 'vitest';
import { type Baseline, buildBaseline, type RecordedAnswer } from './baseline.js';
import { type CanaryCompareOptions, compareCanary, observationsFromBaseline } from './compare.js';
import type { CaseObservation } from './outputs.js';
import { predictionFactor } from './statistics.js';

const CASES = 12;
const TEXT = (i: number) =>
  `Case ${i}: the applicant has a stable income and a short credit history, so the risk is moderate.`;
const ROWS = [
  ['Books', 'Toys', 'Garden'],
  ['Toys', 'Garden', 'Books'],
  ['Garden', 'Books', 'Toys'],
];
/** A deterministic model's answer for case i: every repeat the same. */
const answerOf = (i: number): RecordedAnswer => {
  const p = Number((0.05 + 0.07 * i).toFixed(2));
  return {
    outputs: {
      p: [p],
      label: [p > 0.5 ? 'default' : 'repay'],
      top: ROWS[i % 3] as string[],
      text: [TEXT(i)],
    },
    shapes: { p: [1, 1], label: [1, 1], top: [1, 3], text: [1] },
    durationMs: 10 + i,
  };
};
const id = (i: number) => `c${String(i).padStart(2, '0')}`;
const BASELINE: Baseline = buildBaseline({
  cases: Array.from({ length: CASES }, (_, i) => ({
    id: id(i),
    answers: [answerOf(i), answerOf(i), answerOf(i)],
  })),
  model: { name: 'credit-scorer', version: '1' },
  recordedAt: '2026-12-01T10:00:00Z',
});
type Edit = (o: { outputs: Record<string, unknown[]> }, i: number) => void;
/** An edit of case `index` only: each named output replaced, or removed when undefined. */
const at =
  (index: number, changes: Record<string, unknown[] | undefined>): Edit =>
  (o, i) => {
    if (i !== index) return;
    for (const [name, value] of Object.entries(changes)) {
      if (value === undefined) delete o.outputs[name];
      else o.outputs[name] = value;
    }
  };
/** The baseline's own answers, each case changed by `edit`. */
const answers = (
  edit: (o: { outputs: Record<string, unknown[]> }, i: number) => void = () => {},
): CaseObservation[] =>
  observationsFromBaseline(BASELINE).map((o, i) => {
    const copy = { ...o, outputs: structuredClone(o.outputs) as Record<string, unknown[]> };
    edit(copy, i);
    return copy;
  });

describe('compareCanary: per case', () => {
  it('passes the baseline own answers, with every value within and drift statistics at zero', () => {
    const verdict = compareCanary(BASELINE, answers());
    expect(verdict.outcome).toBe('pass');
    expect(verdict.failures).toEqual([]);
    expect(verdict.comparisons).toHaveLength(CASES * 4);
    expect(verdict.comparisons.every((c) => c.within)).toBe(true);
    expect(verdict.matchedCases).toHaveLength(CASES);
    expect(verdict.statistics).toEqual([
      { statistic: 'psi', output: 'p[0]', cases: 12, value: 0, bound: 0.25, band: 'stable', exceeded: false },
      { statistic: 'ks', output: 'p[0]', cases: 12, value: 0, pValue: 1, bound: 0.05, exceeded: false },
      { statistic: 'js', output: 'label[0]', cases: 12, value: 0, bound: 0.1, exceeded: false },
    ]);
  });

  type Row = {
    name: string;
    edit: Edit;
    options?: CanaryCompareOptions;
    outcome: 'pass' | 'degraded' | 'fail';
    messages: string[];
  };
  it.each<Row>([
    {
      name: 'a number off by 0.01 (the floor is 1e-4 × |baseline| for a deterministic model)',
      edit: at(3, { p: [0.27] }),
      outcome: 'degraded',
      messages: ['case "c03": p[0] is 0.27, baseline 0.26 ± 0.000026 (off by 0.01)'],
    },
    {
      name: 'a number within the floor (float32 noise)',
      edit: at(3, { p: [0.26 + 2e-5] }),
      outcome: 'pass',
      messages: [],
    },
    {
      name: 'a number off by 0.01 under a hand-written abs 0.05',
      edit: at(3, { p: [0.27] }),
      options: { tolerance: { abs: 0.05 } },
      outcome: 'pass',
      messages: [],
    },
    {
      name: 'a number off by 3% under rel 0.02 for that output, over a loose top-level abs',
      edit: at(10, { p: [0.75 * 1.03] }),
      options: { tolerance: { abs: 0.5 }, outputs: { p: { tolerance: { rel: 0.02 } } } },
      outcome: 'degraded',
      messages: ['case "c10": p[0] is 0.7725, baseline 0.75 ± 0.015 (off by 0.0225)'],
    },
    {
      name: 'one label flip',
      edit: at(0, { label: ['default'] }),
      outcome: 'degraded',
      messages: ['case "c00": label[0] flipped to "default", baseline "repay"'],
    },
    {
      name: 'a top-k row with one category changed',
      edit: at(1, { top: ['Toys', 'Garden', 'Shoes'] }),
      outcome: 'degraded',
      messages: [
        'case "c01": top row 0 is ["Toys","Garden","Shoes"], overlap 0.6667 with baseline ["Toys","Garden","Books"] (at least 1)',
      ],
    },
    {
      name: 'a top-k row reordered (order is not compared)',
      edit: at(1, { top: ['Books', 'Toys', 'Garden'] }),
      outcome: 'pass',
      messages: [],
    },
    {
      name: 'a top-k row with one category changed, under minOverlap 0.6',
      edit: at(1, { top: ['Toys', 'Garden', 'Shoes'] }),
      options: { minOverlap: 0.6 },
      outcome: 'pass',
      messages: [],
    },
    {
      name: 'a text with a one-word edit (similarity above 0.9)',
      edit: at(2, { text: [TEXT(2).replace('moderate', 'modest')] }),
      outcome: 'pass',
      messages: [],
    },
    {
      name: 'a different text',
      edit: at(2, { text: ['I cannot help with that.'] }),
      outcome: 'degraded',
      messages: [
        'case "c02": text[0] is 0.1915 similar to the baseline\'s answer (at least 0.9): "I cannot help with that."',
      ],
    },
    {
      name: 'a text in other case and spacing, compared normalised',
      edit: at(2, { text: [`  ${TEXT(2).toUpperCase().replaceAll(' ', '\n ')}`] }),
      options: { text: { mode: 'normalised' } },
      outcome: 'pass',
      messages: [],
    },
    {
      name: 'a one-word edit compared exactly',
      edit: at(2, { text: [TEXT(2).replace('moderate', 'modest')] }),
      options: { outputs: { text: { text: { mode: 'exact' } } } },
      outcome: 'degraded',
      messages: [
        `case "c02": text[0] differs from the baseline's answer: "${TEXT(2).replace('moderate', 'modest').slice(0, 80)}…", baseline "${TEXT(2).slice(0, 80)}…"`,
      ],
    },
    {
      name: 'a NaN',
      edit: at(4, { p: [Number.NaN] }),
      outcome: 'fail',
      messages: ['case "c04": p[0] is NaN (baseline 0.33)'],
    },
    {
      name: 'a missing output',
      edit: at(4, { label: undefined }),
      outcome: 'fail',
      messages: ['case "c04": output label is missing (the baseline has 1 values)'],
    },
    {
      name: 'an output of another length',
      edit: at(4, { top: ['A', 'B'] }),
      outcome: 'fail',
      messages: ['case "c04": output top has 2 values, the baseline 3'],
    },
    {
      name: 'a number that became a string',
      edit: at(4, { p: ['0.33'] }),
      outcome: 'fail',
      messages: ['case "c04": p[0] is "0.33", the baseline has numbers'],
    },
  ])('$name: $outcome', ({ edit, options, outcome, messages }) => {
    const verdict = compareCanary(BASELINE, answers(edit), options);
    expect(verdict.failures.map((f) => f.message)).toEqual(messages);
    expect(verdict.outcome).toBe(outcome);
  });

  it('reports a failure with its selector, expected and actual', () => {
    const [failure] = compareCanary(BASELINE, answers(at(3, { p: [0.27] }))).failures;
    expect(failure).toEqual({
      assertion: 'canary',
      level: 'drift',
      caseId: 'c03',
      selector: 'cases["c03"].outputs.p[0]',
      operator: 'tolerance',
      expected: '0.26 ± 0.000026',
      actual: 0.27,
      message: 'case "c03": p[0] is 0.27, baseline 0.26 ± 0.000026 (off by 0.01)',
    });
  });
});

describe('compareCanary: the tolerance learnt from a nondeterministic model', () => {
  // Five repeats with spread: the tolerance is the prediction interval f · s, f from Student's t with
  // the false-alarm rate divided over the numbers compared.
  const noisy = buildBaseline({
    cases: [{ id: 'n', answers: [0.3, 0.32, 0.31, 0.29, 0.33].map((p) => ({ outputs: { p: [p] } })) }],
    model: { name: 'm' },
    recordedAt: '2026-12-01T10:00:00Z',
  });
  const learnt = noisy.cases.n?.outputs.p;
  if (learnt?.kind !== 'numbers') throw new Error('expected a numbers output');
  const stats = learnt.values[0] as { mean: number; std: number };
  const tolerance = (predictionFactor(5, 0.01, 1) as number) * stats.std;

  it.each([
    [0.5, 'pass'],
    [0.99, 'pass'],
    [1.01, 'degraded'],
    [2, 'degraded'],
  ] as const)('an answer %s tolerances away is %s', (times, outcome) => {
    const verdict = compareCanary(noisy, [{ caseId: 'n', outputs: { p: [stats.mean + times * tolerance] } }]);
    expect(verdict.outcome).toBe(outcome);
    expect(verdict.comparisons[0]?.bound).toBeCloseTo(tolerance, 12);
  });

  it('widens with the number of values compared (Bonferroni)', () => {
    const twelve = Array.from({ length: 12 }, () => ({ caseId: 'n', outputs: { p: [stats.mean] } }));
    const bound = compareCanary(noisy, twelve).comparisons[0]?.bound as number;
    expect(bound).toBeCloseTo((predictionFactor(5, 0.01, 12) as number) * stats.std, 12);
    expect(bound).toBeGreaterThan(tolerance);
  });
});

describe('compareCanary: across the set', () => {
  it('calls more than half the labels flipped corrupt: a swapped label map', () => {
    const swapped = answers((o) => {
      o.outputs.label = [o.outputs.label?.[0] === 'repay' ? 'default' : 'repay'];
    });
    const verdict = compareCanary(BASELINE, swapped);
    expect(verdict.outcome).toBe('fail');
    expect(verdict.failures.filter((f) => f.level === 'corrupt').map((f) => f.message)).toEqual([
      'labels flipped in 12 of 12 answers (100%), more than 50%: a swapped label map or broken weights',
    ]);
  });

  it('calls half the labels flipped drift, not corrupt', () => {
    const verdict = compareCanary(
      BASELINE,
      answers((o, i) => {
        if (i < 6) o.outputs.label = ['default'];
      }),
      { statistics: false },
    );
    expect(verdict.outcome).toBe('degraded');
    expect(verdict.failures).toHaveLength(6);
  });

  it('calls every case answering the same corrupt: the outputs no longer depend on the input', () => {
    const same = answers((o) => {
      o.outputs.p = [0.5];
      o.outputs.label = ['repay'];
      o.outputs.top = ['Books', 'Toys', 'Garden'];
      o.outputs.text = ['Unknown'];
    });
    const verdict = compareCanary(BASELINE, same);
    expect(verdict.outcome).toBe('fail');
    expect(verdict.failures.find((f) => f.operator === 'identical')?.message).toBe(
      'all 12 cases got the same answer {"label":["repay"],"p":[0.5],"text":["Unknown"],"top":["Books","Toys","Garden"]}, where the baseline has 12 different ones: the outputs no longer depend on the input',
    );
  });

  it('flags a shift of the whole distribution with PSI and KS against their bounds', () => {
    // Within a loose hand-written tolerance case by case, but the whole distribution moved.
    const verdict = compareCanary(
      BASELINE,
      answers((o) => {
        o.outputs.p = [(o.outputs.p?.[0] as number) + 0.6];
      }),
      {
        tolerance: { abs: 1 },
      },
    );
    expect(verdict.outcome).toBe('degraded');
    expect(verdict.failures.map((f) => f.message)).toEqual([
      'PSI of p[0] over 12 cases is 4.604, at or over 0.25 (significant shift)',
      'KS test of p[0] over 12 cases: D = 0.75, p = 0.001497 below 0.05 (α Bonferroni-divided over the numeric outputs tested)',
    ]);
  });

  it('flags a shift of the label distribution with the Jensen–Shannon distance', () => {
    // Three repay answers became default: three per-case flips, and the label distribution moved.
    const verdict = compareCanary(
      BASELINE,
      answers((o, i) => {
        if (i < 3) o.outputs.label = ['default'];
      }),
    );
    const js = verdict.statistics.find((s) => s.statistic === 'js');
    expect(js).toMatchObject({ output: 'label[0]', cases: 12, exceeded: true });
    expect(verdict.failures.at(-1)?.message).toMatch(
      /^Jensen–Shannon distance of label\[0\] over 12 cases is 0\.\d+, at or over 0\.1$/,
    );
  });

  it('compares a rotation window only with the same cases, and lists cases without a baseline entry', () => {
    const window = answers().slice(4, 8);
    const verdict = compareCanary(BASELINE, [...window, { caseId: 'new', outputs: { p: [1] } }]);
    expect(verdict).toMatchObject({
      outcome: 'pass',
      matchedCases: ['c04', 'c05', 'c06', 'c07'],
      unknownCases: ['new'],
    });
    // Four cases: too few for PSI; KS and JS see the same values as the baseline.
    expect(verdict.statistics.map((s) => [s.statistic, s.exceeded])).toEqual([
      ['ks', false],
      ['js', false],
    ]);
  });

  it('makes drift and corrupt answers the configured outcomes', () => {
    const drifting = answers(at(3, { p: [0.27] }));
    expect(compareCanary(BASELINE, drifting, { outcomes: { drift: 'fail' } }).outcome).toBe('fail');
    const nan = answers(at(3, { p: [Number.NaN] }));
    expect(compareCanary(BASELINE, nan, { outcomes: { corrupt: 'degraded' } }).outcome).toBe('degraded');
  });

  it('computes no statistics when told not to', () => {
    expect(compareCanary(BASELINE, answers(), { statistics: false }).statistics).toEqual([]);
  });

  it.each([
    [{ tolerance: { abs: -1 } }, 'tolerance.abs must be ≥ 0, got -1'],
    [{ outputs: { p: { tolerance: { rel: Number.NaN } } } }, 'outputs.p.tolerance.rel must be ≥ 0, got NaN'],
    [{ text: { minSimilarity: 1.5 } }, 'text.minSimilarity must be in [0, 1], got 1.5'],
    [{ minOverlap: -0.1 }, 'minOverlap must be in [0, 1], got -0.1'],
    [{ falseAlarmRate: 0 }, 'falseAlarmRate must be in (0, 1), got 0'],
    [{ maxLabelFlipShare: 2 }, 'maxLabelFlipShare must be in [0, 1], got 2'],
  ] as Array<[CanaryCompareOptions, string]>)('refuses options %j', (options, message) => {
    expect(() => compareCanary(BASELINE, [], options)).toThrow(
      expect.objectContaining({ code: 'VIGIL_ERR_CANARY_OPTIONS', message }),
    );
  });
});
