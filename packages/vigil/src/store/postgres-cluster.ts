/**
 * Hub membership and shard leases on PostgreSQL (`vigil run --cluster`): the tables of migration 8,
 * `cluster_hubs` (one row per hub, its heartbeat) and `cluster_shards` (one row per shard, its owner
 * and lease). Every time is the database's `now()`, so the hubs' clocks never decide who holds what.
 *
 * A tick is two statements (heartbeat and live hubs; release, renew and take), on connections of its
 * own (a pool of 2) with a client-side query timeout: a hub cut
 * from the database gets a rejected tick after `queryTimeoutMs`, not a promise that never settles,
 * and its results and states queued on the main pool never delay a lease renewal.
 */
import pg from 'pg';
import type { ClusterLeases, ClusterTickInput, ClusterTickResult } from './types.js';

/** Hub rows whose heartbeat is older than this are deleted by the next tick of any hub. */
const FORGET_HUB_AFTER_MS = 60 * 60_000;

/** Options of {@link createPostgresClusterLeases}. */
export interface PostgresClusterOptions {
  connectionString: string;
  /** `search_path` of the store's schema, when it has one. */
  schema?: string;
  /** A tick that takes longer rejects (client side; the connection is discarded). */
  queryTimeoutMs: number;
}

/** Opens the cluster's own small pool lazily: a hub that never joins a cluster opens no connection. */
export function createPostgresClusterLeases(options: PostgresClusterOptions): ClusterLeases {
  let pool: pg.Pool | undefined;
  const poolOf = (): pg.Pool => {
    if (pool === undefined) {
      pool = new pg.Pool({
        connectionString: options.connectionString,
        max: 2,
        connectionTimeoutMillis: options.queryTimeoutMs,
        query_timeout: options.queryTimeoutMs,
        application_name: 'vigil-cluster',
        ...(options.schema === undefined ? {} : { options: `-c search_path=${options.schema}` }),
      });
      pool.on('error', () => {});
    }
    return pool;
  };

  async function tx<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await poolOf().connect();
    try {
      await client.query('BEGIN');
      const result = await fn(client);
      await client.query('COMMIT');
      client.release();
      return result;
    } catch (err) {
      // A timed-out or broken connection is not reused: its session (and transaction) ends with it.
      client.release(true);
      throw err;
    }
  }

  return {
    // Two statements, each atomic on its own and one round trip: no row lock is held while this
    // process computes (or stalls) between them, so a slow hub never delays another's tick.
    async tick(input: ClusterTickInput): Promise<ClusterTickResult> {
      const leaseSeconds = input.leaseMs / 1000;
      const live = (
        await poolOf().query<{ id: string }>(
          `WITH beat AS (
             INSERT INTO cluster_hubs (id, url, started_at, heartbeat_at) VALUES ($1, $2, now(), now())
             ON CONFLICT (id) DO UPDATE SET heartbeat_at = now(), url = EXCLUDED.url
             RETURNING id
           ), forgotten AS (
             DELETE FROM cluster_hubs WHERE heartbeat_at < now() - make_interval(secs => $4)
           )
           SELECT id FROM cluster_hubs WHERE heartbeat_at > now() - make_interval(secs => $3)
           UNION SELECT id FROM beat ORDER BY id`,
          [input.hubId, input.url, leaseSeconds, FORGET_HUB_AFTER_MS / 1000],
        )
      ).rows.map((r) => r.id);
      const wanted = [...input.want(live)];
      // A data-modifying WITH runs whether or not the query reads it. The SET expressions read the row as it was: the epoch counts changes of owner. Released and
      // claimed rows are disjoint (a released shard is not wanted).
      const { rows } = await poolOf().query<{ shard: number | null; ms: number | null }>(
        `WITH released AS (
           UPDATE cluster_shards SET owner = NULL, lease_until = NULL
            WHERE owner = $1 AND NOT (shard = ANY($2::int[])) RETURNING shard
         ), claimed AS (
           UPDATE cluster_shards
              SET epoch = CASE WHEN owner = $1 THEN epoch ELSE epoch + 1 END,
                  owner = $1, lease_until = now() + make_interval(secs => $3)
            WHERE shard = ANY($2::int[]) AND (owner = $1 OR owner IS NULL OR lease_until <= now())
            RETURNING shard
         )
         SELECT shard, NULL::float8 AS ms FROM claimed
         UNION ALL
         SELECT NULL, (extract(epoch FROM min(lease_until) - now()) * 1000)::float8 FROM cluster_shards
          WHERE shard = ANY($2::int[]) AND owner <> $1 AND lease_until > now()`,
        [input.hubId, wanted, leaseSeconds],
      );
      const held: number[] = [];
      let nextExpiryMs: number | null = null;
      for (const r of rows) {
        if (r.shard !== null) held.push(r.shard);
        else if (r.ms !== null) nextExpiryMs = Math.max(0, r.ms);
      }
      held.sort((a, b) => a - b);
      return { live, held, nextExpiryMs };
    },
    leave: (hubId) =>
      tx(async (c) => {
        await c.query('UPDATE cluster_shards SET owner = NULL, lease_until = NULL WHERE owner = $1', [hubId]);
        await c.query('DELETE FROM cluster_hubs WHERE id = $1', [hubId]);
      }),
    async owners() {
      const { rows } = await poolOf().query<{ shard: number; owner: string }>(
        'SELECT shard, owner FROM cluster_shards WHERE owner IS NOT NULL AND lease_until > now()',
      );
      return new Map(rows.map((r) => [r.shard, r.owner]));
    },
    async close() {
      await pool?.end();
      pool = undefined;
    },
  };
}
