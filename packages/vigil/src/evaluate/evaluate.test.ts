import { describe, expect, it } from 'vitest';
import type { CheckState, EvalState, Outcome, ProbeResult, Thresholds, Transition } from '../types.js';
import {
  describeResult,
  evaluate,
  initialState,
  isMaterialChange,
  markStale,
  STREAK_LIMIT,
  severityOf,
} from './evaluate.js';
import { defaultThresholds } from './thresholds.js';

const CHECK = 'credit-scorer/integrity';
const REGION = 'eu-west';
const T0 = 1_700_000_000_000;
const PERIOD_MS = 10_000;
const DURATION_MS = 100;

/** Kubernetes' defaults, degraded like failures, flap detection off unless a case turns it on. */
const BASE: Thresholds = {
  failureThreshold: 3,
  successThreshold: 1,
  degradedThreshold: 3,
  flapWindowMs: 600_000,
  flapTransitions: 0,
  startupGraceMs: 0,
};

function result(outcome: Outcome, i: number, extra: Partial<ProbeResult> = {}): ProbeResult {
  const failures: ProbeResult['failures'] =
    outcome === 'degraded'
      ? [
          {
            assertion: 'latency',
            expected: 150,
            actual: 212,
            message: 'latency 212 ms ≥ degraded threshold 150 ms',
          },
        ]
      : [];
  return {
    checkId: CHECK,
    target: 'credit-scorer',
    check: 'integrity',
    region: REGION,
    startedAt: T0 + i * PERIOD_MS,
    durationMs: DURATION_MS,
    phases: { dnsMs: 0, connectMs: 0, tlsMs: 0, processingMs: DURATION_MS, transferMs: 0 },
    outcome,
    failures,
    ...(outcome === 'fail'
      ? { error: { code: 'TIMEOUT' as const, message: 'timed out after 2000 ms' } }
      : {}),
    ...extra,
  };
}

const atOf = (i: number) => T0 + i * PERIOD_MS + DURATION_MS;

type Step = 'pass' | 'fail' | 'degraded';

function run(outcomes: readonly Step[], thresholds: Thresholds = BASE) {
  let state = initialState(CHECK, REGION);
  const states: CheckState[] = [];
  const transitions: Transition[] = [];
  const evaluations = [];
  for (const [i, outcome] of outcomes.entries()) {
    const evaluation = evaluate(state, result(outcome, i), thresholds);
    state = evaluation.state;
    states.push(state.state);
    if (evaluation.transition) transitions.push(evaluation.transition);
    evaluations.push(evaluation);
  }
  return { state, states, transitions, evaluations };
}

const p = 'pass';
const f = 'fail';
const d = 'degraded';

