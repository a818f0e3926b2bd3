/**
 * The shapes that flow through Vigil's probe path (see DESIGN.md, "The data flow"):
 * config → plan → prober (protocol adapter + HTTP client) → assertions → ProbeResult.
 */

/**
 * The five probe kinds a target's `checks:` declares, run by the scheduler. `metrics` reads the model
 * server's own Prometheus exposition (any protocol; `probe/metrics-check.ts`).
 */
export type ProbeKind = 'liveness' | 'readiness' | 'integrity' | 'canary' | 'metrics';
export const CHECK_KINDS: readonly ProbeKind[] = ['liveness', 'readiness', 'integrity', 'canary', 'metrics'];
/**
 * A check's kind: a probe kind, or `traffic`: a router's view of one upstream's real traffic
 * (`<target>/traffic:<router>`), never probed, fed to the hub as results of source `traffic`.
 */
export type CheckKind = ProbeKind | 'traffic';

/** `pass`, `degraded` (passed but slow or drifting: warning), or `fail`. */
export type Outcome = 'pass' | 'degraded' | 'fail';

/**
 * Stable codes for probes that got no usable answer, or whose answer could not be read.
 * Classified as blackbox_exporter and curl do: the first thing that went wrong.
 */
export type ProbeErrorCode =
  | 'TIMEOUT' // the whole probe (connect, headers and body) exceeded its timeout
  | 'CONNECTION_REFUSED'
  | 'DNS' // name did not resolve
  | 'TLS' // handshake or certificate verification failed
  | 'CONNECTION_RESET' // peer reset or closed the connection mid-exchange
  | 'BODY_TOO_LARGE' // body exceeded the cap (default 1 MiB); reading stopped at the cap
  | 'INVALID_JSON'
  | 'NON_FINITE_NUMBER' // body contains bare NaN / Infinity / -Infinity tokens
  | 'TOO_DEEP' // body nests arrays/objects deeper than MAX_JSON_DEPTH (64)
  | 'UNEXPECTED_STATUS'
  | 'TOO_MANY_REDIRECTS'
  | 'PROTOCOL' // the server answered, but not in the shape its protocol defines
  | 'NETWORK' // any other socket error
  | 'INTERNAL'; // Vigil failed while judging the answer (a bug: the message says what; the check fails, nothing else)

/**
 * A probe error code that a protocol plugin adds to {@link ProbeErrorCode} (declared in its
 * `errorCodes` and documented in ERRORS.md): UPPER_SNAKE like the core codes.
 */
export type ProtocolErrorCode = Uppercase<string>;

/** Time spent in each phase of one HTTP exchange, in milliseconds (blackbox_exporter's phases). */
export interface PhaseTimings {
  /** Name resolution; 0 for an IP literal or a reused connection. */
  dnsMs: number;
  /** TCP connect; 0 for a reused keep-alive connection. */
  connectMs: number;
  /** TLS handshake; 0 for plain HTTP or a reused connection. */
  tlsMs: number;
  /** From request sent to the first byte of the response (server processing, TTFB). */
  processingMs: number;
  /** From the first to the last byte of the response body. */
  transferMs: number;
}

/** One failed assertion, with what was expected and what was seen. */
export interface AssertionFailure {
  /** Assertion kind: `status`, `latency`, `outputs`, `jsonpath`, `schema`, `body`, `declared-outputs`, … */
  assertion: string;
  /** Selector the assertion ran on, e.g. `outputs.probability[0]` or `$.outputs[0].data`. */
  selector?: string;
  /** Operator, e.g. `range`, `notIn`, `le`. */
  operator?: string;
  expected: unknown;
  actual: unknown;
  /** One line for people, e.g. `outputs.probability[0] (1.73) not in [0, 1]`. */
  message: string;
}

/**
 * What a streamed answer (server-sent events, NDJSON) looked like over time. A "token" is one chunk
 * that carried generated text or reasoning (vLLM's `reasoning_content`, Ollama's `thinking`): servers
 * send one token per chunk; a chunk that carries several counts once for the gaps.
 */
