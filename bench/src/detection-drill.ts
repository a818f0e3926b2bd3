/**
 * Detection drill: how long the hub takes to notice each fault mode of the example model server.
 *
 * For every fault mode, `--runs` model servers (credit-scorer, in this process) are watched by one
 * hub (one target per server: liveness, readiness and an integrity smoke inference; interval 10 s,
 * timeout 2 s, failureThreshold 3). Once every check is healthy, each server gets the fault at its
 * own random moment, uniform over one interval (seeded: `--seed`; run i gets the same moment in every
 * mode). Measured from injection, as the hub's events arrive:
 *
 *  (a) the first failed probe of any of the target's checks;
 *  (b) the first `unhealthy` transition of any of them;
 *  (c) the arrival of the critical notification (the page) at a local webhook receiver.
 *
 * Each hub alerts as `vigil run` does (config `alerting:` section, webhook notifier, durable outbox in a
 * SQLite file in a temp dir) to an in-process HTTP receiver on 127.0.0.1. Two critical routes, the
 * first with `continue: true`, send each page twice: to `page` with `group_wait: 0s`, the setting for
 * pages (a page should not wait for company), and to `page-default` with Alertmanager's default
 * `group_wait` (30 s), which a route that does not set one gets (README's example does not). (c) is
 * the `page` arrival, (c′) the `page-default` one; a detectable run lasts until both arrived.
 *
 * Each drill runs with fast confirmation on (`fastInterval: 1s`, HAProxy's `fastinter`) and off
 * (`fastInterval: false`: re-probes at the regular interval, as Kubernetes does), side by side in
 * two hubs with paired injection offsets. A run that sees no `unhealthy` within `--timeout`
 * seconds is a timeout; for `drift` and `zero-features`, which integrity checks are not meant to
 * catch (a canary's job), that is the expected result.
 *
 * The short fault (`short`): `errors` for 500 ms, placed so that an integrity probe lands inside it
 * (the worst case for a blip); no run may turn `unhealthy`, and no notification may arrive, within
 * `--observe` seconds.
 *
 *   npm run build && taskset -c 0 node bench/dist/detection-drill.js \
 *     [--runs 20] [--modes errors,hang,…,short] [--fast on|off|both] [--seed N] [--timeout 60] [--observe 30]
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { createModelServer, type FaultMode, type ModelServer, parseFault } from '@vigil/example-model-server';
import { type CheckPlan, createHub, createNotifiers, type HubEvent, openStore, parseConfig } from 'vigil-ml';
import { median } from './stats.js';

const INTERVAL_MS = 10_000;
const SHORT_FAULT_MS = 500;
const ADMIN_TOKEN = 't';
/** Alertmanager's default `group_wait` (routing.ts, ROUTE_DEFAULTS): how much longer a run waits for (c′). */
const DEFAULT_GROUP_WAIT_MS = 30_000;
/** The two receivers: the page route with `group_wait: 0s`, and the same route with the default. */
const RECEIVERS = ['page', 'page-default'] as const;
type ReceiverName = (typeof RECEIVERS)[number];

/** A drill: which fault, with which parameters, and whether integrity checks should catch it. */
interface Drill {
  name: string;
  mode: FaultMode;
  params: Record<string, unknown>;
  /** False for faults only a canary baseline can catch: the run then watches for `--timeout`. */
  isDetectable: boolean;
  /** The short fault: cleared after SHORT_FAULT_MS, aimed at an integrity probe. */
  isShort?: boolean;
}

