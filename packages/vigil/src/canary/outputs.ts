/**
 * What a canary compares: a case's normalised outputs (the same `document.outputs` the assertions
 * read: output name → its values, flattened row-major), each output read as one kind of value.
 */
import { distance } from 'fastest-levenshtein';

/**
 * How an output's values are compared:
 * - `numbers`: each value against the baseline's mean, within a tolerance (probabilities, scores, logits);
 * - `labels`: each value is a class label that must stay the same (a change is a *flip*);
 * - `topk`: rows of `k` ranked labels (shape `[…, k]`), compared by overlap;
 * - `text`: free text (LLM answers), compared exactly, normalised, or by similarity;
 * - `json`: anything else (booleans, null, objects), compared for equality.
 */
export type OutputKind = 'numbers' | 'labels' | 'topk' | 'text' | 'json';

/** Every {@link OutputKind}, in the order reports list them. */
export const OUTPUT_KINDS: readonly OutputKind[] = ['numbers', 'labels', 'topk', 'text', 'json'];

/** One answer of one golden case, as the prober read it. */
export interface CaseObservation {
  /** The golden case's id. */
  readonly caseId: string;
  /** Normalised outputs: output name → values, flattened row-major (`ProbeDocument.outputs`). */
  readonly outputs: Readonly<Record<string, readonly unknown[]>>;
  /** Output name → shape, where the protocol reports one (`ProbeDocument.shapes`). */
  readonly shapes?: Readonly<Record<string, readonly number[]>>;
  /** The request's duration, in ms. */
  readonly durationMs?: number;
  /** The model version the server reported. */
  readonly modelVersion?: string;
}

/**
 * A string longer than this (UTF-16 code units), or one with a line break, is read as free text rather
 * than a label: class labels are short names; generated answers are sentences.
 */
export const TEXT_MIN_LENGTH = 64;

const isText = (value: string) => value.length > TEXT_MIN_LENGTH || /[\n\r]/.test(value);

/**
 * The kind of an output, from its values and shape:
 * - every value a number (NaN and ±Infinity included) → `numbers`;
 * - every value a string: `text` if any is long or multi-line ({@link TEXT_MIN_LENGTH}); else `topk`
 *   when the shape has rank 2 or more and its last dimension is more than 1 (`[N, 3]` ranked
 *   categories) or, without a shape, when there is more than one value; else `labels` (`[N, 1]`, or
 *   `[N]`: a label per instance);
 * - anything else (booleans, null, objects, mixed) → `json`.
 *
 * An empty output is `json` (nothing to learn its kind from).
 *
 * @example inferOutputKind(['Books', 'Toys', 'Garden'], [1, 3]) // 'topk'
 */
export function inferOutputKind(values: readonly unknown[], shape?: readonly number[]): OutputKind {
  if (values.length === 0) return 'json';
  if (values.every((v) => typeof v === 'number')) return 'numbers';
  if (!values.every((v) => typeof v === 'string')) return 'json';
  if ((values as string[]).some(isText)) return 'text';
  // Rows of ranked labels have rank 2 or more ([N, k]); a rank-1 list is one label per instance.
  if (shape !== undefined && shape.length > 0)
    return shape.length >= 2 && (shape.at(-1) ?? 1) > 1 ? 'topk' : 'labels';
  return values.length > 1 ? 'topk' : 'labels';
}

/**
 * Width of the rows of a `topk` output: the shape's last dimension, or the whole output as one row
 * when there is no shape.
 */
export function topkWidth(values: readonly unknown[], shape?: readonly number[]): number {
  const last = shape?.at(-1);
  return last !== undefined && last > 0 && values.length % last === 0 ? last : values.length;
}

/** A `topk` output cut into its rows. */
export function topkRows(values: readonly string[], k: number): string[][] {
  const rows: string[][] = [];
  for (let i = 0; i < values.length; i += k) rows.push(values.slice(i, i + k));
  return rows;
}

/**
 * Text as compared in `normalised` mode: Unicode NFKC, lower case, every run of white space one
 * space, no leading or trailing space. So `"Paris.\n"` and `"paris."` are the same answer.
 */
export function normaliseText(text: string): string {
  return text.normalize('NFKC').toLowerCase().replace(/\s+/gu, ' ').trim();
}

/**
 * Similarity of two texts in [0, 1]: `1 − levenshtein(a, b) / max(|a|, |b|)` over their
 * {@link normaliseText} forms (the normalised Levenshtein similarity; edit distance by
 * `fastest-levenshtein`, counting UTF-16 code units). Two empty texts are identical (1).
 */
export function textSimilarity(a: string, b: string): number {
  const x = normaliseText(a);
  const y = normaliseText(b);
  const longest = Math.max(x.length, y.length);
  return longest === 0 ? 1 : 1 - distance(x, y) / longest;
}

/**
 * Overlap of two top-k lists in [0, 1]: how many labels they share, over the longer list's length
 * (order ignored: `[A, B, C]` and `[B, A, D]` overlap 2/3). Two empty lists overlap fully.
 */
export function topkOverlap(a: readonly string[], b: readonly string[]): number {
  const longest = Math.max(a.length, b.length);
  if (longest === 0) return 1;
  const inB = new Set(b);
  let shared = 0;
  for (const label of new Set(a)) if (inB.has(label)) shared++;
  return shared / longest;
}

/** A JSON value's text with object keys sorted: equal values, equal text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return v;
    const sorted: Record<string, unknown> = {};
    for (const key of Object.keys(v).sort()) sorted[key] = (v as Record<string, unknown>)[key];
    return sorted;
  });
}

/** How messages show a value: strings quoted, numbers as JSON has them (NaN as NaN), others as JSON. */
export function showValue(value: unknown): string {
  if (typeof value === 'number') return String(value);
  if (typeof value === 'string') return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  const text = canonicalJson(value) ?? String(value);
  return text.length > 80 ? `${text.slice(0, 80)}…` : text;
}
