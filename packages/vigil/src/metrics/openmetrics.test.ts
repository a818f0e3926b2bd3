/**
 * OpenMetrics negotiation on the hub's `/metrics`: the same samples as the Prometheus text format,
 * framed as OpenMetrics 1.0 (counter families without `_total`, no blank line, `# EOF`), chosen by
 * `Accept`; and scraped by Debian's Prometheus, whose OpenMetrics parser must take it (promtool 2.42's
 * `check metrics` lints the text format only, which metrics.test.ts runs).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createApi } from '../api/app.js';
import { negotiateExposition } from '../api/routes/ops.js';
import { createTestHub } from '../api/test-hub.js';
import { describeWith } from '../fixtures/needs.js';
import { evalState, failedResult, probeResult } from '../store/fixtures/data.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckPlan } from '../types.js';
import { createMetrics, type Metrics } from './index.js';

const PLAN: CheckPlan = {
  id: 'credit-scorer/integrity',
  target: {
    name: 'credit-scorer',
    url: 'http://127.0.0.1:1',
    protocol: 'oip-v2',
    model: 'credit-scorer',
    labels: {},
    headers: {},
    maxBodyBytes: 1 << 20,
    maxRedirects: 5,
  },
  kind: 'integrity',
  intervalMs: 10_000,
  timeoutMs: 2_000,
  failureThreshold: 3,
  successThreshold: 1,
  fastIntervalMs: 1_000,
  initialDelayMs: 0,
  expect: { latency: { degradedMs: 150, failedMs: 500 } },
  latencyHistogram: true,
};

/** Metrics with every kind of family populated: gauges, counters, the lag histogram, an action counter. */
function populated(level: 'default' | 'detail' = 'detail'): Metrics {
  const metrics = createMetrics({ level });
  metrics.observeResult(PLAN, probeResult({ region: 'local', httpStatus: 200 }));
  metrics.observeResult(PLAN, failedResult({ region: 'local' }));
  metrics.observeState(PLAN, evalState({ region: 'local', flapping: true }));
  metrics.observeLag(12);
  metrics.observeActionRun('restart', 'succeeded');
  return metrics;
}

const samples = (text: string) => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));

/** Prometheus 2.42's Accept header on a scrape. */
const PROMETHEUS_ACCEPT =
  'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';

