import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flatten } from '../protocols/normalise.js';
import { createGrpcClient, type GrpcClient, SPECS_DIR } from './grpc.js';
import {
  decodeInferResponse,
  decodeRawTensor,
  decodeTensorContents,
  elementCount,
  encodeInferRequest,
  encodeRawTensor,
  type InferOutputTensor,
  type InferTensorContents,
  type ModelInferRequest,
  type ModelInferResponse,
  OIP_DATATYPES,
  oipGrpcMethods,
  type TensorValue,
} from './oip-grpc.js';

const bytes = (...b: number[]) => Buffer.from(b);

/** Empty typed contents, as proto-loader gives them (every list present). */
function contents(partial: Partial<InferTensorContents> = {}): InferTensorContents {
  return {
    bool_contents: [],
    int_contents: [],
    int64_contents: [],
    uint_contents: [],
    uint64_contents: [],
    fp32_contents: [],
    fp64_contents: [],
    bytes_contents: [],
    ...partial,
  };
}

function output(
  name: string,
  datatype: string,
  shape: number[],
  typed?: Partial<InferTensorContents>,
): InferOutputTensor {
  return { name, datatype, shape, parameters: {}, contents: typed === undefined ? null : contents(typed) };
}

function response(outputs: InferOutputTensor[], raw: Buffer[] = []): ModelInferResponse {
  return {
    model_name: 'credit-scorer',
    model_version: '1',
    id: '',
    parameters: {},
    outputs,
    raw_output_contents: raw,
  };
}

describe('decodeRawTensor', () => {
  it.each<[string, Buffer, TensorValue[]]>([
    ['FP32', bytes(0, 0, 0, 0x3f, 0, 0, 0x80, 0xbf), [0.5, -1]],
    ['FP64', bytes(0, 0, 0, 0, 0, 0, 0xe0, 0x3f), [0.5]],
    ['INT8', bytes(0xff, 0x01), [-1, 1]],
    ['UINT8', bytes(0xff, 0x00), [255, 0]],
    ['INT16', bytes(0xfe, 0xff), [-2]],
    ['UINT16', bytes(0x34, 0x12), [0x1234]],
    ['INT32', bytes(0xff, 0xff, 0xff, 0xff), [-1]],
    ['UINT32', bytes(0xff, 0xff, 0xff, 0xff), [4_294_967_295]],
    ['INT64', bytes(0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff), [-2]],
    ['UINT64', bytes(0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00), [2 ** 32]],
    ['BOOL', bytes(0, 1, 2), [false, true, true]],
    [
      'FP16',
      bytes(0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b, 0x01, 0x00, 0x00, 0x38),
      [1, -2, 65504, 2 ** -24, 0.5],
    ],
    ['BF16', bytes(0x80, 0x3f, 0x40, 0xc0), [1, -3]],
  ])('%s: little-endian, row-major', (datatype, raw, expected) => {
    expect(decodeRawTensor(datatype, raw, expected.length)).toEqual({ ok: true, data: expected });
  });

  it('FP16 infinities and NaN', () => {
    const reading = decodeRawTensor('FP16', bytes(0x00, 0x7c, 0x00, 0xfc, 0x00, 0x7e), 3);
    expect(reading).toEqual({
      ok: true,
      data: [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN],
    });
  });

  it('BYTES: each element a 4-byte little-endian length and UTF-8 bytes', () => {
    const raw = Buffer.concat([
      bytes(2, 0, 0, 0),
      Buffer.from('hi'),
      bytes(0, 0, 0, 0),
      bytes(6, 0, 0, 0),
      Buffer.from('héllo'),
    ]);
    expect(decodeRawTensor('BYTES', raw, 3)).toEqual({ ok: true, data: ['hi', '', 'héllo'] });
  });

  it('reads a slice at any offset of a larger buffer (proto-loader hands out views)', () => {
    const backing = Buffer.concat([bytes(9), bytes(0, 0, 0x80, 0x3f), bytes(9)]);
    expect(decodeRawTensor('FP32', backing.subarray(1, 5), 1)).toEqual({ ok: true, data: [1] });
  });

  it.each([
    [
      'FP32',
      bytes(0, 0, 0, 0x3f, 0, 0, 0),
      2,
      'shape needs 2 FP32 element(s) = 8 bytes, raw contents hold 7',
    ],
    [
      'INT64',
      bytes(1, 0, 0, 0, 0, 0, 0, 0),
      2,
      'shape needs 2 INT64 element(s) = 16 bytes, raw contents hold 8',
    ],
    ['BYTES', bytes(2, 0), 1, 'BYTES element 0: 2 byte(s) left, a length prefix needs 4'],
    ['BYTES', bytes(9, 0, 0, 0, 0x61), 1, 'BYTES element 0: length prefix says 9 bytes, 1 left'],
    ['BYTES', bytes(1, 0, 0, 0, 0x61), 2, 'shape needs 2 BYTES element(s), raw contents hold 1'],
    ['COMPLEX64', bytes(), 0, 'unknown datatype "COMPLEX64"'],
  ])('%s with bytes that do not fit: says why', (datatype, raw, count, message) => {
    expect(decodeRawTensor(datatype, raw, count)).toEqual({ ok: false, message });
  });
});

