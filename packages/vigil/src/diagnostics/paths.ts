/** A location in the config tree: keys and list indices from the top, e.g. `['targets', 2, 'url']`. */
export type ConfigPath = readonly PropertyKey[];

/**
 * One problem found in a config, before formatting: where, and what (a sentence for people). Config
 * values are never written into `message` directly: it names them as placeholders (`{{got}}`, or any
 * `{{name}}` of `values`), and the formatter renders them, hiding secrets.
 */
export interface Problem {
  path: ConfigPath;
  message: string;
  values?: Readonly<Record<string, unknown>>;
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

/**
 * Formats a path the way diagnostics show it: `targets[2].checks.integrity.expect.latency.failed`.
 * Keys that are not identifiers are quoted (`headers["X-Api-Key"]`); the empty path is `config`.
 */
export function formatPath(path: ConfigPath): string {
  let text = '';
  for (const key of path) {
    if (typeof key === 'number') text += `[${key}]`;
    else if (typeof key === 'string' && IDENTIFIER.test(key)) text += text === '' ? key : `.${key}`;
    else text += `[${JSON.stringify(String(key))}]`;
  }
  return text === '' ? 'config' : text;
}

/**
 * A config value shown as written (no quotes, no shortening) in a message, e.g. a duration or a file
 * path; still hidden when it holds a secret.
 */
export class Verbatim {
  constructor(readonly text: string) {}
}