describe('evaluate: state sequences', () => {
  const cases: Array<{
    name: string;
    outcomes: Step[];
    thresholds?: Partial<Thresholds>;
    states: CheckState[];
  }> = [
    {
      name: 'marks unhealthy after 3 consecutive failures, pending before',
      outcomes: [p, f, f, f],
      states: ['healthy', 'pending', 'pending', 'unhealthy'],
    },
    {
      name: 'a pass from pending ends the blip; the count starts again',
      outcomes: [f, f, p, f, f, f],
      states: ['pending', 'pending', 'healthy', 'pending', 'pending', 'unhealthy'],
    },
    {
      name: 'the first pass from unknown is healthy whatever successThreshold says',
      outcomes: [p],
      thresholds: { successThreshold: 3 },
      states: ['healthy'],
    },
    {
      name: 'recovery from unhealthy needs successThreshold consecutive passes',
      outcomes: [f, f, f, p, p],
      thresholds: { successThreshold: 2 },
      states: ['pending', 'pending', 'unhealthy', 'unhealthy', 'healthy'],
    },
    {
      name: 'a failure during recovery restarts the success count',
      outcomes: [f, f, f, p, f, p, p],
      thresholds: { successThreshold: 2 },
      states: ['pending', 'pending', 'unhealthy', 'unhealthy', 'unhealthy', 'unhealthy', 'healthy'],
    },
    {
      name: 'failureThreshold 1 goes straight to unhealthy, without pending',
      outcomes: [p, f, p],
      thresholds: { failureThreshold: 1 },
      states: ['healthy', 'unhealthy', 'healthy'],
    },
    {
      name: 'degradedThreshold consecutive degraded probes make it degraded; a pass recovers',
      outcomes: [p, d, d, d, p],
      states: ['healthy', 'healthy', 'healthy', 'degraded', 'healthy'],
    },
    {
      name: 'failures during degraded count toward unhealthy and keep it degraded until then',
      outcomes: [p, d, d, f, f, f],
      thresholds: { degradedThreshold: 2 },
      states: ['healthy', 'healthy', 'degraded', 'degraded', 'degraded', 'unhealthy'],
    },
    {
      name: 'failures do not hide slowness: slow answers alternating with timeouts end degraded',
      outcomes: [p, d, f, d, f, d],
      states: ['healthy', 'healthy', 'pending', 'healthy', 'pending', 'degraded'],
    },
    {
      name: 'a pass resets the degraded count',
      outcomes: [p, d, d, p, d, d],
      states: ['healthy', 'healthy', 'healthy', 'healthy', 'healthy', 'healthy'],
    },
    {
      name: 'recovery from degraded needs successThreshold passes',
      outcomes: [d, d, d, p, p],
      thresholds: { successThreshold: 2 },
      states: ['healthy', 'healthy', 'degraded', 'degraded', 'healthy'],
    },
    {
      name: 'an unhealthy endpoint that comes back slow becomes degraded after degradedThreshold',
      outcomes: [f, f, f, d, d, d],
      states: ['pending', 'pending', 'unhealthy', 'unhealthy', 'unhealthy', 'degraded'],
    },
    {
      name: 'a degraded answer from pending ends the blip like a pass',
      outcomes: [p, f, d],
      states: ['healthy', 'pending', 'healthy'],
    },
    {
      name: 'a degraded first probe is healthy until degradation is confirmed',
      outcomes: [d],
      states: ['healthy'],
    },
    {
      name: 'failures beyond the threshold keep it unhealthy',
      outcomes: [f, f, f, f, f],
      states: ['pending', 'pending', 'unhealthy', 'unhealthy', 'unhealthy'],
    },
  ];

  it.each(cases)('$name', ({ outcomes, thresholds, states }) => {
    expect(run(outcomes, { ...BASE, ...thresholds }).states).toEqual(states);
  });

  it('emits exactly one transition per state change, with from, to and the result time', () => {
    const { transitions } = run([f, f, p, f, f, f]);
    expect(transitions.map((t) => [t.from, t.to, t.at])).toEqual([
      ['unknown', 'pending', atOf(0)],
      ['pending', 'healthy', atOf(2)],
      ['healthy', 'pending', atOf(3)],
      ['pending', 'unhealthy', atOf(5)],
    ]);
    expect(transitions.every((t) => t.checkId === CHECK && t.region === REGION)).toBe(true);
  });

  it('keeps `since` at the time the state was entered', () => {
    const { state } = run([p, f, f, f, f]);
    expect(state.state).toBe('unhealthy');
    expect(state.since).toBe(atOf(3));
  });
});

