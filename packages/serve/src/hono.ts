import type { Health } from './health.js';
import { answerRequest, createRequestMatcher, RESPONSE_HEADERS } from './routes.js';

/**
 * The part of Hono's `Context` the middleware reads (structural, so this package needs no Hono dependency).
 *
 * @example
 * ```ts
 * const context: HonoContextLike = { req: { method: 'GET', path: '/readyz', url: 'http://localhost/readyz?verbose' } };
 * ```
 */
export interface HonoContextLike {
  req: { method: string; path: string; url: string };
}

/**
 * A Hono middleware: answers the health paths with a `Response`, awaits `next()` for everything else.
 *
 * @example
 * ```ts
 * const middleware: HonoHealthMiddleware = createHonoMiddleware(health);
 * app.use(middleware);
 * ```
 */
export type HonoHealthMiddleware = (
  context: HonoContextLike,
  next: () => Promise<void>,
) => Promise<Response | undefined>;

/**
 * Serves `health.routes` from a Hono 4 app (any runtime; tested with `@hono/node-server`). Paths are
 * matched against the full request path, so a middleware mounted under a sub-app still uses the paths
 * configured in `createHealth({ paths })`.
 *
 * @example
 * ```ts
 * import { serve } from '@hono/node-server';
 * import { Hono } from 'hono';
 * const app = new Hono();
 * app.use(createHonoMiddleware(health));
 * serve({ fetch: app.fetch, port: 8080 });
 * ```
 */
export function createHonoMiddleware(health: Health): HonoHealthMiddleware {
  const match = createRequestMatcher(health);
  return async (context, next) => {
    const { method, path, url } = context.req;
    const queryAt = url.indexOf('?');
    const request = match(method, queryAt === -1 ? path : path + url.slice(queryAt));
    if (request === undefined) {
      await next();
      return undefined;
    }
    const { statusCode, json } = await answerRequest(health, request);
    // Hono strips the body of HEAD answers itself.
    return new Response(json, { status: statusCode, headers: RESPONSE_HEADERS });
  };
}
