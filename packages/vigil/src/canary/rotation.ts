/**
 * Rotation of a large golden set: each canary run sends at most `maxCasesPerRun` cases, so a run's
 * cost for the model stays small whatever the set's size, and every case is sent at least once in
 * every `ceil(n / maxCasesPerRun)` consecutive runs.
 */
import { VigilError } from '../errors.js';

/** Default cap on the cases one canary run sends (issue 17: the probe budget stays small). */
export const DEFAULT_MAX_CASES_PER_RUN = 16;

/** Which cases one run sends. */
export interface RotationWindow {
  /** Indexes into the golden set, ascending; at most `maxCasesPerRun`, none when the set is empty. */
  readonly indices: number[];
  /** Which window of the rotation this run is, 0-based. */
  readonly window: number;
  /** Windows in one full rotation: `ceil(n / maxCasesPerRun)` (0 for an empty set). */
  readonly windows: number;
  /** True on the last window of a rotation: after this run, every case has been sent since window 0. */
  readonly completesRotation: boolean;
}

function checkCount(name: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new VigilError('VIGIL_ERR_CANARY_OPTIONS', `${name} must be an integer ≥ ${min}, got ${value}`);
  }
}

/**
 * The cases run number `runIndex` sends, out of a set of `caseCount`: a pure function, the same
 * answer for the same arguments on every hub, so runs need no shared state but their count.
 *
 * The set is cut into `w = ceil(n / max)` consecutive windows of near-equal size (`floor(n/w)` or
 * `ceil(n/w)` cases, never more than `max`), and run `r` sends window `r mod w`. So any `w`
 * consecutive runs send every case exactly once, and a run never sends a tiny leftover window
 * (40 cases at 16 per run are windows of 13, 13 and 14, not 16, 16 and 8).
 *
 * @param caseCount cases in the golden set (≥ 0)
 * @param runIndex the run's number (≥ 0): a counter of the check's canary runs
 * @param maxCasesPerRun cap per run (≥ 1), default {@link DEFAULT_MAX_CASES_PER_RUN}
 * @throws VigilError `VIGIL_ERR_CANARY_OPTIONS` when an argument is not an integer in range
 * @example rotationWindow(40, 4, 16) // {indices: [13, …, 25], window: 1, windows: 3, completesRotation: false}
 */
export function rotationWindow(
  caseCount: number,
  runIndex: number,
  maxCasesPerRun: number = DEFAULT_MAX_CASES_PER_RUN,
): RotationWindow {
  checkCount('caseCount', caseCount, 0);
  checkCount('runIndex', runIndex, 0);
  checkCount('maxCasesPerRun', maxCasesPerRun, 1);
  if (caseCount === 0) return { indices: [], window: 0, windows: 0, completesRotation: true };
  const windows = Math.ceil(caseCount / maxCasesPerRun);
  const window = runIndex % windows;
  // Boundaries floor(k·n/w): sizes differ by at most one and never exceed ceil(n/w) ≤ max.
  const from = Math.floor((window * caseCount) / windows);
  const to = Math.floor(((window + 1) * caseCount) / windows);
  const indices: number[] = [];
  for (let i = from; i < to; i++) indices.push(i);
  return { indices, window, windows, completesRotation: window === windows - 1 };
}
