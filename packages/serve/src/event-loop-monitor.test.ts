import http from 'node:http';
import { describe, expect, it } from 'vitest';
import { createEventLoopMonitor } from './event-loop-monitor.js';
import { createNodeHandler } from './node-http.js';
import { blockEventLoop, createTestHealth, getJson, listen, waitFor } from './test-support.js';

describe('event-loop stall detection', () => {
  it('fails /livez with the lag after the loop is blocked beyond maxEventLoopLagMs, and recovers after the window', async () => {
    const health = createTestHealth({
      maxEventLoopLagMs: 100,
      eventLoopWindowMs: 400,
      eventLoopSampleIntervalMs: 10,
    });
    const { url } = await listen(http.createServer(createNodeHandler(health)));
    // Start from a healthy loop (test start-up itself can lag).
    await waitFor(async () => (await getJson(`${url}/livez`)).status === 200, { what: 'a healthy /livez' });

    blockEventLoop(300);
    const stalled = await getJson(`${url}/livez`);
    expect(stalled.status).toBe(503);
    const eventLoop = stalled.body.checks.eventLoop;
    expect(eventLoop?.lagMs).toBeGreaterThan(100);
    expect(eventLoop?.error).toBe(
      `event loop lagged ${eventLoop?.lagMs} ms within the last 400 ms, more than the 100 ms allowed`,
    );

    const recovered = await waitFor(
      async () => {
        const response = await getJson(`${url}/livez`);
        return response.status === 200 && response;
      },
      { timeoutMs: 3000, what: '/livez to recover once the stall left the window' },
    );
    expect(recovered.body).toEqual({ status: 'ok', checks: { eventLoop: { status: 'ok' } } });
  });

  it('sees a stall still in progress, before the sampling timer has had a chance to run', () => {
    const monitor = createEventLoopMonitor({ windowMs: 1000, sampleIntervalMs: 10 });
    try {
      blockEventLoop(60);
      // No timer can have fired during the busy-wait: only the in-progress estimate can see it.
      expect(monitor.worstLagMs()).toBeGreaterThanOrEqual(40);
    } finally {
      monitor.stop();
    }
  });
});
