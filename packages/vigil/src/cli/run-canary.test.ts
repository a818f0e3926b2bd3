/**
 * A canary's drift state across a real restart of `vigil run` (the same SQLite store file): the
 * second process continues the first one's rotation where it stopped, keeps its drift statistics over
 * time and its last comparison, and goes on finding the same drift — it does not start over at the
 * first rotation window with an empty history (migration 9, `canary_states`).
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelServer, type ModelServer } from '@vigil/example-model-server';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { rotationWindow } from '../canary/index.js';
import type { CanaryView, CheckStatus } from '../hub/types.js';
import { openStore } from '../store/index.js';
import { startHubProcess } from './fixtures/hub-process.js';
import { main } from './main.js';

const TOKEN = 'canary-restart';
const CHECK = 'credit/canary';
const CASES = 40;
const PER_RUN = 16;
const children: ChildProcess[] = [];

let server: ModelServer;
let url: string;
let dir: string;
let config: string;

async function setFault(mode: string, params: Record<string, unknown>): Promise<void> {
  const res = await fetch(`${url}/admin/faults/${mode}`, {
    method: 'PUT',
    headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
    body: JSON.stringify({ ...params, model: 'credit-scorer' }),
  });
  expect(res.status, await res.clone().text()).toBe(200);
}

async function getJson<T>(address: string): Promise<T> {
  const res = await fetch(address);
  expect(res.status, address).toBe(200);
  return (await res.json()) as T;
}

const canaryOf = (hub: string) =>
  getJson<CanaryView>(`${hub}/api/v1/checks/${encodeURIComponent(CHECK)}/canary`);

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false>, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await fn();
    if (v) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  server = await createModelServer({
    models: ['credit-scorer'],
    faults: { enabled: true, token: TOKEN },
    warmupInferences: 1,
  });
  url = await server.listen();
  dir = mkdtempSync(join(tmpdir(), 'vigil-canary-restart-'));
  const cases = Array.from({ length: CASES }, (_, i) => ({
    id: `applicant-${String(i).padStart(2, '0')}`,
    request: {
      inputs: [
        {
          name: 'features',
          shape: [1, 8],
          datatype: 'FP32',
          data: Array.from({ length: 8 }, (_, j) =>
            Number((((i + 1) * (j + 3) * 0.137 + j * 0.21) % 1).toFixed(2)),
          ),
        },
      ],
    },
  }));
  writeFileSync(join(dir, 'cases.jsonl'), `${cases.map((c) => JSON.stringify(c)).join('\n')}\n`);
  config = join(dir, 'vigil.yaml');
  writeFileSync(
    config,
    `targets:
  - name: credit
    url: ${url}
    protocol: oip-v2
    model: credit-scorer
    checks:
      canary:
        interval: 700ms
        timeout: 650ms
        cases: cases.jsonl
        maxCasesPerRun: ${PER_RUN}
        baseline: baseline-v1.json
`,
  );
  // Recorded from the healthy server, as an operator would.
  process.exitCode = undefined;
  await main([
    'node',
    'vigil',
    'baseline',
    'record',
    '-c',
    config,
    '--target',
    'credit',
    '--repeats',
    '3',
    '--out',
    join(dir, 'baseline-v1.json'),
  ]);
  expect(Number(process.exitCode ?? 0)).toBe(0);
  process.exitCode = undefined;
}, 180_000);
afterEach(() => {
  server.faults.clear();
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});
afterAll(async () => {
  await server?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('vigil run: a canary across a restart', () => {
  it('continues its rotation, drift history and verdict from the same store file', async () => {
    const store = join(dir, 'vigil.db');
    await setFault('drift', { sigma: 0.05 });

    const first = await startHubProcess(config, store, children);
    const before = await waitFor('three drifting canary runs', async () => {
      const view = await canaryOf(first.url);
      return (view.lastRun?.runIndex ?? -1) >= 2 && view.lastRun?.verdict?.outcome === 'degraded' && view;
    });
    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    // What the first hub saw last is what it stored (a run's state is written before its result is out).
    const stored = await openStore(store);
    const row = await stored.canaryState(CHECK);
    await stored.close();
    const runsBefore = (row?.state.runIndex as number) ?? 0;
    expect(runsBefore).toBeGreaterThanOrEqual(3);
    const historyBefore = row?.state.history as CanaryView['history'];
    expect(historyBefore.length).toBeGreaterThan(0);
    expect(historyBefore.slice(0, before.history.length)).toEqual(before.history);
    expect(new Set(historyBefore.map((p) => p.statistic)).size).toBeGreaterThan(0);

    const second = await startHubProcess(config, store, children);
    // Restored at start: the last comparison and the history are there before the second hub runs.
    const restored = await canaryOf(second.url);
    expect(restored.history.slice(0, historyBefore.length)).toEqual(historyBefore);
    expect(restored.lastRun?.runIndex).toBeGreaterThanOrEqual(runsBefore - 1);

    const after = await waitFor('a canary run of the second hub', async () => {
      const view = await canaryOf(second.url);
      return (view.lastRun?.runIndex ?? -1) >= runsBefore && view;
    });
    const run = after.lastRun;
    // The rotation goes on at the next window: starting over would send window 0 with index 0 again.
    expect(run?.runIndex).toBeLessThanOrEqual(runsBefore + 2);
    expect(run?.cases.sent).toEqual(
      rotationWindow(CASES, run?.runIndex ?? 0, PER_RUN).indices.map(
        (i) => `applicant-${String(i).padStart(2, '0')}`,
      ),
    );
    // The drift is still found, and its statistics extend the first hub's series.
    expect(run?.verdict?.outcome).toBe('degraded');
    expect(after.history.slice(0, historyBefore.length)).toEqual(historyBefore);
    expect(after.history.length).toBeGreaterThan(historyBefore.length);
    const { checks } = await getJson<{ checks: CheckStatus[] }>(`${second.url}/api/v1/status`);
    expect(checks.find((c) => c.checkId === CHECK)?.state).toBe('degraded');

    second.child.kill('SIGTERM');
    expect(await second.exited).toBe(0);
  }, 240_000);
});
