/**
 * The cluster mirror (`hub/mirror.ts`) on a real PostgreSQL (`VIGIL_TEST_POSTGRES_URL`, default the
 * `test` database on 127.0.0.1; a schema of its own per case, dropped afterwards; skipped when the
 * server is unreachable, unless `VIGIL_REQUIRE_ALL=1`): two stores on one schema stand for two hubs.
 *
 * - the first poll reads every state, even one stamped 0 (stored before migration 11);
 * - later polls read only what was written since (less the overlap), and a state another hub writes
 *   reaches this hub through that read;
 * - after a failed read, and after `readAll()`, the next poll reads every state again.
 */
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { evalState } from '../store/fixtures/data.js';
import { adminQuery, postgresUnreachable, testPostgresUrl as url } from '../store/fixtures/postgres-admin.js';
import { openStore } from '../store/index.js';
import type { StateQuery, Store } from '../store/types.js';
import type { EvalState } from '../types.js';
import { createMirror, type Mirror } from './mirror.js';

const reason = await postgresUnreachable();

async function until(what: string, fn: () => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** One `loadStates` call of the mirror, in call order: what it asked, and the checks it got back. */
interface Read {
  query: StateQuery | undefined;
  checkIds: string[];
  failed?: true;
}

if (reason === null) {
  describe('the cluster mirror, on PostgreSQL', () => {
    const schemas: string[] = [];
    const stores: Store[] = [];
    let mirror: Mirror | undefined;
    afterEach(async () => {
      mirror?.stop();
      mirror = undefined;
      for (const s of stores.splice(0)) await s.close();
      for (const s of schemas.splice(0)) await adminQuery(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    });

    it('reads every state first, then only those written since, which bring another hub’s write here', async () => {
      const schema = `vigil_test_${process.pid}_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      await adminQuery(`CREATE SCHEMA ${schema}`);
      const other = await openStore(url, { postgres: { schema, poolMax: 2 } });
      const here = await openStore(url, { postgres: { schema, poolMax: 2 } });
      stores.push(other, here);

      // A state stored before migration 11: stamped 0, so only a full read has it.
      const old = evalState({ checkId: 'old/liveness', state: 'healthy' });
      await other.saveStates([old, evalState({ checkId: 'mine/liveness' })]);
      await adminQuery(`UPDATE eval_states SET written_at = 0 WHERE check_id = 'old/liveness'`, schema);

      const reads: Read[] = [];
      let failNext = false;
      const recorded = new Proxy(here, {
        get(target, key) {
          if (key === 'loadStates')
            return async (query?: StateQuery) => {
              const read: Read = { query, checkIds: [] };
              reads.push(read);
              if (failNext) {
                failNext = false;
                read.failed = true;
                throw new Error('connection lost');
              }
              const states = await target.loadStates(query);
              read.checkIds = states.map((s) => s.checkId);
              return states;
            };
          const value = Reflect.get(target, key) as unknown;
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
      const applied: EvalState[] = [];
      const logged: string[] = [];
      mirror = createMirror({
        store: recorded,
        region: 'eu-west',
        intervalMs: 50,
        isOthers: (checkId) => checkId !== 'mine/liveness',
        apply: (s) => applied.push(s),
        publish: () => {},
        log: (_level, message) => logged.push(message),
      });
      mirror.start();
      const full = (r: Read) => r.query?.writtenSince === undefined;

      // The first poll reads them all: the old row too; this hub's own check is not applied.
      await until('the first read', () => applied.length >= 1);
      expect(full(reads[0] as Read)).toBe(true);
      expect(reads[0]?.checkIds).toEqual(['mine/liveness', 'old/liveness']);
      expect(applied.map((s) => s.checkId)).toEqual(['old/liveness']);

      // Then only what was written since: the old row is out of every such read.
      await until('an incremental read', () => reads.some((r) => !full(r)));
      const incremental = reads.filter((r) => !full(r));
      expect(incremental.every((r) => !r.checkIds.includes('old/liveness'))).toBe(true);
      expect(reads.filter(full)).toHaveLength(1);

      // Another hub writes a state: it arrives through an incremental read.
      const decided = evalState({ checkId: 'b/liveness', state: 'unhealthy' });
      await other.saveStates([decided]);
      await until('b applied here', () => applied.some((s) => s.checkId === 'b/liveness'));
      expect(applied.find((s) => s.checkId === 'b/liveness')).toStrictEqual(decided);
      const carrier = reads.find((r) => r.checkIds.includes('b/liveness'));
      expect(carrier !== undefined && !full(carrier)).toBe(true);
      expect(reads.filter(full)).toHaveLength(1);

      // A failed read: the next one reads every state again (the old row with it).
      failNext = true;
      await until('a read after the failure', () => {
        const f = reads.findIndex((r) => r.failed);
        return f >= 0 && (reads[f + 1]?.checkIds.length ?? 0) > 0;
      });
      const after = reads[reads.findIndex((r) => r.failed) + 1] as Read;
      expect(full(after)).toBe(true);
      expect(after.checkIds).toContain('old/liveness');
      expect(logged.some((m) => m.includes('connection lost'))).toBe(true);

      // And when asked (the hub's plan or ownership changed): the next call, made after readAll().
      const failedAt = reads.findIndex((r) => r.failed);
      await until('an incremental read again', () => reads.slice(failedAt + 2).some((r) => !full(r)));
      const asked = reads.length;
      mirror.readAll();
      await until('a read after readAll()', () => (reads[asked]?.checkIds.length ?? 0) > 0);
      expect(full(reads[asked] as Read)).toBe(true);
      expect(reads[asked]?.checkIds).toContain('old/liveness');
    });
  });
} else if (process.env.VIGIL_REQUIRE_ALL === '1') {
  describe('the cluster mirror, on PostgreSQL', () => {
    it('needs a reachable server (VIGIL_REQUIRE_ALL=1)', () => {
      throw new Error(`PostgreSQL is required but unreachable: ${reason}`);
    });
  });
} else {
  console.warn(`Skipping the cluster mirror's PostgreSQL tests: ${reason} (set VIGIL_TEST_POSTGRES_URL)`);
  describe.skip(`the cluster mirror, on PostgreSQL (skipped: ${reason})`, () => {
    it('needs a reachable server', () => undefined);
  });
}
