import { describe, expect, it } from 'vitest';
import { alertsFromTransition } from './alerts.js';
import { plan, transition } from './fixtures/support.js';
import { inhibitedBy } from './inhibit.js';
import type { Alert } from './types.js';

const T = 1_700_000_000_000;
const fire = (
  kind: Parameters<typeof plan>[0],
  region = 'local',
  target = 'credit-scorer',
  to: 'unhealthy' | 'degraded' = 'unhealthy',
) =>
  alertsFromTransition(
    transition(plan(kind, target), 'pending', to, T, region),
    plan(kind, target),
  )[0] as Alert;

describe('inhibitedBy', () => {
  const liveness = fire('liveness');
  it.each([
    ['readiness unhealthy, same target and region', fire('readiness'), true],
    ['integrity unhealthy', fire('integrity'), true],
    ['canary degraded', fire('canary', 'local', 'credit-scorer', 'degraded'), true],
    ['readiness in another region', fire('readiness', 'eu'), false],
    ['readiness of another target', fire('readiness', 'local', 'fraud'), false],
    ['liveness itself', liveness, false],
  ])('%s: %s', (_name, alert, expected) => {
    expect(inhibitedBy(alert, [liveness]) === liveness).toBe(expected);
  });

  it('needs the liveness alert to be firing and to be the unhealthy one', () => {
    const readiness = fire('readiness');
    expect(inhibitedBy(readiness, [{ ...liveness, status: 'resolved' }])).toBeUndefined();
    expect(inhibitedBy(readiness, [fire('liveness', 'local', 'credit-scorer', 'degraded')])).toBeUndefined();
  });
});
