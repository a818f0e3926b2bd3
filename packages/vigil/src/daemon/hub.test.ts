/**
 * runHub in process: the loader validates notifier blocks and builds nothing; the hub builds each
 * notifier once at start, and again only on a reload that changes the alerting section.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { webhookPlugin } from '../alerting/notifiers/webhook.js';
import { startFakeApiServer } from '../discovery/fakes/api-server.js';
import { runHub } from './hub.js';

/** A config whose one check never comes due during the test, with a webhook notifier at `hookUrl`. */
function config(targetName: string, hookUrl: string): string {
  return `
targets:
  - { name: ${targetName}, url: "http://127.0.0.1:9", protocol: http, initialDelay: 1h, interval: 1h }
alerting:
  routes: [{ notify: [hook] }]
  notifiers: { hook: { type: webhook, url: "${hookUrl}" } }
`;
}

/** Starts `vigil run` in process on `file`: a free port, an in-memory store, no logs. */
const startHub = (file: string) =>
  runHub({ config: file, port: 0, host: '127.0.0.1', store: ':memory:', logLevel: 'silent' });

/** The check ids the hub's API lists. */
async function checkIds(url: string): Promise<string[]> {
  const body = (await (await fetch(`${url}/api/v1/status`)).json()) as { checks: { checkId: string }[] };
  return body.checks.map((check) => check.checkId);
}

describe('runHub', () => {
  let dir: string | undefined;
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
    stop = undefined;
    vi.restoreAllMocks();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('builds each notifier once, and again only when a reload changes alerting', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-daemon-'));
    const file = join(dir, 'vigil.yaml');
    writeFileSync(file, config('a', 'http://127.0.0.1:9/first'));
    const create = vi.spyOn(webhookPlugin, 'create');

    let url: string;
    ({ url, stop } = await startHub(file));
    expect(create).toHaveBeenCalledTimes(1);

    // A reload that changes only the targets keeps the notifiers. Reloads run one after another, so once
    // the API shows the new target, a later reload sees this one's outcome.
    writeFileSync(file, config('b', 'http://127.0.0.1:9/first'));
    process.emit('SIGHUP');
    await vi.waitFor(
      async () => {
        expect(await checkIds(url)).toEqual(['b/liveness']);
      },
      { timeout: 10_000, interval: 20 },
    );
    writeFileSync(file, config('b', 'http://127.0.0.1:9/second'));
    process.emit('SIGHUP');
    await vi.waitFor(() => expect(create).toHaveBeenCalledTimes(2), { timeout: 10_000, interval: 20 });
    expect(create.mock.calls.map(([name, block]) => [name, block.url])).toEqual([
      ['hook', 'http://127.0.0.1:9/first'],
      ['hook', 'http://127.0.0.1:9/second'],
    ]);
  });

  it("runs discovered targets beside the file's, and follows the watch stream (same plan update as a reload)", async () => {
    const api = await startFakeApiServer();
    try {
      const path = '/api/v1/namespaces/ml/services';
      const svc = (name: string) => ({
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name, namespace: 'ml', annotations: { 'vigil.dev/protocol': 'http' } },
        spec: { ports: [{ port: 9 }] },
      });
      api.setList(path, [svc('one')]);
      dir = mkdtempSync(join(tmpdir(), 'vigil-daemon-'));
      const file = join(dir, 'vigil.yaml');
      writeFileSync(
        file,
        `defaults: { initialDelay: 1h, interval: 1h }
targets:
  - { name: a, url: "http://127.0.0.1:9", protocol: http }
discovery:
  kubernetes: { namespaces: [ml], kubeconfig: "${api.kubeconfig}", services: { selector: "vigil.dev/probe=true" } }
`,
      );
      let url: string;
      ({ url, stop } = await startHub(file));
      const checks = async () => (await checkIds(url)).sort();
      await vi.waitFor(async () => expect(await checks()).toEqual(['a/liveness', 'ml.one/liveness']), {
        timeout: 10_000,
        interval: 20,
      });
      api.event(path, 'ADDED', svc('two'));
      api.event(path, 'DELETED', svc('one'));
      await vi.waitFor(async () => expect(await checks()).toEqual(['a/liveness', 'ml.two/liveness']), {
        timeout: 10_000,
        interval: 20,
      });
    } finally {
      await stop?.();
      stop = undefined;
      await api.close();
    }
  });
});
