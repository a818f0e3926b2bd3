/** Lag from due to started, summarised. All values in milliseconds. */
export interface LagStats {
  /** Probes measured. */
  count: number;
  /** Exact mean. */
  meanMs: number;
  /** Percentiles: the upper edge of the bucket holding them (at most ~9 % above the true value), capped at `maxMs`. */
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  /** Exact maximum. */
  maxMs: number;
}

/** Values up to this (ms) share the first bucket. */
const FLOOR_MS = 0.1;
/** Buckets per doubling: each bucket is 2^(1/8) ≈ 1.09 times as wide as the previous. */
const STEPS_PER_DOUBLING = 8;
/** 0.1 ms × 2^(200/8) ≈ 56 minutes; anything larger lands in the last bucket. */
const BUCKETS = 201;

/**
 * A fixed-size log-bucketed histogram of lag values (HdrHistogram's idea, at ~9 % resolution):
 * recording is one `Math.log2` and an array increment, memory is 201 counters whatever the volume.
 */
export class LagHistogram {
  readonly #counts = new Float64Array(BUCKETS);
  #count = 0;
  #sum = 0;
  #max = 0;

  /** Records one lag in ms (negative values count as 0). */
  record(lagMs: number): void {
    const v = lagMs > 0 ? lagMs : 0;
    const i =
      v <= FLOOR_MS ? 0 : Math.min(BUCKETS - 1, Math.ceil(Math.log2(v / FLOOR_MS) * STEPS_PER_DOUBLING));
    this.#counts[i] = (this.#counts[i] as number) + 1;
    this.#count++;
    this.#sum += v;
    if (v > this.#max) this.#max = v;
  }

  /** Forgets every recorded value. */
  reset(): void {
    this.#counts.fill(0);
    this.#count = 0;
    this.#sum = 0;
    this.#max = 0;
  }

  /** The value at quantile `q` in [0, 1] (upper bucket edge, capped at the maximum); 0 when empty. */
  quantile(q: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.max(1, Math.ceil(q * this.#count));
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i] as number;
      // The last bucket is open-ended: its only honest upper edge is the maximum.
      if (seen >= rank)
        return i === BUCKETS - 1 ? this.#max : Math.min(this.#max, FLOOR_MS * 2 ** (i / STEPS_PER_DOUBLING));
    }
    return this.#max;
  }

  /** Count, mean, p50, p90, p99 and max. */
  snapshot(): LagStats {
    return {
      count: this.#count,
      meanMs: this.#count === 0 ? 0 : this.#sum / this.#count,
      p50Ms: this.quantile(0.5),
      p90Ms: this.quantile(0.9),
      p99Ms: this.quantile(0.99),
      maxMs: this.#max,
    };
  }
}
