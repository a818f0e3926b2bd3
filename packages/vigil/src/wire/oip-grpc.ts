/**
 * The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`: KServe v2, Triton's port
 * 8001, MLServer), as data: its methods, loaded once from the spec in `specs/open_inference_grpc.proto`,
 * their message shapes, and the tensor codec — typed `contents` (`fp32_contents`, `bytes_contents`, …)
 * and `raw_output_contents` (little-endian bytes) decoded into the same flat, named outputs the REST
 * `oip-v2` adapter produces, and a REST-shaped smoke payload encoded into a `ModelInferRequest`.
 *
 * This file is OIP-specific but has no probe logic (no verdicts): it sits in `wire/` so that the
 * `oip-grpc` protocol adapter stays one file. Every function here is pure except {@link oipGrpcMethods},
 * which reads the proto once.
 */
import { type GrpcMethod, loadGrpcService } from './grpc.js';

/** The proto file (under `specs/`) and the service it defines. */
export const OIP_GRPC_PROTO = 'open_inference_grpc.proto';
export const OIP_GRPC_SERVICE = 'inference.GRPCInferenceService';

// ---------------------------------------------------------------------------------------------
// Messages, as proto-loader gives and takes them (see LOAD_OPTIONS in grpc.ts): proto field names,
// 64-bit integers as numbers, bytes as Buffers, every field present in a response (proto3 defaults).

/** `InferParameter`: one of its fields is set; `parameter_choice` names which (responses only). */
export interface InferParameter {
  bool_param?: boolean;
  int64_param?: number;
  string_param?: string;
  double_param?: number;
  uint64_param?: number;
  parameter_choice?: 'bool_param' | 'int64_param' | 'string_param' | 'double_param' | 'uint64_param';
}

/** `InferTensorContents`: the typed value lists, one per family of datatypes. */
export interface InferTensorContents {
  bool_contents: boolean[];
  int_contents: number[];
  int64_contents: number[];
  uint_contents: number[];
  uint64_contents: number[];
  fp32_contents: number[];
  fp64_contents: number[];
  bytes_contents: Buffer[];
}

/** `ModelMetadataResponse.TensorMetadata`; `-1` marks a variable dimension. */
export interface OipTensorMetadata {
  name: string;
  datatype: string;
  shape: number[];
}

export type ServerLiveRequest = Record<string, never>;
export interface ServerLiveResponse {
  live: boolean;
}
export type ServerReadyRequest = Record<string, never>;
export interface ServerReadyResponse {
  ready: boolean;
}
export interface ModelReadyRequest {
  name: string;
  /** Empty: the server's choice of version. */
  version?: string;
}
export interface ModelReadyResponse {
  ready: boolean;
}
export type ServerMetadataRequest = Record<string, never>;
export interface ServerMetadataResponse {
  name: string;
  version: string;
  extensions: string[];
}
export interface ModelMetadataRequest {
  name: string;
  version?: string;
}
export interface ModelMetadataResponse {
  name: string;
  versions: string[];
  platform: string;
  inputs: OipTensorMetadata[];
  outputs: OipTensorMetadata[];
  properties: Record<string, string>;
}

/** `ModelInferRequest.InferInputTensor`, as sent. */
export interface InferInputTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters?: Record<string, InferParameter>;
  contents?: Partial<InferTensorContents>;
}

/** `ModelInferRequest`, as sent: typed `contents` per input, or `raw_input_contents` for all of them. */
export interface ModelInferRequest {
  model_name: string;
  model_version?: string;
  id?: string;
  parameters?: Record<string, InferParameter>;
  inputs: InferInputTensor[];
  outputs?: Array<{ name: string; parameters?: Record<string, InferParameter> }>;
  raw_input_contents?: Buffer[];
}

