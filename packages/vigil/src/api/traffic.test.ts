/**
 * `POST /api/v1/traffic`: a router in another process feeds the hub's traffic checks; the token
 * guards it, the body is validated, and results for checks the hub does not have are named back.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createHub, type Hub } from '../hub/hub.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan, ProbeResult } from '../types.js';
import { createApi } from './index.js';

const traffic: CheckPlan = {
  id: 'a/traffic:r',
  target: {
    name: 'a',
    url: 'http://127.0.0.1:1',
    protocol: 'http',
    labels: {},
    headers: {},
    maxBodyBytes: 1 << 20,
    maxRedirects: 0,
  },
  kind: 'traffic',
  intervalMs: 250,
  timeoutMs: 200,
  failureThreshold: 1,
  successThreshold: 1,
  fastIntervalMs: null,
  initialDelayMs: 0,
  expect: {},
};

const result = (checkId: string, extra: Partial<ProbeResult> = {}): ProbeResult => ({
  checkId,
  target: 'a',
  check: 'traffic',
  region: 'local',
  startedAt: Date.now(),
  durationMs: 3,
  phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 3, transferMs: 0 },
  outcome: 'fail',
  failures: [],
  source: 'traffic',
  ...extra,
});

describe('POST /api/v1/traffic', () => {
  let store: Store;
  let hub: Hub;
  afterEach(async () => {
    await hub?.stop();
    await store?.close();
  });

  it('takes traffic results with the token, names the checks it has none for, rejects bad bodies', async () => {
    store = await openStore(':memory:');
    hub = createHub({ plan: [traffic], store });
    await hub.start();
    const app = await createApi({ hub, token: 'tok', dashboardDir: false });
    try {
      const post = (body: unknown, token?: string) =>
        app.inject({
          method: 'POST',
          url: '/api/v1/traffic',
          headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
          payload: body as object,
        });
      expect((await post({ results: [result('a/traffic:r')] })).statusCode).toBe(401);
      const ok = await post({ results: [result('a/traffic:r'), result('b/traffic:r')] }, 'tok');
      expect(ok.statusCode).toBe(200);
      expect(ok.json()).toEqual({ accepted: 1, rejected: ['b/traffic:r'] });
      expect(hub.status().find((s) => s.checkId === 'a/traffic:r')?.state).toBe('unhealthy');
      const probe = await post({ results: [result('a/traffic:r', { check: 'liveness' })] }, 'tok');
      expect(probe.statusCode).toBe(400);
      expect((await post({}, 'tok')).statusCode).toBe(400);
    } finally {
      await app.close();
    }
  });
});
