/**
 * The router against real upstreams on loopback: example model servers with their faults (crash,
 * hang, latency, 500s), plus small node:http servers for what a model server does not do (a
 * server-sent event stream, a trickling body).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ModelServer } from '@vigil/example-model-server';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  CREDIT_BODY,
  CREDIT_PATH,
  infer,
  setFault,
  startModelServer,
  startTestRouter,
  type TestRouter,
  testPlan,
} from './testing.js';

const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function model(): Promise<{ server: ModelServer; url: string }> {
  const m = await startModelServer();
  cleanup.push(() => m.server.close());
  return m;
}

async function router(...args: Parameters<typeof testPlan>): Promise<TestRouter> {
  const r = await startTestRouter(testPlan(...args));
  cleanup.push(() => r.router.close());
  return r;
}

async function plainServer(
  handler: Parameters<typeof createServer>[1],
): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

let fallbackDir: string;
beforeAll(() => {
  fallbackDir = mkdtempSync(join(tmpdir(), 'vigil-router-fallback-'));
  // A rule-based credit score from the same features: the heuristic a real route would fall back to.
  writeFileSync(
    join(fallbackDir, 'heuristic.mjs'),
    `export default function score(request) {
  const features = JSON.parse(request.body.toString()).inputs[0].data;
  const p = features[4] > 0.8 ? 0.7 : 0.2;
  return { headers: { 'x-heuristic': request.reason }, body: { outputs: [{ name: 'probability', shape: [1, 1], datatype: 'FP32', data: [p] }] } };
}
`,
  );
});

/** Resolves once `condition()` holds (polled every 10 ms), or fails after `timeoutMs`. */
async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${condition}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** Runs `workers` loops of inferences until `stop()` resolves; returns every answer. */
function load(url: string, workers: number, stop: Promise<unknown>) {
  const answers: Array<{ status: number; servedBy: string | null }> = [];
  let stopped = false;
  void stop.then(() => {
    stopped = true;
  });
  const loops = Array.from({ length: workers }, async () => {
    while (!stopped) {
      const a = await infer(url).catch((error: Error) => ({ status: 0, servedBy: error.message, body: '' }));
      answers.push({ status: a.status, servedBy: a.servedBy });
    }
  });
  return Promise.all(loops).then(() => answers);
}

