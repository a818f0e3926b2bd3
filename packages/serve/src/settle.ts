import { performance } from 'node:perf_hooks';
import { VigilServeError } from './errors.js';

/** How a task ended: its value, or the message of what went wrong. Never a stack trace. */
export type Settled<T> =
  | { ok: true; value: T; durationMs: number }
  | {
      ok: false;
      error: string;
      timedOut: boolean;
      durationMs: number;
      /** The task itself when it timed out and has not settled yet; it keeps running in the background. */
      pending: Promise<unknown> | undefined;
    };

const MAX_MESSAGE_LENGTH = 500;
const MAX_CAUSE_DEPTH = 3;
// A line of a V8 stack trace ("    at fn (file.js:1:2)"); some libraries paste stacks into messages.
// Indented and ending in a position, so that a message like "at least one input" survives.
const STACK_LINE = /^\s+at\s.*:\d+:\d+\)?\s*$/gm;

/**
 * The message of a thrown value, with the messages of its `cause` chain appended (`fetch failed (cause:
 * connect ECONNREFUSED 127.0.0.1:5432)`) because the outer message alone often says nothing. Stack lines
 * are removed: answers go to whoever can reach the endpoint.
 */
export function errorMessage(thrown: unknown): string {
  let message = describe(thrown);
  let cause = thrown instanceof Error ? thrown.cause : undefined;
  for (let depth = 0; cause !== undefined && depth < MAX_CAUSE_DEPTH; depth++) {
    message += ` (cause: ${describe(cause)})`;
    cause = cause instanceof Error ? cause.cause : undefined;
  }
  message = message.replace(STACK_LINE, '').replace(/\n+/g, ' ').trim();
  return message.length > MAX_MESSAGE_LENGTH ? `${message.slice(0, MAX_MESSAGE_LENGTH - 1)}…` : message;
}

function describe(thrown: unknown): string {
  if (thrown instanceof Error) return thrown.message || thrown.name;
  if (typeof thrown === 'string') return thrown;
  try {
    return JSON.stringify(thrown) ?? String(thrown);
  } catch {
    return String(thrown);
  }
}

/** Milliseconds rounded to 0.1 ms, the precision worth showing in an answer. */
export function roundMs(ms: number): number {
  return Math.round(ms * 10) / 10;
}

const TIMED_OUT = Symbol('timed out');

/**
 * Runs `task` and settles within `timeoutMs`: on timeout the task's signal is aborted with a
 * `VIGIL_ERR_SERVE_TIMEOUT` error as its reason and the answer is given without waiting for the task.
 * `what` names the task in messages (`"db" timed out after 500 ms`).
 */
export async function settleWithin<T>(
  task: (signal: AbortSignal) => T | PromiseLike<T>,
  timeoutMs: number,
  what: string,
): Promise<Settled<T>> {
  const controller = new AbortController();
  const startedAt = performance.now();
  const work = (async () => task(controller.signal))();
  // A task that rejects after its timeout must not become an unhandled rejection.
  work.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(resolve, timeoutMs, TIMED_OUT);
  });
  try {
    const winner = await Promise.race([work.then((value) => ({ value })), deadline]);
    const durationMs = roundMs(performance.now() - startedAt);
    if (winner !== TIMED_OUT) return { ok: true, value: winner.value, durationMs };
    const reason = new VigilServeError('VIGIL_ERR_SERVE_TIMEOUT', `${what} timed out after ${timeoutMs} ms`);
    controller.abort(reason);
    return { ok: false, error: reason.message, timedOut: true, durationMs, pending: work };
  } catch (error) {
    const durationMs = roundMs(performance.now() - startedAt);
    return { ok: false, error: errorMessage(error), timedOut: false, durationMs, pending: undefined };
  } finally {
    clearTimeout(timer);
  }
}
