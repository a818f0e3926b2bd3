/** `GET /api/v1/events`: the hub's events as server-sent events (see `../events.ts`). */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';

interface EventsQuery {
  results?: '1' | 'true' | '0' | 'false';
}

/** Registers `GET /api/v1/events`: `?results=1` (or `true`) adds `result` events to transitions and flaps. */
export function eventRoutes(app: FastifyInstance, { events }: ApiContext): void {
  app.get<{ Querystring: EventsQuery }>(
    '/api/v1/events',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { results: { type: 'string', enum: ['1', 'true', '0', 'false'] } },
        },
      },
    },
    (request, reply) => {
      // The stream is written to the socket directly, event by event: Fastify hands the response over.
      reply.hijack();
      const results = request.query.results === '1' || request.query.results === 'true';
      events.attach(reply.raw, { results });
    },
  );
}
