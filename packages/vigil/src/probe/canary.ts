/**
 * Canary runs: the prober's side of a canary check. Each run sends one rotation window of the golden
 * set through the protocol's adapter (the integrity call with each case's request), finds the baseline
 * of the model version the server reports, and judges the answers with `canary/compare.ts`. A version
 * without a baseline is reported as such (a warning), and with `autoBaseline` gets a provisional one
 * from its first healthy runs. Where baselines live is the caller's ({@link CanaryBaselines}: the
 * store for the hub, a file for `vigil check`).
 */
import {
  type Baseline,
  buildBaseline,
  type CanaryCompareOptions,
  type CanaryVerdict,
  type CaseObservation,
  compareCanary,
  type RecordedAnswer,
  rotationWindow,
} from '../canary/index.js';
import { createAdapterContext, getAdapter } from '../protocols/index.js';
import type {
  AssertionFailure,
  CanaryPlan,
  CheckPlan,
  HttpClient,
  HttpExchange,
  HttpRequest,
  ProbeResult,
} from '../types.js';
import { type ProbeDeps, ZERO_PHASES } from './run-probe.js';

/** Failures listed per result at most; the rest are counted in one more line. */
export const MAX_CANARY_FAILURES = 20;

/** Answers per case of a provisional baseline, unless `autoBaseline.repeats` says otherwise. */
export const DEFAULT_AUTO_BASELINE_REPEATS = 3;

/** The version key of a model that reports no version. */
export const NO_VERSION = '';

/** A baseline as a canary finds it. */
export interface FoundBaseline {
  baseline: Baseline;
  /** `reviewed` (imported or promoted) or `provisional` (autoBaseline, not promoted yet). */
  status: 'reviewed' | 'provisional';
}

/** Where a canary's baselines come from, and where provisional ones go. */
export interface CanaryBaselines {
  /** The baseline of `checkId` for `modelVersion` (`''`: none reported): the reviewed one, else a provisional one. */
  find(checkId: string, modelVersion: string): Promise<FoundBaseline | undefined>;
  /** The model versions `checkId` has baselines for (for messages). */
  versions(checkId: string): Promise<string[]>;
  /** Stores a provisional baseline (autoBaseline). Absent: autoBaseline records nothing. */
  putProvisional?(checkId: string, modelVersion: string, baseline: Baseline): Promise<void>;
}

/** What one case's request gave. */
export type CaseAnswer =
  | { ok: true; observation: CaseObservation; exchange: HttpExchange }
  | { ok: false; caseId: string; reason: string; code?: string; exchange: HttpExchange };

/**
 * Sends each case's request through `plan`'s protocol adapter (its integrity call), one after another,
 * each within `plan.timeoutMs`. Never throws for anything the endpoint does.
 */
export async function sendCases(
  plan: CheckPlan,
  deps: Pick<ProbeDeps, 'client'>,
  cases: CanaryPlan['cases'],
): Promise<CaseAnswer[]> {
  const adapter = getAdapter(plan.target.protocol);
  const answers: CaseAnswer[] = [];
  for (const c of cases) {
    const ctx = createAdapterContext(deps.client, plan.target, {
      timeoutMs: plan.timeoutMs,
      startedAt: performance.now(),
    });
    const answer = await adapter.integrity(ctx, { ...plan, kind: 'integrity', request: c.request });
    const { exchange, verdict, document } = answer;
    if (!verdict.ok || document === undefined) {
      answers.push({
        ok: false,
        caseId: c.id,
        reason: verdict.ok ? 'no answer to compare' : verdict.reason,
        ...(!verdict.ok && verdict.code !== undefined && { code: verdict.code }),
        exchange,
      });
      continue;
    }
    const modelVersion = answer.modelVersion ?? document.modelVersion;
    answers.push({
      ok: true,
      observation: {
        caseId: c.id,
        outputs: document.outputs,
        ...(document.shapes !== undefined && { shapes: document.shapes }),
        durationMs: exchange.durationMs,
        ...(modelVersion !== undefined && { modelVersion }),
      },
      exchange,
    });
  }
  return answers;
}

