/**
 * Alertmanager's `time_intervals` (https://prometheus.io/docs/alerting/latest/configuration/#time_interval):
 * when a maintenance window is open, in the window's own time zone. An interval matches when every
 * field it sets matches the wall-clock time in `location`:
 *
 * - `times`: `[{start_time: "HH:MM", end_time: "HH:MM"}]`, start inclusive, end exclusive, `24:00` allowed
 *   as an end; minutes of the local day.
 * - `weekdays`: `monday`…`sunday` or ranges `"monday:friday"`.
 * - `days_of_month`: `1`…`31` or ranges; negative days count from the month's end (`-1` the last day).
 * - `months`: `january`…`december` or `1`…`12`, or ranges.
 * - `years`: `2026` or ranges `"2026:2027"`.
 * - `location`: an IANA zone (`Europe/Berlin`), default `UTC`; read with the runtime's time zone data
 *   (Intl), so daylight saving follows the zone: on a spring-forward day a window over the skipped hour
 *   is not open at all, on a fall-back day a window over the repeated hour is open in both, exactly as
 *   Alertmanager (Go's `time.In`) reads wall-clock times.
 *
 * A window with several intervals is open when any of them is.
 */
import { z } from 'zod';
import { GOT } from '../diagnostics/messages.js';

const DAY_NAMES = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday'] as const;
const MONTH_NAMES = [
  'january',
  'february',
  'march',
  'april',
  'may',
  'june',
  'july',
  'august',
  'september',
  'october',
  'november',
  'december',
] as const;

/** One `time_intervals` entry, parsed: ranges are inclusive `[from, to]` pairs. */
export interface TimeInterval {
  /** Minutes of the local day, `[start, end)`. */
  times?: readonly (readonly [number, number])[];
  /** 0 = Sunday … 6 = Saturday. */
  weekdays?: readonly (readonly [number, number])[];
  /** 1…31, or −31…−1 counted from the month's end. */
  daysOfMonth?: readonly (readonly [number, number])[];
  /** 1 = January … 12. */
  months?: readonly (readonly [number, number])[];
  years?: readonly (readonly [number, number])[];
  /** IANA zone. */
  location: string;
}

function minutesOf(text: string, allow24: boolean): number | undefined {
  const match = /^([01]\d|2[0-4]):([0-5]\d)$/.exec(text);
  if (match === null) return undefined;
  const minutes = Number(match[1]) * 60 + Number(match[2]);
  return minutes > 24 * 60 || (minutes === 24 * 60 && !allow24) ? undefined : minutes;
}

/** `"a:b"` or `"a"` → `[a, b]` through `read`, or a message. */
function rangeOf(
  text: string,
  read: (part: string) => number | undefined,
): readonly [number, number] | undefined {
  const parts = String(text).toLowerCase().split(':');
  if (parts.length > 2) return undefined;
  const from = read(parts[0] as string);
  const to = parts.length === 2 ? read(parts[1] as string) : from;
  if (from === undefined || to === undefined) return undefined;
  return [from, to];
}

const readDay = (p: string) => {
  const i = (DAY_NAMES as readonly string[]).indexOf(p);
  return i < 0 ? undefined : i;
};
const readMonth = (p: string) => {
  const i = (MONTH_NAMES as readonly string[]).indexOf(p);
  if (i >= 0) return i + 1;
  const n = /^\d{1,2}$/.test(p) ? Number(p) : Number.NaN;
  return n >= 1 && n <= 12 ? n : undefined;
};
const readDayOfMonth = (p: string) => {
  const n = /^-?\d{1,2}$/.test(p) ? Number(p) : Number.NaN;
  return n !== 0 && n >= -31 && n <= 31 ? n : undefined;
};
const readYear = (p: string) => (/^\d{4}$/.test(p) ? Number(p) : undefined);

function rangeList(what: string, example: string, read: (part: string) => number | undefined) {
  return z
    .array(z.union([z.string(), z.number()]).transform(String), {
      error: `expected a list of ${what} like ${example}, got ${GOT}`,
    })
    .transform((items, ctx) => {
      const out: (readonly [number, number])[] = [];
      items.forEach((item, i) => {
        const range = rangeOf(item, read);
        if (range === undefined || range[0] > range[1])
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: `expected ${what} or a range "from:to" like ${example}, got ${JSON.stringify(item)}`,
          });
        else out.push(range);
      });
      return out;
    });
}

