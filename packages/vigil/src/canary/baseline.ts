/**
 * Baselines: what a known-good model version answered for each golden case, learnt from repeated
 * requests, and how fast. A baseline file is the reviewable form (`vigil baseline show`, `diff`): a
 * versioned JSON format with a JSON Schema (`baseline.schema.json`, generated from
 * {@link baselineSchema}) and keys in a stable, sorted order, so that a change reviews as a small diff.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { fillMessage, humanErrorMap, issuesToProblems, renderValue } from '../diagnostics/messages.js';
import { formatPath } from '../diagnostics/paths.js';
import { VigilError } from '../errors.js';
import { VERSION } from '../version.js';
import { parseJson } from '../wire/json.js';
import { latencyProfile } from './latency.js';
import {
  canonicalJson,
  inferOutputKind,
  type OutputKind,
  showValue,
  textSimilarity,
  topkOverlap,
  topkRows,
  topkWidth,
} from './outputs.js';
import { spreadOf } from './statistics.js';

/** The baseline file format this Vigil writes and reads. */
export const BASELINE_FORMAT_VERSION = 1;

// ---------------------------------------------------------------------------------------------
// The schema

const shapeSchema = z
  .array(z.int().min(0))
  .describe("The output's shape as the server reported it, e.g. [1, 3]; its values are flattened row-major.");

const numberStatsSchema = z
  .strictObject({
    mean: z.number().describe('Mean over the repeats: what an answer is compared with.'),
    std: z.number().min(0).describe('Sample standard deviation over the repeats (0 for one repeat).'),
    min: z.number(),
    max: z.number(),
  })
  .refine((s) => s.min <= s.mean && s.mean <= s.max, { message: 'needs min ≤ mean ≤ max' })
  .meta({ id: 'NumberStats', description: 'One numeric value of an output, over the repeats.' });

const labelStatsSchema = z
  .strictObject({
    value: z.string().describe('The label most repeats answered: what an answer is compared with.'),
    counts: z
      .record(z.string(), z.int().min(1))
      .describe('How many repeats answered each label (more than one key: the model is not deterministic).'),
  })
  .refine((s) => Object.hasOwn(s.counts, s.value), { message: 'the value must be one of the counted labels' })
  .meta({ id: 'LabelStats', description: 'One label of an output, over the repeats.' });

const topkRowSchema = z
  .strictObject({
    items: z.array(z.string()).describe('The ranked labels most repeats answered.'),
    minOverlap: z
      .number()
      .min(0)
      .max(1)
      .describe('The lowest overlap of a repeat with `items` (1: every repeat had the same labels).'),
  })
  .meta({ id: 'TopkRow', description: 'One row of a top-k output, over the repeats.' });

const textStatsSchema = z
  .strictObject({
    value: z
      .string()
      .describe('The repeat most similar to the others (the medoid): what an answer is compared with.'),
    minSimilarity: z
      .number()
      .min(0)
      .max(1)
      .describe(
        'The lowest similarity of a repeat to `value` (1: every repeat said the same, once normalised).',
      ),
  })
  .meta({ id: 'TextStats', description: 'One text of an output, over the repeats.' });

const jsonStatsSchema = z
  .strictObject({
    value: z.unknown().describe('The value most repeats answered.'),
    share: z.number().gt(0).max(1).describe('The share of repeats that answered `value`.'),
  })
  .meta({ id: 'JsonStats', description: 'One value of any other type, over the repeats.' });

const outputSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('numbers'),
      shape: shapeSchema.optional(),
      values: z.array(numberStatsSchema).min(1),
    }),
    z.strictObject({
      kind: z.literal('labels'),
      shape: shapeSchema.optional(),
      values: z.array(labelStatsSchema).min(1),
    }),
    z.strictObject({
      kind: z.literal('topk'),
      shape: shapeSchema.optional(),
      k: z.int().min(1).describe('Labels per row.'),
      rows: z.array(topkRowSchema).min(1),
    }),
    z.strictObject({
      kind: z.literal('text'),
      shape: shapeSchema.optional(),
      values: z.array(textStatsSchema).min(1),
    }),
    z.strictObject({
      kind: z.literal('json'),
      shape: shapeSchema.optional(),
      values: z.array(jsonStatsSchema).min(1),
    }),
  ])
  .superRefine((output, ctx) => {
    if (output.kind === 'topk') {
      output.rows.forEach((row, i) => {
        if (row.items.length !== output.k) {
          ctx.addIssue({
            code: 'custom',
            path: ['rows', i, 'items'],
            message: `must have k = ${output.k} labels`,
          });
        }
      });
    }
    const count = output.kind === 'topk' ? output.rows.length * output.k : output.values.length;
    const size = output.shape?.reduce((a, b) => a * b, 1);
    if (size !== undefined && size !== count) {
      ctx.addIssue({
        code: 'custom',
        path: ['shape'],
        message: `holds ${size} values, the output has ${count}`,
      });
    }
  })
  .meta({
    id: 'Output',
    description: 'One output of a case: its kind, and each of its values over the repeats.',
  });

const latencyProfileSchema = z
  .strictObject({
    count: z.int().min(1).describe('Durations summarised.'),
    p50Ms: z.number().min(0),
    p95Ms: z.number().min(0),
    p99Ms: z.number().min(0),
    meanMs: z.number().min(0),
    maxMs: z.number().min(0),
  })
  .refine((p) => p.p50Ms <= p.p95Ms && p.p95Ms <= p.p99Ms && p.p99Ms <= p.maxMs, {
    message: 'needs p50Ms ≤ p95Ms ≤ p99Ms ≤ maxMs',
  })
  .meta({ id: 'LatencyProfile', description: 'Request durations in ms, warm-up excluded.' });

const caseSchema = z
  .strictObject({
    repeats: z.int().min(1).describe('Answers the statistics are over (warm-up excluded).'),
    requestSha256: z
      .string()
      .regex(/^[0-9a-f]{64}$/)
      .optional()
      .describe(
        "SHA-256 of the case's request as canonical JSON: a golden case whose request changed no longer matches.",
      ),
    latency: latencyProfileSchema.optional(),
    outputs: z.record(z.string(), outputSchema),
  })
  .meta({ id: 'BaselineCase', description: 'What the model answered for one golden case.' });

/**
 * The zod schema of a baseline file, format {@link BASELINE_FORMAT_VERSION}; `baseline.schema.json` is
 * generated from it (`canary/json-schema.ts`).
 */
export const baselineSchema = z
  .strictObject({
    $schema: z.string().optional().describe('Where editors find this JSON Schema.'),
    formatVersion: z.literal(BASELINE_FORMAT_VERSION).describe('The baseline file format.'),
    vigilVersion: z.string().min(1).describe('The Vigil that recorded it.'),
    recordedAt: z.iso.datetime({ offset: true }).describe('When it was recorded (RFC 3339).'),
    model: z
      .strictObject({
        name: z.string().min(1),
        version: z
          .string()
          .min(1)
          .optional()
          .describe('The version the server reported; canaries compare only with it.'),
        metadata: z
          .record(z.string(), z.unknown())
          .optional()
          .describe("The server's model metadata, as reported."),
      })
      .describe('The model the baseline is of.'),
    target: z.string().min(1).optional().describe('The target it was recorded from.'),
    check: z.string().min(1).optional().describe('The canary check whose golden set it covers.'),
    repeats: z.int().min(1).describe('Answers recorded per case, warm-up excluded.'),
    warmupRepeats: z.int().min(0).describe('Leading answers per case that were left out as warm-up.'),
    latency: latencyProfileSchema.optional().describe("Every case's request durations together."),
    cases: z
      .record(z.string().min(1), caseSchema)
      .refine((cases) => Object.keys(cases).length > 0, { message: 'must not be empty' })
      .describe('Golden case id → what the model answered.'),
  })
  .meta({
    title: 'Vigil baseline',
    description: 'What a known-good model version answered for each golden case.',
  });

