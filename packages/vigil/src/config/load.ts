import { open } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml';
import { actionSecrets, isHiddenActionValue } from '../actions/index.js';
import { isSecretAlertingValue } from '../alerting/routing.js';
import { fillMessage, issuesToProblems, renderValue } from '../diagnostics/messages.js';
import { type ConfigPath, formatPath, type Problem } from '../diagnostics/paths.js';
import {
  createRedactor,
  isConfiguredHeaderSecret,
  isSecretParam,
  redactSecretParams,
} from '../diagnostics/redact.js';
import { ConfigError } from '../errors.js';
import type { CheckPlan } from '../types.js';
import { checkFiles, resolveFiles } from './files.js';
import { type Env, interpolateEnv } from './interpolate.js';
import { buildPlan } from './plan.js';
import { configErrorMap, configSchema, type VigilConfig } from './schema.js';
import { isTsConfigFile, readTsConfig } from './typescript.js';

/** A config that loaded: validated, files resolved, deeply frozen, with its plan. */
export interface LoadedConfig {
  ok: true;
  /**
   * The validated config (durations as strings, paths absolute, `expect.schema` files parsed). Frozen.
   * `alerting.notifiers` holds validated notifier configs (defaults filled in), not notifiers: the loader
   * builds nothing, so `vigil validate` and `vigil check` open no transport; the hub passes them to
   * `createNotifiers`, which builds each notifier once without validating it again.
   */
  config: VigilConfig;
  /** Every check, resolved: see {@link buildPlan}. Frozen. */
  plan: CheckPlan[];
  /**
   * Replaces every secret of this config with `[REDACTED]`: values that came from `${VAR}`, auth tokens and
   * passwords (also as a basic-auth header value), every configured header's value but those of public
   * headers like Content-Type (`isConfiguredHeaderSecret`), and credential-named query parameters'
   * values, both the configured ones and any in the text (`redactSecretParams`). Pass any text that may
   * echo config values through it before printing or storing it.
   */
  redact: (text: string) => string;
}

/**
 * A config that did not load: every problem, one line each (`<file>:<line>:<column>: <path>: <message>`,
 * see {@link parseConfig}), secrets hidden.
 */
export interface FailedConfig {
  ok: false;
  /** `VIGIL_ERR_CONFIG_READ`: the file could not be read; `VIGIL_ERR_CONFIG_INVALID`: it was read but is wrong. */
  code: 'VIGIL_ERR_CONFIG_INVALID' | 'VIGIL_ERR_CONFIG_READ';
  diagnostics: string[];
}

/** The outcome of loading a config. Bad input is a result, never an exception. */
export type LoadResult = LoadedConfig | FailedConfig;

/** Options of {@link parseConfig}. */
export interface ParseOptions {
  /** File name used in YAML syntax diagnostics (`vigil.yaml:3:5: …`). */
  file?: string;
  /** Folder that relative paths (TLS files, `expect.schema`, canary baselines) are resolved against. */
  baseDir: string;
  /** Variables for `${VAR}` interpolation. Default `process.env`. */
  env?: Env;
}

/** Options of {@link loadConfig}. */
export interface LoadOptions {
  /** Variables for `${VAR}` interpolation. Default `process.env`. */
  env?: Env;
  /**
   * Largest config file accepted, in bytes; a larger one is refused with `VIGIL_ERR_CONFIG_READ`
   * before it is read. Default {@link DEFAULT_MAX_CONFIG_BYTES}.
   */
  maxBytes?: number;
}

/**
 * Default size cap of a config file: 10 MiB (10,485,760 bytes). The largest config measured
 * (BENCHMARKS.md, "Config reload off the event loop") is 10 MB for 44,000 targets, four times the
 * 10,000 checks the hub is sized for; a file beyond that is more likely a mistake (a log or a dump
 * written over the config) than a fleet, and parsing it costs memory in proportion. `vigil run
 * --max-config-bytes` changes it.
 */
export const DEFAULT_MAX_CONFIG_BYTES = 10 * 1024 * 1024;

/** A config that parsed and validated, before freezing: what {@link parseConfigParts} returns. */
export interface ParsedConfigParts {
  ok: true;
  config: VigilConfig;
  plan: CheckPlan[];
  /** The values {@link LoadedConfig.redact} hides (see {@link redactorOf}). */
  secrets: string[];
}

