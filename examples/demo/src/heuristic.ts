/**
 * The credit-scorer's fallback in the demo: a rule-based score from the same eight features the model
 * gets, for when neither instance answers within the router's deadline (`fallback: { module }` in the
 * demo's config). Crude on purpose; the point is an answer in time, marked
 * `x-vigil-served-by: fallback` so the caller knows.
 */
import type { FallbackRequest, FallbackResponse } from 'vigil-ml';

/** Feature weights of the rule; features are in [0, 1], the fifth (utilisation) weighs most. */
const WEIGHTS = [0.05, 0.1, 0.1, 0.05, 0.4, 0.15, 0.05, 0.1];

export default function score(request: FallbackRequest): FallbackResponse {
  let data: number[] = [];
  try {
    const parsed = JSON.parse(request.body?.toString() ?? '{}') as { inputs?: Array<{ data?: number[] }> };
    data = parsed.inputs?.[0]?.data ?? [];
  } catch {
    // A body the router did not keep, or not JSON: the prior.
  }
  const p = WEIGHTS.reduce((sum, w, i) => sum + w * Math.min(1, Math.max(0, data[i] ?? 0.5)), 0);
  return {
    body: {
      model_name: 'credit-scorer-heuristic',
      outputs: [
        { name: 'probability', shape: [1, 1], datatype: 'FP32', data: [Math.round(p * 1000) / 1000] },
        { name: 'label', shape: [1, 1], datatype: 'BYTES', data: [p >= 0.5 ? 'decline' : 'approve'] },
      ],
    },
  };
}
