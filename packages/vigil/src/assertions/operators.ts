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

/**
 * One selection's run of a compiled operator set: the failure collector, plus what the run learnt of
 * the selection. The only object a probe allocates per operator set (a failure's record is built only
 * while under the cap).
 */
class SelectionRun extends FailureCollector {
  /** `length` counts the selection (outputs, or a selection holding a non-measurable value). */
  lengthCountsSelection = false;

  /** A failure of one node: `$.body.label ("x") ≠ "y"`. */
  failNode(node: SelectedNode, operator: string, expected: unknown, verdict: string): void {
    this.add(() => ({
      assertion: this.assertion,
      selector: node.path,
      operator,
      expected,
      actual: sample(node.value),
      message: `${node.path} (${showValue(node.value)}) ${verdict}`,
    }));
  }

  /** A failure of the whole selection, or of the operator itself (a bad operand). */
  failSelection(failure: Omit<AssertionFailure, 'assertion' | 'selector'>): void {
    this.add(() => ({ assertion: this.assertion, selector: this.selector, ...failure }));
  }
}

/** Checks one node; built once per operator set. */
type NodeCheck = (node: SelectedNode, run: SelectionRun) => void;
/** Judges the selection as a whole, before any node is checked; built once per operator set. */
type SelectionCheck = (run: SelectionRun, nodes: readonly SelectedNode[]) => void;

/**
 * An operator set compiled once: bounds turned into comparators, the pattern into an RE2 program, each
 * operator into a check. See {@link compileOperators}.
 */
export interface CompiledOperators {
  /** `notEmpty: false` is the only operator: an empty selection is what it asks for. */
  readonly isAbsenceOnly: boolean;
  /** In operator order: `notEmpty: false`, `length` counting the selection, then bad operands. */
  readonly selectionChecks: readonly SelectionCheck[];
  /** In operator order: applied to each node in turn. */
  readonly nodeChecks: readonly NodeCheck[];
}

const compiledSets = new WeakMap<Operators, CompiledOperators>();

/**
 * Compiles an operator set (cached by identity: config objects are frozen after loading, so the set of
 * a plan compiles once; a reload builds new objects). Extra keys — a {@link PathAssertion}'s `path` —
 * are ignored. Never throws: an operand that cannot be used (a bound that is not a number, a pattern RE2
 * cannot run) becomes a failure of its assertion at every probe; the config schema rejects those first.
 */
export function compileOperators(ops: Operators): CompiledOperators {
  let compiled = compiledSets.get(ops);
  if (compiled === undefined) {
    compiled = Object.freeze(buildOperators(ops));
    compiledSets.set(ops, compiled);
  }
  return compiled;
}

