/**
 * Discovered objects merged with the file's targets: each candidate validated with the file's schema
 * (`config/discovered.ts`), its problems reported with the object's kind, namespace/name and the
 * annotation (or field) the bad value came from. A bad object is left out; nothing else is affected.
 */
import { validateDiscoveredTarget } from '../config/discovered.js';
import type { TargetSpec, VigilConfig } from '../config/schema.js';
import type { Discovered } from './objects.js';

/**
 * Each candidate's validation under one config: a watch event replaces only the candidate it is about,
 * so a change validates that one object again, not every discovered target (thousands, at scale).
 */
const validated = new WeakMap<
  Discovered,
  { config: VigilConfig; result: ReturnType<typeof validateDiscoveredTarget> }
>();

function validate(found: Discovered & { target: Record<string, unknown> }, config: VigilConfig) {
  const cached = validated.get(found);
  if (cached?.config === config) return cached.result;
  const result = validateDiscoveredTarget(found.target, config);
  validated.set(found, { config, result });
  return result;
}

/** What {@link mergeDiscovered} gives. */
export interface MergedTargets {
  /** The discovered targets that validated, in key order, after the file's. */
  targets: TargetSpec[];
  /**
   * One line per problem: `<Kind> <namespace>/<name>: annotation <key>: <path>: <message>`, or
   * `<Kind> <namespace>/<name> (<field>): <path>: <message>` when the value came from a field.
   */
  diagnostics: string[];
}

/**
 * Validates every discovered candidate against `config` and merges it with the file's targets. A
 * discovered target whose name the file (or a discovered object earlier in key order) already has is
 * left out with a diagnostic: the file wins.
 */
export function mergeDiscovered(config: VigilConfig, discovered: Iterable<Discovered>): MergedTargets {
  const taken = new Map(config.targets.map((t) => [t.name, 'the config file']));
  const targets: TargetSpec[] = [];
  const diagnostics: string[] = [];
  const sorted = [...discovered].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (const found of sorted) {
    if (found.problems.length > 0) {
      for (const problem of found.problems) diagnostics.push(`${found.source}: ${problem}`);
      continue;
    }
    if (found.target === undefined) continue;
    const result = validate(found as Discovered & { target: Record<string, unknown> }, config);
    if (!result.ok) {
      for (const problem of result.problems) {
        const top = String(problem.path[0] ?? '');
        const origin = found.origins[top];
        diagnostics.push(
          origin?.startsWith('vigil.dev/')
            ? `${found.source}: annotation ${origin}: ${problem.text}`
            : `${found.source}${origin === undefined ? '' : ` (${origin})`}: ${problem.text}`,
        );
      }
      continue;
    }
    const owner = taken.get(result.target.name);
    if (owner !== undefined) {
      diagnostics.push(
        `${found.source}: target name ${JSON.stringify(result.target.name)} is taken by ${owner}; set annotation vigil.dev/name to another`,
      );
      continue;
    }
    taken.set(result.target.name, found.source);
    targets.push(result.target);
  }
  return { targets, diagnostics };
}
