/**
 * A fake plain HTTP endpoint: a table of canned answers by `METHOD /path`, plus `/echo` (any method), which
 * answers the request it got (method, headers, body) so that a test can see what was sent.
 */
import { type FakeReply, type FakeServer, startFakeServer } from './server.js';

/** Switchable state of the HTTP fake. */
export interface HttpFakeState {
  /** Canned answers by `METHOD /path`, e.g. `'GET /status'`. */
  routes: Record<string, FakeReply>;
  hang: boolean;
}

/** A running HTTP fake. */
export interface HttpFake extends FakeServer {
  readonly state: HttpFakeState;
}

/**
 * Starts the fake with `GET /` → 200 `{"status":"ok","score":0.42,"labels":["a","b"]}`.
 *
 * @example
 * const fake = await createHttpFake();
 * fake.state.routes['GET /nan'] = { status: 200, text: '{"score": NaN}', contentType: 'application/json' };
 */
export async function createHttpFake(initial: Partial<HttpFakeState> = {}): Promise<HttpFake> {
  const state: HttpFakeState = {
    routes: { 'GET /': { status: 200, json: { status: 'ok', score: 0.42, labels: ['a', 'b'] } } },
    hang: false,
    ...initial,
  };
  const server = await startFakeServer((req) => {
    if (state.hang) return { hang: true };
    if (req.path === '/echo')
      return { status: 200, json: { method: req.method, headers: req.headers, body: req.body } };
    return state.routes[`${req.method} ${req.path}`];
  });
  return Object.assign(server, { state });
}
