/**
 * `Hub.ingest`: a router's traffic results reach the hub's traffic checks (never probed), are
 * evaluated with the check's own thresholds, published and stored with their source; a result for a
 * check that is not a traffic check is refused.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan, ProbeResult } from '../types.js';
import { createHub, type Hub } from './hub.js';
import type { HubEvent } from './types.js';

const target = {
  name: 'a',
  // Nothing listens here: a probe of it would fail at once, and the liveness check shows it does.
  url: 'http://127.0.0.1:1',
  protocol: 'http',
  labels: {},
  headers: {},
  maxBodyBytes: 1 << 20,
  maxRedirects: 0,
};
const traffic: CheckPlan = {
  id: 'a/traffic:r',
  target,
  kind: 'traffic',
  intervalMs: 250,
  timeoutMs: 200,
  failureThreshold: 2,
  successThreshold: 2,
  fastIntervalMs: null,
  initialDelayMs: 0,
  expect: {},
};
const liveness: CheckPlan = {
  ...traffic,
  id: 'a/liveness',
  kind: 'liveness',
  intervalMs: 1000,
  failureThreshold: 1,
};

function result(outcome: ProbeResult['outcome'], checkId = 'a/traffic:r'): ProbeResult {
  return {
    checkId,
    target: 'a',
    check: 'traffic',
    region: 'local',
    startedAt: Date.now(),
    durationMs: 12,
    phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 12, transferMs: 0 },
    outcome,
    failures: [],
    source: 'traffic',
  };
}

describe('Hub.ingest', () => {
  let store: Store;
  let hub: Hub | undefined;
  afterEach(async () => {
    await hub?.stop();
    await store?.close();
  });

  it('evaluates traffic results with their own thresholds and stores them with their source', async () => {
    store = await openStore(':memory:');
    hub = createHub({ plan: [liveness, traffic], store, flushIntervalMs: 10 });
    const events: HubEvent[] = [];
    hub.subscribe((e) => events.push(e));
    expect(hub.ingest(result('fail'))).toBe(false); // not started
    await hub.start();
    // The liveness probe runs (and fails: nothing listens); the traffic check is never probed.
    await until(() => events.some((e) => e.type === 'result' && e.result.checkId === 'a/liveness'));
    expect(events.filter((e) => e.type === 'result' && e.result.checkId === 'a/traffic:r')).toEqual([]);

    expect(hub.ingest(result('fail'))).toBe(true);
    expect(hub.status().find((s) => s.checkId === 'a/traffic:r')?.state).toBe('pending');
    hub.ingest(result('fail'));
    expect(hub.status().find((s) => s.checkId === 'a/traffic:r')).toMatchObject({
      check: 'traffic',
      state: 'unhealthy',
    });
    await until(() =>
      events.some(
        (e) =>
          e.type === 'transition' &&
          e.transition.checkId === 'a/traffic:r' &&
          e.transition.to === 'unhealthy',
      ),
    );

    // A probe's check, or one the hub does not know: refused.
    expect(hub.ingest(result('fail', 'a/liveness'))).toBe(false);
    expect(hub.ingest(result('fail', 'b/traffic:r'))).toBe(false);

    await hub.flush();
    const stored = await store.results('a/traffic:r');
    expect(stored.map((r) => [r.outcome, r.source])).toEqual([
      ['fail', 'traffic'],
      ['fail', 'traffic'],
    ]);
    expect((await store.results('a/liveness'))[0]?.source).toBeUndefined();
  });

  it('judges a traffic check placed in another region there alone: its results from that region, its alert with it', async () => {
    store = await openStore(':memory:');
    const placed: CheckPlan = { ...traffic, regions: ['eu-west'] };
    hub = createHub({ plan: [placed], store, flushIntervalMs: 10 });
    await hub.start();
    const fromEu = (outcome: ProbeResult['outcome']) => ({ ...result(outcome), region: 'eu-west' });
    // The hub's own region is not where the router runs: refused.
    expect(hub.ingest(result('fail'))).toBe(false);
    expect(hub.ingest(fromEu('fail'))).toBe(true);
    expect(hub.ingest(fromEu('fail'))).toBe(true);
    expect(hub.status().map((s) => [s.checkId, s.region, s.state, s.verdict])).toEqual([
      ['a/traffic:r', 'eu-west', 'unhealthy', undefined],
    ]);
    expect((await hub.alerts()).map((a) => [a.labels.alertname, a.labels.region, a.labels.severity])).toEqual(
      [['VigilCheckUnhealthy', 'eu-west', 'critical']],
    );
  });
});

async function until(fn: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}