export interface StreamTimings {
  /** From the request's start (connection included) to the first token, ms; null when none came. */
  ttftMs: number | null;
  /** The largest gap between two consecutive tokens, ms; 0 with fewer than two. */
  maxTokenGapMs: number;
  /** Tokens generated: the server's own count (`usage.completion_tokens`, `eval_count`) when it reports one, else the token chunks counted. */
  tokens: number;
  /** Where `tokens` came from: `usage` (the server's count) or `chunks` (counted by Vigil). */
  tokenSource: 'usage' | 'chunks';
  /**
   * Decode speed: (tokens − 1) / (last token − first token), per second (vLLM's benchmark's 1/TPOT);
   * null with fewer than two tokens or no time between the first and the last.
   */
  tokensPerSecond: number | null;
  /** From the request's start to the end of the stream (or where reading stopped), ms. */
  totalMs: number;
}

/** The result of one probe: one execution of one check. */
export interface ProbeResult {
  /** `<target>/<check>`, e.g. `credit-scorer/integrity`. */
  checkId: string;
  target: string;
  check: CheckKind;
  region: string;
  /** Wall-clock start, milliseconds since the Unix epoch. */
  startedAt: number;
  /** Total duration of the probe (all its HTTP exchanges), in milliseconds. */
  durationMs: number;
  /** Phases of the probe's main HTTP exchange (the inference call for integrity). */
  phases: PhaseTimings;
  outcome: Outcome;
  httpStatus?: number;
  failures: AssertionFailure[];
  error?: { code: ProbeErrorCode | ProtocolErrorCode; message: string };
  /** The model version the server reported, when it reports one. */
  modelVersion?: string;
  /**
   * Where the result comes from: `probe` (absent means probe) or `traffic`, a router's summary of real
   * requests to one upstream over a short window (`router/traffic.ts`).
   */
  source?: 'probe' | 'traffic';
  /**
   * Conditions the adapter saw that do not decide this check, each one sentence, e.g. that the server as
   * a whole reports not ready because another model is not (Triton's strict readiness, MLServer).
   */
  notes?: string[];
  /** A streamed answer's timings (LLM integrity probes with `stream: true`, the default LLM probe). */
  stream?: StreamTimings;
  /** What a metrics check read from the server's exposition: one reading per rule, in the rules' order. */
  readings?: SignalReading[];
}

/**
 * One server signal as a metrics check read it (`probe/metrics-check.ts`), e.g. vLLM's queue depth:
 * the rule's series selector and thresholds beside the value, so that a stored result explains itself.
 */
export interface SignalReading {
  /** The rule's series selector: `metric` or `metric{label="value",…}`. */
  name: string;
  /** `gauge`: the value now; `rate`: per-second increase since the previous probe. */
  kind: 'gauge' | 'rate';
  /** The value judged, in the metric's own unit; null when missing or, for a rate, on the first probe. */
  value: number | null;
  /** The rule's degraded threshold (value ≥ it is degraded), when it has one. */
  degraded?: number;
  /** The rule's failed threshold (value ≥ it fails), when it has one. */
  failed?: number;
}

// ---------------------------------------------------------------------------------------------
// Configuration shapes shared by the config loader (which validates them with zod), the protocol
// adapters and the assertions. Durations are resolved to milliseconds by the loader.

/** Value operators of an assertion; every given operator must hold for every selected value. */
export interface Operators {
  eq?: unknown;
  ne?: unknown;
  /** Numeric comparisons are decimal: the JSON text's decimal value, not a binary float's. */
  lt?: number | string;
  le?: number | string;
  gt?: number | string;
  ge?: number | string;
  /** Inclusive [min, max]. */
  range?: [number | string, number | string];
  in?: unknown[];
  notIn?: unknown[];
  /** true: the selection (and each selected string/array) is non-empty. */
  notEmpty?: boolean;
  /** Exact length, or bounds, of each selected string/array (or of the selection itself for a scalar path). */
  length?: number | { min?: number; max?: number };
  /** true: every selected number is finite (NaN / ±Infinity fail). */
  finite?: boolean;
  /** A regular expression (RE2 syntax: no backreferences or lookaround) each selected value's string form must match. */
  matches?: string;
  type?: 'number' | 'integer' | 'string' | 'boolean' | 'array' | 'object' | 'null';
}

/** A JSONPath (RFC 9535) assertion over the probe document `{status, headers, body, outputs, modelVersion}`. */
export interface PathAssertion extends Operators {
  path: string;
}

