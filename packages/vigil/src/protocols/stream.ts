/**
 * Reading a streamed LLM answer while it arrives: {@link StreamMeter} times the tokens (time to first
 * token, the largest gap, decode speed) and ends a stream that stalls; {@link createLineSplitter} cuts
 * NDJSON (Ollama) into lines. Server-sent events (OpenAI-compatible servers) are parsed by
 * `eventsource-parser` in the adapter.
 */
import type { CheckPlan, StreamTimings } from '../types.js';

/** Error code of a stream that stopped producing tokens: no first token, or a gap, past the failed bound. */
export const STREAM_STALLED = 'STREAM_STALLED';
/** Error code of a stream that ended without its end marker (no finish reason, no `done: true`). */
export const STREAM_INCOMPLETE = 'STREAM_INCOMPLETE';

/** The probe error codes the streaming LLM adapters add, with their ERRORS.md wording. */
export const STREAM_ERROR_CODES: Readonly<Record<string, string>> = {
  [STREAM_STALLED]:
    'the stream stopped producing tokens: no first token within expect.ttft.failed, or a gap between two tokens reached expect.maxTokenGap.failed; the stream was ended there',
  [STREAM_INCOMPLETE]:
    'the stream ended without its end marker (OpenAI: no finish_reason; Ollama: no "done": true line): the generation was cut off',
};

/** The failed bounds a meter enforces while the stream runs, in ms; absent = only the probe's timeout. */
export interface StallBounds {
  firstTokenMs?: number;
  tokenGapMs?: number;
}

/** The bounds of a plan: `expect.ttft.failedMs` and `expect.maxTokenGap.failedMs`. */
export function stallBoundsOf(plan: CheckPlan): StallBounds {
  const bounds: StallBounds = {};
  const first = plan.expect.ttft?.failedMs;
  const gap = plan.expect.maxTokenGap?.failedMs;
  if (first !== undefined) bounds.firstTokenMs = first;
  if (gap !== undefined) bounds.tokenGapMs = gap;
  return bounds;
}

/** True when a plan asserts on stream timings (so its answer must be streamed to be judged). */
export function assertsStream(plan: CheckPlan): boolean {
  const { expect } = plan;
  return (
    expect.ttft !== undefined || expect.maxTokenGap !== undefined || expect.minTokensPerSecond !== undefined
  );
}

/**
 * Times one stream's tokens from its creation (just before the request is sent). Call {@link token}
 * for each chunk that carried text or reasoning, {@link finish} once at the end. With bounds, a timer
 * aborts {@link signal} when the first token or the next one is late: {@link stalled} then says why.
 *
 * @example
 * const meter = new StreamMeter({ tokenGapMs: 2000 });
 * meter.token(); // once per chunk that carried a token; fetch with `signal: meter.signal`
 * const timings = meter.finish(16); // the server's own count, when it reported one
 */
export class StreamMeter {
  /** Aborted when the stream stalls; pass it to the fetch. */
  readonly signal: AbortSignal;
  /** Why the stream was ended, when it stalled. */
  stalled: string | undefined;
  readonly #controller = new AbortController();
  readonly #bounds: StallBounds;
  readonly #t0 = performance.now();
  #first = -1;
  #last = -1;
  #maxGap = 0;
  #chunks = 0;
  #ended = -1;
  #timer: NodeJS.Timeout | undefined;

  constructor(bounds: StallBounds = {}) {
    this.signal = this.#controller.signal;
    this.#bounds = bounds;
    this.#arm();
  }

  /** Token chunks seen so far. */
  get chunks(): number {
    return this.#chunks;
  }

  /** One chunk that carried generated text or reasoning arrived now. */
  token(): void {
    if (this.#ended >= 0) return;
    const now = performance.now();
    if (this.#first < 0) this.#first = now;
    else this.#maxGap = Math.max(this.#maxGap, now - this.#last);
    this.#last = now;
    this.#chunks++;
    this.#arm();
  }

  /**
   * Stops the timer and returns the timings. `reportedTokens` is the server's own count when it gave
   * one (it then wins over the chunks counted). A stream that stalled counts the stall as a gap.
   */
  finish(reportedTokens?: number): StreamTimings {
    clearTimeout(this.#timer);
    if (this.#ended < 0) this.#ended = performance.now();
    const end = this.#ended;
    const usage = reportedTokens !== undefined && Number.isFinite(reportedTokens) && reportedTokens >= 0;
    const tokens = usage ? reportedTokens : this.#chunks;
    const span = this.#last - this.#first;
    let maxGap = this.#maxGap;
    if (this.stalled !== undefined && this.#first >= 0) maxGap = Math.max(maxGap, end - this.#last);
    return {
      ttftMs: this.#first < 0 ? null : this.#first - this.#t0,
      maxTokenGapMs: maxGap,
      tokens,
      tokenSource: usage ? 'usage' : 'chunks',
      tokensPerSecond: tokens >= 2 && this.#first >= 0 && span > 0 ? ((tokens - 1) * 1000) / span : null,
      totalMs: end - this.#t0,
    };
  }

  #arm(): void {
    clearTimeout(this.#timer);
    const waitingFirst = this.#first < 0;
    const bound = waitingFirst ? this.#bounds.firstTokenMs : this.#bounds.tokenGapMs;
    if (bound === undefined) return;
    const since = waitingFirst ? this.#t0 : this.#last;
    const delay = Math.max(0, bound - (performance.now() - since));
    this.#timer = setTimeout(() => {
      this.#ended = performance.now();
      this.stalled = waitingFirst
        ? `no first token within ${bound} ms (expect.ttft.failed)`
        : `no token for ${bound} ms after ${this.#chunks} token chunk(s) (expect.maxTokenGap.failed)`;
      this.#controller.abort(new Error(this.stalled));
    }, delay);
    this.#timer.unref();
  }
}

/**
 * Splits a byte stream into lines (NDJSON), decoding UTF-8 across chunk boundaries. `push` gives the
 * complete lines of a chunk; `end` the last line when the stream did not end with a newline.
 */
export function createLineSplitter(): { push(chunk: Buffer): string[]; end(): string[] } {
  const decoder = new TextDecoder();
  let pending = '';
  return {
    push(chunk) {
      pending += decoder.decode(chunk, { stream: true });
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      return lines;
    },
    end() {
      const rest = pending + decoder.decode();
      pending = '';
      return rest.trim() === '' ? [] : [rest];
    },
  };
}
