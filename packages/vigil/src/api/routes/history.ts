/** What happened: `/api/v1/incidents` and `/api/v1/transitions`, newest first, from the store. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../app.js';
import { limitSchema, parseTime, timeSchema } from '../query.js';

interface IncidentsQuery {
  open?: boolean;
  checkId?: string;
  limit: number;
}

interface TransitionsQuery {
  checkId?: string;
  region?: string;
  since?: string;
  limit: number;
}

/** Registers `GET /api/v1/incidents` and `GET /api/v1/transitions` (see `createApi`). */
export function historyRoutes(app: FastifyInstance, { hub }: ApiContext): void {
  app.get<{ Querystring: IncidentsQuery }>(
    '/api/v1/incidents',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { open: { type: 'boolean' }, checkId: { type: 'string' }, limit: limitSchema },
        },
      },
    },
    async (request) => {
      const { open, checkId, limit } = request.query;
      return { incidents: await hub.store.incidents({ open, checkId, limit }) };
    },
  );

  app.get<{ Querystring: TransitionsQuery }>(
    '/api/v1/transitions',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            checkId: { type: 'string' },
            region: { type: 'string' },
            since: timeSchema,
            limit: limitSchema,
          },
        },
      },
    },
    async (request) => {
      const { checkId, region, limit } = request.query;
      return {
        transitions: await hub.store.transitions({
          checkId,
          region,
          since: parseTime('since', request.query.since),
          limit,
        }),
      };
    },
  );
}
