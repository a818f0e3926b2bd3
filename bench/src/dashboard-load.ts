/**
 * Benchmark: the dashboard's overview with N checks, in Chromium. Issue #6: "usable with 2,000 checks:
 * the overview is interactive within 1 s"; issue #16: the same with 10,000 checks, interactions within
 * 200 ms. Run it once per count (`--checks 2000`, then `--checks 10000`).
 *
 * Processes (all loopback):
 *  - endpoints (`scale-endpoints.ts`, a child): `--ports` node:http servers answering a small
 *    OIP-shaped JSON body;
 *  - the hub (`dashboard-hub.ts`, a child started with the `vigil` binary's node flags, as `vigil run`
 *    serves the dashboard): `createHub` over a temp SQLite store with `--checks` `http` checks
 *    (liveness, readiness and integrity per target, so ⌈N/3⌉ targets, 10 s interval), labels
 *    `team`, `tier` and `zone` spread over the targets, 4% of the targets with an integrity check
 *    that fails (unhealthy) and 4% with a readiness check over its latency bound (degraded); and
 *    `createApi` serving the API and the built dashboard on 127.0.0.1;
 *  - Debian's Chromium (`/usr/bin/chromium`, never a download) driven by playwright-core, headless.
 *
 * Before the first load every check has `--history` results (30 by default: full sparklines, as on a
 * hub that has run for 5 minutes). Then `--warmup` loads (not counted; the hub's routes warm up) and
 * `--runs` cold loads, each in a new browser context (empty cache). Per load, in the page (an init
 * script; times from navigation start):
 *  - DOMContentLoaded, FCP, the end of the first status response (`api/v1/status…`: the overview's
 *    first load) and its size decoded and on the wire, and how many status answers the page fetched
 *    up to the end of the live window;
 *  - the overview's tiles in the DOM (the grid is virtualised: `ul.tiles` says it holds every target,
 *    `data-count`, and has its first screen of `li.tile`s, seen by a MutationObserver) and painted (the
 *    first frame after that: a task posted from that frame's requestAnimationFrame);
 *  - interactions, typed through the browser's input pipeline as soon as the tiles are painted, the
 *    event stream live: the search term key by key (`--type-delay-ms` apart, as a fast typist),
 *    clearing the search (every tile back), and a state filter button on and off. An interaction's
 *    latency runs from its keydown / mousedown event's timestamp to the first frame after the
 *    resulting `input` / `click` was handled (Preact renders in a microtask of that task);
 *  - long tasks (PerformanceObserver 'longtask'): total blocking time (Σ over long tasks of the part
 *    past 50 ms) and the longest, from navigation to the tiles painted;
 *  - CDP `Performance.getMetrics`: main-thread task time to the tiles painted, JS heap and DOM
 *    nodes (its script/style/layout split is not used: it disagreed with the trace by 5×);
 *  - then `--live-seconds` with the event stream live (one `result` event per probe: checks / 10 s):
 *    result events received per second, the main thread's share in long tasks and in all tasks,
 *    and the JS heap after a forced GC.
 * Printed: median and max over the runs, the machine, the command.
 *
 * `--baseline <dir>` compares two builds of the dashboard side by side on the same hub, in one run: the
 * baseline (another build's `packages/vigil/dist/dashboard`, copied aside before rebuilding) is served by
 * a second API instance over the same hub, and the loads alternate between the two (the order swapped
 * every round, so neither always goes first); the table then has both and the ratio of the medians.
 *
 * `--profile <dir>` adds one more load (not in the table) recorded as a Chromium trace plus a V8 CPU
 * profile, and prints the status request's timing, every main-thread task of 50 ms or more with what
 * took most of it and its split (script, GC, style, layout, paint), and what the main thread spent its
 * time on up to the tiles painted and in the live window (trace events by self time; JavaScript by
 * function, located in the minified bundle with the start of its source).
 *
 *   npm run build && node bench/dist/dashboard-load.js [--checks 2000] [--runs 5] [--live-seconds 20]
 *     [--history 30] [--warmup 1] [--search risk] [--type-delay-ms 150] [--ports 64] [--profile <dir>]
 *     [--baseline <dir>]
 */

import { type ChildProcess, spawn } from 'node:child_process';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { type Browser, type BrowserContext, type CDPSession, chromium, type Page } from 'playwright-core';
import type { CheckState } from 'vigil-ml';
import type { DashboardDriverMessage, DashboardHubMessage, DashboardHubOptions } from './dashboard-hub.js';
import { INTERVAL_MS, KINDS, targetCount } from './dashboard-plans.js';
import { startScaleEndpoints } from './scale-children.js';
import { median } from './stats.js';
import { vigilNodeFlags } from './vigil-flags.js';

