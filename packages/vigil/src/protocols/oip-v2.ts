/**
 * Open Inference Protocol v2 (KServe v2, Triton, MLServer).
 *
 * Not for TorchServe's health, even with `TS_OPEN_INFERENCE_PROTOCOL=oip`: its `/v2/health/ready` always
 * answers ready and `/v2/models/{m}/ready` has no route (404), so use protocol `torchserve` for it
 * (PROTOCOLS.md, "Checked against the servers' source").
 *
 * - liveness: `GET /v2/health/live`; 200 = live.
 * - readiness: with a model, `GET /v2/models/{m}[/versions/{v}]/ready` decides (200 = ready); then
 *   `GET /v2/health/ready` is asked too, and a server-wide "not ready" becomes a note, not a failure:
 *   Triton (strict readiness, the default) and MLServer report the server not ready while *any* model is
 *   not, so one broken model must not fail every other model's target. Without a model, the server route
 *   decides. Health is carried by the status code: "false" is 503 with `{"error": …}` on KServe, 400 on
 *   Triton (`{"error":"Model version not ready"}` on model routes, for a missing model too) and MLServer,
 *   so any non-200 is "not ready" and the reason shows what came back. KServe's 501 on versioned routes
 *   falls back to the version-less route, with a note.
 * - integrity: model metadata (cached per target, default 60 s) for the declared outputs, then
 *   `POST /v2/models/{m}[/versions/{v}]/infer` with `plan.request`; outputs `{name → flat data}`, shapes,
 *   and `model_version` from the response.
 * - metadata: `GET /v2` (server, best effort) and `GET /v2/models/{m}[/versions/{v}]`.
 */
import { z } from 'zod';
import { GOT } from '../diagnostics/messages.js';
import { jsonObject, requiredOr, whenValid } from '../schema/blocks.js';
import type { AdapterAnswer, AdapterContext, CheckPlan, ProtocolAdapter, TargetConfig } from '../types.js';
import {
  defineAdapter,
  describeAnswer,
  enc,
  errorMessageOf,
  fail,
  isSuccess,
  jsonOf,
  modelOf,
  pass,
  type Reply,
  requestOf,
  send,
  unexpectedStatus,
  wrongShape,
} from './common.js';
import { flatten, isRecord, type Normalised, setOutputs } from './normalise.js';
import { defineProtocol, missingRequest } from './plugin.js';

/** Options of {@link createOipV2Adapter}. */
export interface OipV2Options {
  /**
   * How long a model's metadata (its declared outputs) is reused by integrity checks, in ms, so that an
   * integrity check normally costs one request. A failed inference drops it early. Default 60 000.
   */
  metadataTtlMs?: number;
}

interface CachedMetadata {
  expiresAt: number;
  outputs: string[];
  /** Declared outputs whose datatype JSON cannot carry on Triton (FP16, BF16). */
  halfPrecision: string[];
}

/** Datatypes Triton returns only through the binary-data extension, never as JSON numbers. */
const BINARY_ONLY = new Set(['FP16', 'BF16']);

/** Declared outputs with a binary-only datatype: `{outputs: [{name, datatype}]}`. */
function halfPrecisionOutputsOf(body: unknown): string[] {
  if (!isRecord(body) || !Array.isArray(body.outputs)) return [];
  return body.outputs.flatMap((o) =>
    isRecord(o) && typeof o.name === 'string' && typeof o.datatype === 'string' && BINARY_ONLY.has(o.datatype)
      ? [o.name]
      : [],
  );
}

/**
 * Triton's refusal to write an FP16/BF16 output as JSON: triton-inference-server/server
 * `src/http_server.cc` at 00a165a6, `WriteDataToJson` (line 588), the `TRITONSERVER_TYPE_FP16` case at
 * lines 691–696 and `TRITONSERVER_TYPE_BF16` at 698–703: `TRITONSERVER_ERROR_INVALID_ARG` (HTTP 400,
 * `HttpCodeFromError`) "sending FP16 data via JSON is not supported. Please use the binary data format
 * for output" (BF16 likewise; older releases appended the output's name). Its `ReadDataFromJson`
 * (line 519) refuses FP16/BF16 inputs the same way, lines 525–543 ("receiving FP16 data via JSON is not
 * supported. … for input x").
 */
const TRITON_HALF_REFUSAL = /(sending|receiving) (FP16|BF16) data via JSON is not supported/i;

