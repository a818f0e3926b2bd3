/**
 * An adapter's notes (conditions that do not decide the verdict, issue #15) are kept with the result and
 * shown: in the hub's status (`lastResult.notes`), the API's check detail and results, and the store.
 * Through a real hub and API against the two-model Triton fake, one of whose models is broken: the
 * good model's readiness passes, the server-wide "not ready" is its note.
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
});