const USAGE = `Usage: node bench/dist/dashboard-load.js [options]

Loads the hub's dashboard overview in headless Chromium with N checks and prints load, interaction
and live-update figures (median and max over the runs) as a markdown table.

  --checks <n>          checks (3 per target: liveness, readiness, integrity)   [2000]
  --runs <n>            cold page loads measured                                  [5]
  --live-seconds <s>    event stream watched per run after the interactions       [20]
  --history <n>         results every check has before the first load (30 = full sparklines) [30]
  --warmup <n>          loads before the measured ones, not counted               [1]
  --search <text>       the search term typed                                     [risk]
  --type-delay-ms <ms>  pause between keystrokes                                  [150]
  --ports <n>           local endpoint ports                                      [64]
  --profile <dir>       one extra load traced and CPU-profiled into <dir>, summarised
  --baseline <dir>      another dashboard build, loaded alternately with this one (same hub)
  --ready-share <x>     share of the checks that must have their history first (0–1)  [0.99]
  --help                this text
`;

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '2000' },
    runs: { type: 'string', default: '5' },
    'live-seconds': { type: 'string', default: '20' },
    history: { type: 'string', default: '30' },
    warmup: { type: 'string', default: '1' },
    search: { type: 'string', default: 'risk' },
    'type-delay-ms': { type: 'string', default: '150' },
    ports: { type: 'string', default: '64' },
    profile: { type: 'string' },
    baseline: { type: 'string' },
    'ready-share': { type: 'string', default: '0.99' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const CHECKS = Number(values.checks);
const RUNS = Number(values.runs);
const LIVE_S = Number(values['live-seconds']);
const HISTORY = Number(values.history);
const WARMUP = Number(values.warmup);
const SEARCH = values.search;
const TYPE_DELAY_MS = Number(values['type-delay-ms']);
const PROFILE_DIR = values.profile;
const BASELINE_DIR = values.baseline;
const READY_SHARE = Number(values['ready-share']);
if (!(READY_SHARE > 0 && READY_SHARE <= 1))
  throw new Error(`--ready-share: expected (0, 1], got ${READY_SHARE}`);
for (const [name, v, min] of [
  ['--checks', CHECKS, 1],
  ['--runs', RUNS, 1],
  ['--live-seconds', LIVE_S, 1],
  ['--history', HISTORY, 1],
  ['--warmup', WARMUP, 0],
  ['--type-delay-ms', TYPE_DELAY_MS, 0],
] as const) {
  if (!Number.isInteger(v) || v < min) throw new Error(`${name}: expected an integer ≥ ${min}, got ${v}`);
}
if (HISTORY > 30)
  throw new Error('--history: the hub keeps 30 recent durations per check (RECENT_DURATIONS)');
if (SEARCH === '') throw new Error('--search: expected a non-empty term');

const CHROMIUM = '/usr/bin/chromium';
const TARGETS = targetCount(CHECKS);
/** The state filter button clicked on and off. */
const FILTER_STATE: CheckState = 'unhealthy';
/** The interaction-latency bound: web.dev's "good" Interaction to Next Paint. */
const INP_GOOD_MS = 200;
const VIEWPORT = { width: 1280, height: 800 };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const log = (line: string) => process.stderr.write(`${line}\n`);

// ---------------------------------------------------------------------------------------------
// In the page. Plain JavaScript (bench compiles without the DOM types); CDP-injected scripts are
// not subject to the dashboard's Content-Security-Policy.

/**
 * Installed before the page's own scripts. `__vb` collects long tasks, Event Timing entries, result
 * events and the tiles' times; `__vb.arm(start, end)` measures interactions until `disarm()`.
 */
const INIT_SCRIPT = `(() => {
  const TARGETS = ${TARGETS};
  const b = { longTasks: [], interactions: [], results: 0, latencies: [] };
  Object.defineProperty(window, '__vb', { value: b });
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) b.longTasks.push([e.startTime, e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  new PerformanceObserver((l) => {
    for (const e of l.getEntries()) if (e.interactionId) b.interactions.push([e.name, e.startTime, e.duration]);
  }).observe({ type: 'event', buffered: true, durationThreshold: 16 });
  const ES = window.EventSource;
  window.EventSource = class extends ES {
    constructor(url, init) {
      super(url, init);
      this.addEventListener('result', () => { b.results++; });
    }
  };
  /** Calls cb with the time once the current frame (style, layout, paint) is done. */
  const afterFrame = (cb) => requestAnimationFrame(() => {
    const c = new MessageChannel();
    c.port1.onmessage = () => cb(performance.now());
    c.port2.postMessage(null);
  });
  b.afterFrame = afterFrame;
  const mo = new MutationObserver(() => {
    const ul = document.querySelector('ul.tiles');
    // Virtualised: the list holds every target (data-count) and renders the rows on screen.
    if (ul && ul.dataset.count === String(TARGETS) && ul.childElementCount > 0) {
      mo.disconnect();
      b.tilesAt = performance.now();
      afterFrame((t) => { b.paintedAt = t; performance.mark('vb-painted'); window.__vbSignal('painted'); });
    }
  });
  mo.observe(document, { childList: true, subtree: true });
  b.arm = (startType, endType) => {
    let startedAt;
    const onStart = (e) => { startedAt = e.timeStamp; };
    const onEnd = () => {
      const from = startedAt;
      afterFrame((t) => { b.latencies.push([from, t]); window.__vbSignal('answer'); });
    };
    document.addEventListener(startType, onStart, true);
    document.addEventListener(endType, onEnd, true);
    b.latencies = [];
    b.disarm = () => {
      document.removeEventListener(startType, onStart, true);
      document.removeEventListener(endType, onEnd, true);
    };
  };
})();`;

// ---------------------------------------------------------------------------------------------

/** CDP Performance.getMetrics as a name → value map (durations in seconds, sizes in bytes). */
async function cdpMetrics(cdp: CDPSession): Promise<Map<string, number>> {
  const { metrics } = await cdp.send('Performance.getMetrics');
  return new Map(metrics.map((m) => [m.name, m.value]));
}
const delta = (a: Map<string, number>, b: Map<string, number>, name: string) =>
  (b.get(name) ?? 0) - (a.get(name) ?? 0);

/** One interaction: its latencies (ms, start event to the frame after it was handled) and `p.shown` after. */
interface Interaction {
  latenciesMs: number[];
  shown: string;
}

interface LoadResult {
  dclMs: number;
  fcpMs: number;
  statusEndMs: number;
  statusBytes: number;
  statusTransferBytes: number;
  /** Status answers fetched from navigation to the end of the live window. */
  statusRequests: number;
  tilesInDomMs: number;
  tilesPaintedMs: number;
  /** Σ max(0, d − 50) over long tasks that started before the tiles were painted. */
  loadTbtMs: number;
  loadLongestMs: number;
  loadTaskMs: number;
  heapAfterLoadMb: number;
  nodes: number;
  search: Interaction;
  /** When the first keystroke's answer was painted, ms from navigation. */
  firstKeyAnsweredMs: number;
  clear: Interaction;
  filterOn: Interaction;
  filterOff: Interaction;
  /** Longest Event Timing entry of an interaction over the whole run (8 ms granularity). */
  eventTimingMaxMs: number;
  liveResultsPerS: number;
  liveLongTaskShare: number;
  liveLongestMs: number;
  liveLongTasks: number;
  liveTaskShare: number;
  liveHeapMb: number;
  liveHeapAfterGcMb: number;
}

/** Counts the page's `__vbSignal(name)` calls (an exposed binding: no polling, and no eval under the CSP). */
class Signals {
  #counts = new Map<string, number>();
  #waiters = new Set<() => void>();
  signal(name: string): void {
    this.#counts.set(name, this.count(name) + 1);
    for (const w of this.#waiters) w();
  }
  count(name: string): number {
    return this.#counts.get(name) ?? 0;
  }
  /** Resolves once `name` has been signalled `atLeast` times in all. */
  wait(name: string, timeoutMs: number, atLeast = 1): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.count(name) < atLeast) return;
        clearTimeout(timer);
        this.#waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.#waiters.delete(check);
        reject(
          new Error(`"${name}" ${this.count(name)} of ${atLeast} times from the page in ${timeoutMs} ms`),
        );
      }, timeoutMs);
      this.#waiters.add(check);
      check();
    });
  }
}

