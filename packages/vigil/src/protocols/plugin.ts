/**
 * The protocol plugin contract: everything Vigil knows about one serving API, in one object that the
 * protocol's file exports and `protocols/index.ts` registers in one line. The config schema, the JSON
 * Schema, the plan and the unknown-key hints are all derived from the registry, so adding a protocol
 * touches no file outside `protocols/` (ARCHITECTURE.md, "How to add a plugin").
 *
 * The runtime side stays the lean {@link ProtocolAdapter} (four check methods); the rest of a plugin is
 * read once, when the config schema is built and when a plan is made.
 */
import type { z } from 'zod';
import { GOT } from '../diagnostics/messages.js';
import { VigilError } from '../errors.js';
import { HTTP_URL, type UrlForm } from '../schema/url.js';
import type { CheckKind, CheckPlan, ProtocolAdapter } from '../types.js';

/** What a protocol's plan hook may set on a check's plan (see {@link ProtocolPlugin.planCheck}). */
export type PlanAdditions = Partial<Pick<CheckPlan, 'request' | 'method'>>;

/** Keys a protocol adds to one kind of check, and rules across the check's keys. */
export interface CheckOptions {
  /** Extra keys, after the keys every check has and before `request` (e.g. TF Serving's `method`). */
  readonly shape?: z.ZodRawShape;
  /**
   * Rules across the check's keys (a zod `superRefine` of the check block, which it gets as parsed).
   * Issue paths are relative to the check: `['request', 'examples']`.
   */
  readonly refine?: (check: Record<string, unknown>, ctx: z.RefinementCtx) => void;
}

/** One serving API: its adapter and its part of the config. Made with {@link defineProtocol}. */
export interface ProtocolPlugin<Name extends string = string> {
  /** The `protocol:` value in `vigil.yaml`, e.g. `oip-v2`; also the registry key. */
  readonly name: Name;
  /** The runtime side: liveness, readiness, integrity and metadata (its `name` is `name`). */
  readonly adapter: ProtocolAdapter;
  /** Whether a target must name its model (`required`: a missing one is a config error). */
  readonly model: 'required' | 'optional';
  /** What the server calls a model when that is not "model name", e.g. `model id`; shown in editor help. */
  readonly modelNoun?: string;
  /** The URLs a target's `url` may be. Default `HTTP_URL` (http:// and https://). */
  readonly url: UrlForm;
  /** The checks a target that omits `checks` runs. Default liveness and readiness. */
  readonly defaultChecks: readonly CheckKind[];
  /**
   * The smoke payload a check sends as `request`, and the kinds of check that carry it (default
   * integrity and canary). Its schema's own `.optional()` decides whether a check must give one.
   */
  readonly request?: { readonly schema: z.ZodType; readonly kinds: readonly CheckKind[] };
  /** Keys a target of this protocol takes besides the common ones (e.g. TorchServe's `managementUrl`). */
  readonly targetOptions: Readonly<z.ZodRawShape>;
  /** Keys and rules this protocol adds per kind of check. */
  readonly checkOptions: Readonly<Partial<Record<CheckKind, CheckOptions>>>;
  /**
   * Unknown-key hints for this protocol's keys met elsewhere, e.g. `{method: 'method is only for …'}`.
   * Its target and check options get a hint without one (`managementUrl is only for protocol "x"`);
   * this overrides those.
   */
  readonly misplacedKeyHints: Readonly<Record<string, string>>;
  /**
   * Probe error codes (`ProbeResult.error.code`) this protocol adds to the core ones in types.ts, each
   * with its meaning. Each must be documented in ERRORS.md too (a test checks it).
   */
  readonly errorCodes: Readonly<Record<string, string>>;
  /**
   * Sets protocol-specific parts of a check's plan, after the common ones (the check's `request`, if it
   * has one, is already copied). Gets the check block as parsed.
   */
  readonly planCheck?: (check: Readonly<Record<string, unknown>>, kind: CheckKind) => PlanAdditions;
  /**
   * A request `vigil check --url` also sends, as an integrity check, besides liveness, readiness and
   * metadata (LLM protocols: a streamed generation of a few tokens, so its quick look shows time to
   * first token and tokens per second). None: the quick look sends no inference.
   */
  readonly quickLookRequest?: unknown;
}

