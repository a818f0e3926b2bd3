/**
 * The example server over gRPC: the Open Inference Protocol's `inference.GRPCInferenceService` (the
 * KServe v2 / Triton gRPC API) and the standard health service `grpc.health.v1.Health`, on their own
 * port, answering from the same models, readiness and faults as the REST API (server.ts).
 *
 * Protos: the copies in `packages/vigil/specs/` (the OIP spec and grpc.health.v1), so that the example
 * server and Vigil read one file. Statuses follow KServe and Triton: INVALID_ARGUMENT for bad input,
 * NOT_FOUND for an unknown model or version, INTERNAL for a failed inference, UNAVAILABLE for a model
 * that is not ready.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { Health } from 'vigil-ml-serve';
import { type FaultState, grpcStatusOf, reportedVersion } from './faults.js';
import { type Datatype, type Model, ModelInputError, type ModelName, type Tensor } from './models.js';
import { decodeInferenceRequest, InferenceRequestError } from './oip.js';

/** The folder of the shared protos; the same relative path from src/ and from dist/. */
const SPECS_DIR = fileURLToPath(new URL('../../../packages/vigil/specs/', import.meta.url));

/** The OIP service's name: also the health service name for the server's readiness. */
export const OIP_SERVICE = 'inference.GRPCInferenceService';

const LOAD_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
  includeDirs: [SPECS_DIR],
};

interface Services {
  oip: grpc.ServiceDefinition;
  health: grpc.ServiceDefinition;
}
let services: Services | undefined;

function loadServices(): Services {
  if (services) return services;
  const oip = grpc.loadPackageDefinition(
    protoLoader.loadSync('open_inference_grpc.proto', LOAD_OPTIONS),
  ) as unknown as {
    inference: { GRPCInferenceService: { service: grpc.ServiceDefinition } };
  };
  const health = grpc.loadPackageDefinition(
    protoLoader.loadSync('grpc/health/v1/health.proto', LOAD_OPTIONS),
  ) as unknown as { grpc: { health: { v1: { Health: { service: grpc.ServiceDefinition } } } } };
  services = {
    oip: oip.inference.GRPCInferenceService.service,
    health: health.grpc.health.v1.Health.service,
  };
  return services;
}

/** What the gRPC service shares with the REST server: models, readiness, faults and prediction. */
export interface ServingCore {
  readonly models: ReadonlyMap<ModelName, Model>;
  readonly faults: FaultState;
  readonly health: Health;
  /** What `GET /v2` answers: `{name, version, extensions}`. */
  readonly serverMetadata: { name: string; version: string; extensions: string[] };
  isModelReady(name?: ModelName): boolean;
  /** Why the server is not ready (loading, shutting down, models not ready), or undefined when it is. */
  serverNotReady(): string | undefined;
  /** Inference with the model-level faults applied (drift, zero-features, output faults). */
  predict(name: ModelName, inputs: Tensor[]): Promise<Tensor[]>;
}

/** Options of one gRPC listener. */
export interface GrpcListenOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 0: any free port. */
  port?: number;
  /**
   * Answer inference with `raw_output_contents` (little-endian bytes, as Triton does) instead of typed
   * `contents` (as MLServer does). Default false.
   */
  rawOutputs?: boolean;
}

/** A running gRPC listener. */
export interface GrpcListener {
  /** `grpc://127.0.0.1:9001`. */
  readonly url: string;
  readonly port: number;
  /** Stops at once: open calls (a hung one too) are cancelled. */
  close(): void;
  /** Stops taking calls and lets open ones finish, for at most `graceMs`, then closes. */
  drain(graceMs: number): Promise<void>;
}

class GrpcError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// Tensors over gRPC: typed contents per datatype, or raw little-endian bytes.

type ContentsField =
  | 'bool_contents'
  | 'int_contents'
  | 'int64_contents'
  | 'uint_contents'
  | 'uint64_contents'
  | 'fp32_contents'
  | 'fp64_contents'
  | 'bytes_contents';

const FIELD: Partial<Record<Datatype, ContentsField>> = {
  BOOL: 'bool_contents',
  INT8: 'int_contents',
  INT16: 'int_contents',
  INT32: 'int_contents',
  INT64: 'int64_contents',
  UINT8: 'uint_contents',
  UINT16: 'uint_contents',
  UINT32: 'uint_contents',
  UINT64: 'uint64_contents',
  FP32: 'fp32_contents',
  FP64: 'fp64_contents',
  BYTES: 'bytes_contents',
};

const SIZE: Partial<Record<Datatype, number>> = {
  BOOL: 1,
  INT8: 1,
  UINT8: 1,
  INT16: 2,
  UINT16: 2,
  INT32: 4,
  UINT32: 4,
  FP32: 4,
  INT64: 8,
  UINT64: 8,
  FP64: 8,
};

