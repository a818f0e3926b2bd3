/**
 * Stable codes of every error `vigil-ml-serve` throws or rejects with. Match on `error.code`, never on the
 * message: messages may be reworded, codes may not.
 *
 * @example
 * ```ts
 * try {
 *   createHealth({ maxEventLoopLagMs: -1 });
 * } catch (error) {
 *   if (error instanceof VigilServeError && error.code === 'VIGIL_ERR_SERVE_CONFIG') console.error(error.message);
 * }
 * ```
 */
export const VIGIL_SERVE_ERROR_CODES = [
  'VIGIL_ERR_SERVE_CONFIG',
  'VIGIL_ERR_SERVE_UNKNOWN_CHECK',
  'VIGIL_ERR_SERVE_NO_SELF_TEST',
  'VIGIL_ERR_SERVE_TIMEOUT',
  'VIGIL_ERR_SERVE_CLOSE_TIMEOUT',
] as const;

/**
 * One of {@link VIGIL_SERVE_ERROR_CODES}.
 *
 * @example
 * ```ts
 * const code: VigilServeErrorCode = 'VIGIL_ERR_SERVE_TIMEOUT';
 * ```
 */
export type VigilServeErrorCode = (typeof VIGIL_SERVE_ERROR_CODES)[number];

/**
 * Base class of every error `vigil-ml-serve` throws. Failing health checks are not errors: they are answers
 * (HTTP 503 with a body); this class is for misuse (bad options, unknown check names) and for timeouts
 * handed to user code as an `AbortSignal` reason.
 *
 * @example
 * ```ts
 * signal.addEventListener('abort', () => {
 *   if (signal.reason instanceof VigilServeError) console.log(signal.reason.code); // 'VIGIL_ERR_SERVE_TIMEOUT'
 * });
 * ```
 */
export class VigilServeError extends Error {
  /** Stable machine-readable code, e.g. `VIGIL_ERR_SERVE_TIMEOUT`. */
  readonly code: VigilServeErrorCode;

  constructor(code: VigilServeErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'VigilServeError';
    this.code = code;
  }
}

/**
 * Thrown by `createHealth` when its options are invalid. Lists every problem found, not just the first,
 * each prefixed with the option's path (`selfTest.cacheMs: expected …, got …`).
 *
 * @example
 * ```ts
 * try {
 *   createHealth({ paths: { readyz: 'readyz' } });
 * } catch (error) {
 *   if (error instanceof VigilServeConfigError) for (const issue of error.issues) console.error(issue);
 * }
 * ```
 */
export class VigilServeConfigError extends VigilServeError {
  /** Every problem found, one line each, each starting with the option's path. */
  readonly issues: readonly string[];

  constructor(issues: readonly string[]) {
    const list = issues.map((issue) => `  - ${issue}`).join('\n');
    super('VIGIL_ERR_SERVE_CONFIG', `invalid vigil-ml-serve options (${issues.length}):\n${list}`);
    this.name = 'VigilServeConfigError';
    this.issues = Object.freeze([...issues]);
  }
}
