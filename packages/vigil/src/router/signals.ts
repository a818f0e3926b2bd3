/**
 * The router's passive signals, from its own traffic: latency over a sliding window (EWMA and p95)
 * and consecutive upstream failures with Envoy's outlier-detection rules. Plain state with an
 * injected clock (`now` in ms), so they are tested as tables; the data path feeds them, the policy
 * (`policy.ts`) reads them.
 */

/**
 * Most samples a {@link LatencyWindow} keeps: at high rates the window is the most recent 2,048
 * answers within `windowMs` (at 1,000 requests/s, the last 2 s). Enough for a stable p95 (≈100
 * samples above it), small enough to compute it every policy tick.
 */
export const MAX_WINDOW_SAMPLES = 2048;

/** Fewest samples in the window before its p95 is trusted (fewer: `p95()` is `undefined`). */
export const MIN_WINDOW_SAMPLES = 10;

/**
 * Latency of one upstream as the router sees it: a time-decayed EWMA (time constant `windowMs / 4`,
 * as Finagle's Peak EWMA decays by time rather than by count) and the p95 over the last `windowMs`.
 * Requests cut at the deadline or cancelled as hedge losers are recorded at the time they were cut:
 * a lower bound, which still pushes the p95 up when an upstream slows.
 */
export class LatencyWindow {
  private readonly times: Float64Array;
  private readonly values: Float64Array;
  /** Next slot to write. */
  private head = 0;
  private count = 0;
  private ewmaMs = Number.NaN;
  private lastAt = 0;
  private readonly scratch: Float64Array;

  constructor(
    readonly windowMs: number,
    capacity = MAX_WINDOW_SAMPLES,
  ) {
    this.times = new Float64Array(capacity);
    this.values = new Float64Array(capacity);
    this.scratch = new Float64Array(capacity);
  }

  /** Records one answer's latency (ms) observed at `now` (ms). */
  record(now: number, latencyMs: number): void {
    const capacity = this.times.length;
    this.times[this.head] = now;
    this.values[this.head] = latencyMs;
    this.head = (this.head + 1) % capacity;
    if (this.count < capacity) this.count++;
    if (Number.isNaN(this.ewmaMs)) this.ewmaMs = latencyMs;
    else {
      const tau = this.windowMs / 4;
      const w = Math.exp(-Math.max(0, now - this.lastAt) / tau);
      this.ewmaMs = this.ewmaMs * w + latencyMs * (1 - w);
    }
    this.lastAt = now;
  }

  /** The EWMA in ms; `undefined` before the first sample. */
  ewma(): number | undefined {
    return Number.isNaN(this.ewmaMs) ? undefined : this.ewmaMs;
  }

  /** Samples within the window at `now`. */
  size(now: number): number {
    let n = 0;
    this.forEachInWindow(now, () => {
      n++;
    });
    return n;
  }

  /**
   * The `q` quantile (0.95 for p95) of the samples within the window at `now`, in ms (nearest rank);
   * `undefined` with fewer than {@link MIN_WINDOW_SAMPLES} samples.
   */
  quantile(now: number, q: number): number | undefined {
    let n = 0;
    this.forEachInWindow(now, (v) => {
      this.scratch[n++] = v;
    });
    if (n < MIN_WINDOW_SAMPLES) return undefined;
    const view = this.scratch.subarray(0, n);
    view.sort();
    return view[Math.min(n - 1, Math.ceil(q * n) - 1)];
  }

  /** Forgets every sample (after a failover: old samples would mislead the return). */
  clear(): void {
    this.count = 0;
    this.head = 0;
    this.ewmaMs = Number.NaN;
  }

  private forEachInWindow(now: number, fn: (value: number) => void): void {
    const capacity = this.times.length;
    const since = now - this.windowMs;
    for (let i = 0; i < this.count; i++) {
      const slot = (this.head - 1 - i + capacity) % capacity;
      if ((this.times[slot] as number) < since) break;
      fn(this.values[slot] as number);
    }
  }
}

/** Longest ejection, whatever the multiplier: Envoy's `max_ejection_time` default, 300 s. */
export const MAX_EJECTION_MS = 300_000;

