import { constants } from 'node:os';
import { VigilServeConfigError } from './errors.js';

/**
 * The four answers a {@link Health} gives: `livez` (process alive, event loop not stalled), `readyz`
 * (warm-up done, dependencies up, not shutting down), `startupz` (warm-up done) and `model` (self-test
 * inference).
 *
 * @example
 * ```ts
 * const name: HealthCheckName = 'readyz';
 * const { statusCode } = await health.check(name);
 * ```
 */
export type HealthCheckName = 'livez' | 'readyz' | 'startupz' | 'model';

/**
 * What a dependency check or a self-test run receives. `signal` is aborted when the check's timeout
 * passes (its `reason` is a `VigilServeError` with code `VIGIL_ERR_SERVE_TIMEOUT`); pass it on to
 * `fetch`, database drivers and the like so that abandoned work stops.
 *
 * @example
 * ```ts
 * const check: DependencyCheck = async ({ signal }) => {
 *   await fetch('http://feature-store:8080/ping', { signal });
 * };
 * ```
 */
export interface CheckContext {
  signal: AbortSignal;
}

/**
 * A readiness dependency: resolves (with anything but `false`) when the dependency is usable; throws,
 * rejects or returns `false` when it is not. The thrown error's message (never its stack) is reported.
 *
 * @example
 * ```ts
 * const redis: DependencyCheck = async () => (await client.ping()) === 'PONG';
 * ```
 */
export type DependencyCheck = (context: CheckContext) => unknown;

/**
 * A readiness dependency with its own timeout.
 *
 * @example
 * ```ts
 * const featureStore: DependencyOptions = { check: ({ signal }) => fetch(url, { signal }), timeoutMs: 200 };
 * ```
 */
export interface DependencyOptions {
  check: DependencyCheck;
  /** Milliseconds before the check counts as failed. Default: `dependencyTimeoutMs` (500). */
  timeoutMs?: number;
}

/**
 * The model self-test behind `/healthz/model`: one smoke inference whose output is validated.
 *
 * @example
 * ```ts
 * const selfTest: SelfTestOptions<Float32Array, Float32Array> = {
 *   payload: new Float32Array(8).fill(0.5),
 *   run: (input) => model.predict(input),
 *   validate: (output) => (output.every(Number.isFinite) ? [] : ['output contains NaN or Infinity']),
 * };
 * ```
 */
export interface SelfTestOptions<P = unknown, O = unknown> {
  /**
   * The smoke payload handed to `run`; small, so that a self-test costs milliseconds. Optional for a
   * `run` that builds its own input.
   */
  payload?: P;
  /** Runs one inference on `payload`. Throwing or rejecting fails the self-test with its message. */
  run: (payload: P, context: CheckContext) => O | PromiseLike<O>;
  /**
   * Returns the problems found in `output`, one sentence each (empty or nothing when the output is
   * good). Say what was seen: `"probability 1.7 is outside [0, 1]"`, not `"bad output"`.
   */
  validate?: (output: O) => readonly string[] | undefined | PromiseLike<readonly string[] | undefined>;
  /**
   * Turns `output` into a JSON-safe summary shown by `?verbose`. Default: the type and length (arrays,
   * typed arrays), the first keys (objects), or the value itself (primitives, strings cut at 200 chars).
   */
  summarize?: (output: O) => unknown;
  /** Milliseconds a run (with validation) may take before it fails. Default 500, see {@link HEALTH_DEFAULTS}. */
  timeoutMs?: number;
  /**
   * Milliseconds a result (good or bad) is reused before the next request runs the model again.
   * Default 10 000, see {@link HEALTH_DEFAULTS}. `0` runs on every request (concurrent requests still
   * share one run).
   */
  cacheMs?: number;
}

/**
 * Graceful shutdown: readiness fails first, then after `delayMs` the `close` function runs (bounded by
 * `timeoutMs`), then the process exits.
 *
 * @example
 * ```ts
 * const shutdown: ShutdownOptions = { delayMs: 5000, close: () => closeHttpServer(server) };
 * ```
 */
export interface ShutdownOptions {
  /** Signals that start the shutdown. Default `['SIGTERM']` (what the kubelet sends). `[]` installs no handler. */
  signals?: readonly NodeJS.Signals[];
  /**
   * Milliseconds between readiness failing and `close()` running, so that load balancers and
   * kube-proxy stop routing to this pod before it stops accepting connections. Default 5000; `0` when
   * the pod spec already has a `preStop` sleep.
   */
  delayMs?: number;
  /** Milliseconds `close()` may take before the process exits anyway, with code 1. Default 10 000. */
  timeoutMs?: number;
  /** Stops serving: close servers, flush queues, release the model. Runs once, after `delayMs`. */
  close?: () => unknown;
  /** Exit code after a clean shutdown. Default 0. A failed or timed-out `close()` exits with 1. */
  exitCode?: number;
  /** Called with the exit code at the end. Default `process.exit`; `false` leaves the process running. */
  exit?: ((code: number) => void) | false;
}