describe('encodeRawTensor', () => {
  const samples: Record<string, TensorValue[]> = {
    BOOL: [true, false, true],
    INT8: [-128, 0, 127],
    UINT8: [0, 255],
    INT16: [-32768, 32767],
    UINT16: [0, 65535],
    INT32: [-(2 ** 31), 2 ** 31 - 1],
    UINT32: [0, 2 ** 32 - 1],
    INT64: [-(2 ** 53) + 1, 2 ** 53 - 1],
    UINT64: [0, 2 ** 53 - 1],
    FP16: [0, -0.5, 1.5, 65504, 2 ** -24],
    BF16: [1, -3, 0.5],
    FP32: [0.25, -1.5, 3.5],
    FP64: [0.1, -1e300, Math.PI],
    BYTES: ['credit', '', 'ünïcode'],
  };

  it.each(OIP_DATATYPES)('%s round-trips through decodeRawTensor', (datatype) => {
    const values = samples[datatype] as TensorValue[];
    expect(decodeRawTensor(datatype, encodeRawTensor(datatype, values), values.length)).toEqual({
      ok: true,
      data: values,
    });
  });

  it('rounds to the nearest FP16, overflowing to infinity and underflowing to zero', () => {
    const values = [0.1, 65520, 1e-8, 3e-8, -1e6];
    const reading = decodeRawTensor('FP16', encodeRawTensor('FP16', values), values.length);
    expect(reading).toEqual({
      ok: true,
      data: [0.0999755859375, Number.POSITIVE_INFINITY, 0, 2 ** -24, Number.NEGATIVE_INFINITY],
    });
  });
});

