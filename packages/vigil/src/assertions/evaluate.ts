/**
 * evaluateExpect: a check's expectations applied to one probe's answer. Pure and synchronous.
 */
import type { JSONPathQuery } from 'json-p3';
import type { AssertionFailure, CheckKind, ExpectConfig, ProbeDocument, StreamTimings } from '../types.js';
import { FailureCollector, sample } from './format.js';
import { compileJsonPath, type SelectedNode, selectNodes } from './jsonpath.js';
import { applyCompiledOperators, type CompiledOperators, compileOperators } from './operators.js';
import { type CompiledRegex, compileRegex } from './regex.js';
import { checkSchema } from './schema.js';
import { defaultStatuses, parseStatusPattern, type StatusPattern } from './status.js';

/** What one probe produced, as the assertions see it. */
export interface ExpectInput {
  /** The response read by the protocol adapter; absent when no body was read. */
  document?: ProbeDocument;
  /** HTTP status of the main exchange; absent when no response arrived (the status is then not judged). */
  status?: number;
  /** Duration judged against `expect.latency`, in milliseconds. */
  durationMs: number;
  kind: CheckKind;
  /** Output names the model's metadata declares (integrity); each must be present. */
  declaredOutputs?: string[];
  /** false turns off the silent-failure defaults (see {@link evaluateExpect}). Default true. */
  defaults?: boolean;
  /** A streamed answer's timings, judged against `ttft`, `maxTokenGap` and `minTokensPerSecond`. */
  stream?: StreamTimings;
}

/** The verdict: `failures` make the probe `fail`; `degraded` (latency only) make it `degraded`. */
export interface ExpectVerdict {
  failures: AssertionFailure[];
  degraded: AssertionFailure[];
}

const EMPTY_DOCUMENT: ProbeDocument = Object.freeze({ body: undefined, outputs: Object.freeze({}) });
/** {@link defaultStatuses}, parsed once rather than per probe. */
const LIVENESS_STATUSES = compileStatuses(defaultStatuses('liveness'));
const OTHER_STATUSES = compileStatuses(defaultStatuses('integrity'));

/**
 * Judges one probe against a check's `expect`, in this order (each failure carries `assertion`,
 * `selector`, `operator`, `expected`, `actual` and a one-line `message`):
 *
 * 1. **status** (`assertion: 'status'`): `expect.status` codes, classes (`"2xx"`) or ranges
 *    (`"200-399"`); default 2xx, and 200–399 for liveness (Kubernetes' httpGet). `status 503 not in [2xx]`.
 *    Skipped when `status` is absent.
 * 2. **latency** (`latency`): `durationMs ≥ failedMs` fails (`latency 212 ms ≥ failed threshold 180 ms`);
 *    else `≥ degradedMs` goes to `degraded` (Checkly's degradedResponseTime).
 * 2b. **stream** (`ttft`, `maxTokenGap`, `minTokensPerSecond`), on a streamed answer's
 *    {@link StreamTimings}: the two durations like latency (`ttft 812 ms ≥ failed threshold 500 ms`);
 *    tokens per second below `failed` fails, below `degraded` degrades. Configured but not measured — the
 *    answer was not streamed, no token came, fewer than two tokens for a rate — fails and says why.
 * 3. **outputs** (`outputs`): `expect.outputs.<name>` applies its operators to each value of
 *    `document.outputs[name]` (selectors `outputs.<name>[i]`); a missing output fails:
 *    `outputs.probability missing (outputs: label, score)`.
 * 4. **assertions** (`jsonpath`): each `{path, ...operators}` selects with RFC 9535 JSONPath over the
 *    document `{status, headers, body, outputs, shapes, modelVersion}`; selectors of failures are the
 *    matches' normalised paths (`$.body.model_name ("x") ≠ "credit-scorer"`). See `applyOperators`.
 * 5. **schema** (`schema`): JSON Schema 2020-12 over `document.body`.
 * 6. **body** (`body`): `contains` / `notContains` / `matches` on the raw text (`document.body` if it
 *    is a string, else its JSON).
 * 7. **defaults**, for integrity and canary checks unless `defaults` is false, and only when the status
 *    was accepted (a failed status already says the answer is wrong): no outputs at all
 *    (`outputs is empty`), an output with zero values (`outputs.probability is empty`), a non-finite number
 *    in an output (`outputs.probability[0] is NaN`), and a name in `declaredOutputs` missing from the
 *    outputs (`output "label" declared by the model's metadata is missing`, `declared-outputs`). An output
 *    named in `expect.outputs` is left to its own operators: its `notEmpty` replaces the empty check, and
 *    its `finite` (true or false) replaces the non-finite check.
 *
 * Failures per assertion are capped at five plus a line with the count. An invalid JSONPath, regular
 * expression, schema or status pattern is reported as a failure of its assertion, never thrown (the
 * config schema, built from vocabulary.ts, rejects those at load time).
 *
 * @example
 * evaluateExpect({ outputs: { probability: { range: [0, 1] } } }, { document, status: 200, durationMs: 42, kind: 'integrity' });
 * // {failures: [{…, message: 'outputs.probability[0] (1.73) not in [0, 1]'}], degraded: []}
 */