describe('router data path', () => {
  it('forwards method, path, query, body and headers, streams the answer back and says who served it', async () => {
    const seen: Array<{ method?: string; url?: string; body: string; headers: Record<string, unknown> }> = [];
    const up = await plainServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => {
        body += c.toString();
      });
      req.on('end', () => {
        seen.push({ method: req.method, url: req.url, body, headers: req.headers });
        res.writeHead(201, { 'content-type': 'text/plain', 'x-up': '1', connection: 'keep-alive' });
        res.end(`got ${body}`);
      });
    });
    const r = await router([up.url]);
    const res = await fetch(`${r.url}/a/b?c=d`, {
      method: 'PUT',
      body: 'payload',
      headers: { 'x-client': 'yes', connection: 'keep-alive' },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get('x-vigil-served-by')).toBe('primary');
    expect(res.headers.get('x-up')).toBe('1');
    expect(await res.text()).toBe('got payload');
    expect(seen).toMatchObject([
      {
        method: 'PUT',
        url: '/a/b?c=d',
        body: 'payload',
        headers: { 'x-client': 'yes', 'content-length': '7' },
      },
    ]);
  });

  it('a crashed primary costs no idempotent request: replayed on the secondary, then ejected', async () => {
    const primary = await model();
    const secondary = await model();
    await setFault(primary.url, 'latency', { ms: 20 });
    const r = await router([primary.url, secondary.url], { deadlineMs: 2000, failoverAtMs: 1500 });
    let crashed!: () => void;
    const done = new Promise<void>((resolve) => {
      crashed = resolve;
    });
    const running = load(
      r.url,
      4,
      done.then(() => r.logged(/eject a/)).then(() => new Promise((s) => setTimeout(s, 200))),
    );
    // Some answers from the primary first (waited for, not slept on: a loaded machine may take
    // longer than any fixed pause), then it dies with requests in flight.
    for (let i = 0; i < 2000 && !r.observations.some((o) => o.target === 'a' && o.outcome === 'pass'); i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    await setFault(primary.url, 'crash');
    crashed();
    const answers = await running;
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    expect(answers.some((a) => a.servedBy === 'primary')).toBe(true);
    expect(answers.at(-1)?.servedBy).toBe('secondary');
    expect(r.router.status().upstreams[0]).toMatchObject({ name: 'a', ejected: true });
    const failures = r.observations.filter((o) => o.outcome === 'fail');
    expect(failures.length).toBeGreaterThanOrEqual(5);
    for (const f of failures) expect(['CONNECTION_REFUSED', 'CONNECTION_RESET']).toContain(f.error?.code);
  });

  it('a hanging primary: hedges answer from the secondary within the deadline', async () => {
    const primary = await model();
    const secondary = await model();
    await setFault(primary.url, 'hang');
    const r = await router([primary.url, secondary.url], {
      deadlineMs: 1500,
      failoverAtMs: 1000,
      hedgeAfterMs: 50,
      hedgeMaxShare: 1,
    });
    for (let i = 0; i < 5; i++) {
      const a = await infer(r.url);
      expect(a).toMatchObject({ status: 200, servedBy: 'secondary' });
    }
    const text = await r.metrics.render();
    expect(text).toMatch(/vigil_router_hedges_total\{router="r",upstream="b"\} 5/);
  });

  it('a hanging primary without hedging: the fallback answers at the deadline, then the primary is ejected', async () => {
    const primary = await model();
    const secondary = await model();
    await setFault(primary.url, 'hang');
    const r = await router(
      [primary.url, secondary.url],
      { deadlineMs: 300, failoverAtMs: 250, consecutive5xx: 3 },
      { kind: 'module', path: join(fallbackDir, 'heuristic.mjs'), export: 'default' },
    );
    const first = await fetch(`${r.url}${CREDIT_PATH}`, { method: 'POST', body: CREDIT_BODY });
    expect(first.status).toBe(200);
    expect(first.headers.get('x-vigil-served-by')).toBe('fallback');
    expect(first.headers.get('x-heuristic')).toBe('deadline');
    expect(await first.json()).toEqual({
      outputs: [{ name: 'probability', shape: [1, 1], datatype: 'FP32', data: [0.7] }],
    });
    await infer(r.url);
    await infer(r.url);
    await r.logged(/eject a: 3 upstream failures in a row \(last: TIMEOUT\)/);
    expect(await infer(r.url)).toMatchObject({ status: 200, servedBy: 'secondary' });
    const text = await r.metrics.render();
    expect(text).toMatch(/vigil_router_fallbacks_total\{router="r",reason="deadline"\} 3/);
    expect(text).toMatch(/vigil_router_deadline_misses_total\{router="r"\} 3/);
  });

  it("500s eject the primary (retried on the secondary meanwhile); a client's 4xx never counts", async () => {
    const primary = await model();
    const secondary = await model();
    const r = await router([primary.url, secondary.url]);
    for (let i = 0; i < 8; i++) {
      const res = await fetch(`${r.url}${CREDIT_PATH}`, { method: 'POST', body: '{"inputs": "bad"}' });
      expect(res.status).toBe(400);
      expect(res.headers.get('x-vigil-served-by')).toBe('primary');
    }
    expect(r.router.status().upstreams[0]).toMatchObject({ ejected: false, failuresInARow: 0 });
    expect(r.observations.every((o) => o.outcome === 'pass' && o.httpStatus === 400)).toBe(true);

    await setFault(primary.url, 'errors', { status: 500 });
    const answers = [];
    for (let i = 0; i < 8; i++) answers.push(await infer(r.url));
    expect(answers.map((a) => `${a.status} ${a.servedBy}`)).toEqual(Array(8).fill('200 secondary'));
    expect(r.router.status().upstreams[0]).toMatchObject({ name: 'a', ejected: true });
    expect(await r.logged(/eject a/)).toBe(
      'router r: eject a: 5 upstream failures in a row (last: HTTP 500): ejected for 30 s',
    );
    expect(r.observations.filter((o) => o.outcome === 'fail').map((o) => o.httpStatus)).toEqual(
      Array(5).fill(500),
    );
    expect(await r.metrics.render()).toMatch(/vigil_router_ejections_total\{router="r",upstream="a"\} 1/);
  });

  it('a non-idempotent route forwards a 5xx as is when nothing else may answer', async () => {
    const primary = await model();
    await setFault(primary.url, 'errors', { status: 503 });
    const r = await router([primary.url], { idempotent: false });
    expect(await infer(r.url)).toMatchObject({ status: 503, servedBy: 'primary' });
  });

  it('the static fallback answers, marked, when every upstream is down; without one the router says 502', async () => {
    const dead = await plainServer(() => {});
    const deadUrl = dead.url;
    await new Promise<void>((resolve) => dead.server.close(() => resolve()));
    const r = await router(
      [deadUrl],
      {},
      {
        kind: 'static',
        status: 200,
        headers: { 'content-type': 'application/json' },
        body: Buffer.from('{"label":"review"}'),
      },
    );
    const res = await fetch(`${r.url}${CREDIT_PATH}`, { method: 'POST', body: CREDIT_BODY });
    expect(res.headers.get('x-vigil-served-by')).toBe('fallback');
    expect(await res.json()).toEqual({ label: 'review' });
    const bare = await router([deadUrl], {}, undefined, 'bare');
    const answer = await infer(bare.url);
    expect(answer).toMatchObject({ status: 502, servedBy: 'router' });
    expect(JSON.parse(answer.body)).toEqual({ error: 'no upstream could answer' });
    // Nothing could take it: not a deadline miss.
    expect(await bare.metrics.render()).toMatch(/vigil_router_deadline_misses_total\{router="bare"\} 0/);
  });

  it('answers 504 itself when nothing answered by the deadline and there is no fallback, and counts the miss', async () => {
    const primary = await model();
    await setFault(primary.url, 'hang');
    const r = await router([primary.url], { deadlineMs: 200, failoverAtMs: 150 });
    const answer = await infer(r.url);
    expect(answer).toMatchObject({ status: 504, servedBy: 'router' });
    const text = await r.metrics.render();
    expect(text).toMatch(/vigil_router_deadline_misses_total\{router="r"\} 1/);
    expect(text).toMatch(/vigil_router_requests_total\{router="r",served_by="router",code="5xx"\} 1/);
  });

  it('hedging respects its cap', async () => {
    const primary = await model();
    const secondary = await model();
    await setFault(primary.url, 'latency', { ms: 80 });
    const r = await router([primary.url, secondary.url], {
      hedgeAfterMs: 10,
      hedgeMaxShare: 0.2,
      failoverAtMs: 900, // no latency failover in this test
    });
    const answers = [];
    for (let i = 0; i < 40; i++) answers.push(await infer(r.url));
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const hedges = Number(
      /vigil_router_hedges_total\{router="r",upstream="b"\} (\d+)/.exec(await r.metrics.render())?.[1],
    );
    expect(hedges).toBeGreaterThan(0);
    expect(hedges).toBeLessThanOrEqual(0.2 * 40);
    // Only a hedge reaches the secondary, and a hedge may lose to the primary.
    expect(answers.filter((a) => a.servedBy === 'secondary').length).toBeLessThanOrEqual(hedges);
  });

  // The primary answers after 3 s and the budget allows no hedge (share 0): only a demotion while the
  // request waits on it sends its copy to the secondary. Two moments: the hedge already refused when
  // the demotion comes, and the hedge time after it.
  for (const [when, hedgeAfterMs, beforeDemotion] of [
    ['refused before', 20, 300],
    ['due after', 1000, 0],
  ] as const) {
    it(`a primary demoted while a request waits on it, its hedge ${when} the demotion: the copy goes beyond the budget`, async () => {
      const primary = await model();
      const secondary = await model();
      await setFault(primary.url, 'latency', { ms: 3000 });
      const r = await router([primary.url, secondary.url], {
        deadlineMs: 10_000,
        failoverAtMs: 9000,
        hedgeAfterMs,
        hedgeMaxShare: 0,
      });
      const answer = infer(r.url);
      await waitFor(() => r.router.status().upstreams[0]?.inFlight === 1);
      await new Promise((resolve) => setTimeout(resolve, beforeDemotion));
      r.router.setUpstreamState('a', 'degraded');
      expect(await answer).toMatchObject({ status: 200, servedBy: 'secondary' });
      expect(await r.metrics.render()).toMatch(/vigil_router_hedges_total\{router="r",upstream="b"\} 1/);
      // A request after the demotion goes to the secondary itself: no hedge.
      expect(await infer(r.url)).toMatchObject({ status: 200, servedBy: 'secondary' });
      expect(await r.metrics.render()).toMatch(/vigil_router_hedges_total\{router="r",upstream="b"\} 1/);
    });
  }

  it('passes a server-sent event stream through byte for byte, as it comes', async () => {
    const events = [
      'retry: 1000\n\n',
      'id: 1\ndata: {"token":"Hel"}\n\n',
      'data: lo\r\n\r\n',
      ': comment\n\n',
      'data: [DONE]\n\n',
    ];
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const up = await plainServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(events[0]);
      res.write((events[1] as string).slice(0, 7));
      // The rest only once the client has seen the first bytes: proof that nothing buffers the stream.
      void released.then(async () => {
        res.write((events[1] as string).slice(7));
        for (const e of events.slice(2)) {
          await new Promise((resolve) => setTimeout(resolve, 5));
          res.write(e);
        }
        res.end();
      });
    });
    const r = await router([up.url]);
    const received = await new Promise<{ headers: Record<string, unknown>; bytes: Buffer }>(
      (resolve, reject) => {
        const req = httpRequest(`${r.url}/v1/completions`, { method: 'GET' }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => {
            chunks.push(c);
            if (chunks.length === 1) release();
          });
          res.on('end', () => resolve({ headers: res.headers, bytes: Buffer.concat(chunks) }));
          res.on('error', reject);
        });
        req.on('error', reject);
        req.end();
      },
    );
    expect(received.headers['content-type']).toBe('text/event-stream');
    expect(received.headers['x-vigil-served-by']).toBe('primary');
    expect(received.bytes.equals(Buffer.from(events.join('')))).toBe(true);
  });

  it('a hostile upstream (hang, trickle) on one router does not slow another router', async () => {
    const trickles: Array<() => void> = [];
    const hostile = await plainServer((req, res) => {
      if (req.url === '/hang') return; // accepts, never answers
      res.writeHead(200, { 'content-type': 'text/plain' });
      const timer = setInterval(() => res.write('.'), 50);
      trickles.push(() => {
        clearInterval(timer);
        res.end();
      });
    });
    const healthy = await model();
    const bad = await router([hostile.url], { deadlineMs: 30_000, failoverAtMs: 20_000 }, undefined, 'bad');
    const good = await router([healthy.url], {}, undefined, 'good');
    const pending = [
      ...Array.from({ length: 50 }, () => fetch(`${bad.url}/hang`).catch(() => undefined)),
      ...Array.from({ length: 50 }, () =>
        fetch(`${bad.url}/trickle`)
          .then((res) => res.text())
          .catch(() => undefined),
      ),
    ];
    let badSettled = 0;
    for (const p of pending) void p.then(() => badSettled++);
    await waitFor(() => bad.router.status().upstreams[0]?.inFlight === 100 && trickles.length === 50);
    for (let i = 0; i < 20; i++)
      expect(await infer(good.url)).toMatchObject({ status: 200, servedBy: 'primary' });
    expect(badSettled).toBe(0);
    expect(bad.router.status().upstreams[0]?.inFlight).toBe(100);
    // The hostile upstream goes away: its hung requests get a 502, its trickles end cut short.
    hostile.server.closeAllConnections();
    await Promise.all(pending);
    // The router's own bookkeeping ends just after the client sees its answer cut.
    await waitFor(() => bad.router.status().upstreams[0]?.inFlight === 0);
  });

  it('returns traffic to the primary gradually, with no failed request, once it is healthy again', async () => {
    const primary = await model();
    const secondary = await model();
    const r = await router([primary.url, secondary.url], { healthyForMs: 200, returnSteps: [0.25, 0.5, 1] });
    r.router.setUpstreamState('a', 'unhealthy');
    expect(await infer(r.url)).toMatchObject({ servedBy: 'secondary' });
    r.router.setUpstreamState('a', 'healthy');
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const running = load(r.url, 2, stopped);
    await r.logged(/step a: the primary is back: all traffic/);
    stop();
    const answers = await running;
    expect(answers.filter((a) => a.status !== 200)).toEqual([]);
    const steps = r.logs.filter((l) => l.fields?.decision === 'step').map((l) => l.fields?.share);
    expect(steps).toEqual([0.25, 0.5, 1]);
    // The secondary served while the primary was on its way back.
    expect(answers.some((a) => a.servedBy === 'secondary')).toBe(true);
    expect(answers.some((a) => a.servedBy === 'primary')).toBe(true);
  });

  it('a latency ramp on the primary moves traffic to the secondary before the deadline is reached', async () => {
    const primary = await model();
    const secondary = await model();
    const r = await router([primary.url, secondary.url], {
      deadlineMs: 400,
      failoverAtMs: 150,
      windowMs: 5000,
      healthyForMs: 60_000,
    });
    const answers: Array<{ status: number; servedBy: string | null }> = [];
    for (const ms of [20, 60, 100, 140, 180, 220, 250]) {
      await setFault(primary.url, 'latency', { ms });
      for (let i = 0; i < 6; i++) answers.push(await infer(r.url));
    }
    expect(answers.every((a) => a.status === 200)).toBe(true);
    expect(answers.some((a) => a.servedBy === 'fallback')).toBe(false);
    expect(await r.logged(/demote a/)).toMatch(
      /^router r: demote a: p95 \d+ ms over 5 s ≥ failoverAt 150 ms$/,
    );
    expect(answers.slice(-6).every((a) => a.servedBy === 'secondary')).toBe(true);
    expect(answers.slice(0, 6).every((a) => a.servedBy === 'primary')).toBe(true);
  });

  it('the hub states: unhealthy drains the primary, degraded demotes it, an operator drain wins over both', async () => {
    const primary = await model();
    const secondary = await model();
    const r = await router([primary.url, secondary.url]);
    expect(r.router.setUpstreamState('a', 'degraded')).toBe(true);
    expect(r.router.setUpstreamState('zzz', 'degraded')).toBe(false);
    expect(await infer(r.url)).toMatchObject({ servedBy: 'secondary' });
    r.router.setDrained('b', true);
    // No secondary left: the degraded primary is better than nothing.
    expect(await infer(r.url)).toMatchObject({ status: 200, servedBy: 'primary' });
    await r.logged(/demote a: the hub judges it degraded/);
  });

  it('reloads without dropping a request in flight, and moves to a new address', async () => {
    let finish: (() => void) | undefined;
    const slow = await plainServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.write('a');
      finish = () => res.end('b');
    });
    const other = await model();
    const r = await router([slow.url]);
    const oldUrl = r.url;
    const inFlight = fetch(`${oldUrl}/x`).then((res) => res.text());
    await waitFor(() => finish !== undefined);
    await r.router.update({ ...testPlan([other.url]), host: '127.0.0.2' });
    expect(r.router.url).not.toBe(oldUrl);
    finish?.();
    expect(await inFlight).toBe('ab');
    expect(await infer(r.router.url)).toMatchObject({ status: 200, servedBy: 'primary' });
  });
});