/** What a check expects; every field optional. */
export interface ExpectConfig {
  /** Accepted statuses: a list of codes or classes like "2xx". Default 2xx; 200–399 for liveness (Kubernetes). */
  status?: Array<number | string>;
  /** Two-level latency: at or over `degradedMs` → degraded, at or over `failedMs` → fail (Checkly's degradedResponseTime). */
  latency?: {
    degradedMs?: number;
    failedMs?: number;
    /**
     * Adaptive thresholds (`auto` levels): the levels not given above come from the model version now
     * served — its baseline's latency profile, or its own recent passing probes — as `factor × quantile`
     * (`canary/latency.ts`, `AdaptiveLatencyOptions`; defaults `DEFAULT_ADAPTIVE_LATENCY`: p99, × 1.5
     * degraded, × 2 failed, floor 20 ms, 20 samples after 5 of warm-up). The hub applies them.
     */
    adaptive?: {
      quantile?: number;
      factor?: { degraded?: number; failed?: number };
      floorMs?: number;
      minSamples?: number;
      warmup?: number;
    };
  };
  /**
   * Streamed answers (LLMs): time to first token, two levels like `latency`. A stream with no token by
   * `failedMs` is ended there (`STREAM_STALLED`). See {@link StreamTimings.ttftMs}.
   */
  ttft?: { degradedMs?: number; failedMs?: number };
  /**
   * Streamed answers: the largest gap between two tokens, two levels like `latency`. A gap reaching
   * `failedMs` ends the stream there (`STREAM_STALLED`).
   */
  maxTokenGap?: { degradedMs?: number; failedMs?: number };
  /** Streamed answers: tokens per second below `degraded` → degraded, below `failed` → fail. */
  minTokensPerSecond?: { degraded?: number; failed?: number };
  /** Shorthand for assertions over normalised outputs: `outputs.<name>` selects that output's values. */
  outputs?: Record<string, Operators>;
  assertions?: PathAssertion[];
  /** JSON Schema (draft 2020-12) for the whole response body; a path in config is loaded by the loader. */
  schema?: Record<string, unknown> | boolean;
  /** Raw body checks (plain HTTP targets). */
  body?: { contains?: string; notContains?: string; matches?: string };
}

/** TLS options for a target; file paths are resolved against the config file's folder. */
export interface TlsConfig {
  caFile?: string;
  certFile?: string;
  keyFile?: string;
  serverName?: string;
  /** Skip certificate verification. Only when asked; never the default. */
  insecureSkipVerify?: boolean;
}

/** Credentials; values normally come from `${ENV}` and are redacted in every output. */
export type AuthConfig = { bearer: string } | { basic: { username: string; password: string } };

/**
 * How much of a model's capacity probes may use (`budget:` in a target, config/budget.ts; enforced by
 * the scheduler). Rates are per second; `modelTimeShare` is a fraction of the model's time.
 */
export interface ProbeBudget {
  /** Most probes a second to the target, all its checks together. */
  probesPerSecond: number;
  /** Most of the model's time probes may take (probe latency × rate, summed over checks), 0–1. */
  modelTimeShare: number;
  /** Requests a second the model serves, when the config says. */
  capacity?: number;
}

/**
 * One model endpoint, as the adapters and the prober see it. Keys a protocol adds to its targets (its
 * plugin's `targetOptions`, validated by its schema) sit beside the common ones, as in the config file.
 */
export interface TargetConfig {
  name: string;
  /** Base URL, e.g. `http://127.0.0.1:8081` (no trailing slash). */
  url: string;
  /** A registered protocol's name (`ProtocolName` in protocols/index.ts; the config loader checks it). */
  protocol: string;
  /** Model name as the server knows it; required unless the protocol's plugin says optional. */
  model?: string;
  version?: string;
  labels: Record<string, string>;
  headers: Record<string, string>;
  auth?: AuthConfig;
  tls?: TlsConfig;
  /** Forward proxy of this target's probes (`http://host:port`); default: the environment's. */
  proxyUrl?: string;
  /** Response body cap in bytes. Default 1 MiB. */
  maxBodyBytes: number;
  /** Redirects followed before TOO_MANY_REDIRECTS. Default 5. */
  maxRedirects: number;
  /**
   * The probe budget. The config loader always sets it (defaults: config/budget.ts); a plan built
   * without one (a test, `vigil check --url`) runs unbudgeted.
   */
  budget?: ProbeBudget;
  /** A protocol's own target options, e.g. a second base URL. */
  readonly [option: string]: unknown;
}

