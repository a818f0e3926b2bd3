/** Live state and results of checks: `/api/v1/status` and the results routes. */
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import Negotiator from 'negotiator';
import type { CheckStatus } from '../../hub/types.js';
import type { CheckState } from '../../types.js';
import type { ApiContext } from '../context.js';
import { statusOverview } from '../overview.js';
import { limitSchema, parseTime, repeatable, stateSchema, timeSchema } from '../query.js';

/**
 * A check's status without its last result (state, since, flapping, failure streak, model and
 * version, labels). `GET /api/v1/status?view=summary`; the full result of a check is on
 * `/api/v1/checks/{id}` and `/results`. The dashboard's overview loads the leaner
 * `/api/v1/status/overview` (`StatusOverview`).
 */
export type CheckSummary = Omit<CheckStatus, 'lastResult'>;

/** What `GET /api/v1/status` answers per check: `view=full` (the default), or `view=summary`. */
export type StatusView = 'full' | 'summary';

interface StatusQuery {
  target?: string[];
  state?: CheckState[];
  region?: string[];
  /** `key:value`; the value is everything after the first colon. */
  label?: string[];
  /** Adds `recentMs`: the durations of the latest probes, oldest first (sparklines). */
  recent?: boolean;
  /** `summary` leaves out each check's `lastResult` (about half the bytes). Default `full`. */
  view?: StatusView;
  /** `true`: only checks whose probes are deferred now (probe budget, readiness); `false`: only the others. */
  deferred?: boolean;
}

interface ResultsQuery {
  since?: string;
  until?: string;
  limit: number;
  region?: string;
}

const statusQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    target: repeatable({}),
    state: repeatable(stateSchema),
    region: repeatable({}),
    label: repeatable({ pattern: '^[^:]+:' }),
    recent: { type: 'boolean' },
    view: { type: 'string', enum: ['full', 'summary'] },
    deferred: { type: 'boolean' },
  },
} as const;

const resultsQuerySchema = {
  type: 'object',
  additionalProperties: false,
  properties: { since: timeSchema, until: timeSchema, limit: limitSchema, region: { type: 'string' } },
} as const;

/** `status` without `lastResult`, a copy (the hub's object is left alone). */
function summary(status: CheckStatus): CheckSummary {
  const { lastResult: _, ...rest } = status;
  return rest;
}

const gzipAsync = promisify(gzip);

/** Whether the request's `Accept-Encoding` accepts gzip (q-values honoured: negotiator, as for `/metrics`). */
function acceptsGzip(request: FastifyRequest): boolean {
  return new Negotiator({ headers: request.headers }).encoding(['gzip']) === 'gzip';
}

/** Whether a check status passes every filter of the query. */
function matcher(query: StatusQuery): (status: CheckStatus) => boolean {
  const labels = (query.label ?? []).map((l) => {
    const colon = l.indexOf(':');
    return [l.slice(0, colon), l.slice(colon + 1)] as const;
  });
  return (s) =>
    (query.target === undefined || query.target.includes(s.target)) &&
    (query.state === undefined || query.state.includes(s.state)) &&
    (query.region === undefined || query.region.includes(s.region)) &&
    (query.deferred === undefined || query.deferred === (s.deferred !== undefined)) &&
    labels.every(([key, value]) => s.labels[key] === value);
}

/** Registers `GET /api/v1/status`, `/api/v1/status/overview` and the two results routes (see `createApi`). */
export function statusRoutes(app: FastifyInstance, { hub, events }: ApiContext): void {
  app.get(
    '/api/v1/status/overview',
    { schema: { querystring: { type: 'object', additionalProperties: false, properties: {} } } },
    async (request, reply) => {
      // Serialised here, not by Fastify, so that the bytes can be compressed (off the event loop:
      // zlib runs in libuv's thread pool) before they are sent.
      const body = JSON.stringify(statusOverview(hub, events.lastId));
      void reply.type('application/json; charset=utf-8').header('vary', 'accept-encoding');
      if (!acceptsGzip(request)) return reply.send(body);
      // Level 1: a synthetic 10,000-check answer (2.2 MiB, random sparklines) is 415 KiB in 61 ms of
      // a thread-pool thread, against 330 KiB in 352 ms at the default level 6 (a loaded machine).
      const zipped = await gzipAsync(body, { level: 1 });
      return reply.header('content-encoding', 'gzip').send(zipped);
    },
  );

  app.get<{ Querystring: StatusQuery }>(
    '/api/v1/status',
    { schema: { querystring: statusQuerySchema } },
    async (request) => {
      const { recent, view } = request.query;
      const checks: Array<CheckStatus | CheckSummary> = hub.status().filter(matcher(request.query));
      const shaped = view === 'summary' ? checks.map((c) => summary(c as CheckStatus)) : checks;
      if (recent !== true) return { checks: shaped };
      return { checks: shaped.map((c) => ({ ...c, recentMs: hub.recentDurations(c.checkId, c.region) })) };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { region?: string } }>(
    '/api/v1/checks/:id',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { region: { type: 'string' } },
        },
      },
    },
    async (request, reply) => {
      const { id } = request.params;
      const check = hub.checkInfo(id);
      if (check === undefined) return reply.code(404).send({ error: `unknown check ${JSON.stringify(id)}` });
      const statuses = hub.status().filter((s) => s.checkId === id);
      const status =
        (request.query.region === undefined
          ? statuses[0]
          : statuses.find((s) => s.region === request.query.region)) ?? null;
      const region = status?.region ?? request.query.region;
      const lastExchange = region === undefined ? undefined : hub.lastExchange(id, region);
      return { check, status, lastExchange: lastExchange ?? null };
    },
  );

  const results = async (checkId: string, query: ResultsQuery, reply: FastifyReply) => {
    if (!hub.status().some((s) => s.checkId === checkId)) {
      return reply.code(404).send({ error: `unknown check ${JSON.stringify(checkId)}` });
    }
    const { limit, region } = query;
    const since = parseTime('since', query.since);
    const until = parseTime('until', query.until);
    return { results: await hub.store.results(checkId, { region, since, until, limit }) };
  };
  app.get<{ Params: { id: string }; Querystring: ResultsQuery }>(
    '/api/v1/checks/:id/results',
    { schema: { querystring: resultsQuerySchema } },
    async (request, reply) => results(request.params.id, request.query, reply),
  );
  app.get<{ Params: { target: string; check: string }; Querystring: ResultsQuery }>(
    '/api/v1/targets/:target/checks/:check/results',
    { schema: { querystring: resultsQuerySchema } },
    async (request, reply) =>
      results(`${request.params.target}/${request.params.check}`, request.query, reply),
  );
}
