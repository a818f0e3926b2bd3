/**
 * Golden sets: the known inputs a canary check sends, each with a stable id so that its answer can be
 * compared with the same case's baseline entry. A set is given inline in the config or as a JSONL file
 * (one `{"id": …, "request": …}` object per line), read here with the strict JSON reader.
 *
 * Whether a `request` has the right shape for the target's protocol is the protocol adapter's to say
 * (the same request shapes as integrity checks); this module checks the set itself.
 */
import { readFile } from 'node:fs/promises';
import { closest } from '../diagnostics/suggest.js';
import { ConfigError } from '../errors.js';
import { parseJson } from '../wire/json.js';

/** One golden case: a stable id and the request, in the target protocol's own shape. */
export interface GoldenCase {
  /** Unique within its set; names the case in baselines, failures and the dashboard. */
  readonly id: string;
  /** The request body (OIP: `{inputs, …}`; openai: `{prompt}` or `{messages}`; …), any JSON value. */
  readonly request: unknown;
}

/** A set of cases, or every problem found in it (one line each, with where). */
export type GoldenSetResult =
  | { ok: true; cases: GoldenCase[] }
  | {
      ok: false;
      /** At most {@link MAX_GOLDEN_SET_PROBLEMS}, then a line counting the rest. */
      problems: string[];
      /** How many problems there are in all. */
      total: number;
    };

/** Longest case id, in UTF-16 code units: ids appear in messages and metric-free labels, so keep them short. */
export const MAX_CASE_ID_LENGTH = 200;

/** At most this many problems are listed for one set; the rest are counted. */
export const MAX_GOLDEN_SET_PROBLEMS = 50;

const CASE_KEYS = ['id', 'request'] as const;
// C0 and C1 controls, and the line and paragraph separators: an id is shown on one line.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point.
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  return `${typeof value} ${String(value)}`;
}

/** Why a value is not a usable case id, or undefined when it is one. */
function idProblem(id: unknown): string | undefined {
  if (id === undefined) return '"id" is missing';
  if (typeof id !== 'string') return `"id" must be a string, got ${describe(id)}`;
  if (id.trim() === '') return '"id" must not be empty';
  if (id.length > MAX_CASE_ID_LENGTH)
    return `"id" is ${id.length} characters long; the maximum is ${MAX_CASE_ID_LENGTH}`;
  if (CONTROL.test(id)) return `"id" ${JSON.stringify(id)} contains a control character or line break`;
  return undefined;
}

/**
 * Checks one case object; pushes problems (prefixed with `where`) and returns the case when it is
 * sound. `seen` maps ids to where they were first given, for duplicates.
 */