/** `ModelInferResponse.InferOutputTensor`, as received. */
export interface InferOutputTensor {
  name: string;
  datatype: string;
  shape: number[];
  parameters: Record<string, InferParameter>;
  /** null when the server sent no contents message. */
  contents: InferTensorContents | null;
}

/** `ModelInferResponse`, as received; `raw_output_contents[i]` holds `outputs[i]` when used. */
export interface ModelInferResponse {
  model_name: string;
  model_version: string;
  id: string;
  parameters: Record<string, InferParameter>;
  outputs: InferOutputTensor[];
  raw_output_contents: Buffer[];
}

/** The service's six methods, typed. */
export interface OipGrpcMethods {
  ServerLive: GrpcMethod<ServerLiveRequest, ServerLiveResponse>;
  ServerReady: GrpcMethod<ServerReadyRequest, ServerReadyResponse>;
  ModelReady: GrpcMethod<ModelReadyRequest, ModelReadyResponse>;
  ServerMetadata: GrpcMethod<ServerMetadataRequest, ServerMetadataResponse>;
  ModelMetadata: GrpcMethod<ModelMetadataRequest, ModelMetadataResponse>;
  ModelInfer: GrpcMethod<ModelInferRequest, ModelInferResponse>;
}

/**
 * The OIP gRPC methods, loaded from the spec once per process.
 *
 * @throws VigilError `VIGIL_ERR_GRPC_PROTO` when the proto that ships in `specs/` is missing (a broken install).
 * @example
 * const oip = oipGrpcMethods();
 * const grpc = createGrpcClient();
 * await grpc.unary({ url: 'grpc://127.0.0.1:8001', method: oip.ServerLive, message: {}, timeoutMs: 1000 });
 */
export function oipGrpcMethods(): OipGrpcMethods {
  return loadGrpcService(OIP_GRPC_PROTO, OIP_GRPC_SERVICE) as unknown as OipGrpcMethods;
}

// ---------------------------------------------------------------------------------------------
// Tensors

/** One value of a decoded tensor: numbers, strings (BYTES, as UTF-8 text) or booleans (BOOL). */
export type TensorValue = number | string | boolean;

/** A decoded tensor: flat, row-major `data`, as the REST API's `outputs[i]`. */
export interface OipTensor {
  name: string;
  datatype: string;
  shape: number[];
  data: TensorValue[];
}

/** A decoding, or what is wrong with the bytes. */
export type TensorReading = { ok: true; data: TensorValue[] } | { ok: false; message: string };

/** The typed-contents field each datatype travels in; FP16 and BF16 have none (raw only). */
const CONTENTS_FIELD: Readonly<Record<string, keyof InferTensorContents | null>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP16: null,
  BF16: null,
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

/** Bytes per element in raw contents; BYTES is length-prefixed (0 here). */
const ELEMENT_BYTES: Readonly<Record<string, number>> = {
  BOOL: 1,
  INT8: 1,
  UINT8: 1,
  INT16: 2,
  UINT16: 2,
  FP16: 2,
  BF16: 2,
  INT32: 4,
  UINT32: 4,
  FP32: 4,
  INT64: 8,
  UINT64: 8,
  FP64: 8,
  BYTES: 0,
};

/** Every datatype the codec reads: the OIP's thirteen, and BF16 (Triton). */
export const OIP_DATATYPES: readonly string[] = Object.keys(CONTENTS_FIELD);

function isKnownDatatype(datatype: string): boolean {
  return Object.hasOwn(CONTENTS_FIELD, datatype);
}

/** Elements a shape holds; undefined for a negative or non-integer dimension. */
export function elementCount(shape: readonly number[]): number | undefined {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) return undefined;
    n *= d;
  }
  return n;
}

const FP16_SCALE = 2 ** -24;

