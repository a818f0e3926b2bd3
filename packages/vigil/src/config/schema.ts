/**
 * The zod schema of `vigil.yaml` (see DESIGN.md, "Configuration sketch"). Durations stay strings here
 * (`"10s"`), exactly as written; {@link buildPlan} turns them into milliseconds. Cross-field rules
 * (timeout below interval, unique target names) live in the root refinement so that they are reported
 * together with every other problem.
 */
import { z } from 'zod';
import { alertingSchema } from '../alerting/routing.js';
import { assertionSchema, extractSchema, operatorsSchema, regexSchema } from '../assertions/vocabulary.js';
import { DURATION_PATTERN, durationProblem, parseDuration } from '../diagnostics/duration.js';
import { GOT } from '../diagnostics/messages.js';
import { formatPath, Verbatim } from '../diagnostics/paths.js';
import { closest } from '../diagnostics/suggest.js';
import {
  everyTime,
  exactlyOne,
  headerMap,
  jsonObject,
  requiredOr,
  scalarString,
  whenValid,
} from '../schema/blocks.js';
import { baseUrl } from '../schema/url.js';
import { type AuthConfig, CHECK_KINDS, PROTOCOL_NAMES, type ProtocolName } from '../types.js';

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
  options: { allowZero?: boolean; orFalse?: boolean; id?: string } = {},
) {
  const suffix = options.orFalse === true ? ' (or false)' : '';
  return z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'required'
          : `${durationProblem(String(issue.input), example)}${suffix}, got ${GOT}`,
    })
    .superRefine((text, ctx) => {
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

const latencySchema = z
  .strictObject({
    degraded: duration('150ms', 'At or over this the probe is degraded (a warning).').optional(),
    failed: duration('180ms', 'At or over this the probe fails.').optional(),
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
        message: `must be below latency.failed ({{failed}}), got ${GOT}`,
        input: latency.degraded,
        params: { failed: new Verbatim(latency.failed) },
      });
    }
  }, whenValid)
  .describe("Two-level latency thresholds (Checkly's degradedResponseTime / maxResponseTime).");

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
// Requests (the smoke payload of integrity and canary checks), one shape per protocol

/** Tensor datatypes of the Open Inference Protocol. */
export const OIP_DATATYPES = [
  'BOOL',
  'UINT8',
  'UINT16',
  'UINT32',
  'UINT64',
  'INT8',
  'INT16',
  'INT32',
  'INT64',
  'FP16',
  'FP32',
  'FP64',
  'BYTES',
] as const;

const DATATYPE_ALIASES: Readonly<Record<string, string>> = {
  FLOAT: 'FP32',
  FLOAT16: 'FP16',
  FLOAT32: 'FP32',
  FLOAT64: 'FP64',
  DOUBLE: 'FP64',
  HALF: 'FP16',
  STRING: 'BYTES',
  STR: 'BYTES',
  BOOLEAN: 'BOOL',
  INT: 'INT64',
};

function datatypeMessage(input: unknown): string {
  if (input === undefined) return 'required';
  const text = typeof input === 'string' ? input.toUpperCase() : '';
  const suggestion = (OIP_DATATYPES as readonly string[]).includes(text) ? text : DATATYPE_ALIASES[text];
  const hint = suggestion === undefined ? '' : `; did you mean "${suggestion}"?`;
  return `expected an OIP datatype (${OIP_DATATYPES.join(', ')}), got ${GOT}${hint}`;
}

const tensorSchema = z
  .strictObject({
    name: z.string().min(1).describe('Input name, as in the model metadata.'),
    shape: z
      .array(
        z.int({ error: requiredOr(`expected a whole number, got ${GOT}`) }).min(0, {
          error: `expected a dimension size ≥ 0, got ${GOT} (a request gives actual sizes, not -1)`,
        }),
      )
      .describe('Dimensions, e.g. [1, 8].'),
    datatype: z.enum(OIP_DATATYPES, { error: (issue) => datatypeMessage(issue.input) }),
    parameters: jsonObject.optional(),
    data: z.array(z.unknown()).describe('Values, row-major, flat or nested.'),
  })
  .superRefine((tensor, ctx) => {
    const values = flatten(tensor.data, ['data']);
    const expected = tensor.shape.reduce((product, size) => product * size, 1);
    if (values.length !== expected) {
      ctx.addIssue({
        code: 'custom',
        path: ['data'],
        message: `has ${values.length} values, but shape [${tensor.shape.join(', ')}] needs ${expected}`,
      });
    }
    const bad = values.find(({ value }) => !fitsDatatype(value, tensor.datatype));
    if (bad !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: bad.path,
        message: `expected ${datatypeValue(tensor.datatype)} for datatype ${tensor.datatype}, got ${GOT}`,
        input: bad.value,
      });
    }
  }, whenValid);

