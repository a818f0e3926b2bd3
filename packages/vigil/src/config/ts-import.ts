/**
 * Imports a TypeScript config file with tsx so that its `vigil-ml` imports are the running Vigil (see
 * `typescript.ts`, which reads the file through here).
 *
 * tsx loads the file in a namespace of its own, as its `tsImport` does (ESM and CommonJS hooks), so
 * that a reload reads the file and its local imports afresh; in that namespace every module a config
 * imports is loaded again, packages too. For `vigil-ml` that meant a second copy of Vigil and of its
 * dependencies beside the running one, and undici, CommonJS, half re-required from the first copy's
 * cache: "TypeError: Illegal constructor" (issue #24). So `vigil-ml` and `vigil-ml/…` imported from
 * the namespace resolve to what the running copy resolves its own name to (a package may import
 * itself by name), and the config gets the modules already loaded:
 *
 * - an `import`: a resolve hook registered after tsx's, so it runs first (Node.js runs the last
 *   registered hook first): in-thread with `module.registerHooks` (Node.js ≥ 22.15, where it sees
 *   `require` too, and is removed with tsx's once the file is loaded), else on the loader thread with
 *   `module.register` (Node.js 20; such a hook cannot be removed: it stays, inert, answering only
 *   imports from its own namespace, one per load as tsx's own hooks are);
 * - a `require` (a `.cts` config, or a `.ts` one outside an ESM package) on Node.js without
 *   `registerHooks`: tsx's CommonJS hooks resolve through `Module._resolveFilename`, which is wrapped
 *   for the length of the load, as tsx wraps it.
 */
import { randomUUID } from 'node:crypto';
import * as nodeModule from 'node:module';
import { fileURLToPath } from 'node:url';

/** The package name a config imports Vigil by (package.json `name`). */
const PACKAGE = 'vigil-ml';

const isOwn = (specifier: string) => specifier === PACKAGE || specifier.startsWith(`${PACKAGE}/`);

/** A resolve hook's context, as far as this file reads it. */
interface ResolveContext {
  parentURL?: string;
}
/** `module.registerHooks` (Node.js ≥ 22.15 and 23.5: in-thread, synchronous hooks), typed here. */
type RegisterHooks = (hooks: {
  resolve: (
    specifier: string,
    context: ResolveContext,
    next: (specifier: string, context: ResolveContext) => object,
  ) => object;
}) => { deregister(): void };
/** The CommonJS loader's resolution, which tsx's CommonJS hooks wrap too. */
interface CjsLoader {
  _resolveFilename: (
    request: string,
    parent: { filename?: string } | undefined,
    ...rest: unknown[]
  ) => string;
}

/** The loader-thread form of the resolve hook (`module.register` cannot see this module's variables). */
const LOADER_THREAD_HOOK = `
let namespace, self;
export function initialize(data) { ({ namespace, self } = data); }
export async function resolve(specifier, context, next) {
  if ((specifier === ${JSON.stringify(PACKAGE)} || specifier.startsWith(${JSON.stringify(`${PACKAGE}/`)})) && context.parentURL?.includes(namespace)) {
    try {
      return { ...(await next(specifier, { ...context, parentURL: self })), shortCircuit: true };
    } catch {}
  }
  return next(specifier, context);
}
`;

/**
 * Imports the config at `url` with tsx in a fresh namespace, its `vigil-ml` imports resolved to the
 * running copy (see the module's header).
 *
 * @param url the config's `file:` URL
 * @returns the module's namespace object
 * @throws Error from the import (a syntax error, a missing module, a throw in the file)
 */
export async function importConfig(url: string): Promise<unknown> {
  const [{ register }, { register: registerCjs }] = await Promise.all([
    import('tsx/esm/api'),
    import('tsx/cjs/api'),
  ]);
  const namespace = `vigil-config-${randomUUID()}`;
  const cjs = registerCjs({ namespace });
  const tsx = register({ namespace });
  // Under a TypeScript runner (tests, `--conditions=source`) the running copy is source that Node.js
  // alone cannot load: the config then imports it through tsx like any other file.
  const isBuilt = !import.meta.url.endsWith('.ts');
  /** The running copy's file for one of its own specifiers; undefined when it exports no such path. */
  const running = (specifier: string): string | undefined => {
    try {
      return import.meta.resolve(specifier);
    } catch {
      return undefined; // not one of its exports: tsx and Node.js say why
    }
  };
  const registerHooks = (nodeModule as unknown as { registerHooks?: RegisterHooks }).registerHooks;
  const loader = nodeModule.Module as unknown as CjsLoader;
  const resolveFilename = loader._resolveFilename;
  let hook: { deregister(): void } | undefined;
  if (isBuilt && registerHooks !== undefined) {
    hook = registerHooks({
      resolve: (specifier, context, next) => {
        const own = isOwn(specifier) && context.parentURL?.includes(namespace) === true;
        const url = own ? running(specifier) : undefined;
        return url === undefined ? next(specifier, context) : { url, shortCircuit: true };
      },
    });
  } else if (isBuilt) {
    nodeModule.register(`data:text/javascript,${encodeURIComponent(LOADER_THREAD_HOOK)}`, {
      parentURL: import.meta.url,
      data: { namespace, self: import.meta.url },
    });
    loader._resolveFilename = function (this: unknown, request, parent, ...rest) {
      const own = isOwn(request) && parent?.filename?.includes(namespace) === true;
      const url = own ? running(request) : undefined;
      return url === undefined ? resolveFilename.call(this, request, parent, ...rest) : fileURLToPath(url);
    };
  }
  try {
    return await tsx.import(url, import.meta.url);
  } finally {
    hook?.deregister();
    if (loader._resolveFilename !== resolveFilename) loader._resolveFilename = resolveFilename;
    await tsx.unregister();
    cjs.unregister();
  }
}
