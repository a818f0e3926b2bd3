/**
 * The protocol adapters: one per serving API, one interface ({@link ProtocolAdapter}), one registry.
 * Adding a protocol is one file implementing the interface plus one line in {@link ADAPTERS}.
 */
import type { ProtocolAdapter, ProtocolName } from '../types.js';
import { httpAdapter } from './http.js';
import { kserveV1Adapter } from './kserve-v1.js';
import { oipV2Adapter } from './oip-v2.js';
import { ollamaAdapter } from './ollama.js';
import { openaiAdapter } from './openai.js';
import { tfservingAdapter } from './tfserving.js';
import { torchserveAdapter } from './torchserve.js';

/** Every adapter by protocol name. */
export const ADAPTERS: Readonly<Record<ProtocolName, ProtocolAdapter>> = Object.freeze({
  'oip-v2': oipV2Adapter,
  'kserve-v1': kserveV1Adapter,
  torchserve: torchserveAdapter,
  tfserving: tfservingAdapter,
  openai: openaiAdapter,
  ollama: ollamaAdapter,
  http: httpAdapter,
});

/**
 * The adapter for a protocol.
 *
 * @throws Error for a name outside {@link ProtocolName} (the config loader rejects those first).
 * @example
 * const answer = await getAdapter('oip-v2').readiness(ctx, plan);
 */
export function getAdapter(name: ProtocolName): ProtocolAdapter {
  const adapter = ADAPTERS[name];
  if (!adapter) throw new Error(`unknown protocol "${name}"`);
  return adapter;
}

export { createAdapterContext, joinUrl, type ProbeDeadline } from './context.js';
export { applyExtract } from './extract.js';
export { createOipV2Adapter, type OipV2Options } from './oip-v2.js';
