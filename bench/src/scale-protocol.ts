/**
 * Messages between `hub-scale.ts` (the driver) and `scale-hub.ts` (the hub under test) over the
 * child-process IPC channel, plus the lag histogram both sides read.
 */

/** Driver → hub. */
export type DriverMessage = { type: 'mark' } | { type: 'report' } | { type: 'stop' };

/** Lag percentiles over the measurement window, in ms. */
export interface LagSummary {
  count: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

/** Hub → driver. */
export type HubMessage =
  | { type: 'ready'; checks: number; targets: number; startMs: number }
  | { type: 'marked' }
  | {
      type: 'report';
      /** Results delivered in the window (counted in `observeResult`). */
      probes: number;
      /** Results whose outcome was not `pass`, by first error code or `assertion`. */
      nonPass: Record<string, number>;
      /** The first few of them: check, start (UTC time of day), duration, message. */
      nonPassExamples: string[];
      lag: LagSummary;
      /** Probe durations (ProbeResult.durationMs) over the window, in ms. */
      durations: LagSummary;
      /** `metrics.render()` calls in the window: wall time (includes yields) and output size. */
      scrapes: { count: number; meanMs: number; maxMs: number; bytes: number };
      /** process.cpuUsage() over the window, µs (a cross-check of /proc/<pid>/stat). */
      cpuUs: number;
      windowMs: number;
      /** process.memoryUsage() at the end of the window, MiB. */
      memory: { heapUsed: number; heapTotal: number; external: number };
      /** SQLite file plus WAL, bytes. */
      dbBytes: number;
      /** Path of the .cpuprofile written for the window, when profiling. */
      profile?: string;
    }
  | { type: 'stopped' };

/** Scheduler lag, 0.1 ms buckets up to 10 s plus an overflow bucket, and the exact maximum. */
export class LagRecorder {
  static readonly RESOLUTION_MS = 0.1;
  static readonly BUCKETS = 100_000;
  #counts = new Uint32Array(LagRecorder.BUCKETS + 1);
  #count = 0;
  #max = 0;

  record(lagMs: number): void {
    const ms = lagMs > 0 ? lagMs : 0;
    const i = Math.min(LagRecorder.BUCKETS, Math.floor(ms / LagRecorder.RESOLUTION_MS));
    this.#counts[i] = (this.#counts[i] ?? 0) + 1;
    this.#count++;
    if (ms > this.#max) this.#max = ms;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#max = 0;
  }

  /** The upper edge of the bucket holding the q-quantile (never above the exact maximum). */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i] ?? 0;
      if (seen >= rank) return Math.min(this.#max, (i + 1) * LagRecorder.RESOLUTION_MS);
    }
    return this.#max;
  }

  summary(): LagSummary {
    return {
      count: this.#count,
      p50: this.quantile(0.5),
      p99: this.quantile(0.99),
      p999: this.quantile(0.999),
      max: this.#max,
    };
  }
}
