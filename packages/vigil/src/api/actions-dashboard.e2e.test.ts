/**
 * The incident page's recovery actions, end to end in Debian's Chromium (playwright-core, never a
 * browser download): a real hub probes a real example model server; a fault turns its integrity check
 * unhealthy; the target's `command` action (a real process) clears the fault through the server's
 * admin API with a token from its `env`; the check recovers. The incident page lists the run — action,
 * kind, step, what ran, why, result, output — and never the token; it passes axe-core's WCAG A/AA rules.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelServer, type ModelServer, parseFault } from '@vigil/example-model-server';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../config/index.js';
import { axeViolations, CHROMIUM, hasChromium, launchChromium, ROOT } from '../fixtures/browser.js';
import { createHub, type Hub } from '../hub/hub.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createApi, defaultDashboardDir } from './app.js';

const requireAll = process.env.VIGIL_REQUIRE_ALL === '1';
if (!hasChromium && !requireAll) {
  console.warn(`skipping the actions dashboard test: ${CHROMIUM} is missing (Debian package "chromium")`);
}

const ARTIFACTS = join(ROOT, 'test-artifacts');
const ADMIN = 'actions-e2e-admin-token-5c8d';

/** The action's program: clears the model server's faults (`DELETE /admin/faults`), says so. */
const CLEAR_FAULTS = `fetch(process.env.VIGIL_TARGET_URL + '/admin/faults', { method: 'DELETE', headers: { authorization: 'Bearer ' + process.env.MODEL_ADMIN_TOKEN } }).then((r) => { console.log('cleared the faults of ' + process.env.VIGIL_TARGET + ': HTTP ' + r.status); process.exit(r.ok ? 0 : 1); })`;

describe.skipIf(!hasChromium && !requireAll)('the incident page shows recovery actions (Chromium)', () => {
  let server: ModelServer;
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
    dir = mkdtempSync(join(tmpdir(), 'vigil-actions-dashboard-'));
    mkdirSync(ARTIFACTS, { recursive: true });
    server = await createModelServer({
      models: ['credit-scorer'],
      warmupInferences: 0,
      faults: { enabled: true, token: ADMIN },
    });
    const modelUrl = await server.listen({ host: '127.0.0.1', port: 0 });
    const loaded = parseConfig(
      `
defaults: { interval: 500ms, timeout: 400ms, failureThreshold: 2, fastInterval: 200ms }
targets:
  - name: credit-scorer
    url: ${modelUrl}
    protocol: oip-v2
    model: credit-scorer
    checks:
      integrity:
        request:
          inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7] }]
    actions:
      onUnhealthy:
        - kind: command
          name: clear-faults
          command: [${JSON.stringify(process.execPath)}, "-e", ${JSON.stringify(CLEAR_FAULTS)}]
          env: { MODEL_ADMIN_TOKEN: ${ADMIN} }
          timeout: 20s
`,
      { baseDir: dir },
    );
    if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
    store = await openStore(join(dir, 'vigil.db'));
    hub = createHub({ plan: loaded.plan, store, redact: loaded.redact, flushIntervalMs: 50 });
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
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists the action run that healed the model on its incident', { timeout: 90_000 }, async () => {
    await page.goto(url);
    const tile = page.locator('li.tile[data-target="credit-scorer"]');
    await tile.and(page.locator('[data-state="healthy"]')).waitFor({ timeout: 30_000 });
    server.faults.set('nan', parseFault('nan', {}));
    // The action clears the fault: the incident closes without anyone touching the server.
    await expect
      .poll(async () => (await store.incidents({ open: false })).length, { timeout: 45_000, interval: 200 })
      .toBe(1);
    expect(server.faults.list()).toEqual({});

    await page.getByRole('link', { name: 'Incidents' }).click();
    const incident = page.locator('tr[data-incident]', { hasText: 'credit-scorer/integrity' }).first();
    await incident.waitFor({ timeout: 15_000 });
    await incident.getByRole('link').click();
    await page.locator('h2', { hasText: 'Recovery actions' }).waitFor();
    const row = page.locator('tr[data-action-status="succeeded"]');
    await row.waitFor({ timeout: 15_000 });
    expect(await page.locator('tr[data-action-status]').count()).toBe(1);
    const cells = await row.locator('td').allTextContents();
    expect(cells[1]).toBe('clear-faults (command), step 1');
    expect(cells[2]).toMatch(/^run \[".*node.*","-e",/);
    expect(cells[3]).toMatch(/^unhealthy: /);
    expect(cells[4]).toContain('succeeded');
    expect(cells[5]).toBe('exit 0\ncleared the faults of credit-scorer: HTTP 200');
    const text = (await page.locator('main').textContent()) ?? '';
    expect(text).not.toContain(ADMIN);
    await page.screenshot({ path: join(ARTIFACTS, 'dashboard-incident-actions.png'), fullPage: true });
    expect(await axeViolations(page)).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