async function evaluate<T>(page: Page, expression: string): Promise<T> {
  return (await page.evaluate(expression)) as T;
}

/** Runs `action` with `__vb.arm(start, end)` on until `count` answers were painted. */
async function interact(
  page: Page,
  signals: Signals,
  start: string,
  end: string,
  count: number,
  action: () => Promise<void>,
): Promise<Interaction> {
  await evaluate(page, `__vb.arm(${JSON.stringify(start)}, ${JSON.stringify(end)})`);
  const answered = signals.wait('answer', 30_000, signals.count('answer') + count);
  await action();
  await answered;
  const raw = await evaluate<{ latencies: [number, number][]; shown: string; count: number; tiles: number }>(
    page,
    `(() => { __vb.disarm(); const ul = document.querySelector('ul.tiles'); return { latencies: __vb.latencies, shown: document.querySelector('p.shown').textContent, count: Number(ul.dataset.count), tiles: ul.querySelectorAll('li.tile').length }; })()`,
  );
  const shown = raw.shown.trim();
  // "N of M targets" must describe the list on screen, or the latency measured the wrong render: the
  // list holds N tiles, of which those on screen are rendered (all of them when they fit).
  const expected = Number(shown.match(/^\d+/)?.[0]);
  if (expected !== raw.count || raw.tiles > raw.count || (raw.count > 0 && raw.tiles === 0)) {
    throw new Error(`p.shown says "${shown}" but the list holds ${raw.count} tiles, ${raw.tiles} rendered`);
  }
  return { latenciesMs: raw.latencies.map(([a, b]) => b - a), shown };
}

