import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Health } from './health.js';
import { answerRequest, createRequestMatcher, type HealthRequest, RESPONSE_HEADERS } from './routes.js';

/**
 * A node:http request listener that answers the health paths and returns `true`, or returns `false`
 * (after calling the fallback, if any) for every other request.
 *
 * @example
 * ```ts
 * const handleHealth: NodeHealthHandler = createNodeHandler(health);
 * http.createServer((req, res) => handleHealth(req, res) || app(req, res));
 * ```
 */
export type NodeHealthHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Serves `health.routes` from a node:http server (GET and HEAD; other methods are not ours). Answers are
 * `application/json` with `cache-control: no-store`; `?verbose` adds details.
 *
 * @param fallback handles every request that is not a health request (your app).
 * @example
 * ```ts
 * import http from 'node:http';
 * const server = http.createServer(createNodeHandler(health, (req, res) => app(req, res)));
 * // or, keeping control:
 * const handleHealth = createNodeHandler(health);
 * const controlled = http.createServer((req, res) => {
 *   if (handleHealth(req, res)) return;
 *   app(req, res);
 * });
 * ```
 */
export function createNodeHandler(
  health: Health,
  fallback?: (req: IncomingMessage, res: ServerResponse) => void,
): NodeHealthHandler {
  const match = createRequestMatcher(health);
  return (req, res) => {
    const request = match(req.method, req.url);
    if (request === undefined) {
      fallback?.(req, res);
      return false;
    }
    void writeAnswer(health, request, req, res);
    return true;
  };
}

async function writeAnswer(
  health: Health,
  request: HealthRequest,
  req: IncomingMessage,
  res: ServerResponse,
): Promise<void> {
  const { statusCode, json } = await answerRequest(health, request);
  if (res.headersSent || res.destroyed) return;
  res.writeHead(statusCode, { ...RESPONSE_HEADERS, 'content-length': Buffer.byteLength(json) });
  res.end(req.method === 'HEAD' ? undefined : json);
}
