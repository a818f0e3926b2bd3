/**
 * oip-v2 against fakes that answer as Triton and KServe's Python server do. Each case names its source:
 * triton-inference-server/core `src/server.cc` at 2e347f08 (`strict_readiness_ = true` in the
 * `InferenceServer` constructor, line 105; `IsReady` from line 411: with strict readiness, not ready
 * while any model version is not READY, lines 424–445; `ModelIsReady` from line 452: a model that is
 * not found leaves `ready` false with no error, lines 463–473), triton-inference-server/server
 * `src/http_server.cc` (HandleServerHealth, HandleModelReady: an empty 400, and 400 "Model version not
 * ready" when not ready without an error — functions named, lines not determined; at 00a165a6 `WriteDataToJson` line 588 with its FP16 case at lines 691–696 and BF16 at 698–703,
 * `ReadDataFromJson` line 519 with its FP16/BF16 input cases at 525–543; INVALID_ARG → 400 in
 * `HttpCodeFromError`), kserve/kserve `python/kserve/kserve/protocol/rest/v2_endpoints.py` at 67bcf1a4 and
 * `python/kserve/kserve/errors.py` at ec13beed (with lines), and ../shared/PROTOCOLS.md "Checked
 * against the servers' source (2026-12)".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from '../types.js';
import { createOipFake, type OipFake } from './fakes/oip.js';
import { startFakeServer } from './fakes/server.js';
import { makeClient, makePlan, makeTarget, runAdapter } from './fakes/testing.js';
import { oipV2Adapter } from './oip-v2.js';

let client: HttpClient;
let triton: OipFake;
let kserve: OipFake;

beforeAll(async () => {
  client = makeClient();
  triton = await createOipFake({ flavour: 'triton' });
  kserve = await createOipFake({ flavour: 'kserve' });
});
afterAll(async () => {
  await client.close();
  await triton.close();
  await kserve.close();
});

const fake = (flavour: 'triton' | 'kserve') => (flavour === 'triton' ? triton : kserve);

describe("oip-v2 readiness is the model's own (two-model server, one model broken)", () => {
  it.each([
    {
      flavour: 'triton' as const,
      source:
        'triton core src/server.cc at 2e347f08: strict_readiness_ = true line 105, IsReady lines 424–445; server src/http_server.cc HandleServerHealth',
      serverSays: 'answered 400 with an empty body',
    },
    {
      flavour: 'kserve' as const,
      source:
        'kserve v2_endpoints.py at 67bcf1a4 ready() lines 74–76, errors.py at ec13beed ServerNotReady line 105',
      serverSays: 'answered 503: Server is not ready.',
    },
  ])(
    '$flavour: the healthy model is ready, the server-wide state is one note ($source)',
    async ({ flavour, serverSays }) => {
      const t = makeTarget('oip-v2', fake(flavour).url, { model: 'good' });
      const answer = await runAdapter(client, oipV2Adapter, 'readiness', makePlan('readiness', t));
      expect(answer.verdict).toEqual({ ok: true });
      expect(answer.notes).toHaveLength(1);
      expect(answer.notes?.[0]).toContain(`server-wide readiness: GET /v2/health/ready ${serverSays}`);
      expect(answer.notes?.[0]).toContain('model "good" is ready');

      const broken = makeTarget('oip-v2', fake(flavour).url, { model: 'broken' });
      const failed = await runAdapter(client, oipV2Adapter, 'readiness', makePlan('readiness', broken));
      expect(failed.verdict).toMatchObject({
        ok: false,
        reason: expect.stringMatching(/^model "broken" not ready/),
      });
      // The broken model's failure is its own, not the server's.
      expect(failed.verdict.ok || failed.verdict.reason.includes('/v2/health/ready')).toBe(false);
    },
  );

  it.each(['triton', 'kserve'] as const)(
    '%s: liveness asks only /v2/health/live, and passes',
    async (flavour) => {
      const before = fake(flavour).requests.length;
      const t = makeTarget('oip-v2', fake(flavour).url, { model: 'broken' });
      const answer = await runAdapter(client, oipV2Adapter, 'liveness', makePlan('liveness', t));
      expect(answer.verdict).toEqual({ ok: true });
      expect(
        fake(flavour)
          .requests.slice(before)
          .map((r) => r.path),
      ).toEqual(['/v2/health/live']);
    },
  );
});

describe("oip-v2 reads Triton's and KServe's answers as they mean them", () => {
  it('Triton: model-ready 400 {"error":"Model version not ready"} for a missing model is "not ready or not loaded", not "unknown" (core src/server.cc at 2e347f08 ModelIsReady lines 463–473; server src/http_server.cc HandleModelReady)', async () => {
    const t = makeTarget('oip-v2', triton.url, { model: 'nope' });
    const answer = await runAdapter(client, oipV2Adapter, 'readiness', makePlan('readiness', t));
    expect(answer.verdict).toEqual({
      ok: false,
      reason:
        'model "nope" not ready or not loaded (Triton answers so for both): GET /v2/models/nope/ready answered 400: Model version not ready',
    });
  });

  it('KServe: 404 on a model-ready route is "unknown" (errors.py at ec13beed: ModelNotFound line 61, model_not_found_handler lines 150–152)', async () => {
    const t = makeTarget('oip-v2', kserve.url, { model: 'nope' });
    const answer = await runAdapter(client, oipV2Adapter, 'readiness', makePlan('readiness', t));
    expect(answer.verdict).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/^model "nope" unknown: /),
    });
  });

  it('KServe: 501 "Model versioning not supported yet." on /versions/{v} falls back to the version-less route, with a note (v2_endpoints.py at 67bcf1a4 model_ready lines 120–121; errors.py at ec13beed lines 162–166)', async () => {
    const before = kserve.requests.length;
    const t = makeTarget('oip-v2', kserve.url, { model: 'good', version: '1' });
    const answer = await runAdapter(client, oipV2Adapter, 'readiness', makePlan('readiness', t));
    expect(answer.verdict).toEqual({ ok: true });
    expect(kserve.requests.slice(before, before + 2).map((r) => r.path)).toEqual([
      '/v2/models/good/versions/1/ready',
      '/v2/models/good/ready',
    ]);
    expect(answer.notes?.[0]).toBe(
      'GET /v2/models/good/versions/1/ready answered 501: Model versioning not supported yet: the server does not serve versioned routes (KServe), so model "good"\'s version-less route was asked instead',
    );
  });

  it('Triton: a JSON inference of an FP16/BF16 output says why it cannot be read and points to the binary-data extension (src/http_server.cc at 00a165a6: WriteDataToJson FP16 lines 691–696, BF16 lines 698–703)', async () => {
    triton.state.models.half = { ready: true, datatype: 'FP16' };
    try {
      const t = makeTarget('oip-v2', triton.url, { model: 'half' });
      const request = { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] };
      const answer = await runAdapter(
        client,
        oipV2Adapter,
        'integrity',
        makePlan('integrity', t, { request }),
      );
      expect(answer.verdict).toMatchObject({
        ok: false,
        code: 'UNEXPECTED_STATUS',
        reason: expect.stringContaining(
          'output "y" is FP16/BF16, which Triton returns only through the binary-data extension',
        ),
      });
      // Asked as binary data, the output has no JSON "data": the same reason, not "no data array".
      const binary = {
        ...request,
        outputs: [{ name: 'y', parameters: { binary_data: true } }],
      };
      triton.state.models.half = { ready: true, datatype: 'BF16' };
      const asBinary = await runAdapter(
        client,
        oipV2Adapter,
        'integrity',
        makePlan('integrity', t, { request: binary }),
      );
      expect(asBinary.verdict).toMatchObject({
        ok: false,
        code: 'PROTOCOL',
        reason: expect.stringContaining('output "y" is FP16/BF16'),
      });
    } finally {
      delete triton.state.models.half;
    }
  });

  it.each([
    // The current text (WriteDataToJson's TRITONSERVER_TYPE_FP16 / TRITONSERVER_TYPE_BF16 cases).
    'sending FP16 data via JSON is not supported. Please use the binary data format for output',
    'sending BF16 data via JSON is not supported. Please use the binary data format for output',
    // Older releases (the rapidjson writer) named the output after "for output".
    'sending FP16 data via JSON is not supported. Please use the binary data format for output y',
    // ReadDataFromJson's refusal of an FP16 input.
    'receiving FP16 data via JSON is not supported. Please use the binary data format for input x',
  ])(
    'Triton: its 400 "%s" is explained even when the model\'s metadata did not declare FP16/BF16 (src/http_server.cc at 00a165a6: WriteDataToJson lines 691–703, ReadDataFromJson lines 525–543; INVALID_ARG → 400 in HttpCodeFromError)',
    async (error) => {
      // Metadata says FP32 (say, a model redeployed since), the inference answers as Triton does.
      const stale = await startFakeServer((req) =>
        req.path.endsWith('/infer')
          ? { status: 400, json: { error } }
          : { status: 200, json: { name: 'm', outputs: [{ name: 'y', datatype: 'FP32', shape: [1] }] } },
      );
      try {
        const t = makeTarget('oip-v2', stale.url, { model: 'm' });
        const request = { inputs: [{ name: 'x', shape: [1], datatype: 'FP32', data: [1] }] };
        const answer = await runAdapter(
          client,
          oipV2Adapter,
          'integrity',
          makePlan('integrity', t, { request }),
        );
        expect(answer.verdict).toMatchObject({
          ok: false,
          code: 'UNEXPECTED_STATUS',
          reason: expect.stringContaining(
            'is FP16/BF16, which Triton carries only through the binary-data extension',
          ),
        });
      } finally {
        await stale.close();
      }
    },
  );
});
