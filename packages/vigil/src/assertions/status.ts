/**
 * Accepted HTTP statuses: codes (`200`, `"204"`), classes (`"2xx"`) and inclusive ranges (`"200-399"`).
 */
import type { CheckKind } from '../types.js';

/** A parsed status pattern: its label as shown in messages and its test. */
export interface StatusPattern {
  label: string;
  test(status: number): boolean;
}

/**
 * The statuses accepted when `expect.status` is not set: 2xx, except liveness, which follows
 * Kubernetes' httpGet probe (any status from 200 to 399 is success).
 */
export function defaultStatuses(kind: CheckKind): Array<number | string> {
  return kind === 'liveness' ? ['200-399'] : ['2xx'];
}

/** Entries come from config, so the set is small; the bound only guards against a caller that builds them. */
const MAX_CACHED = 1024;
const parsed = new Map<number | string, StatusPattern | string>();

/**
 * Parses one entry of `expect.status` (cached per entry: every probe judges its status with it, and
 * the pattern comes back frozen). Never throws: an entry that is none of a code (100–599), a class
 * (`1xx`–`5xx`, any case) or a range (`200-399`) comes back as a message for diagnostics.
 *
 * @example
 * parseStatusPattern('2xx'); // {label: '2xx', test: (s) => s >= 200 && s < 300}
 */
export function parseStatusPattern(entry: number | string): StatusPattern | string {
  const cached = parsed.get(entry);
  if (cached !== undefined) return cached;
  const pattern = parse(entry);
  if (parsed.size >= MAX_CACHED) parsed.clear();
  parsed.set(entry, typeof pattern === 'string' ? pattern : Object.freeze(pattern));
  return pattern;
}

function parse(entry: number | string): StatusPattern | string {
  const text = String(entry).trim();
  const isCode = (n: number) => Number.isInteger(n) && n >= 100 && n <= 599;
  if (/^\d{3}$/.test(text) && isCode(Number(text))) {
    const code = Number(text);
    return { label: text, test: (status) => status === code };
  }
  const cls = /^([1-5])xx$/i.exec(text);
  if (cls) {
    const base = Number(cls[1]) * 100;
    return { label: text.toLowerCase(), test: (status) => status >= base && status < base + 100 };
  }
  const range = /^(\d{3})\s*-\s*(\d{3})$/.exec(text);
  if (range) {
    const from = Number(range[1]);
    const to = Number(range[2]);
    if (isCode(from) && isCode(to) && from <= to) {
      return { label: `${from}-${to}`, test: (status) => status >= from && status <= to };
    }
  }
  return `expected a status code (100-599), a class like "2xx" or a range like "200-399", got ${JSON.stringify(entry)}`;
}
