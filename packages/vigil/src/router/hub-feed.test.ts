/** The router follows a real hub API (its SSE stream and status), through a restart of the hub. */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { createApi } from '../api/index.js';
import { createTestHub, type TestHub } from '../api/test-hub.js';
import type { CheckStatus } from '../hub/types.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckState } from '../types.js';
import { followHub, followLocalHub, type HubFeed, isTrafficCheck, targetHealth } from './hub-feed.js';
import type { UpstreamHealth } from './policy.js';

function status(checkId: string, state: CheckState, region = 'local'): CheckStatus {
  const [target = '', check = 'liveness'] = checkId.split('/');
  return {
    checkId,
    target,
    check: check as CheckStatus['check'],
    region,
    state,
    since: 0,
    flapping: false,
    consecutiveFailures: 0,
    labels: {},
    lastResult: null,
  };
}

const opened: Array<{ app: FastifyInstance; store: Store }> = [];
const feeds: HubFeed[] = [];
afterEach(async () => {
  for (const f of feeds.splice(0)) f.close();
  for (const { app, store } of opened.splice(0)) {
    await app.close();
    await store.close();
  }
});

async function startHub(
  checks: CheckStatus[],
  port = 0,
): Promise<{ hub: TestHub; url: string; app: FastifyInstance }> {
  const store = await openStore(':memory:');
  const hub = createTestHub(store, checks);
  const app = await createApi({ hub, heartbeatMs: 60_000, dashboardDir: false });
  await app.listen({ host: '127.0.0.1', port });
  opened.push({ app, store });
  return { hub, app, url: `http://127.0.0.1:${(app.server.address() as AddressInfo).port}` };
}

function follow(url: string) {
  const states: Array<[string, UpstreamHealth]> = [];
  let wake = () => {};
  const feed = followHub({
    url,
    retryMs: 100,
    log: () => {},
    onState: (target, state) => {
      states.push([target, state]);
      wake();
    },
    regions: () => ['local'],
  });
  feeds.push(feed);
  const next = async (count: number) => {
    while (states.length < count) await new Promise<void>((resolve) => (wake = resolve));
    return states.slice(0, count);
  };
  return { states, next, feed };
}

describe('targetHealth', () => {
  it.each([
    [[], 'unknown'],
    [['unknown'], 'unknown'],
    [['healthy', 'pending'], 'healthy'],
    [['pending'], 'healthy'],
    [['healthy', 'degraded'], 'degraded'],
    [['degraded', 'unhealthy', 'healthy'], 'unhealthy'],
  ] as Array<[CheckState[], UpstreamHealth]>)('%j → %s', (states, health) => {
    expect(targetHealth(states)).toBe(health);
  });
});

describe('followHub', () => {
  it("reads the hub's states, then follows its transitions, per target (worst check, any region)", async () => {
    const { hub, url } = await startHub([
      status('credit-a/liveness', 'healthy'),
      status('credit-a/integrity', 'healthy', 'eu'),
      status('credit-b/liveness', 'healthy'),
    ]);
    const { next } = follow(url);
    expect(await next(2)).toEqual([
      ['credit-a', 'healthy'],
      ['credit-b', 'healthy'],
    ]);
    const transition = (checkId: string, to: CheckState, region = 'local') =>
      hub.publish({
        type: 'transition',
        transition: { checkId, region, from: 'healthy', to, at: 0, reason: 'test', results: [] },
      });
    transition('credit-a/integrity', 'degraded', 'eu');
    expect((await next(3))[2]).toEqual(['credit-a', 'degraded']);
    transition('credit-a/liveness', 'unhealthy');
    expect((await next(4))[3]).toEqual(['credit-a', 'unhealthy']);
    transition('credit-a/liveness', 'healthy');
    transition('credit-a/integrity', 'healthy', 'eu');
    expect((await next(6)).slice(4)).toEqual([
      ['credit-a', 'degraded'],
      ['credit-a', 'healthy'],
    ]);
  });

  it('keeps the last states while the hub is away, and reads them afresh when it is back', async () => {
    const first = await startHub([status('credit-a/liveness', 'healthy')]);
    const port = (first.app.server.address() as AddressInfo).port;
    const { next, feed, states } = follow(first.url);
    expect(await next(1)).toEqual([['credit-a', 'healthy']]);
    const entry = opened.pop();
    await entry?.app.close();
    await entry?.store.close();
    // Nothing is reported while it is gone: the states stay.
    expect(states).toHaveLength(1);
    await startHub([status('credit-a/liveness', 'unhealthy')], port);
    expect((await next(2))[1]).toEqual(['credit-a', 'unhealthy']);
    expect(feed.connected).toBe(true);
  });
});

