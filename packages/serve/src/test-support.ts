// Helpers shared by this package's tests: real servers on 127.0.0.1, bounded waits. Not exported.
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { onTestFinished } from 'vitest';
import { createHealth, type Health, type HealthBody } from './health.js';
import type { HealthOptions } from './options.js';

/** A listening server and how to stop it. */
export interface Listening {
  url: string;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1, port 0; closed (connections included) when the test finishes. */
export async function listen(server: Server): Promise<Listening> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const listening = { url: baseUrl(server), close: () => closeNow(server) };
  onTestFinished(() => listening.close());
  return listening;
}

/** `http://127.0.0.1:<port>` of a listening server. */
export function baseUrl(server: Pick<Server, 'address'>): string {
  const { port } = server.address() as AddressInfo;
  return `http://127.0.0.1:${port}`;
}

function closeNow(server: Server): Promise<void> {
  return new Promise((resolve) => {
    if (!server.listening) return resolve();
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/**
 * `createHealth` for tests: no signal handlers, no exit, stopped when the test finishes, and an
 * event-loop lag limit of 30 s unless the test sets one: on a loaded 2-core machine a worker importing a
 * framework stalled its loop over the default 1 s, and `/livez` answered 503 in tests not about lag.
 */
export function createTestHealth<P, O>(options: HealthOptions<P, O> = {}): Health {
  const health = createHealth({
    maxEventLoopLagMs: 30_000,
    ...options,
    shutdown: { signals: [], exit: false, ...options.shutdown },
  });
  onTestFinished(() => health.stop());
  return health;
}

/** A response with its JSON body parsed. */
export interface JsonResponse {
  status: number;
  headers: Headers;
  text: string;
  body: HealthBody;
}

export async function getJson(url: string, init?: RequestInit): Promise<JsonResponse> {
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

/** Polls `probe` until it returns something other than undefined/false, for at most `timeoutMs`. */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  {
    timeoutMs = 3000,
    intervalMs = 10,
    what = 'the condition',
  }: { timeoutMs?: number; intervalMs?: number; what?: string | (() => string) } = {},
): Promise<T> {
  const deadline = performance.now() + timeoutMs;
  let lastError: unknown;
  while (performance.now() <= deadline) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      lastError = error;
    }
    await sleep(intervalMs);
  }
  const description = typeof what === 'function' ? what() : what;
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`, { cause: lastError });
}

/** A promise with its resolve function outside. */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve: (value: T) => void = () => undefined;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/** Blocks the event loop for `ms` milliseconds. */
export function blockEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // Busy-wait on purpose: this is the stall under test.
  }
}

/** A V8 stack frame as it appears in a trace: "at fn (file.ts:12:34)". */
export const STACK_FRAME = /\bat\s.*:\d+:\d+/;