type Value = number | string | boolean;

/** Raw bytes → values. BYTES: 4-byte little-endian length + bytes each. FP16 is not supported here. */
function fromRaw(datatype: string, raw: Buffer, where: string): Value[] {
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  if (datatype === 'BYTES') {
    const out: string[] = [];
    for (let at = 0; at < raw.length; ) {
      if (at + 4 > raw.length)
        throw new GrpcError(grpc.status.INVALID_ARGUMENT, `${where}: truncated BYTES length`);
      const length = view.getUint32(at, true);
      at += 4;
      if (at + length > raw.length)
        throw new GrpcError(grpc.status.INVALID_ARGUMENT, `${where}: truncated BYTES element`);
      out.push(raw.toString('utf8', at, at + length));
      at += length;
    }
    return out;
  }
  const size = SIZE[datatype as Datatype];
  if (size === undefined) {
    throw new GrpcError(
      grpc.status.INVALID_ARGUMENT,
      `${where}: raw ${datatype} is not supported by this server`,
    );
  }
  if (raw.length % size !== 0) {
    throw new GrpcError(
      grpc.status.INVALID_ARGUMENT,
      `${where}: ${raw.length} bytes is not a whole number of ${datatype} elements`,
    );
  }
  const out: Value[] = [];
  for (let at = 0; at < raw.length; at += size) {
    switch (datatype) {
      case 'BOOL':
        out.push(view.getUint8(at) !== 0);
        break;
      case 'INT8':
        out.push(view.getInt8(at));
        break;
      case 'UINT8':
        out.push(view.getUint8(at));
        break;
      case 'INT16':
        out.push(view.getInt16(at, true));
        break;
      case 'UINT16':
        out.push(view.getUint16(at, true));
        break;
      case 'INT32':
        out.push(view.getInt32(at, true));
        break;
      case 'UINT32':
        out.push(view.getUint32(at, true));
        break;
      case 'FP32':
        out.push(view.getFloat32(at, true));
        break;
      case 'INT64':
        out.push(Number(view.getBigInt64(at, true)));
        break;
      case 'UINT64':
        out.push(Number(view.getBigUint64(at, true)));
        break;
      default:
        out.push(view.getFloat64(at, true));
    }
  }
  return out;
}

/** Values → raw bytes (the inverse of fromRaw). */
function toRaw(tensor: Tensor): Buffer {
  if (tensor.datatype === 'BYTES') {
    return Buffer.concat(
      (tensor.data as string[]).flatMap((text) => {
        const bytes = Buffer.from(text, 'utf8');
        const prefix = Buffer.alloc(4);
        prefix.writeUInt32LE(bytes.length);
        return [prefix, bytes];
      }),
    );
  }
  const size = SIZE[tensor.datatype];
  if (size === undefined) throw new GrpcError(grpc.status.INTERNAL, `cannot encode ${tensor.datatype} raw`);
  const out = Buffer.alloc(size * tensor.data.length);
  const view = new DataView(out.buffer, out.byteOffset, out.byteLength);
  (tensor.data as Array<number | boolean>).forEach((v, i) => {
    const at = i * size;
    const n = Number(v);
    switch (tensor.datatype) {
      case 'BOOL':
        view.setUint8(at, v ? 1 : 0);
        break;
      case 'INT8':
        view.setInt8(at, n);
        break;
      case 'UINT8':
        view.setUint8(at, n);
        break;
      case 'INT16':
        view.setInt16(at, n, true);
        break;
      case 'UINT16':
        view.setUint16(at, n, true);
        break;
      case 'INT32':
        view.setInt32(at, n, true);
        break;
      case 'UINT32':
        view.setUint32(at, n, true);
        break;
      case 'FP32':
        view.setFloat32(at, n, true);
        break;
      case 'INT64':
        view.setBigInt64(at, BigInt(Math.trunc(n)), true);
        break;
      case 'UINT64':
        view.setBigUint64(at, BigInt(Math.trunc(n)), true);
        break;
      default:
        view.setFloat64(at, n, true);
    }
  });
  return out;
}

interface InferInput {
  name: string;
  datatype: string;
  shape: number[];
  contents: Partial<Record<ContentsField, unknown[]>> | null;
}

interface InferRequestMessage {
  model_name: string;
  model_version: string;
  id: string;
  inputs: InferInput[];
  outputs: Array<{ name: string }>;
  raw_input_contents: Buffer[];
}

/**
 * A gRPC inference request as the REST body it stands for, so that one validation (decodeInferenceRequest)
 * and its messages serve both APIs.
 */
