import { performance } from 'node:perf_hooks';

/**
 * Options of {@link createEventLoopMonitor}, in milliseconds.
 *
 * @example
 * ```ts
 * const options: EventLoopMonitorOptions = { windowMs: 10_000, sampleIntervalMs: 100 };
 * ```
 */
export interface EventLoopMonitorOptions {
  /** How far back {@link EventLoopMonitor.worstLagMs} looks. */
  windowMs: number;
  /** How often a timer samples the lag; a stall is under-counted by up to this much. */
  sampleIntervalMs: number;
}

/**
 * Measures event-loop lag: how late a repeating timer fires compared with when it was due.
 *
 * @example
 * ```ts
 * const monitor = createEventLoopMonitor({ windowMs: 10_000, sampleIntervalMs: 100 });
 * if (monitor.worstLagMs() > 1000) console.warn('event loop stalled');
 * monitor.stop();
 * ```
 */
export interface EventLoopMonitor {
  /**
   * The worst lag in milliseconds seen in the last `windowMs`, including a stall still in progress (the
   * time since the last sample beyond its interval), so a request handled right after a stall, before
   * the sampling timer has run, still sees it.
   */
  worstLagMs(): number;
  /** Stops the sampling timer; later calls to `worstLagMs` only see past samples. Idempotent. */
  stop(): void;
}

/**
 * Starts sampling event-loop lag with an unref'd timer (it never keeps the process alive).
 *
 * A plain timer rather than `perf_hooks.monitorEventLoopDelay`: the histogram only knows "since the last
 * reset", while a timestamped sample per tick gives a true sliding window. Samples live in a fixed ring
 * (one slot per interval in the window), so sampling allocates nothing.
 *
 * @example
 * ```ts
 * const monitor = createEventLoopMonitor({ windowMs: 1000, sampleIntervalMs: 10 });
 * ```
 */
export function createEventLoopMonitor({
  windowMs,
  sampleIntervalMs,
}: EventLoopMonitorOptions): EventLoopMonitor {
  // Timers never fire early, so a window holds at most windowMs / sampleIntervalMs samples; +2 absorbs
  // rounding of the millisecond clock.
  const slots = Math.ceil(windowMs / sampleIntervalMs) + 2;
  const sampledAt = new Float64Array(slots).fill(Number.NEGATIVE_INFINITY);
  const lagMs = new Float64Array(slots);
  let next = 0;
  let lastTickAt = performance.now();
  let isStopped = false;

  const timer = setInterval(() => {
    const now = performance.now();
    sampledAt[next] = now;
    lagMs[next] = Math.max(0, now - lastTickAt - sampleIntervalMs);
    next = (next + 1) % slots;
    lastTickAt = now;
  }, sampleIntervalMs);
  timer.unref();

  return {
    worstLagMs() {
      const now = performance.now();
      let worst = isStopped ? 0 : Math.max(0, now - lastTickAt - sampleIntervalMs);
      for (let i = 0; i < slots; i++) {
        if ((sampledAt[i] ?? Number.NEGATIVE_INFINITY) >= now - windowMs)
          worst = Math.max(worst, lagMs[i] ?? 0);
      }
      return worst;
    },
    stop() {
      isStopped = true;
      clearInterval(timer);
    },
  };
}