describe('evaluate: reasons and cited results', () => {
  it.each<{ outcomes: Step[]; thresholds?: Partial<Thresholds>; reason: string }>([
    { outcomes: [p, f, f, f], reason: '3 consecutive failures: TIMEOUT: timed out after 2000 ms' },
    { outcomes: [p, f], reason: '1 failure, confirming (unhealthy at 3): TIMEOUT: timed out after 2000 ms' },
    { outcomes: [f, f, f, p], reason: 'recovered after 1 success' },
    {
      outcomes: [f, f, f, p, p],
      thresholds: { successThreshold: 2 },
      reason: 'recovered after 2 consecutive successes',
    },
    {
      outcomes: [p, d, d],
      thresholds: { degradedThreshold: 2 },
      reason: '2 consecutive degraded probes: latency 212 ms ≥ degraded threshold 150 ms',
    },
    {
      outcomes: [p, d, f, d],
      thresholds: { degradedThreshold: 2 },
      reason: '2 degraded probes since the last pass: latency 212 ms ≥ degraded threshold 150 ms',
    },
    { outcomes: [p], reason: 'first probe passed' },
    { outcomes: [p, f, f, p], reason: 'failure not confirmed: passed after 2 failures' },
  ])('says "$reason"', ({ outcomes, thresholds, reason }) => {
    const { transitions } = run(outcomes, { ...BASE, ...thresholds });
    expect(transitions.at(-1)?.reason).toBe(reason);
  });

  it('cites the failing streak that caused unhealthy', () => {
    const { transitions } = run([p, d, f, f, f]);
    const unhealthy = transitions.at(-1);
    expect(unhealthy?.to).toBe('unhealthy');
    expect(unhealthy?.results.map((r) => r.startedAt)).toEqual([2, 3, 4].map((i) => T0 + i * PERIOD_MS));
  });

  it(`bounds the cited results to the last ${STREAK_LIMIT}`, () => {
    const outcomes: Step[] = Array.from({ length: 15 }, () => f);
    const { transitions, state } = run(outcomes, { ...BASE, failureThreshold: 15 });
    const results = transitions.at(-1)?.results ?? [];
    expect(results).toHaveLength(STREAK_LIMIT);
    expect(results.at(-1)?.startedAt).toBe(T0 + 14 * PERIOD_MS);
    expect(state.streak).toHaveLength(STREAK_LIMIT);
  });

  it('keeps a passing streak no longer than successThreshold (a healthy state stays small)', () => {
    const passes: Step[] = Array.from({ length: 15 }, () => p);
    expect(run(passes).state.streak).toHaveLength(1);
    const recovery = run([f, f, f, p, p, p, p, p], { ...BASE, successThreshold: 3 });
    expect(recovery.state.streak).toHaveLength(3);
    const recovered = recovery.transitions.at(-1);
    expect(recovered?.to).toBe('healthy');
    expect(recovered?.results.map((r) => r.startedAt)).toEqual([3, 4, 5].map((i) => T0 + i * PERIOD_MS));
  });

  it('describes a result by its error, else its failed assertions, else its status', () => {
    expect(describeResult(result('fail', 0))).toBe('TIMEOUT: timed out after 2000 ms');
    const failures = ['a', 'b', 'c', 'd'].map((m) => ({
      assertion: 'outputs',
      expected: 1,
      actual: 2,
      message: m,
    }));
    expect(describeResult(result('fail', 0, { error: undefined, failures }))).toBe('a; b; c (+1 more)');
    expect(describeResult(result('fail', 0, { error: undefined, httpStatus: 503 }))).toBe('HTTP 503');
  });
});

describe('evaluate: startup grace', () => {
  const grace = { ...BASE, startupGraceMs: 30_000 };

  it('keeps a never-passed check pending during the grace, unhealthy at the first probe past it', () => {
    // Probes end at 0.1 s, 10.1 s, 20.1 s, 30.1 s after the first start: the grace ends before the 4th.
    const { states, transitions } = run([f, f, f, f], grace);
    expect(states).toEqual(['pending', 'pending', 'pending', 'unhealthy']);
    expect(transitions.at(-1)?.reason).toBe(
      '4 consecutive failures, startup grace of 30000 ms over: TIMEOUT: timed out after 2000 ms',
    );
    expect(transitions[0]?.reason).toBe(
      '1 failure within startup grace of 30000 ms: TIMEOUT: timed out after 2000 ms',
    );
  });

  it('ends the grace with the first pass', () => {
    expect(run([p, f, f, f], grace).states).toEqual(['healthy', 'pending', 'pending', 'unhealthy']);
  });

  it('ends the grace with the first degraded answer', () => {
    expect(run([d, f, f, f], grace).states).toEqual(['healthy', 'pending', 'pending', 'unhealthy']);
  });

  it('counts the grace from the first probe, not from the first failure', () => {
    const state: EvalState = { ...initialState(CHECK, REGION), firstSeenAt: T0 - 25_000 };
    // Ends 25.1 s after the first probe started: still in the 30 s grace.
    expect(evaluate(state, result('fail', 0), { ...grace, failureThreshold: 1 }).state.state).toBe('pending');
    // 35.1 s after: over.
    const later = evaluate(state, result('fail', 1), { ...grace, failureThreshold: 1 });
    expect(later.state.state).toBe('unhealthy');
  });
});

