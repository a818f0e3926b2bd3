/**
 * Benchmark: the hostile-endpoint matrix (issue #14) beside N healthy checks in one hub. The same
 * endpoints as the hub's matrix test (`createHostileEndpoints` of the example model server: hang,
 * trickle, huge body, invalid JSON, NaN, reset, redirect loop, deep nesting, header flood, TLS with a
 * certificate the prober does not trust, DNS of a `.invalid` name), each one plain-HTTP liveness check,
 * and `--healthy` checks of a healthy loopback endpoint, all in one `createHub` over a SQLite file,
 * for `--seconds`.
 *
 * Prints a table (markdown, stdout): each hostile check's code (every result's, when they differ) and
 * time from `hub.start()` to its first failed result (with when that probe started: the hub spreads
 * first probes over the interval, and how long it took); the healthy checks' states at the end, their
 * non-passing results by code and longest gap between two probes against the watchdog's allowance; the
 * scheduler's lag (due → started, what the hub passes to `metrics.observeLag`, 0.1 ms buckets)
 * p50/p99/max over the run; RSS at the end and its largest 1 s sample; the CPU time the process got
 * over the run as a share of one core (under `nice -n 19` on a loaded machine, little: lag and
 * timeouts then measure the machine as much as the hub); the load average.
 *
 *   npm run build && nice -n 19 node bench/dist/hostile.js [--healthy 200] [--seconds 60] [--interval-ms 5000] [--timeout-ms 2000] [--no-hostile]
 *
 * `--no-hostile`: the control, the healthy checks alone (the hostile endpoints still listen, unprobed).
 * The endpoints run in the bench's process, beside the hub: what starves one starves the other.
 *
 * TLS needs the openssl CLI (a throwaway self-signed certificate); without it the row is left out and
 * said so.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createHostileEndpoints } from '@vigil/example-model-server';
import type { CheckStatus, HubEvent, Metrics } from 'vigil-ml';
import { createHub, createMetrics, openStore, parseConfig } from 'vigil-ml';
import { LagRecorder } from './scale-protocol.js';

const { values } = parseArgs({
  options: {
    healthy: { type: 'string', default: '200' },
    seconds: { type: 'string', default: '60' },
    'interval-ms': { type: 'string', default: '5000' },
    'timeout-ms': { type: 'string', default: '2000' },
    /** The control run: the healthy checks alone, same hub and endpoints' process. */
    'no-hostile': { type: 'boolean', default: false },
  },
});
const HEALTHY = Number(values.healthy);
const SECONDS = Number(values.seconds);
const INTERVAL_MS = Number(values['interval-ms']);
const TIMEOUT_MS = Number(values['timeout-ms']);

const dir = mkdtempSync(join(tmpdir(), 'vigil-hostile-bench-'));

/** A self-signed certificate for 127.0.0.1 (openssl CLI), or undefined without openssl. */
function selfSigned(): { cert: Buffer; key: Buffer } | undefined {
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=vigil hostile bench',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'pipe' },
    );
    return { cert: readFileSync(join(dir, 'cert.pem')), key: readFileSync(join(dir, 'key.pem')) };
  } catch {
    return undefined;
  }
}

const tls = selfSigned();
const hostile = await createHostileEndpoints(tls === undefined ? {} : { tls });
const probed = values['no-hostile'] ? [] : hostile.endpoints;
const loaded = parseConfig(
  [
    `defaults: { interval: ${INTERVAL_MS}ms, timeout: ${TIMEOUT_MS}ms }`,
    'targets:',
    ...probed.map(
      (e) => `  - { name: ${e.kind}, url: "${e.url}", protocol: http, checks: { liveness: {} } }`,
    ),
    ...Array.from(
      { length: HEALTHY },
      (_, i) =>
        `  - { name: ok-${i}, url: "${hostile.healthyUrl}ok-${i}", protocol: http, checks: { liveness: {} } }`,
    ),
  ].join('\n'),
  { baseDir: dir, env: {} },
);
if (!loaded.ok) throw new Error(loaded.diagnostics.join('\n'));

// The hub's metrics as `vigil run` makes them; `observeLag` also feeds a fine-grained recorder.
const lag = new LagRecorder();
const base = createMetrics();
const metrics: Metrics = {
  ...base,
  observeLag(lagMs) {
    lag.record(lagMs);
    base.observeLag(lagMs);
  },
};
const store = await openStore(join(dir, 'vigil.db'));
const hub = createHub({ plan: loaded.plan, store, metrics });

const hostileIds = new Set(probed.map((e) => `${e.kind}/liveness`));
/**
 * Per hostile check: its first failed result, ms from start: when it arrived, when its probe started
 * (the hub spreads first probes over the interval) and how long the probe took; and every code seen.
 */
