/**
 * The adapter contract, run against every adapter and a server speaking its protocol: the example
 * model server for oip-v2 (REST) and oip-grpc (gRPC), the fakes in ./fakes for the others. One suite per plugin kind (STYLE.md).
 */
import { createModelServer, parseFault } from '@vigil/example-model-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient, TargetConfig } from '../types.js';
import type { GrpcExchange } from '../wire/grpc.js';
import { createHttpFake } from './fakes/http.js';
import { createKserveV1Fake } from './fakes/kserve-v1.js';
import { createOllamaFake } from './fakes/ollama.js';
import { createOpenAiFake } from './fakes/openai.js';
import { startFakeServer } from './fakes/server.js';
import { type AdapterCall, makeClient, makePlan, makeTarget, runAdapter } from './fakes/testing.js';
import { createTfServingFake } from './fakes/tfserving.js';
import { createTorchServeFake } from './fakes/torchserve.js';
import { ADAPTERS, getAdapter, PROTOCOL_NAMES, type ProtocolName } from './index.js';

/** A server speaking one protocol, with the switches the contract needs. */
interface Running {
  target: TargetConfig;
  /** The integrity smoke payload. */
  request?: unknown;
  /** A JSONPath into the integrity answer's probe document and the values it must give. */
  extract: { path: string; expected: unknown[] };
  /** Inference accepts the request and never answers. */
  hang(): void;
  /** Inference answers with bare NaN tokens. */
  nan(): void;
  reset(): void;
  close(): Promise<void>;
  /** The protocol runs over gRPC: no HTTP status or headers; its status is the call's. */
  grpc?: boolean;
}

/** The example model server, over REST (`oip-v2`) or gRPC (`oip-grpc`). */
async function exampleServer(protocol: 'oip-v2' | 'oip-grpc'): Promise<Running> {
  const server = await createModelServer({
    models: ['credit-scorer'],
    warmupInferences: 1,
    faults: { enabled: true, token: 'contract' },
  });
  const rest = await server.listen();
  for (let i = 0; i < 400 && (await fetch(`${rest}/v2/health/ready`)).status !== 200; i++)
    await new Promise((r) => setTimeout(r, 25));
  const grpc = protocol === 'oip-grpc';
  return {
    target: makeTarget(protocol, grpc ? await server.listenGrpc() : rest, { model: 'credit-scorer' }),
    request: {
      inputs: [
        { name: 'features', shape: [1, 8], datatype: 'FP32', data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0, 0.7] },
      ],
    },
    extract: { path: '$.body.model_name', expected: ['credit-scorer'] },
    hang: () => server.faults.set('hang', parseFault('hang', {})),
    nan: () => server.faults.set('nan', parseFault('nan', {})),
    reset: () => server.faults.clear(),
    close: () => server.close(),
    grpc,
  };
}

const HARNESSES: Record<ProtocolName, () => Promise<Running>> = {
  'oip-v2': () => exampleServer('oip-v2'),
  'oip-grpc': () => exampleServer('oip-grpc'),
  async 'kserve-v1'() {
    const fake = await createKserveV1Fake();
    return {
      target: makeTarget('kserve-v1', fake.url, { model: 'iris' }),
      request: { instances: [[6.8, 2.8, 4.8, 1.4]] },
      extract: { path: '$.body.predictions[0]', expected: [1] },
      hang: () => {
        fake.state.hang = true;
      },
      nan: () => {
        fake.state.nan = true;
      },
      reset: () => Object.assign(fake.state, { hang: false, nan: false }),
      close: () => fake.close(),
    };
  },
  async torchserve() {
    const fake = await createTorchServeFake();
    return {
      target: makeTarget('torchserve', fake.url, { model: 'resnet', managementUrl: fake.managementUrl }),
      request: { data: 'kitten' },
      extract: { path: '$.body.tabby', expected: [0.8] },
      hang: () => {
        fake.state.hang = true;
      },
      nan: () => {
        fake.state.nan = true;
      },
      reset: () => Object.assign(fake.state, { hang: false, nan: false }),
      close: () => fake.close(),
    };
  },
  async tfserving() {
    const fake = await createTfServingFake();
    return {
      target: makeTarget('tfserving', fake.url, { model: 'half_plus_two' }),
      request: { instances: [1.0, 2.0, 5.0] },
      extract: { path: '$.body.predictions[-1]', expected: [4.5] },
      hang: () => {
        fake.state.hang = true;
      },
      nan: () => {
        fake.state.nan = true;
      },
      reset: () => Object.assign(fake.state, { hang: false, nan: false }),
      close: () => fake.close(),
    };
  },
  async openai() {
    const fake = await createOpenAiFake();
    return {
      target: makeTarget('openai', fake.url, { model: 'facebook/opt-125m' }),
      request: { prompt: 'Say OK' },
      extract: { path: '$.body.choices[*].text', expected: ['OK'] },
      hang: () => {
        fake.state.hang = true;
      },
      nan: () => {
        fake.state.nan = true;
      },
      reset: () => Object.assign(fake.state, { hang: false, nan: false }),
      close: () => fake.close(),
    };
  },
  async ollama() {
    const fake = await createOllamaFake();
    return {
      target: makeTarget('ollama', fake.url, { model: 'llama3.2:1b' }),
      request: { prompt: 'Say OK' },
      extract: { path: '$.body.done_reason', expected: ['stop'] },
      hang: () => {
        fake.state.hang = true;
      },
      nan: () => {
        fake.state.nan = true;
      },
      reset: () => Object.assign(fake.state, { hang: false, nan: false }),
      close: () => fake.close(),
    };
  },
  async http() {
    const fake = await createHttpFake();
    const healthy = fake.state.routes['GET /'];
    return {
      target: makeTarget('http', fake.url),
      extract: { path: '$.body.score', expected: [0.42] },
      hang: () => {
        fake.state.hang = true;
      },
      nan: () => {
        fake.state.routes['GET /'] = { status: 200, text: '{"score": NaN}', contentType: 'application/json' };
      },
      reset: () => {
        fake.state.hang = false;
        if (healthy) fake.state.routes['GET /'] = healthy;
      },
      close: () => fake.close(),
    };
  },
};

