/**
 * `vigil run --routers` in process: one config file, the hub and its routers in front of real model
 * servers. The routers follow the hub's states in process and feed it their traffic as
 * `<target>/traffic:<router>` checks (results of source `traffic`): a crash under traffic costs no
 * request and reaches the hub's state through the traffic check; a latency fault moves new traffic
 * to the secondary and shows as degraded traffic.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelServer } from '@vigil/example-model-server';
import { afterEach, describe, expect, it } from 'vitest';
import type { CheckStatus } from '../hub/types.js';
import { infer, setFault, startModelServer } from '../router/testing.js';
import type { ProbeResult } from '../types.js';
import { type RunningHub, runHub } from './hub.js';

async function until<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const config = (a: string, b: string, policy: string) => `
defaults: { interval: 5s, timeout: 4s }
targets:
  - { name: credit-a, url: ${a}, protocol: oip-v2, model: credit-scorer, checks: { liveness: {} } }
  - { name: credit-b, url: ${b}, protocol: oip-v2, model: credit-scorer, checks: { liveness: {} } }
routers:
  - name: credit
    listen: 0
    primary: credit-a
    secondaries: [credit-b]
    fallback: { status: 200, body: { model_name: heuristic, outputs: [] } }
    policy: ${policy}
    traffic: { interval: 100ms }
`;

describe('vigil run --routers', () => {
  let dir: string | undefined;
  let running: RunningHub | undefined;
  const servers: ModelServer[] = [];
  let looping = false;
  afterEach(async () => {
    looping = false;
    await running?.stop();
    running = undefined;
    for (const s of servers.splice(0)) await s.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function start(policy: string) {
    const a = await startModelServer();
    const b = await startModelServer();
    servers.push(a.server, b.server);
    dir = mkdtempSync(join(tmpdir(), 'vigil-run-routers-'));
    const file = join(dir, 'vigil.yaml');
    writeFileSync(file, config(a.url, b.url, policy));
    running = await runHub({
      config: file,
      port: 0,
      host: '127.0.0.1',
      store: ':memory:',
      logLevel: 'silent',
      routers: true,
      routerAdminPort: 0,
    });
    const routerUrl = running.routers?.credit;
    if (routerUrl === undefined) throw new Error('no router');
    const hubUrl = running.url;
    const status = async (checkId: string) => {
      const body = (await (await fetch(`${hubUrl}/api/v1/status`)).json()) as { checks: CheckStatus[] };
      return body.checks.find((c) => c.checkId === checkId);
    };
    /** Sequential requests through the router until the test ends; every answer is kept. */
    const answers: Array<{ status: number; servedBy: string | null }> = [];
    looping = true;
    const loop = (async () => {
      while (looping) {
        const { status: code, servedBy } = await infer(routerUrl);
        answers.push({ status: code, servedBy });
      }
    })();
    return { a, b, routerUrl, hubUrl, status, answers, loop };
  }

  it("a crash under traffic: no request fails, and the hub's traffic check goes unhealthy", async () => {
    const t = await start('{ deadline: 5s, idempotent: true }');
    expect(await t.status('credit-a/traffic:credit')).toMatchObject({ check: 'traffic', state: 'unknown' });
    await until('traffic on the primary', () => t.answers.some((x) => x.servedBy === 'primary'));
    await until(
      'the traffic check healthy',
      async () => (await t.status('credit-a/traffic:credit'))?.state === 'healthy',
    );

    // The primary dies (its connections dropped): replayed on the secondary, ejected after 5.
    await setFault(t.a.url, 'crash');
    await until(
      'the traffic check unhealthy',
      async () => (await t.status('credit-a/traffic:credit'))?.state === 'unhealthy',
    );
    const since = t.answers.length;
    await until('more answers', () => t.answers.length > since + 5);
    looping = false;
    await t.loop;

    expect(t.answers.filter((x) => x.status !== 200)).toEqual([]);
    expect(t.answers.at(-1)).toEqual({ status: 200, servedBy: 'secondary' });
    const res = await fetch(
      `${t.hubUrl}/api/v1/checks/${encodeURIComponent('credit-a/traffic:credit')}/results?limit=1000`,
    );
    const { results } = (await res.json()) as { results: ProbeResult[] };
    expect(results.every((r) => r.source === 'traffic')).toBe(true);
    // The last stored report failed, for upstream failures or the ejection (whichever report the
    // write-behind flushed last when this reads).
    expect(results.at(-1)).toMatchObject({ outcome: 'fail' });
    expect(['traffic', 'outlier']).toContain(results.at(-1)?.failures[0]?.assertion);
    // The secondary's traffic check saw its traffic too; a probe's results carry no source.
    expect(await t.status('credit-b/traffic:credit')).toMatchObject({ state: 'healthy' });
    const probes = (await (
      await fetch(`${t.hubUrl}/api/v1/checks/${encodeURIComponent('credit-b/liveness')}/results`)
    ).json()) as { results: ProbeResult[] };
    expect(probes.results.every((r) => r.source === undefined)).toBe(true);
  });

  it('a latency fault: new traffic moves to the secondary, and the traffic check says degraded', async () => {
    const t = await start('{ deadline: 3s, failoverAt: 1s, idempotent: true, window: 30s }');
    await until('traffic on the primary', () => t.answers.some((x) => x.servedBy === 'primary'));
    await setFault(t.a.url, 'latency', { ms: 1500 });
    await until('the switch to the secondary', () => t.answers.at(-1)?.servedBy === 'secondary');
    await until(
      'the traffic check degraded',
      async () => (await t.status('credit-a/traffic:credit'))?.state === 'degraded',
    );
    looping = false;
    await t.loop;
    expect(t.answers.filter((x) => x.status !== 200)).toEqual([]);
  });
});
