/**
 * KServe v1 (the V1 inference protocol of KServe's Python model server and compatible servers).
 *
 * - liveness: `GET /`, KServe's own liveness route (it answers `{"status":"alive"}` without touching a
 *   model; `/v1/models` would list models, which says more than "the process answers"); 200 = live.
 * - readiness: `GET /v1/models/{m}` → 200 `{"name","ready":true}`; 503 = not ready, 404 = unknown model;
 *   a 200 with `"ready": false` is not ready either, and one with no `ready` field is a PROTOCOL error.
 * - integrity: `POST /v1/models/{m}:predict` with `plan.request` (`{instances}`) → `{predictions}`:
 *   an array of numbers/strings (nested or not) becomes `outputs.predictions`; an array of objects one
 *   output per key. A columnar `{outputs}` answer (to an `{inputs}` request) is read too.
 * - metadata: `GET /v1/models/{m}`, or `GET /v1/models` (the list) without a model.
 *
 * KServe v1 reports no model version.
 */
import { z } from 'zod';
import { exactlyOne } from '../schema/blocks.js';
import type { ProtocolAdapter } from '../types.js';
import {
  defineAdapter,
  describeAnswer,
  enc,
  fail,
  isSuccess,
  jsonOf,
  modelOf,
  pass,
  requestOf,
  send,
  unexpectedStatus,
  wrongShape,
} from './common.js';
import { isRecord, normalisePredict, setOutputs } from './normalise.js';
import { defineProtocol, missingRequest } from './plugin.js';

const modelPath = (model: string) => `/v1/models/${enc(model)}`;

/** The KServe v1 adapter. */
export const kserveV1Adapter: ProtocolAdapter = defineAdapter('kserve-v1', {
  async liveness(ctx) {
    const sent = await send(ctx, { path: '/' });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    return reply.status === 200
      ? pass(reply)
      : fail(reply, `server not live: ${reply.label} ${describeAnswer(reply)}`);
  },

  async readiness(ctx) {
    const model = modelOf(ctx, 'readiness');
    const sent = await send(ctx, { path: modelPath(model) });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (reply.status === 404)
      return fail(reply, `model "${model}" unknown: ${reply.label} ${describeAnswer(reply)}`);
    if (reply.status !== 200)
      return fail(reply, `model "${model}" not ready: ${reply.label} ${describeAnswer(reply)}`);
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const body = json.value;
    if (!isRecord(body) || typeof body.ready !== 'boolean')
      return wrongShape(reply, 'expected a boolean "ready" field');
    return body.ready
      ? pass(reply)
      : fail(reply, `model "${model}" not ready: ${reply.label} answered 200 with "ready": false`);
  },

  async integrity(ctx, plan) {
    const model = modelOf(ctx, 'integrity');
    const sent = await send(ctx, {
      path: `${modelPath(model)}:predict`,
      method: 'POST',
      body: requestOf(ctx, plan),
    });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply);
    const json = jsonOf(reply);
    if (!json.ok) return json.answer;
    const normalised = normalisePredict(json.value);
    if (!normalised) return wrongShape(reply, 'the predict response has no "predictions" (or "outputs")');
    setOutputs(reply.document, normalised);
    return pass(reply);
  },

  async metadata(ctx) {
    const { model } = ctx.target;
    const sent = await send(ctx, { path: model === undefined ? '/v1/models' : modelPath(model) });
    if (!sent.ok) return sent.answer;
    const { reply } = sent;
    if (!isSuccess(reply.status)) return unexpectedStatus(reply);
    const json = jsonOf(reply);
    return json.ok ? pass(reply) : json.answer;
  },
});

// ---------------------------------------------------------------------------------------------
// Config: the predict request an integrity or canary check sends, and the plugin

/** KServe v1 predict request (custom predictors may take more keys). */
export const kserveV1RequestSchema = z
  .looseObject(
    {
      instances: z.array(z.unknown()).optional().describe('Rows to predict.'),
      inputs: z.unknown().optional().describe('Columnar inputs.'),
    },
    { error: missingRequest('{instances: [[0.1, 0.2]]}') },
  )
  .superRefine((value, ctx) => exactlyOne(value, ['instances', 'inputs'], ctx))
  .describe('KServe v1 predict request: {instances: [...]} or {inputs: ...}.');

/** The KServe v1 protocol plugin: a model is required; integrity and canary checks send a predict request. */
export const kserveV1Protocol = defineProtocol({
  name: 'kserve-v1',
  adapter: kserveV1Adapter,
  model: 'required',
  request: { schema: kserveV1RequestSchema },
});
