import { describe, expect, it } from 'vitest';
import type { CheckState } from '../types.js';
import { alertsFromFlap, alertsFromState, alertsFromTransition, fingerprintOf } from './alerts.js';
import { plan, transition } from './fixtures/support.js';

const T = 1_700_000_000_000;

describe('alertsFromTransition', () => {
  const cases: Array<[CheckState, CheckState, string[]]> = [
    ['healthy', 'pending', []],
    ['pending', 'healthy', []],
    ['unknown', 'healthy', []],
    ['pending', 'unhealthy', ['firing VigilCheckUnhealthy critical']],
    ['unhealthy', 'healthy', ['resolved VigilCheckUnhealthy critical']],
    ['healthy', 'degraded', ['firing VigilCheckDegraded warning']],
    ['degraded', 'healthy', ['resolved VigilCheckDegraded warning']],
    ['degraded', 'unhealthy', ['resolved VigilCheckDegraded warning', 'firing VigilCheckUnhealthy critical']],
    ['unhealthy', 'degraded', ['resolved VigilCheckUnhealthy critical', 'firing VigilCheckDegraded warning']],
    ['unhealthy', 'unknown', ['resolved VigilCheckUnhealthy critical']],
  ];
  it.each(cases)('%s → %s gives %j', (from, to, expected) => {
    const alerts = alertsFromTransition(transition(plan(), from, to, T), plan());
    expect(alerts.map((a) => `${a.status} ${a.labels.alertname} ${a.labels.severity}`)).toEqual(expected);
  });

  it('labels the alert with the check, the target and its labels, and cites the reason', () => {
    const [alert] = alertsFromTransition(
      transition(plan('integrity'), 'pending', 'unhealthy', T, 'eu'),
      plan('integrity'),
      {
        externalUrl: 'https://vigil.example.com/',
      },
    );
    expect(alert).toMatchObject({
      status: 'firing',
      labels: {
        alertname: 'VigilCheckUnhealthy',
        severity: 'critical',
        target: 'credit-scorer',
        check: 'integrity',
        region: 'eu',
        model: 'credit-scorer',
        team: 'risk',
      },
      annotations: {
        summary: 'credit-scorer/integrity is unhealthy in eu',
        description: 'pending → unhealthy for the test',
      },
      startsAt: T,
      endsAt: null,
      generatorURL: 'https://vigil.example.com/api/v1/checks/credit-scorer%2Fintegrity/results',
    });
    expect(alert?.fingerprint).toMatch(/^[0-9a-f]{32}$/);
  });

  it('gives the firing and the resolved alert the same fingerprint, and other checks another', () => {
    const p = plan();
    const [fired] = alertsFromTransition(transition(p, 'pending', 'unhealthy', T), p);
    const [resolved] = alertsFromTransition(transition(p, 'unhealthy', 'healthy', T + 60_000), p, {
      since: T,
    });
    expect(resolved?.fingerprint).toBe(fired?.fingerprint);
    expect(resolved).toMatchObject({ startsAt: T, endsAt: T + 60_000 });
    const [other] = alertsFromTransition(
      transition(plan('readiness'), 'pending', 'unhealthy', T),
      plan('readiness'),
    );
    expect(other?.fingerprint).not.toBe(fired?.fingerprint);
  });

  it('does not let target labels override Vigil labels', () => {
    const p = plan();
    p.target.labels = { severity: 'info', alertname: 'x', team: 'risk' };
    const [alert] = alertsFromTransition(transition(p, 'pending', 'unhealthy', T), p);
    expect(alert?.labels).toMatchObject({ severity: 'critical', alertname: 'VigilCheckUnhealthy' });
  });
});

