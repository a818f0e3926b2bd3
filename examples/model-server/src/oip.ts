/**
 * Open Inference Protocol v2 (REST) request decoding and response encoding.
 *
 * Shapes follow `packages/vigil/specs/open_inference_rest.yaml`: an inference request is
 * `{id?, parameters?, inputs: [{name, shape, datatype, data}], outputs?: [{name}]}` and `data` is
 * row-major, nested or flat.
 */
import type { Datatype, Tensor } from './models.js';

/** Every datatype the Open Inference Protocol defines. */
export const DATATYPES: readonly Datatype[] = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
];
const DATATYPE_SET: ReadonlySet<string> = new Set(DATATYPES);

/** A malformed inference request: the server answers 400 with `{"error": message}`. */
export class InferenceRequestError extends Error {
  override name = 'InferenceRequestError';
}

/** A decoded inference request. `outputs` is undefined when the client asked for every output. */
export interface InferenceRequest {
  id?: string;
  inputs: Tensor[];
  outputs?: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value === 'string' ? `"${value}"` : typeof value;
}

/** Flattens nested `data` row-major, checking each element against the datatype. */
function flattenData(data: unknown[], datatype: Datatype, where: string): number[] | string[] {
  const out: unknown[] = [];
  const stack: unknown[][] = [data];
  const indices: number[] = [0];
  // Iterative depth-first walk: a hostile, deeply nested body cannot overflow the call stack.
  while (stack.length > 0) {
    const level = stack.length - 1;
    const arr = stack[level] as unknown[];
    const i = indices[level] as number;
    if (i >= arr.length) {
      stack.pop();
      indices.pop();
      continue;
    }
    indices[level] = i + 1;
    const item = arr[i];
    if (Array.isArray(item)) {
      stack.push(item);
      indices.push(0);
      continue;
    }
    const at = `${where}[${out.length}]`;
    if (datatype === 'BYTES') {
      if (typeof item !== 'string')
        throw new InferenceRequestError(`${at}: expected a string for BYTES, got ${describe(item)}`);
    } else if (datatype === 'BOOL') {
      if (typeof item !== 'boolean')
        throw new InferenceRequestError(`${at}: expected a boolean for BOOL, got ${describe(item)}`);
    } else if (typeof item !== 'number') {
      throw new InferenceRequestError(`${at}: expected a number for ${datatype}, got ${describe(item)}`);
    }
    out.push(item);
  }
  return out as number[] | string[];
}

/**
 * Decodes and validates an OIP v2 inference request body.
 *
 * @throws InferenceRequestError naming the field, e.g.
 *   `inputs[0].data: shape [1, 8] needs 8 values, got 7`.
 */
export function decodeInferenceRequest(body: unknown): InferenceRequest {
  if (!isRecord(body))
    throw new InferenceRequestError(`request body: expected a JSON object, got ${describe(body)}`);
  const { id, inputs, outputs } = body;
  if (id !== undefined && typeof id !== 'string')
    throw new InferenceRequestError(`id: expected a string, got ${describe(id)}`);
  if (!Array.isArray(inputs))
    throw new InferenceRequestError(`inputs: expected an array, got ${describe(inputs)}`);
  if (inputs.length === 0) throw new InferenceRequestError('inputs: expected at least one input tensor');
  const tensors: Tensor[] = inputs.map((input, i) => {
    const where = `inputs[${i}]`;
    if (!isRecord(input))
      throw new InferenceRequestError(`${where}: expected an object, got ${describe(input)}`);
    const { name, shape, datatype, data } = input;
    if (typeof name !== 'string' || name === '')
      throw new InferenceRequestError(`${where}.name: expected a non-empty string, got ${describe(name)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0))
      throw new InferenceRequestError(`${where}.shape: expected an array of non-negative integers`);
    if (typeof datatype !== 'string' || !DATATYPE_SET.has(datatype))
      throw new InferenceRequestError(
        `${where}.datatype: expected one of ${DATATYPES.join(', ')}, got ${describe(datatype)}`,
      );
    if (!Array.isArray(data))
      throw new InferenceRequestError(`${where}.data: expected an array, got ${describe(data)}`);
    const flat = flattenData(data, datatype as Datatype, `${where}.data`);
    const expected = (shape as number[]).reduce((a, b) => a * b, 1);
    if (flat.length !== expected)
      throw new InferenceRequestError(
        `${where}.data: shape [${shape.join(', ')}] needs ${expected} values, got ${flat.length}`,
      );
    return { name, shape: shape as number[], datatype: datatype as Datatype, data: flat };
  });
  let requested: string[] | undefined;
  if (outputs !== undefined) {
    if (!Array.isArray(outputs))
      throw new InferenceRequestError(`outputs: expected an array, got ${describe(outputs)}`);
    requested = outputs.map((o, i) => {
      if (!isRecord(o) || typeof o.name !== 'string')
        throw new InferenceRequestError(`outputs[${i}].name: expected a string`);
      return o.name;
    });
  }
  const request: InferenceRequest = { inputs: tensors };
  if (id !== undefined) request.id = id;
  if (requested !== undefined) request.outputs = requested;
  return request;
}

const NON_FINITE = /"\\u0000(NaN|Infinity|-Infinity)"/g;

/**
 * JSON.stringify that writes non-finite numbers as the bare tokens `NaN`, `Infinity` and
 * `-Infinity`, as TensorFlow Serving and some Python servers do (strict JSON has no such tokens;
 * JSON.stringify would silently write `null`). Vigil's prober must detect these, so the example
 * server emits them faithfully.
 */
export function stringifyWithNonFinite(value: unknown): string {
  let sawNonFinite = false;
  const json = JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'number' && !Number.isFinite(v)) {
      sawNonFinite = true;
      return `\u0000${String(v)}`;
    }
    return v;
  });
  return sawNonFinite ? json.replace(NON_FINITE, '$1') : json;
}
