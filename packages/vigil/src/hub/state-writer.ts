/**
 * The hub's state writer: what reaches the store, when, and in what order. Results and the state
 * changes that decide a transition are written behind (batched, within `flushIntervalMs`); other
 * state changes at a checkpoint every `checkpointIntervalMs`; transitions, with their state and
 * incident, in order with all of it. The hub owns the states; the writer owns their durability.
 */
import type { Store } from '../store/types.js';
import type { EvalState, Incident, ProbeResult, Transition } from '../types.js';

/** Default {@link StateWriterOptions.flushIntervalMs}. */
export const DEFAULT_FLUSH_INTERVAL_MS = 100;

/** Default {@link StateWriterOptions.checkpointIntervalMs}: one minute. */
export const DEFAULT_CHECKPOINT_INTERVAL_MS = 60_000;

/**
 * States per store write of a flush or checkpoint: at ~0.01–0.04 ms per state on SQLite, a batch
 * holds the event loop for a few ms at most.
 */
export const STATE_BATCH_SIZE = 250;

/** Options of {@link createStateWriter}. Durations in ms. */
export interface StateWriterOptions {
  store: Store;
  /**
   * The current state filed under `key` (the hub's table), read when a batch is written: what is
   * written is the state as it is then, not as it was when it changed. Undefined: the check is gone,
   * nothing is written for it.
   */
  stateOf: (key: string) => EvalState | undefined;
  /**
   * Results, and states changed in a way that decides a transition, are written at most this long
   * after they arrive. Default {@link DEFAULT_FLUSH_INTERVAL_MS}.
   */
  flushIntervalMs?: number;
  /**
   * How often the states that changed only in ways a restart does not need are written (see
   * `isMaterialChange`). Default {@link DEFAULT_CHECKPOINT_INTERVAL_MS}.
   */
  checkpointIntervalMs?: number;
  /** Where store failures are reported (the writer retries them). Default: nowhere. */
  log?: (level: 'error', message: string) => void;
}

/** Writes a hub's results and states; see {@link createStateWriter}. */
export interface StateWriter {
  /** Buffers a result: stored within `flushIntervalMs`. */
  append(result: ProbeResult): void;
  /**
   * Notes that the state filed under `key` changed. `material` (it decides a transition: see
   * `isMaterialChange`): written within `flushIntervalMs`; otherwise at the next checkpoint.
   */
  changed(key: string, material: boolean): void;
  /**
   * Runs `task` after every task and state batch queued before it, and before every one queued after
   * it: a transition recorded here is in the store before any later state is written, and no state
   * batch taken after it overtakes it. `task` should handle its own errors; a rejection is logged and
   * the queue goes on. Resolves when `task` has run.
   */
  inOrder(task: () => Promise<void>): Promise<void>;
  /** Starts the checkpoint timer (unref'd). */
  start(): void;
  /**
   * Writes the buffered results and the material state changes now; with `withCheckpoint` (the
   * default) every other changed state too. Resolves when they are written (or have failed and
   * gone back to be retried).
   */
  flush(withCheckpoint?: boolean): Promise<void>;
  /** Writes every state changed since it was last written, unless a checkpoint is still writing. */
  checkpoint(): Promise<void>;
  /**
   * Stops the checkpoint timer, waits for a checkpoint in progress and every queued task, then
   * flushes everything pending. Call it once nothing produces results any more.
   */
  stop(): Promise<void>;
}

/**
 * Creates the write-behind for one hub.
 *
 * Order: states are written in the order they were produced. Each batch of a flush or checkpoint
 * takes its keys' current states only when it is its turn in the queue behind the transitions
 * recorded so far ({@link StateWriter.inOrder}), so the store never gets a state older than one
 * already written, nor one whose transition is not stored yet. A checkpoint of 10,000 states is
 * written in batches of {@link STATE_BATCH_SIZE} that yield to the event loop (`setImmediate`)
 * between them, so probes keep running. A failed write loses nothing: its results or keys go back
 * to be written at the next flush (results, material states) or checkpoint (other states).
 *
 * @example
 * ```ts
 * import type { EvalState } from 'vigil-ml';
 * const states = new Map<string, EvalState>();
 * const writer = createStateWriter({ store, stateOf: (key) => states.get(key) });
 * writer.start();
 * states.set(key, next);
 * writer.append(result);
 * writer.changed(key, isMaterialChange(before, next, thresholds));
 * await writer.stop();
 * ```
 */
