/**
 * Synthetic credit applicants from a documented generative model (see MODELS.md, "credit-scorer").
 *
 * Each applicant has two latent traits: financial stress `z ~ N(0, 1)` and seniority `t ~ U(0, 1)`. The
 * eight observed features are noisy functions of them (so they correlate the way real bureau data does),
 * clipped and min-max scaled with the ranges in `CREDIT_FEATURES`. Default is drawn from a latent logistic
 * model on the scaled features, with a hinge on debt-to-income, a utilisation × late-payments interaction and
 * Gaussian noise on the logit, so the ground truth is non-linear and not perfectly predictable.
 */
import { CREDIT_FEATURE_COUNT, scaleCreditFeature } from '../features.js';
import { createRng } from './prng.js';

export interface CreditDataset {
  /** Row-major `[n, CREDIT_FEATURE_COUNT]`, each value in [0, 1]. */
  features: Float64Array;
  /** 1 = default, 0 = repay. */
  labels: Uint8Array;
  /** The ground-truth default probability (before the Bernoulli draw), for documentation and tests. */
  trueProbabilities: Float64Array;
  n: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const clip = (x: number, min: number, max: number): number => Math.min(max, Math.max(min, x));

/** Ground-truth default logit for one scaled applicant, before the logit noise. */
export function creditTrueLogit(x: ArrayLike<number>): number {
  const [dti, util, late, history, income, loan, inquiries, employment] = Array.from(x) as number[] as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  return (
    -2.5 +
    2.2 * dti +
    4.0 * Math.max(0, dti - 0.6) + // debt-to-income above ~36% raw is disproportionately risky
    1.6 * util +
    5.5 * late +
    3.0 * util * late +
    1.4 * loan +
    1.6 * inquiries -
    1.2 * history -
    1.4 * income -
    0.8 * employment
  );
}

/** Standard deviation of the Gaussian noise added to the true logit (unobserved circumstances). */
export const CREDIT_LOGIT_NOISE = 0.5;

export function generateCreditApplicants(n: number, seed: number): CreditDataset {
  const rng = createRng(seed);
  const features = new Float64Array(n * CREDIT_FEATURE_COUNT);
  const labels = new Uint8Array(n);
  const trueProbabilities = new Float64Array(n);
  const raw = new Array<number>(CREDIT_FEATURE_COUNT);
  for (let i = 0; i < n; i++) {
    const z = rng.normal();
    const t = rng.next();
    const historyYears = clip(30 * t + 2 * rng.normal(), 0, 30);
    raw[0] = clip(0.22 + 0.09 * z + 0.07 * rng.normal(), 0, 0.6); // debt_to_income
    raw[1] = sigmoid(-0.6 + 1.1 * z + 0.7 * rng.normal()); // credit_utilization
    raw[2] = Math.min(12, rng.poisson(Math.exp(-1.3 + 0.9 * z))); // late_payments_12m
    raw[3] = historyYears; // credit_history_years
    raw[4] = 4.55 + 0.35 * t - 0.12 * z + 0.18 * rng.normal(); // log10_annual_income
    raw[5] = clip(0.08 + 0.25 * rng.next() + 0.1 * z + 0.08 * rng.normal(), 0, 1); // loan_to_income
    raw[6] = Math.min(10, rng.poisson(Math.exp(-0.2 + 0.5 * z))); // credit_inquiries_6m
    raw[7] = clip(0.7 * historyYears + 4 * rng.normal(), 0, 40); // employment_years
    const row = i * CREDIT_FEATURE_COUNT;
    for (let j = 0; j < CREDIT_FEATURE_COUNT; j++)
      features[row + j] = scaleCreditFeature(j, raw[j] as number);
    const logit = creditTrueLogit(features.subarray(row, row + CREDIT_FEATURE_COUNT));
    const p = sigmoid(logit + CREDIT_LOGIT_NOISE * rng.normal());
    trueProbabilities[i] = sigmoid(logit);
    labels[i] = rng.bernoulli(p) ? 1 : 0;
  }
  return { features, labels, trueProbabilities, n };
}