/** Which transition a list of recovery actions answers (`onUnhealthy`, `onDegraded`, `onRecovered`). */
export type ActionEvent = 'unhealthy' | 'degraded' | 'recovered';

/**
 * One configured recovery action (a step of `onUnhealthy` etc.), as validated by its plugin's schema
 * (`src/actions/`): `kind` names the plugin, `name` the step (default `<kind>-<index>`).
 */
export interface ActionStepConfig {
  readonly kind: string;
  readonly name: string;
  /** How long to wait for the check to recover after this step before the next (escalation), ms. */
  readonly escalateAfterMs: number;
  /** The plugin's own keys, as validated. */
  readonly [option: string]: unknown;
}

/**
 * A target's or check's recovery actions with every default resolved (`src/actions/schema.ts` documents
 * each default and its source). Times in ms.
 */
export interface ActionPolicy {
  /** Whose policy: the target's name (target-level `actions`) or the check id (check-level). */
  scope: string;
  /** Where it was configured, for messages: `targets[0].actions`. */
  path: string;
  onUnhealthy: ActionStepConfig[];
  onDegraded: ActionStepConfig[];
  onRecovered: ActionStepConfig[];
  /** Runs per action per window (default 3 per hour: monit's "N restarts within M cycles"). */
  maxRuns: number;
  windowMs: number;
  /** Back-off between runs of one action: initial, doubling, capped (kubelet's CrashLoopBackOff: 10 s → 5 min). */
  backoffInitialMs: number;
  backoffMaxMs: number;
  /** After a recovery, a new unhealthy/degraded transition within this long runs no action (skipped `cooldown`, paged). */
  cooldownMs: number;
  /** Never act when fewer than this share of the group is healthy (medik8s NodeHealthCheck's 51 %). */
  minHealthy?: { group: Record<string, string>; min: { percent: number } | { count: number } };
}

/**
 * One check of one target with every default resolved: what the scheduler runs and the prober
 * executes. Intervals and timeouts in milliseconds.
 */
export interface CheckPlan {
  /** `<target>/<check>`. */
  id: string;
  target: TargetConfig;
  kind: CheckKind;
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
  /** Re-probe interval while a failure is being confirmed; null turns fast confirmation off. */
  fastIntervalMs: number | null;
  initialDelayMs: number;
  /**
   * Startup grace (the Kubernetes startup probe's meaning): a check that has never passed is not
   * declared unhealthy until this long after its first probe. 0 (the default) = no grace.
   */
  startupGraceMs?: number;
  /**
   * The smoke payload, in the protocol's own shape (its plugin's request schema): integrity and canary
   * checks, and any check of a protocol whose plugin says so.
   */
  request?: unknown;
  /** A protocol's choice of call for this check (e.g. which verb an integrity check uses), set by its plugin's plan hook. */
  method?: string;
  /** Extra named outputs picked by JSONPath from the probe document, e.g. `{probability: "$.body.score"}`. */
  extract?: Record<string, string>;
  expect: ExpectConfig;
  /** Recovery actions (`actions:` of the check, else of its target); absent when none is configured. */
  actions?: ActionPolicy;
  /** Canary only: the golden set, its rotation, the baseline and how answers are compared. */
  canary?: CanaryPlan;
  /** Metrics only: where the exposition is read and the rules judged on it. */
  metrics?: MetricsPlan;
  /**
   * Export `vigil_probe_latency_seconds` for this check (opt-in, `latencyHistogram: true`): a histogram
   * with buckets at its fixed latency thresholds and its timeout (METRICS.md).
   */
  latencyHistogram?: boolean;
  /**
   * Regions that probe this check (`regions:` of the check, else its target); absent: only the hub's
   * own region. Agents probe the others (`vigil agent`).
   */
  regions?: string[];
  /** How many failing regions make a global failure; absent: majority of those reporting. */
  quorum?: Quorum;
  /** `parallel` (absent): every region each interval; `round-robin`: one region per interval, in turn. */
  scheduling?: RegionScheduling;
}

