/**
 * The example server's two real models, executed by onnxruntime: a tabular credit scorer and a product-title
 * categorizer (see MODELS.md). Each model is one {@link ModelKind} entry; the ONNX session handling, output
 * decoding and weight drift are shared.
 *
 * @example
 * const model = await loadModel('credit-scorer');
 * const [probability, label] = await model.infer(model.smokeInputs());
 * await model.close();
 */
import { readFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as ort from 'onnxruntime-node';
import { CREDIT_FEATURE_COUNT, featurizeTitles, TITLE_FEATURE_DIM } from './features.js';
import { CREDIT_LABELS } from './train/credit-scorer.js';
import { floatTensor, onnx, readFloatTensor } from './train/onnx-builder.js';
import { createRng } from './train/prng.js';
import { PRODUCT_CATEGORIES } from './train/product-data.js';

/** Open Inference Protocol v2 tensor datatypes. */
export type Datatype =
  | 'BOOL'
  | 'UINT8'
  | 'UINT16'
  | 'UINT32'
  | 'UINT64'
  | 'INT8'
  | 'INT16'
  | 'INT32'
  | 'INT64'
  | 'FP16'
  | 'FP32'
  | 'FP64'
  | 'BYTES';

/** Name, datatype and shape of a model input or output; `-1` marks a variable dimension. */
export interface TensorMetadata {
  name: string;
  datatype: Datatype;
  shape: number[];
}

/** A tensor as carried by the Open Inference Protocol: flat, row-major `data`. */
export interface Tensor {
  name: string;
  datatype: Datatype;
  shape: number[];
  data: number[] | string[];
}

export interface ModelInfo {
  name: string;
  version: string;
  platform: string;
  inputs: TensorMetadata[];
  outputs: TensorMetadata[];
}

export type ModelName = 'credit-scorer' | 'product-categorizer';
export const MODEL_NAMES: readonly ModelName[] = ['credit-scorer', 'product-categorizer'];

/** Largest batch (rows) one `infer` call accepts; bigger requests get a {@link ModelInputError}. */
export const MAX_BATCH_SIZE = 64;
/** Longest product title (UTF-16 code units) the categorizer accepts. */
export const MAX_TITLE_LENGTH = 2048;
/** Default `withDrift` scale: 1 = each model's calibrated drift strength (see MODELS.md, "Drift"). */
export const DEFAULT_DRIFT_SCALE = 1;
export const DEFAULT_DRIFT_SEED = 1;

/**
 * Bad client input (wrong input name, datatype, shape/data-length mismatch, non-number, batch too large).
 * The server maps it to HTTP 400. The message says what was wrong and where, e.g.
 * `input "features": expected shape [N, 8], got [1, 7]`.
 */
export class ModelInputError extends Error {
  readonly code = 'VIGIL_ERR_MODEL_INPUT';
  override readonly name = 'ModelInputError';
}

export interface Model {
  /** Version "1", platform "onnxruntime_onnx". */
  readonly info: ModelInfo;
  /** Every label the model can answer, in its output order (`label`, or `category` and `top_categories`). */
  readonly labels: readonly string[];
  /** Runs one batch. Outputs come in `info.outputs` order. Throws {@link ModelInputError} for bad input. */
  infer(inputs: Tensor[]): Promise<Tensor[]>;
  /** The documented smoke payload for health checks: one small, known-good request (a fresh copy each call). */
  smokeInputs(): Tensor[];
  /**
   * A copy whose weight matrices carry seeded Gaussian noise: predictions shift but stay plausible and in
   * range. `scale` multiplies the model's calibrated noise level (default {@link DEFAULT_DRIFT_SCALE}; 2 =
   * twice as strong); `sigma`, when given, is the noise itself, as a fraction of each matrix's RMS (the same
   * for every model: graded drift such as σ = 0.01, 0.05, 0.1); `seed` defaults to {@link DEFAULT_DRIFT_SEED}.
   * Same options, same copy.
   */
  withDrift(options?: { seed?: number; scale?: number; sigma?: number }): Promise<Model>;
  /** Releases the onnxruntime session; later `infer` calls throw. */
  close(): Promise<void>;
}

/** What differs between models: their contract, how client tensors become ONNX feeds, and the smoke payload. */
interface ModelKind {
  info: ModelInfo;
  /** Validates the (single) client input and converts it to the ONNX graph's feeds. */
  toFeeds(input: Tensor): Record<string, ort.Tensor>;
  smokeInputs(): Tensor[];
  /** Every label the model answers, in output order. */
  labels: readonly string[];
  /**
   * Drift noise at scale 1, as a fraction of each weight matrix's RMS. Calibrated so that the default drift is
   * clearly visible (MODELS.md, "Drift"): the sparse linear categorizer needs more than the dense MLP.
   */
  driftNoise: number;
}

const PLATFORM = 'onnxruntime_onnx';

const formatShape = (shape: readonly unknown[]): string => `[${shape.join(', ')}]`;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    return String(value);
  }
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/** Checks the parts every tensor needs (shape of non-negative integers, data array) and returns the shape. */
function checkTensorFrame(input: Tensor, expected: TensorMetadata): number[] {
  const where = `input "${expected.name}"`;
  if (input.datatype !== expected.datatype) {
    const got =
      typeof input.datatype === 'string' && /^\w{1,16}$/.test(input.datatype)
        ? input.datatype
        : describe(input.datatype);
    throw new ModelInputError(`${where}: expected datatype ${expected.datatype}, got ${got}`);
  }
  const shape: unknown = input.shape;
  if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
    throw new ModelInputError(
      `${where}: shape must be a list of non-negative integers, got ${Array.isArray(shape) ? formatShape(shape) : describe(shape)}`,
    );
  }
  if (!Array.isArray(input.data))
    throw new ModelInputError(`${where}: data must be an array, got ${describe(input.data)}`);
  return shape as number[];
}

