/**
 * Open Inference Protocol over gRPC (KServe v2 gRPC, Triton's port 8001, MLServer's gRPC port): the
 * `inference.GRPCInferenceService` of the OIP spec (`packages/vigil/specs/open_inference_grpc.proto`).
 *
 * - liveness: `ServerLive` → `{live: true}`; or, with `method: grpc.health.v1` on the liveness check, the
 *   standard `grpc.health.v1.Health/Check` for service `""` → `SERVING` (what Kubernetes' native gRPC
 *   probes call).
 * - readiness: `ModelReady {name, version}` → `{ready: true}`: the model's own readiness. `ServerReady`
 *   never decides it (Triton's default strict readiness makes it false when *any* model is not ready,
 *   so it says nothing about this one): it words a failure, and when the model is ready but the server
 *   is not, the result carries that as a note, as `oip-v2`'s does over REST (issue #15).
 * - integrity: `ModelMetadata` (cached per target for 60 s) for the declared outputs, then `ModelInfer`
 *   with `plan.request` in the REST shape (`{inputs: [{name, shape, datatype, data}]}`, encoded into
 *   typed `contents`); the answer's typed `contents` or `raw_output_contents` are decoded into the same
 *   outputs, shapes and model version as `oip-v2`'s, and the document's body mirrors the REST response
 *   (`{model_name, model_version, id, outputs: [{name, datatype, shape, data}]}`), so one set of
 *   assertions fits both. A non-finite number in an output is `NON_FINITE_NUMBER`, as a bare `NaN`
 *   token is over REST.
 * - metadata: `ServerMetadata` and `ModelMetadata`.
 *
 * The deadline of each call is what is left of the check's timeout; a status other than OK is the
 * failure, named (`UNAVAILABLE: …`) with Vigil's stable code (wire/grpc.ts `classifyGrpcStatus`).
 * Phases: `connectMs` (channel ready), `tlsMs`, `processingMs` (call sent → response headers),
 * `transferMs` (headers → status). Connections are reused per address and TLS identity.
 */
import { z } from 'zod';
import { VigilError } from '../errors.js';
import type { AdapterAnswer, AdapterContext, CheckPlan, ProbeDocument, TargetConfig } from '../types.js';
import { createGrpcClient, type GrpcClient, type GrpcExchange, grpcHealthCheck } from '../wire/grpc.js';
import { createGrpcTargetCaller, type GrpcTargetCaller } from '../wire/grpc-target.js';
import { decodeInferResponse, encodeInferRequest, oipGrpcMethods } from '../wire/oip-grpc.js';
import { defineAdapter, modelOf, requestOf } from './common.js';
import { oipRequestSchema } from './oip-v2.js';
import { defineProtocol } from './plugin.js';

const LIVENESS_METHODS = ['ServerLive', 'grpc.health.v1'] as const;

/** How long a model's declared outputs are reused by integrity checks, in ms (as `oip-v2`). */
const METADATA_TTL_MS = 60_000;

// One client for every target: channels are cached per address and TLS identity, and an idle channel
// does not keep the process alive.
let client: GrpcClient | undefined;
const declaredOutputs = new WeakMap<TargetConfig, { expiresAt: number; outputs: string[] }>();

function callerOf(ctx: AdapterContext, plan: CheckPlan): GrpcTargetCaller {
  client ??= createGrpcClient();
  return createGrpcTargetCaller(client, ctx.target, {
    timeoutMs: plan.timeoutMs,
    startedAt: performance.now(),
  });
}

function answer(
  exchange: GrpcExchange<unknown>,
  verdict: AdapterAnswer['verdict'],
  body?: unknown,
): AdapterAnswer {
  const document: ProbeDocument | undefined = body === undefined ? undefined : { body, outputs: {} };
  return document === undefined ? { exchange, verdict } : { exchange, verdict, document };
}

