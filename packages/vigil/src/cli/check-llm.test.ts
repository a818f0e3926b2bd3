/**
 * The real `vigil check` process against the example model server's LLM: the quick look
 * (`--url … --protocol openai --model M`) shows time to first token and tokens per second, and a config's
 * `checks.metrics` (the vLLM preset) reads the server's own `/metrics` and reports its queue-depth fault.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createModelServer, type ModelServer, parseFault } from '@vigil/example-model-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));

/** Runs the CLI in a child process; resolves its exit code and output (killed after 60 s: a loaded machine). */
function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--conditions=source', '--import', 'tsx', ENTRY, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

let server: ModelServer;
let url: string;
let dir: string;
beforeAll(async () => {
  server = await createModelServer({
    models: ['credit-scorer'],
    warmupInferences: 0,
    faults: { enabled: true, token: 'test' },
    llm: { tokenIntervalMs: 5 },
  });
  url = await server.listen();
  dir = mkdtempSync(join(tmpdir(), 'vigil-check-llm-'));
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('vigil check against an LLM', () => {
  it('the quick look of an openai server shows TTFT and tokens per second', async () => {
    const { code, stdout, stderr } = await run([
      'check',
      '--url',
      url,
      '--protocol',
      'openai',
      '--model',
      'char-lm',
      '--timeout',
      '10000',
    ]);
    expect(code, `${stdout}\n${stderr}`).toBe(0);
    expect(stdout).toMatch(/TTFT \d+ ms, [\d.]+ tokens\/s, max gap \d+ ms \(\d+ tokens, server count\)/);
  }, 240_000);

  it("a config's metrics check reads the server's /metrics with the vLLM preset and reports its queue-depth fault", async () => {
    const file = join(dir, 'vigil.yaml');
    writeFileSync(
      file,
      `targets:\n  - { name: llm, url: "${url}", protocol: openai, model: char-lm, checks: { metrics: { preset: vllm, timeout: 5s, interval: 10s } } }\n`,
    );
    // One process (each costs seconds of start-up): the idle server's pass is metrics-check.test.ts's.
    server.faults.set('queue-depth', parseFault('queue-depth', { waiting: 500 }));
    try {
      const busy = await run(['check', '-c', file, '--json']);
      expect(busy.code, busy.stderr).toBe(1);
      const [result] = JSON.parse(busy.stdout) as Array<{
        checkId: string;
        check: string;
        outcome: string;
        failures: Array<{ message: string }>;
      }>;
      expect(result).toMatchObject({ checkId: 'llm/metrics', check: 'metrics', outcome: 'fail' });
      expect(result?.failures[0]?.message).toContain('vllm:num_requests_waiting 500 ≥ failed threshold 100');
    } finally {
      server.faults.clear();
    }
  }, 120_000);
});
