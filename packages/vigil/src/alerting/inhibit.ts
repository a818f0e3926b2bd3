/**
 * Inhibition: one root cause, one page. A dead process fails every other check of its target, so while a
 * target's liveness alert fires in a region, the readiness, integrity and canary alerts of that target and
 * region are not notified. Expressed as Alertmanager `inhibit_rules`:
 *
 * ```yaml
 * inhibit_rules:
 *   - source_matchers: [alertname="VigilCheckUnhealthy", check="liveness"]
 *     target_matchers: [alertname=~"VigilCheck(Unhealthy|Degraded|Flapping)", check=~"readiness|integrity|canary"]
 *     equal: [target, region]
 * ```
 *
 * Two more rules for checks probed from several regions: `VigilCheckGlobal` inhibits the same check's
 * `VigilCheckRegional` alerts (a global failure pages once), and `VigilAgentDown` inhibits every check
 * alert of its region (an agent that stopped reporting is one alert, not one per model behind it).
 *
 * Degraded and flapping alerts of the other checks are suppressed too: with the process down they say
 * nothing new. As in Alertmanager, only a firing source inhibits, and inhibition is evaluated each time
 * a group is flushed, so once liveness resolves the suppressed alerts still firing are notified at their
 * group's next flush.
 */
import type { SilenceMatcher } from '../store/types.js';
import { ALERT_NAMES, REGION_ALERT_NAMES } from './alerts.js';
import { matchersMatch } from './silences.js';
import type { Alert } from './types.js';

/** One inhibit rule (Alertmanager's `inhibit_rules` entry). */
export interface InhibitRule {
  source: readonly SilenceMatcher[];
  target: readonly SilenceMatcher[];
  /** Labels that must have equal values in source and target. */
  equal: readonly string[];
}

/** Vigil's rule; see the module comment. */
export const INHIBIT_RULES: readonly InhibitRule[] = [
  {
    source: [
      { label: 'alertname', value: ALERT_NAMES.unhealthy },
      { label: 'check', value: 'liveness' },
    ],
    target: [
      { label: 'alertname', value: 'VigilCheck(?:Unhealthy|Degraded|Flapping)', isRegex: true },
      { label: 'check', value: 'readiness|integrity|canary', isRegex: true },
    ],
    equal: ['target', 'region'],
  },
  // A global failure pages once: its regional alerts say nothing more.
  {
    source: [{ label: 'alertname', value: REGION_ALERT_NAMES.global }],
    target: [{ label: 'alertname', value: REGION_ALERT_NAMES.regional }],
    equal: ['target', 'check'],
  },
  // An agent that stopped reporting: the alerts of the checks it ran in its region are inhibited.
  {
    source: [{ label: 'alertname', value: REGION_ALERT_NAMES.agentDown }],
    target: [
      {
        label: 'alertname',
        value: 'VigilCheck(?:Unhealthy|Degraded|Flapping|Stale|Regional)',
        isRegex: true,
      },
    ],
    equal: ['region'],
  },
];

/**
 * The firing alert that inhibits `alert` (its root cause), or `undefined`. An alert never inhibits
 * itself.
 *
 * @param firing every alert currently known to the dispatcher (non-firing ones are ignored)
 */
export function inhibitedBy(
  alert: Pick<Alert, 'labels' | 'fingerprint'>,
  firing: Iterable<Alert>,
  rules: readonly InhibitRule[] = INHIBIT_RULES,
): Alert | undefined {
  const applicable = rules.filter((r) => matchersMatch(r.target, alert.labels));
  if (applicable.length === 0) return undefined;
  for (const source of firing) {
    if (source.status !== 'firing' || source.fingerprint === alert.fingerprint) continue;
    for (const rule of applicable) {
      if (
        matchersMatch(rule.source, source.labels) &&
        rule.equal.every((l) => (source.labels[l] ?? '') === (alert.labels[l] ?? ''))
      ) {
        return source;
      }
    }
  }
  return undefined;
}

/** Whether a firing alert among `firing` inhibits `alert` (see {@link inhibitedBy}). */
export function isInhibited(
  alert: Pick<Alert, 'labels' | 'fingerprint'>,
  firing: Iterable<Alert>,
  rules: readonly InhibitRule[] = INHIBIT_RULES,
): boolean {
  return inhibitedBy(alert, firing, rules) !== undefined;
}