const DRILLS: readonly Drill[] = [
  { name: 'errors', mode: 'errors', params: {}, isDetectable: true },
  { name: 'hang', mode: 'hang', params: {}, isDetectable: true },
  { name: 'latency', mode: 'latency', params: { ms: 1500 }, isDetectable: true },
  { name: 'empty', mode: 'empty', params: {}, isDetectable: true },
  { name: 'unknown', mode: 'unknown', params: {}, isDetectable: true },
  { name: 'nan', mode: 'nan', params: {}, isDetectable: true },
  { name: 'out-of-range', mode: 'out-of-range', params: {}, isDetectable: true },
  { name: 'wrong-schema', mode: 'wrong-schema', params: {}, isDetectable: true },
  { name: 'not-ready', mode: 'not-ready', params: {}, isDetectable: true },
  { name: 'crash', mode: 'crash', params: {}, isDetectable: true },
  { name: 'drift', mode: 'drift', params: {}, isDetectable: false },
  { name: 'zero-features', mode: 'zero-features', params: {}, isDetectable: false },
  { name: 'short', mode: 'errors', params: {}, isDetectable: false, isShort: true },
];

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '20' },
    modes: { type: 'string', default: DRILLS.map((d) => d.name).join(',') },
    fast: { type: 'string', default: 'both' },
    seed: { type: 'string', default: String(Date.now() % 2 ** 31) },
    timeout: { type: 'string', default: '60' },
    observe: { type: 'string', default: '30' },
  },
});
const RUNS = Number(values.runs);
const SEED = Number(values.seed);
const TIMEOUT_MS = Number(values.timeout) * 1000;
const OBSERVE_MS = Number(values.observe) * 1000;
const FAST_SETTINGS: boolean[] = { on: [true], off: [false], both: [true, false] }[values.fast] ?? [];
const drills = values.modes.split(',').map((name) => DRILLS.find((d) => d.name === name) ?? name);
const unknownModes = drills.filter((d): d is string => typeof d === 'string');
if (
  unknownModes.length > 0 ||
  FAST_SETTINGS.length === 0 ||
  !(RUNS >= 1) ||
  !Number.isSafeInteger(SEED) ||
  !(TIMEOUT_MS > 0) ||
  !(OBSERVE_MS > 0)
) {
  console.error(
    `usage: detection-drill [--runs N] [--modes ${DRILLS.map((d) => d.name).join(',')}] [--fast on|off|both] [--seed N] [--timeout S] [--observe S]` +
      (unknownModes.length > 0 ? `\nunknown mode(s): ${unknownModes.join(', ')}` : ''),
  );
  process.exit(2);
}

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** One server under one fault; times in ms on performance.now()'s clock. */
interface Run {
  target: string;
  server: ModelServer;
  url: string;
  injectedAt?: number;
  firstFailAt?: number;
  unhealthyAt?: number;
  /** The check whose transition to `unhealthy` came first. */
  unhealthyCheck?: string;
  unhealthyTransitions: number;
  failedProbes: number;
  /** Arrival of the first firing notification about this target, per receiver. */
  notifiedAt: Partial<Record<ReceiverName, number>>;
  /** Notifications about this target that arrived, per receiver. */
  notifications: Record<ReceiverName, number>;
  /** Failed probes or non-healthy transitions before injection: the drill's baseline was not clean. */
  preInjectionProblems: string[];
  /** Epoch ms at which the last integrity probe started (to aim the short fault). */
  lastIntegrityStart?: number;
  finish?: () => void;
}

interface DrillResult {
  drill: Drill;
  isFast: boolean;
  runs: Run[];
  hubErrors: string[];
}

function vigilConfig(runs: readonly Run[], isFast: boolean, receiverUrl: string): string {
  const config = {
    defaults: {
      interval: '10s',
      timeout: '2s',
      failureThreshold: 3,
      successThreshold: 1,
      fastInterval: isFast ? '1s' : false,
    },
    targets: runs.map((run) => ({
      name: run.target,
      url: run.url,
      protocol: 'oip-v2',
      model: 'credit-scorer',
      // Detection time without the probe budget's deferrals, as the drill has always measured it: at
      // the default budget (5 % of the model's time) a 1.5 s inference is probed once every 30 s.
      budget: { modelTimeShare: 1, probesPerSecond: 100 },
      checks: {
        liveness: {},
        readiness: {},
        integrity: {
          request: {
            inputs: [
              {
                name: 'features',
                shape: [1, 8],
                datatype: 'FP32',
                data: [0.3, 0.1, 0.5, 0.2, 0.9, 0.4, 0.0, 0.7],
              },
            ],
          },
          expect: {
            latency: { degraded: '150ms', failed: '1s' },
            outputs: { probability: { range: [0, 1] }, label: { notIn: ['Unknown'] } },
          },
        },
      },
    })),
    alerting: {
      routes: [
        { match: { severity: 'critical' }, notify: ['page'], group_wait: '0s', continue: true },
        // No group_wait: Alertmanager's default.
        { match: { severity: 'critical' }, notify: ['page-default'] },
      ],
      notifiers: Object.fromEntries(
        RECEIVERS.map((name) => [name, { type: 'webhook', url: `${receiverUrl}/${name}` }]),
      ),
    },
  };
  // JSON is YAML.
  return JSON.stringify(config);
}

