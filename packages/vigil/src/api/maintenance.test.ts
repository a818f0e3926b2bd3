import type { FastifyInstance } from 'fastify';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../store/index.js';
import type { OneOffWindow, Store } from '../store/types.js';
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
const window = {
  matchers: [{ label: 'target', value: 'credit-.*', isRegex: true }],
  createdBy: 'ops',
  comment: 'GPU driver upgrade',
};

describe('maintenance windows API', () => {
  it('creates an open-ended window with the token, lists it as open, ends it once', async () => {
    const before = Date.now();
    const created = await app.inject({
      method: 'POST',
      url: '/api/v1/maintenance-windows',
      headers: auth,
      payload: window,
    });
    expect(created.statusCode).toBe(201);
    const made = created.json() as OneOffWindow;
    expect(made).toMatchObject({ ...window, endsAt: null, endedAt: null, endedBy: null });
    expect(made.startsAt).toBeGreaterThanOrEqual(before);

    const open = await app.inject({
      method: 'GET',
      url: `/api/v1/maintenance-windows?activeAt=${Date.now()}`,
    });
    expect((open.json() as { windows: OneOffWindow[] }).windows.map((w) => w.id)).toEqual([made.id]);

    const ended = await app.inject({
      method: 'POST',
      url: `/api/v1/maintenance-windows/${made.id}/end`,
      headers: auth,
      payload: { endedBy: 'alice' },
    });
    expect(ended.statusCode).toBe(200);
    const over = ended.json() as OneOffWindow;
    expect(over).toMatchObject({ id: made.id, endedBy: 'alice' });
    expect(over.endsAt).toBe(over.endedAt);
    expect(over.endsAt).toBeGreaterThanOrEqual(made.startsAt);

    const after = await app.inject({
      method: 'GET',
      url: `/api/v1/maintenance-windows?activeAt=${(over.endsAt ?? 0) + 1}`,
    });
    expect((after.json() as { windows: OneOffWindow[] }).windows).toEqual([]);
    const all = await app.inject({ method: 'GET', url: '/api/v1/maintenance-windows' });
    expect((all.json() as { windows: OneOffWindow[] }).windows).toEqual([over]);

    const again = await app.inject({
      method: 'POST',
      url: `/api/v1/maintenance-windows/${made.id}/end`,
      headers: auth,
    });
    expect(again.statusCode).toBe(409);
    expect((again.json() as { error: string }).error).toMatch(/is over already/);
    const unknown = await app.inject({
      method: 'POST',
      url: '/api/v1/maintenance-windows/nope/end',
      headers: auth,
    });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toEqual({ error: 'no maintenance window "nope"' });
  });

  it('creates a scheduled window with an end', async () => {
    const startsAt = new Date(Date.now() + 3_600_000).toISOString();
    const endsAt = new Date(Date.now() + 7_200_000).toISOString();
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/maintenance-windows',
      headers: auth,
      payload: { ...window, startsAt, endsAt },
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toMatchObject({ startsAt: Date.parse(startsAt), endsAt: Date.parse(endsAt) });
    const now = await app.inject({
      method: 'GET',
      url: `/api/v1/maintenance-windows?activeAt=${Date.now()}`,
    });
    expect((now.json() as { windows: OneOffWindow[] }).windows).toEqual([]);
  });

  it('refuses to create or end without the bearer token', async () => {
    const none = await app.inject({ method: 'POST', url: '/api/v1/maintenance-windows', payload: window });
    expect(none.statusCode).toBe(401);
    const made = await store.putMaintenanceWindow({ ...window, startsAt: Date.now(), endsAt: null });
    const wrong = await app.inject({
      method: 'POST',
      url: `/api/v1/maintenance-windows/${made.id}/end`,
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.statusCode).toBe(401);
    expect(await store.maintenanceWindows()).toEqual([made]);
  });

  it.each([
    ['an empty matcher list', { ...window, matchers: [] }, /matchers/],
    [
      'an end before the start',
      { ...window, startsAt: '2030-01-01T00:00:00Z', endsAt: '2029-01-01T00:00:00Z' },
      /^endsAt must be after startsAt$/,
    ],
    [
      'a bad regex',
      { ...window, matchers: [{ label: 'target', value: '(', isRegex: true }] },
      /^matchers\[0\]\.value: invalid regular expression "\(" \(RE2 syntax\)/,
    ],
    ['an unknown field', { ...window, duration: '2h' }, /duration/],
  ])('rejects %s with 400 naming the field', async (_what, payload, message) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/maintenance-windows',
      headers: auth,
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect((res.json() as { error: string }).error).toMatch(message);
    expect(await store.maintenanceWindows()).toEqual([]);
  });
});