function flatten(data: unknown, path: PropertyKey[]): { value: unknown; path: PropertyKey[] }[] {
  if (!Array.isArray(data)) return [{ value: data, path }];
  return data.flatMap((item, index) => flatten(item, [...path, index]));
}

function fitsDatatype(value: unknown, datatype: (typeof OIP_DATATYPES)[number]): boolean {
  if (datatype === 'BOOL') return typeof value === 'boolean';
  if (datatype === 'BYTES') return typeof value === 'string';
  if (typeof value !== 'number' || !Number.isFinite(value)) return false;
  if (datatype.startsWith('FP')) return true;
  return Number.isInteger(value) && (!datatype.startsWith('UINT') || value >= 0);
}

function datatypeValue(datatype: string): string {
  if (datatype === 'BOOL') return 'true or false';
  if (datatype === 'BYTES') return 'a string';
  if (datatype.startsWith('FP')) return 'a finite number';
  return datatype.startsWith('UINT') ? 'a whole number ≥ 0' : 'a whole number';
}

const missingRequest = (example: string) => (issue: { input: unknown }) =>
  issue.input === undefined
    ? `required: integrity and canary checks send this smoke payload, e.g. ${example}`
    : `expected a mapping like ${example}, got ${GOT}`;

/** Open Inference Protocol v2 infer request. */
const oipRequest = z
  .strictObject(
    {
      id: z.string().optional().describe('Request id, echoed by the server.'),
      parameters: jsonObject.optional(),
      inputs: z.array(tensorSchema).min(1).describe('Input tensors: {name, shape, datatype, data}.'),
      outputs: z
        .array(z.strictObject({ name: z.string().min(1), parameters: jsonObject.optional() }))
        .optional()
        .describe('Outputs to return (default: all).'),
    },
    { error: missingRequest('{inputs: [{name, shape, datatype, data}]}') },
  )
  .meta({ id: 'OipInferRequest', description: 'Open Inference Protocol v2 infer request.' });

/** KServe v1 predict request (custom predictors may take more keys). */
const kserveV1Request = z
  .looseObject(
    {
      instances: z.array(z.unknown()).optional().describe('Rows to predict.'),
      inputs: z.unknown().optional().describe('Columnar inputs.'),
    },
    { error: missingRequest('{instances: [[0.1, 0.2]]}') },
  )
  .superRefine((value, ctx) => exactlyOne(value, ['instances', 'inputs'], ctx))
  .describe('KServe v1 predict request: {instances: [...]} or {inputs: ...}.');

/** TensorFlow Serving REST request; which keys apply depends on the check's method. */
const tfservingRequest = z
  .strictObject(
    {
      signature_name: z.string().optional().describe('SignatureDef to run (default serving_default).'),
      instances: z.array(z.unknown()).optional().describe('predict: rows (row format).'),
      inputs: z.unknown().optional().describe('predict: named or unnamed inputs (columnar format).'),
      examples: z.array(jsonObject).optional().describe('classify / regress: tf.Example features.'),
      context: jsonObject.optional().describe('classify / regress: features shared by every example.'),
    },
    { error: missingRequest('{instances: [[0.1, 0.2]]}') },
  )
  .describe(
    'TensorFlow Serving request: {instances} or {inputs} for predict; {examples} for classify / regress.',
  );

