/**
 * Trains the product categorizer (multinomial logistic regression on hashed title features) by full-batch
 * Adam, and writes it as an ONNX graph: Gemm → Softmax → TopK(3) → LabelEncoder, so category names and
 * scores come straight out of onnxruntime.
 */
import type { SparseVector } from '../features.js';
import { hashTitle, TITLE_FEATURE_DIM } from '../features.js';
import { createAdam } from './adam.js';
import { accuracy } from './metrics.js';
import {
  constant,
  encodeModel,
  floatTensor,
  int64Tensor,
  ML_DOMAIN,
  node,
  valueInfo,
} from './onnx-builder.js';
import type { LabelledTitle } from './product-data.js';
import { generateProductTitles, PRODUCT_CATEGORIES, UNKNOWN_CATEGORY } from './product-data.js';

export const CATEGORIZER_TRAINING = {
  dataSeed: 20240612,
  trainSize: 4000,
  testSize: 1000,
  epochs: 300,
  learningRate: 0.05,
  l2: 1e-4,
  unknownShare: 0.12,
} as const;

/** How many ranked categories the graph returns in `top_categories` / `top_scores`. */
export const TOP_K = 3;

export interface CategorizerWeights {
  /** `[TITLE_FEATURE_DIM, classes]` row-major. */
  w: Float64Array;
  b: Float64Array;
}

export interface CategorizerMetrics {
  trainSize: number;
  testSize: number;
  testAccuracy: number;
  /** Accuracy on held-out titles of real categories only. */
  testKnownAccuracy: number;
  /** Share of held-out low-information titles predicted "Unknown". */
  testUnknownRecall: number;
  /** Share of held-out real-category titles wrongly predicted "Unknown". */
  testFalseUnknownRate: number;
  finalTrainLoss: number;
}

const CLASSES = PRODUCT_CATEGORIES.length;

function softmaxInPlace(logits: Float64Array): void {
  let max = -Infinity;
  for (let c = 0; c < CLASSES; c++) max = Math.max(max, logits[c] as number);
  let sum = 0;
  for (let c = 0; c < CLASSES; c++) {
    logits[c] = Math.exp((logits[c] as number) - max);
    sum += logits[c] as number;
  }
  for (let c = 0; c < CLASSES; c++) logits[c] = (logits[c] as number) / sum;
}

/** Softmax probabilities (float64) for one sparse row, written into `out`. */
function forward(weights: CategorizerWeights, x: SparseVector, out: Float64Array): void {
  for (let c = 0; c < CLASSES; c++) out[c] = weights.b[c] as number;
  x.indices.forEach((bucket, k) => {
    const value = x.values[k] as number;
    for (let c = 0; c < CLASSES; c++)
      out[c] = (out[c] as number) + value * (weights.w[bucket * CLASSES + c] as number);
  });
  softmaxInPlace(out);
}

/** Top-1 class index per title (float64 forward pass, ties to the lower index like ONNX TopK). */
export function predictCategories(weights: CategorizerWeights, titles: readonly string[]): number[] {
  const probs = new Float64Array(CLASSES);
  return titles.map((title) => {
    forward(weights, hashTitle(title), probs);
    let best = 0;
    for (let c = 1; c < CLASSES; c++) if ((probs[c] as number) > (probs[best] as number)) best = c;
    return best;
  });
}

