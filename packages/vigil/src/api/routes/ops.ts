/** Operational endpoints: `/livez`, `/readyz` (Kubernetes probe names) and `/metrics` (Prometheus). */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

/** Registers `/livez`, `/readyz` and `/metrics` (see `createApi`). */
export function opsRoutes(app: FastifyInstance, { hub, metrics }: ApiContext): void {
  app.get('/livez', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) =>
    hub.isReady() ? { status: 'ready' } : reply.code(503).send({ error: 'not ready' }),
  );

  app.get('/metrics', async (_request, reply) => {
    if (metrics === undefined) return reply.code(404).send({ error: 'metrics are not enabled' });
    // Streamed as it is rendered: a scrape of 10,000 checks is ~23 MiB, never held whole.
    return reply.type(metrics.contentType).send(Readable.from(metrics.renderChunks()));
  });
}
