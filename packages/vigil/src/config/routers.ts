/**
 * The `routers:` section of `vigil.yaml` (a key of `config/schema.ts`): one failover reverse proxy per
 * model service, in front of targets the hub already checks. The config layer owns the schema so that
 * `vigil validate`, `vigil run` and `vigil route` read one file with one schema; what the router runs
 * (milliseconds, URLs) is resolved from it in `router/config.ts`.
 *
 * ```yaml
 * routers:
 *   - name: credit
 *     listen: 127.0.0.1:8090
 *     primary: credit-a            # a target's name
 *     secondaries: [credit-b]
 *     fallback: { module: ./heuristic.js }   # or { status: 200, body: {...} }
 *     policy: { deadline: 200ms, failoverAt: 180ms, hedgeAfter: 120ms, idempotent: true }
 * ```
 *
 * Durations stay strings here, exactly as written; `resolveRouters` (`router/config.ts`) turns them
 * into milliseconds and target names into URLs.
 */
import { z } from 'zod';
import { durationProblem, parseDuration } from '../diagnostics/duration.js';
import { GOT } from '../diagnostics/messages.js';
import { Verbatim } from '../diagnostics/paths.js';
import { closest } from '../diagnostics/suggest.js';
import { HEADER_PATTERN, requiredOr, whenValid } from '../schema/blocks.js';

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A duration string (`"200ms"`), longer than 0; stays a string in the parsed config. `example` is shown in messages. */
export function duration(example: string) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `${durationProblem(String(issue.input), example)}, got ${GOT}`,
    })
    .superRefine((text, ctx) => {
      const problem = durationProblem(text, example);
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', message: `${problem}, got ${GOT}`, input: text });
      } else if (parseDuration(text) === 0) {
        ctx.addIssue({ code: 'custom', message: `must be longer than 0s, got ${GOT}`, input: text });
      }
    });
}

/** A share of traffic or of upstreams, in (0, 1] (or [0, 1] with `allowZero`). */
function share(description: string, allowZero = false) {
  const message = `expected a share between ${allowZero ? '0' : 'above 0'} and 1 (0.1 = 10%), got ${GOT}`;
  return z
    .number({ error: requiredOr(message) })
    .refine((n) => n <= 1 && (allowZero ? n >= 0 : n > 0), { error: message })
    .describe(description);
}

const nameSchema = z.string({ error: requiredOr(`expected a name, got ${GOT}`) }).regex(NAME_PATTERN, {
  error: `expected a name of letters, digits, ".", "_" and "-" that starts with a letter or digit, got ${GOT}`,
});

const targetName = (description: string) =>
  z
    .string({ error: requiredOr(`expected a target's name, got ${GOT}`) })
    .min(1)
    .describe(description);

const LISTEN_MESSAGE = `expected a port (8090) or "host:port" like "127.0.0.1:8090", got ${GOT}`;

/**
 * Where a router listens: a port (on 127.0.0.1) or `"host:port"` (`"[::1]:8090"` for IPv6). Port 0
 * takes any free port (for tests).
 */
const listenSchema = z
  .union([z.int(), z.string()], { error: requiredOr(LISTEN_MESSAGE) })
  .refine((value) => parseListen(value) !== undefined, { error: LISTEN_MESSAGE })
  .describe('Address to listen on: a port (127.0.0.1) or "host:port", e.g. "0.0.0.0:8090".');

/**
 * Splits a `listen` value into host and port.
 *
 * @example parseListen('0.0.0.0:8090') // { host: '0.0.0.0', port: 8090 }
 * @returns `undefined` when it is neither a port nor `host:port`
 */
export function parseListen(value: unknown): { host: string; port: number } | undefined {
  const port = (text: string | number): number | undefined => {
    const n = typeof text === 'number' ? text : /^\d{1,5}$/.test(text) ? Number(text) : Number.NaN;
    return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : undefined;
  };
  if (typeof value === 'number') {
    const p = port(value);
    return p === undefined ? undefined : { host: '127.0.0.1', port: p };
  }
  if (typeof value !== 'string') return undefined;
  const match = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]\s]+)):(\d+)$/.exec(value) ?? /^()()(\d+)$/.exec(value);
  if (match === null) return undefined;
  const p = port(match[3] as string);
  if (p === undefined) return undefined;
  return { host: match[1] || match[2] || '127.0.0.1', port: p };
}

/** Envoy's outlier detection defaults (consecutive_5xx 5, base_ejection_time 30 s, max_ejection_percent 10). */
export const OUTLIER_DEFAULTS = { consecutive5xx: 5, baseEjection: '30s', maxEjectedShare: 0.1 } as const;

