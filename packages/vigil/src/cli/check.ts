/**
 * `vigil check`: run every check once and report — a CI/CD gate right after a deploy.
 *
 *   vigil check -c vigil.yaml [--target NAME] [--json] [--strict]
 *
 * A canary check sends its whole golden set once and compares the answers with its `canary.baseline`
 * file (no file, or another model version: degraded, `no baseline for version …`).
 *   vigil check --url URL --protocol oip-v2 --model NAME [--json]
 *
 * Exit 0 when every check passes (degraded passes unless --strict), 1 when any fails, 2 on a
 * config or usage error (a `--url` that is not http(s) or carries credentials included), 70 on a bug.
 */
import { type Command, Option } from 'commander';
import { loadConfig, parseDuration, TIMING_DEFAULTS, urlProblem } from '../config/index.js';
import { GOT } from '../diagnostics/messages.js';
import { UsageError } from '../errors.js';
import { type CanaryRunner, createCanaryRunner } from '../probe/canary.js';
import { fileBaselines, readPlanBaselines } from '../probe/canary-baselines.js';
import { isProbeable, runProbe } from '../probe/run-probe.js';
import {
  createAdapterContext,
  getAdapter,
  getProtocol,
  PROTOCOL_NAMES,
  type ProtocolName,
} from '../protocols/index.js';
import { HTTP_URL, normaliseUrl, type UrlForm } from '../schema/url.js';
import type { CheckPlan, HttpClient, ProbeResult, TargetConfig } from '../types.js';
import { createHttpClient } from '../wire/http.js';

/** Options of {@link runChecks}. */
export interface RunChecksOptions {
  client: HttpClient;
  region?: string;
  /** Targets probed at once. Checks of one target run one at a time (health checks must not load the model). Default 8. */
  concurrency?: number;
  /** Runs canary plans; without it a canary plan is not probeable (`runProbe` throws). */
  canary?: CanaryRunner;
}

/**
 * Runs each plan once: targets in parallel (bounded), each target's checks in order.
 * Results come back in plan order.
 */
export async function runChecks(
  plans: readonly CheckPlan[],
  options: RunChecksOptions,
): Promise<ProbeResult[]> {
  const byTarget = new Map<string, number[]>();
  plans.forEach((p, i) => {
    const list = byTarget.get(p.target.name) ?? [];
    list.push(i);
    byTarget.set(p.target.name, list);
  });
  const groups = [...byTarget.values()];
  const results: ProbeResult[] = new Array(plans.length);
  let next = 0;
  const deps = { client: options.client, ...(options.region ? { region: options.region } : {}) };
  const worker = async () => {
    for (let g = next++; g < groups.length; g = next++) {
      for (const i of groups[g] as number[]) {
        const plan = plans[i] as CheckPlan;
        results[i] =
          plan.kind === 'canary' && options.canary !== undefined
            ? await options.canary.run(plan, deps)
            : await runProbe(plan, deps);
      }
    }
  };
  const workers = Math.max(1, Math.min(options.concurrency ?? 8, groups.length));
  await Promise.all(Array.from({ length: workers }, worker));
  return results;
}

/** A streamed answer's timings: `TTFT 41 ms, 97.3 tokens/s, max gap 12 ms (16 tokens, server count)`. */
export function formatStream(stream: NonNullable<ProbeResult['stream']>): string {
  const ttft = stream.ttftMs === null ? 'no token' : `TTFT ${Math.round(stream.ttftMs)} ms`;
  const rate =
    stream.tokensPerSecond === null ? 'tokens/s n/a' : `${stream.tokensPerSecond.toFixed(1)} tokens/s`;
  const source = stream.tokenSource === 'usage' ? 'server count' : 'chunks counted';
  return `${ttft}, ${rate}, max gap ${Math.round(stream.maxTokenGapMs)} ms (${stream.tokens} tokens, ${source})`;
}

/**
 * The first thing that went wrong; for a result with nothing wrong, its notes (`note: …`), if any. A
 * streamed answer's timings ({@link formatStream}) come first.
 */
function firstReason(r: ProbeResult): string {
  const stream = r.stream === undefined ? '' : formatStream(r.stream);
  const join = (reason: string): string => [stream, reason].filter((x) => x !== '').join('; ');
  if (r.error) return join(`${r.error.code}: ${r.error.message}`);
  const failure = r.failures[0]?.message;
  if (failure !== undefined) return join(failure);
  return join(r.notes === undefined ? '' : `note: ${r.notes.join('; ')}`);
}

/**
 * Formats results as an aligned table plus a summary line. A passing result's notes (e.g. the server as
 * a whole reports not ready because another model is not) fill its REASON cell, prefixed `note:`.
 */