export function evaluateExpect(expect: ExpectConfig, input: ExpectInput): ExpectVerdict {
  const failures: AssertionFailure[] = [];
  const degraded: AssertionFailure[] = [];
  const document = input.document ?? EMPTY_DOCUMENT;
  const compiled = compileExpect(expect);

  const statusOk =
    input.status === undefined ||
    checkStatus(
      compiled.status ?? (input.kind === 'liveness' ? LIVENESS_STATUSES : OTHER_STATUSES),
      input.status,
      failures,
    );
  checkLatency(expect.latency, input.durationMs, failures, degraded);
  checkStream(expect, input.stream, failures, degraded);

  for (const output of compiled.outputs) checkOutput(output, document, failures);
  for (const assertion of compiled.assertions) checkAssertion(assertion, document, failures);
  if (expect.schema !== undefined) checkSchema(expect.schema, document.body, failures);
  if (expect.body) checkBody(expect.body, compiled.bodyPattern, document.body, failures);

  const judgesOutputs = input.kind === 'integrity' || input.kind === 'canary';
  if (input.defaults !== false && judgesOutputs && input.document && statusOk) {
    checkDefaults(expect, input.document, input.declaredOutputs, failures);
  }
  return { failures, degraded };
}

/** Accepted statuses as configured, each parsed once. */
interface CompiledStatuses {
  entries: ReadonlyArray<number | string>;
  patterns: ReadonlyArray<StatusPattern | string>;
}

/** One `expect.assertions[]` entry, compiled: its query, or why the path does not compile. */
type CompiledAssertion =
  | { path: string; query: JSONPathQuery; ops: CompiledOperators }
  | { path: string; query: undefined; message: string };

/**
 * An `expect` block compiled once: status patterns parsed, JSONPaths compiled, operator sets and
 * patterns turned into checks. What a probe does with it allocates little beyond what it reports.
 */
export interface CompiledExpect {
  status: CompiledStatuses | undefined;
  outputs: ReadonlyArray<{ name: string; selector: string; ops: CompiledOperators }>;
  assertions: readonly CompiledAssertion[];
  bodyPattern: CompiledRegex | undefined;
}

const compiledExpects = new WeakMap<ExpectConfig, CompiledExpect>();

/**
 * Compiles an `expect` block (cached by identity: a plan's `expect` is frozen after loading, so it
 * compiles on its first probe and never again; a reload builds new objects). The JSONPaths and patterns
 * come from the caches that config validation filled (jsonpath.ts, regex.ts), so nothing is parsed twice.
 */
