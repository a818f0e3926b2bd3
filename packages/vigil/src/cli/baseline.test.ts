/**
 * `vigil baseline show` and `vigil baseline diff`: the text (in process) and the real CLI's exit codes
 * and one-line errors (spawned, as startup-faults.test.ts does).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Baseline, buildBaseline, type RecordedAnswer, serialiseBaseline } from '../canary/index.js';
import { VERSION } from '../version.js';
import { diffBaselines, formatBaseline, formatDiff } from './baseline.js';

const ENTRY = fileURLToPath(new URL('./bin.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function vigil(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--conditions=source', '--import', 'tsx', ENTRY, ...args],
      { cwd: ROOT, timeout: 100_000 },
      (error, stdout, stderr) =>
        resolve({ code: error ? ((error.code as number | undefined) ?? null) : 0, stdout, stderr }),
    );
  });
}

const CASES = 12;
/** A model's answer for case i; `p` moved by `shift`, labels swapped when `swap`. */
function answerOf(
  i: number,
  options: { shift?: number; swap?: boolean; durationMs?: number } = {},
): RecordedAnswer {
  const p = Number((0.05 + 0.07 * i).toFixed(2)) + (options.shift ?? 0);
  const repay = p <= 0.5;
  const label = repay !== (options.swap ?? false) ? 'repay' : 'default';
  return { outputs: { probability: [p], label: [label] }, durationMs: options.durationMs ?? 10 + (i % 3) };
}
function baselineOf(
  version: string,
  edit: (i: number) => Parameters<typeof answerOf>[1] = () => ({}),
): Baseline {
  return buildBaseline({
    cases: Array.from({ length: CASES }, (_, i) => ({
      id: `c${String(i).padStart(2, '0')}`,
      request: { inputs: [{ name: 'features', shape: [1, 1], datatype: 'FP32', data: [i] }] },
      answers: [answerOf(i, edit(i)), answerOf(i, edit(i)), answerOf(i, edit(i))],
    })),
    model: { name: 'credit-scorer', version },
    target: 'credit-scorer',
    check: 'canary',
    recordedAt: '2026-12-01T10:00:00.000Z',
    warmupRepeats: 1,
  });
}

const V1 = baselineOf('1');
const V2_SLOWER = baselineOf('2', () => ({ durationMs: 20 }));
const V2_DRIFTED = baselineOf('2', (i) => (i === 3 ? { shift: 0.01 } : i === 9 ? { shift: 0.2 } : {}));
const V2_SWAPPED = baselineOf('2', () => ({ swap: true }));

describe('formatBaseline', () => {
  it('prints the model, version, origin, latency, and every value with its spread', () => {
    const text = formatBaseline(V1, 'v1.json');
    expect(text.split('\n').slice(0, 3)).toEqual([
      `v1.json: credit-scorer version 1, recorded 2026-12-01T10:00:00.000Z by Vigil ${VERSION}`,
      'target credit-scorer, check canary; 12 cases × 2 repeats (1 warm-up left out)',
      'latency: p50 11 ms, p95 12 ms, p99 12 ms over 24 requests (max 12 ms)',
    ]);
    expect(text).toContain(
      [
        'case "c03": 2 repeats; latency p50 10 ms, p95 10 ms, p99 10 ms over 2 requests (max 10 ms)',
        '  label[0]  "repay" (2 of 2)',
        '  probability[0]  0.26 ± 0 (min 0.26, max 0.26)',
      ].join('\n'),
    );
  });
});