/** Defaults of `policy`; `failoverAt` defaults to 90% of `deadline` (180 ms under 200 ms). */
export const POLICY_DEFAULTS = {
  deadline: '30s',
  window: '10s',
  hedgeMaxShare: 0.1,
  idempotent: false,
  bodyCapBytes: 1_048_576,
  returnSteps: [0.1, 0.25, 0.5, 1],
  healthyFor: '10s',
} as const;

const outlierSchema = z
  .strictObject({
    consecutive5xx: z
      .int({ error: requiredOr(`expected a whole number, got ${GOT}`) })
      .min(1, { error: `must be at least 1, got ${GOT}` })
      .default(OUTLIER_DEFAULTS.consecutive5xx)
      .describe(
        'Consecutive upstream failures (5xx, timeouts, resets; never 4xx) that eject an upstream (Envoy consecutive_5xx).',
      ),
    baseEjection: duration('30s')
      .default(OUTLIER_DEFAULTS.baseEjection)
      .describe('An ejection lasts this times the number of ejections in a row (Envoy base_ejection_time).'),
    maxEjectedShare: share(
      'Most upstreams of the router ejected at once, as a share; at least one may always be (Envoy max_ejection_percent).',
      true,
    ).default(OUTLIER_DEFAULTS.maxEjectedShare),
  })
  .describe("Passive outlier detection on the router's own traffic (Envoy's defaults).");

const returnStepsSchema = z
  .array(share('A share of traffic the recovering primary gets.'), {
    error: requiredOr(`expected a list of shares like [0.1, 0.25, 0.5, 1], got ${GOT}`),
  })
  .min(1)
  .superRefine((steps, ctx) => {
    steps.forEach((step, index) => {
      if (index > 0 && step <= (steps[index - 1] as number)) {
        ctx.addIssue({
          code: 'custom',
          path: [index],
          message: `must be greater than the step before it (${steps[index - 1]}), got ${GOT}`,
          input: step,
        });
      }
    });
    if (steps.length > 0 && steps[steps.length - 1] !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: [steps.length - 1],
        message: `the last step must be 1 (all traffic back on the primary), got ${GOT}`,
        input: steps[steps.length - 1],
      });
    }
  })
  .describe(
    'Shares of traffic the primary gets back, one step per healthyFor, once it is healthy again (no flapping).',
  );

const policySchema = z
  .strictObject({
    deadline: duration('200ms')
      .default(POLICY_DEFAULTS.deadline)
      .describe(
        "Per request, from its arrival (after a buffered body): the time by which an upstream's response headers must arrive; past it, the fallback answers (else 504). The body then streams without a limit.",
      ),
    failoverAt: duration('180ms')
      .optional()
      .describe(
        "When the primary's p95 latency over window reaches this, new traffic goes to a secondary. Default 90% of deadline.",
      ),
    window: duration('10s')
      .default(POLICY_DEFAULTS.window)
      .describe('Sliding window over which latency (p95) is measured.'),
    hedgeAfter: duration('120ms')
      .optional()
      .describe(
        'Idempotent requests only: with no answer after this, a copy goes to the next upstream; the first answer wins. Off when absent.',
      ),
    hedgeMaxShare: share(
      "Hedges as a share of requests at most (gRPC hedging's throttling idea); a request still waiting on an upstream the router has failed over from (the primary demoted for its p95, or drained, ejected, unhealthy) is hedged beyond it.",
      true,
    ).default(POLICY_DEFAULTS.hedgeMaxShare),
    idempotent: z
      .boolean({ error: requiredOr(`expected true or false, got ${GOT}`) })
      .default(POLICY_DEFAULTS.idempotent)
      .describe(
        'Requests may be sent twice (replayed on a secondary, hedged). GET, HEAD and OPTIONS always may. Default false.',
      ),
    bodyCapBytes: z
      .int({ error: requiredOr(`expected a whole number of bytes, got ${GOT}`) })
      .min(0, { error: `must be at least 0, got ${GOT}` })
      .default(POLICY_DEFAULTS.bodyCapBytes)
      .describe(
        'Idempotent requests: bodies up to this size are buffered so they can be replayed; larger ones stream, not replayed.',
      ),
    outlier: outlierSchema.prefault({}),
    returnSteps: returnStepsSchema.default([...POLICY_DEFAULTS.returnSteps]),
    healthyFor: duration('10s')
      .default(POLICY_DEFAULTS.healthyFor)
      .describe(
        'How long the primary must stay healthy before it gets the next return step (times the number of failovers in a row).',
      ),
  })
  .superRefine((policy, ctx) => {
    const deadline = parseDuration(policy.deadline);
    for (const key of ['failoverAt', 'hedgeAfter'] as const) {
      const value = policy[key];
      if (value !== undefined && parseDuration(value) >= deadline) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `must be below deadline ({{deadline}}), got ${GOT}`,
          input: value,
          params: { deadline: new Verbatim(policy.deadline) },
        });
      }
    }
  }, whenValid)
  .describe('When to fail over, hedge and fall back; every key has a default.');

