/**
 * The example server's gRPC API (OIP `inference.GRPCInferenceService` and grpc.health.v1), against the
 * real server over loopback, with a plain @grpc/grpc-js client built from the same protos.
 */
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { GRPC_ERROR_STATUSES, grpcStatusOf } from './faults.js';
import { OIP_SERVICE } from './grpc.js';
import { createModelServer, type ModelServer } from './server.js';

const SPECS = fileURLToPath(new URL('../../../packages/vigil/specs/', import.meta.url));
const LOAD = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [SPECS],
};
type Ctor = new (address: string, credentials: grpc.ChannelCredentials) => grpc.Client;
const { inference } = grpc.loadPackageDefinition(
  protoLoader.loadSync('open_inference_grpc.proto', LOAD),
) as unknown as {
  inference: { GRPCInferenceService: Ctor };
};
const healthPackage = grpc.loadPackageDefinition(
  protoLoader.loadSync('grpc/health/v1/health.proto', LOAD),
) as unknown as {
  grpc: { health: { v1: { Health: Ctor } } };
};

interface Tensor {
  name: string;
  datatype: string;
  shape: number[];
  contents: Record<string, unknown[]> | null;
}
interface InferResponse {
  model_name: string;
  model_version: string;
  id: string;
  outputs: Tensor[];
  raw_output_contents: Buffer[];
}
// biome-ignore lint/suspicious/noExplicitAny: responses of any message
type Reply = { error?: grpc.ServiceError; value?: any; ms: number };

const clients: grpc.Client[] = [];

/** One client per service for a `grpc://host:port` URL; `call(method, request)` never throws. */
function connect(url: string) {
  const address = url.replace(/^grpc:\/\//, '');
  const oip = new inference.GRPCInferenceService(address, grpc.credentials.createInsecure());
  const health = new healthPackage.grpc.health.v1.Health(address, grpc.credentials.createInsecure());
  clients.push(oip, health);
  const invoke = (client: grpc.Client, method: string, request: unknown, timeoutMs: number) =>
    new Promise<Reply>((resolve) => {
      const t0 = performance.now();
      const fn = (client as unknown as Record<string, (...args: unknown[]) => void>)[method];
      fn?.call(
        client,
        request,
        { deadline: Date.now() + timeoutMs },
        (error: grpc.ServiceError | null, value: unknown) =>
          resolve({ ...(error ? { error } : { value }), ms: performance.now() - t0 }),
      );
    });
  return {
    call: (method: string, request: unknown = {}, timeoutMs = 10_000) =>
      invoke(oip, method, request, timeoutMs),
    check: (service: string, timeoutMs = 10_000) => invoke(health, 'Check', { service }, timeoutMs),
    list: () => invoke(health, 'List', {}, 10_000),
  };
}

const TOKEN = 't';
const CREDIT_DATA = [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7];
const credit = (data = CREDIT_DATA) => ({
  model_name: 'credit-scorer',
  inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 8], contents: { fp32_contents: data } }],
});
const title = {
  model_name: 'product-categorizer',
  inputs: [
    {
      name: 'title',
      datatype: 'BYTES',
      shape: [1],
      contents: { bytes_contents: [Buffer.from('wireless bluetooth headphones with mic')] },
    },
  ],
};

/** Decodes raw little-endian FP32 / length-prefixed BYTES, independently of the server's encoder. */
function rawValues(datatype: string, raw: Buffer): Array<number | string> {
  if (datatype === 'FP32') return Array.from({ length: raw.length / 4 }, (_, i) => raw.readFloatLE(i * 4));
  const out: string[] = [];
  for (let at = 0; at < raw.length; ) {
    const length = raw.readUInt32LE(at);
    out.push(raw.toString('utf8', at + 4, at + 4 + length));
    at += 4 + length;
  }
  return out;
}

/** An output's values, from typed contents or from raw_output_contents, whichever the answer used. */
function values(response: InferResponse, name: string): Array<number | string> {
  const i = response.outputs.findIndex((o) => o.name === name);
  expect(i, `output ${name}`).toBeGreaterThanOrEqual(0);
  const tensor = response.outputs[i] as Tensor;
  if (response.raw_output_contents.length > 0)
    return rawValues(tensor.datatype, response.raw_output_contents[i] as Buffer);
  const list = tensor.datatype === 'BYTES' ? tensor.contents?.bytes_contents : tensor.contents?.fp32_contents;
  return (list ?? []).map((v) => (Buffer.isBuffer(v) ? v.toString('utf8') : (v as number)));
}

