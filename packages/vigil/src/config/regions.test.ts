import { describe, expect, it } from 'vitest';
import type { CheckPlan } from '../types.js';
import { isGlobal, parseQuorum, parseShard, plansForRegion, shardOf } from './regions.js';

const plan = (id: string, extra: Partial<CheckPlan> = {}): CheckPlan =>
  ({ id, kind: 'liveness', intervalMs: 10_000, initialDelayMs: 0, ...extra }) as CheckPlan;

describe('regions', () => {
  it.each([
    ['majority', 1, 2, false],
    ['majority', 2, 3, true],
    ['majority', 1, 1, true],
    ['all', 2, 3, false],
    ['all', 3, 3, true],
    ['2 of 3', 1, 3, false],
    ['2 of 3', 2, 3, true],
    // One region stopped reporting: N is capped at the regions reporting.
    ['3 of 3', 2, 2, true],
    ['majority', 0, 3, false],
  ] as const)('quorum %s: %i failing of %i reporting → global %s', (text, failing, reporting, global) => {
    expect(isGlobal(parseQuorum(text), failing, reporting)).toBe(global);
  });

  it('refuses a quorum that is not majority, all or N of M with 1 ≤ N ≤ M', () => {
    expect(parseQuorum('4 of 3')).toBeUndefined();
    expect(parseQuorum('0 of 3')).toBeUndefined();
    expect(parseQuorum('most')).toBeUndefined();
  });

  it('shards by a stable hash of the check id: every check in exactly one shard', () => {
    const ids = Array.from({ length: 200 }, (_, i) => `t${i}/liveness`);
    const counts = [0, 0, 0, 0];
    for (const id of ids) {
      const s = shardOf(id, 4);
      expect(shardOf(id, 4)).toBe(s);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    expect(counts.reduce((a, b) => a + b)).toBe(200);
    for (const c of counts) expect(c).toBeGreaterThan(20);
    expect(parseShard('2/4')).toEqual({ index: 1, count: 4 });
    expect(parseShard('5/4')).toBeUndefined();
  });

  it('gives each region its checks; round-robin regions take turns of N × interval', () => {
    const plans = [
      plan('a/liveness'),
      plan('b/liveness', { regions: ['local', 'eu'] }),
      plan('c/liveness', { regions: ['local', 'eu', 'us'], scheduling: 'round-robin' }),
    ];
    expect(plansForRegion(plans, 'local', 'local').map((p) => p.id)).toEqual([
      'a/liveness',
      'b/liveness',
      'c/liveness',
    ]);
    const eu = plansForRegion(plans, 'eu', 'local');
    expect(eu.map((p) => p.id)).toEqual(['b/liveness', 'c/liveness']);
    expect(eu[1]).toMatchObject({ intervalMs: 30_000, initialDelayMs: 10_000 });
    const sharded = [0, 1, 2].flatMap((index) =>
      plansForRegion(plans, 'local', 'local', { index, count: 3 }),
    );
    expect(sharded.map((p) => p.id).sort()).toEqual(['a/liveness', 'b/liveness', 'c/liveness']);
  });
});
