import { describe, expect, it } from 'vitest';
import { agentDownAlert, alertsFromVerdict, type RegionVerdict } from './alerts.js';
import { plan } from './fixtures/support.js';
import { inhibitedBy } from './inhibit.js';

const T = 1_700_000_000_000;
const verdict = (state: RegionVerdict['state'], failing: string[]): RegionVerdict => ({
  state,
  failing,
  reporting: ['local', 'eu', 'us'],
  absent: [],
  since: T,
});

describe('regional and global alerts', () => {
  it('a regional failure is a warning per failing region, with its region label', () => {
    const alerts = alertsFromVerdict(plan('integrity'), verdict('regional', ['eu']));
    expect(alerts.map((a) => [a.labels.alertname, a.labels.severity, a.labels.region])).toEqual([
      ['VigilCheckRegional', 'warning', 'eu'],
    ]);
  });

  it('a global failure is critical and inhibits the regional ones of the same check', () => {
    const alerts = alertsFromVerdict(plan('integrity'), verdict('global', ['eu', 'us']));
    const global = alerts.find((a) => a.labels.alertname === 'VigilCheckGlobal');
    expect(global?.labels.severity).toBe('critical');
    for (const regional of alerts.filter((a) => a.labels.alertname === 'VigilCheckRegional'))
      expect(inhibitedBy(regional, alerts)).toBe(global);
    expect(inhibitedBy(global as NonNullable<typeof global>, alerts)).toBeUndefined();
  });

  it("an agent down inhibits its region's check alerts, not another region's", () => {
    const down = agentDownAlert('eu', 'firing', T, T);
    const [eu] = alertsFromVerdict(plan('integrity'), verdict('regional', ['eu']));
    const [us] = alertsFromVerdict(plan('integrity'), verdict('regional', ['us']));
    expect(inhibitedBy(eu as NonNullable<typeof eu>, [down])).toBe(down);
    expect(inhibitedBy(us as NonNullable<typeof us>, [down])).toBeUndefined();
  });
});
