/**
 * Config loading off the event loop (issue #14): a worker thread parses and validates, the result comes
 * back in chunks between which the event loop runs, a file over the size cap is refused before it is
 * read. The lag figures of a 10 MB reload are in BENCHMARKS.md (bench/src/config-reload.ts), not here.
 */
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from './load.js';
import { createOffThreadLoader, loadConfigOffThread } from './off-thread.js';

const dir = mkdtempSync(join(tmpdir(), 'vigil-off-thread-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A config of `n` targets with four checks each, about 440 bytes a target. */
function bigConfig(n: number): string {
  const lines = ['targets:'];
  for (let i = 0; i < n; i++) {
    lines.push(
      `  - name: model-${i}`,
      `    url: http://10.0.${(i >> 8) & 255}.${i & 255}:8080`,
      '    protocol: http',
      `    labels: { team: t${i % 50}, tier: "${i % 3}" }`,
      '    checks:',
      '      liveness: { interval: 30s, request: { path: /healthz } }',
      '      readiness: { interval: 30s, expect: { status: ["2xx"] } }',
      '      integrity:',
      '        interval: 60s',
      '        request: { method: post, path: /predict, body: { x: [1, 2, 3] } }',
      '        expect: { assertions: [{ path: "$.body.y", type: array }] }',
    );
  }
  return `${lines.join('\n')}\n`;
}

const ENV = {
  API_KEY: 'k',
  TOKEN: 't',
  PD_ROUTING_KEY: 'p',
  SLACK_WEBHOOK_URL: 'https://hooks.example.com/x',
};

describe('loadConfigOffThread', () => {
  it('gives the result loadConfig gives, for every fixture, good and bad', async () => {
    const fixtures = ['good', 'bad'].flatMap((kind) =>
      readdirSync(new URL(`./fixtures/${kind}/`, import.meta.url))
        .filter((name) => name.endsWith('.yaml'))
        .slice(0, 1)
        .map((name) => new URL(`./fixtures/${kind}/${name}`, import.meta.url).pathname),
    );
    for (const file of fixtures) {
      const [here, there] = await Promise.all([
        loadConfig(file, { env: ENV }),
        loadConfigOffThread(file, { env: ENV, chunkTargets: 1 }),
      ]);
      expect(JSON.stringify(there), file).toBe(JSON.stringify(here));
      if (here.ok && there.ok) {
        expect(Object.isFrozen(there.config.targets[0]), file).toBe(true);
        expect(Object.isFrozen(there.plan[0]?.target), file).toBe(true);
        expect(there.redact('k t'), file).toBe(here.redact('k t'));
      }
    }
  }, 240_000);

  it('refuses a file over the size cap before reading it, saying the size and the limit', async () => {
    const file = join(dir, 'big.yaml');
    writeFileSync(file, bigConfig(100));
    const result = await loadConfigOffThread(file, { maxBytes: 1000 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('VIGIL_ERR_CONFIG_READ');
    expect(result.diagnostics).toEqual([
      expect.stringMatching(
        /big\.yaml: the config file is \d+ bytes, over the limit of 1000 bytes \(--max-config-bytes\)/,
      ),
    ]);
    // The same limit on the calling thread.
    expect(await loadConfig(file, { maxBytes: 1000 })).toEqual(result);
    expect((await loadConfig(file, { maxBytes: 1_000_000 })).ok).toBe(true);
  }, 60_000);

  it('keeps the event loop serving HTTP while a large config loads, and hands the whole plan back', async () => {
    const file = join(dir, 'large.yaml');
    writeFileSync(file, bigConfig(3_000));
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    try {
      let loaded = false;
      const loading = loadConfigOffThread(file, { chunkTargets: 200 }).then((result) => {
        loaded = true;
        return result;
      });
      // Answers to /livez-like requests while the worker parses: each is answered before the load ends.
      const answeredWhileLoading: boolean[] = [];
      for (let i = 0; i < 3; i++) {
        const body = await fetch(`http://127.0.0.1:${port}/livez`).then((r) => r.text());
        answeredWhileLoading.push(body === 'ok' && !loaded);
      }
      const result = await loading;
      expect(answeredWhileLoading).toEqual([true, true, true]);
      expect(result.ok).toBe(true);
      if (!result.ok) return;
      expect(result.config.targets).toHaveLength(3_000);
      expect(result.plan).toHaveLength(9_000);
      expect(result.plan[8_999]?.id).toBe('model-2999/integrity');
      expect(result.plan[8_999]?.target.name).toBe('model-2999');
    } finally {
      server.close();
    }
  }, 120_000);

  it('reports a worker that runs out of heap as a failed load, not a crash', async () => {
    const file = join(dir, 'heap.yaml');
    writeFileSync(file, bigConfig(3_000));
    const result = await loadConfigOffThread(file, { maxHeapMb: 8 });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.code).toBe('VIGIL_ERR_CONFIG_INVALID');
    expect(result.diagnostics[0]).toMatch(/heap\.yaml: the config could not be loaded: /);
  }, 60_000);

  it.each([
    { name: 'spare', warm: true, says: 'each load runs on a warm spare' },
    { name: 'cold', warm: false, says: 'each load starts its worker' },
  ])(
    'createOffThreadLoader({ warm: $warm }): $says, one after another, with the same result',
    async ({ name, warm }) => {
      const file = join(dir, `${name}.yaml`);
      writeFileSync(file, bigConfig(3));
      const loader = createOffThreadLoader({ warm });
      try {
        const first = await loader.load(file);
        writeFileSync(file, bigConfig(5));
        const second = await loader.load(file);
        expect(first.ok && first.plan.length).toBe(9);
        expect(second.ok && second.plan.length).toBe(15);
        expect(JSON.stringify(second)).toBe(JSON.stringify(await loadConfig(file)));
      } finally {
        loader.close();
      }
    },
    120_000,
  );
});