describe('alertsFromTransition: stale looks through to the state last known', () => {
  const shown = (alerts: ReturnType<typeof alertsFromTransition>) =>
    alerts.map((a) => `${a.status} ${a.labels.alertname} ${a.labels.severity}`);
  const cases: Array<[CheckState, CheckState, CheckState, string[]]> = [
    // [from, to, lastKnown]
    ['healthy', 'stale', 'healthy', ['firing VigilCheckStale warning']],
    ['unhealthy', 'stale', 'unhealthy', ['firing VigilCheckStale warning']],
    ['stale', 'healthy', 'healthy', ['resolved VigilCheckStale warning']],
    ['stale', 'unhealthy', 'unhealthy', ['resolved VigilCheckStale warning']],
    [
      'stale',
      'healthy',
      'unhealthy',
      ['resolved VigilCheckStale warning', 'resolved VigilCheckUnhealthy critical'],
    ],
    [
      'stale',
      'unhealthy',
      'pending',
      ['resolved VigilCheckStale warning', 'firing VigilCheckUnhealthy critical'],
    ],
    [
      'stale',
      'unhealthy',
      'degraded',
      [
        'resolved VigilCheckStale warning',
        'resolved VigilCheckDegraded warning',
        'firing VigilCheckUnhealthy critical',
      ],
    ],
  ];
  it.each(cases)('%s → %s (last known %s) gives %j', (from, to, lastKnown, expected) => {
    const t = { ...transition(plan(), from, to, T), lastKnown: lastKnown as Exclude<CheckState, 'stale'> };
    expect(shown(alertsFromTransition(t, plan()))).toEqual(expected);
  });

  it('says in the stale alert that results stopped, with the watchdog reason', () => {
    const t = {
      ...transition(plan(), 'healthy', 'stale', T),
      lastKnown: 'healthy' as const,
      reason: 'no result for 25.0 s',
    };
    expect(alertsFromTransition(t, plan())[0]).toMatchObject({
      annotations: {
        summary: 'credit-scorer/liveness is stale in local: its results stopped arriving',
        description: 'no result for 25.0 s',
      },
      startsAt: T,
    });
  });
});

describe('fingerprintOf', () => {
  it('ignores label order', () => {
    expect(fingerprintOf({ a: '1', b: '2' })).toBe(fingerprintOf({ b: '2', a: '1' }));
    expect(fingerprintOf({ a: '1', b: '2' })).not.toBe(fingerprintOf({ a: '12' }));
  });
});

describe('alertsFromFlap', () => {
  it('fires and resolves VigilCheckFlapping as a warning', () => {
    const event = {
      checkId: 'credit-scorer/liveness',
      region: 'local',
      flapping: true,
      at: T,
      transitionsInWindow: 6,
    };
    const [fired] = alertsFromFlap(event, plan());
    const [stopped] = alertsFromFlap({ ...event, flapping: false, at: T + 1 }, plan());
    expect(fired).toMatchObject({
      status: 'firing',
      labels: { alertname: 'VigilCheckFlapping', severity: 'warning' },
    });
    expect(stopped).toMatchObject({ status: 'resolved', endsAt: T + 1, fingerprint: fired?.fingerprint });
  });
});

describe('alertsFromState', () => {
  it('rebuilds the firing alert with the transition time as startsAt', () => {
    const p = plan();
    const [fromTransition] = alertsFromTransition(transition(p, 'pending', 'unhealthy', T), p);
    const rebuilt = alertsFromState(
      {
        checkId: p.id,
        region: 'local',
        state: 'unhealthy',
        since: T,
        consecutiveFailures: 3,
        consecutiveSuccesses: 0,
        consecutiveDegraded: 0,
        firstSeenAt: T - 1000,
        hasPassed: true,
        recentTransitions: [],
        flapping: false,
        streak: [],
        lastResult: null,
      },
      p,
    );
    expect(rebuilt.map((a) => [a.fingerprint, a.status, a.startsAt])).toEqual([
      [fromTransition?.fingerprint, 'firing', T],
    ]);
  });

  it('rebuilds a stale check: VigilCheckStale and, still, the alert of the state last known', () => {
    const p = plan();
    const [unhealthy] = alertsFromTransition(transition(p, 'pending', 'unhealthy', T), p);
    const rebuilt = alertsFromState(
      {
        checkId: p.id,
        region: 'local',
        state: 'stale',
        since: T + 60_000,
        lastKnown: { state: 'unhealthy', since: T },
        consecutiveFailures: 3,
        consecutiveSuccesses: 0,
        consecutiveDegraded: 0,
        firstSeenAt: T - 1000,
        hasPassed: true,
        recentTransitions: [],
        flapping: false,
        streak: [],
        lastResult: null,
      },
      p,
    );
    expect(rebuilt.map((a) => [a.labels.alertname, a.status, a.startsAt])).toEqual([
      ['VigilCheckStale', 'firing', T + 60_000],
      ['VigilCheckUnhealthy', 'firing', T],
    ]);
    expect(rebuilt[1]?.fingerprint).toBe(unhealthy?.fingerprint);
  });
});
