/**
 * Benchmark: `Store.ingestResults` on PostgreSQL, one statement per batch against one per result
 * (issue 21), side by side in one run.
 *
 * "per result" is the statements the store ran before: in one transaction (BEGIN … COMMIT on one
 * connection), per result `WITH claimed AS (INSERT INTO ingested_results … ON CONFLICT (id) DO
 * NOTHING RETURNING id) INSERT INTO results … SELECT … FROM claimed`, one round trip each. "batch" is
 * the store's `ingestResults` now: one `unnest` statement for the batch. Both write the same tables
 * (a fresh schema, dropped at the end), closed loop (the next batch once the last is committed), fresh
 * ids, batches of `--batch`, alternating `--rounds` times for `--seconds` each, so drift in the
 * machine's load hits both. A last pass replays batches already taken (every id found claimed).
 *
 *   nice -n 19 node --conditions=source --import tsx bench/src/agent-ingest-pg.ts \
 *     [--url postgres://postgres@127.0.0.1:5432/test] [--batch 500] [--seconds 5] [--rounds 3]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { openStore } from 'vigil-ml';
import { type PushedResult, syntheticResult } from './agent-results.js';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    url: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    batch: { type: 'string', default: '500' },
    seconds: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '3' },
  },
});
const batchSize = Number(values.batch);
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const schema = `bench_ingest_${process.pid}`;
const load = () =>
  loadavg()
    .map((l) => l.toFixed(1))
    .join(' ');

let next = 0;
function batchOf(region: string): PushedResult[] {
  const now = Date.now();
  return Array.from({ length: batchSize }, () => syntheticResult(region, next++, 1000, now));
}

/** The store's statement per result before this change (queries.ts `claimResult`, PostgreSQL). */
const PER_RESULT = `WITH claimed AS (
    INSERT INTO ingested_results (id, region, batch_id, received_at) VALUES ($1, $2, $3, $4)
    ON CONFLICT (id) DO NOTHING RETURNING id)
  INSERT INTO results (check_id, region, started_at, duration_ms, outcome, http_status, error_code, model_version, detail)
  SELECT $5::text, $6::text, $7::bigint, $8::float8, $9::text, $10::int, $11::text, $12::text, $13::json FROM claimed`;

async function perResult(
  pool: pg.Pool,
  region: string,
  batchId: string,
  results: PushedResult[],
): Promise<number> {
  const client = await pool.connect();
  let taken = 0;
  try {
    await client.query('BEGIN');
    for (const r of results) {
      const detail = JSON.stringify({
        target: r.target,
        check: r.check,
        phases: r.phases,
        failures: r.failures,
      });
      const res = await client.query(PER_RESULT, [
        r.id,
        region,
        batchId,
        Date.now(),
        r.checkId,
        r.region,
        r.startedAt,
        r.durationMs,
        r.outcome,
        r.httpStatus ?? null,
        null,
        null,
        detail,
      ]);
      taken += res.rowCount ?? 0;
    }
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  return taken;
}

async function main(): Promise<void> {
  const admin = new pg.Client({ connectionString: values.url });
  await admin.connect();
  const store = await openStore(values.url, { postgres: { schema } });
  const pool = new pg.Pool({ connectionString: values.url, options: `-c search_path=${schema}`, max: 2 });
  console.log(
    `# ingestResults on PostgreSQL, batch ${batchSize}, ${seconds} s per run; load ${load()} at start`,
  );
  console.log('\n| round | per result: results/s | batch: results/s | ratio | load |');
  console.log('| ---: | ---: | ---: | ---: | --- |');
  const ratios: number[] = [];
  const taken: PushedResult[][] = [];
  try {
    // Warm-up: connections open, statements planned.
    await perResult(pool, 'warm', 'w1', batchOf('warm'));
    await store.ingestResults({
      region: 'warm',
      batchId: 'w2',
      receivedAt: Date.now(),
      results: batchOf('warm'),
    });
    for (let round = 1; round <= rounds; round++) {
      const rate = async (ingest: (results: PushedResult[], batchId: string) => Promise<number>) => {
        let count = 0;
        let seq = 0;
        const t0 = performance.now();
        const until = Date.now() + seconds * 1000;
        while (Date.now() < until) {
          const results = batchOf('r1');
          const n = await ingest(results, `b${round}-${seq++}`);
          if (n !== results.length) throw new Error(`took ${n} of ${results.length} fresh results`);
          if (taken.length < 4) taken.push(results);
          count += n;
        }
        return count / ((performance.now() - t0) / 1000);
      };
      const before = await rate((results, batchId) => perResult(pool, 'r1', batchId, results));
      const after = await rate(
        async (results, batchId) =>
          (await store.ingestResults({ region: 'r1', batchId, receivedAt: Date.now(), results })).length,
      );
      ratios.push(after / before);
      console.log(
        `| ${round} | ${Math.round(before)} | ${Math.round(after)} | ${(after / before).toFixed(1)}x | ${load()} |`,
      );
    }
    // Replays: every id already claimed, nothing stored.
    let replayed = 0;
    const t0 = performance.now();
    for (const results of taken) {
      const n = await store.ingestResults({
        region: 'r1',
        batchId: 'replay',
        receivedAt: Date.now(),
        results,
      });
      if (n.length !== 0) throw new Error(`a replay took ${n.length} ids again`);
      replayed += results.length;
    }
    console.log(
      `\nmedian ratio batch / per result: ${median(ratios).toFixed(1)}x; replays (every id taken): ${Math.round(
        replayed / ((performance.now() - t0) / 1000),
      )} results/s checked, none taken again; load ${load()} at end`,
    );
  } finally {
    await store.close();
    await pool.end();
    await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    await admin.end();
  }
}

await main();
