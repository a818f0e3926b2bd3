/**
 * How values appear in assertion messages and in the `actual` / `expected` fields of failures: short,
 * one line, and bounded, so a 10 000-element output never floods a result or an alert.
 */
import type { AssertionFailure } from '../types.js';

/** Longest rendering of one value inside a message, in characters. */
const MESSAGE_CHARS = 60;
/** Longest JSON kept in a failure's `actual` field, in characters. */
const SAMPLE_CHARS = 200;

/** JSON-like text that shows NaN and ±Infinity as such (JSON.stringify would print `null`). */
function render(value: unknown, budget: number): string {
  if (typeof value === 'number') return Object.is(value, -0) ? '0' : String(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || typeof value === 'boolean') return String(value);
  if (value === undefined) return 'undefined';
  if (Array.isArray(value)) {
    let out = '[';
    for (let i = 0; i < value.length; i++) {
      if (out.length > budget) return `${out}…]`;
      out += `${i > 0 ? ', ' : ''}${render(value[i], budget - out.length)}`;
    }
    return `${out}]`;
  }
  if (typeof value === 'object') {
    let out = '{';
    let first = true;
    for (const [key, item] of Object.entries(value)) {
      if (out.length > budget) return `${out}…}`;
      out += `${first ? '' : ', '}${JSON.stringify(key)}: ${render(item, budget - out.length)}`;
      first = false;
    }
    return `${out}}`;
  }
  return String(value);
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A value as seen in a message: strings quoted, numbers as JavaScript prints them (`NaN` included). */
export function showValue(value: unknown): string {
  return clip(render(value, MESSAGE_CHARS), MESSAGE_CHARS);
}

/** A list as written in config: `[0, 1]`, `[Unknown, cat]` (strings bare, as YAML shows them). */
export function showList(items: readonly unknown[]): string {
  const shown = items.slice(0, 10).map((item) => (typeof item === 'string' ? item : showValue(item)));
  return `[${shown.join(', ')}${items.length > 10 ? `, … ${items.length - 10} more` : ''}]`;
}

/**
 * A value as stored in a failure's `actual`: primitives as they are (long strings clipped), arrays and
 * objects as themselves when small, else as clipped JSON-like text.
 */
export function sample(value: unknown): unknown {
  if (typeof value === 'string') return clip(value, SAMPLE_CHARS);
  if (value === null || typeof value !== 'object') return value;
  const text = render(value, SAMPLE_CHARS);
  return text.length > SAMPLE_CHARS ? clip(text, SAMPLE_CHARS) : value;
}

/** The JSON type name of a value, as messages and the `type` operator use it. */
export function typeName(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Failures per assertion before the rest are summarised in one line (the flood guard). */
export const MAX_FAILURES_PER_ASSERTION = 5;

/**
 * Collects the failures of one assertion, keeping the first {@link MAX_FAILURES_PER_ASSERTION} and
 * counting the rest; failures are built lazily, so counting ten thousand costs no messages.
 */
export class FailureCollector {
  private count = 0;

  constructor(
    private readonly out: AssertionFailure[],
    /** The failures' `assertion`: `outputs`, `jsonpath`, `schema`, … */
    readonly assertion: string,
    /** The selector as configured; the summary line's selector. */
    readonly selector: string,
    private readonly cap = MAX_FAILURES_PER_ASSERTION,
  ) {}

  /** Counts one failure; `make` runs only while under the cap. */
  add(make: () => AssertionFailure): void {
    this.count++;
    if (this.count <= this.cap) this.out.push(make());
  }

  /** Appends `outputs.probability: 9995 more failures not shown (10000 in all)` when over the cap. */
  finish(): void {
    if (this.count <= this.cap) return;
    const hidden = this.count - this.cap;
    this.out.push({
      assertion: this.assertion,
      selector: this.selector,
      expected: `at most ${this.cap} failures listed`,
      actual: this.count,
      message: `${this.selector}: ${hidden} more ${hidden === 1 ? 'failure' : 'failures'} not shown (${this.count} in all)`,
    });
  }
}