describe('decodeTensorContents', () => {
  it.each<[string, Partial<InferTensorContents>, TensorValue[]]>([
    ['BOOL', { bool_contents: [true, false] }, [true, false]],
    ['INT8', { int_contents: [-3] }, [-3]],
    ['INT16', { int_contents: [-3] }, [-3]],
    ['INT32', { int_contents: [-3] }, [-3]],
    ['INT64', { int64_contents: [5, 6] }, [5, 6]],
    ['UINT8', { uint_contents: [7] }, [7]],
    ['UINT16', { uint_contents: [7] }, [7]],
    ['UINT32', { uint_contents: [7] }, [7]],
    ['UINT64', { uint64_contents: [8] }, [8]],
    ['FP32', { fp32_contents: [0.5] }, [0.5]],
    ['FP64', { fp64_contents: [0.1] }, [0.1]],
    ['BYTES', { bytes_contents: [Buffer.from('repay'), Buffer.from('')] }, ['repay', '']],
  ])('%s reads its own field', (datatype, typed, expected) => {
    expect(decodeTensorContents(datatype, contents(typed), expected.length)).toEqual({
      ok: true,
      data: expected,
    });
  });

  it('a count that does not match the shape is an error, naming where the values went', () => {
    expect(decodeTensorContents('FP32', contents({ fp32_contents: [1, 2] }), 1)).toEqual({
      ok: false,
      message: 'shape needs 1 value(s), fp32_contents holds 2',
    });
    expect(decodeTensorContents('FP32', contents({ fp64_contents: [1] }), 1)).toEqual({
      ok: false,
      message: 'shape needs 1 value(s), fp32_contents holds 0 (1 value(s) in fp64_contents instead)',
    });
  });

  it('FP16 and BF16 have no typed field: only an empty tensor decodes', () => {
    expect(decodeTensorContents('FP16', contents(), 0)).toEqual({ ok: true, data: [] });
    expect(decodeTensorContents('BF16', contents({ fp32_contents: [1] }), 1)).toEqual({
      ok: false,
      message: 'BF16 has no typed contents field; it must come in raw_output_contents',
    });
  });

  it('missing contents read as empty', () => {
    expect(decodeTensorContents('FP32', null, 0)).toEqual({ ok: true, data: [] });
    expect(decodeTensorContents('FP32', null, 1)).toMatchObject({ ok: false });
  });
});

