/**
 * Trains the credit scorer (an 8→16→1 MLP with ReLU and a sigmoid output) by full-batch Adam on synthetic
 * applicants, and writes it as an ONNX graph that also emits the decision label.
 */
import { CREDIT_FEATURE_COUNT, CREDIT_FEATURES } from '../features.js';
import { createAdam } from './adam.js';
import { generateCreditApplicants } from './credit-data.js';
import { accuracy, rocAuc } from './metrics.js';
import {
  constant,
  encodeModel,
  floatTensor,
  ML_DOMAIN,
  node,
  PRODUCER_NAME,
  valueInfo,
} from './onnx-builder.js';
import { createRng } from './prng.js';

export const CREDIT_TRAINING = {
  dataSeed: 20240611,
  initSeed: 7,
  trainSize: 3000,
  testSize: 1000,
  hidden: 16,
  epochs: 300,
  learningRate: 0.03,
  l2: 1e-4,
} as const;

/** Probability above which the graph labels an applicant `"default"`. */
export const CREDIT_DEFAULT_THRESHOLD = 0.5;
export const CREDIT_LABELS = ['repay', 'default'] as const;

export interface CreditWeights {
  w1: Float64Array; // [8, hidden] row-major
  b1: Float64Array; // [hidden]
  w2: Float64Array; // [hidden]
  b2: Float64Array; // [1]
}

