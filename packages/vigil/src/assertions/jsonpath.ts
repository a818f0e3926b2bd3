/**
 * JSONPath (RFC 9535) via json-p3: compiled once per path string, and every match returned with its
 * normalised path, so a failure can say where a value was found (`$.outputs[0].data[3]`).
 */
import { JSONPathEnvironment, type JSONPathQuery, type JSONValue } from 'json-p3';
import { MAX_JSON_DEPTH } from '../wire/json.js';

/**
 * json-p3 with a recursion limit above the JSON reader's depth limit: its default (50) is below
 * {@link MAX_JSON_DEPTH} (64), so a descendant segment (`$..x`) on a body the reader accepted threw
 * `JSONPathRecursionLimitError` at 49 levels (issue #14, found again by `jsonpath.fuzz.test.ts`). The
 * reader refuses anything deeper than 64, and the probe document adds a level or two around the body
 * (`$.body`, `outputs`), so 16 levels of margin make the limit unreachable for a probe document while
 * still bounding the recursion (80 frames) for any value a library caller passes.
 */
const environment = new JSONPathEnvironment({ maxRecursionDepth: MAX_JSON_DEPTH + 16 });

/** One selected node: its normalised path (shorthand form, `$.body.model_name`) and its value. */
export interface SelectedNode {
  path: string;
  value: unknown;
}

/**
 * A compiled path, or why the path is not valid RFC 9535 JSONPath: `reason` is json-p3's words
 * (`unexpected shorthand selector '[' ('$.[':2)`), `message` the same with the path, for a failure.
 */
export type CompiledPath =
  | { ok: true; query: JSONPathQuery }
  | { ok: false; reason: string; message: string };

/**
 * Paths come from config, so the set is small; the bound only keeps a caller that makes up paths from
 * growing it without end. The oldest entry goes first.
 */
const MAX_CACHED = 4096;
const compiled = new Map<string, CompiledPath>();

function remember(path: string, value: CompiledPath): CompiledPath {
  if (compiled.size >= MAX_CACHED) compiled.delete(compiled.keys().next().value as string);
  compiled.set(path, value);
  return value;
}

/**
 * Compiles an RFC 9535 JSONPath (cached per path string, so the compile at config load is the only one).
 * Never throws: a bad path comes back as `{ok: false, reason, message}`, e.g. `invalid JSONPath "$.[":
 * unexpected shorthand selector '[' ('$.[':2)`.
 *
 * @example
 * const path = compileJsonPath('$.outputs[?@.name == "probability"].data[*]');
 * if (path.ok) selectNodes(path.query, document);
 */
export function compileJsonPath(path: string): CompiledPath {
  const cached = compiled.get(path);
  if (cached) return cached;
  let result: CompiledPath;
  try {
    result = { ok: true, query: environment.compile(path) };
  } catch (err) {
    const message = (err as Error).message;
    const rewritten = message.startsWith("invalid number literal '0") ? rewriteZeroLiterals(path) : path;
    try {
      if (rewritten === path) throw err;
      result = { ok: true, query: environment.compile(rewritten) };
    } catch {
      result = {
        ok: false,
        reason: message,
        message: `invalid JSONPath ${JSON.stringify(path)}: ${message}`,
      };
    }
  }
  return remember(path, result);
}

const ZERO_LITERAL = /0(?:\.([0-9]+))?(?:[eE]([+-]?[0-9]+))?/y;
const NAME_CHAR = /[A-Za-z0-9_.\-\u0080-\uffff]/;

/**
 * json-p3 2.3.x rejects number literals whose integer part is 0 — `0.5`, `0e1` — which
 * RFC 9535 §2.3.5.1 allows (`int = "0" / …`, then `frac` and `exp`), and which probability filters need
 * (`[?@.score > 0.5]`). This rewrites each such literal outside string literals to the same decimal
 * without the leading zero (`0.5` → `5e-1`, `0.025e2` → `25e-1`, `0e1` → `0`); the same decimal parses to
 * the same double, so the query means exactly what was written. Used only when the original failed.
 */
export function rewriteZeroLiterals(path: string): string {
  let out = '';
  let i = 0;
  while (i < path.length) {
    const c = path[i] as string;
    if (c === '"' || c === "'") {
      let j = i + 1;
      while (j < path.length && path[j] !== c) j += path[j] === '\\' ? 2 : 1;
      out += path.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const before = path[i - 1];
    ZERO_LITERAL.lastIndex = i;
    const match =
      c === '0' && (before === undefined || !NAME_CHAR.test(before)) ? ZERO_LITERAL.exec(path) : null;
    const after = match ? path[i + match[0].length] : undefined;
    if (!match || match[0].length === 1 || (after !== undefined && NAME_CHAR.test(after))) {
      out += c;
      i++;
      continue;
    }
    const fraction = match[1] ?? '';
    const exponent = Number(match[2] ?? '0');
    const digits = fraction.replace(/^0+/, '');
    out += digits === '' ? '0' : `${digits}e${exponent - fraction.length}`;
    i += match[0].length;
  }
  return out;
}

/**
 * Applies a compiled path to a value: the selected nodes in document order, each with its normalised
 * path in shorthand form (json-p3's `pretty` form: `$.a[0]["b c"]`).
 *
 * @throws json-p3's `JSONPathError` for evaluation limits (e.g. recursion depth); callers report it.
 */
export function selectNodes(query: JSONPathQuery, value: unknown): SelectedNode[] {
  const out: SelectedNode[] = [];
  for (const node of query.query(value as JSONValue)) out.push({ path: node.getPath(), value: node.value });
  return out;
}

/**
 * Applies a compiled path to a value: the selected values in document order, without their paths (for
 * `extract`, which needs no locations, so no path string is built per node).
 *
 * @throws json-p3's `JSONPathError` for evaluation limits (e.g. recursion depth); callers report it.
 */
export function selectValues(query: JSONPathQuery, value: unknown): unknown[] {
  return query.query(value as JSONValue).values();
}
