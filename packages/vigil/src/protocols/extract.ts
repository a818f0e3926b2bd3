/**
 * `plan.extract`: extra named outputs picked from the probe document by JSONPath (RFC 9535, the same
 * engine and the same root as the assertions: `{status, headers, body, outputs, modelVersion}`), e.g.
 * `{probability: "$.body.score"}`.
 */
import type { JSONPathQuery } from 'json-p3';
import { compileJsonPath, selectValues } from '../assertions/jsonpath.js';
import { ConfigError } from '../errors.js';
import type { ProbeDocument } from '../types.js';
import { flatten } from './normalise.js';

/** A plan's `extract`, compiled once: each output's name and query. */
type CompiledExtract = ReadonlyArray<readonly [name: string, query: JSONPathQuery]>;
const compiledExtracts = new WeakMap<Readonly<Record<string, string>>, CompiledExtract>();

/**
 * Compiles an `extract` map (cached by identity: a plan is frozen after loading, so it compiles on its
 * first probe and never again; the paths themselves come from the cache config validation filled).
 *
 * @throws ConfigError `VIGIL_ERR_CONFIG_JSONPATH` for a path that is not valid JSONPath (the config
 *   loader rejects those first, so this is a bug, not a probe outcome).
 */
function compileExtract(extract: Readonly<Record<string, string>>): CompiledExtract {
  let compiled = compiledExtracts.get(extract);
  if (compiled !== undefined) return compiled;
  compiled = Object.entries(extract).map(([name, path]) => {
    const query = compileJsonPath(path);
    if (!query.ok)
      throw new ConfigError('VIGIL_ERR_CONFIG_JSONPATH', query.message, [
        `extract.${name}: ${query.message}`,
      ]);
    return [name, query.query] as const;
  });
  compiledExtracts.set(extract, compiled);
  return compiled;
}

/**
 * Adds `plan.extract`'s outputs to a document: for each `name → path`, the values the path selects in the
 * document, arrays flattened row-major (`$.body.scores` on a body `{"scores": [[0.1], [0.9]]}` gives
 * `[0.1, 0.9]`). A path that selects nothing gives an empty output, which `notEmpty` then reports. Every
 * path is evaluated against the document as the adapter left it, before any extracted output is added;
 * an extracted name then replaces a normalised output of the same name.
 *
 * @throws ConfigError `VIGIL_ERR_CONFIG_JSONPATH` for a path that is not valid JSONPath (the config
 *   loader rejects those first, so this is a bug, not a probe outcome).
 * @example
 * applyExtract(document, { probability: '$.body.predictions[*].score' });
 */
export function applyExtract(document: ProbeDocument, extract: Readonly<Record<string, string>>): void {
  const extracted: Record<string, unknown[]> = {};
  // A copy of the top level: a path selecting the document itself (`$`, `$.outputs`) gets the
  // document as it was, not the object these outputs are then added to (a cycle).
  const before: ProbeDocument = { ...document, outputs: { ...document.outputs } };
  for (const [name, query] of compileExtract(extract)) {
    extracted[name] = selectValues(query, before).flatMap(flatten);
  }
  Object.assign(document.outputs, extracted);
}
