/**
 * Fuzzing each protocol adapter's answer normaliser (issue #14): whatever an endpoint answers — any JSON,
 * shapes close to each protocol's (OIP outputs, KServe predictions, OpenAI choices, Ollama responses, TF
 * Serving's version status, TorchServe's management entries) with anything inside, deep nesting,
 * invalid JSON, any status — a probe of every check of every protocol's fixture plan gets a result, never
 * an exception, and never `INTERNAL` (the code of an exception caught in the probe path: the normaliser
 * must have handled the input itself). oip-grpc's decoder is reached through `encodeInferRequest`'s
 * fuzz (wire/oip-grpc.fuzz.test.ts) only: this fake speaks HTTP/1.1.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { fc, fuzz, fuzzTimeoutMs } from '../fixtures/fuzz.js';
import { isProbeable, runProbe } from '../probe/run-probe.js';
import type { CheckPlan, HttpClient } from '../types.js';
import { type FakeReply, type FakeServer, startFakeServer } from './fakes/server.js';
import { makeClient } from './fakes/testing.js';

let fake: FakeServer;
let client: HttpClient;
let reply: FakeReply = { status: 200, json: {} };

beforeAll(async () => {
  fake = await startFakeServer(() => reply);
  client = makeClient();
});

afterAll(async () => {
  await fake.close();
  await client.close();
});

/** Every probeable check of every HTTP protocol's fixture plan, pointed at the fake (no TLS, no auth). */
function plans(): CheckPlan[] {
  const dir = new URL('../config/fixtures/good/', import.meta.url);
  return readdirSync(dir)
    .filter((name) => name.endsWith('.plan.json') && !name.startsWith('oip-grpc'))
    .flatMap((name) => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as CheckPlan[])
    .filter(isProbeable)
    .map((plan) => {
      const { tls: _tls, auth: _auth, ...target } = plan.target;
      const pointed = { ...target, url: fake.url, headers: {} } as CheckPlan['target'];
      if ('managementUrl' in pointed) (pointed as { managementUrl?: string }).managementUrl = fake.url;
      if ('managementAuth' in pointed) delete (pointed as { managementAuth?: unknown }).managementAuth;
      return { ...plan, target: pointed, timeoutMs: 5_000 };
    });
}

const anything = fc.jsonValue({ maxDepth: 4 });
const tensor = fc.record(
  {
    name: fc.oneof(fc.constantFrom('y', 'output', 'probability'), anything),
    datatype: fc.oneof(fc.constantFrom('FP32', 'FP16', 'BF16', 'INT64', 'BYTES', 'BOOL'), anything),
    shape: fc.oneof(fc.array(fc.integer({ min: -1, max: 4 }), { maxLength: 3 }), anything),
    data: anything,
    parameters: fc.oneof(fc.constant({ binary_data_size: 2 }), anything),
  },
  { requiredKeys: [] },
);
/** Bodies shaped like each protocol's answers, with anything inside. */
const shaped = fc.oneof(
  fc.record(
    { model_name: anything, model_version: anything, outputs: fc.oneof(fc.array(tensor), anything) },
    { requiredKeys: [] },
  ),
  fc.record({ predictions: anything, outputs: anything }, { requiredKeys: [] }),
  fc.record(
    {
      choices: fc.oneof(
        fc.array(
          fc.record(
            {
              message: fc.record({ content: anything, reasoning_content: anything }, { requiredKeys: [] }),
              text: anything,
              finish_reason: anything,
            },
            { requiredKeys: [] },
          ),
        ),
        anything,
      ),
      model: anything,
    },
    { requiredKeys: [] },
  ),
  fc.record(
    { response: anything, thinking: anything, done: anything, done_reason: anything, model: anything },
    { requiredKeys: [] },
  ),
  fc.record(
    {
      model_version_status: fc.oneof(
        fc.array(
          fc.record(
            {
              version: anything,
              state: fc.oneof(fc.constantFrom('AVAILABLE', 'LOADING', 'END'), anything),
              status: anything,
            },
            { requiredKeys: [] },
          ),
        ),
        anything,
      ),
    },
    { requiredKeys: [] },
  ),
  fc.array(
    fc.record(
      {
        modelName: anything,
        modelVersion: anything,
        minWorkers: anything,
        workers: fc.oneof(
          fc.array(
            fc.record(
              { status: fc.oneof(fc.constantFrom('READY', 'UNLOADING'), anything) },
              { requiredKeys: [] },
            ),
          ),
          anything,
        ),
      },
      { requiredKeys: [] },
    ),
    { maxLength: 2 },
  ),
  fc.record(
    {
      status: fc.oneof(fc.constantFrom('Healthy', 'Partial Healthy', 'Unhealthy'), anything),
      name: anything,
      ready: anything,
      models: anything,
      data: anything,
    },
    { requiredKeys: [] },
  ),
);
/** `depth` levels of arrays and objects around a value: past the reader's depth limit too. */
const deep = fc
  .tuple(fc.integer({ min: 1, max: 3_000 }), fc.boolean())
  .map(([depth, objects]) =>
    objects
      ? `${'{"outputs":'.repeat(depth)}1${'}'.repeat(depth)}`
      : `${'['.repeat(depth)}1${']'.repeat(depth)}`,
  );

const answer: fc.Arbitrary<FakeReply> = fc.oneof(
  fc.record({
    status: fc.constantFrom(200, 200, 200, 400, 404, 500, 503),
    json: fc.oneof(shaped, shaped, anything),
  }),
  fc.record({
    status: fc.constantFrom(200, 400, 500),
    text: fc.oneof(deep, fc.string(), fc.constantFrom('NaN', '{"outputs": [NaN]}', '{', '')),
    contentType: fc.constant('application/json'),
  }),
);

describe('every protocol adapter normalising any answer (fuzz)', () => {
  it(
    'answers with a result, never an exception and never INTERNAL',
    async () => {
      const all = plans();
      await fuzz(
        'protocols: normalisers',
        fc.asyncProperty(fc.constantFrom(...all), answer, async (plan, given) => {
          reply = given;
          const result = await runProbe(plan, { client });
          if (result.checkId !== plan.id) throw new Error(`result of ${result.checkId} for ${plan.id}`);
          if (result.error?.code === 'INTERNAL') {
            throw new Error(`${plan.target.protocol} ${plan.kind}: INTERNAL: ${result.error.message}`);
          }
        }),
      );
    },
    fuzzTimeoutMs,
  );
});
