/**
 * Hub cluster takeover (issue 22): two `vigil run --cluster` hubs on one PostgreSQL share N liveness
 * checks of the example model server; one hub (the one holding more shards) is SIGKILLed, and the
 * bench measures, per kill:
 * - takeover: kill → the surviving hub holds all 256 shards (polled in `cluster_shards` every 50 ms);
 * - resumed: kill → every check of the dead hub has a stored result started after the kill.
 * A fresh hub then joins and the next kill follows once both hold shards. Median and max over the runs.
 *
 * The store is a schema of its own in the given database (dropped at the end); hubs run from the TS
 * sources (tsx), as the tests run them.
 *
 *   npx tsx bench/src/hub-cluster.ts [--db postgres://postgres@127.0.0.1:5432/test] [--runs 3] [--checks 20]
 *     [--lease 10s]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createModelServer } from '@vigil/example-model-server';
import pg from 'pg';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    db: { type: 'string', default: 'postgres://postgres@127.0.0.1:5432/test' },
    runs: { type: 'string', default: '3' },
    checks: { type: 'string', default: '20' },
    lease: { type: 'string', default: '10s' },
  },
});
const RUNS = Number(values.runs);
const CHECKS = Number(values.checks);
const SCHEMA = `vigil_cluster_bench_${process.pid}`;
const BIN = fileURLToPath(new URL('../../packages/vigil/src/cli/bin.ts', import.meta.url));
const dbUrl = values.db as string;
const hubUrl = `${dbUrl}${dbUrl.includes('?') ? '&' : '?'}options=${encodeURIComponent(`-c search_path=${SCHEMA}`)}`;

async function sql<R extends pg.QueryResultRow>(text: string, params: unknown[] = []): Promise<R[]> {
  const c = new pg.Client({ connectionString: dbUrl });
  await c.connect();
  try {
    return (await c.query<R>(text, params)).rows;
  } finally {
    await c.end();
  }
}

async function owners(): Promise<Map<string, number>> {
  const rows = await sql<{ owner: string; n: string }>(
    `SELECT owner, count(*) AS n FROM ${SCHEMA}.cluster_shards WHERE owner IS NOT NULL AND lease_until > now() GROUP BY owner`,
  ).catch(() => []);
  return new Map(rows.map((r) => [r.owner, Number(r.n)]));
}

interface Hub {
  child: ChildProcess;
  id: string;
}

function startHub(file: string): Promise<Hub> {
  const child = spawn(
    process.execPath,
    [
      '--conditions=source',
      '--import',
      'tsx',
      BIN,
      'run',
      '-c',
      file,
      '--port',
      '0',
      '--store',
      hubUrl,
      '--cluster',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  return new Promise((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = out.match(/"hubId":"([^"]+)"[^\n]*vigil hub running/);
      if (m) resolve({ child, id: m[1] as string });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', () => reject(new Error(`hub exited:\n${out}`)));
  });
}

async function until(what: string, fn: () => Promise<boolean>, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const model = await createModelServer({ models: ['credit-scorer'], warmupInferences: 1 });
const modelUrl = await model.listen();
const dir = mkdtempSync(join(tmpdir(), 'vigil-cluster-bench-'));
const file = join(dir, 'vigil.yaml');
writeFileSync(
  file,
  `defaults: { interval: 1s, timeout: 800ms }
cluster: { leaseDuration: ${values.lease} }
targets:
${Array.from({ length: CHECKS }, (_, i) => `  - { name: m${i}, url: ${modelUrl}, protocol: oip-v2, model: credit-scorer, checks: { liveness: {} } }`).join('\n')}
`,
);
await sql(`CREATE SCHEMA ${SCHEMA}`);
const hubs: Hub[] = [];
const takeovers: number[] = [];
const resumes: number[] = [];
try {
  hubs.push(...(await Promise.all([startHub(file), startHub(file)])));
  for (let run = 0; run < RUNS; run++) {
    await until('two hubs holding shards', async () => (await owners()).size === 2);
    // Settle: the hub that just joined has probed its checks.
    await new Promise((r) => setTimeout(r, 3000));
    const held = [...(await owners())].sort((a, b) => b[1] - a[1]);
    const victim = hubs.find((h) => h.id === held[0]?.[0]) as Hub;
    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    hubs.splice(hubs.indexOf(victim), 1);
    await until('one hub holds every shard', async () => {
      const o = await owners();
      return o.size === 1 && [...o.values()][0] === 256;
    });
    takeovers.push(Date.now() - killedAt);
    await until('every check probed after the kill', async () => {
      const rows = await sql<{ n: string }>(
        `SELECT count(DISTINCT check_id) AS n FROM ${SCHEMA}.results WHERE started_at > $1`,
        [killedAt],
      );
      return Number(rows[0]?.n) === CHECKS;
    });
    const last = await sql<{ t: number }>(
      `SELECT max(first)::float8 AS t FROM (SELECT min(started_at) AS first FROM ${SCHEMA}.results WHERE started_at > $1 GROUP BY check_id) f`,
      [killedAt],
    );
    resumes.push((last[0]?.t ?? 0) - killedAt);
    console.log(
      `run ${run + 1}: takeover ${takeovers.at(-1)} ms, every check probed again ${resumes.at(-1)} ms after the kill`,
    );
    hubs.push(await startHub(file));
  }
  const fmt = (xs: number[]) => `median ${Math.round(median(xs))} ms, max ${Math.max(...xs)} ms`;
  console.log(
    `\n${CHECKS} checks, lease ${values.lease}, ${RUNS} kills; load average ${loadavg()[0]?.toFixed(1)}`,
  );
  console.log(`takeover (kill → survivor holds all shards): ${fmt(takeovers)}`);
  console.log(`every check probed again after the kill:     ${fmt(resumes)}`);
} finally {
  for (const h of hubs) h.child.kill('SIGKILL');
  await model.close();
  await sql(`DROP SCHEMA IF EXISTS ${SCHEMA} CASCADE`).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}
