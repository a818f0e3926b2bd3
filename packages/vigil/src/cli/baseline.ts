/**
 * `vigil baseline`: read and compare canary baselines.
 *
 *   vigil baseline show FILE [--json]
 *   vigil baseline diff A B [--abs N] [--rel N] [--all] [--json]
 *
 * `show` prints what a baseline holds: model, version, when and by which Vigil it was recorded, the
 * latency profile, and per case each output value with its spread across repeats. `diff` compares B
 * with A as a canary run would compare B's answers with baseline A (A's spread sets the tolerances):
 * per case and output what moved beyond tolerance, and the drift statistics across the cases both hold.
 *
 * Exit codes (diff(1)'s convention): 0 — shown, or no difference beyond tolerance; 1 — the baselines
 * differ beyond tolerance; 2 — a file cannot be read or is not a baseline (one line on stderr).
 * `record`, `promote` and `list`: `baseline-record.ts`.
 */
import type { Command } from 'commander';
import {
  type Baseline,
  type BaselineOutput,
  type CanaryCompareOptions,
  type CanaryVerdict,
  compareCanary,
  type LatencyProfile,
  observationsFromBaseline,
  readBaselineFile,
  serialiseBaseline,
} from '../canary/index.js';
import { EXIT_CODES, UsageError } from '../errors.js';
import { registerBaselineRecording } from './baseline-record.js';

/** A number with up to 6 significant digits, as people read them. */
const num = (n: number) => (Number.isFinite(n) ? String(Number(n.toPrecision(6))) : String(n));
const ms = (n: number) => `${num(n)} ms`;
const quote = (v: unknown) => (typeof v === 'string' ? JSON.stringify(v) : (JSON.stringify(v) ?? String(v)));
const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

function latencyLine(profile: LatencyProfile | undefined): string {
  if (!profile) return 'no durations recorded';
  return `p50 ${ms(profile.p50Ms)}, p95 ${ms(profile.p95Ms)}, p99 ${ms(profile.p99Ms)} over ${plural(profile.count, 'request')} (max ${ms(profile.maxMs)})`;
}

function header(baseline: Baseline, file: string): string[] {
  const version =
    baseline.model.version === undefined ? 'no reported version' : `version ${baseline.model.version}`;
  const source = [baseline.target && `target ${baseline.target}`, baseline.check && `check ${baseline.check}`]
    .filter(Boolean)
    .join(', ');
  const cases = Object.keys(baseline.cases).length;
  return [
    `${file}: ${baseline.model.name} ${version}, recorded ${baseline.recordedAt} by Vigil ${baseline.vigilVersion}`,
    `${source ? `${source}; ` : ''}${plural(cases, 'case')} × ${plural(baseline.repeats, 'repeat')} (${baseline.warmupRepeats} warm-up left out)`,
    `latency: ${latencyLine(baseline.latency)}`,
  ];
}

/** One line per value of an output: the value and its spread across repeats. */
function outputLines(name: string, output: BaselineOutput): string[] {
  switch (output.kind) {
    case 'numbers':
      return output.values.map(
        (v, i) => `${name}[${i}]  ${num(v.mean)} ± ${num(v.std)} (min ${num(v.min)}, max ${num(v.max)})`,
      );
    case 'labels':
      return output.values.map((v, i) => {
        const total = Object.values(v.counts).reduce((a, b) => a + b, 0);
        const others = Object.entries(v.counts).filter(([label]) => label !== v.value);
        const also =
          others.length === 0 ? '' : `; also ${others.map(([l, c]) => `${quote(l)} ${c}`).join(', ')}`;
        return `${name}[${i}]  ${quote(v.value)} (${v.counts[v.value]} of ${total}${also})`;
      });
    case 'topk':
      return output.rows.map(
        (row, r) =>
          `${name} row ${r}  [${row.items.map(quote).join(', ')}] (overlap between repeats ≥ ${num(row.minOverlap)})`,
      );
    case 'text':
      return output.values.map(
        (v, i) => `${name}[${i}]  ${quote(v.value)} (similarity between repeats ≥ ${num(v.minSimilarity)})`,
      );
    case 'json':
      return output.values.map(
        (v, i) => `${name}[${i}]  ${quote(v.value)} (${num(v.share * 100)}% of repeats)`,
      );
  }
}

