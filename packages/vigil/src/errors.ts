/**
 * Vigil's error classes. Every error carries a stable `code` (`VIGIL_ERR_<AREA>_<WHAT>`), in the
 * manner of Fastify's `FST_ERR_*` and undici's `UND_ERR_*`, and passes on its `cause`.
 *
 * A down endpoint is data, not an exception: probes return ProbeResults. These errors are for
 * bad input (config, usage) and for bugs or infrastructure faults.
 */
export class VigilError extends Error {
  override name = 'VigilError';
  /** Stable, documented code, e.g. `VIGIL_ERR_CONFIG_INVALID`. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Invalid configuration; `diagnostics` lists every problem with its path. */
export class ConfigError extends VigilError {
  override name = 'ConfigError';
  readonly diagnostics: readonly string[];

  constructor(
    code: string,
    message: string,
    diagnostics: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.diagnostics = diagnostics;
  }
}

/** Wrong command-line usage: the CLI exits 2. */
export class UsageError extends VigilError {
  override name = 'UsageError';
}

/**
 * Exit codes of the `vigil` CLI, one per kind of outcome, so a script or a supervisor can tell "the
 * model is broken" (1) from "Vigil was started wrong" (2) from "Vigil's own infrastructure is broken"
 * (3, 4). 0–2 are what `vigil check` has always returned (grep's convention: 1 a negative answer, 2
 * trouble); 70 is BSD sysexits' `EX_SOFTWARE`. The table in ERRORS.md ("Exit codes") lists the same.
 */
export const EXIT_CODES = {
  /** Done: every check passed, the config is valid, the rules were written, the hub stopped cleanly. */
  ok: 0,
  /**
   * `vigil check`: a check failed (or was degraded, with `--strict`); `vigil run`: stopping failed;
   * `vigil baseline diff`: the two baselines differ beyond tolerance (diff(1)'s convention).
   */
  failed: 1,
  /** Wrong usage or config: a bad flag or flag value, an invalid or unreadable config, golden set or baseline file. */
  usage: 2,
  /** The store cannot be used: damaged, not writable, unreachable, or at an unknown schema. */
  store: 3,
  /** The API (or a router) cannot listen: the port is in use, not permitted, or the address is not this host's. */
  listen: 4,
  /** A bug: an error Vigil did not expect. The stack trace is printed. */
  internal: 70,
} as const;

/** One of {@link EXIT_CODES}' values. */
export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

/**
 * The exit code of each error code that can end a command (ERRORS.md's "Exit codes" table lists
 * the same). A {@link UsageError} or {@link ConfigError} with a code not listed here is a usage error;
 * any other error is {@link EXIT_CODES}`.internal`.
 */
export const EXIT_CODE_OF_ERROR: Readonly<Record<string, ExitCode>> = {
  VIGIL_ERR_USAGE: EXIT_CODES.usage,
  VIGIL_ERR_CONFIG_INVALID: EXIT_CODES.usage,
  VIGIL_ERR_CONFIG_READ: EXIT_CODES.usage,
  // A malformed `--store` value, such as a PostgreSQL URL that does not parse.
  VIGIL_ERR_STORE_INVALID_ARGUMENT: EXIT_CODES.usage,
  VIGIL_ERR_CANARY_CASES: EXIT_CODES.usage,
  VIGIL_ERR_BASELINE_READ: EXIT_CODES.usage,
  VIGIL_ERR_BASELINE_INVALID: EXIT_CODES.usage,
  VIGIL_ERR_BASELINE_VERSION: EXIT_CODES.usage,
  VIGIL_ERR_STORE_OPEN: EXIT_CODES.store,
  VIGIL_ERR_STORE_CORRUPT: EXIT_CODES.store,
  VIGIL_ERR_STORE_MIGRATION: EXIT_CODES.store,
  VIGIL_ERR_STORE_SCHEMA_TOO_NEW: EXIT_CODES.store,
  VIGIL_ERR_STORE_QUERY: EXIT_CODES.store,
  VIGIL_ERR_API_LISTEN: EXIT_CODES.listen,
  VIGIL_ERR_ROUTER_LISTEN: EXIT_CODES.listen,
};

/**
 * The exit code for an error that ended a command: {@link EXIT_CODE_OF_ERROR} by its code, else 2 for
 * a {@link UsageError} or {@link ConfigError}, else {@link EXIT_CODES}`.internal`.
 *
 * @example exitCodeOf(new UsageError('VIGIL_ERR_USAGE', '--port must be 0..65535')) // 2
 */
export function exitCodeOf(error: unknown): ExitCode {
  if (!(error instanceof VigilError)) return EXIT_CODES.internal;
  const mapped = EXIT_CODE_OF_ERROR[error.code];
  if (mapped !== undefined) return mapped;
  return error instanceof UsageError || error instanceof ConfigError ? EXIT_CODES.usage : EXIT_CODES.internal;
}
