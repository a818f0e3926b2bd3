/**
 * Child of `hub-scale.ts`: the hub under test, in its own process (the driver pins it to one core
 * with `taskset`). Builds `--checks` plans by hand, opens a SQLite store in `--db`, and runs
 * `createHub` with `createMetrics()` exactly as `vigil run` wires them, rendering `/metrics` every
 * `--scrape-ms` as a Prometheus scrape would (in chunks, as the route streams it). Talks to the
 * driver over IPC (scale-protocol.ts).
 *
 * The only instrumentation is a thin wrapper around the Metrics object handed to the hub (public
 * API): `observeLag` also feeds a fine-grained lag recorder (the histogram `vigil_scheduler_lag_seconds`
 * has 1 ms–10 s buckets, too coarse for p50), and `observeResult` counts results and non-passes and
 * records probe durations (what a latency assertion sees: the hub's own queueing included).
 * `--coalesce-ms` sets the hub's `coalesceMs` (default: the hub's own); `--metrics-level detail` exports
 * /metrics at the detail level (default: the default level, as `vigil run` without `--metrics-detail`).
 * No event listener is subscribed, so `publish` runs with no listener, as in a hub nobody watches.
 */
import { statSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import type { CheckKind, CheckPlan, Metrics, MetricsLevel, Store } from 'vigil-ml';
import { createHub, createMetrics, openStore } from 'vigil-ml';
import { scaleCheckPlan } from './scale-plan.js';
import { type DriverMessage, type HubMessage, LagRecorder } from './scale-protocol.js';

const { values } = parseArgs({
  options: {
    checks: { type: 'string', default: '10000' },
    'interval-ms': { type: 'string', default: '10000' },
    'per-target': { type: 'string', default: '1' },
    ports: { type: 'string' },
    db: { type: 'string' },
    'scrape-ms': { type: 'string', default: '15000' },
    'coalesce-ms': { type: 'string' },
    'metrics-level': { type: 'string', default: 'default' },
    profile: { type: 'string' },
    'alloc-profile': { type: 'string' },
    'heap-snapshot': { type: 'string' },
    diag: { type: 'string', default: '' },
  },
});
if (values.ports === undefined || values.db === undefined) throw new Error('--ports and --db are required');
const CHECKS = Number(values.checks);
const INTERVAL_MS = Number(values['interval-ms']);
const PER_TARGET = Number(values['per-target']);
const PORTS = values.ports.split(',').map(Number);
const DB = values.db;
const SCRAPE_MS = Number(values['scrape-ms']);
const PROFILE = values.profile;
/** Diagnostic: V8's sampling heap profiler over the window, counting objects the GC already freed. */
const ALLOC_PROFILE = values['alloc-profile'];
/**
 * Diagnostics only (never in a reported row): `skip-states` makes `store.saveStates` a no-op,
 * `skip-results` makes `store.appendResults` one, to price each write against the whole pipeline.
 */
const DIAG = new Set(values.diag.split(',').filter((d) => d !== ''));

/** Kinds per target, in order: all integrity-style with one check per target. */
const KINDS: readonly CheckKind[] = ['integrity', 'readiness', 'liveness'];
if (!(PER_TARGET >= 1 && PER_TARGET <= KINDS.length)) throw new Error('--per-target must be 1..3');

function buildPlans(): CheckPlan[] {
  const plans: CheckPlan[] = [];
  for (let i = 0; i < CHECKS; i++) {
    const t = Math.floor(i / PER_TARGET);
    const kind = KINDS[i % PER_TARGET] as CheckKind;
    plans.push(
      scaleCheckPlan({
        name: `model-${t}`,
        port: PORTS[t % PORTS.length] as number,
        kind,
        intervalMs: INTERVAL_MS,
      }),
    );
  }
  return plans;
}

const lag = new LagRecorder();
/** Probe durations (`result.durationMs`): what a latency assertion sees, the hub's own queueing included. */
const durations = new LagRecorder();
let probes = 0;
let nonPass: Record<string, number> = {};
/** The first few non-passing results: check, start (UTC time of day), duration and message. */
let nonPassExamples: string[] = [];
const scrapes = { count: 0, totalMs: 0, maxMs: 0, bytes: 0 };

const base = createMetrics({ level: values['metrics-level'] as MetricsLevel });
const metrics: Metrics = {
  registry: base.registry,
  contentType: base.contentType,
  contentTypes: base.contentTypes,
  observeResult(plan, result) {
    probes++;
    durations.record(result.durationMs);
    if (result.outcome !== 'pass') {
      const why = result.error?.code ?? result.failures[0]?.assertion ?? result.outcome;
      nonPass[why] = (nonPass[why] ?? 0) + 1;
      if (nonPassExamples.length < 5) {
        const at = new Date(result.startedAt).toISOString().slice(11, 23);
        nonPassExamples.push(
          `${result.checkId} started ${at}, ${result.durationMs.toFixed(0)} ms: ${result.error?.message ?? result.failures[0]?.message ?? result.outcome}`,
        );
      }
    }
    base.observeResult(plan, result);
  },
  observeState: (plan, state) => base.observeState(plan, state),
  observeDeferral: (plan, region, deferred) => base.observeDeferral(plan, region, deferred),
  observeTransition: (transition, plan) => base.observeTransition(transition, plan),
  observeActionRun: (action, result) => base.observeActionRun(action, result),
  observeLag(lagMs) {
    lag.record(lagMs);
    base.observeLag(lagMs);
  },
  observeLatencyThresholds: (plan, thresholds) => base.observeLatencyThresholds(plan, thresholds),
  removeCheck: (plan) => base.removeCheck(plan),
  render: () => base.render(),
  renderChunks: () => base.renderChunks(),
};

function withDiagnostics(real: Store): Store {
  const skipped = new Set<string | symbol>();
  if (DIAG.has('skip-states')) skipped.add('saveStates');
  if (DIAG.has('skip-results')) skipped.add('appendResults');
  if (skipped.size === 0) return real;
  const noop = async (): Promise<void> => {};
  return new Proxy(real, {
    get(target, prop) {
      if (skipped.has(prop)) return noop;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

const send = (message: HubMessage): void => {
  process.send?.(message);
};

const t0 = performance.now();
const plans = buildPlans();
const store = withDiagnostics(await openStore(DB));
const hub = createHub({
  plan: plans,
  store,
  metrics,
  ...(values['coalesce-ms'] === undefined ? {} : { coalesceMs: Number(values['coalesce-ms']) }),
});
await hub.start();

// --scrape-ms 0: no renders (diagnostic: the pipeline without the scrape's cost).
const scrapeTimer =
  SCRAPE_MS > 0
    ? setInterval(async () => {
        const s = performance.now();
        // As `/metrics` does: the chunks as they are rendered (a socket write each there), never the whole text.
        let bytes = 0;
        for await (const chunk of metrics.renderChunks()) bytes += chunk.length;
        const ms = performance.now() - s;
        scrapes.count++;
        scrapes.totalMs += ms;
        scrapes.maxMs = Math.max(scrapes.maxMs, ms);
        scrapes.bytes = bytes;
      }, SCRAPE_MS)
    : undefined;

let markCpu = process.cpuUsage();
let markAt = performance.now();
let session: Session | undefined;

function memoryMb(): { heapUsed: number; heapTotal: number; external: number } {
  const m = process.memoryUsage();
  return { heapUsed: m.heapUsed / 2 ** 20, heapTotal: m.heapTotal / 2 ** 20, external: m.external / 2 ** 20 };
}

function dbBytes(): number {
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(DB + suffix).size;
    } catch {
      // no WAL yet
    }
  }
  return total;
}

process.on('message', async (message: DriverMessage) => {
  if (message.type === 'mark') {
    lag.reset();
    durations.reset();
    probes = 0;
    nonPass = {};
    nonPassExamples = [];
    Object.assign(scrapes, { count: 0, totalMs: 0, maxMs: 0 });
    if (PROFILE !== undefined) {
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.start');
    }
    if (ALLOC_PROFILE !== undefined) {
      if (session === undefined) {
        session = new Session();
        session.connect();
      }
      await session.post('HeapProfiler.enable');
      await session.post('HeapProfiler.startSampling', {
        samplingInterval: 16384,
        includeObjectsCollectedByMajorGC: true,
        // `promoted`: leave out what minor GCs freed, so the profile shows what reached the old generation.
        includeObjectsCollectedByMinorGC: process.env.VIGIL_BENCH_ALLOC !== 'promoted',
      });
    }
    markCpu = process.cpuUsage();
    markAt = performance.now();
    send({ type: 'marked' });
  } else if (message.type === 'report') {
    const cpu = process.cpuUsage(markCpu);
    const windowMs = performance.now() - markAt;
    // After the window's CPU is read: a snapshot of a 10,000-check hub takes seconds.
    if (values['heap-snapshot'] !== undefined) writeHeapSnapshot(values['heap-snapshot']);
    let profile: string | undefined;
    if (session !== undefined && PROFILE !== undefined) {
      const { profile: data } = await session.post('Profiler.stop');
      writeFileSync(PROFILE, JSON.stringify(data));
      profile = PROFILE;
    }
    if (session !== undefined && ALLOC_PROFILE !== undefined) {
      const { profile: data } = await session.post('HeapProfiler.stopSampling');
      writeFileSync(ALLOC_PROFILE, JSON.stringify(data));
      profile = profile === undefined ? ALLOC_PROFILE : `${profile}, ${ALLOC_PROFILE}`;
    }
    session?.disconnect();
    session = undefined;
    send({
      type: 'report',
      probes,
      nonPass,
      nonPassExamples,
      lag: lag.summary(),
      durations: durations.summary(),
      scrapes: {
        count: scrapes.count,
        meanMs: scrapes.count > 0 ? scrapes.totalMs / scrapes.count : 0,
        maxMs: scrapes.maxMs,
        bytes: scrapes.bytes,
      },
      cpuUs: cpu.user + cpu.system,
      windowMs,
      memory: memoryMb(),
      dbBytes: dbBytes(),
      ...(profile === undefined ? {} : { profile }),
    });
  } else if (message.type === 'stop') {
    clearInterval(scrapeTimer);
    await hub.stop();
    await store.close();
    send({ type: 'stopped' });
    process.disconnect();
  }
});

send({
  type: 'ready',
  checks: plans.length,
  targets: new Set(plans.map((p) => p.target.name)).size,
  startMs: performance.now() - t0,
});
