/**
 * The value operators ({@link Operators}) applied to a selection: the values of one output
 * (`expect.outputs.<name>`) or the nodes a JSONPath selected (`expect.assertions[]`).
 */
import type Big from 'big.js';
import type { AssertionFailure, Operators } from '../types.js';
import { FailureCollector, sample, showList, showValue, typeName } from './format.js';
import type { SelectedNode } from './jsonpath.js';
import { compileRegex } from './regex.js';
import { deepEqual, toDecimal } from './values.js';
import { presentOperators } from './vocabulary.js';

/** What the operators run on. */
export interface Selection {
  /** `outputs` (the shorthand) or `jsonpath`: the failures' `assertion`. */
  assertion: 'outputs' | 'jsonpath';
  /** The selector as configured: `outputs.probability` or the JSONPath. */
  selector: string;
  /** Selected values, each with where it was found (`outputs.probability[0]`, `$.body.label`). */
  nodes: readonly SelectedNode[];
}

type Relation = 'lt' | 'le' | 'gt' | 'ge';
const RELATIONS: Record<Relation, { symbol: string; holds: (cmp: number) => boolean }> = {
  lt: { symbol: '<', holds: (cmp) => cmp < 0 },
  le: { symbol: '≤', holds: (cmp) => cmp <= 0 },
  gt: { symbol: '>', holds: (cmp) => cmp > 0 },
  ge: { symbol: '≥', holds: (cmp) => cmp >= 0 },
};

function isMeasurable(value: unknown): value is string | unknown[] | Record<string, unknown> {
  return typeof value === 'string' || (typeof value === 'object' && value !== null);
}

function lengthOf(value: string | unknown[] | Record<string, unknown>): number {
  return typeof value === 'string' || Array.isArray(value) ? value.length : Object.keys(value).length;
}

/** `8`, `at least 5`, `at most 8`, `1 to 8`. */
export function describeLength(length: NonNullable<Operators['length']>): string {
  if (typeof length === 'number') return String(length);
  const { min, max } = length;
  if (min !== undefined && max !== undefined) return `${min} to ${max}`;
  if (min !== undefined) return `at least ${min}`;
  return max === undefined ? 'any' : `at most ${max}`;
}

function lengthHolds(n: number, length: NonNullable<Operators['length']>): boolean {
  if (typeof length === 'number') return n === length;
  return (length.min === undefined || n >= length.min) && (length.max === undefined || n <= length.max);
}

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** One node check; adds failures through the collector. */
type NodeCheck = (node: SelectedNode) => void;

/**
 * Applies every given operator to every selected node, appending failures to `out` (at most
 * {@link MAX_FAILURES_PER_ASSERTION} per selection, then one line with the count).
 *
 * Selection rules:
 * - An empty selection fails (`outputs.probability is empty`, `$.body.x matched nothing`) unless the
 *   only operator is `notEmpty: false`.
 * - `notEmpty: true`: the selection is non-empty and each selected string, array or object is
 *   non-empty (null counts as empty). `notEmpty: false`: the selection is empty (asserts absence).
 * - `length` counts values for the outputs shorthand; for a JSONPath it measures each selected
 *   string, array or object, or — when the selection holds other values — counts the selected nodes.
 * - `lt`/`le`/`gt`/`ge`/`range` compare decimals (see values.ts); non-numbers fail with a type message.
 * - `finite: true` fails NaN and ±Infinity and non-numbers; `finite: false` checks nothing (it only
 *   opts an output out of the default non-finite check).
 * - `matches` tests each value's string form: a string as is, anything else as JSON.
 */
