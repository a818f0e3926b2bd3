/**
 * The agents' side of the hub (`vigil agent`, `src/agent/`):
 *
 * - `GET /api/v1/agent/checks?region=&shard=i/n` (the region's bearer token): the checks the region
 *   runs (its shard: a hash of the check id, as Prometheus' hashmod), as it runs them; `ETag` on the
 *   plan, `If-None-Match` → 304, so an agent polls cheaply and a config change reaches it on its next poll.
 * - `POST /api/v1/agent/results?region=` (the region's bearer token; body JSON, `Content-Encoding:
 *   gzip` or none): `{batchId, sentAt, spoolDepth?, dropped?, results: [{id, …ProbeResult}]}`. The whole
 *   batch is checked before anything is taken in: a wrong token is 401, an unknown region 403, a body
 *   over `maxBatchBytes` (decompressed) 413, a malformed one 400, a result of another region or of a
 *   check the region does not run 422 (a forged batch) — nothing of a refused batch is ingested, and
 *   each refusal is logged. Then the hub takes the batch in (`Hub.ingestRemote`): each result is
 *   stored with its id's claim in one store transaction (`Store.ingestResults`), the new ones are
 *   evaluated in the order sent, ids seen before are acknowledged but not taken in again (a replay).
 *   The answer `{accepted, replayed, receivedAt, answeredAt}` (the hub's clock: the agent estimates
 *   its clock offset from them, `agent/clock.ts`) is sent only once they are durable: a hub killed
 *   after answering has every acknowledged result stored, one killed before has claimed none of
 *   them, so the agent's re-send is taken in. A hub not running answers 503 (the agent retries).
 * - `GET /api/v1/agents`: `{agents: AgentStatus[]}`: last report, lag, spool depth, drops, clock offset.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { parseShard } from '../../config/regions.js';
import type { ProbeResult } from '../../types.js';
import type { ApiContext } from '../context.js';

/** One result of an agent's batch: a ProbeResult with the id the hub ingests it once by. */
export type AgentResult = ProbeResult & { id: string };

/** What an agent posts. */
export interface AgentBatch {
  batchId: string;
  /** The agent's clock when it sent the batch, ms since epoch. */
  sentAt: number;
  spoolDepth?: number;
  dropped?: number;
  /**
   * The agent's estimate of the hub's clock minus its own, ms, from its previous acknowledged batch
   * (NTP's offset from `sentAt`, the answer's `receivedAt` and `answeredAt`, and its receive time).
   */
  clockOffsetMs?: number;
  results: AgentResult[];
}

/** Options of `agentRoutes`. */
export interface AgentRouteOptions {
  /** The token of `region`'s agents; undefined: no such region. */
  tokenOf: (region: string) => string | undefined;
  /** Largest batch, decompressed, in bytes. Default 4 MiB. */
  maxBatchBytes?: number;
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
}

/** Default {@link AgentRouteOptions.maxBatchBytes}: 4 MiB. */
export const DEFAULT_MAX_BATCH_BYTES = 4 * 1024 * 1024;

const BEARER = /^bearer[ \t]+(\S+)[ \t]*$/i;
const OUTCOMES = new Set(['pass', 'degraded', 'fail']);
const digest = (value: string) => createHash('sha256').update(value).digest();

