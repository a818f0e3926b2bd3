import type { ConfigPath, Problem } from '../diagnostics/paths.js';

/** Environment variables for `${VAR}` interpolation, e.g. `process.env`. */
export type Env = Readonly<Record<string, string | undefined>>;

/** What {@link interpolateEnv} produced. */
export interface Interpolation {
  /** The tree with every string value interpolated (a copy; keys are left as written). */
  value: unknown;
  /** Every non-empty value taken from `env`: they are secrets until proven otherwise. */
  secrets: string[];
  /** Missing variables and malformed references, each with its path. */
  problems: Problem[];
  /** Paths of strings that could not be resolved: other complaints about their value would be noise. */
  unresolved: ConfigPath[];
}

const REFERENCE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/**
 * Replaces `${VAR}` in every string value of a parsed YAML tree with `env.VAR`. `${VAR:-default}` uses
 * `default` when VAR is unset or empty (as in POSIX shells); `$${` stands for a literal `${`. Keys are never
 * interpolated, and interpolation runs on values after YAML parsing, so a variable cannot inject structure.
 *
 * A variable that is unset (without a default) is a problem naming the variable and the path, never its
 * value; so is a malformed reference such as `${1X}` or an unclosed `${`.
 */
export function interpolateEnv(tree: unknown, env: Env): Interpolation {
  const secrets = new Set<string>();
  const problems: Problem[] = [];
  const unresolved: ConfigPath[] = [];

  const visit = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      const result = interpolateString(node, env);
      for (const used of result.used) if (used !== '') secrets.add(used);
      for (const message of result.errors) problems.push({ path, message });
      if (result.errors.length > 0) unresolved.push(path);
      return result.value;
    }
    if (Array.isArray(node)) return node.map((item, index) => visit(item, [...path, index]));
    if (node !== null && typeof node === 'object') {
      // fromEntries defines own properties, so a `__proto__` key stays a key.
      return Object.fromEntries(
        Object.entries(node).map(([key, value]) => [key, visit(value, [...path, key])]),
      );
    }
    return node;
  };

  const value = visit(tree, []);
  return { value, secrets: [...secrets], problems, unresolved };
}

function interpolateString(text: string, env: Env): { value: string; used: string[]; errors: string[] } {
  if (!text.includes('${')) return { value: text, used: [], errors: [] };
  const used: string[] = [];
  const errors: string[] = [];
  let out = '';
  let i = 0;
  while (i < text.length) {
    if (text.startsWith('$${', i)) {
      out += '${';
      i += 3;
    } else if (text.startsWith('${', i)) {
      const close = text.indexOf('}', i + 2);
      if (close === -1) {
        errors.push('unclosed "${" (write "$${" for a literal "${")');
        break;
      }
      const body = text.slice(i + 2, close);
      const match = REFERENCE.exec(body);
      if (match === null) {
        errors.push(
          `invalid reference "\${${body}}": expected \${NAME} or \${NAME:-default} (write "$\${" for a literal "\${")`,
        );
      } else {
        const name = match[1] ?? '';
        const fallback = match[2];
        const value = env[name];
        if (value !== undefined && (value !== '' || fallback === undefined)) {
          used.push(value);
          out += value;
        } else if (fallback !== undefined) {
          out += fallback;
        } else {
          errors.push(`environment variable ${name} is not set`);
        }
      }
      i = close + 1;
    } else {
      out += text[i];
      i += 1;
    }
  }
  return { value: out, used, errors };
}
