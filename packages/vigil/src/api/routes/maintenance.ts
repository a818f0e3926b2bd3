/**
 * One-off maintenance windows: `GET /api/v1/maintenance-windows`, and with the bearer token
 * `POST /api/v1/maintenance-windows` (create; open-ended without `endsAt`) and
 * `POST /api/v1/maintenance-windows/:id/end` (end now). While one is open, matching alerts are not
 * notified and recovery actions for them do not run, as in a recurring window (`alerting.maintenance`).
 * Windows are ended, not deleted: the record of who ended which window when stays until the store's
 * silence retention prunes it.
 */
import type { FastifyInstance } from 'fastify';
import { requireToken } from '../auth.js';
import type { ApiContext } from '../context.js';
import { timeSchema } from '../query.js';
import { MATCHERS_SCHEMA, matchersProblem, toMs } from './silences.js';

interface WindowBody {
  matchers: Array<{ label: string; value: string; isRegex?: boolean }>;
  startsAt?: string;
  endsAt?: string;
  createdBy: string;
  comment: string;
}

/** Registers the maintenance window routes (see `createApi`). */
export function maintenanceRoutes(
  app: FastifyInstance,
  { hub }: ApiContext,
  token: string | undefined,
): void {
  app.get<{ Querystring: { activeAt?: string } }>(
    '/api/v1/maintenance-windows',
    {
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { activeAt: timeSchema } },
      },
    },
    async (request) => {
      const { activeAt } = request.query;
      return {
        windows: await hub.store.maintenanceWindows(
          activeAt === undefined ? {} : { activeAt: toMs(activeAt) },
        ),
      };
    },
  );

  void app.register(async (guarded) => {
    guarded.addHook('onRequest', requireToken(token));
    guarded.post<{ Body: WindowBody }>(
      '/api/v1/maintenance-windows',
      {
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['matchers', 'createdBy', 'comment'],
            properties: {
              matchers: MATCHERS_SCHEMA,
              startsAt: timeSchema,
              endsAt: timeSchema,
              createdBy: { type: 'string', minLength: 1 },
              comment: { type: 'string' },
            },
          },
        },
      },
      async (request, reply) => {
        const body = request.body;
        const startsAt = body.startsAt === undefined ? Date.now() : toMs(body.startsAt);
        const endsAt = body.endsAt === undefined ? null : toMs(body.endsAt);
        if (Number.isNaN(startsAt))
          return reply
            .code(400)
            .send({ error: 'startsAt: expected ms since epoch or an RFC 3339 date-time' });
        if (endsAt !== null && Number.isNaN(endsAt))
          return reply.code(400).send({ error: 'endsAt: expected ms since epoch or an RFC 3339 date-time' });
        if (endsAt !== null && !(endsAt > startsAt)) {
          return reply.code(400).send({ error: 'endsAt must be after startsAt' });
        }
        const bad = matchersProblem(body.matchers);
        if (bad !== undefined) return reply.code(400).send({ error: bad });
        const window = await hub.store.putMaintenanceWindow({
          matchers: body.matchers,
          startsAt,
          endsAt,
          createdBy: body.createdBy,
          comment: body.comment,
        });
        return reply.code(201).send(window);
      },
    );
    guarded.post<{ Params: { id: string }; Body: { endedBy?: string } | undefined }>(
      '/api/v1/maintenance-windows/:id/end',
      {
        schema: {
          body: {
            type: ['object', 'null'],
            additionalProperties: false,
            properties: { endedBy: { type: 'string', minLength: 1 } },
          },
        },
      },
      async (request, reply) => {
        const { id } = request.params;
        const ended = await hub.store.endMaintenanceWindow(id, Date.now(), request.body?.endedBy ?? 'api');
        if (ended === undefined) return reply.code(404).send({ error: `no maintenance window "${id}"` });
        if (!ended.changed) {
          return reply.code(409).send({
            error: `maintenance window "${id}" is over already (ended ${new Date(ended.window.endsAt ?? 0).toISOString()})`,
          });
        }
        return ended.window;
      },
    );
  });
}
