/**
 * Fault injection for the example model server: the failure modes that real model servers show in
 * production, switchable at run time. Off unless the server is started with `--enable-faults`.
 *
 * Each mode, and what a good health check should see, is documented in the README beside this
 * package (examples/model-server/README.md).
 */
import { z } from 'zod';
import type { Tensor } from './models.js';

/** gRPC statuses the `errors` fault can answer with: every one but OK. */
export const GRPC_ERROR_STATUSES = [
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
] as const;
export type GrpcErrorStatus = (typeof GRPC_ERROR_STATUSES)[number];

/**
 * The gRPC status an injected HTTP 5xx becomes over gRPC, unless the fault names one: 501 →
 * UNIMPLEMENTED, 502 / 503 / 504 → UNAVAILABLE (gRPC's own HTTP-to-gRPC mapping for gateways), any
 * other 5xx → INTERNAL (what KServe and Triton answer for a failed inference).
 */
export function grpcStatusOf(params: {
  status: number;
  grpcStatus?: GrpcErrorStatus | undefined;
}): GrpcErrorStatus {
  if (params.grpcStatus !== undefined) return params.grpcStatus;
  if (params.status === 501) return 'UNIMPLEMENTED';
  if (params.status >= 502 && params.status <= 504) return 'UNAVAILABLE';
  return 'INTERNAL';
}

const scope = z
  .enum(['infer', 'all'])
  .default('infer')
  .describe(
    '"infer": inference requests only (REST infer, gRPC ModelInfer); "all": every route and RPC except /admin',
  );
const model = z.string().min(1).optional().describe('apply to this model only (default: every model)');

