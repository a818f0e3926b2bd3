import { ConfigError } from '../errors.js';

/** Milliseconds per duration unit. */
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;

/**
 * The text form of a duration: one or more `<number><unit>` parts, units `ms`, `s`, `m`, `h`, `d` (24h)
 * and `w` (7d) as Prometheus spells them (`model.ParseDuration`; its `y` is left out: a year is beyond
 * {@link MAX_DURATION_MS}), e.g. `"10s"`, `"150ms"`, `"1m30s"`, `"1.5s"`, `"1d12h"`, `"1w"`. Used as the
 * `pattern` of durations in the JSON Schema. Unlike Prometheus, parts may come in any order and may
 * have fractions (`"1.5s"`): every duration Prometheus accepts up to the maximum is accepted here.
 */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;

/**
 * The longest duration accepted: 2^31 − 1 ms (about 24.8 days). Node's timers fire at once for longer
 * delays, so a longer interval would turn into a busy loop in the scheduler.
 */
export const MAX_DURATION_MS = 2_147_483_647;

const PART = /(\d+)(?:\.(\d+))?(ms|s|m|h|d|w)/g;

/**
 * Parses a duration such as `"10s"`, `"150ms"`, `"5m"`, `"1h"`, `"1d"`, `"1w"` or a compound like `"1m30s"` into whole
 * milliseconds. Fractions are allowed while the result stays a whole number of milliseconds (`"1.5s"` is
 * 1500; `"0.5ms"` is an error). A unit is required: a bare number is ambiguous.
 *
 * @example parseDuration('1m30s') // 90000
 * @returns the duration in milliseconds, from 0 to {@link MAX_DURATION_MS}
 * @throws ConfigError with code `VIGIL_ERR_CONFIG_DURATION` when `text` is not a duration (the message
 *   says what was wrong, e.g. a missing unit)
 */
export function parseDuration(text: string): number {
  const problem = durationProblem(text);
  if (problem !== undefined) {
    throw new ConfigError('VIGIL_ERR_CONFIG_DURATION', `${problem}, got ${JSON.stringify(text)}`);
  }
  return toMs(text);
}

/**
 * Why `text` is not a valid duration (`undefined` when it is one), as a phrase that fits before
 * `, got "<text>"`, e.g. `expected a duration like "10s"`.
 *
 * @param example shown in the message, e.g. `"180ms"` for a latency threshold
 */
export function durationProblem(text: string, example = '10s'): string | undefined {
  const like = `expected a duration like ${JSON.stringify(example)}`;
  if (/^\s*[+-]?\d+(?:\.\d+)?\s*$/.test(text)) return `${like} (add a unit: ms, s, m, h, d or w)`;
  if (!DURATION_PATTERN.test(text)) return like;
  const ms = toMs(text);
  if (!Number.isInteger(ms)) return `${like}: durations are whole milliseconds`;
  if (ms > MAX_DURATION_MS) return `${like}: the longest supported duration is 596h (24.8 days; 3w3d20h)`;
  return undefined;
}

/** Sums the parts exactly: `"1.1s"` is 1100, not 1100.0000000000002. A sub-millisecond rest gives a fraction. */
function toMs(text: string): number {
  let total = 0;
  for (const [, whole = '0', fraction = '', unit] of text.matchAll(PART)) {
    const unitMs = UNIT_MS[unit as keyof typeof UNIT_MS];
    const scale = 10 ** fraction.length;
    total += (Number(whole + fraction) * unitMs) / scale;
  }
  return total;
}
