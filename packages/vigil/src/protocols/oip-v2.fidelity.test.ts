/**
 * oip-v2 against fakes that answer as Triton and KServe's Python server do. Each case names its source:
 * triton-inference-server/server `src/http_server.cc` (HandleServerHealth, HandleModelReady; the
 * `--strict-readiness` default in `src/command_line_parser.cc`), kserve/kserve
 * `python/kserve/kserve/protocol/rest/v2_endpoints.py` (501 "Model versioning not supported yet"), and
 * ../shared/PROTOCOLS.md "Checked against the servers' source (2026-12)".
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpClient } from '../types.js';
import { createOipFake, type OipFake } from './fakes/oip.js';
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
        'triton src/http_server.cc HandleServerHealth: 400 while any model is not READY (strict readiness)',
      serverSays: 'answered 400 with an empty body',
    },
    {
      flavour: 'kserve' as const,
      source: 'kserve v2_endpoints.py: server ready only when every model is',
      serverSays: 'answered 503: server is not ready',
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
