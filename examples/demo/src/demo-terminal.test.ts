/**
 * The demo as a person sees it: run in a real terminal (tmux), its output captured to
 * `test-artifacts/demo-terminal.txt`, and every log line — the hub's, the receiver's, the model
 * servers' — shows the time, the level as a word and the message; no JSON.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../../..');
const DEMO = join(ROOT, 'examples/demo/src/demo.ts');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const requireAll = process.env.VIGIL_REQUIRE_ALL === '1';

/** The pretty line: `[HH:MM:ss.mmm] LEVEL: message`. */
const PRETTY = /^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL): \S/;

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

// tmux with its own socket, so the test neither sees nor touches anyone's sessions.
const socket = `vigil-demo-test-${process.pid}`;
const tmux = (...args: string[]) => execFileSync('tmux', ['-L', socket, ...args], { encoding: 'utf8' });

async function waitForScreen(predicate: (screen: string) => boolean, what: string): Promise<string> {
  let screen = '';
  for (let i = 0; i < 300; i++) {
    screen = tmux('capture-pane', '-p', '-J', '-S', '-', '-t', 'demo');
    if (predicate(screen)) return screen;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the demo's terminal never showed ${what}; it showed:\n${screen}`);
}

const suite = hasTmux ? describe : requireAll ? describe : describe.skip;
if (!hasTmux && !requireAll)
  console.warn('Skipping the demo terminal test: tmux (Debian package tmux) is missing');

const stateDir = join(ARTIFACTS, `demo-state-${process.pid}`);

suite('the demo in a terminal (tmux)', () => {
  afterAll(() => {
    rmSync(stateDir, { recursive: true, force: true });
    if (!hasTmux) return;
    try {
      tmux('kill-server');
    } catch {
      // Already gone: the demo exited.
    }
  });

  it('shows time, level and message on every log line, including an alert and its receiver', async () => {
    expect(hasTmux, 'tmux is missing; CI installs it (.ci/run)').toBe(true);
    const [hub, receiver, credit, categorizer, creditB, router, routerAdmin] = await Promise.all([
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
      freePort(),
    ]);
    mkdirSync(stateDir, { recursive: true });
    const env = {
      DEMO_HUB_PORT: hub,
      DEMO_RECEIVER_PORT: receiver,
      DEMO_CREDIT_PORT: credit,
      DEMO_CATEGORIZER_PORT: categorizer,
      DEMO_CREDIT_B_PORT: creditB,
      DEMO_ROUTER_PORT: router,
      DEMO_ROUTER_ADMIN_PORT: routerAdmin,
      DEMO_STATE_DIR: stateDir,
      MODEL_SERVER_ADMIN_TOKEN: 'demo-token',
    };
    const command = [
      'env',
      ...Object.entries(env).map(([k, v]) => `${k}=${v}`),
      process.execPath,
      '--conditions=source',
      '--import',
      'tsx',
      DEMO,
    ];
    tmux('new-session', '-d', '-s', 'demo', '-x', '220', '-y', '60', '-c', ROOT, ...command);
    tmux('set-option', '-t', 'demo', 'history-limit', '5000');

    await waitForScreen((s) => s.includes('INFO: vigil hub running'), 'the hub running');
    // Break the credit scorer: the hub logs the transitions and the receiver the critical alert.
    const fault = await fetch(`http://127.0.0.1:${credit}/admin/faults/nan`, {
      method: 'PUT',
      headers: { authorization: 'Bearer demo-token', 'content-type': 'application/json' },
      body: '{}',
    });
    expect(fault.status).toBeLessThan(300);
    const screen = await waitForScreen(
      (s) =>
        /WARN: receiver: FIRING .*credit-scorer\/integrity/.test(s) &&
        / (WARN|ERROR): credit-scorer\/integrity (healthy|degraded|unknown) → /.test(s),
      'the receiver printing the alert',
    );
    mkdirSync(ARTIFACTS, { recursive: true });
    writeFileSync(join(ARTIFACTS, 'demo-terminal.txt'), screen);
    writeFileSync(
      join(ARTIFACTS, 'demo-terminal.ansi'),
      tmux('capture-pane', '-p', '-e', '-J', '-S', '-', '-t', 'demo'),
    );

    const lines = screen.split('\n');
    // The banner (what to open, what to curl) is text for a person; everything else is a log line.
    const logLines = lines.filter((l) => l.startsWith('['));
    expect(logLines.length).toBeGreaterThan(3);
    for (const line of logLines) expect(line).toMatch(PRETTY);
    expect(screen).not.toMatch(/^\{"level"/m);
    expect(screen).not.toContain('"level":');
    expect(
      logLines.some((l) => / (WARN|ERROR): credit-scorer\/integrity (healthy|degraded|unknown) → /.test(l)),
    ).toBe(true);
  }, 90_000);
});
