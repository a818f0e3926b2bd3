/**
 * Start-up faults of the real `vigil` process (ERRORS.md, "Exit codes"): each is one line on stderr,
 * `error: …`, with no stack trace, and the exit code of its kind — 2 usage, 3 store, 4 listen. The
 * broken states are real: SQLite files broken on disk, a port held by a server this test starts, a
 * PostgreSQL port nothing listens on.
 *
 * Unwritable store folder: tests run as root in CI, and root ignores file modes, so that case runs the
 * child as `nobody` (uid 65534) when this process is root; a store path under a *file* (ENOTDIR,
 * which stops root too) is tested as well.
 */
import { execFile, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeWith } from '../fixtures/needs.js';
import {
  emptyMainBesideWal,
  randomFile,
  truncatedStore,
  walWithoutMain,
} from '../store/fixtures/broken-sqlite.js';

const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
/** This process's environment without an API token, so only the cases that set one have one. */
const { VIGIL_API_TOKEN: _token, ...inherited } = process.env;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI from source, as `vigil <args>`. */
function vigil(
  args: string[],
  options: { uid?: number; gid?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', ENTRY, ...args],
      {
        cwd: ROOT,
        timeout: 30_000,
        env: { ...inherited, ...options.env },
        ...(options.uid === undefined ? {} : { uid: options.uid, gid: options.gid }),
      },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error.code as number | undefined) ?? null) : 0, stdout, stderr }),
    );
  });
}

/** The one-line promise: exactly `line` on stderr, nothing on stdout, the exit code, no stack trace. */
function expectOneLine(run: Run, code: number, line: string | RegExp): void {
  expect(run.stderr).not.toMatch(/^\s+at /m);
  expect(run.stderr.endsWith('\n') && run.stderr.split('\n').length).toBe(2);
  if (typeof line === 'string') expect(run.stderr).toBe(`${line}\n`);
  else expect(run.stderr.trimEnd()).toMatch(line);
  expect(run).toMatchObject({ code, stdout: '' });
}

let dir: string;
let config: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-startup-'));
  // World-readable: the unwritable-folder case reads it as nobody.
  chmodSync(dir, 0o755);
  config = join(dir, 'vigil.yaml');
  writeFileSync(
    config,
    'defaults: { interval: 1h }\ntargets:\n  - name: x\n    url: http://127.0.0.1:9\n    protocol: http\n    checks:\n      liveness: {}\n',
  );
  chmodSync(config, 0o644);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

const run = (store: string, ...more: string[]) =>
  vigil(['run', '-c', config, '--port', '0', '--store', store, ...more]);
const aside = (path: string) =>
  `or move ${path} (with its -wal and -shm files) aside to start an empty store`;

