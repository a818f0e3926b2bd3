import { spawn, spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { describeWith } from '../fixtures/needs.js';
import { createRouterAdmin } from './admin.js';
import { createRouterMetrics } from './metrics.js';
import { startTestRouter, type TestRouter, testPlan } from './testing.js';

const routers: TestRouter[] = [];
afterEach(async () => {
  for (const r of routers.splice(0)) await r.router.close();
});

async function admin(token?: string) {
  const metrics = createRouterMetrics({ defaultMetrics: false });
  const r = await startTestRouter(testPlan(['http://127.0.0.1:9']), metrics);
  routers.push(r);
  return createRouterAdmin({ routers: () => [r.router], metrics, ...(token && { token }) });
}

describe('router admin API', () => {
  it('refuses drain and restore while no token is configured (403), as the hub does', async () => {
    const app = await admin();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/routers/r/upstreams/a/drain',
      headers: { authorization: 'Bearer anything' },
    });
    expect(res.statusCode).toBe(403);
    expect(res.json()).toEqual({ error: 'the admin token is not configured (VIGIL_ROUTER_TOKEN)' });
  });

  it('drains and restores with the token; 401 without it, 404 for an unknown router', async () => {
    const app = await admin('s3cret');
    const post = (url: string, token?: string) =>
      app.inject({ method: 'POST', url, ...(token && { headers: { authorization: `Bearer ${token}` } }) });
    const missing = await post('/api/v1/routers/r/upstreams/a/drain');
    expect(missing.statusCode).toBe(401);
    expect(missing.headers['www-authenticate']).toBe('Bearer realm="vigil-router"');
    expect((await post('/api/v1/routers/nope/upstreams/a/drain', 's3cret')).json()).toEqual({
      error: 'no router is named "nope"',
    });
    const drained = await post('/api/v1/routers/r/upstreams/a/drain', 's3cret');
    expect(drained.statusCode).toBe(200);
    expect(drained.json().upstreams[0]).toMatchObject({ name: 'a', drained: true });
    const listed = await app.inject({ method: 'GET', url: '/api/v1/routers' });
    expect(listed.json().routers[0]).toMatchObject({
      name: 'r',
      primaryShare: 0,
      demotedBecause: 'drained by an operator',
    });
    const restored = await post('/api/v1/routers/r/upstreams/a/restore', 's3cret');
    expect(restored.json().upstreams[0]).toMatchObject({ drained: false });
  });

  it("serves the routers' metrics, every series there from the start", async () => {
    const app = await admin();
    const res = await app.inject({ method: 'GET', url: '/metrics' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0.0.4/);
    expect(res.body).toContain('vigil_router_ejections_total{router="r",upstream="a"} 0');
    expect(res.body).toContain('vigil_router_fallbacks_total{router="r",reason="deadline"} 0');
    expect((await app.inject({ method: 'GET', url: '/healthz' })).json()).toEqual({ ok: true });
  });
});

const hasPromtool = spawnSync('promtool', ['--version']).error === undefined;

describeWith(hasPromtool, 'promtool (Debian package prometheus)', "the routers' /metrics", () => {
  it('passes promtool check metrics with every family populated', async () => {
    const metrics = createRouterMetrics();
    metrics.init('r', ['a', 'b']);
    metrics.request('r', 'primary', 200, 0.01);
    metrics.request('r', 'fallback', 200, 0.2);
    metrics.attempt('r', 'a', 'timeout', 0.19);
    metrics.ejection('r', 'a');
    metrics.hedge('r', 'b');
    metrics.fallback('r', 'deadline');
    metrics.deadlineMiss('r');
    metrics.failover('r', 'a');
    metrics.primaryShare('r', 'a', 0.25);
    metrics.available('r', 'a', false);
    const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      output += c.toString();
    });
    child.stdin.end(await metrics.render());
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    expect(output).toBe('');
    expect(code).toBe(0);
  });
});
