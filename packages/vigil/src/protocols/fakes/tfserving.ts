/**
 * A fake TensorFlow Serving REST API, from PROTOCOLS.md: `GET /v1/models/{m}[/versions/{v}]` →
 * `model_version_status` (states UNKNOWN, START, LOADING, AVAILABLE, UNLOADING, END; versions as
 * strings), `GET …/metadata`, `POST …:predict` (`{instances}` → `{predictions}`, `{inputs}` →
 * `{outputs}`), `:classify` / `:regress` (→ `results`). Errors are `{"error": "…"}`; with `nan` the
 * answers carry bare `NaN` tokens, as TF Serving writes them.
 *
 * Read against tensorflow/serving: `tensorflow_serving/model_servers/http_rest_api_util.cc` at b6b8cca6
 * (routes, lines 28–31: a version is digits, `/labels/{l}` in place of a version) and
 * `http_rest_api_handler.cc` at b6b8cca6 (a path no route matches keeps the default 400 "Malformed
 * request: METHOD PATH", lines 72–73); `get_model_status_impl.cc` at 49ac8acb (404 "Could not find any
 * versions of model m", lines 98–101; "Could not find version v of model m", lines 88–91);
 * `tensorflow_serving/util/json_tensor.cc` (`FillPredictRequestFromJson`: 400 for both `instances` and
 * `inputs`, a non-array or empty `instances`; `FillClassifyRegressRequestFromJson`: 400 without an
 * `examples` array). Its `FormatError` puts the request's JSON before the message; this fake does not.
 */
import {
  type FakeReply,
  type FakeServer,
  jsonBody,
  nanified,
  startFakeServer,
  withNonFinite,
} from './server.js';

/** TF Serving's servable states. */
export type TfServingState = 'UNKNOWN' | 'START' | 'LOADING' | 'AVAILABLE' | 'UNLOADING' | 'END';

/** One version of a model, as the status API reports it. */
export interface TfServingFakeVersion {
  version: string;
  state: TfServingState;
  /** Error code (`OK` unless the load failed) and message. */
  errorCode?: string;
  errorMessage?: string;
}

/** Switchable state of the TF Serving fake. */
export interface TfServingFakeState {
  models: Record<string, TfServingFakeVersion[]>;
  /** Row-format predictions answered to `{instances}`. */
  predictions: unknown;
  /** Columnar outputs answered to `{inputs}`. */
  outputs: unknown;
  hang: boolean;
  nan: boolean;
  /** Version labels per model (`model_version_policy` labels), e.g. `{half_plus_two: {stable: '1'}}`. */
  labels: Record<string, Record<string, string>>;
}

/** A running TF Serving fake. */
export interface TfServingFake extends FakeServer {
  readonly state: TfServingFakeState;
}

/**
 * Starts the fake with model `half_plus_two`, version "1" AVAILABLE.
 *
 * @example
 * const fake = await createTfServingFake();
 * fake.state.models.half_plus_two = [{ version: '2', state: 'END', errorCode: 'NOT_FOUND', errorMessage: 'load failed' }];
 */