describe('OpenMetrics', () => {
  it.each([
    [undefined, 'prometheus'],
    ['', 'prometheus'],
    ['*/*', 'prometheus'],
    ['text/plain', 'prometheus'],
    [PROMETHEUS_ACCEPT, 'openmetrics'],
    ['application/openmetrics-text', 'openmetrics'],
    ['application/openmetrics-text;q=0.2, text/plain;q=0.9', 'prometheus'],
    ['text/plain;q=0.2, application/openmetrics-text;version=1.0.0', 'openmetrics'],
    ['application/json', 'prometheus'],
  ] as const)('Accept %j gets the %s format', (accept, format) => {
    expect(negotiateExposition(accept)).toBe(format);
  });

  it('writes the same samples as the text format, framed as OpenMetrics 1.0', async () => {
    const metrics = populated();
    const text = await metrics.render();
    const om = await metrics.render('openmetrics');
    // Process metrics change between two renders: compare the families Vigil writes.
    const ours = (t: string) => samples(t).filter((l) => /^(probe_|vigil_)/.test(l));
    expect(ours(om)).toEqual(ours(text));
    expect(om.endsWith('\n# EOF\n')).toBe(true);
    expect(om.split('\n').slice(0, -1)).not.toContain('');
    expect(om).toContain('# TYPE vigil_probes counter\nvigil_probes_total{');
    expect(om).toContain('# TYPE vigil_action_runs counter\n');
    expect(om).toContain('vigil_action_runs_total{action="restart",result="succeeded"} 1');
    expect(om).toContain('# TYPE process_cpu_seconds counter\nprocess_cpu_seconds_total ');
    expect(om).toContain('# TYPE vigil_scheduler_lag_seconds histogram\n');
    expect(om).not.toMatch(/^# TYPE \S+_total counter$/m);
    // The text format is unchanged by an OpenMetrics render before it (prom-client's own OpenMetrics
    // mode would have renamed its counters in place).
    expect(await metrics.render()).toMatch(/^# TYPE vigil_action_runs_total counter$/m);
  });

  describe('over HTTP', () => {
    let store: Store;
    let app: FastifyInstance;
    beforeAll(async () => {
      store = await openStore(':memory:');
      app = await createApi({ hub: createTestHub(store, []), metrics: populated('default') });
    });
    afterAll(async () => {
      await app.close();
      await store.close();
    });

    it('answers Prometheus’ Accept with OpenMetrics, and curl’s with the text format', async () => {
      const om = await app.inject({ url: '/metrics', headers: { accept: PROMETHEUS_ACCEPT } });
      expect(om.headers['content-type']).toBe('application/openmetrics-text; version=1.0.0; charset=utf-8');
      expect(om.headers.vary).toBe('Accept');
      expect(om.body.endsWith('# EOF\n')).toBe(true);
      const text = await app.inject({ url: '/metrics', headers: { accept: '*/*' } });
      expect(text.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
      expect(text.body).not.toContain('# EOF');
    });
  });
});

const hasPrometheus = spawnSync('prometheus', ['--version']).error === undefined;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describeWith(
  hasPrometheus,
  'prometheus (Debian package prometheus)',
  'OpenMetrics scraped by Prometheus',
  () => {
    let store: Store;
    let app: FastifyInstance;
    let prometheus: ChildProcess | undefined;
    let dir: string;
    const seen: Array<{ accept: string | undefined }> = [];
    let promUrl: string;

    beforeAll(async () => {
      dir = mkdtempSync(join(tmpdir(), 'vigil-openmetrics-'));
      store = await openStore(':memory:');
      app = await createApi({ hub: createTestHub(store, []), metrics: populated('detail') });
      app.addHook('onRequest', async (request) => {
        if (request.url === '/metrics') seen.push({ accept: request.headers.accept });
      });
      const hubUrl = new URL(await app.listen({ host: '127.0.0.1', port: 0 }));
      writeFileSync(
        join(dir, 'prometheus.yml'),
        `global: { scrape_interval: 1s, scrape_timeout: 1s }\nscrape_configs:\n  - job_name: vigil\n    static_configs: [{ targets: ["${hubUrl.host}"] }]\n`,
      );
      const port = await freePort();
      promUrl = `http://127.0.0.1:${port}`;
      prometheus = spawn(
        'prometheus',
        [
          `--config.file=${join(dir, 'prometheus.yml')}`,
          `--storage.tsdb.path=${join(dir, 'data')}`,
          `--web.listen-address=127.0.0.1:${port}`,
        ],
        { stdio: 'ignore' },
      );
    }, 120_000);

    afterAll(async () => {
      prometheus?.kill('SIGTERM');
      if (prometheus && prometheus.exitCode === null) await new Promise((r) => prometheus?.once('exit', r));
      await app?.close();
      await store?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    async function query(
      promql: string,
    ): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
      const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(promql)}`);
      const body = (await res.json()) as {
        data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> };
      };
      return body.data.result;
    }

    it('takes the OpenMetrics answer: the target is up and the counters keep their _total', {
      timeout: 60_000,
    }, async () => {
      await vi.waitFor(
        async () => {
          const up = await query('up{job="vigil"}');
          expect(up.map((r) => r.value[1])).toEqual(['1']);
        },
        { timeout: 50_000, interval: 500 },
      );
      expect(seen[0]?.accept).toContain('application/openmetrics-text');
      const probes = await query('vigil_probes_total{target="credit-scorer"}');
      expect(probes.map((r) => r.value[1])).toEqual(['2']);
      const state = await query('vigil_check_state');
      expect(state.map((r) => r.metric.state)).toEqual(['unhealthy']);
      const histogram = await query('vigil_probe_latency_seconds_count');
      expect(histogram.map((r) => r.value[1])).toEqual(['2']);
      const lag = await query('vigil_scheduler_lag_seconds_count');
      expect(lag.map((r) => r.value[1])).toEqual(['1']);
    });
  },
);
