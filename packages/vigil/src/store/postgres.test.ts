/**
 * The Store contract on PostgreSQL. Each case runs in a schema of its own, created for it and dropped
 * afterwards, so concurrent runs on one server never collide.
 *
 * Server: env `VIGIL_TEST_POSTGRES_URL`, default `postgres://postgres@127.0.0.1:5432/test`. When it is
 * unreachable the suite is skipped with the reason printed, unless `VIGIL_REQUIRE_ALL=1` (CI), where
 * that is a failure.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { StoreError } from './errors.js';
import { adminQuery, postgresUnreachable, testPostgresUrl as url } from './fixtures/postgres-admin.js';
import { openStore } from './index.js';
import { openPostgresStore } from './postgres.js';
import { defineStoreContract, type StoreContractHarness } from './store.contract.js';

const requireAll = process.env.VIGIL_REQUIRE_ALL === '1';

const newSchemaName = (): string => `vigil_test_${process.pid}_${randomBytes(6).toString('hex')}`;

function postgresHarness(): StoreContractHarness {
  const schemas: string[] = [];
  let schema = '';
  return {
    create: async (options) => {
      schema = newSchemaName();
      schemas.push(schema);
      await adminQuery(`CREATE SCHEMA ${schema}`);
      return openPostgresStore(url, { ...options, postgres: { schema, poolMax: 4 } });
    },
    reopen: (options) => openPostgresStore(url, { ...options, postgres: { schema, poolMax: 4 } }),
    exec: (sql) => adminQuery(sql, schema),
    dispose: async () => {
      for (const s of schemas) await adminQuery(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    },
  };
}

const reason = await postgresUnreachable();

if (reason === null) {
  defineStoreContract('postgres', postgresHarness);

  describe('PostgreSQL store', () => {
    const created: string[] = [];
    afterAll(async () => {
      for (const s of created) await adminQuery(`DROP SCHEMA IF EXISTS ${s} CASCADE`);
    });

    it('openStore opens a postgres:// URL with PostgreSQL and creates the schema it is given', async () => {
      const schema = newSchemaName();
      created.push(schema);
      const store = await openStore(url, { postgres: { schema } });
      try {
        expect(store.backend).toBe('postgres');
        expect((await store.appliedMigrations()).map((m) => m.version)).toEqual([
          1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11,
        ]);
      } finally {
        await store.close();
      }
    });

    it('tells a watcher of the transitions another store commits, in its schema only, and again after its connection is killed', async () => {
      const [schema, other] = [newSchemaName(), newSchemaName()];
      created.push(schema, other);
      const watcher = await openPostgresStore(url, { postgres: { schema, poolMax: 2 } });
      const writer = await openPostgresStore(url, { postgres: { schema, poolMax: 2 } });
      const elsewhere = await openPostgresStore(url, { postgres: { schema: other, poolMax: 2 } });
      const told: (readonly string[] | undefined)[] = [];
      let reconnects = 0;
      let lost = 0;
      const watch = watcher.watchTransitions?.({
        stored: (ids) => told.push(ids),
        reconnected: () => reconnects++,
        lost: () => lost++,
      });
      const transition = (checkId: string) => ({
        checkId,
        region: 'local',
        from: 'healthy' as const,
        to: 'unhealthy' as const,
        at: Date.now(),
        reason: 'test',
        results: [],
      });
      const until = async (what: string, fn: () => boolean) => {
        const deadline = Date.now() + 30_000;
        while (!fn()) {
          if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
          await new Promise((r) => setTimeout(r, 20));
        }
      };
      /** Appends until the watcher is told (the listening connection may not be up yet). */
      const appendUntilTold = async (checkId: string) => {
        const deadline = Date.now() + 30_000;
        while (!told.some((ids) => ids?.includes(checkId))) {
          if (Date.now() > deadline) throw new Error(`never told of ${checkId}`);
          await writer.appendTransition(transition(checkId));
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      try {
        expect(watch).toBeDefined();
        await appendUntilTold('a/liveness');
        // A store in another schema of the same database notifies its own channel.
        await elsewhere.appendTransition(transition('elsewhere/liveness'));
        await appendUntilTold('b/liveness');
        expect(told.flat()).not.toContain('elsewhere/liveness');
        expect(told.every((ids) => ids !== undefined && ids.length === 1)).toBe(true);

        // The listening session dies (a failover, a restart): the watcher is told it lost it and that it is back.
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        const killed = await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'vigil-listen' AND query LIKE $1",
          [`LISTEN "vigil_transitions.${schema}"%`],
        );
        await admin.end();
        expect(killed.rowCount).toBe(1);
        await until('lost and reconnected', () => lost > 0 && reconnects > 0);
        await appendUntilTold('c/liveness');
      } finally {
        await watch?.stop();
        await Promise.all([watcher.close(), writer.close(), elsewhere.close()]);
      }
    });

    it('fails with VIGIL_ERR_STORE_OPEN, without the password, when the server refuses', async () => {
      const err = await openStore('postgresql://vigil:s3cret@127.0.0.1:1/test').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StoreError);
      expect((err as StoreError).code).toBe('VIGIL_ERR_STORE_OPEN');
      expect((err as StoreError).message).not.toContain('s3cret');
    });

    it('calls a URL that does not parse VIGIL_ERR_STORE_INVALID_ARGUMENT, without the password', async () => {
      const err = await openStore('postgres://vigil:s3cret@[::1/test').catch((e: unknown) => e);
      expect((err as StoreError).code).toBe('VIGIL_ERR_STORE_INVALID_ARGUMENT');
      expect((err as StoreError).message).not.toContain('s3cret');
    });

    it('rejects a schema name that is not a plain identifier', async () => {
      const err = await openStore(url, { postgres: { schema: 'x; DROP TABLE y' } }).catch((e: unknown) => e);
      expect((err as StoreError).code).toBe('VIGIL_ERR_STORE_INVALID_ARGUMENT');
    });
  });
} else if (requireAll) {
  describe('PostgreSQL store', () => {
    it('is reachable (VIGIL_REQUIRE_ALL=1)', () => {
      throw new Error(`PostgreSQL is required but unreachable: ${reason}`);
    });
  });
} else {
  console.warn(`Skipping the PostgreSQL store tests: ${reason} (set VIGIL_TEST_POSTGRES_URL)`);
  describe.skip(`PostgreSQL store (skipped: ${reason})`, () => {
    it('needs a reachable server', () => undefined);
  });
}
