/**
 * The zod schema of `vigil.yaml` (see DESIGN.md, "Configuration sketch"). Durations stay strings here
 * (`"10s"`), exactly as written; {@link buildPlan} turns them into milliseconds. Cross-field rules
 * (timeout below interval, unique target names) live in the root refinement so that they are reported
 * together with every other problem.
 */
import { z } from 'zod';
import { actionsSchema } from '../actions/index.js';
import { alertingSchema } from '../alerting/routing.js';
import { METRICS_PRESET_NAMES, metricRuleSchema, ruleKey } from '../assertions/metrics.js';
import { assertionSchema, extractSchema, operatorsSchema, regexSchema } from '../assertions/vocabulary.js';
import { adaptiveFactors } from '../canary/latency.js';
import { DURATION_PATTERN, durationProblem, parseDuration } from '../diagnostics/duration.js';
import { createHumanErrorMap, GOT } from '../diagnostics/messages.js';
import { formatPath, Verbatim } from '../diagnostics/paths.js';
import { closest } from '../diagnostics/suggest.js';
import { VigilError } from '../errors.js';
import {
  DEFAULT_REQUEST_KINDS,
  PROTOCOL_NAMES,
  PROTOCOLS,
  type ProtocolName,
  type ProtocolPlugin,
} from '../protocols/index.js';
import { everyTime, headerMap, jsonObject, requiredOr, scalarString, whenValid } from '../schema/blocks.js';
import { baseUrl, type UrlForm } from '../schema/url.js';
import { type AuthConfig, CHECK_KINDS, type ProbeKind } from '../types.js';
import { budgetSchema } from './budget.js';
import { clusterSchema } from './cluster.js';
import { discoverySchema } from './discovery.js';
import { agentsSchema, checkRegionNames, regionsShape } from './regions.js';
import { checkRouterTargets, routersSchema } from './routers.js';

// ---------------------------------------------------------------------------------------------
// Scalars

const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const LABEL_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
const STATUS_CLASS_PATTERN = /^[1-5]xx$/;

/** A target or region name. */
const nameSchema = z.string({ error: requiredOr(`expected a name, got ${GOT}`) }).regex(NAME_PATTERN, {
  error: `expected a name of letters, digits, ".", "_" and "-" that starts with a letter or digit, got ${GOT}`,
});

/**
 * A duration string (`"10s"`, `"150ms"`, `"1m30s"`); stays a string in the parsed config.
 *
 * @param example shown in messages and as the default's form
 */
function duration(
  example: string,
  description: string,
  options: { allowZero?: boolean; orFalse?: boolean; orAuto?: boolean; id?: string } = {},
) {
  const suffix = options.orFalse === true ? ' (or false)' : options.orAuto === true ? ' (or auto)' : '';
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `${durationProblem(String(issue.input), example)}${suffix}, got ${GOT}`,
    })
    .superRefine((text, ctx) => {
      if (options.orAuto === true && text === 'auto') return;
      const problem = durationProblem(text, example);
      if (problem !== undefined) {
        ctx.addIssue({ code: 'custom', message: `${problem}${suffix}, got ${GOT}`, input: text });
      } else if (options.allowZero !== true && parseDuration(text) === 0) {
        ctx.addIssue({ code: 'custom', message: `must be longer than 0s, got ${GOT}`, input: text });
      }
    })
    .meta({
      ...(options.id !== undefined && { id: options.id }),
      description,
      pattern: DURATION_PATTERN.source,
    });
}

/** A whole number ≥ `min`. */
function wholeNumber(min: number, description: string) {
  return z
    .int({ error: requiredOr(`expected a whole number, got ${GOT}`) })
    .min(min, { error: `must be at least ${min}, got ${GOT}` })
    .describe(description);
}

// ---------------------------------------------------------------------------------------------
// Timing: defaults, then per target, then per check

/** Defaults of the timing keys; Kubernetes' failureThreshold 3 / successThreshold 1. */
export const TIMING_DEFAULTS = {
  interval: '10s',
  timeout: '2s',
  failureThreshold: 3,
  successThreshold: 1,
  fastInterval: '1s',
  initialDelay: '0s',
  startupGrace: '0s',
} as const;

const intervalSchema = duration('10s', 'Time between two probes of a check, e.g. "10s".', { id: 'Interval' });
const timeoutSchema = duration(
  '2s',
  'Limit for one probe (connect, headers and body); must be less than interval.',
  { id: 'Timeout' },
);
const failureThresholdSchema = wholeNumber(
  1,
  'Consecutive failed probes before the check turns unhealthy (Kubernetes failureThreshold).',
).meta({ id: 'FailureThreshold' });
const successThresholdSchema = wholeNumber(
  1,
  'Consecutive passed probes before the check turns healthy again (Kubernetes successThreshold).',
).meta({ id: 'SuccessThreshold' });
const fastIntervalSchema = z
  .union(
    [duration('1s', 'Re-probe interval while a failure is confirmed.', { orFalse: true }), z.literal(false)],
    {
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `${durationProblem(String(issue.input), '1s')} (or false), got ${GOT}`,
    },
  )
  .meta({
    id: 'FastInterval',
    description:
      "Re-probe interval while a failure is being confirmed (HAProxy's fastinter), or false to keep the normal interval.",
  });
const initialDelaySchema = duration('0s', 'Wait before the first probe, e.g. "30s" for a slow model load.', {
  allowZero: true,
  id: 'InitialDelay',
});

const startupGraceSchema = duration(
  '0s',
  'Startup grace: a check that has never passed is not declared unhealthy until this long after its first probe (the Kubernetes startup probe\'s meaning), e.g. "2m" for a model that loads slowly.',
  { allowZero: true, id: 'StartupGrace' },
);

const timingShape = {
  interval: intervalSchema.optional(),
  timeout: timeoutSchema.optional(),
  failureThreshold: failureThresholdSchema.optional(),
  successThreshold: successThresholdSchema.optional(),
  fastInterval: fastIntervalSchema.optional(),
  initialDelay: initialDelaySchema.optional(),
  startupGrace: startupGraceSchema.optional(),
};