/**
 * Parses, interpolates, validates and resolves a config given as YAML text, and builds its plan.
 *
 * Every problem is reported at once, in document order, each with where it is in the file, its path
 * and what is wrong: `<file>:<line>:<column>: <path>: <message>` (`line L, column C: <path>: …` without
 * `file`), e.g. `vigil.yaml:14:22: targets[2].checks.integrity.expect.latency.failed: expected a
 * duration like "180ms", got "fast"`. Structural problems (types, unknown keys), semantic ones (URLs,
 * regular expressions, files, `${VAR}` results), cross-field ones (timeout below interval, route to a
 * notifier that exists) and notifier blocks all come from the same pass. YAML syntax errors are
 * `<file>:<line>:<column>: <message>`. Diagnostics never contain a secret value.
 *
 * @example
 * const result = parseConfig(text, { file: 'vigil.yaml', baseDir: process.cwd(), env: { TOKEN: 't' } });
 * if (!result.ok) console.error(result.diagnostics.join('\n'));
 * @returns a {@link LoadResult}; never throws for bad input
 */
export function parseConfig(text: string, options: ParseOptions): LoadResult {
  const parts = parseConfigParts(text, options);
  if (!parts.ok) return parts;
  return {
    ok: true,
    config: deepFreeze(parts.config),
    plan: deepFreeze(parts.plan),
    redact: redactorOf(parts.secrets),
  };
}

/**
 * The redaction function of a config whose secrets are `secrets`: each value replaced by
 * `[REDACTED]`, then credential-named query parameters' values (`redactSecretParams`).
 */
export function redactorOf(secrets: readonly string[]): (text: string) => string {
  const redactSecrets = createRedactor(secrets);
  return (text: string) => redactSecretParams(redactSecrets(text));
}

/**
 * {@link parseConfig} without the last step: the config and plan are plain, unfrozen data (they can
 * be posted from a worker thread: `config/off-thread.ts`), and the secrets a list rather than a
 * function. Same diagnostics, same failures.
 */
export function parseConfigParts(text: string, options: ParseOptions): ParsedConfigParts | FailedConfig {
  const env = options.env ?? process.env;
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true, lineCounter });
  if (document.errors.length > 0) {
    return {
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: document.errors.map((error) => yamlDiagnostic(error, options.file)),
    };
  }

  let contents: unknown;
  try {
    // Throws for alias bombs ("billion laughs"): more alias expansions than yaml's maxAliasCount.
    contents = document.toJS();
  } catch (error) {
    return {
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [`${options.file ?? 'config'}: ${(error as Error).message}`],
    };
  }
  if (contents === null || contents === undefined) {
    return {
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [`${options.file ?? 'config'}: the file is empty; it needs at least a targets list`],
    };
  }
  const interpolation = interpolateEnv(contents, env);
  const tree = interpolation.value;
  const secrets = [...interpolation.secrets, ...literalSecrets(tree)];
  const isSecret = (value: string) => secrets.some((secret) => secret !== '' && value.includes(secret));

  const parsed = configSchema.safeParse(tree, { error: configErrorMap, reportInput: true });
  const files = checkFiles(tree, options.baseDir);
  const unresolved = new Set(interpolation.unresolved.map((path) => formatPath(path)));
  const problems: Problem[] = [
    ...interpolation.problems,
    ...(parsed.success ? [] : issuesToProblems(parsed.error.issues)),
    ...files.problems,
  ].filter(
    (problem, index) => index < interpolation.problems.length || !unresolved.has(formatPath(problem.path)),
  );

  if (problems.length > 0 || !parsed.success) {
    const lines = locate(problems, document, lineCounter).map(({ problem, line, column }) => {
      const hidden = isHiddenValue(problem.path, tree);
      const show = (value: unknown) => renderValue(value, (text) => hidden || isSecret(text));
      return `${position(line, column, options.file)}: ${formatPath(problem.path)}: ${fillMessage(problem, show)}`;
    });
    return { ok: false, code: 'VIGIL_ERR_CONFIG_INVALID', diagnostics: [...new Set(lines)] };
  }

  const config = parsed.data;
  resolveFiles(config, options.baseDir, files.schemas, files.cases);
  return { ok: true, config, plan: buildPlan(config), secrets: secrets.filter((secret) => secret !== '') };
}

/**
 * Reads and loads a config file; relative paths in it are resolved against the file's folder.
 *
 * @example
 * const result = await loadConfig('vigil.yaml');
 * if (result.ok) console.log(result.plan.length, 'checks');
 * @returns a {@link LoadResult}: `code: 'VIGIL_ERR_CONFIG_READ'` when the file cannot be read; never throws
 *   for bad input
 */