export function formatTable(results: readonly ProbeResult[], notRun: readonly CheckPlan[] = []): string {
  const rows = [
    ['TARGET', 'CHECK', 'OUTCOME', 'LATENCY', 'REASON'],
    ...results.map((r) => [r.target, r.check, r.outcome, `${r.durationMs.toFixed(1)} ms`, firstReason(r)]),
    ...notRun.map((p) => [p.target.name, p.kind, 'not run', '', 'not probeable']),
  ];
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((row) => (row[c] as string).length)));
  const lines = rows.map((row) =>
    row
      .map((cell, c) =>
        c === 3 ? cell.padStart(widths[3] as number) : c < 4 ? cell.padEnd(widths[c] as number) : cell,
      )
      .join('  ')
      .trimEnd(),
  );
  const count = (o: string) => results.filter((r) => r.outcome === o).length;
  const summary =
    `${results.length} check${results.length === 1 ? '' : 's'}: ${count('pass')} passed, ` +
    `${count('degraded')} degraded, ${count('fail')} failed` +
    (notRun.length > 0 ? ` (${notRun.length} not run)` : '');
  return `${lines.join('\n')}\n\n${summary}`;
}

/** Exit code for a set of results: 1 when any failed (or degraded, with `strict`), else 0. */
export function exitCodeFor(results: readonly ProbeResult[], strict: boolean): 0 | 1 {
  return results.some((r) => r.outcome === 'fail' || (strict && r.outcome === 'degraded')) ? 1 : 0;
}

/**
 * Refuses a `--url` that a config file's `url:` would refuse (schema/url.ts `urlProblem`): not one of
 * the protocol's schemes (http(s) unless its plugin says otherwise; `file:///…` included), credentials
 * in it, a query or fragment. The URL is shown with any credentials masked: they would already be in
 * `ps`, but need not be in a CI log too.
 *
 * @param form the URLs the `--protocol` accepts (its plugin's `url`); default http(s)
 * @throws UsageError `VIGIL_ERR_USAGE`
 */
export function checkQuickUrl(url: string, form: UrlForm = HTTP_URL): void {
  const parsed = URL.canParse(url) ? new URL(url) : undefined;
  if (parsed && (parsed.username !== '' || parsed.password !== '')) {
    throw new UsageError(
      'VIGIL_ERR_USAGE',
      "--url must not contain credentials (user:password@): put them in a config file's auth (from an environment variable), " +
        'which keeps them out of `ps`, shell history and output, and run `vigil check -c FILE`',
    );
  }
  const problem = urlProblem(url, form);
  if (problem === undefined) return;
  throw new UsageError(
    'VIGIL_ERR_USAGE',
    `--url: ${problem.replace(GOT, JSON.stringify(maskCredentials(url)))}`,
  );
}

function maskCredentials(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^/?#@]*@/i, '$1***@');
}

function quickTarget(url: string, protocol: ProtocolName, model: string | undefined): TargetConfig {
  const base = normaliseUrl(url, getProtocol(protocol).url);
  const target: TargetConfig = {
    name: model ?? new URL(base).host,
    url: base,
    protocol,
    labels: {},
    headers: {},
    maxBodyBytes: 1024 * 1024,
    maxRedirects: 5,
  };
  if (model !== undefined) target.model = model;
  return target;
}

/** A plan for `--url`: the config's timing defaults (one source for both), with the given timeout. */
function quickPlan(
  target: TargetConfig,
  kind: 'liveness' | 'readiness' | 'integrity',
  timeoutMs: number,
): CheckPlan {
  return {
    id: `${target.name}/${kind}`,
    target,
    kind,
    intervalMs: parseDuration(TIMING_DEFAULTS.interval),
    timeoutMs,
    failureThreshold: TIMING_DEFAULTS.failureThreshold,
    successThreshold: TIMING_DEFAULTS.successThreshold,
    fastIntervalMs: parseDuration(TIMING_DEFAULTS.fastInterval),
    initialDelayMs: parseDuration(TIMING_DEFAULTS.initialDelay),
    startupGraceMs: parseDuration(TIMING_DEFAULTS.startupGrace),
    expect: {},
  };
}

interface CheckOptions {
  config?: string;
  target?: string[];
  json: boolean;
  strict: boolean;
  url?: string;
  protocol?: ProtocolName;
  model?: string;
  timeout: number;
  concurrency: number;
  region?: string;
}