/** One cold load of the overview, its interactions and the live window. */
async function measureLoad(
  browser: Browser,
  url: string,
  live: { seconds: number },
  onContext?: (context: BrowserContext, page: Page, cdp: CDPSession) => Promise<() => Promise<void>>,
): Promise<LoadResult> {
  const context = await browser.newContext({ viewport: VIEWPORT });
  try {
    const page = await context.newPage();
    const signals = new Signals();
    await page.exposeFunction('__vbSignal', (name: string) => signals.signal(name));
    await page.addInitScript({ content: INIT_SCRIPT });
    const cdp = await context.newCDPSession(page);
    await cdp.send('Performance.enable');
    const stopProfile = onContext ? await onContext(context, page, cdp) : undefined;
    const m0 = await cdpMetrics(cdp);
    await page.goto(url, { waitUntil: 'commit' });
    const failed: string[] = [];
    page.on('response', (r) => {
      if (r.status() >= 400) failed.push(`${r.status()} ${r.url()}`);
    });
    page.on('pageerror', (e) => failed.push(e.message));
    await signals.wait('painted', 60_000).catch((err: Error) => {
      throw new Error(`${err.message}; failed: ${failed.join(', ') || 'nothing'}`);
    });
    const m1 = await cdpMetrics(cdp);
    const searchBox = page.getByLabel('Search', { exact: true });
    await searchBox.focus();
    const search = await interact(page, signals, 'keydown', 'input', SEARCH.length, () =>
      page.keyboard.type(SEARCH, { delay: TYPE_DELAY_MS }),
    );
    const firstKey = await evaluate<number>(page, '__vb.latencies[0][1]');
    await sleep(300);
    const clear = await interact(page, signals, 'keydown', 'input', 1, async () => {
      await page.keyboard.press('Control+A');
      await page.keyboard.press('Backspace');
    });
    await sleep(300);
    const button = page.locator('.summary button', { hasText: new RegExp(FILTER_STATE, 'i') });
    const filterOn = await interact(page, signals, 'mousedown', 'click', 1, () => button.click());
    await sleep(300);
    const filterOff = await interact(page, signals, 'mousedown', 'click', 1, () => button.click());

    const load = await evaluate<{
      dcl: number;
      fcp: number;
      status: { end: number; size: number; transfer: number } | null;
      statusRequests: number;
      tilesAt: number;
      paintedAt: number;
      longTasks: [number, number][];
    }>(
      page,
      `(() => {
        const nav = performance.getEntriesByType('navigation')[0];
        const fcp = performance.getEntriesByName('first-contentful-paint')[0];
        const statuses = performance.getEntriesByType('resource').filter((e) => e.name.includes('api/v1/status'));
        const status = statuses[0];
        return {
          dcl: nav.domContentLoadedEventEnd,
          fcp: fcp ? fcp.startTime : NaN,
          status: status ? { end: status.responseEnd, size: status.decodedBodySize, transfer: status.transferSize } : null,
          statusRequests: statuses.length,
          tilesAt: __vb.tilesAt,
          paintedAt: __vb.paintedAt,
          longTasks: __vb.longTasks,
        };
      })()`,
    );
    const loadTasks = load.longTasks.filter(([s]) => s < load.paintedAt);

    // The live window: the stream keeps delivering results, the overview re-renders on them.
    const liveStart = await evaluate<{ t: number; results: number }>(
      page,
      "(performance.mark('vb-live'), { t: performance.now(), results: __vb.results })",
    );
    const ml0 = await cdpMetrics(cdp);
    await sleep(live.seconds * 1000);
    const ml1 = await cdpMetrics(cdp);
    const liveEnd = await evaluate<{
      t: number;
      results: number;
      longTasks: [number, number][];
      interactions: [string, number, number][];
      statusRequests: number;
    }>(
      page,
      "({ t: performance.now(), results: __vb.results, longTasks: __vb.longTasks, interactions: __vb.interactions, statusRequests: performance.getEntriesByType('resource').filter((e) => e.name.includes('api/v1/status')).length })",
    );
    await stopProfile?.();
    await cdp.send('HeapProfiler.collectGarbage');
    const heapAfterGc = (await cdpMetrics(cdp)).get('JSHeapUsedSize') ?? 0;
    const windowMs = liveEnd.t - liveStart.t;
    const liveTasks = liveEnd.longTasks.filter(([s]) => s >= liveStart.t);
    const wallS = delta(ml0, ml1, 'Timestamp');
    return {
      dclMs: load.dcl,
      fcpMs: load.fcp,
      statusEndMs: load.status?.end ?? Number.NaN,
      statusBytes: load.status?.size ?? Number.NaN,
      statusTransferBytes: load.status?.transfer ?? Number.NaN,
      statusRequests: liveEnd.statusRequests,
      tilesInDomMs: load.tilesAt,
      tilesPaintedMs: load.paintedAt,
      loadTbtMs: loadTasks.reduce((sum, [, d]) => sum + Math.max(0, d - 50), 0),
      loadLongestMs: Math.max(0, ...loadTasks.map(([, d]) => d)),
      loadTaskMs: delta(m0, m1, 'TaskDuration') * 1000,
      heapAfterLoadMb: (m1.get('JSHeapUsedSize') ?? 0) / 2 ** 20,
      nodes: m1.get('Nodes') ?? 0,
      search,
      firstKeyAnsweredMs: firstKey,
      clear,
      filterOn,
      filterOff,
      eventTimingMaxMs: Math.max(0, ...liveEnd.interactions.map(([, , d]) => d)),
      liveResultsPerS: (liveEnd.results - liveStart.results) / (windowMs / 1000),
      liveLongTaskShare: liveTasks.reduce((sum, [, d]) => sum + d, 0) / windowMs,
      liveLongestMs: Math.max(0, ...liveTasks.map(([, d]) => d)),
      liveLongTasks: liveTasks.length,
      liveTaskShare: delta(ml0, ml1, 'TaskDuration') / wallS,
      liveHeapMb: (ml1.get('JSHeapUsedSize') ?? 0) / 2 ** 20,
      liveHeapAfterGcMb: heapAfterGc / 2 ** 20,
    };
  } finally {
    await context.close();
  }
}

// ---------------------------------------------------------------------------------------------
// --profile: a Chromium trace and a V8 CPU profile of one load, summarised.

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  args?: { name?: string; data?: { url?: string; requestId?: string; type?: string } };
}

/** Complete ('X') events of the busiest renderer main thread (the page's), by start. */
function mainThreadSpans(events: TraceEvent[]): TraceEvent[] {
  const mains = new Set(
    events
      .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
      .map((e) => `${e.pid}:${e.tid}`),
  );
  const busy = new Map<string, number>();
  for (const e of events) {
    const key = `${e.pid}:${e.tid}`;
    if (e.ph === 'X' && e.name === 'RunTask' && mains.has(key))
      busy.set(key, (busy.get(key) ?? 0) + (e.dur ?? 0));
  }
  const main = [...busy].sort((a, b) => b[1] - a[1])[0]?.[0];
  return events
    .filter((e) => e.ph === 'X' && `${e.pid}:${e.tid}` === main)
    .sort((a, b) => a.ts - b.ts || (b.dur ?? 0) - (a.dur ?? 0));
}

/** Self time (ms) by trace event name of the spans that start within [from, to) µs of the trace clock. */
function traceSelfTimes(spans: TraceEvent[], from: number, to: number): Map<string, number> {
  const self = new Map<string, number>();
  const stack: { end: number; name: string; childUs: number; dur: number }[] = [];
  const close = (until: number) => {
    while (stack.length > 0 && (stack[stack.length - 1] as { end: number }).end <= until) {
      const top = stack.pop() as { name: string; childUs: number; dur: number };
      self.set(top.name, (self.get(top.name) ?? 0) + (top.dur - top.childUs) / 1000);
    }
  };
  for (const e of spans) {
    if (e.ts < from || e.ts >= to) continue;
    close(e.ts);
    const dur = e.dur ?? 0;
    const parent = stack[stack.length - 1];
    if (parent) parent.childUs += dur;
    stack.push({ end: e.ts + dur, name: e.name, childUs: 0, dur });
  }
  close(Number.POSITIVE_INFINITY);
  return self;
}