const defaultsSchema = z
  .strictObject({
    interval: intervalSchema.default(TIMING_DEFAULTS.interval),
    timeout: timeoutSchema.default(TIMING_DEFAULTS.timeout),
    failureThreshold: failureThresholdSchema.default(TIMING_DEFAULTS.failureThreshold),
    successThreshold: successThresholdSchema.default(TIMING_DEFAULTS.successThreshold),
    fastInterval: fastIntervalSchema.default(TIMING_DEFAULTS.fastInterval),
    initialDelay: initialDelaySchema.default(TIMING_DEFAULTS.initialDelay),
    startupGrace: startupGraceSchema.default(TIMING_DEFAULTS.startupGrace),
  })
  .meta({
    id: 'Defaults',
    description: 'Timing for every check; a target, then a check, may override each key.',
  });

// ---------------------------------------------------------------------------------------------
// Assertions: the operators, JSONPath and regular expressions come from the one vocabulary
// (assertions/vocabulary.ts); status and latency are assembled here.

export { assertionSchema, operatorsSchema };

const statusMessage = `expected a status code (100–599) or a class like "2xx", got ${GOT}`;
const statusEntry = z.union(
  [
    z.int().min(100, { error: statusMessage }).max(599, { error: statusMessage }),
    z.string().regex(STATUS_CLASS_PATTERN, { error: statusMessage }),
  ],
  { error: requiredOr(statusMessage) },
);

/** Two-level duration thresholds: `latency`, and a stream's `ttft` and `maxTokenGap`. */
const twoLevelSchema = (name: string, example: [string, string]) =>
  z
    .strictObject({
      degraded: duration(example[0], 'At or over this the probe is degraded (a warning).').optional(),
      failed: duration(example[1], 'At or over this the probe fails.').optional(),
    })
    .superRefine((latency, ctx) => {
      if (latency.degraded === undefined && latency.failed === undefined) {
        ctx.addIssue({ code: 'custom', message: 'needs degraded, failed or both' });
      } else if (
        latency.degraded !== undefined &&
        latency.failed !== undefined &&
        parseDuration(latency.degraded) >= parseDuration(latency.failed)
      ) {
        ctx.addIssue({
          code: 'custom',
          path: ['degraded'],
          message: `must be below ${name}.failed ({{failed}}), got ${GOT}`,
          input: latency.degraded,
          params: { failed: new Verbatim(latency.failed) },
        });
      }
    }, whenValid);

const tokensPerSecondSchema = z
  .strictObject({
    degraded: z
      .number()
      .positive()
      .optional()
      .describe('Below this many tokens per second the probe is degraded.'),
    failed: z.number().positive().optional().describe('Below this many tokens per second the probe fails.'),
  })
  .superRefine((rate, ctx) => {
    if (rate.degraded === undefined && rate.failed === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs degraded, failed or both' });
    } else if (rate.degraded !== undefined && rate.failed !== undefined && rate.degraded <= rate.failed) {
      ctx.addIssue({
        code: 'custom',
        path: ['degraded'],
        message: `must be above minTokensPerSecond.failed (${rate.failed}), got ${GOT}`,
        input: rate.degraded,
      });
    }
  }, whenValid)
  .describe('Streamed LLM answers: the lowest decode speed, (tokens − 1) / (last token − first token).');

const adaptiveLatencySchema = z
  .strictObject({
    quantile: z
      .number()
      .gt(0)
      .max(1)
      .optional()
      .describe(
        "The quantile of the version's latency the thresholds scale; default 0.99. With a baseline: 0.5, 0.95 or 0.99.",
      ),
    factor: z
      .union([
        z.number().gt(1),
        z.strictObject({ degraded: z.number().gt(1).optional(), failed: z.number().gt(1).optional() }),
      ])
      .optional()
      .describe(
        'Multipliers of that quantile: degraded 1.5 and failed 2 by default; one number sets failed, degraded halfway.',
      ),
    floor: duration(
      '20ms',
      'Lower bound of the quantile (default 20ms): jitter must not page a 2 ms model.',
      {
        allowZero: true,
      },
    ).optional(),
    minSamples: z
      .int()
      .min(1)
      .optional()
      .describe('Passing probes of a version needed after warm-up; default 20.'),
    warmup: z
      .int()
      .min(0)
      .optional()
      .describe('Leading probes of a version left out as its warm-up; default 5.'),
  })
  .superRefine((adaptive, ctx) => {
    try {
      adaptiveFactors(adaptive.factor);
    } catch (err) {
      ctx.addIssue({
        code: 'custom',
        path: ['factor'],
        message: (err as Error).message,
        input: adaptive.factor,
      });
    }
  }, whenValid)
  .describe(
    'Adaptive thresholds: factor × quantile of the latency of the model version now served (its baseline, else its own recent passing probes).',
  );

const latencySchema = z
  .strictObject({
    degraded: duration('150ms', 'At or over this the probe is degraded (a warning); auto: adaptive.', {
      orAuto: true,
    }).optional(),
    failed: duration('180ms', 'At or over this the probe fails; auto: adaptive.', {
      orAuto: true,
    }).optional(),
    adaptive: adaptiveLatencySchema.optional(),
  })
  .superRefine((latency, ctx) => {
    if (latency.degraded === undefined && latency.failed === undefined && latency.adaptive === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs degraded, failed or both' });
    } else if (
      latency.degraded !== undefined &&
      latency.failed !== undefined &&
      latency.degraded !== 'auto' &&
      latency.failed !== 'auto' &&
      parseDuration(latency.degraded) >= parseDuration(latency.failed)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['degraded'],
        message: `must be below latency.failed ({{failed}}), got ${GOT}`,
        input: latency.degraded,
        params: { failed: new Verbatim(latency.failed) },
      });
    }
  }, whenValid)
  .describe(
    "Two-level latency thresholds (Checkly's degradedResponseTime / maxResponseTime); `auto` levels (or `adaptive`) follow the model version's own latency.",
  );

