/**
 * `vigil baseline record | promote | list`: make baselines and roll them forward.
 *
 *   vigil baseline record -c vigil.yaml --target T [--check canary] [--repeats 5] [--warmup 1] [--out FILE]
 *   vigil baseline promote --store LOCATION --check T/canary --model-version V [--out FILE]
 *   vigil baseline list --store LOCATION [--check T/canary] [--json]
 *
 * `record` sends a canary's whole golden set `warmup + repeats` times to a known-good deployment (the
 * config's target), one pass over the set at a time, and writes a baseline file: per case the outputs
 * and their spread across repeats, the latency profile after warm-up, the model's name, reported
 * version and metadata. It refuses to record from a deployment that does not answer every case. The
 * file is the reviewable form: commit it, name it in `canary.baseline`, and the hub imports it into
 * its store at load.
 *
 * `promote` makes the provisional baseline `autoBaseline` recorded for a version the reviewed one (in
 * the store every hub shares), and with `--out` writes it as a file to review and commit.
 *
 * Exit codes: 0 done; 1 the deployment did not answer every case (record) or there was nothing to
 * promote; 2 usage, config or file errors; 3 the store cannot be used.
 */
import { writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { buildBaseline, type RecordedAnswer, serialiseBaseline } from '../canary/index.js';
import { loadConfig } from '../config/index.js';
import { EXIT_CODES, UsageError } from '../errors.js';
import { NO_VERSION, reportedVersion, sendCases } from '../probe/canary.js';
import { createAdapterContext, getAdapter } from '../protocols/index.js';
import { openStore } from '../store/index.js';
import type { CheckPlan } from '../types.js';
import { createHttpClient } from '../wire/http.js';

function positiveInt(flag: string, min = 1) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min)
      throw new UsageError('VIGIL_ERR_USAGE', `${flag} must be an integer ≥ ${min}, got "${value}"`);
    return n;
  };
}

interface RecordOptions {
  config: string;
  target: string;
  check: string;
  repeats: number;
  warmup: number;
  out?: string;
}

/** Writes `text` to `out`, or to stdout. */
async function emit(text: string, out: string | undefined): Promise<void> {
  if (out === undefined) process.stdout.write(text);
  else {
    await writeFile(out, text);
    process.stderr.write(`wrote ${out}\n`);
  }
}

async function recordCommand(opts: RecordOptions): Promise<number> {
  const loaded = await loadConfig(opts.config);
  if (!loaded.ok) {
    for (const d of loaded.diagnostics) console.error(d);
    return EXIT_CODES.usage;
  }
  const id = `${opts.target}/${opts.check}`;
  const plan = loaded.plan.find((p) => p.id === id);
  if (plan?.canary === undefined) {
    const canaries = loaded.plan.filter((p) => p.canary !== undefined).map((p) => p.id);
    throw new UsageError(
      'VIGIL_ERR_USAGE',
      `${opts.config} has no canary check ${id}${canaries.length > 0 ? ` (its canaries: ${canaries.join(', ')})` : ' (no target has checks.canary)'}`,
    );
  }
  const cases = plan.canary.cases;
  const client = createHttpClient({ keepAlive: true });
  try {
    const answers = new Map<string, RecordedAnswer[]>(cases.map((c) => [c.id, []]));
    const versions: string[] = [];
    for (let pass = 0; pass < opts.warmup + opts.repeats; pass++) {
      for (const answer of await sendCases(plan, { client }, cases)) {
        if (!answer.ok) {
          console.error(
            loaded.redact(
              `${id}: case ${JSON.stringify(answer.caseId)} got no usable answer (${answer.reason}); not recording a baseline from this deployment`,
            ),
          );
          return EXIT_CODES.failed;
        }
        const o = answer.observation;
        answers.get(o.caseId)?.push({
          outputs: o.outputs,
          ...(o.shapes !== undefined && { shapes: o.shapes }),
          ...(o.durationMs !== undefined && { durationMs: o.durationMs }),
        });
        versions.push(reportedVersion([o], plan.target.version));
      }
    }
    const version = reportedVersion(
      versions.map((v, i) => ({
        caseId: String(i),
        outputs: {},
        ...(v !== NO_VERSION && { modelVersion: v }),
      })),
      plan.target.version,
    );
    const metadata = await modelMetadata(plan, client);
    const baseline = buildBaseline({
      cases: cases.map((c) => ({ id: c.id, request: c.request, answers: answers.get(c.id) ?? [] })),
      model: {
        name: plan.target.model ?? plan.target.name,
        ...(version !== NO_VERSION && { version }),
        ...(metadata !== undefined && { metadata }),
      },
      recordedAt: new Date(),
      warmupRepeats: opts.warmup,
      target: plan.target.name,
      check: plan.kind,
    });
    await emit(serialiseBaseline(baseline), opts.out);
    return EXIT_CODES.ok;
  } finally {
    await client.close();
  }
}