function checkTfservingRequest(request: unknown, method: string, ctx: z.RefinementCtx): void {
  if (request === null || typeof request !== 'object') return;
  const value = request as Record<string, unknown>;
  const misplaced = (keys: string[], reason: string) => {
    for (const key of keys) {
      if (value[key] !== undefined) ctx.addIssue({ code: 'custom', path: ['request', key], message: reason });
    }
  };
  if (method === 'predict') {
    const present = ['instances', 'inputs'].filter((key) => value[key] !== undefined);
    if (present.length !== 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['request'],
        message:
          present.length === 0 ? 'needs "instances" or "inputs"' : 'takes "instances" or "inputs", not both',
      });
    }
    misplaced(['examples', 'context'], 'only for method classify or regress');
  } else {
    if (value.examples === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['request', 'examples'],
        message: `required for method ${method}`,
      });
    }
    misplaced(['instances', 'inputs'], 'only for method predict');
  }
}

/** TorchServe: the handler defines the body, so any JSON value. */
const torchserveRequest = z
  .unknown()
  .superRefine((value, ctx) => {
    if (value === undefined) {
      ctx.addIssue({
        code: 'custom',
        message:
          'required: integrity and canary checks send this smoke payload (any JSON your handler takes)',
      });
    } else if (value === null) {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON payload, got an empty value' });
    }
  }, everyTime)
  .describe('TorchServe prediction body: any JSON the handler accepts.');

/** OpenAI-compatible completions (prompt) or chat completions (messages), with any other options. */
const openaiRequest = z
  .looseObject(
    {
      prompt: z.string().optional().describe('Completions prompt (POST /v1/completions).'),
      messages: z
        .array(z.looseObject({ role: z.string(), content: z.unknown() }))
        .min(1)
        .optional()
        .describe('Chat messages (POST /v1/chat/completions).'),
    },
    { error: missingRequest('{prompt: "2+2=", max_tokens: 1}') },
  )
  .superRefine((value, ctx) => exactlyOne(value, ['prompt', 'messages'], ctx))
  .describe(
    'OpenAI request body without model (taken from the target): {prompt} or {messages}, plus options.',
  );

/** Ollama generate request. */
const ollamaRequest = z
  .looseObject(
    {
      prompt: z
        .string({ error: requiredOr(`expected a string, got ${GOT}`) })
        .describe('Prompt for /api/generate.'),
      stream: z.boolean().optional().describe('false for one JSON answer instead of NDJSON.'),
    },
    { error: missingRequest('{prompt: "2+2=", stream: false}') },
  )
  .describe('Ollama /api/generate body without model (taken from the target): {prompt}, plus options.');

/** A plain HTTP request for protocol `http`. */
export const httpRequestSchema = z
  .strictObject({
    method: z
      .string()
      .regex(/^[A-Za-z]+$/, { error: `expected an HTTP method like "GET", got ${GOT}` })
      .transform((method) => method.toUpperCase())
      .optional()
      .describe('HTTP method; default GET.'),
    path: z
      .string()
      .startsWith('/', { error: `expected a path starting with "/", like "/health", got ${GOT}` })
      .optional()
      .describe('Path and query relative to the target URL; default "/".'),
    headers: headerMap().optional().describe('Extra request headers.'),
    body: z.unknown().optional().describe('Request body: a string is sent as is, anything else as JSON.'),
  })
  .meta({ id: 'HttpRequest', description: 'Request for protocol http; default GET /.' });

// ---------------------------------------------------------------------------------------------
// Checks