function restBodyOf(request: InferRequestMessage): unknown {
  const raw = request.raw_input_contents;
  if (raw.length > 0 && raw.length !== request.inputs.length) {
    throw new GrpcError(
      grpc.status.INVALID_ARGUMENT,
      `raw_input_contents has ${raw.length} entries for ${request.inputs.length} input(s)`,
    );
  }
  const inputs = request.inputs.map((input, i) => {
    const where = `inputs[${i}]`;
    let data: Value[];
    if (raw.length > 0) data = fromRaw(input.datatype, raw[i] as Buffer, `${where} raw contents`);
    else {
      const field = FIELD[input.datatype as Datatype];
      if (field === undefined) {
        throw new GrpcError(
          grpc.status.INVALID_ARGUMENT,
          `${where}: ${input.datatype} needs raw_input_contents`,
        );
      }
      const values = input.contents?.[field] ?? [];
      data =
        field === 'bytes_contents'
          ? values.map((b) => Buffer.from(b as Uint8Array).toString('utf8'))
          : (values as Value[]);
    }
    return { name: input.name, datatype: input.datatype, shape: input.shape, data };
  });
  const body: Record<string, unknown> = { inputs };
  if (request.id !== '') body.id = request.id;
  if (request.outputs.length > 0) body.outputs = request.outputs.map((o) => ({ name: o.name }));
  return body;
}

function outputMessage(tensor: Tensor, raw: boolean): Record<string, unknown> {
  const message: Record<string, unknown> = {
    name: tensor.name,
    datatype: tensor.datatype,
    shape: tensor.shape,
  };
  if (!raw) {
    const field = FIELD[tensor.datatype];
    if (field === undefined)
      throw new GrpcError(grpc.status.INTERNAL, `cannot encode ${tensor.datatype} in contents`);
    message.contents = {
      [field]:
        tensor.datatype === 'BYTES'
          ? (tensor.data as string[]).map((s) => Buffer.from(s, 'utf8'))
          : tensor.data,
    };
  }
  return message;
}

// ---------------------------------------------------------------------------------------------
// The service

/** Handles one unary call: maps a thrown GrpcError to its status, anything else to INTERNAL. */
function unary<Req, Res>(
  core: ServingCore,
  options: { isInfer: boolean; modelOf?: (request: NoInfer<Req>) => string | undefined },
  handle: (request: Req) => Promise<Res>,
): grpc.handleUnaryCall<Req, Res> {
  return (call, callback) => {
    const run = async (): Promise<Res> => {
      const { faults } = core;
      if (faults.size > 0) {
        const model = options.modelOf?.(call.request);
        // Route-level faults, in the REST hook's order: hang, latency, errors.
        if (faults.get('hang', model, options.isInfer)) await new Promise<never>(() => {});
        const latency = faults.get('latency', model, options.isInfer);
        if (latency) await sleep(latency.ms + Math.random() * latency.jitterMs);
        const errors = faults.get('errors', model, options.isInfer);
        if (errors && faults.takeError(errors.rate)) {
          const name = grpcStatusOf(errors);
          throw new GrpcError(
            grpc.status[name as keyof typeof grpc.status],
            `injected fault: ${name} (HTTP ${errors.status})`,
          );
        }
      }
      return handle(call.request);
    };
    run().then(
      (response) => callback(null, response),
      (err: unknown) => {
        if (err instanceof GrpcError) callback({ code: err.code, details: err.message });
        else callback({ code: grpc.status.INTERNAL, details: (err as Error).message });
      },
    );
  };
}

function lookup(core: ServingCore, name: string, version: string): { name: ModelName; model: Model } {
  const model = core.models.get(name as ModelName);
  if (!model) throw new GrpcError(grpc.status.NOT_FOUND, `model "${name}" not found`);
  if (version !== '' && version !== reportedVersion(core.faults, name, model.info.version)) {
    throw new GrpcError(grpc.status.NOT_FOUND, `model "${name}" has no version "${version}"`);
  }
  return { name: name as ModelName, model };
}

type ServingStatus = 'SERVING' | 'NOT_SERVING';

/**
 * The health service's answer for a service name: `""` — the process (SERVING while it runs: liveness,
 * what Kubernetes' gRPC liveness probe asks); `inference.GRPCInferenceService` — the server's readiness;
 * a model name — that model's readiness. Undefined for an unknown name (NOT_FOUND).
 */
function servingStatus(core: ServingCore, service: string): ServingStatus | undefined {
  if (service === '') return 'SERVING';
  if (service === OIP_SERVICE) return core.serverNotReady() === undefined ? 'SERVING' : 'NOT_SERVING';
  const name = service as ModelName;
  if (!core.models.has(name)) return undefined;
  const { health } = core;
  return health.isStarted() && !health.isShuttingDown() && core.isModelReady(name)
    ? 'SERVING'
    : 'NOT_SERVING';
}

