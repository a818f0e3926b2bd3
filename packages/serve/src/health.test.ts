import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { VigilServeError } from './errors.js';
import type { HealthCheckName } from './options.js';
import { createTestHealth, deferred, STACK_FRAME } from './test-support.js';

describe('warm-up', () => {
  it('holds startupz and readyz at 503 until warm-up finishes, then answers 200 with its duration', async () => {
    const gate = deferred();
    const health = createTestHealth({ warmup: () => gate.promise });

    for (const name of ['startupz', 'readyz'] as const) {
      const before = await health.check(name);
      expect(before.statusCode).toBe(503);
      expect(before.body).toEqual({
        status: 'error',
        checks: { warmup: { status: 'error', error: 'warm-up has not finished' } },
      });
    }
    expect(health.isStarted()).toBe(false);
    expect(health.isReady()).toBe(false);

    await sleep(20);
    gate.resolve();
    const report = await health.waitForWarmup();
    expect(report.isOk).toBe(true);
    expect(report.durationMs).toBeGreaterThanOrEqual(15);

    for (const name of ['startupz', 'readyz'] as const) {
      const after = await health.check(name);
      expect(after.statusCode).toBe(200);
      expect(after.body).toEqual({
        status: 'ok',
        checks: { warmup: { status: 'ok', durationMs: report.durationMs } },
      });
    }
    expect(health.isStarted()).toBe(true);
    expect(health.isReady()).toBe(true);
  });

  it('leaves the server not ready when warm-up throws, reporting the message and no stack', async () => {
    const health = createTestHealth({
      warmup: async () => {
        throw new Error('weights file truncated', { cause: new Error('EOF at byte 1024') });
      },
    });
    const report = await health.waitForWarmup();
    expect(report).toMatchObject({ isOk: false, error: 'weights file truncated (cause: EOF at byte 1024)' });

    for (const name of ['startupz', 'readyz'] as const) {
      const { statusCode, body } = await health.check(name, { verbose: true });
      expect(statusCode).toBe(503);
      expect(body.checks.warmup).toMatchObject({
        status: 'error',
        error: 'warm-up failed: weights file truncated (cause: EOF at byte 1024)',
      });
      expect(JSON.stringify(body)).not.toMatch(STACK_FRAME);
    }
    expect(health.isStarted()).toBe(false);
    expect(health.isReady()).toBe(false);
    expect((await health.check('livez')).statusCode).toBe(200);
  });

  it('counts as finished at once when there is no warm-up', async () => {
    const health = createTestHealth();
    expect(health.isStarted()).toBe(true);
    expect((await health.check('startupz')).body.checks.warmup).toEqual({ status: 'ok', durationMs: 0 });
  });
});

describe('readiness dependencies', () => {
  it('answers 503 naming each dependency that throws or returns false, and 200 for the rest', async () => {
    const health = createTestHealth({
      dependencies: {
        featureStore: async () => {
          throw new Error('connect ECONNREFUSED 127.0.0.1:6379');
        },
        queue: () => false,
        cache: async () => 'PONG',
      },
    });
    const { statusCode, body } = await health.check('readyz');
    expect(statusCode).toBe(503);
    expect(body).toEqual({
      status: 'error',
      checks: {
        warmup: { status: 'ok', durationMs: 0 },
        featureStore: { status: 'error', error: 'connect ECONNREFUSED 127.0.0.1:6379' },
        queue: { status: 'error', error: 'check returned false' },
        cache: { status: 'ok' },
      },
    });
  });

  it('fails a dependency that exceeds its timeout and aborts its signal with VIGIL_ERR_SERVE_TIMEOUT', async () => {
    let abortReason: unknown;
    const health = createTestHealth({
      dependencyTimeoutMs: 5000,
      dependencies: {
        db: {
          timeoutMs: 30,
          check: ({ signal }) =>
            new Promise((resolve) => {
              signal.addEventListener('abort', () => {
                abortReason = signal.reason;
                resolve(undefined);
              });
            }),
        },
      },
    });
    const { statusCode, body } = await health.check('readyz', { verbose: true });
    expect(statusCode).toBe(503);
    expect(body.checks.db).toMatchObject({
      status: 'error',
      error: 'dependency "db" timed out after 30 ms',
      timeoutMs: 30,
    });
    expect(abortReason).toBeInstanceOf(VigilServeError);
    expect((abortReason as VigilServeError).code).toBe('VIGIL_ERR_SERVE_TIMEOUT');
  });

  it('runs dependency checks concurrently, so one slow check does not add to the others', async () => {
    const started: string[] = [];
    const release = deferred();
    const check = (name: string) => async () => {
      started.push(name);
      await release.promise;
    };
    const health = createTestHealth({ dependencies: { a: check('a'), b: check('b') } });
    const answer = health.check('readyz');
    await sleep(5);
    expect(started).toEqual(['a', 'b']);
    release.resolve();
    expect((await answer).statusCode).toBe(200);
  });
});

