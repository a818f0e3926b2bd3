/**
 * A fake KServe v1 model server (KServe's Python `ModelServer`, V1 protocol), from PROTOCOLS.md. It
 * stands in for that Python server, which cannot run here (README, "Protocols"):
 * `GET /` → `{"status":"alive"}`; `GET /v1/models` → `{"models":[…]}`; `GET /v1/models/{m}` →
 * `{"name","ready":true}`, 503 not ready, 404 unknown; `POST /v1/models/{m}:predict` `{"instances"}` →
 * `{"predictions"}`. Errors are `{"error": "…"}` with KServe's messages.
 */
import { type FakeReply, type FakeServer, jsonBody, startFakeServer, withNonFinite } from './server.js';

/** Switchable state of the KServe v1 fake; change fields at any time. */
export interface KserveV1FakeState {
  /** Served models and whether each is ready. */
  models: Record<string, { ready: boolean }>;
  /** What `:predict` answers as `predictions`. */
  predictions: unknown;
  /** Every route accepts the request and never answers. */
  hang: boolean;
  /** `:predict` answers with bare NaN tokens in its predictions. */
  nan: boolean;
}

/** A running KServe v1 fake. */
export interface KserveV1Fake extends FakeServer {
  readonly state: KserveV1FakeState;
}

/**
 * Starts the fake with one ready model, `iris`, predicting `[1, 0]`.
 *
 * @example
 * const fake = await createKserveV1Fake();
 * fake.state.models.iris = { ready: false }; // readiness now answers 503
 */
export async function createKserveV1Fake(initial: Partial<KserveV1FakeState> = {}): Promise<KserveV1Fake> {
  const state: KserveV1FakeState = {
    models: { iris: { ready: true } },
    predictions: [1, 0],
    hang: false,
    nan: false,
    ...initial,
  };
  const unknown = (m: string): FakeReply => ({
    status: 404,
    json: { error: `Model with name ${m} does not exist.` },
  });
  const notReady = (m: string): FakeReply => ({
    status: 503,
    json: { error: `Model with name ${m} is not ready.` },
  });

  const server = await startFakeServer((req) => {
    if (state.hang) return { hang: true };
    if (req.method === 'GET' && req.path === '/') return { status: 200, json: { status: 'alive' } };
    if (req.method === 'GET' && req.path === '/v1/models')
      return { status: 200, json: { models: Object.keys(state.models) } };
    const status = /^\/v1\/models\/([^/:]+)$/.exec(req.path);
    if (req.method === 'GET' && status) {
      const name = decodeURIComponent(status[1] as string);
      const model = state.models[name];
      if (!model) return unknown(name);
      return model.ready ? { status: 200, json: { name, ready: true } } : notReady(name);
    }
    const predict = /^\/v1\/models\/([^/:]+):predict$/.exec(req.path);
    if (req.method === 'POST' && predict) {
      const name = decodeURIComponent(predict[1] as string);
      const model = state.models[name];
      if (!model) return unknown(name);
      if (!model.ready) return notReady(name);
      const body = jsonBody(req);
      const instances =
        typeof body === 'object' && body !== null ? (body as { instances?: unknown }).instances : undefined;
      if (!Array.isArray(instances))
        return { status: 400, json: { error: 'Expected "instances" to be a list' } };
      if (state.nan)
        return {
          status: 200,
          text: withNonFinite({ predictions: [Number.NaN, 0] }),
          contentType: 'application/json',
        };
      return { status: 200, json: { predictions: state.predictions } };
    }
    return undefined;
  });
  return Object.assign(server, { state });
}
