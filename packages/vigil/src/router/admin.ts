/**
 * The routers' admin API, on its own address (never on a router's, whose every path belongs to the
 * model): `/metrics`, the routers' states, and drain / restore of an upstream behind a bearer token.
 *
 * | route | answers |
 * | --- | --- |
 * | `GET /metrics` | Prometheus text: `vigil_router_*` and the process's metrics |
 * | `GET /healthz` | 200 `{ok: true}` |
 * | `GET /api/v1/routers` | `{routers: RouterStatus[]}` |
 * | `POST /api/v1/routers/:router/upstreams/:upstream/drain` (bearer token) | the router's status; 404 unknown router or upstream |
 * | `POST /api/v1/routers/:router/upstreams/:upstream/restore` (bearer token) | the same; ends an ejection too |
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { RouterMetrics } from './metrics.js';
import type { Router } from './proxy.js';

/** Default port of the routers' admin API (the hub's is 7979). */
export const DEFAULT_ADMIN_PORT = 7980;

/** Options of {@link createRouterAdmin}. */
export interface RouterAdminOptions {
  /** The running routers (read at every request: a reload may add or remove some). */
  routers: () => readonly Router[];
  metrics: RouterMetrics;
  /**
   * Bearer token of drain and restore (`VIGIL_ROUTER_TOKEN`); without it they answer 403, as the
   * hub's mutating routes do.
   */
  token?: string;
}

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;
const digest = (value: string) => createHash('sha256').update(value).digest();

/**
 * Builds the admin API (Fastify; not in the data path). Call `listen` on it.
 *
 * @example
 * const metrics = createRouterMetrics();
 * const admin = await createRouterAdmin({ routers: () => [router], metrics, token: process.env.VIGIL_ROUTER_TOKEN });
 * await admin.listen({ host: '127.0.0.1', port: DEFAULT_ADMIN_PORT });
 */
export async function createRouterAdmin(options: RouterAdminOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  const expected = options.token ? digest(options.token) : undefined;
  // The same rule as the hub's requireToken (api/auth.ts, a layer above): constant-time, 403 when
  // no token is configured, 401 for a missing or wrong one.
  const guard = async (request: FastifyRequest, reply: FastifyReply) => {
    if (expected === undefined)
      return reply.code(403).send({ error: 'the admin token is not configured (VIGIL_ROUTER_TOKEN)' });
    const presented = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="vigil-router"')
      .send({ error: 'missing or invalid bearer token' });
  };

  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', options.metrics.contentType);
    return options.metrics.render();
  });
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/api/v1/routers', async () => ({ routers: options.routers().map((r) => r.status()) }));

  interface Params {
    router: string;
    upstream: string;
  }
  for (const action of ['drain', 'restore'] as const) {
    app.post<{ Params: Params }>(
      `/api/v1/routers/:router/upstreams/:upstream/${action}`,
      { onRequest: guard },
      async (request, reply) => {
        const router = options.routers().find((r) => r.name === request.params.router);
        if (router === undefined)
          return reply.code(404).send({ error: `no router is named "${request.params.router}"` });
        if (!router.setDrained(request.params.upstream, action === 'drain')) {
          return reply
            .code(404)
            .send({ error: `router "${router.name}" has no upstream "${request.params.upstream}"` });
        }
        return router.status();
      },
    );
  }
  return app;
}
