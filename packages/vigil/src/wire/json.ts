/**
 * Strict JSON for probe bodies: {@link parseJson} accepts RFC 8259 JSON only, and when a body is not
 * JSON it says where and why — in particular the bare `NaN` / `Infinity` / `-Infinity` tokens that
 * Python's `json.dumps` writes by default, which are the signature of a model emitting garbage.
 * {@link parseJsonLenient} reads those tokens as numbers, for callers that want to point at the
 * output that was NaN rather than reject the whole body.
 */

/** A parsed value, or why the text is not JSON. */
export type JsonParseResult =
  | { ok: true; value: unknown }
  | { ok: false; code: 'INVALID_JSON' | 'NON_FINITE_NUMBER' | 'TOO_DEEP'; message: string };

/**
 * How deeply a body may nest arrays and objects: 64 levels. Model answers nest a few levels (an OIP
 * tensor of rank 4 in its response is 7 deep); what reads a body afterwards (normalisers, JSONPath's
 * descendant segment, assertions) recurses, so a hostile body nested thousands deep is refused here,
 * in one place, instead of exhausting a stack somewhere later.
 */
export const MAX_JSON_DEPTH = 64;

/** Where a lenient parse met a bare non-finite token. */
export interface NonFiniteToken {
  token: 'NaN' | 'Infinity' | '-Infinity';
  /** Byte offset of the token in the UTF-8 body. */
  byte: number;
  /** JSONPath of the value, in the shorthand form used in messages, e.g. `$.outputs[0].data[3]`. */
  path: string;
}

/** A lenient parse: the value (with NaN / ±Infinity numbers) and every non-finite token met. */
export type JsonLenientResult =
  | { ok: true; value: unknown; nonFinite: NonFiniteToken[] }
  | { ok: false; code: 'INVALID_JSON'; message: string };

const BOM = 0xfeff;

function toText(body: Buffer | string): { text: string; bomBytes: number } {
  const text = typeof body === 'string' ? body : body.toString('utf8');
  // RFC 8259 §8.1 lets a parser ignore a byte order mark; JSON.parse does not, so strip it here.
  return text.charCodeAt(0) === BOM ? { text: text.slice(1), bomBytes: 3 } : { text, bomBytes: 0 };
}

/**
 * Parses a response body as strict JSON (RFC 8259: `JSON.parse`, plus a leading byte order mark is
 * ignored).
 *
 * On failure the text is scanned to find the first problem:
 * - a bare `NaN`, `Infinity` or `-Infinity` where a value belongs → `NON_FINITE_NUMBER`, e.g.
 *   `bare NaN token at byte 57 (…"probability": [NaN, 0.2]…)`;
 * - anything else → `INVALID_JSON` with the byte offset and context, e.g.
 *   `unexpected character "}" at byte 12 (…{"a": 1,}…)`; an empty body is `the body is empty`.
 *
 * Byte offsets count UTF-8 bytes of the body as received (a stripped byte order mark included).
 * The success path is a single `JSON.parse`; the scan runs only for bodies that fail it.
 *
 * @example
 * parseJson('{"p": [0.2, NaN]}');
 * // {ok: false, code: 'NON_FINITE_NUMBER', message: 'bare NaN token at byte 12 ({"p": [0.2, NaN]})'}
 */
export function parseJson(body: Buffer | string, maxDepth = MAX_JSON_DEPTH): JsonParseResult {
  const { text, bomBytes } = toText(body);
  try {
    const value = JSON.parse(text);
    // A body shorter than twice the limit cannot nest deeper than it: most bodies skip the scan.
    const deep = text.length > 2 * maxDepth ? deepestAt(text, maxDepth) : -1;
    if (deep >= 0) {
      return {
        ok: false,
        code: 'TOO_DEEP',
        message: `nested deeper than ${maxDepth} levels at byte ${byteOffset(text, deep) + bomBytes}`,
      };
    }
    return { ok: true, value };
  } catch {
    const reader = new Reader(text, bomBytes, false);
    const problem = reader.findProblem();
    // JSON.parse and the scanner disagree only on inputs the scanner was not written for; still answer.
    if (!problem) return { ok: false, code: 'INVALID_JSON', message: 'the body is not valid JSON' };
    return {
      ok: false,
      code: problem.nonFinite ? 'NON_FINITE_NUMBER' : 'INVALID_JSON',
      message: problem.message,
    };
  }
}

/**
 * Where valid JSON text first opens a level deeper than `maxDepth` (a UTF-16 index), or -1: one pass,
 * no allocation, skipping strings.
 */