describe('decodeInferResponse', () => {
  // The same answer as the REST API gives it, and as gRPC carries it: typed, then raw.
  const json = {
    model_name: 'credit-scorer',
    model_version: '1',
    outputs: [
      { name: 'probability', datatype: 'FP32', shape: [2, 1], data: [[0.125], [0.75]] },
      { name: 'label', datatype: 'BYTES', shape: [2, 1], data: [['repay'], ['default']] },
      {
        name: 'top',
        datatype: 'INT64',
        shape: [2, 2],
        data: [
          [1, 2],
          [3, 4],
        ],
      },
    ],
  };
  const typed = response([
    output('probability', 'FP32', [2, 1], { fp32_contents: [0.125, 0.75] }),
    output('label', 'BYTES', [2, 1], { bytes_contents: [Buffer.from('repay'), Buffer.from('default')] }),
    output('top', 'INT64', [2, 2], { int64_contents: [1, 2, 3, 4] }),
  ]);
  const raw = response(
    [
      output('probability', 'FP32', [2, 1], {}),
      output('label', 'BYTES', [2, 1], {}),
      output('top', 'INT64', [2, 2], {}),
    ],
    [
      encodeRawTensor('FP32', [0.125, 0.75]),
      encodeRawTensor('BYTES', ['repay', 'default']),
      encodeRawTensor('INT64', [1, 2, 3, 4]),
    ],
  );
  // What the oip-v2 adapter's normalisation makes of the JSON: flat data by name, and shapes.
  const rest = {
    outputs: Object.fromEntries(json.outputs.map((o) => [o.name, flatten(o.data)])),
    shapes: Object.fromEntries(json.outputs.map((o) => [o.name, o.shape])),
  };

  it('typed contents decode to what the REST adapter normalises', () => {
    const decoded = decodeInferResponse(typed);
    expect(decoded).toMatchObject({
      ok: true,
      value: { modelName: 'credit-scorer', modelVersion: '1', encoding: 'contents', nonFinite: [] },
    });
    if (!decoded.ok) return;
    expect(decoded.value.normalised).toEqual(rest);
    expect(decoded.value.outputs[0]).toEqual({
      name: 'probability',
      datatype: 'FP32',
      shape: [2, 1],
      data: [0.125, 0.75],
    });
    expect(decoded.value.id).toBeUndefined();
  });

  it('raw_output_contents decode to the same', () => {
    const decoded = decodeInferResponse(raw);
    expect(decoded).toMatchObject({ ok: true, value: { encoding: 'raw' } });
    if (decoded.ok) expect(decoded.value.normalised).toEqual(rest);
  });

  it('lists the first non-finite value of each floating-point output', () => {
    const decoded = decodeInferResponse(
      response([
        output('probability', 'FP32', [3], { fp32_contents: [0.5, Number.NaN, Number.POSITIVE_INFINITY] }),
        output('count', 'INT32', [1], { int_contents: [1] }),
        output('score', 'FP64', [1], { fp64_contents: [Number.NEGATIVE_INFINITY] }),
      ]),
    );
    expect(decoded.ok && decoded.value.nonFinite).toEqual([
      { output: 'probability', index: 1, value: Number.NaN },
      { output: 'score', index: 0, value: Number.NEGATIVE_INFINITY },
    ]);
  });

  it('an empty tensor (shape [0, 1]) has no data, and no model version is undefined', () => {
    const decoded = decodeInferResponse({
      ...response([output('probability', 'FP32', [0, 1], {})]),
      model_version: '',
    });
    expect(decoded).toEqual({
      ok: true,
      value: {
        modelName: 'credit-scorer',
        outputs: [{ name: 'probability', datatype: 'FP32', shape: [0, 1], data: [] }],
        normalised: { outputs: { probability: [] }, shapes: { probability: [0, 1] } },
        encoding: 'contents',
        nonFinite: [],
      },
    });
  });

  it.each<[string, ModelInferResponse, string]>([
    [
      'raw contents for fewer outputs than listed',
      response([output('a', 'FP32', [1], {}), output('b', 'FP32', [1], {})], [encodeRawTensor('FP32', [1])]),
      'raw_output_contents has 1 entries for 2 output(s)',
    ],
    [
      'a shape its data does not fill',
      response([output('probability', 'FP32', [1, 2], { fp32_contents: [0.5] })]),
      'outputs[0] ("probability"), FP32 [1, 2]: shape needs 2 value(s), fp32_contents holds 1',
    ],
    [
      'raw bytes that do not fit the shape',
      response([output('p', 'FP32', [2], {})], [encodeRawTensor('FP32', [1])]),
      'outputs[0] ("p"), FP32 [2]: shape needs 2 FP32 element(s) = 8 bytes, raw contents hold 4',
    ],
    ['an output without a name', response([output('', 'FP32', [0], {})]), 'outputs[0] has no name'],
    [
      'a negative dimension',
      response([output('p', 'FP32', [-1], {})]),
      'outputs[0] ("p"): invalid shape [-1]',
    ],
    [
      'an unknown datatype',
      response([output('p', 'FP8', [1], {})]),
      'outputs[0] ("p"), FP8 [1]: unknown datatype "FP8"',
    ],
  ])('%s is a protocol problem, said precisely', (_what, given, message) => {
    expect(decodeInferResponse(given)).toEqual({ ok: false, message });
  });
});

