/** Rotation as a property: any set, any cap, any starting run. */
import { describe, it } from 'vitest';
import { fc, fuzz, fuzzTimeoutMs } from '../fixtures/fuzz.js';
import { rotationWindow } from './rotation.js';

describe('rotationWindow (property)', () => {
  it(
    'covers every case exactly once in any ceil(n / max) consecutive runs, at most max per run',
    () =>
      fuzz(
        'canary/rotation: coverage',
        fc.property(
          fc.integer({ min: 0, max: 600 }),
          fc.integer({ min: 1, max: 64 }),
          fc.integer({ min: 0, max: 2 ** 40 }),
          (n, max, start) => {
            const runs = Math.ceil(n / max);
            const seen = new Map<number, number>();
            for (let r = start; r < start + runs; r++) {
              const { indices, windows } = rotationWindow(n, r, max);
              if (windows !== runs) throw new Error(`windows ${windows}, expected ${runs}`);
              if (indices.length > max) throw new Error(`run ${r} sends ${indices.length} > ${max}`);
              if (n > 0 && indices.length === 0) throw new Error(`run ${r} sends nothing`);
              // Balanced: window sizes differ by at most one.
              if (n > 0 && indices.length < Math.floor(n / runs)) throw new Error(`run ${r} is undersized`);
              indices.forEach((i, k) => {
                if (k > 0 && i <= (indices[k - 1] as number)) throw new Error('indices not ascending');
                if (i < 0 || i >= n) throw new Error(`index ${i} out of range`);
                seen.set(i, (seen.get(i) ?? 0) + 1);
              });
              // Deterministic: the same run gives the same window.
              if (rotationWindow(n, r, max).indices.join() !== indices.join())
                throw new Error('not deterministic');
            }
            if (seen.size !== n) throw new Error(`covered ${seen.size} of ${n} cases in ${runs} runs`);
            for (const [i, count] of seen) if (count !== 1) throw new Error(`case ${i} sent ${count} times`);
          },
        ),
      ),
    fuzzTimeoutMs,
  );
});
