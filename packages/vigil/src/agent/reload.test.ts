/**
 * A config change reaches a running agent: `vigil run` in process (its file watcher reloads the
 * config), an agent polling the hub's plan, and a model fake with one path per target. The reload
 * adds a check to the agent's region and removes one from it: the agent starts probing the new one
 * and never probes the removed one again, without a restart.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runHub } from '../daemon/hub.js';
import { createHttpFake, type HttpFake } from '../protocols/fakes/http.js';
import type { HttpClient } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { type Agent, createAgent } from './agent.js';
import { waitFor } from './testing.js';

const TOKEN = 'eu-token-0123456789abcdef';

/** A client that counts the probes sent per URL path (a target's liveness probes `<url>/`). */
function countingClient(): HttpClient & { sent: Map<string, number> } {
  const inner = createHttpClient({ keepAlive: true });
  const sent = new Map<string, number>();
  return {
    sent,
    request(request) {
      const path = new URL(request.url).pathname;
      sent.set(path, (sent.get(path) ?? 0) + 1);
      return inner.request(request);
    },
    close: () => inner.close(),
  };
}

/** The hub's config: target `a` probed from eu or only locally, target `b` from eu or not at all. */
const config = (url: string, { a, b }: { a: string[]; b: boolean }) => `agents:
  regions:
    eu: { token: "${TOKEN}" }
defaults: { interval: 100ms, timeout: 80ms }
targets:
  - name: a
    url: ${url}/a
    protocol: http
    regions: [${a.join(', ')}]
    checks: { liveness: {} }
${
  b
    ? `  - name: b
    url: ${url}/b
    protocol: http
    regions: [eu]
    checks: { liveness: {} }
`
    : ''
}`;

describe('a config change reaches a running agent', () => {
  let dir: string;
  let model: HttpFake | undefined;
  let agent: Agent | undefined;
  let stopHub: (() => Promise<void>) | undefined;

  afterEach(async () => {
    await agent?.stop();
    await stopHub?.();
    await model?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('probes a check added to its region and stops probing the one removed, without a restart', async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-agent-reload-'));
    model = await createHttpFake();
    model.state.routes['GET /a/'] = { status: 200, json: { status: 'ok' } };
    model.state.routes['GET /b/'] = { status: 200, json: { status: 'ok' } };
    const file = join(dir, 'vigil.yaml');
    writeFileSync(file, config(model.url, { a: ['eu'], b: false }));
    const hub = await runHub({
      config: file,
      port: 0,
      host: '127.0.0.1',
      store: ':memory:',
      logLevel: 'silent',
    });
    stopHub = hub.stop;
    const client = countingClient();
    agent = createAgent({
      hubUrl: hub.url,
      region: 'eu',
      token: TOKEN,
      spoolPath: ':memory:',
      client,
      pushIntervalMs: 100,
      pollIntervalMs: 200,
    });
    await agent.start();
    await waitFor('the agent probing a', () => (client.sent.get('/a/') ?? 0) >= 3);
    expect(client.sent.get('/b/')).toBeUndefined();

    // The reload: a leaves eu (the hub probes it locally now), b joins it.
    writeFileSync(file, config(model.url, { a: ['local'], b: true }));
    await waitFor('the agent probing b', () => (client.sent.get('/b/') ?? 0) >= 1);
    const aBefore = client.sent.get('/a/');
    // Long enough for several of a's intervals to pass: a would have been probed again by now.
    await waitFor('b probed 5 more times', () => (client.sent.get('/b/') ?? 0) >= 6);
    expect(client.sent.get('/a/')).toBe(aBefore);
    expect(agent.stats().checks).toBe(1);
    // The hub has eu's results of b, so the new check is judged from there.
    const status = (await (await fetch(`${hub.url}/api/v1/status`)).json()) as {
      checks: { checkId: string; region: string }[];
    };
    expect(status.checks.filter((c) => c.region === 'eu').map((c) => c.checkId)).toEqual(['b/liveness']);
  }, 240_000);
});
