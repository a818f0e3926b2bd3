/**
 * Table-driven: every `fixtures/bad/<name>.yaml` must produce exactly the diagnostics in
 * `<name>.expected.txt`, and every `fixtures/good/<name>.yaml` (one per protocol) must load into exactly
 * the plan in `<name>.plan.json`. `<dir>` in those files stands for the fixture folder.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROTOCOL_NAMES } from '../protocols/index.js';
import { JSON_SCHEMA_FILE } from './json-schema.js';
import { parseConfig } from './load.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const BAD = join(FIXTURES, 'bad');
const GOOD = join(FIXTURES, 'good');
/** The environment every fixture is loaded with. */
const ENV = { API_KEY: 'k3y-0f-the-api', TOKEN: 't0ken-very-secret', PW: 'pa55word-secret' };

const yamlFiles = (dir: string) =>
  readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort();

const load = (dir: string, file: string) =>
  parseConfig(readFileSync(join(dir, file), 'utf8'), { file, baseDir: dir, env: ENV });

describe('bad config fixtures', () => {
  it.each(yamlFiles(BAD))('%s gives exactly its expected diagnostics', (file) => {
    const expected = readFileSync(join(BAD, file.replace(/\.yaml$/, '.expected.txt')), 'utf8')
      .trimEnd()
      .split('\n');
    const result = load(BAD, file);
    expect(result.ok).toBe(false);
    const diagnostics = result.ok ? [] : result.diagnostics.map((line) => line.split(BAD).join('<dir>'));
    expect(diagnostics).toEqual(expected);
  });

  it('cover the required cases', () => {
    expect(yamlFiles(BAD)).toEqual(
      expect.arrayContaining([
        'unknown-key.yaml',
        'bad-duration.yaml',
        'missing-model.yaml',
        'missing-integrity-request.yaml',
        'bad-oip-request.yaml',
        'timeout-not-below-interval.yaml',
        'degraded-not-below-failed.yaml',
        'missing-env-var.yaml',
        'duplicate-names.yaml',
        'bad-regex.yaml',
        'bad-jsonpath.yaml',
        'bad-protocol.yaml',
        'yaml-syntax.yaml',
        'schema-file.yaml',
        'several-problems.yaml',
        'notifiers.yaml',
        'every-problem-at-once.yaml',
        'actions.yaml',
      ]),
    );
  });
});

describe('the committed JSON Schema on bad fixtures (what an editor shows)', () => {
  const schema = JSON.parse(readFileSync(join(FIXTURES, '../../..', JSON_SCHEMA_FILE), 'utf8'));
  const validate = new Ajv2020({ allowUnionTypes: true, allErrors: true }).compile(schema);
  const notifiers = parse(readFileSync(join(BAD, 'notifiers.yaml'), 'utf8')).alerting.notifiers;

  // The other blocks' problems need code (addresses, a query in a base URL, a username without its
  // password): `vigil validate` reports those.
  it.each(['chat', 'audit', 'hook'])('rejects the %s block of notifiers.yaml, at its path', (name) => {
    const config = {
      targets: [{ name: 'a', url: 'http://127.0.0.1:8081', protocol: 'http' }],
      alerting: { routes: [{ notify: [name] }], notifiers: { [name]: notifiers[name] } },
    };
    expect(validate(config)).toBe(false);
    expect(validate.errors?.map((error) => error.instancePath)).toContain(`/alerting/notifiers/${name}`);
  });
});

describe('good config fixtures', () => {
  it.each(yamlFiles(GOOD))('%s loads into its expected plan', (file) => {
    const expected: unknown = JSON.parse(
      readFileSync(join(GOOD, file.replace(/\.yaml$/, '.plan.json')), 'utf8'),
    );
    const result = load(GOOD, file);
    if (!result.ok) expect.fail(result.diagnostics.join('\n'));
    expect(JSON.parse(JSON.stringify(result.plan).split(GOOD).join('<dir>'))).toEqual(expected);
  });

  it('cover every protocol', () => {
    expect(yamlFiles(GOOD)).toEqual([...PROTOCOL_NAMES].sort().map((name) => `${name}.yaml`));
  });

  it.each(yamlFiles(GOOD))('%s is valid against the committed JSON Schema', (file) => {
    const schema = JSON.parse(readFileSync(join(FIXTURES, '../../..', JSON_SCHEMA_FILE), 'utf8'));
    const validate = new Ajv2020({ allowUnionTypes: true }).compile(schema);
    const valid = validate(parse(readFileSync(join(GOOD, file), 'utf8')));
    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
  });
});
