/**
 * Test helpers of the router: plans without YAML, a router with its decisions recorded, and real
 * example model servers whose `crash` fault drops every connection (as a dead process would) instead
 * of exiting the test process.
 */
import { createModelServer, type ModelServer } from '@vigil/example-model-server';
import type { FallbackPlan, PolicyPlan, RouterPlan } from './config.js';
import { createRouterMetrics, type RouterMetrics } from './metrics.js';
import { createRouter, type Router, type TrafficObservation } from './proxy.js';

/** The credit-scorer's smoke request (OIP v2). */
export const CREDIT_BODY = JSON.stringify({
  inputs: [
    { name: 'features', shape: [1, 8], datatype: 'FP32', data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] },
  ],
});
export const CREDIT_PATH = '/v2/models/credit-scorer/infer';

/** A policy for tests: short windows and waits, idempotent, no hedging. */
export const TEST_POLICY: PolicyPlan = {
  deadlineMs: 1000,
  failoverAtMs: 800,
  windowMs: 2000,
  hedgeAfterMs: undefined,
  hedgeMaxShare: 0.1,
  idempotent: true,
  bodyCapBytes: 65_536,
  consecutive5xx: 5,
  baseEjectionMs: 30_000,
  maxEjectedShare: 0.5,
  returnSteps: [0.25, 0.5, 1],
  healthyForMs: 300,
};

/** A plan with `urls[0]` as primary (`a`) and the rest as secondaries (`b`, `c`, …). */
export function testPlan(
  urls: readonly string[],
  policy: Partial<PolicyPlan> = {},
  fallback?: FallbackPlan,
  name = 'r',
): RouterPlan {
  return {
    name,
    region: 'local',
    host: '127.0.0.1',
    port: 0,
    upstreams: urls.map((url, i) => ({
      name: String.fromCharCode(97 + i),
      url,
      role: i === 0 ? ('primary' as const) : ('secondary' as const),
    })),
    fallback,
    policy: { ...TEST_POLICY, ...policy },
    traffic: { intervalMs: 250, errorShare: 0.5 },
  };
}

/** A listening router whose logs and observations are kept for assertions. */
export interface TestRouter {
  router: Router;
  url: string;
  metrics: RouterMetrics;
  logs: Array<{ level: string; message: string; fields?: Record<string, unknown> }>;
  observations: TrafficObservation[];
  /** Resolves once a log line matches (checks past lines first). */
  logged(pattern: RegExp, timeoutMs?: number): Promise<string>;
}

export async function startTestRouter(
  plan: RouterPlan,
  metrics = createRouterMetrics({ defaultMetrics: false }),
) {
  const logs: TestRouter['logs'] = [];
  const observations: TrafficObservation[] = [];
  const waiters = new Set<{ pattern: RegExp; resolve: (m: string) => void }>();
  const router = await createRouter(plan, {
    metrics,
    log: (level, message, fields) => {
      logs.push({ level, message, ...(fields && { fields }) });
      for (const w of waiters) {
        if (w.pattern.test(message)) {
          waiters.delete(w);
          w.resolve(message);
        }
      }
    },
    onObservation: (o) => observations.push(o),
  });
  const url = await router.listen();
  const logged = (pattern: RegExp, timeoutMs = 10_000) => {
    const past = logs.find((l) => pattern.test(l.message));
    if (past) return Promise.resolve(past.message);
    return new Promise<string>((resolve, reject) => {
      const w = { pattern, resolve };
      waiters.add(w);
      setTimeout(() => {
        if (waiters.delete(w))
          reject(new Error(`no log line matched ${pattern}:\n${logs.map((l) => l.message).join('\n')}`));
      }, timeoutMs).unref();
    });
  };
  return { router, url, metrics, logs, observations, logged } satisfies TestRouter;
}

/** A real model server (credit-scorer) with faults on; its `crash` drops every connection and stops listening. */
export async function startModelServer(): Promise<{ server: ModelServer; url: string }> {
  let crash = () => {};
  const server = await createModelServer({
    models: ['credit-scorer'],
    warmupInferences: 1,
    faults: { enabled: true, token: 't' },
    exit: () => crash(),
  });
  crash = () => {
    server.app.server.close();
    server.app.server.closeAllConnections();
  };
  const url = await server.listen();
  return { server, url };
}

/** Sets a fault through the model server's admin API, as an operator would. */
export async function setFault(
  url: string,
  mode: string,
  params: Record<string, unknown> = {},
): Promise<void> {
  const res = await fetch(`${url}/admin/faults/${mode}`, {
    method: 'PUT',
    headers: { authorization: 'Bearer t', 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  if (!res.ok) throw new Error(`fault ${mode}: ${res.status} ${await res.text()}`);
}

/** One inference through `url`; resolves with status, who served it, and the body text. */
export async function infer(url: string): Promise<{ status: number; servedBy: string | null; body: string }> {
  const res = await fetch(`${url}${CREDIT_PATH}`, {
    method: 'POST',
    body: CREDIT_BODY,
    headers: { 'content-type': 'application/json' },
  });
  return { status: res.status, servedBy: res.headers.get('x-vigil-served-by'), body: await res.text() };
}
