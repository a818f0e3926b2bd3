/**
 * TensorFlow Serving REST API (default port 8501).
 *
 * - liveness: TF Serving has no liveness route; the model status route `GET /v1/models/{m}` is the
 *   cheapest one the REST server answers whatever state the model is in; 200 = live.
 * - readiness: `GET /v1/models/{m}[/versions/{v}]` → `model_version_status: [{version, state, status}]`,
 *   states UNKNOWN, START, LOADING, AVAILABLE, UNLOADING, END (END = unloaded *or* failed). Ready when the
 *   requested version (or, without one, any version) is AVAILABLE; otherwise the reason lists each
 *   version's state and `error_message`. Versions are strings in JSON (numbers are accepted too).
 * - integrity: `POST /v1/models/{m}[/versions/{v}]:{predict|classify|regress}` (per `plan.method`, default
 *   predict) with `plan.request`. predict: `{predictions}` (row) or `{outputs}` (columnar), see
 *   {@link normalisePredict}; classify: `results` `[[[label, score], …], …]` → `outputs.classes`,
 *   `outputs.scores`; regress: `results` `[value, …]` → `outputs.results`. TF Serving's sources write
 *   `"results"` while its docs say `"result"`: both are read.
 * - metadata: `GET /v1/models/{m}[/versions/{v}]/metadata` (signature defs); version from `model_spec`.
 *
 * TF Serving may write bare `NaN` / `Infinity`: such a body fails with NON_FINITE_NUMBER, not a crash.
 */