describe('evaluate: flapping', () => {
  const flappy = { ...BASE, flapTransitions: 4, flapWindowMs: 60_000 };

  it('starts flapping when the window holds flapTransitions transitions and stops when it holds fewer', () => {
    const { evaluations } = run([p, f, p, f, p, p, p, p, p], flappy);
    const flaps = evaluations.flatMap((e, i) => (e.flap ? [{ i, ...e.flap }] : []));
    expect(flaps).toEqual([
      { i: 3, checkId: CHECK, region: REGION, flapping: true, at: atOf(3), transitionsInWindow: 4 },
      // At 70.1 s the window (60 s) no longer holds the transitions at 0.1 s and 10.1 s: 3 remain.
      { i: 7, checkId: CHECK, region: REGION, flapping: false, at: atOf(7), transitionsInWindow: 3 },
    ]);
    expect(evaluations.map((e) => e.state.flapping)).toEqual([
      false,
      false,
      false,
      true,
      true,
      true,
      true,
      false,
      false,
    ]);
  });

  it('keeps only the transitions within the window', () => {
    const { state } = run([p, f, p, p, p, p, p, p, p, p], flappy);
    expect(state.recentTransitions).toEqual([]);
    const mid = run([p, f, p, p, p, p, p], flappy).state;
    expect(mid.recentTransitions).toEqual([atOf(1), atOf(2)]);
  });

  it('never flaps with flapTransitions 0', () => {
    const { evaluations } = run([p, f, p, f, p, f, p, f], { ...flappy, flapTransitions: 0 });
    expect(evaluations.some((e) => e.flap || e.state.flapping)).toBe(false);
  });
});

describe('isMaterialChange', () => {
  /** Every sequence of `length` outcomes. */
  function* sequences(length: number): Generator<Step[]> {
    if (length === 0) {
      yield [];
      return;
    }
    for (const rest of sequences(length - 1)) for (const o of [p, f, d] as const) yield [...rest, o];
  }

  /** What a run decides from `state` on: states, flapping, transitions and flap events (reasons aside). */
  function decisions(
    state: EvalState,
    outcomes: readonly Step[],
    from: number,
    thresholds: Thresholds,
  ): string {
    let out = '';
    for (let i = from; i < outcomes.length; i++) {
      const e = evaluate(state, result(outcomes[i] as Step, i), thresholds);
      state = e.state;
      out += `${state.state}${state.flapping ? '~' : ''}${e.transition ? `@${e.transition.at}` : ''}${e.flap ? `!${e.flap.at}` : ''} `;
    }
    return out;
  }

  /** Run after every sequence, so that a crash late in it is followed by enough probes to differ. */
  const TAIL: Step[] = [p, p, p, f, f, f, d, d, d, p, p, p];

  it.each<[string, Thresholds]>([
    ['Kubernetes defaults', BASE],
    ['thresholds of 3', { ...BASE, successThreshold: 3 }],
    ['thresholds of 2', { ...BASE, failureThreshold: 2, successThreshold: 2, degradedThreshold: 2 }],
    ['a startup grace', { ...BASE, startupGraceMs: 30_000 }],
    ['flap detection', { ...BASE, flapTransitions: 3, flapWindowMs: 60_000 }],
  ])(
    'a check resumed from its last material state decides as if it had not stopped (%s)',
    (_, thresholds) => {
      const mismatches: string[] = [];
      let crashes = 0;
      for (const sequence of sequences(7)) {
        const outcomes = [...sequence, ...TAIL];
        // The live run, and what the store holds after each probe if only material steps are written.
        let live = initialState(CHECK, REGION);
        let stored = live;
        for (const [i, outcome] of sequence.entries()) {
          const next = evaluate(live, result(outcome, i), thresholds).state;
          if (isMaterialChange(live, next, thresholds)) stored = next;
          live = next;
          // A crash now: the rest of the run from the stored state decides exactly what the live one does.
          const resumed = decisions(stored, outcomes, i + 1, thresholds);
          const uninterrupted = decisions(live, outcomes, i + 1, thresholds);
          if (resumed !== uninterrupted)
            mismatches.push(`${sequence.join(' ')}, crash after ${i + 1}: ${resumed}`);
          crashes++;
        }
      }
      expect(mismatches.slice(0, 3)).toEqual([]);
      expect(crashes).toBe(3 ** 7 * 7);
    },
  );

  it('is false for a healthy check that keeps passing, and for counts past their thresholds', () => {
    const healthy = run([p, p]).state;
    expect(isMaterialChange(healthy, evaluate(healthy, result(p, 2), BASE).state, BASE)).toBe(false);
    const down = run([f, f, f]).state;
    expect(down.state).toBe('unhealthy');
    expect(isMaterialChange(down, evaluate(down, result(f, 3), BASE).state, BASE)).toBe(false);
  });

  it('is true for a transition, and for a count below its threshold', () => {
    const healthy = run([p]).state;
    expect(isMaterialChange(healthy, evaluate(healthy, result(f, 1), BASE).state, BASE)).toBe(true);
    const pending = run([p, f]).state;
    const second = evaluate(pending, result(f, 2), BASE).state;
    expect([second.state, second.consecutiveFailures]).toEqual(['pending', 2]);
    expect(isMaterialChange(pending, second, BASE)).toBe(true);
  });
});