/**
 * Why FP16/BF16 outputs cannot be read here: Triton refuses to write them as JSON
 * ({@link TRITON_HALF_REFUSAL}), and the binary-data extension puts them after the JSON header, outside
 * what a JSON check reads. With no output names (the model's metadata did not say), the outputs are
 * not named.
 */
function halfPrecisionHint(names: readonly string[]): string {
  if (names.length === 0) {
    return 'an output (or input) is FP16/BF16, which Triton carries only through the binary-data extension (JSON cannot carry them): narrow the request\'s "outputs" to others, or probe this model over gRPC';
  }
  const list = names.map((n) => `"${n}"`).join(', ');
  return `output${names.length === 1 ? '' : 's'} ${list} ${names.length === 1 ? 'is' : 'are'} FP16/BF16, which Triton returns only through the binary-data extension (JSON cannot carry them): narrow the request's "outputs" to others, or probe this model over gRPC`;
}

function modelPath(target: TargetConfig, model: string): string {
  const base = `/v2/models/${enc(model)}`;
  return target.version === undefined ? base : `${base}/versions/${enc(target.version)}`;
}

/** Reads `{outputs: [{name}]}` from model metadata; undefined when the body has no such list. */
function declaredOutputsOf(body: unknown): string[] | undefined {
  if (!isRecord(body) || !Array.isArray(body.outputs)) return undefined;
  const names = body.outputs.map((o) => (isRecord(o) && typeof o.name === 'string' ? o.name : undefined));
  return names.every((n) => n !== undefined) ? (names as string[]) : undefined;
}

/** The output names a request asks for (`outputs: [{name}]`), if it narrows them. */
function requestedOutputs(request: unknown): Set<string> | undefined {
  if (!isRecord(request) || !Array.isArray(request.outputs)) return undefined;
  const names = request.outputs.flatMap((o) => (isRecord(o) && typeof o.name === 'string' ? [o.name] : []));
  return names.length > 0 ? new Set(names) : undefined;
}

function versionString(value: unknown): string | undefined {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
}

/** Health semantics: 200 = true; anything else is false, whatever the server's flavour of "false". */
function healthy(reply: Reply): boolean {
  if (reply.status !== 200) return false;
  // Defensive: a 200 that still says `"ready": false` / `"live": false` is not ready.
  const body = reply.json.ok ? reply.json.value : undefined;
  return !(isRecord(body) && (body.ready === false || body.live === false));
}

function notHealthy(reply: Reply, what: string): AdapterAnswer {
  return fail(reply, `${what}: ${reply.label} ${describeAnswer(reply)}`);
}

/** An output sent as binary data (no `data`, a `binary_data_size` parameter) in FP16/BF16. */
function isBinaryOutput(output: unknown): boolean {
  return (
    isRecord(output) &&
    !Array.isArray(output.data) &&
    typeof output.datatype === 'string' &&
    BINARY_ONLY.has(output.datatype)
  );
}

/** Normalises an OIP inference response, or says which field is missing. */
function normaliseInfer(reply: Reply, body: unknown): Normalised | AdapterAnswer {
  const binary = isRecord(body) && Array.isArray(body.outputs) ? body.outputs.filter(isBinaryOutput) : [];
  if (binary.length > 0) {
    const names = binary.map((o) => String((o as Record<string, unknown>).name));
    return fail(reply, `${reply.label}: ${halfPrecisionHint(names)}`, 'PROTOCOL');
  }
  if (!isRecord(body)) return wrongShape(reply, 'expected an inference response object');
  if (!Array.isArray(body.outputs)) {
    return wrongShape(
      reply,
      `the inference response has no "outputs" array (keys: ${Object.keys(body).join(', ') || 'none'})`,
    );
  }
  const result: Normalised = { outputs: {}, shapes: {} };
  for (const [i, output] of body.outputs.entries()) {
    if (!isRecord(output) || typeof output.name !== 'string')
      return wrongShape(reply, `outputs[${i}] has no "name"`);
    if (!Array.isArray(output.data))
      return wrongShape(reply, `outputs[${i}] ("${output.name}") has no "data" array`);
    result.outputs[output.name] = flatten(output.data);
    if (Array.isArray(output.shape) && output.shape.every((d) => typeof d === 'number'))
      result.shapes[output.name] = output.shape as number[];
  }
  return result;
}

/**
 * The note for a server-wide "not ready" while the target's model is ready. Triton (`--strict-readiness`,
 * default true: triton-inference-server/core `src/server.cc` at 2e347f08, line 105; `IsReady` lines
 * 424–445) and MLServer (`mlserver/handlers/dataplane.py` at 38a6c1c6, `DataPlane.ready` lines 52–54)
 * answer not ready on `/v2/health/ready` when any model is not READY.
 */
