import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  inferOutputKind,
  normaliseText,
  TEXT_MIN_LENGTH,
  textSimilarity,
  topkOverlap,
  topkRows,
  topkWidth,
} from './outputs.js';

describe('inferOutputKind', () => {
  it.each([
    ['numbers', [0.3], undefined, 'numbers'],
    ['numbers with a NaN', [0.3, Number.NaN], [1, 2], 'numbers'],
    ['one short string', ['repay'], undefined, 'labels'],
    ['a label per row of a batch', ['repay', 'default'], [2, 1], 'labels'],
    ['a rank-1 list of labels', ['a', 'b', 'c'], [3], 'labels'],
    ['ranked categories', ['Books', 'Toys', 'Garden'], [1, 3], 'topk'],
    ['several strings without a shape', ['Books', 'Toys'], undefined, 'topk'],
    ['a long string', ['x'.repeat(TEXT_MIN_LENGTH + 1)], undefined, 'text'],
    ['a multi-line string', ['Yes.\nBecause…'], [1], 'text'],
    ['booleans', [true], undefined, 'json'],
    ['mixed values', [1, 'a'], undefined, 'json'],
    ['nothing', [], undefined, 'json'],
  ] as const)('reads %s as %s', (_, values, shape, kind) => {
    expect(inferOutputKind(values, shape)).toBe(kind);
  });
});

describe('top-k rows', () => {
  it('cuts by the last dimension of the shape, or keeps one row', () => {
    expect(topkWidth(['a', 'b', 'c', 'd', 'e', 'f'], [2, 3])).toBe(3);
    expect(topkWidth(['a', 'b', 'c'], undefined)).toBe(3);
    expect(topkRows(['a', 'b', 'c', 'd', 'e', 'f'], 3)).toEqual([
      ['a', 'b', 'c'],
      ['d', 'e', 'f'],
    ]);
  });

  it.each([
    [['A', 'B', 'C'], ['A', 'B', 'C'], 1],
    [['A', 'B', 'C'], ['C', 'A', 'B'], 1],
    [['A', 'B', 'C'], ['B', 'A', 'D'], 2 / 3],
    [['A', 'B', 'C'], ['D', 'E', 'F'], 0],
    [['A', 'B'], ['A', 'B', 'C'], 2 / 3],
    [[], [], 1],
  ])('overlap of %j and %j is %d', (a, b, overlap) => {
    expect(topkOverlap(a, b)).toBeCloseTo(overlap, 12);
  });
});

describe('text', () => {
  it('normalises Unicode form, case and white space', () => {
    expect(normaliseText('  Ｐａｒｉｓ\n\tIS   the capital. ')).toBe('paris is the capital.');
  });

  it.each([
    ['Paris.', 'paris.', 1],
    ['', '', 1],
    ['kitten', 'sitting', 1 - 3 / 7],
    ['abc', '', 0],
  ])('similarity of %j and %j is %d', (a, b, similarity) => {
    expect(textSimilarity(a, b)).toBeCloseTo(similarity, 12);
  });
});

describe('canonicalJson', () => {
  it('writes keys sorted at every level, arrays in order', () => {
    expect(canonicalJson({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
  });
});