/** IEEE 754 half precision → number. */
function fromFloat16(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exponent = (h >> 10) & 0x1f;
  const fraction = h & 0x3ff;
  if (exponent === 0) return sign * fraction * FP16_SCALE;
  if (exponent === 0x1f) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** number → IEEE 754 half precision (round to nearest even), for encoding requests and tests. */
function toFloat16(value: number): number {
  const f32 = new DataView(new ArrayBuffer(4));
  f32.setFloat32(0, value);
  const bits = f32.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >> 13);
  const rest = mantissa & 0x1fff;
  // A carry out of the mantissa bumps the exponent, up to infinity (0x7c00) at most.
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | Math.min(half, 0x7c00);
}

/** BF16 (the upper half of an FP32) → number. */
function fromBfloat16(h: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setUint32(0, h << 16);
  return view.getFloat32(0);
}

function toBfloat16(value: number): number {
  const view = new DataView(new ArrayBuffer(4));
  view.setFloat32(0, value);
  const bits = view.getUint32(0);
  if (Number.isNaN(value)) return 0x7fc0;
  // Round to nearest even on the dropped half.
  return ((bits + 0x7fff + ((bits >>> 16) & 1)) >>> 16) & 0xffff;
}

/**
 * Decodes one tensor's raw bytes (`raw_output_contents[i]`): little-endian, row-major; BYTES elements are
 * each a 4-byte little-endian length and that many bytes (read as UTF-8 text); BOOL is one byte each;
 * FP16 and BF16 are widened to numbers; INT64 / UINT64 become numbers (exact up to 2^53, as a JSON body
 * read by `JSON.parse` would be).
 *
 * @param count the element count the tensor's shape promises; a different count is an error.
 * @example
 * decodeRawTensor('FP32', Buffer.from(new Float32Array([0.5, 1]).buffer), 2); // {ok: true, data: [0.5, 1]}
 */
export function decodeRawTensor(datatype: string, bytes: Uint8Array, count: number): TensorReading {
  if (!isKnownDatatype(datatype))
    return { ok: false, message: `unknown datatype ${JSON.stringify(datatype)}` };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (datatype === 'BYTES') {
    const data: string[] = [];
    let at = 0;
    while (at < bytes.byteLength) {
      if (at + 4 > bytes.byteLength) {
        return {
          ok: false,
          message: `BYTES element ${data.length}: ${bytes.byteLength - at} byte(s) left, a length prefix needs 4`,
        };
      }
      const length = view.getUint32(at, true);
      at += 4;
      if (at + length > bytes.byteLength) {
        return {
          ok: false,
          message: `BYTES element ${data.length}: length prefix says ${length} bytes, ${bytes.byteLength - at} left`,
        };
      }
      data.push(Buffer.from(bytes.buffer, bytes.byteOffset + at, length).toString('utf8'));
      at += length;
    }
    if (data.length !== count) {
      return {
        ok: false,
        message: `shape needs ${count} BYTES element(s), raw contents hold ${data.length}`,
      };
    }
    return { ok: true, data };
  }
  const size = ELEMENT_BYTES[datatype] as number;
  if (bytes.byteLength !== count * size) {
    return {
      ok: false,
      message: `shape needs ${count} ${datatype} element(s) = ${count * size} bytes, raw contents hold ${bytes.byteLength}`,
    };
  }
  const data: TensorValue[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    switch (datatype) {
      case 'BOOL':
        data[i] = view.getUint8(at) !== 0;
        break;
      case 'INT8':
        data[i] = view.getInt8(at);
        break;
      case 'UINT8':
        data[i] = view.getUint8(at);
        break;
      case 'INT16':
        data[i] = view.getInt16(at, true);
        break;
      case 'UINT16':
        data[i] = view.getUint16(at, true);
        break;
      case 'FP16':
        data[i] = fromFloat16(view.getUint16(at, true));
        break;
      case 'BF16':
        data[i] = fromBfloat16(view.getUint16(at, true));
        break;
      case 'INT32':
        data[i] = view.getInt32(at, true);
        break;
      case 'UINT32':
        data[i] = view.getUint32(at, true);
        break;
      case 'FP32':
        data[i] = view.getFloat32(at, true);
        break;
      case 'INT64':
        data[i] = Number(view.getBigInt64(at, true));
        break;
      case 'UINT64':
        data[i] = Number(view.getBigUint64(at, true));
        break;
      default:
        data[i] = view.getFloat64(at, true);
    }
  }
  return { ok: true, data };
}