/** Parameter schemas per fault mode; unknown parameters are rejected. */
export const FAULT_SCHEMAS = {
  /** Fixed or jittered latency added before the answer: `ms + uniform(0, jitterMs)`. */
  latency: z.strictObject({
    ms: z.number().int().min(0).max(600_000),
    jitterMs: z.number().int().min(0).max(600_000).default(0),
    scope,
    model,
  }),
  /**
   * 5xx answers for all requests or for an exact fraction of them (`rate` 0.25 fails 1 in 4). Over gRPC
   * the status is `grpcStatus`, by default the one the HTTP status stands for (see {@link grpcStatusOf}).
   */
  errors: z.strictObject({
    status: z.number().int().min(500).max(599).default(500),
    rate: z.number().gt(0).max(1).default(1),
    grpcStatus: z
      .enum(GRPC_ERROR_STATUSES)
      .optional()
      .describe(
        'the gRPC status to answer with (default: from status: 501 UNIMPLEMENTED, 502–504 UNAVAILABLE, else INTERNAL)',
      ),
    scope,
    model,
  }),
  /** The request is accepted and never answered. */
  hang: z.strictObject({ scope, model }),
  /** Every output tensor comes back with no data (shape [0, …]). */
  empty: z.strictObject({ model }),
  /** Every predicted label or category is "Unknown". */
  unknown: z.strictObject({ model }),
  /** An upstream schema break: features arrive as zeros (numbers) or empty strings (text). */
  'zero-features': z.strictObject({ model }),
  /** Every FP32 output is NaN, written as bare `NaN` tokens. */
  nan: z.strictObject({ model }),
  /** Probabilities and scores are pushed outside [0, 1] (into [1.25, 1.75]). */
  'out-of-range': z.strictObject({ model }),
  /**
   * The response drops `outputs` and answers `{model_name, predictions}` instead (REST); over gRPC the
   * response has no outputs at all.
   */
  'wrong-schema': z.strictObject({ model }),
  /** Perturbed weights: predictions shift but stay plausible and in range. */
  drift: z
    .strictObject({
      seed: z.number().int().min(0).default(1),
      scale: z.number().gt(0).max(10).optional(),
      sigma: z
        .number()
        .gt(0)
        .max(10)
        .optional()
        .describe(
          "noise per weight as a fraction of its matrix's RMS, instead of the model's calibrated scale",
        ),
      model,
    })
    .refine((d) => d.scale === undefined || d.sigma === undefined, {
      message: 'give scale or sigma, not both',
    }),
  /** Readiness fails (503) while liveness stays 200; inference answers 503. */
  'not-ready': z.strictObject({ model }),
  /** The process exits with `exitCode` after `afterMs`. */
  crash: z.strictObject({
    afterMs: z.number().int().min(0).max(3_600_000).default(0),
    exitCode: z.number().int().min(1).max(255).default(1),
  }),
  /** An upstream scaling bug: every numeric input feature is multiplied by `factor` before inference. */
  'scaled-features': z.strictObject({
    factor: z.number().min(-1e6).max(1e6).default(10).describe('what every numeric feature is multiplied by'),
    model,
  }),
  /** A swapped label map: every label the model answers becomes the next one of its label list. */
  'swapped-labels': z.strictObject({ model }),
  /**
   * The server's own nondeterminism (as on a GPU, where summation order varies): every FP32 output is
   * multiplied by `1 + rel × z`, z standard normal from a seeded generator that advances per answer.
   * Not a fault to detect: the noise a canary's baseline learns and must not alarm on.
   */
  'output-noise': z.strictObject({
    rel: z.number().gt(0).max(0.1).default(0.001).describe('standard deviation of the relative noise'),
    seed: z.number().int().min(0).default(1),
    model,
  }),
  /**
   * A streamed generation (the OpenAI-compatible endpoint) stops after `afterTokens` tokens for `ms`,
   * then goes on; `ms` 0 never goes on (the connection stays open: an engine that hung mid-stream).
   */
  stall: z.strictObject({
    afterTokens: z.number().int().min(0).max(100_000).default(1),
    ms: z.number().int().min(0).max(600_000).default(0),
  }),
  /** A streamed generation ends after its tokens with no finish_reason and no `[DONE]`: cut off. */
  'no-finish': z.strictObject({}),
  /** `/metrics` reports `waiting` requests in the queue (`vllm:num_requests_waiting`): saturation. */
  'queue-depth': z.strictObject({ waiting: z.number().int().min(0).max(1_000_000).default(10) }),
  /**
   * A new model version: the reported version is `version` and inference takes `ms + uniform(0,
   * jitterMs)` longer; the answers stay the same.
   */
  'version-bump': z.strictObject({
    version: z.string().min(1).max(64).default('2'),
    ms: z.number().int().min(0).max(600_000).default(20),
    jitterMs: z.number().int().min(0).max(600_000).default(0),
    model,
  }),
} as const;

export type FaultMode = keyof typeof FAULT_SCHEMAS;
export type FaultParams<M extends FaultMode> = z.output<(typeof FAULT_SCHEMAS)[M]>;
export const FAULT_MODES = Object.keys(FAULT_SCHEMAS) as FaultMode[];

/** A fault definition that failed validation; the message names the mode and the field. */
export class FaultError extends Error {
  override name = 'FaultError';
}

export function isFaultMode(mode: string): mode is FaultMode {
  return Object.hasOwn(FAULT_SCHEMAS, mode);
}

/**
 * Validates parameters for a mode and fills in defaults.
 *
 * @throws FaultError e.g. `fault "latency": ms: expected number, received string`.
 */
export function parseFault<M extends FaultMode>(mode: M, params: unknown): FaultParams<M>;
export function parseFault(mode: string, params: unknown): FaultParams<FaultMode>;
export function parseFault(mode: string, params: unknown): FaultParams<FaultMode> {
  if (!isFaultMode(mode)) throw new FaultError(`unknown fault "${mode}"; known: ${FAULT_MODES.join(', ')}`);
  const result = FAULT_SCHEMAS[mode].safeParse(params ?? {});
  if (!result.success) {
    const problems = result.error.issues.map(
      (i) => `${i.path.length ? `${i.path.join('.')}: ` : ''}${i.message}`,
    );
    throw new FaultError(`fault "${mode}": ${problems.join('; ')}`);
  }
  return result.data;
}