/** One assertion over a Prometheus exposition. Bounds are upper bounds: at or over → degraded / failed. */
export interface MetricRule {
  /** Metric name as exposed, e.g. `vllm:num_requests_waiting`; `<histogram>_count` / `_sum` select a histogram's or summary's count or sum. */
  metric: string;
  /** Exact label values the series must carry; other labels are free. */
  labels?: Record<string, string>;
  /** `gauge`: the value now; `rate`: per-second increase since the previous probe (counters). */
  kind: 'gauge' | 'rate';
  /** How matching series combine: `sum` (default for rates) or `max` (default for gauges). */
  aggregate?: 'sum' | 'max';
  degraded?: number;
  failed?: number;
  /** Why the rule exists, for people (shown in failures). */
  description?: string;
}

/**
 * A metrics check's plan (`checks.metrics` in the config): its preset's rules with the config's own
 * rules merged in (a rule of the same metric and labels replaces the preset's), and where to read.
 */
export interface MetricsPlan {
  /** The server family's preset the rules started from, if any (`assertions/metrics.ts`). */
  preset?: string;
  /** Path of the exposition, relative to `baseUrl ?? target.url`. Default `/metrics`. */
  path: string;
  /** Another base URL (a separate metrics port: Triton 8002, TorchServe 8082). */
  baseUrl?: string;
  rules: MetricRule[];
}

/**
 * How many failing regions make a check's failure global (critical) rather than regional (warning):
 * `majority` of the regions reporting, `all` of them, or `count`: at least `n` (Datadog's "N of M
 * locations"; `of` is the check's number of regions).
 */
export type Quorum = { kind: 'majority' } | { kind: 'all' } | { kind: 'count'; n: number; of: number };

/** Checkly's scheduling strategies across regions. */
export type RegionScheduling = 'parallel' | 'round-robin';

/** A canary's rule for one output (or all of them): `canary/compare.ts` `OutputRule`, as the config writes it. */
export interface CanaryOutputRule {
  tolerance?: { abs?: number; rel?: number };
  text?: { mode?: 'exact' | 'normalised' | 'similarity'; minSimilarity?: number };
  minOverlap?: number;
}

/**
 * A canary check's plan (`checks.canary` in the config). Comparison and statistics are
 * `canary/compare.ts`'s; this is what the config chose.
 */
export interface CanaryPlan {
  /** The golden set, in file order: inline `cases`, a JSONL file's lines, or `request` as the one case `request`. */
  cases: ReadonlyArray<{ readonly id: string; readonly request: unknown }>;
  /** Cases sent per run; the set rotates so that every case is sent within `ceil(n / maxCasesPerRun)` runs. Default 16. */
  maxCasesPerRun: number;
  /** A baseline file (absolute), imported into the store as a reviewed baseline when the config loads. */
  baseline?: string;
  /** Hand-written tolerance for every number; absent: derived from the recorded spread (with a floor). */
  tolerance?: { abs?: number; rel?: number };
  /**
   * Records a provisional baseline for a model version that has none, from its first healthy runs:
   * `runs` = how many (default `repeats × ceil(n / maxCasesPerRun)`, every case answered `repeats`
   * times), `repeats` = answers per case (default 3).
   */
  autoBaseline?: { runs?: number; repeats?: number };
  /** How text outputs are compared (`canary/compare.ts` `OutputRule.text`); absent: its defaults. */
  text?: CanaryOutputRule['text'];
  /** Least overlap of a top-k output with the baseline row; absent: the recorded repeats' lowest. */
  minOverlap?: number;
  /** Rules for one output by name, over the rules above. */
  outputs?: Readonly<Record<string, CanaryOutputRule>>;
  /** More than this share of compared labels flipped is a corrupt answer. Default 0.5. */
  maxLabelFlipShare?: number;
  /** What drift (default `degraded`) and corrupt answers (default `fail`) make a run. */
  outcomes?: { drift?: 'degraded' | 'fail'; corrupt?: 'degraded' | 'fail' };
}

// ---------------------------------------------------------------------------------------------
// The HTTP client (src/probe/http.ts) and the protocol adapters (src/protocols).

