/**
 * Comparison of a canary run's answers with the baseline of the same model version: per case and
 * output (numbers within tolerance, label flips, top-k overlap, text similarity), and across the
 * matched cases with standard drift statistics (PSI, two-sample Kolmogorov–Smirnov, Jensen–Shannon).
 *
 * A run is compared with the baseline entries of the cases it sent, never with the whole baseline:
 * with rotation a run sends a window of the set, and a window against the whole set would look like
 * drift. For statistics over the whole set, pass the observations of one full rotation.
 */
import { VigilError } from '../errors.js';
import type { AssertionFailure, Outcome } from '../types.js';
import type { Baseline, BaselineCase, BaselineOutput } from './baseline.js';
import {
  type CaseObservation,
  canonicalJson,
  normaliseText,
  type OutputKind,
  showValue,
  textSimilarity,
  topkOverlap,
  topkRows,
} from './outputs.js';
import {
  jensenShannonDistance,
  ksTwoSample,
  type PsiBand,
  populationStabilityIndex,
  predictionFactor,
  psiBand,
} from './statistics.js';

/** A tolerance written by hand: a number is within when `|now − baseline| ≤ max(abs, rel · |baseline|)`. */
export interface CanaryTolerance {
  abs?: number;
  rel?: number;
}

/** How texts are compared: equal, equal once normalised (`normaliseText`), or similar enough. */
export type TextMode = 'exact' | 'normalised' | 'similarity';

/** Rules for one output, or (at the top of the options) for every output. */
export interface OutputRule {
  /** Replaces the tolerance derived from the recorded spread (see {@link DEFAULT_CANARY_COMPARE}). */
  tolerance?: CanaryTolerance;
  /** Text outputs. Default: similarity at least `min(0.9, the lowest similarity among the recorded repeats)`. */
  text?: { mode?: TextMode; minSimilarity?: number };
  /** Top-k outputs: the least overlap with the baseline row. Default: the lowest overlap among the recorded repeats (1 for a deterministic model). */
  minOverlap?: number;
}

/** Options of {@link compareCanary}; every field has a default in {@link DEFAULT_CANARY_COMPARE}. */
export interface CanaryCompareOptions extends OutputRule {
  /** Output name → rule, over the top-level rule. */
  outputs?: Readonly<Record<string, OutputRule>>;
  /** Family-wise false-alarm rate of the derived number tolerances over one comparison. */
  falseAlarmRate?: number;
  /** Least tolerance of a derived number tolerance: `max(abs, rel · |baseline|)`. */
  floor?: { abs?: number; rel?: number };
  /** Share of compared labels that may flip before the answers count as corrupt (more than this: corrupt). */
  maxLabelFlipShare?: number;
  /** Bounds of the drift statistics across matched cases, or false for none. */
  statistics?: false | { psi?: number; ksAlpha?: number; jsDistance?: number };
  /** What drift beyond tolerance, and what corrupt answers, make the run. */
  outcomes?: { drift?: Exclude<Outcome, 'pass'>; corrupt?: Exclude<Outcome, 'pass'> };
}

/**
 * Defaults of {@link CanaryCompareOptions}, and their sources:
 * - derived number tolerance: `max(floor.abs, floor.rel · |mean|, f · s)`, with `mean` and `s` the
 *   recorded mean and sample standard deviation over `n` repeats and
 *   `f = t(1 − α/(2m), n − 1) · √(1 + 1/n)` the two-sided prediction interval for one new answer
 *   (Hahn and Meeker 1991; NIST/SEMATECH e-Handbook §7.2.2) at family-wise false-alarm rate
 *   `α = falseAlarmRate` (0.01) over the `m` numbers compared (Bonferroni). A model that answered
 *   identically in every repeat gets the floor;
 * - floor: abs 1e-6, rel 1e-4: float32 carries 24 bits (ε ≈ 1.2e-7), and the same weights on another
 *   CPU or thread count sum in another order, which moves outputs by tens of ε, never by a thousand;
 * - `maxLabelFlipShare` 0.5: drift moves a few decisions; more than half of them changed is a wrong
 *   label map or broken weights (judged from 4 compared labels on);
 * - statistics: PSI at or over 0.25 (Siddiqi 2006: "significant shift"; 0.1–0.25 is reported as
 *   moderate), KS p below 0.05 Bonferroni-divided over the numeric outputs tested, Jensen–Shannon
 *   distance at or over 0.1 (Evidently's default bound);
 * - outcomes: drift → `degraded` (a warning), corrupt → `fail` (critical).
 */