describe('encodeInferRequest', () => {
  const credit = {
    id: 'smoke-1',
    parameters: { priority: 1, tag: 'probe', trace: true, temperature: 0.5 },
    inputs: [
      { name: 'features', shape: [1, 8], datatype: 'FP32', data: [[0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7]] },
    ],
    outputs: [{ name: 'probability' }],
  };

  it('puts values in the typed contents field of each datatype, flattened', () => {
    expect(encodeInferRequest(credit, 'credit-scorer', { version: '1' })).toEqual({
      ok: true,
      message: {
        model_name: 'credit-scorer',
        model_version: '1',
        id: 'smoke-1',
        parameters: {
          priority: { int64_param: 1 },
          tag: { string_param: 'probe' },
          trace: { bool_param: true },
          temperature: { double_param: 0.5 },
        },
        inputs: [
          {
            name: 'features',
            datatype: 'FP32',
            shape: [1, 8],
            contents: { fp32_contents: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] },
          },
        ],
        outputs: [{ name: 'probability' }],
      },
    });
    const title = encodeInferRequest(
      { inputs: [{ name: 'title', shape: [1], datatype: 'BYTES', data: ['wireless headphones'] }] },
      'product-categorizer',
    );
    expect(title.ok && title.message.inputs[0]?.contents).toEqual({
      bytes_contents: [Buffer.from('wireless headphones')],
    });
    const ints = encodeInferRequest(
      { inputs: [{ name: 'ids', shape: [2], datatype: 'INT64', data: [3, 4] }] },
      'm',
    );
    expect(ints.ok && ints.message.inputs[0]?.contents).toEqual({ int64_contents: [3, 4] });
  });

  it('sends raw_input_contents when asked, and always for FP16 (which has no typed field)', () => {
    const raw = encodeInferRequest(credit, 'credit-scorer', { raw: true });
    expect(raw.ok && raw.message.inputs[0]?.contents).toBeUndefined();
    expect(raw.ok && raw.message.raw_input_contents).toEqual([
      encodeRawTensor('FP32', [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7]),
    ]);
    const half = encodeInferRequest(
      {
        inputs: [
          { name: 'x', shape: [2], datatype: 'FP16', data: [0.5, 1] },
          { name: 'n', shape: [1], datatype: 'INT32', data: [3] },
        ],
      },
      'm',
    );
    expect(half.ok && half.message.raw_input_contents).toEqual([
      encodeRawTensor('FP16', [0.5, 1]),
      encodeRawTensor('INT32', [3]),
    ]);
  });

  it.each<[string, unknown, string]>([
    ['not an object', [1], 'request: expected an object with "inputs"'],
    ['no inputs', { inputs: [] }, 'request.inputs: expected a non-empty array'],
    [
      'an unknown datatype',
      { inputs: [{ name: 'x', shape: [1], datatype: 'FLOAT', data: [1] }] },
      `request.inputs[0].datatype: expected one of ${OIP_DATATYPES.join(', ')}`,
    ],
    [
      'a bad shape',
      { inputs: [{ name: 'x', shape: [-1], datatype: 'FP32', data: [1] }] },
      'request.inputs[0].shape: expected an array of non-negative integers',
    ],
    [
      'too few values',
      { inputs: [{ name: 'x', shape: [1, 8], datatype: 'FP32', data: [1, 2, 3, 4, 5, 6, 7] }] },
      'request.inputs[0].data: shape [1, 8] needs 8 value(s), got 7',
    ],
    [
      'a string in FP32',
      { inputs: [{ name: 'x', shape: [2], datatype: 'FP32', data: [1, '2'] }] },
      'request.inputs[0].data[1]: expected a number for FP32',
    ],
    [
      'a fraction in INT32',
      { inputs: [{ name: 'x', shape: [1], datatype: 'INT32', data: [1.5] }] },
      'request.inputs[0].data[0]: expected an integer for INT32',
    ],
    [
      'a number in BYTES',
      { inputs: [{ name: 'x', shape: [1], datatype: 'BYTES', data: [1] }] },
      'request.inputs[0].data[0]: expected a string for BYTES',
    ],
    [
      'an object parameter',
      { parameters: { a: {} }, inputs: [{ name: 'x', shape: [1], datatype: 'BOOL', data: [true] }] },
      'request.parameters.a: expected a boolean, a number or a string',
    ],
    [
      'an output without a name',
      { inputs: [{ name: 'x', shape: [1], datatype: 'BOOL', data: [true] }], outputs: [{}] },
      'request.outputs[0].name: expected a string',
    ],
  ])('%s: says which field', (_what, payload, message) => {
    expect(encodeInferRequest(payload, 'm')).toEqual({ ok: false, message });
  });

  it('encodes with the real proto: what a server decodes is what was meant', () => {
    const definition = protoLoader.loadSync(join(SPECS_DIR, 'open_inference_grpc.proto'), {
      keepCase: true,
      longs: Number,
      enums: String,
      defaults: true,
      oneofs: true,
    });
    const service = definition['inference.GRPCInferenceService'] as protoLoader.ServiceDefinition;
    const decode = (service.ModelInfer as protoLoader.MethodDefinition<ModelInferRequest, ModelInferResponse>)
      .requestDeserialize;
    const encoded = encodeInferRequest(credit, 'credit-scorer', { version: '1' });
    if (!encoded.ok) throw new Error(encoded.message);
    const received = decode(oipGrpcMethods().ModelInfer.serialize(encoded.message)) as unknown as {
      inputs: Array<{ contents: { fp32_contents: number[] } }>;
      parameters: Record<string, unknown>;
    };
    const sent = received.inputs[0]?.contents.fp32_contents ?? [];
    // FP32 on the wire: each value is the nearest float.
    expect(sent).toEqual(credit.inputs[0]?.data[0]?.map((v) => Math.fround(v)));
    expect(received.parameters.priority).toMatchObject({ int64_param: 1, parameter_choice: 'int64_param' });
  });
});