describe('evaluate: purity', () => {
  function deepFreeze<T>(value: T): T {
    if (value && typeof value === 'object') {
      for (const v of Object.values(value)) deepFreeze(v);
      Object.freeze(value);
    }
    return value;
  }

  it('does not modify its inputs (they may be frozen)', () => {
    let state = initialState(CHECK, REGION);
    const outcomes: Step[] = [p, f, f, f, d, d, d, p, f, p];
    for (const [i, outcome] of outcomes.entries()) {
      const input = deepFreeze(state);
      const r = deepFreeze(result(outcome, i));
      const snapshot = structuredClone(input);
      const thresholds = deepFreeze({ ...BASE, flapTransitions: 3 });
      state = evaluate(input, r, thresholds).state;
      expect(input).toEqual(snapshot);
      expect(state).not.toBe(input);
    }
  });

  it('gives the same output for the same input', () => {
    const { state } = run([p, f, f]);
    const r = result('fail', 3);
    expect(evaluate(state, r, BASE)).toEqual(evaluate(state, r, BASE));
  });

  it('rejects a result of another check or region', () => {
    const state = initialState(CHECK, REGION);
    expect(() => evaluate(state, { ...result('pass', 0), region: 'us-east' }, BASE)).toThrow(
      expect.objectContaining({ code: 'VIGIL_ERR_EVALUATE_MISMATCH' }),
    );
  });
});