async function startServers(count: number): Promise<Run[]> {
  const runs: Run[] = [];
  for (let i = 0; i < count; i++) {
    const holder: { server?: ModelServer } = {};
    // The `crash` fault calls `exit`: closing the server stands in for the process exiting.
    const server = await createModelServer({
      models: ['credit-scorer'],
      warmupInferences: 1,
      faults: { enabled: true, token: ADMIN_TOKEN },
      exit: () => void holder.server?.close(),
    });
    holder.server = server;
    const url = await server.listen({ host: '127.0.0.1', port: 0 });
    runs.push({
      target: `run-${String(i).padStart(2, '0')}`,
      server,
      url,
      unhealthyTransitions: 0,
      failedProbes: 0,
      notifiedAt: {},
      notifications: { page: 0, 'page-default': 0 },
      preInjectionProblems: [],
    });
  }
  return runs;
}

async function inject(run: Run, drill: Drill): Promise<void> {
  if (drill.mode === 'crash') {
    // Only the admin API arms the crash timer (FaultState.set alone would not exit).
    run.injectedAt = performance.now();
    const response = await fetch(`${run.url}/admin/faults/crash`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(drill.params),
    });
    if (!response.ok) throw new Error(`${run.target}: crash injection answered ${response.status}`);
    return;
  }
  const params = parseFault(drill.mode, drill.params);
  run.injectedAt = performance.now();
  run.server.faults.set(drill.mode, params);
  if (drill.isShort) setTimeout(() => run.server.faults.clear(drill.mode), SHORT_FAULT_MS);
}

/** Delay until the fault goes in: uniform over one interval, or, for the short fault, aimed at a probe. */
function injectionDelayMs(run: Run, drill: Drill, random: () => number): number {
  if (!drill.isShort || run.lastIntegrityStart === undefined) return random() * INTERVAL_MS;
  // The next integrity probe is due one interval after the last one started (the scheduler's
  // grid); the fault goes in 100–400 ms before it, so the probe arrives while it lasts.
  let delay = run.lastIntegrityStart + INTERVAL_MS - (100 + random() * 300) - Date.now();
  while (delay < 50) delay += INTERVAL_MS;
  return delay;
}

/** What the receiver reads from a webhook body (version "1"). */
interface WebhookNotification {
  status: 'firing' | 'resolved';
  groupLabels: Record<string, string>;
  alerts: Array<{ labels: Record<string, string> }>;
}

/**
 * A local webhook receiver on 127.0.0.1: `POST /<receiver>` calls `onNotification` once the whole body
 * has arrived (the moment a real receiver could act on it), then answers 200.
 */