export function compileExpect(expect: ExpectConfig): CompiledExpect {
  let compiled = compiledExpects.get(expect);
  if (compiled !== undefined) return compiled;
  const entries = expect.status;
  compiled = {
    status: entries === undefined ? undefined : compileStatuses(entries),
    outputs: Object.entries(expect.outputs ?? {}).map(([name, ops]) => ({
      name,
      selector: `outputs.${name}`,
      ops: compileOperators(ops),
    })),
    assertions: (expect.assertions ?? []).map((assertion): CompiledAssertion => {
      const { path } = assertion;
      const query = compileJsonPath(path);
      return query.ok
        ? { path, query: query.query, ops: compileOperators(assertion) }
        : { path, query: undefined, message: query.message };
    }),
    bodyPattern: expect.body?.matches === undefined ? undefined : compileRegex(expect.body.matches),
  };
  compiledExpects.set(expect, compiled);
  return compiled;
}

function compileStatuses(entries: ReadonlyArray<number | string>): CompiledStatuses {
  return { entries, patterns: entries.map(parseStatusPattern) };
}

function checkAssertion(
  assertion: CompiledAssertion,
  document: ProbeDocument,
  out: AssertionFailure[],
): void {
  const { path } = assertion;
  if (assertion.query === undefined) {
    out.push({
      assertion: 'jsonpath',
      selector: path,
      expected: 'a valid JSONPath',
      actual: path,
      message: assertion.message,
    });
    return;
  }
  let nodes: SelectedNode[];
  try {
    nodes = selectNodes(assertion.query, document);
  } catch (err) {
    out.push({
      assertion: 'jsonpath',
      selector: path,
      expected: 'a selection',
      actual: undefined,
      message: `${path}: could not be evaluated: ${(err as Error).message}`,
    });
    return;
  }
  applyCompiledOperators(assertion.ops, { assertion: 'jsonpath', selector: path, nodes }, out);
}

function checkStatus(statuses: CompiledStatuses, status: number, out: AssertionFailure[]): boolean {
  const { entries, patterns } = statuses;
  for (const pattern of patterns) if (typeof pattern !== 'string' && pattern.test(status)) return true;
  const labels = patterns.map((pattern, i) =>
    typeof pattern === 'string' ? String(entries[i]) : pattern.label,
  );
  out.push({
    assertion: 'status',
    selector: 'status',
    operator: 'in',
    // A copy: the default lists are shared by every probe.
    expected: [...entries],
    actual: status,
    message: `status ${status} not in [${labels.join(', ')}]`,
  });
  return false;
}

function checkLatency(
  latency: ExpectConfig['latency'],
  durationMs: number,
  failures: AssertionFailure[],
  degraded: AssertionFailure[],
): void {
  if (!latency) return;
  const shown = Math.round(durationMs);
  const { failedMs, degradedMs } = latency;
  if (failedMs !== undefined && durationMs >= failedMs) {
    failures.push({
      assertion: 'latency',
      selector: 'durationMs',
      operator: 'lt',
      expected: { failedMs },
      actual: durationMs,
      message: `latency ${shown} ms ≥ failed threshold ${failedMs} ms`,
    });
  } else if (degradedMs !== undefined && durationMs >= degradedMs) {
    degraded.push({
      assertion: 'latency',
      selector: 'durationMs',
      operator: 'lt',
      expected: { degradedMs },
      actual: durationMs,
      message: `latency ${shown} ms ≥ degraded threshold ${degradedMs} ms`,
    });
  }
}

