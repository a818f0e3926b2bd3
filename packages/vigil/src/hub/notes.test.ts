/**
 * An adapter's notes (conditions that do not decide the verdict, issue #15) are kept with the result and
 * shown: in the hub's status (`lastResult.notes`), the API's check detail and results, and the store.
 * Through a real hub and API against the two-model Triton fake, one of whose models is broken: the
 * good model's readiness passes, the server-wide "not ready" is its note; with a target per model, the
 * good one is healthy, the broken one unhealthy for its own model-ready answer, and the server-wide
 * condition is reported once (on the good target only, never as the broken one's failure).
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApi } from '../api/index.js';
import { parseConfig } from '../config/index.js';
import { createOipFake, type OipFake } from '../protocols/fakes/oip.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { ProbeResult } from '../types.js';
import { createHub, type Hub } from './hub.js';

let triton: OipFake;
let store: Store;
let hub: Hub;

beforeEach(async () => {
  triton = await createOipFake({ flavour: 'triton' });
  store = await openStore(':memory:');
});

afterEach(async () => {
  await hub?.stop();
  await store.close();
  await triton.close();
});

describe('notes of a result', () => {
  it('are stored and shown in the check detail and results, for a passing check', async () => {
    const loaded = parseConfig(
      [
        'targets:',
        '  - name: good',
        `    url: ${triton.url}`,
        '    protocol: oip-v2',
        '    model: good',
        '    checks: { readiness: { interval: 5s, timeout: 1s } }',
      ].join('\n'),
      { baseDir: '/', env: {} },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    hub = createHub({ plan: loaded.plan, store, flushIntervalMs: 10 });
    const first = new Promise<ProbeResult>((resolve) => {
      const off = hub.subscribe((event) => {
        if (event.type === 'result') {
          off();
          resolve(event.result);
        }
      });
    });
    await hub.start();
    const result = await first;
    expect(result.outcome).toBe('pass');
    expect(result.notes).toEqual([
      expect.stringMatching(/^server-wide readiness: GET \/v2\/health\/ready answered 400/),
    ]);

    const api = await createApi({ hub });
    const detail = (await api.inject({ method: 'GET', url: '/api/v1/checks/good%2Freadiness' })).json();
    expect(detail.status.state).toBe('healthy');
    expect(detail.status.lastResult.notes).toEqual(result.notes);

    await hub.flush();
    const stored = (
      await api.inject({ method: 'GET', url: '/api/v1/checks/good%2Freadiness/results' })
    ).json();
    expect(stored.results.map((r: ProbeResult) => r.notes)).toEqual([result.notes]);
    await api.close();
  });

  it("with both models' targets: the good one healthy with the server-wide condition once, the broken one unhealthy for its own reason", async () => {
    const loaded = parseConfig(
      [
        'defaults: { failureThreshold: 1 }',
        'targets:',
        ...['good', 'broken'].flatMap((model) => [
          `  - name: ${model}`,
          `    url: ${triton.url}`,
          '    protocol: oip-v2',
          `    model: ${model}`,
          '    checks: { readiness: { interval: 5s, timeout: 1s } }',
        ]),
      ].join('\n'),
      { baseDir: '/', env: {} },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    hub = createHub({ plan: loaded.plan, store, flushIntervalMs: 10 });
    const firsts = new Map<string, ProbeResult>();
    const both = new Promise<void>((resolve) => {
      const off = hub.subscribe((event) => {
        if (event.type !== 'result' || firsts.has(event.result.checkId)) return;
        firsts.set(event.result.checkId, event.result);
        if (firsts.size === 2) {
          off();
          resolve();
        }
      });
    });
    await hub.start();
    await both;
    await hub.flush();

    const api = await createApi({ hub });
    const read = async (checkId: string) => {
      const id = encodeURIComponent(checkId);
      const detail = (await api.inject({ method: 'GET', url: `/api/v1/checks/${id}` })).json();
      const results = (await api.inject({ method: 'GET', url: `/api/v1/checks/${id}/results` })).json();
      return { detail, results: results.results as ProbeResult[] };
    };
    const good = await read('good/readiness');
    const broken = await read('broken/readiness');
    await api.close();

    expect(good.detail.status.state).toBe('healthy');
    expect(good.detail.status.lastResult.outcome).toBe('pass');
    expect(broken.detail.status.state).toBe('unhealthy');
    expect(broken.detail.status.lastResult.failures).toEqual([
      expect.objectContaining({
        assertion: 'protocol',
        message: expect.stringMatching(
          /^model "broken" not ready or not loaded \(Triton answers so for both\): GET \/v2\/models\/broken\/ready answered 400/,
        ),
      }),
    ]);
    expect(broken.results[0]?.notes).toBeUndefined();

    // Every sentence either target's result carries, in the hub's view and in the store: the
    // server-wide route appears in exactly one of them, the good target's note.
    const sentences = [good, broken].flatMap(({ detail, results }) =>
      [detail.status.lastResult as ProbeResult, ...results].flatMap((r) => [
        ...(r.notes ?? []),
        ...r.failures.map((f) => f.message),
        ...(r.error === undefined ? [] : [r.error.message]),
      ]),
    );
    const serverWide = sentences.filter((s) => s.includes('/v2/health/ready'));
    expect(new Set(serverWide)).toEqual(
      new Set([expect.stringMatching(/^server-wide readiness: GET \/v2\/health\/ready answered 400/)]),
    );
    // Once per place it is shown (the hub's last result and the stored result), and only on "good".
    expect(good.detail.status.lastResult.notes).toHaveLength(1);
    expect(good.results.map((r) => r.notes)).toEqual([good.detail.status.lastResult.notes]);
    expect(serverWide).toHaveLength(2);
  });
});
