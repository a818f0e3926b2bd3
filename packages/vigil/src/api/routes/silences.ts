/**
 * Silences: `GET /api/v1/silences`, and with the bearer token `POST /api/v1/silences` and
 * `DELETE /api/v1/silences/:id`. A silence mutes matching alerts' notifications from `startsAt` to
 * `endsAt` (Alertmanager's semantics: every matcher must match; regex matchers are anchored).
 */
import type { FastifyInstance } from 'fastify';
import { regexProblem } from '../../assertions/regex.js';
import { requireToken } from '../auth.js';
import type { ApiContext } from '../context.js';
import { timeSchema } from '../query.js';

/** ms since epoch or an RFC 3339 date-time, as the other routes accept; NaN when unreadable. */
export function toMs(value: string): number {
  return /^[0-9]+$/.test(value) ? Number(value) : Date.parse(value);
}

/** The JSON Schema of a matcher list (silences, one-off maintenance windows): at least one. */
export const MATCHERS_SCHEMA = {
  type: 'array',
  minItems: 1,
  items: {
    type: 'object',
    additionalProperties: false,
    required: ['label', 'value'],
    properties: {
      label: { type: 'string', minLength: 1 },
      value: { type: 'string' },
      isRegex: { type: 'boolean' },
    },
  },
} as const;

/** The first regex matcher that RE2 cannot compile, as a 400 message naming it; `undefined` when all do. */
export function matchersProblem(
  matchers: ReadonlyArray<{ value: string; isRegex?: boolean }>,
): string | undefined {
  for (const [i, m] of matchers.entries()) {
    const problem = m.isRegex === true ? regexProblem(m.value) : undefined;
    if (problem !== undefined) {
      return `matchers[${i}].value: invalid regular expression ${JSON.stringify(m.value)} (RE2 syntax): ${problem.reason}`;
    }
  }
  return undefined;
}

interface SilenceBody {
  matchers: Array<{ label: string; value: string; isRegex?: boolean }>;
  startsAt?: string;
  endsAt: string;
  createdBy: string;
  comment: string;
}

/** Registers the silence routes (see `createApi`). */
export function silenceRoutes(app: FastifyInstance, { hub }: ApiContext, token: string | undefined): void {
  app.get<{ Querystring: { activeAt?: string } }>(
    '/api/v1/silences',
    {
      schema: {
        querystring: { type: 'object', additionalProperties: false, properties: { activeAt: timeSchema } },
      },
    },
    async (request) => {
      const { activeAt } = request.query;
      return {
        silences: await hub.store.silences(activeAt === undefined ? {} : { activeAt: toMs(activeAt) }),
      };
    },
  );

  void app.register(async (guarded) => {
    guarded.addHook('onRequest', requireToken(token));
    guarded.post<{ Body: SilenceBody }>(
      '/api/v1/silences',
      {
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['matchers', 'endsAt', 'createdBy', 'comment'],
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
        const endsAt = toMs(body.endsAt);
        if (Number.isNaN(startsAt))
          return reply
            .code(400)
            .send({ error: 'startsAt: expected ms since epoch or an RFC 3339 date-time' });
        if (Number.isNaN(endsAt))
          return reply.code(400).send({ error: 'endsAt: expected ms since epoch or an RFC 3339 date-time' });
        if (!(endsAt > startsAt)) {
          return reply.code(400).send({ error: 'endsAt must be after startsAt' });
        }
        const bad = matchersProblem(body.matchers);
        if (bad !== undefined) return reply.code(400).send({ error: bad });
        const silence = await hub.store.putSilence({
          matchers: body.matchers,
          startsAt,
          endsAt,
          createdBy: body.createdBy,
          comment: body.comment,
        });
        return reply.code(201).send(silence);
      },
    );
    guarded.delete<{ Params: { id: string } }>('/api/v1/silences/:id', async (request, reply) => {
      const deleted = await hub.store.deleteSilence(request.params.id);
      if (!deleted) return reply.code(404).send({ error: `no silence "${request.params.id}"` });
      return { deleted: request.params.id };
    });
  });
}