export const DEFAULT_CANARY_COMPARE = {
  falseAlarmRate: 0.01,
  floor: { abs: 1e-6, rel: 1e-4 },
  maxLabelFlipShare: 0.5,
  statistics: { psi: 0.25, ksAlpha: 0.05, jsDistance: 0.1 },
  outcomes: { drift: 'degraded', corrupt: 'fail' },
  minSimilarity: 0.9,
} as const;

/** Fewest compared labels for the flip share to count as corrupt: one flip of two is not a swapped label map. */
export const MIN_LABELS_FOR_FLIP_SHARE = 4;

/** Whether a failure is drift (beyond tolerance) or a corrupt answer. */
export type CanaryFailureLevel = 'drift' | 'corrupt';

/** A failed comparison; `assertion` is `canary`, `operator` says which comparison. */
export interface CanaryFailure extends AssertionFailure {
  level: CanaryFailureLevel;
  /** The case, for per-case failures. */
  caseId?: string;
}

/** One value of one output of one case, compared: a row of the check page's comparison table. */
export interface ValueComparison {
  caseId: string;
  output: string;
  /** Position in the output's flattened values (a row for `topk`). */
  index: number;
  kind: OutputKind;
  /** What the baseline holds (mean, majority label, row, medoid text, value). */
  baseline: unknown;
  now: unknown;
  /** Numbers: `|now − mean|`; top-k: overlap; text: similarity. */
  difference?: number;
  /** Numbers: the tolerance; top-k: least overlap; text: least similarity. */
  bound?: number;
  within: boolean;
}

/** One drift statistic over the matched cases, for one output value. */
export interface DriftStatistic {
  statistic: 'psi' | 'ks' | 'js';
  /** The output value, e.g. `probability[0]`. */
  output: string;
  /** Cases it was computed over. */
  cases: number;
  value: number;
  /** PSI: the significant band; KS: the Bonferroni-adjusted α the p-value is held to; JS: the distance bound. */
  bound: number;
  /** KS only. */
  pValue?: number;
  /** PSI only. */
  band?: PsiBand;
  exceeded: boolean;
}

/** The verdict on a canary run. */
export interface CanaryVerdict {
  /** `pass`, or the configured outcome of the worst failure (corrupt over drift). */
  outcome: Outcome;
  failures: CanaryFailure[];
  comparisons: ValueComparison[];
  statistics: DriftStatistic[];
  /** Observed cases compared with their baseline entry. */
  matchedCases: string[];
  /** Observed cases the baseline has no entry for (not compared: record them into the baseline). */
  unknownCases: string[];
}

function invalid(message: string): VigilError {
  return new VigilError('VIGIL_ERR_CANARY_OPTIONS', message);
}

function checkOptions(options: CanaryCompareOptions): void {
  const rules: Array<[string, OutputRule]> = [['', options], ...Object.entries(options.outputs ?? {})];
  for (const [name, rule] of rules) {
    const where = name === '' ? '' : `outputs.${name}.`;
    const { abs, rel } = rule.tolerance ?? {};
    if (abs !== undefined && !(abs >= 0 && Number.isFinite(abs)))
      throw invalid(`${where}tolerance.abs must be ≥ 0, got ${abs}`);
    if (rel !== undefined && !(rel >= 0 && Number.isFinite(rel)))
      throw invalid(`${where}tolerance.rel must be ≥ 0, got ${rel}`);
    const min = rule.text?.minSimilarity;
    if (min !== undefined && !(min >= 0 && min <= 1))
      throw invalid(`${where}text.minSimilarity must be in [0, 1], got ${min}`);
    const overlap = rule.minOverlap;
    if (overlap !== undefined && !(overlap >= 0 && overlap <= 1))
      throw invalid(`${where}minOverlap must be in [0, 1], got ${overlap}`);
  }
  const alpha = options.falseAlarmRate;
  if (alpha !== undefined && !(alpha > 0 && alpha < 1))
    throw invalid(`falseAlarmRate must be in (0, 1), got ${alpha}`);
  const share = options.maxLabelFlipShare;
  if (share !== undefined && !(share >= 0 && share <= 1))
    throw invalid(`maxLabelFlipShare must be in [0, 1], got ${share}`);
}

