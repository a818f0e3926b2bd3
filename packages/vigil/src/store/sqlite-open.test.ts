/**
 * The SQLite store's open-time checks against real broken files: each is refused with its code and a
 * message that says what, where and how to recover, and a refused database is left exactly as it was.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StoreError } from './errors.js';
import {
  crashedStore,
  damagedSchemaPage,
  emptyMainBesideWal,
  foreignDatabase,
  RESULTS,
  randomFile,
  truncatedBesideWal,
  truncatedStore,
  walWithoutMain,
} from './fixtures/broken-sqlite.js';
import { openStore } from './index.js';
import { sqliteOpenError } from './sqlite-open.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-sqlite-open-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function refusal(path: string): Promise<StoreError> {
  const err = await openStore(path).then(
    async (store) => {
      await store.close();
      throw new Error(`${path} opened`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(StoreError);
  return err as StoreError;
}

const files = (path: string) => ({
  main: readOrNull(path),
  wal: readOrNull(`${path}-wal`),
});
function readOrNull(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

const aside = (path: string) =>
  `or move ${path} (with its -wal and -shm files) aside to start an empty store`;

describe('opening a SQLite store', () => {
  it('recovers every result from the WAL a crash left (the state the refusals below protect)', async () => {
    const path = join(dir, 'crashed.db');
    await crashedStore(path);
    const store = await openStore(path);
    try {
      expect(await store.results('credit-scorer/integrity')).toHaveLength(RESULTS);
    } finally {
      await store.close();
    }
  });

  it('refuses an empty file beside a non-empty WAL, and leaves both as they were', async () => {
    const path = join(dir, 'vigil.db');
    await emptyMainBesideWal(path);
    const before = files(path);
    const err = await refusal(path);
    expect(err.code).toBe('VIGIL_ERR_STORE_CORRUPT');
    expect(err.message).toBe(
      `store: ${path} is empty but its write-ahead log ${path}-wal holds ${before.wal?.length} bytes ` +
        `(opening it would discard them): restore ${path} from a backup, ${aside(path)}`,
    );
    expect(files(path)).toEqual(before);
    // The log is the history: put the main file back and every result is there.
    expect(before.wal?.length).toBeGreaterThan(0);
  });

  it('refuses a WAL whose main file is missing, without creating one', async () => {
    const path = join(dir, 'vigil.db');
    await walWithoutMain(path);
    const before = files(path);
    const err = await refusal(path);
    expect(err.code).toBe('VIGIL_ERR_STORE_CORRUPT');
    expect(err.message).toMatch(new RegExp(`^store: ${path} is missing but its write-ahead log `));
    expect(files(path)).toEqual(before);
    expect(before.main).toBeNull();
  });

  it('refuses a truncated file, saying by how much', async () => {
    const path = join(dir, 'vigil.db');
    const { expected, actual } = await truncatedStore(path);
    const before = files(path);
    const err = await refusal(path);
    expect(err.code).toBe('VIGIL_ERR_STORE_CORRUPT');
    expect(err.message).toBe(
      `store: ${path} is truncated: its header says ${expected} bytes (${expected / 4096} pages of 4096), ` +
        `the file has ${actual}: restore it from a backup, ${aside(path)}`,
    );
    expect(files(path)).toEqual(before);
  });

  it('refuses a truncated file beside a WAL too small to make up the difference', async () => {
    const path = join(dir, 'vigil.db');
    await truncatedBesideWal(path);
    const before = files(path);
    const err = await refusal(path);
    expect(err.code).toBe('VIGIL_ERR_STORE_CORRUPT');
    expect(err.message).toMatch(
      new RegExp(
        `^store: ${path} is truncated: its header says \\d+ bytes \\(\\d+ pages of 4096\\), the file has ` +
          `${before.main?.length} and its write-ahead log ${before.wal?.length}: restore it from a backup`,
      ),
    );
    expect(files(path)).toEqual(before);
  });

  it('refuses a file that is not a SQLite database', async () => {
    const path = join(dir, 'vigil.db');
    randomFile(path);
    const before = files(path);
    const err = await refusal(path);
    expect(err.code).toBe('VIGIL_ERR_STORE_CORRUPT');
    expect(err.message).toBe(
      `store: ${path} is not a SQLite database file (its first bytes are not the SQLite header): ` +
        `check the store path, ${aside(path)}`,
    );
    expect(files(path)).toEqual(before);
  });

  it('refuses a database whose schema page SQLite finds damaged', async () => {
    const path = join(dir, 'vigil.db');
    await damagedSchemaPage(path);
    const err = await refusal(path);
    expect(err.code).toBe('VIGIL_ERR_STORE_CORRUPT');
    expect(err.message).toBe(
      `store: SQLite database ${path} is damaged (database disk image is malformed): restore it from a ` +
        `backup, salvage what is readable with \`sqlite3 ${path} .recover\`, ${aside(path)}`,
    );
  });

  it('refuses another program’s database instead of migrating into it', async () => {
    const path = join(dir, 'app.db');
    foreignDatabase(path);
    const err = await refusal(path);
    expect(err.code).toBe('VIGIL_ERR_STORE_OPEN');
    expect(err.message).toBe(
      `store: SQLite database ${path} has tables (users) but no schema_migrations, so Vigil did not create it: ` +
        "pass the path of Vigil's database or of a new file",
    );
  });

  it('refuses a folder', async () => {
    const err = await refusal(dir);
    expect(err.code).toBe('VIGIL_ERR_STORE_OPEN');
    expect(err.message).toBe(
      `store: ${dir} is a folder, not a SQLite database file: pass a file path, such as ${join(dir, 'vigil.db')}`,
    );
  });

  it('names the file that stands where a folder should be', async () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(file, 'x');
    const path = join(file, 'data', 'vigil.db');
    const err = await refusal(path);
    expect(err.code).toBe('VIGIL_ERR_STORE_OPEN');
    expect(err.message).toMatch(
      new RegExp(
        `^store: cannot use SQLite database ${path}: cannot create its folder: ${file} is a file, not a folder ` +
          '\\((ENOTDIR|EEXIST)\\): pass a path in a writable folder$',
      ),
    );
  });

  it('opens an empty file with no WAL as a new database (nothing to lose)', async () => {
    const path = join(dir, 'empty.db');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path, '');
    const store = await openStore(path);
    try {
      expect((await store.appliedMigrations()).length).toBeGreaterThan(0);
    } finally {
      await store.close();
    }
  });
});

describe('a better-sqlite3 addon this Node.js cannot load', () => {
  // The errors as Node.js and the `bindings` package raise them (a real mismatch needs a second Node.js:
  // `.ci/run` runs the store tests on Node 22 and 24 after rebuilding, and test/pack/pack-install.test.ts
  // meets the unbuilt addon for real in an installed copy).
  const abi = Object.assign(
    new Error(
      "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a " +
        'different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\n' +
        'NODE_MODULE_VERSION 127. Please try re-compiling or re-installing\nthe module (for instance, using `npm rebuild` or `npm install`).',
    ),
    { code: 'ERR_DLOPEN_FAILED' },
  );

  it('names both module versions and the rebuild command, in one line', () => {
    const err = sqliteOpenError('/data/vigil.db', abi);
    expect(err.code).toBe('VIGIL_ERR_STORE_OPEN');
    expect(err.cause).toBe(abi);
    expect(err.message).toBe(
      `store: the SQLite driver better-sqlite3 was built for another Node.js version (NODE_MODULE_VERSION 115; ` +
        `Node.js ${process.version} needs 127): run \`npm rebuild better-sqlite3\` with this Node.js in the project ` +
        'that installed Vigil, then start again',
    );
  });

  it('says the addon was never built, without the dozen paths `bindings` tried', () => {
    const missing = new Error(
      'Could not locate the bindings file. Tried:\n → /app/node_modules/better-sqlite3/build/better_sqlite3.node',
    );
    const err = sqliteOpenError('/data/vigil.db', missing);
    expect(err.code).toBe('VIGIL_ERR_STORE_OPEN');
    expect(err.message).toContain(`has no native build for Node.js ${process.version}`);
    expect(err.message).toContain('`npm rebuild better-sqlite3`');
    expect(err.message).not.toContain('/app/node_modules');
  });

  it('leaves other open errors as they were', () => {
    const busy = Object.assign(new Error('database is locked'), { code: 'SQLITE_BUSY' });
    expect(sqliteOpenError('/data/vigil.db', busy).message).toContain('another process holds it locked');
  });
});