/** Trace event names grouped as the DevTools performance panel does, roughly. */
function activity(name: string): string {
  if (/^(v8\.callFunction|v8\.evaluateModule|v8\.compile|FunctionCall|EvaluateScript|v8\.run)/.test(name))
    return 'script';
  if (/GC|^MinorGC|^MajorGC/.test(name)) return 'GC';
  if (name === 'UpdateLayoutTree' || name === 'RecalculateStyles') return 'style';
  if (name === 'Layout') return 'layout';
  if (/^(Paint|PrePaint|Layerize|Commit|UpdateLayer|CompositeLayers)$/.test(name)) return 'paint';
  return 'other';
}

/** The main thread's tasks of 50 ms or more in [from, to): start (ms after `origin`), length, cause, split by activity. */
function longTaskLines(spans: TraceEvent[], from: number, to: number, origin: number): string[] {
  return spans
    .filter((e) => e.name === 'RunTask' && (e.dur ?? 0) >= 50_000 && e.ts >= from && e.ts < to)
    .map((task) => {
      const end = task.ts + (task.dur ?? 0);
      const inside = spans.filter((e) => e.ts >= task.ts && e.ts < end);
      // What took most of it: the longest span inside (a top-level one: children are never longer).
      const cause = inside
        .filter((e) => e !== task && e.name !== 'RunTask')
        .sort((a, b) => (b.dur ?? 0) - (a.dur ?? 0))[0];
      const byActivity = new Map<string, number>();
      for (const [name, ms] of traceSelfTimes(inside, task.ts, end)) {
        const a = activity(name);
        byActivity.set(a, (byActivity.get(a) ?? 0) + ms);
      }
      const split = [...byActivity]
        .sort((a, b) => b[1] - a[1])
        .map(([a, ms]) => `${a} ${ms.toFixed(0)}`)
        .join(', ');
      const type = cause?.args?.data?.type;
      return `| ${((task.ts - origin) / 1000).toFixed(0)} | ${((task.dur ?? 0) / 1000).toFixed(0)} | ${cause?.name ?? '?'}${type ? ` (${type})` : ''} | ${split} |`;
    });
}

interface CpuProfile {
  nodes: {
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** JS self time (ms) by function within [from, to) µs of the profile's clock; bundle functions named by their source. */
function profileSelfTimes(
  profile: CpuProfile,
  from: number,
  to: number,
  bundleLines: string[],
): Map<string, number> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n.callFrame]));
  const self = new Map<string, number>();
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    if (t < from || t >= to) continue;
    const frame = byId.get(profile.samples[i] as number);
    if (frame === undefined) continue;
    let name = frame.functionName || '(anonymous)';
    if (frame.url.includes('/assets/') && frame.url.endsWith('.js')) {
      // Minified: say where it is and show the start of its source.
      const line = bundleLines[frame.lineNumber] ?? '';
      name = `${name} @${frame.lineNumber + 1}:${frame.columnNumber + 1} \`${line.slice(frame.columnNumber, frame.columnNumber + 70)}\``;
    } else if (frame.url !== '') {
      name = `${name} (${frame.url.split('/').pop()}:${frame.lineNumber + 1})`;
    }
    // A sample stands for the time until the next one.
    self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i + 1] ?? 0) / 1000);
  }
  return self;
}

const top = (m: Map<string, number>, n: number, windowMs: number) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(
      ([k, v]) => `| ${v.toFixed(1)} | ${((100 * v) / windowMs).toFixed(1)}% | ${k.replaceAll('|', '\\|')} |`,
    )
    .join('\n');