function serverWideNote(reply: Reply, model: string): string {
  return (
    `server-wide readiness: ${reply.label} ${describeAnswer(reply)}; model "${model}" is ready, so another ` +
    'model on this server is not (Triton with strict readiness and MLServer report the server not ready ' +
    'while any model is not)'
  );
}

/** Why a model-ready route said no, worded as each server means its answer. */
function modelNotReady(reply: Reply, model: string, version: string | undefined): AdapterAnswer {
  const which = version === undefined ? `model "${model}"` : `model "${model}" version "${version}"`;
  const message = errorMessageOf(reply);
  if (reply.status === 404) return notHealthy(reply, `${which} unknown`);
  if (reply.status === 400 && message !== undefined && /version not ready/i.test(message)) {
    // Triton answers this for a model that is missing as well as for one that is unloaded or loading.
    return notHealthy(reply, `${which} not ready or not loaded (Triton answers so for both)`);
  }
  return notHealthy(reply, `${which} not ready`);
}

type ModelReady = { ok: true; reply: Reply; note?: string } | { ok: false; answer: AdapterAnswer };

/**
 * Asks `/v2/models/{m}[/versions/{v}]/ready`. KServe's Python server answers 501 `{"error": "Model
 * versioning not supported yet."}` on every `/versions/{v}` route, before it looks the model up
 * (kserve/kserve `python/kserve/kserve/protocol/rest/v2_endpoints.py` at 67bcf1a4, `model_ready`,
 * lines 120–121; `python/kserve/kserve/errors.py` at ec13beed, `not_implemented_error_handler`, lines
 * 162–166): then the version-less route is asked, with a note.
 */
async function modelReady(ctx: AdapterContext, model: string): Promise<ModelReady> {
  const { version } = ctx.target;
  const sent = await send(ctx, { path: `${modelPath(ctx.target, model)}/ready` });
  if (!sent.ok) return sent;
  if (healthy(sent.reply)) return { ok: true, reply: sent.reply };
  if (version === undefined || sent.reply.status !== 501)
    return { ok: false, answer: modelNotReady(sent.reply, model, version) };
  // KServe's message ends with a full stop; the note goes on after a colon.
  const said = describeAnswer(sent.reply).replace(/\.$/, '');
  const note = `${sent.reply.label} ${said}: the server does not serve versioned routes (KServe), so model "${model}"'s version-less route was asked instead`;
  const plain = await send(ctx, { path: `/v2/models/${enc(model)}/ready` });
  if (!plain.ok) return plain;
  if (healthy(plain.reply)) return { ok: true, reply: plain.reply, note };
  const answer = modelNotReady(plain.reply, model, undefined);
  answer.notes = [note];
  return { ok: false, answer };
}

/**
 * Creates the OIP v2 adapter. The registry holds one made with the defaults.
 *
 * @example
 * const adapter = createOipV2Adapter({ metadataTtlMs: 30_000 });
 */