/** Whether `zone` is a time zone this runtime knows. */
export function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** The zod schema of one `time_intervals` entry (Alertmanager's field names), parsed to {@link TimeInterval}. */
export const timeIntervalSchema = z
  .strictObject({
    times: z
      .array(
        z.strictObject({
          start_time: z.string().refine((t) => minutesOf(t, false) !== undefined, {
            error: `expected a time "HH:MM" like "02:00", got ${GOT}`,
          }),
          end_time: z.string().refine((t) => minutesOf(t, true) !== undefined, {
            error: `expected a time "HH:MM" like "04:00" (24:00 for midnight), got ${GOT}`,
          }),
        }),
      )
      .optional()
      .describe('Times of day [start_time, end_time) in location, "HH:MM".'),
    weekdays: rangeList('weekdays', '"monday:friday"', readDay)
      .optional()
      .describe('Days of the week or ranges, e.g. "saturday:sunday".'),
    days_of_month: rangeList('days of the month', '"1:7" or "-1"', readDayOfMonth)
      .optional()
      .describe('Days of the month or ranges; negative counts from the end (-1 = last day).'),
    months: rangeList('months', '"january:march"', readMonth)
      .optional()
      .describe('Months (names or 1-12) or ranges.'),
    years: rangeList('years', '"2026:2027"', readYear).optional().describe('Years or ranges.'),
    location: z
      .string()
      .refine(isTimeZone, { error: `expected an IANA time zone like "Europe/Berlin", got ${GOT}` })
      .default('UTC')
      .describe('IANA time zone the other fields are read in (daylight saving included). Default UTC.'),
  })
  .superRefine((interval, ctx) => {
    for (const [i, t] of (interval.times ?? []).entries()) {
      if ((minutesOf(t.end_time, true) ?? 0) <= (minutesOf(t.start_time, false) ?? 0))
        ctx.addIssue({ code: 'custom', path: ['times', i, 'end_time'], message: 'must be after start_time' });
    }
  })
  .transform(
    (raw): TimeInterval => ({
      location: raw.location,
      ...(raw.times && {
        times: raw.times.map(
          (t) => [minutesOf(t.start_time, false) ?? 0, minutesOf(t.end_time, true) ?? 0] as const,
        ),
      }),
      ...(raw.weekdays && { weekdays: raw.weekdays }),
      ...(raw.days_of_month && { daysOfMonth: raw.days_of_month }),
      ...(raw.months && { months: raw.months }),
      ...(raw.years && { years: raw.years }),
    }),
  )
  .describe('An Alertmanager time interval: open when every field it sets matches the time in its location.');

/** One formatter per zone: building one costs far more than using it. */
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of `now` in `zone`. */
export function localTime(now: number, zone: string) {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      weekday: 'long',
    });
    formatters.set(zone, format);
  }
  const parts: Record<string, string> = {};
  for (const p of format.formatToParts(now)) parts[p.type] = p.value;
  const year = Number(parts.year);
  const month = Number(parts.month);
  return {
    year,
    month,
    day: Number(parts.day),
    weekday: readDay((parts.weekday ?? '').toLowerCase()) ?? 0,
    minuteOfDay: Number(parts.hour) * 60 + Number(parts.minute),
    daysInMonth: new Date(Date.UTC(year, month, 0)).getUTCDate(),
  };
}

const within = (ranges: readonly (readonly [number, number])[] | undefined, value: number) =>
  ranges === undefined || ranges.some(([from, to]) => from <= value && value <= to);

/**
 * Whether `interval` is open at `now` (ms since epoch).
 *
 * @example timeIntervalActive({ weekdays: [[6, 6]], times: [[120, 240]], location: 'Europe/Berlin' }, Date.now())
 */
export function timeIntervalActive(interval: TimeInterval, now: number): boolean {
  const t = localTime(now, interval.location);
  if (
    interval.times !== undefined &&
    !interval.times.some(([from, to]) => from <= t.minuteOfDay && t.minuteOfDay < to)
  )
    return false;
  if (!within(interval.weekdays, t.weekday)) return false;
  if (!within(interval.months, t.month)) return false;
  if (!within(interval.years, t.year)) return false;
  if (interval.daysOfMonth !== undefined) {
    // Negative days count from the end: -1 is the last day (Alertmanager's reading).
    const abs = (d: number) => (d < 0 ? t.daysInMonth + 1 + d : d);
    if (!interval.daysOfMonth.some(([from, to]) => abs(from) <= t.day && t.day <= abs(to))) return false;
  }
  return true;
}
