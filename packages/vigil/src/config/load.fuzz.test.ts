/**
 * Fuzzing the config loader: any text, and every good fixture with one node replaced by anything,
 * gets a LoadResult (never an exception), and no diagnostic ever shows a secret.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'vitest';
import { parseDocument, stringify } from 'yaml';
import { fc, fuzz, fuzzTimeoutMs } from '../fixtures/fuzz.js';
import { parseConfig } from './load.js';

const goodDir = new URL('./fixtures/good/', import.meta.url);
const good = readdirSync(goodDir)
  .filter((name) => name.endsWith('.yaml'))
  .map((name) => readFileSync(new URL(name, goodDir), 'utf8'));

const SECRET = 's3cr3t-fuzz-value';
const env = {
  TOKEN: SECRET,
  PD_ROUTING_KEY: SECRET,
  SLACK_WEBHOOK_URL: `https://hooks.example.com/${SECRET}`,
};

function load(text: string) {
  const result = parseConfig(text, { file: 'fuzz.yaml', baseDir: '/nonexistent', env });
  if (result.ok) return;
  if (result.diagnostics.length === 0) throw new Error('failed without a diagnostic');
  for (const line of result.diagnostics) {
    if (typeof line !== 'string' || line.trim() === '') throw new Error(`empty diagnostic: ${String(line)}`);
    if (line.includes(SECRET)) throw new Error(`diagnostic shows the secret: ${line}`);
  }
}

/** Every path to a node of a plain value, so that one can be replaced. */
function pathsOf(value: unknown, path: (string | number)[] = []): (string | number)[][] {
  const here = path.length > 0 ? [path] : [];
  if (Array.isArray(value)) return [...here, ...value.flatMap((item, i) => pathsOf(item, [...path, i]))];
  if (value !== null && typeof value === 'object')
    return [...here, ...Object.entries(value).flatMap(([key, item]) => pathsOf(item, [...path, key]))];
  return here;
}

const replacement = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  // biome-ignore lint/suspicious/noTemplateCurlyInString: the config's own ${VAR} interpolation
  fc.constantFrom('${TOKEN}', '${MISSING}', '10s', '-1s', '0', 'NaN', '$.[', '^(a+)+$', 'http://u:p@h', ''),
  fc.constant(undefined),
);

describe('the config loader (fuzz)', () => {
  it(
    'answers any text with a LoadResult',
    () =>
      fuzz(
        'config: any text',
        fc.property(
          fc.oneof(
            fc.string(),
            fc.anything().map((v) => stringify(v) ?? ''),
          ),
          load,
        ),
      ),
    fuzzTimeoutMs,
  );

  it(
    'answers every good fixture with one node replaced by anything, secrets never shown',
    () =>
      fuzz(
        'config: mutated fixtures',
        fc.property(
          fc.constantFrom(...good),
          fc.nat(),
          replacement,
          fc.boolean(),
          (text, pick, value, secretAround) => {
            const document = parseDocument(text);
            const paths = pathsOf(document.toJS());
            const path = paths[pick % paths.length] as (string | number)[];
            const inserted = secretAround && typeof value === 'string' ? `${value}\${TOKEN}` : value;
            if (inserted === undefined) document.deleteIn(path);
            else document.setIn(path, inserted);
            load(document.toString());
          },
        ),
      ),
    fuzzTimeoutMs,
  );
});
