// One suite every framework adapter must pass (run by node-http, express, fastify and hono tests),
// always against the real framework listening on 127.0.0.1.
import { describe, expect, it } from 'vitest';
import type { Health } from './health.js';
import type { HealthOptions } from './options.js';
import { createTestHealth, deferred, getJson, STACK_FRAME } from './test-support.js';

/** A started app: the health adapter mounted at the root, plus its own `GET /app` answering "app". */
export interface StartedApp {
  url: string;
}

/** Starts the framework with the adapter for `health`; the app must close itself when the test finishes. */
export type StartApp = (health: Health) => Promise<StartedApp>;

export function describeAdapterContract(framework: string, start: StartApp): void {
  async function startWith<P, O>(options: HealthOptions<P, O> = {}) {
    const health = createTestHealth(options);
    const { url } = await start(health);
    return { health, url };
  }

  describe(`${framework} adapter (contract)`, () => {
    it('serves /livez as application/json with cache-control: no-store', async () => {
      const { url } = await startWith();
      const response = await getJson(`${url}/livez`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.body).toEqual({ status: 'ok', checks: { eventLoop: { status: 'ok' } } });
    });

    it('answers /startupz and /readyz 503 during warm-up, then 200 with its duration', async () => {
      const warm = deferred();
      const { url, health } = await startWith({ warmup: () => warm.promise });
      for (const path of ['/startupz', '/readyz']) {
        const response = await getJson(`${url}${path}`);
        expect(response.status).toBe(503);
        expect(response.body.checks.warmup).toEqual({ status: 'error', error: 'warm-up has not finished' });
      }
      warm.resolve();
      const { durationMs } = await health.waitForWarmup();
      for (const path of ['/startupz', '/readyz']) {
        const response = await getJson(`${url}${path}`);
        expect(response.status).toBe(200);
        expect(response.body).toEqual({ status: 'ok', checks: { warmup: { status: 'ok', durationMs } } });
      }
    });

    it('answers /readyz 503 naming the failing dependency, without a stack trace', async () => {
      const { url } = await startWith({
        dependencies: {
          db: () => {
            throw new Error('connection refused');
          },
        },
      });
      const response = await getJson(`${url}/readyz?verbose`);
      expect(response.status).toBe(503);
      expect(response.body.checks.db).toMatchObject({ status: 'error', error: 'connection refused' });
      expect(response.text).not.toMatch(STACK_FRAME);
    });

    it('serves /healthz/model and adds the output summary with ?verbose only', async () => {
      const { url } = await startWith({ selfTest: { payload: [1, 2, 3], run: (input: number[]) => input } });
      const plain = await getJson(`${url}/healthz/model`);
      expect(plain.status).toBe(200);
      expect(plain.body).toEqual({ status: 'ok', checks: { model: { status: 'ok' } } });
      const verbose = await getJson(`${url}/healthz/model?verbose=1`);
      expect(verbose.body.checks.model).toMatchObject({ status: 'ok', output: { type: 'array', length: 3 } });
      const notVerbose = await getJson(`${url}/healthz/model?verbose=false`);
      expect(notVerbose.body.checks.model).toEqual({ status: 'ok' });
    });

    it('answers HEAD with the status code and no body', async () => {
      const warm = deferred();
      const { url } = await startWith({ warmup: () => warm.promise });
      const response = await fetch(`${url}/readyz`, { method: 'HEAD' });
      expect(response.status).toBe(503);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await response.text()).toBe('');
      warm.resolve();
    });

    it("passes every other request to the app's own routes", async () => {
      const { url } = await startWith();
      const response = await fetch(`${url}/app`);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('app');
      expect((await fetch(`${url}/healthz/model`)).status).toBe(404);
    });

    it('serves configured paths instead of the defaults', async () => {
      const { url } = await startWith({ paths: { readyz: '/ready', livez: '/live' } });
      expect((await getJson(`${url}/ready`)).status).toBe(200);
      expect((await getJson(`${url}/live`)).body.checks.eventLoop?.status).toBe('ok');
      expect((await fetch(`${url}/readyz`)).status).toBe(404);
    });
  });
}