describe('elementCount', () => {
  it('multiplies dimensions; a negative or fractional one is undefined', () => {
    expect(elementCount([2, 3, 4])).toBe(24);
    expect(elementCount([])).toBe(1);
    expect(elementCount([0, 5])).toBe(0);
    expect(elementCount([-1, 8])).toBeUndefined();
    expect(elementCount([1.5])).toBeUndefined();
  });
});

describe('ModelInfer over gRPC, typed and raw', () => {
  let server: grpc.Server;
  let url = '';
  let client: GrpcClient;
  beforeAll(async () => {
    const definition = grpc.loadPackageDefinition(
      protoLoader.loadSync(join(SPECS_DIR, 'open_inference_grpc.proto'), {
        keepCase: true,
        longs: Number,
        enums: String,
        defaults: true,
        oneofs: true,
      }),
    ) as unknown as { inference: { GRPCInferenceService: { service: grpc.ServiceDefinition } } };
    server = new grpc.Server();
    // Echoes the FP32 input back as output "echo": raw when the request asks with parameter raw=true.
    server.addService(definition.inference.GRPCInferenceService.service, {
      ModelInfer: (
        call: grpc.ServerUnaryCall<
          ModelInferRequest & { parameters: Record<string, { bool_param?: boolean }> },
          unknown
        >,
        cb: grpc.sendUnaryData<unknown>,
      ) => {
        const input = call.request.inputs[0];
        const values = (input?.contents?.fp32_contents ?? []) as number[];
        const raw = call.request.parameters.raw?.bool_param === true;
        const out = { name: 'echo', datatype: 'FP32', shape: input?.shape ?? [] };
        cb(null, {
          model_name: call.request.model_name,
          model_version: '7',
          outputs: [raw ? out : { ...out, contents: { fp32_contents: values } }],
          raw_output_contents: raw ? [encodeRawTensor('FP32', values)] : [],
        });
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
        err ? reject(err) : resolve(p),
      ),
    );
    url = `grpc://127.0.0.1:${port}`;
    client = createGrpcClient();
  });
  afterAll(async () => {
    await client.close();
    server.forceShutdown();
  });

  it.each([false, true])('raw=%s: the decoded outputs are the same', async (raw) => {
    const encoded = encodeInferRequest(
      {
        parameters: { raw },
        inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP32', data: [[0.25, 0.5, 1]] }],
      },
      'echo',
    );
    if (!encoded.ok) throw new Error(encoded.message);
    const exchange = await client.unary({
      url,
      method: oipGrpcMethods().ModelInfer,
      message: encoded.message,
      timeoutMs: 5000,
    });
    expect(exchange.error).toBeUndefined();
    const decoded = decodeInferResponse(exchange.message as ModelInferResponse);
    expect(decoded).toMatchObject({
      ok: true,
      value: {
        modelVersion: '7',
        encoding: raw ? 'raw' : 'contents',
        normalised: { outputs: { echo: [0.25, 0.5, 1] }, shapes: { echo: [1, 3] } },
      },
    });
  });
});
