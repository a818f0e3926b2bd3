import { describe, expect, it } from 'vitest';
import { DueHeap, type HeapItem } from './heap.js';

/** A deterministic pseudo-random sequence (mulberry32). */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const item = (dueAt: number, seq: number): HeapItem & { id: number } => ({
  dueAt,
  seq,
  heapIndex: -1,
  id: seq,
});

describe('DueHeap', () => {
  it('pops in due order, equal due times in scheduling order', () => {
    const rand = random(1);
    const heap = new DueHeap<ReturnType<typeof item>>();
    const items = Array.from({ length: 500 }, (_, i) => item(Math.floor(rand() * 50), i));
    for (const it of items) heap.push(it);
    const popped: Array<ReturnType<typeof item>> = [];
    for (let top = heap.pop(); top; top = heap.pop()) popped.push(top);
    const expected = [...items].sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq);
    expect(popped.map((p) => p.id)).toEqual(expected.map((p) => p.id));
    expect(popped.every((p) => p.heapIndex === -1)).toBe(true);
  });

  it('removes any item and keeps the order of the rest', () => {
    const rand = random(2);
    const heap = new DueHeap<ReturnType<typeof item>>();
    const items = Array.from({ length: 300 }, (_, i) => item(rand() * 1000, i));
    for (const it of items) heap.push(it);
    const removed = items.filter((_, i) => i % 3 === 0);
    for (const it of removed) expect(heap.remove(it)).toBe(true);
    expect(heap.remove(removed[0] as ReturnType<typeof item>)).toBe(false);
    expect(heap.size).toBe(200);
    const popped: number[] = [];
    for (let top = heap.pop(); top; top = heap.pop()) popped.push(top.dueAt);
    expect(popped).toEqual(
      items
        .filter((_, i) => i % 3 !== 0)
        .map((it) => it.dueAt)
        .sort((a, b) => a - b),
    );
  });

  it('peeks without removing and clears', () => {
    const heap = new DueHeap<ReturnType<typeof item>>();
    expect(heap.peek()).toBeUndefined();
    const a = item(5, 0);
    heap.push(item(9, 1));
    heap.push(a);
    expect(heap.peek()).toBe(a);
    expect(heap.size).toBe(2);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(a.heapIndex).toBe(-1);
  });
});