/**
 * Where each answer is served.
 *
 * @example
 * ```ts
 * const paths: HealthPaths = { livez: '/livez', readyz: '/readyz', startupz: '/startupz', model: '/healthz/model' };
 * ```
 */
export interface HealthPaths {
  livez: string;
  readyz: string;
  startupz: string;
  model: string;
}

/**
 * Options of {@link createHealth}. Every field is optional; defaults are in {@link HEALTH_DEFAULTS}.
 * Unknown keys are rejected, so a misspelt option fails loudly instead of silently using a default.
 *
 * @example
 * ```ts
 * const options: HealthOptions = {
 *   warmup: async () => { for (let i = 0; i < 3; i++) await model.predict(smoke); },
 *   dependencies: { featureStore: ({ signal }) => fetch(featureStoreUrl, { signal }) },
 *   selfTest: { payload: smoke, run: (input) => model.predict(input) },
 *   shutdown: { close: () => closeHttpServer(server) },
 * };
 * ```
 */
export interface HealthOptions<P = unknown, O = unknown> {
  /**
   * Runs once, right after `createHealth` returns (e.g. a few dummy inferences so the first real request
   * does not pay for lazy initialisation). `/startupz` and `/readyz` answer 503 until it has resolved.
   * No timeout of its own: the Kubernetes startup probe (`failureThreshold × periodSeconds`) bounds it and
   * restarts a container whose warm-up hangs or fails.
   */
  warmup?: () => unknown;
  /** Readiness dependencies by name; the name is the key under `checks` in `/readyz` answers. */
  dependencies?: Record<string, DependencyCheck | DependencyOptions>;
  /** Default timeout of each dependency check in milliseconds. Default 500. */
  dependencyTimeoutMs?: number;
  /** `/livez` fails when the worst event-loop lag of the last `eventLoopWindowMs` exceeds this (ms). Default 1000. */
  maxEventLoopLagMs?: number;
  /** How far back `/livez` looks for event-loop stalls (ms). Default 10 000. */
  eventLoopWindowMs?: number;
  /** How often the event-loop lag is sampled (ms); lag is under-counted by up to this much. Default 100. */
  eventLoopSampleIntervalMs?: number;
  /** The model self-test served at `/healthz/model`. Without it that path is not served. */
  selfTest?: SelfTestOptions<P, O>;
  /** Graceful shutdown; see {@link ShutdownOptions}. */
  shutdown?: ShutdownOptions;
  /** Paths of the four answers; see {@link HealthPaths}. */
  paths?: Partial<HealthPaths>;
}

/**
 * The defaults of {@link HealthOptions}, and why.
 *
 * - `dependencyTimeoutMs` and `selfTest.timeoutMs` 500: half the Kubernetes default probe `timeoutSeconds`
 *   (1 s), so the answer naming the slow part arrives before the kubelet gives up on the probe.
 * - `maxEventLoopLagMs` 1000: the same 1 s; a loop stalled that long would already make a probe landing
 *   in the stall time out, and it is far above ordinary GC pauses, so liveness (which restarts the
 *   container) does not fire on noise.
 * - `eventLoopWindowMs` 10 000: the default `periodSeconds` (10), so every stall is seen by about one
 *   probe; with `failureThreshold` 3 one stall does not restart the pod, stalls in three periods running do.
 * - `eventLoopSampleIntervalMs` 100: ten timer wake-ups a second, under-counting lag by at most 100 ms.
 * - `selfTest.cacheMs` 10 000: at most one self-test inference per default probe period, however many
 *   probers (kubelet, Vigil in several regions) ask.
 * - `shutdown.delayMs` 5000: time for endpoint removal to reach kube-proxy, ingress controllers and
 *   cloud load balancers after the pod starts terminating; `shutdown.timeoutMs` 10 000: together with the
 *   delay well inside the default `terminationGracePeriodSeconds` (30 s), after which the kubelet sends SIGKILL.
 * - `shutdown.signals` `['SIGTERM']`: what the kubelet sends to start termination.
 *
 * @example
 * ```ts
 * createHealth({ maxEventLoopLagMs: HEALTH_DEFAULTS.maxEventLoopLagMs * 2 });
 * ```
 */
