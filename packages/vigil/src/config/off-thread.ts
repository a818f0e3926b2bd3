/**
 * Loading a config off the event loop, for the hub's reloads (`daemon/hub.ts`): a worker thread reads,
 * parses (YAML), validates (zod, files) and plans the config, and hands the result back in chunks the
 * main thread asks for one at a time, yielding to the event loop between them. What stays on the main
 * thread is receiving each chunk (structured clone), freezing it and, in the caller, `hub.update`;
 * BENCHMARKS.md ("Config reload off the event loop") measures the hub's lag during a 10 MB reload.
 *
 * The worker sees the protocols registered at import (every built-in plugin, `protocols/index.ts`);
 * {@link loadConfig} on the calling thread stays for everything else (`vigil validate`, `vigil check`,
 * the first load at start-up, library callers).
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { CheckPlan } from '../types.js';
import type { Env } from './interpolate.js';
import {
  DEFAULT_MAX_CONFIG_BYTES,
  deepFreeze,
  type FailedConfig,
  type LoadOptions,
  type LoadResult,
  redactorOf,
} from './load.js';
import type { VigilConfig } from './schema.js';

/** What the main thread gives the worker (`workerData`). */
export interface LoaderInput {
  file: string;
  env?: Env;
  maxBytes: number;
  /** Targets per chunk handed back. */
  chunkTargets: number;
}

/** What the worker posts back: a failure, or a head then one chunk per `next`. */
export type FromLoader =
  | { type: 'failed'; result: FailedConfig }
  | { type: 'head'; config: Omit<VigilConfig, 'targets'>; secrets: string[]; targets: number }
  | { type: 'chunk'; targets: VigilConfig['targets']; plan: CheckPlan[] };

/** Options of {@link loadConfigOffThread}. */
export interface OffThreadOptions extends LoadOptions {
  /**
   * Targets per chunk handed back to the calling thread. Default 500: at about 5 µs a target to
   * receive and freeze (BENCHMARKS.md), a chunk holds the event loop for a few milliseconds.
   */
  chunkTargets?: number;
  /**
   * Heap limit of the worker, in MB (V8's old generation): a config whose parse needs more is refused
   * instead of growing the hub's process. Default 2048.
   */
  maxHeapMb?: number;
}

/** Where the worker's code is: its built `.js`, or its `.ts` source under tsx (tests, `--conditions=source`). */
function workerOf(maxHeapMb: number): Worker {
  const options = { resourceLimits: { maxOldGenerationSizeMb: maxHeapMb } };
  if (!import.meta.url.endsWith('.ts'))
    return new Worker(new URL('./load-worker.js', import.meta.url), options);
  // tsx's ESM API, found through its package.json (require.resolve would give its CommonJS build).
  const require = createRequire(import.meta.url);
  const manifest = require.resolve('tsx/package.json');
  const api = (require(manifest) as { exports: Record<string, { import: { default: string } }> }).exports[
    './esm/api'
  ];
  const tsx = pathToFileURL(join(dirname(manifest), api?.import.default ?? 'dist/esm/api/index.mjs')).href;
  const entry = new URL('./load-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsx)}).then((api) => { api.register(); return import(${JSON.stringify(entry)}); })`;
  return new Worker(boot, { ...options, eval: true });
}

/**
 * {@link loadConfig}, with the reading, parsing, validation and planning done in a worker thread, and
 * the result received in chunks between which the event loop runs. Same result, same diagnostics; a
 * file over `maxBytes` is refused before it is read, and a worker that fails (out of memory past
 * `maxHeapMb`, a crash) is a `VIGIL_ERR_CONFIG_INVALID` failure saying so. Never throws for bad input.
 *
 * @example
 * const result = await loadConfigOffThread('vigil.yaml', { maxBytes: 10 * 1024 * 1024 });
 * if (result.ok) console.log(result.plan.length, 'checks');
 */
export function loadConfigOffThread(file: string, options: OffThreadOptions = {}): Promise<LoadResult> {
  const input: LoaderInput = {
    file,
    maxBytes: options.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES,
    chunkTargets: Math.max(1, options.chunkTargets ?? 500),
    ...(options.env !== undefined && { env: options.env }),
  };
  return runLoad(workerOf(options.maxHeapMb ?? 2048), input, options.maxHeapMb ?? 2048);
}

/** Gives `worker` its input and receives the result (see {@link loadConfigOffThread}); terminates it after. */
function runLoad(worker: Worker, input: LoaderInput, maxHeapMb: number): Promise<LoadResult> {
  const { file } = input;
  worker.postMessage(input);
  return new Promise<LoadResult>((resolvePromise) => {
    let settled = false;
    const finish = (result: LoadResult) => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      resolvePromise(result);
    };
    const failed = (why: string): FailedConfig => ({
      ok: false,
      code: 'VIGIL_ERR_CONFIG_INVALID',
      diagnostics: [`${file}: the config could not be loaded: ${why}`],
    });

    let head: Extract<FromLoader, { type: 'head' }> | undefined;
    const targets: VigilConfig['targets'] = [];
    const plan: CheckPlan[] = [];
    const done = () => {
      if (head === undefined) return;
      const config = { ...head.config, targets } as VigilConfig;
      finish({
        ok: true,
        config: deepFreeze(config),
        plan: Object.freeze(plan) as CheckPlan[],
        redact: redactorOf(head.secrets),
      });
    };
    // One chunk at a time, each asked for from a fresh macrotask: timers and I/O run in between.
    const next = () => setImmediate(() => worker.postMessage('next'));

    worker.on('message', (message: FromLoader) => {
      if (message.type === 'failed') return finish(message.result);
      if (message.type === 'head') {
        head = message;
        return head.targets === 0 ? done() : next();
      }
      for (const target of message.targets) targets.push(deepFreeze(target));
      for (const check of message.plan) plan.push(deepFreeze(check));
      if (targets.length >= (head?.targets ?? 0)) done();
      else next();
    });
    worker.on('error', (error: Error & { code?: string }) =>
      finish(
        failed(
          error.code === 'ERR_WORKER_OUT_OF_MEMORY'
            ? `parsing it needed more than ${maxHeapMb} MB of heap`
            : error.message,
        ),
      ),
    );
    worker.on('exit', (code) => finish(failed(`the loader thread exited (code ${code}) before it answered`)));
  });
}

