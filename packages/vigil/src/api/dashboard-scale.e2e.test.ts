/**
 * The dashboard's overview with a large hub, in Debian's Chromium (playwright-core): 2,000 checks on
 * 667 targets served by the real API and built dashboard, the hub's live part stood in for by the
 * test hub (its status list and events are set by hand, so no endpoints are probed). The grid is
 * virtualised: only a few rows of tiles are in the page, yet every tile is reached by scrolling, a
 * search and a state filter narrow the list over all checks, and an event changes a tile live. Its
 * first load is the lean `/api/v1/status/overview`, fetched once, with the events that arrive
 * meanwhile applied after it when its snapshot does not have them.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium, type Page, type Route } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWith } from '../fixtures/needs.js';
import type { CheckStatus } from '../hub/types.js';
import { probeResult } from '../store/fixtures/data.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { CheckKind, CheckState } from '../types.js';
import { createApi, defaultDashboardDir } from './app.js';
import { createTestHub, type TestHub } from './test-hub.js';

const CHROMIUM = '/usr/bin/chromium';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CHECKS = 2_000;
const KINDS: readonly CheckKind[] = ['liveness', 'readiness', 'integrity'];
const TARGETS = Math.ceil(CHECKS / KINDS.length);
const T0 = Date.now() - 3_600_000;

const targetName = (t: number) => `model-${String(t).padStart(4, '0')}`;

/** Every 50th target's integrity check is unhealthy; all else healthy. */
function statuses(): CheckStatus[] {
  const out: CheckStatus[] = [];
  for (let i = 0; i < CHECKS; i++) {
    const t = Math.floor(i / KINDS.length);
    const check = KINDS[i % KINDS.length] as CheckKind;
    const unhealthy = check === 'integrity' && t % 50 === 7;
    out.push({
      checkId: `${targetName(t)}/${check}`,
      target: targetName(t),
      check,
      region: 'local',
      state: unhealthy ? 'unhealthy' : 'healthy',
      since: T0,
      flapping: false,
      consecutiveFailures: unhealthy ? 3 : 0,
      model: `scorer-${t % 7}`,
      labels: { team: ['risk', 'ads', 'search'][t % 3] as string },
      lastResult: null,
    });
  }
  return out;
}
const UNHEALTHY_TARGETS = Array.from({ length: TARGETS }, (_, t) => t).filter(
  (t) => t % 50 === 7 && t * KINDS.length + 2 < CHECKS,
).length;

