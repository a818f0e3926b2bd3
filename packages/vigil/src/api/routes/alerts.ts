/** Alerts firing now: `GET /api/v1/alerts`. */
import type { FastifyInstance } from 'fastify';
import type { ApiContext } from '../context.js';
import { repeatable } from '../query.js';

interface AlertsQuery {
  severity?: Array<'info' | 'warning' | 'critical'>;
  state?: Array<'active' | 'suppressed'>;
}

/** Registers `GET /api/v1/alerts` (see `createApi`). */
export function alertRoutes(app: FastifyInstance, { hub }: ApiContext): void {
  app.get<{ Querystring: AlertsQuery }>(
    '/api/v1/alerts',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            severity: repeatable({ enum: ['info', 'warning', 'critical'] }),
            state: repeatable({ enum: ['active', 'suppressed'] }),
          },
        },
      },
    },
    async (request) => {
      const { severity, state } = request.query;
      const alerts = (await hub.alerts()).filter(
        (a) =>
          (severity === undefined || severity.includes(a.labels.severity as 'critical')) &&
          (state === undefined || state.includes(a.state)),
      );
      return { alerts };
    },
  );
}