/** The version most answers reported, else the config's `version`, else {@link NO_VERSION}. */
export function reportedVersion(observations: readonly CaseObservation[], configured?: string): string {
  const counts = new Map<string, number>();
  for (const o of observations)
    if (o.modelVersion !== undefined) counts.set(o.modelVersion, (counts.get(o.modelVersion) ?? 0) + 1);
  let best: string | undefined;
  for (const [version, count] of counts)
    if (best === undefined || count > (counts.get(best) ?? 0)) best = version;
  return best ?? configured ?? NO_VERSION;
}

/** The comparison options a canary plan chose. */
export function compareOptions(canary: CanaryPlan): CanaryCompareOptions {
  const options: CanaryCompareOptions = {};
  if (canary.tolerance !== undefined) options.tolerance = canary.tolerance;
  if (canary.text !== undefined) options.text = canary.text;
  if (canary.minOverlap !== undefined) options.minOverlap = canary.minOverlap;
  if (canary.outputs !== undefined) options.outputs = canary.outputs;
  if (canary.maxLabelFlipShare !== undefined) options.maxLabelFlipShare = canary.maxLabelFlipShare;
  if (canary.outcomes !== undefined) options.outcomes = canary.outcomes;
  return options;
}

/** The last run of a canary, as the API and dashboard show it. */
export interface CanaryRunReport {
  checkId: string;
  /** When the run started, ms since epoch. */
  at: number;
  runIndex: number;
  /** The version the answers reported (`''`: none). */
  modelVersion: string;
  /** The baseline compared with, if any. */
  baseline?: { status: 'reviewed' | 'provisional'; modelVersion: string; recordedAt: string };
  /** Cases of this run's rotation window, and of the whole set. */
  cases: { sent: string[]; total: number };
  /** The comparison, when there was a baseline and every case answered. */
  verdict?: CanaryVerdict;
  /** autoBaseline progress while recording a provisional baseline. */
  recording?: { runs: number; of: number };
}

/** Options of {@link createCanaryRunner}. */
export interface CanaryRunnerOptions {
  baselines: CanaryBaselines;
  /** Log lines (a provisional baseline recorded, a version without a baseline). */
  log?: (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) => void;
  /** Drift statistics kept per check for the API (newest last). Default 100. */
  historySize?: number;
  /**
   * Where each check's state is kept between runs, so that a restarted hub continues (the hub: the
   * store, `storeCanaryState`). Absent: in memory only. A state that cannot be read or written is
   * logged and the runner carries on in memory.
   */
  state?: CanaryStateStore;
}

/**
 * What a canary runner keeps of one check between runs, as stored (JSON): where its rotation is, the
 * autoBaseline recording in progress, the last run's comparison and the drift statistics over time.
 * `format` is bumped when the shape changes; a state of another format is dropped (the check starts
 * over, as a new one would).
 */
export interface CanaryStateSnapshot {
  format: typeof CANARY_STATE_FORMAT;
  /** The next run's index: its rotation window is `rotationWindow(n, runIndex, maxCasesPerRun)`. */
  runIndex: number;
  /** A provisional baseline being recorded (autoBaseline): answers per case id so far. */
  recording?: { modelVersion: string; runs: number; answers: Record<string, RecordedAnswer[]> };
  lastRun?: CanaryRunReport;
  /** Oldest first, at most `historySize`. */
  history: DriftPoint[];
}

/** The format of {@link CanaryStateSnapshot} this Vigil writes and reads. */
export const CANARY_STATE_FORMAT = 1;

/** Where a canary runner keeps its checks' state (see {@link CanaryRunnerOptions.state}). */
export interface CanaryStateStore {
  /** The stored state of `checkId` (any JSON: the runner checks its format), or undefined. */
  load(checkId: string): Promise<unknown>;
  save(checkId: string, state: CanaryStateSnapshot): Promise<void>;
  remove(checkId: string): Promise<void>;
}

