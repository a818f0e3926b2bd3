import { performance } from 'node:perf_hooks';
import type { ResolvedSelfTest } from './options.js';
import { errorMessage, roundMs, settleWithin } from './settle.js';

/** The outcome of one self-test run, as reported under `checks.model`. */
export interface SelfTestResult {
  isOk: boolean;
  /** What went wrong, one sentence; absent when `isOk`. */
  error?: string;
  /** The problems `validate` returned; absent when it returned none. */
  problems?: readonly string[];
  /** Milliseconds the run (with validation) took. */
  durationMs: number;
  /** When the run finished, ISO 8601. */
  checkedAt: string;
  /** JSON-safe summary of the output (see `SelfTestOptions.summarize`); absent when there is no output. */
  output?: unknown;
}

/** A self-test result and where it came from. */
export interface SelfTestReading {
  result: SelfTestResult;
  /** True when the result was reused from an earlier run (within `cacheMs`). */
  isCached: boolean;
  /** Milliseconds since the run finished. */
  ageMs: number;
}

/** Runs the self-test at most once per `cacheMs`, sharing one in-flight run between concurrent callers. */
export interface SelfTest {
  read(): Promise<SelfTestReading>;
}

const MAX_SUMMARY_STRING = 200;
const MAX_SUMMARY_KEYS = 20;

/**
 * Wraps a self-test with caching (results, good or bad, are reused for `cacheMs`), single-flight
 * (concurrent callers share one run) and a timeout. A run that timed out but is still going blocks new
 * runs until it settles: a hung model must not collect one more hung inference per probe.
 */
export function createSelfTest<P, O>(options: ResolvedSelfTest<P, O>): SelfTest {
  let cached: { result: SelfTestResult; finishedAt: number } | undefined;
  let inFlight: Promise<SelfTestResult> | undefined;
  let straggler: { startedAt: number } | undefined;

  async function runOnce(): Promise<SelfTestResult> {
    if (straggler) {
      const runningForMs = Math.round(performance.now() - straggler.startedAt);
      return failed(
        `the previous run timed out after ${options.timeoutMs} ms and has still not settled after ${runningForMs} ms; not starting another`,
        0,
      );
    }
    const startedAt = performance.now();
    const settled = await settleWithin(
      async (signal) => {
        const output = await options.run(options.payload, { signal });
        return { output, ...(await validate(output)) };
      },
      options.timeoutMs,
      'self-test',
    );
    if (!settled.ok) {
      if (settled.pending) {
        straggler = { startedAt };
        const clear = () => {
          straggler = undefined;
        };
        settled.pending.then(clear, clear);
      }
      return failed(settled.timedOut ? settled.error : `run() threw: ${settled.error}`, settled.durationMs);
    }
    const { output, problems, validateError } = settled.value;
    const result: SelfTestResult = {
      isOk: problems.length === 0 && validateError === undefined,
      durationMs: settled.durationMs,
      checkedAt: new Date().toISOString(),
      output: summarize(output),
    };
    if (validateError !== undefined) result.error = `validate() threw: ${validateError}`;
    else if (problems.length > 0) {
      result.error = `output failed validation: ${problems.join('; ')}`;
      result.problems = problems;
    }
    return result;
  }

  async function validate(output: O): Promise<{ problems: readonly string[]; validateError?: string }> {
    if (!options.validate) return { problems: [] };
    try {
      const problems: unknown = await options.validate(output);
      if (problems === undefined || problems === null) return { problems: [] };
      if (typeof problems === 'string') return { problems: [problems] };
      if (!Array.isArray(problems)) {
        return {
          problems: [],
          validateError: `returned ${typeof problems}, expected an array of problem strings`,
        };
      }
      return {
        problems: problems.map((problem) => (typeof problem === 'string' ? problem : errorMessage(problem))),
      };
    } catch (error) {
      return { problems: [], validateError: errorMessage(error) };
    }
  }

  function summarize(output: O): unknown {
    let summary: unknown;
    try {
      summary = options.summarize ? options.summarize(output) : summarizeOutput(output);
      // Answers are JSON: check once here instead of failing every response that reuses this result.
      JSON.stringify(summary);
      return summary;
    } catch (error) {
      return `summarize() failed: ${errorMessage(error)}`;
    }
  }

  return {
    async read() {
      const now = performance.now();
      if (cached && now - cached.finishedAt < options.cacheMs) {
        return { result: cached.result, isCached: true, ageMs: roundMs(now - cached.finishedAt) };
      }
      inFlight ??= runOnce().then((result) => {
        cached = { result, finishedAt: performance.now() };
        inFlight = undefined;
        return result;
      });
      return { result: await inFlight, isCached: false, ageMs: 0 };
    },
  };
}

function failed(error: string, durationMs: number): SelfTestResult {
  return { isOk: false, error, durationMs, checkedAt: new Date().toISOString() };
}

/** A short, JSON-safe description of a model output: enough to recognise it, never the whole tensor. */
function summarizeOutput(output: unknown): unknown {
  if (typeof output === 'string') {
    return output.length > MAX_SUMMARY_STRING ? `${output.slice(0, MAX_SUMMARY_STRING)}…` : output;
  }
  if (output === null || typeof output === 'number' || typeof output === 'boolean') return output;
  if (output === undefined) return undefined;
  if (Array.isArray(output)) return { type: 'array', length: output.length };
  if (ArrayBuffer.isView(output)) {
    const length =
      'length' in output && typeof output.length === 'number' ? output.length : output.byteLength;
    return { type: output.constructor.name, length };
  }
  if (typeof output === 'object')
    return { type: 'object', keys: Object.keys(output).slice(0, MAX_SUMMARY_KEYS) };
  return { type: typeof output };
}
