import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CheckPlan, HttpClient } from '../types.js';
import { makeClient, makePlan, makeTarget, runAdapter } from './fakes/testing.js';
import { createTfServingFake, type TfServingFake } from './fakes/tfserving.js';
import { tfservingAdapter } from './tfserving.js';

let fake: TfServingFake;
let client: HttpClient;
const target = (overrides = {}) =>
  makeTarget('tfserving', fake.url, { model: 'half_plus_two', ...overrides });
const readiness = (overrides = {}) =>
  runAdapter(client, tfservingAdapter, 'readiness', makePlan('readiness', target(overrides)));
const integrity = (request: unknown, method?: CheckPlan['method']) =>
  runAdapter(
    client,
    tfservingAdapter,
    'integrity',
    makePlan('integrity', target(), { request, ...(method ? { method } : {}) }),
  );

beforeAll(async () => {
  fake = await createTfServingFake();
  client = makeClient();
});
afterAll(async () => {
  await client.close();
  await fake.close();
});
beforeEach(() => {
  Object.assign(fake.state, {
    models: { half_plus_two: [{ version: '1', state: 'AVAILABLE' }] },
    predictions: [2.5, 3.0, 4.5],
    outputs: [2.5, 3.0, 4.5],
    hang: false,
    nan: false,
  });
});

describe('tfserving', () => {
  it('liveness: the model status route answers 200', async () => {
    const answer = await runAdapter(client, tfservingAdapter, 'liveness', makePlan('liveness', target()));
    expect(answer.verdict).toEqual({ ok: true });
  });

  it('readiness: a version AVAILABLE is ready, and its version (a string in JSON) is reported', async () => {
    const answer = await readiness();
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.modelVersion).toBe('1');
  });

  it.each(['UNKNOWN', 'START', 'LOADING', 'UNLOADING'] as const)(
    'readiness: state %s is not ready and named',
    async (state) => {
      fake.state.models.half_plus_two = [{ version: '1', state }];
      const answer = await readiness();
      expect(answer.verdict).toEqual({
        ok: false,
        reason: `TF Serving model "half_plus_two" has no AVAILABLE version: version "1" is ${state}`,
      });
    },
  );

  it('readiness: END with an error (PROTOCOLS.md: END = unloaded or failed) reports the error_message', async () => {
    fake.state.models.half_plus_two = [
      { version: '2', state: 'END', errorCode: 'NOT_FOUND', errorMessage: 'Could not find SavedModel .pb' },
    ];
    const answer = await readiness();
    expect(answer.verdict).toMatchObject({
      ok: false,
      reason: expect.stringContaining('version "2" is END (Could not find SavedModel .pb)'),
    });
  });

  it('readiness: with a version, that version must be AVAILABLE (another one being AVAILABLE is not enough)', async () => {
    fake.state.models.half_plus_two = [
      { version: '1', state: 'AVAILABLE' },
      { version: '2', state: 'LOADING' },
    ];
    expect((await readiness()).verdict).toEqual({ ok: true });
    expect((await readiness()).modelVersion).toBe('1');
    const answer = await readiness({ version: '2' });
    expect(answer.verdict).toEqual({
      ok: false,
      reason: 'TF Serving model "half_plus_two" version "2" is not AVAILABLE: version "2" is LOADING',
    });
    expect(fake.requests.at(-1)?.path).toBe('/v1/models/half_plus_two/versions/2');
  });

  it('readiness: an unknown model (404) is named as unknown', async () => {
    const answer = await readiness({ model: 'nope' });
    expect(answer.verdict).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^TF Serving model "nope" unknown: .*404/),
    });
  });

  it('integrity: {instances} → {predictions} becomes outputs.predictions', async () => {
    const answer = await integrity({ instances: [1.0, 2.0, 5.0] });
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.outputs).toEqual({ predictions: [2.5, 3.0, 4.5] });
    expect(fake.requests.at(-1)?.path).toBe('/v1/models/half_plus_two:predict');
  });

  it('integrity: {inputs} → columnar {outputs} with named tensors becomes one output per name', async () => {
    fake.state.outputs = { scores: [[0.1, 0.9]], classes: [['a', 'b']] };
    const answer = await integrity({ inputs: { x: [[1.0]] } });
    expect(answer.document?.outputs).toEqual({ scores: [0.1, 0.9], classes: ['a', 'b'] });
    expect(answer.document?.shapes).toEqual({ scores: [1, 2], classes: [1, 2] });
  });

  it('integrity: bare NaN in the answer (PROTOCOLS.md: responses may contain bare NaN) is NON_FINITE_NUMBER', async () => {
    fake.state.nan = true;
    const answer = await integrity({ instances: [1.0] });
    expect(answer.verdict).toMatchObject({ ok: false, code: 'NON_FINITE_NUMBER' });
  });

  it('integrity: :classify results become outputs.classes and outputs.scores', async () => {
    const answer = await integrity({ examples: [{ x: 1 }] }, 'classify');
    expect(fake.requests.at(-1)?.path).toBe('/v1/models/half_plus_two:classify');
    expect(answer.document?.outputs).toEqual({ classes: ['cat', 'dog'], scores: [0.9, 0.1] });
  });

  it('integrity: :regress results become outputs.results', async () => {
    const answer = await integrity({ examples: [{ x: 1 }] }, 'regress');
    expect(fake.requests.at(-1)?.path).toBe('/v1/models/half_plus_two:regress');
    expect(answer.document?.outputs).toEqual({ results: [2.5] });
  });

  it('integrity: a model with no AVAILABLE version answers 404 (UNEXPECTED_STATUS with the error)', async () => {
    fake.state.models.half_plus_two = [{ version: '1', state: 'LOADING' }];
    const answer = await integrity({ instances: [1.0] });
    expect(answer.verdict).toMatchObject({
      ok: false,
      code: 'UNEXPECTED_STATUS',
      reason: expect.stringContaining('Servable not found for request: Latest(half_plus_two)'),
    });
  });

  it('integrity: a method TF Serving has not (a plan built by hand) is a coded error, not a request', async () => {
    const requests = fake.requests.length;
    await expect(integrity({ instances: [1.0] }, 'explain')).rejects.toMatchObject({
      code: 'VIGIL_ERR_PROTOCOL_INVALID_PLAN',
      message:
        'target "tfserving-target": protocol tfserving has no method "explain"; expected one of predict, classify, regress',
    });
    expect(fake.requests.length).toBe(requests);
  });

  it('metadata: GET …/metadata, version from model_spec', async () => {
    const answer = await runAdapter(client, tfservingAdapter, 'metadata', makePlan('liveness', target()));
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.modelVersion).toBe('1');
    expect(fake.requests.at(-1)?.path).toBe('/v1/models/half_plus_two/metadata');
  });
});

