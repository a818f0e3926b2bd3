/**
 * The config is built from the protocol registry, not from a list of its own: a throwaway plugin
 * (fixtures/ping-protocol.ts), added to this test's copy of the registry, is picked up by the schema,
 * its messages, the plan and the JSON Schema without any file in config/ naming it.
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it, vi } from 'vitest';
import { generateJsonSchema } from './json-schema.js';
import { parseConfig } from './load.js';

vi.mock('../protocols/index.js', async (importOriginal) => {
  const original = await importOriginal<typeof import('../protocols/index.js')>();
  const { pingProtocol } = await import('./fixtures/ping-protocol.js');
  const PROTOCOLS = { ...original.PROTOCOLS, 'ping-grpc': pingProtocol };
  return {
    ...original,
    PROTOCOLS,
    PROTOCOL_NAMES: Object.keys(PROTOCOLS),
    getProtocol: (name: string) => (name === 'ping-grpc' ? pingProtocol : original.getProtocol(name)),
  };
});

const load = (yaml: string) => parseConfig(yaml, { file: 'vigil.yaml', baseDir: '/tmp', env: {} });

const PING = `
targets:
  - name: echo
    url: 127.0.0.1:8001/
    protocol: ping-grpc
    healthService: echo.v1
    checks:
      liveness: { via: health, timeout: 1s }
      readiness: { request: { message: hi } }
`;

describe('a protocol added to the registry only', () => {
  it('is accepted, with its URL form, target option, check option and request', () => {
    const result = load(PING);
    if (!result.ok) expect.fail(result.diagnostics.join('\n'));
    const [liveness, readiness] = result.plan;
    expect(liveness?.target).toMatchObject({
      url: 'grpc://127.0.0.1:8001',
      protocol: 'ping-grpc',
      healthService: 'echo.v1',
    });
    // Its plan hook ran; the common part copied the readiness request.
    expect(liveness).toMatchObject({ kind: 'liveness', method: 'health', timeoutMs: 1000 });
    expect(readiness).toMatchObject({ kind: 'readiness', request: { message: 'hi' } });
    expect(readiness).not.toHaveProperty('method');
  });

  it('runs its defaults when checks are omitted', () => {
    const result = load('targets: [{ name: e, url: "grpcs://h:443", protocol: ping-grpc }]');
    if (!result.ok) expect.fail(result.diagnostics.join('\n'));
    expect(result.plan.map((plan) => [plan.id, plan.method])).toEqual([['e/liveness', 'ping']]);
  });

  it('words its problems, and the other protocols learn its keys', () => {
    const result = load(`
targets:
  - name: a
    url: http://127.0.0.1:8001
    protocol: ping-grpc
    checks:
      liveness: { via: health }
      integrity: {}
  - { name: b, url: "http://127.0.0.1:8002", protocol: http, healthService: x, checks: { liveness: { via: ping } } }
  - name: c
    url: http://127.0.0.1:8003
    protocol: oip-v2
    model: c
    checks: { readiness: { request: {} } }
  - { name: d, url: "http://127.0.0.1:8004", protocol: ping-grcp }
`);
    expect(result.ok ? [] : result.diagnostics).toEqual([
      'vigil.yaml:4:5: targets[0].url: expected a grpc:// or grpcs:// URL, got "http://127.0.0.1:8001"',
      'vigil.yaml:7:19: targets[0].checks.liveness.via: health needs its own timeout',
      'vigil.yaml:8:7: targets[0].checks.integrity.request: required: integrity and canary checks send this smoke payload, e.g. {message: "hello"}',
      'vigil.yaml:9:62: targets[1].healthService: unknown key: healthService is only for protocol "ping-grpc"',
      'vigil.yaml:9:102: targets[1].checks.liveness.via: unknown key: via is only for ping-grpc liveness checks (health or ping)',
      'vigil.yaml:14:28: targets[2].checks.readiness.request: unknown key: request is only for integrity and canary checks (and for any check of protocol "http"; and for readiness checks of protocol "ping-grpc")',
      'vigil.yaml:15:46: targets[3].protocol: expected one of oip-v2, oip-grpc, kserve-v1, torchserve, tfserving, openai, ollama, http, ping-grpc, got "ping-grcp"; did you mean "ping-grpc"?',
    ]);
  });

  it('is in the JSON Schema', () => {
    const schema = generateJsonSchema() as { $defs: Record<string, { description?: string }> };
    expect(Object.keys(schema.$defs)).toEqual(
      expect.arrayContaining([
        'PingGrpcLivenessCheck',
        'PingGrpcReadinessCheck',
        'PingGrpcIntegrityCheck',
        'PingGrpcCanaryCheck',
        'PingRequest',
      ]),
    );
    const validate = new Ajv2020({ allowUnionTypes: true }).compile(schema);
    const echo = { name: 'echo', url: '127.0.0.1:8001', protocol: 'ping-grpc', healthService: 'echo.v1' };
    expect(validate({ targets: [echo] })).toBe(true);
    expect(validate({ targets: [{ ...echo, checks: { liveness: { via: 'smoke' } } }] })).toBe(false);
    expect(validate({ targets: [{ ...echo, protocol: 'http' }] })).toBe(false);
  });

  it('joins the model help text', () => {
    const text = JSON.stringify(generateJsonSchema());
    expect(text).toContain(
      'Model name (model id for openai and ollama; service name for ping-grpc) as the server knows it; required unless protocol is http or ping-grpc.',
    );
  });
});
