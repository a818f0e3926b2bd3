/**
 * Store benchmark, paired: this checkout's store (head) against another checkout's (base), both loaded
 * in one process, their writes interleaved in short segments (head/base order alternating), the CPU of
 * each segment added to its side. Runs of `store.bench.ts` minutes apart differ by ±30 % on a shared
 * machine; here whatever slows the machine slows both sides alike, so the ratio holds still. An A/A
 * run (`--base` = this checkout) shows what is left of the noise.
 *
 * Each side writes to its own SQLite file (temp folder) and its own PostgreSQL schema: results in
 * batches of 100 (`appendResults`), states in batches of 250 (`saveStates`, after the appends, as in a
 * hub). Data is made before each segment, outside the timing. Not a test: run it by hand.
 *
 *   npx tsx packages/vigil/src/store/store-ab.bench.ts <base checkout> [rounds] [postgres-url]
 *
 * The base is another checkout of this repository whose `node_modules` resolve (e.g.
 * `git worktree add /tmp/vigil-base <commit> && (cd /tmp/vigil-base && npm ci)`); its store is
 * imported from source (`packages/vigil/src/store/`), as this one is.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import { resultBatch, stateBatch } from './fixtures/bench-data.js';
import { openPostgresStore } from './postgres.js';
import { openSqliteStore } from './sqlite.js';
import type { Store } from './types.js';

const [baseArg, roundsArg, urlArg] = process.argv.slice(2);
if (baseArg === undefined) {
  console.error('usage: store-ab.bench.ts <base checkout> [rounds] [postgres-url]');
  process.exit(2);
}
const baseStore = join(resolve(baseArg), 'packages/vigil/src/store');
const rounds = Number(roundsArg ?? 40);
const postgresUrl =
  urlArg ?? process.env.VIGIL_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
/** Calls per segment: 20 × 100 results, or 8 × 250 states. */
const SEGMENT = { append: 20, states: 8 };

type Side = 'base' | 'head';
type Open = { sqlite: typeof openSqliteStore; postgres: typeof openPostgresStore };

const head: Open = { sqlite: openSqliteStore, postgres: openPostgresStore };
const base: Open = {
  sqlite: ((await import(join(baseStore, 'sqlite.ts'))) as { openSqliteStore: Open['sqlite'] })
    .openSqliteStore,
  postgres: ((await import(join(baseStore, 'postgres.ts'))) as { openPostgresStore: Open['postgres'] })
    .openPostgresStore,
};

let resultsMade = 0;
let statesMade = 0;

/** One segment's calls on `store`, with its data made now. */
function segment(kind: 'append' | 'states', store: Store): () => Promise<void> {
  if (kind === 'append') {
    const batches = Array.from({ length: SEGMENT.append }, () => resultBatch(resultsMade++));
    return async () => {
      for (const b of batches) await store.appendResults(b);
    };
  }
  const batches = Array.from({ length: SEGMENT.states }, () => stateBatch(statesMade++));
  return async () => {
    for (const b of batches) await store.saveStates(b);
  };
}

async function compare(label: string, kind: 'append' | 'states', stores: Record<Side, Store>): Promise<void> {
  const cpu = { base: 0, head: 0 };
  const ratios: number[] = [];
  for (const side of ['base', 'head'] as const) await segment(kind, stores[side])(); // warm-up
  for (let r = 0; r < rounds; r++) {
    const order: Side[] = r % 2 === 0 ? ['base', 'head'] : ['head', 'base'];
    const got = { base: 0, head: 0 };
    for (const side of order) {
      const run = segment(kind, stores[side]);
      const before = process.cpuUsage();
      await run();
      const spent = process.cpuUsage(before);
      got[side] = spent.user + spent.system;
      cpu[side] += got[side];
    }
    ratios.push(got.head / got.base);
  }
  ratios.sort((a, b) => a - b);
  const rows = rounds * (kind === 'append' ? SEGMENT.append * 100 : SEGMENT.states * 250);
  console.log(
    `${label.padEnd(24)} CPU µs/row base ${(cpu.base / rows).toFixed(2)}  head ${(cpu.head / rows).toFixed(2)}  head/base ${(cpu.head / cpu.base).toFixed(3)}  (median of ${rounds} paired segments ${ratios[rounds >> 1]?.toFixed(3)})`,
  );
}

console.log(`base: ${baseStore}\nhead: ${import.meta.dirname}`);
const dir = mkdtempSync(join(tmpdir(), 'vigil-store-ab-'));
try {
  const stores = {
    base: await base.sqlite(join(dir, 'base.db')),
    head: await head.sqlite(join(dir, 'head.db')),
  };
  await compare('sqlite appendResults', 'append', stores);
  await compare('sqlite saveStates', 'states', stores);
  await stores.base.close();
  await stores.head.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}

const admin = new pg.Client({ connectionString: postgresUrl, connectionTimeoutMillis: 3000 });
try {
  await admin.connect();
} catch (err) {
  console.log(`postgres: skipped (${postgresUrl}: ${(err as Error).message})`);
  process.exit(0);
}
const schemas = { base: `vigil_ab_base_${process.pid}`, head: `vigil_ab_head_${process.pid}` };
try {
  const stores = {
    base: await base.postgres(postgresUrl, { postgres: { schema: schemas.base } }),
    head: await head.postgres(postgresUrl, { postgres: { schema: schemas.head } }),
  };
  await compare('postgres appendResults', 'append', stores);
  await compare('postgres saveStates', 'states', stores);
  await stores.base.close();
  await stores.head.close();
} finally {
  for (const schema of Object.values(schemas)) await admin.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await admin.end();
}
