import { describe, expect, it } from 'vitest';
import { VigilServeConfigError } from './errors.js';
import { createHealth } from './health.js';
import { HEALTH_DEFAULTS, type HealthOptions, resolveHealthOptions } from './options.js';

function issuesOf(options: unknown): readonly string[] {
  try {
    resolveHealthOptions(options as HealthOptions);
  } catch (error) {
    if (error instanceof VigilServeConfigError) return error.issues;
    throw error;
  }
  throw new Error('expected the options to be rejected');
}

describe('options', () => {
  it('applies the documented defaults', () => {
    const resolved = resolveHealthOptions({ selfTest: { run: () => 1 } });
    expect(resolved).toMatchObject({
      dependencies: [],
      maxEventLoopLagMs: 1000,
      eventLoopWindowMs: 10_000,
      eventLoopSampleIntervalMs: 100,
      selfTest: { timeoutMs: 500, cacheMs: 10_000 },
      shutdown: { signals: ['SIGTERM'], delayMs: 5000, timeoutMs: 10_000, exitCode: 0 },
      paths: { livez: '/livez', readyz: '/readyz', startupz: '/startupz', model: '/healthz/model' },
    });
    expect(resolved.shutdown.exit).toBeTypeOf('function');
    expect(resolveHealthOptions({ dependencies: { db: () => true } }).dependencies[0]?.timeoutMs).toBe(
      HEALTH_DEFAULTS.dependencyTimeoutMs,
    );
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it('reports every invalid or unknown option at once, each with its path and what was seen', () => {
    expect(
      issuesOf({
        maxEventLoopLag: 100,
        maxEventLoopLagMs: -1,
        eventLoopWindowMs: 50,
        eventLoopSampleIntervalMs: 100,
        dependencies: { warmup: () => true, db: { check: 'SELECT 1', timeout: 5 }, cache: 42 },
        selfTest: { run: () => 1, cacheMs: '10s' },
        shutdown: { signals: ['SIGTERM', 'SIGNOPE'], delayMs: Number.NaN, exit: true, exitCode: 300 },
        paths: { readyz: 'readyz', livez: '/startupz', metrics: '/metrics' },
      }),
    ).toEqual([
      'maxEventLoopLag: unknown option; known options are warmup, dependencies, dependencyTimeoutMs, maxEventLoopLagMs, eventLoopWindowMs, eventLoopSampleIntervalMs, selfTest, shutdown, paths',
      'dependencies.warmup: "warmup" is reserved for the library\'s own check, choose another name',
      'dependencies.db.timeout: unknown option; known options are check, timeoutMs',
      'dependencies.db.check: expected a function, got "SELECT 1"',
      'dependencies.cache: expected a function or { check, timeoutMs? }, got 42',
      'maxEventLoopLagMs: expected a number of milliseconds > 0, got -1',
      'selfTest.cacheMs: expected a number of milliseconds ≥ 0, got "10s"',
      'shutdown.exitCode: expected an integer from 0 to 255, got 300',
      'shutdown.exit: expected a function, got true',
      'shutdown.signals[1]: expected a signal name like "SIGTERM", got "SIGNOPE"',
      'shutdown.delayMs: expected a number of milliseconds ≥ 0, got NaN',
      'paths.metrics: unknown option; known options are livez, readyz, startupz, model',
      'paths.readyz: expected a path starting with "/" without query or spaces, got "readyz"',
      'paths.startupz: "/startupz" is already the path of livez',
      'eventLoopSampleIntervalMs: must not exceed eventLoopWindowMs (50), got 100',
    ]);
  });

  it('throws from createHealth with code VIGIL_ERR_SERVE_CONFIG and every issue in the message', () => {
    expect(() => createHealth({ dependencyTimeoutMs: 0, selfTest: {} as never })).toThrow(
      expect.objectContaining({
        code: 'VIGIL_ERR_SERVE_CONFIG',
        message: [
          'invalid vigil-ml-serve options (2):',
          '  - dependencyTimeoutMs: expected a number of milliseconds > 0, got 0',
          '  - selfTest.run: expected a function, got undefined',
        ].join('\n'),
      }),
    );
  });
});
