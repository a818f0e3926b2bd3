/** What happened: `/api/v1/incidents` and `/api/v1/transitions`, newest first, from the store. */
import type { FastifyInstance } from 'fastify';
import type { Alert, NotificationGroup } from '../../alerting/types.js';
import type { Notification, Store } from '../../store/types.js';
import type { Incident, Transition } from '../../types.js';
import type { ApiContext } from '../context.js';
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

/** One delivery of a notification that concerned an incident, as the incident page shows it. */
export interface IncidentDelivery {
  id: string;
  /** The receiver (notifier name). */
  notifier: string;
  /** Whether the notification said the incident's alert fires or resolved. */
  alertStatus: 'firing' | 'resolved';
  /** Outbox state: `pending` (being sent or retried), `delivered`, or `failed` (given up). */
  status: Notification['status'];
  createdAt: number;
  deliveredAt: number | null;
  attempts: number;
  lastError: string | null;
}

/** How long after an incident closes its resolved notification may still be enqueued (group_interval, retries). */
const RESOLVE_SLACK_MS = 6 * 60 * 60 * 1000;
/** How far before the incident its lead-up (healthy → pending → …) is looked for. */
const LEAD_UP_MS = 24 * 60 * 60 * 1000;

/**
 * The incident's transitions, oldest first: from the one that left `healthy` (the first sign) through
 * the one that closed it, or up to now while it is open.
 */
async function incidentTransitions(store: Store, incident: Incident): Promise<Transition[]> {
  const all = (
    await store.transitions({
      checkId: incident.checkId,
      region: incident.region,
      since: incident.openedAt - LEAD_UP_MS,
      limit: 1000,
    })
  ).reverse();
  const end = incident.closedAt ?? Number.POSITIVE_INFINITY;
  const opening = all.findIndex((t) => t.at >= incident.openedAt && t.to === 'unhealthy');
  if (opening === -1) return all.filter((t) => t.at >= incident.openedAt && t.at <= end);
  let first = opening;
  const isStart = (t: Transition | undefined) =>
    t === undefined || t.from === 'healthy' || t.from === 'unknown';
  while (first > 0 && !isStart(all[first]) && all[first - 1]?.to !== 'unhealthy') first--;
  return all.slice(first).filter((t) => t.at <= end);
}

/** The outbox rows whose alerts include this incident's check, region and episode. */
async function incidentDeliveries(store: Store, incident: Incident): Promise<IncidentDelivery[]> {
  const [target, ...rest] = incident.checkId.split('/');
  const check = rest.join('/');
  const rows = await store.notifications({
    since: incident.openedAt,
    ...(incident.closedAt === null ? {} : { until: incident.closedAt + RESOLVE_SLACK_MS }),
    limit: 1000,
  });
  const concerns = (a: Alert) =>
    a.labels.target === target &&
    a.labels.check === check &&
    a.labels.region === incident.region &&
    a.startsAt >= incident.openedAt &&
    (incident.closedAt === null || a.startsAt <= incident.closedAt);
  const out: IncidentDelivery[] = [];
  for (const row of rows) {
    const alert = (row.payload as Partial<NotificationGroup>).alerts?.find(concerns);
    if (alert === undefined) continue;
    out.push({
      id: row.id,
      notifier: row.notifier,
      alertStatus: alert.status,
      status: row.status,
      createdAt: row.createdAt,
      deliveredAt: row.deliveredAt,
      attempts: row.attempts,
      lastError: row.lastError,
    });
  }
  return out;
}

interface ActionsQuery {
  checkId?: string;
  incidentId?: string;
  action?: string;
  since?: string;
  limit?: number;
}

/**
 * Registers `GET /api/v1/incidents`, `GET /api/v1/incidents/:id` (with the incident's recovery action
 * runs), `GET /api/v1/transitions` and `GET /api/v1/actions` (every action run, newest first: when,
 * why, what, result, output excerpt) (see `createApi`).
 */
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

  app.get<{ Params: { id: string } }>('/api/v1/incidents/:id', async (request, reply) => {
    const [incident] = await hub.store.incidents({ id: request.params.id });
    if (incident === undefined) {
      return reply.code(404).send({ error: `unknown incident ${JSON.stringify(request.params.id)}` });
    }
    const [transitions, notifications, actions] = await Promise.all([
      incidentTransitions(hub.store, incident),
      incidentDeliveries(hub.store, incident),
      hub.store.actionRuns({ incidentId: incident.id }),
    ]);
    // Actions oldest first, as the timeline reads.
    return { incident, transitions, notifications, actions: actions.reverse() };
  });

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

  app.get<{ Querystring: ActionsQuery }>(
    '/api/v1/actions',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            checkId: { type: 'string' },
            incidentId: { type: 'string' },
            action: { type: 'string' },
            since: timeSchema,
            limit: limitSchema,
          },
        },
      },
    },
    async (request) => {
      const { checkId, incidentId, action, limit } = request.query;
      return {
        actions: await hub.store.actionRuns({
          checkId,
          incidentId,
          action,
          since: parseTime('since', request.query.since),
          limit: limit ?? 100,
        }),
      };
    },
  );
}