/** One drift statistic of one run, for the statistics-over-time view. */
export interface DriftPoint {
  at: number;
  statistic: 'psi' | 'ks' | 'js';
  output: string;
  value: number;
  bound: number;
  exceeded: boolean;
}

/** Runs canary checks; keeps each check's rotation position and autoBaseline progress. */
export interface CanaryRunner {
  /** One run of `plan` (a canary plan): its rotation window, compared with its version's baseline. */
  run(plan: CheckPlan, deps: ProbeDeps): Promise<ProbeResult>;
  /** The last run of a check, if it ran. */
  lastRun(checkId: string): CanaryRunReport | undefined;
  /** The drift statistics of a check's recent runs, oldest first. */
  history(checkId: string): DriftPoint[];
  /**
   * Reads the stored state of checks this runner has not seen yet (the hub calls it at start, so the
   * API shows the last comparison and the drift history before the first run). A run restores its own
   * check first anyway.
   */
  restore(checkIds: Iterable<string>): Promise<void>;
  /** Forgets a check (removed from the plan), and its stored state. */
  forget(checkId: string): void;
}

interface Recording {
  modelVersion: string;
  answers: Map<string, RecordedAnswer[]>;
  runs: number;
}

/**
 * A runner of canary checks over a baseline source.
 *
 * A run's outcome: `fail` when a case got no usable answer (transport error, bad status, non-finite
 * numbers: the adapter's verdict) or the comparison found corrupt answers; `degraded` for drift
 * beyond tolerance (both per the plan's `outcomes`) and when the reported version has no baseline
 * (`no baseline for version "2"`), else `pass`. With `autoBaseline`, runs of a version without a
 * baseline whose every case answered are recorded until each case has `repeats` answers and `runs`
 * runs were seen; the provisional baseline is stored and compared with from the next run on.
 *
 * @example
 * const runner = createCanaryRunner({ baselines: storeBaselines(store) });
 * const result = await runner.run(plan, { client });
 */