/** Registers the agent routes (see the module comment). */
export function agentRoutes(app: FastifyInstance, { hub }: ApiContext, options: AgentRouteOptions): void {
  const maxBytes = options.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES;
  const log = options.log ?? (() => {});

  app.get('/api/v1/agents', async () => ({ agents: hub.agents?.() ?? [] }));

  /** The region asked for, authenticated; undefined when the reply is sent (refused). */
  function authenticate(request: FastifyRequest, reply: FastifyReply): string | undefined {
    const region = (request.query as { region?: string }).region;
    const token = region === undefined ? undefined : options.tokenOf(region);
    if (region === undefined || token === undefined || hub.isAgentRegion?.(region) !== true) {
      log('warn', `agent request refused: unknown region ${JSON.stringify(region ?? '')}`, {
        ip: request.ip,
      });
      void reply
        .code(403)
        .send({ error: `unknown agent region ${JSON.stringify(region ?? '')}: not in agents.regions` });
      return undefined;
    }
    const presented = BEARER.exec(request.headers.authorization ?? '')?.[1];
    if (presented === undefined || !timingSafeEqual(digest(presented), digest(token))) {
      log('warn', `agent request refused: wrong token for region ${region}`, { region, ip: request.ip });
      void reply
        .code(401)
        .header('www-authenticate', 'Bearer realm="vigil-agent"')
        .send({ error: 'missing or invalid bearer token' });
      return undefined;
    }
    return region;
  }

  app.get<{ Querystring: { region?: string; shard?: string } }>(
    '/api/v1/agent/checks',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: { region: { type: 'string' }, shard: { type: 'string' } },
        },
      },
    },
    async (request, reply) => {
      const region = authenticate(request, reply);
      if (region === undefined) return reply;
      const shardText = request.query.shard;
      const shard = shardText === undefined ? undefined : parseShard(shardText);
      if (shardText !== undefined && shard === undefined)
        return reply
          .code(400)
          .send({ error: `invalid shard ${JSON.stringify(shardText)}: expected i/n with 1 ≤ i ≤ n` });
      // Canaries need the hub's baselines (its store) and traffic checks a router: agents run the rest.
      const checks = (hub.plansFor?.(region, shard) ?? [])
        .filter((p) => p.kind !== 'canary')
        .map(({ actions: _actions, ...p }) => p);
      const body = JSON.stringify({ region, checks });
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      if (request.headers['if-none-match'] === etag) return reply.code(304).header('etag', etag).send();
      return reply.header('etag', etag).type('application/json').send(body);
    },
  );

  void app.register(async (scope) => {
    // Read raw (gzip or not) up to the compressed cap; decompressed with its own cap below.
    scope.removeContentTypeParser('application/json');
    scope.addContentTypeParser(
      'application/json',
      { parseAs: 'buffer', bodyLimit: maxBytes },
      (_req, body, done) => done(null, body),
    );
    scope.addHook('onRequest', async (request, reply) => {
      if (authenticate(request, reply) === undefined) return reply;
    });
    // Fastify's own 413 (a body over the cap before decompression) logs here too.
    scope.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
      const status = error.statusCode ?? 500;
      if (status === 413)
        log('warn', 'agent batch refused: too large', {
          region: (request.query as { region?: string }).region,
        });
      return reply
        .code(status)
        .send({ error: status === 413 ? `batch over ${maxBytes} bytes` : error.message });
    });
    scope.post<{ Querystring: { region: string } }>('/api/v1/agent/results', async (request, reply) => {
      const region = request.query.region;
      const receivedAt = Date.now();
      const refuse = (status: number, error: string) => {
        log('warn', `agent batch from ${region} refused (${status}): ${error}`, { region });
        return reply.code(status).send({ error });
      };
      let text: Buffer = request.body as Buffer;
      if (/gzip/i.test(String(request.headers['content-encoding'] ?? ''))) {
        try {
          text = gunzipSync(text, { maxOutputLength: maxBytes });
        } catch (err) {
          return (err as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE' || err instanceof RangeError
            ? refuse(413, `batch over ${maxBytes} bytes once decompressed`)
            : refuse(400, `body is not gzip: ${(err as Error).message}`);
        }
      }
      let batch: AgentBatch;
      try {
        batch = JSON.parse(text.toString('utf8')) as AgentBatch;
      } catch (err) {
        return refuse(400, `body is not JSON: ${(err as Error).message}`);
      }
      const problem = batchProblem(batch);
      if (problem !== undefined) return refuse(400, problem);
      const assigned = new Set((hub.plansFor?.(region) ?? []).map((p) => p.id));
      const forged = batch.results.find((r) => r.region !== region || !assigned.has(r.checkId));
      if (forged !== undefined)
        return refuse(
          422,
          forged.region !== region
            ? `result ${forged.id} is of region ${JSON.stringify(forged.region)}, not ${region}: nothing of the batch is ingested`
            : `result ${forged.id} is of check ${JSON.stringify(forged.checkId)}, which region ${region} does not run: nothing of the batch is ingested`,
        );
      const ingest = await hub.ingestRemote?.(region, {
        batchId: batch.batchId,
        receivedAt,
        results: batch.results,
      });
      if (ingest === undefined) {
        log('warn', `agent batch from ${region} not taken: the hub is not running`, { region });
        return reply.code(503).send({ error: 'the hub is not running: send the batch again later' });
      }
      const { accepted, replayed, newestEnd } = ingest;
      if (replayed > 0)
        log(
          'info',
          `agent batch ${batch.batchId} from ${region}: ${replayed} results seen before, not ingested again`,
          { region },
        );
      hub.agentReport?.(
        region,
        {
          sentAt: batch.sentAt,
          ...(batch.spoolDepth !== undefined && { spoolDepth: batch.spoolDepth }),
          ...(batch.dropped !== undefined && { dropped: batch.dropped }),
          ...(batch.clockOffsetMs !== undefined && { clockOffsetMs: batch.clockOffsetMs }),
        },
        receivedAt,
        { results: accepted, replayed, lagMs: newestEnd === null ? null : receivedAt - newestEnd },
      );
      // `answeredAt` as late as the handler can take it: the agent's clock estimate needs it.
      return { accepted, replayed, receivedAt, answeredAt: Date.now() };
    });
  });
}

