import { describe, expect, it } from 'vitest';
import { formatJsonPath, parseJson, parseJsonLenient } from './json.js';

describe('parseJson', () => {
  it('parses strict JSON from a string or a Buffer', () => {
    expect(parseJson('{"p": [0.1, 2], "label": "cat"}')).toEqual({
      ok: true,
      value: { p: [0.1, 2], label: 'cat' },
    });
    expect(parseJson(Buffer.from('[1,2,3]'))).toEqual({ ok: true, value: [1, 2, 3] });
  });

  it('ignores a leading byte order mark', () => {
    expect(parseJson(Buffer.from('\ufeff{"a":1}'))).toEqual({ ok: true, value: { a: 1 } });
  });

  it.each([
    ['{"p": [0.2, NaN]}', 'bare NaN token at byte 12 ({"p": [0.2, NaN]})'],
    ['{"p": Infinity}', 'bare Infinity token at byte 6 ({"p": Infinity})'],
    ['[1, -Infinity]', 'bare -Infinity token at byte 4 ([1, -Infinity])'],
    [
      '{"model_name": "credit-scorer", "outputs": [{"name": "probability", "data": [NaN, 0.2]}]}',
      'bare NaN token at byte 77 (…"probability", "data": [NaN, 0.2]}]})',
    ],
    // Byte offsets count UTF-8 bytes: "é" is two.
    ['{"é": NaN}', 'bare NaN token at byte 7 ({"é": NaN})'],
  ])('reports NON_FINITE_NUMBER for %s', (text, message) => {
    expect(parseJson(text)).toEqual({ ok: false, code: 'NON_FINITE_NUMBER', message });
  });

  it('does not mistake NaN inside a string for a bare token', () => {
    expect(parseJson('{"label": "NaN", "x": }')).toEqual({
      ok: false,
      code: 'INVALID_JSON',
      message: 'unexpected character "}" at byte 22 ({"label": "NaN", "x": })',
    });
  });

  it('counts a stripped byte order mark in byte offsets', () => {
    expect(parseJson(Buffer.from('\ufeff[NaN]'))).toEqual({
      ok: false,
      code: 'NON_FINITE_NUMBER',
      message: 'bare NaN token at byte 4 ([NaN])',
    });
  });

  it.each([
    ['', 'the body is empty'],
    ['  \n', 'the body is empty'],
    ['{"a": 1,}', 'expected a member name in double quotes at byte 8 ({"a": 1,})'],
    ['{"a" 1}', 'expected ":" after a member name at byte 5 ({"a" 1})'],
    ['[1 2]', 'expected "," or "]" in an array at byte 3 ([1 2])'],
    ['{"a": 1', 'expected "," or "}" in an object at byte 7 ({"a": 1)'],
    ['{"a": "b', 'unterminated string at byte 6 ({"a": "b)'],
    ['{"a": tru}', 'unexpected character "t" at byte 6 ({"a": tru})'],
    ['[01]', 'expected "," or "]" in an array at byte 2 ([01])'],
    ['{"a": 1} x', 'unexpected data after the JSON value at byte 9 ({"a": 1} x)'],
    ['["a\\x"]', 'invalid escape at byte 3 (["a\\x"])'],
    ['<html>503</html>', 'unexpected character "<" at byte 0 (<html>503</html>)'],
    ['[', 'unexpected end of input at byte 1 ([)'],
  ])('reports INVALID_JSON with the position for %j', (text, message) => {
    expect(parseJson(text)).toEqual({ ok: false, code: 'INVALID_JSON', message });
  });

  it('keeps the context to one line around the error', () => {
    const text = `{"padding": "${'x'.repeat(100)}",\n"bad": NaN, "more": "${'y'.repeat(100)}"}`;
    const result = parseJson(text);
    expect(result).toEqual({
      ok: false,
      code: 'NON_FINITE_NUMBER',
      message: `bare NaN token at byte 123 (…${'x'.repeat(14)}", "bad": NaN, "more": "${'y'.repeat(10)}…)`,
    });
  });

  it('reports a body nested deeper than the reader can follow instead of throwing', () => {
    const result = parseJson(`${'['.repeat(200_000)}x`);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.code).toBe('INVALID_JSON');
  });
});

describe('parseJsonLenient', () => {
  it('reads bare non-finite tokens as numbers and says where each was', () => {
    const result = parseJsonLenient(
      '{"outputs": [{"name": "p", "data": [0.5, NaN, -Infinity]}], "x-y": Infinity}',
    );
    expect(result).toEqual({
      ok: true,
      value: {
        outputs: [{ name: 'p', data: [0.5, Number.NaN, Number.NEGATIVE_INFINITY] }],
        'x-y': Number.POSITIVE_INFINITY,
      },
      nonFinite: [
        { token: 'NaN', byte: 41, path: '$.outputs[0].data[1]' },
        { token: '-Infinity', byte: 46, path: '$.outputs[0].data[2]' },
        { token: 'Infinity', byte: 67, path: "$['x-y']" },
      ],
    });
  });

  it('parses what JSON.parse parses, the same way', () => {
    const text = '{"a": [1, -0.5e3, true, false, null, "s\\u00e9\\n"], "__proto__": {"b": {}}, "c": []}';
    const result = parseJsonLenient(text);
    expect(result.ok).toBe(true);
    if (result.ok) {
      expect(result.value).toStrictEqual(JSON.parse(text));
      expect(Object.getPrototypeOf(result.value)).toBe(Object.prototype);
      expect(result.nonFinite).toEqual([]);
    }
  });

  it('still rejects other syntax errors', () => {
    expect(parseJsonLenient('[NaN,]')).toEqual({
      ok: false,
      code: 'INVALID_JSON',
      message: 'unexpected character "]" at byte 5 ([NaN,])',
    });
  });
});

describe('formatJsonPath', () => {
  it.each([
    [[], '$'],
    [['outputs', 0, 'data'], '$.outputs[0].data'],
    [['model-name'], "$['model-name']"],
    [['a b', 2], "$['a b'][2]"],
    [["it's"], `$["it's"]`],
    [['say "hi"', 'x'], `$['say "hi"'].x`],
    [['tab\there'], "$['tab\\there']"],
    [['probabilité'], '$.probabilité'],
  ] as const)('%j → %s', (location, path) => {
    expect(formatJsonPath(location)).toBe(path);
  });
});

describe('parseJson depth limit', () => {
  it('refuses a body nested deeper than MAX_JSON_DEPTH as TOO_DEEP, naming where', () => {
    const deep = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parseJson(deep)).toEqual({
      ok: false,
      code: 'TOO_DEEP',
      message: 'nested deeper than 64 levels at byte 64',
    });
    const limit = `{"a":${'['.repeat(63)}"[[[["${']'.repeat(63)}}`;
    expect(parseJson(limit).ok).toBe(true);
    expect(parseJson(`[${limit}]`)).toMatchObject({ ok: false, code: 'TOO_DEEP' });
  });
});
