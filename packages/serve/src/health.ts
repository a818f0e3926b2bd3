import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { VigilServeError } from './errors.js';
import { createEventLoopMonitor } from './event-loop-monitor.js';
import {
  type HealthCheckName,
  type HealthOptions,
  type ResolvedDependency,
  resolveHealthOptions,
} from './options.js';
import { createSelfTest } from './self-test.js';
import { errorMessage, roundMs, settleWithin } from './settle.js';

/**
 * One entry under `checks`: `status` plus, when it failed, `error` (a message, never a stack trace), plus
 * details such as `durationMs` or `lagMs` (most only with `?verbose`).
 *
 * @example
 * ```ts
 * const failing: CheckResult = { status: 'error', error: 'dependency "db" timed out after 500 ms' };
 * ```
 */
export interface CheckResult {
  status: 'ok' | 'error';
  error?: string;
  [detail: string]: unknown;
}

/**
 * Overall status of an answer: `ok` (HTTP 200), `error` (503) or `shutting_down` (503, `/readyz` only,
 * after SIGTERM).
 *
 * @example
 * ```ts
 * const status: HealthStatus = 'shutting_down';
 * ```
 */
export type HealthStatus = 'ok' | 'error' | 'shutting_down';

/**
 * The JSON body of every answer, shaped like NestJS Terminus':
 * `{ status, checks: { [name]: { status, error?, …details } } }`.
 *
 * @example
 * ```ts
 * const body: HealthBody = { status: 'ok', checks: { warmup: { status: 'ok', durationMs: 840.2 } } };
 * ```
 */
export interface HealthBody {
  status: HealthStatus;
  checks: Record<string, CheckResult>;
}

/**
 * An answer: the HTTP status (200 when `body.status` is `ok`, else 503) and the JSON body.
 *
 * @example
 * ```ts
 * const { statusCode, body } = await health.check('readyz');
 * res.writeHead(statusCode, { 'content-type': 'application/json' }).end(JSON.stringify(body));
 * ```
 */
export interface HealthAnswer {
  statusCode: 200 | 503;
  body: HealthBody;
}

/**
 * Options of {@link Health.check}.
 *
 * @example
 * ```ts
 * await health.check('livez', { verbose: true }); // adds lagMs, maxLagMs, windowMs
 * ```
 */
export interface CheckOptions {
  /** Add details: timings, event-loop lag numbers, the self-test output summary. Default false. */
  verbose?: boolean;
}

/**
 * A path the adapters serve and the check behind it.
 *
 * @example
 * ```ts
 * for (const { path, check } of health.routes) console.log(`${path} → ${check}`);
 * ```
 */
export interface HealthRoute {
  path: string;
  check: HealthCheckName;
}

/**
 * How warm-up ended: its duration in milliseconds and, when it threw, the message.
 *
 * @example
 * ```ts
 * const report = await health.waitForWarmup();
 * if (!report.isOk) console.error(`warm-up failed after ${report.durationMs} ms: ${report.error}`);
 * ```
 */
export type WarmupReport =
  | { isOk: true; durationMs: number }
  | { isOk: false; durationMs: number; error: string };

/**
 * How a graceful shutdown ended: the exit code used (or that would have been, with `exit: false`) and,
 * when `close()` threw or timed out, why.
 *
 * @example
 * ```ts
 * const { exitCode, error } = await health.shutdown();
 * ```
 */
export interface ShutdownOutcome {
  exitCode: number;
  error?: string;
}

/**
 * Health state of a model server, independent of any HTTP framework. Adapters
 * (`createNodeHandler`, `createExpressMiddleware`, `createFastifyPlugin`, `createHonoMiddleware`) serve
 * {@link Health.routes}; a server can also call {@link Health.check} or the `is…` accessors directly.
 *
 * @example
 * ```ts
 * const health = createHealth({ warmup: () => model.warmup() });
 * if (!health.isReady()) return reply503();
 * ```
 */
