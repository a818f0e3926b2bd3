/**
 * Value semantics of the operators: decimal comparison and deep equality.
 *
 * Comparisons are decimal, not binary: a number is compared by its shortest round-trip decimal string
 * (`String(n)`, what the JSON text most likely said), a bound given as a string by its exact decimal
 * value, both with big.js. So `0.1 + 0.2`, which JSON carries as `0.30000000000000004`, is not ≤ 0.3, and
 * a bound `"1.1"` equals a value written `1.10`.
 */
import Big from 'big.js';

/** The decimal value of a finite number or a decimal string; undefined for anything else. */
export function toDecimal(value: unknown): Big | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? new Big(String(value)) : undefined;
  if (typeof value === 'string' && /^\s*-?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\s*$/.test(value)) {
    return new Big(value.trim());
  }
  return undefined;
}

/**
 * Deep equality for `eq`, `ne`, `in` and `notIn`: same JSON type and same value; arrays element by
 * element, objects member by member (order ignored). Numbers are equal when their decimal values are
 * (for two binary doubles that is `===`, with `-0` equal to `0`); NaN equals NaN so a lenient parse's NaN
 * can be listed in `in`.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!deepEqual(a[i], b[i])) return false;
    return true;
  }
  const left = a as Record<string, unknown>;
  const right = b as Record<string, unknown>;
  const keys = Object.keys(left);
  if (keys.length !== Object.keys(right).length) return false;
  for (const key of keys) {
    if (!Object.hasOwn(right, key) || !deepEqual(left[key], right[key])) return false;
  }
  return true;
}