const checkShape = {
  ...timingShape,
  expect: expectSchema.optional(),
  extract: extractSchema.optional(),
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

const canaryShape = {
  baseline: z
    .string({
      error: (issue) =>
        issue.input === undefined
          ? 'required: the baseline file recorded from a known-good model version'
          : `expected a file path, got ${GOT}`,
    })
    .min(1)
    .describe("Baseline file (a known-good version's outputs), relative to the config file."),
  tolerance: z
    .strictObject({
      abs: z.number().min(0).optional().describe('Absolute difference allowed per value.'),
      rel: z.number().min(0).optional().describe('Relative difference allowed per value (0.01 = 1%).'),
    })
    .prefault({})
    .describe('Allowed difference from the baseline; none given means values must match exactly.'),
};

const KIND_DESCRIPTIONS = {
  liveness: 'Is the server process alive? Omit to not run; {} runs it with defaults.',
  readiness: 'Is the model loaded and ready for traffic? Omit to not run; {} runs it with defaults.',
  integrity: 'A smoke inference whose answer is validated. Omit to not run.',
  canary: 'Known edge-case inputs compared with a recorded baseline. Omit to not run.',
} as const;

const livenessCheck = z
  .strictObject(livenessShape)
  .meta({ id: 'LivenessCheck', description: KIND_DESCRIPTIONS.liveness });
const readinessCheck = z
  .strictObject(checkShape)
  .meta({ id: 'ReadinessCheck', description: KIND_DESCRIPTIONS.readiness });

/** Integrity and canary checks of a protocol whose smoke payload is `request`; `id` names them in the JSON Schema. */
function payloadChecks<R extends z.ZodType>(id: string, request: R) {
  return {
    integrity: z
      .strictObject({ ...checkShape, request })
      .meta({ id: `${id}IntegrityCheck`, description: KIND_DESCRIPTIONS.integrity }),
    canary: z
      .strictObject({ ...checkShape, ...canaryShape, request })
      .meta({ id: `${id}CanaryCheck`, description: KIND_DESCRIPTIONS.canary }),
  };
}

const noChecks = `needs at least one check: ${CHECK_KINDS.join(', ')} (omit checks for liveness and readiness)`;

/**
 * A target's `checks`: each kind optional; at least one. Omitted entirely, it runs `omitted`
 * (liveness and readiness, which need no payload).
 */
function checksSchema<L extends z.ZodType, R extends z.ZodType, I extends z.ZodType, C extends z.ZodType>(
  kinds: { liveness: L; readiness: R; integrity: I; canary: C },
  omitted: 'liveness' | 'liveness and readiness',
) {
  return z
    .strictObject({
      liveness: kinds.liveness.optional(),
      readiness: kinds.readiness.optional(),
      integrity: kinds.integrity.optional(),
      canary: kinds.canary.optional(),
    })
    .superRefine((checks, ctx) => {
      if (Object.values(checks).every((check) => check === undefined)) {
        ctx.addIssue({ code: 'custom', message: noChecks });
      }
    })
    .prefault((omitted === 'liveness' ? { liveness: {} } : { liveness: {}, readiness: {} }) as never)
    .describe(`Checks to run; omitted: ${omitted}.`);
}

const modelChecks = <R extends z.ZodType>(id: string, request: R) =>
  checksSchema(
    { liveness: livenessCheck, readiness: readinessCheck, ...payloadChecks(id, request) },
    'liveness and readiness',
  );

const tfservingMethod = z
  .enum(['predict', 'classify', 'regress'])
  .optional()
  .describe('TensorFlow Serving verb; default predict.');

/** TensorFlow Serving: integrity may pick the verb, and the verb decides the request's keys. */
const tfservingChecks = checksSchema(
  {
    liveness: livenessCheck,
    readiness: readinessCheck,
    integrity: z
      .strictObject({ ...checkShape, method: tfservingMethod, request: tfservingRequest })
      .superRefine((check, ctx) => checkTfservingRequest(check.request, check.method ?? 'predict', ctx))
      .meta({ id: 'TfservingIntegrityCheck', description: KIND_DESCRIPTIONS.integrity }),
    canary: z
      .strictObject({ ...checkShape, ...canaryShape, request: tfservingRequest })
      .superRefine((check, ctx) => checkTfservingRequest(check.request, 'predict', ctx))
      .meta({ id: 'TfservingCanaryCheck', description: KIND_DESCRIPTIONS.canary }),
  },
  'liveness and readiness',
);

/** Plain HTTP: any check may send its own request (default GET /). */
const httpRequestShape = { request: httpRequestSchema.optional() };
const httpChecks = checksSchema(
  {
    liveness: z
      .strictObject({ ...livenessShape, ...httpRequestShape })
      .meta({ id: 'HttpLivenessCheck', description: KIND_DESCRIPTIONS.liveness }),
    readiness: z
      .strictObject({ ...checkShape, ...httpRequestShape })
      .meta({ id: 'HttpReadinessCheck', description: KIND_DESCRIPTIONS.readiness }),
    integrity: z
      .strictObject({ ...checkShape, ...httpRequestShape })
      .meta({ id: 'HttpIntegrityCheck', description: KIND_DESCRIPTIONS.integrity }),
    canary: z
      .strictObject({ ...checkShape, ...canaryShape, ...httpRequestShape })
      .meta({ id: 'HttpCanaryCheck', description: KIND_DESCRIPTIONS.canary }),
  },
  'liveness',
);

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

const baseTargetShape = {
  name: nameSchema.describe('Unique name, used in check ids (<target>/<check>) and alerts.'),
  url: baseUrl('Base URL of the server, e.g. "http://127.0.0.1:8081".'),
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
  maxBodyBytes: wholeNumber(1, 'Response body cap in bytes.').default(1_048_576),
  maxRedirects: wholeNumber(0, 'Redirects followed before TOO_MANY_REDIRECTS.').default(5),
  ...timingShape,
};

/** Model name; required (with a message naming the protocol) unless the protocol is http. */
function modelSchema(requiredFor?: ProtocolName) {
  return z
    .string({
      error: (issue) =>
        issue.input === undefined && requiredFor !== undefined
          ? `required for protocol "${requiredFor}": the name of the model the server serves`
          : requiredOr(`expected a model name, got ${GOT}`)(issue),
    })
    .min(1)
    .describe(
      'Model name (model id for openai and ollama) as the server knows it; required unless protocol is http.',
    );
}

const oipTarget = z.strictObject({
  ...baseTargetShape,
  protocol: z.literal('oip-v2'),
  model: modelSchema('oip-v2'),
  checks: modelChecks('OipV2', oipRequest),
});
const kserveV1Target = z.strictObject({
  ...baseTargetShape,
  protocol: z.literal('kserve-v1'),
  model: modelSchema('kserve-v1'),
  checks: modelChecks('KserveV1', kserveV1Request),
});
const torchserveTarget = z.strictObject({
  ...baseTargetShape,
  protocol: z.literal('torchserve'),
  model: modelSchema('torchserve'),
  managementUrl: baseUrl('TorchServe management API base URL (default: url with port 8081).').optional(),
  checks: modelChecks('Torchserve', torchserveRequest),
});
const tfservingTarget = z.strictObject({
  ...baseTargetShape,
  protocol: z.literal('tfserving'),
  model: modelSchema('tfserving'),
  checks: tfservingChecks,
});
const openaiTarget = z.strictObject({
  ...baseTargetShape,
  protocol: z.literal('openai'),
  model: modelSchema('openai'),
  checks: modelChecks('Openai', openaiRequest),
});
const ollamaTarget = z.strictObject({
  ...baseTargetShape,
  protocol: z.literal('ollama'),
  model: modelSchema('ollama'),
  checks: modelChecks('Ollama', ollamaRequest),
});
const httpTarget = z.strictObject({
  ...baseTargetShape,
  protocol: z.literal('http'),
  model: modelSchema().optional(),
  checks: httpChecks,
});

const targetSchema = z
  .discriminatedUnion(
    'protocol',
    [oipTarget, kserveV1Target, torchserveTarget, tfservingTarget, openaiTarget, ollamaTarget, httpTarget],
    {
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
    },
  )
  .describe('One model endpoint and the checks to run on it.');

// ---------------------------------------------------------------------------------------------
// The whole file

/**
 * The schema of `vigil.yaml`. Its output ({@link VigilConfig}) keeps durations as written (`"10s"`) and
 * fills in defaults: `region` "local", the `defaults` block ({@link TIMING_DEFAULTS}), per target
 * `maxBodyBytes` 1 MiB and `maxRedirects` 5, `checks` liveness and readiness (liveness only for http).
 * File paths are left as written; the loader resolves them and reads `expect.schema` files.
 *
 * Cross-field rules, checked with every other problem: target names are unique; each check's effective
 * timeout is below its effective interval (check > target > defaults).
 */
export const configSchema = z
  .strictObject({
    region: nameSchema.default('local').describe('Name of the region this instance probes from.'),
    defaults: defaultsSchema.prefault({}),
    targets: z
      .array(targetSchema, { error: requiredOr(`expected a list of targets, got ${GOT}`) })
      .min(1, { error: 'needs at least one target' })
      .describe('Model endpoints to check.'),
    alerting: alertingSchema.optional(),
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
  if (!isRecord(config) || !Array.isArray(config.targets)) return;
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
