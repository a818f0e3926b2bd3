/**
 * An adapter's notes on the dashboard's check page, end to end in Debian's Chromium (playwright-core,
 * never a browser download): a real hub and API probe the two-model Triton fake (`protocols/fakes/oip.ts`:
 * strict readiness, so `/v2/health/ready` answers 400 while its model `broken` is not ready), one target
 * per model. The good model's check page shows it healthy with the server-wide condition as one note,
 * on the latest result and on each result row; the broken model's page shows it unhealthy for its own
 * model-ready answer and says nothing of the server-wide route. Issue #15.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.js';
import { axeViolations, CHROMIUM, hasChromium, launchChromium, ROOT } from '../fixtures/browser.js';
import { createHub, type Hub } from '../hub/hub.js';
import { createOipFake, type OipFake } from '../protocols/fakes/oip.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createApi, defaultDashboardDir } from './app.js';

const requireAll = process.env.VIGIL_REQUIRE_ALL === '1';
if (!hasChromium && !requireAll) {
  console.warn(`skipping the check-notes dashboard test: ${CHROMIUM} is missing (Debian package "chromium")`);
}

const ARTIFACTS = join(ROOT, 'test-artifacts');
const SERVER_WIDE =
  /^server-wide readiness: GET \/v2\/health\/ready answered 400 with an empty body; model "good" is ready/;

describe.skipIf(!hasChromium && !requireAll)("the check page shows an adapter's notes (Chromium)", () => {
  let triton: OipFake;
  let dir: string;
  let store: Store;
  let hub: Hub;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const dashboardDir = defaultDashboardDir();
    if (dashboardDir === undefined) throw new Error('the dashboard is not built: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'vigil-check-notes-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    triton = await createOipFake({ flavour: 'triton' });
    const loaded = parseConfig(
      [
        // A generous timeout: the fake answers at once, but a loaded machine may not run the probe's
        // second request (the server-wide route) in time, and then there is no note to show.
        'defaults: { interval: 1s, timeout: 900ms, failureThreshold: 1 }',
        'targets:',
        ...['good', 'broken'].flatMap((model) => [
          `  - name: ${model}`,
          `    url: ${triton.url}`,
          '    protocol: oip-v2',
          `    model: ${model}`,
          '    checks: { readiness: {} }',
        ]),
      ].join('\n'),
      { baseDir: dir, env: {} },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    store = await openStore(join(dir, 'vigil.db'));
    hub = createHub({ plan: loaded.plan, store, flushIntervalMs: 50 });
    await hub.start();
    app = await createApi({ hub, dashboardDir });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await app?.close();
    await hub?.stop();
    await store?.close();
    await triton?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the good model: healthy, the server-wide condition one note on the latest result and each row', {
    timeout: 60_000,
  }, async () => {
    // Two stored results at least, so the rows are more than the latest one.
    await expect
      .poll(async () => (await store.results('good/readiness', { limit: 5 })).length, {
        timeout: 20_000,
        interval: 100,
      })
      .toBeGreaterThanOrEqual(2);
    await page.goto(`${url}#/check/${encodeURIComponent('good/readiness')}`);
    await page.locator('h1 .badge.state-healthy').waitFor({ timeout: 15_000 });
    const notes = page.getByRole('note');
    await notes.waitFor({ timeout: 15_000 });
    await expect(notes.locator('h2').textContent()).resolves.toBe('Notes of the latest result');
    const items = await notes.locator('li').allTextContents();
    expect(items).toEqual([expect.stringMatching(SERVER_WIDE)]);

    const rows = page.locator('table.results tbody tr');
    await expect.poll(() => rows.count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    // Each row passes and carries the server-wide condition once at most (none if that request did
    // not complete in time); most carry it.
    let noted = 0;
    for (const row of await rows.all()) {
      expect(await row.locator('.badge').first().textContent()).toContain('pass');
      const reasons = await row.locator('.reasons li').allTextContents();
      expect(reasons.length).toBeLessThanOrEqual(1);
      for (const reason of reasons) expect(reason).toMatch(/^note: server-wide readiness: /);
      noted += reasons.length;
    }
    expect(noted).toBeGreaterThanOrEqual(1);
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'check-notes-good.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('the broken model: unhealthy for its own answer, no note, no word of the server-wide route', {
    timeout: 60_000,
  }, async () => {
    await page.goto(`${url}#/check/${encodeURIComponent('broken/readiness')}`);
    await page.locator('h1 .badge.state-unhealthy').waitFor({ timeout: 15_000 });
    const first = page.locator('table.results tbody tr').first();
    await first.waitFor({ timeout: 15_000 });
    await expect(first.locator('.reasons li').allTextContents()).resolves.toEqual([
      expect.stringMatching(/^model "broken" not ready or not loaded \(Triton answers so for both\)/),
    ]);
    expect(await page.getByRole('note').count()).toBe(0);
    expect(await page.locator('main').textContent()).not.toContain('/v2/health/ready');
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'check-notes-broken.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });
});