export function createCanaryRunner(options: CanaryRunnerOptions): CanaryRunner {
  const { baselines } = options;
  const log = options.log ?? (() => {});
  const historySize = options.historySize ?? 100;
  const runIndex = new Map<string, number>();
  const recordings = new Map<string, Recording>();
  const last = new Map<string, CanaryRunReport>();
  const histories = new Map<string, DriftPoint[]>();
  /** Checks whose stored state was read (or found missing): read once, then kept in memory. */
  const restored = new Set<string>();
  const stateStore = options.state;

  async function restoreOne(checkId: string): Promise<void> {
    if (restored.has(checkId)) return;
    restored.add(checkId);
    if (stateStore === undefined) return;
    let stored: unknown;
    try {
      stored = await stateStore.load(checkId);
    } catch (err) {
      log(
        'error',
        `${checkId}: could not read the canary's stored state, starting over: ${(err as Error).message}`,
        {
          checkId,
        },
      );
      return;
    }
    if (stored === undefined) return;
    const snapshot = parseSnapshot(stored);
    if (snapshot === undefined) {
      log(
        'warn',
        `${checkId}: the canary's stored state is not of format ${CANARY_STATE_FORMAT}; starting over`,
        {
          checkId,
        },
      );
      return;
    }
    // A run that finished before the read (it cannot: a run restores first) would be newer; keep it.
    if (!runIndex.has(checkId)) runIndex.set(checkId, snapshot.runIndex);
    if (snapshot.recording !== undefined && !recordings.has(checkId))
      recordings.set(checkId, {
        modelVersion: snapshot.recording.modelVersion,
        runs: snapshot.recording.runs,
        answers: new Map(Object.entries(snapshot.recording.answers)),
      });
    if (snapshot.lastRun !== undefined && !last.has(checkId)) last.set(checkId, snapshot.lastRun);
    if (!histories.has(checkId)) histories.set(checkId, snapshot.history.slice(-historySize));
  }

  async function save(checkId: string): Promise<void> {
    // Forgotten while the run was under way (removed from the plan): its state goes with it.
    if (stateStore === undefined || !restored.has(checkId)) return;
    const recording = recordings.get(checkId);
    const lastRun = last.get(checkId);
    const snapshot: CanaryStateSnapshot = {
      format: CANARY_STATE_FORMAT,
      runIndex: runIndex.get(checkId) ?? 0,
      ...(recording !== undefined && {
        recording: {
          modelVersion: recording.modelVersion,
          runs: recording.runs,
          answers: Object.fromEntries(recording.answers),
        },
      }),
      ...(lastRun !== undefined && { lastRun }),
      history: histories.get(checkId) ?? [],
    };
    try {
      await stateStore.save(checkId, snapshot);
    } catch (err) {
      log('error', `${checkId}: could not store the canary's state: ${(err as Error).message}`, { checkId });
    }
  }

  async function run(plan: CheckPlan, deps: ProbeDeps): Promise<ProbeResult> {
    await restoreOne(plan.id);
    try {
      return await runCaught(plan, deps);
    } finally {
      await save(plan.id);
    }
  }

  async function runCaught(plan: CheckPlan, deps: ProbeDeps): Promise<ProbeResult> {
    const startedAt = Date.now();
    const t0 = performance.now();
    const base = {
      checkId: plan.id,
      target: plan.target.name,
      check: plan.kind,
      region: deps.region ?? 'local',
      startedAt,
    };
    try {
      return await runOnce(plan, deps, base, t0);
    } catch (err) {
      const message = `internal error while running the canary: ${err instanceof Error ? err.message : String(err)}`;
      return {
        ...base,
        durationMs: performance.now() - t0,
        phases: ZERO_PHASES,
        outcome: 'fail',
        failures: [
          { assertion: 'internal', expected: 'an answer Vigil can judge', actual: message, message },
        ],
        error: { code: 'INTERNAL', message },
      };
    }
  }

  async function runOnce(
    plan: CheckPlan,
    deps: ProbeDeps,
    base: Pick<ProbeResult, 'checkId' | 'target' | 'check' | 'region' | 'startedAt'>,
    t0: number,
  ): Promise<ProbeResult> {
    const canary = plan.canary;
    if (canary === undefined || canary.cases.length === 0) throw new Error(`${plan.id} has no golden set`);
    const index = runIndex.get(plan.id) ?? 0;
    runIndex.set(plan.id, index + 1);
    const window = rotationWindow(canary.cases.length, index, canary.maxCasesPerRun);
    const cases = window.indices.map((i) => canary.cases[i] as CanaryPlan['cases'][number]);
    // The last case's exchange is the one the dashboard shows.
    let sent: [HttpRequest, HttpExchange] | undefined;
    const client: HttpClient =
      deps.onExchange === undefined
        ? deps.client
        : {
            request: async (request) => {
              const exchange = await deps.client.request(request);
              sent = [request, exchange];
              return exchange;
            },
            close: () => deps.client.close(),
          };
    const answers = await sendCases(plan, { client }, cases);
    const durationMs = performance.now() - t0;
    const lastExchange = answers[answers.length - 1]?.exchange;
    if (deps.onExchange !== undefined && sent !== undefined)
      deps.onExchange({ startedAt: base.startedAt, request: sent[0], exchange: sent[1] });
    const result: ProbeResult = {
      ...base,
      durationMs,
      phases: lastExchange?.phases ?? ZERO_PHASES,
      outcome: 'pass',
      failures: [],
    };
    const status = lastExchange?.response?.status;
    if (status !== undefined) result.httpStatus = status;
    const observations = answers.flatMap((a) => (a.ok ? [a.observation] : []));
    const modelVersion = reportedVersion(observations, plan.target.version);
    if (modelVersion !== NO_VERSION) result.modelVersion = modelVersion;
    const report: CanaryRunReport = {
      checkId: plan.id,
      at: base.startedAt,
      runIndex: index,
      modelVersion,
      cases: { sent: cases.map((c) => c.id), total: canary.cases.length },
    };
    last.set(plan.id, report);

    const unanswered = answers.filter((a): a is Extract<CaseAnswer, { ok: false }> => !a.ok);
    if (unanswered.length > 0) {
      result.outcome = 'fail';
      result.failures = cap(
        unanswered.map((a) => ({
          assertion: 'canary',
          operator: 'answer',
          expected: 'an answer to compare',
          actual: a.reason,
          message: `case ${JSON.stringify(a.caseId)}: ${a.reason}`,
        })),
      );
      const first = unanswered[0];
      if (first?.code !== undefined) result.error = { code: first.code as never, message: first.reason };
      return result;
    }

    const found = await baselines.find(plan.id, modelVersion);
    if (found === undefined) return noBaseline(plan, canary, result, report, observations, modelVersion);
    recordings.delete(plan.id);
    report.baseline = {
      status: found.status,
      modelVersion: found.baseline.model.version ?? NO_VERSION,
      recordedAt: found.baseline.recordedAt,
    };
    const verdict = compareCanary(found.baseline, observations, compareOptions(canary));
    report.verdict = verdict;
    remember(plan.id, base.startedAt, verdict);
    result.outcome = verdict.outcome;
    // Corrupt answers first: the cap keeps them, and the condition read from the result sees them.
    result.failures = cap([
      ...verdict.failures.filter((f) => f.level === 'corrupt'),
      ...verdict.failures.filter((f) => f.level !== 'corrupt'),
    ]);
    if (found.status === 'provisional') {
      result.notes = [
        `compared with a provisional baseline of version ${JSON.stringify(modelVersion)} (recorded automatically; review it and run vigil baseline promote)`,
      ];
    }
    if (verdict.unknownCases.length > 0) {
      result.notes = [
        ...(result.notes ?? []),
        `${verdict.unknownCases.length} case(s) not in the baseline, not compared: ${verdict.unknownCases.slice(0, 5).join(', ')}`,
      ];
    }
    return result;
  }

  async function noBaseline(
    plan: CheckPlan,
    canary: CanaryPlan,
    result: ProbeResult,
    report: CanaryRunReport,
    observations: CaseObservation[],
    modelVersion: string,
  ): Promise<ProbeResult> {
    const shown =
      modelVersion === NO_VERSION ? 'no reported version' : `version ${JSON.stringify(modelVersion)}`;
    const known = await baselines.versions(plan.id);
    const has =
      known.length === 0
        ? 'none recorded'
        : `baselines exist for ${known.map((v) => JSON.stringify(v)).join(', ')}`;
    result.outcome = 'degraded';
    let message = `no baseline for ${shown} (${has}): record one with vigil baseline record`;
    if (canary.autoBaseline !== undefined && baselines.putProvisional !== undefined) {
      const progress = await record(plan, canary, observations, modelVersion);
      report.recording = progress;
      message =
        progress.runs >= progress.of
          ? `no baseline for ${shown}: a provisional baseline was recorded from ${progress.runs} healthy runs; compared from the next run on`
          : `no baseline for ${shown}: recording a provisional baseline (${progress.runs} of ${progress.of} healthy runs)`;
    }
    result.failures = [
      { assertion: 'canary', operator: 'baseline', expected: `a baseline of ${shown}`, actual: has, message },
    ];
    return result;
  }

  /** Adds a healthy run's answers to the version's recording; stores the provisional baseline when complete. */
  async function record(
    plan: CheckPlan,
    canary: CanaryPlan,
    observations: CaseObservation[],
    modelVersion: string,
  ): Promise<{ runs: number; of: number }> {
    const repeats = canary.autoBaseline?.repeats ?? DEFAULT_AUTO_BASELINE_REPEATS;
    const perRotation = Math.ceil(canary.cases.length / canary.maxCasesPerRun);
    const of = canary.autoBaseline?.runs ?? repeats * perRotation;
    let recording = recordings.get(plan.id);
    if (recording === undefined || recording.modelVersion !== modelVersion) {
      recording = { modelVersion, answers: new Map(), runs: 0 };
      recordings.set(plan.id, recording);
    }
    for (const o of observations) {
      const list = recording.answers.get(o.caseId) ?? [];
      list.push({
        outputs: o.outputs,
        ...(o.shapes !== undefined && { shapes: o.shapes }),
        ...(o.durationMs !== undefined && { durationMs: o.durationMs }),
      });
      recording.answers.set(o.caseId, list);
    }
    recording.runs++;
    const everyCase = canary.cases.every((c) => (recording.answers.get(c.id)?.length ?? 0) >= repeats);
    if (recording.runs < of || !everyCase)
      return { runs: recording.runs, of: Math.max(of, recording.runs + 1) };
    const baseline = buildBaseline({
      cases: canary.cases.map((c) => ({
        id: c.id,
        request: c.request,
        // The same number of answers per case: the last `repeats` of each.
        answers: (recording.answers.get(c.id) ?? []).slice(-repeats),
      })),
      model: {
        name: plan.target.model ?? plan.target.name,
        ...(modelVersion !== NO_VERSION && { version: modelVersion }),
      },
      recordedAt: new Date(),
      target: plan.target.name,
      check: plan.kind,
    });
    await baselines.putProvisional?.(plan.id, modelVersion, baseline);
    recordings.delete(plan.id);
    log('info', `${plan.id}: recorded a provisional baseline for version ${JSON.stringify(modelVersion)}`, {
      checkId: plan.id,
      modelVersion,
    });
    return { runs: recording.runs, of: recording.runs };
  }

  function remember(checkId: string, at: number, verdict: CanaryVerdict): void {
    let points = histories.get(checkId);
    if (points === undefined) {
      points = [];
      histories.set(checkId, points);
    }
    for (const s of verdict.statistics)
      points.push({
        at,
        statistic: s.statistic,
        output: s.output,
        value: s.value,
        bound: s.bound,
        exceeded: s.exceeded,
      });
    if (points.length > historySize) points.splice(0, points.length - historySize);
  }

  return {
    run,
    lastRun: (checkId) => last.get(checkId),
    history: (checkId) => [...(histories.get(checkId) ?? [])],
    async restore(checkIds) {
      for (const id of checkIds) await restoreOne(id);
    },
    forget(checkId) {
      runIndex.delete(checkId);
      recordings.delete(checkId);
      last.delete(checkId);
      histories.delete(checkId);
      restored.delete(checkId);
      stateStore
        ?.remove(checkId)
        .catch((err: Error) =>
          log('error', `${checkId}: could not delete the canary's stored state: ${err.message}`, { checkId }),
        );
    },
  };
}

