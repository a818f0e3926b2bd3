import { describe, expect, it } from 'vitest';
import { inMaintenance, type MaintenanceWindow } from './silences.js';
import { localTime, type TimeInterval, timeIntervalActive, timeIntervalSchema } from './time-intervals.js';

const at = (iso: string) => Date.parse(iso);
const parse = (raw: unknown): TimeInterval => timeIntervalSchema.parse(raw);

/** Minutes of one UTC day during which `interval` is open. */
function openMinutes(interval: TimeInterval, utcDay: string): number {
  let open = 0;
  for (let m = 0; m < 24 * 60; m++)
    if (timeIntervalActive(interval, at(`${utcDay}T00:00:00Z`) + m * 60_000)) open++;
  return open;
}

describe('time_intervals (Alertmanager)', () => {
  it('parses Alertmanager’s field names, names and ranges', () => {
    expect(
      parse({
        times: [{ start_time: '02:00', end_time: '24:00' }],
        weekdays: ['monday:friday', 'sunday'],
        days_of_month: ['1:7', '-1'],
        months: ['january:march', 12],
        years: ['2026:2027'],
        location: 'Europe/Berlin',
      }),
    ).toEqual({
      times: [[120, 1440]],
      weekdays: [
        [1, 5],
        [0, 0],
      ],
      daysOfMonth: [
        [1, 7],
        [-1, -1],
      ],
      months: [
        [1, 3],
        [12, 12],
      ],
      years: [[2026, 2027]],
      location: 'Europe/Berlin',
    });
    expect(parse({})).toEqual({ location: 'UTC' });
  });

  it('reports every bad field with its path', () => {
    const result = timeIntervalSchema.safeParse({
      times: [{ start_time: '04:00', end_time: '02:00' }],
      weekdays: ['funday'],
      location: 'Mars/Olympus',
    });
    expect(result.success).toBe(false);
    const issues = result.error?.issues.map((i) => `${i.path.join('.')}: ${i.message}`) ?? [];
    expect(issues).toEqual(
      expect.arrayContaining([
        'weekdays.0: expected weekdays or a range "from:to" like "monday:friday", got "funday"',
        expect.stringMatching(/^location: expected an IANA time zone like "Europe\/Berlin"/),
      ]),
    );
  });

  it.each([
    // Saturday 2026-05-02 03:00 in Berlin (CEST, UTC+2) is 01:00 UTC.
    ['2026-05-02T01:00:00Z', true],
    ['2026-05-02T00:59:00Z', false],
    ['2026-05-02T02:00:00Z', false],
    // Sunday: not in weekdays.
    ['2026-05-03T01:30:00Z', false],
  ])('a Saturday 03:00–04:00 Berlin window at %s is open: %s', (iso, open) => {
    const interval = parse({
      weekdays: ['saturday'],
      times: [{ start_time: '03:00', end_time: '04:00' }],
      location: 'Europe/Berlin',
    });
    expect(timeIntervalActive(interval, at(iso))).toBe(open);
  });

  it('follows daylight saving in its zone: 09:00 Berlin is 08:00 UTC before the change and 07:00 after', () => {
    const interval = parse({
      times: [{ start_time: '09:00', end_time: '10:00' }],
      location: 'Europe/Berlin',
    });
    // Saturday 28 March 2026: CET (UTC+1). Clocks go forward on Sunday 29 March at 02:00.
    expect(timeIntervalActive(interval, at('2026-03-28T08:30:00Z'))).toBe(true);
    expect(timeIntervalActive(interval, at('2026-03-28T07:30:00Z'))).toBe(false);
    // Monday 30 March: CEST (UTC+2).
    expect(timeIntervalActive(interval, at('2026-03-30T07:30:00Z'))).toBe(true);
    expect(timeIntervalActive(interval, at('2026-03-30T08:30:00Z'))).toBe(false);
    // The same hour of wall-clock time each day, across the change.
    expect(openMinutes(interval, '2026-03-28')).toBe(60);
    expect(openMinutes(interval, '2026-03-29')).toBe(60);
  });

  it('is never open over the skipped hour of a spring-forward day, and open twice over the repeated hour of a fall-back day', () => {
    const interval = parse({
      times: [{ start_time: '02:00', end_time: '03:00' }],
      location: 'Europe/Berlin',
    });
    // 29 March 2026: 02:00–03:00 does not exist in Berlin.
    expect(openMinutes(interval, '2026-03-29')).toBe(0);
    expect(openMinutes(interval, '2026-03-22')).toBe(60);
    // 25 October 2026: 02:00–03:00 happens twice (CEST, then CET): 120 minutes of real time.
    expect(openMinutes(interval, '2026-10-25')).toBe(120);
    expect(timeIntervalActive(interval, at('2026-10-25T00:30:00Z'))).toBe(true);
    expect(timeIntervalActive(interval, at('2026-10-25T01:30:00Z'))).toBe(true);
  });

  it('reads negative days from the month’s end, months and years', () => {
    const lastDay = parse({ days_of_month: ['-1'], location: 'UTC' });
    expect(timeIntervalActive(lastDay, at('2028-02-29T12:00:00Z'))).toBe(true);
    expect(timeIntervalActive(lastDay, at('2027-02-28T12:00:00Z'))).toBe(true);
    expect(timeIntervalActive(lastDay, at('2028-02-28T12:00:00Z'))).toBe(false);
    const q1of2026 = parse({ months: ['january:march'], years: ['2026'] });
    expect(timeIntervalActive(q1of2026, at('2026-03-31T23:59:00Z'))).toBe(true);
    expect(timeIntervalActive(q1of2026, at('2026-04-01T00:00:00Z'))).toBe(false);
    expect(timeIntervalActive(q1of2026, at('2027-01-15T00:00:00Z'))).toBe(false);
  });

  it('reads the local date across midnight: 23:30 UTC on 31 Dec is New Year in Tokyo', () => {
    expect(localTime(at('2026-12-31T23:30:00Z'), 'Asia/Tokyo')).toMatchObject({
      year: 2027,
      month: 1,
      day: 1,
    });
  });

  it('mutes matching alerts in a maintenance window given as time_intervals', () => {
    const window: MaintenanceWindow = {
      matchers: [{ label: 'target', value: 'credit-scorer' }],
      timeIntervals: [
        parse({
          weekdays: ['sunday'],
          times: [{ start_time: '02:00', end_time: '04:00' }],
          location: 'America/New_York',
        }),
      ],
    };
    // Sunday 2026-06-07 02:30 in New York (EDT, UTC−4) is 06:30 UTC.
    const now = at('2026-06-07T06:30:00Z');
    expect(inMaintenance({ labels: { target: 'credit-scorer' } }, [window], now)).toBe(true);
    expect(inMaintenance({ labels: { target: 'other' } }, [window], now)).toBe(false);
    expect(inMaintenance({ labels: { target: 'credit-scorer' } }, [window], at('2026-06-07T02:30:00Z'))).toBe(
      false,
    );
  });
});