export function applyOperators(ops: Operators, selection: Selection, out: AssertionFailure[]): void {
  const { assertion, selector, nodes } = selection;
  const collector = new FailureCollector(out, assertion, selector);
  const present = presentOperators(ops);
  const isOutputs = assertion === 'outputs';

  if (nodes.length === 0) {
    if (!(ops.notEmpty === false && present.length === 1)) {
      collector.add(() => ({
        assertion,
        selector,
        operator: 'notEmpty',
        expected: isOutputs ? 'at least one value' : 'at least one match',
        actual: [],
        message: isOutputs ? `${selector} is empty` : `${selector} matched nothing`,
      }));
    }
    collector.finish();
    return;
  }

  if (ops.notEmpty === false) {
    const first = nodes[0] as SelectedNode;
    collector.add(() => ({
      assertion,
      selector,
      operator: 'notEmpty',
      expected: isOutputs ? 'no values' : 'no match',
      actual: sample(nodes.map((node) => node.value)),
      message: isOutputs
        ? `${selector} has ${plural(nodes.length, 'value', 'values')}, expected none`
        : `${selector} matched ${plural(nodes.length, 'node', 'nodes')}, expected none: ${first.path} (${showValue(first.value)})`,
    }));
  }

  const checks: NodeCheck[] = [];
  const fail = (node: SelectedNode, operator: string, expected: unknown, verdict: string): void =>
    collector.add(() => ({
      assertion,
      selector: node.path,
      operator,
      expected,
      actual: sample(node.value),
      message: `${node.path} (${showValue(node.value)}) ${verdict}`,
    }));

  if (ops.notEmpty === true) {
    checks.push((node) => {
      const { value } = node;
      if (value === null || (isMeasurable(value) && lengthOf(value) === 0))
        fail(node, 'notEmpty', true, 'is empty');
    });
  }

  const { length } = ops;
  if (length !== undefined) {
    const countsSelection = isOutputs || nodes.some((node) => !isMeasurable(node.value));
    if (countsSelection) {
      if (!lengthHolds(nodes.length, length)) {
        collector.add(() => ({
          assertion,
          selector,
          operator: 'length',
          expected: length,
          actual: nodes.length,
          message: isOutputs
            ? `${selector} has ${plural(nodes.length, 'value', 'values')}, expected ${describeLength(length)}`
            : `${selector} matched ${plural(nodes.length, 'node', 'nodes')}, expected ${describeLength(length)}`,
        }));
      }
    } else {
      checks.push((node) => {
        const n = lengthOf(node.value as string | unknown[]);
        if (!lengthHolds(n, length))
          fail(node, 'length', length, `has length ${n}, expected ${describeLength(length)}`);
      });
    }
  }

  const { type } = ops;
  if (type !== undefined) {
    checks.push((node) => {
      const { value } = node;
      const ok =
        type === 'integer'
          ? Number.isInteger(value)
          : type === 'object'
            ? typeName(value) === 'object'
            : typeName(value) === type;
      if (ok) return;
      const verdict =
        typeof value === 'number' && type === 'integer'
          ? 'is not an integer'
          : `is ${typeName(value)}, expected ${type}`;
      fail(node, 'type', type, verdict);
    });
  }

  if (ops.finite === true) {
    checks.push((node) => {
      const { value } = node;
      if (typeof value !== 'number') fail(node, 'finite', true, 'is not a number');
      else if (!Number.isFinite(value)) fail(node, 'finite', true, 'is not finite');
    });
  }

  if (ops.eq !== undefined) {
    const expected = ops.eq;
    checks.push((node) => {
      if (!deepEqual(node.value, expected)) fail(node, 'eq', expected, `≠ ${showValue(expected)}`);
    });
  }
  if (ops.ne !== undefined) {
    const expected = ops.ne;
    checks.push((node) => {
      if (deepEqual(node.value, expected)) fail(node, 'ne', expected, `= ${showValue(expected)}`);
    });
  }

  for (const name of ['lt', 'le', 'gt', 'ge'] as const) {
    const bound = ops[name];
    if (bound === undefined) continue;
    const compare = comparatorOf(bound);
    if (!compare) {
      collector.add(() => badOperand(assertion, selector, name, bound, 'a number or a decimal string'));
      continue;
    }
    const { symbol, holds } = RELATIONS[name];
    checks.push((node) => {
      const value = numericValue(node, name, bound, fail);
      if (value !== undefined && !holds(-compare(value))) fail(node, name, bound, `not ${symbol} ${bound}`);
    });
  }

  if (ops.range !== undefined) {
    const range = ops.range;
    const min = comparatorOf(range[0]);
    const max = comparatorOf(range[1]);
    if (!min || !max) {
      collector.add(() => badOperand(assertion, selector, 'range', range, '[min, max] of numbers'));
    } else {
      checks.push((node) => {
        const value = numericValue(node, 'range', range, fail);
        if (value !== undefined && (min(value) > 0 || max(value) < 0))
          fail(node, 'range', range, `not in ${showList(range)}`);
      });
    }
  }

  if (ops.in !== undefined) {
    const list = ops.in;
    checks.push((node) => {
      if (!list.some((item) => deepEqual(node.value, item)))
        fail(node, 'in', list, `not in ${showList(list)}`);
    });
  }
  if (ops.notIn !== undefined) {
    const list = ops.notIn;
    checks.push((node) => {
      if (list.some((item) => deepEqual(node.value, item)))
        fail(node, 'notIn', list, `in notIn ${showList(list)}`);
    });
  }

  if (ops.matches !== undefined) {
    const source = ops.matches;
    const compiled = compileRegex(source);
    if (!compiled.ok) {
      collector.add(() => ({
        assertion,
        selector,
        operator: 'matches',
        expected: source,
        actual: undefined,
        message: `${selector}: ${compiled.message}`,
      }));
    } else {
      const { regex } = compiled;
      checks.push((node) => {
        const { value } = node;
        const text =
          typeof value === 'string'
            ? value
            : typeof value === 'number'
              ? String(value)
              : (JSON.stringify(value) ?? String(value));
        if (!regex.test(text)) fail(node, 'matches', source, `does not match /${source}/`);
      });
    }
  }

  for (const node of nodes) for (const check of checks) check(node);
  collector.finish();
}

