/**
 * Loading `vigil.yaml` for `vigil route`: the `routers:` section with the rest of the config (the
 * targets they name).
 *
 * Until `routers` is a key of `config/schema.ts` (phase 2; see `router/config.ts`), the section is
 * taken out of the YAML document here, the rest is loaded by the config loader as `vigil run` loads
 * it, and `routers` is validated by {@link routersSchema} and {@link checkRouterTargets}, with
 * diagnostics in the config loader's form (`routers[0].policy.deadline: expected a duration like
 * "200ms", got "fast"`). Once wired, this is `loadConfig` plus {@link resolveRouters}.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { type Document, isMap, isScalar, type Node, parseDocument } from 'yaml';
import type { z } from 'zod';
import { type Env, interpolateEnv } from '../config/interpolate.js';
import { type LoadedConfig, parseConfig } from '../config/load.js';
import { fillMessage, humanErrorMap, issuesToProblems, renderValue } from '../diagnostics/messages.js';
import { formatPath, type Problem } from '../diagnostics/paths.js';
import {
  checkRouterTargets,
  type RouterPlan,
  type RouterSpec,
  resolveRouters,
  routersSchema,
} from './config.js';

/** A config that loaded for `vigil route`: the hub's config and the resolved routers. */
export interface LoadedRouterConfig {
  ok: true;
  config: LoadedConfig;
  routers: RouterPlan[];
}

/** A config that did not load: every problem, one line each, as `vigil validate` prints them. */
export interface FailedRouterConfig {
  ok: false;
  code: 'VIGIL_ERR_CONFIG_INVALID' | 'VIGIL_ERR_CONFIG_READ';
  diagnostics: string[];
}

/**
 * Validates a `routers:` tree (already parsed and interpolated) against the config's targets.
 *
 * @example
 * validateRouters([{ name: 'r', listen: 8090, primary: 'a' }], ['a']) // { ok: true, routers: [...] }
 * @returns the validated routers, or diagnostics `routers[i]…: message`
 */
export function validateRouters(
  tree: unknown,
  targets: readonly string[],
): { ok: true; routers: RouterSpec[] } | { ok: false; diagnostics: string[] } {
  const problems: Problem[] = [];
  const parsed = routersSchema.safeParse(tree, { error: humanErrorMap, reportInput: true });
  if (!parsed.success) problems.push(...issuesToProblems(parsed.error.issues, ['routers']));
  const ctx = {
    addIssue(issue: { path?: PropertyKey[]; message?: string; input?: unknown }) {
      problems.push({ path: issue.path ?? [], message: issue.message ?? '', values: { got: issue.input } });
    },
  };
  checkRouterTargets(
    { routers: tree, targets: targets.map((name) => ({ name })) },
    ctx as unknown as z.RefinementCtx,
  );
  if (problems.length > 0 || !parsed.success) {
    const show = (value: unknown) => renderValue(value, () => false);
    return {
      ok: false,
      diagnostics: [...new Set(problems.map((p) => `${formatPath(p.path)}: ${fillMessage(p, show)}`))],
    };
  }
  return { ok: true, routers: parsed.data };
}

/**
 * Reads `file` and loads its targets and routers.
 *
 * @returns a {@link LoadedRouterConfig}, or every problem (`VIGIL_ERR_CONFIG_READ` when the file cannot
 *   be read); never throws for bad input
 */
export async function loadRouterConfig(
  file: string,
  options: { env?: Env } = {},
): Promise<LoadedRouterConfig | FailedRouterConfig> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'it does not exist'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied'
          : (error as Error).message;
    return {
      ok: false,
      code: 'VIGIL_ERR_CONFIG_READ',
      diagnostics: [`${file}: cannot read the config file: ${why}`],
    };
  }
  const baseDir = dirname(resolve(file));
  const env = options.env ?? process.env;
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  // A YAML syntax error is reported by the config loader, in its words.
  if (document.errors.length > 0) return parseConfig(text, { file, baseDir, env }) as FailedRouterConfig;

  let routersTree: unknown;
  try {
    const tree = document.toJS() as Record<string, unknown> | null;
    routersTree = tree?.routers;
  } catch {
    return parseConfig(text, { file, baseDir, env }) as FailedRouterConfig;
  }
  // The rest is loaded from the file's own text with the routers section blanked out (spaces, line
  // breaks kept), so the loader's file:line:column positions stay those of the file.
  const rest = parseConfig(blankOut(text, document, 'routers'), { file, baseDir, env });
  const diagnostics = rest.ok ? [] : [...rest.diagnostics];
  if (routersTree === undefined) {
    diagnostics.push(
      'routers: required: vigil route needs at least one router (routers: [{name, listen, primary}])',
    );
    return { ok: false, code: 'VIGIL_ERR_CONFIG_INVALID', diagnostics };
  }
  const interpolation = interpolateEnv(routersTree, env);
  for (const problem of interpolation.problems) {
    diagnostics.push(
      `${formatPath(['routers', ...problem.path])}: ${fillMessage(problem, (v) => renderValue(v, () => true))}`,
    );
  }
  const targets = rest.ok ? rest.config.targets.map((t) => t.name) : [];
  const routers = validateRouters(interpolation.value, targets);
  // Without valid targets, "no target is named" would only repeat the targets' own problems.
  if (!routers.ok)
    diagnostics.push(...routers.diagnostics.filter((d) => rest.ok || !d.includes('no target is named')));
  if (!rest.ok || !routers.ok || diagnostics.length > 0) {
    return { ok: false, code: 'VIGIL_ERR_CONFIG_INVALID', diagnostics };
  }
  return { ok: true, config: rest, routers: resolveRouters(routers.routers, rest.config.targets, baseDir) };
}

/** `text` with a top-level key and its value replaced by spaces (line breaks kept). */
function blankOut(text: string, document: Document, key: string): string {
  const contents = document.contents;
  if (!isMap(contents)) return text;
  const pair = contents.items.find((item) => isScalar(item.key) && item.key.value === key);
  if (pair === undefined) return text;
  const start = (pair.key as Node).range?.[0];
  const end = ((pair.value as Node | null) ?? (pair.key as Node)).range?.[2];
  if (start === undefined || end === undefined) return text;
  return text.slice(0, start) + text.slice(start, end).replace(/[^\r\n]/g, ' ') + text.slice(end);
}