export const HEALTH_DEFAULTS = Object.freeze({
  dependencyTimeoutMs: 500,
  maxEventLoopLagMs: 1000,
  eventLoopWindowMs: 10_000,
  eventLoopSampleIntervalMs: 100,
  selfTest: Object.freeze({ timeoutMs: 500, cacheMs: 10_000 }),
  shutdown: Object.freeze({
    signals: Object.freeze(['SIGTERM'] as const),
    delayMs: 5000,
    timeoutMs: 10_000,
    exitCode: 0,
  }),
  paths: Object.freeze({
    livez: '/livez',
    readyz: '/readyz',
    startupz: '/startupz',
    model: '/healthz/model',
  }),
});

/** A dependency after defaults are applied. */
export interface ResolvedDependency {
  readonly name: string;
  readonly check: DependencyCheck;
  readonly timeoutMs: number;
}

/** The self-test options after defaults are applied. */
export interface ResolvedSelfTest<P = unknown, O = unknown> {
  readonly payload: P;
  readonly run: SelfTestOptions<P, O>['run'];
  readonly validate: SelfTestOptions<P, O>['validate'];
  readonly summarize: SelfTestOptions<P, O>['summarize'];
  readonly timeoutMs: number;
  readonly cacheMs: number;
}

/** The shutdown options after defaults are applied. */
export interface ResolvedShutdown {
  readonly signals: readonly NodeJS.Signals[];
  readonly delayMs: number;
  readonly timeoutMs: number;
  readonly close: (() => unknown) | undefined;
  readonly exitCode: number;
  readonly exit: ((code: number) => void) | undefined;
}

/** {@link HealthOptions} validated, with every default applied, frozen. */
export interface ResolvedHealthOptions<P = unknown, O = unknown> {
  readonly warmup: (() => unknown) | undefined;
  readonly dependencies: readonly ResolvedDependency[];
  readonly maxEventLoopLagMs: number;
  readonly eventLoopWindowMs: number;
  readonly eventLoopSampleIntervalMs: number;
  readonly selfTest: ResolvedSelfTest<P, O> | undefined;
  readonly shutdown: ResolvedShutdown;
  readonly paths: Readonly<HealthPaths>;
}

const TOP_LEVEL_KEYS = [
  'warmup',
  'dependencies',
  'dependencyTimeoutMs',
  'maxEventLoopLagMs',
  'eventLoopWindowMs',
  'eventLoopSampleIntervalMs',
  'selfTest',
  'shutdown',
  'paths',
] as const;
const SELF_TEST_KEYS = ['payload', 'run', 'validate', 'summarize', 'timeoutMs', 'cacheMs'] as const;
const SHUTDOWN_KEYS = ['signals', 'delayMs', 'timeoutMs', 'close', 'exitCode', 'exit'] as const;
const DEPENDENCY_KEYS = ['check', 'timeoutMs'] as const;
const PATH_KEYS = ['livez', 'readyz', 'startupz', 'model'] as const;
/** Names under `checks` that the library itself uses in `/readyz` answers. */
const RESERVED_DEPENDENCY_NAMES = new Set(['warmup']);
const KNOWN_SIGNALS = new Set(Object.keys(constants.signals));
// setTimeout clamps larger delays to 1 ms, which would turn a long timeout into an immediate one.
const MAX_TIMER_MS = 2_147_483_647;
const POSITIVE = { allowZero: false };

/**
 * Validates `options` and applies the defaults: the one place where defaults are merged. Reports every
 * problem at once.
 *
 * @throws {VigilServeConfigError} listing each invalid or unknown option with its path.
 * @example
 * ```ts
 * const resolved = resolveHealthOptions({ selfTest: { payload: 1, run: (x) => x * 2 } });
 * resolved.selfTest?.cacheMs; // 10000
 * ```
 */
