import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyReply, FastifyRequest, onRequestAsyncHookHandler } from 'fastify';

/** `Authorization: Bearer <token>` (the scheme is case-insensitive, RFC 7235). */
const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * An `onRequest` hook guarding a mutating route with `Authorization: Bearer <token>` (RFC 6750).
 *
 * - no token configured (`undefined` or `''`): every request gets **403**
 *   `{error: "the API token is not configured"}`: mutations stay off until an operator sets one;
 * - header missing, not Bearer, or a wrong token: **401** `{error: "missing or invalid bearer token"}`
 *   with `WWW-Authenticate: Bearer realm="vigil"`.
 *
 * The comparison is constant-time: both tokens are hashed with SHA-256 and the digests compared with
 * `crypto.timingSafeEqual`, so neither the content nor the length of the token leaks through timing.
 *
 * @example
 * ```ts
 * app.delete('/api/v1/silences/:id', { onRequest: requireToken(process.env.VIGIL_API_TOKEN) }, expireSilence);
 * ```
 */
export function requireToken(token: string | undefined): onRequestAsyncHookHandler {
  if (token === undefined || token === '') {
    return async (_request: FastifyRequest, reply: FastifyReply) =>
      reply.code(403).send({ error: 'the API token is not configured' });
  }
  const expected = digest(token);
  return async (request: FastifyRequest, reply: FastifyReply) => {
    const presented = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (presented !== undefined && timingSafeEqual(digest(presented), expected)) return;
    return reply
      .code(401)
      .header('www-authenticate', 'Bearer realm="vigil"')
      .send({ error: 'missing or invalid bearer token' });
  };
}
