/**
 * Assertions: a check's `expect` applied to one probe's answer — status, two-level latency, outputs,
 * JSONPath (RFC 9535) assertions with typed operators, JSON Schema 2020-12, raw body checks, and the
 * defaults that catch silent failures. Pure, synchronous, no I/O.
 */
export { checkExpectConfig } from './check-config.js';
export { type ExpectInput, type ExpectVerdict, evaluateExpect } from './evaluate.js';
export { MAX_FAILURES_PER_ASSERTION } from './format.js';
export { type CompiledPath, compileJsonPath, type SelectedNode, selectNodes } from './jsonpath.js';
export { applyOperators, OPERATOR_NAMES, type Selection } from './operators.js';
export { type CompiledSchema, checkSchema, compileSchema } from './schema.js';
export { defaultStatuses, parseStatusPattern, type StatusPattern } from './status.js';
export { deepEqual, toDecimal } from './values.js';