/** The model's metadata as its server reports it (an object), or undefined when it does not answer. */
async function modelMetadata(
  plan: CheckPlan,
  client: ReturnType<typeof createHttpClient>,
): Promise<Record<string, unknown> | undefined> {
  const ctx = createAdapterContext(client, plan.target, {
    timeoutMs: plan.timeoutMs,
    startedAt: performance.now(),
  });
  const answer = await getAdapter(plan.target.protocol).metadata(ctx, plan);
  const body = answer.verdict.ok ? answer.document?.body : undefined;
  return typeof body === 'object' && body !== null && !Array.isArray(body)
    ? (body as Record<string, unknown>)
    : undefined;
}

async function promoteCommand(opts: {
  store: string;
  check: string;
  version: string;
  out?: string;
}): Promise<number> {
  const store = await openStore(opts.store);
  try {
    const reviewed = await store.promoteBaseline(opts.check, opts.version, Date.now());
    if (reviewed === undefined) {
      const versions = [
        ...new Set(
          (await store.baselines({ checkId: opts.check, status: 'provisional' })).map((b) => b.modelVersion),
        ),
      ];
      console.error(
        `${opts.check}: no provisional baseline for version ${JSON.stringify(opts.version)}${versions.length > 0 ? ` (provisional: ${versions.map((v) => JSON.stringify(v)).join(', ')})` : ''}`,
      );
      return EXIT_CODES.failed;
    }
    process.stderr.write(
      `${opts.check}: version ${JSON.stringify(opts.version)}'s baseline is now the reviewed one\n`,
    );
    if (opts.out !== undefined) await emit(serialiseBaseline(reviewed.baseline), opts.out);
    return EXIT_CODES.ok;
  } finally {
    await store.close();
  }
}

async function listCommand(opts: { store: string; check?: string; json?: boolean }): Promise<number> {
  const store = await openStore(opts.store);
  try {
    const rows = await store.baselines(opts.check === undefined ? {} : { checkId: opts.check });
    const shown = rows.map(({ baseline, ...row }) => ({
      ...row,
      model: baseline.model.name,
      cases: Object.keys(baseline.cases).length,
    }));
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(shown, null, 2)}\n`);
      return EXIT_CODES.ok;
    }
    const table = [
      ['CHECK', 'VERSION', 'STATUS', 'RECORDED', 'STORED', 'CASES', 'SOURCE'],
      ...shown.map((r) => [
        r.checkId,
        r.modelVersion === NO_VERSION ? '-' : r.modelVersion,
        r.status,
        new Date(r.recordedAt).toISOString(),
        new Date(r.storedAt).toISOString(),
        String(r.cases),
        r.source,
      ]),
    ];
    const widths = table[0]?.map((_, c) => Math.max(...table.map((row) => (row[c] as string).length))) ?? [];
    for (const row of table)
      console.log(
        row
          .map((cell, c) => cell.padEnd(widths[c] as number))
          .join('  ')
          .trimEnd(),
      );
    return EXIT_CODES.ok;
  } finally {
    await store.close();
  }
}

/**
 * Adds `vigil baseline record`, `promote` and `list` to the `baseline` command.
 *
 * @example registerBaselineRecording(new Command('vigil').command('baseline'))
 */
export function registerBaselineRecording(baseline: Command): void {
  baseline
    .command('record')
    .description(
      "send a canary's golden set to a known-good deployment and write its baseline; exit 1 when a case gets no usable answer",
    )
    .option('-c, --config <file>', 'config file', 'vigil.yaml')
    .requiredOption('--target <name>', 'the target whose canary is recorded')
    .option('--check <kind>', 'the check', 'canary')
    .option(
      '--repeats <n>',
      'answers recorded per case (their spread is the model’s own noise)',
      positiveInt('--repeats'),
      5,
    )
    .option(
      '--warmup <n>',
      'leading passes over the set left out (JIT, caches)',
      positiveInt('--warmup', 0),
      1,
    )
    .option('--out <file>', 'write the baseline here (default: stdout)')
    .action(async (opts: RecordOptions) => {
      process.exitCode = await recordCommand(opts);
    });
  baseline
    .command('promote')
    .description(
      "make a version's provisional baseline (autoBaseline) the reviewed one; exit 1 when there is none",
    )
    .requiredOption('--store <location>', 'SQLite file or postgres:// URL (the hub’s --store)')
    .requiredOption('--check <id>', 'the canary check, e.g. credit-scorer/canary')
    .requiredOption('--model-version <v>', 'the model version (as the server reports it)')
    .option('--out <file>', 'also write the promoted baseline as a file, to review and commit')
    .action(async (opts: { store: string; check: string; modelVersion: string; out?: string }) => {
      process.exitCode = await promoteCommand({ ...opts, version: opts.modelVersion });
    });
  baseline
    .command('list')
    .description('list the baselines in a store, newest first')
    .requiredOption('--store <location>', 'SQLite file or postgres:// URL (the hub’s --store)')
    .option('--check <id>', 'only this canary check')
    .option('--json', 'print them as JSON')
    .action(async (opts: { store: string; check?: string; json?: boolean }) => {
      process.exitCode = await listCommand(opts);
    });
}