/**
 * A bound's comparison with a finite value: the sign of `bound − value`, decimally (see values.ts);
 * undefined when the bound is neither a finite number nor a decimal string.
 *
 * A bound that is a number compares as a double, which gives the same answer as comparing the shortest
 * round-trip decimals (`String(n)`) with big.js, without allocating per probe: rounding a decimal to the
 * nearest double is monotone and maps each double's shortest decimal back to that double, so two
 * doubles order exactly as their shortest decimals do (and `-0`, shown as `0`, equals `0` both ways).
 * A decimal-string bound keeps big.js, since its exact value may lie between two doubles.
 */
function comparatorOf(bound: unknown): ((value: number) => number) | undefined {
  if (typeof bound === 'number') {
    if (!Number.isFinite(bound)) return undefined;
    return (value) => (bound < value ? -1 : bound > value ? 1 : 0);
  }
  const decimal = toDecimal(bound);
  if (!decimal) return undefined;
  return (value) => decimal.cmp(toDecimal(value) as Big);
}

/** The node's value when it is a finite number; else reports why it cannot be compared. */
function numericValue(
  node: SelectedNode,
  operator: string,
  expected: unknown,
  fail: (node: SelectedNode, operator: string, expected: unknown, verdict: string) => void,
): number | undefined {
  const { value } = node;
  if (typeof value !== 'number') {
    fail(node, operator, expected, 'is not a number');
    return undefined;
  }
  if (!Number.isFinite(value)) {
    fail(node, operator, expected, 'is not a finite number');
    return undefined;
  }
  return value;
}

function badOperand(
  assertion: string,
  selector: string,
  operator: string,
  operand: unknown,
  wanted: string,
): AssertionFailure {
  return {
    assertion,
    selector,
    operator,
    expected: wanted,
    actual: operand,
    message: `${selector}: ${operator} needs ${wanted}, got ${showValue(operand)}`,
  };
}
