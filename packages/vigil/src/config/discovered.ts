/**
 * Targets that discovery found (`src/discovery/`), validated with the schema of hand-written ones and
 * planned with the file's targets.
 *
 * A discovered target is one entry of `targets:` as the file would hold it, built from a Kubernetes
 * object. It is validated alone, under the file's `region` and `defaults` (so the timeout-below-interval
 * rule sees the same defaults), with the same error map as the file: every problem it has, with its path
 * inside the target. What it may not do that the file may: name files (TLS files, `expect.schema`, canary
 * `cases` and `baseline`), since whoever can annotate a Service should not make the hub read its disk;
 * and `${VAR}` is not interpolated (an annotation must not read the hub's environment).
 */
import { fillMessage, issuesToProblems, renderValue } from '../diagnostics/messages.js';
import { type ConfigPath, formatPath } from '../diagnostics/paths.js';
import type { CheckPlan } from '../types.js';
import { CHECK_KINDS } from '../types.js';
import { buildPlan } from './plan.js';
import { configErrorMap, configSchema, type TargetSpec, type VigilConfig } from './schema.js';

/** One problem of a discovered target: its path inside the target (`checks.integrity.timeout`) and the sentence. */
export interface DiscoveredProblem {
  path: ConfigPath;
  /** `<path>: <message>`, the value shown as a diagnostic of the file shows it. */
  text: string;
}

/** The outcome of {@link validateDiscoveredTarget}. */
export type DiscoveredValidation =
  | { ok: true; target: TargetSpec }
  | { ok: false; problems: DiscoveredProblem[] };

/**
 * Validates one discovered target (a `targets:` entry as YAML would give it) against the config schema,
 * with `config`'s region and defaults.
 *
 * @returns the validated target, or every problem it has (paths relative to the target); never throws
 *   for bad input
 */
export function validateDiscoveredTarget(raw: unknown, config: VigilConfig): DiscoveredValidation {
  const parsed = configSchema.safeParse(
    { region: config.region, defaults: config.defaults, targets: [raw] },
    { error: configErrorMap, reportInput: true },
  );
  const problems = parsed.success ? [] : issuesToProblems(parsed.error.issues);
  const own = problems.map((problem) => {
    const path =
      problem.path[0] === 'targets' && problem.path[1] === 0 ? problem.path.slice(2) : problem.path;
    return {
      path,
      text: `${formatPath(path)}: ${fillMessage(problem, (value) => renderValue(value, () => false))}`,
    };
  });
  if (!parsed.success || own.length > 0) return { ok: false, problems: own };
  const target = parsed.data.targets[0] as TargetSpec;
  const files = namedFiles(target);
  if (files.length > 0)
    return {
      ok: false,
      problems: files.map((path) => ({
        path,
        text: `${formatPath(path)}: a discovered target cannot name a file (only the config file can); inline it or leave it out`,
      })),
    };
  return { ok: true, target };
}

/**
 * The checks of the discovered targets ({@link buildPlan} over them, with the file's defaults: ids,
 * timing and plan hooks as for the file's targets). The caller has removed discovered targets whose
 * names the file or an earlier discovered target already has.
 */
export function planDiscovered(config: VigilConfig, discovered: readonly TargetSpec[]): CheckPlan[] {
  if (discovered.length === 0) return [];
  return buildPlan({ ...config, targets: [...discovered] });
}

function namedFiles(target: TargetSpec): ConfigPath[] {
  const paths: ConfigPath[] = [];
  for (const key of ['caFile', 'certFile', 'keyFile'] as const)
    if (target.tls?.[key] !== undefined) paths.push(['tls', key]);
  for (const kind of CHECK_KINDS) {
    const check = target.checks[kind] as Record<string, unknown> | undefined;
    if (check === undefined) continue;
    const expect = check.expect as { schema?: unknown } | undefined;
    if (typeof expect?.schema === 'string') paths.push(['checks', kind, 'expect', 'schema']);
    if (typeof check.cases === 'string') paths.push(['checks', kind, 'cases']);
    if (check.baseline !== undefined) paths.push(['checks', kind, 'baseline']);
  }
  return paths;
}