function deepestAt(text: string, maxDepth: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      if (++depth > maxDepth) return i;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return -1;
}

/** UTF-8 byte offset of a UTF-16 index. */
function byteOffset(text: string, index: number): number {
  return Buffer.byteLength(text.slice(0, index), 'utf8');
}

/**
 * Parses a body as JSON, reading bare `NaN`, `Infinity` and `-Infinity` tokens as the numbers they
 * name and listing each one (token, byte offset, JSONPath) in `nonFinite`. Everything else is as
 * strict as {@link parseJson}: any other syntax error is `INVALID_JSON` with its position.
 *
 * Use it where a body with a NaN should still be judged value by value (so the failure can say
 * `outputs.probability[0] is NaN`); the adapters' default is the strict {@link parseJson}, which rejects
 * the body as `NON_FINITE_NUMBER`.
 *
 * @example
 * parseJsonLenient('{"p": [NaN]}');
 * // {ok: true, value: {p: [NaN]}, nonFinite: [{token: 'NaN', byte: 7, path: '$.p[0]'}]}
 */
export function parseJsonLenient(body: Buffer | string): JsonLenientResult {
  const { text, bomBytes } = toText(body);
  const reader = new Reader(text, bomBytes, true);
  const result = reader.parseAll();
  if (!result.ok) return { ok: false, code: 'INVALID_JSON', message: result.message };
  return { ok: true, value: result.value, nonFinite: reader.nonFinite };
}

const SHORTHAND_NAME = /^[\p{ID_Start}_]\p{ID_Continue}*$/u;

/** A quoted name selector: single quotes (RFC 9535 normalised form) unless the name has only `'`. */
function quoteName(name: string): string {
  if (name.includes("'") && !name.includes('"')) return JSON.stringify(name);
  return `'${JSON.stringify(name).slice(1, -1).replaceAll('\\"', '"').replaceAll("'", "\\'")}'`;
}

/**
 * Formats a location (member names and array indexes from the root) as a JSONPath in shorthand
 * form: `['outputs', 0, 'data']` → `$.outputs[0].data`; names that are not identifiers are quoted:
 * `$['model-name']`. This is exactly the form json-p3 prints matched nodes' paths in (its `pretty`
 * form), so every selector in Vigil's messages looks alike.
 */
export function formatJsonPath(location: ReadonlyArray<string | number>, root = '$'): string {
  let out = root;
  for (const part of location) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (SHORTHAND_NAME.test(part)) out += `.${part}`;
    else out += `[${quoteName(part)}]`;
  }
  return out;
}

/** Thrown inside the reader only; never escapes this module. */
class Problem {
  constructor(
    readonly message: string,
    readonly nonFinite: boolean,
  ) {}
}

const NON_FINITE: ReadonlyArray<NonFiniteToken['token']> = ['-Infinity', 'Infinity', 'NaN'];
const NON_FINITE_VALUE: Record<NonFiniteToken['token'], number> = {
  NaN: Number.NaN,
  Infinity: Number.POSITIVE_INFINITY,
  '-Infinity': Number.NEGATIVE_INFINITY,
};
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const CONTEXT_CHARS = 24;

/**
 * A recursive-descent JSON reader used off the hot path: to locate the first error of a body that
 * JSON.parse rejected (`build` false), and to parse leniently (`build` true).
 */
class Reader {
  private i = 0;
  private readonly location: Array<string | number> = [];
  readonly nonFinite: NonFiniteToken[] = [];

  constructor(
    private readonly text: string,
    private readonly bomBytes: number,
    private readonly lenient: boolean,
  ) {}

  findProblem(): Problem | undefined {
    try {
      this.document();
      return undefined;
    } catch (err) {
      return this.asProblem(err);
    }
  }

  parseAll(): { ok: true; value: unknown } | { ok: false; message: string } {
    try {
      return { ok: true, value: this.document() };
    } catch (err) {
      return { ok: false, message: this.asProblem(err).message };
    }
  }

  /** A body nested deeper than the stack allows is reported, not thrown. */
  private asProblem(err: unknown): Problem {
    if (err instanceof Problem) return err;
    if (err instanceof RangeError)
      return new Problem(`nested too deeply to read (at byte ${this.byteAt(this.i)})`, false);
    throw err;
  }

  private document(): unknown {
    this.skipSpace();
    if (this.i >= this.text.length) throw new Problem('the body is empty', false);
    const value = this.value();
    this.skipSpace();
    if (this.i < this.text.length) throw this.problem('unexpected data after the JSON value');
    return value;
  }

