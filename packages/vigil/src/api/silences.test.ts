import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createApi } from './app.js';
import { createTestHub } from './test-hub.js';

const TOKEN = 'sesame';
let store: Store;
let app: FastifyInstance;

beforeEach(async () => {
  store = await openStore(':memory:');
  app = await createApi({ hub: createTestHub(store, []), token: TOKEN });
});
afterEach(async () => {
  await app.close();
  await store.close();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const silence = {
  matchers: [{ label: 'target', value: 'credit-.*', isRegex: true }],
  endsAt: new Date(Date.now() + 3_600_000).toISOString(),
  createdBy: 'ops',
  comment: 'model redeploy',
};

describe('silences API', () => {
  it('creates a silence with the token, lists it, and deletes it', async () => {
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/silences',
      headers: auth,
      payload: silence,
    });
    expect(created.statusCode).toBe(201);
    const { id } = created.json() as { id: string };
    const listed = await app.inject({ method: 'GET', url: `/api/v1/silences?activeAt=${Date.now()}` });
    expect((listed.json() as { silences: Array<{ id: string; comment: string }> }).silences).toEqual([
      expect.objectContaining({ id, comment: 'model redeploy' }),
    ]);
    const deleted = await app.inject({ method: 'DELETE', url: `/api/v1/silences/${id}`, headers: auth });
    expect(deleted.json()).toEqual({ deleted: id });
    const again = await app.inject({ method: 'DELETE', url: `/api/v1/silences/${id}`, headers: auth });
    expect(again.statusCode).toBe(404);
    expect(await store.silences()).toEqual([]);
  });

  it('refuses to create or delete without the bearer token', async () => {
    const none = await app.inject({ method: 'POST', url: '/api/v1/silences', payload: silence });
    expect(none.statusCode).toBe(401);
    const wrong = await app.inject({
      method: 'DELETE',
      url: '/api/v1/silences/x',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(await store.silences()).toEqual([]);
  });

  it.each([
    ['an empty matcher list', { ...silence, matchers: [] }, /matchers/],
    [
      'an end before the start',
      { ...silence, startsAt: silence.endsAt, endsAt: '2020-01-01T00:00:00Z' },
      /endsAt must be after startsAt/,
    ],
    [
      'a bad regex',
      { ...silence, matchers: [{ label: 'target', value: '(', isRegex: true }] },
      /matchers\[0\]\.value: invalid regular expression/,
    ],
    [
      'a regex RE2 cannot run in linear time (lookahead)',
      { ...silence, matchers: [{ label: 'target', value: '(?!credit).*', isRegex: true }] },
      /^matchers\[0\]\.value: invalid regular expression "\(\?!credit\)\.\*" \(RE2 syntax\): lookahead \(\?!: RE2 matches in linear time, without backreferences or lookaround$/,
    ],
  ])('rejects %s with 400 naming the field', async (_what, payload, message) => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/silences', headers: auth, payload });
    expect(res.statusCode).toBe(400);
    expect((res.json() as { error: string }).error).toMatch(message);
  });
});