import { z } from 'zod';
import { VigilError } from '../errors.js';
import { jsonObject } from '../schema/blocks.js';
import type { AdapterAnswer, AdapterContext, CheckPlan, ProtocolAdapter, TargetConfig } from '../types.js';
import {
  defineAdapter,
  describeAnswer,
  enc,
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
import { flatten, isRecord, type Normalised, normalisePredict, setOutputs } from './normalise.js';
import { defineProtocol, missingRequest } from './plugin.js';

function modelPath(target: TargetConfig, model: string): string {
  const base = `/v1/models/${enc(model)}`;
  return target.version === undefined ? base : `${base}/versions/${enc(target.version)}`;
}

interface VersionStatus {
  version: string;
  state: string;
  errorMessage: string;
}

function readVersions(body: unknown): VersionStatus[] | undefined {
  if (!isRecord(body) || !Array.isArray(body.model_version_status)) return undefined;
  const out: VersionStatus[] = [];
  for (const entry of body.model_version_status) {
    if (!isRecord(entry)) return undefined;
    const version =
      typeof entry.version === 'string' || typeof entry.version === 'number' ? String(entry.version) : '';
    const state = typeof entry.state === 'string' ? entry.state : 'UNKNOWN';
    const status = isRecord(entry.status) ? entry.status : {};
    const errorMessage = typeof status.error_message === 'string' ? status.error_message : '';
    out.push({ version, state, errorMessage });
  }
  return out;
}

function describeVersion(v: VersionStatus): string {
  return `version "${v.version}" is ${v.state}${v.errorMessage === '' ? '' : ` (${v.errorMessage})`}`;
}

/** The highest version among some (numeric order when both are numbers, else text order). */
function highest(versions: VersionStatus[]): VersionStatus | undefined {
  return versions.reduce<VersionStatus | undefined>((best, v) => {
    if (!best) return v;
    const a = Number(v.version);
    const b = Number(best.version);
    const isHigher = Number.isFinite(a) && Number.isFinite(b) ? a > b : v.version > best.version;
    return isHigher ? v : best;
  }, undefined);
}

function readinessOf(reply: Reply, body: unknown, model: string, wanted: string | undefined): AdapterAnswer {
  const versions = readVersions(body);
  if (!versions) return wrongShape(reply, 'expected a "model_version_status" array');
  const considered = wanted === undefined ? versions : versions.filter((v) => v.version === wanted);
  const available = highest(considered.filter((v) => v.state === 'AVAILABLE'));
  if (available) return pass(reply, { modelVersion: available.version });
  const seen = versions.length === 0 ? 'no versions listed' : versions.map(describeVersion).join('; ');
  const which =
    wanted === undefined
      ? `model "${model}" has no AVAILABLE version`
      : `model "${model}" version "${wanted}" is not AVAILABLE`;
  return fail(reply, `TF Serving ${which}: ${seen}`);
}

function resultsOf(body: Record<string, unknown>): unknown {
  return 'results' in body ? body.results : body.result;
}

/** Normalises classify / regress `results`; undefined when there are none. */
function normaliseResults(method: 'classify' | 'regress', results: unknown): Normalised | undefined {
  if (!Array.isArray(results)) return undefined;
  if (method === 'regress')
    return { outputs: { results: flatten(results) }, shapes: { results: [results.length] } };
  const classes: unknown[] = [];
  const scores: unknown[] = [];
  for (const example of results) {
    if (!Array.isArray(example)) return undefined;
    for (const pair of example) {
      if (!Array.isArray(pair)) return undefined;
      classes.push(pair[0]);
      scores.push(pair[1]);
    }
  }
  return { outputs: { classes, scores }, shapes: {} };
}

/** TF Serving's verbs; a check's `method` picks one (default predict). */
export const TFSERVING_METHODS = ['predict', 'classify', 'regress'] as const;
type Method = (typeof TFSERVING_METHODS)[number];

/**
 * `plan.method`, default predict.
 *
 * @throws VigilError `VIGIL_ERR_PROTOCOL_INVALID_PLAN` for a method TF Serving has not (the config
 *   loader rejects those, so only a plan built by hand gets here).
 */
function methodOf(ctx: AdapterContext, plan: CheckPlan): Method {
  const method = plan.method ?? 'predict';
  if ((TFSERVING_METHODS as readonly string[]).includes(method)) return method as Method;
  throw new VigilError(
    'VIGIL_ERR_PROTOCOL_INVALID_PLAN',
    `target "${ctx.target.name}": protocol tfserving has no method ${JSON.stringify(method)}; expected one of ${TFSERVING_METHODS.join(', ')}`,
  );
}

/**
 * A refused connection, read as TF Serving means it: its REST listener opens only after the initial
 * models are AVAILABLE (tensorflow/serving `tensorflow_serving/model_servers/server.cc` builds the HTTP
 * server after the model server core has loaded them), so refused may be "still loading", not "down".
 */
function whileLoading(answer: AdapterAnswer): AdapterAnswer {
  const { verdict } = answer;
  if (!verdict.ok && verdict.code === 'CONNECTION_REFUSED') {
    verdict.reason +=
      ' (TF Serving opens its REST port only once its initial models have loaded: it may still be loading them, or it is down)';
  }
  return answer;
}

/** The TF Serving adapter. */
export const tfservingAdapter: ProtocolAdapter = defineAdapter('tfserving', {
  async liveness(ctx) {
    const sent = await send(ctx, { path: `/v1/models/${enc(modelOf(ctx, 'liveness'))}` });
    if (!sent.ok) return whileLoading(sent.answer);
    const { reply } = sent;
    return reply.status === 200
      ? pass(reply)
      : fail(reply, `TF Serving not live: ${reply.label} ${describeAnswer(reply)}`);
  },

  async readiness(ctx) {
    const model = modelOf(ctx, 'readiness');
    const sent = await send(ctx, { path: modelPath(ctx.target, model) });
    if (!sent.ok) return whileLoading(sent.answer);
    const { reply } = sent;
    if (reply.status === 404 && /could not find any versions/i.test(reply.text)) {
      return fail(
        reply,
        `TF Serving model "${model}" unknown: ${reply.label} ${describeAnswer(reply)} (TF Serving manages no version of it: the name is not in its model config, or its base path has no numbered version directory yet)`,
      );
    }
    if (reply.status === 404)
      return fail(reply, `TF Serving model "${model}" unknown: ${reply.label} ${describeAnswer(reply)}`);
    if (!isSuccess(reply.status))
      return fail(reply, `TF Serving model "${model}" not ready: ${reply.label} ${describeAnswer(reply)}`);
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    return readinessOf(reply, json.value, model, ctx.target.version);
  },

  async integrity(ctx, plan: CheckPlan) {
    const model = modelOf(ctx, 'integrity');
    const method = methodOf(ctx, plan);
    const sent = await send(ctx, {
      path: `${modelPath(ctx.target, model)}:${method}`,
      method: 'POST',
      body: requestOf(ctx, plan),
    });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply, 'TF Serving');
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const body = json.value;
    let normalised: Normalised | undefined;
    if (method === 'predict') {
      normalised = normalisePredict(body);
      if (!normalised) return wrongShape(reply, 'the predict response has no "predictions" (or "outputs")');
    } else {
      normalised = isRecord(body) ? normaliseResults(method, resultsOf(body)) : undefined;
      if (!normalised)
        return wrongShape(reply, `the ${method} response has no "results" array of the documented shape`);
    }
    setOutputs(reply.document, normalised);
    return pass(reply);
  },

  async metadata(ctx) {
    const model = modelOf(ctx, 'metadata');
    const sent = await send(ctx, { path: `${modelPath(ctx.target, model)}/metadata` });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply, 'TF Serving');
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const spec = isRecord(json.value) && isRecord(json.value.model_spec) ? json.value.model_spec : {};
    const version =
      typeof spec.version === 'string' || typeof spec.version === 'number' ? String(spec.version) : undefined;
    return pass(reply, version === undefined ? {} : { modelVersion: version });
  },
});