/** A parsed baseline (format 1). */
export type Baseline = z.output<typeof baselineSchema>;
/** One case of a {@link Baseline}. */
export type BaselineCase = Baseline['cases'][string];
/** One output of a {@link BaselineCase}. */
export type BaselineOutput = BaselineCase['outputs'][string];
/** One numeric value's statistics. */
export type NumberStats = z.output<typeof numberStatsSchema>;

// ---------------------------------------------------------------------------------------------
// Errors

/** A baseline that cannot be read, built or used; `problems` lists each thing wrong. */
export class BaselineError extends VigilError {
  override name = 'BaselineError';
  readonly problems: readonly string[];

  constructor(
    code: string,
    message: string,
    problems: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(code, message, options);
    this.problems = problems;
  }
}

/** The first few problems on one line, and how many more there are. */
function summarise(problems: readonly string[], shown = 3): string {
  const head = problems.slice(0, shown).join('; ');
  const more = problems.length - shown;
  return more > 0 ? `${head}; and ${more} more` : head;
}

// ---------------------------------------------------------------------------------------------
// Building

/** One answer of one case while recording. */
export interface RecordedAnswer {
  /** Normalised outputs (`ProbeDocument.outputs`). */
  outputs: Readonly<Record<string, readonly unknown[]>>;
  /** Output shapes, where reported (`ProbeDocument.shapes`). */
  shapes?: Readonly<Record<string, readonly number[]>>;
  /** The request's duration in ms. */
  durationMs?: number;
}

/** Everything a baseline is built from. */
export interface BuildBaselineInput {
  /** Each golden case with its answers in the order they came; the first `warmupRepeats` are warm-up. */
  cases: ReadonlyArray<{ id: string; request?: unknown; answers: readonly RecordedAnswer[] }>;
  model: { name: string; version?: string; metadata?: Record<string, unknown> };
  /** When the answers were recorded. */
  recordedAt: Date | string;
  /** Leading answers of each case left out (from latency and outputs alike). Default 0. */
  warmupRepeats?: number;
  target?: string;
  check?: string;
  /** Output name → kind, where `inferOutputKind`'s guess is not wanted. */
  kinds?: Readonly<Record<string, OutputKind>>;
}

/** SHA-256 of a request as canonical JSON (sorted keys), hex: see `requestSha256`. */
export function requestDigest(request: unknown): string {
  return createHash('sha256')
    .update(canonicalJson(request) ?? 'undefined')
    .digest('hex');
}

function mode<T>(items: readonly T[], key: (item: T) => string): { item: T; count: number } {
  const counts = new Map<string, { item: T; count: number }>();
  for (const item of items) {
    const k = key(item);
    const entry = counts.get(k);
    if (entry) entry.count++;
    else counts.set(k, { item, count: 1 });
  }
  // Most frequent; ties go to the smallest key, so the same answers always give the same baseline.
  let best: { key: string; item: T; count: number } | undefined;
  for (const [k, entry] of counts) {
    if (!best || entry.count > best.count || (entry.count === best.count && k < best.key))
      best = { key: k, ...entry };
  }
  return best as { item: T; count: number };
}

