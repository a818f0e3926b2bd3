import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CASES_PER_RUN, rotationWindow } from './rotation.js';

const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

describe('rotationWindow', () => {
  it.each([
    // caseCount, runIndex, max, indices, window, windows
    [10, 0, 16, range(0, 10), 0, 1],
    [10, 7, 16, range(0, 10), 0, 1],
    [16, 3, 16, range(0, 16), 0, 1],
    [17, 0, 16, range(0, 8), 0, 2],
    [17, 1, 16, range(8, 17), 1, 2],
    [40, 0, 16, range(0, 13), 0, 3],
    [40, 4, 16, range(13, 26), 1, 3],
    [40, 5, 16, range(26, 40), 2, 3],
    [5, 2, 1, [2], 2, 5],
  ])('sends cases of a set of %i at run %i (max %i)', (n, run, max, indices, window, windows) => {
    expect(rotationWindow(n, run, max)).toEqual({
      indices,
      window,
      windows,
      completesRotation: window === windows - 1,
    });
  });

  it('sends nothing from an empty set, and that completes a rotation', () => {
    expect(rotationWindow(0, 12)).toEqual({ indices: [], window: 0, windows: 0, completesRotation: true });
  });

  it(`caps a run at ${DEFAULT_MAX_CASES_PER_RUN} cases by default`, () => {
    expect(rotationWindow(1000, 0).indices).toHaveLength(15); // 63 windows of 15 or 16 cases
    expect(rotationWindow(1000, 62).indices).toHaveLength(16);
    expect(rotationWindow(1000, 0).windows).toBe(63);
  });

  it.each([
    [-1, 0, 16, 'caseCount must be an integer ≥ 0, got -1'],
    [10, 1.5, 16, 'runIndex must be an integer ≥ 0, got 1.5'],
    [10, -1, 16, 'runIndex must be an integer ≥ 0, got -1'],
    [10, 0, 0, 'maxCasesPerRun must be an integer ≥ 1, got 0'],
    [10, 0, Number.NaN, 'maxCasesPerRun must be an integer ≥ 1, got NaN'],
  ])('refuses caseCount %s, runIndex %s, max %s', (n, run, max, message) => {
    expect(() => rotationWindow(n, run, max)).toThrow(
      expect.objectContaining({ code: 'VIGIL_ERR_CANARY_OPTIONS', message }),
    );
  });
});
