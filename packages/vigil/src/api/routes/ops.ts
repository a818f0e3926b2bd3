/** Operational endpoints: `/livez`, `/readyz` (Kubernetes probe names) and `/metrics` (Prometheus). */
import { Readable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import Negotiator from 'negotiator';
import type { ExpositionFormat } from '../../metrics/index.js';
import type { ApiContext } from '../context.js';

/**
 * The media types `/metrics` offers. OpenMetrics 1.0 when the scraper asks for it by name before the
 * text format, as Prometheus does (`application/openmetrics-text;version=1.0.0,…,text/plain;
 * version=0.0.4;q=0.5,…`); else the Prometheus text format 0.0.4, also for no `Accept` and for `*\/*`
 * (curl), as client_golang answers unless OpenMetrics is asked for.
 */
const OFFERED: ReadonlyArray<readonly [mediaType: string, format: ExpositionFormat]> = [
  ['text/plain; version=0.0.4', 'prometheus'],
  ['application/openmetrics-text; version=1.0.0', 'openmetrics'],
];

/**
 * The exposition format an `Accept` header asks for: q-values honoured (negotiator, as Express and
 * Fastify's own negotiation use); between equals, the one the header names first, then the text format.
 */
export function negotiateExposition(accept: string | undefined): ExpositionFormat {
  if (accept === undefined || accept.trim() === '') return 'prometheus';
  const chosen = new Negotiator({ headers: { accept } }).mediaType(OFFERED.map(([type]) => type));
  return OFFERED.find(([type]) => type === chosen)?.[1] ?? 'prometheus';
}

/** Registers `/livez`, `/readyz` and `/metrics` (see `createApi`). */
export function opsRoutes(app: FastifyInstance, { hub, metrics }: ApiContext): void {
  app.get('/livez', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) =>
    hub.isReady() ? { status: 'ready' } : reply.code(503).send({ error: 'not ready' }),
  );

  app.get('/metrics', async (request, reply) => {
    if (metrics === undefined) return reply.code(404).send({ error: 'metrics are not enabled' });
    const format = negotiateExposition(request.headers.accept);
    // Streamed as it is rendered: a scrape of 10,000 checks is ~23 MiB, never held whole.
    return reply
      .header('vary', 'Accept')
      .type(metrics.contentTypes[format])
      .send(Readable.from(metrics.renderChunks(format)));
  });
}