/** Options of {@link createOffThreadLoader}. */
export interface LoaderOptions extends Pick<OffThreadOptions, 'maxHeapMb'> {
  /**
   * Keep a worker started ahead of the next load (default true): a load then skips the worker's boot
   * (its modules' loading: ~0.85 s against ~20 ms for a small config, load average 2), at the cost of
   * a thread and an isolate held meanwhile (~65–85 MB of RSS in `vigil run`).
   */
  warm?: boolean;
}

/** A loader that keeps a worker started ahead of the next load: see {@link createOffThreadLoader}. */
export interface OffThreadLoader {
  /** {@link loadConfigOffThread} on the warm worker (a new one is started for the load after). */
  load(file: string, options?: Omit<OffThreadOptions, 'maxHeapMb'>): Promise<LoadResult>;
  /** Ends the spare worker. */
  close(): void;
}

/**
 * {@link loadConfigOffThread} with, unless `warm: false`, a warm spare: a worker is started (and its
 * modules loaded) ahead of each load, so a load does not wait for a thread to boot, and each load still
 * runs in a fresh worker whose memory goes with it. The spare does not keep the process alive. Cold
 * (`warm: false`), each load starts its worker: no thread and isolate held between loads.
 *
 * @example
 * const loader = createOffThreadLoader();
 * const result = await loader.load('vigil.yaml');
 * loader.close();
 */
export function createOffThreadLoader(options: LoaderOptions = {}): OffThreadLoader {
  const maxHeapMb = options.maxHeapMb ?? 2048;
  const warm = options.warm ?? true;
  let closed = false;
  const spawn = () => {
    const worker = workerOf(maxHeapMb);
    worker.unref();
    // A spare that fails before it is used is replaced when it is taken (its load reports the error).
    worker.on('error', () => {});
    worker.once('exit', () => {
      if (spare === worker) spare = undefined;
    });
    return worker;
  };
  let spare: Worker | undefined = warm ? spawn() : undefined;
  return {
    load(file, loadOptions = {}) {
      const worker = spare ?? spawn();
      spare = undefined;
      const input: LoaderInput = {
        file,
        maxBytes: loadOptions.maxBytes ?? DEFAULT_MAX_CONFIG_BYTES,
        chunkTargets: Math.max(1, loadOptions.chunkTargets ?? 500),
        ...(loadOptions.env !== undefined && { env: loadOptions.env }),
      };
      worker.ref();
      return runLoad(worker, input, maxHeapMb).finally(() => {
        if (!closed && warm) spare = spawn();
      });
    },
    close() {
      closed = true;
      void spare?.terminate();
      spare = undefined;
    },
  };
}