const selectorOf = (caseId: string, output: string, index?: number) =>
  `cases[${JSON.stringify(caseId)}].outputs.${output}${index === undefined ? '' : `[${index}]`}`;
const caseLabel = (caseId: string) => `case ${JSON.stringify(caseId)}`;
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : Number(n.toPrecision(4)).toString());

/** Everything a comparison works on, resolved once. */
interface Context {
  rule(output: string): OutputRule;
  /** The derived-tolerance factor for `n` repeats (undefined below two). */
  factor(n: number): number | undefined;
  floorAbs: number;
  floorRel: number;
}

function valuesCount(output: BaselineOutput): number {
  return output.kind === 'topk' ? output.rows.length * output.k : output.values.length;
}

/** The baseline's answer for a case, as an observation (means, majority labels and rows, medoids). */
function representative(caseId: string, entry: BaselineCase): CaseObservation {
  const outputs: Record<string, unknown[]> = {};
  const shapes: Record<string, number[]> = {};
  for (const [name, output] of Object.entries(entry.outputs)) {
    if (output.shape) shapes[name] = [...output.shape];
    switch (output.kind) {
      case 'numbers':
        outputs[name] = output.values.map((v) => v.mean);
        break;
      case 'topk':
        outputs[name] = output.rows.flatMap((r) => r.items);
        break;
      default:
        outputs[name] = output.values.map((v) => v.value);
    }
  }
  return { caseId, outputs, shapes, ...(entry.latency ? { durationMs: entry.latency.p50Ms } : {}) };
}

/**
 * The baseline's own answers as observations, one per case: the mean of each number, the majority
 * label and top-k row, the medoid text; durations at the case's p50. `vigil baseline diff A B`
 * compares B's observations with A.
 */
export function observationsFromBaseline(baseline: Baseline): CaseObservation[] {
  return Object.entries(baseline.cases).map(([id, entry]) => representative(id, entry));
}

