/**
 * Benchmark: the dashboard overview's first answer, old and new, side by side — the bytes (JSON and
 * gzip on the wire) and the hub's time to answer it, at N checks. Issue #16: "send a leaner status
 * answer". No probing and no browser: the hub's live part is a fixed status list (the shape
 * `dashboard-load.ts` gives its hub: 3 checks per target, labels team/tier/zone, a model per target)
 * with `--recent` sparkline points per check, answered by the real API (`createApi`, Fastify's
 * `inject`: no socket). Sizes do not depend on the machine's load; times do (printed with it).
 *
 *   - `/api/v1/status?view=summary&recent=true`: what the dashboard loaded before;
 *   - `/api/v1/status/overview`: what it loads now (`StatusOverview`), asked with and without
 *     `Accept-Encoding: gzip`.
 *
 *   npm run build && node bench/dist/status-answer.js [--checks 2000,10000] [--recent 10,30] [--runs 15]
 */
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import type { CheckKind, CheckStatus, HubView } from 'vigil-ml';
import { createApi, openStore } from 'vigil-ml';
import { median } from './stats.js';

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '2000,10000' },
    recent: { type: 'string', default: '10,30' },
    runs: { type: 'string', default: '15' },
  },
});
const COUNTS = values.checks.split(',').map(Number);
const RECENTS = values.recent.split(',').map(Number);
const RUNS = Number(values.runs);

const KINDS: readonly CheckKind[] = ['liveness', 'readiness', 'integrity'];
const TEAMS = ['payments', 'search', 'ads', 'risk', 'growth', 'support'];
const TIERS = ['gold', 'silver', 'bronze'];
const ZONES = ['eu-west', 'us-east', 'ap-south', 'eu-north'];
const T0 = Date.parse('2026-12-02T12:00:00Z');

/** `checks` statuses as dashboard-load's hub has them (every 25th target with a failing integrity check). */
function statuses(checks: number): CheckStatus[] {
  const out: CheckStatus[] = [];
  const labelsOf = new Map<number, Record<string, string>>();
  for (let i = 0; i < checks; i++) {
    const t = Math.floor(i / KINDS.length);
    const kind = KINDS[i % KINDS.length] as CheckKind;
    const team = TEAMS[t % TEAMS.length] as string;
    const name = `${team}-model-${String(t).padStart(4, '0')}`;
    // One labels object per target, as the hub's plans share theirs.
    let labels = labelsOf.get(t);
    if (labels === undefined) {
      labels = {
        team,
        tier: TIERS[Math.floor(t / TEAMS.length) % TIERS.length] as string,
        zone: ZONES[t % ZONES.length] as string,
      };
      labelsOf.set(t, labels);
    }
    const failing = kind === 'integrity' && t % 25 === 3;
    out.push({
      checkId: `${name}/${kind}`,
      target: name,
      check: kind,
      region: 'local',
      state: failing ? 'unhealthy' : 'healthy',
      since: T0 + ((i * 7919) % 600_000),
      flapping: false,
      consecutiveFailures: failing ? 12 : 0,
      model: `${team}-scorer`,
      modelVersion: '1',
      labels,
      lastResult: null,
    });
  }
  return out;
}

/** Loopback probe durations, ms at 0.1 ms: 0.4–4 ms, fixed by the seed. */
function durations(seed: number, n: number): number[] {
  let x = seed + 1;
  return Array.from({ length: n }, () => {
    x = (x * 48271) % 2147483647;
    return Math.round(4 + (x % 360)) / 10;
  });
}

const store = await openStore(':memory:');
console.log(
  `Status answers (Fastify inject, no socket), ${RUNS} runs each after 3 warm-up ones; load average ${loadavg()
    .map((x) => x.toFixed(2))
    .join(' ')} at the start.\n`,
);
console.log(
  '| checks | sparkline points | answer | KiB of JSON | KiB on the wire | hub ms to answer, median | max |\n| ---: | ---: | --- | ---: | ---: | ---: | ---: |',
);
for (const checks of COUNTS) {
  const list = statuses(checks);
  for (const recent of RECENTS) {
    const recentOf = new Map(list.map((s, i) => [s.checkId, durations(i, recent)]));
    const hub: HubView = {
      store,
      status: () => list,
      isReady: () => true,
      checkInfo: () => undefined,
      recentDurations: (checkId) => recentOf.get(checkId) ?? [],
      lastExchange: () => undefined,
      alerts: async () => [],
      subscribe: () => () => {},
    };
    const app = await createApi({ hub, dashboardDir: false });
    const variants: [string, string, Record<string, string>][] = [
      ['`status?view=summary&recent=true` (before)', '/api/v1/status?view=summary&recent=true', {}],
      ['`status/overview`, no gzip', '/api/v1/status/overview', {}],
      [
        '`status/overview`, gzip (the browser asks for it)',
        '/api/v1/status/overview',
        { 'accept-encoding': 'gzip' },
      ],
    ];
    const json = new Map<string, number>();
    for (const [name, url, headers] of variants) {
      const times: number[] = [];
      let wire = 0;
      for (let i = 0; i < RUNS + 3; i++) {
        const started = performance.now();
        const response = await app.inject({ method: 'GET', url, headers });
        const ms = performance.now() - started;
        if (response.statusCode !== 200) throw new Error(`${url}: HTTP ${response.statusCode}`);
        if (i >= 3) times.push(ms);
        wire = response.rawPayload.length;
        if (headers['accept-encoding'] === undefined) json.set(url, wire);
      }
      const decoded = json.get(url) ?? wire;
      console.log(
        `| ${checks} | ${recent} | ${name} | ${(decoded / 1024).toFixed(0)} | ${(wire / 1024).toFixed(0)} | ${median(times).toFixed(1)} | ${Math.max(...times).toFixed(1)} |`,
      );
    }
    await app.close();
  }
}
await store.close();
