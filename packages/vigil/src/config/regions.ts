/**
 * Regions: where a check is probed from (`regions:` of a target or check), how many failing regions
 * make a global failure (`quorum:`), how the regions share the interval (`scheduling:`), and the
 * `agents:` block that names the regions agents probe from and their tokens. Also the plan's slices:
 * which checks a region (and a shard of it) runs.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';
import { durationProblem, parseDuration } from '../diagnostics/duration.js';
import { GOT } from '../diagnostics/messages.js';
import { closest } from '../diagnostics/suggest.js';
import { requiredOr } from '../schema/blocks.js';
import type { CheckPlan, Quorum } from '../types.js';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const QUORUM_PATTERN = /^\s*(\d+)\s+of\s+(\d+)\s*$/;

const regionName = z.string({ error: requiredOr(`expected a region name, got ${GOT}`) }).regex(NAME_PATTERN, {
  error: `expected a region name of letters, digits, ".", "_" and "-" that starts with a letter or digit, got ${GOT}`,
});

/** `majority`, `all` or `"N of M"` (Datadog's "N of M locations"); see {@link parseQuorum}. */
const quorumSchema = z
  .string({ error: requiredOr(`expected majority, all or "N of M", got ${GOT}`) })
  .superRefine((text, ctx) => {
    if (parseQuorum(text) === undefined)
      ctx.addIssue({
        code: 'custom',
        message: `expected majority, all or "N of M" (1 ≤ N ≤ M), got ${GOT}`,
        input: text,
      });
  })
  .describe(
    'How many failing regions make a global (critical) failure: majority (default) of the regions reporting, all of them, or "N of M".',
  );

/** The keys a target and a check share: where from, and how the regions' verdicts combine. */
export const regionsShape = {
  regions: z
    .array(regionName, { error: requiredOr(`expected a list of region names, got ${GOT}`) })
    .min(1, { error: 'needs at least one region' })
    .optional()
    .describe(
      "Regions that probe this check: the hub's own (`region`, default local) and those of `agents:`. Default: the hub's own.",
    ),
  quorum: quorumSchema.optional(),
  scheduling: z
    .enum(['parallel', 'round-robin'], { error: `expected parallel or round-robin, got ${GOT}` })
    .optional()
    .describe(
      "parallel (default): every region probes each interval; round-robin: one region per interval, in turn (Checkly's modes).",
    ),
};

/** One region's agent: its token, from the environment (`${VAR}`) or a file. */
const agentRegionSchema = z
  .strictObject({
    token: z
      .string()
      .min(16, { error: 'an agent token must be at least 16 characters' })
      .optional()
      .describe(
        "The bearer token of this region's agents: interpolate it from an environment variable rather than writing it in the file.",
      ),
    tokenFile: z
      .string()
      .min(1)
      .optional()
      .describe("A file holding the token (e.g. a Kubernetes Secret's mount)."),
  })
  .superRefine((agent, ctx) => {
    if ((agent.token === undefined) === (agent.tokenFile === undefined))
      ctx.addIssue({ code: 'custom', message: 'needs exactly one of token or tokenFile' });
  });

/** `agents:`: the regions agents probe from, their tokens, and when an agent counts as down. */
export const agentsSchema = z
  .strictObject({
    regions: z
      .record(regionName, agentRegionSchema)
      .describe('Each region an agent probes from (`vigil agent --region NAME`), with its token.'),
    downAfter: z
      .string()
      .superRefine((text, ctx) => {
        const problem = durationProblem(text, '30s');
        if (problem !== undefined)
          ctx.addIssue({ code: 'custom', message: `${problem}, got ${GOT}`, input: text });
      })
      .default('30s')
      .describe(
        'An agent that has sent nothing for this long is down: `agent down` for its region. Default 30s.',
      ),
    maxBatchBytes: z
      .int()
      .min(1024)
      .default(4_194_304)
      .describe(
        'Largest result batch an agent may push, in bytes once decompressed (413 above). Default 4 MiB.',
      ),
  })
  .describe('Agents: probers in other regions that report to this hub (`vigil agent`).');

/** `agents:` as validated. */
export type AgentsSpec = z.output<typeof agentsSchema>;

/**
 * `majority` → `{kind: 'majority'}`, `all` → `{kind: 'all'}`, `"2 of 3"` → `{kind: 'count', n: 2, of: 3}`;
 * undefined for anything else (N must be 1…M).
 */
export function parseQuorum(text: string): Quorum | undefined {
  if (text === 'majority' || text === 'all') return { kind: text };
  const match = QUORUM_PATTERN.exec(text);
  if (match === null) return undefined;
  const n = Number(match[1]);
  const of = Number(match[2]);
  return n >= 1 && n <= of ? { kind: 'count', n, of } : undefined;
}

/**
 * Whether `failing` of `reporting` regions is a global failure under `quorum`: majority: more than half;
 * all: every one; N of M: at least N (at most the regions reporting, so a quorum still forms when some
 * stopped reporting). No region reporting is never global.
 */
export function isGlobal(quorum: Quorum | undefined, failing: number, reporting: number): boolean {
  if (reporting === 0 || failing === 0) return false;
  const q = quorum ?? { kind: 'majority' };
  if (q.kind === 'all') return failing >= reporting;
  if (q.kind === 'count') return failing >= Math.min(q.n, reporting);
  return failing * 2 > reporting;
}