/**
 * Encodes values as one tensor's raw bytes, the inverse of {@link decodeRawTensor} (BYTES values are
 * strings, written as UTF-8 with a 4-byte little-endian length each).
 *
 * @throws TypeError for an unknown datatype or a value of the wrong type (a bug in the caller; config
 *   payloads go through {@link encodeInferRequest}, which reports instead).
 */
export function encodeRawTensor(datatype: string, data: readonly TensorValue[]): Buffer {
  if (!isKnownDatatype(datatype)) throw new TypeError(`unknown datatype ${JSON.stringify(datatype)}`);
  if (datatype === 'BYTES') {
    const parts: Buffer[] = [];
    for (const value of data) {
      const text = Buffer.from(String(value), 'utf8');
      const prefix = Buffer.alloc(4);
      prefix.writeUInt32LE(text.length);
      parts.push(prefix, text);
    }
    return Buffer.concat(parts);
  }
  const size = ELEMENT_BYTES[datatype] as number;
  const out = Buffer.alloc(size * data.length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  data.forEach((value, i) => {
    const at = i * size;
    if (datatype === 'BOOL') {
      view.setUint8(at, value ? 1 : 0);
      return;
    }
    if (typeof value !== 'number') throw new TypeError(`${datatype} element ${i}: expected a number`);
    switch (datatype) {
      case 'INT8':
        view.setInt8(at, value);
        break;
      case 'UINT8':
        view.setUint8(at, value);
        break;
      case 'INT16':
        view.setInt16(at, value, true);
        break;
      case 'UINT16':
        view.setUint16(at, value, true);
        break;
      case 'FP16':
        view.setUint16(at, toFloat16(value), true);
        break;
      case 'BF16':
        view.setUint16(at, toBfloat16(value), true);
        break;
      case 'INT32':
        view.setInt32(at, value, true);
        break;
      case 'UINT32':
        view.setUint32(at, value, true);
        break;
      case 'FP32':
        view.setFloat32(at, value, true);
        break;
      case 'INT64':
        view.setBigInt64(at, BigInt(Math.trunc(value)), true);
        break;
      case 'UINT64':
        view.setBigUint64(at, BigInt(Math.trunc(value)), true);
        break;
      default:
        view.setFloat64(at, value, true);
    }
  });
  return out;
}

/**
 * Decodes one tensor's typed contents: the field its datatype travels in (`fp32_contents` for FP32,
 * `int_contents` for INT8/16/32, `bytes_contents` for BYTES as UTF-8 text, …).
 *
 * @param count the element count the tensor's shape promises; a different count is an error, and so is
 *   FP16 / BF16 with values (they have no typed field: servers send them raw).
 * @example
 * decodeTensorContents('INT64', { int64_contents: [3, 4] }, 2); // {ok: true, data: [3, 4]}
 */
export function decodeTensorContents(
  datatype: string,
  contents: Partial<InferTensorContents> | null | undefined,
  count: number,
): TensorReading {
  if (!isKnownDatatype(datatype))
    return { ok: false, message: `unknown datatype ${JSON.stringify(datatype)}` };
  const field = CONTENTS_FIELD[datatype] ?? null;
  if (field === null) {
    if (count === 0) return { ok: true, data: [] };
    return {
      ok: false,
      message: `${datatype} has no typed contents field; it must come in raw_output_contents`,
    };
  }
  const values = (contents?.[field] ?? []) as ReadonlyArray<TensorValue | Buffer>;
  if (values.length !== count) {
    const elsewhere = Object.entries(contents ?? {}).find(
      ([name, list]) => name !== field && Array.isArray(list) && list.length > 0,
    );
    const hint =
      elsewhere === undefined ? '' : ` (${elsewhere[1].length} value(s) in ${elsewhere[0]} instead)`;
    return { ok: false, message: `shape needs ${count} value(s), ${field} holds ${values.length}${hint}` };
  }
  if (datatype === 'BYTES') {
    return { ok: true, data: values.map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : String(v))) };
  }
  return { ok: true, data: values as TensorValue[] };
}