function checkBatch(where: string, rows: number): void {
  if (rows < 1 || rows > MAX_BATCH_SIZE) {
    throw new ModelInputError(`${where}: batch size must be 1 to ${MAX_BATCH_SIZE} rows, got ${rows}`);
  }
}

function checkDataLength(where: string, shape: readonly number[], data: readonly unknown[]): void {
  const size = shape.reduce((a, b) => a * b, 1);
  if (data.length !== size) {
    throw new ModelInputError(
      `${where}: shape ${formatShape(shape)} needs ${size} values, got ${data.length}`,
    );
  }
}

const CREDIT_SCORER: ModelKind = {
  info: {
    name: 'credit-scorer',
    version: '1',
    platform: PLATFORM,
    inputs: [{ name: 'features', datatype: 'FP32', shape: [-1, CREDIT_FEATURE_COUNT] }],
    outputs: [
      { name: 'probability', datatype: 'FP32', shape: [-1, 1] },
      { name: 'label', datatype: 'BYTES', shape: [-1, 1] },
    ],
  },
  toFeeds(input) {
    const expected = this.info.inputs[0] as TensorMetadata;
    const where = `input "${expected.name}"`;
    const shape = checkTensorFrame(input, expected);
    if (shape.length !== 2 || shape[1] !== CREDIT_FEATURE_COUNT) {
      throw new ModelInputError(
        `${where}: expected shape [N, ${CREDIT_FEATURE_COUNT}], got ${formatShape(shape)}`,
      );
    }
    checkBatch(where, shape[0] as number);
    checkDataLength(where, shape, input.data);
    const values = new Float32Array(input.data.length);
    input.data.forEach((v: unknown, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) {
        throw new ModelInputError(`${where}: data[${i}] must be a finite number, got ${describe(v)}`);
      }
      values[i] = v;
    });
    return { features: new ort.Tensor('float32', values, shape) };
  },
  smokeInputs: () => [
    {
      name: 'features',
      datatype: 'FP32',
      shape: [1, CREDIT_FEATURE_COUNT],
      // A typical low-risk applicant (column meanings in src/features.ts / MODELS.md).
      data: [0.3, 0.25, 0, 0.6, 0.55, 0.2, 0.1, 0.45],
    },
  ],
  labels: CREDIT_LABELS,
  driftNoise: 0.8,
};