/** `vigil baseline show`'s text. */
export function formatBaseline(baseline: Baseline, file: string): string {
  const lines = header(baseline, file);
  for (const [id, entry] of Object.entries(baseline.cases)) {
    lines.push(
      '',
      `case ${quote(id)}: ${plural(entry.repeats, 'repeat')}; latency ${latencyLine(entry.latency)}`,
    );
    for (const [name, output] of Object.entries(entry.outputs)) {
      for (const line of outputLines(name, output)) lines.push(`  ${line}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** What `vigil baseline diff` found. */
export interface BaselineDiff {
  verdict: CanaryVerdict;
  onlyInA: string[];
  onlyInB: string[];
  /** Cases in both whose requests differ (not compared: different inputs answer differently). */
  requestChanged: string[];
}

/**
 * Compares baseline B with baseline A: B's answers (the mean, majority label, medoid of each value)
 * as a canary run's against A, over the cases both hold with the same request.
 */
export function diffBaselines(a: Baseline, b: Baseline, options: CanaryCompareOptions = {}): BaselineDiff {
  const onlyInA = Object.keys(a.cases).filter((id) => !Object.hasOwn(b.cases, id));
  const onlyInB = Object.keys(b.cases).filter((id) => !Object.hasOwn(a.cases, id));
  const requestChanged: string[] = [];
  const observations = observationsFromBaseline(b).filter((o) => {
    const before = a.cases[o.caseId];
    if (!before) return false;
    const after = b.cases[o.caseId]?.requestSha256;
    if (before.requestSha256 !== undefined && after !== undefined && before.requestSha256 !== after) {
      requestChanged.push(o.caseId);
      return false;
    }
    return true;
  });
  return { verdict: compareCanary(a, observations, options), onlyInA, onlyInB, requestChanged };
}

function change(before: number, after: number): string {
  if (before === 0) return '';
  const pct = ((after - before) / before) * 100;
  return ` (${pct >= 0 ? '+' : ''}${num(pct)}%)`;
}

/** `vigil baseline diff`'s text. */
export function formatDiff(
  a: Baseline,
  b: Baseline,
  names: [string, string],
  diff: BaselineDiff,
  all: boolean,
): string {
  const { verdict } = diff;
  const lines = [...header(a, `A ${names[0]}`), ...header(b, `B ${names[1]}`), ''];
  const both = verdict.matchedCases.length;
  lines.push(`cases: ${both} compared`);
  if (diff.onlyInA.length > 0) lines.push(`only in A: ${diff.onlyInA.map(quote).join(', ')}`);
  if (diff.onlyInB.length > 0) lines.push(`only in B: ${diff.onlyInB.map(quote).join(', ')}`);
  if (diff.requestChanged.length > 0) {
    lines.push(`not compared, their requests differ: ${diff.requestChanged.map(quote).join(', ')}`);
  }
  if (a.latency && b.latency) {
    const la = a.latency;
    const lb = b.latency;
    lines.push(
      `latency: p50 ${ms(la.p50Ms)} → ${ms(lb.p50Ms)}${change(la.p50Ms, lb.p50Ms)}, p95 ${ms(la.p95Ms)} → ${ms(lb.p95Ms)}${change(la.p95Ms, lb.p95Ms)}, p99 ${ms(la.p99Ms)} → ${ms(lb.p99Ms)}${change(la.p99Ms, lb.p99Ms)}`,
    );
  }
  const byCase = new Map<string, string[]>();
  for (const c of verdict.comparisons) {
    if (!all && c.within) continue;
    const label = c.kind === 'topk' ? `${c.output} row ${c.index}` : `${c.output}[${c.index}]`;
    let detail = '';
    if (c.kind === 'numbers' && c.difference !== undefined && c.bound !== undefined) {
      detail = `  off by ${num(c.difference)}, tolerance ${num(c.bound)}`;
    } else if (c.difference !== undefined && c.bound !== undefined) {
      detail = `  ${c.kind === 'topk' ? 'overlap' : 'similarity'} ${num(c.difference)}, at least ${num(c.bound)}`;
    }
    const show = (v: unknown) => (typeof v === 'number' ? num(v) : quote(v));
    const line = `  ${label}  ${show(c.baseline)} → ${show(c.now)}${detail}  ${c.within ? 'within' : 'BEYOND'}`;
    byCase.set(c.caseId, [...(byCase.get(c.caseId) ?? []), line]);
  }
  for (const [id, caseLines] of byCase) lines.push('', `case ${quote(id)}`, ...caseLines);
  const corrupt = verdict.failures.filter((f) => f.level === 'corrupt' && f.caseId === undefined);
  if (verdict.statistics.length > 0) {
    lines.push('', `drift statistics over the ${both} compared cases:`);
    for (const s of verdict.statistics) {
      const name = { psi: 'PSI', ks: 'KS ', js: 'JS ' }[s.statistic];
      const value =
        s.statistic === 'ks'
          ? `D = ${num(s.value)}, p = ${num(s.pValue ?? 1)}, bound p ≥ ${num(s.bound)}`
          : `${num(s.value)}${s.band ? ` (${s.band})` : ''}, bound ${num(s.bound)}`;
      lines.push(`  ${name} ${s.output}  ${value}  ${s.exceeded ? 'EXCEEDED' : 'ok'}`);
    }
  }
  for (const f of corrupt) lines.push('', `corrupt: ${f.message}`);
  const beyond = verdict.failures.length;
  lines.push(
    '',
    beyond === 0
      ? `no difference beyond tolerance (${verdict.comparisons.length} values compared)`
      : `${plural(beyond, 'finding')} beyond tolerance (${verdict.comparisons.length} values compared): a canary run against A would be ${verdict.outcome === 'fail' ? 'failed' : 'degraded'}`,
  );
  return `${lines.join('\n')}\n`;
}

function nonNegative(flag: string) {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !(n >= 0 && Number.isFinite(n))) {
      throw new UsageError('VIGIL_ERR_USAGE', `${flag} must be a number ≥ 0, got "${value}"`);
    }
    return n;
  };
}

/**
 * Adds `vigil baseline show` and `vigil baseline diff` (see this module's documentation).
 *
 * @example registerBaseline(new Command('vigil')) // then `vigil baseline diff v1.json v2.json`
 */
export function registerBaseline(program: Command): void {
  const baseline = program
    .command('baseline')
    .description('record, promote, list, read and compare canary baselines');
  registerBaselineRecording(baseline);
  baseline
    .command('show')
    .description('print what a baseline file holds; exit 0, or 2 when it is not a readable baseline')
    .argument('<file>', 'baseline file')
    .option('--json', 'print it as a baseline file: validated, keys sorted')
    .action(async (file: string, options: { json?: boolean }) => {
      const parsed = await readBaselineFile(file);
      process.stdout.write(options.json ? serialiseBaseline(parsed) : formatBaseline(parsed, file));
    });
  baseline
    .command('diff')
    .description(
      'compare baseline B with baseline A; exit 0 when within tolerance, 1 when not, 2 on a bad file',
    )
    .argument('<a>', 'the reference baseline (its spread sets the tolerances)')
    .argument('<b>', 'the baseline compared with it')
    .option(
      '--abs <number>',
      'absolute tolerance for every number (instead of the one derived from A)',
      nonNegative('--abs'),
    )
    .option(
      '--rel <number>',
      'relative tolerance for every number (instead of the one derived from A)',
      nonNegative('--rel'),
    )
    .option('--all', 'list every compared value, not only those beyond tolerance')
    .option('--json', 'print the comparison as JSON')
    .action(
      async (
        fileA: string,
        fileB: string,
        options: { abs?: number; rel?: number; all?: boolean; json?: boolean },
      ) => {
        const [a, b] = await Promise.all([readBaselineFile(fileA), readBaselineFile(fileB)]);
        const tolerance =
          options.abs === undefined && options.rel === undefined
            ? undefined
            : {
                ...(options.abs === undefined ? {} : { abs: options.abs }),
                ...(options.rel === undefined ? {} : { rel: options.rel }),
              };
        const diff = diffBaselines(a, b, tolerance ? { tolerance } : {});
        process.stdout.write(
          options.json
            ? `${JSON.stringify(diff, null, 2)}\n`
            : formatDiff(a, b, [fileA, fileB], diff, options.all === true),
        );
        if (diff.verdict.outcome !== 'pass') process.exitCode = EXIT_CODES.failed;
      },
    );
}