/** The failed answer of a call that got no usable answer, or `undefined` when it did. */
function failedCall(exchange: GrpcExchange<unknown>, what: string): AdapterAnswer | undefined {
  if (exchange.error === undefined) return undefined;
  return answer(exchange, {
    ok: false,
    reason: `${what}: ${exchange.error.message}`,
    code: exchange.error.code,
  });
}

const modelLabel = (target: TargetConfig, model: string) =>
  target.version === undefined ? `model "${model}"` : `model "${model}" version ${target.version}`;

const versionOf = (target: TargetConfig) => (target.version === undefined ? {} : { version: target.version });

/** The REST-shaped body of a decoded infer response, for JSONPath assertions written for `oip-v2`. */
function restBody(decoded: ReturnType<typeof decodeInferResponse> & { ok: true }): unknown {
  const { value } = decoded;
  return {
    model_name: value.modelName,
    ...(value.modelVersion !== undefined && { model_version: value.modelVersion }),
    ...(value.id !== undefined && { id: value.id }),
    outputs: value.outputs.map(({ name, datatype, shape, data }) => ({ name, datatype, shape, data })),
  };
}

const oipGrpcAdapter = defineAdapter('oip-grpc', {
  async liveness(ctx, plan) {
    const caller = callerOf(ctx, plan);
    if (plan.method === 'grpc.health.v1') {
      const exchange = await caller.call(grpcHealthCheck(), { service: '' });
      const failed = failedCall(exchange, 'grpc.health.v1.Health/Check');
      if (failed) return failed;
      const status = exchange.message?.status;
      return status === 'SERVING'
        ? answer(exchange, { ok: true }, exchange.message)
        : answer(
            exchange,
            { ok: false, reason: `grpc.health.v1.Health/Check says ${status}` },
            exchange.message,
          );
    }
    const exchange = await caller.call(oipGrpcMethods().ServerLive, {});
    const failed = failedCall(exchange, 'ServerLive');
    if (failed) return failed;
    return exchange.message?.live === true
      ? answer(exchange, { ok: true }, exchange.message)
      : answer(exchange, { ok: false, reason: 'ServerLive answered live: false' }, exchange.message);
  },

  async readiness(ctx, plan) {
    const model = modelOf(ctx, 'readiness');
    const caller = callerOf(ctx, plan);
    const oip = oipGrpcMethods();
    const exchange = await caller.call(oip.ModelReady, { name: model, ...versionOf(ctx.target) });
    const failed = failedCall(exchange, 'ModelReady');
    if (failed) return failed;
    const server = await caller.call(oip.ServerReady, {});
    if (exchange.message?.ready === true) {
      const passed = answer(exchange, { ok: true }, exchange.message);
      // The server-wide state, its own reason: another model on this server is not ready.
      if (server.error === undefined && server.message?.ready === false) {
        passed.notes = [
          `server-wide readiness: ServerReady answered ready: false; model "${model}" is ready, so another model on this server is not (Triton with strict readiness and MLServer report the server not ready while any model is not)`,
        ];
      }
      return passed;
    }
    // To word the failure: is it this model, or the whole server (still loading)?
    const serverSays =
      server.error !== undefined
        ? `; ServerReady failed too (${server.error.message})`
        : server.message?.ready === false
          ? '; the server is not ready either'
          : '';
    const reason = `${modelLabel(ctx.target, model)} not ready: ModelReady answered ready: false${serverSays}`;
    return answer(exchange, { ok: false, reason }, exchange.message);
  },

  async integrity(ctx, plan) {
    const model = modelOf(ctx, 'integrity');
    const caller = callerOf(ctx, plan);
    const oip = oipGrpcMethods();
    const encoded = encodeInferRequest(requestOf(ctx, plan), model, versionOf(ctx.target));
    let declared = declaredOutputs.get(ctx.target);
    if (declared === undefined || declared.expiresAt <= Date.now()) {
      const metadata = await caller.call(oip.ModelMetadata, { name: model, ...versionOf(ctx.target) });
      const failed = failedCall(metadata, 'ModelMetadata');
      if (failed) return failed;
      declared = {
        expiresAt: Date.now() + METADATA_TTL_MS,
        outputs: (metadata.message?.outputs ?? []).map((output) => output.name),
      };
      declaredOutputs.set(ctx.target, declared);
    }
    if (!encoded.ok) {
      // The config's schema admits only requests that encode; this is a bug, reported as one.
      throw new VigilError(
        'VIGIL_ERR_PROTOCOL_INVALID_PLAN',
        `target "${ctx.target.name}": the smoke request does not encode as a ModelInferRequest: ${encoded.message}`,
      );
    }
    const exchange = await caller.call(oip.ModelInfer, encoded.message);
    const failed = failedCall(exchange, 'ModelInfer');
    if (failed) {
      declaredOutputs.delete(ctx.target);
      return failed;
    }
    const decoded = exchange.message === undefined ? undefined : decodeInferResponse(exchange.message);
    if (decoded === undefined || !decoded.ok) {
      const why = decoded === undefined ? 'no response message' : decoded.message;
      return answer(exchange, {
        ok: false,
        reason: `ModelInfer answered a response Vigil cannot read: ${why}`,
        code: 'PROTOCOL',
      });
    }
    const { normalised, modelVersion, nonFinite } = decoded.value;
    const document: ProbeDocument = {
      body: restBody(decoded),
      outputs: normalised.outputs,
      shapes: normalised.shapes,
      ...(modelVersion !== undefined && { modelVersion }),
    };
    const base = {
      exchange,
      document,
      declaredOutputs: declared.outputs,
      ...(modelVersion !== undefined && { modelVersion }),
    };
    const first = nonFinite[0];
    if (first !== undefined) {
      const reason = `ModelInfer answered ${first.value} in outputs.${first.output}[${first.index}]`;
      return { ...base, verdict: { ok: false, reason, code: 'NON_FINITE_NUMBER' } };
    }
    return { ...base, verdict: { ok: true } };
  },

  async metadata(ctx, plan) {
    const caller = callerOf(ctx, plan);
    const oip = oipGrpcMethods();
    const server = await caller.call(oip.ServerMetadata, {});
    const model = ctx.target.model;
    if (model === undefined)
      return failedCall(server, 'ServerMetadata') ?? answer(server, { ok: true }, server.message);
    const exchange = await caller.call(oip.ModelMetadata, { name: model, ...versionOf(ctx.target) });
    const failed = failedCall(exchange, 'ModelMetadata');
    if (failed) return failed;
    const version = exchange.message?.versions.at(-1);
    const body = { server: server.message, model: exchange.message };
    return {
      ...answer(exchange, { ok: true }, body),
      ...(version !== undefined && { modelVersion: version }),
    };
  },
});

/**
 * The OIP gRPC protocol plugin: a model is required; integrity and canary checks send the same infer
 * request as `oip-v2`; a target's `url` is `grpc://host:port` (plaintext), `grpcs://host:port` (TLS), or
 * a bare `host:port`; the liveness check may choose `method: grpc.health.v1`.
 */
export const oipGrpcProtocol = defineProtocol({
  name: 'oip-grpc',
  adapter: oipGrpcAdapter,
  model: 'required',
  url: { schemes: ['grpc', 'grpcs'], example: 'grpc://127.0.0.1:8001', defaultScheme: 'grpc' },
  request: { schema: oipRequestSchema },
  checkOptions: {
    liveness: {
      shape: {
        method: z
          .enum(LIVENESS_METHODS)
          .optional()
          .describe(
            'ServerLive (default) or grpc.health.v1 (Health/Check, service "", as Kubernetes probes).',
          ),
      },
    },
  },
  planCheck: (check, kind) =>
    kind === 'liveness' && typeof check.method === 'string' ? { method: check.method } : {},
});
