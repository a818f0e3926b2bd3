/**
 * The checks of the dashboard benchmark (`dashboard-load.ts`, its hub `dashboard-hub.ts`): `http`
 * checks, three per target (liveness, readiness, integrity) at a 10 s interval over local endpoints,
 * labels `team`, `tier` and `zone` spread over the targets; 4% of the targets with an integrity check
 * that fails (unhealthy), 4% with a readiness check over its latency bound (degraded).
 */
import type { CheckKind, CheckPlan } from 'vigil-ml';
import { scaleCheckPlan } from './scale-plan.js';

/** Every check's interval, ms. */
export const INTERVAL_MS = 10_000;
/** The checks of each target, in order. */
export const KINDS: readonly CheckKind[] = ['liveness', 'readiness', 'integrity'];
const TEAMS = ['payments', 'search', 'ads', 'risk', 'growth', 'support'];
const TIERS = ['gold', 'silver', 'bronze'];
const ZONES = ['eu-west', 'us-east', 'ap-south', 'eu-north'];

/** Targets for `checks` checks. */
export const targetCount = (checks: number) => Math.ceil(checks / KINDS.length);

/**
 * `checks` checks over the endpoints' `ports` (target `t` on port `t mod ports`); every 25th target
 * has a failing integrity check, every 25th (offset) a slow readiness one.
 */
export function buildDashboardPlans(checks: number, ports: readonly number[]): CheckPlan[] {
  const plans: CheckPlan[] = [];
  for (let i = 0; i < checks; i++) {
    const t = Math.floor(i / KINDS.length);
    const kind = KINDS[i % KINDS.length] as CheckKind;
    const team = TEAMS[t % TEAMS.length] as string;
    const name = `${team}-model-${String(t).padStart(4, '0')}`;
    const failing = kind === 'integrity' && t % 25 === 3;
    const slow = kind === 'readiness' && t % 25 === 11;
    plans.push(
      scaleCheckPlan({
        name,
        port: ports[t % ports.length] as number,
        kind,
        intervalMs: INTERVAL_MS,
        model: `${team}-scorer`,
        labels: {
          team,
          tier: TIERS[Math.floor(t / TEAMS.length) % TIERS.length] as string,
          zone: ZONES[t % ZONES.length] as string,
        },
        // The endpoints answer 0.42: [0.5, 1] fails. Any latency is ≥ 0 ms: degraded.
        expect:
          kind === 'integrity'
            ? { outputs: { probability: { range: failing ? [0.5, 1] : [0, 1] } } }
            : slow
              ? { latency: { degradedMs: 0 } }
              : {},
      }),
    );
  }
  return plans;
}
