import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TargetConfig } from '../types.js';
import { createGrpcClient, type GrpcClient, SPECS_DIR } from './grpc.js';
import { createGrpcTargetCaller, readTlsMaterial } from './grpc-target.js';
import { oipGrpcMethods } from './oip-grpc.js';

let server: grpc.Server;
let url = '';
let client: GrpcClient;
let dir = '';
const seen: grpc.Metadata[] = [];

beforeAll(async () => {
  const definition = grpc.loadPackageDefinition(
    protoLoader.loadSync(join(SPECS_DIR, 'open_inference_grpc.proto'), { keepCase: true, defaults: true }),
  ) as unknown as { inference: { GRPCInferenceService: { service: grpc.ServiceDefinition } } };
  server = new grpc.Server();
  server.addService(definition.inference.GRPCInferenceService.service, {
    ServerLive: (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      seen.push(call.metadata);
      cb(null, { live: true });
    },
    ServerMetadata: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { name: 'x'.repeat(5000), version: '1', extensions: [] }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  url = `grpc://127.0.0.1:${port}`;
  client = createGrpcClient();
  dir = mkdtempSync(join(tmpdir(), 'vigil-grpc-target-'));
});
afterAll(async () => {
  await client.close();
  server.forceShutdown();
  rmSync(dir, { recursive: true, force: true });
});

function target(extra: Partial<TargetConfig> = {}): TargetConfig {
  return {
    name: 'triton',
    url,
    protocol: 'oip-v2',
    model: 'm',
    labels: {},
    headers: { 'X-Team': 'ml' },
    maxBodyBytes: 1024 * 1024,
    maxRedirects: 5,
    ...extra,
  };
}

const oip = oipGrpcMethods();

describe('createGrpcTargetCaller', () => {
  it("sends the target's headers and credentials, and keeps the secret out of the exchange", async () => {
    const caller = createGrpcTargetCaller(client, target({ auth: { bearer: 'tok-1' } }), {
      timeoutMs: 5000,
      startedAt: performance.now(),
    });
    const exchange = await caller.call(oip.ServerLive, {});
    expect(exchange.message).toEqual({ live: true });
    const metadata = seen[seen.length - 1] as grpc.Metadata;
    expect(metadata.get('x-team')).toEqual(['ml']);
    expect(metadata.get('authorization')).toEqual(['Bearer tok-1']);
    expect(exchange.request.metadata).toEqual({ 'x-team': 'ml', authorization: '[REDACTED]' });
  });

  it("applies the target's message cap", async () => {
    const caller = createGrpcTargetCaller(client, target({ maxBodyBytes: 1000 }), {
      timeoutMs: 5000,
      startedAt: performance.now(),
    });
    expect((await caller.call(oip.ServerMetadata, {})).error?.code).toBe('BODY_TOO_LARGE');
  });

  it('does not send when the budget is spent: TIMEOUT', async () => {
    const before = seen.length;
    const caller = createGrpcTargetCaller(client, target(), {
      timeoutMs: 100,
      startedAt: performance.now() - 200,
    });
    const exchange = await caller.call(oip.ServerLive, {});
    expect(exchange.error).toEqual({
      code: 'TIMEOUT',
      message:
        'DEADLINE_EXCEEDED: probe timeout of 100 ms used up before /inference.GRPCInferenceService/ServerLive was sent',
    });
    expect(exchange.status.name).toBe('DEADLINE_EXCEEDED');
    expect(seen.length).toBe(before);
  });

  it('a TLS file that cannot be read is a TLS error, not an exception', async () => {
    const caller = createGrpcTargetCaller(
      client,
      target({ url: url.replace('grpc:', 'grpcs:'), tls: { caFile: join(dir, 'missing.pem') } }),
      { timeoutMs: 5000, startedAt: performance.now() },
    );
    const { error } = await caller.call(oip.ServerLive, {});
    expect(error?.code).toBe('TLS');
    expect(error?.message).toMatch(/^UNAVAILABLE: cannot read the TLS files of target "triton": ENOENT/);
  });
});

describe('readTlsMaterial', () => {
  it('reads the files once per config object; a failed read is tried again', async () => {
    const ca = join(dir, 'ca.pem');
    const tls = { caFile: ca, serverName: 'triton.internal', insecureSkipVerify: false };
    await expect(readTlsMaterial(tls)).rejects.toThrow(/ENOENT/);
    writeFileSync(ca, 'PEM-1');
    const first = await readTlsMaterial(tls);
    expect(first).toEqual({ ca: Buffer.from('PEM-1'), serverName: 'triton.internal' });
    writeFileSync(ca, 'PEM-2');
    expect(await readTlsMaterial(tls)).toBe(first);
    expect((await readTlsMaterial({ ...tls })).ca).toEqual(Buffer.from('PEM-2'));
  });
});