/** Where the response's tensor data came from. */
export type TensorEncoding = 'contents' | 'raw';

/** A non-finite number in an output (the REST API would carry a bare `NaN` token there). */
export interface NonFiniteValue {
  output: string;
  /** Flat (row-major) index. */
  index: number;
  value: number;
}

/** A decoded `ModelInferResponse`. */
export interface DecodedInferResponse {
  modelName: string;
  /** Undefined when the server sent none (an empty string). */
  modelVersion?: string;
  id?: string;
  outputs: OipTensor[];
  /**
   * What the REST `oip-v2` adapter produces (`Normalised` in protocols/normalise.ts): flat data by output
   * name, and each output's shape.
   */
  normalised: { outputs: Record<string, unknown[]>; shapes: Record<string, number[]> };
  encoding: TensorEncoding;
  /** The first non-finite value of each floating-point output that has one, in output order. */
  nonFinite: NonFiniteValue[];
}

/** A decoded response, or what is wrong with it (the adapter's `PROTOCOL` reason). */
export type InferDecoding = { ok: true; value: DecodedInferResponse } | { ok: false; message: string };

/**
 * Decodes a `ModelInferResponse` into named flat outputs — from `raw_output_contents` when the server
 * used it (then `raw_output_contents[i]` is `outputs[i]`, as the spec says), else from each output's
 * typed `contents`. Each output's element count must match its shape. Non-finite numbers are kept as
 * values and listed in `nonFinite` (the adapter decides what they mean).
 *
 * @example
 * const decoded = decodeInferResponse(exchange.message);
 * if (decoded.ok) decoded.value.normalised.outputs.probability; // [0.12]
 */
export function decodeInferResponse(response: ModelInferResponse): InferDecoding {
  const raw = response.raw_output_contents ?? [];
  const encoding: TensorEncoding = raw.length > 0 ? 'raw' : 'contents';
  if (encoding === 'raw' && raw.length !== response.outputs.length) {
    return {
      ok: false,
      message: `raw_output_contents has ${raw.length} entries for ${response.outputs.length} output(s)`,
    };
  }
  const value: DecodedInferResponse = {
    modelName: response.model_name,
    outputs: [],
    normalised: { outputs: {}, shapes: {} },
    encoding,
    nonFinite: [],
  };
  if (response.model_version !== '') value.modelVersion = response.model_version;
  if (response.id !== '') value.id = response.id;
  for (const [i, output] of response.outputs.entries()) {
    const label = `outputs[${i}] (${JSON.stringify(output.name)})`;
    if (output.name === '') return { ok: false, message: `outputs[${i}] has no name` };
    const shape = output.shape.map(Number);
    const count = elementCount(shape);
    if (count === undefined) return { ok: false, message: `${label}: invalid shape [${shape.join(', ')}]` };
    const reading =
      encoding === 'raw'
        ? decodeRawTensor(output.datatype, raw[i] as Buffer, count)
        : decodeTensorContents(output.datatype, output.contents, count);
    if (!reading.ok) {
      return { ok: false, message: `${label}, ${output.datatype} [${shape.join(', ')}]: ${reading.message}` };
    }
    const tensor: OipTensor = { name: output.name, datatype: output.datatype, shape, data: reading.data };
    value.outputs.push(tensor);
    value.normalised.outputs[output.name] = reading.data;
    value.normalised.shapes[output.name] = shape;
    if (output.datatype.startsWith('FP') || output.datatype === 'BF16') {
      const index = reading.data.findIndex((v) => typeof v === 'number' && !Number.isFinite(v));
      if (index !== -1)
        value.nonFinite.push({ output: output.name, index, value: reading.data[index] as number });
    }
  }
  return { ok: true, value };
}