/** Compares one output of one case; pushes comparisons and failures. */
function compareOutput(
  ctx: Context,
  caseId: string,
  name: string,
  base: BaselineOutput,
  now: readonly unknown[] | undefined,
  repeats: number,
  comparisons: ValueComparison[],
  failures: CanaryFailure[],
  flips: { compared: number; flipped: number },
): void {
  const where = caseLabel(caseId);
  const corrupt = (
    index: number | undefined,
    operator: string,
    expected: unknown,
    actual: unknown,
    message: string,
  ) =>
    failures.push({
      assertion: 'canary',
      level: 'corrupt',
      caseId,
      selector: selectorOf(caseId, name, index),
      operator,
      expected,
      actual,
      message,
    });
  const count = valuesCount(base);
  if (now === undefined) {
    corrupt(
      undefined,
      'present',
      `${count} values`,
      'missing',
      `${where}: output ${name} is missing (the baseline has ${count} values)`,
    );
    return;
  }
  if (now.length !== count) {
    corrupt(
      undefined,
      'length',
      count,
      now.length,
      `${where}: output ${name} has ${now.length} values, the baseline ${count}`,
    );
    return;
  }
  const expectedType = base.kind === 'numbers' ? 'number' : base.kind === 'json' ? undefined : 'string';
  if (expectedType !== undefined) {
    const odd = now.findIndex((v) => typeof v !== expectedType);
    if (odd >= 0) {
      corrupt(
        odd,
        'type',
        expectedType,
        showValue(now[odd]),
        `${where}: ${name}[${odd}] is ${showValue(now[odd])}, the baseline has ${base.kind === 'numbers' ? 'numbers' : 'strings'}`,
      );
      return;
    }
  }
  const rule = ctx.rule(name);
  const drift = (index: number, operator: string, expected: unknown, actual: unknown, message: string) =>
    failures.push({
      assertion: 'canary',
      level: 'drift',
      caseId,
      selector: selectorOf(caseId, name, index),
      operator,
      expected,
      actual,
      message,
    });
  switch (base.kind) {
    case 'numbers': {
      base.values.forEach((stats, i) => {
        const value = now[i] as number;
        if (!Number.isFinite(value)) {
          comparisons.push({
            caseId,
            output: name,
            index: i,
            kind: 'numbers',
            baseline: stats.mean,
            now: value,
            within: false,
          });
          corrupt(
            i,
            'finite',
            'a finite number',
            value,
            `${where}: ${name}[${i}] is ${value} (baseline ${fmt(stats.mean)})`,
          );
          return;
        }
        const allowed = numberTolerance(ctx, rule, stats.mean, stats.std, repeats);
        const difference = Math.abs(value - stats.mean);
        const within = difference <= allowed;
        comparisons.push({
          caseId,
          output: name,
          index: i,
          kind: 'numbers',
          baseline: stats.mean,
          now: value,
          difference,
          bound: allowed,
          within,
        });
        if (!within) {
          drift(
            i,
            'tolerance',
            `${fmt(stats.mean)} ± ${fmt(allowed)}`,
            value,
            `${where}: ${name}[${i}] is ${fmt(value)}, baseline ${fmt(stats.mean)} ± ${fmt(allowed)} (off by ${fmt(difference)})`,
          );
        }
      });
      return;
    }
    case 'labels': {
      base.values.forEach((stats, i) => {
        const label = now[i] as string;
        const within = Object.hasOwn(stats.counts, label);
        flips.compared++;
        comparisons.push({
          caseId,
          output: name,
          index: i,
          kind: 'labels',
          baseline: stats.value,
          now: label,
          within,
        });
        if (!within) {
          flips.flipped++;
          drift(
            i,
            'label',
            stats.value,
            label,
            `${where}: ${name}[${i}] flipped to ${showValue(label)}, baseline ${showValue(stats.value)}`,
          );
        }
      });
      return;
    }
    case 'topk': {
      topkRows(now as string[], base.k).forEach((row, r) => {
        const stats = base.rows[r];
        if (!stats) return;
        const overlap = topkOverlap(row, stats.items);
        const least = rule.minOverlap ?? stats.minOverlap;
        const within = overlap >= least - 1e-12;
        comparisons.push({
          caseId,
          output: name,
          index: r,
          kind: 'topk',
          baseline: stats.items,
          now: row,
          difference: overlap,
          bound: least,
          within,
        });
        if (!within) {
          drift(
            r,
            'overlap',
            `overlap ≥ ${fmt(least)} with ${showValue(stats.items)}`,
            row,
            `${where}: ${name} row ${r} is ${showValue(row)}, overlap ${fmt(overlap)} with baseline ${showValue(stats.items)} (at least ${fmt(least)})`,
          );
        }
      });
      return;
    }
    case 'text': {
      base.values.forEach((stats, i) => {
        const text = now[i] as string;
        const mode = rule.text?.mode ?? 'similarity';
        if (mode === 'similarity') {
          const similarity = textSimilarity(text, stats.value);
          const least =
            rule.text?.minSimilarity ?? Math.min(DEFAULT_CANARY_COMPARE.minSimilarity, stats.minSimilarity);
          const within = similarity >= least - 1e-12;
          comparisons.push({
            caseId,
            output: name,
            index: i,
            kind: 'text',
            baseline: stats.value,
            now: text,
            difference: similarity,
            bound: least,
            within,
          });
          if (!within) {
            drift(
              i,
              'similarity',
              `similarity ≥ ${fmt(least)}`,
              showValue(text),
              `${where}: ${name}[${i}] is ${fmt(similarity)} similar to the baseline's answer (at least ${fmt(least)}): ${showValue(text)}`,
            );
          }
          return;
        }
        const within =
          mode === 'exact' ? text === stats.value : normaliseText(text) === normaliseText(stats.value);
        comparisons.push({
          caseId,
          output: name,
          index: i,
          kind: 'text',
          baseline: stats.value,
          now: text,
          within,
        });
        if (!within) {
          drift(
            i,
            mode,
            showValue(stats.value),
            showValue(text),
            `${where}: ${name}[${i}] differs from the baseline's answer${mode === 'normalised' ? ' (normalised)' : ''}: ${showValue(text)}, baseline ${showValue(stats.value)}`,
          );
        }
      });
      return;
    }
    case 'json': {
      base.values.forEach((stats, i) => {
        const within = canonicalJson(now[i]) === canonicalJson(stats.value);
        comparisons.push({
          caseId,
          output: name,
          index: i,
          kind: 'json',
          baseline: stats.value,
          now: now[i],
          within,
        });
        if (!within) {
          drift(
            i,
            'eq',
            stats.value,
            now[i],
            `${where}: ${name}[${i}] is ${showValue(now[i])}, baseline ${showValue(stats.value)}`,
          );
        }
      });
      return;
    }
  }
}

