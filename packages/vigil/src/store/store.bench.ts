/**
 * Store write benchmark: probe results appended in batches of 100, as the hub writes them.
 * Prints inserts/s for SQLite (synchronous NORMAL and FULL, temp file) and PostgreSQL (temp schema).
 * Not a test: run it by hand from the repository root.
 *
 *   npx tsx packages/vigil/src/store/store.bench.ts [postgres-url] [batches]
 *
 * The target it sizes against: 10 000 checks at a 10 s interval = 1 000 results/s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { ProbeResult } from '../types.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

const postgresUrl =
  process.argv[2] ?? process.env.VIGIL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const batches = Number(process.argv[3] ?? 300);
const BATCH_SIZE = 100;
const CHECKS = 10_000;

/** A realistic mix: 95 % passes, 5 % failures with an assertion failure and an error. */
function makeBatch(n: number): ProbeResult[] {
  const batch: ProbeResult[] = [];
  for (let i = 0; i < BATCH_SIZE; i++) {
    const k = n * BATCH_SIZE + i;
    const target = `model-${k % CHECKS}`;
    const failed = k % 20 === 0;
    const result: ProbeResult = {
      checkId: `${target}/liveness`,
      target,
      check: 'liveness',
      region: k % 3 === 0 ? 'us-east' : 'eu-west',
      startedAt: 1_735_732_800_000 + k * 10,
      durationMs: 3.5 + (k % 50) / 10,
      phases: { dnsMs: 0, connectMs: 0.2, tlsMs: 0, processingMs: 3.1, transferMs: 0.1 },
      outcome: failed ? 'fail' : 'pass',
      httpStatus: failed ? 503 : 200,
      failures: failed
        ? [{ assertion: 'status', expected: ['2xx'], actual: 503, message: 'status 503 not in [2xx]' }]
        : [],
    };
    if (failed) result.error = { code: 'UNEXPECTED_STATUS', message: 'HTTP 503' };
    batch.push(result);
  }
  return batch;
}

async function measure(label: string, store: Store): Promise<void> {
  const prepared = Array.from({ length: batches + 1 }, (_, n) => makeBatch(n));
  await store.appendResults(prepared[batches] ?? []); // warm-up: statements prepared, caches filled
  const t0 = performance.now();
  for (let n = 0; n < batches; n++) await store.appendResults(prepared[n] ?? []);
  const seconds = (performance.now() - t0) / 1000;
  const rows = batches * BATCH_SIZE;
  const perSecond = Math.round(rows / seconds);
  console.log(
    `${label.padEnd(28)} ${String(perSecond).padStart(8)} inserts/s  (${rows} rows in ${batches} batches of ${BATCH_SIZE}, ${(
      (seconds * 1000) / batches
    ).toFixed(2)} ms/batch)`,
  );
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
try {
  for (const synchronous of ['NORMAL', 'FULL'] as const) {
    const store = await openSqliteStore(join(dir, `${synchronous}.db`), { sqlite: { synchronous } });
    await measure(`sqlite (synchronous=${synchronous})`, store);
    await store.close();
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const schema = `vigil_bench_${process.pid}`;
const admin = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 });
try {
  await admin.connect();
} catch (err) {
  console.log(`postgres: skipped (${postgresUrl}: ${(err as Error).message})`);
  process.exit(0);
}
try {
  const store = await openPostgresStore(postgresUrl, { postgres: { schema } });
  await measure('postgres (unnest batch)', store);
  await store.close();
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}