export async function loadConfig(file: string, options: LoadOptions = {}): Promise<LoadResult> {
  if (isTsConfigFile(file)) {
    // config/typescript.ts: the default export, as YAML, takes the same path; positions in that
    // generated text mean nothing to the author, so diagnostics name the file and the path.
    let text: string;
    try {
      text = await readTsConfig(resolve(file));
    } catch (error) {
      return {
        ok: false,
        code: 'VIGIL_ERR_CONFIG_INVALID',
        diagnostics: [`${file}: ${(error as Error).message.split('\n')[0]}`],
      };
    }
    const result = parseConfig(text, {
      baseDir: dirname(resolve(file)),
      ...(options.env !== undefined && { env: options.env }),
    });
    if (result.ok) return result;
    return {
      ...result,
      diagnostics: result.diagnostics.map((d) => d.replace(/^line \d+, column \d+: /, `${file}: `)),
    };
  }
  const text = await readConfigText(file, options.maxBytes);
  if (typeof text !== 'string') return text;
  return parseConfig(text, {
    file,
    baseDir: dirname(resolve(file)),
    ...(options.env !== undefined && { env: options.env }),
  });
}

/**
 * Reads a config file's text, refusing one over `maxBytes` (default {@link DEFAULT_MAX_CONFIG_BYTES})
 * before reading it: from the size the file has when opened, and again from what was read, since a
 * file can grow while it is read.
 *
 * @returns the text, or a {@link FailedConfig} with `VIGIL_ERR_CONFIG_READ`
 */
export async function readConfigText(
  file: string,
  maxBytes: number = DEFAULT_MAX_CONFIG_BYTES,
): Promise<string | FailedConfig> {
  const tooLarge = (size: number): FailedConfig => ({
    ok: false,
    code: 'VIGIL_ERR_CONFIG_READ',
    diagnostics: [
      `${file}: the config file is ${size} bytes, over the limit of ${maxBytes} bytes (--max-config-bytes); nothing of it was loaded`,
    ],
  });
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    if (size > maxBytes) return tooLarge(size);
    // One byte more than the size (and at most than the cap): a file that grew past the cap while
    // being read is caught too.
    let buffer = Buffer.alloc(Math.min(maxBytes, size) + 1);
    let length = 0;
    for (;;) {
      if (length === buffer.length) {
        if (length > maxBytes) return tooLarge(length);
        const bigger = Buffer.alloc(Math.min(maxBytes + 1, buffer.length * 2));
        buffer.copy(bigger);
        buffer = bigger;
      }
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return buffer.toString('utf8', 0, length);
  } catch (error) {
    return { ok: false, code: 'VIGIL_ERR_CONFIG_READ', diagnostics: [`${file}: ${readProblem(error)}`] };
  } finally {
    await handle?.close().catch(() => {});
  }
}

/**
 * {@link loadConfig} for callers that prefer an exception.
 *
 * @throws ConfigError with code `VIGIL_ERR_CONFIG_READ` (unreadable file) or `VIGIL_ERR_CONFIG_INVALID`
 *   (its `diagnostics` list every problem; the message repeats them)
 */
export async function loadConfigOrThrow(file: string, options: LoadOptions = {}): Promise<LoadedConfig> {
  const result = await loadConfig(file, options);
  if (result.ok) return result;
  const summary =
    result.code === 'VIGIL_ERR_CONFIG_READ'
      ? (result.diagnostics[0] ?? `${file}: cannot be read`)
      : `${file}: invalid configuration:\n  ${result.diagnostics.join('\n  ')}`;
  throw new ConfigError(result.code, summary, result.diagnostics);
}

/** Freezes a value and everything reachable from it; returns it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  }
  return value;
}

/**
 * Values a diagnostic never shows, whatever they are: a notifier's settings (mostly credentials), and
 * an action's credentials (`isHiddenActionValue`: a webhook's secret, headers and URL, a command's
 * secret-named `env`), in a target's or a check's `actions:`.
 */
function isHiddenValue(path: ConfigPath, tree: unknown): boolean {
  if (path[0] === 'alerting') return isSecretAlertingValue(path.slice(1));
  if (path[0] !== 'targets' || !isRecord(tree) || !Array.isArray(tree.targets)) return false;
  const target: unknown = tree.targets[path[1] as number];
  if (!isRecord(target)) return false;
  if (path[2] === 'actions') return isHiddenActionValue(target.actions, path.slice(3));
  if (path[2] === 'checks' && path[4] === 'actions' && isRecord(target.checks)) {
    const check = target.checks[path[3] as string];
    return isRecord(check) && isHiddenActionValue(check.actions, path.slice(5));
  }
  return false;
}