export function createOipV2Adapter(options: OipV2Options = {}): ProtocolAdapter {
  const ttlMs = options.metadataTtlMs ?? 60_000;
  // Per target object: the frozen config's targets live as long as the config does.
  const metadataCache = new WeakMap<TargetConfig, CachedMetadata>();

  /** Declared outputs, cached; a transport failure is returned as the probe's answer. */
  async function declaredOutputs(
    ctx: AdapterContext,
    model: string,
  ): Promise<
    { ok: true; outputs?: string[]; halfPrecision?: string[] } | { ok: false; answer: AdapterAnswer }
  > {
    const cached = metadataCache.get(ctx.target);
    if (cached && cached.expiresAt > performance.now())
      return { ok: true, outputs: cached.outputs, halfPrecision: cached.halfPrecision };
    const sent = await send(ctx, { path: modelPath(ctx.target, model) });
    // Unreachable: the inference would fail the same way, and the budget may be spent.
    if (!sent.ok) return sent;
    const { reply } = sent;
    // Metadata trouble (404, odd body) is left to the inference call to show.
    if (!isSuccess(reply.status) || !reply.json.ok) return { ok: true };
    const outputs = declaredOutputsOf(reply.json.value);
    if (outputs === undefined) return { ok: true };
    const halfPrecision = halfPrecisionOutputsOf(reply.json.value);
    metadataCache.set(ctx.target, { expiresAt: performance.now() + ttlMs, outputs, halfPrecision });
    return { ok: true, outputs, halfPrecision };
  }

  return defineAdapter('oip-v2', {
    async liveness(ctx) {
      const sent = await send(ctx, { path: '/v2/health/live' });
      if (!sent.ok) return sent.answer;
      return healthy(sent.reply) ? pass(sent.reply) : notHealthy(sent.reply, 'server not live');
    },

    async readiness(ctx) {
      const { model } = ctx.target;
      if (model === undefined) {
        const server = await send(ctx, { path: '/v2/health/ready' });
        if (!server.ok) return server.answer;
        return healthy(server.reply) ? pass(server.reply) : notHealthy(server.reply, 'server not ready');
      }
      // The model's own route decides: the server-wide route is not ready on Triton (strict readiness,
      // the default) and MLServer whenever *any* model is not, so it says nothing about this one.
      const own = await modelReady(ctx, model);
      if (!own.ok) return own.answer;
      const notes = own.note === undefined ? [] : [own.note];
      const server = await send(ctx, { path: '/v2/health/ready' });
      if (server.ok && !healthy(server.reply)) notes.push(serverWideNote(server.reply, model));
      return pass(own.reply, notes.length > 0 ? { notes } : {});
    },

    async integrity(ctx, plan: CheckPlan) {
      const model = modelOf(ctx, 'integrity');
      const request = requestOf(ctx, plan);
      const declared = await declaredOutputs(ctx, model);
      if (!declared.ok) return declared.answer;

      const sent = await send(ctx, {
        path: `${modelPath(ctx.target, model)}/infer`,
        method: 'POST',
        body: request,
      });
      if (!sent.ok) return sent.answer;
      const { reply } = sent;
      if (!isSuccess(reply.status)) {
        // The model may have been redeployed with other outputs: look again next time.
        metadataCache.delete(ctx.target);
        const wanted = requestedOutputs(request);
        const half = (declared.halfPrecision ?? []).filter((n) => wanted === undefined || wanted.has(n));
        const failed = unexpectedStatus(reply);
        if (failed.verdict.ok) return failed;
        if (half.length > 0) failed.verdict.reason += `; ${halfPrecisionHint(half)}`;
        else if (TRITON_HALF_REFUSAL.test(reply.text)) failed.verdict.reason += `; ${halfPrecisionHint([])}`;
        return failed;
      }
      const json = jsonOf(reply);
      if (!json.ok) return json.answer;
      const normalised = normaliseInfer(reply, json.value);
      if ('verdict' in normalised) return normalised;
      setOutputs(reply.document, normalised);

      const answer = pass(reply);
      const version = isRecord(json.value) ? versionString(json.value.model_version) : undefined;
      if (version !== undefined) answer.modelVersion = version;
      if (declared.outputs) {
        const wanted = requestedOutputs(request);
        answer.declaredOutputs = wanted ? declared.outputs.filter((n) => wanted.has(n)) : declared.outputs;
      }
      return answer;
    },

    async metadata(ctx) {
      const server = await send(ctx, { path: '/v2' });
      if (!server.ok) return server.answer;
      // Not every OIP server implements GET /v2; the model's metadata is what matters.
      const serverBody =
        isSuccess(server.reply.status) && server.reply.json.ok ? server.reply.json.value : undefined;
      const { model } = ctx.target;
      if (model === undefined) {
        if (!isSuccess(server.reply.status)) return unexpectedStatus(server.reply);
        const json = jsonOf(server.reply);
        if (!json.ok) return json.answer;
        server.reply.document.body = { server: json.value };
        return pass(server.reply);
      }
      const sent = await send(ctx, { path: modelPath(ctx.target, model) });
      if (!sent.ok) return sent.answer;
      const { reply } = sent;
      if (!isSuccess(reply.status)) return unexpectedStatus(reply);
      const json = jsonOf(reply);
      if (!json.ok) return json.answer;
      reply.document.body = { server: serverBody ?? null, model: json.value };
      const answer = pass(reply);
      const versions = isRecord(json.value) && Array.isArray(json.value.versions) ? json.value.versions : [];
      const reported = versions.map(versionString).filter((v) => v !== undefined);
      const version =
        ctx.target.version !== undefined && reported.includes(ctx.target.version)
          ? ctx.target.version
          : reported.length === 1
            ? reported[0]
            : undefined;
      if (version !== undefined) answer.modelVersion = version;
      return answer;
    },
  });
}

/** The OIP v2 adapter with default options (what the registry holds). */
export const oipV2Adapter: ProtocolAdapter = createOipV2Adapter();