async function startReceiver(
  onNotification: (receiver: string, body: WebhookNotification, at: number) => void,
): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.now();
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as WebhookNotification;
        onNotification((req.url ?? '').slice(1), body, at);
        res.writeHead(200).end();
      } catch {
        res.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

async function runDrill(drill: Drill, isFast: boolean, random: () => number): Promise<DrillResult> {
  const runs = await startServers(RUNS);
  const byTarget = new Map(runs.map((r) => [r.target, r]));
  const hubErrors: string[] = [];
  // A detectable run ends once both pages arrived (or at its watch limit).
  const maybeFinish = (run: Run) => {
    if (drill.isDetectable && RECEIVERS.every((name) => run.notifiedAt[name] !== undefined)) run.finish?.();
  };
  const receiver = await startReceiver((name, body, at) => {
    const receiverName = RECEIVERS.find((r) => r === name);
    const run = byTarget.get(body.groupLabels.target ?? body.alerts[0]?.labels.target ?? '');
    if (receiverName === undefined || run === undefined) {
      hubErrors.push(`receiver: unexpected notification at /${name}: ${JSON.stringify(body).slice(0, 200)}`);
      return;
    }
    run.notifications[receiverName]++;
    if (run.injectedAt === undefined) {
      run.preInjectionProblems.push(`${body.status} notification to ${receiverName} before injection`);
      return;
    }
    if (body.status === 'firing') run.notifiedAt[receiverName] ??= at;
    maybeFinish(run);
  });
  const loaded = parseConfig(vigilConfig(runs, isFast, receiver.url), { baseDir: process.cwd() });
  if (!loaded.ok) throw new Error(`drill config invalid:\n${loaded.diagnostics.join('\n')}`);
  const alerting = loaded.config.alerting;
  if (alerting === undefined) throw new Error('drill config has no alerting section');
  const notifiers = createNotifiers(alerting.notifiers);
  const plans = new Map<string, CheckPlan>(loaded.plan.map((p) => [p.id, p]));
  // A store file, as `vigil run` has: every notification is written to its outbox before it is sent.
  const dir = mkdtempSync(join(tmpdir(), 'vigil-drill-'));
  const store = await openStore(join(dir, 'vigil.db'));
  const hub = createHub({
    plan: loaded.plan,
    store,
    alerting: { config: alerting, notifiers },
    log: (level, message) => {
      // Transitions are logged too (at error level for `unhealthy`); only other errors are news, and
      // failed sends (the receiver is local and always up).
      if ((level === 'error' && !message.includes(' → ')) || message.startsWith('notification to'))
        hubErrors.push(message);
    },
  });

  hub.subscribe((event: HubEvent) => {
    const now = performance.now();
    if (event.type === 'result') {
      const { result } = event;
      const run = byTarget.get(result.target);
      if (!run) return;
      if (result.check === 'integrity') run.lastIntegrityStart = result.startedAt;
      if (result.outcome !== 'fail') return;
      if (run.injectedAt === undefined) {
        run.preInjectionProblems.push(`${result.check} failed before injection`);
        return;
      }
      run.failedProbes++;
      run.firstFailAt ??= now;
    } else if (event.type === 'transition') {
      const t = event.transition;
      const plan = plans.get(t.checkId);
      const run = plan && byTarget.get(plan.target.name);
      if (!run || !plan) return;
      if (run.injectedAt === undefined) {
        if (t.to !== 'healthy')
          run.preInjectionProblems.push(`${plan.kind} ${t.from} → ${t.to} before injection`);
        return;
      }
      if (t.to !== 'unhealthy') return;
      run.unhealthyTransitions++;
      // A run may watch longer than --timeout (for the default group_wait's page); detection is not.
      if (run.unhealthyAt === undefined && now - run.injectedAt <= TIMEOUT_MS) {
        run.unhealthyAt = now;
        run.unhealthyCheck = plan.kind;
      }
    }
  });
  await hub.start();

  // Every check probes once within its first interval (spread); wait for all to be healthy.
  const healthyBy = performance.now() + 3 * INTERVAL_MS;
  while (hub.status().some((s) => s.state !== 'healthy')) {
    if (performance.now() > healthyBy) {
      const bad = hub.status().filter((s) => s.state !== 'healthy');
      throw new Error(
        `checks not healthy after 30 s: ${bad.map((s) => `${s.checkId}=${s.state}`).join(', ')}`,
      );
    }
    await sleep(100);
  }

  // A detectable run that turns unhealthy just before --timeout still gets its default-wait page.
  const watchMs = drill.isShort
    ? OBSERVE_MS
    : drill.isDetectable
      ? TIMEOUT_MS + DEFAULT_GROUP_WAIT_MS + 5_000
      : TIMEOUT_MS;
  await Promise.all(
    runs.map(async (run) => {
      await sleep(injectionDelayMs(run, drill, random));
      await inject(run, drill);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, watchMs);
        run.finish = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }),
  );

  // Let sends in flight finish first: stopping aborts them, and the outbox would then count a page
  // the receiver already has as a failed attempt.
  const drainedBy = performance.now() + 5_000;
  while ((await store.pendingNotifications()).length > 0 && performance.now() < drainedBy) await sleep(50);
  await hub.stop();
  await store.close();
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
  for (const run of runs) await run.server.close();
  return { drill, isFast, runs, hubErrors };
}

