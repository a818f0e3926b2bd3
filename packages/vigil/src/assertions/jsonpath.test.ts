import { jsonpath } from 'json-p3';
import { describe, expect, it } from 'vitest';
import { formatJsonPath } from '../wire/json.js';
import { compileJsonPath, rewriteZeroLiterals, selectNodes } from './jsonpath.js';

function select(path: string, value: unknown): Array<[string, unknown]> {
  const compiled = compileJsonPath(path);
  if (!compiled.ok) throw new Error(compiled.message);
  return selectNodes(compiled.query, value).map((node) => [node.path, node.value]);
}

describe('compileJsonPath', () => {
  const doc = {
    outputs: [
      { name: 'p', score: 0.7 },
      { name: 'q', score: 0.2 },
      { name: 'r', score: 0.05 },
    ],
  };

  it('compiles once per path string', () => {
    const a = compileJsonPath('$.outputs[*].name');
    expect(compileJsonPath('$.outputs[*].name')).toBe(a);
  });

  it.each([
    ['$.outputs[?@.score > 0.5].name', [['$.outputs[0].name', 'p']]],
    ['$.outputs[?@.score < 0.1].name', [['$.outputs[2].name', 'r']]],
    ['$.outputs[?@.score == 0.2].name', [['$.outputs[1].name', 'q']]],
    ['$.outputs[?@.score > 0.025e1].name', [['$.outputs[0].name', 'p']]],
    ['$.outputs[?@.score > 0e1 && @.name == "0.5"].name', []],
    [
      '$.outputs[?@.score > -0.5].name',
      [
        ['$.outputs[0].name', 'p'],
        ['$.outputs[1].name', 'q'],
        ['$.outputs[2].name', 'r'],
      ],
    ],
    ['$.outputs[0].name', [['$.outputs[0].name', 'p']]],
  ])('accepts the RFC 9535 number literals json-p3 rejects: %s', (path, nodes) => {
    expect(select(path, doc)).toEqual(nodes);
  });

  it.each([
    [
      '$.outputs[?@.score == 01]',
      `invalid JSONPath "$.outputs[?@.score == 01]": invalid number literal '01' ('re == 01]':22)`,
    ],
    ['$[00]', `invalid JSONPath "$[00]": leading zero in index selector ('$[00]':2)`],
    ['outputs', `invalid JSONPath "outputs": expected '$', found 'o' ('outputs':0)`],
  ])('still rejects %s', (path, message) => {
    expect(compileJsonPath(path)).toEqual({
      ok: false,
      reason: message.slice(`invalid JSONPath ${JSON.stringify(path)}: `.length),
      message,
    });
  });
});

describe('rewriteZeroLiterals', () => {
  it.each([
    ['$[?@ > 0.5]', '$[?@ > 5e-1]'],
    ['$[?@ > 0.50]', '$[?@ > 50e-2]'],
    ['$[?@ > 0.025e2]', '$[?@ > 25e-1]'],
    ['$[?@ > 0.5E+3]', '$[?@ > 5e2]'],
    ['$[?@ == 0e1]', '$[?@ == 0]'],
    ['$[?@ == 0.0]', '$[?@ == 0]'],
    ['$[?@ == -0.5]', '$[?@ == -0.5]'],
    ['$[0]', '$[0]'],
    ['$[0:2]', '$[0:2]'],
    ['$[?@.a == \'0.5\' && @.b == "x\\"0.5"]', '$[?@.a == \'0.5\' && @.b == "x\\"0.5"]'],
    ['$[?@ > 10.5]', '$[?@ > 10.5]'],
  ])('%s → %s', (path, rewritten) => {
    expect(rewriteZeroLiterals(path)).toBe(rewritten);
  });
});

describe('selectNodes paths', () => {
  it('match formatJsonPath, so every selector in messages has one form', () => {
    const names = ['plain', 'model-name', 'a b', "it's", 'say "hi"', 'tab\there', 'é', '_x1', '1st'];
    const value = Object.fromEntries(names.map((name) => [name, [1]]));
    const nodes = jsonpath.query('$.*[0]', value);
    expect(nodes.nodes.map((node) => node.getPath())).toEqual(names.map((name) => formatJsonPath([name, 0])));
  });
});
