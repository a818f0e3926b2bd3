import type { Health } from './health.js';
import { answerRequest, isVerboseUrl, RESPONSE_HEADERS } from './routes.js';

/**
 * The part of a Fastify reply the plugin uses (structural, so this package needs no Fastify dependency).
 *
 * @example
 * ```ts
 * const send = (reply: FastifyReplyLike) => reply.code(503).headers({ 'cache-control': 'no-store' }).send('{}');
 * ```
 */
export interface FastifyReplyLike {
  code(statusCode: number): FastifyReplyLike;
  headers(values: Record<string, string>): FastifyReplyLike;
  send(payload?: unknown): FastifyReplyLike;
}

/**
 * The part of a Fastify instance the plugin uses.
 *
 * @example
 * ```ts
 * const plugin = createFastifyPlugin(health);
 * await plugin(app as FastifyInstanceLike, {}); // what app.register(plugin) does
 * ```
 */
export interface FastifyInstanceLike {
  route(options: {
    method: string;
    url: string;
    handler: (request: { method: string; url: string }, reply: FastifyReplyLike) => Promise<FastifyReplyLike>;
  }): unknown;
}

/**
 * Options Fastify passes to the plugin; `prefix` is honoured although the plugin skips encapsulation
 * (Fastify itself ignores `prefix` for such plugins).
 *
 * @example
 * ```ts
 * await app.register(createFastifyPlugin(health), { prefix: '/ops' } satisfies FastifyHealthPluginOptions);
 * ```
 */
export interface FastifyHealthPluginOptions {
  prefix?: string;
}

/**
 * A Fastify plugin function.
 *
 * @example
 * ```ts
 * const plugin: FastifyHealthPlugin = createFastifyPlugin(health);
 * await app.register(plugin);
 * ```
 */
export type FastifyHealthPlugin = (
  instance: FastifyInstanceLike,
  options: FastifyHealthPluginOptions,
) => Promise<void>;

/**
 * A Fastify 5 plugin serving `health.routes` (GET; Fastify adds HEAD). It behaves like a plugin wrapped
 * in `fastify-plugin`, without the dependency: `Symbol.for('skip-override')` makes Fastify register the
 * routes in the context the plugin is registered in (so that context's hooks, e.g. auth, apply as the
 * caller expects) instead of a new child context, and `Symbol.for('plugin-meta')` names it and declares
 * the Fastify 5 requirement.
 *
 * @example
 * ```ts
 * import Fastify from 'fastify';
 * const app = Fastify();
 * await app.register(createFastifyPlugin(health));
 * await app.listen({ port: 8080 });
 * ```
 */
export function createFastifyPlugin(health: Health): FastifyHealthPlugin {
  async function vigilServeHealth(instance: FastifyInstanceLike, options: FastifyHealthPluginOptions) {
    const prefix = options.prefix ?? '';
    for (const { path, check } of health.routes) {
      instance.route({
        method: 'GET',
        url: prefix + path,
        async handler(request, reply) {
          const { statusCode, json } = await answerRequest(health, {
            check,
            verbose: isVerboseUrl(request.url),
          });
          return reply.code(statusCode).headers(RESPONSE_HEADERS).send(json);
        },
      });
    }
  }
  return Object.assign(vigilServeHealth, {
    [Symbol.for('skip-override')]: true,
    [Symbol.for('fastify.display-name')]: 'vigil-ml-serve',
    [Symbol.for('plugin-meta')]: { name: 'vigil-ml-serve', fastify: '5.x' },
  });
}
