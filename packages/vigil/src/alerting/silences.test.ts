import { describe, expect, it } from 'vitest';
import type { Silence } from '../store/types.js';
import { inMaintenance, isSilenced, type MaintenanceWindow, matcherMatches } from './silences.js';

const labels = { alertname: 'VigilCheckUnhealthy', target: 'credit-scorer', check: 'liveness', region: 'eu' };

describe('matcherMatches', () => {
  it.each([
    [{ label: 'target', value: 'credit-scorer' }, true],
    [{ label: 'target', value: 'credit' }, false],
    [{ label: 'target', value: 'credit-.*', isRegex: true }, true],
    [{ label: 'target', value: 'scorer', isRegex: true }, false],
    [{ label: 'target', value: 'credit|fraud', isRegex: true }, false],
    [{ label: 'target', value: 'credit-scorer|fraud', isRegex: true }, true],
    [{ label: 'missing', value: '' }, true],
    [{ label: 'missing', value: '.+', isRegex: true }, false],
    [{ label: 'target', value: '(?i)CREDIT-.*', isRegex: true }, true],
  ])('%j matches: %s (regexes anchored, a missing label is "")', (matcher, expected) => {
    expect(matcherMatches(matcher, labels)).toBe(expected);
  });

  it('matches nothing with a pattern RE2 cannot run (one stored before matching used RE2), never throws', () => {
    expect(matcherMatches({ label: 'target', value: '(?!fraud).*', isRegex: true }, labels)).toBe(false);
    expect(matcherMatches({ label: 'target', value: '(', isRegex: true }, labels)).toBe(false);
  });
});

describe('isSilenced', () => {
  const silence: Silence = {
    id: 's1',
    matchers: [
      { label: 'target', value: 'credit-scorer' },
      { label: 'region', value: 'eu|us', isRegex: true },
    ],
    startsAt: 1000,
    endsAt: 2000,
    createdBy: 'ops',
    comment: 'deploy',
  };
  it('mutes from startsAt (inclusive) to endsAt (exclusive)', () => {
    expect([999, 1000, 1999, 2000].map((now) => isSilenced({ labels }, [silence], now))).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });
  it('needs every matcher to match', () => {
    expect(isSilenced({ labels: { ...labels, region: 'ap' } }, [silence], 1500)).toBe(false);
  });
});

describe('inMaintenance', () => {
  // 2024-01-05 is a Friday.
  const friday = Date.UTC(2024, 0, 5);
  const window: MaintenanceWindow = {
    matchers: [{ label: 'target', value: 'credit-scorer' }],
    weekdays: ['fri'],
    start: '22:00',
    duration: '6h',
    timezone: 'UTC',
  };
  const at = (dayOffset: number, h: number, m = 0) => friday + dayOffset * 86_400_000 + (h * 60 + m) * 60_000;
  it.each([
    ['Friday 21:59', at(0, 21, 59), false],
    ['Friday 22:00', at(0, 22), true],
    ['Saturday 03:59 (past midnight)', at(1, 3, 59), true],
    ['Saturday 04:00', at(1, 4), false],
    ['Thursday 23:00', at(-1, 23), false],
    ['next Friday 23:00', at(7, 23), true],
  ])('%s: %s', (_name, now, expected) => {
    expect(inMaintenance({ labels }, [window], now)).toBe(expected);
  });
  it('ignores alerts its matchers do not match', () => {
    expect(inMaintenance({ labels: { ...labels, target: 'fraud' } }, [window], at(0, 23))).toBe(false);
  });
});
