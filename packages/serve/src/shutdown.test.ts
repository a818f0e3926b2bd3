import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { closeHttpServer } from './http-close.js';
import { createTestHealth, deferred, listen, waitFor } from './test-support.js';

describe('graceful shutdown (in process, exit injected)', () => {
  it('fails readiness at once, runs close() after delayMs, then exits with code 0', async () => {
    const events: string[] = [];
    const health = createTestHealth({
      shutdown: {
        delayMs: 100,
        close: () => {
          events.push('close');
        },
        exit: (code) => {
          events.push(`exit ${code}`);
        },
      },
    });
    const outcome = health.shutdown();
    expect(health.isShuttingDown()).toBe(true);
    expect(events).toEqual([]);
    expect((await health.check('readyz')).body.status).toBe('shutting_down');
    expect(events).toEqual([]);

    expect(await outcome).toEqual({ exitCode: 0 });
    expect(events).toEqual(['close', 'exit 0']);
  });

  it('is idempotent: a second shutdown() returns the first one and close() runs once', async () => {
    let closes = 0;
    const health = createTestHealth({ shutdown: { delayMs: 0, close: () => ++closes } });
    const first = health.shutdown();
    expect(health.shutdown()).toBe(first);
    await first;
    expect(closes).toBe(1);
  });

  it.each([
    ['throws', () => Promise.reject(new Error('flush failed')), 'close() threw: flush failed'],
    ['outlives timeoutMs', () => new Promise(() => undefined), 'close() timed out after 30 ms'],
  ])('exits with code 1 and says why when close() %s', async (_what, close, error) => {
    const exits: number[] = [];
    const health = createTestHealth({
      shutdown: { delayMs: 0, timeoutMs: 30, exitCode: 0, close, exit: (code) => exits.push(code) },
    });
    expect(await health.shutdown()).toEqual({ exitCode: 1, error });
    expect(exits).toEqual([1]);
  });

  it('starts on a configured signal and removes its handlers on stop()', async () => {
    const before = process.listenerCount('SIGUSR2');
    const health = createTestHealth({ shutdown: { signals: ['SIGUSR2'], delayMs: 10_000 } });
    expect(process.listenerCount('SIGUSR2')).toBe(before + 1);

    // process.emit runs the handlers without delivering a real signal to the test runner.
    process.emit('SIGUSR2', 'SIGUSR2');
    expect(health.isShuttingDown()).toBe(true);
    expect((await health.check('readyz')).statusCode).toBe(503);

    health.stop();
    expect(process.listenerCount('SIGUSR2')).toBe(before);
  });

  it('installs no signal handler with signals: []', () => {
    const before = process.listenerCount('SIGTERM');
    createTestHealth({ shutdown: { signals: [] } });
    expect(process.listenerCount('SIGTERM')).toBe(before);
  });
});

describe('closeHttpServer', () => {
  it('lets an in-flight request finish, closes idle keep-alive connections, then resolves', async () => {
    const arrived = deferred();
    const release = deferred();
    const server = http.createServer(async (req, res) => {
      if (req.url === '/slow') {
        arrived.resolve();
        await release.promise;
      }
      res.end(req.url);
    });
    // Long enough that a lingering keep-alive connection would outlast the bounded wait below.
    server.keepAliveTimeout = 60_000;
    const { url } = await listen(server);
    // An idle keep-alive connection, which server.close() alone would leave open for its keep-alive timeout.
    expect((await fetch(`${url}/fast`)).status).toBe(200);
    const slow = fetch(`${url}/slow`).then(async (response) => ({
      status: response.status,
      text: await response.text(),
    }));
    await arrived.promise;

    let isClosed = false;
    const closing = closeHttpServer(server, { timeoutMs: 5000 }).then(() => {
      isClosed = true;
    });
    await sleep(50);
    expect(isClosed).toBe(false);
    await expect(fetch(`${url}/fast`)).rejects.toThrow();

    release.resolve();
    expect(await slow).toEqual({ status: 200, text: '/slow' });
    // The slow request's connection is now idle; it must be closed now, not after its keep-alive timeout.
    await waitFor(() => isClosed, {
      what: 'closeHttpServer to resolve once the in-flight request was answered',
    });
    await closing;
    expect(server.listening).toBe(false);
  });

  it('destroys connections still busy after timeoutMs and rejects with VIGIL_ERR_SERVE_CLOSE_TIMEOUT', async () => {
    const server = http.createServer(() => {
      // Never answers.
    });
    const { url } = await listen(server);
    const hung = fetch(`${url}/hang`);
    await waitFor(async () => (await getConnections(server)) === 1, { what: 'the hung request to connect' });

    await expect(closeHttpServer(server, { timeoutMs: 50 })).rejects.toMatchObject({
      code: 'VIGIL_ERR_SERVE_CLOSE_TIMEOUT',
    });
    await expect(hung).rejects.toThrow();
  });

  it('resolves for a server that is not listening', async () => {
    await expect(closeHttpServer(http.createServer())).resolves.toBeUndefined();
  });
});

function getConnections(server: http.Server): Promise<number> {
  return new Promise((resolve, reject) =>
    server.getConnections((error, count) => (error ? reject(error) : resolve(count))),
  );
}