/** Statistics of one output over a case's answers; pushes problems instead of throwing. */
function learnOutput(
  name: string,
  kind: OutputKind,
  series: ReadonlyArray<readonly unknown[]>,
  shape: readonly number[] | undefined,
  where: string,
  problems: string[],
): BaselineOutput | undefined {
  const first = series[0] as readonly unknown[];
  if (first.length === 0) {
    problems.push(`${where}: output ${name} is empty`);
    return undefined;
  }
  const lengths = new Set(series.map((values) => values.length));
  if (lengths.size > 1) {
    problems.push(`${where}: output ${name} has ${[...lengths].join(' or ')} values in different repeats`);
    return undefined;
  }
  const column = (i: number) => series.map((values) => values[i]);
  const shapePart = shape === undefined ? {} : { shape: [...shape] };
  // Every value must have the kind's type, in every repeat: a label turning into a number is no baseline.
  const expected = kind === 'numbers' ? 'number' : kind === 'json' ? undefined : 'string';
  if (expected !== undefined) {
    for (const [repeat, values] of series.entries()) {
      const odd = values.find((v) => typeof v !== expected);
      if (odd !== undefined || values.includes(undefined)) {
        problems.push(`${where}: output ${name} is ${kind}, but repeat ${repeat + 1} has ${showValue(odd)}`);
        return undefined;
      }
    }
  }
  switch (kind) {
    case 'numbers': {
      const values = [];
      for (let i = 0; i < first.length; i++) {
        const numbers = column(i) as number[];
        const bad = numbers.findIndex((v) => !Number.isFinite(v));
        if (bad >= 0) {
          problems.push(
            `${where}: ${name}[${i}] is ${numbers[bad]} in repeat ${bad + 1}: record a baseline from a healthy model`,
          );
          return undefined;
        }
        const { mean, std, min, max } = spreadOf(numbers);
        values.push({ mean, std, min, max });
      }
      return { kind, ...shapePart, values };
    }
    case 'labels': {
      const values = [];
      for (let i = 0; i < first.length; i++) {
        const labels = column(i) as string[];
        const counts: Record<string, number> = {};
        for (const label of labels) counts[label] = (counts[label] ?? 0) + 1;
        values.push({ value: mode(labels, (l) => l).item, counts });
      }
      return { kind, ...shapePart, values };
    }
    case 'topk': {
      const k = topkWidth(first, shape);
      const perRepeat = series.map((values) => topkRows(values as string[], k));
      const rows = [];
      for (let r = 0; r < (perRepeat[0] as string[][]).length; r++) {
        const candidates = perRepeat.map((rowsOf) => rowsOf[r] as string[]);
        const items = mode(candidates, (row) => JSON.stringify(row)).item;
        const minOverlap = Math.min(...candidates.map((row) => topkOverlap(row, items)));
        rows.push({ items: [...items], minOverlap });
      }
      return { kind, ...shapePart, k, rows };
    }
    case 'text': {
      const values = [];
      for (let i = 0; i < first.length; i++) {
        const texts = column(i) as string[];
        // The medoid: the answer closest to all others, so one odd repeat does not become the reference.
        let best = 0;
        let bestSum = Number.NEGATIVE_INFINITY;
        const similarity = texts.map((a) => texts.map((b) => textSimilarity(a, b)));
        similarity.forEach((row, index) => {
          const sum = row.reduce((s, v) => s + v, 0);
          if (sum > bestSum) {
            best = index;
            bestSum = sum;
          }
        });
        values.push({
          value: texts[best] as string,
          minSimilarity: Math.min(...(similarity[best] as number[])),
        });
      }
      return { kind, ...shapePart, values };
    }
    case 'json': {
      const values = [];
      for (let i = 0; i < first.length; i++) {
        const items = column(i);
        const found = mode(items, (v) => canonicalJson(v) ?? 'undefined');
        values.push({ value: found.item, share: found.count / items.length });
      }
      return { kind, ...shapePart, values };
    }
  }
}

/**
 * Builds a baseline from repeated answers of each golden case (a pure function: no clock, no I/O).
 *
 * Per case, the first `warmupRepeats` answers are left out; from the rest it learns, per output, each
 * value and its spread across repeats (the model's own nondeterminism): numbers → mean, sample
 * standard deviation, min, max; labels → the majority label and every label's count; top-k rows → the
 * majority row and the lowest overlap of a repeat with it; text → the medoid answer and the lowest
 * similarity of a repeat to it; anything else → the majority value and its share. Latency: the
 * profile (p50/p95/p99) of each case's durations, and of all of them together.
 *
 * The kind of each output is guessed from its first answer (`inferOutputKind`) unless `kinds`
 * names it.
 *
 * @throws BaselineError `VIGIL_ERR_BASELINE_OBSERVATIONS` when the answers cannot make a baseline: no
 *   cases, a duplicate id, a case without answers after warm-up, outputs or lengths that differ between
 *   repeats, a non-finite number (a baseline is recorded from a healthy model), a value of another kind;
 *   `problems` lists each, e.g. `case "late-payer" repeat 3: outputs [label] differ from repeat 1's [label, probability]`
 */
