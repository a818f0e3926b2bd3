/**
 * The check page's thresholds and canary figures, end to end in Debian's Chromium (playwright-core,
 * never a browser download), with the set-up of `actions-dashboard.e2e.test.ts`: a real hub probes a
 * real example model server. An integrity check with adaptive (`auto`) latency thresholds shows each
 * level's value, where it came from (the served version's reviewed baseline, the canary's, imported
 * at start) and how many durations are behind it (the baseline's 8 cases × 3 repeats); one with hand-written thresholds shows them as static; a canary compared with a baseline recorded
 * by `vigil baseline record` shows the baseline's version, the per-case comparison and its drift
 * statistics once the server's weights drift. The pages pass axe-core's WCAG A/AA rules.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createModelServer, type ModelServer, parseFault } from '@vigil/example-model-server';
import type { FastifyInstance } from 'fastify';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../cli/main.js';
import { loadConfig } from '../config/index.js';
import { axeViolations, CHROMIUM, hasChromium, launchChromium, ROOT } from '../fixtures/browser.js';
import { createHub, type Hub } from '../hub/hub.js';
import type { CheckInfo } from '../hub/types.js';
import { openStore } from '../store/index.js';
import type { Store } from '../store/types.js';
import { createApi, defaultDashboardDir } from './app.js';

const requireAll = process.env.VIGIL_REQUIRE_ALL === '1';
if (!hasChromium && !requireAll) {
  console.warn(`skipping the check page thresholds test: ${CHROMIUM} is missing (Debian package "chromium")`);
}

const ARTIFACTS = join(ROOT, 'test-artifacts');
const ADMIN = 'thresholds-e2e-admin-token';
const FEATURES = (i: number) =>
  Array.from({ length: 8 }, (_, j) => Number((((i + 1) * (j + 3) * 0.137 + j * 0.21) % 1).toFixed(2)));

describe.skipIf(!hasChromium && !requireAll)(
  'the check page shows thresholds and canary figures (Chromium)',
  () => {
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
      if (dashboardDir === undefined)
        throw new Error('the dashboard is not built: run `npm run build` first');
      dir = mkdtempSync(join(tmpdir(), 'vigil-check-page-'));
      mkdirSync(ARTIFACTS, { recursive: true });
      server = await createModelServer({
        models: ['credit-scorer'],
        warmupInferences: 1,
        faults: { enabled: true, token: ADMIN },
      });
      const modelUrl = await server.listen({ host: '127.0.0.1', port: 0 });
      const cases = Array.from({ length: 8 }, (_, i) => ({
        id: `applicant-${i}`,
        request: { inputs: [{ name: 'features', shape: [1, 8], datatype: 'FP32', data: FEATURES(i) }] },
      }));
      writeFileSync(join(dir, 'cases.jsonl'), `${cases.map((c) => JSON.stringify(c)).join('\n')}\n`);
      const request = `{ inputs: [{ name: features, shape: [1, 8], datatype: FP32, data: [${FEATURES(0).join(', ')}] }] }`;
      const config = join(dir, 'vigil.yaml');
      writeFileSync(
        config,
        `
defaults: { fastInterval: false, failureThreshold: 2 }
targets:
  - name: credit-scorer
    url: ${modelUrl}
    protocol: oip-v2
    model: credit-scorer
    checks:
      integrity:
        interval: 300ms
        timeout: 290ms
        request: ${request}
        expect:
          latency: { degraded: auto, failed: auto, adaptive: { minSamples: 6, warmup: 1, floor: 50ms } }
      canary:
        interval: 1s
        timeout: 900ms
        cases: cases.jsonl
        maxCasesPerRun: 4
        baseline: baseline-v1.json
  - name: credit-static
    url: ${modelUrl}
    protocol: oip-v2
    model: credit-scorer
    checks:
      integrity:
        interval: 500ms
        timeout: 400ms
        request: ${request}
        expect: { latency: { degraded: 150ms, failed: 350ms } }
`,
      );
      // The baseline of version 1, recorded from the healthy server as an operator would.
      process.exitCode = undefined;
      await main([
        'node',
        'vigil',
        'baseline',
        'record',
        '-c',
        config,
        '--target',
        'credit-scorer',
        '--repeats',
        '3',
        '--out',
        join(dir, 'baseline-v1.json'),
      ]);
      expect(Number(process.exitCode ?? 0)).toBe(0);
      process.exitCode = undefined;
      const loaded = await loadConfig(config);
      if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));
      store = await openStore(join(dir, 'vigil.db'));
      hub = createHub({ plan: loaded.plan, store, flushIntervalMs: 50 });
      await hub.start();
      app = await createApi({ hub, dashboardDir });
      url = await app.listen({ host: '127.0.0.1', port: 0 });
      browser = await launchChromium();
      page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on('pageerror', (err) => pageErrors.push(err.message));
    }, 90_000);

    afterAll(async () => {
      await browser?.close();
      await app?.close();
      await hub?.stop();
      await store?.close();
      await server?.close();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    const checkPage = (id: string) => page.goto(`${url}#/check/${encodeURIComponent(id)}`);

    it('shows adaptive thresholds with their source and sample count, and static ones as written', {
      timeout: 90_000,
    }, async () => {
      // Adaptive: the target's canary baseline of version 1 has a latency profile, so both levels come from it.
      await expect
        .poll(() => hub.checkInfo('credit-scorer/integrity')?.adaptiveLatency?.source.failedMs, {
          timeout: 45_000,
          interval: 100,
        })
        .toBe('baseline');
      await checkPage('credit-scorer/integrity');
      const adaptive = page.locator('dd[data-latency-thresholds="adaptive"]');
      await adaptive.locator('[data-level="failed"][data-source="baseline"]').waitFor({ timeout: 15_000 });
      const text = (await adaptive.textContent()) ?? '';
      expect(text).toMatch(
        /^degraded at [\d.]+ m?s \(from the served version's reviewed baseline\); failed at [\d.]+ m?s \(from the served version's reviewed baseline\); basis [\d.]+ m?s over 24 durations$/,
      );
      const info = hub.checkInfo('credit-scorer/integrity') as CheckInfo;
      expect(info.degradedMs).toBeGreaterThanOrEqual(50);
      await page.screenshot({
        path: join(ARTIFACTS, 'dashboard-check-adaptive-thresholds.png'),
        fullPage: true,
      });
      expect(await axeViolations(page)).toEqual([]);

      await checkPage('credit-static/integrity');
      const fixed = page.locator('dd[data-latency-thresholds="static"]');
      await fixed.waitFor({ timeout: 15_000 });
      expect(await fixed.textContent()).toBe('degraded at 150 ms; failed at 350 ms');
      expect(pageErrors).toEqual([]);
    });

    it("shows a canary's baseline version, its comparison and drift statistics once the weights drift", {
      timeout: 90_000,
    }, async () => {
      server.faults.set('drift', parseFault('drift', { sigma: 0.05 }));
      try {
        await expect
          .poll(() => hub.canary?.('credit-scorer/canary')?.lastRun?.verdict?.outcome, {
            timeout: 45_000,
            interval: 100,
          })
          .toBe('degraded');
        await checkPage('credit-scorer/canary');
        const run = page.locator('p[data-baseline-version="1"]');
        await run.waitFor({ timeout: 15_000 });
        expect(await run.getAttribute('data-baseline-status')).toBe('reviewed');
        await expect
          .poll(async () => run.textContent(), { timeout: 15_000 })
          .toMatch(
            /model version 1; compared with the reviewed baseline of version 1 recorded .*: degraded\.$/,
          );
        // The per-case comparison lists what is out of tolerance first.
        const firstRow = page
          .locator('section[aria-labelledby="canary-h"] table')
          .first()
          .locator('tbody tr')
          .first();
        expect(await firstRow.locator('td').last().textContent()).toBe('no');
        const statistics = page.locator('tr[data-drift-statistic]');
        await statistics.first().waitFor({ timeout: 15_000 });
        expect(await statistics.first().getAttribute('data-drift-statistic')).toMatch(/^(PSI|KS|JS) /);
        await page.screenshot({ path: join(ARTIFACTS, 'dashboard-check-canary.png'), fullPage: true });
        expect(await axeViolations(page)).toEqual([]);
        expect(pageErrors).toEqual([]);
      } finally {
        server.faults.clear();
      }
    });
  },
);
