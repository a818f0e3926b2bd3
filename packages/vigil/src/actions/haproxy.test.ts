/**
 * The haproxy action against Debian's HAProxy, started by the test with a Runtime API on a Unix socket
 * and on TCP: drain, ready, maint and weight change what `show stat` reports; an unknown server is
 * refused with HAProxy's own message.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../fixtures/needs.js';
import type { TargetConfig } from '../types.js';
import { createHaproxyAction, haproxyConfigSchema, runtimeApi } from './haproxy.js';
import type { ActionContext } from './types.js';

function hasHaproxy(): boolean {
  try {
    execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const target = {
  name: 'scorer',
  url: 'http://127.0.0.1:1',
  labels: {},
  headers: {},
} as unknown as TargetConfig;
const context = (): ActionContext => ({
  signal: new AbortController().signal,
  idempotencyKey: 'k',
  transition: {
    event: 'unhealthy',
    checkId: 'scorer/liveness',
    target: 'scorer',
    check: 'liveness',
    region: 'local',
    from: 'healthy',
    to: 'unhealthy',
    reason: 'r',
    at: 0,
    incidentId: null,
  },
  target,
  now: Date.now,
});

describeWith(hasHaproxy(), 'haproxy', 'haproxy action (Debian HAProxy, Runtime API)', () => {
  let haproxy: ChildProcess;
  let socket: string;
  let address: string;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigil-haproxy-'));
    socket = join(dir, 'admin.sock');
    address = `127.0.0.1:${await freePort()}`;
    const cfg = join(dir, 'haproxy.cfg');
    writeFileSync(
      cfg,
      `global
  stats socket ${socket} mode 600 level admin
  stats socket ipv4@${address} level admin
defaults
  mode http
  timeout connect 1s
  timeout client 1s
  timeout server 1s
backend models
  server scorer-1 127.0.0.1:1 weight 10
  server scorer-2 127.0.0.1:2 weight 10
`,
    );
    haproxy = spawn('haproxy', ['-f', cfg, '-db'], { stdio: 'ignore' });
    // Ready when the socket answers.
    for (let i = 0; i < 100; i++) {
      try {
        await runtimeApi({ socket }, 'show info', 1000);
        return;
      } catch {
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    }
    throw new Error('HAProxy did not open its Runtime API socket');
  });

  afterAll(() => {
    haproxy?.kill('SIGTERM');
  });

  /** `show stat` of one server: its status and weight columns. */
  async function stat(server: string): Promise<{ status: string; weight: string }> {
    const csv = await runtimeApi({ socket }, 'show stat', 2000);
    const [header, ...rows] = csv.replace(/^# /, '').trim().split('\n');
    const columns = (header ?? '').split(',');
    const row = rows.map((r) => r.split(',')).find((r) => r[0] === 'models' && r[1] === server);
    if (row === undefined) throw new Error(`no row for ${server}`);
    return { status: row[columns.indexOf('status')] ?? '', weight: row[columns.indexOf('weight')] ?? '' };
  }

  const action = (block: Record<string, unknown>) =>
    createHaproxyAction({
      ...haproxyConfigSchema.parse({ kind: 'haproxy', backend: 'models', server: 'scorer-1', ...block }),
      name: 'hap',
      escalateAfterMs: 1000,
    });

  it('drain over the Unix socket, then ready over TCP', async () => {
    expect(await stat('scorer-1')).toMatchObject({ status: 'no check' });
    expect(await action({ socket, operation: 'drain' }).run(context())).toEqual({
      result: 'succeeded',
      output: 'set server models/scorer-1 state drain',
    });
    expect((await stat('scorer-1')).status).toMatch(/DRAIN/);
    expect((await stat('scorer-2')).status).toBe('no check');
    expect((await action({ address, operation: 'ready' }).run(context())).result).toBe('succeeded');
    expect((await stat('scorer-1')).status).toBe('no check');
  });

  it('maint, and weight', async () => {
    expect((await action({ socket, operation: 'maint' }).run(context())).result).toBe('succeeded');
    expect((await stat('scorer-1')).status).toMatch(/MAINT/);
    expect((await action({ socket, operation: 'ready' }).run(context())).result).toBe('succeeded');
    expect((await action({ socket, operation: 'weight', weight: 3 }).run(context())).result).toBe(
      'succeeded',
    );
    expect((await stat('scorer-1')).weight).toBe('3');
  });

  it('an unknown server is refused with HAProxy’s message; a dead socket fails', async () => {
    const refused = await action({ socket, operation: 'drain', server: 'nope' }).run(context());
    expect(refused.result).toBe('refused');
    expect(refused.output).toMatch(/set server models\/nope state drain: .*(No such|not found)/i);
    const dead = await action({ socket: `${socket}.missing`, operation: 'drain' }).run(context());
    expect(dead.result).toBe('failed');
    expect(dead.output).toContain('HAProxy Runtime API at');
  });

  it('validation: socket or address, weight only with operation weight', () => {
    const problems = (block: Record<string, unknown>) =>
      haproxyConfigSchema
        .safeParse({ kind: 'haproxy', backend: 'models', server: 'scorer-1', ...block })
        .error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    expect(problems({ operation: 'drain' })).toEqual([
      'socket: needs socket (a Unix socket path) or address (host:port), one of them',
    ]);
    expect(problems({ socket, operation: 'weight' })).toEqual(['weight: required for operation "weight"']);
    expect(problems({ socket, operation: 'drain', server: 'a b' })?.[0]).toMatch(/^server: /);
  });
});