const PRODUCT_CATEGORIZER: ModelKind = {
  info: {
    name: 'product-categorizer',
    version: '1',
    platform: PLATFORM,
    inputs: [{ name: 'title', datatype: 'BYTES', shape: [-1] }],
    outputs: [
      { name: 'category', datatype: 'BYTES', shape: [-1, 1] },
      { name: 'score', datatype: 'FP32', shape: [-1, 1] },
      { name: 'top_categories', datatype: 'BYTES', shape: [-1, 3] },
      { name: 'top_scores', datatype: 'FP32', shape: [-1, 3] },
    ],
  },
  toFeeds(input) {
    const expected = this.info.inputs[0] as TensorMetadata;
    const where = `input "${expected.name}"`;
    const shape = checkTensorFrame(input, expected);
    if (!(shape.length === 1 || (shape.length === 2 && shape[1] === 1))) {
      throw new ModelInputError(`${where}: expected shape [N] or [N, 1], got ${formatShape(shape)}`);
    }
    const rows = shape[0] as number;
    checkBatch(where, rows);
    checkDataLength(where, shape, input.data);
    input.data.forEach((v: unknown, i) => {
      if (typeof v !== 'string')
        throw new ModelInputError(`${where}: data[${i}] must be a string, got ${describe(v)}`);
      if (v.length > MAX_TITLE_LENGTH) {
        throw new ModelInputError(
          `${where}: data[${i}] is ${v.length} characters long; the maximum is ${MAX_TITLE_LENGTH}`,
        );
      }
    });
    const features = featurizeTitles(input.data as string[]);
    return { features: new ort.Tensor('float32', features, [rows, TITLE_FEATURE_DIM]) };
  },
  smokeInputs: () => [
    {
      name: 'title',
      datatype: 'BYTES',
      shape: [1],
      data: ['Wireless Bluetooth Noise Cancelling Headphones'],
    },
  ],
  labels: PRODUCT_CATEGORIES,
  driftNoise: 2.5,
};

const KINDS: Record<ModelName, ModelKind> = {
  'credit-scorer': CREDIT_SCORER,
  'product-categorizer': PRODUCT_CATEGORIZER,
};

/** Picks the model's single input out of the request, reporting unknown, repeated and missing names. */
function selectInput(kind: ModelKind, inputs: unknown): Tensor {
  const expected = (kind.info.inputs[0] as TensorMetadata).name;
  if (!Array.isArray(inputs)) throw new ModelInputError(`inputs must be an array, got ${describe(inputs)}`);
  for (const input of inputs as unknown[]) {
    const name: unknown = (input as Partial<Tensor> | null)?.name;
    if (name !== expected) {
      throw new ModelInputError(
        `unexpected input ${typeof name === 'string' ? `"${name}"` : describe(name)}: model "${kind.info.name}" takes only "${expected}"`,
      );
    }
  }
  if (inputs.length > 1) throw new ModelInputError(`input "${expected}" given ${inputs.length} times`);
  const input = inputs[0] as Tensor | undefined;
  if (!input) throw new ModelInputError(`missing input "${expected}"`);
  return input;
}

function toTensor(meta: TensorMetadata, value: ort.Tensor | undefined): Tensor {
  if (!value) throw new Error(`onnxruntime returned no "${meta.name}" output`);
  const data =
    value.type === 'string' ? [...(value.data as string[])] : Array.from(value.data as Float32Array);
  return { name: meta.name, datatype: meta.datatype, shape: value.dims.map(Number), data };
}

/** Small thread pools: several servers share a 2-core machine in tests, demos and benchmarks. */
const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = {
  intraOpNumThreads: 1,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
  logSeverityLevel: 3,
};