function implementation(core: ServingCore, rawOutputs: boolean) {
  const modelName = (request: { name?: string; model_name?: string }) => request.name ?? request.model_name;
  const plain = { isInfer: false };
  const perModel = { isInfer: false, modelOf: modelName };

  const oip = {
    ServerLive: unary(core, plain, async () => ({ live: true })),
    ServerReady: unary(core, plain, async () => ({ ready: core.serverNotReady() === undefined })),
    ModelReady: unary(core, perModel, async (request: { name: string; version: string }) => {
      const { name } = lookup(core, request.name, request.version);
      return { ready: servingStatus(core, name) === 'SERVING' };
    }),
    ServerMetadata: unary(core, plain, async () => core.serverMetadata),
    ModelMetadata: unary(core, perModel, async (request: { name: string; version: string }) => {
      const { model } = lookup(core, request.name, request.version);
      const { name, version, platform, inputs, outputs } = model.info;
      return { name, versions: [reportedVersion(core.faults, name, version)], platform, inputs, outputs };
    }),
    ModelInfer: unary(core, { isInfer: true, modelOf: modelName }, async (request: InferRequestMessage) => {
      const { name, model } = lookup(core, request.model_name, request.model_version);
      const { health, faults } = core;
      if (!health.isStarted() || !core.isModelReady(name)) {
        throw new GrpcError(grpc.status.UNAVAILABLE, `model "${name}" is not ready`);
      }
      let decoded: ReturnType<typeof decodeInferenceRequest>;
      try {
        decoded = decodeInferenceRequest(restBodyOf(request));
      } catch (err) {
        if (err instanceof InferenceRequestError)
          throw new GrpcError(grpc.status.INVALID_ARGUMENT, err.message);
        throw err;
      }
      if (decoded.outputs) {
        const known = new Set(model.info.outputs.map((o) => o.name));
        const unknown = decoded.outputs.find((o) => !known.has(o));
        if (unknown !== undefined) {
          throw new GrpcError(grpc.status.INVALID_ARGUMENT, `unknown output "${unknown}" requested`);
        }
      }
      let outputs: Tensor[];
      try {
        outputs = await core.predict(name, decoded.inputs);
      } catch (err) {
        if (err instanceof ModelInputError) throw new GrpcError(grpc.status.INVALID_ARGUMENT, err.message);
        throw new GrpcError(grpc.status.INTERNAL, `inference failed: ${(err as Error).message}`);
      }
      if (decoded.outputs) {
        const wanted = new Set(decoded.outputs);
        outputs = outputs.filter((o) => wanted.has(o.name));
      }
      // wrong-schema over gRPC: the message cannot change shape, so the outputs are simply missing.
      if (faults.get('wrong-schema', name)) outputs = [];
      return {
        model_name: name,
        model_version: reportedVersion(core.faults, name, model.info.version),
        id: request.id,
        outputs: outputs.map((t) => outputMessage(t, rawOutputs)),
        raw_output_contents: rawOutputs ? outputs.map(toRaw) : [],
      };
    }),
  };

  const health = {
    Check: unary(core, plain, async (request: { service: string }) => {
      const status = servingStatus(core, request.service);
      if (status === undefined)
        throw new GrpcError(grpc.status.NOT_FOUND, `unknown service "${request.service}"`);
      return { status };
    }),
    List: unary(core, plain, async () => {
      const names = ['', OIP_SERVICE, ...core.models.keys()];
      return { statuses: Object.fromEntries(names.map((n) => [n, { status: servingStatus(core, n) }])) };
    }),
  };
  return { oip, health };
}

/**
 * Starts a gRPC listener serving the OIP service and grpc.health.v1 (Check and List; Watch is
 * UNIMPLEMENTED) from `core`.
 *
 * @example
 * const listener = await listenGrpc(core, { port: 9001, rawOutputs: true });
 * listener.url; // 'grpc://127.0.0.1:9001'
 */
export async function listenGrpc(core: ServingCore, options: GrpcListenOptions = {}): Promise<GrpcListener> {
  const { oip, health } = loadServices();
  const handlers = implementation(core, options.rawOutputs ?? false);
  const server = new grpc.Server();
  server.addService(oip, handlers.oip as unknown as grpc.UntypedServiceImplementation);
  server.addService(health, handlers.health as unknown as grpc.UntypedServiceImplementation);
  const host = options.host ?? '127.0.0.1';
  const shownHost = host.includes(':') ? `[${host}]` : host;
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${shownHost}:${options.port ?? 0}`,
      grpc.ServerCredentials.createInsecure(),
      (err, p) => (err ? reject(err) : resolve(p)),
    ),
  );
  let closed = false;
  return {
    url: `grpc://${shownHost}:${port}`,
    port,
    close() {
      if (closed) return;
      closed = true;
      server.forceShutdown();
    },
    drain(graceMs) {
      if (closed) return Promise.resolve();
      closed = true;
      return new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, graceMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    },
  };
}