// ---------------------------------------------------------------------------------------------
// Config: the request, the integrity check's `method`, and the plugin

/** TensorFlow Serving REST request; which keys apply depends on the check's method. */
export const tfservingRequestSchema = z
  .strictObject(
    {
      signature_name: z.string().optional().describe('SignatureDef to run (default serving_default).'),
      instances: z.array(z.unknown()).optional().describe('predict: rows (row format).'),
      inputs: z.unknown().optional().describe('predict: named or unnamed inputs (columnar format).'),
      examples: z.array(jsonObject).optional().describe('classify / regress: tf.Example features.'),
      context: jsonObject.optional().describe('classify / regress: features shared by every example.'),
    },
    { error: missingRequest('{instances: [[0.1, 0.2]]}') },
  )
  .describe(
    'TensorFlow Serving request: {instances} or {inputs} for predict; {examples} for classify / regress.',
  );

function checkTfservingRequest(request: unknown, method: string, ctx: z.RefinementCtx): void {
  if (request === null || typeof request !== 'object') return;
  const value = request as Record<string, unknown>;
  const misplaced = (keys: string[], reason: string) => {
    for (const key of keys) {
      if (value[key] !== undefined) ctx.addIssue({ code: 'custom', path: ['request', key], message: reason });
    }
  };
  if (method === 'predict') {
    const present = ['instances', 'inputs'].filter((key) => value[key] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['request'],
        message:
          present.length === 0 ? 'needs "instances" or "inputs"' : 'takes "instances" or "inputs", not both',
      });
    }
    misplaced(['examples', 'context'], 'only for method classify or regress');
  } else {
    if (value.examples === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['request', 'examples'],
        message: `required for method ${method}`,
      });
    }
    misplaced(['instances', 'inputs'], 'only for method predict');
  }
}

const tfservingMethod = z
  .enum(TFSERVING_METHODS)
  .optional()
  .describe('TensorFlow Serving verb; default predict.');

/**
 * The TF Serving protocol plugin: a model is required; integrity may pick the verb (`method`, default
 * predict), and the verb decides which request keys apply.
 */
export const tfservingProtocol = defineProtocol({
  name: 'tfserving',
  adapter: tfservingAdapter,
  model: 'required',
  request: { schema: tfservingRequestSchema },
  checkOptions: {
    integrity: {
      shape: { method: tfservingMethod },
      refine: (check, ctx) => checkTfservingRequest(check.request, String(check.method ?? 'predict'), ctx),
    },
    canary: { refine: (check, ctx) => checkTfservingRequest(check.request, 'predict', ctx) },
  },
  misplacedKeyHints: {
    method: 'method is only for tfserving integrity checks (or inside request for protocol "http")',
  },
  planCheck: (check, kind) =>
    kind === 'integrity' ? { method: typeof check.method === 'string' ? check.method : 'predict' } : {},
});