const seconds = (ms: number) => (ms / 1000).toFixed(1);

function medianMax(xs: readonly number[]): string {
  return xs.length === 0 ? '—' : `${seconds(median(xs))} / ${seconds(Math.max(...xs))}`;
}

function medianMaxMs(xs: readonly number[]): string {
  return xs.length === 0 ? '—' : `${median(xs).toFixed(0)} / ${Math.max(...xs).toFixed(0)}`;
}

function since(run: Run, at: number | undefined): number | undefined {
  return at === undefined || run.injectedAt === undefined ? undefined : at - run.injectedAt;
}

const defined = (xs: ReadonlyArray<number | undefined>) => xs.filter((x): x is number => x !== undefined);

function row(result: DrillResult): string {
  const { drill, isFast, runs } = result;
  const firstFail = defined(runs.map((r) => since(r, r.firstFailAt)));
  const unhealthy = defined(runs.map((r) => since(r, r.unhealthyAt)));
  // From the first failed probe to the page: the confirmation, which the scheduler controls.
  const confirming = defined(
    runs.map((r) =>
      r.unhealthyAt === undefined || r.firstFailAt === undefined ? undefined : r.unhealthyAt - r.firstFailAt,
    ),
  );
  const paged = defined(runs.map((r) => since(r, r.notifiedAt.page)));
  const pagedDefault = defined(runs.map((r) => since(r, r.notifiedAt['page-default'])));
  // From the transition to the page's arrival: alert, route, outbox write, send.
  const alerting = defined(
    runs.map((r) =>
      r.unhealthyAt === undefined || r.notifiedAt.page === undefined
        ? undefined
        : r.notifiedAt.page - r.unhealthyAt,
    ),
  );
  const notifications = runs.reduce(
    (n, r) => n + RECEIVERS.reduce((m, name) => m + r.notifications[name], 0),
    0,
  );
  const byCheck = new Map<string, number>();
  for (const r of runs) {
    if (r.unhealthyCheck) byCheck.set(r.unhealthyCheck, (byCheck.get(r.unhealthyCheck) ?? 0) + 1);
  }
  const detectedBy = [...byCheck].map(([check, n]) => `${check} ${n}`).join(', ') || '—';
  const failed =
    firstFail.length === runs.length
      ? medianMax(firstFail)
      : `${medianMax(firstFail)} (${firstFail.length} runs)`;
  const mode = drill.isShort
    ? `errors ${SHORT_FAULT_MS} ms (short)`
    : drill.name + (drill.mode === 'latency' ? ` ${drill.params.ms} ms` : '');
  let timeouts: string;
  let note: string;
  if (drill.isShort) {
    const transitions = runs.reduce((n, r) => n + r.unhealthyTransitions, 0);
    timeouts = '—';
    note = `${transitions} unhealthy transitions, ${notifications} notifications (target 0 and 0); ${firstFail.length}/${runs.length} runs had a probe hit the fault`;
  } else if (drill.isDetectable) {
    const missed = runs.length - unhealthy.length;
    timeouts = String(missed);
    note = `unhealthy first: ${detectedBy}`;
    if (isFast && missed === 0)
      note += median(unhealthy) <= 8000 ? '; median ≤ 8 s: met' : '; median ≤ 8 s: NOT met';
    for (const [name, arrived] of [
      ['page', paged.length],
      ['page-default', pagedDefault.length],
    ] as const) {
      if (arrived < unhealthy.length) note += `; ${unhealthy.length - arrived} detected runs WITHOUT ${name}`;
    }
  } else {
    const missed = runs.length - unhealthy.length;
    timeouts = `${missed} (expected)`;
    note =
      unhealthy.length === 0
        ? `not detected by integrity checks in ${TIMEOUT_MS / 1000} s (a canary's job); ${notifications} notifications`
        : `DETECTED in ${unhealthy.length} runs by ${detectedBy}; ${notifications} notifications`;
  }
  const confirmed = confirming.length === 0 ? '—' : seconds(median(confirming));
  return `| ${mode} | ${isFast ? 'on (1 s)' : 'off'} | ${runs.length} | ${failed} | ${medianMax(unhealthy)} | ${confirmed} | ${medianMax(paged)} | ${medianMaxMs(alerting)} | ${medianMax(pagedDefault)} | ${timeouts} | ${note} |`;
}

