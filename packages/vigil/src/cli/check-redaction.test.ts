/**
 * Redaction by default in `vigil check --json`: a server that echoes the request (its headers and URL)
 * into its body makes a failed assertion quote them; the printed results hide every configured header
 * value (not only credential-named headers) and credential query parameters, through the real CLI.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProbeResult } from '../types.js';

const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));
const HEADER_VALUE = 'literal-x-auth-token-5e2a';
const QUERY_VALUE = 'literal-query-token-0c7d';

let server: Server;
let dir: string;

beforeAll(async () => {
  server = createServer((request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ url: request.url, headers: request.headers }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  dir = mkdtempSync(join(tmpdir(), 'vigil-check-redaction-'));
  writeFileSync(
    join(dir, 'vigil.yaml'),
    `
defaults: { timeout: 1s, interval: 10s }
targets:
  - name: echo
    url: http://127.0.0.1:${port}
    protocol: http
    headers: { X-Auth-Token: ${HEADER_VALUE} }
    checks:
      liveness:
        request: { path: "/health?token=${QUERY_VALUE}" }
        expect: { body: { contains: "not in the echo" } }
`,
  );
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function vigilCheckJson(): Promise<{ code: number | null; out: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', ENTRY, 'check', '-c', join(dir, 'vigil.yaml'), '--json'],
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
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, out, stderr: err }));
  });
}

describe('vigil check --json', () => {
  it('prints the echoed header and query token redacted', async () => {
    const { code, out, stderr } = await vigilCheckJson();
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const [result] = JSON.parse(out) as ProbeResult[];
    expect(result?.failures[0]?.assertion).toBe('body');
    // The quote of the body is there, with the values replaced.
    expect(String(result?.failures[0]?.actual)).toContain('x-auth-token');
    expect(out).not.toContain(HEADER_VALUE);
    expect(out).not.toContain(QUERY_VALUE);
    expect(out).toContain('[REDACTED]');
  }, 120_000);
});
