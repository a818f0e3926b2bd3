import { describe, expect, it } from 'vitest';
import {
  CREDIT_FEATURE_COUNT,
  CREDIT_FEATURES,
  featurizeTitles,
  fnv1a32,
  hashTitle,
  MAX_TITLE_TOKENS,
  scaleCreditFeature,
  TITLE_FEATURE_DIM,
  tokenizeTitle,
} from './features.js';

describe('credit features', () => {
  it('documents 8 distinct columns with a valid raw range', () => {
    expect(CREDIT_FEATURE_COUNT).toBe(8);
    expect(new Set(CREDIT_FEATURES.map((f) => f.name)).size).toBe(8);
    for (const f of CREDIT_FEATURES) expect(f.rawMax).toBeGreaterThan(f.rawMin);
  });

  it.each([
    [0, 0.3, 0.5],
    [2, 3, 0.25],
    [2, 20, 1],
    [3, -5, 0],
  ])('min-max scales feature %i raw %d to %d, clipping to [0, 1]', (index, raw, scaled) => {
    expect(scaleCreditFeature(index, raw)).toBeCloseTo(scaled, 12);
  });
});

describe('tokenizeTitle', () => {
  it.each([
    ["Men's Running T-Shirt, 2-Pack", ['men', 'running', 'shirt', 'pack']],
    ['The Art of War', ['art', 'war']],
    ['ＵＳＢ-Ｃ Charger 65W', ['usb', 'charger', '65w']],
    ['Crème Brûlée Set', ['crème', 'brûlée', 'set']],
    ['the and of', []],
    ['', []],
    ['!!! ---', []],
  ])('tokenizes %j as %j', (title, tokens) => {
    expect(tokenizeTitle(title)).toEqual(tokens);
  });

  it(`keeps at most ${MAX_TITLE_TOKENS} tokens`, () => {
    expect(tokenizeTitle('word '.repeat(200))).toHaveLength(MAX_TITLE_TOKENS);
  });
});

describe('fnv1a32', () => {
  // Reference values from the FNV test suite (http://www.isthe.com/chongo/src/fnv/test_fnv.c).
  it.each([
    ['', 0x811c9dc5],
    ['a', 0xe40c292c],
    ['foobar', 0xbf9cf968],
  ])('hashes %j to the reference value', (text, hash) => {
    expect(fnv1a32(text)).toBe(hash);
  });
});

describe('hashTitle / featurizeTitles', () => {
  it('gives an L2-normalised vector with sorted, in-range buckets', () => {
    const { indices, values } = hashTitle('Wireless Bluetooth Noise Cancelling Headphones');
    expect(indices.length).toBeGreaterThan(0);
    expect(indices).toEqual([...indices].sort((a, b) => a - b));
    for (const i of indices) expect(i).toBeLessThan(TITLE_FEATURE_DIM);
    expect(Math.hypot(...values)).toBeCloseTo(1, 6);
  });

  it('ignores case, punctuation and stop words', () => {
    expect(hashTitle('the WIRELESS, headphones!')).toEqual(hashTitle('wireless headphones'));
  });

  it('maps empty and stop-word-only titles to the zero vector', () => {
    expect(hashTitle('')).toEqual({ indices: [], values: [] });
    const dense = featurizeTitles(['', 'of the and']);
    expect(dense).toHaveLength(2 * TITLE_FEATURE_DIM);
    expect(dense.every((v) => v === 0)).toBe(true);
  });

  it('writes each title into its own row of the dense batch', () => {
    const dense = featurizeTitles(['', 'laptop']);
    const { indices, values } = hashTitle('laptop');
    expect(dense.subarray(0, TITLE_FEATURE_DIM).every((v) => v === 0)).toBe(true);
    expect(dense[TITLE_FEATURE_DIM + (indices[0] as number)]).toBe(values[0]);
  });
});