/** What is wrong with a batch's shape, or undefined. */
function batchProblem(batch: unknown): string | undefined {
  if (batch === null || typeof batch !== 'object') return 'expected an object {batchId, sentAt, results}';
  const b = batch as Record<string, unknown>;
  if (typeof b.batchId !== 'string' || b.batchId === '' || b.batchId.length > 200)
    return 'batchId: expected a string of 1–200 characters';
  if (typeof b.sentAt !== 'number' || !Number.isFinite(b.sentAt)) return 'sentAt: expected ms since epoch';
  if (
    b.clockOffsetMs !== undefined &&
    (typeof b.clockOffsetMs !== 'number' || !Number.isFinite(b.clockOffsetMs))
  )
    return 'clockOffsetMs: expected a number of ms';
  if (!Array.isArray(b.results)) return 'results: expected a list';
  const ids = new Set<string>();
  for (const [i, r] of b.results.entries()) {
    if (r === null || typeof r !== 'object') return `results[${i}]: expected an object`;
    const x = r as Record<string, unknown>;
    if (typeof x.id !== 'string' || x.id === '' || x.id.length > 200)
      return `results[${i}].id: expected a string of 1–200 characters`;
    if (ids.has(x.id)) return `results[${i}].id: ${x.id} appears twice in the batch`;
    ids.add(x.id);
    if (
      typeof x.checkId !== 'string' ||
      typeof x.region !== 'string' ||
      typeof x.target !== 'string' ||
      typeof x.check !== 'string'
    )
      return `results[${i}]: checkId, target, check and region must be strings`;
    if (typeof x.startedAt !== 'number' || typeof x.durationMs !== 'number' || !Number.isFinite(x.startedAt))
      return `results[${i}]: startedAt and durationMs must be numbers`;
    if (typeof x.outcome !== 'string' || !OUTCOMES.has(x.outcome))
      return `results[${i}].outcome: expected pass, degraded or fail`;
    if (!Array.isArray(x.failures) || x.phases === null || typeof x.phases !== 'object')
      return `results[${i}]: failures (a list) and phases (an object) are required`;
    // Stored and shown as sentences by the API and the dashboard's check page.
    if (x.notes !== undefined && (!Array.isArray(x.notes) || !x.notes.every((n) => typeof n === 'string')))
      return `results[${i}].notes: expected a list of strings`;
    // Shown by the dashboard's check page (a metrics check's server signals).
    if (
      x.readings !== undefined &&
      (!Array.isArray(x.readings) ||
        !x.readings.every(
          (g) =>
            g !== null &&
            typeof g === 'object' &&
            typeof g.name === 'string' &&
            (g.value === null || typeof g.value === 'number'),
        ))
    )
      return `results[${i}].readings: expected a list of { name, value } with value a number or null`;
  }
  return undefined;
}