async function createModel(kind: ModelKind, bytes: Uint8Array): Promise<Model> {
  const session = await ort.InferenceSession.create(bytes, SESSION_OPTIONS);
  const expectedOutputs = kind.info.outputs.map((o) => o.name);
  if (session.inputNames.join() !== 'features' || session.outputNames.join() !== expectedOutputs.join()) {
    await session.release();
    throw new Error(
      `ONNX file for "${kind.info.name}" has inputs [${session.inputNames}] and outputs [${session.outputNames}]; ` +
        `expected [features] and [${expectedOutputs}]`,
    );
  }
  let isClosed = false;
  return {
    info: kind.info,
    labels: kind.labels,
    async infer(inputs) {
      if (isClosed) throw new Error(`model "${kind.info.name}" is closed`);
      const feeds = kind.toFeeds(selectInput(kind, inputs));
      const results = await session.run(feeds);
      return kind.info.outputs.map((meta) => toTensor(meta, results[meta.name]));
    },
    smokeInputs: () => kind.smokeInputs(),
    withDrift: async (options = {}) =>
      createModel(
        kind,
        driftWeights(
          bytes,
          options.seed ?? DEFAULT_DRIFT_SEED,
          options.sigma ?? (options.scale ?? DEFAULT_DRIFT_SCALE) * kind.driftNoise,
        ),
      ),
    async close() {
      if (isClosed) return;
      isClosed = true;
      await session.release();
    },
  };
}

/**
 * Returns a copy of an ONNX model whose weight matrices (FLOAT initializers of rank >= 2; in these graphs every
 * FLOAT initializer is a learned parameter) get Gaussian noise: `w + noise · rms(matrix) · N(0, 1)`, drawn from
 * a PRNG seeded with `seed`. Biases are left alone: noise on a single bias (the output bias, or the "Unknown"
 * class bias) shifts every prediction the same way and made the effect swing wildly between seeds. The drift
 * is recorded in the model's `metadata_props` as `vigil.drift`.
 */
export function driftWeights(bytes: Uint8Array, seed: number, noise: number): Uint8Array {
  if (!(Number.isFinite(noise) && noise >= 0)) throw new RangeError(`drift noise must be >= 0, got ${noise}`);
  const model = onnx.ModelProto.decode(bytes);
  const rng = createRng(seed);
  const graph = model.graph;
  if (!graph) throw new Error('ONNX model has no graph');
  graph.initializer = (graph.initializer ?? []).map((tensor) => {
    if (tensor.dataType !== onnx.TensorProto.DataType.FLOAT || (tensor.dims ?? []).length < 2) return tensor;
    const weights = readFloatTensor(tensor);
    const rms = Math.sqrt(weights.reduce((acc, w) => acc + w * w, 0) / Math.max(1, weights.length));
    const noisy = weights.map((w) => w + noise * rms * rng.normal());
    return floatTensor(tensor.name ?? '', (tensor.dims ?? []).map(Number), noisy);
  });
  model.metadataProps.push(
    onnx.StringStringEntryProto.create({ key: 'vigil.drift', value: `seed=${seed} noise=${noise}` }),
  );
  return onnx.ModelProto.encode(model).finish();
}

/** `src/` and `dist/` are both siblings of the package's `models/` folder. */
const DEFAULT_MODELS_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../models');

/**
 * Loads `<modelsDir>/<name>.onnx` into an onnxruntime session (1 intra-op and 1 inter-op thread).
 *
 * @param options.modelsDir folder holding the `.onnx` files (default: the package's `models/`).
 * @throws if the file is missing or is not the expected model.
 */
export async function loadModel(name: ModelName, options: { modelsDir?: string } = {}): Promise<Model> {
  const kind = KINDS[name];
  if (!kind) throw new Error(`unknown model "${String(name)}"; known: ${MODEL_NAMES.join(', ')}`);
  const bytes = await readFile(join(options.modelsDir ?? DEFAULT_MODELS_DIR, `${name}.onnx`));
  return createModel(kind, new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}