/** What {@link defineProtocol} takes: a {@link ProtocolPlugin} whose optional parts may be left out. */
export type ProtocolDefinition<Name extends string> = Pick<
  ProtocolPlugin<Name>,
  'name' | 'adapter' | 'model'
> &
  Partial<Omit<ProtocolPlugin<Name>, 'name' | 'adapter' | 'model' | 'request'>> & {
    readonly request?: { readonly schema: z.ZodType; readonly kinds?: readonly CheckKind[] };
  };

/** The checks a target that omits `checks` runs, unless its protocol says otherwise. */
const DEFAULT_CHECKS: readonly CheckKind[] = ['liveness', 'readiness'];

/** The kinds of check that carry a smoke payload unless a protocol says otherwise. */
export const DEFAULT_REQUEST_KINDS: readonly CheckKind[] = ['integrity', 'canary'];

const ERROR_CODE_PATTERN = /^[A-Z][A-Z0-9_]*$/;

/**
 * Defines a protocol plugin, filling in the defaults. Frozen.
 *
 * @throws VigilError `VIGIL_ERR_PROTOCOL_DEFINITION` when the adapter's name is not the plugin's, or an
 *   error code is not UPPER_SNAKE (a bug in the plugin, met when its module loads).
 * @example
 * // kserve-v1.ts: the adapter (made with defineAdapter) and the zod schema of its predict request.
 * export const kserveV1Protocol = defineProtocol({
 *   name: 'kserve-v1',
 *   adapter: kserveV1Adapter,
 *   model: 'required',
 *   request: { schema: kserveV1RequestSchema },
 * });
 */
export function defineProtocol<const Name extends string>(
  definition: ProtocolDefinition<Name>,
): ProtocolPlugin<Name> {
  const { name, adapter, request } = definition;
  if (adapter.name !== name) {
    throw new VigilError(
      'VIGIL_ERR_PROTOCOL_DEFINITION',
      `protocol "${name}": its adapter is named "${adapter.name}"`,
    );
  }
  const errorCodes = definition.errorCodes ?? {};
  const badCode = Object.keys(errorCodes).find((code) => !ERROR_CODE_PATTERN.test(code));
  if (badCode !== undefined) {
    throw new VigilError(
      'VIGIL_ERR_PROTOCOL_DEFINITION',
      `protocol "${name}": error code "${badCode}" is not UPPER_SNAKE like the core codes`,
    );
  }
  const { request: _, ...rest } = definition;
  return Object.freeze({
    ...rest,
    url: definition.url ?? HTTP_URL,
    defaultChecks: definition.defaultChecks ?? DEFAULT_CHECKS,
    ...(request !== undefined && {
      request: { schema: request.schema, kinds: request.kinds ?? DEFAULT_REQUEST_KINDS },
    }),
    targetOptions: definition.targetOptions ?? {},
    checkOptions: definition.checkOptions ?? {},
    misplacedKeyHints: definition.misplacedKeyHints ?? {},
    errorCodes,
  });
}

/**
 * The error function of a request schema: a missing request says what integrity and canary checks send,
 * with an example; a request of the wrong kind says what was expected.
 *
 * @example z.strictObject({ inputs: z.array(z.unknown()) }, { error: missingRequest('{inputs: [...]}') })
 */
export const missingRequest = (example: string) => (issue: { input: unknown }) =>
  issue.input === undefined
    ? `required: integrity and canary checks send this smoke payload, e.g. ${example}`
    : `expected a mapping like ${example}, got ${GOT}`;
