/**
 * Assertions: a check's `expect` applied to one probe's answer — status, two-level latency, outputs,
 * JSONPath (RFC 9535) assertions with typed operators, JSON Schema 2020-12, raw body checks, and the
 * defaults that catch silent failures. Pure, synchronous, no I/O.
 *
 * The vocabulary (operator names and argument shapes, JSONPath and RE2 pattern strings) is defined once,
 * in vocabulary.ts, and the config schema is built from it.
 */
export {
  type CompiledExpect,
  compileExpect,
  type ExpectInput,
  type ExpectVerdict,
  evaluateExpect,
} from './evaluate.js';
export { MAX_FAILURES_PER_ASSERTION } from './format.js';
export {
  type CompiledPath,
  compileJsonPath,
  type SelectedNode,
  selectNodes,
  selectValues,
} from './jsonpath.js';
export {
  applyCompiledOperators,
  applyOperators,
  type CompiledOperators,
  compileOperators,
  type Selection,
} from './operators.js';
export { type CompiledRegex, compileRegex, type Regex, type RegexProblem, regexProblem } from './regex.js';
export { type CompiledSchema, checkSchema, compileSchema } from './schema.js';
export { defaultStatuses, parseStatusPattern, type StatusPattern } from './status.js';
export { deepEqual, toDecimal } from './values.js';
export {
  assertionSchema,
  extractSchema,
  jsonPathSchema,
  OPERATOR_NAMES,
  OPERATORS,
  type OperatorName,
  operatorsSchema,
  presentOperators,
  regexSchema,
} from './vocabulary.js';
