/**
 * oip-grpc readiness as Triton's gRPC service answers it (triton-inference-server/server
 * `src/grpc/grpc_server.cc`, the ServerReady and ModelReady handlers, which call the same core as the
 * REST routes: TRITONSERVER_ServerIsReady, false under the default strict readiness while any model is
 * not READY; TRITONSERVER_ServerModelIsReady for one model — triton-inference-server/core `src/server.cc`
 * at 2e347f08: `strict_readiness_ = true` line 105, `IsReady` lines 424–445, `ModelIsReady` lines
 * 463–473; the handlers in grpc_server.cc named, lines not determined). A real gRPC server with two models, one of
 * them broken: the good model's target is ready, with the server-wide state as its note (issue #15).
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from '../types.js';
import { makeClient, makePlan, makeTarget, runAdapter } from './fakes/testing.js';
import { oipGrpcProtocol } from './oip-grpc.js';

const oipGrpcAdapter = oipGrpcProtocol.adapter;

const SPECS = fileURLToPath(new URL('../../specs', import.meta.url));
const definition = grpc.loadPackageDefinition(
  protoLoader.loadSync(join(SPECS, 'open_inference_grpc.proto'), {
    keepCase: true,
    longs: Number,
    enums: String,
    defaults: true,
    oneofs: true,
  }),
) as unknown as { inference: { GRPCInferenceService: { service: grpc.ServiceDefinition } } };

const models: Record<string, boolean> = { good: true, broken: false };
let server: grpc.Server;
let url: string;
let client: HttpClient;

beforeAll(async () => {
  server = new grpc.Server();
  server.addService(definition.inference.GRPCInferenceService.service, {
    ServerLive: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb(null, { live: true }),
    ServerReady: (_call: unknown, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { ready: Object.values(models).every(Boolean) }),
    ModelReady: (call: grpc.ServerUnaryCall<{ name: string }, unknown>, cb: grpc.sendUnaryData<unknown>) =>
      cb(null, { ready: models[call.request.name] === true }),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  url = `grpc://127.0.0.1:${port}`;
  client = makeClient();
});

afterAll(async () => {
  server.forceShutdown();
  await client.close();
});

describe('oip-grpc readiness on a server with a broken model', () => {
  it("passes the good model's target, with ServerReady's false as a note, and fails the broken one", async () => {
    const good = makeTarget('oip-grpc', url, { model: 'good' });
    const passed = await runAdapter(client, oipGrpcAdapter, 'readiness', makePlan('readiness', good));
    expect(passed.verdict).toEqual({ ok: true });
    expect(passed.notes).toEqual([
      expect.stringMatching(
        /^server-wide readiness: ServerReady answered ready: false; model "good" is ready/,
      ),
    ]);

    const broken = makeTarget('oip-grpc', url, { model: 'broken' });
    const failed = await runAdapter(client, oipGrpcAdapter, 'readiness', makePlan('readiness', broken));
    expect(failed.verdict).toMatchObject({
      ok: false,
      reason: expect.stringMatching(
        /not ready: ModelReady answered ready: false; the server is not ready either/,
      ),
    });
    expect(failed.notes).toBeUndefined();
  });

  it('adds no note when the whole server is ready', async () => {
    models.broken = true;
    try {
      const good = makeTarget('oip-grpc', url, { model: 'good' });
      const passed = await runAdapter(client, oipGrpcAdapter, 'readiness', makePlan('readiness', good));
      expect(passed.verdict).toEqual({ ok: true });
      expect(passed.notes).toBeUndefined();
    } finally {
      models.broken = false;
    }
  });
});
