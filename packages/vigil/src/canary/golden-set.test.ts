import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../errors.js';
import {
  checkGoldenCases,
  loadGoldenSet,
  MAX_CASE_ID_LENGTH,
  MAX_GOLDEN_SET_PROBLEMS,
  parseGoldenSetJsonl,
} from './golden-set.js';

const OIP = { inputs: [{ name: 'features', shape: [1, 2], datatype: 'FP32', data: [0.1, 0.2] }] };
const line = (value: unknown) => JSON.stringify(value);

describe('parseGoldenSetJsonl', () => {
  it('reads one case per line, skipping blank lines, with CRLF line ends and a byte order mark', () => {
    const text = `\ufeff${line({ id: 'a', request: OIP })}\r\n\r\n   \n${line({ request: { prompt: 'hi' }, id: 'b' })}\n`;
    expect(parseGoldenSetJsonl(text, 'cases.jsonl')).toEqual({
      ok: true,
      cases: [
        { id: 'a', request: OIP },
        { id: 'b', request: { prompt: 'hi' } },
      ],
    });
  });

  it.each([
    [
      'a line that is not JSON',
      '{"id": "a", "request": {}',
      'cases.jsonl:1: invalid JSON: expected "," or "}" in an object at byte 25 (…"id": "a", "request": {})',
    ],
    [
      'a bare NaN',
      '{"id": "a", "request": {"x": NaN}}',
      'cases.jsonl:1: invalid JSON: bare NaN token at byte 29 (…: "a", "request": {"x": NaN}})',
    ],
    [
      'a list instead of an object',
      '[1, 2]',
      'cases.jsonl:1: expected an object {"id": …, "request": …}, got an array',
    ],
    ['a missing id', line({ request: OIP }), 'cases.jsonl:1: "id" is missing'],
    ['a numeric id', line({ id: 7, request: OIP }), 'cases.jsonl:1: "id" must be a string, got number 7'],
    ['an empty id', line({ id: ' ', request: OIP }), 'cases.jsonl:1: "id" must not be empty'],
    [
      'an id with a line break',
      line({ id: 'a\nb', request: OIP }),
      'cases.jsonl:1: "id" "a\\nb" contains a control character or line break',
    ],
    [
      'an id that is too long',
      line({ id: 'x'.repeat(MAX_CASE_ID_LENGTH + 1), request: OIP }),
      `cases.jsonl:1: "id" is ${MAX_CASE_ID_LENGTH + 1} characters long; the maximum is ${MAX_CASE_ID_LENGTH}`,
    ],
    ['a missing request', line({ id: 'a' }), 'cases.jsonl:1: "request" is missing'],
    ['a null request', line({ id: 'a', request: null }), 'cases.jsonl:1: "request" must not be null'],
    [
      'a misspelt key',
      line({ id: 'a', request: OIP, requets: 1 }),
      'cases.jsonl:1: unknown key "requets" (did you mean "request"?)',
    ],
    ['an unknown key', line({ id: 'a', request: OIP, expect: {} }), 'cases.jsonl:1: unknown key "expect"'],
  ])('reports %s with file and line', (_, text, problem) => {
    expect(parseGoldenSetJsonl(text, 'cases.jsonl')).toEqual({ ok: false, problems: [problem], total: 1 });
  });

  it('reports every bad line, each with its line number, and refuses duplicate ids', () => {
    const text = [
      line({ id: 'a', request: OIP }),
      '',
      line({ id: 'b', request: OIP }),
      'not json',
      line({ id: 'a', request: OIP }),
      line({ id: 'c' }),
    ].join('\n');
    const result = parseGoldenSetJsonl(text, 'set.jsonl');
    expect(result).toEqual({
      ok: false,
      total: 3,
      problems: [
        'set.jsonl:4: invalid JSON: unexpected character "n" at byte 0 (not json)',
        'set.jsonl:5: duplicate id "a" (first at set.jsonl:1)',
        'set.jsonl:6: "request" is missing',
      ],
    });
  });

  it('refuses a file without cases', () => {
    expect(parseGoldenSetJsonl('\n\n', 'empty.jsonl')).toEqual({
      ok: false,
      problems: ['empty.jsonl: no cases (every line is blank)'],
      total: 1,
    });
  });

  it(`lists at most ${MAX_GOLDEN_SET_PROBLEMS} problems and counts the rest`, () => {
    const text = Array.from({ length: 60 }, () => '[]').join('\n');
    const result = parseGoldenSetJsonl(text, 'bad.jsonl');
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.total).toBe(60);
    expect(result.problems).toHaveLength(MAX_GOLDEN_SET_PROBLEMS + 1);
    expect(result.problems.at(-1)).toBe('… and 10 more problems');
  });
});

describe('checkGoldenCases (inline)', () => {
  const where = 'targets[0].checks.canary.cases';

  it('accepts a list of cases', () => {
    expect(checkGoldenCases([{ id: 'a', request: OIP }], where)).toEqual({
      ok: true,
      cases: [{ id: 'a', request: OIP }],
    });
  });

  it.each([
    ['not a list', { id: 'a' }, [`${where}: expected a list of cases, got an object`]],
    ['an empty list', [], [`${where}: no cases (the list is empty)`]],
    [
      'duplicates and bad items',
      [{ id: 'a', request: 1 }, { id: 'a', request: 2 }, 'x'],
      [
        `${where}[1]: duplicate id "a" (first at ${where}[0])`,
        `${where}[2]: expected an object {"id": …, "request": …}, got the string "x"`,
      ],
    ],
  ])('reports %s with its config path', (_, value, problems) => {
    expect(checkGoldenCases(value, where)).toMatchObject({ ok: false, problems });
  });
});

describe('loadGoldenSet', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-golden-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('reads a JSONL file', async () => {
    const path = join(dir, 'ok.jsonl');
    writeFileSync(path, `${line({ id: 'a', request: OIP })}\n`);
    await expect(loadGoldenSet(path)).resolves.toEqual([{ id: 'a', request: OIP }]);
  });

  it('throws VIGIL_ERR_CANARY_CASES with every problem as a diagnostic', async () => {
    const path = join(dir, 'bad.jsonl');
    writeFileSync(path, `${line({ id: 'a', request: OIP })}\n${line({ id: 'a', request: OIP })}\n[]\n`);
    const error = await loadGoldenSet(path, 'canaries/bad.jsonl').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({
      code: 'VIGIL_ERR_CANARY_CASES',
      message:
        'golden set canaries/bad.jsonl is invalid: canaries/bad.jsonl:2: duplicate id "a" (first at canaries/bad.jsonl:1) (and 1 more, listed above)',
      diagnostics: [
        'canaries/bad.jsonl:2: duplicate id "a" (first at canaries/bad.jsonl:1)',
        'canaries/bad.jsonl:3: expected an object {"id": …, "request": …}, got an array',
      ],
    });
  });

  it('says why a file cannot be read', async () => {
    await expect(loadGoldenSet(join(dir, 'missing.jsonl'), 'missing.jsonl')).rejects.toMatchObject({
      code: 'VIGIL_ERR_CANARY_CASES',
      message:
        'cannot read golden set missing.jsonl (ENOENT): check the path, which is relative to the config file',
    });
    await expect(loadGoldenSet(dir, 'a-folder')).rejects.toMatchObject({
      message: expect.stringContaining('cannot read golden set a-folder (EISDIR)'),
    });
  });
});