/**
 * Parses the command-line form `MODE[:key=value,key=value]`, e.g. `latency:ms=200,jitterMs=50`.
 * Values that look like numbers become numbers.
 */
export function parseFaultArg(arg: string): { mode: FaultMode; params: FaultParams<FaultMode> } {
  const colon = arg.indexOf(':');
  const mode = colon === -1 ? arg : arg.slice(0, colon);
  const raw: Record<string, unknown> = {};
  if (colon !== -1 && colon < arg.length - 1) {
    for (const pair of arg.slice(colon + 1).split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new FaultError(`fault "${mode}": expected key=value, got "${pair}"`);
      const value = pair.slice(eq + 1);
      raw[pair.slice(0, eq)] = value !== '' && Number.isFinite(Number(value)) ? Number(value) : value;
    }
  }
  const params = parseFault(mode, raw);
  return { mode: mode as FaultMode, params };
}

/** The set of active faults of one server; runtime state, separate from the server's options. */
export class FaultState {
  readonly #active = new Map<FaultMode, FaultParams<FaultMode>>();
  // Error diffusion for `errors.rate`: fails exactly `rate` of the requests, evenly spread.
  #errorDebt = 0;

  set<M extends FaultMode>(mode: M, params: FaultParams<M>): void {
    this.#active.set(mode, params);
    if (mode === 'errors') this.#errorDebt = 0;
  }

  clear(mode?: FaultMode): void {
    if (mode === undefined) this.#active.clear();
    else this.#active.delete(mode);
  }

  list(): Record<string, FaultParams<FaultMode>> {
    return Object.fromEntries(this.#active);
  }

  get size(): number {
    return this.#active.size;
  }

  /**
   * The parameters of `mode` when it is active for this model and route kind, else undefined.
   * `isInfer` is false for health and metadata routes, which faults with `scope: "infer"` do not
   * reach (modes without a scope reach every route they are consulted on).
   */
  get<M extends FaultMode>(mode: M, modelName?: string, isInfer = true): FaultParams<M> | undefined {
    const params = this.#active.get(mode) as
      | (FaultParams<M> & { model?: string; scope?: string })
      | undefined;
    if (!params) return undefined;
    if (params.model !== undefined && modelName !== undefined && params.model !== modelName) return undefined;
    if (!isInfer && params.scope === 'infer') return undefined;
    return params;
  }

  /** Whether this request should get an injected 5xx, under `errors.rate`. */
  takeError(rate: number): boolean {
    this.#errorDebt += rate;
    if (this.#errorDebt >= 1 - 1e-9) {
      this.#errorDebt -= 1;
      return true;
    }
    return false;
  }
}

/** Inputs as a scaling bug upstream would send them: numeric tensors times `factor`, text untouched. */
export function scaleFeatures(inputs: readonly Tensor[], factor: number): Tensor[] {
  return inputs.map((t) =>
    t.datatype === 'BYTES'
      ? t
      : { ...t, data: (t.data as number[]).map((v) => (typeof v === 'number' ? v * factor : v)) },
  );
}

/**
 * Outputs as a swapped label map gives them: each string that is one of `labels` becomes the next one
 * (the last becomes the first), so every label changes, and a binary model's two labels trade places.
 * Other strings and numeric outputs are left alone.
 */
export function swapLabels(outputs: readonly Tensor[], labels: readonly string[]): Tensor[] {
  const next = new Map(labels.map((label, i) => [label, labels[(i + 1) % labels.length] as string]));
  return outputs.map((t) =>
    t.datatype === 'BYTES' ? { ...t, data: (t.data as string[]).map((v) => next.get(v) ?? v) } : t,
  );
}

/** The version a model reports while faults are active: a `version-bump`'s, else its own. */
export function reportedVersion(faults: FaultState, modelName: string, version: string): string {
  return faults.get('version-bump', modelName)?.version ?? version;
}
