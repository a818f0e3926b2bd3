/**
 * Loading `vigil.yaml` for the routers: the config loader reads the whole file (`routers:` is a key
 * of its schema, `config/routers.ts`), and the routers are resolved against its targets.
 */
import { dirname, resolve } from 'node:path';
import type { z } from 'zod';
import type { Env } from '../config/interpolate.js';
import { type LoadedConfig, loadConfig } from '../config/load.js';
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
 * The routers of a loaded config, resolved (durations in ms, target names as URLs, a fallback module's
 * path against `baseDir`, the config file's folder); `[]` when it has none.
 */
export function routerPlans(loaded: LoadedConfig, baseDir: string): RouterPlan[] {
  return resolveRouters(loaded.config.routers ?? [], loaded.config.targets, baseDir, loaded.config.region);
}

/**
 * Reads `file` with the config loader and resolves its routers; `vigil route` needs at least one.
 *
 * @returns a {@link LoadedRouterConfig}, or every problem as the config loader words them
 *   (`VIGIL_ERR_CONFIG_READ` when the file cannot be read); never throws for bad input
 */
export async function loadRouterConfig(
  file: string,
  options: { env?: Env } = {},
): Promise<LoadedRouterConfig | FailedRouterConfig> {
  const loaded = await loadConfig(file, options);
  if (!loaded.ok) return loaded;
  if (loaded.config.routers === undefined || loaded.config.routers.length === 0) {
    return {
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [
        `${file}: routers: required: vigil route needs at least one router (routers: [{name, listen, primary}])`,
      ],
    };
  }
  return { ok: true, config: loaded, routers: routerPlans(loaded, dirname(resolve(file))) };
}