// ---------------------------------------------------------------------------------------------
// Requests

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Flattens nested arrays row-major, iteratively (a deep payload cannot overflow the stack). */
function flattenData(data: unknown[]): unknown[] {
  const out: unknown[] = [];
  const stack: Array<{ items: unknown[]; at: number }> = [{ items: data, at: 0 }];
  while (stack.length > 0) {
    const top = stack[stack.length - 1] as { items: unknown[]; at: number };
    if (top.at >= top.items.length) {
      stack.pop();
      continue;
    }
    const item = top.items[top.at++];
    if (Array.isArray(item)) stack.push({ items: item, at: 0 });
    else out.push(item);
  }
  return out;
}

/** A JSON value as an `InferParameter`: boolean, integer (int64), other number (double) or string. */
function parameterOf(value: unknown): InferParameter | undefined {
  if (typeof value === 'boolean') return { bool_param: value };
  if (typeof value === 'string') return { string_param: value };
  if (typeof value === 'number' && Number.isFinite(value)) {
    return Number.isSafeInteger(value) ? { int64_param: value } : { double_param: value };
  }
  return undefined;
}

function parametersOf(
  value: unknown,
  where: string,
): { ok: true; value?: Record<string, InferParameter> } | { ok: false; message: string } {
  if (value === undefined) return { ok: true };
  if (!isRecord(value)) return { ok: false, message: `${where}: expected an object` };
  const out: Record<string, InferParameter> = {};
  for (const [key, v] of Object.entries(value)) {
    const parameter = parameterOf(v);
    if (parameter === undefined) {
      return { ok: false, message: `${where}.${key}: expected a boolean, a number or a string` };
    }
    out[key] = parameter;
  }
  return { ok: true, value: out };
}

/** Checks one flat value against its datatype. */
function valueProblem(datatype: string, value: unknown): string | undefined {
  if (datatype === 'BYTES') return typeof value === 'string' ? undefined : 'expected a string';
  if (datatype === 'BOOL') return typeof value === 'boolean' ? undefined : 'expected a boolean';
  if (typeof value !== 'number') return 'expected a number';
  if (!datatype.startsWith('FP') && datatype !== 'BF16' && !Number.isInteger(value)) {
    return 'expected an integer';
  }
  return undefined;
}

/** An encoded request, or what is wrong with the payload (naming the field). */
export type InferEncoding = { ok: true; message: ModelInferRequest } | { ok: false; message: string };

/**
 * Encodes a REST-shaped smoke payload — `{id?, parameters?, inputs: [{name, shape, datatype, data,
 * parameters?}], outputs?: [{name, parameters?}]}`, `data` nested or flat, as the `oip-v2` adapter sends
 * it — into a `ModelInferRequest` for `model` (and `version`, when given). Values go into each input's
 * typed `contents`; with `raw: true`, or when an input is FP16 / BF16 (which have no typed field), every
 * input goes into `raw_input_contents` instead (the spec allows one or the other per request).
 *
 * @example
 * encodeInferRequest({ inputs: [{ name: 'x', shape: [1, 2], datatype: 'FP32', data: [[0.1, 0.2]] }] }, 'm');
 * // {ok: true, message: {model_name: 'm', inputs: [{name: 'x', datatype: 'FP32', shape: [1, 2], contents: {fp32_contents: [0.1, 0.2]}}]}}
 */
