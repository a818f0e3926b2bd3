/**
 * Load-time diagnostics for an `expect` block: everything evaluateExpect would otherwise report as a
 * failing probe (a JSONPath that does not parse, a bad regular expression, an invalid schema, …).
 */
import type { ExpectConfig, Operators } from '../types.js';
import { compileJsonPath } from './jsonpath.js';
import { presentOperators } from './operators.js';
import { compileRegex } from './regex.js';
import { compileSchema } from './schema.js';
import { parseStatusPattern } from './status.js';
import { toDecimal } from './values.js';

const TYPES = new Set(['number', 'integer', 'string', 'boolean', 'array', 'object', 'null']);

function isCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0;
}

function checkOperators(ops: Operators, at: string, out: string[]): void {
  for (const name of ['lt', 'le', 'gt', 'ge'] as const) {
    const bound = ops[name];
    if (bound !== undefined && !toDecimal(bound)) {
      out.push(`${at}.${name}: expected a number or a decimal string, got ${JSON.stringify(bound)}`);
    }
  }
  if (ops.range !== undefined) {
    const range: unknown[] = Array.isArray(ops.range) ? ops.range : [];
    const min = range.length === 2 ? toDecimal(range[0]) : undefined;
    const max = range.length === 2 ? toDecimal(range[1]) : undefined;
    if (!min || !max)
      out.push(`${at}.range: expected [min, max] of numbers, got ${JSON.stringify(ops.range)}`);
    else if (min.gt(max)) out.push(`${at}.range: min ${String(range[0])} is above max ${String(range[1])}`);
  }
  const { length } = ops;
  if (length !== undefined) {
    if (typeof length === 'number') {
      if (!isCount(length)) out.push(`${at}.length: expected a non-negative integer, got ${length}`);
    } else {
      const { min, max } = length;
      if ((min !== undefined && !isCount(min)) || (max !== undefined && !isCount(max))) {
        out.push(`${at}.length: min and max must be non-negative integers`);
      } else if (min !== undefined && max !== undefined && min > max) {
        out.push(`${at}.length: min ${min} is above max ${max}`);
      }
    }
  }
  if (ops.type !== undefined && !TYPES.has(ops.type)) {
    out.push(`${at}.type: expected one of ${[...TYPES].join(', ')}, got ${JSON.stringify(ops.type)}`);
  }
  if (ops.matches !== undefined) {
    const regexp = compileRegex(ops.matches);
    if (!regexp.ok) out.push(`${at}.matches: ${regexp.message}`);
  }
  for (const name of ['in', 'notIn'] as const) {
    if (ops[name] !== undefined && !Array.isArray(ops[name])) out.push(`${at}.${name}: expected a list`);
  }
  if (ops.notEmpty === false && presentOperators(ops).length > 1) {
    out.push(
      `${at}: notEmpty: false asserts that nothing is selected, so the other operators can never hold`,
    );
  }
}

/**
 * Checks an `expect` block for mistakes evaluateExpect can only report at probe time. Returns every
 * problem, each prefixed with its path inside `expect` (the config loader prefixes the check's path):
 * `assertions[0].path: invalid JSONPath "$.[": …`, `outputs.probability.range: min 1 is above max 0`,
 * `latency: degradedMs 200 is not below failedMs 180`, `status[1]: expected a status code …`,
 * `schema: invalid JSON Schema: …`. Compiling here also warms the caches the probes use.
 *
 * @example
 * const problems = checkExpectConfig(plan.expect); // [] when all is well
 */
export function checkExpectConfig(expect: ExpectConfig): string[] {
  const out: string[] = [];
  expect.status?.forEach((entry, i) => {
    const pattern = parseStatusPattern(entry);
    if (typeof pattern === 'string') out.push(`status[${i}]: ${pattern}`);
  });
  const { latency } = expect;
  if (latency) {
    for (const key of ['degradedMs', 'failedMs'] as const) {
      const value = latency[key];
      if (value !== undefined && !(value >= 0))
        out.push(`latency.${key}: expected a duration ≥ 0, got ${value}`);
    }
    if (
      latency.degradedMs !== undefined &&
      latency.failedMs !== undefined &&
      latency.degradedMs >= latency.failedMs
    ) {
      out.push(`latency: degradedMs ${latency.degradedMs} is not below failedMs ${latency.failedMs}`);
    }
  }
  for (const [name, ops] of Object.entries(expect.outputs ?? {})) checkOperators(ops, `outputs.${name}`, out);
  expect.assertions?.forEach((assertion, i) => {
    const compiled = compileJsonPath(assertion.path);
    if (!compiled.ok) out.push(`assertions[${i}].path: ${compiled.message}`);
    checkOperators(assertion, `assertions[${i}]`, out);
  });
  if (expect.schema !== undefined && typeof expect.schema !== 'boolean') {
    const compiled = compileSchema(expect.schema);
    if (!compiled.ok) out.push(`schema: ${compiled.message}`);
  }
  if (expect.body?.matches !== undefined) {
    const regexp = compileRegex(expect.body.matches);
    if (!regexp.ok) out.push(`body.matches: ${regexp.message}`);
  }
  return out;
}