function cpuAffinity(): string {
  try {
    return readFileSync('/proc/self/status', 'utf8').match(/^Cpus_allowed_list:\s*(.+)$/m)?.[1] ?? '?';
  } catch {
    return '?';
  }
}

const t0 = performance.now();
const command = ['node', relative(process.cwd(), process.argv[1] ?? ''), ...process.argv.slice(2)].join(' ');
console.log(
  [
    '# Detection drill',
    '',
    `machine: ${cpus().length} × ${cpus()[0]?.model ?? 'unknown CPU'} (this process pinned to CPUs ${cpuAffinity()}), Node ${process.version}`,
    `command: ${command}`,
    `seed: ${SEED}, runs per mode: ${RUNS}, interval 10 s, timeout 2 s, failureThreshold 3; per-run limit ${TIMEOUT_MS / 1000} s, short fault watched ${OBSERVE_MS / 1000} s`,
    'alerting: critical → webhook to a receiver on 127.0.0.1, two routes: group_wait 0s (continue: true) and the default group_wait (30s); SQLite store file',
    '',
  ].join('\n'),
);

const results: DrillResult[] = [];
for (const drill of drills as Drill[]) {
  const started = performance.now();
  // Fast confirmation on and off side by side. Every drill draws the same offsets (run i waits the
  // same time in every mode), so differences between rows come from the mode, not from the draw.
  const outcomes = await Promise.all(
    FAST_SETTINGS.map((isFast) => runDrill(drill, isFast, createRandom(SEED))),
  );
  results.push(...outcomes);
  console.error(`${drill.name}: done in ${seconds(performance.now() - started)} s`);
}

console.log(
  '| mode | fast confirmation | runs | (a) first failed probe, median / max (s) | (b) unhealthy, median / max (s) | (b) − (a), median (s) | (c) page at the receiver, group_wait 0s, median / max (s) | (c) − (b), median / max (ms) | (c′) page, default group_wait 30s, median / max (s) | timeouts | notes |',
);
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |');
for (const result of results) console.log(row(result));

// Pooled over the hard failures (every detectable mode): the figure the ≤ 8 s target is about.
for (const isFast of FAST_SETTINGS) {
  const pooled = results.filter((r) => r.isFast === isFast && r.drill.isDetectable);
  if (pooled.length === 0) continue;
  const runs = pooled.flatMap((r) => r.runs);
  const unhealthy = defined(runs.map((r) => since(r, r.unhealthyAt)));
  const paged = defined(runs.map((r) => since(r, r.notifiedAt.page)));
  const pagedDefault = defined(runs.map((r) => since(r, r.notifiedAt['page-default'])));
  const verdict = isFast ? ` (target ≤ 8 s: ${median(unhealthy) <= 8000 ? 'met' : 'NOT met'})` : '';
  console.log(
    `\nhard failures pooled, fast confirmation ${isFast ? 'on' : 'off'}: ${pooled.length} modes, ${runs.length} runs, ` +
      `unhealthy median / max ${medianMax(unhealthy)} s${verdict}, timeouts ${runs.length - unhealthy.length}; ` +
      `page (group_wait 0s) median / max ${medianMax(paged)} s (${paged.length} runs), ` +
      `page (default group_wait 30s) ${medianMax(pagedDefault)} s (${pagedDefault.length} runs)`,
  );
}

const problems = results.flatMap((r) => [
  ...r.hubErrors.map((e) => `${r.drill.name}/${r.isFast ? 'fast' : 'slow'}: hub: ${e}`),
  ...r.runs.flatMap((run) =>
    run.preInjectionProblems.map((p) => `${r.drill.name}/${r.isFast ? 'fast' : 'slow'}/${run.target}: ${p}`),
  ),
]);
if (problems.length > 0) console.log(`\nAnomalies:\n${problems.map((p) => `- ${p}`).join('\n')}`);
console.log(`\nwall time: ${seconds(performance.now() - t0)} s`);