/** What a check expects of an answer. */
export const expectSchema = z
  .strictObject({
    status: z
      .array(statusEntry)
      .min(1)
      .optional()
      .describe(
        'Accepted statuses: codes or classes like "2xx". Default 2xx; 200–399 for liveness (Kubernetes).',
      ),
    latency: latencySchema.optional(),
    ttft: twoLevelSchema('ttft', ['500ms', '2s'])
      .optional()
      .describe(
        'Streamed LLM answers: time to first token (reasoning tokens count), two levels; no token by failed ends the stream (STREAM_STALLED).',
      ),
    maxTokenGap: twoLevelSchema('maxTokenGap', ['500ms', '2s'])
      .optional()
      .describe(
        'Streamed LLM answers: the largest gap between two tokens, two levels; a gap reaching failed ends the stream (STREAM_STALLED).',
      ),
    minTokensPerSecond: tokensPerSecondSchema.optional(),
    outputs: z
      .record(z.string().min(1), operatorsSchema)
      .optional()
      .describe('Operators over normalised model outputs, by output name.'),
    assertions: z.array(assertionSchema).optional().describe('JSONPath assertions over the probe document.'),
    schema: z
      .union([z.string().min(1), jsonObject, z.boolean()], {
        error: requiredOr(`expected a file path, a JSON Schema object or a boolean, got ${GOT}`),
      })
      .optional()
      .describe(
        "JSON Schema (draft 2020-12) for the whole body: inline, or a JSON file's path relative to the config file.",
      ),
    body: z
      .strictObject({
        contains: z.string().optional().describe('The raw body contains this text.'),
        notContains: z.string().optional().describe('The raw body does not contain this text.'),
        matches: regexSchema.optional(),
      })
      .optional()
      .describe('Checks on the raw body text.'),
  })
  .meta({ id: 'Expect', description: 'What the answer must look like; every key optional.' });

// ---------------------------------------------------------------------------------------------
// Checks

export const checkShape = {
  ...timingShape,
  ...regionsShape,
  expect: expectSchema.optional(),
  extract: extractSchema.optional(),
  actions: actionsSchema.optional().describe("Recovery actions of this check (instead of its target's)."),
  latencyHistogram: z
    .boolean({ error: `expected true or false, got ${GOT}` })
    .optional()
    .describe(
      "Opt-in: export vigil_probe_latency_seconds, a histogram of this check's probe durations with buckets at its own latency thresholds and timeout (at most 6 series; METRICS.md). Default false.",
    ),
};

const livenessShape = {
  ...checkShape,
  successThreshold: z
    .literal(1, { error: `must be 1 for liveness checks (as in Kubernetes), got ${GOT}` })
    .optional()
    .describe(
      'Always 1 for liveness (as in Kubernetes); values inherited from the target or defaults do not apply.',
    ),
};

const outcomeLevel = z.enum(['degraded', 'fail']);

const toleranceSchema = z.strictObject({
  abs: z.number().min(0).optional().describe('Absolute difference allowed per value.'),
  rel: z.number().min(0).optional().describe('Relative difference allowed per value (0.01 = 1%).'),
});

/** How text outputs are compared (canary/compare.ts `OutputRule.text`). */
const textRuleSchema = z
  .strictObject({
    mode: z
      .enum(['exact', 'normalised', 'similarity'])
      .optional()
      .describe(
        'exact: equal; normalised: equal once case, spacing and Unicode form are normalised; similarity (default): at least minSimilarity.',
      ),
    minSimilarity: z
      .number()
      .min(0)
      .max(1)
      .optional()
      .describe(
        'Least similarity with the baseline answer (0–1). Default min(0.9, the lowest similarity among the recorded repeats).',
      ),
  })
  .describe('How text outputs (LLM answers) are compared with the baseline.');

const minOverlapSchema = z
  .number()
  .min(0)
  .max(1)
  .describe(
    'Least overlap of a top-k output with the baseline row (0–1). Default: the lowest overlap among the recorded repeats.',
  );

export const canaryShape = {
  baseline: z
    .string({ error: `expected a file path, got ${GOT}` })
    .min(1)
    .optional()
    .describe(
      "A reviewed baseline file (written by `vigil baseline record`), relative to the config file: imported into the store when the config loads. Omitted: the store's baseline for the model version.",
    ),
  maxCasesPerRun: z
    .int()
    .min(1)
    .optional()
    .describe(
      'Cases sent per run (default 16); a larger set rotates, every case sent within ceil(n / maxCasesPerRun) runs.',
    ),
  tolerance: toleranceSchema
    .optional()
    .describe(
      "Allowed difference of every number from the baseline. Default: derived from the baseline's recorded spread, with a float32 floor.",
    ),
  text: textRuleSchema.optional(),
  minOverlap: minOverlapSchema.optional(),
  outputs: z
    .record(
      z.string().min(1),
      z.strictObject({
        tolerance: toleranceSchema.optional().describe("Allowed difference of this output's numbers."),
        text: textRuleSchema.optional(),
        minOverlap: minOverlapSchema.optional(),
      }),
    )
    .optional()
    .describe('Rules for one output by name (e.g. text: { text: { mode: exact } }), over the rules above.'),
  autoBaseline: z
    .union([
      z.boolean(),
      z.strictObject({
        runs: z
          .int()
          .min(1)
          .optional()
          .describe('Healthy runs recorded. Default repeats × ceil(n / maxCasesPerRun).'),
        repeats: z.int().min(1).optional().describe('Answers per case. Default 3.'),
      }),
    ])
    .optional()
    .describe(
      'A model version without a baseline gets a provisional one from its first healthy runs (promote it with `vigil baseline promote`). Default false: it is reported as having no baseline.',
    ),
  maxLabelFlipShare: z
    .number()
    .min(0)
    .max(1)
    .optional()
    .describe('More than this share of compared labels flipped is a corrupt answer. Default 0.5.'),
  outcomes: z
    .strictObject({
      drift: outcomeLevel.optional().describe('Default degraded (a warning).'),
      corrupt: outcomeLevel.optional().describe('Default fail (critical).'),
    })
    .optional()
    .describe(
      'What drift beyond tolerance and corrupt answers (non-finite, labels swapped, all identical) make a run.',
    ),
};

