/**
 * Contract test: every response of the example server validates against the Open Inference
 * Protocol's own OpenAPI schemas (packages/vigil/specs/open_inference_rest.yaml, copied into the
 * repository with its licence).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv, type ValidateFunction } from 'ajv';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { MODEL_NAMES } from './models.js';
import { createModelServer, type ModelServer } from './server.js';

const SPEC = fileURLToPath(
  new URL('../../../packages/vigil/specs/open_inference_rest.yaml', import.meta.url),
);

let server: ModelServer;
let url: string;
const schemas: Record<string, ValidateFunction> = {};

/** Compiles `#/components/schemas/<name>` from the spec, with the other components in scope. */
function loadSchemas(): void {
  const spec = parse(readFileSync(SPEC, 'utf8')) as { components: { schemas: Record<string, object> } };
  // OpenAPI 3.0 schemas are JSON Schema plus annotations (x-examples); validate them as such.
  const ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema({ components: spec.components }, 'oip');
  for (const name of Object.keys(spec.components.schemas)) {
    schemas[name] = ajv.getSchema(`oip#/components/schemas/${name}`) as ValidateFunction;
  }
}

function expectValid(schema: string, body: unknown): void {
  const validate = schemas[schema];
  expect(validate, `schema ${schema} in spec`).toBeDefined();
  const ok = (validate as ValidateFunction)(body);
  expect(
    ok,
    `${schema}: ${JSON.stringify((validate as ValidateFunction).errors)}\n${JSON.stringify(body)}`,
  ).toBe(true);
}

async function get(path: string) {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, body: (await res.json()) as unknown };
}
async function post(path: string, body: unknown) {
  const res = await fetch(`${url}${path}`, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, body: (await res.json()) as unknown };
}

describe('OIP v2 REST contract (packages/vigil/specs/open_inference_rest.yaml)', () => {
  beforeAll(async () => {
    loadSchemas();
    server = await createModelServer({ warmupInferences: 1 });
    url = await server.listen();
    for (let i = 0; i < 200 && (await fetch(`${url}/v2/health/ready`)).status !== 200; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
  });
  afterAll(async () => {
    await server?.close();
  });

  it('server metadata (GET /v2 and /v2/) matches metadata_server_response', async () => {
    for (const path of ['/v2', '/v2/']) {
      const { status, body } = await get(path);
      expect(status).toBe(200);
      expectValid('metadata_server_response', body);
    }
  });

  it('health endpoints answer 200 (the spec defines no body)', async () => {
    for (const path of ['/v2/health/live', '/v2/health/ready']) expect((await get(path)).status).toBe(200);
    for (const m of MODEL_NAMES) {
      expect((await get(`/v2/models/${m}/ready`)).status).toBe(200);
      expect((await get(`/v2/models/${m}/versions/1/ready`)).status).toBe(200);
    }
  });

  it.each(MODEL_NAMES)('model metadata of %s matches metadata_model_response', async (m) => {
    for (const path of [`/v2/models/${m}`, `/v2/models/${m}/versions/1`]) {
      const { status, body } = await get(path);
      expect(status).toBe(200);
      expectValid('metadata_model_response', body);
    }
  });

  it('unknown model metadata answers metadata_model_error_response', async () => {
    const { status, body } = await get('/v2/models/nope');
    expect(status).toBe(404);
    expectValid('metadata_model_error_response', body);
  });

  it.each(MODEL_NAMES)('smoke request and inference response of %s match the spec', async (m) => {
    const model = server.models.get(m);
    expect(model).toBeDefined();
    const request = { id: 'contract-1', inputs: model?.smokeInputs() };
    expectValid('inference_request', request);
    for (const path of [`/v2/models/${m}/infer`, `/v2/models/${m}/versions/1/infer`]) {
      const { status, body } = await post(path, request);
      expect(status).toBe(200);
      expectValid('inference_response', body);
    }
  });

  it('a batch with nested data and requested outputs matches inference_response', async () => {
    const request = {
      inputs: [
        {
          name: 'features',
          shape: [2, 8],
          datatype: 'FP32',
          data: [
            [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8],
            [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2],
          ],
        },
      ],
      outputs: [{ name: 'probability' }],
    };
    expectValid('inference_request', request);
    const { status, body } = await post('/v2/models/credit-scorer/infer', request);
    expect(status).toBe(200);
    expectValid('inference_response', body);
  });

  it('bad input answers inference_error_response with 400', async () => {
    const { status, body } = await post('/v2/models/credit-scorer/infer', {
      inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', data: [1] }],
    });
    expect(status).toBe(400);
    expectValid('inference_error_response', body);
  });
});
