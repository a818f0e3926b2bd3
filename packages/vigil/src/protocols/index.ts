/**
 * The protocol registry: one line per protocol plugin ({@link ProtocolPlugin}). Everything else that
 * knows the protocols is derived from it: {@link ProtocolName}, {@link PROTOCOL_NAMES}, {@link ADAPTERS},
 * the config schema and `vigil.schema.json` (config/schema.ts), the plan (config/plan.ts).
 *
 * Adding a protocol is one file `protocols/<name>.ts` exporting its plugin (`defineProtocol`), plus one
 * line in {@link PROTOCOLS}.
 */
import { closest } from '../diagnostics/suggest.js';
import { ConfigError } from '../errors.js';
import type { ProtocolAdapter } from '../types.js';
import { httpProtocol } from './http.js';
import { kserveV1Protocol } from './kserve-v1.js';
import { oipGrpcProtocol } from './oip-grpc.js';
import { oipV2Protocol } from './oip-v2.js';
import { ollamaProtocol } from './ollama.js';
import { openaiProtocol } from './openai.js';
import type { ProtocolPlugin } from './plugin.js';
import { tfservingProtocol } from './tfserving.js';
import { torchserveProtocol } from './torchserve.js';

/** Checks at compile time that each plugin is registered under its own name. */
function registry<const Plugins extends { readonly [Name in keyof Plugins]: ProtocolPlugin<Name & string> }>(
  plugins: Plugins,
): Readonly<Plugins> {
  return Object.freeze(plugins);
}

/** Every protocol plugin by name, in the order messages and the JSON Schema list them. */
export const PROTOCOLS = registry({
  'oip-v2': oipV2Protocol,
  'oip-grpc': oipGrpcProtocol,
  'kserve-v1': kserveV1Protocol,
  torchserve: torchserveProtocol,
  tfserving: tfservingProtocol,
  openai: openaiProtocol,
  ollama: ollamaProtocol,
  http: httpProtocol,
});

/** Serving APIs Vigil speaks: the registry's names. */
export type ProtocolName = keyof typeof PROTOCOLS;

/** The protocol names, in registry order. */
export const PROTOCOL_NAMES = Object.keys(PROTOCOLS) as readonly ProtocolName[];

/** Every adapter by protocol name. */
export const ADAPTERS: Readonly<Record<ProtocolName, ProtocolAdapter>> = Object.freeze(
  Object.fromEntries(PROTOCOL_NAMES.map((name) => [name, PROTOCOLS[name].adapter])) as Record<
    ProtocolName,
    ProtocolAdapter
  >,
);

/** True for a registered protocol's name. */
export function isProtocolName(name: string): name is ProtocolName {
  return Object.hasOwn(PROTOCOLS, name);
}

/**
 * The plugin of a protocol.
 *
 * @throws ConfigError `VIGIL_ERR_PROTOCOL_UNKNOWN` for a name that is not registered (the config loader
 *   rejects those first; a plan built by hand may not), with a "did you mean" when one is close.
 * @example
 * getProtocol('torchserve').targetOptions // { managementUrl: … }
 */
export function getProtocol(name: string): ProtocolPlugin {
  if (isProtocolName(name)) return PROTOCOLS[name];
  const suggestion = closest(name, PROTOCOL_NAMES);
  const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
  const expected = `expected one of ${PROTOCOL_NAMES.join(', ')}`;
  // Worded as the config loader words a bad `protocol:` (diagnostic) and as a one-line error (message).
  throw new ConfigError(
    'VIGIL_ERR_PROTOCOL_UNKNOWN',
    `unknown protocol ${JSON.stringify(name)}: ${expected}${hint}`,
    [`protocol: ${expected}, got ${JSON.stringify(name)}${hint}`],
  );
}

/**
 * The adapter of a protocol.
 *
 * @throws ConfigError `VIGIL_ERR_PROTOCOL_UNKNOWN` for a name that is not registered (see {@link getProtocol}).
 * @example
 * const answer = await getAdapter('oip-v2').readiness(ctx, plan);
 */
export function getAdapter(name: string): ProtocolAdapter {
  return getProtocol(name).adapter;
}

export { createAdapterContext, joinUrl, type ProbeDeadline } from './context.js';
export { applyExtract } from './extract.js';
export { type HttpCheckRequest, httpRequestSchema } from './http.js';
export { createOipV2Adapter, OIP_DATATYPES, type OipV2Options } from './oip-v2.js';
export {
  type CheckOptions,
  DEFAULT_REQUEST_KINDS,
  defineProtocol,
  missingRequest,
  type PlanAdditions,
  type ProtocolDefinition,
  type ProtocolPlugin,
} from './plugin.js';
