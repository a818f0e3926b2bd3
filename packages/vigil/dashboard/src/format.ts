/** Formatting shared by the pages: states and outcomes (icon plus text), durations, times. */
import type { CheckState, Outcome } from '../../src/types.js';

/** How each state is shown: never colour alone, always an icon and a word (WCAG 1.4.1). */
export const STATE_META: Readonly<Record<CheckState, { icon: string; label: string }>> = {
  healthy: { icon: '✓', label: 'Healthy' },
  degraded: { icon: '▲', label: 'Degraded' },
  pending: { icon: '◔', label: 'Pending' },
  unhealthy: { icon: '✕', label: 'Unhealthy' },
  // Dotted circle: no data. Results stopped arriving; the badge says the state last known.
  stale: { icon: '◌', label: 'Stale' },
  unknown: { icon: '?', label: 'Unknown' },
};

/** Worst first: the order of the overview's summary and of a target's overall state. */
export const STATE_ORDER: readonly CheckState[] = [
  'unhealthy',
  'degraded',
  'stale',
  'pending',
  'unknown',
  'healthy',
];

export const OUTCOME_META: Readonly<Record<Outcome, { icon: string; label: string }>> = {
  pass: { icon: '✓', label: 'pass' },
  degraded: { icon: '▲', label: 'degraded' },
  fail: { icon: '✕', label: 'fail' },
};

/** The worse of the states (see {@link STATE_ORDER}). */
export function worstState(states: Iterable<CheckState>): CheckState {
  let best = STATE_ORDER.length - 1;
  for (const s of states) best = Math.min(best, STATE_ORDER.indexOf(s));
  return STATE_ORDER[best] ?? 'unknown';
}

/** A latency: `0.4 ms`, `85 ms`, `1.25 s`. */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return '–';
  if (ms < 10) return `${ms.toFixed(1)} ms`;
  if (ms < 1000) return `${Math.round(ms)} ms`;
  return `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;
}

/** An elapsed time: `42s`, `5m 07s`, `3h 12m`, `4d 2h`. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

const timeFormat = new Intl.DateTimeFormat(undefined, {
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});
const dateTimeFormat = new Intl.DateTimeFormat(undefined, {
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hour12: false,
});

/** Today's times as `14:03:27`, older ones with their date. */
export function formatTime(ms: number, now = Date.now()): string {
  const date = new Date(ms);
  return now - ms < 20 * 3600_000 ? timeFormat.format(date) : dateTimeFormat.format(date);
}

/** `2026-11-21T14:03:27.000Z`, for `<time datetime>`. */
export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