async function profileLoad(browser: Browser, url: string, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const tracePath = join(dir, `dashboard-${CHECKS}.trace.json`);
  const profilePath = join(dir, `dashboard-${CHECKS}.cpuprofile`);
  const result = await measureLoad(browser, url, { seconds: LIVE_S }, async (_context, page, cdp) => {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 200 });
    await browser.startTracing(page, {
      path: tracePath,
      categories: [
        'devtools.timeline',
        'disabled-by-default-devtools.timeline',
        'v8',
        'blink.user_timing',
        'loading',
      ],
    });
    await cdp.send('Profiler.start');
    return async () => {
      const { profile } = await cdp.send('Profiler.stop');
      writeFileSync(profilePath, JSON.stringify(profile));
      await browser.stopTracing();
    };
  });
  const trace = JSON.parse(readFileSync(tracePath, 'utf8')) as { traceEvents: TraceEvent[] } | TraceEvent[];
  const events = Array.isArray(trace) ? trace : trace.traceEvents;
  const profile = JSON.parse(readFileSync(profilePath, 'utf8')) as CpuProfile;
  // The page's performance.mark()s, on the trace clock (the V8 profile's clock too: both are the
  // browser's monotonic µs). Navigation start is `tiles painted` before the first.
  const mark = (name: string) => {
    const ts = events.find((e) => e.name === name)?.ts;
    if (ts === undefined) throw new Error(`no "${name}" mark in the trace`);
    return ts;
  };
  const paintedUs = mark('vb-painted');
  const navStart = paintedUs - result.tilesPaintedMs * 1000;
  const liveUs = mark('vb-live');
  const liveEndUs = liveUs + LIVE_S * 1_000_000;
  const bundleName = (await (await fetch(url)).text()).match(/assets\/[^"]+\.js/)?.[0];
  const bundleLines = bundleName ? (await (await fetch(new URL(bundleName, url))).text()).split('\n') : [];
  const sum = (m: Map<string, number>) => [...m.values()].reduce((a, b) => a + b, 0);
  const spans = mainThreadSpans(events);
  console.log(
    `\n### Profile of one more load (${CHECKS} checks): trace ${tracePath}, CPU profile ${profilePath}`,
  );
  console.log(
    `Tiles painted at ${result.tilesPaintedMs.toFixed(0)} ms, longest load task ${result.loadLongestMs.toFixed(0)} ms ` +
      `(tracing and the sampling profiler on: slower than the table).\n`,
  );
  const section = (title: string, m: Map<string, number>, n: number, windowMs: number) => {
    console.log(`${title} (Σ ${sum(m).toFixed(0)} ms in a ${windowMs.toFixed(0)} ms window)\n`);
    console.log('| self ms | share of the window | what |\n| ---: | ---: | --- |');
    console.log(top(m, n, windowMs));
    console.log('');
  };
  const request = events.find(
    (e) => e.name === 'ResourceSendRequest' && (e.args?.data?.url ?? '').includes('api/v1/status'),
  );
  const requestAt = (name: string) => {
    const e = events.find(
      (x) => x.name === name && x.args?.data?.requestId === request?.args?.data?.requestId,
    );
    return e === undefined ? '?' : ((e.ts - navStart) / 1000).toFixed(0);
  };
  console.log(
    `Status request (ms after navigation): sent ${requestAt('ResourceSendRequest')}, ` +
      `response headers ${requestAt('ResourceReceiveResponse')}, body finished ${requestAt('ResourceFinish')}.\n`,
  );
  console.log('Main-thread tasks of 50 ms or more, navigation to the end of the live window:\n');
  console.log(
    '| start, ms after navigation | ms | mostly | self time by activity, ms |\n| ---: | ---: | --- | --- |',
  );
  console.log(longTaskLines(spans, navStart, liveEndUs, navStart).join('\n'));
  console.log('');
  const loadMs = result.tilesPaintedMs;
  section(
    'Main thread, navigation → tiles painted, trace events by self time',
    traceSelfTimes(spans, navStart, paintedUs),
    20,
    loadMs,
  );
  section(
    'JavaScript, navigation → tiles painted, by function (self time)',
    profileSelfTimes(profile, navStart, paintedUs, bundleLines),
    25,
    loadMs,
  );
  section(
    `Main thread, live ${LIVE_S} s, trace events by self time`,
    traceSelfTimes(spans, liveUs, liveEndUs),
    15,
    LIVE_S * 1000,
  );
  section(
    `JavaScript, live ${LIVE_S} s, by function (self time)`,
    profileSelfTimes(profile, liveUs, liveEndUs, bundleLines),
    20,
    LIVE_S * 1000,
  );
}

// ---------------------------------------------------------------------------------------------

const max = (xs: number[]) => Math.max(...xs);

function cpuModel(): string {
  const m = readFileSync('/proc/cpuinfo', 'utf8').match(/^model name\s*:\s*(.+)$/m);
  return m?.[1]?.trim() ?? 'unknown CPU';
}

function packageVersion(name: string): string {
  try {
    const path = fileURLToPath(new URL(`../../node_modules/${name}/package.json`, import.meta.url));
    return (JSON.parse(readFileSync(path, 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

const dir = mkdtempSync(join(tmpdir(), 'vigil-dashboard-load-'));
const endpoints = startScaleEndpoints({ ports: Number(values.ports) });
// Whatever happens, the endpoints child goes with this process.
process.once('exit', () => {
  endpoints.child.kill();
  hubChild?.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
// Bounded: the history wait, the loads and the live windows, with room to spare.
/** The wait for `--history` results: three times its length, as a loaded machine probes late. */
const waitLimitMs = 3 * (HISTORY + 3) * INTERVAL_MS + 30_000;
const builds = values.baseline === undefined ? 1 : 2;
const deadlineMs = waitLimitMs + 60_000 + builds * (WARMUP + RUNS + 2) * (120_000 + LIVE_S * 1000);
setTimeout(() => {
  log(`dashboard-load: still running after ${(deadlineMs / 1000).toFixed(0)} s; giving up`);
  process.exit(2);
}, deadlineMs).unref();

let browser: Browser | undefined;
let hubChild: ChildProcess | undefined;
/** A dashboard build under test: this worktree's, and with `--baseline` another. */
interface Variant {
  name: string;
  url: string;
  bundle: string;
  results: LoadResult[];
}
const variants: Variant[] = [];
const loadBefore = loadavg();
let chromiumVersion = '';
let stateCounts: Record<string, number> = {};
let targetsByState = '';
try {
  const ports = await endpoints.ports;
  // A copy of each build: the static routes are fixed when the API starts, and a rebuild in the
  // worktree meanwhile (new asset names) would leave the page without its script.
  const builds: [string, string][] = [
    ['this build', fileURLToPath(new URL('../../packages/vigil/dist/dashboard/', import.meta.url))],
  ];
  if (BASELINE_DIR !== undefined) builds.unshift(['baseline', BASELINE_DIR]);
  const dashboardDirs: string[] = [];
  const bundles: string[] = [];
  for (const [, built] of builds) {
    if (!existsSync(join(built, 'index.html'))) {
      throw new Error(`no dashboard build in ${built}: run \`npm run build\``);
    }
    const dashboardDir = join(dir, `dashboard-${dashboardDirs.length}`);
    cpSync(built, dashboardDir, { recursive: true });
    dashboardDirs.push(dashboardDir);
    bundles.push(readdirSync(join(dashboardDir, 'assets')).find((f) => f.endsWith('.js')) ?? '?');
  }
  // The hub in a process of its own, with the `vigil` binary's node flags; one API instance per
  // build, all over the same hub.
  const hubOptions: DashboardHubOptions = { checks: CHECKS, ports, dir, dashboardDirs };
  const child = spawn(
    process.execPath,
    [
      ...vigilNodeFlags(),
      fileURLToPath(new URL('./dashboard-hub.js', import.meta.url)),
      JSON.stringify(hubOptions),
    ],
    { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] },
  );
  hubChild = child;
  /** The child's next message of `type`. */
  const next = <T extends DashboardHubMessage['type']>(type: T) =>
    new Promise<Extract<DashboardHubMessage, { type: T }>>((resolve, reject) => {
      const onMessage = (m: DashboardHubMessage) => {
        if (m.type !== type) return;
        child.off('message', onMessage).off('exit', onExit);
        resolve(m as Extract<DashboardHubMessage, { type: T }>);
      };
      const onExit = (code: number | null) => reject(new Error(`the hub's process exited (${code})`));
      child.on('message', onMessage).once('exit', onExit);
    });
  const tell = (m: DashboardDriverMessage) => child.send(m);
  const { urls } = await next('ready');
  builds.forEach(([name], i) => {
    variants.push({ name, url: urls[i] as string, bundle: bundles[i] as string, results: [] });
  });
  const progress = () => {
    const answer = next('progress');
    tell({ type: 'progress', history: HISTORY });
    return answer;
  };

  log(`${CHECKS} checks on ${TARGETS} targets; waiting until each has ${HISTORY} result(s)…`);
  const waitStart = Date.now();
  // Every check, or after a third of the limit --ready-share of them (a loaded machine probes late;
  // said in the log).
  for (;;) {
    const { short, states } = await progress();
    stateCounts = states;
    if (short === 0) break;
    const waited = Date.now() - waitStart;
    if (waited > waitLimitMs / 3 && short <= CHECKS * (1 - READY_SHARE)) {
      log(
        `  ${short} check(s) with fewer than ${HISTORY} result(s) after ${(waited / 1000).toFixed(0)} s: going on`,
      );
      break;
    }
    if (waited > waitLimitMs) {
      throw new Error(`after ${waitLimitMs / 1000} s ${short} check(s) have fewer than ${HISTORY} result(s)`);
    }
    await sleep(1000);
  }
  log(`  ready after ${((Date.now() - waitStart) / 1000).toFixed(0)} s: ${JSON.stringify(stateCounts)}`);

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
  chromiumVersion = browser.version();
  for (let i = 0; i < WARMUP + RUNS; i++) {
    // Alternating, and the order swapped every round: neither build always loads first.
    const order = i % 2 === 0 ? variants : [...variants].reverse();
    for (const variant of order) {
      const r = await measureLoad(browser, variant.url, { seconds: i < WARMUP ? 2 : LIVE_S });
      const label = `${variants.length > 1 ? `${variant.name}, ` : ''}${i < WARMUP ? `warm-up ${i + 1}` : `run ${i - WARMUP + 1}`}`;
      log(
        `  ${label}: load ${loadavg()[0]?.toFixed(1)}, DCL ${r.dclMs.toFixed(0)} ms, status ${r.statusEndMs.toFixed(0)} ms (${(r.statusBytes / 2 ** 20).toFixed(2)} MiB, ${(r.statusTransferBytes / 2 ** 20).toFixed(2)} MiB on the wire, ${r.statusRequests} fetched), ` +
          `tiles painted ${r.tilesPaintedMs.toFixed(0)} ms, longest task ${r.loadLongestMs.toFixed(0)} ms; ` +
          `search "${SEARCH}" ${r.search.latenciesMs.map((x) => x.toFixed(0)).join('/')} ms → ${r.search.shown}; ` +
          `clear ${r.clear.latenciesMs.map((x) => x.toFixed(0)).join('/')} ms; ${FILTER_STATE} on ${r.filterOn.latenciesMs[0]?.toFixed(0)} ms → ${r.filterOn.shown}, off ${r.filterOff.latenciesMs[0]?.toFixed(0)} ms; ` +
          `live ${r.liveResultsPerS.toFixed(0)} results/s, long tasks ${(100 * r.liveLongTaskShare).toFixed(0)}%, tasks ${(100 * r.liveTaskShare).toFixed(0)}%`,
      );
      if (i >= WARMUP) variant.results.push(r);
    }
  }
  const first = variants[variants.length - 1]?.results[0];
  if (first)
    targetsByState = `${first.filterOn.shown} with the ${FILTER_STATE} filter, ${first.search.shown} for "${SEARCH}"`;
  const current = variants[variants.length - 1];
  if (PROFILE_DIR !== undefined && current) await profileLoad(browser, current.url, PROFILE_DIR);
} finally {
  await browser?.close();
  if (hubChild !== undefined && hubChild.exitCode === null) {
    const exited = new Promise((resolve) => hubChild?.once('exit', resolve));
    hubChild.send({ type: 'stop' } satisfies DashboardDriverMessage);
    await Promise.race([exited, sleep(30_000)]);
    hubChild.kill('SIGKILL');
  }
  endpoints.child.kill();
  rmSync(dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------

const loadAfter = loadavg();
const f = (x: number, d = 0) => (Number.isFinite(x) ? x.toFixed(d) : '–');
const rows: [string, (r: LoadResult) => number, number][] = [
  ['DOMContentLoaded, ms from navigation', (r) => r.dclMs, 0],
  ['First contentful paint, ms', (r) => r.fcpMs, 0],
  ['First status answer received, ms', (r) => r.statusEndMs, 0],
  ['First status answer, KiB of JSON', (r) => r.statusBytes / 1024, 0],
  ['First status answer, KiB on the wire', (r) => r.statusTransferBytes / 1024, 0],
  ['Status answers fetched (to the end of the live window)', (r) => r.statusRequests, 0],
  ['Tiles in the DOM (a screenful; the list holds all), ms', (r) => r.tilesInDomMs, 0],
  ['**Tiles painted, ms**', (r) => r.tilesPaintedMs, 0],
  [
    'First keystroke (typed once the driver saw the tiles) answered, ms from navigation',
    (r) => r.firstKeyAnsweredMs,
    0,
  ],
  [`Search "${SEARCH}": slowest keystroke → next frame, ms`, (r) => max(r.search.latenciesMs), 0],
  ['Clear search (all tiles back): keystroke → next frame, ms', (r) => max(r.clear.latenciesMs), 0],
  [`"${FILTER_STATE}" filter on: click → next frame, ms`, (r) => max(r.filterOn.latenciesMs), 0],
  [
    `"${FILTER_STATE}" filter off (all tiles back): click → next frame, ms`,
    (r) => max(r.filterOff.latenciesMs),
    0,
  ],
  ['Longest interaction by Event Timing, ms', (r) => r.eventTimingMaxMs, 0],
  ['Load: total blocking time (long tasks to tiles painted), ms', (r) => r.loadTbtMs, 0],
  ['Load: longest long task, ms', (r) => r.loadLongestMs, 0],
  ['Load: main-thread task time (CDP), ms', (r) => r.loadTaskMs, 0],
  ['JS heap used after load, MB', (r) => r.heapAfterLoadMb, 1],
  ['DOM nodes after load', (r) => r.nodes, 0],
  [`Live ${LIVE_S} s: result events received per s`, (r) => r.liveResultsPerS, 0],
  ['Live: main thread in long tasks, %', (r) => 100 * r.liveLongTaskShare, 1],
  ['Live: main thread in any task (CDP), %', (r) => 100 * r.liveTaskShare, 1],
  ['Live: long tasks (count)', (r) => r.liveLongTasks, 0],
  ['Live: longest long task, ms', (r) => r.liveLongestMs, 0],
  ['Live: JS heap used at the end, MB', (r) => r.liveHeapMb, 1],
  ['Live: JS heap used at the end after a forced GC, MB', (r) => r.liveHeapAfterGcMb, 1],
];

console.log(
  `\nDashboard overview with ${CHECKS} checks (${TARGETS} targets × ${KINDS.join('/')}, ${INTERVAL_MS / 1000} s interval: ${CHECKS / (INTERVAL_MS / 1000)} results/s), ` +
    `${RUNS} cold loads${variants.length > 1 ? ' of each build, alternating,' : ''} (new browser context each) after ${WARMUP} warm-up load(s); every check had ${HISTORY} result(s) before the first load.`,
);
console.log(`States: ${JSON.stringify(stateCounts)}; ${targetsByState}.`);
console.log(
  `Machine: ${availableParallelism()} × ${cpuModel()}, ${f(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}, ` +
    `Chromium ${chromiumVersion} (${CHROMIUM}, headless, viewport ${VIEWPORT.width}×${VIEWPORT.height}), playwright-core ${packageVersion('playwright-core')}; ` +
    `load average ${loadBefore.map((x) => x.toFixed(2)).join(' ')} before, ${loadAfter.map((x) => x.toFixed(2)).join(' ')} after; ${new Date().toISOString().slice(0, 10)}.`,
);
console.log(`Command: node bench/dist/dashboard-load.js ${process.argv.slice(2).join(' ')}`.trimEnd());
console.log(
  `Dashboard bundle ${variants.map((v) => `${v.bundle} (${v.name})`).join(', ')}. Hub, endpoints and browser share the machine.\n`,
);
const cells = (xs: number[], digits: number) => [f(median(xs), digits), f(max(xs), digits)];
if (variants.length === 1) {
  console.log('| measure | median | max |\n| --- | ---: | ---: |');
} else {
  console.log(
    `| measure | ${variants.map((v) => `${v.name}, median | max`).join(' | ')} | median ratio |\n| --- | ${variants.map(() => '---: | ---:').join(' | ')} | ---: |`,
  );
}
for (const [name, pick, digits] of rows) {
  const medians = variants.map((v) => median(v.results.map(pick)));
  const ratio = variants.length > 1 ? ` ${f((medians[1] as number) / (medians[0] as number), 2)} |` : '';
  console.log(
    `| ${name} | ${variants.flatMap((v) => cells(v.results.map(pick), digits)).join(' | ')} |${ratio}`,
  );
}
for (const v of variants) {
  const painted = v.results.map((r) => r.tilesPaintedMs);
  /** Interactions that only narrow the list, and those that bring every tile back. */
  const narrowing = v.results.flatMap((r) => [...r.search.latenciesMs, ...r.filterOn.latenciesMs]);
  const widening = v.results.flatMap((r) => [...r.clear.latenciesMs, ...r.filterOff.latenciesMs]);
  const within = painted.filter((ms) => ms <= 1000).length;
  const answered = (xs: number[]) => (max(xs) <= INP_GOOD_MS ? 'yes' : 'no');
  console.log(
    `\n${variants.length > 1 ? `${v.name}: ` : ''}Tiles painted within 1 s in ${within} of ${RUNS} runs (max ${f(max(painted))} ms). ` +
      `Interactions answered within ${INP_GOOD_MS} ms (web.dev's "good" Interaction to Next Paint): ` +
      `narrowing (search, filter on) ${answered(narrowing)}, max ${f(max(narrowing))} ms; ` +
      `bringing every tile back (clear, filter off) ${answered(widening)}, max ${f(max(widening))} ms.`,
  );
}
