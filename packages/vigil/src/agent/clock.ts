/**
 * The agent's clock against the hub's, measured on each acknowledged batch as NTP measures a
 * client against a server (RFC 5905, section 8, "On-Wire Protocol"): four timestamps of one
 * exchange, two on each clock.
 */

/** The four timestamps of one exchange, ms since epoch, each on the clock that took it. */
export interface ExchangeTimes {
  /** T1 in RFC 5905: the agent's clock when it sent the batch (`sentAt`). */
  t0: number;
  /** T2: the hub's clock when it received the batch (its answer's `receivedAt`). */
  t1: number;
  /** T3: the hub's clock when it answered (its answer's `answeredAt`). */
  t2: number;
  /** T4: the agent's clock when the answer arrived. */
  t3: number;
}

/** One exchange's estimate: see {@link clockOffset}. */
export interface ClockEstimate {
  /** The hub's clock minus the agent's, ms: positive when the agent's clock is behind. */
  offsetMs: number;
  /** The round trip's network time (the hub's own time taken out), ms. */
  delayMs: number;
}

/**
 * NTP's offset and delay of one exchange (RFC 5905, section 8):
 * offset θ = ((t1 − t0) + (t2 − t3)) / 2, delay δ = (t3 − t0) − (t2 − t1).
 * Averaging the way out and the way back cancels the one-way delay when both ways take as long; an
 * asymmetric path errs by at most δ / 2, so the offset is exact within ±δ/2. (A send time minus a
 * receive time alone would count the whole one-way delay as clock error.)
 *
 * @example
 * // The agent's clock is 1000 ms behind; 20 ms each way; the hub took 5 ms.
 * clockOffset({ t0: 0, t1: 1020, t2: 1025, t3: 45 }); // { offsetMs: 1000, delayMs: 40 }
 */
export function clockOffset({ t0, t1, t2, t3 }: ExchangeTimes): ClockEstimate {
  return { offsetMs: (t1 - t0 + (t2 - t3)) / 2, delayMs: t3 - t0 - (t2 - t1) };
}
