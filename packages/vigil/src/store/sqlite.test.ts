import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from './errors.js';
import { T0 } from './fixtures/data.js';
import { openStore, postgresBackend, STORE_BACKENDS, sqliteBackend } from './index.js';
import { openSqliteStore } from './sqlite.js';
import { defineStoreContract, type StoreContractHarness } from './store.contract.js';
import type { Store } from './types.js';

const packageRoot = fileURLToPath(new URL('../../', import.meta.url));
const crashWriter = fileURLToPath(new URL('./fixtures/sqlite-crash-writer.ts', import.meta.url));

function sqliteHarness(): StoreContractHarness {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-store-'));
  let created = 0;
  let path = '';
  return {
    create: (options) => {
      created += 1;
      path = join(dir, `db-${created}`, 'vigil.db');
      return openSqliteStore(path, options);
    },
    reopen: (options) => openSqliteStore(path, options),
    exec: async (sql) => {
      const db = new Database(path);
      try {
        db.exec(sql);
      } finally {
        db.close();
      }
    },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

defineStoreContract('sqlite', sqliteHarness);

describe('SQLite store', () => {
  let dir: string;
  const stores: Store[] = [];
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-store-'));
  });
  afterEach(async () => {
    for (const s of stores.splice(0)) await s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates missing folders and puts the file in WAL mode', async () => {
    const path = join(dir, 'a', 'b', 'vigil.db');
    stores.push(await openStore(path));
    expect(existsSync(path)).toBe(true);
    const raw = new Database(path, { readonly: true });
    expect(raw.pragma('journal_mode', { simple: true })).toBe('wal');
    raw.close();
  });

  it('opens :memory: as a private database', async () => {
    const store = await openStore(':memory:');
    stores.push(store);
    expect(store.backend).toBe('sqlite');
    expect(await store.appliedMigrations()).not.toEqual([]);
  });

  it('fails with VIGIL_ERR_STORE_OPEN when the file cannot be created', async () => {
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, 'x');
    const err = await openStore(join(file, 'vigil.db')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StoreError);
    expect((err as StoreError).code).toBe('VIGIL_ERR_STORE_OPEN');
  });

  it.each([
    ['postgres://u@h:5432/db', 'postgres'],
    ['postgresql://u@h/db', 'postgres'],
    ['POSTGRES://u@h/db', 'postgres'],
    ['.vigil/vigil.db', 'sqlite'],
    ['/var/lib/postgres.db', 'sqlite'],
    [':memory:', 'sqlite'],
  ])('openStore sends %s to the %s backend', (location, name) => {
    expect(STORE_BACKENDS.find((b) => b.handles(location))?.name).toBe(name);
  });

  it('lists SQLite last, since it takes any path', () => {
    expect(STORE_BACKENDS.at(-1)).toBe(sqliteBackend);
    expect(STORE_BACKENDS).toContain(postgresBackend);
  });

  it('keeps every write reported committed when the process is killed with SIGKILL', async () => {
    const path = join(dir, 'crash.db');
    const batchSize = 100;
    const child = spawn(process.execPath, ['--import', 'tsx', crashWriter, path, String(batchSize)], {
      cwd: packageRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let lastCommitted = 0;
    let stderr = '';
    let buffered = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
      child.on('exit', (code, signal) => resolve({ code, signal })),
    );
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() ?? '';
      for (const line of lines) {
        const seq = Number(/^committed (\d+)$/.exec(line)?.[1]);
        if (seq > lastCommitted) lastCommitted = seq;
      }
      // Kill it mid-stream, once it has committed a fair number of batches.
      if (lastCommitted >= 30 && child.exitCode === null && !child.killed) child.kill('SIGKILL');
    });
    const { code, signal } = await exited;
    expect({ code, signal, stderr }).toEqual({ code: null, signal: 'SIGKILL', stderr: '' });
    expect(lastCommitted).toBeGreaterThanOrEqual(30);

    const raw = new Database(path);
    expect(raw.pragma('integrity_check', { simple: true })).toBe('ok');
    raw.close();
    const store = await openSqliteStore(path);
    stores.push(store);
    const reported = await store.results('crash/liveness', { until: T0 + (lastCommitted + 1) * 1000 });
    expect(reported).toHaveLength(lastCommitted * batchSize);
    const all = await store.results('crash/liveness');
    // Whatever was in flight at the kill is there whole or not at all.
    expect(all.length % batchSize).toBe(0);
    const [state] = await store.loadStates();
    expect(state?.consecutiveSuccesses).toBeGreaterThanOrEqual(lastCommitted);
  });
});
