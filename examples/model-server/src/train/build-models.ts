/**
 * Trains both example models and returns their ONNX bytes plus a training report. Pure and deterministic:
 * the same code always yields the same bytes (see `generate-models.ts` for the CLI that writes them).
 */
import type { CreditMetrics } from './credit-scorer.js';
import { buildCreditScorerOnnx, trainCreditScorer } from './credit-scorer.js';
import type { CategorizerMetrics } from './product-categorizer.js';
import { buildProductCategorizerOnnx, trainProductCategorizer } from './product-categorizer.js';

/**
 * Version of the training recipe, written as the models' `producer_version`. Bump it when a change to the
 * data, features or training changes the models, so that deployed files can be told apart.
 */
export const PRODUCER_VERSION = '1.0.0';

export interface TrainingReport {
  producerVersion: string;
  'credit-scorer': CreditMetrics;
  'product-categorizer': CategorizerMetrics;
}

export interface BuiltModels {
  /** File name (in the models directory) → contents. */
  files: Map<string, Uint8Array>;
  report: TrainingReport;
}

/** File names written by {@link buildModels}, in write order. */
export const MODEL_FILES = [
  'credit-scorer.onnx',
  'product-categorizer.onnx',
  'training-report.json',
] as const;

/** Rounds metrics so the committed report does not churn on the last float digit. */
function rounded<T extends object>(metrics: T): T {
  return Object.fromEntries(
    Object.entries(metrics).map(([k, v]) => [
      k,
      typeof v === 'number' && !Number.isInteger(v) ? Number(v.toFixed(4)) : v,
    ]),
  ) as T;
}

export function buildModels(): BuiltModels {
  const credit = trainCreditScorer();
  const categorizer = trainProductCategorizer();
  const report: TrainingReport = {
    producerVersion: PRODUCER_VERSION,
    'credit-scorer': rounded(credit.metrics),
    'product-categorizer': rounded(categorizer.metrics),
  };
  const files = new Map<string, Uint8Array>([
    ['credit-scorer.onnx', buildCreditScorerOnnx(credit.weights, credit.metrics, PRODUCER_VERSION)],
    [
      'product-categorizer.onnx',
      buildProductCategorizerOnnx(categorizer.weights, categorizer.metrics, PRODUCER_VERSION),
    ],
    ['training-report.json', new TextEncoder().encode(`${JSON.stringify(report, null, 2)}\n`)],
  ]);
  return { files, report };
}