/**
 * Defaults of `traffic`: the router reports each upstream's traffic every 250 ms; two failing reports
 * in a row (500 ms) make the hub's traffic check unhealthy, as the issue's target of "a hard failure
 * under traffic detected within a second" asks; two passing ones heal it.
 */
export const TRAFFIC_DEFAULTS = {
  interval: '250ms',
  failureThreshold: 2,
  successThreshold: 2,
  errorShare: 0.5,
} as const;

const threshold = (description: string) =>
  z
    .int({ error: requiredOr(`expected a whole number, got ${GOT}`) })
    .min(1, { error: `must be at least 1, got ${GOT}` })
    .describe(description);

const trafficSchema = z
  .strictObject({
    interval: duration('250ms')
      .default(TRAFFIC_DEFAULTS.interval)
      .describe("How often the router sums up each upstream's traffic as one result for the hub."),
    failureThreshold: threshold('Failing reports in a row before the traffic check is unhealthy.').default(
      TRAFFIC_DEFAULTS.failureThreshold,
    ),
    successThreshold: threshold('Passing reports in a row before it is healthy again.').default(
      TRAFFIC_DEFAULTS.successThreshold,
    ),
    errorShare: share(
      'A report fails when at least this share of its attempts were upstream failures (5xx, timeouts, resets; never 4xx), or when the upstream is ejected.',
    ).default(TRAFFIC_DEFAULTS.errorShare),
  })
  .describe(
    "The router's real traffic as a check of the hub's own per upstream (`<target>/traffic:<router>`, results of source `traffic`): fail on upstream failures or an ejection, degraded at p95 ≥ failoverAt.",
  );

/** A static fallback answer, or a module exporting a function of the request. */
const fallbackSchema = z
  .strictObject(
    {
      module: z
        .string()
        .min(1)
        .optional()
        .describe(
          'A JavaScript module (path relative to the config file) whose export is `(request) => {status?, headers?, body}`.',
        ),
      export: z.string().min(1).optional().describe("The module's export to call; default `default`."),
      status: z
        .int({ error: requiredOr(`expected a status code (200–599), got ${GOT}`) })
        .min(200, { error: `expected a status code (200–599), got ${GOT}` })
        .max(599, { error: `expected a status code (200–599), got ${GOT}` })
        .optional()
        .describe('Static answer: status; default 200.'),
      headers: z
        .record(
          z.string().regex(HEADER_PATTERN, { error: `expected a header name, got ${GOT}` }),
          z.union([z.string(), z.number(), z.boolean()]).transform(String),
        )
        .optional()
        .describe('Static answer: headers.'),
      body: z.unknown().optional().describe('Static answer: a string is sent as is, anything else as JSON.'),
    },
    { error: requiredOr(`expected {module: "./fallback.js"} or {status, headers, body}, got ${GOT}`) },
  )
  .superRefine((fallback, ctx) => {
    const staticKeys = (['status', 'headers', 'body'] as const).filter((k) => fallback[k] !== undefined);
    if (fallback.module !== undefined && staticKeys.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `takes "module" or a static answer (${staticKeys.join(', ')}), not both`,
      });
    } else if (fallback.module === undefined && staticKeys.length === 0) {
      ctx.addIssue({ code: 'custom', message: 'needs "module" or a static answer (status, headers, body)' });
    }
    if (fallback.export !== undefined && fallback.module === undefined) {
      ctx.addIssue({ code: 'custom', path: ['export'], message: 'only with "module"' });
    }
  })
  .describe('Who answers when no upstream can by the deadline: a heuristic module or a static answer.');

