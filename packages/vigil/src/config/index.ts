/**
 * The config module: `vigil.yaml` → validated, frozen {@link VigilConfig} → {@link CheckPlan}s.
 *
 * ```ts
 * const result = await loadConfig('vigil.yaml');
 * if (!result.ok) for (const line of result.diagnostics) console.error(line);
 * else scheduler.start(result.plan);
 * ```
 *
 * Error codes: `VIGIL_ERR_CONFIG_INVALID` (diagnostics), `VIGIL_ERR_CONFIG_READ` (unreadable file),
 * `VIGIL_ERR_CONFIG_DURATION` (from {@link parseDuration}).
 *
 * @module
 */

export { DURATION_PATTERN, MAX_DURATION_MS, parseDuration } from '../diagnostics/duration.js';
export { createRedactor, REDACTED } from '../diagnostics/redact.js';
// The protocols own these now; exported here still for callers that found them here.
export { httpRequestSchema, OIP_DATATYPES } from '../protocols/index.js';
export { urlProblem } from '../schema/url.js';
export type { CheckPlan } from '../types.js';
export type { Env } from './interpolate.js';
export { generateJsonSchema } from './json-schema.js';
export {
  DEFAULT_MAX_CONFIG_BYTES,
  deepFreeze,
  type FailedConfig,
  type LoadedConfig,
  type LoadOptions,
  type LoadResult,
  loadConfig,
  loadConfigOrThrow,
  type ParseOptions,
  parseConfig,
  readConfigText,
} from './load.js';
export {
  createOffThreadLoader,
  type LoaderOptions,
  loadConfigOffThread,
  type OffThreadLoader,
  type OffThreadOptions,
} from './off-thread.js';
export { buildPlan } from './plan.js';
export {
  assertionSchema,
  authSchema,
  type CheckSpec,
  configErrorMap,
  configSchema,
  type DefaultsSpec,
  type ExpectSpec,
  expectSchema,
  operatorsSchema,
  type TargetSpec,
  TIMING_DEFAULTS,
  tlsSchema,
  type VigilConfig,
  type VigilConfigInput,
} from './schema.js';