function checkStream(
  expect: ExpectConfig,
  stream: StreamTimings | undefined,
  failures: AssertionFailure[],
  degraded: AssertionFailure[],
): void {
  const { ttft, maxTokenGap, minTokensPerSecond } = expect;
  if (ttft === undefined && maxTokenGap === undefined && minTokensPerSecond === undefined) return;
  const missing = (assertion: string, expected: unknown, why: string): void => {
    failures.push({ assertion, expected, actual: null, message: `${assertion} not measured: ${why}` });
  };
  if (stream === undefined) {
    const why = 'the answer was not streamed';
    if (ttft) missing('ttft', ttft, why);
    if (maxTokenGap) missing('maxTokenGap', maxTokenGap, why);
    if (minTokensPerSecond) missing('minTokensPerSecond', minTokensPerSecond, why);
    return;
  }
  const twoLevels = (
    assertion: string,
    bounds: { degradedMs?: number; failedMs?: number } | undefined,
    valueMs: number,
  ): void => {
    if (!bounds) return;
    const shown = Math.round(valueMs);
    if (bounds.failedMs !== undefined && valueMs >= bounds.failedMs) {
      failures.push({
        assertion,
        selector: `stream.${assertion}`,
        operator: 'lt',
        expected: { failedMs: bounds.failedMs },
        actual: valueMs,
        message: `${assertion} ${shown} ms ≥ failed threshold ${bounds.failedMs} ms`,
      });
    } else if (bounds.degradedMs !== undefined && valueMs >= bounds.degradedMs) {
      degraded.push({
        assertion,
        selector: `stream.${assertion}`,
        operator: 'lt',
        expected: { degradedMs: bounds.degradedMs },
        actual: valueMs,
        message: `${assertion} ${shown} ms ≥ degraded threshold ${bounds.degradedMs} ms`,
      });
    }
  };
  if (ttft && stream.ttftMs === null) missing('ttft', ttft, 'no token arrived');
  else if (stream.ttftMs !== null) twoLevels('ttft', ttft, stream.ttftMs);
  twoLevels('maxTokenGap', maxTokenGap, stream.maxTokenGapMs);
  if (!minTokensPerSecond) return;
  const rate = stream.tokensPerSecond;
  if (rate === null) {
    missing(
      'minTokensPerSecond',
      minTokensPerSecond,
      `${stream.tokens} token(s): a rate needs two or more (raise max_tokens / num_predict)`,
    );
    return;
  }
  const shown = rate.toFixed(1);
  const { failed, degraded: warn } = minTokensPerSecond;
  if (failed !== undefined && rate < failed) {
    failures.push({
      assertion: 'minTokensPerSecond',
      selector: 'stream.tokensPerSecond',
      operator: 'ge',
      expected: { failed },
      actual: rate,
      message: `${shown} tokens/s < failed threshold ${failed} tokens/s`,
    });
  } else if (warn !== undefined && rate < warn) {
    degraded.push({
      assertion: 'minTokensPerSecond',
      selector: 'stream.tokensPerSecond',
      operator: 'ge',
      expected: { degraded: warn },
      actual: rate,
      message: `${shown} tokens/s < degraded threshold ${warn} tokens/s`,
    });
  }
}

/** `(outputs: label, score)`, at most ten names. */
function listOutputs(outputs: Record<string, unknown>): string {
  const names = Object.keys(outputs);
  if (names.length === 0) return 'none';
  return names.length > 10
    ? `${names.slice(0, 10).join(', ')}, … ${names.length - 10} more`
    : names.join(', ');
}

function valuesOf(outputs: ProbeDocument['outputs'], name: string): unknown[] | undefined {
  if (!Object.hasOwn(outputs, name)) return undefined;
  const values: unknown = outputs[name];
  return Array.isArray(values) ? values : [values];
}

function checkOutput(
  output: CompiledExpect['outputs'][number],
  document: ProbeDocument,
  out: AssertionFailure[],
): void {
  const { name, selector } = output;
  const values = valuesOf(document.outputs, name);
  if (values === undefined) {
    out.push({
      assertion: 'outputs',
      selector,
      expected: 'present',
      actual: Object.keys(document.outputs),
      message: `${selector} missing (outputs: ${listOutputs(document.outputs)})`,
    });
    return;
  }
  const nodes = values.map((value, i) => ({ path: `${selector}[${i}]`, value }));
  applyCompiledOperators(output.ops, { assertion: 'outputs', selector, nodes }, out);
}