const firstFail = new Map<string, { atMs: number; probeStartMs: number; durationMs: number }>();
const codes = new Map<string, Set<string>>();
let hostileResults = 0;
/** Per healthy check: previous probe start, longest gap, non-passing results. */
const lastStart = new Map<string, number>();
let longestGapMs = 0;
let healthyResults = 0;
/** The healthy checks' results that did not pass, by code (or outcome). */
const healthyNotPass = new Map<string, number>();
let startedAt = 0;
hub.subscribe((event: HubEvent) => {
  if (event.type !== 'result') return;
  const r = event.result;
  if (hostileIds.has(r.checkId)) {
    hostileResults++;
    const seen = codes.get(r.checkId) ?? new Set<string>();
    seen.add(r.outcome === 'fail' ? (r.error?.code ?? 'fail (no code)') : r.outcome);
    codes.set(r.checkId, seen);
    if (r.outcome === 'fail' && !firstFail.has(r.checkId))
      firstFail.set(r.checkId, {
        atMs: Date.now() - startedAt,
        probeStartMs: r.startedAt - startedAt,
        durationMs: r.durationMs,
      });
    return;
  }
  healthyResults++;
  if (r.outcome !== 'pass') {
    const why = r.outcome === 'fail' ? (r.error?.code ?? r.failures[0]?.assertion ?? 'fail') : r.outcome;
    healthyNotPass.set(why, (healthyNotPass.get(why) ?? 0) + 1);
  }
  const previous = lastStart.get(r.checkId);
  if (previous !== undefined) longestGapMs = Math.max(longestGapMs, r.startedAt - previous);
  lastStart.set(r.checkId, r.startedAt);
});

const loadBefore = loadavg();
let rssMax = 0;
const rssTimer = setInterval(() => {
  rssMax = Math.max(rssMax, process.memoryUsage().rss);
}, 1000);
startedAt = Date.now();
const cpuBefore = process.cpuUsage();
await hub.start();
await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
const states = new Map<CheckStatus['state'], number>();
for (const s of hub.status())
  if (!hostileIds.has(s.checkId)) states.set(s.state, (states.get(s.state) ?? 0) + 1);
const hostileStates = new Map(hub.status().map((s) => [s.checkId, s.state]));
const rss = process.memoryUsage().rss;
const cpu = process.cpuUsage(cpuBefore);
const wallMs = Date.now() - startedAt;
rssMax = Math.max(rssMax, rss);
clearInterval(rssTimer);
const loadAfter = loadavg();
await hub.stop();
await store.close();
const written = hostile.bytesWritten();
await hostile.close();
rmSync(dir, { recursive: true, force: true });

const mb = (bytes: number) => (bytes / 2 ** 20).toFixed(0);
const s = lag.summary();
const allowance = 2 * INTERVAL_MS + TIMEOUT_MS;
const out: string[] = [
  `${probed.length} hostile checks + ${HEALTHY} healthy checks, one hub, interval ${INTERVAL_MS} ms, timeout ${TIMEOUT_MS} ms, ${SECONDS} s; ` +
    `load average ${loadBefore.map((x) => x.toFixed(1)).join(' ')} at the start, ${loadAfter.map((x) => x.toFixed(1)).join(' ')} at the end` +
    (tls === undefined ? '; no openssl: no TLS row' : ''),
  '',
  '| hostile check | behaviour | expected code | codes seen | first failed result (s after start) | its probe: started (s) / took (ms) | state at the end |',
  '| --- | --- | --- | --- | ---: | ---: | --- |',
  ...probed.map((e) => {
    const id = `${e.kind}/liveness`;
    const first = firstFail.get(id);
    const when =
      first === undefined
        ? 'never | —'
        : `${(first.atMs / 1000).toFixed(2)} | ${(first.probeStartMs / 1000).toFixed(2)} / ${first.durationMs.toFixed(0)}`;
    return `| ${e.kind} | ${e.behaviour} | ${e.code} | ${[...(codes.get(id) ?? [])].join(', ') || 'none'} | ${when} | ${hostileStates.get(id) ?? '?'} |`;
  }),
  '',
  '| healthy checks | states at the end | results | not passing, by code | longest gap between probes (allowance) | scheduler lag p50 / p99 / max (ms, all probes) | probes | RSS at the end / max (MiB) | CPU the hub process got (share of one core) | bytes the huge body and trickle wrote |',
  '| ---: | --- | ---: | --- | --- | --- | ---: | --- | ---: | ---: |',
  `| ${HEALTHY} | ${[...states].map(([state, n]) => `${state} ${n}`).join(', ')} | ${healthyResults} | ${[...healthyNotPass].map(([why, n]) => `${why} ${n}`).join(', ') || '0'} | ${(longestGapMs / 1000).toFixed(2)} s (${(allowance / 1000).toFixed(1)} s) | ${s.p50.toFixed(1)} / ${s.p99.toFixed(1)} / ${s.max.toFixed(1)} | ${s.count} (${hostileResults} hostile) | ${mb(rss)} / ${mb(rssMax)} | ${(((cpu.user + cpu.system) / 1000 / wallMs) * 100).toFixed(0)} % | ${mb(written)} MiB |`,
];
process.stdout.write(`${out.join('\n')}\n`);
