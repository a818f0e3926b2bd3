import { describe, expect, it } from 'vitest';
import { closest, editDistance } from './suggest.js';

const KEYS = ['interval', 'timeout', 'failureThreshold', 'successThreshold', 'fastInterval', 'labels'];

describe('closest', () => {
  it.each([
    ['intervall', 'interval'],
    ['timout', 'timeout'],
    ['lables', 'labels'],
    ['failure_threshold', 'failureThreshold'],
    ['FastInterval', 'fastInterval'],
    ['sucessThreshold', 'successThreshold'],
  ])('suggests %s → %s', (input, suggestion) => {
    expect(closest(input, KEYS)).toBe(suggestion);
  });

  it.each(['alerting', 'x', 'checks', 'period'])('suggests nothing for %s', (input) => {
    expect(closest(input, KEYS)).toBeUndefined();
  });
});

describe('editDistance', () => {
  it.each([
    ['', '', 0],
    ['abc', 'abc', 0],
    ['abc', 'acb', 1],
    ['kitten', 'sitting', 3],
    ['', 'abc', 3],
  ])('%j → %j is %d', (a, b, distance) => {
    expect(editDistance(a, b)).toBe(distance);
  });
});