// ---------------------------------------------------------------------------------------------
// Config: the infer request an integrity or canary check sends, and the plugin

/** Tensor datatypes of the Open Inference Protocol. */
export const OIP_DATATYPES = [
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
] as const;

const DATATYPE_ALIASES: Readonly<Record<string, string>> = {
  FLOAT: 'FP32',
  FLOAT16: 'FP16',
  FLOAT32: 'FP32',
  FLOAT64: 'FP64',
  DOUBLE: 'FP64',
  HALF: 'FP16',
  STRING: 'BYTES',
  STR: 'BYTES',
  BOOLEAN: 'BOOL',
  INT: 'INT64',
};

function datatypeMessage(input: unknown): string {
  if (input === undefined) return 'required';
  const text = typeof input === 'string' ? input.toUpperCase() : '';
  const suggestion = (OIP_DATATYPES as readonly string[]).includes(text) ? text : DATATYPE_ALIASES[text];
  const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
  return `expected an OIP datatype (${OIP_DATATYPES.join(', ')}), got ${GOT}${hint}`;
}

const tensorSchema = z
  .strictObject({
    name: z.string().min(1).describe('Input name, as in the model metadata.'),
    shape: z
      .array(
        z.int({ error: requiredOr(`expected a whole number, got ${GOT}`) }).min(0, {
          error: `expected a dimension size ≥ 0, got ${GOT} (a request gives actual sizes, not -1)`,
        }),
      )
      .describe('Dimensions, e.g. [1, 8].'),
    datatype: z.enum(OIP_DATATYPES, { error: (issue) => datatypeMessage(issue.input) }),
    parameters: jsonObject.optional(),
    data: z.array(z.unknown()).describe('Values, row-major, flat or nested.'),
  })
  .superRefine((tensor, ctx) => {
    const values = valuesWithPaths(tensor.data, ['data']);
    const expected = tensor.shape.reduce((product, size) => product * size, 1);
    if (values.length !== expected) {
      ctx.addIssue({
        code: 'custom',
        path: ['data'],
        message: `has ${values.length} values, but shape [${tensor.shape.join(', ')}] needs ${expected}`,
      });
    }
    const bad = values.find(({ value }) => !fitsDatatype(value, tensor.datatype));
    if (bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: bad.path,
        message: `expected ${datatypeValue(tensor.datatype)} for datatype ${tensor.datatype}, got ${GOT}`,
        input: bad.value,
      });
    }
  }, whenValid);

/** Each leaf value of nested arrays, with its path (`['data', 0, 1]`), for messages. */
function valuesWithPaths(data: unknown, path: PropertyKey[]): { value: unknown; path: PropertyKey[] }[] {
  if (!Array.isArray(data)) return [{ value: data, path }];
  return data.flatMap((item, index) => valuesWithPaths(item, [...path, index]));
}

function fitsDatatype(value: unknown, datatype: (typeof OIP_DATATYPES)[number]): boolean {
  if (datatype === 'BOOL') return typeof value === 'boolean';
  if (datatype === 'BYTES') return typeof value === 'string';
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (datatype.startsWith('FP')) return true;
  return Number.isInteger(value) && (!datatype.startsWith('UINT') || value >= 0);
}

function datatypeValue(datatype: string): string {
  if (datatype === 'BOOL') return 'true or false';
  if (datatype === 'BYTES') return 'a string';
  if (datatype.startsWith('FP')) return 'a finite number';
  return datatype.startsWith('UINT') ? 'a whole number ≥ 0' : 'a whole number';
}

/** Open Inference Protocol v2 infer request. */
export const oipRequestSchema = z
  .strictObject(
    {
      id: z.string().optional().describe('Request id, echoed by the server.'),
      parameters: jsonObject.optional(),
      inputs: z.array(tensorSchema).min(1).describe('Input tensors: {name, shape, datatype, data}.'),
      outputs: z
        .array(z.strictObject({ name: z.string().min(1), parameters: jsonObject.optional() }))
        .optional()
        .describe('Outputs to return (default: all).'),
    },
    { error: missingRequest('{inputs: [{name, shape, datatype, data}]}') },
  )
  .meta({ id: 'OipInferRequest', description: 'Open Inference Protocol v2 infer request.' });

/** The OIP v2 protocol plugin: a model is required; integrity and canary checks send an infer request. */
export const oipV2Protocol = defineProtocol({
  name: 'oip-v2',
  adapter: oipV2Adapter,
  model: 'required',
  request: { schema: oipRequestSchema },
});