export function buildBaseline(input: BuildBaselineInput): Baseline {
  const warmup = input.warmupRepeats ?? 0;
  const problems: string[] = [];
  if (!(Number.isSafeInteger(warmup) && warmup >= 0))
    problems.push(`warmupRepeats must be an integer ≥ 0, got ${warmup}`);
  if (input.cases.length === 0) problems.push('no cases');
  const cases: Record<string, BaselineCase> = {};
  const allDurations: number[] = [];
  let repeats = 0;
  const seen = new Set<string>();
  for (const recorded of input.cases) {
    const where = `case ${JSON.stringify(recorded.id)}`;
    if (seen.has(recorded.id)) {
      problems.push(`${where}: duplicate id`);
      continue;
    }
    seen.add(recorded.id);
    const answers = recorded.answers.slice(warmup);
    if (answers.length === 0) {
      problems.push(`${where}: no answers after ${warmup} warm-up ${warmup === 1 ? 'repeat' : 'repeats'}`);
      continue;
    }
    repeats = Math.max(repeats, answers.length);
    const firstAnswer = answers[0] as RecordedAnswer;
    const names = Object.keys(firstAnswer.outputs).sort();
    const differing = answers.findIndex((a) => Object.keys(a.outputs).sort().join('\n') !== names.join('\n'));
    if (differing >= 0) {
      const other = Object.keys((answers[differing] as RecordedAnswer).outputs).sort();
      problems.push(
        `${where} repeat ${differing + 1}: outputs [${other.join(', ')}] differ from repeat 1's [${names.join(', ')}]`,
      );
      continue;
    }
    const outputs: Record<string, BaselineOutput> = {};
    for (const name of names) {
      const series = answers.map((a) => a.outputs[name] as readonly unknown[]);
      const shape = firstAnswer.shapes?.[name];
      const kind = input.kinds?.[name] ?? inferOutputKind(series[0] as readonly unknown[], shape);
      const learnt = learnOutput(name, kind, series, shape, where, problems);
      if (learnt) outputs[name] = learnt;
    }
    const durations = answers
      .map((a) => a.durationMs)
      .filter((d): d is number => d !== undefined && Number.isFinite(d) && d >= 0);
    allDurations.push(...durations);
    const latency = latencyProfile(durations);
    cases[recorded.id] = {
      repeats: answers.length,
      ...(recorded.request === undefined ? {} : { requestSha256: requestDigest(recorded.request) }),
      ...(latency === undefined ? {} : { latency }),
      outputs,
    };
  }
  if (problems.length > 0) {
    throw new BaselineError(
      'VIGIL_ERR_BASELINE_OBSERVATIONS',
      `cannot build a baseline from these answers: ${summarise(problems)}`,
      problems,
    );
  }
  const recordedAt = typeof input.recordedAt === 'string' ? input.recordedAt : input.recordedAt.toISOString();
  const latency = latencyProfile(allDurations);
  const model = {
    name: input.model.name,
    ...(input.model.version === undefined ? {} : { version: input.model.version }),
    ...(input.model.metadata === undefined ? {} : { metadata: input.model.metadata }),
  };
  return {
    formatVersion: BASELINE_FORMAT_VERSION,
    vigilVersion: VERSION,
    recordedAt,
    model,
    ...(input.target === undefined ? {} : { target: input.target }),
    ...(input.check === undefined ? {} : { check: input.check }),
    repeats,
    warmupRepeats: warmup,
    ...(latency === undefined ? {} : { latency }),
    cases,
  };
}

// ---------------------------------------------------------------------------------------------
// Writing and reading

/** Widest line (with its indentation) that {@link serialiseBaseline} writes a list of scalars on: Biome's. */
const LINE_WIDTH = 110;