export interface Health {
  /** The paths served and their checks; `/healthz/model` only when a self-test is configured. */
  readonly routes: readonly HealthRoute[];
  /**
   * Runs one check. Resolves with the answer whether the check passes or fails; rejects only on misuse
   * (`VIGIL_ERR_SERVE_UNKNOWN_CHECK`, or `VIGIL_ERR_SERVE_NO_SELF_TEST` for `model` without a self-test).
   */
  check(name: HealthCheckName, options?: CheckOptions): Promise<HealthAnswer>;
  /** True once warm-up has finished without throwing (the Kubernetes startup probe's meaning). */
  isStarted(): boolean;
  /** True when started and not shutting down. Does not run dependency checks: use `check('readyz')` for that. */
  isReady(): boolean;
  /** True from the moment a shutdown begins (signal or {@link Health.shutdown}). */
  isShuttingDown(): boolean;
  /** Resolves when warm-up has finished, successfully or not. Never rejects. */
  waitForWarmup(): Promise<WarmupReport>;
  /**
   * Starts the graceful shutdown (what the configured signals do): readiness fails at once, `close()`
   * runs after `shutdown.delayMs`, then `shutdown.exit` is called. Idempotent: later calls return the
   * first call's promise.
   */
  shutdown(): Promise<ShutdownOutcome>;
  /** Stops the event-loop sampling timer and removes the signal handlers. Does not exit. Idempotent. */
  stop(): void;
}

const CHECK_NAMES: readonly HealthCheckName[] = ['livez', 'readyz', 'startupz', 'model'];

/**
 * Creates the health state of a model server: starts warm-up and event-loop sampling, and installs the
 * shutdown signal handlers (default SIGTERM). Answers follow Kubernetes probe semantics: `/livez` fails
 * only when the process should be restarted, `/readyz` when it should get no traffic, `/startupz` until
 * warm-up is done.
 *
 * @throws {VigilServeConfigError} when `options` are invalid, listing every problem.
 * @example
 * ```ts
 * const health = createHealth({
 *   warmup: async () => { for (let i = 0; i < 3; i++) await model.predict(smoke); },
 *   dependencies: { featureStore: ({ signal }) => fetch(featureStoreUrl, { signal }) },
 *   selfTest: { payload: smoke, run: (input) => model.predict(input), validate: checkProbabilities },
 *   shutdown: { close: () => closeHttpServer(server) },
 * });
 * const server = http.createServer(createNodeHandler(health, app));
 * ```
 */