const CALLS: AdapterCall[] = ['liveness', 'readiness', 'integrity', 'metadata'];

let client: HttpClient;
let closedUrl: string;
beforeAll(async () => {
  client = makeClient();
  const probe = await startFakeServer(() => undefined);
  closedUrl = probe.url;
  await probe.close();
});
afterAll(async () => {
  await client.close();
});

it('the registry has one adapter per protocol name, each named for its key', () => {
  expect(Object.keys(ADAPTERS).sort()).toEqual([...PROTOCOL_NAMES].sort());
  for (const name of PROTOCOL_NAMES) {
    expect(getAdapter(name).name).toBe(name);
  }
});

describe.each(PROTOCOL_NAMES)('adapter contract: %s', (protocol) => {
  const adapter = ADAPTERS[protocol];
  let running: Running;
  const plan = (call: AdapterCall, overrides: { target?: TargetConfig; timeoutMs?: number } = {}) =>
    makePlan(call === 'metadata' ? 'liveness' : call, overrides.target ?? running.target, {
      ...(running.request === undefined ? {} : { request: running.request }),
      extract: { extracted: running.extract.path },
      ...(overrides.timeoutMs === undefined ? {} : { timeoutMs: overrides.timeoutMs }),
    });

  beforeAll(async () => {
    running = await HARNESSES[protocol]();
  });
  afterAll(async () => {
    await running?.close();
  });

  it.each(['liveness', 'readiness'] as const)('%s passes against a healthy server', async (call) => {
    const answer = await runAdapter(client, adapter, call, plan(call));
    expect(answer.verdict).toEqual({ ok: true });
    if (running.grpc) expect((answer.exchange as unknown as GrpcExchange<unknown>).status.name).toBe('OK');
    else expect(answer.exchange.response).toBeDefined();
  });

  it('integrity normalises outputs to arrays, adds plan.extract outputs, and keeps status and headers', async () => {
    const answer = await runAdapter(client, adapter, 'integrity', plan('integrity'));
    expect(answer.verdict).toEqual({ ok: true });
    const doc = answer.document;
    if (!running.grpc) {
      expect(doc?.status).toBe(200);
      expect(doc?.headers?.['content-type']).toEqual(expect.any(String));
    }
    const outputs = Object.entries(doc?.outputs ?? {});
    expect(outputs.length).toBeGreaterThan(0);
    for (const [, values] of outputs) expect(Array.isArray(values)).toBe(true);
    expect(doc?.outputs.extracted).toEqual(running.extract.expected);
    if (answer.modelVersion !== undefined) expect(doc?.modelVersion).toBe(answer.modelVersion);
  });

  it('metadata answers with a document', async () => {
    const answer = await runAdapter(client, adapter, 'metadata', plan('metadata'));
    expect(answer.verdict).toEqual({ ok: true });
    expect(answer.document?.body).toBeDefined();
    expect(answer.document?.body).not.toBe('');
  });

  it.each(CALLS)("%s: a transport error becomes a verdict with the exchange's code", async (call) => {
    const url = running.grpc ? closedUrl.replace(/^http:/, 'grpc:') : closedUrl;
    const target = { ...running.target, url, managementUrl: closedUrl };
    const answer = await runAdapter(client, adapter, call, plan(call, { target }));
    expect(answer.exchange.error?.code).toBe('CONNECTION_REFUSED');
    expect(answer.verdict).toMatchObject({ ok: false, code: answer.exchange.error?.code });
    if (!answer.verdict.ok) expect(answer.verdict.reason).toContain(answer.exchange.error?.message ?? '?');
    expect(answer.document).toBeUndefined();
  });

  it('integrity: a hung inference times out within the probe timeout (TIMEOUT)', async () => {
    running.hang();
    try {
      const started = performance.now();
      const answer = await runAdapter(client, adapter, 'integrity', plan('integrity', { timeoutMs: 250 }));
      // A hang is unbounded; 5 s is a wide margin over the 250 ms for a loaded CI machine.
      expect(performance.now() - started).toBeLessThan(5_000);
      expect(answer.verdict).toMatchObject({ ok: false, code: 'TIMEOUT' });
    } finally {
      running.reset();
    }
  });

  it('integrity: bare NaN in the body is NON_FINITE_NUMBER, not a crash', async () => {
    running.nan();
    try {
      const answer = await runAdapter(client, adapter, 'integrity', plan('integrity'));
      expect(answer.verdict).toMatchObject({ ok: false, code: 'NON_FINITE_NUMBER' });
      if (!running.grpc) expect(answer.document?.status).toBe(200);
    } finally {
      running.reset();
    }
  });
});
