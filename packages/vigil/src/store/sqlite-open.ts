/**
 * The SQLite store's open-time checks: a misplaced, unwritable or damaged database stops the hub with
 * one clear {@link StoreError} (what, where, how to recover) instead of a driver's stack trace — or,
 * worse, a new empty database in place of the history.
 *
 * That last case is real: SQLite reads an empty main file as a new database and discards the
 * write-ahead log beside it, so a 0-byte `vigil.db` next to its `vigil.db-wal` (a failed copy, a
 * restore gone wrong, a full disk) silently lost every result, and the incidents open in it were
 * notified again as new. So a log without a usable main file is refused, never opened.
 */
import {
  accessSync,
  closeSync,
  constants,
  mkdirSync,
  openSync,
  readSync,
  type Stats,
  statSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { StoreError } from './errors.js';

/** The first 16 bytes of every SQLite 3 database file (sqlite.org/fileformat.html, 1.3). */
const MAGIC = Buffer.from('SQLite format 3\0', 'latin1');
/** Length of the database header: page size at 16, change counter at 24, page count at 28, version-valid-for at 92. */
const HEADER_BYTES = 100;
/**
 * Offset of SQLite's lock-byte page (1 GiB): a database larger than that has one page that is never
 * written, so its file may be one page short of the header's count (SQLite allows the same slack in
 * walCheckpoint, wal.c).
 */
const PENDING_BYTE_OFFSET = 0x40000000;

/** How to start over when the database cannot be repaired: the same words in every message. */
const moveAside = (path: string) =>
  `or move ${path} (with its -wal and -shm files) aside to start an empty store`;

function statOf(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (err) {
    // ENOTDIR: a parent is a file, so nothing exists here; creating the folder says why.
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw openError(path, `cannot inspect it`, err);
  }
}

function openError(path: string, what: string, cause: unknown, recover = ''): StoreError {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  const reason = code ?? (cause instanceof Error ? cause.message : String(cause));
  return new StoreError(
    'VIGIL_ERR_STORE_OPEN',
    `store: cannot use SQLite database ${path}: ${what} (${reason})${recover ? `: ${recover}` : ''}`,
    { cause },
  );
}

function corrupt(path: string, what: string, recover: string): StoreError {
  return new StoreError('VIGIL_ERR_STORE_CORRUPT', `store: ${path} ${what}: ${recover}`);
}

/** The nearest existing ancestor of `dir`, which is not a folder when mkdir said ENOTDIR/EEXIST. */
function blockingAncestor(dir: string): string {
  for (let d = dir; ; d = dirname(d)) {
    const stat = statOf(d);
    if (stat && !stat.isDirectory()) return d;
    if (dirname(d) === d) return dir;
  }
}

/**
 * Prepares `path` for `new Database(path)` and refuses what must not be opened. In order:
 *
 * - `path` is a folder: `VIGIL_ERR_STORE_OPEN`.
 * - Its folder cannot be created (a parent is a file, no permission) or is not writable (SQLite
 *   creates `-wal` and `-shm` files beside the database), or the file itself is not writable:
 *   `VIGIL_ERR_STORE_OPEN`.
 * - A non-empty `-wal` beside a missing or empty main file: `VIGIL_ERR_STORE_CORRUPT` (SQLite would
 *   discard the log and start an empty database).
 * - A main file that does not start with SQLite's header: `VIGIL_ERR_STORE_CORRUPT`.
 * - A main file shorter than its header's page count says (with the log's size as slack, as SQLite
 *   allows, since pages since the last checkpoint live in the log): `VIGIL_ERR_STORE_CORRUPT`, truncated.
 *
 * Damage inside the file (a bad page) is what SQLite reports when it reads it: {@link sqliteOpenError}.
 *
 * @throws StoreError as listed.
 */
export function checkSqliteFiles(path: string): void {
  const main = statOf(path);
  if (main?.isDirectory()) {
    throw new StoreError(
      'VIGIL_ERR_STORE_OPEN',
      `store: ${path} is a folder, not a SQLite database file: pass a file path, such as ${join(path, 'vigil.db')}`,
    );
  }
  const dir = dirname(path);
  try {
    mkdirSync(dir, { recursive: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'EEXIST') {
      throw openError(
        path,
        `cannot create its folder: ${blockingAncestor(dir)} is a file, not a folder`,
        err,
        'pass a path in a writable folder',
      );
    }
    throw openError(path, `cannot create its folder ${dir}`, err, 'pass a path in a writable folder');
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (err) {
    throw openError(
      path,
      `its folder ${dir} is not writable (SQLite creates ${basename(path)}-wal and -shm beside it)`,
      err,
      'make it writable or pass a path in a writable folder',
    );
  }
  if (main) {
    try {
      accessSync(path, constants.R_OK | constants.W_OK);
    } catch (err) {
      throw openError(path, 'the file is not readable and writable', err, 'fix its permissions');
    }
  }

  const walBytes = statOf(`${path}-wal`)?.size ?? 0;
  if (walBytes > 0 && (main === undefined || main.size === 0)) {
    throw corrupt(
      path,
      `is ${main ? 'empty' : 'missing'} but its write-ahead log ${path}-wal holds ${walBytes} bytes (opening it would discard them)`,
      `restore ${path} from a backup, ${moveAside(path)}`,
    );
  }
  if (main === undefined || main.size === 0) return;

  const header = Buffer.alloc(HEADER_BYTES);
  const fd = openSync(path, 'r');
  let read: number;
  try {
    read = readSync(fd, header, 0, HEADER_BYTES, 0);
  } finally {
    closeSync(fd);
  }
  if (read < HEADER_BYTES || !header.subarray(0, MAGIC.length).equals(MAGIC)) {
    throw corrupt(
      path,
      'is not a SQLite database file (its first bytes are not the SQLite header)',
      `check the store path, ${moveAside(path)}`,
    );
  }
  const rawPageSize = header.readUInt16BE(16);
  const pageSize = rawPageSize === 1 ? 65536 : rawPageSize;
  // The header's page count is meaningful only when its change counter matches version-valid-for
  // (a legacy writer may leave it stale); SQLite then trusts it, and so can this check.
  const countValid = header.readUInt32BE(24) === header.readUInt32BE(92);
  const pages = header.readUInt32BE(28);
  const expected = pages * pageSize;
  // Pages written since the last checkpoint may exist only in the log (a crash in the middle of a
  // checkpoint leaves page 1's new count in the file before the pages it counts), so the file and the
  // log together must hold the count.
  const slack = walBytes + (expected > PENDING_BYTE_OFFSET ? pageSize : 0);
  if (countValid && pages > 0 && main.size + slack < expected) {
    throw corrupt(
      path,
      `is truncated: its header says ${expected} bytes (${pages} pages of ${pageSize}), the file has ${main.size}` +
        (walBytes > 0 ? ` and its write-ahead log ${walBytes}` : ''),
      `restore it from a backup, ${moveAside(path)}`,
    );
  }
}

/** SQLite result codes (better-sqlite3's `SqliteError.code`) that mean the file's content is damaged. */
const CORRUPT_CODES = new Set(['SQLITE_CORRUPT', 'SQLITE_NOTADB']);

/**
 * A driver error met while opening, checking or migrating the database at `path`, as a StoreError
 * that says how to recover: `VIGIL_ERR_STORE_CORRUPT` when SQLite finds the file damaged or not a
 * database (`SQLITE_CORRUPT*`, `SQLITE_NOTADB`), else `VIGIL_ERR_STORE_OPEN` (not writable, locked,
 * disk full, better-sqlite3's native addon built for another Node.js or not built: the message names
 * `npm rebuild better-sqlite3`, …). A StoreError passes through.
 */
export function sqliteOpenError(path: string, err: unknown): StoreError {
  // A store's own refusal (schema too new, a failed migration) stands, unless SQLite found damage
  // under it; a query that failed while opening is reported as the open it is part of.
  if (
    err instanceof StoreError &&
    err.code !== 'VIGIL_ERR_STORE_QUERY' &&
    !CORRUPT_CODES.has(sqliteCode(err.cause))
  )
    return err;
  const source = err instanceof StoreError ? err.cause : err;
  const driver = nativeDriverError(source);
  if (driver) return driver;
  const code = sqliteCode(source);
  const message = source instanceof Error ? source.message : String(source);
  if (code === 'SQLITE_NOTADB') {
    return new StoreError(
      'VIGIL_ERR_STORE_CORRUPT',
      `store: ${path} is not a SQLite database (${message}): check the store path, ${moveAside(path)}`,
      { cause: source },
    );
  }
  if (CORRUPT_CODES.has(code)) {
    return new StoreError(
      'VIGIL_ERR_STORE_CORRUPT',
      `store: SQLite database ${path} is damaged (${message}): restore it from a backup, salvage what is ` +
        `readable with \`sqlite3 ${path} .recover\`, ${moveAside(path)}`,
      { cause: source },
    );
  }
  const recover =
    code.startsWith('SQLITE_READONLY') || code === 'SQLITE_PERM' || code === 'SQLITE_CANTOPEN'
      ? 'check that the file and its folder are writable by this user'
      : code === 'SQLITE_BUSY'
        ? 'another process holds it locked: stop it, or pass another --store path'
        : code === 'SQLITE_FULL'
          ? 'the disk is full: free space'
          : '';
  return new StoreError(
    'VIGIL_ERR_STORE_OPEN',
    `store: cannot open SQLite database ${path} (${message})${recover ? `: ${recover}` : ''}`,
    { cause: source },
  );
}

/**
 * better-sqlite3's native addon cannot be loaded by this Node.js, as a StoreError naming the fix; or
 * undefined for any other error. Two cases, both before SQLite itself runs:
 *
 * - built for another Node.js: `ERR_DLOPEN_FAILED` with "compiled against a different Node.js version
 *   using NODE_MODULE_VERSION 115. This version of Node.js requires NODE_MODULE_VERSION 127" (Node's
 *   message since v10), after switching Node versions under an existing `node_modules`;
 * - never built: the `bindings` package's "Could not locate the bindings file. Tried: …" (a dozen
 *   paths), when the install script did not run (`--ignore-scripts`) or failed.
 *
 * The fix is the same: `npm rebuild better-sqlite3` in the project that installed Vigil, under the Node.js
 * that runs it (it downloads a prebuilt addon, or compiles one with node-gyp).
 */
function nativeDriverError(err: unknown): StoreError | undefined {
  const message = err instanceof Error ? err.message : '';
  const versions =
    /NODE_MODULE_VERSION (\d+)\.\s+This version of Node\.js requires\s+NODE_MODULE_VERSION (\d+)/.exec(
      message,
    );
  const node = `Node.js ${process.version}`;
  let what: string;
  if (versions) {
    what = `was built for another Node.js version (NODE_MODULE_VERSION ${versions[1]}; ${node} needs ${versions[2]})`;
  } else if (message.startsWith('Could not locate the bindings file')) {
    what = `has no native build for ${node} (its install script did not run or failed)`;
  } else {
    return undefined;
  }
  return new StoreError(
    'VIGIL_ERR_STORE_OPEN',
    `store: the SQLite driver better-sqlite3 ${what}: run \`npm rebuild better-sqlite3\` with this Node.js ` +
      'in the project that installed Vigil, then start again',
    { cause: err },
  );
}

/** The SQLite result code of a better-sqlite3 error (`SQLITE_CORRUPT_INDEX`, …), or ''. */
function sqliteCode(err: unknown): string {
  const code = (err as { code?: unknown } | undefined)?.code;
  if (typeof code !== 'string' || !code.startsWith('SQLITE_')) return '';
  return code.startsWith('SQLITE_CORRUPT') ? 'SQLITE_CORRUPT' : code;
}