async function checkCommand(opts: CheckOptions): Promise<number> {
  if (opts.config && opts.url)
    throw new UsageError('VIGIL_ERR_USAGE', 'use either -c/--config or --url, not both');
  const client = createHttpClient({ keepAlive: true });
  try {
    if (opts.url) {
      checkQuickUrl(opts.url, opts.protocol === undefined ? HTTP_URL : getProtocol(opts.protocol).url);
      if (!opts.protocol) throw new UsageError('VIGIL_ERR_USAGE', '--url needs --protocol');
      if (!opts.model && getProtocol(opts.protocol).model === 'required')
        throw new UsageError('VIGIL_ERR_USAGE', '--url needs --model');
      const target = quickTarget(opts.url, opts.protocol, opts.model);
      const plans = [
        quickPlan(target, 'liveness', opts.timeout),
        quickPlan(target, 'readiness', opts.timeout),
      ];
      const { quickLookRequest } = getProtocol(opts.protocol);
      if (quickLookRequest !== undefined)
        plans.push({ ...quickPlan(target, 'integrity', opts.timeout), request: quickLookRequest });
      const results = await runChecks(plans, { client, concurrency: 1 });
      const ctx = createAdapterContext(client, target, {
        timeoutMs: opts.timeout,
        startedAt: performance.now(),
      });
      const meta = await getAdapter(opts.protocol).metadata(ctx, plans[0] as CheckPlan);
      const metadata = meta.document?.body;
      if (opts.json) {
        console.log(JSON.stringify({ results, metadata: metadata ?? null }, null, 2));
      } else {
        console.log(formatTable(results));
        if (meta.verdict.ok) console.log(`\nmodel metadata:\n${JSON.stringify(metadata, null, 2)}`);
        else console.log(`\nmodel metadata: unavailable (${meta.verdict.reason})`);
      }
      return exitCodeFor(results, opts.strict);
    }

    const file = opts.config ?? 'vigil.yaml';
    const loaded = await loadConfig(file);
    if (!loaded.ok) {
      for (const d of loaded.diagnostics) console.error(d);
      return 2;
    }
    let plans = loaded.plan;
    if (opts.target && opts.target.length > 0) {
      const known = new Set(plans.map((p) => p.target.name));
      const unknown = opts.target.filter((t) => !known.has(t));
      if (unknown.length > 0)
        throw new UsageError(
          'VIGIL_ERR_USAGE',
          `unknown target ${unknown.map((t) => `"${t}"`).join(', ')} in ${file}`,
        );
      const wanted = new Set(opts.target);
      plans = plans.filter((p) => wanted.has(p.target.name));
    }
    // A one-shot check sends a canary's whole golden set (there is no next run to rotate into),
    // compared with its `canary.baseline` file; without one it reports that there is no baseline.
    plans = plans.map((p) =>
      p.canary === undefined ? p : { ...p, canary: { ...p.canary, maxCasesPerRun: p.canary.cases.length } },
    );
    const canary = createCanaryRunner({ baselines: fileBaselines(await readPlanBaselines(plans)) });
    const runnable = plans.filter((p) => isProbeable(p) || p.kind === 'canary');
    const notRun = plans.filter((p) => !runnable.includes(p));
    const region = opts.region ?? loaded.config.region;
    const results = await runChecks(runnable, {
      client,
      concurrency: opts.concurrency,
      canary,
      ...(region ? { region } : {}),
    });
    const text = opts.json ? JSON.stringify(results, null, 2) : formatTable(results, notRun);
    console.log(loaded.redact(text));
    return exitCodeFor(results, opts.strict);
  } finally {
    await client.close();
  }
}

function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new UsageError('VIGIL_ERR_USAGE', `${name} must be a positive integer, got "${value}"`);
    return n;
  };
}

/** Adds `check` to the program. */
export function registerCheck(program: Command): void {
  program
    .command('check')
    .description('run every check once and report; exit 0 all pass, 1 any failed, 2 config or usage error')
    .option('-c, --config <file>', 'config file (default vigil.yaml)')
    .option('-t, --target <name...>', 'only these targets')
    .option('--json', 'print the ProbeResults as JSON', false)
    .option('--strict', 'degraded counts as failed', false)
    .option(
      '--url <url>',
      'quick look without a config: liveness, readiness and model metadata of one endpoint',
    )
    .addOption(new Option('--protocol <name>', 'protocol for --url').choices([...PROTOCOL_NAMES]))
    .option('--model <name>', 'model for --url')
    .option('--timeout <ms>', 'probe timeout for --url, in ms', positiveInt('--timeout'), 2000)
    .option('--concurrency <n>', 'targets probed at once', positiveInt('--concurrency'), 8)
    .option('--region <name>', "region reported in results (default: the config's region)")
    .action(async (opts: CheckOptions) => {
      process.exitCode = await checkCommand(opts);
    });
}