/** One router: a listening address in front of a primary target and its secondaries. */
export const routerSchema = z
  .strictObject(
    {
      name: nameSchema.describe('Unique name, used in metrics, logs and the admin API.'),
      listen: listenSchema,
      primary: targetName('The target that takes the traffic while it is healthy.'),
      secondaries: z
        .array(targetName('A target that takes traffic when the primary cannot.'), {
          error: requiredOr(`expected a list of target names, got ${GOT}`),
        })
        .max(30, { error: 'at most 30 secondaries' })
        .default([])
        .describe('Targets that take the traffic when the primary is drained, ejected or slow, best first.'),
      region: nameSchema
        .optional()
        .describe(
          "The region the router runs in: the hub's own (`region`, the default) or one of `agents.regions`. It follows that region's states of its targets' checks (a check not probed from there: every region's), and its traffic checks are that region's.",
        ),
      fallback: fallbackSchema.optional(),
      policy: policySchema.prefault({}),
      traffic: trafficSchema.prefault({}),
    },
    { error: requiredOr(`expected a mapping with name, listen and primary, got ${GOT}`) },
  )
  .superRefine((router, ctx) => {
    const seen = new Set<string>([router.primary]);
    router.secondaries.forEach((secondary, index) => {
      if (seen.has(secondary)) {
        ctx.addIssue({
          code: 'custom',
          path: ['secondaries', index],
          message:
            secondary === router.primary
              ? `${GOT} is the primary; a secondary must be another target`
              : `${GOT} is listed twice`,
          input: secondary,
        });
      }
      seen.add(secondary);
    });
  }, whenValid)
  .describe('A failover reverse proxy in front of one model service.');

/** The `routers:` list; names and listening addresses are unique. */
export const routersSchema = z
  .array(routerSchema, { error: requiredOr(`expected a list of routers, got ${GOT}`) })
  .superRefine((routers, ctx) => {
    const names = new Map<string, number>();
    const addresses = new Map<string, number>();
    routers.forEach((router, index) => {
      const first = names.get(router.name);
      if (first !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'name'],
          message: `duplicate router name ${GOT}: routers[${first}] has it too`,
          input: router.name,
        });
      } else names.set(router.name, index);
      const listen = parseListen(router.listen);
      if (listen === undefined || listen.port === 0) return;
      const key = `${listen.host}:${listen.port}`;
      const other = addresses.get(key);
      if (other !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [index, 'listen'],
          message: `routers[${other}] listens on ${GOT} too`,
          input: router.listen,
        });
      } else addresses.set(key, index);
    });
  }, whenValid)
  .describe('Failover reverse proxies (`vigil route`), one per model service.');

/** `routers:` as written. */
export type RoutersInput = z.input<typeof routersSchema>;
/** One validated router: defaults filled in, durations still strings, names not yet resolved. */
export type RouterSpec = z.output<typeof routerSchema>;
/** A validated `policy` block. */
export type PolicySpec = RouterSpec['policy'];
/** A validated `traffic` block. */
export type TrafficSpec = RouterSpec['traffic'];
/** A validated `fallback` block. */
export type FallbackSpec = NonNullable<RouterSpec['fallback']>;

/**
 * The cross-check between `routers` and `targets`: every primary and secondary names a target.
 * Written as a zod refinement over the whole config (`config/schema.ts`'s `crossCheck` calls it with
 * one line), reading the tree defensively since it runs even when other parts are invalid.
 */
export function checkRouterTargets(config: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(config) || !Array.isArray(config.routers) || !Array.isArray(config.targets)) return;
  const known = config.targets.flatMap((t) => (isRecord(t) && typeof t.name === 'string' ? [t.name] : []));
  const names = new Set(known);
  const check = (name: unknown, path: PropertyKey[]) => {
    if (typeof name !== 'string' || names.has(name)) return;
    const suggestion = closest(name, known);
    ctx.addIssue({
      code: 'custom',
      path,
      message: `no target is named ${GOT}${suggestion === undefined ? '' : `; did you mean "${suggestion}"?`}`,
      input: name,
    });
  };
  config.routers.forEach((router, index) => {
    if (!isRecord(router)) return;
    check(router.primary, ['routers', index, 'primary']);
    if (Array.isArray(router.secondaries)) {
      router.secondaries.forEach((s, i) => {
        check(s, ['routers', index, 'secondaries', i]);
      });
    }
  });
}

/** A policy's `failoverAt` in ms: as written, else 90% of `deadline` ({@link POLICY_DEFAULTS}: 180 ms under 200 ms). */
export function failoverAtMsOf(policy: Pick<PolicySpec, 'deadline' | 'failoverAt'>): number {
  return policy.failoverAt === undefined
    ? Math.floor(parseDuration(policy.deadline) * 0.9)
    : parseDuration(policy.failoverAt);
}

/** The id of router `router`'s traffic check of target `target`: `<target>/traffic:<router>`. */
export function trafficCheckId(target: string, router: string): string {
  return `${target}/traffic:${router}`;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