/** The tolerance of one number (see {@link DEFAULT_CANARY_COMPARE}). */
function numberTolerance(ctx: Context, rule: OutputRule, mean: number, std: number, repeats: number): number {
  const { abs, rel } = rule.tolerance ?? {};
  if (abs !== undefined || rel !== undefined) return Math.max(abs ?? 0, (rel ?? 0) * Math.abs(mean));
  const factor = std > 0 ? ctx.factor(repeats) : undefined;
  return Math.max(ctx.floorAbs, ctx.floorRel * Math.abs(mean), factor === undefined ? 0 : factor * std);
}

/**
 * Compares a canary run's answers with a baseline of the same model version.
 *
 * Per case (matched by id) and output: numbers within tolerance (hand-written `abs`/`rel`, else derived
 * from the recorded spread: {@link DEFAULT_CANARY_COMPARE}); labels that flip to one no repeat gave;
 * top-k rows by overlap; text exactly, normalised or by similarity; other values by equality. Across
 * the matched cases, per numeric output value: PSI and the two-sample KS test of the baseline means
 * against the answers; per label output: the Jensen–Shannon distance of the label distributions.
 *
 * Failures say which case and output with baseline and now, or which statistic against which bound.
 * Drift failures make the run `degraded` by default; corrupt answers — a non-finite number, a missing
 * or reshaped output, more than `maxLabelFlipShare` of the labels flipped, every case answering the
 * same while the baseline's answers differ — make it `fail`.
 *
 * Checking that the answers are of the baseline's model version is the caller's: a version without a
 * baseline has nothing to be compared with.
 *
 * @throws VigilError `VIGIL_ERR_CANARY_OPTIONS` for options out of range (negative tolerances,
 *   shares or similarities outside [0, 1], a false-alarm rate outside (0, 1))
 */
