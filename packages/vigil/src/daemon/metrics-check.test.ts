/**
 * A `checks.metrics` block run by the real hub (`runHub`: config file, scheduler, store, API, alerting)
 * against a loopback server that exposes vLLM's metrics: the check turns unhealthy when the queue grows,
 * degraded when the KV cache fills, unhealthy on a counter's rate (the hub keeps the previous total
 * between probes), healthy again each time; the alerts reach a webhook and resolve.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runHub } from './hub.js';

/** What the fake vLLM exposes; the test changes it. */
const gauges = { waiting: 0, kv: 0.2, aborts: 0, abortsPerScrape: 0 };
const exposition = () =>
  [
    '# HELP vllm:num_requests_waiting Number of requests waiting to be processed.',
    '# TYPE vllm:num_requests_waiting gauge',
    `vllm:num_requests_waiting{engine="0",model_name="m"} ${gauges.waiting}`,
    '# HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.',
    '# TYPE vllm:kv_cache_usage_perc gauge',
    `vllm:kv_cache_usage_perc{engine="0",model_name="m"} ${gauges.kv}`,
    '# TYPE vllm:request_success_total counter',
    `vllm:request_success_total{engine="0",finished_reason="abort",model_name="m"} ${gauges.aborts}`,
    `vllm:request_success_total{engine="0",finished_reason="stop",model_name="m"} 1000`,
    '',
  ].join('\n');

interface Notification {
  status: 'firing' | 'resolved';
  alerts: Array<{ status: string; labels: Record<string, string> }>;
}

let dir: string;
let engine: http.Server;
let engineUrl: string;
let hook: http.Server;
let hookUrl: string;
const notifications: Notification[] = [];
let hubUrl: string;
let stop: (() => Promise<void>) | undefined;

async function listen(server: http.Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigil-metrics-hub-'));
  engine = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end();
      return;
    }
    gauges.aborts += gauges.abortsPerScrape;
    res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
    res.end(exposition());
  });
  engineUrl = await listen(engine);
  hook = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      notifications.push(JSON.parse(body) as Notification);
      res.writeHead(200).end();
    });
  });
  hookUrl = await listen(hook);
  const file = join(dir, 'vigil.yaml');
  writeFileSync(
    file,
    `
targets:
  - name: llm
    url: "${engineUrl}"
    protocol: openai
    model: m
    checks:
      metrics:
        preset: vllm
        interval: 500ms
        timeout: 450ms
        failureThreshold: 2
        fastInterval: false
        rules:
          - { metric: "vllm:request_success_total", labels: { finished_reason: abort }, kind: rate, failed: 5 }
alerting:
  routes: [{ notify: [hook], group_wait: 0s, group_interval: 50ms }]
  notifiers: { hook: { type: webhook, url: "${hookUrl}" } }
`,
  );
  let url: string;
  ({ url, stop } = await runHub({
    config: file,
    port: 0,
    host: '127.0.0.1',
    store: ':memory:',
    logLevel: 'silent',
  }));
  hubUrl = url;
});

afterAll(async () => {
  await stop?.();
  await new Promise((resolve) => engine.close(resolve));
  await new Promise((resolve) => hook.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

interface Status {
  checkId: string;
  state: string;
  lastResult?: {
    check: string;
    outcome: string;
    failures: Array<{ message: string }>;
    error?: { code: string };
  };
}

async function status(): Promise<Status> {
  const body = (await (await fetch(`${hubUrl}/api/v1/status`)).json()) as { checks: Status[] };
  const check = body.checks.find((c) => c.checkId === 'llm/metrics');
  if (check === undefined) throw new Error('llm/metrics is not in the status');
  return check;
}

/**
 * Waits (bounded, generous: a loaded machine) until the check is in `state`, its last failure matching
 * `why` if given (not a timeout of a loaded machine), and returns its status.
 */
async function until(state: string, why?: RegExp): Promise<Status> {
  let last: Status | undefined;
  await vi.waitFor(
    async () => {
      last = await status();
      expect(last.state).toBe(state);
      if (why !== undefined) expect(last.lastResult?.failures[0]?.message).toMatch(why);
    },
    { timeout: 30_000, interval: 50 },
  );
  return last as Status;
}

describe('a metrics check in the hub', () => {
  it('turns unhealthy when the queue grows, degraded when the KV cache fills, unhealthy on a rate, healthy again', async () => {
    const healthy = await until('healthy');
    expect(healthy.lastResult?.check).toBe('metrics');

    // The queue grows past the vLLM preset's failed bound (100).
    gauges.waiting = 250;
    await until('unhealthy', /^vllm:num_requests_waiting 250 ≥ failed threshold 100/);
    await vi.waitFor(
      () =>
        expect(
          notifications.some(
            (n) => n.status === 'firing' && n.alerts.some((a) => a.labels.check === 'metrics'),
          ),
        ).toBe(true),
      { timeout: 30_000, interval: 50 },
    );
    const alerts = (await (await fetch(`${hubUrl}/api/v1/alerts`)).json()) as {
      alerts: Array<{ labels: Record<string, string> }>;
    };
    expect(alerts.alerts.map((a) => a.labels.check)).toContain('metrics');

    gauges.waiting = 0;
    await until('healthy');
    await vi.waitFor(() => expect(notifications.some((n) => n.status === 'resolved')).toBe(true), {
      timeout: 30_000,
      interval: 50,
    });

    // The KV cache saturates past the degraded bound (0.9), below the failed one (0.99).
    gauges.kv = 0.95;
    await until('degraded', /^vllm:kv_cache_usage_perc 0\.9500 ≥ degraded threshold 0\.9/);
    gauges.kv = 0.3;
    await until('healthy');

    // Aborts climb by 100 a scrape (every 0.5 s: about 200 a second, over the bound of 5): the rate
    // needs the previous probe's total, which the hub's runner kept.
    gauges.abortsPerScrape = 100;
    await until(
      'unhealthy',
      /^rate\(vllm:request_success_total\{finished_reason="abort"\}\) \S+ ≥ failed threshold 5/,
    );
    gauges.abortsPerScrape = 0;
    await until('healthy');
  }, 180_000);
});