describe('stale: markStale and resuming', () => {
  /** Runs `before`, goes stale between probe `before.length - 1` and the next, then runs `after`. */
  function withGap(before: readonly Step[], after: readonly Step[], thresholds: Thresholds = BASE) {
    const first = run(before, thresholds);
    const staleAt = atOf(before.length) - 1;
    const marked = markStale(first.state, staleAt, 'no result for 25.0 s');
    let state = marked.state;
    const states: CheckState[] = [state.state];
    const transitions: Transition[] = marked.transition ? [marked.transition] : [];
    for (const [j, outcome] of after.entries()) {
      const evaluation = evaluate(state, result(outcome, before.length + 1 + j), thresholds);
      state = evaluation.state;
      states.push(state.state);
      if (evaluation.transition) transitions.push(evaluation.transition);
    }
    return { before: first.state, marked, state, states, transitions, staleAt };
  }

  it('goes stale from any state, keeping the state it was in and since when, with no results cited', () => {
    for (const steps of [[], [p], [f], [f, f, f], [d, d, d]] as Step[][]) {
      const { before, marked, staleAt } = withGap(steps, []);
      expect(marked.state).toMatchObject({
        state: 'stale',
        since: staleAt,
        lastKnown: { state: before.state, since: before.since },
        consecutiveFailures: before.consecutiveFailures,
        lastResult: before.lastResult,
      });
      expect(marked.transition).toEqual({
        checkId: CHECK,
        region: REGION,
        from: before.state,
        to: 'stale',
        at: staleAt,
        reason: 'no result for 25.0 s',
        results: [],
        lastKnown: before.state,
      });
    }
  });

  it('stays stale without another transition when marked again', () => {
    const { marked } = withGap([p], []);
    expect(markStale(marked.state, atOf(9), 'again')).toEqual({ state: marked.state });
  });

  // From the state last known, as if the gap had not been there: the counts carry over.
  it.each<[string, Step[], Step[], CheckState[]]>([
    ['healthy, then a pass: healthy again', [p], [p], ['stale', 'healthy']],
    ['healthy, then a failure: pending', [p], [f], ['stale', 'pending']],
    ['pending (2 failures), then a third: unhealthy', [f, f], [f], ['stale', 'unhealthy']],
    ['unhealthy, then a failure: unhealthy', [f, f, f], [f], ['stale', 'unhealthy']],
    ['unhealthy, then a pass: healthy', [f, f, f], [p], ['stale', 'healthy']],
    ['unknown, then a pass: healthy', [], [p], ['stale', 'healthy']],
    ['degraded, then degraded: degraded', [d, d, d], [d], ['stale', 'degraded']],
  ])('resumes %s', (_name, before, after, states) => {
    expect(withGap(before, after).states).toEqual(states);
  });

  it('leaves stale with one transition that says what it resumed from; an unchanged state keeps its since', () => {
    const { before, transitions, state } = withGap([f, f, f], [f]);
    expect(transitions.map((t) => [t.from, t.to, t.lastKnown])).toEqual([
      ['unhealthy', 'stale', 'unhealthy'],
      ['stale', 'unhealthy', 'unhealthy'],
    ]);
    expect(transitions[1]?.reason).toMatch(
      /^results arrive again after \d+ s stale: 4 consecutive failures: TIMEOUT/,
    );
    expect(state.since).toBe(before.since);
    expect(state.lastKnown).toBeUndefined();
    const recovered = withGap([f, f, f], [p]);
    expect(recovered.transitions[1]).toMatchObject({ from: 'stale', to: 'healthy', lastKnown: 'unhealthy' });
    expect(recovered.state.since).toBe(atOf(4));
    const same = withGap([p], [p]).transitions[1];
    expect(same?.reason).toMatch(/: healthy as before, pass$/);
  });

  it('does not count going stale or coming back toward flapping', () => {
    const thresholds = { ...BASE, flapTransitions: 2 };
    let state = run([p], thresholds).state;
    for (let i = 1; i < 6; i++) {
      state = markStale(state, atOf(i) - 1, 'gap').state;
      const evaluation = evaluate(state, result('pass', i), thresholds);
      expect(evaluation.flap).toBeUndefined();
      state = evaluation.state;
    }
    expect(state.flapping).toBe(false);
    expect(state.recentTransitions).toEqual([atOf(0)]);
  });
});

describe('severityOf', () => {
  it.each<[CheckState, string | null]>([
    ['unknown', null],
    ['healthy', null],
    ['pending', 'info'],
    ['degraded', 'warning'],
    ['unhealthy', 'critical'],
    ['stale', 'warning'],
  ])('%s → %s', (state, severity) => {
    expect(severityOf(state)).toBe(severity);
  });
});

describe('defaultThresholds', () => {
  const plan = { failureThreshold: 3, successThreshold: 1, intervalMs: 10_000 };

  it('takes the plan thresholds, degraded like failures, a 10-minute window, 6 transitions, no grace', () => {
    expect(defaultThresholds(plan)).toEqual({
      failureThreshold: 3,
      successThreshold: 1,
      degradedThreshold: 3,
      flapWindowMs: 600_000,
      flapTransitions: 6,
      startupGraceMs: 0,
    });
  });

  it('widens the flap window to 21 intervals for slow checks', () => {
    expect(defaultThresholds({ ...plan, intervalMs: 300_000 }).flapWindowMs).toBe(21 * 300_000);
  });

  it('derives degradedThreshold from an overridden failureThreshold', () => {
    const t = defaultThresholds(plan, { failureThreshold: 5, startupGraceMs: 60_000 });
    expect(t).toMatchObject({ failureThreshold: 5, degradedThreshold: 5, startupGraceMs: 60_000 });
  });

  it('rejects thresholds the evaluator cannot apply, naming each', () => {
    expect(() => defaultThresholds({ ...plan, failureThreshold: 0 }, { flapWindowMs: -1 })).toThrow(
      expect.objectContaining({
        code: 'VIGIL_ERR_EVALUATE_THRESHOLDS',
        message: expect.stringMatching(/failureThreshold must be a positive integer, got 0.*flapWindowMs/),
      }),
    );
  });
});