let server: ModelServer;
let restUrl = '';
let typed: ReturnType<typeof connect>;
let raw: ReturnType<typeof connect>;

beforeAll(async () => {
  server = await createModelServer({ faults: { enabled: true, token: TOKEN }, warmupInferences: 1 });
  restUrl = await server.listen();
  typed = connect(await server.listenGrpc());
  raw = connect(await server.listenGrpc({ rawOutputs: true }));
  await server.health.waitForWarmup();
});
afterAll(async () => {
  for (const c of clients.splice(0)) c.close();
  await server?.close();
});
beforeEach(() => {
  server.faults.clear();
});

describe('OIP over gRPC', () => {
  it('answers ServerLive, ServerReady and ModelReady', async () => {
    expect((await typed.call('ServerLive')).value).toEqual({ live: true });
    expect((await typed.call('ServerReady')).value).toEqual({ ready: true });
    for (const name of ['credit-scorer', 'product-categorizer']) {
      expect((await typed.call('ModelReady', { name })).value).toEqual({ ready: true });
      expect((await typed.call('ModelReady', { name, version: '1' })).value).toEqual({ ready: true });
    }
  });

  it('answers NOT_FOUND for an unknown model or version', async () => {
    const unknown = await typed.call('ModelReady', { name: 'nope' });
    expect(unknown.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.error?.details).toBe('model "nope" not found');
    const version = await typed.call('ModelInfer', { ...credit(), model_version: '9' });
    expect(version.error?.code).toBe(grpc.status.NOT_FOUND);
    expect(version.error?.details).toBe('model "credit-scorer" has no version "9"');
  });

  it('serves the same metadata as the REST API', async () => {
    const rest = async (path: string) => (await (await fetch(`${restUrl}${path}`)).json()) as object;
    expect((await typed.call('ServerMetadata')).value).toEqual(await rest('/v2'));
    const model = (await typed.call('ModelMetadata', { name: 'credit-scorer' })).value;
    expect({ ...model, properties: undefined }).toEqual({
      ...(await rest('/v2/models/credit-scorer')),
      properties: undefined,
    });
    expect(model.outputs).toEqual([
      { name: 'probability', datatype: 'FP32', shape: [-1, 1] },
      { name: 'label', datatype: 'BYTES', shape: [-1, 1] },
    ]);
  });

  it('infers with the same model as REST: typed contents in, typed or raw contents out', async () => {
    const res = await fetch(`${restUrl}/v2/models/credit-scorer/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', data: CREDIT_DATA }],
      }),
    });
    const restBody = (await res.json()) as { outputs: Array<{ name: string; data: unknown[] }> };
    const restProbability = restBody.outputs.find((o) => o.name === 'probability')?.data[0] as number;

    const a = (await typed.call('ModelInfer', { ...credit(), id: 'req-1' })).value as InferResponse;
    expect(a).toMatchObject({
      model_name: 'credit-scorer',
      model_version: '1',
      id: 'req-1',
      raw_output_contents: [],
    });
    expect(a.outputs.map((o) => [o.name, o.datatype, o.shape])).toEqual([
      ['probability', 'FP32', [1, 1]],
      ['label', 'BYTES', [1, 1]],
    ]);
    // FP32 on the wire: the REST answer's double, rounded to float.
    expect(values(a, 'probability')).toEqual([Math.fround(restProbability)]);
    expect(['default', 'repay']).toContain(values(a, 'label')[0]);

    const b = (await raw.call('ModelInfer', credit())).value as InferResponse;
    expect(b.raw_output_contents).toHaveLength(2);
    expect(b.outputs.every((o) => o.contents === null)).toBe(true);
    expect(values(b, 'probability')).toEqual(values(a, 'probability'));
    expect(values(b, 'label')).toEqual(values(a, 'label'));
  });

  it('takes raw_input_contents too, and BYTES inputs', async () => {
    const asRaw = {
      model_name: 'credit-scorer',
      inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 8] }],
      raw_input_contents: [Buffer.from(new Float32Array(CREDIT_DATA).buffer)],
    };
    const fromRaw = (await typed.call('ModelInfer', asRaw)).value as InferResponse;
    const fromTyped = (await typed.call('ModelInfer', credit())).value as InferResponse;
    expect(values(fromRaw, 'probability')).toEqual(values(fromTyped, 'probability'));
    const categorized = (await typed.call('ModelInfer', title)).value as InferResponse;
    expect(values(categorized, 'category')).toEqual(['Electronics']);
    const rawTitle = (await raw.call('ModelInfer', title)).value as InferResponse;
    expect(values(rawTitle, 'top_categories')).toHaveLength(3);
  });

  it('returns only the requested outputs', async () => {
    const { value } = await typed.call('ModelInfer', { ...credit(), outputs: [{ name: 'label' }] });
    expect((value as InferResponse).outputs.map((o) => o.name)).toEqual(['label']);
  });

  it.each([
    [
      'data that does not fill the shape',
      { ...credit([1, 2]) },
      'inputs[0].data: shape [1, 8] needs 8 values, got 2',
    ],
    ['an unknown output', { ...credit(), outputs: [{ name: 'nope' }] }, 'unknown output "nope" requested'],
    [
      'the wrong datatype',
      {
        model_name: 'credit-scorer',
        inputs: [
          {
            name: 'features',
            datatype: 'INT32',
            shape: [1, 8],
            contents: { int_contents: [1, 2, 3, 4, 5, 6, 7, 8] },
          },
        ],
      },
      'expected datatype FP32, got INT32',
    ],
    [
      'raw contents for fewer inputs',
      {
        model_name: 'credit-scorer',
        inputs: [
          { name: 'features', datatype: 'FP32', shape: [1, 8] },
          { name: 'x', datatype: 'FP32', shape: [1] },
        ],
        raw_input_contents: [Buffer.alloc(32)],
      },
      'raw_input_contents has 1 entries for 2 input(s)',
    ],
  ])('rejects %s with INVALID_ARGUMENT, in the REST API words', async (_what, request, message) => {
    const { error } = await typed.call('ModelInfer', request);
    expect(error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(error?.details).toContain(message);
  });
});

describe('grpc.health.v1', () => {
  it('Check: "" is the process, the OIP service name the server, a model name that model', async () => {
    expect((await typed.check('')).value).toEqual({ status: 'SERVING' });
    expect((await typed.check(OIP_SERVICE)).value).toEqual({ status: 'SERVING' });
    expect((await typed.check('credit-scorer')).value).toEqual({ status: 'SERVING' });
    const unknown = await typed.check('nope');
    expect(unknown.error?.code).toBe(grpc.status.NOT_FOUND);
  });

  it('List: every service with its status', async () => {
    await server.faults.set('not-ready', { model: 'product-categorizer' });
    expect((await typed.list()).value).toEqual({
      statuses: {
        '': { status: 'SERVING' },
        [OIP_SERVICE]: { status: 'NOT_SERVING' },
        'credit-scorer': { status: 'SERVING' },
        'product-categorizer': { status: 'NOT_SERVING' },
      },
    });
  });
});

describe('fault modes, seen through real gRPC calls', () => {
  const set = (mode: Parameters<ModelServer['faults']['set']>[0], params: object = {}) =>
    // Through the same parser as the admin API, so that defaults apply.
    fetch(`${restUrl}/admin/faults/${mode}`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(params),
    }).then((r) => expect(r.status).toBe(200));

  it('latency: ModelInfer answers after the delay; health stays fast (scope infer)', async () => {
    await set('latency', { ms: 300 });
    expect((await typed.call('ModelInfer', credit())).ms).toBeGreaterThanOrEqual(290);
    expect((await typed.call('ServerLive')).ms).toBeLessThan(290);
    expect((await typed.check('')).ms).toBeLessThan(290);
  });

  it('latency with scope all slows health calls too', async () => {
    await set('latency', { ms: 300, scope: 'all' });
    expect((await typed.check('')).ms).toBeGreaterThanOrEqual(290);
    expect((await typed.call('ServerLive')).ms).toBeGreaterThanOrEqual(290);
  });

  it.each([
    [{}, 'INTERNAL', 'injected fault: INTERNAL (HTTP 500)'],
    [{ status: 503 }, 'UNAVAILABLE', 'injected fault: UNAVAILABLE (HTTP 503)'],
    [{ status: 501 }, 'UNIMPLEMENTED', 'injected fault: UNIMPLEMENTED (HTTP 501)'],
    [
      { grpcStatus: 'RESOURCE_EXHAUSTED' },
      'RESOURCE_EXHAUSTED',
      'injected fault: RESOURCE_EXHAUSTED (HTTP 500)',
    ],
  ])('errors %j: ModelInfer fails with %s, readiness stays', async (params, name, details) => {
    await set('errors', params);
    const { error } = await typed.call('ModelInfer', credit());
    expect(error?.code).toBe(grpc.status[name as keyof typeof grpc.status]);
    expect(error?.details).toBe(details);
    expect((await typed.call('ServerReady')).value).toEqual({ ready: true });
  });

  it('errors with rate 0.25 fails exactly one call in four', async () => {
    await set('errors', { rate: 0.25 });
    const failed: boolean[] = [];
    for (let i = 0; i < 12; i++) failed.push((await typed.call('ModelInfer', credit())).error !== undefined);
    expect(failed.filter(Boolean)).toHaveLength(3);
  });

  it('hang: ModelInfer is accepted and never answered (the client deadline ends it); health answers', async () => {
    await set('hang');
    const { error } = await typed.call('ModelInfer', credit(), 400);
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect((await typed.call('ServerLive')).value).toEqual({ live: true });
    await set('hang', { scope: 'all' });
    expect((await typed.check('', 400)).error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
  });

  it('empty: outputs have shape [0, …] and no data, typed and raw', async () => {
    await set('empty');
    for (const api of [typed, raw]) {
      const response = (await api.call('ModelInfer', credit())).value as InferResponse;
      expect(response.outputs.find((o) => o.name === 'probability')?.shape).toEqual([0, 1]);
      expect(values(response, 'probability')).toEqual([]);
    }
  });

  it('unknown: labels are "Unknown"', async () => {
    await set('unknown');
    expect(values((await typed.call('ModelInfer', credit())).value, 'label')).toEqual(['Unknown']);
    expect(values((await raw.call('ModelInfer', title)).value, 'category')).toEqual(['Unknown']);
  });

  it('zero-features: the answer stops depending on the input', async () => {
    await set('zero-features');
    const a = values((await typed.call('ModelInfer', credit())).value, 'probability');
    const b = values(
      (await typed.call('ModelInfer', credit([0.9, 0.9, 0.9, 0.9, 0.1, 0.9, 0.9, 0.9]))).value,
      'probability',
    );
    expect(a).toEqual(b);
  });

  it('nan: FP32 outputs are NaN on the wire, typed and raw', async () => {
    await set('nan', { model: 'credit-scorer' });
    for (const api of [typed, raw]) {
      const p = values((await api.call('ModelInfer', credit())).value, 'probability');
      expect(Number.isNaN(p[0])).toBe(true);
    }
    expect(values((await typed.call('ModelInfer', title)).value, 'category')).toEqual(['Electronics']);
  });

  it('out-of-range: probabilities leave [0, 1]', async () => {
    await set('out-of-range');
    expect(values((await raw.call('ModelInfer', credit())).value, 'probability')[0]).toBeGreaterThan(1);
  });

  it('wrong-schema: the answer has no outputs', async () => {
    await set('wrong-schema');
    const response = (await typed.call('ModelInfer', credit())).value as InferResponse;
    expect(response.model_name).toBe('credit-scorer');
    expect(response.outputs).toEqual([]);
    expect((await raw.call('ModelInfer', credit())).value.raw_output_contents).toEqual([]);
  });

  it('drift: predictions shift but stay in range', async () => {
    const before = values((await typed.call('ModelInfer', credit())).value, 'probability')[0];
    await set('drift', { seed: 3 });
    const after = values((await typed.call('ModelInfer', credit())).value, 'probability')[0] as number;
    expect(after).not.toBe(before);
    expect(after).toBeGreaterThanOrEqual(0);
    expect(after).toBeLessThanOrEqual(1);
  });

  it('the graded drift faults reach gRPC too: swapped labels, scaled features, a version bump', async () => {
    const before = (await typed.call('ModelInfer', credit())).value as InferResponse;
    await set('swapped-labels');
    const other = { repay: 'default', default: 'repay' } as Record<string, string>;
    expect(values((await typed.call('ModelInfer', credit())).value, 'label')).toEqual(
      values(before, 'label').map((l) => other[l as string]),
    );
    server.faults.clear();
    await set('scaled-features', { factor: 1 });
    expect(values((await typed.call('ModelInfer', credit())).value, 'probability')).toEqual(
      values(before, 'probability'),
    );
    server.faults.clear();
    await set('version-bump', { version: '2', ms: 0 });
    const bumped = (await typed.call('ModelInfer', { ...credit(), model_version: '2' }))
      .value as InferResponse;
    expect(bumped.model_version).toBe('2');
    expect(values(bumped, 'probability')).toEqual(values(before, 'probability'));
    expect((await typed.call('ModelMetadata', { name: 'credit-scorer' })).value.versions).toEqual(['2']);
    expect((await typed.call('ModelInfer', { ...credit(), model_version: '1' })).error?.code).toBe(
      grpc.status.NOT_FOUND,
    );
  });

  it('not-ready: readiness false and inference UNAVAILABLE while liveness holds', async () => {
    await set('not-ready', { model: 'product-categorizer' });
    expect((await typed.call('ServerLive')).value).toEqual({ live: true });
    expect((await typed.call('ServerReady')).value).toEqual({ ready: false });
    expect((await typed.call('ModelReady', { name: 'product-categorizer' })).value).toEqual({ ready: false });
    expect((await typed.call('ModelReady', { name: 'credit-scorer' })).value).toEqual({ ready: true });
    const infer = await typed.call('ModelInfer', title);
    expect(infer.error?.code).toBe(grpc.status.UNAVAILABLE);
    expect(infer.error?.details).toBe('model "product-categorizer" is not ready');
    expect((await typed.check('')).value).toEqual({ status: 'SERVING' });
    expect((await typed.check(OIP_SERVICE)).value).toEqual({ status: 'NOT_SERVING' });
    expect((await typed.check('product-categorizer')).value).toEqual({ status: 'NOT_SERVING' });
  });
});

describe('while loading weights', () => {
  it('live and SERVING for "", not ready, inference UNAVAILABLE; then ready', async () => {
    const loading = await createModelServer({
      models: ['credit-scorer'],
      loadingMs: 1500,
      warmupInferences: 1,
    });
    try {
      const api = connect(await loading.listenGrpc());
      expect((await api.call('ServerLive')).value).toEqual({ live: true });
      expect((await api.call('ServerReady')).value).toEqual({ ready: false });
      expect((await api.call('ModelReady', { name: 'credit-scorer' })).value).toEqual({ ready: false });
      const infer = await api.call('ModelInfer', credit());
      expect(infer.error?.code).toBe(grpc.status.UNAVAILABLE);
      expect((await api.check('')).value).toEqual({ status: 'SERVING' });
      expect((await api.check('credit-scorer')).value).toEqual({ status: 'NOT_SERVING' });
      await loading.health.waitForWarmup();
      expect((await api.call('ServerReady')).value).toEqual({ ready: true });
      expect((await api.check('credit-scorer')).value).toEqual({ status: 'SERVING' });
      expect((await api.call('ModelInfer', credit())).error).toBeUndefined();
    } finally {
      await loading.close();
    }
  });
});

describe('grpcStatusOf', () => {
  it('maps an injected HTTP status as gRPC gateways do, unless the fault names one', () => {
    expect(grpcStatusOf({ status: 500 })).toBe('INTERNAL');
    expect(grpcStatusOf({ status: 501 })).toBe('UNIMPLEMENTED');
    expect([502, 503, 504].map((status) => grpcStatusOf({ status }))).toEqual([
      'UNAVAILABLE',
      'UNAVAILABLE',
      'UNAVAILABLE',
    ]);
    expect(grpcStatusOf({ status: 599 })).toBe('INTERNAL');
    expect(grpcStatusOf({ status: 503, grpcStatus: 'ABORTED' })).toBe('ABORTED');
    // Every name is a real grpc-js status other than OK.
    expect(GRPC_ERROR_STATUSES.map((n) => grpc.status[n])).toEqual(
      Array.from({ length: 16 }, (_, i) => i + 1),
    );
  });
});