describe('answers', () => {
  it('adds timings and lag numbers only with verbose', async () => {
    const health = createTestHealth({ dependencies: { db: () => true }, maxEventLoopLagMs: 5000 });
    const plain = await health.check('readyz');
    expect(plain.body.checks.db).toEqual({ status: 'ok' });
    const verbose = await health.check('readyz', { verbose: true });
    expect(verbose.body.checks.db).toEqual({ status: 'ok', durationMs: expect.any(Number), timeoutMs: 500 });

    expect((await health.check('livez')).body).toEqual({
      status: 'ok',
      checks: { eventLoop: { status: 'ok' } },
    });
    expect((await health.check('livez', { verbose: true })).body.checks.eventLoop).toEqual({
      status: 'ok',
      lagMs: expect.any(Number),
      maxLagMs: 5000,
      windowMs: 10_000,
    });
  });

  it.each([
    ['warm-up', { warmup: () => Promise.reject(new Error('boom in warm-up')) }, 'readyz'],
    ['dependency', { dependencies: { db: () => Promise.reject(new Error('boom in db')) } }, 'readyz'],
    [
      'self-test run',
      { selfTest: { run: (): Promise<never> => Promise.reject(new Error('boom in run')) } },
      'model',
    ],
    [
      'self-test validate',
      {
        selfTest: {
          run: (): number => 1,
          validate: (): string[] => {
            throw new TypeError('boom in validate');
          },
        },
      },
      'model',
    ],
  ] as const)(
    'never includes a stack trace when the %s throws, only the message',
    async (_what, options, name) => {
      const health = createTestHealth(options);
      await health.waitForWarmup();
      for (const verbose of [false, true]) {
        const { statusCode, body } = await health.check(name as HealthCheckName, { verbose });
        const json = JSON.stringify(body);
        expect(statusCode).toBe(503);
        expect(json).toContain('boom in');
        expect(json).not.toMatch(STACK_FRAME);
        expect(json).not.toContain('health.test.ts');
      }
    },
  );

  it('rejects misuse with a coded error: an unknown check, or model without a self-test', async () => {
    const health = createTestHealth();
    await expect(health.check('nope' as HealthCheckName)).rejects.toMatchObject({
      code: 'VIGIL_ERR_SERVE_UNKNOWN_CHECK',
      message: 'unknown check "nope"; expected one of livez, readyz, startupz, model',
    });
    await expect(health.check('model')).rejects.toMatchObject({ code: 'VIGIL_ERR_SERVE_NO_SELF_TEST' });
    expect(health.routes.map((route) => route.check)).toEqual(['livez', 'readyz', 'startupz']);
  });
});

describe('shutdown state', () => {
  it('answers readyz with shutting_down from the moment shutdown starts, without asking dependencies', async () => {
    let dependencyCalls = 0;
    const health = createTestHealth({
      dependencies: { db: () => ++dependencyCalls },
      shutdown: { delayMs: 50 },
    });
    expect((await health.check('readyz')).statusCode).toBe(200);
    expect(dependencyCalls).toBe(1);

    const done = health.shutdown();
    expect(health.isShuttingDown()).toBe(true);
    expect(health.isReady()).toBe(false);
    const { statusCode, body } = await health.check('readyz');
    expect(statusCode).toBe(503);
    expect(body).toEqual({ status: 'shutting_down', checks: { warmup: { status: 'ok', durationMs: 0 } } });
    expect(dependencyCalls).toBe(1);
    // Liveness must not fail: a draining pod restarted by the kubelet would drop its in-flight requests.
    expect((await health.check('livez')).statusCode).toBe(200);
    expect(health.isStarted()).toBe(true);
    await done;
  });
});
