import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { failedResult, probeResult, T0 } from '../store/fixtures/data.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { FlapEvent, Transition } from '../types.js';
import { createApi } from './index.js';
import { createTestHub, type TestHub } from './test-hub.js';

/** One SSE block: its fields (a repeated field keeps the last) and comment lines. */
interface Frame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  comments: string[];
}

/** Reads SSE frames from a fetch body, one at a time. */
function sseReader(body: ReadableStream<Uint8Array>): { next(): Promise<Frame | null> } {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  return {
    async next() {
      for (;;) {
        const end = buffer.indexOf('\n\n');
        if (end >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const frame: Frame = { comments: [] };
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) frame.comments.push(line.slice(1).trim());
            else {
              const colon = line.indexOf(':');
              const field = line.slice(0, colon) as 'id' | 'event' | 'data' | 'retry';
              frame[field] = line.slice(colon + 1).replace(/^ /, '');
            }
          }
          return frame;
        }
        const { value, done } = await reader.read();
        if (done) return null;
        buffer += value;
      }
    },
  };
}

async function until(condition: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const transition: Transition = {
  checkId: 'credit-scorer/integrity',
  region: 'eu-west',
  from: 'pending',
  to: 'unhealthy',
  at: T0,
  reason: '3 consecutive failures: TIMEOUT: timed out after 2000 ms',
  results: [failedResult()],
};
const flap: FlapEvent = {
  checkId: 'credit-scorer/integrity',
  region: 'eu-west',
  flapping: true,
  at: T0,
  transitionsInWindow: 6,
};

let store: Store;
let hub: TestHub;
let app: FastifyInstance;
let base: string;
const controllers: AbortController[] = [];

async function open(query = ''): Promise<{ response: Response; frames: ReturnType<typeof sseReader> }> {
  const controller = new AbortController();
  controllers.push(controller);
  const response = await fetch(`${base}/api/v1/events${query}`, { signal: controller.signal });
  if (response.body === null) throw new Error('no body');
  return { response, frames: sseReader(response.body) };
}

beforeEach(async () => {
  store = await openStore(':memory:');
  hub = createTestHub(store);
  app = await createApi({ hub, heartbeatMs: 60_000 });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  for (const c of controllers.splice(0)) c.abort();
  await app.close();
  await store.close();
});

describe('GET /api/v1/events', () => {
  it('streams transitions, flaps and, with ?results=1, results, each flushed as it happens', async () => {
    const { response, frames } = await open('?results=1');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('cache-control')).toBe('no-cache, no-transform');
    expect(await frames.next()).toEqual({ retry: '3000', comments: [] });

    // Each frame is read before the next event exists: nothing waits in a buffer.
    const result = probeResult();
    hub.publish({ type: 'result', result });
    const first = await frames.next();
    hub.publish({ type: 'transition', transition });
    const second = await frames.next();
    hub.publish({ type: 'flap', flap });
    const third = await frames.next();

    expect([first, second, third].map((f) => f?.event)).toEqual(['result', 'transition', 'flap']);
    expect(JSON.parse(first?.data ?? '')).toEqual(result);
    expect(JSON.parse(second?.data ?? '')).toEqual(transition);
    expect(JSON.parse(third?.data ?? '')).toEqual(flap);
    expect([first, second, third].map((f) => Number(f?.id))).toEqual([1, 2, 3]);
  });

  it('leaves results out unless asked, keeping ids increasing', async () => {
    const { frames } = await open();
    await frames.next(); // retry
    hub.publish({ type: 'transition', transition });
    hub.publish({ type: 'result', result: probeResult() });
    hub.publish({ type: 'flap', flap });
    const a = await frames.next();
    const b = await frames.next();
    expect([a?.event, b?.event]).toEqual(['transition', 'flap']);
    expect(Number(b?.id)).toBeGreaterThan(Number(a?.id));
  });

  it("says in /api/v1/status/overview's eventId the last event its snapshot reflects", async () => {
    const overviewEventId = async () =>
      ((await (await fetch(`${base}/api/v1/status/overview`)).json()) as { eventId: number }).eventId;
    expect(await overviewEventId()).toBe(0);
    const { frames } = await open('?results=1');
    await frames.next(); // retry
    hub.publish({ type: 'result', result: probeResult() });
    hub.publish({ type: 'transition', transition });
    const seen = [await frames.next(), await frames.next()].map((f) => Number(f?.id));
    const eventId = await overviewEventId();
    expect(eventId).toBe(Math.max(...seen));
    // An event after the snapshot has a larger id: the page applies it; those up to eventId it skips.
    hub.publish({ type: 'flap', flap });
    expect(Number((await frames.next())?.id)).toBeGreaterThan(eventId);
  });

  it('shares one hub subscription and unsubscribes when the last client disconnects', async () => {
    expect(hub.listenerCount).toBe(0);
    const one = await open();
    const two = await open('?results=true');
    await one.frames.next();
    await two.frames.next();
    expect(hub.listenerCount).toBe(1);

    controllers[0]?.abort();
    hub.publish({ type: 'flap', flap });
    expect((await two.frames.next())?.event).toBe('flap');
    expect(hub.listenerCount).toBe(1);

    controllers[1]?.abort();
    await until(() => hub.listenerCount === 0, 'the hub subscription to be dropped');
  });

  it('sends a heartbeat comment at the configured interval', async () => {
    const fast = await createApi({ hub, heartbeatMs: 30 });
    await fast.listen({ host: '127.0.0.1', port: 0 });
    const controller = new AbortController();
    try {
      const response = await fetch(
        `http://127.0.0.1:${(fast.server.address() as AddressInfo).port}/api/v1/events`,
        {
          signal: controller.signal,
        },
      );
      const frames = sseReader(response.body as ReadableStream<Uint8Array>);
      expect((await frames.next())?.retry).toBe('3000');
      expect(await frames.next()).toEqual({ comments: ['heartbeat'] });
    } finally {
      controller.abort();
      await fast.close();
    }
  });

  it('ends open streams when the server closes, without waiting for clients', async () => {
    const { frames } = await open();
    await frames.next();
    await app.close();
    expect(await frames.next()).toBeNull();
    expect(hub.listenerCount).toBe(0);
  });

  it('closes sockets that never carried a request when the server closes', async () => {
    const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    await app.close();
    await closed;
    expect(socket.destroyed).toBe(true);
  });

  it('disconnects a client that stops reading instead of buffering without bound', async () => {
    const port = (app.server.address() as AddressInfo).port;
    const socket = connect(port, '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    socket.write('GET /api/v1/events?results=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
    socket.pause();
    await until(() => hub.listenerCount === 1, 'the client to subscribe');

    const big = probeResult({ error: { code: 'PROTOCOL', message: 'x'.repeat(256 * 1024) } });
    for (let i = 0; i < 200 && hub.listenerCount > 0; i++) {
      hub.publish({ type: 'result', result: big });
      await new Promise((resolve) => setImmediate(resolve));
    }
    await until(() => hub.listenerCount === 0, 'the stalled client to be dropped');
    socket.destroy();
  });

  it('rejects an unknown value of results', async () => {
    const response = await fetch(`${base}/api/v1/events?results=yes`);
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({
      error: 'invalid query parameter "results": expected 1, true, 0 or false, got "yes"',
    });
    expect(hub.listenerCount).toBe(0);
  });
});