function checkBody(
  expectBody: NonNullable<ExpectConfig['body']>,
  pattern: CompiledRegex | undefined,
  body: unknown,
  out: AssertionFailure[],
): void {
  const text = typeof body === 'string' ? body : (JSON.stringify(body) ?? '');
  const fail = (operator: string, expected: unknown, message: string) =>
    out.push({ assertion: 'body', selector: 'body', operator, expected, actual: sample(text), message });
  const { contains, notContains, matches } = expectBody;
  if (contains !== undefined && !text.includes(contains)) {
    fail('contains', contains, `body does not contain ${JSON.stringify(contains)}`);
  }
  if (notContains !== undefined) {
    const at = text.indexOf(notContains);
    if (at >= 0)
      fail('notContains', notContains, `body contains ${JSON.stringify(notContains)} (at character ${at})`);
  }
  if (matches !== undefined && pattern !== undefined) {
    if (!pattern.ok) fail('matches', matches, `body: ${pattern.message}`);
    else if (!pattern.regex.test(text)) fail('matches', matches, `body does not match /${matches}/`);
  }
}

function checkDefaults(
  expect: ExpectConfig,
  document: ProbeDocument,
  declaredOutputs: readonly string[] | undefined,
  out: AssertionFailure[],
): void {
  const { outputs } = document;
  const explicit = expect.outputs ?? {};
  const names = Object.keys(outputs);
  if (names.length === 0) {
    out.push({
      assertion: 'outputs',
      selector: 'outputs',
      operator: 'notEmpty',
      expected: 'at least one output',
      actual: {},
      message: 'outputs is empty',
    });
  }
  for (const name of names) {
    const values = valuesOf(outputs, name) ?? [];
    const own = Object.hasOwn(explicit, name) ? explicit[name] : undefined;
    const selector = `outputs.${name}`;
    if (values.length === 0 && own === undefined) {
      out.push({
        assertion: 'outputs',
        selector,
        operator: 'notEmpty',
        expected: 'at least one value',
        actual: [],
        message: `${selector} is empty`,
      });
    }
    if (own?.finite === undefined) checkFinite(selector, values, out);
  }
  for (const name of declaredOutputs ?? []) {
    if (Object.hasOwn(outputs, name) || Object.hasOwn(explicit, name)) continue;
    out.push({
      assertion: 'declared-outputs',
      selector: `outputs.${name}`,
      expected: 'present',
      actual: names,
      message: `output ${JSON.stringify(name)} declared by the model's metadata is missing`,
    });
  }
}

/**
 * Every number in the output (nested arrays and objects included) must be finite. Walked with an
 * explicit stack, each object once: an output may be as deep as the JSON reader allows, and one that
 * `extract` picked with `$` holds the document that holds it (a cycle).
 */
function checkFinite(selector: string, values: readonly unknown[], out: AssertionFailure[]): void {
  const collector = new FailureCollector(out, 'outputs', selector);
  const seen = new WeakSet<object>();
  const visit = (root: unknown, rootPath: string): void => {
    const stack: [unknown, string][] = [[root, rootPath]];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const [value, path] = next;
      if (typeof value === 'number') {
        if (!Number.isFinite(value)) {
          collector.add(() => ({
            assertion: 'outputs',
            selector: path,
            operator: 'finite',
            expected: 'a finite number',
            actual: value,
            message: `${path} is ${value}`,
          }));
        }
      } else if (value !== null && typeof value === 'object' && !seen.has(value)) {
        seen.add(value);
        // Pushed in reverse, so that failures are found in document order.
        if (Array.isArray(value)) {
          for (let i = value.length - 1; i >= 0; i--) stack.push([value[i], `${path}[${i}]`]);
        } else {
          const entries = Object.entries(value);
          for (let i = entries.length - 1; i >= 0; i--) {
            const [key, item] = entries[i] as [string, unknown];
            stack.push([item, `${path}.${key}`]);
          }
        }
      }
    }
  };
  for (let i = 0; i < values.length; i++) visit(values[i], `${selector}[${i}]`);
  collector.finish();
}