/** Options of an {@link OutlierDetector}; defaults are Envoy's (see `router/config.ts`). */
export interface OutlierOptions {
  /** Consecutive failures that eject. */
  consecutive5xx: number;
  /** An ejection lasts this × the number of ejections in a row, at most {@link MAX_EJECTION_MS}. */
  baseEjectionMs: number;
}

/**
 * Envoy's consecutive-5xx outlier detection for one upstream: `consecutive5xx` upstream failures in a
 * row (5xx, timeouts, resets, refused connections; never a 4xx, which is the client's fault) eject it
 * for `baseEjectionMs × n`, n being the ejections in a row; n drops by one for every `baseEjectionMs`
 * it then serves without being ejected (Envoy decrements its multiplier while the host is healthy).
 * Whether an ejection is allowed (the cap on the share ejected) is the caller's: see {@link onFailure}.
 */
export class OutlierDetector {
  private consecutive = 0;
  private ejections = 0;
  private ejectedUntil = 0;
  private returnedAt = 0;

  constructor(private readonly options: OutlierOptions) {}

  /** A success (any answer that is not an upstream failure): the count of failures in a row restarts. */
  onSuccess(): void {
    this.consecutive = 0;
  }

  /**
   * An upstream failure at `now`. Returns the ejection's length in ms when this failure ejects the
   * upstream, else `undefined`. `mayEject()` is asked only when the threshold is reached: false (the
   * cap on ejected upstreams is reached) leaves it in service, counting on.
   */
  onFailure(now: number, mayEject: () => boolean): number | undefined {
    this.consecutive++;
    if (this.consecutive < this.options.consecutive5xx || this.isEjected(now) || !mayEject())
      return undefined;
    if (this.returnedAt > 0) {
      const served = Math.floor((now - this.returnedAt) / this.options.baseEjectionMs);
      this.ejections = Math.max(0, this.ejections - served);
    }
    this.ejections++;
    const ms = Math.min(MAX_EJECTION_MS, this.options.baseEjectionMs * this.ejections);
    this.ejectedUntil = now + ms;
    this.consecutive = 0;
    return ms;
  }

  /** Ejected at `now`? The first call after the ejection ends returns the upstream to service. */
  isEjected(now: number): boolean {
    if (this.ejectedUntil === 0) return false;
    if (now < this.ejectedUntil) return true;
    this.ejectedUntil = 0;
    this.returnedAt = now;
    return false;
  }

  /** When the current ejection ends (ms since epoch), or 0 when not ejected. */
  get until(): number {
    return this.ejectedUntil;
  }

  /** Upstream failures in a row so far. */
  get failuresInARow(): number {
    return this.consecutive;
  }

  /** Ejections in a row (the multiplier of the next ejection, minus one). */
  get ejectionCount(): number {
    return this.ejections;
  }

  /** Ends an ejection now (an operator's restore). */
  reset(): void {
    this.consecutive = 0;
    this.ejectedUntil = 0;
  }
}

/**
 * A token bucket that caps hedges as a share of requests, after gRPC's retry throttling: every
 * request adds `share` tokens (at most {@link HEDGE_BURST}), every hedge takes one. So over any run
 * of requests, hedges ≤ share × requests, and a sudden slowdown may hedge a burst at most that large
 * from what quiet traffic saved.
 */
export class HedgeBudget {
  private tokens = 0;

  constructor(private readonly share: number) {}

  /** A request arrived. */
  onRequest(): void {
    this.tokens = Math.min(HEDGE_BURST, this.tokens + this.share);
  }

  /** Takes a token for a hedge; false when the budget is spent. */
  take(): boolean {
    // 0.1 added ten times is 0.9999999999999999: a tolerance, so a share of 10% hedges every 10th.
    if (this.tokens < 1 - 1e-9) return false;
    this.tokens = Math.max(0, this.tokens - 1);
    return true;
  }

  /** Tokens available now. */
  get available(): number {
    return this.tokens;
  }
}

/** Most hedge tokens saved up (a burst of hedges after quiet traffic). */
export const HEDGE_BURST = 10;
