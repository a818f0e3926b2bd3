/**
 * `POST /api/v1/traffic` (bearer token): the results a router in another process sums up from its
 * traffic (`vigil route --hub URL`, `router/traffic.ts`), taken in by the hub's traffic checks
 * (`Hub.ingest`) as the in-process routers of `vigil run --routers` feed them. Body
 * `{results: ProbeResult[]}` (at most 1,000, each of source `traffic`); answer
 * `{accepted, rejected: [checkId…]}` (a check the hub has no traffic check for is rejected, so a
 * router and a hub whose configs differ say so instead of losing results silently).
 */
import type { FastifyInstance } from 'fastify';
import type { ProbeResult } from '../../types.js';
import { requireToken } from '../auth.js';
import type { ApiContext } from '../context.js';

/** Most results one request may carry. */
export const MAX_TRAFFIC_RESULTS = 1000;

const resultSchema = {
  type: 'object',
  required: [
    'checkId',
    'target',
    'check',
    'region',
    'startedAt',
    'durationMs',
    'phases',
    'outcome',
    'failures',
    'source',
  ],
  properties: {
    checkId: { type: 'string', minLength: 1, maxLength: 512 },
    target: { type: 'string', minLength: 1, maxLength: 256 },
    check: { const: 'traffic' },
    region: { type: 'string', minLength: 1, maxLength: 128 },
    startedAt: { type: 'number' },
    durationMs: { type: 'number', minimum: 0 },
    phases: { type: 'object' },
    outcome: { enum: ['pass', 'degraded', 'fail'] },
    httpStatus: { type: 'integer' },
    failures: { type: 'array', maxItems: 16, items: { type: 'object' } },
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string' }, message: { type: 'string', maxLength: 4096 } },
    },
    notes: { type: 'array', maxItems: 16, items: { type: 'string', maxLength: 4096 } },
    source: { const: 'traffic' },
  },
} as const;

/** Registers `POST /api/v1/traffic` (see `createApi`). */
export function trafficRoutes(app: FastifyInstance, { hub }: ApiContext, token: string | undefined): void {
  void app.register(async (guarded) => {
    guarded.addHook('onRequest', requireToken(token));
    guarded.post<{ Body: { results: ProbeResult[] } }>(
      '/api/v1/traffic',
      {
        schema: {
          body: {
            type: 'object',
            additionalProperties: false,
            required: ['results'],
            properties: { results: { type: 'array', maxItems: MAX_TRAFFIC_RESULTS, items: resultSchema } },
          },
        },
      },
      async (request, reply) => {
        if (hub.ingest === undefined)
          return reply.code(501).send({ error: 'this hub takes no traffic results' });
        const rejected: string[] = [];
        let accepted = 0;
        for (const result of request.body.results) {
          if (hub.ingest(result)) accepted++;
          else rejected.push(result.checkId);
        }
        return { accepted, rejected };
      },
    );
  });
}
