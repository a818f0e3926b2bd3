/**
 * Minimal helpers for writing ONNX models by hand with the protobufjs classes from `onnx-proto`.
 *
 * Encoding is deterministic: protobufjs writes fields in field-number order and repeated fields in array
 * order, floats go into `raw_data` as little-endian float32, and nothing time- or host-dependent is
 * recorded. The same inputs therefore always produce the same bytes.
 */
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;

/** IR version 8 (ONNX 1.10–1.12), the newest the bundled `onnx.proto` describes; onnxruntime reads it. */
export const IR_VERSION = 8;
/** Default-domain opset: 17 has every operator used here in its current form (Softmax axis=-1, TopK K input). */
export const OPSET_DEFAULT = 17;
/** `ai.onnx.ml` opset 3 resolves `LabelEncoder` to version 2 (int64 keys → string values). */
export const OPSET_ML = 3;
export const ML_DOMAIN = 'ai.onnx.ml';
export const PRODUCER_NAME = 'vigil-example-model-server';

export type ElemType = 'float' | 'int64' | 'string' | 'bool';
const ELEM_TYPES: Record<ElemType, number> = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  string: onnx.TensorProto.DataType.STRING,
  bool: onnx.TensorProto.DataType.BOOL,
};

/** Float32 tensor stored as little-endian `raw_data`. Values are rounded to float32. */
export function floatTensor(name: string, dims: readonly number[], values: ArrayLike<number>): TensorProto {
  const size = dims.reduce((a, b) => a * b, 1);
  if (values.length !== size)
    throw new Error(`tensor ${name}: dims [${dims}] need ${size} values, got ${values.length}`);
  const raw = new Uint8Array(size * 4);
  const view = new DataView(raw.buffer);
  for (let i = 0; i < size; i++) view.setFloat32(i * 4, values[i] as number, true);
  return { name, dims: [...dims], dataType: ELEM_TYPES.float, rawData: raw };
}

/** Int64 tensor (values must be safe integers). */
export function int64Tensor(name: string, dims: readonly number[], values: readonly number[]): TensorProto {
  return { name, dims: [...dims], dataType: ELEM_TYPES.int64, int64Data: [...values] };
}

/** Reads the float32 values of a FLOAT tensor, whether stored in `raw_data` or `float_data`. */
export function readFloatTensor(tensor: TensorProto): Float32Array {
  if (tensor.dataType !== ELEM_TYPES.float) throw new Error(`tensor ${tensor.name}: not a FLOAT tensor`);
  const raw = tensor.rawData;
  if (raw && raw.length > 0) {
    const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const out = new Float32Array(raw.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
  return Float32Array.from(tensor.floatData ?? []);
}

/** Dimension: a fixed size, or a symbolic name for a variable dimension (e.g. `'N'` for the batch). */
export type Dim = number | string;

export function valueInfo(
  name: string,
  elemType: ElemType,
  dims: readonly Dim[],
  docString?: string,
): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: ELEM_TYPES[elemType],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
    ...(docString === undefined ? {} : { docString }),
  };
}

export type AttributeValue = number | string | readonly number[] | readonly string[] | TensorProto;
/** Integer-valued numbers are written as INT/INTS unless the attribute name is listed in `floatAttrs`. */
function attribute(name: string, value: AttributeValue, isFloat: boolean): AttributeProto {
  const { AttributeType } = onnx.AttributeProto;
  const enc = new TextEncoder();
  if (typeof value === 'number') {
    return isFloat
      ? { name, type: AttributeType.FLOAT, f: value }
      : { name, type: AttributeType.INT, i: value };
  }
  if (typeof value === 'string') return { name, type: AttributeType.STRING, s: enc.encode(value) };
  if (Array.isArray(value)) {
    if (value.every((v) => typeof v === 'string')) {
      return { name, type: AttributeType.STRINGS, strings: (value as string[]).map((v) => enc.encode(v)) };
    }
    return isFloat
      ? { name, type: AttributeType.FLOATS, floats: [...(value as number[])] }
      : { name, type: AttributeType.INTS, ints: [...(value as number[])] };
  }
  return { name, type: AttributeType.TENSOR, t: value as TensorProto };
}

export interface NodeOptions {
  name: string;
  domain?: string;
  attributes?: Record<string, AttributeValue>;
  /** Attribute names whose numeric values are floats rather than ints. */
  floatAttributes?: readonly string[];
  docString?: string;
}

export function node(
  opType: string,
  inputs: readonly string[],
  outputs: readonly string[],
  options: NodeOptions,
): NodeProto {
  const floats = new Set(options.floatAttributes ?? []);
  return {
    input: [...inputs],
    output: [...outputs],
    name: options.name,
    opType,
    ...(options.domain === undefined ? {} : { domain: options.domain }),
    attribute: Object.entries(options.attributes ?? {}).map(([k, v]) => attribute(k, v, floats.has(k))),
    ...(options.docString === undefined ? {} : { docString: options.docString }),
  };
}

/** A `Constant` node: used for fixed, non-learned values so that every FLOAT initializer is a weight. */
export function constant(name: string, value: TensorProto): NodeProto {
  return node('Constant', [], [name], { name: `${name}_const`, attributes: { value: { ...value, name } } });
}

export interface ModelSpec {
  graphName: string;
  docString: string;
  nodes: NodeProto[];
  /** Learned parameters only (drift perturbs every FLOAT initializer). */
  initializers: TensorProto[];
  inputs: ValueInfoProto[];
  outputs: ValueInfoProto[];
  producerVersion: string;
  /** Written to `metadata_props` in the given order. */
  metadata: ReadonlyArray<readonly [string, string]>;
  usesMlDomain: boolean;
}

export function encodeModel(spec: ModelSpec): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    opsetImport: [
      { domain: '', version: OPSET_DEFAULT },
      ...(spec.usesMlDomain ? [{ domain: ML_DOMAIN, version: OPSET_ML }] : []),
    ],
    producerName: PRODUCER_NAME,
    producerVersion: spec.producerVersion,
    domain: 'dev.vigil.examples',
    modelVersion: 1,
    docString: spec.docString,
    graph: {
      node: spec.nodes,
      name: spec.graphName,
      initializer: spec.initializers,
      input: spec.inputs,
      output: spec.outputs,
    },
    metadataProps: spec.metadata.map(([key, value]) => ({ key, value })),
  });
  return onnx.ModelProto.encode(model).finish();
}
