/**
 * Benchmark: the hub's event-loop lag while it reloads a large config (issue #14, "Config loading off
 * the event loop"). A hub (`runHub`, in this process) probes `--healthy` healthy checks against a local
 * endpoint; then a config of about `--mb` MB (the healthy targets plus filler targets, ~44,000 for
 * 10 MB, as in the issue's reproduction) is written over the live file (the hub's file watch reloads it). During the reload
 * the event loop's delay is sampled (perf_hooks.monitorEventLoopDelay, 10 ms resolution) and `/livez` is
 * polled every 20 ms. For comparison, the same file is then loaded on the main
 * thread (`loadConfig`, the former reload path) and the lag that causes is reported too.
 *
 *   npm run build && node bench/dist/config-reload.js [--mb 10] [--healthy 50] > /dev/null   (the table is on stderr)
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { loadConfig, runHub } from 'vigil-ml';

const { values } = parseArgs({
  options: {
    mb: { type: 'string', default: '10' },
    healthy: { type: 'string', default: '50' },
  },
});
const healthy = Number(values.healthy);
const dir = mkdtempSync(join(tmpdir(), 'vigil-config-reload-'));
const file = join(dir, 'vigil.yaml');

const endpoint = createServer((_req, res) => res.end('{"ok":true}'));
await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
const endpointUrl = `http://127.0.0.1:${(endpoint.address() as { port: number }).port}`;

function healthyTargets(): string[] {
  const lines: string[] = [];
  for (let i = 0; i < healthy; i++) {
    lines.push(
      `  - name: healthy-${i}`,
      `    url: ${endpointUrl}`,
      '    protocol: http',
      '    checks: { liveness: { interval: 5s, timeout: 2s } }',
    );
  }
  return lines;
}

function filler(i: number): string {
  return [
    `  - name: filler-${String(i).padStart(6, '0')}`,
    `    url: ${endpointUrl}/f${i}`,
    '    protocol: http',
    '    checks: { readiness: { interval: 1h, timeout: 5s } }',
    '',
  ].join('\n');
}

writeFileSync(file, `targets:\n${healthyTargets().join('\n')}\n`);
const hub = await runHub({
  config: file,
  port: 0,
  host: '127.0.0.1',
  store: join(dir, 'vigil.db'),
  logLevel: 'info',
});

// Results go to stderr: the hub's log lines (warnings and errors only) are on stdout.
const write = (text: string) => process.stderr.write(text);

await new Promise((r) => setTimeout(r, 3000));

const perTarget = filler(0).length;
const fillers = Math.round((Number(values.mb) * 1_000_000) / perTarget);
const body = [`targets:\n${healthyTargets().join('\n')}\n`];
for (let i = 0; i < fillers; i++) body.push(filler(i));
const text = body.join('');
const bytes = Buffer.byteLength(text);

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
}

const histogram = monitorEventLoopDelay({ resolution: 10 });
const livez: number[] = [];
let polling = true;
const poll = (async () => {
  while (polling) {
    const t0 = performance.now();
    await fetch(`${hub.url}/livez`).then((r) => r.text());
    livez.push(performance.now() - t0);
    await new Promise((r) => setTimeout(r, 20));
  }
})();
histogram.enable();
const started = performance.now();
// Written over the live file, as in the issue: the hub's file watch reloads it. The reload is done
// when the first filler check exists (GET of one check: cheap, unlike listing 44,000).
await writeFile(file, text);
const marker = `${hub.url}/api/v1/checks/${encodeURIComponent('filler-000000/readiness')}`;
for (;;) {
  const status = await fetch(marker).then(async (r) => {
    await r.arrayBuffer();
    return r.status;
  });
  if (status === 200 || performance.now() - started > 170_000) break;
  await new Promise((r) => setTimeout(r, 50));
}
const reloadMs = performance.now() - started;
histogram.disable();
polling = false;
await poll;
const rssMb = process.memoryUsage().rss / 2 ** 20;

// The former path, for comparison: the same file parsed and validated on the main thread.
const before = monitorEventLoopDelay({ resolution: 10 });
before.enable();
const t0 = performance.now();
const inline = await loadConfig(file, { maxBytes: 64 * 2 ** 20 });
const inlineMs = performance.now() - t0;
await new Promise((r) => setTimeout(r, 50));
before.disable();

const ms = (ns: number) => (ns / 1e6).toFixed(0);
write(
  `${[
    `config: ${(bytes / 1e6).toFixed(1)} MB, ${healthy + fillers} targets`,
    `reload (worker): ${reloadMs.toFixed(0)} ms from the write to the first new check served`,
    '',
    '| path | event-loop delay p50 | p99 | max | /livez p99 | /livez max | /livez answers |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    `| reload in a worker (now) | ${ms(histogram.percentile(50))} ms | ${ms(histogram.percentile(99))} ms | ${ms(histogram.max)} ms | ${percentile(livez, 99).toFixed(0)} ms | ${Math.max(...livez).toFixed(0)} ms | ${livez.length} |`,
    `| loadConfig on the main thread (before) | ${ms(before.percentile(50))} ms | ${ms(before.percentile(99))} ms | ${ms(before.max)} ms | — | — | — |`,
    '',
    `main-thread load took ${inlineMs.toFixed(0)} ms (${inline.ok ? 'valid' : 'invalid'}); RSS after the worker reload ${rssMb.toFixed(0)} MB`,
  ].join('\n')}\n`,
);
await hub.stop();
endpoint.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
