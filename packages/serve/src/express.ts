import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Health } from './health.js';
import { createNodeHandler } from './node-http.js';

/**
 * Express middleware (structurally typed, so this package needs no Express dependency): answers the
 * health paths, calls `next()` for everything else.
 *
 * @example
 * ```ts
 * const middleware: ExpressHealthMiddleware = createExpressMiddleware(health);
 * app.use(middleware);
 * ```
 */
export type ExpressHealthMiddleware = (
  req: IncomingMessage,
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void;

/**
 * Serves `health.routes` from an Express 5 app. Paths are matched against `req.url`, which Express makes
 * relative to the mount point: `app.use('/ops', createExpressMiddleware(health))` serves `/ops/readyz`.
 * Register it before body parsers, auth and rate limiting: probes should not depend on them.
 *
 * @example
 * ```ts
 * const app = express();
 * app.use(createExpressMiddleware(health));
 * app.post('/v2/models/:model/infer', infer);
 * ```
 */
export function createExpressMiddleware(health: Health): ExpressHealthMiddleware {
  const handle = createNodeHandler(health);
  return (req, res, next) => {
    if (!handle(req, res)) next();
  };
}