describe('vigil run: store faults exit 3 with one line', () => {
  it('refuses an empty database beside its WAL, and leaves both files alone', async () => {
    const path = join(dir, 'emptied.db');
    await emptyMainBesideWal(path);
    const wal = readFileSync(`${path}-wal`);
    const result = await run(path);
    expectOneLine(
      result,
      3,
      `error: store: ${path} is empty but its write-ahead log ${path}-wal holds ${wal.length} bytes ` +
        `(opening it would discard them): restore ${path} from a backup, ${aside(path)}`,
    );
    expect(readFileSync(path).length).toBe(0);
    expect(readFileSync(`${path}-wal`).equals(wal)).toBe(true);
  });

  it('refuses a WAL whose database file is missing', async () => {
    const path = join(dir, 'missing.db');
    await walWithoutMain(path);
    const wal = readFileSync(`${path}-wal`).length;
    expectOneLine(
      await run(path),
      3,
      `error: store: ${path} is missing but its write-ahead log ${path}-wal holds ${wal} bytes ` +
        `(opening it would discard them): restore ${path} from a backup, ${aside(path)}`,
    );
  });

  it('refuses a truncated database', async () => {
    const path = join(dir, 'truncated.db');
    const { expected, actual } = await truncatedStore(path);
    expectOneLine(
      await run(path),
      3,
      `error: store: ${path} is truncated: its header says ${expected} bytes (${expected / 4096} pages of 4096), ` +
        `the file has ${actual}: restore it from a backup, ${aside(path)}`,
    );
  });

  it('refuses random bytes', async () => {
    const path = join(dir, 'random.db');
    randomFile(path);
    expectOneLine(
      await run(path),
      3,
      `error: store: ${path} is not a SQLite database file (its first bytes are not the SQLite header): ` +
        `check the store path, ${aside(path)}`,
    );
  });

  it('refuses a folder', async () => {
    const path = join(dir, 'a-folder');
    mkdirSync(path);
    expectOneLine(
      await run(path),
      3,
      `error: store: ${path} is a folder, not a SQLite database file: pass a file path, such as ${join(path, 'vigil.db')}`,
    );
  });

  it('refuses a path under a file (ENOTDIR: stops root too)', async () => {
    const path = join(config, 'vigil.db');
    expectOneLine(
      await run(path),
      3,
      new RegExp(
        `^error: store: cannot use SQLite database ${path}: cannot create its folder: ${config} is a file, ` +
          'not a folder \\((ENOTDIR|EEXIST)\\): pass a path in a writable folder$',
      ),
    );
  });

  it('says PostgreSQL is unreachable, without the password', async () => {
    const port = await closedPort();
    const result = await run(`postgres://vigil:s3cret@127.0.0.1:${port}/test`);
    expectOneLine(
      result,
      3,
      `error: store: cannot connect to PostgreSQL at postgres://vigil:***@127.0.0.1:${port}/test ` +
        `(connect ECONNREFUSED 127.0.0.1:${port}): check that the server is running and reachable, and the ` +
        "URL's host, port, user, password and database",
    );
  });

  it('calls a PostgreSQL URL that does not parse a usage error (exit 2)', async () => {
    expectOneLine(
      await run('postgres://vigil:s3cret@[::1/test'),
      2,
      'error: store: the PostgreSQL location is not a valid URL: expected postgres://user:password@host:5432/database ' +
        '(percent-encode special characters in the password)',
    );
  });
});

// Root ignores file modes: the child runs as nobody when this process is root, so it needs a user
// nobody that can read the source tree (a checkout readable only by root cannot run this case).
const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
const canDropRoot =
  !('uid' in asNobody) ||
  spawnSync(process.execPath, ['-e', `require('fs').accessSync(${JSON.stringify(ENTRY)})`], asNobody)
    .status === 0;

describeWith(
  canDropRoot,
  'a user (nobody) that file modes apply to',
  'vigil run: an unwritable store folder exits 3',
  () => {
    it('refuses a folder it cannot write (SQLite needs to create -wal and -shm there)', async () => {
      const folder = join(dir, 'read-only');
      mkdirSync(folder);
      chmodSync(folder, 0o555);
      const path = join(folder, 'vigil.db');
      const result = await vigil(['run', '-c', config, '--port', '0', '--store', path], asNobody);
      expectOneLine(
        result,
        3,
        `error: store: cannot use SQLite database ${path}: its folder ${folder} is not writable (SQLite creates ` +
          'vigil.db-wal and -shm beside it) (EACCES): make it writable or pass a path in a writable folder',
      );
    });
  },
);

describe('vigil run: a config it cannot load exits 2', () => {
  it.each([
    ['a missing file', () => join(dir, 'nope.yaml')],
    ['a file in a missing folder (nothing to watch either)', () => join(dir, 'no-folder', 'vigil.yaml')],
  ])('%s: the diagnostic, then one error line', async (_what, file) => {
    const path = file();
    const result = await vigil(['run', '-c', path, '--port', '0', '--store', join(dir, 'config.db')]);
    expect(result).toEqual({
      code: 2,
      stdout: '',
      stderr: `${path}: cannot read the config file: it does not exist\nerror: ${path}: the hub did not start\n`,
    });
  });
});