/** One HTTP exchange to run. */
export interface HttpRequest {
  /** Absolute URL. */
  url: string;
  /** Default GET. */
  method?: string;
  /** Header names are sent as given. */
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /** Hard limit for the whole exchange: connect, headers, and a body that trickles in. */
  timeoutMs: number;
  /** Body cap in bytes; reading stops there with BODY_TOO_LARGE. Default 1 MiB. */
  maxBodyBytes?: number;
  /** Redirects followed (303 turns into GET; 307/308 keep method and body). Default 5; 0 = none. */
  maxRedirects?: number;
  /** PEM contents (not paths). */
  tls?: {
    ca?: string | Buffer;
    cert?: string | Buffer;
    key?: string | Buffer;
    serverName?: string;
    insecureSkipVerify?: boolean;
  };
  /**
   * Forward proxy, `http://[user:password@]host:port`: http requests in absolute form, https through a
   * CONNECT tunnel. Default: `HTTP_PROXY`/`HTTPS_PROXY`/`NO_PROXY` when the client reads them.
   */
  proxyUrl?: string;
  signal?: AbortSignal;
  /**
   * Called with each chunk of the final response's body as it arrives (after the cap check, so at most
   * `maxBodyBytes` in all), for readers of a stream (server-sent events, NDJSON) that time its tokens
   * and may end it early through `signal`. The chunks are still collected into `response.body`.
   */
  onBody?: (chunk: Buffer) => void;
}

/** A response that arrived (any status). Header names lower-case; repeated headers joined by ", ". */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Redirects followed to get here. */
  redirects: number;
}

/** What one exchange produced: a response, or an error with a stable code; never throws for network faults. */
export interface HttpExchange {
  response?: HttpResponse;
  error?: { code: ProbeErrorCode; message: string };
  phases: PhaseTimings;
  durationMs: number;
}

/** Runs HTTP exchanges, reusing connections per origin when keep-alive is on. */
export interface HttpClient {
  request(request: HttpRequest): Promise<HttpExchange>;
  /** Closes pooled connections. */
  close(): Promise<void>;
}

/** What assertions run on. JSONPath selectors start at this object: `$.outputs.probability[0]`, `$.body.model_name`. */
export interface ProbeDocument {
  status?: number;
  headers?: Record<string, string>;
  /** Parsed JSON body, or the text for non-JSON bodies. */
  body: unknown;
  /** Normalised outputs: output name → its values, flattened row-major. */
  outputs: Record<string, unknown[]>;
  /** Output name → shape, where the protocol reports one. */
  shapes?: Record<string, number[]>;
  modelVersion?: string;
}

/** What an adapter's check method gets: the target, and a fetch bound to it. */
export interface AdapterContext {
  target: TargetConfig;
  /**
   * Sends a request to `baseUrl ?? target.url` + `path` with the target's headers, auth, TLS, body cap
   * and redirect limit, within what is left of the probe's timeout. A non-string `body` is sent as
   * JSON with `content-type: application/json`.
   */
  fetch(request: {
    path: string;
    method?: string;
    body?: unknown;
    headers?: Record<string, string>;
    baseUrl?: string;
    /** Ends the exchange early (a stream reader that saw a stall); see {@link HttpRequest.signal}. */
    signal?: AbortSignal;
    /** Sees the body's chunks as they arrive; see {@link HttpRequest.onBody}. */
    onBody?: (chunk: Buffer) => void;
  }): Promise<HttpExchange>;
}

/** An adapter's reading of one check. */
export interface AdapterAnswer {
  /** The main exchange: the probe's status and phases come from it. */
  exchange: HttpExchange;
  /**
   * The protocol-level verdict, e.g. `{ok: false, reason: 'TorchServe /ping says "Partial Healthy"'}` or
   * `{ok: false, code: 'NON_FINITE_NUMBER', reason: …}`. Transport errors carry the exchange's code.
   */
  verdict: { ok: true } | { ok: false; reason: string; code?: ProbeErrorCode | ProtocolErrorCode };
  /** For assertions; present whenever a body was read. */
  document?: ProbeDocument;
  /** Outputs the model's metadata declares (integrity): a response missing one fails by default. */
  declaredOutputs?: string[];
  modelVersion?: string;
  /** Conditions seen that do not decide the verdict (copied to {@link ProbeResult.notes}). */
  notes?: string[];
  /** A streamed answer's timings, also when the stream failed part way (copied to {@link ProbeResult.stream}). */
  stream?: StreamTimings;
}