/**
 * A metrics check's own keys (`checks.metrics`): a preset of a server family and/or rules, where the
 * exposition is (`path`, `url` for another port). Protocol-independent: every protocol's metrics check
 * is this one schema. No `expect`: the rules are its assertions.
 */
export const metricsShape = {
  ...timingShape,
  actions: checkShape.actions,
  preset: z
    .enum(METRICS_PRESET_NAMES, {
      error: (issue) => {
        const hint = typeof issue.input === 'string' ? closest(issue.input, METRICS_PRESET_NAMES) : undefined;
        return `expected one of ${METRICS_PRESET_NAMES.join(', ')}, got ${GOT}${hint === undefined ? '' : `; did you mean "${hint}"?`}`;
      },
    })
    .optional()
    .describe(
      "A server family's metrics and default bounds (the presets of METRICS-PRESETS.md). Rules of the same metric and labels replace the preset's.",
    ),
  path: z
    .string({ error: `expected a path like "/metrics", got ${GOT}` })
    .regex(/^\/[^\s?#]*$/, { error: `expected a path that starts with "/" (no query), got ${GOT}` })
    .optional()
    .describe('Path of the exposition. Default "/metrics".'),
  url: baseUrl(
    'Base URL of the exposition when the server serves it on another port, e.g. "http://127.0.0.1:8002". Default: the target\'s url.',
  ).optional(),
  rules: z
    .array(metricRuleSchema, { error: requiredOr(`expected a list of rules, got ${GOT}`) })
    .min(1, { error: 'needs at least one rule (or omit rules and name a preset)' })
    .optional()
    .describe("Assertions over the exposition, added to the preset's (same metric and labels: replaced)."),
};

/** A metrics check needs a preset or rules; a rule appears once. */
function metricsNeedsRules(check: { preset?: unknown; rules?: unknown }, ctx: z.RefinementCtx): void {
  if (check.preset === undefined && check.rules === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `needs preset (${METRICS_PRESET_NAMES.join(', ')}) or rules, or both`,
    });
    return;
  }
  if (!Array.isArray(check.rules)) return;
  const seen = new Map<string, number>();
  check.rules.forEach((rule: unknown, index: number) => {
    if (
      rule === null ||
      typeof rule !== 'object' ||
      typeof (rule as { metric?: unknown }).metric !== 'string'
    )
      return;
    const key = ruleKey(rule as { metric: string; labels?: Record<string, string> });
    const first = seen.get(key);
    if (first === undefined) seen.set(key, index);
    else
      ctx.addIssue({
        code: 'custom',
        path: ['rules', index, 'metric'],
        message: `duplicate rule: rules[${first}] selects the same metric and labels`,
      });
  });
}

const metricsCheckSchema = z.strictObject(metricsShape).superRefine(metricsNeedsRules, everyTime).meta({
  id: 'MetricsCheck',
  description:
    "The model server's own Prometheus metrics (queue depth, KV-cache use, error rates), judged by rules. Omit to not run.",
});

/** A canary's `cases`: a JSONL file's path, or inline cases with requests of the protocol's shape. */
function casesSchema(request: z.ZodType | undefined) {
  return z
    .union(
      [
        z.string().min(1),
        z.array(z.strictObject({ id: z.string().min(1).max(200), request: request ?? z.unknown() })).min(1),
      ],
      { error: requiredOr(`expected a JSONL file path or a list of {id, request}, got ${GOT}`) },
    )
    .optional()
    .describe(
      'The golden set: a JSONL file of {"id", "request"} lines (relative to the config file), or a list of {id, request}. Omitted: `request` is the one case.',
    );
}

/** A canary needs cases or a request. */
function canaryNeedsCases(check: { cases?: unknown; request?: unknown }, ctx: z.RefinementCtx): void {
  if (check.cases === undefined && check.request === undefined)
    ctx.addIssue({
      code: 'custom',
      message: 'needs cases (the golden set) or request (one case)',
      path: ['cases'],
    });
}

const KIND_DESCRIPTIONS = {
  liveness: 'Is the server process alive? Omit to not run; {} runs it with defaults.',
  readiness: 'Is the model loaded and ready for traffic? Omit to not run; {} runs it with defaults.',
  integrity: 'A smoke inference whose answer is validated. Omit to not run.',
  canary: 'Known edge-case inputs compared with a recorded baseline. Omit to not run.',
  metrics: "The model server's own Prometheus metrics, judged by rules. Omit to not run.",
} as const;

/** Each kind's keys, before its protocol adds its own. */
const KIND_SHAPES = {
  liveness: livenessShape,
  readiness: checkShape,
  integrity: checkShape,
  canary: { ...checkShape, ...canaryShape },
  metrics: metricsShape,
} as const;

const KIND_IDS = {
  liveness: 'Liveness',
  readiness: 'Readiness',
  integrity: 'Integrity',
  canary: 'Canary',
  metrics: 'Metrics',
} as const;

/**
 * A parsed check block of any kind and protocol: its kind's keys (canary adds baseline and tolerance),
 * and what its protocol adds (`request`, options such as TF Serving's `method`).
 */
export type CheckSpec = z.output<z.ZodObject<typeof checkShape>> &
  Partial<z.output<z.ZodObject<typeof canaryShape>>> &
  Partial<z.output<z.ZodObject<typeof metricsShape>>> & {
    readonly request?: unknown;
    /** Canary: a JSONL file (a path until the loader reads it) or inline cases. */
    cases?: string | Array<{ id: string; request: unknown }>;
    readonly [option: string]: unknown;
  };
