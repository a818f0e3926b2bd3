import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, onTestFinished } from 'vitest';
import { getJson, waitFor } from './test-support.js';

const FIXTURE = fileURLToPath(new URL('./fixtures/shutdown-server.ts', import.meta.url));

describe('graceful shutdown of a real process', () => {
  it('on SIGTERM fails /readyz with shutting_down, finishes the in-flight request, then exits 0', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, SHUTDOWN_DELAY_MS: '600', SLOW_MS: '1000' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onTestFinished(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const { lines, stderr } = collectOutput(child);
    const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
    const order: string[] = [];

    const listening = await waitFor(() => lines.find((line) => line.startsWith('listening ')), {
      timeoutMs: 15_000,
      what: () => `the fixture to listen; its stderr: ${stderr()}`,
    });
    const url = `http://127.0.0.1:${listening.split(' ')[1]}`;
    await waitFor(async () => (await getJson(`${url}/readyz`)).status === 200, { what: 'warm-up to finish' });

    const slow = fetch(`${url}/slow`).then(async (response) => {
      order.push('slow answered');
      return { status: response.status, text: await response.text() };
    });
    await waitFor(() => lines.includes('slow-started'), { what: 'the slow request to arrive' });

    expect(child.kill('SIGTERM')).toBe(true);
    const draining = await waitFor(
      async () => {
        const response = await getJson(`${url}/readyz`);
        return response.status === 503 && response;
      },
      { timeoutMs: 2000, what: '/readyz to fail during the shutdown delay' },
    );
    expect(draining.body).toEqual({
      status: 'shutting_down',
      checks: { warmup: { status: 'ok', durationMs: expect.any(Number) } },
    });
    expect((await getJson(`${url}/livez`)).status).toBe(200);

    expect(await slow).toEqual({ status: 200, text: 'slow done' });
    const [code, signal] = await exited;
    order.push('exited');
    expect({ code, signal }).toEqual({ code: 0, signal: null });
    expect(order).toEqual(['slow answered', 'exited']);
  });
});

/** Collects the child's stdout as lines and its stderr as text, from the start. */
function collectOutput(child: ChildProcess): { lines: string[]; stderr: () => string } {
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
  });
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  return { lines, stderr: () => stderr || '(empty)' };
}
