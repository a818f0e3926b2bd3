/**
 * runProbe: one execution of one check — the protocol adapter asks, the assertions judge, and the
 * answer becomes a ProbeResult. A down endpoint is data, not an exception: this never throws for
 * anything the endpoint does.
 */
import { type ExpectInput, evaluateExpect } from '../assertions/index.js';
import { MetricsJudge } from '../assertions/metrics.js';
import { VigilError } from '../errors.js';
import { createAdapterContext, getAdapter } from '../protocols/index.js';
import type {
  AdapterAnswer,
  AssertionFailure,
  CheckPlan,
  HttpClient,
  HttpExchange,
  HttpRequest,
  PhaseTimings,
  ProbeResult,
} from '../types.js';
import { isMetricsPlan, metricsSpecOf, probeMetrics } from './metrics-check.js';

/** Phases of a probe that made no HTTP exchange: every one 0 ms (frozen, shared). */
export const ZERO_PHASES: PhaseTimings = Object.freeze({
  dnsMs: 0,
  connectMs: 0,
  tlsMs: 0,
  processingMs: 0,
  transferMs: 0,
});

/** What runProbe needs besides the plan. */
export interface ProbeDeps {
  client: HttpClient;
  /** Region this prober runs in. Default `local`. */
  region?: string;
  /**
   * Called once per probe with its main exchange (the one the verdict is about: the inference call
   * of an integrity probe), as sent and received — unredacted: the caller redacts before showing it.
   */
  onExchange?: (captured: CapturedExchange) => void;
}

/** A probe's main HTTP exchange as it happened. */
export interface CapturedExchange {
  /** The probe's start, ms since epoch. */
  startedAt: number;
  request: HttpRequest;
  exchange: HttpExchange;
}

/**
 * The check kinds runProbe can execute; canaries run through `createCanaryRunner` (probe/canary.ts).
 * A `metrics` plan run by runProbe reads the exposition once with a new judge (its rates need a second
 * probe: a hub keeps judges with `createMetricsRunner`, probe/metrics-check.ts).
 */
export type ProbeableKind = 'liveness' | 'readiness' | 'integrity' | 'metrics';

/** Whether runProbe can run `plan`: not a canary (those run through `createCanaryRunner`), not a router's traffic check (never probed). */
export function isProbeable(plan: CheckPlan): plan is CheckPlan & { kind: ProbeableKind } {
  return plan.kind !== 'canary' && plan.kind !== 'traffic';
}

/**
 * Runs one probe of `plan` and judges it.
 *
 * Outcome: `fail` when the adapter's protocol verdict is negative or any assertion fails;
 * `degraded` when only the latency's degraded threshold was crossed; else `pass`. `error` is set
 * when no usable answer was had (transport error, unreadable body) and, with code
 * `UNEXPECTED_STATUS`, when the status assertion failed.
 *
 * Never rejects for anything an endpoint answers: an exception while probing or judging (a bug) is a
 * failed result with code `INTERNAL` and the exception's message (a protocol that is not registered
 * included: `getAdapter`'s `VIGIL_ERR_PROTOCOL_UNKNOWN` message).
 *
 * @throws VigilError `VIGIL_ERR_PROBE_NOT_PROBEABLE` for a canary plan (canaries run through `createCanaryRunner` in `probe/canary.ts`: filter plans
 *   with {@link isProbeable}).
 */
export async function runProbe(plan: CheckPlan, deps: ProbeDeps): Promise<ProbeResult> {
  if (!isProbeable(plan)) {
    throw new VigilError(
      'VIGIL_ERR_PROBE_NOT_PROBEABLE',
      `runProbe: ${plan.id}: canary checks run through a canary runner (createCanaryRunner), not runProbe`,
    );
  }
  const startedAt = Date.now();
  const t0 = performance.now();
  try {
    if (isMetricsPlan(plan))
      return await probeMetrics(
        deps.client,
        metricsSpecOf(plan),
        new MetricsJudge(plan.metrics.rules),
        deps.region ?? 'local',
        deps.onExchange,
      );
    if (plan.kind === 'metrics')
      throw new Error(`${plan.id} is a metrics check without its rules (plan.metrics)`);
    return await probeAndJudge(
      plan as CheckPlan & { kind: Exclude<ProbeableKind, 'metrics'> },
      deps,
      startedAt,
      t0,
    );
  } catch (err) {
    // Nothing an answer does may escape as an exception: the scheduler would lose the check's result
    // (it stays `unknown` for ever, with no series to alert on). It fails its own probe instead.
    const message = `internal error while probing: ${err instanceof Error ? err.message : String(err)}`;
    return {
      checkId: plan.id,
      target: plan.target.name,
      check: plan.kind,
      region: deps.region ?? 'local',
      startedAt,
      durationMs: performance.now() - t0,
      phases: ZERO_PHASES,
      outcome: 'fail',
      failures: [{ assertion: 'internal', expected: 'an answer Vigil can judge', actual: message, message }],
      error: { code: 'INTERNAL', message },
    };
  }
}