/** A stored state of this format, else undefined (only the fields the runner relies on are checked). */
function parseSnapshot(stored: unknown): CanaryStateSnapshot | undefined {
  if (typeof stored !== 'object' || stored === null) return undefined;
  const s = stored as Partial<CanaryStateSnapshot>;
  if (s.format !== CANARY_STATE_FORMAT) return undefined;
  if (typeof s.runIndex !== 'number' || !Number.isInteger(s.runIndex) || s.runIndex < 0) return undefined;
  if (!Array.isArray(s.history)) return undefined;
  const r = s.recording;
  if (
    r !== undefined &&
    (typeof r.modelVersion !== 'string' || typeof r.runs !== 'number' || typeof r.answers !== 'object')
  )
    return undefined;
  return s as CanaryStateSnapshot;
}

/** At most {@link MAX_CANARY_FAILURES} failures, then one counting the rest. */
function cap(failures: AssertionFailure[]): AssertionFailure[] {
  if (failures.length <= MAX_CANARY_FAILURES) return failures;
  const more = failures.length - MAX_CANARY_FAILURES;
  return [
    ...failures.slice(0, MAX_CANARY_FAILURES),
    {
      assertion: 'canary',
      expected: '',
      actual: `${more} more`,
      message: `… and ${more} more differences (the check page lists every comparison)`,
    },
  ];
}