describeWith(
  existsSync(CHROMIUM),
  `${CHROMIUM} (Debian package chromium)`,
  'the dashboard with 2,000 checks in Chromium',
  () => {
    let store: Store;
    let hub: TestHub;
    let app: FastifyInstance;
    let url: string;
    let browser: Browser;
    let page: Page;
    const pageErrors: string[] = [];

    beforeAll(async () => {
      const dashboardDir = defaultDashboardDir();
      if (dashboardDir === undefined)
        throw new Error('the dashboard is not built: run `npm run build` first');
      store = await openStore(':memory:');
      hub = createTestHub(store, statuses());
      app = await createApi({ hub, dashboardDir });
      url = await app.listen({ host: '127.0.0.1', port: 0 });
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--disable-background-networking'],
      });
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('pageerror', (err) => pageErrors.push(err.message));
    }, 60_000);

    afterAll(async () => {
      await browser?.close();
      await app?.close();
      await store?.close();
    });

    /** Resolves after two frames: a scroll's re-render and its measurements are in the page then. */
    const frames = () =>
      page.evaluate(
        'new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => setTimeout(r, 0))))',
      );
    const rendered = async (): Promise<string[]> =>
      page.locator('li.tile').evaluateAll((tiles) => tiles.map((t) => t.getAttribute('data-target') ?? ''));
    const shownText = async () => (await page.locator('p.shown').textContent())?.trim();

    it('renders a few rows of tiles, and every tile is reached by scrolling to the end', {
      timeout: 120_000,
    }, async () => {
      await page.goto(url);
      await page.locator(`ul.tiles[data-count="${TARGETS}"] li.tile`).first().waitFor({ timeout: 15_000 });
      expect(await shownText()).toBe(`${TARGETS} of ${TARGETS} targets`);
      const first = await rendered();
      expect(first[0]).toBe(targetName(0));
      // A screenful and the overscan rows, not 667 tiles.
      expect(first.length).toBeGreaterThan(6);
      expect(first.length).toBeLessThan(80);
      // Each tile says where it is in the whole list.
      await expect(page.locator('li.tile').first().getAttribute('aria-setsize')).resolves.toBe(
        String(TARGETS),
      );

      const seen = new Set(first);
      const height = await page.evaluate('window.innerHeight');
      for (let step = 0; step < 500; step++) {
        const atEnd = await page.evaluate(
          'window.scrollY + window.innerHeight >= document.documentElement.scrollHeight - 1',
        );
        if (atEnd) break;
        await page.evaluate(`window.scrollBy(0, ${Math.round(Number(height) * 0.8)})`);
        await frames();
        const now = await rendered();
        expect(now.length, `tiles in the page at step ${step}`).toBeLessThan(80);
        for (const t of now) seen.add(t);
      }
      await frames();
      for (const t of await rendered()) seen.add(t);
      expect(seen.size).toBe(TARGETS);
      await page.locator(`li.tile[data-target="${targetName(TARGETS - 1)}"]`).waitFor({ state: 'visible' });
      mkdirSync(ARTIFACTS, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-2000-checks-end.png') });
      expect(pageErrors).toEqual([]);
    });

    it('lets the keyboard walk past the rendered rows: focus scrolls the next ones into the page', {
      timeout: 60_000,
    }, async () => {
      await page.goto(url);
      await page.locator(`ul.tiles[data-count="${TARGETS}"] li.tile`).first().waitFor({ timeout: 15_000 });
      const initial = await rendered();
      // Three check links per tile: Tab through every link rendered at first, and two tiles more.
      await page.locator('li.tile a').first().focus();
      for (let i = 0; i < initial.length * KINDS.length + 6; i++) await page.keyboard.press('Tab');
      const focused = String(
        await page.evaluate(
          "document.activeElement?.closest('li.tile')?.getAttribute('aria-posinset') ?? ''",
        ),
      );
      expect(Number(focused)).toBe(initial.length + 3);
      expect(pageErrors).toEqual([]);
    });

    it('narrows the list over every check with search and a state filter, and updates a tile live', {
      timeout: 60_000,
    }, async () => {
      await page.goto(url);
      await page.locator(`ul.tiles[data-count="${TARGETS}"] li.tile`).first().waitFor({ timeout: 15_000 });
      // A target far down the list, found by search without scrolling.
      const far = targetName(TARGETS - 3);
      await page.getByLabel('Search', { exact: true }).fill(far);
      await page.locator('ul.tiles[data-count="1"]').waitFor();
      expect(await shownText()).toBe(`1 of ${TARGETS} targets`);
      expect(await rendered()).toEqual([far]);
      await page.getByLabel('Search', { exact: true }).fill('');
      await page.locator(`ul.tiles[data-count="${TARGETS}"]`).waitFor();

      const unhealthy = page.locator('.summary button', { hasText: /Unhealthy/ });
      await unhealthy.click();
      await page.locator(`ul.tiles[data-count="${UNHEALTHY_TARGETS}"]`).waitFor();
      const tiles = await page
        .locator('li.tile')
        .evaluateAll((ts) => ts.map((t) => [t.getAttribute('data-target'), t.getAttribute('data-state')]));
      expect(tiles).toHaveLength(UNHEALTHY_TARGETS);
      expect(tiles.every(([, state]) => state === 'unhealthy')).toBe(true);
      await unhealthy.click();
      await page.locator(`ul.tiles[data-count="${TARGETS}"]`).waitFor();

      // A transition over the event stream turns the first tile unhealthy, without a reload.
      const to: CheckState = 'unhealthy';
      hub.publish({
        type: 'transition',
        transition: {
          checkId: `${targetName(0)}/liveness`,
          region: 'local',
          from: 'healthy',
          to,
          at: Date.now(),
          reason: '3 consecutive failures',
          results: [],
        },
      });
      await page.locator(`li.tile[data-target="${targetName(0)}"][data-state="unhealthy"]`).waitFor();
      expect(await shownText()).toBe(`${TARGETS} of ${TARGETS} targets`);
      expect(await axe(page)).toEqual([]);
      expect(pageErrors).toEqual([]);
    });

    it('loads the lean overview answer once, holding the events that arrive meanwhile and applying those after its snapshot', {
      timeout: 60_000,
    }, async () => {
      const checkId = `${targetName(0)}/liveness`;
      const result = (durationMs: number) =>
        probeResult({ checkId, target: targetName(0), check: 'liveness', region: 'local', durationMs });
      // The snapshot will hold two durations, the second being the result published before it.
      hub.setViews({ durations: { [checkId]: [5, 6] } });
      const overviews: Route[] = [];
      let statusFetches = 0;
      await page.route('**/api/v1/status**', (route) => {
        statusFetches++;
        overviews.push(route);
      });
      // Counts the page's events: a wrapper installed before its scripts (not subject to its CSP).
      await page.addInitScript({
        content: `window.__events = 0; const ES = window.EventSource; window.EventSource = class extends ES {
          constructor(u, i) { super(u, i); for (const t of ['result', 'transition']) this.addEventListener(t, () => { window.__events++; }); } };`,
      });
      const events = async (atLeast: number) => {
        for (let i = 0; i < 300 && Number(await page.evaluate('window.__events')) < atLeast; i++) {
          await new Promise((r) => setTimeout(r, 50));
        }
        expect(Number(await page.evaluate('window.__events'))).toBeGreaterThanOrEqual(atLeast);
      };
      try {
        const streaming = page.waitForResponse((r) => r.url().includes('/api/v1/events'));
        await page.goto(url);
        await streaming;
        // Before the snapshot: a result it already counts (skipped when the answer comes).
        hub.publish({ type: 'result', result: result(6) });
        await events(1);
        for (let i = 0; i < 300 && overviews.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
        const route = overviews[0] as Route;
        expect(route.request().url()).toMatch(/\/api\/v1\/status\/overview$/);
        const response = await route.fetch();
        // After the snapshot, while the answer is held back from the page: applied when it arrives.
        hub.publish({
          type: 'transition',
          transition: {
            checkId,
            region: 'local',
            from: 'healthy',
            to: 'unhealthy',
            at: Date.now(),
            reason: '3 consecutive failures',
            results: [],
          },
        });
        hub.publish({ type: 'result', result: result(7) });
        await events(3);
        expect(statusFetches).toBe(1);
        // Playwright hands the body over decoded: sent as such, without the gzip header.
        const headers = { ...response.headers() };
        delete headers['content-encoding'];
        delete headers['content-length'];
        await route.fulfill({ status: response.status(), headers, body: await response.body() });

        const tile = page.locator(`li.tile[data-target="${targetName(0)}"]`);
        await page
          .locator(`li.tile[data-target="${targetName(0)}"][data-state="unhealthy"]`)
          .waitFor({ timeout: 15_000 });
        await expect(
          tile.locator(`tr[data-check-id="${checkId}"] svg`).getAttribute('aria-label'),
        ).resolves.toMatch(/^latency of the last 3 probes/);
        // The old page fetched the whole status again a second after such events; this one does not.
        await new Promise((r) => setTimeout(r, 2_500));
        expect(statusFetches).toBe(1);
        expect(await shownText()).toBe(`${TARGETS} of ${TARGETS} targets`);
        expect(pageErrors).toEqual([]);
      } finally {
        await page.unroute('**/api/v1/status**');
        hub.setViews({});
      }
    });
  },
);

/** axe-core's WCAG 2 A and AA rules on the page; the violations, one line each. */
async function axe(page: Page): Promise<string[]> {
  await page.evaluate(readFileSync(join(ROOT, 'node_modules/axe-core/axe.min.js'), 'utf8'));
  return page.evaluate(async () => {
    const axeGlobal = (globalThis as unknown as { axe: { run: (o: unknown) => Promise<unknown> } }).axe;
    const result = (await axeGlobal.run({ runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] } })) as {
      violations: Array<{ id: string; nodes: Array<{ target: string[] }> }>;
    };
    return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}