export async function createTfServingFake(initial: Partial<TfServingFakeState> = {}): Promise<TfServingFake> {
  const state: TfServingFakeState = {
    models: { half_plus_two: [{ version: '1', state: 'AVAILABLE' }] },
    predictions: [2.5, 3.0, 4.5],
    outputs: [2.5, 3.0, 4.5],
    hang: false,
    nan: false,
    labels: {},
    ...initial,
  };

  const statusJson = (v: TfServingFakeVersion) => ({
    version: v.version,
    state: v.state,
    status: { error_code: v.errorCode ?? 'OK', error_message: v.errorMessage ?? '' },
  });
  const servable = (name: string, version?: string): TfServingFakeVersion | FakeReply => {
    const versions = state.models[name] ?? [];
    const available = versions.filter(
      (v) => v.state === 'AVAILABLE' && (version === undefined || v.version === version),
    );
    const chosen = available.sort((a, b) => Number(b.version) - Number(a.version))[0];
    if (chosen) return chosen;
    const spec = version === undefined ? `Latest(${name})` : `Specific(${name}, ${version})`;
    return { status: 404, json: { error: `Servable not found for request: ${spec}` } };
  };
  const nanOr = (value: unknown): FakeReply =>
    state.nan
      ? { status: 200, text: withNonFinite(nanified(value)), contentType: 'application/json' }
      : { status: 200, json: value };

  const server = await startFakeServer((req) => {
    if (state.hang) return { hang: true };
    const m =
      /^\/v1\/models\/([^/:]+)(?:\/(versions|labels)\/([^/:]+))?(\/metadata|:predict|:classify|:regress)?$/.exec(
        req.path,
      );
    if (!m) return undefined;
    const name = decodeURIComponent(m[1] as string);
    const action = m[4];
    let version = m[3] === undefined ? undefined : decodeURIComponent(m[3]);
    // http_rest_api_util.cc (lines 28–31 at b6b8cca6): the route's version is (\d+); anything else
    // matches no route.
    if (m[2] === 'versions' && version !== undefined && !/^\d+$/.test(version))
      return { status: 400, json: { error: `Malformed request: ${req.method} ${req.path}` } };
    if (m[2] === 'labels' && version !== undefined) {
      const label = version;
      version = state.labels[name]?.[label];
      if (version === undefined)
        return { status: 404, json: { error: `Unrecognized servable version label: ${label}` } };
    }
    if (req.method === 'GET' && action === undefined) {
      const versions = state.models[name];
      if (!versions || versions.length === 0)
        return { status: 404, json: { error: `Could not find any versions of model ${name}` } };
      if (version === undefined)
        return { status: 200, json: { model_version_status: versions.map(statusJson) } };
      const one = versions.find((v) => v.version === version);
      if (!one) return { status: 404, json: { error: `Could not find version ${version} of model ${name}` } };
      return { status: 200, json: { model_version_status: [statusJson(one)] } };
    }
    if (req.method === 'GET' && action === '/metadata') {
      const chosen = servable(name, version);
      if (!('version' in chosen)) return chosen;
      return {
        status: 200,
        json: {
          model_spec: { name, signature_name: '', version: chosen.version },
          metadata: {
            signature_def: {
              signature_def: { serving_default: { method_name: 'tensorflow/serving/predict' } },
            },
          },
        },
      };
    }
    if (req.method === 'POST' && action !== undefined && action !== '/metadata') {
      const chosen = servable(name, version);
      if (!('version' in chosen)) return chosen;
      const body = jsonBody(req);
      if (typeof body !== 'object' || body === null)
        return { status: 400, json: { error: 'JSON Parse error: Invalid value.' } };
      if (action === ':classify' || action === ':regress') {
        const examples = (body as Record<string, unknown>).examples;
        // json_tensor.cc says "classify" for regress too.
        if (examples === undefined)
          return {
            status: 400,
            json: { error: "When method is classify, key 'examples' is expected and was not found" },
          };
        if (!Array.isArray(examples))
          return { status: 400, json: { error: "Expecting 'examples' value to be an list/array" } };
        if (examples.length === 0)
          return { status: 400, json: { error: "'examples' value is an empty array" } };
      }
      if (action === ':predict' && 'instances' in body) {
        const { instances } = body as Record<string, unknown>;
        if ('inputs' in body)
          return {
            status: 400,
            json: {
              error: "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist",
            },
          };
        if (!Array.isArray(instances))
          return { status: 400, json: { error: "Excepting 'instances' to be an list/array" } };
        if (instances.length === 0) return { status: 400, json: { error: "No values in 'instances' array" } };
      }
      if (action === ':classify')
        return nanOr({
          results: [
            [
              ['cat', 0.9],
              ['dog', 0.1],
            ],
          ],
        });
      if (action === ':regress') return nanOr({ results: [2.5] });
      if ('instances' in body) return nanOr({ predictions: state.predictions });
      if ('inputs' in body) return nanOr({ outputs: state.outputs });
      return { status: 400, json: { error: "Missing 'inputs' or 'instances' key" } };
    }
    return undefined;
  });
  return Object.assign(server, { state });
}