function write(value: unknown, indent: string, keyWidth: number): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  const inner = `${indent}  `;
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    if (value.every((v) => v === null || typeof v !== 'object')) {
      // A list of scalars on one line when it fits (as Biome formats JSON), else one item per line.
      const line = `[${value.map((v) => JSON.stringify(v) ?? 'null').join(', ')}]`;
      if (indent.length + keyWidth + line.length + 1 <= LINE_WIDTH) return line;
    }
    return `[\n${value.map((v) => `${inner}${write(v, inner, 0)}`).join(',\n')}\n${indent}]`;
  }
  const entries = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort(compareKeys);
  if (entries.length === 0) return '{}';
  const body = entries.map((k) => {
    const key = `${JSON.stringify(k)}: `;
    return `${inner}${key}${write((value as Record<string, unknown>)[k], inner, key.length)}`;
  });
  return `{\n${body.join(',\n')}\n${indent}}`;
}

/** `formatVersion` first (a reader needs it before anything else), then by UTF-16 code units. */
function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  if (a === 'formatVersion') return -1;
  if (b === 'formatVersion') return 1;
  return a < b ? -1 : 1;
}

/**
 * A baseline as file text: JSON with two-space indentation and a final newline; every object's keys
 * sorted (by UTF-16 code units, `formatVersion` first), lists of scalars on one line where they fit
 * in 110 columns (so Biome leaves the file as it is). The same baseline always gives the same text,
 * so a re-recorded baseline reviews as a diff of what changed.
 */
export function serialiseBaseline(baseline: Baseline): string {
  return `${write(baseline, '', 0)}\n`;
}

const show = (value: unknown) => renderValue(value, () => false);

/**
 * Parses baseline file text: strict JSON (`wire/json.ts`), then the format version, then the schema
 * ({@link baselineSchema}) including its consistency rules (min ≤ mean ≤ max, p50 ≤ p95 ≤ p99, k labels
 * per top-k row, shapes that hold the values).
 *
 * @param file the name messages give the file, e.g. its path
 * @throws BaselineError `VIGIL_ERR_BASELINE_INVALID` when it is not JSON or not a baseline (the message
 *   gives the first problems with their paths, `problems` all of them), e.g.
 *   `a.json is not a valid baseline: cases.c1.outputs.probability.values[0].std: must be at least 0, got -1`;
 *   `VIGIL_ERR_BASELINE_VERSION` when its `formatVersion` is one this Vigil does not know
 */
export function parseBaseline(text: string, file = 'baseline'): Baseline {
  const parsed = parseJson(text);
  if (!parsed.ok) {
    throw new BaselineError('VIGIL_ERR_BASELINE_INVALID', `${file} is not valid JSON: ${parsed.message}`, [
      parsed.message,
    ]);
  }
  const value = parsed.value;
  const version =
    typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>).formatVersion
      : undefined;
  if (typeof version === 'number' && Number.isSafeInteger(version) && version > BASELINE_FORMAT_VERSION) {
    throw new BaselineError(
      'VIGIL_ERR_BASELINE_VERSION',
      `${file} is a baseline of format ${version}; this Vigil (${VERSION}) reads format ${BASELINE_FORMAT_VERSION}: upgrade Vigil`,
    );
  }
  const result = baselineSchema.safeParse(value, { error: humanErrorMap, reportInput: true });
  if (result.success) return result.data;
  const problems = issuesToProblems(result.error.issues).map(
    (p) => `${p.path.length === 0 ? 'the document' : formatPath(p.path)}: ${fillMessage(p, show)}`,
  );
  throw new BaselineError(
    'VIGIL_ERR_BASELINE_INVALID',
    `${file} is not a valid baseline: ${summarise(problems)}`,
    problems,
  );
}

/**
 * Reads and parses a baseline file ({@link parseBaseline}).
 *
 * @throws BaselineError `VIGIL_ERR_BASELINE_READ` when the file cannot be read (the message has the
 *   system's code, e.g. ENOENT or EISDIR), or the errors of {@link parseBaseline}
 */
export async function readBaselineFile(path: string): Promise<Baseline> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'unknown error';
    throw new BaselineError(
      'VIGIL_ERR_BASELINE_READ',
      `cannot read baseline ${path} (${code}): check the path`,
      [],
      {
        cause: err,
      },
    );
  }
  return parseBaseline(text, path);
}
