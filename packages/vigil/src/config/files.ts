/**
 * Files a config refers to: TLS material (must exist), `expect.schema` files (read and parsed as JSON at
 * load time) and canary baselines (resolved only: a baseline may be recorded after the config is written).
 * Relative paths are relative to the config file's folder.
 */
import { readFileSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { type GoldenCase, parseGoldenSetJsonl } from '../canary/golden-set.js';
import { type Problem, Verbatim } from '../diagnostics/paths.js';
import { getProtocol, isProtocolName } from '../protocols/index.js';
import { CHECK_KINDS } from '../types.js';
import type { VigilConfig } from './schema.js';

/** What {@link checkFiles} found. */
export interface FileCheck {
  problems: Problem[];
  /** The parsed `expect.schema` file of each check that names one, keyed `<target index>/<kind>`. */
  schemas: Map<string, unknown>;
  /** The golden set of each canary whose `cases` names a JSONL file, keyed by target index. */
  cases: Map<number, GoldenCase[]>;
}

const TLS_FILES = ['caFile', 'certFile', 'keyFile'] as const;

let ajv: Ajv2020 | undefined;

/**
 * Checks the files named in an (interpolated, not yet validated) config tree, reading defensively so
 * that it can run beside schema validation and report its problems together with the schema's.
 */
export function checkFiles(tree: unknown, baseDir: string): FileCheck {
  const problems: Problem[] = [];
  const schemas = new Map<string, unknown>();
  const cases = new Map<number, GoldenCase[]>();
  const targets = isRecord(tree) && Array.isArray(tree.targets) ? tree.targets : [];
  targets.forEach((target: unknown, index: number) => {
    if (!isRecord(target)) return;
    if (isRecord(target.tls)) {
      for (const key of TLS_FILES) {
        const file = target.tls[key];
        if (typeof file !== 'string' || file === '') continue;
        const problem = fileProblem(file, baseDir);
        if (problem !== undefined) problems.push({ ...problem, path: ['targets', index, 'tls', key] });
      }
    }
    if (!isRecord(target.checks)) return;
    const canary = target.checks.canary;
    if (isRecord(canary) && typeof canary.cases === 'string' && canary.cases !== '') {
      const path = ['targets', index, 'checks', 'canary', 'cases'];
      const loaded = readGoldenSet(canary.cases, baseDir, target.protocol);
      if ('problem' in loaded) problems.push({ ...loaded.problem, path });
      else cases.set(index, loaded.cases);
    }
    for (const kind of CHECK_KINDS) {
      const check = target.checks[kind];
      if (!isRecord(check) || !isRecord(check.expect)) continue;
      const schema = check.expect.schema;
      const path = ['targets', index, 'checks', kind, 'expect', 'schema'];
      if (typeof schema === 'string' && schema !== '') {
        const loaded = readJsonSchema(schema, baseDir);
        if ('problem' in loaded) problems.push({ ...loaded.problem, path });
        else schemas.set(`${index}/${kind}`, loaded.value);
      } else if (isRecord(schema)) {
        const problem = jsonSchemaProblem(schema);
        if (problem !== undefined) {
          problems.push({ path, message: `is not a valid JSON Schema (draft 2020-12): ${problem}` });
        }
      }
    }
  });
  return { problems, schemas, cases };
}

/**
 * Resolves the paths of a validated config in place (it is a fresh object from the schema, not yet
 * frozen): TLS files and canary baselines become absolute, `expect.schema` file names become the parsed
 * schemas that {@link checkFiles} read.
 */
export function resolveFiles(
  config: VigilConfig,
  baseDir: string,
  schemas: Map<string, unknown>,
  cases: Map<number, GoldenCase[]> = new Map(),
): void {
  config.targets.forEach((target, index) => {
    const canary = target.checks.canary;
    if (canary !== undefined && typeof canary.cases === 'string') canary.cases = cases.get(index) ?? [];
    if (target.tls !== undefined) {
      for (const key of TLS_FILES) {
        const file = target.tls[key];
        if (file !== undefined) target.tls[key] = resolve(baseDir, file);
      }
    }
    for (const kind of CHECK_KINDS) {
      const check = target.checks[kind];
      if (check === undefined) continue;
      if (typeof check.expect?.schema === 'string') {
        check.expect.schema = schemas.get(`${index}/${kind}`) as Record<string, unknown> | boolean;
      }
      if (check.baseline !== undefined) check.baseline = resolve(baseDir, check.baseline);
    }
  });
}

type FileProblem = Omit<Problem, 'path'>;

/** A problem with a file: the message says `{{file}}` for the name as written, `{{full}}` for where it was looked for. */
function fileProblem(file: string, baseDir: string): FileProblem | undefined {
  const full = resolve(baseDir, file);
  try {
    return statSync(full).isFile() ? undefined : about(file, full, 'is not a file');
  } catch (error) {
    return about(file, full, reason(error));
  }
}

/** Most request problems listed per case file; the rest are counted. */
const MAX_REQUEST_PROBLEMS = 10;

/**
 * Reads a canary's JSONL golden set (`canary/golden-set.ts`) and checks each case's request against
 * its protocol's request schema (when the protocol is known and has one): every problem as
 * `FILE:LINE: …`.
 */
function readGoldenSet(
  file: string,
  baseDir: string,
  protocol: unknown,
): { cases: GoldenCase[] } | { problem: FileProblem } {
  const full = resolve(baseDir, file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (error) {
    return { problem: about(file, full, reason(error)) };
  }
  const parsed = parseGoldenSetJsonl(text, file);
  if (!parsed.ok)
    return { problem: about(file, full, `is not a golden set:\n  ${parsed.problems.join('\n  ')}`) };
  const schema =
    typeof protocol === 'string' && isProtocolName(protocol)
      ? getProtocol(protocol).request?.schema
      : undefined;
  if (schema === undefined) return { cases: parsed.cases };
  const lines = lineNumbers(text);
  const bad: string[] = [];
  parsed.cases.forEach((c, i) => {
    const checked = schema.safeParse(c.request);
    if (checked.success) return;
    const issue = checked.error.issues[0];
    const at = issue && issue.path.length > 0 ? `.${issue.path.join('.')}` : '';
    bad.push(
      `${file}:${lines[i]}: case ${JSON.stringify(c.id)}: request${at}: ${issue?.message ?? 'invalid'}`,
    );
  });
  if (bad.length === 0) return { cases: parsed.cases };
  const shown = bad.slice(0, MAX_REQUEST_PROBLEMS);
  if (bad.length > shown.length) shown.push(`… and ${bad.length - shown.length} more`);
  return { problem: about(file, full, `has requests its protocol does not take:\n  ${shown.join('\n  ')}`) };
}

/** The 1-based line of each non-blank line of a JSONL text, in order (the cases' lines). */
function lineNumbers(text: string): number[] {
  const lines: number[] = [];
  text.split('\n').forEach((line, i) => {
    const bare = line.replace(/\r$/, '');
    if (bare.trim() !== '' && !(i === 0 && bare === '\ufeff')) lines.push(i + 1);
  });
  return lines;
}

function readJsonSchema(file: string, baseDir: string): { value: unknown } | { problem: FileProblem } {
  const full = resolve(baseDir, file);
  let text: string;
  try {
    text = readFileSync(full, 'utf8');
  } catch (error) {
    return { problem: about(file, full, reason(error)) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { problem: about(file, full, `is not valid JSON: ${(error as Error).message}`) };
  }
  if (typeof value !== 'boolean' && !isRecord(value)) {
    return { problem: about(file, full, 'is not a JSON Schema: expected an object or a boolean') };
  }
  const problem = typeof value === 'boolean' ? undefined : jsonSchemaProblem(value);
  if (problem !== undefined) {
    return { problem: about(file, full, `is not a valid JSON Schema (draft 2020-12): ${problem}`) };
  }
  return { value };
}

/** `"certs/ca.pem" (/etc/vigil/certs/ca.pem) <what>`: the name as written, and where it was looked for. */
function about(file: string, full: string, what: string): FileProblem {
  return isAbsolute(file)
    ? { message: `{{file}} ${what}`, values: { file } }
    : { message: `{{file}} ({{full}}) ${what}`, values: { file, full: new Verbatim(full) } };
}

/** Checks a schema against the draft 2020-12 meta-schema; the assertions compile it later. */
function jsonSchemaProblem(schema: Record<string, unknown>): string | undefined {
  ajv ??= new Ajv2020({ strict: false, validateFormats: false });
  try {
    if (ajv.validateSchema(schema) === true) return undefined;
    return ajv.errorsText(ajv.errors, { dataVar: 'schema', separator: '; ' });
  } catch (error) {
    return (error as Error).message;
  }
}

function reason(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'cannot be read: permission denied';
    case 'EISDIR':
      return 'is a folder, not a file';
    default:
      return `cannot be read: ${(error as Error).message}`;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