export function createStateWriter(options: StateWriterOptions): StateWriter {
  const { store, stateOf } = options;
  const flushIntervalMs = options.flushIntervalMs ?? DEFAULT_FLUSH_INTERVAL_MS;
  const checkpointIntervalMs = options.checkpointIntervalMs ?? DEFAULT_CHECKPOINT_INTERVAL_MS;
  const log = options.log ?? (() => {});

  let pendingResults: ProbeResult[] = [];
  /** Keys of states changed in a way that decides a transition: written at the next flush. */
  const dirtyStates = new Set<string>();
  /** Keys of states changed otherwise since they were written: written at the next checkpoint. */
  const checkpointStates = new Set<string>();
  let flushTimer: NodeJS.Timeout | undefined;
  let checkpointTimer: NodeJS.Timeout | undefined;
  let checkpointing: Promise<void> | undefined;
  /** Result appends, in order. */
  let flushing: Promise<void> = Promise.resolve();
  /** Transitions and state batches, in order; never rejects. */
  let chain: Promise<void> = Promise.resolve();

  // Bound once: the timers and the per-probe calls allocate no closures.
  const onFlushTimer = (): void => void flush(false);
  const onCheckpointTimer = (): void => void checkpoint();
  const onTaskFailed = (err: Error): void => log('error', `ordered store task failed: ${err.message}`);

  function scheduleFlush(): void {
    if (flushTimer === undefined) flushTimer = setTimeout(onFlushTimer, flushIntervalMs);
  }

  function flush(withCheckpoint = true): Promise<void> {
    if (flushTimer !== undefined) {
      clearTimeout(flushTimer);
      flushTimer = undefined;
    }
    const results = pendingResults;
    pendingResults = [];
    if (results.length > 0) {
      flushing = flushing.then(async () => {
        try {
          await store.appendResults(results);
        } catch (err) {
          // Keep them for the next flush: a store hiccup loses nothing.
          pendingResults = results.concat(pendingResults);
          log('error', `store write failed, will retry: ${(err as Error).message}`);
          scheduleFlush();
        }
      });
    }
    const keys = new Set(dirtyStates);
    dirtyStates.clear();
    if (withCheckpoint) for (const k of checkpointStates) keys.add(k);
    if (keys.size === 0) return flushing;
    return Promise.all([flushing, writeStates([...keys], dirtyStates)]).then(() => {});
  }

  function checkpoint(): Promise<void> {
    checkpointing ??= writeStates([...checkpointStates], checkpointStates).finally(() => {
      checkpointing = undefined;
    });
    return checkpointing;
  }

  /**
   * Writes the current states of `keys` in batches, yielding between them; each batch waits for its
   * turn in `chain`. A failed batch's keys go back to `retry` (and a flush is scheduled when that is
   * the flush's set).
   */
  async function writeStates(keys: readonly string[], retry: Set<string>): Promise<void> {
    for (let i = 0; i < keys.length; i += STATE_BATCH_SIZE) {
      if (i > 0) await new Promise((resolve) => setImmediate(resolve));
      const end = Math.min(i + STATE_BATCH_SIZE, keys.length);
      const batch: EvalState[] = [];
      for (let j = i; j < end; j++) {
        const k = keys[j] as string;
        const s = stateOf(k);
        // Its current state is written now: no checkpoint needs to write it again.
        checkpointStates.delete(k);
        if (s !== undefined) batch.push(s);
      }
      if (batch.length === 0) continue;
      const written = chain.then(async () => {
        try {
          await store.saveStates(batch);
        } catch (err) {
          for (let j = i; j < end; j++) retry.add(keys[j] as string);
          log('error', `store write failed, will retry: ${(err as Error).message}`);
          if (retry === dirtyStates) scheduleFlush();
        }
      });
      chain = written;
      await written;
    }
  }

  return {
    append(result) {
      pendingResults.push(result);
      scheduleFlush();
    },
    changed(key, material) {
      if (material) {
        dirtyStates.add(key);
        // A material change alone (no result with it) must not wait for the checkpoint either.
        scheduleFlush();
      } else {
        checkpointStates.add(key);
      }
    },
    inOrder(task) {
      const next = chain.then(task).catch(onTaskFailed);
      chain = next;
      return next;
    },
    start() {
      if (checkpointTimer !== undefined) return;
      checkpointTimer = setInterval(onCheckpointTimer, checkpointIntervalMs);
      checkpointTimer.unref();
    },
    flush,
    checkpoint,
    async stop() {
      clearInterval(checkpointTimer);
      checkpointTimer = undefined;
      await checkpointing;
      await chain;
      await flush();
      await flushing;
    },
  };
}

/**
 * Stores a transition durably, in the order that makes a crash at any point recoverable: the
 * transition, then the state it leads to (so a crash right after a notification cannot resume the
 * check from an older state), then the incident it opens (`to: unhealthy`) or closes (`from:
 * unhealthy`, every open incident of that check in that region). Run it inside
 * {@link StateWriter.inOrder}, before the transition is published or alerted on.
 *
 * @returns the incident it opened (or found open), or the one it closed; `undefined` when none.
 * @throws whatever the store throws (`StoreError`); what was written before stays written.
 */
export async function storeTransition(
  store: Store,
  t: Transition,
  state: EvalState,
): Promise<Incident | undefined> {
  await store.appendTransition(t);
  await store.saveStates([state]);
  // Incidents look through `stale` to the state last known (`Transition.lastKnown`): an unhealthy
  // check that goes stale keeps its incident open, and one that comes back unhealthy does not open
  // a second one.
  const from = t.from === 'stale' ? (t.lastKnown ?? 'unknown') : t.from;
  const to = t.to === 'stale' ? (t.lastKnown ?? 'unknown') : t.to;
  if (from === to) return undefined;
  if (to === 'unhealthy') {
    return store.openIncident({ checkId: t.checkId, region: t.region, openedAt: t.at, reason: t.reason });
  }
  let closed: Incident | undefined;
  if (from === 'unhealthy') {
    for (const incident of await store.incidents({ open: true, checkId: t.checkId })) {
      if (incident.region === t.region && (await store.closeIncident(incident.id, t.at)))
        closed = { ...incident, closedAt: t.at };
    }
  }
  return closed;
}
