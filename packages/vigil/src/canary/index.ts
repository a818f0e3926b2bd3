/**
 * Canaries and baselines: golden sets and their rotation, baselines (build, file format, JSON Schema),
 * the comparison of a run with a baseline (per case, and drift statistics across cases), and adaptive
 * latency thresholds. Pure functions over plain data; the prober, store and hub wire them in.
 */
export {
  BASELINE_FORMAT_VERSION,
  type Baseline,
  type BaselineCase,
  BaselineError,
  type BaselineOutput,
  type BuildBaselineInput,
  baselineSchema,
  buildBaseline,
  type NumberStats,
  parseBaseline,
  type RecordedAnswer,
  readBaselineFile,
  requestDigest,
  serialiseBaseline,
} from './baseline.js';
export {
  type CanaryCompareOptions,
  type CanaryFailure,
  type CanaryFailureLevel,
  type CanaryTolerance,
  type CanaryVerdict,
  compareCanary,
  DEFAULT_CANARY_COMPARE,
  type DriftStatistic,
  MIN_LABELS_FOR_FLIP_SHARE,
  type OutputRule,
  observationsFromBaseline,
  type TextMode,
  type ValueComparison,
} from './compare.js';
export {
  checkGoldenCases,
  type GoldenCase,
  type GoldenSetResult,
  loadGoldenSet,
  MAX_CASE_ID_LENGTH,
  parseGoldenSetJsonl,
} from './golden-set.js';
export { BASELINE_JSON_SCHEMA_FILE, generateBaselineJsonSchema } from './json-schema.js';
export {
  type AdaptiveLatencyOptions,
  adaptiveLatencyThresholds,
  classifyLatency,
  DEFAULT_ADAPTIVE_LATENCY,
  type EffectiveLatencyThresholds,
  type LatencyBasis,
  type LatencyProfile,
  latencyProfile,
  type ThresholdSource,
} from './latency.js';
export {
  type CaseObservation,
  inferOutputKind,
  normaliseText,
  OUTPUT_KINDS,
  type OutputKind,
  textSimilarity,
  topkOverlap,
} from './outputs.js';
export { DEFAULT_MAX_CASES_PER_RUN, type RotationWindow, rotationWindow } from './rotation.js';
export {
  jensenShannonDistance,
  type KsResult,
  ksTwoSample,
  PSI_BANDS,
  type PsiBand,
  type PsiResult,
  populationStabilityIndex,
  psiBand,
} from './statistics.js';