export function encodeInferRequest(
  payload: unknown,
  model: string,
  options: { version?: string; raw?: boolean } = {},
): InferEncoding {
  if (!isRecord(payload)) return { ok: false, message: 'request: expected an object with "inputs"' };
  if (!Array.isArray(payload.inputs) || payload.inputs.length === 0) {
    return { ok: false, message: 'request.inputs: expected a non-empty array' };
  }
  const message: ModelInferRequest = { model_name: model, inputs: [] };
  if (options.version !== undefined) message.model_version = options.version;
  if (payload.id !== undefined) {
    if (typeof payload.id !== 'string') return { ok: false, message: 'request.id: expected a string' };
    message.id = payload.id;
  }
  const parameters = parametersOf(payload.parameters, 'request.parameters');
  if (!parameters.ok) return parameters;
  if (parameters.value) message.parameters = parameters.value;

  const flat: unknown[][] = [];
  for (const [i, input] of payload.inputs.entries()) {
    const where = `request.inputs[${i}]`;
    if (!isRecord(input)) return { ok: false, message: `${where}: expected an object` };
    const { name, datatype, shape, data } = input;
    if (typeof name !== 'string' || name === '')
      return { ok: false, message: `${where}.name: expected a string` };
    if (typeof datatype !== 'string' || !isKnownDatatype(datatype)) {
      return { ok: false, message: `${where}.datatype: expected one of ${OIP_DATATYPES.join(', ')}` };
    }
    const count = Array.isArray(shape) ? elementCount(shape as number[]) : undefined;
    if (count === undefined) {
      return { ok: false, message: `${where}.shape: expected an array of non-negative integers` };
    }
    if (!Array.isArray(data)) return { ok: false, message: `${where}.data: expected an array` };
    const values = flattenData(data);
    if (values.length !== count) {
      return {
        ok: false,
        message: `${where}.data: shape [${(shape as number[]).join(', ')}] needs ${count} value(s), got ${values.length}`,
      };
    }
    for (const [j, v] of values.entries()) {
      const problem = valueProblem(datatype, v);
      if (problem !== undefined)
        return { ok: false, message: `${where}.data[${j}]: ${problem} for ${datatype}` };
    }
    const tensor: InferInputTensor = { name, datatype, shape: shape as number[] };
    const inputParameters = parametersOf(input.parameters, `${where}.parameters`);
    if (!inputParameters.ok) return inputParameters;
    if (inputParameters.value) tensor.parameters = inputParameters.value;
    message.inputs.push(tensor);
    flat.push(values);
  }

  const raw = options.raw === true || message.inputs.some((t) => CONTENTS_FIELD[t.datatype] === null);
  if (raw) {
    message.raw_input_contents = message.inputs.map((t, i) =>
      encodeRawTensor(t.datatype, flat[i] as TensorValue[]),
    );
  } else {
    message.inputs.forEach((t, i) => {
      const field = CONTENTS_FIELD[t.datatype] as keyof InferTensorContents;
      const values = flat[i] as TensorValue[];
      t.contents = {
        [field]: t.datatype === 'BYTES' ? values.map((v) => Buffer.from(String(v), 'utf8')) : values,
      };
    });
  }

  if (payload.outputs !== undefined) {
    if (!Array.isArray(payload.outputs)) return { ok: false, message: 'request.outputs: expected an array' };
    message.outputs = [];
    for (const [i, output] of payload.outputs.entries()) {
      if (!isRecord(output) || typeof output.name !== 'string') {
        return { ok: false, message: `request.outputs[${i}].name: expected a string` };
      }
      const requested: { name: string; parameters?: Record<string, InferParameter> } = { name: output.name };
      const outputParameters = parametersOf(output.parameters, `request.outputs[${i}].parameters`);
      if (!outputParameters.ok) return outputParameters;
      if (outputParameters.value) requested.parameters = outputParameters.value;
      message.outputs.push(requested);
    }
  }
  return { ok: true, message };
}