export function compareCanary(
  baseline: Baseline,
  observations: readonly CaseObservation[],
  options: CanaryCompareOptions = {},
): CanaryVerdict {
  checkOptions(options);
  const alpha = options.falseAlarmRate ?? DEFAULT_CANARY_COMPARE.falseAlarmRate;
  const matched: Array<{ observation: CaseObservation; entry: BaselineCase }> = [];
  const unknownCases: string[] = [];
  for (const observation of observations) {
    const entry = Object.hasOwn(baseline.cases, observation.caseId)
      ? baseline.cases[observation.caseId]
      : undefined;
    if (entry) matched.push({ observation, entry });
    else unknownCases.push(observation.caseId);
  }
  // Bonferroni over every number this comparison holds to a derived tolerance.
  let numbers = 0;
  for (const { entry } of matched) {
    for (const [name, output] of Object.entries(entry.outputs)) {
      const rule = options.outputs?.[name]?.tolerance ?? options.tolerance;
      if (output.kind === 'numbers' && rule === undefined) numbers += output.values.length;
    }
  }
  const factors = new Map<number, number | undefined>();
  const ctx: Context = {
    rule: (output) => ({ ...options, ...(options.outputs?.[output] ?? {}) }),
    factor: (n) => {
      if (!factors.has(n)) factors.set(n, predictionFactor(n, alpha, numbers));
      return factors.get(n);
    },
    floorAbs: options.floor?.abs ?? DEFAULT_CANARY_COMPARE.floor.abs,
    floorRel: options.floor?.rel ?? DEFAULT_CANARY_COMPARE.floor.rel,
  };

  const failures: CanaryFailure[] = [];
  const comparisons: ValueComparison[] = [];
  const flips = { compared: 0, flipped: 0 };
  for (const { observation, entry } of matched) {
    for (const [name, output] of Object.entries(entry.outputs)) {
      compareOutput(
        ctx,
        observation.caseId,
        name,
        output,
        observation.outputs[name],
        entry.repeats,
        comparisons,
        failures,
        flips,
      );
    }
  }

  const maxShare = options.maxLabelFlipShare ?? DEFAULT_CANARY_COMPARE.maxLabelFlipShare;
  if (flips.compared >= MIN_LABELS_FOR_FLIP_SHARE && flips.flipped / flips.compared > maxShare) {
    const share = flips.flipped / flips.compared;
    failures.push({
      assertion: 'canary',
      level: 'corrupt',
      operator: 'label-flips',
      expected: `at most ${fmt(maxShare * 100)}% of labels flipped`,
      actual: `${flips.flipped} of ${flips.compared}`,
      message: `labels flipped in ${flips.flipped} of ${flips.compared} answers (${fmt(share * 100)}%), more than ${fmt(maxShare * 100)}%: a swapped label map or broken weights`,
    });
  }

  const identical = allIdentical(matched);
  if (identical) failures.push(identical);

  const statistics = options.statistics === false ? [] : driftStatistics(matched, options.statistics ?? {});
  for (const s of statistics) if (s.exceeded) failures.push(statisticFailure(s));

  const drift = options.outcomes?.drift ?? DEFAULT_CANARY_COMPARE.outcomes.drift;
  const corrupt = options.outcomes?.corrupt ?? DEFAULT_CANARY_COMPARE.outcomes.corrupt;
  const levels = new Set(failures.map((f) => f.level));
  const outcomes: Outcome[] = [];
  if (levels.has('corrupt')) outcomes.push(corrupt);
  if (levels.has('drift')) outcomes.push(drift);
  const outcome: Outcome = outcomes.includes('fail') ? 'fail' : outcomes.length > 0 ? 'degraded' : 'pass';
  return {
    outcome,
    failures,
    comparisons,
    statistics,
    matchedCases: matched.map((m) => m.observation.caseId),
    unknownCases,
  };
}

/**
 * The "answers no longer depend on the input" failure: two or more cases, every one answered the
 * same (over the baseline's outputs), while their baseline answers differ. An upstream schema break
 * that zeroes the features, or weights that collapsed, look like this.
 */
function allIdentical(
  matched: ReadonlyArray<{ observation: CaseObservation; entry: BaselineCase }>,
): CanaryFailure | undefined {
  if (matched.length < 2) return undefined;
  const answer = (names: string[], outputs: Readonly<Record<string, readonly unknown[]>>) =>
    canonicalJson(names.map((n) => outputs[n] ?? null));
  const names = Object.keys((matched[0] as (typeof matched)[number]).entry.outputs).sort();
  const now = new Set(matched.map(({ observation }) => answer(names, observation.outputs)));
  if (now.size !== 1) return undefined;
  const before = new Set(
    matched.map(({ observation, entry }) => answer(names, representative(observation.caseId, entry).outputs)),
  );
  if (before.size === 1) return undefined;
  const first = (matched[0] as (typeof matched)[number]).observation.outputs;
  const only = Object.fromEntries(names.map((n) => [n, first[n]]));
  return {
    assertion: 'canary',
    level: 'corrupt',
    operator: 'identical',
    expected: `${before.size} different answers`,
    actual: `1 answer for ${matched.length} cases`,
    message: `all ${matched.length} cases got the same answer ${showValue(only)}, where the baseline has ${before.size} different ones: the outputs no longer depend on the input`,
  };
}