function buildOperators(ops: Operators): CompiledOperators {
  const selectionChecks: SelectionCheck[] = [];
  const nodeChecks: NodeCheck[] = [];
  const present = presentOperators(ops);

  if (ops.notEmpty === false) {
    selectionChecks.push((run, nodes) => {
      const first = nodes[0] as SelectedNode;
      const isOutputs = run.assertion === 'outputs';
      run.failSelection({
        operator: 'notEmpty',
        expected: isOutputs ? 'no values' : 'no match',
        actual: sample(nodes.map((node) => node.value)),
        message: isOutputs
          ? `${run.selector} has ${plural(nodes.length, 'value', 'values')}, expected none`
          : `${run.selector} matched ${plural(nodes.length, 'node', 'nodes')}, expected none: ${first.path} (${showValue(first.value)})`,
      });
    });
  }

  if (ops.notEmpty === true) {
    nodeChecks.push((node, run) => {
      const { value } = node;
      if (value === null || (isMeasurable(value) && lengthOf(value) === 0))
        run.failNode(node, 'notEmpty', true, 'is empty');
    });
  }

  const { length } = ops;
  if (length !== undefined) {
    selectionChecks.push((run, nodes) => {
      const isOutputs = run.assertion === 'outputs';
      run.lengthCountsSelection = isOutputs || nodes.some((node) => !isMeasurable(node.value));
      if (!run.lengthCountsSelection || lengthHolds(nodes.length, length)) return;
      run.failSelection({
        operator: 'length',
        expected: length,
        actual: nodes.length,
        message: isOutputs
          ? `${run.selector} has ${plural(nodes.length, 'value', 'values')}, expected ${describeLength(length)}`
          : `${run.selector} matched ${plural(nodes.length, 'node', 'nodes')}, expected ${describeLength(length)}`,
      });
    });
    nodeChecks.push((node, run) => {
      if (run.lengthCountsSelection) return;
      const n = lengthOf(node.value as string | unknown[]);
      if (!lengthHolds(n, length))
        run.failNode(node, 'length', length, `has length ${n}, expected ${describeLength(length)}`);
    });
  }

  const { type } = ops;
  if (type !== undefined) {
    nodeChecks.push((node, run) => {
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
      run.failNode(node, 'type', type, verdict);
    });
  }

  if (ops.finite === true) {
    nodeChecks.push((node, run) => {
      const { value } = node;
      if (typeof value !== 'number') run.failNode(node, 'finite', true, 'is not a number');
      else if (!Number.isFinite(value)) run.failNode(node, 'finite', true, 'is not finite');
    });
  }

  if (ops.eq !== undefined) {
    const expected = ops.eq;
    nodeChecks.push((node, run) => {
      if (!deepEqual(node.value, expected)) run.failNode(node, 'eq', expected, `≠ ${showValue(expected)}`);
    });
  }
  if (ops.ne !== undefined) {
    const expected = ops.ne;
    nodeChecks.push((node, run) => {
      if (deepEqual(node.value, expected)) run.failNode(node, 'ne', expected, `= ${showValue(expected)}`);
    });
  }

  for (const name of ['lt', 'le', 'gt', 'ge'] as const) {
    const bound = ops[name];
    if (bound === undefined) continue;
    const compare = comparatorOf(bound);
    if (!compare) {
      selectionChecks.push((run) => run.failSelection(badOperand(run.selector, name, bound, NUMBER)));
      continue;
    }
    const { symbol, holds } = RELATIONS[name];
    nodeChecks.push((node, run) => {
      const value = numericValue(node, run, name, bound);
      if (value !== undefined && !holds(-compare(value)))
        run.failNode(node, name, bound, `not ${symbol} ${bound}`);
    });
  }

  if (ops.range !== undefined) {
    const range = ops.range;
    const min = comparatorOf(range[0]);
    const max = comparatorOf(range[1]);
    if (!min || !max) {
      selectionChecks.push((run) =>
        run.failSelection(badOperand(run.selector, 'range', range, '[min, max] of numbers')),
      );
    } else {
      nodeChecks.push((node, run) => {
        const value = numericValue(node, run, 'range', range);
        if (value !== undefined && (min(value) > 0 || max(value) < 0))
          run.failNode(node, 'range', range, `not in ${showList(range)}`);
      });
    }
  }

  if (ops.in !== undefined) {
    const list = ops.in;
    nodeChecks.push((node, run) => {
      if (!list.some((item) => deepEqual(node.value, item)))
        run.failNode(node, 'in', list, `not in ${showList(list)}`);
    });
  }
  if (ops.notIn !== undefined) {
    const list = ops.notIn;
    nodeChecks.push((node, run) => {
      if (list.some((item) => deepEqual(node.value, item)))
        run.failNode(node, 'notIn', list, `in notIn ${showList(list)}`);
    });
  }

  if (ops.matches !== undefined) {
    const source = ops.matches;
    const compiled = compileRegex(source);
    if (!compiled.ok) {
      selectionChecks.push((run) =>
        run.failSelection({
          operator: 'matches',
          expected: source,
          actual: undefined,
          message: `${run.selector}: ${compiled.message}`,
        }),
      );
    } else {
      const { regex } = compiled;
      nodeChecks.push((node, run) => {
        const { value } = node;
        const text =
          typeof value === 'string'
            ? value
            : typeof value === 'number'
              ? String(value)
              : (JSON.stringify(value) ?? String(value));
        if (!regex.test(text)) run.failNode(node, 'matches', source, `does not match /${source}/`);
      });
    }
  }

  return {
    isAbsenceOnly: ops.notEmpty === false && present.length === 1,
    selectionChecks,
    nodeChecks,
  };
}

/**
 * Applies every given operator to every selected node, appending failures to `out` (at most
 * {@link MAX_FAILURES_PER_ASSERTION} per selection, then one line with the count). `ops` is compiled
 * once per object ({@link compileOperators}).
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
 * - `matches` tests each value's string form (a string as is, anything else as JSON) with RE2, in time
 *   linear in its length (regex.ts).
 *
 * @example
 * import type { AssertionFailure } from 'vigil-ml';
 * const out: AssertionFailure[] = [];
 * applyOperators({ range: [0, 1] }, { assertion: 'outputs', selector: 'outputs.p', nodes: [{ path: 'outputs.p[0]', value: 1.7 }] }, out);
 * // out[0].message === 'outputs.p[0] (1.7) not in [0, 1]'
 */
export function applyOperators(ops: Operators, selection: Selection, out: AssertionFailure[]): void {
  applyCompiledOperators(compileOperators(ops), selection, out);
}

/** `applyOperators` with a set compiled beforehand. */
export function applyCompiledOperators(
  compiled: CompiledOperators,
  selection: Selection,
  out: AssertionFailure[],
): void {
  const { assertion, selector, nodes } = selection;
  const run = new SelectionRun(out, assertion, selector);
  if (nodes.length === 0) {
    if (!compiled.isAbsenceOnly) {
      const isOutputs = assertion === 'outputs';
      run.failSelection({
        operator: 'notEmpty',
        expected: isOutputs ? 'at least one value' : 'at least one match',
        actual: [],
        message: isOutputs ? `${selector} is empty` : `${selector} matched nothing`,
      });
    }
    run.finish();
    return;
  }
  for (const check of compiled.selectionChecks) check(run, nodes);
  const { nodeChecks } = compiled;
  for (const node of nodes) for (const check of nodeChecks) check(node, run);
  run.finish();
}

const NUMBER = 'a number or a decimal string';

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
  run: SelectionRun,
  operator: string,
  expected: unknown,
): number | undefined {
  const { value } = node;
  if (typeof value !== 'number') {
    run.failNode(node, operator, expected, 'is not a number');
    return undefined;
  }
  if (!Number.isFinite(value)) {
    run.failNode(node, operator, expected, 'is not a finite number');
    return undefined;
  }
  return value;
}

function badOperand(
  selector: string,
  operator: string,
  operand: unknown,
  wanted: string,
): Omit<AssertionFailure, 'assertion' | 'selector'> {
  return {
    operator,
    expected: wanted,
    actual: operand,
    message: `${selector}: ${operator} needs ${wanted}, got ${showValue(operand)}`,
  };
}
