import { describe, expect, it } from 'vitest';
import { deepEqual } from './deep-equal.js';
import { Fifo } from './queue.js';

describe('Fifo', () => {
  it('keeps first-in first-out order across compaction, with unshift at the front', () => {
    const q = new Fifo<number>();
    for (let i = 0; i < 5000; i++) q.push(i);
    for (let i = 0; i < 3000; i++) expect(q.shift()).toBe(i);
    q.unshift(-1);
    expect(q.size).toBe(2001);
    expect(q.shift()).toBe(-1);
    expect([...q]).toEqual(Array.from({ length: 2000 }, (_, i) => 3000 + i));
    q.clear();
    expect(q.shift()).toBeUndefined();
    q.unshift(7);
    expect([...q]).toEqual([7]);
  });
});

describe('deepEqual', () => {
  it.each([
    [{ a: 1, b: [1, { c: 'x' }] }, { b: [1, { c: 'x' }], a: 1 }, true],
    [{ a: 1 }, { a: 1, b: undefined }, false],
    [[1, 2], [2, 1], false],
    [{ a: null }, { a: {} }, false],
    [[], {}, false],
    [Number.NaN, Number.NaN, true],
    [{ fast: null }, { fast: 1000 }, false],
  ])('%j vs %j → %s', (a, b, equal) => {
    expect(deepEqual(a, b)).toBe(equal);
  });
});
