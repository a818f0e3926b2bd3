/**
 * A fake Open Inference Protocol v2 server with several models, answering health routes as the chosen
 * server does (PROTOCOLS.md, "Checked against the servers' source"):
 *
 * - `triton` (triton-inference-server/server `src/http_server.cc`, HandleServerHealth / HandleModelReady):
 *   `/v2/health/ready` answers 400 with an empty body while any model is not READY (`--strict-readiness`
 *   defaults to true: triton-inference-server/core `src/server.cc` at 2e347f08, line 105, and `IsReady`
 *   lines 424–445); a model-ready route answers 400 `{"error":"Model version not ready"}` for a model
 *   that is not READY *and* for one that does not exist (`ModelIsReady` leaves `ready` false without an
 *   error when the model is not found, lines 463–473). FP16/BF16 outputs cannot be written as JSON:
 *   the inference answers 400 unless the output asks for `binary_data`, with Triton's wording
 *   (`src/http_server.cc` at 00a165a6, `WriteDataToJson`, the FP16 case at lines 691–696 and the BF16
 *   case at 698–703: TRITONSERVER_ERROR_INVALID_ARG, "sending FP16 data via JSON is not supported.
 *   Please use the binary data format for output").
 * - `kserve` (kserve/kserve `python/kserve/kserve/protocol/rest/v2_endpoints.py` at 67bcf1a4 and
 *   `python/kserve/kserve/errors.py` at ec13beed): every `/versions/{v}` route answers 501
 *   `{"error": "Model versioning not supported yet."}` before the model is looked up (`model_ready`,
 *   lines 120–121; `not_implemented_error_handler`, errors.py lines 162–166); an unknown model is 404
 *   "Model with name m does not exist." (`ModelNotFound`, errors.py line 61; handler lines 150–152); a
 *   model not ready 503 "Model with name m is not ready." (v2_endpoints.py lines 125–126; errors.py
 *   line 83, handler lines 155–159); the server not ready 503 "Server is not ready." (`ready`,
 *   v2_endpoints.py lines 74–76; errors.py line 105, handler lines 176–180). When the server reports
 *   not ready is the data plane's call: in the copies of `protocol/dataplane.py` read (00eb7327,
 *   c49cfe97) `DataPlane.ready()` always returns true; this fake answers not ready while any model is
 *   not, as Triton does, to exercise the note. The Python server cannot run here; this stands in for it.
 */
import { type FakeReply, type FakeServer, startFakeServer } from './server.js';

/** One model of the fake. */
export interface OipFakeModel {
  ready: boolean;
  /** Output datatype of its single output `y` (default FP32). */
  datatype?: 'FP32' | 'FP16' | 'BF16';
}

/** Switchable state of the OIP fake. */
export interface OipFakeState {
  flavour: 'triton' | 'kserve';
  models: Record<string, OipFakeModel>;
}

/** A running OIP fake. */
export interface OipFake extends FakeServer {
  readonly state: OipFakeState;
}

function serverReady(state: OipFakeState): FakeReply {
  const allReady = Object.values(state.models).every((m) => m.ready);
  if (allReady) return { status: 200, text: '' };
  return state.flavour === 'triton'
    ? { status: 400, text: '' }
    : { status: 503, json: { error: 'Server is not ready.' } };
}

function modelReady(state: OipFakeState, name: string, versioned: boolean): FakeReply {
  const model = state.models[name];
  if (state.flavour === 'kserve') {
    if (versioned) return { status: 501, json: { error: 'Model versioning not supported yet.' } };
    if (model === undefined)
      return { status: 404, json: { error: `Model with name ${name} does not exist.` } };
    return model.ready
      ? { status: 200, json: { name, ready: true } }
      : { status: 503, json: { error: `Model with name ${name} is not ready.` } };
  }
  // Triton: the core reports ready=false for a missing model as for an unloaded one.
  if (model?.ready === true) return { status: 200, text: '' };
  return { status: 400, json: { error: 'Model version not ready' } };
}

function infer(state: OipFakeState, name: string, body: string): FakeReply {
  const model = state.models[name];
  if (model === undefined || !model.ready) return { status: 400, json: { error: 'Model version not ready' } };
  const datatype = model.datatype ?? 'FP32';
  const binary = /"binary_data"\s*:\s*true/.test(body);
  if (datatype !== 'FP32' && !binary && state.flavour === 'triton') {
    return {
      status: 400,
      json: {
        error: `sending ${datatype} data via JSON is not supported. Please use the binary data format for output`,
      },
    };
  }
  // Binary data: the real server appends the raw bytes after a JSON header whose length it gives in
  // `Inference-Header-Content-Length`; this fake sends the header part only.
  const output = binary
    ? { name: 'y', shape: [1], datatype, parameters: { binary_data_size: 2 } }
    : { name: 'y', shape: [1], datatype, data: [0.5] };
  return { status: 200, json: { model_name: name, model_version: '1', outputs: [output] } };
}

/**
 * Starts the fake: Triton, models `good` (ready) and `broken` (not ready).
 *
 * @example
 * const fake = await createOipFake({ flavour: 'kserve' });
 */
export async function createOipFake(initial: Partial<OipFakeState> = {}): Promise<OipFake> {
  const state: OipFakeState = {
    flavour: 'triton',
    models: { good: { ready: true }, broken: { ready: false } },
    ...initial,
  };
  const server = await startFakeServer((req) => {
    if (req.method === 'GET' && req.path === '/v2/health/live') return { status: 200, text: '' };
    if (req.method === 'GET' && req.path === '/v2/health/ready') return serverReady(state);
    const ready = /^\/v2\/models\/([^/]+)(\/versions\/[^/]+)?\/ready$/.exec(req.path);
    if (req.method === 'GET' && ready?.[1] !== undefined)
      return modelReady(state, decodeURIComponent(ready[1]), ready[2] !== undefined);
    const inferPath = /^\/v2\/models\/([^/]+)(?:\/versions\/[^/]+)?\/infer$/.exec(req.path);
    if (req.method === 'POST' && inferPath?.[1] !== undefined)
      return infer(state, decodeURIComponent(inferPath[1]), req.body);
    const meta = /^\/v2\/models\/([^/]+)$/.exec(req.path);
    if (req.method === 'GET' && meta?.[1] !== undefined) {
      const model = state.models[decodeURIComponent(meta[1])];
      if (model === undefined) return { status: 400, json: { error: 'Model not found' } };
      return {
        status: 200,
        json: {
          name: meta[1],
          versions: ['1'],
          outputs: [{ name: 'y', datatype: model.datatype ?? 'FP32', shape: [1] }],
        },
      };
    }
    return undefined;
  });
  return Object.assign(server, { state });
}