/** PSI, KS and JS over the matched cases, one per output value. */
function driftStatistics(
  matched: ReadonlyArray<{ observation: CaseObservation; entry: BaselineCase }>,
  bounds: { psi?: number; ksAlpha?: number; jsDistance?: number },
): DriftStatistic[] {
  const psiBound = bounds.psi ?? DEFAULT_CANARY_COMPARE.statistics.psi;
  const ksAlpha = bounds.ksAlpha ?? DEFAULT_CANARY_COMPARE.statistics.ksAlpha;
  const jsBound = bounds.jsDistance ?? DEFAULT_CANARY_COMPARE.statistics.jsDistance;
  const numeric = new Map<string, { base: number[]; now: number[] }>();
  const categorical = new Map<string, { base: Map<string, number>; now: Map<string, number> }>();
  for (const { observation, entry } of matched) {
    for (const [name, output] of Object.entries(entry.outputs)) {
      const now = observation.outputs[name];
      if (!now || now.length !== valuesCount(output)) continue;
      if (output.kind === 'numbers') {
        output.values.forEach((stats, i) => {
          const value = now[i];
          if (typeof value !== 'number' || !Number.isFinite(value)) return;
          const key = `${name}[${i}]`;
          const series = numeric.get(key) ?? { base: [], now: [] };
          series.base.push(stats.mean);
          series.now.push(value);
          numeric.set(key, series);
        });
      } else if (output.kind === 'labels') {
        output.values.forEach((stats, i) => {
          const value = now[i];
          if (typeof value !== 'string') return;
          const key = `${name}[${i}]`;
          const series = categorical.get(key) ?? { base: new Map(), now: new Map() };
          series.base.set(stats.value, (series.base.get(stats.value) ?? 0) + 1);
          series.now.set(value, (series.now.get(value) ?? 0) + 1);
          categorical.set(key, series);
        });
      }
    }
  }
  const out: DriftStatistic[] = [];
  const tested = [...numeric].filter(([, s]) => s.base.length >= 2);
  const adjusted = ksAlpha / Math.max(1, tested.length);
  for (const [output, series] of tested) {
    const cases = series.base.length;
    const psi = populationStabilityIndex(series.base, series.now);
    if (psi) {
      out.push({
        statistic: 'psi',
        output,
        cases,
        value: psi.psi,
        bound: psiBound,
        band: psiBand(psi.psi),
        exceeded: psi.psi >= psiBound,
      });
    }
    const ks = ksTwoSample(series.base, series.now);
    out.push({
      statistic: 'ks',
      output,
      cases,
      value: ks.d,
      pValue: ks.pValue,
      bound: adjusted,
      exceeded: ks.pValue < adjusted,
    });
  }
  for (const [output, series] of categorical) {
    const cases = [...series.base.values()].reduce((a, b) => a + b, 0);
    if (cases < 2) continue;
    const distance = jensenShannonDistance(series.base, series.now);
    out.push({
      statistic: 'js',
      output,
      cases,
      value: distance,
      bound: jsBound,
      exceeded: distance >= jsBound,
    });
  }
  return out;
}

function statisticFailure(s: DriftStatistic): CanaryFailure {
  const selector = `outputs.${s.output}`;
  switch (s.statistic) {
    case 'psi':
      return {
        assertion: 'canary',
        level: 'drift',
        selector,
        operator: 'psi',
        expected: `< ${s.bound}`,
        actual: s.value,
        message: `PSI of ${s.output} over ${s.cases} cases is ${fmt(s.value)}, at or over ${s.bound} (${s.band} shift)`,
      };
    case 'ks':
      return {
        assertion: 'canary',
        level: 'drift',
        selector,
        operator: 'ks',
        expected: `p ≥ ${fmt(s.bound)}`,
        actual: s.pValue,
        message: `KS test of ${s.output} over ${s.cases} cases: D = ${fmt(s.value)}, p = ${fmt(s.pValue ?? 0)} below ${fmt(s.bound)} (α Bonferroni-divided over the numeric outputs tested)`,
      };
    case 'js':
      return {
        assertion: 'canary',
        level: 'drift',
        selector,
        operator: 'js',
        expected: `< ${s.bound}`,
        actual: s.value,
        message: `Jensen–Shannon distance of ${s.output} over ${s.cases} cases is ${fmt(s.value)}, at or over ${s.bound}`,
      };
  }
}
