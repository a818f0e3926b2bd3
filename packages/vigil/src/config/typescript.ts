/**
 * Config as code: `vigil.config.ts` exporting `defineConfig({...})`, for teams that keep their checks
 * in TypeScript (as Checkly's constructs do). The file is loaded with tsx (esbuild underneath; already
 * Vigil's TypeScript runner, so no second loader), its default export is turned into the same tree a
 * YAML file gives, and from there it takes the YAML path: `${VAR}` interpolation, the one schema, the
 * file checks and the plan. So the same config gives the same plan, and a bad one the same
 * diagnostics (`<path>: <message>`), prefixed with the file instead of a line and column.
 *
 * The file's `import … from 'vigil-ml'` is the running Vigil, not a second copy: tsx loads a config
 * in a namespace of its own (so that a reload reads the file and its local imports afresh), and in
 * that namespace every module is loaded again, packages too. A second vigil-ml brought a second
 * undici, half of it re-required from the first one's CommonJS cache, and its start-up failed with
 * "TypeError: Illegal constructor" (issue #24). A resolve hook, in front of tsx's, maps `vigil-ml` and
 * its subpaths imported from the config's namespace to the running copy's own resolution
 * (`ts-import.ts`). That module is imported only when a file is read: a config compiled to CommonJS
 * may `require` this one (`defineConfig`), and a module that reads `import.meta` cannot be.
 */
import { pathToFileURL } from 'node:url';
import { stringify } from 'yaml';
import type { VigilConfigInput } from './schema.js';

/** File names read as TypeScript configs. */
export const TS_CONFIG_EXTENSIONS = ['.ts', '.mts', '.cts'] as const;

/** Whether `file` is a TypeScript config (by its extension). */
export function isTsConfigFile(file: string): boolean {
  return TS_CONFIG_EXTENSIONS.some((ext) => file.endsWith(ext));
}

/**
 * Types a config written in TypeScript: the same shape as `vigil.yaml`, checked by the compiler as
 * you type. It returns its argument; validation happens when Vigil loads the file.
 *
 * @example
 * import { defineConfig } from 'vigil-ml';
 * // vigil.config.ts ends with `export default config` (or `export default defineConfig({ … })`).
 * const config = defineConfig({
 *   targets: [{ name: 'credit-scorer', url: 'http://127.0.0.1:8081', protocol: 'oip-v2', model: 'credit-scorer', checks: { liveness: {} } }],
 * });
 */
export function defineConfig(config: VigilConfigInput): VigilConfigInput {
  return config;
}

/**
 * Imports a TypeScript config file and returns its default export as YAML text for the one loading
 * path (YAML can hold every value a config has: maps, lists, strings, numbers, booleans).
 *
 * @throws Error from the import (a syntax error, a missing module, a throw in the file), with its message
 */
export async function readTsConfig(file: string): Promise<string> {
  const { importConfig } = await import('./ts-import.js');
  const module = (await importConfig(pathToFileURL(file).href)) as Record<string, unknown>;
  // An ESM default export, or a CommonJS module.exports compiled into `default.default`.
  let config = module.default;
  if (
    config !== null &&
    typeof config === 'object' &&
    'default' in config &&
    Object.keys(config).length === 1
  )
    config = (config as { default: unknown }).default;
  // A file without a default export, compiled to CommonJS, shows its named exports as `default`.
  const named = Object.keys(module).filter((key) => key !== 'default' && key !== 'module.exports');
  const record = module as Record<string, unknown>;
  if (
    config !== null &&
    typeof config === 'object' &&
    named.length > 0 &&
    named.every((key) => (config as Record<string, unknown>)[key] === record[key])
  )
    config = undefined;
  if (config === undefined)
    throw new Error('it has no default export: end it with `export default defineConfig({...})`');
  return stringify(config, { aliasDuplicateObjects: false });
}