/** A check block as written. */
export type CheckSpecInput = z.input<z.ZodObject<typeof checkShape>> &
  Partial<z.input<z.ZodObject<typeof canaryShape>>> &
  Partial<z.input<z.ZodObject<typeof metricsShape>>> & {
    readonly request?: unknown;
    readonly [option: string]: unknown;
  };
type CheckSchema = z.ZodType<CheckSpec, CheckSpecInput>;

/** A kind's schema for every protocol that adds nothing to it: one schema, so one `$defs` entry. */
const sharedChecks = new Map<ProbeKind, CheckSchema>();

function sharedCheck(kind: ProbeKind): CheckSchema {
  let schema = sharedChecks.get(kind);
  if (schema === undefined) {
    schema = z
      .strictObject(KIND_SHAPES[kind])
      .meta({ id: `${KIND_IDS[kind]}Check`, description: KIND_DESCRIPTIONS[kind] });
    sharedChecks.set(kind, schema);
  }
  return schema;
}

/**
 * A protocol's check of one kind: the kind's keys, then the protocol's options for it and its `request`
 * (if this kind carries one), then the protocol's rules across them. Named `<Protocol><Kind>Check` in the
 * JSON Schema (`OipV2IntegrityCheck`).
 */
function checkSchema(plugin: ProtocolPlugin, kind: ProbeKind): CheckSchema {
  // The server's own metrics: the same check for every protocol.
  if (kind === 'metrics') return metricsCheckSchema as unknown as CheckSchema;
  const options = plugin.checkOptions[kind];
  const request = plugin.request?.kinds.includes(kind) ? plugin.request.schema : undefined;
  if (kind === 'canary') {
    // A canary sends its golden set; `request` alone is a set of one.
    const shared = options === undefined && request === undefined;
    const cached = shared ? sharedChecks.get(kind) : undefined;
    if (cached !== undefined) return cached;
    const object = z.strictObject({
      ...KIND_SHAPES[kind],
      ...options?.shape,
      cases: casesSchema(request),
      ...(request !== undefined && { request: request.optional() }),
    });
    const refine = options?.refine;
    const schema = object
      .superRefine((check, ctx) => {
        canaryNeedsCases(check, ctx);
        refine?.(check, ctx);
      })
      .meta({
        id: `${shared ? '' : schemaIdOf(plugin.name)}${KIND_IDS[kind]}Check`,
        description: KIND_DESCRIPTIONS[kind],
      }) as unknown as CheckSchema;
    if (shared) sharedChecks.set(kind, schema);
    return schema;
  }
  if (options === undefined && request === undefined) return sharedCheck(kind);
  const object = z.strictObject({
    ...KIND_SHAPES[kind],
    ...options?.shape,
    ...(request !== undefined && { request }),
  });
  const refine = options?.refine;
  return (refine === undefined ? object : object.superRefine(refine)).meta({
    id: `${schemaIdOf(plugin.name)}${KIND_IDS[kind]}Check`,
    description: KIND_DESCRIPTIONS[kind],
  });
}

/** `my-api-v2` → `MyApiV2`: a protocol's name as a JSON Schema id stem (`MyApiV2IntegrityCheck`). */
function schemaIdOf(name: string): string {
  return name
    .split(/[^A-Za-z0-9]+/)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

const noChecks = `needs at least one check: ${CHECK_KINDS.join(', ')} (omit checks for liveness and readiness)`;

/** A target's `checks`: each kind optional; at least one. Omitted entirely, it runs the protocol's defaults. */
function checksSchema(plugin: ProtocolPlugin) {
  const omitted = Object.fromEntries(plugin.defaultChecks.map((kind) => [kind, {}]));
  return z
    .strictObject({
      liveness: checkSchema(plugin, 'liveness').optional(),
      readiness: checkSchema(plugin, 'readiness').optional(),
      integrity: checkSchema(plugin, 'integrity').optional(),
      canary: checkSchema(plugin, 'canary').optional(),
      metrics: checkSchema(plugin, 'metrics').optional(),
    })
    .superRefine((checks, ctx) => {
      if (Object.values(checks).every((check) => check === undefined)) {
        ctx.addIssue({ code: 'custom', message: noChecks });
      }
    })
    .prefault(omitted as never)
    .describe(`Checks to run; omitted: ${andList(plugin.defaultChecks)}.`);
}

/** `a`, `a and b`, `a, b and c`. */
function andList(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? '') : `${items.slice(0, -1).join(', ')} and ${items.at(-1)}`;
}

// ---------------------------------------------------------------------------------------------
// Targets

/** Credentials: a bearer token, or basic auth. Values are always redacted. */
export const authSchema = z
  .strictObject(
    {
      bearer: z
        .string()
        .min(1)
        .optional()
        .describe(`Token sent as "Authorization: Bearer <token>"; use "\${ENV_VAR}".`),
      basic: z
        .strictObject({
          username: z.string().min(1),
          password: z.string().describe(`Use "\${ENV_VAR}".`),
        })
        .optional()
        .describe('HTTP basic auth.'),
    },
    { error: requiredOr(`expected {bearer: "\${TOKEN}"} or {basic: {username, password}}, got ${GOT}`) },
  )
  .superRefine((auth, ctx) => {
    if (auth.bearer === undefined && auth.basic === undefined) {
      ctx.addIssue({ code: 'custom', message: 'needs bearer or basic' });
    } else if (auth.bearer !== undefined && auth.basic !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'takes bearer or basic, not both' });
    }
  })
  .transform(
    (auth): AuthConfig => (auth.basic !== undefined ? { basic: auth.basic } : { bearer: auth.bearer ?? '' }),
  )
  .meta({
    id: 'Auth',
    description: 'Credentials: {bearer} or {basic: {username, password}}; redacted in every output.',
    oneOf: [{ required: ['bearer'] }, { required: ['basic'] }],
  });