/**
 * One serving API at run time. A protocol's file wraps it in its plugin (protocols/plugin.ts), which
 * adds the protocol's part of the config; the registry (protocols/index.ts) lists the plugins.
 */
export interface ProtocolAdapter {
  /** The protocol's name, as in `protocol:` (its plugin's name). */
  readonly name: string;
  liveness(ctx: AdapterContext, plan: CheckPlan): Promise<AdapterAnswer>;
  readiness(ctx: AdapterContext, plan: CheckPlan): Promise<AdapterAnswer>;
  /** Sends `plan.request` (the smoke payload) and normalises the answer into `document.outputs`. */
  integrity(ctx: AdapterContext, plan: CheckPlan): Promise<AdapterAnswer>;
  /** Server and model metadata, for `vigil check --url` (a quick look without a config file). */
  metadata(ctx: AdapterContext, plan: CheckPlan): Promise<AdapterAnswer>;
}

// ---------------------------------------------------------------------------------------------
// The hub: evaluator state, transitions and incidents (src/evaluate, src/store).

/**
 * Per check and region. `pending`: a failure is being confirmed (below failureThreshold). `stale`: the
 * check's results stopped arriving (the hub's watchdog: none for two expected intervals), so Vigil no
 * longer knows its health; the state it was last known to be in is kept (`EvalState.lastKnown`).
 */
export type CheckState = 'unknown' | 'healthy' | 'pending' | 'degraded' | 'unhealthy' | 'stale';

/** Thresholds the evaluator applies; Kubernetes' names and defaults (failureThreshold 3, successThreshold 1). */
export interface Thresholds {
  failureThreshold: number;
  successThreshold: number;
  /** Consecutive degraded probes before the state becomes `degraded`. Default: failureThreshold. */
  degradedThreshold: number;
  /** Flapping: at least `flapTransitions` transitions within `flapWindowMs`. */
  flapWindowMs: number;
  flapTransitions: number;
  /**
   * Startup grace (the Kubernetes startup probe's meaning): a check that has never passed is not
   * declared unhealthy until this long after its first probe. 0 = no grace.
   */
  startupGraceMs: number;
}

/** The evaluator's memory for one (check, region): runtime state, never config. */
export interface EvalState {
  checkId: string;
  region: string;
  state: CheckState;
  /** When `state` was entered, ms since epoch. */
  since: number;
  consecutiveFailures: number;
  consecutiveSuccesses: number;
  consecutiveDegraded: number;
  /** First probe ever seen, ms since epoch (startup grace counts from here). */
  firstSeenAt: number | null;
  /** Whether any probe has ever passed (ends startup grace). */
  hasPassed: boolean;
  /** Timestamps of recent transitions, within the flap window. */
  recentTransitions: number[];
  flapping: boolean;
  /** The results of the current failing/degraded streak (bounded), cited by the next transition. */
  streak: ProbeResult[];
  lastResult: ProbeResult | null;
  /**
   * While `state` is `stale`: the state the check was in when its results stopped, and since when.
   * The next result resumes the state machine from there; absent in every other state.
   */
  lastKnown?: { state: Exclude<CheckState, 'stale'>; since: number };
}

/** A state change: an event with a timestamp, the reason, and the ProbeResults that caused it. */
export interface Transition {
  checkId: string;
  region: string;
  from: CheckState;
  to: CheckState;
  /** ms since epoch (the deciding probe's start + duration). */
  at: number;
  /** e.g. `3 consecutive failures: TIMEOUT: timed out after 2000 ms` */
  reason: string;
  results: ProbeResult[];
  /**
   * Into or out of `stale`: the state the check was last known to be in (what `from` was when it went
   * stale, or what it resumes from). Alerts and incidents look through `stale` to it: a check that was
   * unhealthy keeps its page and its incident while Vigil cannot see it. Not stored with the
   * transition (its `from` and `to` are).
   */
  lastKnown?: Exclude<CheckState, 'stale'>;
}

/** Flapping started or stopped: reported as its own condition. */
export interface FlapEvent {
  checkId: string;
  region: string;
  flapping: boolean;
  at: number;
  transitionsInWindow: number;
}

/** Opens when a check becomes unhealthy, closes when it recovers. */
export interface Incident {
  id: string;
  checkId: string;
  region: string;
  openedAt: number;
  closedAt: number | null;
  /** The transition that opened it. */
  reason: string;
}
