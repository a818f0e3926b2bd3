/** Operational endpoints: `/livez`, `/readyz` (Kubernetes probe names) and `/metrics` (Prometheus). */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../app.js';

/** Registers `/livez`, `/readyz` and `/metrics` (see `createApi`). */
export function opsRoutes(app: FastifyInstance, { hub, metrics }: ApiContext): void {
  app.get('/livez', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) =>
    hub.isReady() ? { status: 'ready' } : reply.code(503).send({ error: 'not ready' }),
  );

  app.get('/metrics', async (_request, reply) => {
    if (metrics === undefined) return reply.code(404).send({ error: 'metrics are not enabled' });
    return reply.type(metrics.contentType).send(await metrics.render());
  });
}
