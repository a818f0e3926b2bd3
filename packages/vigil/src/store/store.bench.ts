/**
 * Store write benchmark: probe results appended in batches of 100, as the hub writes them, and a
 * checkpoint of 10 000 evaluator states in batches of 250 (the hub's STATE_BATCH_SIZE). Prints, for
 * SQLite (synchronous NORMAL and FULL, temp file) and PostgreSQL (temp schema), rows/s and the CPU
 * this process spent per row (user + system: what the store's JavaScript and the driver cost the
 * hub, the figure that stays comparable on a shared machine; PostgreSQL's own CPU is not in it).
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
import type { EvalState } from '../types.js';
import {
  BENCH_CHECKS,
  RESULT_BATCH_SIZE,
  resultBatch,
  STATE_BATCH_SIZE,
  stateBatch,
} from './fixtures/bench-data.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

const postgresUrl =
  process.argv[2] ?? process.env.VIGIL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const batches = Number(process.argv[3] ?? 300);
const CHECKPOINTS = 3;

/** A checkpoint's states, in batches of {@link STATE_BATCH_SIZE}. */
function makeStates(round: number): EvalState[][] {
  return Array.from({ length: BENCH_CHECKS / STATE_BATCH_SIZE }, (_, n) => stateBatch(n, round));
}

/** Runs `write` over `units` rows and prints rows/s and CPU µs per row. */
async function timed(
  label: string,
  units: number,
  unitName: string,
  write: () => Promise<void>,
): Promise<void> {
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await write();
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const cpuUsPerRow = (cpu.user + cpu.system) / units;
  console.log(
    `${label.padEnd(36)} ${String(Math.round(units / seconds)).padStart(8)} ${unitName}/s  ${cpuUsPerRow.toFixed(2).padStart(6)} µs CPU/row  (${units} rows)`,
  );
}

async function measure(label: string, store: Store): Promise<void> {
  const prepared = Array.from({ length: batches + 1 }, (_, n) => resultBatch(n));
  await store.appendResults(prepared[batches] ?? []); // warm-up: statements prepared, caches filled
  await timed(`${label} appendResults`, batches * RESULT_BATCH_SIZE, 'inserts', async () => {
    for (let n = 0; n < batches; n++) await store.appendResults(prepared[n] ?? []);
  });
  const checkpoints = Array.from({ length: CHECKPOINTS + 1 }, (_, round) => makeStates(round));
  for (const batch of checkpoints[CHECKPOINTS] ?? []) await store.saveStates(batch); // warm-up, and every row exists
  await timed(`${label} saveStates`, CHECKPOINTS * BENCH_CHECKS, 'upserts', async () => {
    for (let round = 0; round < CHECKPOINTS; round++) {
      for (const batch of checkpoints[round] ?? []) await store.saveStates(batch);
    }
  });
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-bench-'));
try {
  for (const synchronous of ['NORMAL', 'FULL'] as const) {
    const store = await openSqliteStore(join(dir, `${synchronous}.db`), { sqlite: { synchronous } });
    await measure(`sqlite ${synchronous}`, store);
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
  await measure('postgres', store);
  await store.close();
} finally {
  await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}