describe('followLocalHub', () => {
  it("follows an in-process hub, leaving the routers' own traffic checks out", async () => {
    const store = await openStore(':memory:');
    try {
      const hub = createTestHub(store, [
        status('credit-a/liveness', 'healthy'),
        status('credit-a/traffic:credit', 'unhealthy'),
      ]);
      const states: Array<[string, UpstreamHealth]> = [];
      const feed = followLocalHub(
        hub,
        (target, state) => states.push([target, state]),
        () => ['local'],
      );
      // The traffic check's unhealthy is not the router's reason to drain: healthy.
      expect(states).toEqual([['credit-a', 'healthy']]);
      const transition = (checkId: string, to: CheckState) =>
        hub.publish({
          type: 'transition',
          transition: { checkId, region: 'local', from: 'healthy', to, at: 0, reason: 'test', results: [] },
        });
      transition('credit-a/traffic:credit', 'degraded');
      transition('credit-a/liveness', 'unhealthy');
      expect(states).toEqual([
        ['credit-a', 'healthy'],
        ['credit-a', 'unhealthy'],
      ]);
      feed.close();
      expect(hub.listenerCount).toBe(0);
    } finally {
      await store.close();
    }
  });

  it("gives each router's region that region's states of a check probed there, else every region's", async () => {
    const store = await openStore(':memory:');
    try {
      // credit-a's liveness is probed from local and eu-west; its integrity from us-east only.
      const hub = createTestHub(store, [
        status('credit-a/liveness', 'healthy', 'local'),
        status('credit-a/liveness', 'unhealthy', 'eu-west'),
        status('credit-a/integrity', 'healthy', 'us-east'),
      ]);
      let wanted = ['local', 'eu-west'];
      const states: Array<[string, string, UpstreamHealth]> = [];
      const feed = followLocalHub(
        hub,
        (target, state, region) => states.push([region, target, state]),
        () => wanted,
      );
      // The path from eu-west is broken: only the eu-west router drains credit-a.
      expect(states).toEqual([
        ['local', 'credit-a', 'healthy'],
        ['eu-west', 'credit-a', 'unhealthy'],
      ]);
      const transition = (checkId: string, region: string, to: CheckState) =>
        hub.publish({
          type: 'transition',
          transition: { checkId, region, from: 'healthy', to, at: 0, reason: 'test', results: [] },
        });
      // A check not probed from local nor eu-west counts in both: the model itself is slow.
      transition('credit-a/integrity', 'us-east', 'degraded');
      expect(states.slice(2)).toEqual([['local', 'credit-a', 'degraded']]);
      transition('credit-a/liveness', 'eu-west', 'healthy');
      expect(states.slice(3)).toEqual([['eu-west', 'credit-a', 'degraded']]);
      // A region a reload adds is asked at once.
      wanted = ['local', 'eu-west', 'us-east'];
      expect(feed.healthOf('credit-a', 'us-east')).toBe('degraded');
      expect(feed.healthOf('credit-b', 'us-east')).toBe('unknown');
      feed.close();
    } finally {
      await store.close();
    }
  });

  it.each([
    ['credit-a/traffic:credit', true],
    ['credit-a/liveness', false],
    ['traffic:x/liveness', false],
  ])('isTrafficCheck(%s) is %s', (checkId, expected) => {
    expect(isTrafficCheck(checkId)).toBe(expected);
  });
});
