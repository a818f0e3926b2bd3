/**
 * The store registry: `openStore(location)` picks the backend that handles the location.
 * Adding a backend is one file exporting a {@link StoreBackend} plus one line in {@link STORE_BACKENDS}.
 */
import { postgresBackend } from './postgres.js';
import { DEFAULT_SQLITE_PATH, sqliteBackend } from './sqlite.js';
import type { OpenStoreOptions, Store, StoreBackend } from './types.js';

export { STORE_ERROR_CODES, StoreError, type StoreErrorCode } from './errors.js';
export { openPostgresStore, postgresBackend } from './postgres.js';
export { DEFAULT_SQLITE_PATH, openSqliteStore, sqliteBackend } from './sqlite.js';
export * from './types.js';

/** The backends, asked in order; the first whose `handles(location)` is true opens it. SQLite takes any path, so it is last. */
export const STORE_BACKENDS: readonly StoreBackend[] = [postgresBackend, sqliteBackend];

/**
 * Opens the store at `location` and (unless `options.migrate === false`) applies missing migrations.
 *
 * @param location A `postgres://` or `postgresql://` URL (PostgreSQL); anything else is a SQLite file path
 *   (its folder is created), or `:memory:`. Default {@link DEFAULT_SQLITE_PATH} (`.vigil/vigil.db`).
 * @throws StoreError `VIGIL_ERR_STORE_OPEN`, `VIGIL_ERR_STORE_CORRUPT` (SQLite), `VIGIL_ERR_STORE_MIGRATION`, `VIGIL_ERR_STORE_SCHEMA_TOO_NEW`,
 *   `VIGIL_ERR_STORE_INVALID_ARGUMENT` (bad backend option).
 * @example
 * ```ts
 * const store = await openStore(flags.store ?? '.vigil/vigil.db');
 * const states = await store.loadStates();
 * ```
 */
export async function openStore(
  location: string = DEFAULT_SQLITE_PATH,
  options: OpenStoreOptions = {},
): Promise<Store> {
  const backend = STORE_BACKENDS.find((b) => b.handles(location)) ?? sqliteBackend;
  return backend.open(location, options);
}
