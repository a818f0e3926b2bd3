/**
 * `runRouters` reloads against a hub whose states do not change: a router the reload adds, and an
 * upstream a reload adds to a running router, take the hub's current state at once (the hub
 * publishes a target's state only when it changes, so waiting for the next transition would leave
 * them `unknown`, routing to an upstream the hub judges unhealthy).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckStatus, HubEvent } from '../hub/types.js';
import type { PolicyStatus } from '../router/policy.js';
import { type RunningRouters, runRouters } from './route.js';

const targets = `
targets:
  - { name: credit-a, url: http://127.0.0.1:9, protocol: oip-v2, model: m, checks: { liveness: {} } }
  - { name: credit-b, url: http://127.0.0.1:9, protocol: oip-v2, model: m, checks: { liveness: {} } }
  - { name: credit-c, url: http://127.0.0.1:9, protocol: oip-v2, model: m, checks: { liveness: {} } }
`;
const router = (name: string, primary: string, secondaries: string[]) =>
  `  - { name: ${name}, listen: 0, primary: ${primary}, secondaries: [${secondaries.join(', ')}] }\n`;

/** The hub's view: credit-a healthy, credit-b unhealthy, credit-c degraded; it never changes. */
const STATES: Array<[string, CheckStatus['state']]> = [
  ['credit-a', 'healthy'],
  ['credit-b', 'unhealthy'],
  ['credit-c', 'degraded'],
];
const hub = {
  status: (): CheckStatus[] =>
    STATES.map(([target, state]) => ({
      checkId: `${target}/liveness`,
      target,
      check: 'liveness',
      region: 'local',
      state,
      since: 0,
      flapping: false,
      consecutiveFailures: state === 'unhealthy' ? 3 : 0,
      labels: {},
      lastResult: null,
    })),
  subscribe: (_listener: (event: HubEvent) => void) => () => {},
  ingest: () => true,
};

type Listed = { name: string } & PolicyStatus;

describe('runRouters reload', () => {
  let dir: string | undefined;
  let running: RunningRouters | undefined;
  afterEach(async () => {
    await running?.stop();
    running = undefined;
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it("gives a router and an upstream added by a reload the hub's current states at once", async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-route-reload-'));
    const file = join(dir, 'vigil.yaml');
    writeFileSync(file, `${targets}routers:\n${router('one', 'credit-a', [])}`);
    running = await runRouters({
      config: file,
      adminHost: '127.0.0.1',
      adminPort: 0,
      logLevel: 'silent',
      local: { hub, region: 'local' },
    });
    const list = async () =>
      ((await (await fetch(`${running?.adminUrl}/api/v1/routers`)).json()) as { routers: Listed[] }).routers;
    expect((await list())[0]?.upstreams.map((u) => [u.name, u.hub])).toEqual([['credit-a', 'healthy']]);

    // The reload adds router `two` and gives `one` two secondaries.
    writeFileSync(
      file,
      `${targets}routers:\n${router('one', 'credit-a', ['credit-b', 'credit-c'])}${router('two', 'credit-b', ['credit-a'])}`,
    );
    const deadline = Date.now() + 30_000;
    let routers = await list();
    while (routers.length < 2 || (routers[0]?.upstreams.length ?? 0) < 3) {
      if (Date.now() > deadline) throw new Error('the reload did not happen');
      await new Promise((r) => setTimeout(r, 25));
      routers = await list();
    }
    const hubStates = (name: string) =>
      routers.find((r) => r.name === name)?.upstreams.map((u) => [u.name, u.hub]);
    expect(hubStates('one')).toEqual([
      ['credit-a', 'healthy'],
      ['credit-b', 'unhealthy'],
      ['credit-c', 'degraded'],
    ]);
    expect(hubStates('two')).toEqual([
      ['credit-b', 'unhealthy'],
      ['credit-a', 'healthy'],
    ]);
    // The new router's primary is unhealthy by the hub: drained from the start.
    expect(routers.find((r) => r.name === 'two')).toMatchObject({
      primaryShare: 0,
      demotedBecause: 'the hub judges it unhealthy',
    });
  });

  it('runs only the routers placed in --region, and says which region has none', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-route-region-'));
    const file = join(dir, 'vigil.yaml');
    const agents = 'agents: { regions: { eu-west: { token: "0123456789abcdef" } } }\n';
    writeFileSync(
      file,
      `${agents}${targets}routers:\n${router('here', 'credit-a', [])}  - { name: eu, listen: 0, primary: credit-b, region: eu-west }\n`,
    );
    running = await runRouters({
      config: file,
      adminHost: '127.0.0.1',
      adminPort: 0,
      logLevel: 'silent',
      region: 'eu-west',
    });
    expect(Object.keys(running.urls)).toEqual(['eu']);
    await expect(
      runRouters({
        config: file,
        adminHost: '127.0.0.1',
        adminPort: 0,
        logLevel: 'silent',
        region: 'us-east',
      }),
    ).rejects.toThrow(
      `${file}: no router is placed in region "us-east" (the routers' regions: local, eu-west)`,
    );
  });
});