/** TLS options; files relative to the config file. */
export const tlsSchema = z
  .strictObject({
    caFile: z.string().min(1).optional().describe('CA bundle (PEM) to verify the server with.'),
    certFile: z.string().min(1).optional().describe('Client certificate (PEM), with keyFile.'),
    keyFile: z.string().min(1).optional().describe('Client key (PEM), with certFile.'),
    serverName: z.string().min(1).optional().describe('Name to verify the certificate against (SNI).'),
    insecureSkipVerify: z.boolean().optional().describe('Skip certificate verification. Never the default.'),
  })
  .superRefine((tls, ctx) => {
    if (tls.certFile !== undefined && tls.keyFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['keyFile'], message: 'required with certFile' });
    }
    if (tls.keyFile !== undefined && tls.certFile === undefined) {
      ctx.addIssue({ code: 'custom', path: ['certFile'], message: 'required with keyFile' });
    }
  }, everyTime)
  .meta({ id: 'Tls', description: "TLS options; file paths are relative to the config file's folder." });

const versionSchema = z
  .union([z.string().min(1), z.int()], {
    error: (issue) =>
      typeof issue.input === 'number'
        ? `expected a string, got ${GOT} (quote versions with a dot, like "1.10")`
        : requiredOr(`expected a version string, got ${GOT}`)(issue),
  })
  .transform(String)
  .describe('Model version; numbers are turned into strings (quote "1.10" so it stays 1.10).');

/**
 * A target's forward proxy: `http://host:port`, credentials allowed (`http://user:${PASSWORD}@…`, sent
 * as `Proxy-Authorization: Basic`). https targets go through a CONNECT tunnel (TLS end to end).
 */
const proxyUrlSchema = z
  .string({ error: requiredOr(`expected a proxy URL like "http://proxy.internal:3128", got ${GOT}`) })
  .superRefine((text, ctx) => {
    let url: URL | undefined;
    try {
      url = new URL(text);
    } catch {
      url = undefined;
    }
    const problem =
      url === undefined || url.hostname === ''
        ? 'expected a proxy URL like "http://proxy.internal:3128"'
        : url.protocol !== 'http:'
          ? `a proxy URL is http:// (https targets are tunnelled through it with CONNECT), got a ${url.protocol}// URL`
          : url.pathname !== '/' || url.search !== '' || url.hash !== ''
            ? 'a proxy URL is http://host:port, without a path, query or fragment'
            : undefined;
    // The text is not echoed: it may carry the proxy's password.
    if (problem !== undefined) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({
    description:
      "Forward proxy of this target's probes, http://[user:password@]host:port (https targets: CONNECT). Default: HTTP_PROXY / HTTPS_PROXY / NO_PROXY.",
    pattern: '^http://',
  });

/** The keys every target has; `url` takes the URLs its protocol accepts. */
function baseTargetShape(url: UrlForm) {
  return {
    name: nameSchema.describe('Unique name, used in check ids (<target>/<check>) and alerts.'),
    url: baseUrl(`Base URL of the server, e.g. "${url.example}".`, url),
    version: versionSchema.optional(),
    labels: z
      .record(
        z.string().regex(LABEL_PATTERN, { error: `expected a label name like "team", got ${GOT}` }),
        scalarString,
      )
      .optional()
      .describe('Labels for metrics and alerts, e.g. {team: risk}.'),
    headers: headerMap().optional().describe('Headers sent with every request of this target.'),
    auth: authSchema.optional(),
    tls: tlsSchema.optional(),
    proxyUrl: proxyUrlSchema.optional(),
    maxBodyBytes: wholeNumber(1, 'Response body cap in bytes.').default(1_048_576),
    maxRedirects: wholeNumber(0, 'Redirects followed before TOO_MANY_REDIRECTS.').default(5),
    budget: budgetSchema.optional(),
    actions: actionsSchema
      .optional()
      .describe('Recovery actions for every check of this target (a check may have its own instead).'),
    ...timingShape,
    ...regionsShape,
  };
}

/**
 * Help for `model`, one text for every protocol: `Model name (model id for <protocols>) as the server
 * knows it; required unless protocol is <protocols>.`, from each plugin's `modelNoun` and `model`.
 */
const MODEL_DESCRIPTION = (() => {
  const plugins = PROTOCOL_NAMES.map((name) => PROTOCOLS[name] as ProtocolPlugin);
  const byNoun = new Map<string, string[]>();
  for (const { name, modelNoun } of plugins) {
    if (modelNoun !== undefined) byNoun.set(modelNoun, [...(byNoun.get(modelNoun) ?? []), name]);
  }
  const nouns = [...byNoun].map(([noun, names]) => `${noun} for ${andList(names)}`).join('; ');
  const optional = plugins.filter((plugin) => plugin.model === 'optional').map(({ name }) => name);
  return `Model name${nouns === '' ? '' : ` (${nouns})`} as the server knows it; ${
    optional.length === 0 ? 'required' : `required unless protocol is ${optional.join(' or ')}`
  }.`;
})();

/** Model name; when `requiredFor` is given, a missing one is an error naming that protocol. */
function modelSchema(requiredFor?: string) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined && requiredFor !== undefined
          ? `required for protocol "${requiredFor}": the name of the model the server serves`
          : requiredOr(`expected a model name, got ${GOT}`)(issue),
    })
    .min(1)
    .describe(MODEL_DESCRIPTION);
}

/** One protocol's target: the common keys, `protocol`, `model`, the protocol's own options, `checks`. */
function targetOf<Name extends ProtocolName>(plugin: ProtocolPlugin<Name>) {
  // Typed optional, the union of the protocols' forms; required when parsing where the plugin says so.
  const model = (
    plugin.model === 'required' ? modelSchema(plugin.name) : modelSchema().optional()
  ) as z.ZodOptional<z.ZodString>;
  return z.strictObject({
    ...baseTargetShape(plugin.url),
    protocol: z.literal(plugin.name),
    model,
    ...plugin.targetOptions,
    checks: checksSchema(plugin),
  });
}

