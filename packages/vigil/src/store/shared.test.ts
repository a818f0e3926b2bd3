import { describe, expect, it } from 'vitest';
import { evalState, failedResult, probeResult } from './fixtures/data.js';
import { decodeJson, encodeJson, encodeState, MINUTE_MS, pruneCutoffs } from './shared.js';
import { DEFAULT_RAW_RETENTION_MS } from './types.js';

describe('JSON column codec', () => {
  it.each([
    ['NaN', Number.NaN],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['a bigint', -(2n ** 80n)],
    ['nested values', { a: [1, Number.NaN, { b: 3n }], c: 'x' }],
    ['plain JSON', { a: [1, 2.5, null, true, 'π'], b: { c: {} } }],
  ])('round-trips %s', (_, value) => {
    expect(decodeJson(encodeJson(value))).toStrictEqual(value);
  });

  it.each([
    ['an unknown tag value', { $vigil: 'hello' }],
    ['a tag beside other keys', { $vigil: 'NaN', other: 1 }],
  ])('leaves a user object that only looks tagged alone: %s', (_, value) => {
    expect(decodeJson(JSON.stringify(value))).toStrictEqual(value);
  });
});

describe('state codec', () => {
  it('writes a passing state as plain JSON', () => {
    const pass = probeResult();
    const state = evalState({ state: 'healthy', streak: [pass], lastResult: pass });
    expect(encodeState(state)).toBe(JSON.stringify(state));
  });

  it('tags non-finite values wherever a result carries failures, so they round-trip', () => {
    const odd = failedResult({
      failures: [{ assertion: 'outputs', expected: 'finite', actual: Number.NaN, message: 'NaN' }],
    });
    const inStreak = evalState({ streak: [odd], lastResult: probeResult({ outcome: 'fail' }) });
    const inLast = evalState({ streak: [], lastResult: odd });
    for (const state of [inStreak, inLast]) expect(decodeJson(encodeState(state))).toStrictEqual(state);
  });
});

describe('prune cutoffs', () => {
  it('rounds the raw cutoff down to a whole minute and applies the default retention', () => {
    const now = 1_735_732_800_000 + 7 * 24 * 3600_000 + 90_500;
    const cut = pruneCutoffs({ now });
    expect(cut.raw % MINUTE_MS).toBe(0);
    expect(cut.raw).toBe(now - DEFAULT_RAW_RETENTION_MS - 30_500);
  });
});
