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

const input = workerData as LoaderInput;
const port = parentPort;
if (port === null) throw new Error('config/load-worker.ts runs only as a worker thread');

const post = (message: FromLoader) => port.postMessage(message);

const text = await readConfigText(input.file, input.maxBytes);
if (typeof text !== 'string') {
  post({ type: 'failed', result: text });
} else {
  const parts = parseConfigParts(text, {
    file: input.file,
    baseDir: dirname(resolve(input.file)),
    env: input.env ?? (process.env as Env),
  });
  if (!parts.ok) {
    post({ type: 'failed', result: parts });
  } else {
    const { targets, ...rest } = parts.config;
    post({ type: 'head', config: rest, secrets: parts.secrets, targets: targets.length });
    // The plan holds each target's checks together, in target order (buildPlan).
    let target = 0;
    let check = 0;
    port.on('message', () => {
      const end = Math.min(targets.length, target + input.chunkTargets);
      const chunk = targets.slice(target, end);
      let checks = 0;
      for (const spec of chunk)
        checks += CHECK_KINDS.filter((kind) => spec.checks[kind] !== undefined).length;
      post({ type: 'chunk', targets: chunk, plan: parts.plan.slice(check, check + checks) });
      target = end;
      check += checks;
      if (target >= targets.length) port.close();
    });
  }
}