const [firstTarget, ...otherTargets] = PROTOCOL_NAMES.map((name) => targetOf(PROTOCOLS[name]));
if (firstTarget === undefined)
  throw new VigilError('VIGIL_ERR_PROTOCOL_DEFINITION', 'no protocol is registered');

const targetSchema = z
  .discriminatedUnion('protocol', [firstTarget, ...otherTargets], {
    error: (issue) => {
      // The declared type omits it, but a target that is not a mapping arrives here as invalid_type.
      if ((issue.code as string) === 'invalid_type')
        return `expected a mapping with name, url and protocol, got ${GOT}`;
      const protocol = (issue.input as Record<string, unknown> | undefined)?.protocol;
      if (protocol === undefined) return `required: one of ${PROTOCOL_NAMES.join(', ')}`;
      const suggestion = typeof protocol === 'string' ? closest(protocol, PROTOCOL_NAMES) : undefined;
      const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
      return `expected one of ${PROTOCOL_NAMES.join(', ')}, got ${GOT}${hint}`;
    },
  })
  .describe('One model endpoint and the checks to run on it.');

// ---------------------------------------------------------------------------------------------
// Unknown keys that belong to a protocol

/**
 * Hints for keys that belong to some protocol, met where they do not: each protocol's target and check
 * options (`<key> is only for protocol "<name>"`), `request` (which checks carry one), and
 * what each plugin words itself (its `misplacedKeyHints`, which win).
 */
const PROTOCOL_KEY_HINTS: Readonly<Record<string, string>> = (() => {
  const plugins = PROTOCOL_NAMES.map((name) => PROTOCOLS[name] as ProtocolPlugin);
  const owners = new Map<string, string[]>();
  const own = (key: string, owner: string) => owners.set(key, [...(owners.get(key) ?? []), owner]);
  for (const plugin of plugins) {
    for (const key of Object.keys(plugin.targetOptions)) own(key, `protocol "${plugin.name}"`);
    for (const kind of CHECK_KINDS) {
      for (const key of Object.keys(plugin.checkOptions[kind]?.shape ?? {})) {
        own(key, `${plugin.name} ${kind} checks`);
      }
    }
  }
  const hints: Record<string, string> = {};
  for (const [key, where] of owners) hints[key] = `${key} is only for ${where.join(' or ')}`;
  const wider = plugins.flatMap(({ name, request }) => {
    const extra = CHECK_KINDS.filter(
      (kind) => request?.kinds.includes(kind) && !DEFAULT_REQUEST_KINDS.includes(kind),
    );
    if (extra.length === 0) return [];
    // A metrics check carries no request whatever the protocol: "any check" is every other kind.
    const carriers = CHECK_KINDS.filter((kind) => kind !== 'metrics');
    const which = carriers.every((kind) => request?.kinds.includes(kind))
      ? 'any check'
      : `${andList(extra)} checks`;
    return [`and for ${which} of protocol "${name}"`];
  });
  hints.request = `request is only for ${andList(DEFAULT_REQUEST_KINDS)} checks${
    wider.length === 0 ? '' : ` (${wider.join('; ')})`
  }`;
  for (const plugin of plugins) Object.assign(hints, plugin.misplacedKeyHints);
  return hints;
})();

/**
 * The error map to parse a config with (`configSchema.safeParse(tree, {error: configErrorMap})`): the
 * wording of diagnostics/messages.ts, with the protocols' unknown-key hints.
 */
export const configErrorMap = createHumanErrorMap(PROTOCOL_KEY_HINTS);

// ---------------------------------------------------------------------------------------------
// The whole file

/**
 * Series labels `/metrics` never takes from a target's labels: its own (per-check and hub-wide series),
 * Prometheus' scrape labels (`job`, `instance`) and the histogram's and summaries' (`le`, `quantile`).
 */
export const RESERVED_METRIC_LABELS: readonly string[] = [
  'target',
  'check',
  'region',
  'state',
  'phase',
  'code',
  'to',
  'level',
  'model',
  'action',
  'result',
  'job',
  'instance',
  'le',
  'quantile',
];

const metricLabelEntry = z
  .union([
    z.string({ error: `expected a label name like "team", got ${GOT}` }),
    z.strictObject({
      from: z.string({ error: `expected a target label name like "team", got ${GOT}` }),
      to: z.string({ error: `expected a series label name like "team", got ${GOT}` }),
    }),
  ])
  .transform((entry) => (typeof entry === 'string' ? { from: entry, to: entry } : entry));

/** `metrics:` — what the hub's `/metrics` adds to Vigil's per-check series (METRICS.md, "Config labels"). */
const metricsConfigSchema = z
  .strictObject({
    labels: z
      .array(metricLabelEntry)
      .default([])
      .superRefine((entries, ctx) => {
        const seen = new Map<string, number>();
        entries.forEach((entry, i) => {
          for (const key of ['from', 'to'] as const) {
            const name = entry[key];
            if (!LABEL_PATTERN.test(name) || name.startsWith('__')) {
              ctx.addIssue({
                code: 'custom',
                path: [i, ...(entry.from === entry.to ? [] : [key])],
                message: `expected a Prometheus label name (letters, digits and "_", not starting with a digit or "__"), got ${JSON.stringify(name)}`,
              });
              return;
            }
          }
          if (RESERVED_METRIC_LABELS.includes(entry.to)) {
            ctx.addIssue({
              code: 'custom',
              path: [i, ...(entry.from === entry.to ? [] : ['to'])],
              message: `"${entry.to}" is a label Vigil's series or Prometheus already use (${RESERVED_METRIC_LABELS.join(', ')}); map it to another name: {from: ${entry.from}, to: ${entry.from}_label}`,
            });
          }
          const first = seen.get(entry.to);
          if (first !== undefined) {
            ctx.addIssue({
              code: 'custom',
              path: [i],
              message: `series label "${entry.to}" is listed twice: labels[${first}] has it too`,
            });
          } else seen.set(entry.to, i);
        });
      })
      .describe(
        "Allowlist of target labels copied onto every per-check series of /metrics: a name (team) keeps it, {from, to} renames it. Each adds bytes, not series; a target without the label gets none. Default: none (labels stay on the API's answers and alerts only).",
      ),
  })
  .describe("The hub's /metrics: config labels on its series.");

