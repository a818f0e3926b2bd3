import { describe, expect, it } from 'vitest';
import { accuracy, rocAuc } from './metrics.js';

describe('rocAuc', () => {
  it.each([
    ['perfect ranking', [0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1], 1],
    ['reversed ranking', [0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1], 0],
    ['all scores tied', [0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1], 0.5],
    ['one misordered pair of four', [0.1, 0.6, 0.5, 0.9], [0, 0, 1, 1], 0.75],
  ])('%s → %d', (_, scores, labels, auc) => {
    expect(rocAuc(scores, labels)).toBe(auc);
  });
});

describe('accuracy', () => {
  it('is the share of matching positions', () => {
    expect(accuracy([1, 0, 2, 2], [1, 1, 2, 0])).toBe(0.5);
  });
});
