import Fastify, { type FastifyInstance } from 'fastify';
import { describe, expect, it, onTestFinished } from 'vitest';
import { describeAdapterContract } from './adapter-contract.js';
import { createFastifyPlugin } from './fastify.js';
import { baseUrl, createTestHealth, getJson } from './test-support.js';

async function start(app: FastifyInstance): Promise<{ url: string }> {
  onTestFinished(() => app.close());
  await app.listen({ host: '127.0.0.1', port: 0 });
  return { url: baseUrl(app.server) };
}

describeAdapterContract('Fastify 5', async (health) => {
  const app = Fastify();
  await app.register(createFastifyPlugin(health));
  app.get('/app', async () => 'app');
  return start(app);
});

describe('Fastify adapter', () => {
  it('registers like a fastify-plugin plugin: named, skipping encapsulation', async () => {
    const plugin = createFastifyPlugin(createTestHealth());
    expect((plugin as unknown as Record<symbol, unknown>)[Symbol.for('skip-override')]).toBe(true);
    const app = Fastify();
    await app.register(plugin);
    expect(app.hasPlugin('vigil-ml-serve')).toBe(true);
    await app.ready();
    expect(app.printRoutes({ commonPrefix: false })).toContain('/readyz (GET, HEAD)');
    await app.close();
  });

  it('honours a prefix, also inside an encapsulated child context, and runs that context’s hooks', async () => {
    const app = Fastify();
    const hookedUrls: string[] = [];
    await app.register(
      async (child) => {
        child.addHook('onRequest', async (request) => {
          hookedUrls.push(request.url);
        });
        await child.register(createFastifyPlugin(createTestHealth()), { prefix: '/ops' });
      },
      { prefix: '/api' },
    );
    app.get('/outside', async () => 'outside');
    const { url } = await start(app);

    expect((await getJson(`${url}/api/ops/readyz`)).body.status).toBe('ok');
    expect((await fetch(`${url}/readyz`)).status).toBe(404);
    expect((await fetch(`${url}/outside`)).status).toBe(200);
    expect(hookedUrls).toEqual(['/api/ops/readyz']);
  });
});
