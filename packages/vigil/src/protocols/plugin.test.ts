import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ConfigError, VigilError } from '../errors.js';
import { defineAdapter } from './common.js';
import { ADAPTERS, getAdapter, getProtocol, PROTOCOL_NAMES, PROTOCOLS } from './index.js';
import { DEFAULT_REQUEST_KINDS, defineProtocol } from './plugin.js';

const SRC = fileURLToPath(new URL('..', import.meta.url));

const noop = async () => {
  throw new Error('not called');
};
const adapterNamed = (name: string) =>
  defineAdapter(name, { liveness: noop, readiness: noop, integrity: noop, metadata: noop });

describe('the protocol registry', () => {
  it('registers each plugin under its own name, in the order messages list them', () => {
    expect(PROTOCOL_NAMES).toEqual([
      'oip-v2',
      'oip-grpc',
      'kserve-v1',
      'torchserve',
      'tfserving',
      'openai',
      'ollama',
      'http',
    ]);
    for (const name of PROTOCOL_NAMES) {
      expect(PROTOCOLS[name].name).toBe(name);
      expect(ADAPTERS[name]).toBe(PROTOCOLS[name].adapter);
    }
  });

  const ALL = 'expected one of oip-v2, oip-grpc, kserve-v1, torchserve, tfserving, openai, ollama, http';

  it.each([
    ['triton', `unknown protocol "triton": ${ALL}`, `protocol: ${ALL}, got "triton"`],
    [
      'oip-v3',
      `unknown protocol "oip-v3": ${ALL}; did you mean "oip-v2"?`,
      `protocol: ${ALL}, got "oip-v3"; did you mean "oip-v2"?`,
    ],
    // Not a registered name, however the registry object is built.
    ['constructor', `unknown protocol "constructor": ${ALL}`, `protocol: ${ALL}, got "constructor"`],
  ])('getAdapter(%j) throws a coded ConfigError', (name, message, diagnostic) => {
    const error = (() => {
      try {
        getAdapter(name);
      } catch (thrown) {
        return thrown;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: 'VIGIL_ERR_PROTOCOL_UNKNOWN', message, diagnostics: [diagnostic] });
  });

  it('gives the plugin of a registered name', () => {
    expect(getProtocol('torchserve')).toBe(PROTOCOLS.torchserve);
    expect(Object.keys(getProtocol('torchserve').targetOptions)).toEqual(['managementUrl', 'managementAuth']);
  });
});

describe('defineProtocol', () => {
  it('fills in the defaults: http(s) URLs, liveness and readiness, a request on integrity and canary', () => {
    const plugin = defineProtocol({
      name: 'ping',
      adapter: adapterNamed('ping'),
      model: 'optional',
      request: { schema: PROTOCOLS['oip-v2'].request?.schema ?? ({} as never) },
    });
    expect(plugin).toMatchObject({
      url: { schemes: ['http', 'https'] },
      defaultChecks: ['liveness', 'readiness'],
      request: { kinds: DEFAULT_REQUEST_KINDS },
      targetOptions: {},
      checkOptions: {},
      misplacedKeyHints: {},
      errorCodes: {},
    });
    expect(Object.isFrozen(plugin)).toBe(true);
  });

  it.each([
    [{ adapter: adapterNamed('pong') }, 'protocol "ping": its adapter is named "pong"'],
    [
      { errorCodes: { 'ping-status': 'x' } },
      'protocol "ping": error code "ping-status" is not UPPER_SNAKE like the core codes',
    ],
  ])('rejects an inconsistent plugin: %j', (overrides, message) => {
    const define = () =>
      defineProtocol({ name: 'ping', adapter: adapterNamed('ping'), model: 'optional', ...overrides });
    expect(define).toThrow(VigilError);
    expect(define).toThrow(message);
  });
});

/**
 * "A protocol is one file plus one registry line": the files that assemble the config, the plan and the
 * messages must know no protocol by name. Quoted names (`'tfserving'`, "http", `torchserve`) are what a
 * protocol-specific branch or message looks like; distinctive names are not allowed even bare (comments
 * included; a product's name, "TorchServe", is not a protocol name). `http` is also an ordinary word
 * ("http(s) URL"), so only its quoted form counts.
 */
describe('files outside protocols/ that know no protocol by name', () => {
  const ORDINARY_WORDS = new Set(['http']);
  const literal = (text: string) => text.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&');

  it.each(['config/schema.ts', 'config/plan.ts', 'diagnostics/messages.ts', 'types.ts'])('%s', (file) => {
    const text = readFileSync(`${SRC}${file}`, 'utf8');
    const found = PROTOCOL_NAMES.flatMap((name) => {
      const quoted = new RegExp(`(['"\`])${literal(name)}\\1`, 'g');
      const bare = new RegExp(`(?<![\\w-])${literal(name)}(?![\\w-])`, 'g');
      return [...text.matchAll(ORDINARY_WORDS.has(name) ? quoted : bare)].map((match) => match[0]);
    });
    expect(found).toEqual([]);
  });
});
