/**
 * The store's errors. Every one is a {@link StoreError} with a stable `VIGIL_ERR_STORE_*` code and the
 * driver's error as `cause`, so callers branch on `code`, never on a driver's message.
 */
import { VigilError } from '../errors.js';

/**
 * Stable codes of {@link StoreError}, with what each means. The list is the documentation: a test pins
 * that every code the store throws is listed here.
 */
export const STORE_ERROR_CODES = {
  /** The database could not be opened or reached (bad path, refused connection, bad credentials). */
  VIGIL_ERR_STORE_OPEN: 'the database could not be opened or reached',
  /**
   * The SQLite file is damaged (truncated, a bad page, not a database at all) or its write-ahead log
   * has no usable main file: the store refuses to open rather than start empty in its place.
   */
  VIGIL_ERR_STORE_CORRUPT: 'the database file is damaged or incomplete',
  /** A migration failed; its transaction was rolled back and later migrations were not tried. */
  VIGIL_ERR_STORE_MIGRATION: 'a schema migration failed and was rolled back',
  /** The database records a schema version this build does not know: a newer Vigil migrated it. */
  VIGIL_ERR_STORE_SCHEMA_TOO_NEW: 'the database schema is newer than this build of Vigil',
  /** A read or write failed in the database (constraint, lost connection, disk full, …). */
  VIGIL_ERR_STORE_QUERY: 'a read or write failed in the database',
  /** The store was used after `close()`. */
  VIGIL_ERR_STORE_CLOSED: 'the store is closed',
  /** An argument is out of its domain (negative limit, silence ending before it starts, …). */
  VIGIL_ERR_STORE_INVALID_ARGUMENT: 'an argument is out of its domain',
} as const;

/** One of {@link STORE_ERROR_CODES}' keys. */
export type StoreErrorCode = keyof typeof STORE_ERROR_CODES;

/**
 * An infrastructure fault or a bad argument in the store.
 *
 * @example
 * ```ts
 * try { await store.migrate(); } catch (err) {
 *   if (err instanceof StoreError && err.code === 'VIGIL_ERR_STORE_SCHEMA_TOO_NEW') process.exit(1);
 *   throw err;
 * }
 * ```
 */
export class StoreError extends VigilError {
  override name = 'StoreError';
  declare readonly code: StoreErrorCode;

  constructor(code: StoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/**
 * Wraps a driver error thrown by `operation` into `VIGIL_ERR_STORE_QUERY`; a StoreError passes through.
 */
export function wrapStoreError(operation: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StoreError('VIGIL_ERR_STORE_QUERY', `store: ${operation} failed: ${message}`, { cause: err });
}