describe('diffBaselines and formatDiff', () => {
  it('finds no difference between a version and one that is only slower, and shows the latency change', () => {
    const diff = diffBaselines(V1, V2_SLOWER);
    expect(diff.verdict.outcome).toBe('pass');
    const text = formatDiff(V1, V2_SLOWER, ['v1.json', 'v2.json'], diff, false);
    expect(text).toContain('latency: p50 11 ms → 20 ms (+81.8182%)');
    expect(text.trimEnd().split('\n').at(-1)).toBe('no difference beyond tolerance (24 values compared)');
  });

  it('lists each value beyond tolerance under its case, and the drift statistics', () => {
    const diff = diffBaselines(V1, V2_DRIFTED);
    expect(diff.verdict.outcome).toBe('degraded');
    const text = formatDiff(V1, V2_DRIFTED, ['v1.json', 'v2.json'], diff, false);
    expect(text).toContain(
      'case "c03"\n  probability[0]  0.26 → 0.27  off by 0.01, tolerance 0.000026  BEYOND',
    );
    expect(text).toContain(
      'case "c09"\n  probability[0]  0.68 → 0.88  off by 0.2, tolerance 0.000068  BEYOND',
    );
    expect(text).not.toContain('case "c04"');
    expect(text).toContain(
      'drift statistics over the 12 compared cases:\n  PSI probability[0]  0 (stable), bound 0.25  ok',
    );
    expect(text.trimEnd().split('\n').at(-1)).toBe(
      '2 findings beyond tolerance (24 values compared): a canary run against A would be degraded',
    );
  });

  it('calls swapped labels corrupt', () => {
    const diff = diffBaselines(V1, V2_SWAPPED);
    expect(diff.verdict.outcome).toBe('fail');
    expect(formatDiff(V1, V2_SWAPPED, ['a', 'b'], diff, false)).toContain(
      'corrupt: labels flipped in 12 of 12 answers (100%), more than 50%: a swapped label map or broken weights',
    );
  });

  it('does not compare cases whose requests changed, and lists cases only one side has', () => {
    const changed = structuredClone(V2_SLOWER);
    const c00 = changed.cases.c00;
    if (!c00) throw new Error('c00 missing');
    c00.requestSha256 = '0'.repeat(64);
    changed.cases.extra = c00;
    delete changed.cases.c11;
    const diff = diffBaselines(V1, changed);
    expect(diff).toMatchObject({ onlyInA: ['c11'], onlyInB: ['extra'], requestChanged: ['c00'] });
    expect(diff.verdict.matchedCases).toHaveLength(10);
  });
});

describe('vigil baseline (the real CLI)', () => {
  let dir: string;
  const file = (name: string) => join(dir, name);
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'vigil-baseline-cli-'));
    writeFileSync(file('v1.json'), serialiseBaseline(V1));
    writeFileSync(file('v2-drifted.json'), serialiseBaseline(V2_DRIFTED));
    writeFileSync(file('not-json.json'), '{"formatVersion": 1, ');
    writeFileSync(
      file('newer.json'),
      JSON.stringify({ ...JSON.parse(serialiseBaseline(V1)), formatVersion: 2 }),
    );
    writeFileSync(file('not-baseline.json'), JSON.stringify({ formatVersion: 1, cases: {} }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('show prints the baseline and exits 0', async () => {
    const run = await vigil(['baseline', 'show', file('v1.json')]);
    expect(run).toMatchObject({ code: 0, stderr: '' });
    expect(run.stdout).toBe(formatBaseline(V1, file('v1.json')));
  });

  it('diff exits 0 for the same baseline and 1 for a drifted one (diff(1)’s convention)', async () => {
    const same = await vigil(['baseline', 'diff', file('v1.json'), file('v1.json')]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('no difference beyond tolerance');
    const drifted = await vigil(['baseline', 'diff', file('v1.json'), file('v2-drifted.json')]);
    expect(drifted).toMatchObject({ code: 1, stderr: '' });
    expect(drifted.stdout).toContain('probability[0]  0.26 → 0.27  off by 0.01, tolerance 0.000026  BEYOND');
    const loose = await vigil(['baseline', 'diff', '--abs', '0.5', file('v1.json'), file('v2-drifted.json')]);
    expect(loose.code).toBe(0);
  });

  it.each([
    [
      'a missing file',
      ['show', 'missing.json'],
      'error: cannot read baseline missing.json (ENOENT): check the path',
    ],
    [
      'a file that is not JSON',
      ['show', 'not-json.json'],
      /^error: \S+not-json\.json is not valid JSON: expected a member name in double quotes at byte 21/,
    ],
    [
      'a newer format',
      ['diff', 'v1.json', 'newer.json'],
      new RegExp(
        `^error: \\S+newer\\.json is a baseline of format 2; this Vigil \\(${VERSION.replaceAll('.', '\\.')}\\) reads format 1: upgrade Vigil$`,
      ),
    ],
    [
      'a file that is not a baseline',
      ['show', 'not-baseline.json'],
      /^error: \S+not-baseline\.json is not a valid baseline: vigilVersion: required; recordedAt: required; model: required; and \d+ more$/,
    ],
    [
      'a bad --abs',
      ['diff', '--abs', 'lots', 'v1.json', 'v1.json'],
      'error: --abs must be a number ≥ 0, got "lots"',
    ],
  ] as const)('refuses %s with one line and exit 2', async (_, [command, ...args], line) => {
    const paths = args.map((a) => (a.endsWith('.json') && a !== 'missing.json' ? file(a) : a));
    const run = await vigil(['baseline', command, ...paths]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).not.toMatch(/^\s+at /m);
    expect(run.stderr.split('\n')).toHaveLength(2);
    if (typeof line === 'string') expect(run.stderr).toBe(`${line}\n`);
    else expect(run.stderr.trimEnd()).toMatch(line);
  });
});
