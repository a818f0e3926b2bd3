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
