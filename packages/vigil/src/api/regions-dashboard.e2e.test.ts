/**
 * The dashboard's regions, end to end in Debian's Chromium (playwright-core, never a browser
 * download; the shared set-up of `fixtures/browser.ts`): a real hub probing a model fake from its own
 * region, two agents (eu, us) pushing to it over loopback, eu's path to the model cut. The check page
 * shows the regions side by side (eu unhealthy, the others healthy, each with its latency) and the
 * hub's verdict (regional); the overview tile carries the compact marker (1 of 3 failing). When the
 * model breaks for every region the page's verdict turns global without a reload. Axe's WCAG A/AA
 * rules pass on both pages.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Agent, createAgent } from '../agent/agent.js';
import { parseConfig } from '../config/index.js';
import { axeViolations, CHROMIUM, hasChromium, launchChromium, ROOT } from '../fixtures/browser.js';
import { createHub, type Hub } from '../hub/hub.js';
import { createHttpFake, type HttpFake } from '../protocols/fakes/http.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import type { HttpClient } from '../types.js';
import { createHttpClient } from '../wire/http.js';
import { createApi, defaultDashboardDir } from './app.js';

const requireAll = process.env.VIGIL_REQUIRE_ALL === '1';
if (!hasChromium && !requireAll) {
  console.warn(`skipping the regions dashboard test: ${CHROMIUM} is missing (Debian package "chromium")`);
}

const ARTIFACTS = join(ROOT, 'test-artifacts');
const TOKENS = { eu: 'eu-token-0123456789abcdef', us: 'us-token-0123456789abcdef' };
const CHECK = 'scorer/liveness';

/** A client whose path to the model can be cut (connection refused). */
function pathClient(): HttpClient & { cut: boolean } {
  const inner = createHttpClient({ keepAlive: true });
  const client = {
    cut: false,
    async request(request: Parameters<HttpClient['request']>[0]) {
      if (client.cut)
        return {
          error: { code: 'CONNECTION_REFUSED' as const, message: 'path cut by the test' },
          phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: 0, transferMs: 0 },
          durationMs: 1,
        };
      return inner.request(request);
    },
    close: () => inner.close(),
  };
  return client;
}

describe.skipIf(!hasChromium && !requireAll)('the regions on the dashboard (Chromium)', () => {
  let model: HttpFake;
  let dir: string;
  let store: Store;
  let hub: Hub;
  let app: FastifyInstance;
  let url: string;
  let browser: Browser;
  let page: Page;
  const agents: Agent[] = [];
  const eu = pathClient();
  const pageErrors: string[] = [];

  beforeAll(async () => {
    const dashboardDir = defaultDashboardDir();
    if (dashboardDir === undefined) throw new Error('the dashboard is not built: run `npm run build` first');
    dir = mkdtempSync(join(tmpdir(), 'vigil-regions-dashboard-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    model = await createHttpFake();
    const loaded = parseConfig(
      `
agents:
  regions:
    eu: { token: "${TOKENS.eu}" }
    us: { token: "${TOKENS.us}" }
# A 400 ms timeout: on a loaded CI machine a healthy region must not time out (the test asserts it healthy).
defaults: { interval: 500ms, timeout: 400ms, failureThreshold: 2, fastInterval: 150ms }
targets:
  - name: scorer
    url: ${model.url}
    protocol: http
    regions: [local, eu, us]
    checks: { liveness: {} }
`,
      { baseDir: dir },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    store = await openStore(join(dir, 'vigil.db'));
    hub = createHub({
      plan: loaded.plan,
      store,
      flushIntervalMs: 50,
      agents: { regions: ['eu', 'us'], downAfterMs: 5000 },
    });
    await hub.start();
    app = await createApi({
      hub,
      dashboardDir,
      agents: { tokenOf: (r) => (r === 'eu' || r === 'us' ? TOKENS[r] : undefined) },
    });
    url = await app.listen({ host: '127.0.0.1', port: 0 });
    for (const region of ['eu', 'us'] as const) {
      const agent = createAgent({
        hubUrl: url,
        region,
        token: TOKENS[region],
        spoolPath: ':memory:',
        client: region === 'eu' ? eu : pathClient(),
        pushIntervalMs: 100,
        pollIntervalMs: 5000,
      });
      agents.push(agent);
      await agent.start();
    }
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    page.on('pageerror', (err) => pageErrors.push(err.message));
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    for (const a of agents) await a.stop().catch(() => {});
    await app?.close();
    await hub?.stop();
    await store?.close();
    await model?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const verdict = () => hub.status().find((s) => s.checkId === CHECK)?.verdict?.state;

  it("shows a regional failure: the check's regions side by side and the tile's marker", async () => {
    const hubVerdict = async (state: string) => {
      for (let i = 0; i < 300 && verdict() !== state; i++) await new Promise((r) => setTimeout(r, 50));
      expect(verdict()).toBe(state);
    };
    await hubVerdict('ok');
    eu.cut = true;
    await hubVerdict('regional');

    await page.goto(`${url}/#/check/${encodeURIComponent(CHECK)}`);
    const matrix = page.locator('section.regions-matrix');
    await matrix.locator('tr[data-region="eu"][data-state="unhealthy"]').waitFor({ timeout: 15_000 });
    for (const region of ['local', 'us'])
      expect(await matrix.locator(`tr[data-region="${region}"]`).getAttribute('data-state')).toBe('healthy');
    // The header's badge speaks for the check's worst region, whichever region is listed first.
    await expect(page.locator('h1 .badge').first().getAttribute('class')).resolves.toContain(
      'state-unhealthy',
    );
    // Each region's latency: a number of ms, not a dash.
    expect(await matrix.locator('tr[data-region="us"] td').nth(1).textContent()).toMatch(/\d+(\.\d+)? ms/);
    await matrix.locator('p.verdict[data-verdict="regional"]').waitFor({ timeout: 15_000 });
    expect(await matrix.locator('p.verdict').textContent()).toContain('Failing: eu;');
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'regions-check.png'), fullPage: true });

    await page.goto(url);
    const marker = page.locator(`li.tile[data-target="scorer"] .region-markers li[data-check-id="${CHECK}"]`);
    await marker.and(page.locator('[data-failing="1"]')).waitFor({ timeout: 15_000 });
    expect(
      await marker.locator('.badge.mini').evaluateAll((els) => els.map((e) => e.getAttribute('data-region'))),
    ).toEqual(['eu', 'local', 'us']);
    expect(await marker.locator('.badge.mini[data-region="eu"]').getAttribute('class')).toContain(
      'state-unhealthy',
    );
    expect(await marker.textContent()).toContain('1 of 3 failing');
    expect(await axeViolations(page)).toEqual([]);
    await page.screenshot({ path: join(ARTIFACTS, 'regions-overview.png') });
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('turns the verdict global on the open check page when the model breaks everywhere', async () => {
    await page.goto(`${url}/#/check/${encodeURIComponent(CHECK)}`);
    await page.locator('p.verdict[data-verdict="regional"]').waitFor({ timeout: 15_000 });
    model.state.routes['GET /'] = { status: 500, json: { error: 'broken' } };
    await page.locator('p.verdict[data-verdict="global"]').waitFor({ timeout: 20_000 });
    for (const region of ['eu', 'local', 'us'])
      await page
        .locator(`section.regions-matrix tr[data-region="${region}"][data-state="unhealthy"]`)
        .waitFor({ timeout: 15_000 });
    expect(pageErrors).toEqual([]);
  }, 120_000);
});