function checkCase(
  value: unknown,
  where: string,
  seen: Map<string, string>,
  problems: string[],
): GoldenCase | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${where}: expected an object {"id": …, "request": …}, got ${describe(value)}`);
    return undefined;
  }
  const record = value as Record<string, unknown>;
  let sound = true;
  for (const key of Object.keys(record)) {
    if ((CASE_KEYS as readonly string[]).includes(key)) continue;
    const hint = closest(key, CASE_KEYS);
    problems.push(`${where}: unknown key ${JSON.stringify(key)}${hint ? ` (did you mean "${hint}"?)` : ''}`);
    sound = false;
  }
  const id = record.id;
  const badId = idProblem(id);
  if (badId) {
    problems.push(`${where}: ${badId}`);
    sound = false;
  } else {
    const first = seen.get(id as string);
    if (first !== undefined) {
      problems.push(`${where}: duplicate id ${JSON.stringify(id)} (first at ${first})`);
      sound = false;
    } else {
      seen.set(id as string, where);
    }
  }
  if (!Object.hasOwn(record, 'request')) {
    problems.push(`${where}: "request" is missing`);
    sound = false;
  } else if (record.request === null) {
    problems.push(`${where}: "request" must not be null`);
    sound = false;
  }
  return sound ? { id: id as string, request: record.request } : undefined;
}

function finish(cases: GoldenCase[], problems: string[], empty: string): GoldenSetResult {
  if (problems.length === 0 && cases.length === 0) problems.push(empty);
  if (problems.length === 0) return { ok: true, cases };
  const total = problems.length;
  if (total > MAX_GOLDEN_SET_PROBLEMS) {
    const more = total - MAX_GOLDEN_SET_PROBLEMS;
    problems.splice(MAX_GOLDEN_SET_PROBLEMS, more, `… and ${more} more problems`);
  }
  return { ok: false, problems, total };
}

/**
 * Reads a golden set in JSONL: one JSON object `{"id": "…", "request": …}` per line, read with the
 * strict JSON reader (`wire/json.ts`: RFC 8259, no bare `NaN`). Blank lines are skipped; a byte order
 * mark and CRLF line ends are accepted.
 *
 * Every problem is reported, each as `FILE:LINE: what is wrong`, e.g.
 * `cases.jsonl:7: duplicate id "late-payer" (first at cases.jsonl:2)` or
 * `cases.jsonl:3: invalid JSON: expected "," or "}" in an object at byte 14 (…)` (byte offsets count
 * within the line). A file without cases is a problem too.
 *
 * @param file the path shown in problems (as given in the config)
 * @example parseGoldenSetJsonl('{"id": "a", "request": {"inputs": []}}\n', 'cases.jsonl')
 * // {ok: true, cases: [{id: 'a', request: {inputs: []}}]}
 */
export function parseGoldenSetJsonl(text: string, file: string): GoldenSetResult {
  const cases: GoldenCase[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  const lines = text.split('\n');
  lines.forEach((raw, index) => {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (line.trim() === '' || (index === 0 && line === '\ufeff')) return;
    const where = `${file}:${index + 1}`;
    const parsed = parseJson(line);
    if (!parsed.ok) {
      problems.push(`${where}: invalid JSON: ${parsed.message}`);
      return;
    }
    const found = checkCase(parsed.value, where, seen, problems);
    if (found) cases.push(found);
  });
  return finish(cases, problems, `${file}: no cases (every line is blank)`);
}

/**
 * Checks an inline golden set (a list of `{id, request}` objects from the config). Problems name the
 * config path: `targets[0].checks.canary.cases[2]: duplicate id "a" (first at …cases[0])`.
 *
 * @param where the list's path in the config, e.g. `targets[0].checks.canary.cases`
 */
export function checkGoldenCases(value: unknown, where: string): GoldenSetResult {
  if (!Array.isArray(value)) {
    return { ok: false, problems: [`${where}: expected a list of cases, got ${describe(value)}`], total: 1 };
  }
  const cases: GoldenCase[] = [];
  const problems: string[] = [];
  const seen = new Map<string, string>();
  value.forEach((item, i) => {
    const found = checkCase(item, `${where}[${i}]`, seen, problems);
    if (found) cases.push(found);
  });
  return finish(cases, problems, `${where}: no cases (the list is empty)`);
}

/**
 * Reads a JSONL golden set from disk ({@link parseGoldenSetJsonl}).
 *
 * @param path the file to read
 * @param shownAs how messages name it (default: `path`), e.g. the path as written in the config
 * @throws ConfigError `VIGIL_ERR_CANARY_CASES` when the file cannot be read (the message says why, e.g.
 *   `ENOENT`) or has problems (`diagnostics` lists each, the message gives their count)
 */
export async function loadGoldenSet(path: string, shownAs: string = path): Promise<GoldenCase[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new ConfigError(
      'VIGIL_ERR_CANARY_CASES',
      `cannot read golden set ${shownAs} (${code}): check the path, which is relative to the config file`,
      [],
      { cause: err },
    );
  }
  const result = parseGoldenSetJsonl(text, shownAs);
  if (result.ok) return result.cases;
  const more = result.total - 1;
  throw new ConfigError(
    'VIGIL_ERR_CANARY_CASES',
    `golden set ${shownAs} is invalid: ${result.problems[0]}${more > 0 ? ` (and ${more} more, listed above)` : ''}`,
    result.problems,
  );
}
