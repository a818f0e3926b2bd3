/**
 * Alerting reloads while the hub runs: a real hub probing a real example model server, two local
 * webhook receivers; the route moves from one to the other, then alerting is removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelServer, type ModelServer, parseFault } from '@vigil/example-model-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createNotifiers } from '../alerting/notifiers/index.js';
import type { NotificationGroup } from '../alerting/types.js';
import { parseConfig } from '../config/index.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createHub, type Hub, type HubAlerting } from './hub.js';

/** How long and how often the tests poll the hub (vi.waitFor). */
const WAIT = { timeout: 20_000, interval: 50 };

async function receiver(): Promise<{ server: Server; url: string; got: string[] }> {
  const got: string[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => {
      body += c;
    });
    req.on('end', () => {
      got.push((JSON.parse(body) as { status: string }).status);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, got };
}

describe('hub.updateAlerting', () => {
  let model: ModelServer;
  let modelUrl: string;
  let dir: string;
  let store: Store;
  let hub: Hub;
  const receivers: Array<Awaited<ReturnType<typeof receiver>>> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-reload-'));
    model = await createModelServer({
      models: ['credit-scorer'],
      warmupInferences: 1,
      faults: { enabled: true, token: 't' },
    });
    modelUrl = await model.listen({ host: '127.0.0.1', port: 0 });
    receivers.push(await receiver(), await receiver());
    store = await openStore(join(dir, 'vigil.db'));
  });
  afterAll(async () => {
    await hub?.stop();
    await store?.close();
    await model?.close();
    for (const r of receivers) r.server.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  function load(receiverUrl: string | undefined) {
    const loaded = parseConfig(
      `
defaults: { interval: 300ms, timeout: 250ms, failureThreshold: 2, fastInterval: 100ms }
targets:
  - name: m
    url: ${modelUrl}
    protocol: oip-v2
    model: credit-scorer
    checks:
      integrity:
        request:
          inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] }]
${
  receiverUrl === undefined
    ? ''
    : `alerting:
  routes: [{ notify: [hook], group_wait: 0s, group_interval: 200ms }]
  notifiers: { hook: { type: webhook, url: "${receiverUrl}" } }
`
}`,
      { baseDir: dir },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    const alerting = loaded.config.alerting;
    const hubAlerting: HubAlerting | undefined = alerting
      ? { config: alerting, notifiers: createNotifiers(alerting.notifiers) }
      : undefined;
    return { plan: loaded.plan, alerting: hubAlerting };
  }

  it('sends to the new route after a reload, and nothing once alerting is removed', {
    timeout: 60_000,
  }, async () => {
    const [a, b] = receivers as [(typeof receivers)[0], (typeof receivers)[0]];
    const first = load(a.url);
    hub = createHub({ plan: first.plan, store, alerting: first.alerting });
    await hub.start();
    await vi.waitFor(() => expect(hub.status()[0]?.state === 'healthy', 'healthy').toBe(true), WAIT);

    await hub.updateAlerting(load(b.url).alerting);
    model.faults.set('errors', parseFault('errors', {}));
    await vi.waitFor(() => expect(hub.status()[0]?.state === 'unhealthy', 'unhealthy').toBe(true), WAIT);
    await vi.waitFor(() => expect(b.got.includes('firing'), 'the page at the new receiver').toBe(true), WAIT);
    expect(a.got).toEqual([]);

    await hub.updateAlerting(undefined);
    model.faults.clear();
    await vi.waitFor(() => expect(hub.status()[0]?.state === 'healthy', 'healthy again').toBe(true), WAIT);
    // Nothing will be sent later either: the recovery's ordered task (where a dispatcher would take
    // the resolve) is done once flush() returns, no dispatcher is left, and the outbox holds only the
    // page, delivered.
    await hub.flush();
    const outbox = await store.notifications();
    expect(outbox.map((n) => [(n.payload as NotificationGroup).status, n.notifier, n.status])).toEqual([
      ['firing', 'hook', 'delivered'],
    ]);
    expect(b.got).toEqual(['firing']); // no resolve: alerting was removed
    expect(a.got).toEqual([]);
  });
});
