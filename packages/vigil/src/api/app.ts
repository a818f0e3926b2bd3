import { existsSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import type { HubView } from '../hub/types.js';
import type { Metrics } from '../metrics/metrics.js';
import type { ApiContext } from './context.js';
import { createEventFanout } from './events.js';
import { describeValidationError } from './query.js';
import { type AgentRouteOptions, agentRoutes } from './routes/agents.js';
import { alertRoutes } from './routes/alerts.js';
import { baselineRoutes } from './routes/baselines.js';
import { eventRoutes } from './routes/events.js';
import { historyRoutes } from './routes/history.js';
import { maintenanceRoutes } from './routes/maintenance.js';
import { opsRoutes } from './routes/ops.js';
import { silenceRoutes } from './routes/silences.js';
import { statusRoutes } from './routes/status.js';
import { trafficRoutes } from './routes/traffic.js';

/** Options of {@link createApi}. */
export interface ApiOptions {
  /** Live state (`status()`, `isReady()`), the store, and the event stream. */
  hub: HubView;
  /** Served at `/metrics`; without it `/metrics` answers 404. */
  metrics?: Metrics;
  /**
   * Bearer token of the mutating routes (see `requireToken`); without it they answer 403. The read
   * routes are open.
   */
  token?: string;
  /** Fastify's (pino) request logging. Default false. */
  logger?: boolean;
  /** Interval of the SSE heartbeat comment, in ms. Default 15 000. */
  heartbeatMs?: number;
  /**
   * Directory of the built dashboard (Vite's output: `index.html` and `assets/`), served at `/`.
   * Default: `packages/vigil/dist/dashboard` (`defaultDashboardDir`); `false` serves none.
   */
  dashboardDir?: string | false;
  /**
   * Agents (`agents:` of the config): each region's token, the batch cap, and where refusals are
   * logged. Without it every agent request is refused (403 unknown region).
   */
  agents?: AgentRouteOptions;
}

/**
 * Where `npm run build` puts the dashboard: `dist/dashboard` of this package, found from either the
 * compiled file (`dist/api/app.js`) or the source (`src/api/app.ts`). Undefined when it is not built.
 */
export function defaultDashboardDir(): string | undefined {
  for (const relative of ['../dashboard/', '../../dist/dashboard/']) {
    const dir = fileURLToPath(new URL(relative, import.meta.url));
    if (existsSync(`${dir}index.html`)) return dir;
  }
  return undefined;
}

/**
 * The dashboard's Content-Security-Policy: its own scripts only, no inline script, nothing from
 * another origin — a label that smuggles markup cannot run even if it were ever rendered as HTML.
 * Inline styles stay allowed for the chart library's element styles.
 */
const DASHBOARD_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/**
 * Creates the hub's HTTP API, not listening (the caller calls `listen`, or `inject` in tests). Routes
 * may still be added to the returned instance before it listens.
 *
 * | route | answer |
 * | --- | --- |
 * | `GET /api/v1/status?target=&state=&region=&label=key:value&deferred=&recent=&view=` | `{checks: CheckStatus[]}`; each filter may repeat (any value matches), filters combine with AND; `state=stale`: results stopped arriving; `deferred=true`: checks whose probes are put off now (probe budget, readiness; each has `deferred: {reason, message, since, until}`); `recent=true` adds `recentMs` (the latest probes' durations, oldest first); `view=summary` leaves out each `lastResult` (`CheckSummary`) |
 * | `GET /api/v1/status/overview` | `StatusOverview`: the dashboard overview's first load, lean — `{eventId, targets: [{name, model?, labels}], checks: {target: [i…], checkId, check, region, state, since, lastKnown, flapping, consecutiveFailures, modelVersion, deferred, recentMs}}`, each target once and the checks as columns (`null`: absent); gzip when accepted; `eventId`: the last `/api/v1/events` id the snapshot reflects |
 * | `GET /api/v1/checks/:id?region=` | `{check: CheckInfo, status: CheckStatus \| null, lastExchange: ExchangeView \| null}`: thresholds and the latest probe's request and response, redacted; 404 for an unknown check |
 * | `GET /api/v1/checks/:id/results?since=&until=&limit=&region=` | `{results: ProbeResult[]}`, oldest first: the newest `limit` (1–10 000, default 100) of the window; `:id` URL-encoded (`credit-scorer%2Fintegrity`); 404 for a check `status()` does not know |
 * | `GET /api/v1/targets/:target/checks/:check/results?…` | the same for check id `<target>/<check>` |
 * | `GET /api/v1/incidents?open=true\|false&checkId=&limit=` | `{incidents: Incident[]}`, newest first |
 * | `GET /api/v1/incidents/:id` | `{incident, transitions: Transition[], notifications: IncidentDelivery[]}`: its timeline (oldest first, from leaving healthy) and each notification about it with its delivery state; 404 unknown id |
 * | `GET /api/v1/alerts?severity=&state=active\|suppressed` | `{alerts: AlertStatus[]}`: alerts firing now, critical first, each `active` or `suppressed` with `mutedBy` (silence, maintenance, inhibition) |
 * | `GET /api/v1/transitions?checkId=&region=&since=&limit=` | `{transitions: Transition[]}`, newest first |
 * | `GET /api/v1/silences?activeAt=` | `{silences: Silence[]}` |
 * | `POST /api/v1/silences` (bearer token) | body `{matchers: [{label, value, isRegex?}], startsAt?, endsAt, createdBy, comment}` → 201 the Silence |
 * | `DELETE /api/v1/silences/:id` (bearer token) | `{deleted: id}`; 404 unknown id |
 * | `GET /api/v1/maintenance-windows?activeAt=` | `{windows: OneOffWindow[]}`: one-off maintenance windows (recurring ones are config) |
 * | `POST /api/v1/maintenance-windows` (bearer token) | body `{matchers, startsAt?, endsAt?, createdBy, comment}` (no `endsAt`: open until ended) → 201 the window |
 * | `POST /api/v1/maintenance-windows/:id/end` (bearer token) | body `{endedBy?}` → the window, ended now; 404 unknown id; 409 over already |
 * | `POST /api/v1/traffic` (bearer token) | body `{results: ProbeResult[]}` (source `traffic`, ≤ 1,000) from a router in another process → `{accepted, rejected: [checkId…]}` (`routes/traffic.ts`) |
 * | `GET /api/v1/agent/checks?region=&shard=i/n` (the region's agent token) | the checks the region runs, ETag / 304 (`routes/agents.ts`) |
 * | `POST /api/v1/agent/results?region=` (the region's agent token) | a gzip JSON batch of results, each with an id, ingested once → `{accepted, replayed, receivedAt}`; 401 token, 403 unknown region, 413 oversize, 400 malformed, 422 forged |
 * | `GET /api/v1/agents` | `{agents: AgentStatus[]}`: last report, lag, spool depth, drops, clock offset |
 * | `GET /api/v1/events?results=1` | server-sent events: `transition`, `flap`, and `result` only with `results=1` |
 * | `GET /livez` | 200 `{status: "ok"}` while the process serves |
 * | `GET /readyz` | 200 `{status: "ready"}` when `hub.isReady()`, else 503 `{error: "not ready"}` |
 * | `GET /metrics` | `metrics.renderChunks(format)`, streamed: OpenMetrics 1.0 when `Accept` asks for `application/openmetrics-text` (as Prometheus does) before `text/plain`, else the Prometheus text format 0.0.4; `Vary: Accept`; 404 without metrics |
 * | `GET /`, `/assets/*` | the dashboard (see `dashboardDir`), with a strict Content-Security-Policy |
 *
 * `since` / `until` are milliseconds since the epoch or ISO 8601 date-times with offset; `since` is
 * inclusive, `until` exclusive. Unknown query parameters are rejected.
 *
 * Every error is JSON `{error: string}`, never a stack: 400 names the parameter, what it expects and
 * what it got (`invalid query parameter "limit": expected an integer from 1 to 10000, got "0"`); 404
 * for an unknown route or check; 500 `{error: "internal server error"}` (logged) for anything else.
 *
 * @example
 * ```ts
 * const app = await createApi({ hub, metrics, token: process.env.VIGIL_API_TOKEN });
 * await app.listen({ host: '127.0.0.1', port: 8080 });
 * ```
 */
export async function createApi(options: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: options.logger ?? false,
    // Unknown query parameters are errors, not silently stripped (Fastify's default removes them).
    ajv: { customOptions: { removeAdditional: false } },
    // Check ids arrive as one URL-encoded path parameter; find-my-way's default cap is 100 characters.
    routerOptions: { maxParamLength: 1000 },
  });
  const context: ApiContext = {
    hub: options.hub,
    metrics: options.metrics,
    events: createEventFanout(options.hub, { heartbeatMs: options.heartbeatMs }),
  };

  app.setErrorHandler((error: FastifyError, request, reply) => {
    if (error.validation !== undefined) {
      return reply.code(400).send({ error: describeValidationError(error, request) });
    }
    const status = error.statusCode ?? 500;
    if (status < 500) return reply.code(status).send({ error: error.message });
    request.log.error({ err: error }, 'request failed');
    return reply.code(500).send({ error: 'internal server error' });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
  // server.close() waits for every socket. Open event streams would keep it waiting for ever, and
  // sockets that never carried a request (browsers and Node's fetch open them ahead of use) until the
  // headers timeout (60 s): Node's closeIdleConnections() leaves those alone. End both.
  const unused = new Set<Socket>();
  app.server.on('connection', (socket: Socket) => {
    unused.add(socket);
    socket.once('close', () => unused.delete(socket));
  });
  app.server.on('request', (request: IncomingMessage) => unused.delete(request.socket));
  app.addHook('preClose', async () => {
    context.events.closeAll();
    for (const socket of unused) socket.destroy();
  });

  statusRoutes(app, context);
  historyRoutes(app, context);
  eventRoutes(app, context);
  opsRoutes(app, context);
  silenceRoutes(app, context, options.token);
  maintenanceRoutes(app, context, options.token);
  alertRoutes(app, context);
  trafficRoutes(app, context, options.token);
  agentRoutes(app, context, options.agents ?? { tokenOf: () => undefined });
  baselineRoutes(app, context);
  await dashboardRoutes(
    app,
    options.dashboardDir === undefined ? defaultDashboardDir() : options.dashboardDir,
  );
  return app;
}

/**
 * Serves the built dashboard at `/` (hashed assets cached for a year, Brotli or gzip copies when the
 * build wrote them and the browser accepts them), or says how to build it.
 */
async function dashboardRoutes(app: FastifyInstance, dir: string | false | undefined): Promise<void> {
  if (dir === false) return;
  if (dir === undefined) {
    app.get('/', async (_request, reply) =>
      reply.code(503).send({ error: 'the dashboard is not built: run `npm run build`' }),
    );
    return;
  }
  await app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    // Looked up per request (not globbed once at start): a rebuilt dashboard's new asset names are served.
    index: ['index.html'],
    // The `.br` / `.gz` copies the build writes beside each file (scripts/compress-dashboard.mjs), for
    // browsers that accept them (the answer varies with Accept-Encoding: said to caches in
    // setHeaders). Without the copies, the file as is.
    preCompressed: true,
    cacheControl: false,
    setHeaders(res, path) {
      res.setHeader('content-security-policy', DASHBOARD_CSP);
      res.setHeader('x-content-type-options', 'nosniff');
      res.setHeader('vary', 'accept-encoding');
      res.setHeader(
        'cache-control',
        path.includes('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
      );
    },
  });
}
