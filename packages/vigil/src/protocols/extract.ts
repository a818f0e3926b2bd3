/**
 * `plan.extract`: extra named outputs picked from the probe document by JSONPath (RFC 9535, the same
 * engine and the same root as the assertions: `{status, headers, body, outputs, modelVersion}`), e.g.
 * `{probability: "$.body.score"}`.
 */
import { compileJsonPath, selectNodes } from '../assertions/jsonpath.js';
import { ConfigError } from '../errors.js';
import type { ProbeDocument } from '../types.js';
import { flatten } from './normalise.js';

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
export function applyExtract(document: ProbeDocument, extract: Record<string, string>): void {
  const extracted: Record<string, unknown[]> = {};
  for (const [name, path] of Object.entries(extract)) {
    const compiled = compileJsonPath(path);
    if (!compiled.ok)
      throw new ConfigError('VIGIL_ERR_CONFIG_JSONPATH', compiled.message, [
        `extract.${name}: ${compiled.message}`,
      ]);
    extracted[name] = selectNodes(compiled.query, document).flatMap((node) => flatten(node.value));
  }
  Object.assign(document.outputs, extracted);
}
