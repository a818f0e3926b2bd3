/**
 * The worker thread of {@link loadConfigOffThread} (`off-thread.ts`): reads, parses, validates and plans
 * the config given in `workerData`, then hands the result back in chunks, one per `next` message the
 * main thread sends, so that receiving a large plan never holds the hub's event loop for long.
 *
 * Messages to the main thread: {@link FromLoader}; from it: `'next'`.
 */
import { dirname, resolve } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { CHECK_KINDS } from '../types.js';
import type { Env } from './interpolate.js';
import { parseConfigParts, readConfigText } from './load.js';
import type { FromLoader, LoaderInput } from './off-thread.js';

const port = parentPort;
if (port === null) throw new Error('config/load-worker.ts runs only as a worker thread');

const post = (message: FromLoader) => port.postMessage(message);

/** Loads the config `input` names, posts the head (or the failure), and answers `next` with chunks. */
async function load(input: LoaderInput): Promise<void> {
  const text = await readConfigText(input.file, input.maxBytes);
  if (typeof text !== 'string') return post({ type: 'failed', result: text });
  const parts = parseConfigParts(text, {
    file: input.file,
    baseDir: dirname(resolve(input.file)),
    env: input.env ?? (process.env as Env),
  });
  if (!parts.ok) return post({ type: 'failed', result: parts });
  const { targets, ...rest } = parts.config;
  // The plan holds each target's checks together, in target order (buildPlan).
  let target = 0;
  let check = 0;
  next = () => {
    const end = Math.min(targets.length, target + input.chunkTargets);
    const chunk = targets.slice(target, end);
    let checks = 0;
    for (const spec of chunk) checks += CHECK_KINDS.filter((kind) => spec.checks[kind] !== undefined).length;
    post({ type: 'chunk', targets: chunk, plan: parts.plan.slice(check, check + checks) });
    target = end;
    check += checks;
  };
  post({ type: 'head', config: rest, secrets: parts.secrets, targets: targets.length });
}

let next: (() => void) | undefined;
// A worker may be started ahead of its load (a warm spare, `createOffThreadLoader`): it waits for its
// input, given either as `workerData` or as the first message; every later message asks for a chunk.
const given = workerData as LoaderInput | undefined;
if (given !== undefined && given !== null) void load(given);
port.on('message', (message: LoaderInput | 'next') => {
  if (message === 'next') next?.();
  else void load(message);
});
