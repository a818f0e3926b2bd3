/**
 * `vigil run`'s `/metrics` level, as a real process: the default level's series only, or with
 * `--metrics-detail` the detail level's too (packages/vigil/METRICS.md).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));

let endpoint: Server;
let dir: string;
const children: ChildProcess[] = [];

beforeAll(async () => {
  endpoint = createServer((_req, res) => res.end('ok'));
  await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
  dir = mkdtempSync(join(tmpdir(), 'vigil-run-metrics-'));
  const url = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}`;
  writeFileSync(
    join(dir, 'vigil.yaml'),
    `targets:\n  - name: site\n    url: ${url}\n    protocol: http\n    checks: { liveness: { interval: 500ms, timeout: 450ms } }\n`,
  );
});
afterAll(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  endpoint?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/**
 * Starts `vigil run` with `flags`, returns /metrics once it matches `ready` (a probe passed: on a
 * loaded machine one may time out first), and stops it.
 */
async function metricsOf(name: string, flags: string[], ready: RegExp): Promise<string> {
  const args = ['run', '-c', join(dir, 'vigil.yaml'), '--port', '0', '--store', join(dir, `${name}.db`)];
  const child = spawn(
    process.execPath,
    ['--conditions=source', '--import', 'tsx', ENTRY, ...args, ...flags],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  children.push(child);
  let out = '';
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (c: Buffer) => {
      out += c.toString();
      const m = out.match(/"url":"(http:[^"]+)"[^\n]*vigil hub running/);
      if (m) resolve(m[1] as string);
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('close', (code) => reject(new Error(`vigil run exited with ${code}:\n${out}`)));
  });
  try {
    for (;;) {
      const text = await (await fetch(`${url}/metrics`)).text();
      if (ready.test(text)) return text;
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    await exited;
  }
}

describe('vigil run /metrics', () => {
  it('exports the default level, and the detail level with --metrics-detail', {
    timeout: 120_000,
  }, async () => {
    const labels = 'target="site",check="liveness",region="local"';
    const passed = new RegExp(`^probe_success\\{${labels}\\} 1$`, 'm');
    const plain = await metricsOf('default', [], passed);
    expect(plain).toMatch(new RegExp(`^vigil_probes_total\\{${labels}\\} [1-9]`, 'm'));
    expect(plain).not.toContain('probe_http_status_code');
    expect(plain).not.toContain('vigil_probes_failed_total');
    const detail = await metricsOf('detail', ['--metrics-detail'], passed);
    expect(detail).toMatch(new RegExp(`^probe_http_status_code\\{${labels}\\} 200$`, 'm'));
    expect(detail).toMatch(new RegExp(`^vigil_probes_failed_total\\{${labels}\\} \\d+$`, 'm'));
  });
});
