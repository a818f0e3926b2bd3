/**
 * Normalisation of predictions of any shape into flat named outputs (`document.outputs`), so that an
 * assertion can say `outputs.probability` whatever the protocol.
 */
import type { ProbeDocument } from '../types.js';

/** A plain object (not an array, not null). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Flattens nested arrays row-major; a scalar becomes a one-element array. */
export function flatten(value: unknown): unknown[] {
  if (!Array.isArray(value)) return [value];
  const out: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) for (const item of v) walk(item);
    else out.push(v);
  };
  walk(value);
  return out;
}

/** The shape of a rectangular nested array (`[[1,2],[3,4]]` → `[2, 2]`); undefined when ragged or not an array. */
export function shapeOf(value: unknown): number[] | undefined {
  if (!Array.isArray(value)) return undefined;
  const shape: number[] = [];
  let level: unknown[] = [value];
  for (;;) {
    const first = level[0];
    if (!Array.isArray(first)) {
      if (level.some((v) => Array.isArray(v))) return undefined;
      return shape;
    }
    const width = first.length;
    if (!level.every((v) => Array.isArray(v) && v.length === width)) return undefined;
    shape.push(width);
    level = level.flatMap((v) => v as unknown[]);
    if (width === 0) return shape;
  }
}

/** Normalised outputs and their shapes. */
export interface Normalised {
  outputs: Record<string, unknown[]>;
  shapes: Record<string, number[]>;
}

function put(target: Normalised, name: string, value: unknown): void {
  target.outputs[name] = flatten(value);
  const shape = shapeOf(value);
  if (shape) target.shapes[name] = shape;
}

/**
 * Normalises row-format predictions (KServe v1 / TF Serving `predictions`, TorchServe answers):
 * - an array of objects (one per instance) → one output per key, its values over the rows;
 * - any other array or a scalar → one output named `defaultName`, flattened;
 * - an object → one output per key (columnar).
 */
export function normaliseRows(value: unknown, defaultName: string): Normalised {
  const result: Normalised = { outputs: {}, shapes: {} };
  if (Array.isArray(value) && value.length > 0 && value.every(isRecord)) {
    const keys = new Set(value.flatMap((row) => Object.keys(row)));
    for (const key of keys)
      put(
        result,
        key,
        value.filter((row) => key in row).map((row) => row[key]),
      );
  } else if (isRecord(value)) {
    for (const [key, v] of Object.entries(value)) put(result, key, v);
  } else {
    put(result, defaultName, value);
  }
  return result;
}

/** Writes normalised outputs (and shapes, when any) into a document. */
export function setOutputs(document: ProbeDocument, normalised: Normalised): void {
  document.outputs = normalised.outputs;
  if (Object.keys(normalised.shapes).length > 0) document.shapes = normalised.shapes;
}

/**
 * Normalises a TF-Serving-style predict response (also KServe v1's): row format `{"predictions": …}`
 * (default output name `predictions`) or columnar `{"outputs": …}` (an object gives one output per
 * key; a bare array, a single unnamed output, is named `outputs`). Undefined when neither key is there.
 */
export function normalisePredict(body: unknown): Normalised | undefined {
  if (!isRecord(body)) return undefined;
  if ('predictions' in body) return normaliseRows(body.predictions, 'predictions');
  if ('outputs' in body) return normaliseRows(body.outputs, 'outputs');
  return undefined;
}