/** The regions of `plan`: its `regions`, else the hub's own. */
export function regionsOf(plan: CheckPlan, hubRegion: string): readonly string[] {
  return plan.regions ?? [hubRegion];
}

/** Shard `index` of `count` (0-based), as `--shard i/n` writes it (1-based `i`). */
export interface Shard {
  index: number;
  count: number;
}

/** `"2/4"` → `{index: 1, count: 4}`; undefined unless 1 ≤ i ≤ n. */
export function parseShard(text: string): Shard | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (match === null) return undefined;
  const i = Number(match[1]);
  const n = Number(match[2]);
  return i >= 1 && i <= n ? { index: i - 1, count: n } : undefined;
}

/**
 * The shard a check id belongs to among `count`: the first 8 bytes of its MD5 as an unsigned integer,
 * modulo `count` (Prometheus' `hashmod` relabel action), so it stays put while `count` does.
 */
export function shardOf(checkId: string, count: number): number {
  const sum = createHash('md5').update(checkId).digest();
  return Number(sum.readBigUInt64BE(0) % BigInt(count));
}

/**
 * The checks `region` runs (of shard `shard` when given), each as that region runs it: under
 * `round-robin` scheduling the N regions take turns, so each probes every N × interval, starting
 * (its position among the regions) × interval after the others.
 */
export function plansForRegion(
  plan: readonly CheckPlan[],
  region: string,
  hubRegion: string,
  shard?: Shard,
): CheckPlan[] {
  const out: CheckPlan[] = [];
  for (const p of plan) {
    if (p.kind === 'traffic') continue;
    const regions = regionsOf(p, hubRegion);
    const position = regions.indexOf(region);
    if (position < 0) continue;
    if (shard !== undefined && shardOf(p.id, shard.count) !== shard.index) continue;
    if (p.scheduling === 'round-robin' && regions.length > 1) {
      out.push({
        ...p,
        intervalMs: p.intervalMs * regions.length,
        initialDelayMs: p.initialDelayMs + position * p.intervalMs,
      });
    } else out.push(p);
  }
  return out;
}

/**
 * The root rule of `regions:`: every region named by a target, a check or a router (`routers[].region`)
 * is the hub's own (`region`) or one of `agents.regions`, with a suggestion otherwise; an `N of M` quorum's M is the check's number of
 * regions. Runs on the raw tree with every other rule (it reads defensively).
 */
export function checkRegionNames(config: unknown, ctx: z.RefinementCtx, kinds: readonly string[]): void {
  if (!isRecord(config) || !Array.isArray(config.targets)) return;
  const own = typeof config.region === 'string' ? config.region : 'local';
  const agents =
    isRecord(config.agents) && isRecord(config.agents.regions) ? Object.keys(config.agents.regions) : [];
  const known = [own, ...agents];
  const checkNames = (regions: unknown, path: PropertyKey[]) => {
    if (!Array.isArray(regions)) return;
    regions.forEach((name, i) => {
      if (typeof name !== 'string' || known.includes(name)) return;
      const suggestion = closest(name, known);
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'regions', i],
        message: `unknown region ${GOT}: regions are the hub's own ("${own}") and those of agents.regions (${agents.length === 0 ? 'none' : agents.join(', ')})${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`,
        input: name,
      });
    });
  };
  const checkQuorum = (quorum: unknown, regions: unknown, path: PropertyKey[]) => {
    const q = typeof quorum === 'string' ? parseQuorum(quorum) : undefined;
    const count = Array.isArray(regions) ? regions.length : 1;
    if (q?.kind === 'count' && q.of !== count)
      ctx.addIssue({
        code: 'custom',
        path: [...path, 'quorum'],
        message: `quorum "${quorum}" counts ${q.of} regions, but the check has ${count}`,
        input: quorum,
      });
  };
  if (Array.isArray(config.routers))
    config.routers.forEach((router, index) => {
      if (!isRecord(router) || typeof router.region !== 'string' || known.includes(router.region)) return;
      const suggestion = closest(router.region, known);
      ctx.addIssue({
        code: 'custom',
        path: ['routers', index, 'region'],
        message: `unknown region ${GOT}: a router runs in the hub's region ("${own}") or one of agents.regions (${agents.length === 0 ? 'none' : agents.join(', ')})${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`,
        input: router.region,
      });
    });
  config.targets.forEach((target, index) => {
    if (!isRecord(target)) return;
    checkNames(target.regions, ['targets', index]);
    checkQuorum(target.quorum, target.regions, ['targets', index]);
    if (!isRecord(target.checks)) return;
    for (const kind of kinds) {
      const check = target.checks[kind];
      if (!isRecord(check)) continue;
      const path = ['targets', index, 'checks', kind];
      checkNames(check.regions, path);
      if (check.quorum !== undefined || check.regions !== undefined)
        checkQuorum(check.quorum ?? target.quorum, check.regions ?? target.regions, path);
    }
  });
}

/** `downAfter` of an `agents:` block in ms (default 30 s). */
export function agentDownAfterMs(agents: AgentsSpec | undefined): number {
  return parseDuration(agents?.downAfter ?? '30s');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