  private value(): unknown {
    const { text } = this;
    const c = text[this.i];
    switch (c) {
      case '{':
        return this.object();
      case '[':
        return this.array();
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      case undefined:
        throw this.problem('unexpected end of input');
    }
    for (const token of NON_FINITE) {
      if (text.startsWith(token, this.i)) return this.nonFiniteToken(token);
    }
    NUMBER.lastIndex = this.i;
    const match = NUMBER.exec(text);
    if (!match) throw this.problem('unexpected character');
    this.i += match[0].length;
    return Number(match[0]);
  }

  private nonFiniteToken(token: NonFiniteToken['token']): number {
    const byte = this.byteAt(this.i);
    if (!this.lenient) {
      throw new Problem(`bare ${token} token at byte ${byte} (${this.context(this.i)})`, true);
    }
    this.nonFinite.push({ token, byte, path: formatJsonPath(this.location) });
    this.i += token.length;
    return NON_FINITE_VALUE[token];
  }

  private object(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    this.i++;
    this.skipSpace();
    if (this.text[this.i] === '}') {
      this.i++;
      return out;
    }
    for (;;) {
      if (this.text[this.i] !== '"') throw this.problem('expected a member name in double quotes');
      const key = this.string();
      this.skipSpace();
      if (this.text[this.i] !== ':') throw this.problem('expected ":" after a member name');
      this.i++;
      this.skipSpace();
      this.location.push(key);
      const value = this.value();
      this.location.pop();
      // Own property even for "__proto__", as JSON.parse does.
      Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      this.skipSpace();
      const c = this.text[this.i];
      if (c === '}') {
        this.i++;
        return out;
      }
      if (c !== ',') throw this.problem('expected "," or "}" in an object');
      this.i++;
      this.skipSpace();
    }
  }

  private array(): unknown[] {
    const out: unknown[] = [];
    this.i++;
    this.skipSpace();
    if (this.text[this.i] === ']') {
      this.i++;
      return out;
    }
    for (;;) {
      this.location.push(out.length);
      out.push(this.value());
      this.location.pop();
      this.skipSpace();
      const c = this.text[this.i];
      if (c === ']') {
        this.i++;
        return out;
      }
      if (c !== ',') throw this.problem('expected "," or "]" in an array');
      this.i++;
      this.skipSpace();
    }
  }

  private string(): string {
    const { text } = this;
    const start = this.i;
    let j = start + 1;
    for (;;) {
      const code = text.charCodeAt(j);
      if (Number.isNaN(code)) {
        this.i = start;
        throw this.problem('unterminated string');
      }
      if (code === 0x22) break;
      if (code < 0x20) {
        this.i = j;
        throw this.problem('control character in a string');
      }
      if (code === 0x5c) {
        const next = text[j + 1];
        if (next === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(j + 2, j + 6))) {
            this.i = j;
            throw this.problem('invalid \\u escape');
          }
          j += 6;
          continue;
        }
        if (next === undefined || !'"\\/bfnrt'.includes(next)) {
          this.i = j;
          throw this.problem('invalid escape');
        }
        j += 2;
        continue;
      }
      j++;
    }
    this.i = j + 1;
    return JSON.parse(text.slice(start, j + 1)) as string;
  }

  private literal<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.i)) throw this.problem('unexpected character');
    this.i += word.length;
    return value;
  }

  private skipSpace(): void {
    const { text } = this;
    for (;;) {
      const c = text.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i++;
    }
  }

  private problem(what: string): Problem {
    const c = this.text[this.i];
    const seen = c === undefined || what.startsWith('unexpected end') ? '' : ` ${JSON.stringify(c)}`;
    const label = what === 'unexpected character' ? `unexpected character${seen}` : what;
    return new Problem(`${label} at byte ${this.byteAt(this.i)} (${this.context(this.i)})`, false);
  }

  private byteAt(index: number): number {
    return this.bomBytes + Buffer.byteLength(this.text.slice(0, index), 'utf8');
  }

  /** A one-line excerpt around `index`, `…` marking cuts. */
  private context(index: number): string {
    const from = Math.max(0, index - CONTEXT_CHARS);
    const to = Math.min(this.text.length, index + CONTEXT_CHARS);
    let excerpt = '';
    for (const c of this.text.slice(from, to)) excerpt += c < ' ' ? ' ' : c;
    return `${from > 0 ? '…' : ''}${excerpt}${to < this.text.length ? '…' : ''}`;
  }
}