export function resolveHealthOptions<P, O>(options: HealthOptions<P, O> = {}): ResolvedHealthOptions<P, O> {
  const issues: string[] = [];
  // Checked as unknown: narrowing the typed options would widen their fields to unknown.
  if (!isRecord(options as unknown)) {
    throw new VigilServeConfigError([`options: expected an object, got ${show(options)}`]);
  }
  rejectUnknownKeys(options, TOP_LEVEL_KEYS, '', issues);

  const resolved: ResolvedHealthOptions<P, O> = {
    warmup: optionalFunction(options.warmup, 'warmup', issues),
    dependencies: resolveDependencies(options, issues),
    maxEventLoopLagMs: milliseconds(
      options.maxEventLoopLagMs,
      'maxEventLoopLagMs',
      HEALTH_DEFAULTS.maxEventLoopLagMs,
      issues,
      POSITIVE,
    ),
    eventLoopWindowMs: milliseconds(
      options.eventLoopWindowMs,
      'eventLoopWindowMs',
      HEALTH_DEFAULTS.eventLoopWindowMs,
      issues,
      POSITIVE,
    ),
    eventLoopSampleIntervalMs: milliseconds(
      options.eventLoopSampleIntervalMs,
      'eventLoopSampleIntervalMs',
      HEALTH_DEFAULTS.eventLoopSampleIntervalMs,
      issues,
      POSITIVE,
    ),
    selfTest: resolveSelfTest(options.selfTest, issues),
    shutdown: resolveShutdown(options.shutdown, issues),
    paths: resolvePaths(options.paths, issues),
  };
  if (resolved.eventLoopSampleIntervalMs > resolved.eventLoopWindowMs) {
    issues.push(
      `eventLoopSampleIntervalMs: must not exceed eventLoopWindowMs (${resolved.eventLoopWindowMs}), got ${resolved.eventLoopSampleIntervalMs}`,
    );
  }
  if (issues.length > 0) throw new VigilServeConfigError(issues);
  return Object.freeze(resolved);
}

function resolveDependencies(
  options: Pick<HealthOptions, 'dependencies' | 'dependencyTimeoutMs'>,
  issues: string[],
): ResolvedDependency[] {
  const defaultTimeoutMs = milliseconds(
    options.dependencyTimeoutMs,
    'dependencyTimeoutMs',
    HEALTH_DEFAULTS.dependencyTimeoutMs,
    issues,
    POSITIVE,
  );
  if (options.dependencies === undefined) return [];
  if (!isRecord(options.dependencies)) {
    issues.push(`dependencies: expected an object of name → check, got ${show(options.dependencies)}`);
    return [];
  }
  const resolved: ResolvedDependency[] = [];
  for (const [name, value] of Object.entries(options.dependencies)) {
    const path = `dependencies.${name}`;
    if (name.trim() === '') issues.push(`dependencies: names must not be empty, got ${show(name)}`);
    if (RESERVED_DEPENDENCY_NAMES.has(name)) {
      issues.push(`${path}: "${name}" is reserved for the library's own check, choose another name`);
    }
    if (typeof value === 'function') {
      resolved.push(Object.freeze({ name, check: value as DependencyCheck, timeoutMs: defaultTimeoutMs }));
      continue;
    }
    if (!isRecord(value)) {
      issues.push(`${path}: expected a function or { check, timeoutMs? }, got ${show(value)}`);
      continue;
    }
    rejectUnknownKeys(value, DEPENDENCY_KEYS, `${path}.`, issues);
    const check = requiredFunction(value.check, `${path}.check`, issues);
    const timeoutMs = milliseconds(value.timeoutMs, `${path}.timeoutMs`, defaultTimeoutMs, issues, POSITIVE);
    if (check) resolved.push(Object.freeze({ name, check: check as DependencyCheck, timeoutMs }));
  }
  return resolved;
}

function resolveSelfTest<P, O>(
  selfTest: SelfTestOptions<P, O> | undefined,
  issues: string[],
): ResolvedSelfTest<P, O> | undefined {
  if (selfTest === undefined) return undefined;
  if (!isRecord(selfTest as unknown)) {
    issues.push(`selfTest: expected { payload, run, validate?, … }, got ${show(selfTest)}`);
    return undefined;
  }
  rejectUnknownKeys(selfTest, SELF_TEST_KEYS, 'selfTest.', issues);
  const defaults = HEALTH_DEFAULTS.selfTest;
  return Object.freeze({
    payload: selfTest.payload as P,
    run: (requiredFunction(selfTest.run, 'selfTest.run', issues) ?? (() => undefined)) as ResolvedSelfTest<
      P,
      O
    >['run'],
    validate: optionalFunction(selfTest.validate, 'selfTest.validate', issues) as ResolvedSelfTest<
      P,
      O
    >['validate'],
    summarize: optionalFunction(selfTest.summarize, 'selfTest.summarize', issues) as ResolvedSelfTest<
      P,
      O
    >['summarize'],
    timeoutMs: milliseconds(selfTest.timeoutMs, 'selfTest.timeoutMs', defaults.timeoutMs, issues, POSITIVE),
    cacheMs: milliseconds(selfTest.cacheMs, 'selfTest.cacheMs', defaults.cacheMs, issues),
  });
}

