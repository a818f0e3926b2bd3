/**
 * Feature definitions shared by training (`src/train/`) and serving (`src/models.ts`), so that the two
 * can never featurize differently.
 *
 * - Credit scorer: 8 numeric applicant features, each min-max scaled to [0, 1] by an upstream pipeline
 *   (the model server receives them already scaled).
 * - Product categorizer: product titles turned into a signed, L2-normalised hashed bag of words (the "hashing trick", Weinberger et al. 2009, as in scikit-learn's `HashingVectorizer`).
 */

/** One credit feature: what it measures and the raw range the upstream pipeline maps onto [0, 1]. */
export interface CreditFeature {
  name: string;
  description: string;
  /** Raw value mapped to 0 (values below are clipped to 0). */
  rawMin: number;
  /** Raw value mapped to 1 (values above are clipped to 1). */
  rawMax: number;
  unit: string;
}

/** The credit scorer's input columns, in order. Column i of `features` is `CREDIT_FEATURES[i]`. */
export const CREDIT_FEATURES: readonly CreditFeature[] = [
  {
    name: 'debt_to_income',
    description: 'monthly debt payments / gross monthly income',
    rawMin: 0,
    rawMax: 0.6,
    unit: 'ratio',
  },
  {
    name: 'credit_utilization',
    description: 'revolving balances / revolving credit limits',
    rawMin: 0,
    rawMax: 1,
    unit: 'ratio',
  },
  {
    name: 'late_payments_12m',
    description: 'payments 30+ days late in the last 12 months',
    rawMin: 0,
    rawMax: 12,
    unit: 'count',
  },
  {
    name: 'credit_history_years',
    description: 'age of the oldest credit account',
    rawMin: 0,
    rawMax: 30,
    unit: 'years',
  },
  {
    name: 'log10_annual_income',
    description: 'log10 of gross annual income in USD (15k → 4.18, 250k → 5.40)',
    rawMin: 4.18,
    rawMax: 5.4,
    unit: 'log10 USD',
  },
  {
    name: 'loan_to_income',
    description: 'requested loan amount / gross annual income',
    rawMin: 0,
    rawMax: 1,
    unit: 'ratio',
  },
  {
    name: 'credit_inquiries_6m',
    description: 'hard credit inquiries in the last 6 months',
    rawMin: 0,
    rawMax: 10,
    unit: 'count',
  },
  {
    name: 'employment_years',
    description: 'years with the current employer',
    rawMin: 0,
    rawMax: 40,
    unit: 'years',
  },
];

export const CREDIT_FEATURE_COUNT = CREDIT_FEATURES.length;

/** Min-max scales a raw value of credit feature `index` to [0, 1], clipping outside the documented range. */
export function scaleCreditFeature(index: number, raw: number): number {
  const feature = CREDIT_FEATURES[index];
  if (feature === undefined) throw new RangeError(`no credit feature at index ${index}`);
  const scaled = (raw - feature.rawMin) / (feature.rawMax - feature.rawMin);
  return Math.min(1, Math.max(0, scaled));
}

/** Number of hash buckets for title features (a power of two, so the bucket is the hash's low bits). */
export const TITLE_FEATURE_DIM = 1024;
/** Only the first tokens of a title are used; longer titles add nothing a categorizer needs. */
export const MAX_TITLE_TOKENS = 64;

/**
 * Dropped before hashing: they carry no category signal, so a title made only of them hashes to the zero
 * vector (which the categorizer was trained to call "Unknown").
 */
export const STOP_WORDS: ReadonlySet<string> = new Set([
  'a',
  'an',
  'and',
  'are',
  'as',
  'at',
  'be',
  'but',
  'by',
  'for',
  'from',
  'if',
  'in',
  'into',
  'is',
  'it',
  'its',
  'of',
  'on',
  'or',
  'so',
  'such',
  'that',
  'the',
  'their',
  'then',
  'there',
  'these',
  'they',
  'this',
  'to',
  'was',
  'will',
  'with',
]);

/**
 * Lowercases (after NFKC normalisation), splits on anything that is not a letter or digit, and keeps tokens
 * of 2+ characters that are not stop words (scikit-learn's default `token_pattern` also drops 1-character
 * tokens). At most {@link MAX_TITLE_TOKENS} tokens are returned.
 *
 * @example tokenizeTitle("Men's Running T-Shirt, 2-Pack") // ['men', 'running', 'shirt', 'pack']
 */
export function tokenizeTitle(title: string): string[] {
  const tokens: string[] = [];
  for (const match of title
    .normalize('NFKC')
    .toLowerCase()
    .matchAll(/[\p{L}\p{N}]+/gu)) {
    const token = match[0];
    if (token.length < 2 || STOP_WORDS.has(token)) continue;
    tokens.push(token);
    if (tokens.length === MAX_TITLE_TOKENS) break;
  }
  return tokens;
}

const utf8 = new TextEncoder();

/** 32-bit FNV-1a over the UTF-8 bytes of `text` (http://www.isthe.com/chongo/tech/comp/fnv/). */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of utf8.encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A sparse feature vector: sorted, distinct bucket indices and their values. */
export interface SparseVector {
  indices: number[];
  values: number[];
}

/**
 * Hashes a title's tokens (unigrams) into {@link TITLE_FEATURE_DIM} buckets. Bucket = low bits of the
 * FNV-1a hash, sign = its top bit (signed hashing, as in scikit-learn's `FeatureHasher`, keeps collisions
 * unbiased). The vector is L2-normalised; values are rounded to float32 so training sees exactly what the
 * ONNX model is fed. A title with no usable tokens gives the empty (all-zero) vector.
 *
 * Bigrams were tried and dropped: on this data they cut held-out accuracy and made titles with unseen words
 * (model names, new brands) look like gibberish, because each unseen word also adds two unseen bigrams.
 */
export function hashTitle(title: string): SparseVector {
  const tokens = tokenizeTitle(title);
  const sums = new Map<number, number>();
  for (const token of tokens) {
    const hash = fnv1a32(token);
    const bucket = hash & (TITLE_FEATURE_DIM - 1);
    const sign = hash >>> 31 === 1 ? -1 : 1;
    sums.set(bucket, (sums.get(bucket) ?? 0) + sign);
  }
  const entries = [...sums].filter(([, v]) => v !== 0).sort((a, b) => a[0] - b[0]);
  const norm = Math.sqrt(entries.reduce((acc, [, v]) => acc + v * v, 0));
  return {
    indices: entries.map(([i]) => i),
    values: entries.map(([, v]) => Math.fround(v / norm)),
  };
}

/** Dense row-major `[titles.length, TITLE_FEATURE_DIM]` float32 features: the categorizer's ONNX input. */
export function featurizeTitles(titles: readonly string[]): Float32Array {
  const out = new Float32Array(titles.length * TITLE_FEATURE_DIM);
  titles.forEach((title, row) => {
    const { indices, values } = hashTitle(title);
    const offset = row * TITLE_FEATURE_DIM;
    indices.forEach((bucket, k) => {
      out[offset + bucket] = values[k] as number;
    });
  });
  return out;
}