export function trainProductCategorizer(): { weights: CategorizerWeights; metrics: CategorizerMetrics } {
  const cfg = CATEGORIZER_TRAINING;
  const data = generateProductTitles(cfg.trainSize + cfg.testSize, cfg.dataSeed, cfg.unknownShare);
  const train = data.slice(0, cfg.trainSize);
  const test = data.slice(cfg.trainSize);
  // Training rows in CSR form: flat typed arrays keep the inner loops allocation-free.
  const rowStart = new Int32Array(cfg.trainSize + 1);
  const buckets: number[] = [];
  const values: number[] = [];
  train.forEach((t, r) => {
    const x = hashTitle(t.title);
    buckets.push(...x.indices);
    values.push(...x.values);
    rowStart[r + 1] = buckets.length;
  });
  const rowBuckets = Int32Array.from(buckets);
  const rowValues = Float64Array.from(values);

  // Zero initialisation is fine for a convex model and needs no random draws.
  const weights: CategorizerWeights = {
    w: new Float64Array(TITLE_FEATURE_DIM * CLASSES),
    b: new Float64Array(CLASSES),
  };
  const gradW = new Float64Array(weights.w.length);
  const gradB = new Float64Array(CLASSES);
  const adam = createAdam(cfg.learningRate, [weights.w.length, CLASSES]);
  const probs = new Float64Array(CLASSES);
  const dLogits = new Float64Array(CLASSES);
  const { w, b } = weights;
  let loss = 0;
  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    gradW.fill(0);
    gradB.fill(0);
    loss = 0;
    for (let r = 0; r < cfg.trainSize; r++) {
      const from = rowStart[r] as number;
      const to = rowStart[r + 1] as number;
      for (let c = 0; c < CLASSES; c++) probs[c] = b[c] as number;
      for (let k = from; k < to; k++) {
        const base = (rowBuckets[k] as number) * CLASSES;
        const value = rowValues[k] as number;
        for (let c = 0; c < CLASSES; c++) probs[c] = (probs[c] as number) + value * (w[base + c] as number);
      }
      softmaxInPlace(probs);
      const label = (train[r] as LabelledTitle).label;
      loss -= Math.log((probs[label] as number) + 1e-12);
      for (let c = 0; c < CLASSES; c++) {
        const d = ((probs[c] as number) - (c === label ? 1 : 0)) / cfg.trainSize; // d(mean CE)/d(logit)
        dLogits[c] = d;
        gradB[c] = (gradB[c] as number) + d;
      }
      for (let k = from; k < to; k++) {
        const base = (rowBuckets[k] as number) * CLASSES;
        const value = rowValues[k] as number;
        for (let c = 0; c < CLASSES; c++)
          gradW[base + c] = (gradW[base + c] as number) + value * (dLogits[c] as number);
      }
    }
    loss /= cfg.trainSize;
    for (let i = 0; i < w.length; i++) gradW[i] = (gradW[i] as number) + cfg.l2 * (w[i] as number);
    adam.step([w, b], [gradW, gradB]);
  }

  const unknown = PRODUCT_CATEGORIES.indexOf(UNKNOWN_CATEGORY);
  const predicted = predictCategories(
    weights,
    test.map((t) => t.title),
  );
  const actual = test.map((t) => t.label);
  const known = actual.flatMap((label, i) => (label === unknown ? [] : [i]));
  const unknowns = actual.flatMap((label, i) => (label === unknown ? [i] : []));
  const metrics: CategorizerMetrics = {
    trainSize: cfg.trainSize,
    testSize: cfg.testSize,
    testAccuracy: accuracy(predicted, actual),
    testKnownAccuracy: accuracy(
      known.map((i) => predicted[i] as number),
      known.map((i) => actual[i] as number),
    ),
    testUnknownRecall: unknowns.filter((i) => predicted[i] === unknown).length / unknowns.length,
    testFalseUnknownRate: known.filter((i) => predicted[i] === unknown).length / known.length,
    finalTrainLoss: loss,
  };
  return { weights, metrics };
}

const fmt = (x: number): string => x.toFixed(4);

/** Builds the ONNX model bytes for trained weights. */
export function buildProductCategorizerOnnx(
  weights: CategorizerWeights,
  metrics: CategorizerMetrics,
  producerVersion: string,
): Uint8Array {
  return encodeModel({
    graphName: 'product_categorizer',
    docString:
      `Product category from a title. Input: ${TITLE_FEATURE_DIM} signed, L2-normalised FNV-1a hashed ` +
      'unigram features (src/features.ts). Multinomial logistic regression → softmax → top 3. ' +
      '"Unknown" is a trained class for gibberish, empty and stop-word-only titles.',
    producerVersion,
    usesMlDomain: true,
    inputs: [
      valueInfo('features', 'float', ['N', TITLE_FEATURE_DIM], 'hashed title features (featurizeTitles)'),
    ],
    outputs: [
      valueInfo('category', 'string', ['N', 1], 'most probable category'),
      valueInfo('score', 'float', ['N', 1], 'probability of category'),
      valueInfo('top_categories', 'string', ['N', TOP_K], 'categories by decreasing probability'),
      valueInfo('top_scores', 'float', ['N', TOP_K], 'their probabilities'),
    ],
    initializers: [
      floatTensor('linear.weight', [TITLE_FEATURE_DIM, CLASSES], weights.w),
      floatTensor('linear.bias', [CLASSES], weights.b),
    ],
    nodes: [
      node('Gemm', ['features', 'linear.weight', 'linear.bias'], ['logits'], { name: 'linear' }),
      node('Softmax', ['logits'], ['probabilities'], { name: 'softmax', attributes: { axis: -1 } }),
      constant('k', int64Tensor('k', [1], [TOP_K])),
      node('TopK', ['probabilities', 'k'], ['top_scores', 'top_indices'], {
        name: 'top_k',
        attributes: { axis: -1, largest: 1, sorted: 1 },
      }),
      node('LabelEncoder', ['top_indices'], ['top_categories'], {
        name: 'label_encoder',
        domain: ML_DOMAIN,
        attributes: {
          keys_int64s: PRODUCT_CATEGORIES.map((_, i) => i),
          values_strings: [...PRODUCT_CATEGORIES],
          default_string: UNKNOWN_CATEGORY,
        },
      }),
      constant('first_start', int64Tensor('first_start', [1], [0])),
      constant('first_end', int64Tensor('first_end', [1], [1])),
      constant('first_axis', int64Tensor('first_axis', [1], [1])),
      node('Slice', ['top_categories', 'first_start', 'first_end', 'first_axis'], ['category'], {
        name: 'top1_category',
      }),
      node('Slice', ['top_scores', 'first_start', 'first_end', 'first_axis'], ['score'], {
        name: 'top1_score',
      }),
    ],
    metadata: [
      ['vigil.task', 'multiclass-classification'],
      ['vigil.labels', PRODUCT_CATEGORIES.join('|')],
      ['vigil.featurizer', `fnv1a32-signed-unigram-l2 dim=${TITLE_FEATURE_DIM}`],
      ['vigil.training.data_seed', String(CATEGORIZER_TRAINING.dataSeed)],
      ['vigil.training.test_accuracy', fmt(metrics.testAccuracy)],
    ],
  });
}
