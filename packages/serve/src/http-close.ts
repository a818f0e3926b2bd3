import type { Server } from 'node:http';
import { VigilServeError } from './errors.js';

/**
 * Options of {@link closeHttpServer}.
 *
 * @example
 * ```ts
 * const options: CloseHttpServerOptions = { timeoutMs: 8000 };
 * ```
 */
export interface CloseHttpServerOptions {
  /**
   * Milliseconds to wait for in-flight requests before the remaining connections are destroyed.
   * Default 10 000 (the default `shutdown.timeoutMs`).
   */
  timeoutMs?: number;
}

/**
 * The part of a node:http (or https) server {@link closeHttpServer} uses.
 *
 * @example
 * ```ts
 * const server: ClosableHttpServer = http.createServer(handler);
 * ```
 */
export type ClosableHttpServer = Pick<Server, 'close' | 'closeIdleConnections' | 'closeAllConnections'>;

// How often idle keep-alive connections are swept while in-flight requests finish.
const SWEEP_INTERVAL_MS = 20;

/**
 * Closes a node:http server gracefully: stops accepting connections, closes idle keep-alive connections
 * (also those that become idle as their in-flight request finishes, which `server.close()` alone leaves
 * open until their keep-alive timeout), and resolves once every in-flight request has been answered.
 * After `timeoutMs` the remaining connections are destroyed and the promise rejects. Use it as
 * `shutdown.close` in `createHealth`.
 *
 * @throws {VigilServeError} `VIGIL_ERR_SERVE_CLOSE_TIMEOUT` (as a rejection) when requests were still in
 *   flight after `timeoutMs`; their connections are destroyed.
 * @example
 * ```ts
 * const health = createHealth({ shutdown: { close: () => closeHttpServer(server, { timeoutMs: 8000 }) } });
 * const server = http.createServer(createNodeHandler(health, app));
 * ```
 */
export function closeHttpServer(
  server: ClosableHttpServer,
  { timeoutMs = 10_000 }: CloseHttpServerOptions = {},
) {
  return new Promise<void>((resolve, reject) => {
    const sweep = setInterval(() => server.closeIdleConnections(), SWEEP_INTERVAL_MS);
    const deadline = setTimeout(() => {
      server.closeAllConnections();
      finish(
        new VigilServeError(
          'VIGIL_ERR_SERVE_CLOSE_TIMEOUT',
          `requests were still in flight ${timeoutMs} ms after the server started closing; their connections were destroyed`,
        ),
      );
    }, timeoutMs);
    let isFinished = false;
    function finish(error?: Error) {
      if (isFinished) return;
      isFinished = true;
      clearInterval(sweep);
      clearTimeout(deadline);
      if (error) reject(error);
      else resolve();
    }
    server.close((error) => {
      // A server that was not listening is as closed as it gets.
      const isNotRunning = (error as NodeJS.ErrnoException | undefined)?.code === 'ERR_SERVER_NOT_RUNNING';
      finish(error && !isNotRunning ? error : undefined);
    });
    server.closeIdleConnections();
  });
}