export interface CreditMetrics {
  trainSize: number;
  testSize: number;
  testDefaultRate: number;
  testAccuracy: number;
  testAuc: number;
  /** AUC of the generating model's own (noise-free) probabilities: the ceiling for any model. */
  testOracleAuc: number;
  finalTrainLoss: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/** Forward pass in float64; returns default probabilities for `n` rows. */
export function predictCredit(weights: CreditWeights, features: Float64Array, n: number): Float64Array {
  const hidden = weights.b1.length;
  const out = new Float64Array(n);
  for (let r = 0; r < n; r++) {
    let logit = weights.b2[0] as number;
    for (let h = 0; h < hidden; h++) {
      let a = weights.b1[h] as number;
      for (let j = 0; j < CREDIT_FEATURE_COUNT; j++) {
        a += (features[r * CREDIT_FEATURE_COUNT + j] as number) * (weights.w1[j * hidden + h] as number);
      }
      if (a > 0) logit += a * (weights.w2[h] as number);
    }
    out[r] = sigmoid(logit);
  }
  return out;
}

export function trainCreditScorer(): { weights: CreditWeights; metrics: CreditMetrics } {
  const cfg = CREDIT_TRAINING;
  const data = generateCreditApplicants(cfg.trainSize + cfg.testSize, cfg.dataSeed);
  const d = CREDIT_FEATURE_COUNT;
  const hidden = cfg.hidden;
  const trainX = data.features.subarray(0, cfg.trainSize * d);
  const trainY = data.labels.subarray(0, cfg.trainSize);

  const init = createRng(cfg.initSeed);
  const weights: CreditWeights = {
    w1: Float64Array.from({ length: d * hidden }, () => init.normal() * Math.sqrt(2 / d)), // He
    b1: new Float64Array(hidden),
    w2: Float64Array.from({ length: hidden }, () => init.normal() * Math.sqrt(1 / hidden)), // Xavier
    b2: new Float64Array(1),
  };
  const grads: CreditWeights = {
    w1: new Float64Array(d * hidden),
    b1: new Float64Array(hidden),
    w2: new Float64Array(hidden),
    b2: new Float64Array(1),
  };
  const params = [weights.w1, weights.b1, weights.w2, weights.b2];
  const gradList = [grads.w1, grads.b1, grads.w2, grads.b2];
  const adam = createAdam(
    cfg.learningRate,
    params.map((p) => p.length),
  );
  const activations = new Float64Array(hidden);
  let loss = 0;

  for (let epoch = 0; epoch < cfg.epochs; epoch++) {
    for (const g of gradList) g.fill(0);
    loss = 0;
    for (let r = 0; r < cfg.trainSize; r++) {
      const row = r * d;
      let logit = weights.b2[0] as number;
      for (let h = 0; h < hidden; h++) {
        let a = weights.b1[h] as number;
        for (let j = 0; j < d; j++) a += (trainX[row + j] as number) * (weights.w1[j * hidden + h] as number);
        const relu = Math.max(a, 0);
        activations[h] = relu;
        logit += relu * (weights.w2[h] as number);
      }
      const p = sigmoid(logit);
      const y = trainY[r] as number;
      loss -= y === 1 ? Math.log(p + 1e-12) : Math.log(1 - p + 1e-12);
      const dLogit = (p - y) / cfg.trainSize; // d(mean BCE)/d(logit)
      grads.b2[0] = (grads.b2[0] as number) + dLogit;
      for (let h = 0; h < hidden; h++) {
        const act = activations[h] as number;
        grads.w2[h] = (grads.w2[h] as number) + dLogit * act;
        if (act <= 0) continue;
        const dA = dLogit * (weights.w2[h] as number);
        grads.b1[h] = (grads.b1[h] as number) + dA;
        for (let j = 0; j < d; j++) {
          grads.w1[j * hidden + h] = (grads.w1[j * hidden + h] as number) + dA * (trainX[row + j] as number);
        }
      }
    }
    loss /= cfg.trainSize;
    for (const [p, g] of [
      [weights.w1, grads.w1],
      [weights.w2, grads.w2],
    ] as const) {
      for (let i = 0; i < p.length; i++) g[i] = (g[i] as number) + cfg.l2 * (p[i] as number);
    }
    adam.step(params, gradList);
  }

  const testX = data.features.subarray(cfg.trainSize * d);
  const testY = data.labels.subarray(cfg.trainSize);
  const probabilities = predictCredit(weights, testX, cfg.testSize);
  const predicted = Array.from(probabilities, (p) => (p > CREDIT_DEFAULT_THRESHOLD ? 1 : 0));
  const metrics: CreditMetrics = {
    trainSize: cfg.trainSize,
    testSize: cfg.testSize,
    testDefaultRate: testY.reduce((a, b) => a + b, 0) / cfg.testSize,
    testAccuracy: accuracy(predicted, testY),
    testAuc: rocAuc(probabilities, testY),
    testOracleAuc: rocAuc(data.trueProbabilities.subarray(cfg.trainSize), testY),
    finalTrainLoss: loss,
  };
  return { weights, metrics };
}

const fmt = (x: number): string => x.toFixed(4);

/** Builds the ONNX model bytes for trained weights. */
export function buildCreditScorerOnnx(
  weights: CreditWeights,
  metrics: CreditMetrics,
  producerVersion: string,
): Uint8Array {
  const hidden = weights.b1.length;
  const featureDoc = CREDIT_FEATURES.map((f, i) => `${i}: ${f.name}`).join(', ');
  return encodeModel({
    graphName: 'credit_scorer',
    docString:
      'Probability that a loan applicant defaults, from 8 min-max scaled features. ' +
      `MLP 8-${hidden}-1 (ReLU, sigmoid) trained on synthetic applicants by ${PRODUCER_NAME}. ` +
      `label = "default" if probability > ${CREDIT_DEFAULT_THRESHOLD} else "repay".`,
    producerVersion,
    usesMlDomain: true,
    inputs: [
      valueInfo('features', 'float', ['N', CREDIT_FEATURE_COUNT], `columns: ${featureDoc}; each in [0, 1]`),
    ],
    outputs: [
      valueInfo('probability', 'float', ['N', 1], 'probability of default'),
      valueInfo('label', 'string', ['N', 1], '"default" or "repay"'),
    ],
    initializers: [
      floatTensor('dense1.weight', [CREDIT_FEATURE_COUNT, hidden], weights.w1),
      floatTensor('dense1.bias', [hidden], weights.b1),
      floatTensor('dense2.weight', [hidden, 1], weights.w2),
      floatTensor('dense2.bias', [1], weights.b2),
    ],
    nodes: [
      node('Gemm', ['features', 'dense1.weight', 'dense1.bias'], ['dense1'], { name: 'dense1' }),
      node('Relu', ['dense1'], ['relu1'], { name: 'relu1' }),
      node('Gemm', ['relu1', 'dense2.weight', 'dense2.bias'], ['logit'], { name: 'dense2' }),
      node('Sigmoid', ['logit'], ['probability'], { name: 'sigmoid' }),
      constant('threshold', floatTensor('threshold', [], [CREDIT_DEFAULT_THRESHOLD])),
      node('Greater', ['probability', 'threshold'], ['is_default'], { name: 'decide' }),
      node('Cast', ['is_default'], ['label_index'], { name: 'to_index', attributes: { to: 7 } }),
      node('LabelEncoder', ['label_index'], ['label'], {
        name: 'label_encoder',
        domain: ML_DOMAIN,
        attributes: { keys_int64s: [0, 1], values_strings: [...CREDIT_LABELS], default_string: 'Unknown' },
      }),
    ],
    metadata: [
      ['vigil.task', 'binary-classification'],
      ['vigil.features', CREDIT_FEATURES.map((f) => f.name).join(',')],
      ['vigil.labels', CREDIT_LABELS.join(',')],
      ['vigil.threshold', String(CREDIT_DEFAULT_THRESHOLD)],
      ['vigil.training.data_seed', String(CREDIT_TRAINING.dataSeed)],
      ['vigil.training.test_accuracy', fmt(metrics.testAccuracy)],
      ['vigil.training.test_auc', fmt(metrics.testAuc)],
    ],
  });
}
