/**
 * The ReDoS regression of issue 14, through the real `vigil check`: `^/(a+)+$` against an answer of
 * `/` and a run of a's that does not end the match made JavaScript's backtracking engine take 10.4 s on
 * 29 characters (2^n ways to split the a's). Vigil matches with RE2, in time linear in the answer, so the
 * check fails at once with the pattern in its message. With a backtracking engine the child process
 * would not finish on these answers and would be killed, failing the test.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeResult } from '../types.js';

const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));
const PATTERN = '^/(a+)+$';

/** `/aaa…a!`: every split of the a's is tried by a backtracking engine before the `!` fails the match. */
const answer = (length: number) => `/${'a'.repeat(length - 2)}!`;

let server: Server;
let file: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    const length = request.url === '/short' ? 29 : 10_000;
    const body = request.url === '/json' ? JSON.stringify({ path: answer(length) }) : answer(length);
    response.writeHead(200, { 'content-type': request.url === '/json' ? 'application/json' : 'text/plain' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const dir = mkdtempSync(join(tmpdir(), 'vigil-redos-'));
  file = join(dir, 'vigil.yaml');
  writeFileSync(
    file,
    `
defaults: { timeout: 1s, interval: 10s }
targets:
  - name: short
    url: http://127.0.0.1:${port}
    protocol: http
    checks:
      liveness:
        request: { path: /short }
        expect: { body: { matches: "${PATTERN}" } }
  - name: long
    url: http://127.0.0.1:${port}
    protocol: http
    checks:
      liveness:
        expect: { body: { matches: "${PATTERN}" } }
      readiness:
        request: { path: /json }
        expect: { assertions: [{ path: "$.body.path", matches: "${PATTERN}" }] }
`,
  );
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
});

/** Runs `vigil check --json`; a generous kill timer stands in for "never finishes". */
function vigilCheck(): Promise<{ code: number | null; results: ProbeResult[]; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', ENTRY, 'check', '-c', file, '--json'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 100_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      try {
        resolve({ code, results: out ? (JSON.parse(out) as ProbeResult[]) : [], stderr: err });
      } catch (error) {
        reject(new Error(`vigil check printed no JSON (${(error as Error).message}): ${out}\n${err}`));
      }
    });
  });
}

describe('vigil check with a catastrophic-backtracking pattern', () => {
  it('fails each check at once, on 29 and on 10,000 characters, with the pattern in the message', async () => {
    const { code, results, stderr } = await vigilCheck();
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const seen = Object.fromEntries(
      results.map((r) => [r.checkId, [r.outcome, r.error?.code, ...r.failures.map((f) => f.message)]]),
    );
    expect(seen).toEqual({
      'short/liveness': ['fail', undefined, `body does not match /${PATTERN}/`],
      'long/liveness': ['fail', undefined, `body does not match /${PATTERN}/`],
      'long/readiness': ['fail', undefined, `$.body.path ("/${'a'.repeat(57)}…) does not match /${PATTERN}/`],
    });
  }, 120_000);
});
