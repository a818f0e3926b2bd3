/**
 * Adaptive latency thresholds (`expect.latency: {degraded: auto, failed: auto}`) through a real hub,
 * SQLite store, metrics and the example model server (its `version-bump` fault: another version whose
 * answers are unchanged and whose inference takes `ms` longer):
 *
 * - the motivating case of issue #17: a new version 40% slower than the old one does not page — its
 *   thresholds come from its own probes — while the same version 3× slower than its own normal does;
 * - a reviewed baseline of the version now served gives the thresholds at once (source `baseline`);
 * - the effective thresholds show in `checkInfo` and in `/metrics`.
 */
import { createModelServer, type ModelServer } from '@vigil/example-model-server';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildBaseline } from '../canary/baseline.js';
import { parseConfig } from '../config/index.js';
import { createMetrics, type Metrics } from '../metrics/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan } from '../types.js';
import { createHub, type Hub } from './hub.js';
import type { HubEvent } from './types.js';

const ADMIN = 'admin-token';
const WAIT = { timeout: 60_000, interval: 50 };
const ID = 'scorer/integrity';

let server: ModelServer;
let url = '';
beforeAll(async () => {
  server = await createModelServer({
    models: ['credit-scorer'],
    warmupInferences: 1,
    faults: { enabled: true, token: ADMIN },
  });
  url = await server.listen({ host: '127.0.0.1', port: 0 });
}, 60_000);
afterAll(async () => {
  await server?.close();
});

async function setFault(mode: string, params: Record<string, unknown>): Promise<void> {
  server.faults.clear();
  const res = await fetch(`${url}/admin/faults/${mode}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${ADMIN}`, 'content-type': 'application/json' },
    body: JSON.stringify(params),
  });
  expect(res.status).toBeLessThan(300);
}

function plan(): CheckPlan[] {
  const loaded = parseConfig(
    `
defaults: { fastInterval: false, failureThreshold: 2 }
targets:
  - name: scorer
    url: ${url}
    protocol: oip-v2
    model: credit-scorer
    checks:
      integrity:
        interval: 700ms
        timeout: 690ms
        request:
          inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] }]
        expect:
          latency: { degraded: auto, failed: auto, adaptive: { minSamples: 6, warmup: 1, floor: 50ms } }
`,
    { baseDir: '.', env: {} },
  );
  if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
  return loaded.plan.filter((p) => p.id === ID);
}

describe('adaptive latency thresholds against the example model server', () => {
  let store: Store;
  let metrics: Metrics;
  let hub: Hub | undefined;
  const events: HubEvent[] = [];
  afterEach(async () => {
    await hub?.stop();
    hub = undefined;
    await store?.close();
    events.length = 0;
  });

  const info = () => hub?.checkInfo(ID);
  const versionNow = () => hub?.status()[0]?.lastResult?.modelVersion;
  const pages = () => events.filter((e) => e.type === 'transition' && e.transition.to === 'unhealthy').length;

  it('a version 40% slower does not page; the same version 3x slower than its own normal does', async () => {
    store = await openStore(':memory:');
    metrics = createMetrics({ defaultMetrics: false });
    // Version 1 answers in about 100 ms.
    await setFault('version-bump', { version: '1', ms: 100, model: 'credit-scorer' });
    hub = createHub({ plan: plan(), store, metrics, flushIntervalMs: 10 });
    hub.subscribe((e) => events.push(e));
    await hub.start();
    await vi.waitFor(() => expect(info()?.adaptiveLatency?.source.failedMs).toBe('history'), WAIT);
    const v1 = info();
    expect(v1?.failedMs).toBeGreaterThanOrEqual(2 * 100);
    expect(v1?.degradedMs).toBeLessThan(v1?.failedMs ?? 0);
    const rendered = await metrics.render();
    expect(rendered).toMatch(
      new RegExp(
        `vigil_check_latency_threshold_seconds\\{[^}]*level="failed"\\} ${((v1?.failedMs ?? 0) / 1000).toString().slice(0, 4)}`,
      ),
    );

    // Version 2: 40% slower. Its own probes set its thresholds; nothing pages.
    await setFault('version-bump', { version: '2', ms: 140, model: 'credit-scorer' });
    await vi.waitFor(() => expect(versionNow()).toBe('2'), WAIT);
    await vi.waitFor(() => expect(info()?.adaptiveLatency?.source.failedMs).toBe('history'), WAIT);
    await vi.waitFor(() => expect(info()?.adaptiveLatency?.samples).toBeGreaterThanOrEqual(6), WAIT);
    expect(info()?.failedMs).toBeGreaterThanOrEqual(2 * 140);
    expect(hub.status()[0]?.state).toBe('healthy');
    expect(pages()).toBe(0);

    // The same version 3× slower than its own normal: fails, and the check turns unhealthy.
    await setFault('version-bump', { version: '2', ms: 3 * 140 + 100, model: 'credit-scorer' });
    await vi.waitFor(() => expect(hub?.status()[0]?.state).toBe('unhealthy'), WAIT);
    expect(pages()).toBe(1);
    expect(hub.status()[0]?.lastResult?.failures[0]?.message).toMatch(
      /^latency \d+ ms ≥ failed threshold \d+/,
    );
  }, 120_000);

  it('takes the thresholds of a reviewed baseline of the version served, and hand-written levels win', async () => {
    store = await openStore(':memory:');
    // A reviewed baseline of version 7: its inference took 300–320 ms (p99 ≈ 320 ms).
    const baseline = buildBaseline({
      cases: [
        {
          id: 'a',
          request: { inputs: [1] },
          answers: [300, 305, 310, 320].map((durationMs) => ({
            outputs: { probability: [0.4] },
            durationMs,
          })),
        },
      ],
      model: { name: 'credit-scorer', version: '7' },
      recordedAt: new Date(),
      check: 'canary',
    });
    await store.putBaseline({
      checkId: 'scorer/canary',
      modelVersion: '7',
      status: 'reviewed',
      source: 'file:/baselines/v7.json',
      storedAt: Date.now(),
      baseline,
    });
    await setFault('version-bump', { version: '7', ms: 0, model: 'credit-scorer' });
    const [p] = plan();
    if (p === undefined) throw new Error('no plan');
    // degraded written by hand: it stays; failed is auto.
    const mixed: CheckPlan = {
      ...p,
      expect: { ...p.expect, latency: { degradedMs: 250, adaptive: p.expect.latency?.adaptive ?? {} } },
    };
    hub = createHub({ plan: [mixed], store, flushIntervalMs: 10 });
    await hub.start();
    await vi.waitFor(() => expect(info()?.adaptiveLatency?.source.failedMs).toBe('baseline'), WAIT);
    const p99 = baseline.latency?.p99Ms ?? 0;
    expect(p99).toBeGreaterThan(300);
    expect(info()).toMatchObject({
      degradedMs: 250,
      failedMs: 2 * p99,
      adaptiveLatency: { source: { degradedMs: 'config', failedMs: 'baseline' }, basisMs: p99, samples: 4 },
    });
  }, 120_000);
});