describe('tfserving answers read as TF Serving means them', () => {
  it('404 "Could not find any versions" says no version is managed (not in the config, or no version directory yet) (tensorflow_serving/model_servers/get_model_status_impl.cc at 49ac8acb, GetModelStatusWithModelSpec lines 98–101)', async () => {
    fake.state.models.empty = [];
    const answer = await readiness({ model: 'empty' });
    expect(answer.verdict).toEqual({
      ok: false,
      reason:
        'TF Serving model "empty" unknown: GET /v1/models/empty answered 404: Could not find any versions of model empty (TF Serving manages no version of it: the name is not in its model config, or its base path has no numbered version directory yet)',
    });
  });

  it('a closed listener is read as "may still be loading" (PROTOCOLS.md; tensorflow_serving/model_servers/server.cc opens REST after the initial load)', async () => {
    const loading = await createTfServingFake();
    const url = loading.url;
    await loading.stop();
    try {
      const t = makeTarget('tfserving', url, { model: 'half_plus_two' });
      for (const kind of ['liveness', 'readiness'] as const) {
        const answer = await runAdapter(client, tfservingAdapter, kind, makePlan(kind, t));
        expect(answer.verdict).toMatchObject({
          ok: false,
          code: 'CONNECTION_REFUSED',
          reason: expect.stringContaining(
            'TF Serving opens its REST port only once its initial models have loaded',
          ),
        });
      }
    } finally {
      await loading.close();
    }
  });
});

describe('the TF Serving fake answers as TF Serving does (model_servers/http_rest_api_handler.cc and http_rest_api_util.cc at b6b8cca6, util/json_tensor.cc: function named, lines not determined)', () => {
  it.each([
    {
      what: 'both instances and inputs',
      request: { instances: [1], inputs: [1] },
      error: "Not formatted correctly expecting only one of 'inputs' or 'instances' keys to exist",
    },
    {
      what: 'non-array instances',
      request: { instances: 1 },
      error: "Excepting 'instances' to be an list/array",
    },
    { what: 'empty instances', request: { instances: [] }, error: "No values in 'instances' array" },
    { what: 'neither key', request: { rows: [1] }, error: "Missing 'inputs' or 'instances' key" },
  ])(
    'predict with $what answers 400 (json_tensor.cc FillPredictRequestFromJson)',
    async ({ request, error }) => {
      const answer = await integrity(request);
      expect(answer.verdict).toMatchObject({
        ok: false,
        code: 'UNEXPECTED_STATUS',
        reason: `TF Serving POST /v1/models/half_plus_two:predict answered 400: ${error}`,
      });
    },
  );

  it.each(['classify', 'regress'] as const)(
    '%s without "examples" answers 400 (json_tensor.cc FillClassifyRegressRequestFromJson says "classify" for both)',
    async (method) => {
      const answer = await integrity({ signature_name: 'x' }, method);
      expect(answer.verdict).toMatchObject({
        ok: false,
        reason: expect.stringContaining(
          "When method is classify, key 'examples' is expected and was not found",
        ),
      });
    },
  );

  it('a non-numeric version matches no route: 400 "Malformed request" (http_rest_api_util.cc at b6b8cca6: the routes take (\\d+) versions, lines 28–31; http_rest_api_handler.cc at b6b8cca6: the default status, lines 72–73)', async () => {
    const answer = await runAdapter(
      client,
      tfservingAdapter,
      'integrity',
      makePlan('integrity', target({ version: 'latest' }), { request: { instances: [1] } }),
    );
    expect(answer.verdict).toMatchObject({
      ok: false,
      reason: expect.stringContaining(
        'answered 400: Malformed request: POST /v1/models/half_plus_two/versions/latest:predict',
      ),
    });
  });

  it('/labels/{l} is served in place of a version (http_rest_api_util.cc at b6b8cca6, lines 28–31)', async () => {
    fake.state.labels = { half_plus_two: { stable: '1' } };
    try {
      const response = await fetch(`${fake.url}/v1/models/half_plus_two/labels/stable`);
      expect(response.status).toBe(200);
      expect(await response.json()).toMatchObject({
        model_version_status: [{ version: '1', state: 'AVAILABLE' }],
      });
      const predicted = await fetch(`${fake.url}/v1/models/half_plus_two/labels/stable:predict`, {
        method: 'POST',
        body: JSON.stringify({ instances: [1] }),
      });
      expect(predicted.status).toBe(200);
      expect((await fetch(`${fake.url}/v1/models/half_plus_two/labels/canary`)).status).toBe(404);
    } finally {
      fake.state.labels = {};
    }
  });
});