/**
 * The schema of `vigil.yaml`. Its output ({@link VigilConfig}) keeps durations as written (`"10s"`) and
 * fills in defaults: `region` "local", the `defaults` block ({@link TIMING_DEFAULTS}), per target
 * `maxBodyBytes` 1 MiB and `maxRedirects` 5, `checks` liveness and readiness (liveness only for http).
 * File paths are left as written; the loader resolves them and reads `expect.schema` files.
 *
 * Cross-field rules, checked with every other problem: at least one target unless `discovery` is
 * set; target names are unique; each check's effective
 * timeout is below its effective interval (check > target > defaults); every router's primary and
 * secondaries name targets (`config/routers.ts`).
 */
export const configSchema = z
  .strictObject({
    region: nameSchema.default('local').describe('Name of the region this instance probes from.'),
    defaults: defaultsSchema.prefault({}),
    targets: z
      .array(targetSchema, { error: requiredOr(`expected a list of targets, got ${GOT}`) })
      .describe('Model endpoints to check (may be empty when discovery finds them).'),
    alerting: alertingSchema.optional(),
    routers: routersSchema.optional(),
    agents: agentsSchema.optional(),
    discovery: discoverySchema.optional(),
    cluster: clusterSchema.optional(),
    metrics: metricsConfigSchema.optional(),
  })
  .superRefine(crossCheck, everyTime)
  .meta({ title: 'Vigil configuration (vigil.yaml)', description: 'Health checks for ML model endpoints.' });

/** `vigil.yaml` as written (durations as strings, defaults optional). */
export type VigilConfigInput = z.input<typeof configSchema>;
/** A validated config: defaults filled in, durations still strings, deeply frozen once loaded. */
export type VigilConfig = z.output<typeof configSchema>;
/** One target of a validated config, with its checks. */
export type TargetSpec = VigilConfig['targets'][number];
/** The validated `defaults` block. */
export type DefaultsSpec = VigilConfig['defaults'];
/** The validated `expect` block of a check (durations as strings; `schema` as written). */
export type ExpectSpec = z.output<typeof expectSchema>;

type Timing = Record<string, unknown>;
interface Resolved {
  text: string;
  ms: number;
  path: PropertyKey[];
  level: number;
}

/**
 * Rules across the tree. Runs even when other parts are invalid (every problem is reported at once), so
 * it reads the value defensively and skips what it cannot judge.
 */
function crossCheck(config: unknown, ctx: z.RefinementCtx): void {
  checkRouterTargets(config, ctx);
  checkRegionNames(config, ctx, CHECK_KINDS);
  if (!isRecord(config) || !Array.isArray(config.targets)) return;
  if (config.targets.length === 0 && config.discovery === undefined)
    ctx.addIssue({
      code: 'custom',
      path: ['targets'],
      message: 'needs at least one target (or a discovery: section that finds them)',
    });
  const defaults = isRecord(config.defaults) ? config.defaults : {};
  const targets: unknown[] = config.targets;

  const firstIndex = new Map<string, number>();
  targets.forEach((target, index) => {
    if (!isRecord(target) || typeof target.name !== 'string') return;
    const first = firstIndex.get(target.name);
    if (first === undefined) firstIndex.set(target.name, index);
    else {
      ctx.addIssue({
        code: 'custom',
        path: ['targets', index, 'name'],
        message: `duplicate target name ${GOT}: targets[${first}] has it too`,
        input: target.name,
      });
    }
  });

  const reported = new Set<string>();
  targets.forEach((target, index) => {
    if (!isRecord(target) || !isRecord(target.checks)) return;
    for (const kind of CHECK_KINDS) {
      const check = target.checks[kind];
      if (!isRecord(check)) continue;
      const levels: [Timing, PropertyKey[]][] = [
        [check, ['targets', index, 'checks', kind]],
        [target, ['targets', index]],
        [defaults, ['defaults']],
      ];
      const interval = resolveDuration(levels, 'interval');
      const timeout = resolveDuration(levels, 'timeout');
      if (interval === undefined || timeout === undefined || timeout.ms < interval.ms) continue;
      const key = `${formatPath(timeout.path)} ${formatPath(interval.path)}`;
      if (reported.has(key)) continue;
      reported.add(key);
      const [where, message] =
        timeout.level <= interval.level
          ? [
              timeout.path,
              `timeout {{timeout}} must be less than interval {{interval}} (${formatPath(interval.path)})`,
            ]
          : [
              interval.path,
              `interval {{interval}} must be greater than timeout {{timeout}} (${formatPath(timeout.path)})`,
            ];
      ctx.addIssue({
        code: 'custom',
        path: where,
        message,
        params: { timeout: new Verbatim(timeout.text), interval: new Verbatim(interval.text) },
      });
    }
  });
}

function resolveDuration(
  levels: [Timing, PropertyKey[]][],
  key: 'interval' | 'timeout',
): Resolved | undefined {
  for (const [level, [values, path]] of levels.entries()) {
    const text = values[key];
    if (text === undefined) continue;
    if (typeof text !== 'string' || durationProblem(text) !== undefined) return undefined;
    return { text, ms: parseDuration(text), path: [...path, key], level };
  }
  const text = TIMING_DEFAULTS[key];
  return { text, ms: parseDuration(text), path: ['defaults', key], level: levels.length - 1 };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}
