/**
 * Canary baselines and comparisons: `GET /api/v1/baselines` (the store's baselines, newest first,
 * summarised: one source of truth for every hub of a cluster) and `GET /api/v1/checks/:id/canary`
 * (a canary's last run compared with its version's baseline, case by case and output by output, and
 * its drift statistics over recent runs against their bounds).
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { StoredBaseline } from '../../store/types.js';
import type { ApiContext } from '../context.js';

interface BaselinesQuery {
  checkId?: string;
  modelVersion?: string;
  status?: 'reviewed' | 'provisional';
  limit?: number;
}

/** A stored baseline without its cases (each case's request and outputs can be large). */
function summary({ baseline, ...row }: StoredBaseline) {
  return {
    ...row,
    model: baseline.model,
    recordedBy: baseline.vigilVersion,
    repeats: baseline.repeats,
    cases: Object.keys(baseline.cases).length,
    ...(baseline.latency !== undefined && { latency: baseline.latency }),
  };
}

/** Registers the baseline routes (see `createApi`). */
export function baselineRoutes(app: FastifyInstance, { hub }: ApiContext): void {
  app.get<{ Querystring: BaselinesQuery }>(
    '/api/v1/baselines',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            checkId: { type: 'string', minLength: 1 },
            modelVersion: { type: 'string' },
            status: { type: 'string', enum: ['reviewed', 'provisional'] },
            limit: { type: 'integer', minimum: 1, maximum: 1000 },
          },
        },
      },
    },
    async (request) => ({ baselines: (await hub.store.baselines(request.query)).map(summary) }),
  );

  const canary = (id: string, reply: FastifyReply) => {
    const view = hub.canary?.(id);
    if (view === undefined) return reply.code(404).send({ error: `no canary check ${JSON.stringify(id)}` });
    return view;
  };
  app.get<{ Params: { id: string } }>('/api/v1/checks/:id/canary', async (request, reply) =>
    canary(request.params.id, reply),
  );
  app.get<{ Params: { target: string; check: string } }>(
    '/api/v1/targets/:target/checks/:check/canary',
    async (request, reply) => canary(`${request.params.target}/${request.params.check}`, reply),
  );
}