/**
 * Secrets written literally: auth tokens and passwords, every configured header's value but the
 * public ones' (`isConfiguredHeaderSecret`: redaction by default, whatever the header's name), the
 * values of credential-named query parameters in a check's request path (`isSecretParam`), and the
 * credentials of recovery actions (`actionSecrets`: a webhook's secret and headers, a command's
 * secret-named env values and `Authorization:` / `--token=` arguments).
 */
function literalSecrets(tree: unknown): string[] {
  const secrets: string[] = [];
  const targets = isRecord(tree) && Array.isArray(tree.targets) ? tree.targets : [];
  const collectHeaders = (headers: unknown) => {
    if (!isRecord(headers)) return;
    for (const [name, value] of Object.entries(headers)) {
      const text = typeof value === 'string' || typeof value === 'number' ? String(value) : undefined;
      if (text !== undefined && isConfiguredHeaderSecret(name, text)) secrets.push(text);
    }
  };
  const collectQuery = (path: unknown) => {
    if (typeof path !== 'string' || !path.includes('?')) return;
    const params = new URLSearchParams(path.slice(path.indexOf('?') + 1).split('#')[0]);
    for (const [name, value] of params) {
      if (isSecretParam(name) && value !== '') secrets.push(value);
    }
  };
  for (const target of targets) {
    if (!isRecord(target)) continue;
    collectHeaders(target.headers);
    secrets.push(...actionSecrets(target.actions));
    if (isRecord(target.checks)) {
      for (const check of Object.values(target.checks)) {
        if (isRecord(check)) secrets.push(...actionSecrets(check.actions));
        if (isRecord(check) && isRecord(check.request)) {
          collectHeaders(check.request.headers);
          collectQuery(check.request.path);
        }
      }
    }
    if (!isRecord(target.auth)) continue;
    const { bearer, basic } = target.auth;
    if (typeof bearer === 'string') secrets.push(bearer);
    if (isRecord(basic) && typeof basic.password === 'string') {
      secrets.push(basic.password);
      if (typeof basic.username === 'string') {
        secrets.push(Buffer.from(`${basic.username}:${basic.password}`).toString('base64'));
      }
    }
  }
  return secrets.filter((secret) => secret !== '');
}

function yamlDiagnostic(
  error: { message: string; linePos?: [{ line: number; col: number }, ...unknown[]] },
  file?: string,
): string {
  const message = (error.message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  const at = error.linePos?.[0];
  if (at === undefined) return file === undefined ? message : `${file}: ${message}`;
  return `${position(at.line, at.col, file)}: ${message}`;
}

/** Where a diagnostic points: `<file>:<line>:<column>` (as compilers write it), or `line L, column C`. */
function position(line: number, column: number, file: string | undefined): string {
  return file === undefined ? `line ${line}, column ${column}` : `${file}:${line}:${column}`;
}

function readProblem(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return 'cannot read the config file: it does not exist';
    case 'EACCES':
    case 'EPERM':
      return 'cannot read the config file: permission denied';
    case 'EISDIR':
      return 'cannot read the config file: it is a folder';
    default:
      return `cannot read the config file: ${(error as Error).message}`;
  }
}

/**
 * Places each problem in the file and orders them as they appear there. A problem points at the key
 * (or list item) its path ends in, so structural, semantic and cross-field problems, and those of the
 * environment and of files, are all placed the same way; a missing key points at the mapping that
 * lacks it. Line and column are 1-based, positions in the file as written (before `${VAR}`).
 */
function locate(
  problems: readonly Problem[],
  document: Document,
  lineCounter: LineCounter,
): { problem: Problem; line: number; column: number }[] {
  return problems
    .map((problem, index) => ({ problem, index, offset: offsetOf(document, problem.path) }))
    .sort((a, b) => a.offset - b.offset || a.index - b.index)
    .map(({ problem, offset }) => {
      const { line, col } = lineCounter.linePos(offset);
      return { problem, line, column: col };
    });
}

function offsetOf(document: Document, path: ConfigPath): number {
  let node: unknown = document.contents;
  let offset = (node as Node | null)?.range?.[0] ?? 0;
  for (const key of path) {
    if (isAlias(node)) node = node.resolve(document);
    if (isMap(node)) {
      const pair = node.items.find((item) => isScalar(item.key) && String(item.key.value) === String(key));
      if (pair === undefined) break;
      offset = (pair.key as Node).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof key === 'number') {
      const item = node.items[key] as Node | undefined;
      if (item === undefined) break;
      offset = item.range?.[0] ?? offset;
      node = item;
    } else {
      break;
    }
  }
  return offset;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
