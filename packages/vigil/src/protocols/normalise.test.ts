import { describe, expect, it } from 'vitest';
import { flatten, normalisePredict, normaliseRows, shapeOf } from './normalise.js';

describe('normalisation', () => {
  it.each([
    [
      [1, [2, [3]]],
      [1, 2, 3],
    ],
    [5, [5]],
    ['x', ['x']],
    [[], []],
  ])('flatten(%j) = %j', (value, expected) => {
    expect(flatten(value)).toEqual(expected);
  });

  it.each([
    [[1, 2, 3], [3]],
    [
      [
        [1, 2],
        [3, 4],
      ],
      [2, 2],
    ],
    [[], [0]],
    [[[1], [2, 3]], undefined],
    [7, undefined],
  ])('shapeOf(%j) = %j', (value, expected) => {
    expect(shapeOf(value)).toEqual(expected);
  });

  it('rows of objects give one output per key; other arrays one output under the default name', () => {
    expect(normaliseRows([{ a: 1, b: 'x' }, { a: 2 }], 'p').outputs).toEqual({ a: [1, 2], b: ['x'] });
    expect(normaliseRows([[0.2], [0.8]], 'p')).toEqual({ outputs: { p: [0.2, 0.8] }, shapes: { p: [2, 1] } });
    expect(normaliseRows('label', 'p').outputs).toEqual({ p: ['label'] });
  });

  it('predict responses: predictions (rows) or outputs (columns); neither is undefined', () => {
    expect(normalisePredict({ predictions: [1] })?.outputs).toEqual({ predictions: [1] });
    expect(normalisePredict({ outputs: { y: [[1, 2]] } })?.outputs).toEqual({ y: [1, 2] });
    expect(normalisePredict({ outputs: [3] })?.outputs).toEqual({ outputs: [3] });
    expect(normalisePredict({ result: [] })).toBeUndefined();
  });
});