function resolveShutdown(shutdown: ShutdownOptions | undefined, issues: string[]): ResolvedShutdown {
  const defaults = HEALTH_DEFAULTS.shutdown;
  const given: ShutdownOptions = shutdown ?? {};
  if (!isRecord(given as unknown)) {
    issues.push(`shutdown: expected an object, got ${show(given)}`);
  } else {
    rejectUnknownKeys(given, SHUTDOWN_KEYS, 'shutdown.', issues);
  }
  const exitCode = given.exitCode ?? defaults.exitCode;
  if (!Number.isInteger(exitCode) || exitCode < 0 || exitCode > 255) {
    issues.push(`shutdown.exitCode: expected an integer from 0 to 255, got ${show(given.exitCode)}`);
  }
  let exit: ((code: number) => void) | undefined = (code) => process.exit(code);
  if (given.exit === false) exit = undefined;
  else if (given.exit !== undefined)
    exit = requiredFunction(given.exit, 'shutdown.exit', issues) as typeof exit;
  return Object.freeze({
    signals: resolveSignals(given.signals, issues),
    delayMs: milliseconds(given.delayMs, 'shutdown.delayMs', defaults.delayMs, issues),
    timeoutMs: milliseconds(given.timeoutMs, 'shutdown.timeoutMs', defaults.timeoutMs, issues, POSITIVE),
    close: optionalFunction(given.close, 'shutdown.close', issues),
    exitCode,
    exit,
  });
}

function resolveSignals(signals: unknown, issues: string[]): readonly NodeJS.Signals[] {
  if (signals === undefined) return HEALTH_DEFAULTS.shutdown.signals;
  if (!Array.isArray(signals)) {
    issues.push(`shutdown.signals: expected an array of signal names like ["SIGTERM"], got ${show(signals)}`);
    return [];
  }
  signals.forEach((signal, index) => {
    if (typeof signal !== 'string' || !KNOWN_SIGNALS.has(signal)) {
      issues.push(`shutdown.signals[${index}]: expected a signal name like "SIGTERM", got ${show(signal)}`);
    }
  });
  return Object.freeze([...new Set(signals as NodeJS.Signals[])]);
}

function resolvePaths(paths: Partial<HealthPaths> | undefined, issues: string[]): Readonly<HealthPaths> {
  if (paths === undefined) return HEALTH_DEFAULTS.paths;
  if (!isRecord(paths as unknown)) {
    issues.push(`paths: expected an object like { readyz: "/ready" }, got ${show(paths)}`);
    return HEALTH_DEFAULTS.paths;
  }
  rejectUnknownKeys(paths, PATH_KEYS, 'paths.', issues);
  const resolved: HealthPaths = { ...HEALTH_DEFAULTS.paths };
  for (const key of PATH_KEYS) {
    const path = paths[key];
    if (path === undefined) continue;
    if (typeof path !== 'string' || !path.startsWith('/') || /[?#\s]/.test(path)) {
      issues.push(
        `paths.${key}: expected a path starting with "/" without query or spaces, got ${show(path)}`,
      );
      continue;
    }
    resolved[key] = path;
  }
  const seen = new Map<string, string>();
  for (const key of PATH_KEYS) {
    const other = seen.get(resolved[key]);
    if (other) issues.push(`paths.${key}: "${resolved[key]}" is already the path of ${other}`);
    seen.set(resolved[key], key);
  }
  return Object.freeze(resolved);
}

function milliseconds(
  value: unknown,
  path: string,
  fallback: number,
  issues: string[],
  { allowZero = true } = {},
): number {
  if (value === undefined) return fallback;
  const valid = typeof value === 'number' && Number.isFinite(value) && value <= MAX_TIMER_MS;
  if (valid && (allowZero ? value >= 0 : value > 0)) return value;
  const expected = allowZero ? 'a number of milliseconds ≥ 0' : 'a number of milliseconds > 0';
  issues.push(`${path}: expected ${expected}, got ${show(value)}`);
  return fallback;
}

function requiredFunction(
  value: unknown,
  path: string,
  issues: string[],
): ((...args: never[]) => unknown) | undefined {
  if (typeof value === 'function') return value as (...args: never[]) => unknown;
  issues.push(`${path}: expected a function, got ${show(value)}`);
  return undefined;
}

function optionalFunction(value: unknown, path: string, issues: string[]): (() => unknown) | undefined {
  if (value === undefined) return undefined;
  return requiredFunction(value, path, issues) as (() => unknown) | undefined;
}

function rejectUnknownKeys(value: object, known: readonly string[], prefix: string, issues: string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key))
      issues.push(`${prefix}${key}: unknown option; known options are ${known.join(', ')}`);
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function show(value: unknown): string {
  if (typeof value === 'function') return 'a function';
  if (typeof value === 'bigint') return `${value}n`;
  if (value === undefined) return 'undefined';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
