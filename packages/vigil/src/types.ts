/**
 * The shapes that flow through Vigil's probe path (see DESIGN.md, "The data flow"):
 * config → plan → prober (protocol adapter + HTTP client) → assertions → ProbeResult.
 */

/** The four probe kinds. */
export type CheckKind = 'liveness' | 'readiness' | 'integrity' | 'canary';
export const CHECK_KINDS: readonly CheckKind[] = ['liveness', 'readiness', 'integrity', 'canary'];

/** Serving APIs Vigil speaks; one adapter each in src/protocols. */
export type ProtocolName = 'oip-v2' | 'kserve-v1' | 'torchserve' | 'tfserving' | 'openai' | 'ollama' | 'http';
export const PROTOCOL_NAMES: readonly ProtocolName[] = [
  'oip-v2',
  'kserve-v1',
  'torchserve',
  'tfserving',
  'openai',
  'ollama',
  'http',
];

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
  | 'UNEXPECTED_STATUS'
  | 'TOO_MANY_REDIRECTS'
  | 'PROTOCOL' // the server answered, but not in the shape its protocol defines
  | 'NETWORK'; // any other socket error

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
  error?: { code: ProbeErrorCode; message: string };
  /** The model version the server reported, when it reports one. */
  modelVersion?: string;
}