describe('vigil run: a port in use exits 4 with one line', () => {
  let held: Server;
  let port: number;
  beforeAll(async () => {
    held = createServer();
    await new Promise<void>((resolve) => held.listen(0, '127.0.0.1', resolve));
    port = (held.address() as { port: number }).port;
  });
  afterAll(async () => {
    await new Promise((resolve) => held.close(resolve));
  });

  it('names the address and what to do, and stops (nothing left running)', async () => {
    const result = await vigil([
      'run',
      '-c',
      config,
      '--port',
      String(port),
      '--store',
      join(dir, 'port.db'),
    ]);
    expectOneLine(
      result,
      4,
      `error: cannot listen on 127.0.0.1:${port} (EADDRINUSE): the port is in use by another process: stop it, or pass another --port`,
    );
  });
});

describe('bad flags and URLs are usage errors (exit 2) with one line', () => {
  it.each([
    [
      ['run', '--log-level', 'verbose'],
      "error: option '--log-level <level>' argument 'verbose' is invalid. Allowed choices are fatal, error, warn, info, debug, trace, silent.",
    ],
    [
      ['run', '--log-format', 'logfmt'],
      "error: option '--log-format <format>' argument 'logfmt' is invalid. Allowed choices are json, pretty.",
    ],
    [['run', '--port', '70000'], 'error: --port must be 0..65535, got "70000"'],
    [['run', '--bogus'], "error: unknown option '--bogus'"],
    [['validate', '--bogus'], "error: unknown option '--bogus'"],
    [['export', 'prometheus-rules', '--bogus'], "error: unknown option '--bogus'"],
    [['check', '--timeout', 'soon'], 'error: --timeout must be a positive integer, got "soon"'],
    [
      ['check', '--url', 'file:///etc/passwd', '--protocol', 'http'],
      'error: --url: expected an http:// or https:// URL, got "file:///etc/passwd"',
    ],
    [
      ['check', '--url', 'not a url', '--protocol', 'http'],
      'error: --url: expected an http(s) URL like "http://127.0.0.1:8081", got "not a url"',
    ],
    [
      ['check', '--url', 'http://127.0.0.1:9/?token=x', '--protocol', 'http'],
      'error: --url: a base URL has no query or fragment, got "http://127.0.0.1:9/?token=x"',
    ],
  ])('vigil %j', async (args, line) => {
    expectOneLine(await vigil(args), 2, line);
  });

  it('refuses credentials in --url as a config file does, without echoing them', async () => {
    const result = await vigil(['check', '--url', 'http://admin:s3cret@127.0.0.1:9', '--protocol', 'http']);
    expectOneLine(
      result,
      2,
      "error: --url must not contain credentials (user:password@): put them in a config file's auth (from an " +
        'environment variable), which keeps them out of `ps`, shell history and output, and run `vigil check -c FILE`',
    );
    expect(result.stderr).not.toContain('s3cret');
  });
});

describe('--token', () => {
  it('warns that the flag shows in ps, and says to use VIGIL_API_TOKEN', async () => {
    const path = join(dir, 'token-folder');
    mkdirSync(path);
    // Any start-up fault ends the run quickly; the warning comes first.
    const result = await vigil(['run', '-c', config, '--port', '0', '--store', path, '--token', 't0ken']);
    expect(result.code).toBe(3);
    expect(result.stderr.split('\n')[0]).toBe(
      'warning: --token is visible to every user of this machine in `ps` and may be kept in shell history: set VIGIL_API_TOKEN instead',
    );
    const fromEnv = await vigil(['run', '-c', config, '--port', '0', '--store', path], {
      env: { VIGIL_API_TOKEN: 't0ken' },
    });
    expect(fromEnv.code).toBe(3);
    expect(fromEnv.stderr).not.toContain('warning');
  });

  it('says so in --help', async () => {
    const help = await vigil(['run', '--help']);
    expect(help.stdout.replace(/\s+/g, ' ')).toContain(
      'prefer the VIGIL_API_TOKEN environment variable: a flag is visible to every user of the machine in `ps` (env: VIGIL_API_TOKEN)',
    );
  });
});

/** A loopback port nothing listens on: bound by a server that is then closed. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