async function probeAndJudge(
  plan: CheckPlan & { kind: Exclude<ProbeableKind, 'metrics'> },
  deps: ProbeDeps,
  startedAt: number,
  t0: number,
): Promise<ProbeResult> {
  const adapter = getAdapter(plan.target.protocol);
  const onExchange = deps.onExchange;
  const requests: Array<[HttpRequest, HttpExchange]> = [];
  const client: HttpClient =
    onExchange === undefined
      ? deps.client
      : {
          request: async (request) => {
            const exchange = await deps.client.request(request);
            requests.push([request, exchange]);
            return exchange;
          },
          close: () => deps.client.close(),
        };
  const ctx = createAdapterContext(client, plan.target, { timeoutMs: plan.timeoutMs, startedAt: t0 });
  const answer: AdapterAnswer = await adapter[plan.kind](ctx, plan);
  const durationMs = performance.now() - t0;
  if (onExchange !== undefined) {
    const main = requests.find(([, e]) => e === answer.exchange) ?? requests[requests.length - 1];
    if (main !== undefined) onExchange({ startedAt, request: main[0], exchange: main[1] });
  }

  const { exchange, verdict, document } = answer;
  const failures: AssertionFailure[] = [];
  let error: ProbeResult['error'];
  if (!verdict.ok) {
    failures.push({
      assertion: 'protocol',
      expected: 'a healthy answer',
      actual: verdict.reason,
      message: verdict.reason,
    });
    if (verdict.code) error = { code: verdict.code, message: verdict.reason };
  }
  const status = exchange.response?.status;
  let degraded: AssertionFailure[] = [];
  if (!error) {
    // One object filled in place: conditional spreads would build three more per probe.
    const input: ExpectInput = { durationMs: exchange.durationMs, kind: plan.kind };
    if (document !== undefined) input.document = document;
    if (status !== undefined) input.status = status;
    if (answer.declaredOutputs !== undefined) input.declaredOutputs = answer.declaredOutputs;
    if (answer.stream !== undefined) input.stream = answer.stream;
    const judged = evaluateExpect(plan.expect, input);
    // The adapter already judged the status by its protocol's rules; repeat only an explicit expectation.
    const own =
      verdict.ok || plan.expect.status
        ? judged.failures
        : judged.failures.filter((f) => f.assertion !== 'status');
    failures.push(...own);
    degraded = judged.degraded;
    const statusFailure = own.find((f) => f.assertion === 'status');
    if (statusFailure) error = { code: 'UNEXPECTED_STATUS', message: statusFailure.message };
  }

  const result: ProbeResult = {
    checkId: plan.id,
    target: plan.target.name,
    check: plan.kind,
    region: deps.region ?? 'local',
    startedAt,
    durationMs,
    phases: exchange.phases ?? ZERO_PHASES,
    outcome: failures.length > 0 ? 'fail' : degraded.length > 0 ? 'degraded' : 'pass',
    failures: failures.length > 0 ? failures : degraded,
  };
  if (status !== undefined) result.httpStatus = status;
  if (error) result.error = error;
  const modelVersion = answer.modelVersion ?? document?.modelVersion;
  if (modelVersion !== undefined) result.modelVersion = modelVersion;
  if (answer.notes !== undefined && answer.notes.length > 0) result.notes = answer.notes;
  if (answer.stream !== undefined) result.stream = answer.stream;
  return result;
}