export function createHealth<P = unknown, O = unknown>(options: HealthOptions<P, O> = {}): Health {
  const config = resolveHealthOptions(options);
  const monitor = createEventLoopMonitor({
    windowMs: config.eventLoopWindowMs,
    sampleIntervalMs: config.eventLoopSampleIntervalMs,
  });
  const selfTest = config.selfTest ? createSelfTest(config.selfTest) : undefined;
  const routes: readonly HealthRoute[] = Object.freeze(
    CHECK_NAMES.filter((name) => name !== 'model' || selfTest).map((name) =>
      Object.freeze({ path: config.paths[name], check: name }),
    ),
  );

  // undefined while warm-up runs.
  let warmup: WarmupReport | undefined = config.warmup ? undefined : { isOk: true, durationMs: 0 };
  const warmupStartedAt = performance.now();
  const warmupReport = runWarmup();
  let shutdownOutcome: Promise<ShutdownOutcome> | undefined;

  const onSignal = () => {
    void shutdown();
  };
  for (const signal of config.shutdown.signals) process.on(signal, onSignal);

  async function runWarmup(): Promise<WarmupReport> {
    const { warmup: warm } = config;
    if (!warm) return { isOk: true, durationMs: 0 };
    // Let createHealth return first, so the caller can wire up its server while warm-up runs.
    await null;
    try {
      await warm();
      warmup = { isOk: true, durationMs: roundMs(performance.now() - warmupStartedAt) };
    } catch (error) {
      warmup = {
        isOk: false,
        durationMs: roundMs(performance.now() - warmupStartedAt),
        error: errorMessage(error),
      };
    }
    return warmup;
  }

  function warmupCheck(verbose: boolean): CheckResult {
    if (warmup === undefined) {
      const check: CheckResult = { status: 'error', error: 'warm-up has not finished' };
      if (verbose) check.runningForMs = roundMs(performance.now() - warmupStartedAt);
      return check;
    }
    if (!warmup.isOk) {
      return { status: 'error', error: `warm-up failed: ${warmup.error}`, durationMs: warmup.durationMs };
    }
    return { status: 'ok', durationMs: warmup.durationMs };
  }

  function livez(verbose: boolean): HealthAnswer {
    const lagMs = Math.round(monitor.worstLagMs());
    const { maxEventLoopLagMs: maxLagMs, eventLoopWindowMs: windowMs } = config;
    const eventLoop: CheckResult =
      lagMs > maxLagMs
        ? {
            status: 'error',
            error: `event loop lagged ${lagMs} ms within the last ${windowMs} ms, more than the ${maxLagMs} ms allowed`,
            lagMs,
            maxLagMs,
          }
        : { status: 'ok' };
    if (verbose) Object.assign(eventLoop, { lagMs, maxLagMs, windowMs });
    return answer(eventLoop.status, { eventLoop });
  }

  async function readyz(verbose: boolean): Promise<HealthAnswer> {
    const checks: Record<string, CheckResult> = { warmup: warmupCheck(verbose) };
    // Dependencies are not asked while shutting down: they may be closing too, and the answer is 503 anyway.
    if (shutdownOutcome) return answer('shutting_down', checks);
    const results = await Promise.all(
      config.dependencies.map(
        async (dependency) => [dependency.name, await checkDependency(dependency, verbose)] as const,
      ),
    );
    for (const [name, check] of results) checks[name] = check;
    return answer(Object.values(checks).every((check) => check.status === 'ok') ? 'ok' : 'error', checks);
  }

  async function checkDependency(dependency: ResolvedDependency, verbose: boolean): Promise<CheckResult> {
    const settled = await settleWithin(
      (signal) => dependency.check({ signal }),
      dependency.timeoutMs,
      `dependency "${dependency.name}"`,
    );
    let check: CheckResult;
    if (!settled.ok) check = { status: 'error', error: settled.error };
    else if (settled.value === false) check = { status: 'error', error: 'check returned false' };
    else check = { status: 'ok' };
    if (verbose) Object.assign(check, { durationMs: settled.durationMs, timeoutMs: dependency.timeoutMs });
    return check;
  }

  function startupz(verbose: boolean): HealthAnswer {
    const check = warmupCheck(verbose);
    return answer(check.status, { warmup: check });
  }

  async function model(verbose: boolean): Promise<HealthAnswer> {
    if (!selfTest) {
      throw new VigilServeError(
        'VIGIL_ERR_SERVE_NO_SELF_TEST',
        'check("model") needs a self-test: pass selfTest: { payload, run } to createHealth',
      );
    }
    // An unloaded model is not worth running: report why instead.
    if (!warmup?.isOk) {
      const { error } = warmupCheck(false);
      return answer('error', { model: { status: 'error', error: `not run: ${error}` } });
    }
    const { result, isCached, ageMs } = await selfTest.read();
    const check: CheckResult = result.isOk ? { status: 'ok' } : { status: 'error', error: result.error };
    if (result.problems) check.problems = result.problems;
    if (verbose) {
      Object.assign(check, {
        durationMs: result.durationMs,
        checkedAt: result.checkedAt,
        cached: isCached,
        ageMs,
        output: result.output,
      });
    }
    return answer(check.status, { model: check });
  }

  function shutdown(): Promise<ShutdownOutcome> {
    shutdownOutcome ??= runShutdown();
    return shutdownOutcome;
  }

  async function runShutdown(): Promise<ShutdownOutcome> {
    const { delayMs, close, timeoutMs, exitCode, exit } = config.shutdown;
    await sleep(delayMs);
    let outcome: ShutdownOutcome = { exitCode };
    if (close) {
      const settled = await settleWithin(() => close(), timeoutMs, 'close()');
      if (!settled.ok) {
        outcome = {
          exitCode: 1,
          error: settled.timedOut ? settled.error : `close() threw: ${settled.error}`,
        };
        // The answer to a signal has nobody to return to: leave a trace on stderr.
        process.emitWarning(`graceful shutdown: ${outcome.error}; exit code 1`, 'VigilServeWarning');
      }
    }
    stop();
    exit?.(outcome.exitCode);
    return outcome;
  }

  function stop(): void {
    monitor.stop();
    for (const signal of config.shutdown.signals) process.off(signal, onSignal);
  }

  return {
    routes,
    async check(name, { verbose = false } = {}) {
      switch (name) {
        case 'livez':
          return livez(verbose);
        case 'readyz':
          return readyz(verbose);
        case 'startupz':
          return startupz(verbose);
        case 'model':
          return model(verbose);
        default:
          throw new VigilServeError(
            'VIGIL_ERR_SERVE_UNKNOWN_CHECK',
            `unknown check ${JSON.stringify(name)}; expected one of ${CHECK_NAMES.join(', ')}`,
          );
      }
    },
    isStarted: () => warmup?.isOk === true,
    isReady: () => warmup?.isOk === true && shutdownOutcome === undefined,
    isShuttingDown: () => shutdownOutcome !== undefined,
    waitForWarmup: () => warmupReport,
    shutdown,
    stop,
  };
}

function answer(status: HealthStatus, checks: Record<string, CheckResult>): HealthAnswer {
  return { statusCode: status === 'ok' ? 200 : 503, body: { status, checks } };
}
