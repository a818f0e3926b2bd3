import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import { describe, expect, it, onTestFinished } from 'vitest';
import { describeAdapterContract } from './adapter-contract.js';
import { createHonoMiddleware } from './hono.js';
import { baseUrl, createTestHealth, getJson } from './test-support.js';

async function start(app: Hono): Promise<{ url: string }> {
  const server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 });
  onTestFinished(
    () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return { url: baseUrl(server) };
}

describeAdapterContract('Hono 4 on @hono/node-server', async (health) => {
  const app = new Hono();
  app.use(createHonoMiddleware(health));
  app.get('/app', (c) => c.text('app'));
  return start(app);
});

describe('Hono adapter', () => {
  it('works inside a sub-app mounted with app.route, matching the full path', async () => {
    const ops = new Hono();
    ops.use(createHonoMiddleware(createTestHealth({ paths: { readyz: '/ops/readyz' } })));
    ops.get('/other', (c) => c.text('other'));
    const app = new Hono();
    app.route('/ops', ops);
    const { url } = await start(app);
    expect((await getJson(`${url}/ops/readyz`)).body.status).toBe('ok');
    expect(await (await fetch(`${url}/ops/other`)).text()).toBe('other');
  });
});
